//! `GET`, `PUT` and `DELETE` on `/api/handles/{handle}`.

use std::borrow::Cow;

use axum::Extension;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use percent_encoding::percent_decode_str;
use serde::Serialize;

use super::AppState;
use super::json::{ValueJson, parse_values, value_json};
use super::query::{IndexParam, Params};
use super::reply::{self, ApiError, Caching, Render};
use crate::error::ErrorCode;
use crate::id::Handle;
use crate::node::{Caller, Filter, PutOutcome, RenderingSlot, Resolution, ValueMode, now};
use crate::record::HandleValue;
use crate::request::{Operation, Origin, Protocol};

/// Where the identifiers are.
const PATH_PREFIX: &str = "/api/handles/";

/// What every handler reads first: the handle as sent (percent-decoded), the parameters and the rendering.
pub(super) struct Target<'a> {
    /// The handle as the request wrote it (percent-decoded), which the answer repeats.
    pub(super) written: Cow<'a, str>,
    params: Params,
    render: Render,
}

impl<'a> Target<'a> {
    /// The target of a request to `uri`.
    pub(super) fn new(uri: &'a Uri) -> Result<Self, ApiError> {
        let raw = uri.path().strip_prefix(PATH_PREFIX).unwrap_or("");
        let params = Params::parse(uri.query());
        let render = Render::from_params(&params)
            .map_err(|m| ApiError::new(ErrorCode::BadRequest, raw, m, &Render::default()))?;
        let written = percent_decode_str(raw).decode_utf8().map_err(|_| {
            ApiError::new(ErrorCode::InvalidHandle, raw, "handle is not valid UTF-8 after percent-decoding", &render)
        })?;
        Ok(Self { written, params, render })
    }

    fn err(&self, e: crate::error::NodeError) -> ApiError {
        ApiError::from_node(e, &self.written, &self.render)
    }

    fn bad(&self, msg: String) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, &self.written, msg, &self.render)
    }

    fn caller(&self, state: &AppState, headers: &HeaderMap, origin: Origin) -> Result<Caller, ApiError> {
        state.caller(headers, origin, self.render.callback.is_some()).map_err(|e| self.err(e))
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        Ok(self.params.flag(key).map_err(|m| self.bad(m))?.unwrap_or(default))
    }

    fn ok(&self, status: StatusCode) -> Response {
        let body = Ack { response_code: 1, handle: &self.written };
        reply::json(status, &body, &self.render, Caching::NoStore, None)
    }
}

#[derive(Serialize)]
struct Ack<'a> {
    #[serde(rename = "responseCode")]
    response_code: u32,
    handle: &'a str,
}

#[derive(Serialize)]
struct Resolved<'a> {
    #[serde(rename = "responseCode")]
    response_code: u32,
    handle: &'a str,
    values: Vec<ValueJson<'a>>,
}

/// `GET /api/handles/{handle}`: resolve.
pub async fn resolve(State(state): State<AppState>, req: Request) -> Response {
    // The request's parts are taken, not copied: this is the hot path.
    let (mut parts, _) = req.into_parts();
    let origin = parts.extensions.remove::<Origin>().unwrap_or_else(|| Origin::new(Protocol::Rest, None));
    let resolve = move |state: &AppState, parts: Parts| match Target::new(&parts.uri) {
        Ok(ctx) => match state.node.parse_handle(&ctx.written) {
            Ok(h) => resolve_parsed(state, ctx, &h, &parts.headers, origin),
            Err(e) => ctx.err(e).into_response(),
        },
        Err(e) => e.into_response(),
    };
    state.runtime.read(&state, parts, waits_for_disk, resolve).await
}

/// Whether resolving the handle that `parts` name may wait for the disk (see
/// [`crate::node::Node::may_wait_for_disk`]).
fn waits_for_disk(state: &AppState, parts: &Parts) -> bool {
    Target::new(&parts.uri).is_ok_and(|ctx| state.node.may_wait_for_disk(&ctx.written))
}

