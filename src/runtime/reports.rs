//! Statistics reports, computed one at a time on their own thread at nice 10. A year's report reads every
//! counter of every prefix for every day (at 2,000 prefixes, three million of them: over a second of CPU), and
//! `/api/stats` is public: on the blocking pool, a few clients asking for years at once would take every core
//! from resolution. On one low-priority thread a report yields to lookups, and when [`REPORT_QUEUE`] reports
//! already wait, the next is refused at once with "overloaded, retry later". A client (an address; IPv6 per /56)
//! has one report in the queue at a time, so that one client cannot hold every place.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use crate::error::{ErrorCode, NodeError};
use crate::lowprio::{LowPriority, NotRun};
use crate::net::PerClient;
use crate::node::Node;
use crate::stats::{Report, ReportQuery};

/// Reports waiting for the reports thread at most.
pub const REPORT_QUEUE: usize = 8;
/// Seconds a refused client is asked to wait.
const RETRY_AFTER_SECS: u64 = 5;

/// The reports thread, started with the first report, and the clients with a report queued or running.
pub(crate) struct Reports {
    lane: OnceLock<LowPriority>,
    clients: Arc<PerClient>,
}

impl Default for Reports {
    fn default() -> Self {
        Self { lane: OnceLock::new(), clients: PerClient::new(1) }
    }
}

impl Reports {
    /// The statistics report `q` of `node` asked for by `client`, computed on the reports thread.
    pub(super) async fn run(
        &self,
        node: &Arc<Node>,
        q: ReportQuery,
        client: Option<IpAddr>,
    ) -> Result<Report, NodeError> {
        let Some(_place) = self.clients.enter(client) else {
            return Err(NodeError::new(
                ErrorCode::Overloaded,
                "a statistics report of this client is being computed already; retry when it is done",
            )
            .retry_after(RETRY_AFTER_SECS));
        };
        let lane = match self.lane.get() {
            Some(lane) => lane,
            None => {
                let lane = LowPriority::start("idnode-report", 10, REPORT_QUEUE).map_err(|e| {
                    NodeError::new(ErrorCode::Internal, format!("cannot start the reports thread: {e}"))
                })?;
                self.lane.get_or_init(|| lane)
            }
        };
        let node = node.clone();
        match lane.run(move || node.stats().report(&q)).await {
            Ok(report) => report,
            Err(NotRun::Busy) => Err(NodeError::new(
                ErrorCode::Overloaded,
                format!("{REPORT_QUEUE} statistics reports are waiting already; retry later"),
            )
            .retry_after(RETRY_AFTER_SECS)),
            Err(NotRun::Failed) => Err(NodeError::new(ErrorCode::Internal, "the statistics report failed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::REPORT_QUEUE;
    use crate::error::ErrorCode;
    use crate::id::Prefix;
    use crate::node::{Node, NodeSettings};
    use crate::runtime::Runtime;
    use crate::store::MemoryStore;

    fn node() -> Arc<Node> {
        let store = Arc::new(MemoryStore::new());
        Arc::new(Node::new(store, NodeSettings::homing(vec![Prefix::parse("88.798").unwrap()]), Arc::default()))
    }

    #[tokio::test]
    async fn reports_beyond_the_queue_are_refused_with_a_time_to_retry() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let (n, rt) = (node(), Runtime::default());
        let q = crate::stats::ReportQuery::default();
        assert_eq!(rt.report(&n, q.clone(), None).await.unwrap().days.len(), 30);
        // Hold the reports thread with one job and fill its queue with more; the first poll of a job queues it.
        let lane = rt.reports.lane.get().unwrap().clone();
        let released = Arc::new(AtomicBool::new(false));
        let hold = |started: Option<tokio::sync::oneshot::Sender<()>>| {
            let released = released.clone();
            Box::pin(lane.run(move || {
                if let Some(s) = started {
                    let _ = s.send(());
                }
                while !released.load(Ordering::SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }))
        };
        let (started, running) = tokio::sync::oneshot::channel();
        let mut held = vec![hold(Some(started))];
        assert!(queue(&mut held[0]).await);
        running.await.unwrap();
        for i in 0..REPORT_QUEUE {
            let mut job = hold(None);
            assert!(queue(&mut job).await, "job {i} queued");
            held.push(job);
        }
        let e = rt.report(&n, q.clone(), None).await.unwrap_err();
        assert_eq!((e.code, e.retry_after_secs), (ErrorCode::Overloaded, Some(5)), "{e}");
        released.store(true, Ordering::SeqCst);
        for job in held {
            job.await.unwrap();
        }
        assert!(rt.report(&n, q, None).await.is_ok(), "served again once the queue drains");
    }

    /// Polls `job` once, which queues it; whether it then waits.
    async fn queue<F: std::future::Future>(job: &mut std::pin::Pin<Box<F>>) -> bool {
        std::future::poll_fn(|cx| std::task::Poll::Ready(job.as_mut().poll(cx).is_pending())).await
    }

    #[tokio::test]
    async fn a_client_has_one_report_in_the_queue_at_a_time() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let (n, rt) = (node(), Runtime::default());
        let q = crate::stats::ReportQuery::default();
        let (a, b): (std::net::IpAddr, std::net::IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert!(rt.report(&n, q.clone(), None).await.is_ok());
        // Hold the reports thread, so that every report below waits in the queue.
        let lane = rt.reports.lane.get().unwrap().clone();
        let released = Arc::new(AtomicBool::new(false));
        let (started, running) = tokio::sync::oneshot::channel();
        let held = released.clone();
        let mut hold = Box::pin(lane.run(move || {
            let _ = started.send(());
            while !held.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }));
        assert!(queue(&mut hold).await);
        running.await.unwrap();
        let mut first = Box::pin(rt.report(&n, q.clone(), Some(a)));
        assert!(queue(&mut first).await, "queued");
        let e = rt.report(&n, q.clone(), Some(a)).await.unwrap_err();
        assert_eq!((e.code, e.retry_after_secs), (ErrorCode::Overloaded, Some(5)), "{e}");
        let mut other = Box::pin(rt.report(&n, q.clone(), Some(b)));
        assert!(queue(&mut other).await, "another client is queued");
        // A report abandoned (its client went away) gives its place back.
        drop(first);
        let mut again = Box::pin(rt.report(&n, q.clone(), Some(a)));
        assert!(queue(&mut again).await, "queued again");
        released.store(true, Ordering::SeqCst);
        hold.await.unwrap();
        assert!(other.await.is_ok() && again.await.is_ok());
        assert!(rt.report(&n, q, Some(a)).await.is_ok(), "the place is given back when the report is done");
    }
}
