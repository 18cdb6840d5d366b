//! The common lookup answered before the router: an anonymous `GET /api/handles/{handle}` with no query, no
//! conditional header, for a record in the record cache, spelled as created. That is the QR-code scan, nearly
//! every request a node sees, and its answer is already rendered (the record's public view); routing, the
//! `from_fn` layers and the handler's extractors cost more than the answer itself (BENCHMARKS.md, step 19).
//!
//! The answer is the one the full path gives, header for header (a test compares them): the same rendering,
//! caching headers and ETag ([`reply::answer`]), request id, and the CORS layer's headers (`cors::Added`). It
//! counts the resolution and the request like the full path; it opens no span, as it logs nothing, and it is
//! not shed under load (it costs less than the 503 would). Anything else goes on to the router unchanged.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use percent_encoding::percent_decode_str;

use super::AppState;
use super::cors::Added;
use super::handles::{PATH_PREFIX, plain_answer};
use super::observe::request_id_header;
use super::reply::{self, Caching, Render};
use crate::node::now;
use crate::request::{Operation, Outcome, Protocol, REQUEST_ID, take_request_id};

/// What the fast path needs: the handlers' state and, when CORS is on, the headers its layer would add.
#[derive(Clone)]
pub struct Fast {
    state: AppState,
    cors: Option<Arc<Added>>,
}

impl Fast {
    /// The fast path over `state`, adding `cors` to its answers.
    pub fn new(state: AppState, cors: Option<Arc<Added>>) -> Self {
        Self { state, cors }
    }
}

/// The middleware, outermost.
pub async fn resolve(State(fast): State<Fast>, req: Request, next: Next) -> Response {
    match answer(&fast, &req) {
        Some(resp) => resp,
        None => next.run(req).await,
    }
}

fn answer(fast: &Fast, req: &Request) -> Option<Response> {
    let state = &fast.state;
    let start = Instant::now();
    let headers = req.headers();
    if req.method() != Method::GET
        || req.uri().query().is_some()
        || headers.contains_key(header::AUTHORIZATION)
        || headers.contains_key(header::IF_NONE_MATCH)
    {
        return None;
    }
    let raw = req.uri().path().strip_prefix(PATH_PREFIX).filter(|r| !r.is_empty())?;
    let echo = percent_decode_str(raw).decode_utf8().ok()?;
    let h = state.node.parse_handle(&echo).ok()?;
    let res = state.node.resolve_cached_public(&h, &echo, Protocol::Rest)?;
    let r = plain_answer(&res);
    let caching = Caching::Public(res.max_age(now()));
    let mut resp = reply::answer(StatusCode::OK, r.body, Render::JSON, Some(r.tag), caching, Some(headers));
    let id = take_request_id(headers.get(REQUEST_ID).map(|v| v.as_bytes()));
    if let Some(v) = request_id_header(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    if let Some(cors) = &fast.cors {
        cors.apply(resp.headers_mut());
    }
    state.requests.record(Protocol::Rest, Operation::Resolve, Outcome::Ok, start.elapsed());
    Some(resp)
}