/// Resolves `h`, the handle `ctx` names, for the request with `headers` from `origin`: the resolve handler's
/// work, which the pipeline's shortcut calls directly for a cached lookup.
pub(super) fn resolve_parsed(
    state: &AppState,
    ctx: Target<'_>,
    h: &Handle,
    headers: &HeaderMap,
    origin: Origin,
) -> Response {
    resolve_answer(state, &ctx, h, headers, origin).unwrap_or_else(IntoResponse::into_response)
}

fn resolve_answer(
    state: &AppState,
    ctx: &Target<'_>,
    h: &Handle,
    headers: &HeaderMap,
    origin: Origin,
) -> Result<Response, ApiError> {
    let caller = ctx.caller(state, headers, origin)?;
    let public_only = ctx.flag("publicOnly", caller.is_anonymous())?;
    ctx.flag("auth", false)?;
    let indexes = match IndexParam::from(&ctx.params).map_err(|m| ctx.bad(m))? {
        IndexParam::List(l) => l,
        IndexParam::None => Vec::new(),
        IndexParam::Various => return Err(ctx.bad("index=various is only meaningful on PUT".into())),
    };
    let filter = Filter { indexes, types: ctx.params.all("type").map(str::to_owned).collect(), public_only };
    let res = state.node.resolve(h, &filter, &caller).map_err(|e| ctx.err(e))?;
    let t = now();
    let max_age = res.max_age(t);
    let caching = if caller.is_anonymous() { Caching::Public(max_age) } else { Caching::Private(max_age) };
    // A plain answer is a rendering of the resolution, kept with the record for its public view (it names the
    // handle as created, so only a request that writes it so can share it).
    if ctx.render == Render::default() && ctx.written == res.stored_handle() {
        let r = plain_answer(&res);
        return Ok(reply::answer(StatusCode::OK, r.body, Render::JSON, Some(r.etag), caching, Some(headers)));
    }
    Ok(reply::json(StatusCode::OK, &resolved(&res, &ctx.written), &ctx.render, caching, Some(headers)))
}

fn resolved<'a>(res: &'a Resolution, written: &'a str) -> Resolved<'a> {
    Resolved { response_code: res.response_code(), handle: written, values: res.values().map(value_json).collect() }
}

/// The plain JSON answer of a resolution, naming the handle as created, and its ETag.
#[derive(Clone)]
struct PlainAnswer {
    body: Bytes,
    etag: Bytes,
}

/// Where a cached record keeps the plain answer of its public view, made once.
static PLAIN_ANSWER: std::sync::LazyLock<RenderingSlot<PlainAnswer>> = std::sync::LazyLock::new(RenderingSlot::claim);

/// The plain answer of `res`: kept with the cached record for its public view.
fn plain_answer(res: &Resolution) -> PlainAnswer {
    res.rendering(*PLAIN_ANSWER, || {
        let body = Bytes::from(Render::default().bytes(&resolved(res, res.stored_handle())).0);
        PlainAnswer { etag: reply::etag(&body), body }
    })
}

async fn read_body(
    ctx: &Target<'_>,
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<serde_json::Value, ApiError> {
    let limit = state.settings.max_body_bytes;
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            &ctx.written,
            format!("request body exceeds the limit of {limit} bytes"),
            &ctx.render,
        )
    };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = to_bytes(body, limit).await.map_err(|_| too_large())?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            ErrorCode::InvalidValue,
            &ctx.written,
            "request body is empty; send the values as JSON",
            &ctx.render,
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(ErrorCode::InvalidValue, &ctx.written, format!("malformed JSON body: {e}"), &ctx.render)
    })
}

/// Runs a blocking core call (writes fsync) off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, crate::error::NodeError> {
    crate::runtime::blocking(f)
        .await
        .map_err(|_| crate::error::NodeError::new(ErrorCode::Internal, "request task failed"))
}

