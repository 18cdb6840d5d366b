//! Rendering JSON answers: `pretty`, JSONP `callback`, `ETag` / `If-None-Match`, `Cache-Control`, and the error
//! body that always carries `handle`.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use crate::error::{ErrorCode, NodeError};

/// How the client asked the body to be rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Render {
    /// Indent the JSON.
    pub pretty: bool,
    /// Wrap in `callback(...)` (JSONP).
    pub callback: Option<String>,
}

impl Render {
    /// Reads `pretty` and `callback`; a callback must be a JavaScript name path (`a.b_c[0]`-free, no quotes).
    pub fn from_params(p: &super::query::Params) -> Result<Self, String> {
        let pretty = p.flag("pretty")?.unwrap_or(false);
        let callback = match p.last("callback") {
            None | Some("") => None,
            Some(c)
                if c.len() <= 128
                    && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '$' || ch == '.') =>
            {
                Some(c.to_owned())
            }
            Some(c) => return Err(format!("callback {c:?} is not a JavaScript function name")),
        };
        Ok(Self { pretty, callback })
    }

    /// Serializes `body` as asked, returning the bytes and the content type.
    pub fn bytes(&self, body: &impl Serialize) -> (Vec<u8>, &'static str) {
        let json = if self.pretty { serde_json::to_vec_pretty(body) } else { serde_json::to_vec(body) }
            .unwrap_or_else(|_| br#"{"responseCode":2,"message":"serialization failed"}"#.to_vec());
        self.wrap(json)
    }

    /// The content type of plain JSON answers.
    pub const JSON: &'static str = "application/json;charset=UTF-8";

    /// Wraps already serialized JSON for JSONP when asked.
    pub fn wrap(&self, json: Vec<u8>) -> (Vec<u8>, &'static str) {
        match &self.callback {
            None => (json, Self::JSON),
            Some(cb) => {
                let mut out = Vec::with_capacity(json.len() + cb.len() + 3);
                out.extend_from_slice(cb.as_bytes());
                out.push(b'(');
                out.extend_from_slice(&json);
                out.extend_from_slice(b");");
                (out, "application/javascript;charset=UTF-8")
            }
        }
    }
}

/// Caching allowed for an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// `Cache-Control: no-store`.
    NoStore,
    /// Shared caches may keep it for the given seconds.
    Public(u32),
    /// Only the requesting client may keep it (authenticated answers).
    Private(u32),
}

/// A JSON answer with status, rendering and caching; `etag` adds an `ETag` and honours `If-None-Match`.
pub fn json(
    status: StatusCode,
    body: &impl Serialize,
    render: &Render,
    caching: Caching,
    req: Option<&HeaderMap>,
) -> Response {
    let (bytes, ctype) = render.bytes(body);
    let tag = req.map(|_| etag(&bytes));
    answer(status, Bytes::from(bytes), ctype, tag, caching, req)
}

/// The `ETag` of a body: its xxh3, quoted.
pub fn etag(body: &[u8]) -> Bytes {
    Bytes::from(format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(body)))
}

/// An answer of already rendered `body` of content type `ctype`, with caching; given the request, `tag` is sent
/// as its `ETag` and an `If-None-Match` naming it is answered 304.
pub fn answer(
    status: StatusCode,
    body: Bytes,
    ctype: &'static str,
    tag: Option<Bytes>,
    caching: Caching,
    req: Option<&HeaderMap>,
) -> Response {
    // Room for the CORS, request id and date headers added on the way out.
    let mut headers = HeaderMap::with_capacity(16);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    let cc = match caching {
        Caching::NoStore => "no-store".to_owned(),
        Caching::Public(s) => format!("public, max-age={s}"),
        Caching::Private(s) => format!("private, max-age={s}"),
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_str(&cc).unwrap_or(HeaderValue::from_static("no-store")));
    if let (Some(req), Some(tag)) = (req, tag) {
        headers.insert(header::VARY, HeaderValue::from_static("Authorization"));
        let matched = std::str::from_utf8(&tag).is_ok_and(|t| etag_matches(req, t));
        if let Ok(mut v) = HeaderValue::from_maybe_shared(tag) {
            // One value per record: with many records, indexing them in HTTP/2's header table only churns it.
            v.set_sensitive(true);
            headers.insert(header::ETAG, v);
        }
        if matched {
            headers.remove(header::CONTENT_TYPE);
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
    }
    (status, headers, Body::from(body)).into_response()
}

fn etag_matches(req: &HeaderMap, tag: &str) -> bool {
    req.get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|t| t == "*" || t == tag || t.strip_prefix("W/") == Some(tag)))
}

/// The body of every error: `responseCode`, `handle` and `message`.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "responseCode")]
    response_code: u32,
    handle: &'a str,
    message: &'a str,
}

/// An error answer of the REST API, carrying the handle as the client sent it.
#[derive(Debug)]
pub struct ApiError {
    /// What went wrong.
    pub error: NodeError,
    /// The handle (or prefix) as sent.
    pub handle: String,
    /// How to render it.
    pub render: Render,
}

impl ApiError {
    /// An error about `handle`.
    pub fn new(code: ErrorCode, handle: &str, message: impl Into<String>, render: &Render) -> Self {
        Self { error: NodeError::new(code, message), handle: handle.to_owned(), render: render.clone() }
    }

    /// Wraps a core error.
    pub fn from_node(error: NodeError, handle: &str, render: &Render) -> Self {
        Self { error, handle: handle.to_owned(), render: render.clone() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            response_code: self.error.code.response_code(),
            handle: &self.handle,
            message: &self.error.message,
        };
        let mut resp = json(status, &body, &self.render, Caching::NoStore, None);
        resp.extensions_mut().insert(self.error.code);
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"idnode\""));
        }
        if let Some(secs) = self.error.retry_after_secs {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
