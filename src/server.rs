//! Opens the store, loads demo data or bootstraps the first administrator, binds the listeners (REST, gRPC,
//! Handle, admin), runs the periodic tasks, and serves until shutdown. Tests start it on `127.0.0.1:0` through
//! [`start`]; the binary through [`run`].
//!
//! - `background`: statistics flushes, metrics upkeep, audit retention;
//! - `handle`: the Handle protocol listeners and the published `HS_SITE`;
//! - `rest`: the REST listener and its worker threads.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::connection::{Connections, TrackedListener};
use crate::demo;
use crate::grpc;
use crate::http;
use crate::metrics::Metrics;
use crate::node::{Node, NodeSettings};
use crate::records;
use crate::request::Protocol;
use crate::runtime::Runtime;
use crate::store::{RocksStore, Store};
use coalesce::Coalesced;

mod background;
pub(crate) mod coalesce;
mod hdl;
mod rest;

pub use crate::admin::Health;
pub use hdl::own_site;

/// A node being served.
pub struct Running {
    /// Where the REST API listens.
    pub http_addr: SocketAddr,
    /// Whether that listener is HTTPS.
    pub https: bool,
    /// Where the gRPC API listens, when it has its own listener.
    pub grpc_addr: Option<SocketAddr>,
    /// Where the Handle protocol listens (UDP, TCP), when enabled.
    pub handle_addrs: Option<(SocketAddr, SocketAddr)>,
    /// Where the admin listener (metrics, health, audit) listens, when enabled.
    pub admin_addr: Option<SocketAddr>,
    /// The core.
    pub node: Arc<Node>,
    /// The node's phase.
    pub health: Arc<Health>,
    health_reporter: tonic_health::server::HealthReporter,
    ready: metrics::Gauge,
    stop: watch::Sender<bool>,
    servers: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
    periodic: Vec<JoinHandle<()>>,
    grace: std::time::Duration,
}

impl Running {
    /// Turns not-ready, stops accepting, lets requests in flight finish, flushes the statistics and the store.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.health.set_stopping();
        self.ready.set(0.0);
        grpc::set_health(&self.health_reporter, false).await;
        let _ = self.stop.send(true);
        // Listeners stop accepting at once; a connection still open after the grace period (a client sending its
        // headers slowly, say) must not keep the node from stopping: it is closed when the process ends.
        let servers = async {
            for (name, task) in self.servers {
                task.await.with_context(|| format!("{name} task panicked"))??;
            }
            anyhow::Ok(())
        };
        match tokio::time::timeout(self.grace, servers).await {
            Ok(result) => result?,
            Err(_) => {
                tracing::warn!(grace = ?self.grace, "connections still open after the grace period; stopping anyway")
            }
        }
        for task in self.periodic {
            task.await.context("periodic task panicked")?;
        }
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || node.store().flush()).await??;
        Ok(())
    }
}

/// Opens the store and prepares it: demo data on an empty store when asked, then the bootstrap administrator.
pub fn open_store(cfg: &Config, with_demo: bool) -> anyhow::Result<Arc<dyn Store>> {
    std::fs::create_dir_all(&cfg.storage.path).with_context(|| format!("creating {}", cfg.storage.path.display()))?;
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(&cfg.storage)?);
    crate::audit::Audit::new(store.clone()).begin_counting()?;
    let node_prefix = cfg.node.prefixes[0].clone();
    if with_demo && records::is_empty(store.as_ref())? {
        let secret = cfg.bootstrap.admin_secret.clone().unwrap_or_else(|| demo::DEMO_ADMIN_SECRET.to_owned());
        let n = demo::load(store.as_ref(), &node_prefix, &secret)?;
        tracing::info!(handles = n, "loaded demo data set");
    }
    if let Some(identity) = cfg.bootstrap.run(store.as_ref(), &node_prefix, cfg.node.suffix_case)? {
        tracing::info!(%identity, "created the bootstrap administrator");
    }
    Ok(store)
}