/// `PUT /api/handles/{handle}`: create, replace, add or modify values, or mint a new suffix.
pub async fn put(
    State(state): State<AppState>,
    Extension(origin): Extension<Origin>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = match Target::new(&uri) {
        Ok(ctx) => ctx,
        Err(e) => return e.into_response(),
    };
    // With `index`, a PUT changes values of an existing handle: the route's "create" is refined here.
    let update = ctx.params.last("index").is_some();
    let mut resp = put_answer(state, ctx, headers, origin, body).await.unwrap_or_else(IntoResponse::into_response);
    if update {
        resp.extensions_mut().insert(Operation::Update);
    }
    resp
}

async fn put_answer(
    state: AppState,
    mut ctx: Target<'_>,
    headers: HeaderMap,
    origin: Origin,
    body: Body,
) -> Result<Response, ApiError> {
    let mint = ctx.flag("mintNewSuffix", false)?;
    let overwrite = ctx.flag("overwrite", true)?;
    ctx.flag("auth", false)?;
    let index = IndexParam::from(&ctx.params).map_err(|m| ctx.bad(m))?;
    let caller = ctx.caller(&state, &headers, origin)?;
    caller.require().map_err(|e| ctx.err(e))?;
    let json = read_body(&ctx, &state, &headers, body).await?;
    let values: Vec<HandleValue> = parse_values(&json, now()).map_err(|e| ctx.err(e.into()))?;
    let node = state.node.clone();
    if mint {
        let stem = if ctx.written.contains('/') { ctx.written.to_string() } else { format!("{}/", ctx.written) };
        let (prefix, suffix_stem) = stem.split_once('/').unwrap_or((&stem, ""));
        let prefix = crate::id::Prefix::parse(prefix).map_err(|e| ctx.err(e.into()))?;
        let suffix_stem = suffix_stem.to_owned();
        let minted = blocking(move || node.mint(&caller, &prefix, &suffix_stem, values))
            .await
            .and_then(|r| r)
            .map_err(|e| ctx.err(e))?;
        ctx.written = Cow::Owned(minted.as_str().to_owned());
        return Ok(ctx.ok(StatusCode::CREATED));
    }
    let h = state.node.parse_handle(&ctx.written).map_err(|e| ctx.err(e))?;
    let status = match index {
        IndexParam::None => {
            let outcome = blocking(move || node.put_record(&caller, &h, values, overwrite))
                .await
                .and_then(|r| r)
                .map_err(|e| ctx.err(e))?;
            if outcome == PutOutcome::Created { StatusCode::CREATED } else { StatusCode::OK }
        }
        other => {
            let only = match other {
                IndexParam::List(l) => Some(l),
                _ => None,
            };
            let mode = if overwrite { ValueMode::Upsert } else { ValueMode::Add };
            blocking(move || node.put_values(&caller, &h, values, only.as_deref(), mode))
                .await
                .and_then(|r| r)
                .map_err(|e| ctx.err(e))?;
            StatusCode::OK
        }
    };
    Ok(ctx.ok(status))
}

/// `DELETE /api/handles/{handle}`: delete the handle, or with `index` some of its values.
pub async fn delete(
    State(state): State<AppState>,
    Extension(origin): Extension<Origin>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    delete_answer(state, uri, headers, origin).await.unwrap_or_else(IntoResponse::into_response)
}

async fn delete_answer(state: AppState, uri: Uri, headers: HeaderMap, origin: Origin) -> Result<Response, ApiError> {
    let ctx = Target::new(&uri)?;
    let h = state.node.parse_handle(&ctx.written).map_err(|e| ctx.err(e))?;
    let index = IndexParam::from(&ctx.params).map_err(|m| ctx.bad(m))?;
    let caller = ctx.caller(&state, &headers, origin)?;
    let node = state.node.clone();
    let done = match index {
        IndexParam::None => blocking(move || node.delete_handle(&caller, &h)).await,
        IndexParam::List(l) => blocking(move || node.delete_values(&caller, &h, &l)).await,
        IndexParam::Various => return Err(ctx.bad("index=various is only meaningful on PUT".into())),
    };
    done.and_then(|r| r).map_err(|e| ctx.err(e))?;
    Ok(ctx.ok(StatusCode::OK))
}
