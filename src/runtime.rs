//! How the doors run the core's work, a policy of the running server rather than of the core: reads inline on
//! the async workers or on the blocking pool, as `node.reads` says ([`Runtime::read`]), blocking calls (writes
//! fsync) on the blocking pool ([`blocking`]), streamed listings on it within caps per client and in all
//! ([`Runtime::stream`]), and statistics reports on their own low-priority thread ([`Runtime::report`]). The
//! server makes one [`Runtime`] and gives every door a clone.

use std::net::IpAddr;
use std::sync::Arc;

use crate::error::NodeError;
use crate::metrics::Metrics;
use crate::node::{Node, Reads};
use crate::stats::{Report, ReportQuery};

mod reports;
mod streams;

pub use reports::REPORT_QUEUE;

/// The doors' way of running the core's work.
#[derive(Clone)]
pub struct Runtime {
    reads: Reads,
    /// Reads run on the blocking pool.
    on_pool: metrics::Counter,
    reports: Arc<reports::Reports>,
    streams: Arc<streams::Streams>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("reads", &self.reads).finish_non_exhaustive()
    }
}

impl Default for Runtime {
    /// Reads inline, counted nowhere.
    fn default() -> Self {
        Self {
            reads: Reads::Inline,
            on_pool: metrics::Counter::noop(),
            reports: Arc::default(),
            streams: Arc::default(),
        }
    }
}

impl Runtime {
    /// Runs reads where `reads` says, counting in `metrics` those that run on the pool.
    pub fn new(reads: Reads, metrics: &Metrics) -> Self {
        let on_pool = metrics.counter(
            "idnode_reads_on_pool_total",
            "Reads (a resolution, a gRPC batch) run on the blocking pool: all with node.reads = pool, those that may wait for the disk with tiered",
        );
        Self { reads, on_pool, reports: Arc::default(), streams: Arc::default() }
    }

    /// The same, with at most `per_client` streamed listings per client and `max` in all (see [`streams`]).
    pub fn with_listings(self, per_client: usize, max: usize) -> Self {
        Self { streams: Arc::new(streams::Streams::new(per_client, max)), ..self }
    }

    /// Where a read runs: inline or on the pool as [`Reads`] says; with `tiered`, on the pool when
    /// `waits_for_disk` (asked only then) says that it may wait for the disk. A read placed on the pool is
    /// counted.
    pub fn place(&self, waits_for_disk: impl FnOnce() -> bool) -> Place {
        let place = match self.reads {
            Reads::Inline => Place::Inline,
            Reads::Pool => Place::Pool,
            Reads::Tiered if waits_for_disk() => Place::Pool,
            Reads::Tiered => Place::Inline,
        };
        if place == Place::Pool {
            self.on_pool.increment(1);
        }
        place
    }

    /// Runs the read `f` of `request` with `with` (the node, or a door's state holding it) where
    /// [`Runtime::place`] says: inline is twice as fast, the pool keeps a read that waits for the disk from
    /// stalling the requests queued behind it on an async worker. `with` is cloned only to go to the pool.
    pub async fn read<W, I, T>(
        &self,
        with: &W,
        request: I,
        waits_for_disk: impl FnOnce(&W, &I) -> bool,
        f: impl FnOnce(&W, I) -> T + Send + 'static,
    ) -> T
    where
        W: Clone + Send + 'static,
        I: Send + 'static,
        T: Send + 'static,
    {
        match self.place(|| waits_for_disk(with, &request)) {
            Place::Inline => f(with, request),
            Place::Pool => on_pool(with, request, f).await,
        }
    }

    /// Runs the streamed listing `f` of `client` on the blocking pool, unless the client or the node runs as many
    /// as allowed already (see [`streams`]): then refused at once.
    pub fn stream(&self, client: Option<IpAddr>, f: impl FnOnce() + Send + 'static) -> Result<(), NodeError> {
        let place = self.streams.enter(client)?;
        blocking(move || {
            let _place = place;
            f();
        });
        Ok(())
    }

    /// The statistics report `q` of `node` asked for by `client` (see [`reports`]).
    pub async fn report(&self, node: &Arc<Node>, q: ReportQuery, client: Option<IpAddr>) -> Result<Report, NodeError> {
        self.reports.run(node, q, client).await
    }
}

/// Where one read runs, as [`Runtime::place`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// On the caller's async worker.
    Inline,
    /// On the blocking pool.
    Pool,
}

/// Runs the read `f` of `request` with a clone of `with` on the blocking pool, and returns its result (a panic
/// in `f` goes on in the caller).
pub async fn on_pool<W, I, T>(with: &W, request: I, f: impl FnOnce(&W, I) -> T + Send + 'static) -> T
where
    W: Clone + Send + 'static,
    I: Send + 'static,
    T: Send + 'static,
{
    let with = with.clone();
    match blocking(move || f(&with, request)).await {
        Ok(t) => t,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// How long a streamed listing waits for its client to take the next chunk before it gives up: a client that
/// stops reading must not hold a blocking thread.
pub const STALLED_STREAM: std::time::Duration = std::time::Duration::from_secs(30);

/// Sends `item` from the blocking pool to a stream's client, waiting at most `limit` ([`STALLED_STREAM`]) for
/// room; false when the client is gone or stalled, and the producer should stop.
pub fn send_within<T>(tx: &tokio::sync::mpsc::Sender<T>, item: T, limit: std::time::Duration) -> bool {
    use tokio::sync::mpsc::error::SendTimeoutError;
    match tokio::runtime::Handle::current().block_on(tx.send_timeout(item, limit)) {
        Ok(()) => true,
        Err(SendTimeoutError::Closed(_)) => false,
        Err(SendTimeoutError::Timeout(_)) => {
            tracing::debug!("a streamed listing's client stopped reading; ending the stream");
            false
        }
    }
}

/// Runs `f` on the blocking pool inside the caller's tracing span (so its logs keep the request id).
/// Await the handle for its result, or drop it to let `f` run on its own (a streamed listing).
pub fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> tokio::task::JoinHandle<T> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Place, Runtime, send_within};
    use crate::metrics::Metrics;
    use crate::node::Reads;

    #[test]
    fn reads_are_placed_as_node_reads_says_and_pool_reads_counted() {
        let metrics = Metrics::new();
        let place = |reads, waits: bool| Runtime::new(reads, &metrics).place(|| waits);
        assert_eq!(place(Reads::Inline, true), Place::Inline, "inline, whatever the disk");
        assert_eq!(place(Reads::Pool, false), Place::Pool);
        assert_eq!(place(Reads::Tiered, false), Place::Inline);
        assert_eq!(place(Reads::Tiered, true), Place::Pool, "this read would wait for the disk");
        assert!(metrics.render().contains("idnode_reads_on_pool_total 2"), "{}", metrics.render());
    }

    #[tokio::test]
    async fn a_stream_whose_client_stops_reading_lets_go_of_its_thread() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let sent = tokio::task::spawn_blocking(move || {
            let room = send_within(&tx, 1, Duration::from_millis(50));
            let stalled = send_within(&tx, 2, Duration::from_millis(50));
            (room, stalled, tx)
        });
        let (room, stalled, tx) = sent.await.unwrap();
        assert!(room, "room");
        assert!(!stalled, "full, nobody reads: given up");
        assert_eq!(rx.try_recv().unwrap(), 1);
        drop(rx);
        let closed = tokio::task::spawn_blocking(move || send_within(&tx, 3, Duration::from_secs(60)));
        assert!(!closed.await.unwrap(), "closed: at once");
    }
}
