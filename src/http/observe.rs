//! What happens around every REST request: its request id (`x-request-id`, taken from the client when sane,
//! else minted), its [`Origin`] for the handlers, a tracing span, and the request metrics.

use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use super::AppState;
use crate::connection::Peer;
use crate::error::ErrorCode;
use crate::request::{Operation, Origin, Outcome, Protocol, REQUEST_ID, take_request_id};

/// The `x-request-id` answer header for `id`, marked never to be indexed by HTTP/2's header compression: a
/// value that never repeats would only push reusable entries out of the table.
pub fn request_id_header(id: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(id).ok()?;
    v.set_sensitive(true);
    Some(v)
}

fn operation(method: &Method, path: &str, query: Option<&str>) -> Operation {
    if let Some(rest) = path.strip_prefix("/api/handles") {
        if rest.len() <= 1 {
            return Operation::List;
        }
        return match *method {
            Method::GET | Method::HEAD => Operation::Resolve,
            Method::PUT if query.is_some_and(|q| q.split('&').any(|p| p.starts_with("index="))) => Operation::Update,
            Method::PUT => Operation::Create,
            Method::DELETE => Operation::Delete,
            _ => Operation::Other,
        };
    }
    match path {
        "/api/prefixes" => Operation::List,
        "/api/stats" => Operation::Statistics,
        _ => Operation::Other,
    }
}

/// The middleware.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let peer = req.extensions().get::<ConnectInfo<Peer>>().map(|c| c.0.0);
    let id = take_request_id(req.headers().get(REQUEST_ID).map(|v| v.as_bytes()));
    let op = operation(req.method(), req.uri().path(), req.uri().query());
    // The span (named for the protocol) carries only the request id: its fields are formatted on every request.
    // The method is in the "served" event.
    let span = tracing::info_span!("rest", request_id = %id);
    let method = req.method().clone();
    req.extensions_mut().insert(Origin::new(Protocol::Rest, peer).with_request_id(id.as_str()));
    let mut resp = super::shed_load(&state, req, next).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    let outcome = resp
        .extensions()
        .get::<ErrorCode>()
        .map_or_else(|| Outcome::from_http_status(status), |c| Outcome::from_code(*c));
    let elapsed = start.elapsed();
    state.requests.record(Protocol::Rest, op, outcome, elapsed);
    if let Some(v) = request_id_header(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    tracing::debug!(parent: &span, %method, status, operation = op.label(), micros = elapsed.as_micros() as u64, "served");
    resp
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
