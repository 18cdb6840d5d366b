//! Opens the store, loads demo data or bootstraps the first administrator, binds the listeners (REST, gRPC), and
//! serves until shutdown. Tests start it on `127.0.0.1:0` through [`start`]; the binary through [`run`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::demo;
use crate::grpc::{self, GrpcSettings};
use crate::http::{self, HttpSettings};
use crate::node::{Node, NodeSettings};
use crate::record::wire::encode_record;
use crate::store::{Batch, RocksStore, Space, Store};

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
    /// The core.
    pub node: Arc<Node>,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
    grpc_task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, flushes the store.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("server task panicked")??;
        if let Some(t) = self.grpc_task {
            t.await.context("gRPC task panicked")??;
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
    let node_prefix = cfg.node.prefixes[0].clone();
    if with_demo && demo::store_is_empty(store.as_ref())? {
        let secret = cfg.bootstrap.admin_secret.clone().unwrap_or_else(|| demo::DEMO_ADMIN_SECRET.to_owned());
        let n = demo::load(store.as_ref(), &node_prefix, &secret)?;
        tracing::info!(handles = n, "loaded demo data set");
    }
    if let Some(secret) = &cfg.bootstrap.admin_secret {
        let handle = cfg.admin_handle();
        let h = crate::id::Handle::parse(&handle, cfg.node.suffix_case)?;
        if store.get(Space::Handles, h.key().as_bytes())?.is_none() {
            let values = demo::identity_record(&handle, cfg.bootstrap.admin_index, secret, Vec::new());
            let mut b = Batch::new();
            b.put(Space::Handles, h.key().as_bytes().to_vec(), encode_record(&handle, &values));
            store.write(b)?;
            tracing::info!(identity = %format!("{}:{handle}", cfg.bootstrap.admin_index), "created the bootstrap administrator");
        }
    }
    Ok(store)
}

/// Starts serving `cfg`; returns once the listeners are bound.
pub async fn start(cfg: Config, with_demo: bool) -> anyhow::Result<Running> {
    cfg.validate()?;
    let store = {
        let cfg = cfg.clone();
        tokio::task::spawn_blocking(move || open_store(&cfg, with_demo)).await??
    };
    let node =
        Arc::new(Node::new(store, NodeSettings { prefixes: cfg.homed_prefixes()?, suffix_case: cfg.node.suffix_case }));
    let https = cfg.http.tls_cert.is_some();
    let settings = HttpSettings {
        secure: https,
        allow_insecure_auth: cfg.http.allow_insecure_auth,
        max_body_bytes: cfg.http.max_body_bytes,
        max_concurrent_requests: cfg.http.max_concurrent_requests,
        cors: cfg.http.cors,
    };
    let grpc_settings = GrpcSettings {
        secure: https,
        allow_insecure_auth: cfg.http.allow_insecure_auth,
        max_message_bytes: cfg.grpc.max_message_bytes,
        max_resolve_batch: cfg.grpc.max_resolve_batch,
        max_register_batch: cfg.grpc.max_register_batch,
    };
    let grpc_routes = grpc::routes(node.clone(), grpc_settings).await?;
    let mut app = http::router(node.clone(), settings);
    if cfg.grpc.on_http_port {
        app = with_grpc(app, grpc_routes.clone());
    }
    let listener =
        std::net::TcpListener::bind(cfg.http.listen).with_context(|| format!("binding {}", cfg.http.listen))?;
    listener.set_nonblocking(true)?;
    let http_addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let task = match (&cfg.http.tls_cert, &cfg.http.tls_key) {
        (Some(cert), Some(key)) => {
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| format!("loading TLS certificate {} and key {}", cert.display(), key.display()))?;
            let handle = axum_server::Handle::new();
            let h2 = handle.clone();
            tokio::spawn(async move {
                let _ = stopped.wait_for(|s| *s).await;
                h2.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            let server = axum_server::from_tcp_rustls(listener, tls)?.handle(handle);
            tokio::spawn(async move { server.serve(app.into_make_service()).await.context("HTTPS server failed") })
        }
        _ => {
            use axum::serve::ListenerExt as _;
            let listener = tokio::net::TcpListener::from_std(listener)?.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await
                    .context("HTTP server failed")
            })
        }
    };
    tracing::info!(addr = %http_addr, https, "REST API listening");
    let (grpc_addr, grpc_task) = if cfg.grpc.enabled {
        let (addr, task) = serve_grpc(&cfg, grpc_routes, stop.subscribe()).await?;
        tracing::info!(addr = %addr, tls = https, "gRPC API listening");
        (Some(addr), Some(task))
    } else {
        (None, None)
    };
    let handle_addrs = if cfg.handle.enabled {
        let addrs = serve_handle(&cfg, node.clone(), http_addr, stop.subscribe()).await?;
        tracing::info!(udp = %addrs.0, tcp = %addrs.1, "Handle protocol listening");
        Some(addrs)
    } else {
        None
    };
    tracing::info!("node ready");
    Ok(Running { http_addr, https, grpc_addr, handle_addrs, node, stop, task, grpc_task })
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

