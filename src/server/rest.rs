//! The REST listener, served by its own worker threads: each runs a single-threaded tokio runtime that accepts
//! from the one listening socket and serves the connections it accepted, start to end (as nginx's workers do).
//! A connection's requests, its TLS and its HTTP/2 streams then never cross threads, and the scheduler has no
//! other worker to hand a task to, so none of a work-stealing scheduler's bookkeeping is paid per request (under
//! h2load, a seventh of a core's requests). The workers share the node, its
//! caches and the limit on requests in flight; the other listeners stay on the shared runtime.
//!
//! A worker that is busy comes back to `accept` later than an idle one, so new connections go mostly to idle
//! workers; a connection stays on the worker that accepted it.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::{per_core, stopping};
use crate::config::Config;
use tokio::net::TcpStream;

use super::coalesce::Coalesced;
use crate::connection::{Connections, Peer, Tracked, TrackedListener};
use crate::request::Protocol;

/// Binds the REST listener (HTTPS when a certificate is set) and starts its workers; the task ends when all of
/// them have stopped, after `stopped`, with the first error any of them met.
pub async fn serve(
    cfg: &Config,
    app: axum::Router,
    connections: &Arc<Connections>,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, JoinHandle<anyhow::Result<()>>)> {
    let listener =
        std::net::TcpListener::bind(cfg.http.listen).with_context(|| format!("binding {}", cfg.http.listen))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let tls = match (&cfg.http.tls_cert, &cfg.http.tls_key) {
        (Some(cert), Some(key)) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| format!("loading TLS certificate {} and key {}", cert.display(), key.display()))?,
        ),
        _ => None,
    };
    let n = per_core(cfg.http.workers);
    let mut ended = Vec::new();
    for i in 0..n {
        let worker = Worker {
            listener: listener.try_clone().context("sharing the REST listener")?,
            tls: tls.clone(),
            app: app.clone(),
            connections: connections.clone(),
            stopped: stopped.clone(),
            grace: std::time::Duration::from_secs(cfg.node.shutdown_grace_secs),
            blocking_threads: (BLOCKING_THREADS / n).max(4),
        };
        let (done, end) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("idnode-rest-{i}"))
            .spawn(move || {
                let _ = done.send(worker.run());
            })
            .context("starting a REST worker")?;
        ended.push(end);
    }
    let task = tokio::spawn(async move {
        let mut first_error = Ok(());
        for end in ended {
            let result = end.await.unwrap_or_else(|_| Err(anyhow::anyhow!("a REST worker panicked")));
            if first_error.is_ok() {
                first_error = result;
            }
        }
        first_error
    });
    Ok((addr, task))
}

/// Threads the workers may start for blocking work (store reads that `node.reads` sends to the pool, listings),
/// shared out among them: tokio's default for its one shared runtime.
const BLOCKING_THREADS: usize = 512;

/// One worker: its share of the listening socket and what it serves.
struct Worker {
    listener: std::net::TcpListener,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    app: axum::Router,
    connections: Arc<Connections>,
    stopped: watch::Receiver<bool>,
    /// How long a stop waits for connections over TLS to finish (the plain server's are bounded by the node's).
    grace: std::time::Duration,
    blocking_threads: usize,
}

impl Worker {
    /// Serves on this thread until stopped (or until the node is dropped without a shutdown).
    fn run(self) -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(self.blocking_threads)
            .build()?;
        rt.block_on(self.serve())
    }

    async fn serve(self) -> anyhow::Result<()> {
        let Self { listener, tls, app, connections, stopped, grace, .. } = self;
        let service = app.into_make_service_with_connect_info::<Peer>();
        match tls {
            Some(tls) => {
                let handle = axum_server::Handle::new();
                let h = handle.clone();
                tokio::spawn(async move {
                    stopping(stopped).await;
                    h.graceful_shutdown(Some(grace));
                });
                let tracked = TrackedAcceptor::new(connections, Protocol::Rest);
                let server = axum_server::from_tcp_rustls(listener, tls)?.map(|a| a.acceptor(tracked)).handle(handle);
                server.serve(service).await.context("HTTPS server failed")
            }
            None => {
                let listener =
                    TrackedListener::new(tokio::net::TcpListener::from_std(listener)?, connections, Protocol::Rest);
                axum::serve(listener, service)
                    .with_graceful_shutdown(stopping(stopped))
                    .await
                    .context("HTTP server failed")
            }
        }
    }
}

