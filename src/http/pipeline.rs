//! The one path of every REST request but preflights (which the CORS layer answers): its [`Scope`] (request
//! id, origin, request metrics), dispatch, and what every answer carries (the request id, the CORS headers).
//!
//! Dispatch is the router, or a shortcut past it for an anonymous plain lookup (`GET /api/handles/{handle}`, no
//! query, no conditional header) of a record in the record cache: the QR-code scan, nearly every request a node
//! sees. Routing, its middleware and the extractors cost more than such an answer, so the shortcut calls the
//! resolve handler's own code directly ([`handles::resolve_parsed`]). It is not admitted under the limit on
//! requests in flight (its answer costs less than the 503 would) and opens no span (it logs nothing).

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tower::ServiceExt as _;
use tracing::Instrument as _;

use super::AppState;
use super::cors::{self, CorsHeaders};
use super::handles::{self, Target};
use crate::connection::Peer;
use crate::error::ErrorCode;
use crate::id::Handle;
use crate::request::{Operation, Origin, Outcome, Protocol, REQUEST_ID, RequestMetrics, Scope, take_request_id};

/// What the pipeline needs: the handlers' state and, when CORS is on, the preflight answerer and the headers
/// the CORS layer adds to every other answer.
#[derive(Clone)]
pub struct Pipeline {
    state: AppState,
    cors: Option<Arc<(cors::Preflight, CorsHeaders)>>,
}

impl Pipeline {
    /// The pipeline over `state`; with CORS on, `api` behind the CORS layer answers `OPTIONS`, and every other
    /// answer gets the headers that layer adds (which [`CorsHeaders`] can read of ours: it allows any origin).
    pub fn new(state: AppState, cors_over: Option<axum::Router>) -> Self {
        let cors = cors_over.and_then(|api| {
            let layer = cors::layer();
            let headers = CorsHeaders::of(&layer)?;
            Some(Arc::new((tower::Layer::layer(&layer, api), headers)))
        });
        Self { state, cors }
    }
}

/// The `x-request-id` answer header for `id`, marked never to be indexed by HTTP/2's header compression: a
/// value that never repeats would only push reusable entries out of the table.
pub fn request_id_header(id: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(id).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// The outcome of an answer: from the error it carries (see [`super::reply::ApiError`]), else its status.
fn outcome(resp: &Response) -> Outcome {
    let status = resp.status().as_u16();
    resp.extensions().get::<ErrorCode>().map_or_else(|| Outcome::from_http_status(status), |c| Outcome::from_code(*c))
}

/// The middleware, outermost: every request but preflights goes through here once.
pub async fn serve(State(p): State<Pipeline>, req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS
        && let Some(cors) = &p.cors
    {
        return cors.0.clone().oneshot(req).await.unwrap_or_else(|e| match e {});
    }
    let peer = req.extensions().get::<ConnectInfo<Peer>>().map(|c| c.0.0);
    let mut scope = open(Protocol::Rest, peer, &req);
    let mut routed = None;
    let mut resp = match cached_lookup(&p.state, &req) {
        Some((target, h)) => {
            scope.dispatched(Operation::Resolve);
            handles::resolve_parsed(&p.state, target, &h, req.headers(), scope.origin().clone())
        }
        None => {
            routed = Some(req.method().clone());
            route(&mut scope, req, next).await
        }
    };
    let (status, op) = (resp.status().as_u16(), scope.operation());
    let elapsed = finish(scope, &mut resp, &p.state.requests);
    if let Some(cors) = &p.cors {
        cors.1.apply(resp.headers_mut());
    }
    // The shortcut logs nothing, as its span would cost more than its answer.
    if let Some(method) = routed {
        tracing::debug!(%method, status, operation = op.label(), micros = elapsed.as_micros() as u64, "served");
    }
    resp
}

/// The scope of an HTTP request through `protocol` from `peer`, with the request id it sent or a new one.
pub(crate) fn open(protocol: Protocol, peer: Option<std::net::SocketAddr>, req: &Request) -> Scope {
    let id = take_request_id(req.headers().get(REQUEST_ID).map(|v| v.as_bytes()));
    Scope::open(Origin::new(protocol, peer).with_request_id(id))
}

/// Runs the router for `req` inside `scope`'s span; the scope takes the operation the route marked.
pub(crate) async fn route(scope: &mut Scope, mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(scope.origin().clone());
    let resp = next.run(req).instrument(scope.span()).await;
    scope.dispatched(resp.extensions().get::<Operation>().copied().unwrap_or(Operation::Other));
    resp
}

/// Finishes an answer: adds its request id, and finishes `scope` with its outcome into `requests`.
pub(crate) fn finish(scope: Scope, resp: &mut Response, requests: &RequestMetrics) -> std::time::Duration {
    if let Some(v) = request_id_header(scope.request_id()) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    let outcome = outcome(resp);
    scope.finish(requests, outcome)
}

/// The target of a request the shortcut answers: an anonymous plain lookup of a cached record.
fn cached_lookup<'r>(state: &AppState, req: &'r Request) -> Option<(Target<'r>, Handle)> {
    let headers = req.headers();
    if req.method() != Method::GET
        || req.uri().query().is_some()
        || headers.contains_key(header::AUTHORIZATION)
        || headers.contains_key(header::IF_NONE_MATCH)
    {
        return None;
    }
    let target = Target::new(req.uri()).ok()?;
    let h = state.node.parse_handle(&target.written).ok()?;
    state.node.is_cached(&h).then_some((target, h))
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, StatusCode, header};
    use bytes::Bytes;

    use super::*;
    use crate::http::reply::{self, Caching, Render};

    #[test]
    fn answer_ids_stay_out_of_the_http2_header_table() {
        assert!(request_id_header("0123456789abcdef").is_some_and(|v| v.is_sensitive()));
        assert!(request_id_header("bad\nid").is_none());
        let tag = Bytes::from_static(b"\"49221fca5066d843\"");
        let req = HeaderMap::new();
        let body = Bytes::from_static(b"{}");
        let resp = reply::answer(StatusCode::OK, body, Render::JSON, Some(tag), Caching::Public(60), Some(&req));
        assert!(resp.headers()[header::ETAG].is_sensitive(), "one ETag per record");
    }
}