/// Starts serving `cfg`; returns once the listeners are bound and the node is ready.
pub async fn start(cfg: Config, with_demo: bool) -> anyhow::Result<Running> {
    cfg.validate()?;
    let store = {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || open_store(&cfg, with_demo)).await??
    };
    let metrics = Arc::new(Metrics::new());
    let connections = Connections::new(&cfg.connections, crate::connection::raise_descriptor_limit(), &metrics)?;
    let ready = metrics.gauge(
        "idnode_node_ready",
        "1 when the node is ready to serve (store open, listeners bound, not shutting down).",
    );
    let settings = NodeSettings::from_config(&cfg.node, &cfg.auth, &cfg.statistics)?;
    let node = Arc::new(Node::new(store, settings, metrics.clone()));
    {
        let node = node.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            if let Some(n) = node.stats().seed()? {
                tracing::info!(handles = n, "statistics started: existing handles counted");
            }
            node.stats().load()?;
            if node.install_templates()? > 0 {
                tracing::info!("installed the shipped data templates");
            }
            Ok(())
        })
        .await??;
    }
    let health = Arc::new(Health::default());
    let (stop, stopped) = watch::channel(false);
    let https = cfg.http.tls_cert.is_some();
    let runtime = Runtime::new(cfg.node.reads, node.metrics())
        .with_listings(cfg.node.max_listings_per_client, cfg.node.max_listings);
    let (grpc_routes, health_reporter) =
        grpc::routes(node.clone(), &cfg.grpc, cfg.http.credentials(), runtime.clone()).await?;
    let mut app = http::router(node.clone(), &cfg.http, runtime.clone());
    if cfg.grpc.on_http_port {
        app = with_grpc(app, grpc_routes.clone());
    }
    let (http_addr, task) = rest::serve(&cfg, app, &connections, stopped.clone()).await?;
    tracing::info!(addr = %http_addr, https, "REST API listening");
    let mut servers = vec![("HTTP", task)];
    let grpc_addr = if cfg.grpc.enabled {
        let (addr, task) = serve_grpc(&cfg, grpc_routes, &connections, stopped.clone()).await?;
        tracing::info!(addr = %addr, tls = https, "gRPC API listening");
        servers.push(("gRPC", task));
        Some(addr)
    } else {
        None
    };
    let handle_addrs = if cfg.handle.enabled {
        let addrs = hdl::serve(&cfg, node.clone(), runtime, &connections, stopped.clone()).await?;
        tracing::info!(udp = %addrs.0, tcp = %addrs.1, "Handle protocol listening");
        Some(addrs)
    } else {
        None
    };
    let admin_addr = if cfg.admin.enabled {
        let state = crate::admin::AdminState {
            node: node.clone(),
            health: health.clone(),
            // Plain HTTP: credentials only where allowed, or on loopback.
            credentials: crate::request::Credentials {
                secure: false,
                allow_insecure: cfg.http.allow_insecure_auth || cfg.admin.listen.ip().is_loopback(),
            },
            scrape: Arc::new(crate::admin::Scrape::new(&metrics)),
        };
        let listener = tokio::net::TcpListener::bind(cfg.admin.listen)
            .await
            .with_context(|| format!("binding admin listener {}", cfg.admin.listen))?;
        let addr = listener.local_addr()?;
        let listener = TrackedListener::new(listener, connections.clone(), Protocol::Admin);
        let app = crate::admin::router(state).into_make_service_with_connect_info::<crate::connection::Peer>();
        let stopped = stopped.clone();
        servers.push((
            "admin",
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopping(stopped))
                    .await
                    .context("admin server failed")
            }),
        ));
        tracing::info!(addr = %addr, "admin listener (metrics, health, audit) listening");
        Some(addr)
    } else {
        None
    };
    let periodic = background::spawn(&cfg, &node, &stopped).context("starting the maintenance thread")?;
    health.set_ready();
    ready.set(1.0);
    grpc::set_health(&health_reporter, true).await;
    tracing::info!("node ready");
    Ok(Running {
        http_addr,
        https,
        grpc_addr,
        handle_addrs,
        admin_addr,
        node,
        health,
        health_reporter,
        ready,
        stop,
        servers,
        periodic,
        grace: std::time::Duration::from_secs(cfg.node.shutdown_grace_secs),
    })
}

/// Routes requests with `content-type: application/grpc` to the gRPC services, the rest to the REST API.
fn with_grpc(rest: axum::Router, grpc: tonic::service::Routes) -> axum::Router {
    use axum::response::IntoResponse as _;
    use tower::ServiceExt as _;
    let grpc = grpc.prepare().into_axum_router();
    rest.layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
        let grpc = grpc.clone();
        async move {
            let is_grpc = req
                .headers()
                .get(axum::http::header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
            if is_grpc { grpc.oneshot(req).await.into_response() } else { next.run(req).await }
        }
    }))
}

/// Binds and serves the gRPC listener (TLS with the `[http]` certificate when set); connections are tracked and
/// their writes [`Coalesced`].
async fn serve_grpc(
    cfg: &Config,
    routes: tonic::service::Routes,
    connections: &Arc<Connections>,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, JoinHandle<anyhow::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(cfg.grpc.listen)
        .await
        .with_context(|| format!("binding gRPC listener {}", cfg.grpc.listen))?;
    let addr = listener.local_addr()?;
    let mut builder =
        tonic::transport::Server::builder().max_concurrent_streams(cfg.grpc.max_concurrent_streams).tcp_nodelay(true);
    if let (Some(cert), Some(key)) = (&cfg.http.tls_cert, &cfg.http.tls_key) {
        let identity = tonic::transport::Identity::from_pem(std::fs::read(cert)?, std::fs::read(key)?);
        builder = builder.tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))?;
    }
    let connections = connections.clone();
    // A refused connection is left out of the stream, and dropped (closed).
    let incoming = tokio_stream::StreamExt::filter_map(
        tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
        move |conn| match conn {
            Ok(s) => {
                let peer = s.peer_addr().ok().map(|a| a.ip());
                connections.admit(s, peer, Protocol::Grpc).ok().map(|t| Ok(Coalesced::new(t)))
            }
            Err(e) => Some(Err(e)),
        },
    );
    let task = tokio::spawn(async move {
        builder
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, stopping(stopped))
            .await
            .context("gRPC server failed")
    });
    Ok((addr, task))
}

/// A count of threads or sockets set to `n`: `n`, or one per core the process may run on when 0.
fn per_core(n: usize) -> usize {
    match n {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
}

/// Resolves when the node starts stopping.
async fn stopping(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// Serves until `shutdown` resolves, then stops gracefully.
pub async fn run(cfg: Config, with_demo: bool, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let running = start(cfg, with_demo).await?;
    shutdown.await;
    tracing::info!("shutting down");
    running.shutdown().await
}
