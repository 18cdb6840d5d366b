//! The admin listener: `/metrics` (Prometheus text format), `/healthz` (alive), `/readyz` (store open,
//! listeners bound, not shutting down) and `GET /admin/audit` (node administrators, HTTP Basic).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde::Serialize;

use crate::audit::AuditQuery;
use crate::connection::Peer;
use crate::error::{ErrorCode, NodeError};
use crate::http::pipeline;
use crate::http::query::Params;
use crate::http::reply::{self, ApiError, Caching, Render};
use crate::node::Node;
use crate::request::{Operation, Origin, Protocol, RequestMetrics};
use crate::store::{Space, Store};

mod config;
mod scrape;

pub use config::AdminConfig;
pub use scrape::Scrape;

/// The phase of the node, as `/readyz` and the gRPC health service report it.
#[derive(Debug, Default)]
pub struct Health {
    phase: AtomicU8,
}

const STARTING: u8 = 0;
const READY: u8 = 1;
const STOPPING: u8 = 2;

impl Health {
    /// Every listener is bound: ready.
    pub fn set_ready(&self) {
        self.phase.store(READY, Ordering::SeqCst);
    }

    /// Shutdown began: not ready any more.
    pub fn set_stopping(&self) {
        self.phase.store(STOPPING, Ordering::SeqCst);
    }

    /// Why the node is not ready, or `None` when it is (the store answers a read and takes writes).
    pub fn not_ready(&self, store: &dyn Store) -> Option<String> {
        match self.phase.load(Ordering::SeqCst) {
            STARTING => Some("starting: listeners not bound yet".into()),
            STOPPING => Some("shutting down".into()),
            _ => match store.failure() {
                Some(why) => Some(format!("store writes fail until it recovers: {why}")),
                None => store.get(Space::Meta, b"readyz").err().map(|e| format!("store: {e}")),
            },
        }
    }
}

/// What the admin handlers share.
#[derive(Clone)]
pub struct AdminState {
    /// The core.
    pub node: Arc<Node>,
    /// The phase.
    pub health: Arc<Health>,
    /// Whether credentials may come (the listener is plain HTTP).
    pub credentials: crate::request::Credentials,
    /// The figures read at each scrape.
    pub scrape: Arc<Scrape>,
}

/// The admin router. Its requests have a [`Scope`] like every door's: a request id, a span, and the request
/// metrics under the protocol `admin`.
pub fn router(state: AdminState) -> Router {
    let requests = Arc::new(RequestMetrics::new(state.node.metrics()));
    Router::new()
        .route("/metrics", at(Operation::Metrics, get(metrics)))
        .route("/healthz", at(Operation::Service, get(|| async { "ok\n" })))
        .route("/readyz", at(Operation::Service, get(readyz)))
        .route("/admin/audit", at(Operation::AuditQuery, get(audit)))
        .route("/openapi.yaml", at(Operation::Service, get(openapi)))
        .with_state(state)
        .layer(middleware::from_fn_with_state(requests, observe))
}

/// The route of `op`: its answers are marked with it for the request metrics.
fn at(op: Operation, route: MethodRouter<AdminState>) -> MethodRouter<AdminState> {
    route.layer(middleware::map_response(move |mut resp: Response| async move {
        resp.extensions_mut().insert(op);
        resp
    }))
}

/// The OpenAPI 3 description of the admin listener (`src/admin/openapi.yaml`).
pub const OPENAPI: &str = include_str!("admin/openapi.yaml");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI).into_response()
}

async fn observe(
    State(requests): State<Arc<RequestMetrics>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    req: Request,
    next: Next,
) -> Response {
    let mut scope = pipeline::open(Protocol::Admin, Some(peer), &req);
    let mut resp = pipeline::route(&mut scope, req, next).await;
    pipeline::finish(scope, &mut resp, &requests);
    resp
}

async fn metrics(State(s): State<AdminState>) -> Response {
    let node = s.node.clone();
    let scrape = s.scrape.clone();
    let render = move || {
        scrape.observe(&node.store().figures(), &node.cache_figures());
        node.metrics().render()
    };
    match crate::runtime::blocking(render).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "metrics task failed\n").into_response(),
    }
}

async fn readyz(State(s): State<AdminState>) -> Response {
    let node = s.node.clone();
    let health = s.health.clone();
    let verdict = crate::runtime::blocking(move || health.not_ready(node.store().as_ref()))
        .await
        .unwrap_or_else(|_| Some("readiness check failed".into()));
    match verdict {
        None => (StatusCode::OK, "ready\n").into_response(),
        Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")).into_response(),
    }
}

fn time_param(params: &Params, key: &str) -> Result<Option<u64>, NodeError> {
    let Some(v) = params.last(key) else { return Ok(None) };
    let bad = || NodeError::new(ErrorCode::BadRequest, format!("{key}={v:?} is not an RFC 3339 time or a date"));
    let t = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .or_else(|_| crate::stats::parse_date(v).map(|d| d.midnight().assume_utc()).map_err(|_| bad()))?;
    Ok(Some(u64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(0)))
}

fn audit_query(node: &Node, params: &Params) -> Result<AuditQuery, NodeError> {
    let handle_key = params.last("handle").map(|h| node.parse_handle(h).map(|h| h.key().to_owned())).transpose()?;
    let identity_key = params
        .last("identity")
        .map(|i| {
            let (index, h) = i
                .split_once(':')
                .filter(|(n, _)| n.parse::<u32>().is_ok())
                .ok_or_else(|| NodeError::new(ErrorCode::BadRequest, format!("identity {i:?} is not index:handle")))?;
            let index = index.parse().unwrap_or_default();
            Ok::<_, NodeError>(crate::node::Identity { handle: node.parse_handle(h)?, index }.key())
        })
        .transpose()?;
    let limit = params.int("limit").map_err(|m| NodeError::new(ErrorCode::BadRequest, m))?;
    Ok(AuditQuery {
        handle_key,
        identity_key,
        from_us: time_param(params, "from")?,
        to_us: time_param(params, "to")?,
        limit: limit.map(|l| usize::try_from(l).unwrap_or(1)),
        after: params.last("after").map(str::to_owned),
    })
}

#[derive(Serialize)]
struct AuditReply<'a> {
    #[serde(rename = "responseCode")]
    response_code: u32,
    #[serde(flatten)]
    page: &'a crate::audit::AuditPage,
}

async fn audit(
    State(s): State<AdminState>,
    axum::Extension(origin): axum::Extension<Origin>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(uri.query());
    let render = Render::from_params(&params).unwrap_or_default();
    let node = s.node.clone();
    let (credentials, jsonp) = (s.credentials, render.callback.is_some());
    let result = crate::runtime::blocking(move || {
        let caller = crate::http::auth::caller(&node, &headers, origin, credentials, jsonp, None)?;
        node.authorize_node_admin(&caller)?;
        let q = audit_query(&node, &params)?;
        node.audit()
            .query(&q)?
            .ok_or_else(|| NodeError::new(ErrorCode::BadRequest, "after is not a cursor of this log"))
    })
    .await
    .unwrap_or_else(|_| Err(NodeError::new(ErrorCode::Internal, "audit task failed")));
    match result {
        Ok(page) => {
            reply::json(StatusCode::OK, &AuditReply { response_code: 1, page: &page }, &render, Caching::NoStore, None)
        }
        Err(e) => ApiError::from_node(e, "", &render).into_response(),
    }
}
