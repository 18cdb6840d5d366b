//! Opens the store, loads demo data or bootstraps the first administrator, binds the listeners, and serves until
//! shutdown. Tests start it on `127.0.0.1:0` through [`start`]; the binary through [`run`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::demo;
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
    /// The core.
    pub node: Arc<Node>,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, flushes the store.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("server task panicked")??;
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
    let app = http::router(node.clone(), settings);
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
    Ok(Running { http_addr, https, node, stop, task })
}

/// Serves until `shutdown` resolves, then stops gracefully.
pub async fn run(cfg: Config, with_demo: bool, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let running = start(cfg, with_demo).await?;
    shutdown.await;
    tracing::info!("shutting down");
    running.shutdown().await
}