/// An `axum_server` acceptor that admits and tracks each TCP connection (and sets `TCP_NODELAY`); used as the
/// inner acceptor of the TLS acceptor, so the bytes counted are the bytes on the wire. Its writes are
/// [`Coalesced`]: TLS records of several HTTP/2 frames and answers leave in one write.
#[derive(Debug, Clone)]
struct TrackedAcceptor {
    connections: Arc<Connections>,
    protocol: Protocol,
}

impl TrackedAcceptor {
    /// Admits connections as `protocol`.
    fn new(connections: Arc<Connections>, protocol: Protocol) -> Self {
        Self { connections, protocol }
    }
}

impl<S> axum_server::accept::Accept<TcpStream, S> for TrackedAcceptor {
    type Stream = Coalesced<Tracked<TcpStream>>;
    type Service = S;
    type Future = std::future::Ready<std::io::Result<(Self::Stream, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr().ok().map(|a| a.ip());
        // A refused connection is an error to axum_server, which drops (closes) it.
        let admitted = self.connections.admit(stream, peer, self.protocol).map_err(|refusal| {
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, format!("connection refused: {refusal:?}"))
        });
        std::future::ready(admitted.map(|tracked| (Coalesced::new(tracked), service)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn zero_workers_means_one_per_core() {
        assert_eq!(per_core(3), 3);
        assert_eq!(per_core(0), std::thread::available_parallelism().unwrap().get());
    }

    /// The number of worker threads in this process (no other unit test starts a REST listener), once it is `n`
    /// or after a second (a thread is named as it starts, and ends a little after its runtime).
    async fn worker_threads(n: usize) -> usize {
        let count = || {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .filter(|name| name.starts_with("idnode-rest-"))
                .count()
        };
        for _ in 0..100 {
            if count() == n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        count()
    }

    #[tokio::test]
    async fn workers_share_the_listener_and_stop_with_the_node() {
        let mut cfg = Config::default();
        cfg.http.listen = "127.0.0.1:0".parse().unwrap();
        cfg.http.workers = 3;
        // The answer names the thread that served it.
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { std::thread::current().name().unwrap_or_default().to_owned() }));
        let (stop, stopped) = watch::channel(false);
        let (addr, task) = serve(
            &cfg,
            app,
            &Connections::new(&cfg.connections, 1 << 16, &crate::metrics::Metrics::new()).unwrap(),
            stopped,
        )
        .await
        .unwrap();
        assert_eq!(worker_threads(3).await, 3);
        // One connection per request, some at once, until a second worker has served one (or 100 batches).
        let mut served = HashMap::<String, usize>::new();
        for _ in 0..100 {
            if served.len() > 1 {
                break;
            }
            let batch: Vec<_> = (0..6)
                .map(|_| tokio::spawn(async move { reqwest::get(format!("http://{addr}/")).await?.text().await }))
                .collect();
            for answer in batch {
                *served.entry(answer.await.unwrap().unwrap()).or_default() += 1;
            }
        }
        assert!(served.keys().all(|name| name.starts_with("idnode-rest-")), "{served:?}");
        assert!(served.len() > 1, "one worker took every connection: {served:?}");
        // A connection left open does not hold the shutdown up.
        let idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        stop.send(true).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(20), task).await.unwrap().unwrap().unwrap();
        drop(idle);
        assert_eq!(worker_threads(0).await, 0);
    }
}
