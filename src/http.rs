//! The Handle.Net-compatible REST API (handle-rest-api.md): an axum router that turns requests into calls of the
//! [`Node`] core and its answers into the contract's JSON. Nothing here decides semantics.
//!
//! - [`query`]: query strings with repeated keys and valueless booleans;
//! - [`json`]: the JSON forms of values in the contract (lenient input, canonical output);
//! - [`reply`]: rendering (`pretty`, JSONP), caching headers and error bodies;
//! - `auth`: HTTP Basic credentials;
//! - `handles`: resolve, create/replace, modify, delete, mint;
//! - `list`: listing handles and prefixes;
//! - `stats`: the published statistics;
//! - [`snms`]: the SNMS-compatible management API (tokens, `/identityv2/data`, templates);
//! - [`pipeline`]: the one path of every request: its scope, dispatch (the router, or the resolve handler
//!   directly for a cached lookup), and the headers every answer carries;
//! - `cors`: the CORS layer for preflights, and the headers it adds to every other answer.
//!
//! `openapi.yaml` describes every route, served at `/openapi.yaml`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};

use crate::error::{ErrorCode, NodeError};
use crate::node::{Caller, Node};
use crate::request::{Admission, Credentials, Operation, Origin, RequestMetrics};
use crate::runtime::Runtime;

pub(crate) mod auth;
mod config;
mod cors;
mod handles;
pub mod json;
mod list;
pub mod pipeline;
pub mod query;
pub mod reply;
pub mod sessions;
pub mod snms;
mod stats;

pub use config::HttpConfig;
use reply::{ApiError, Render};

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    node: Arc<Node>,
    requests: Arc<RequestMetrics>,
    settings: Arc<HttpConfig>,
    credentials: Credentials,
    admission: Admission,
    runtime: Runtime,
    tokens: Arc<snms::Tokens>,
    sessions: Arc<sessions::Sessions>,
}

impl AppState {
    /// The caller of a request with `headers` from `origin` ([`auth::caller`], with this port's sessions).
    fn caller(&self, headers: &axum::http::HeaderMap, origin: Origin, jsonp: bool) -> Result<Caller, NodeError> {
        auth::caller(&self.node, headers, origin, self.credentials, jsonp, Some(&self.sessions))
    }
}

/// Builds the REST API over `node`.
pub fn router(node: Arc<Node>, settings: &HttpConfig, runtime: Runtime) -> Router {
    let admission = Admission::new(settings.max_concurrent_requests);
    let requests = Arc::new(RequestMetrics::new(node.metrics()));
    let cors = settings.cors;
    let credentials = settings.credentials();
    let settings = Arc::new(settings.clone());
    let tokens = Arc::new(snms::Tokens::new(std::time::Duration::from_secs(settings.snms_token_secs)));
    let sessions = Arc::default();
    let state = AppState { node, requests, settings, credentials, admission, runtime, tokens, sessions };
    let at = |op, handler| dispatch(&state, op, handler);
    let api = Router::new()
        .route("/api/handles", at(Operation::List, get(list::list_handles)))
        .route("/api/handles/", at(Operation::List, get(list::list_handles)))
        .route(
            "/api/handles/{*handle}",
            at(Operation::Resolve, get(handles::resolve))
                .merge(at(Operation::Create, axum::routing::put(handles::put)))
                .merge(at(Operation::Delete, axum::routing::delete(handles::delete))),
        )
        .route("/api/prefixes", at(Operation::List, get(list::prefixes)))
        .route("/api/sessions", at(Operation::Login, axum::routing::post(sessions::open)))
        .route("/api/stats", at(Operation::Statistics, get(stats::stats)))
        .route("/openapi.yaml", at(Operation::Service, get(openapi)))
        .merge(snms::routes(&state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    let pipeline = pipeline::Pipeline::new(state, cors.then(|| api.clone()));
    Router::new().fallback_service(api).layer(middleware::from_fn_with_state(pipeline, pipeline::serve))
}

/// The route of `op`: its requests are admitted under `http.max_concurrent_requests` (else shed: 503 / rc 3)
/// and their answers marked with `op` for the request metrics, unless the handler dispatched further.
fn dispatch(state: &AppState, op: Operation, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.layer(middleware::from_fn_with_state((state.clone(), op), admit))
}

async fn admit(State((state, op)): State<(AppState, Operation)>, req: Request, next: Next) -> Response {
    let mut resp = match state.admission.admit() {
        Ok(_admitted) => next.run(req).await,
        Err(busy) => {
            let raw = req.uri().path().strip_prefix("/api/handles/").unwrap_or("");
            let handle = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
            ApiError::from_node(busy, &handle, &Render::default()).into_response()
        }
    };
    if resp.extensions().get::<Operation>().is_none() {
        resp.extensions_mut().insert(op);
    }
    resp
}

/// The OpenAPI 3 description of this port's APIs (`src/http/openapi.yaml`; the suite checks the node against it).
pub const OPENAPI: &str = include_str!("http/openapi.yaml");

async fn openapi() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/yaml")], OPENAPI).into_response()
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
