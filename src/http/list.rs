//! `GET /api/handles?prefix=P` (listing, paged or streamed) and `GET /api/prefixes`.

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::query::Params;
use super::reply::{self, ApiError, Caching, Render};
use crate::error::ErrorCode;
use crate::id::Prefix;
use crate::node::Page;
use crate::request::Origin;

/// Handles per page when `page` is given without `pageSize`.
const DEFAULT_PAGE_SIZE: u64 = 1000;
/// Largest page: pages are built in memory, so that many at once must stay small (10,000 handles are about
/// 400 KB of JSON); a larger listing is streamed.
const MAX_PAGE_SIZE: u64 = 10_000;

#[derive(Serialize)]
struct Listing<'a> {
    #[serde(rename = "responseCode")]
    response_code: u32,
    prefix: &'a str,
    #[serde(rename = "totalCount")]
    total_count: String,
    page: u64,
    #[serde(rename = "pageSize")]
    page_size: u64,
    handles: Vec<String>,
}

/// `GET /api/handles?prefix=P[&page=N&pageSize=M]`.
pub async fn list_handles(
    State(state): State<AppState>,
    Extension(origin): Extension<Origin>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    list_answer(state, uri, headers, origin).await.unwrap_or_else(IntoResponse::into_response)
}

async fn list_answer(state: AppState, uri: Uri, headers: HeaderMap, origin: Origin) -> Result<Response, ApiError> {
    let params = Params::parse(uri.query());
    let render =
        Render::from_params(&params).map_err(|m| ApiError::new(ErrorCode::BadRequest, "", m, &Render::default()))?;
    let raw = params.last("prefix").unwrap_or("").to_owned();
    let bad = |code, m: String| ApiError::new(code, &raw, m, &render);
    if raw.is_empty() {
        return Err(bad(ErrorCode::BadRequest, "listing needs ?prefix=P".into()));
    }
    let prefix =
        Prefix::parse_listed(&raw).map_err(|e| bad(ErrorCode::InvalidHandle, format!("invalid prefix: {e}")))?;
    let caller =
        state.caller(&headers, origin, render.callback.is_some()).map_err(|e| ApiError::from_node(e, &raw, &render))?;
    state.node.authorize_list(&caller, &prefix).map_err(|e| ApiError::from_node(e, &raw, &render))?;
    let page = params.int("page").map_err(|m| bad(ErrorCode::BadRequest, m))?;
    let size = params.int("pageSize").map_err(|m| bad(ErrorCode::BadRequest, m))?;
    match (page, size) {
        (Some(page), size) if page >= 0 => {
            // Pages are built in memory, so they are bounded; the full listing (no page) is streamed instead.
            let size = match size {
                None => DEFAULT_PAGE_SIZE,
                Some(s) if (0..=MAX_PAGE_SIZE as i64).contains(&s) => s as u64,
                Some(s) => {
                    let msg = format!("pageSize={s} is outside 0..={MAX_PAGE_SIZE}; omit page to stream every handle");
                    return Err(bad(ErrorCode::BadRequest, msg));
                }
            };
            let node = state.node.clone();
            let p = prefix.clone();
            let (total, handles) = crate::runtime::blocking(move || {
                let mut handles = Vec::new();
                node.list_handles(&p, Page::Page { page: page as u64, size }, &mut |h| {
                    handles.push(h.to_owned());
                    true
                })
                .map(|t| (t, handles))
            })
            .await
            .map_err(|_| bad(ErrorCode::Internal, "listing task failed".into()))?
            .map_err(|e| ApiError::from_node(e, &raw, &render))?;
            let body = Listing {
                response_code: 1,
                prefix: &raw,
                total_count: total.to_string(),
                page: page as u64,
                page_size: size,
                handles,
            };
            Ok(reply::json(StatusCode::OK, &body, &render, Caching::NoStore, None))
        }
        _ => {
            let client = caller.origin().peer.map(|p| p.ip());
            stream_all(state, client, prefix, raw, render)
        }
    }
}

/// Streams every handle under `prefix` without building the answer in memory, unless `client` or the node runs
/// as many listings as allowed already.
fn stream_all(
    state: AppState,
    client: Option<std::net::IpAddr>,
    prefix: Prefix,
    raw: String,
    render: Render,
) -> Result<Response, ApiError> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(16);
    let sep: &[u8] = if render.pretty { b",\n    " } else { b"," };
    let ctype = if render.callback.is_some() {
        "application/javascript;charset=UTF-8"
    } else {
        "application/json;charset=UTF-8"
    };
    let runtime = state.runtime.clone();
    let (error_handle, error_render) = (raw.clone(), render.clone());
    runtime
        .stream(client, move || {
            let mut head = Vec::new();
            if let Some(cb) = &render.callback {
                head.extend_from_slice(cb.as_bytes());
                head.push(b'(');
            }
            let prefix_json = serde_json::to_string(&raw).unwrap_or_default();
            head.extend_from_slice(format!("{{\"responseCode\":1,\"prefix\":{prefix_json},\"handles\":[").as_bytes());
            let mut buf = head;
            let mut first = true;
            let total = state.node.list_handles(&prefix, Page::All, &mut |h| {
                if !first {
                    buf.extend_from_slice(sep);
                }
                first = false;
                buf.extend_from_slice(serde_json::to_string(h).unwrap_or_default().as_bytes());
                if buf.len() >= 32 * 1024 {
                    return crate::runtime::send_within(
                        &tx,
                        Ok(std::mem::take(&mut buf)),
                        crate::runtime::STALLED_STREAM,
                    );
                }
                true
            });
            match total {
                Ok(n) => {
                    buf.extend_from_slice(format!("],\"totalCount\":\"{n}\"}}").as_bytes());
                    if render.callback.is_some() {
                        buf.extend_from_slice(b");");
                    }
                    crate::runtime::send_within(&tx, Ok(buf), crate::runtime::STALLED_STREAM);
                }
                Err(e) => {
                    static LINE: crate::log::Sparse = crate::log::Sparse::new();
                    if let Some(unlogged) = LINE.due() {
                        tracing::error!(error = %e, unlogged, "listing failed midway");
                    }
                    crate::runtime::send_within(
                        &tx,
                        Err(std::io::Error::other(e.message)),
                        crate::runtime::STALLED_STREAM,
                    );
                }
            }
        })
        .map_err(|e| ApiError::from_node(e, &error_handle, &error_render))?;
    let mut resp = Response::new(Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[derive(Serialize)]
struct Prefixes {
    #[serde(rename = "responseCode")]
    response_code: u32,
    prefixes: Vec<String>,
}

/// `GET /api/prefixes`: the prefixes this node homes (authenticated).
pub async fn prefixes(
    State(state): State<AppState>,
    Extension(origin): Extension<Origin>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(uri.query());
    let render = Render::from_params(&params).unwrap_or_default();
    let result =
        state.caller(&headers, origin, render.callback.is_some()).and_then(|caller| state.node.homed_prefixes(&caller));
    match result {
        Ok(prefixes) => {
            reply::json(StatusCode::OK, &Prefixes { response_code: 1, prefixes }, &render, Caching::NoStore, None)
        }
        Err(e) => ApiError::from_node(e, "", &render).into_response(),
    }
}