/// Binds and serves the gRPC listener (TLS with the `[http]` certificate when set).
async fn serve_grpc(
    cfg: &Config,
    routes: tonic::service::Routes,
    mut stopped: watch::Receiver<bool>,
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
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let task = tokio::spawn(async move {
        builder
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
            .context("gRPC server failed")
    });
    Ok((addr, task))
}

/// This node's `HS_SITE`: one server, its UDP and TCP query interfaces and its REST interface.
pub fn own_site(cfg: &Config, udp: SocketAddr, tcp: SocketAddr, http: SocketAddr) -> Vec<u8> {
    use crate::record::site::{Interface, Server, Site};
    let http_protocol = if cfg.http.tls_cert.is_some() { 3 } else { 2 };
    Site {
        version: 1,
        major: 2,
        minor: 10,
        serial: cfg.handle.site_serial,
        primary: true,
        multi_primary: false,
        hash_option: 0,
        hash_filter: Vec::new(),
        attributes: vec![(
            "desc".into(),
            format!("idnode {} for {}", env!("CARGO_PKG_VERSION"), cfg.node.prefixes.join(", ")),
        )],
        servers: vec![Server {
            id: 1,
            address: cfg.handle.advertise.unwrap_or(tcp.ip()),
            public_key: Vec::new(),
            interfaces: vec![
                Interface { kind: 2, protocol: 0, port: u32::from(udp.port()) },
                Interface { kind: 2, protocol: 1, port: u32::from(tcp.port()) },
                Interface { kind: 3, protocol: http_protocol, port: u32::from(http.port()) },
            ],
        }],
    }
    .encode()
}

/// Binds the Handle protocol listeners, publishes the site on the homed prefix handles, and serves.
async fn serve_handle(
    cfg: &Config,
    node: Arc<Node>,
    http_addr: SocketAddr,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, SocketAddr)> {
    use crate::hdl::{Responder, server as hdl};
    let h = &cfg.handle;
    let udp =
        tokio::net::UdpSocket::bind(h.listen_udp).await.with_context(|| format!("binding UDP {}", h.listen_udp))?;
    let tcp =
        tokio::net::TcpListener::bind(h.listen_tcp).await.with_context(|| format!("binding TCP {}", h.listen_tcp))?;
    let (udp_addr, tcp_addr) = (udp.local_addr()?, tcp.local_addr()?);
    let site = own_site(cfg, udp_addr, tcp_addr, http_addr);
    let n = {
        let (node, site) = (node.clone(), site.clone());
        tokio::task::spawn_blocking(move || node.publish_site(&site)).await??
    };
    tracing::info!(prefix_handles = n, "published HS_SITE");
    let responder = Responder::new(node, site, h.site_serial);
    let limits = hdl::Limits {
        max_tcp_connections: h.max_tcp_connections,
        tcp_idle_timeout: std::time::Duration::from_secs(h.tcp_idle_timeout_secs),
        max_in_flight: h.max_in_flight,
        udp_max_response_packets: h.udp_max_response_packets,
    };
    tokio::spawn(hdl::serve_udp(udp, responder.clone(), limits.clone(), stopped.clone()));
    tokio::spawn(hdl::serve_tcp(tcp, responder, limits, stopped));
    Ok((udp_addr, tcp_addr))
}

/// Serves until `shutdown` resolves, then stops gracefully.
pub async fn run(cfg: Config, with_demo: bool, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let running = start(cfg, with_demo).await?;
    shutdown.await;
    tracing::info!("shutting down");
    running.shutdown().await
}
