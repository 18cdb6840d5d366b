//! The Handle.Net-compatible REST API (handle-rest-api.md): an axum router that turns requests into calls of the
//! [`Node`] core and its answers into the contract's JSON. Nothing here decides semantics.
//!
//! - [`query`]: query strings with repeated keys and valueless booleans;
//! - [`reply`]: rendering (`pretty`, JSONP), caching headers and error bodies;
//! - `auth`: HTTP Basic credentials;
//! - `handles`: resolve, create/replace, modify, delete, mint;
//! - `list`: listing handles and prefixes;
//! - `stats`: the published statistics;
//! - [`observe`]: request ids, origins, spans and request metrics around every request;
//! - `fast`: the anonymous lookup of a cached record, answered before the router;
//! - `cors`: the CORS layer, and the headers it adds, for the fast path.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::Semaphore;

use crate::error::{ErrorCode, NodeError};
use crate::node::Node;
use crate::request::RequestMetrics;

pub(crate) mod auth;
mod cors;
mod fast;
mod handles;
mod list;
pub mod observe;
pub mod query;
pub mod reply;
mod stats;

use reply::{ApiError, Render};

/// Settings of the REST adapter.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Whether the listener is TLS.
    pub secure: bool,
    /// Accept credentials over plain HTTP.
    pub allow_insecure_auth: bool,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Requests served at once before 503.
    pub max_concurrent_requests: usize,
    /// Send CORS headers.
    pub cors: bool,
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    node: Arc<Node>,
    requests: Arc<RequestMetrics>,
    settings: Arc<HttpSettings>,
    permits: Arc<Semaphore>,
}

/// Builds the router over `node`.
pub fn router(node: Arc<Node>, settings: HttpSettings) -> Router {
    let permits = Arc::new(Semaphore::new(settings.max_concurrent_requests));
    let cors = settings.cors;
    let requests = Arc::new(RequestMetrics::new(node.metrics()));
    let state = AppState { node, requests, settings: Arc::new(settings), permits };
    let app = Router::new()
        .route("/api/handles", get(list::list_handles))
        .route("/api/handles/", get(list::list_handles))
        .route("/api/handles/{*handle}", get(handles::resolve).put(handles::put).delete(handles::delete))
        .route("/api/prefixes", get(list::prefixes))
        .route("/api/stats", get(stats::stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe::observe))
        .with_state(state.clone());
    let layer = cors.then(cors::layer);
    let added = layer.as_ref().map(cors::Added::of);
    let app = match layer {
        Some(layer) => app.layer(layer),
        None => app,
    };
    // Every request reaches the API through this fallback, so that the fast path runs before routing and before
    // the CORS layer, whose headers it adds itself (`cors::Added`, taken from the layer once).
    let app = Router::new().fallback_service(app);
    match added {
        // CORS headers not known ahead: every request takes the full path.
        Some(None) => app,
        added => app.layer(middleware::from_fn_with_state(
            fast::Fast::new(state, added.flatten().map(Arc::new)),
            fast::resolve,
        )),
    }
}

/// Answers 503 / rc 3 when more than the configured number of requests are in flight; otherwise runs `next`
/// holding a permit (called by [`observe::observe`], so that shed requests are counted and carry an id too).
async fn shed_load(state: &AppState, req: Request, next: Next) -> Response {
    match state.permits.clone().try_acquire_owned() {
        Ok(_permit) => next.run(req).await,
        Err(_) => {
            let raw = req.uri().path().strip_prefix("/api/handles/").unwrap_or("");
            let handle = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
            let busy = NodeError::new(ErrorCode::Overloaded, "server too busy; retry later").retry_after(1);
            ApiError::from_node(busy, &handle, &Render::default()).into_response()
        }
    }
}

async fn not_found(req: Request) -> Response {
    let msg = format!("no resource at {}; see /api/handles/{{handle}}", req.uri().path());
    ApiError::new(ErrorCode::NoSuchResource, "", msg, &Render::default()).into_response()
}

async fn method_not_allowed(req: Request) -> Response {
    let msg = format!("method {} is not allowed on {}", req.method(), req.uri().path());
    let mut r = ApiError::new(ErrorCode::NoSuchResource, "", msg, &Render::default()).into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}
