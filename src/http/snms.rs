//! The SNMS-compatible management API (snms-api.md) on the REST port: logins for 24-hour Bearer tokens, the
//! identifiers of `/identityv2/data` and the templates of `/snms/api/v5/template` (and v3's reads), over the
//! same core as every other door. An SNMS user is an idnode identity (`300:0.NA/88.798.1`), its password the
//! identity's secret key.
//!
//! Every answer is HTTP 200 with `{"status", "message", "data"}`: 1 success, -1 not logged in, -2 business
//! failure (the reason in Chinese), -3 no permission, -4 internal error.
//!
//! - `tokens`: the sessions;
//! - `data`: login and the identifier routes;
//! - `templates`: the template routes.

use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::Serialize;

use super::{AppState, dispatch};
use crate::error::{ErrorCode, NodeError};
use crate::node::Caller;
use crate::request::{Operation, Origin, Protocol};

mod data;
mod templates;
pub mod tokens;

pub use tokens::Tokens;

/// Most items in one batch (`batchCreate`, `batchUpdate`, `batchDelete`).
pub const MAX_BATCH: usize = 2000;

/// The SNMS routes.
pub(super) fn routes(state: &AppState) -> Router<AppState> {
    let at = |op, handler| dispatch(state, op, handler);
    let template = get(templates::get).merge(post(templates::define)).merge(put(templates::update));
    Router::new()
        .route("/identity/token", at(Operation::Login, post(data::login)))
        .route("/identity/token/v1", at(Operation::Login, post(data::login_hashed)))
        .route("/identityv2/data/detail", at(Operation::Resolve, get(data::detail)))
        .route(
            "/identityv2/data",
            at(Operation::Create, post(data::create))
                .merge(at(Operation::Update, put(data::update)))
                .merge(at(Operation::Delete, delete(data::remove))),
        )
        .route("/identityv2/data/batchCreate", at(Operation::BatchRegister, post(data::batch_create)))
        .route("/identityv2/data/batchUpdate", at(Operation::BatchRegister, put(data::batch_update)))
        .route("/identityv2/data/batchDelete", at(Operation::BatchRegister, delete(data::batch_delete)))
        .route("/snms/api/v5/template", at(Operation::Templates, template.merge(delete(templates::remove))))
        .route("/snms/api/v5/template/publish", at(Operation::Templates, post(templates::publish)))
        .route("/snms/api/v5/template/list", at(Operation::Templates, get(templates::list)))
        .route("/snms/api/v3/template", at(Operation::Templates, get(templates::get)))
}

/// An answer in the SNMS envelope.
#[derive(Serialize)]
struct Envelope<T> {
    status: i32,
    message: String,
    data: Option<T>,
}

/// A success carrying `data`.
fn ok<T: Serialize>(data: T) -> Response {
    axum::Json(Envelope { status: 1, message: "成功".into(), data: Some(data) }).into_response()
}

/// The SNMS status of an error code.
fn status(code: ErrorCode) -> i32 {
    match code {
        ErrorCode::AuthenticationNeeded => -1,
        ErrorCode::Forbidden => -3,
        ErrorCode::Internal => -4,
        _ => -2,
    }
}

/// What SNMS nodes say for an error the core has no Chinese message for.
fn chinese(e: &NodeError) -> String {
    match e.code {
        ErrorCode::HandleNotFound => "标识不存在".into(),
        ErrorCode::HandleAlreadyExists => "标识已存在".into(),
        ErrorCode::AuthenticationNeeded => "未登录或登录已过期".into(),
        ErrorCode::AuthenticationFailed => "用户名/密码错误！".into(),
        ErrorCode::TooManyFailures => "登录失败次数过多，请稍后再试".into(),
        ErrorCode::Forbidden => format!("没有权限：{}", e.message),
        ErrorCode::Overloaded => "系统繁忙".into(),
        ErrorCode::Internal => "系统内部错误".into(),
        ErrorCode::NotResponsible => format!("本节点不负责该前缀：{}", e.message),
        ErrorCode::InsecureAuthentication => format!("请使用HTTPS：{}", e.message),
        ErrorCode::PayloadTooLarge => format!("请求体过大：{}", e.message),
        _ => format!("参数不合法：{}", e.message),
    }
}

/// The message of `e` as SNMS answers it.
fn message(e: &NodeError) -> String {
    e.message_zh.as_deref().map_or_else(|| chinese(e), str::to_owned)
}

/// An error in the envelope (HTTP 200 but where HTTP itself failed); its code goes to the request metrics.
fn fail(e: NodeError) -> Response {
    let mut r = axum::Json(Envelope::<()> { status: status(e.code), message: message(&e), data: None }).into_response();
    if let Some(secs) = e.retry_after_secs {
        r.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    r.extensions_mut().insert(e.code);
    r
}

/// A missing request parameter, as SNMS words it.
fn missing(name: &str) -> NodeError {
    NodeError::new(ErrorCode::BadRequest, format!("missing request parameter: {name}"))
        .in_chinese(format!("缺少必要的请求参数: {name}"))
}

fn answer<T: Serialize>(r: Result<T, NodeError>) -> Response {
    r.map_or_else(fail, ok)
}

/// The query parameters of a request, or why they do not read (a field given twice, say).
pub(super) type Params<T> = Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>;

/// The parameters of `q`, or the refusal in the envelope's terms (not axum's plain-text rejection).
fn params<T>(q: Params<T>) -> Result<T, NodeError> {
    q.map(|axum::extract::Query(t)| t).map_err(|e| {
        NodeError::new(ErrorCode::BadRequest, format!("bad query: {e}")).in_chinese(format!("请求参数格式错误：{e}"))
    })
}

/// The body of a request, at most `limit` bytes, parsed as JSON.
async fn json_body<T: serde::de::DeserializeOwned>(body: Body, limit: usize) -> Result<T, NodeError> {
    let too_large =
        || NodeError::new(ErrorCode::PayloadTooLarge, format!("request body exceeds the limit of {limit} bytes"));
    let bytes: Bytes = to_bytes(body, limit).await.map_err(|_| too_large())?;
    serde_json::from_slice(&bytes).map_err(|e| {
        NodeError::new(ErrorCode::BadRequest, format!("malformed JSON body: {e}"))
            .in_chinese(format!("请求参数格式错误：{e}"))
    })
}

/// The caller of a request that sends `Authorization: Bearer <token>`; the session ends with the key it was
/// opened with. Runs on the blocking pool (it reads the identity's record).
fn session(state: &AppState, headers: &HeaderMap, origin: Origin) -> Result<Caller, NodeError> {
    let needed = || NodeError::new(ErrorCode::AuthenticationNeeded, "log in first: Authorization: Bearer <token>");
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(needed)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(needed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(needed());
    }
    let token = token.trim();
    let s = state.tokens.get(token, Instant::now()).ok_or_else(needed)?;
    if state.node.key_fingerprint(&s.identity)? != Some(s.key) {
        state.tokens.close(token);
        return Err(NodeError::new(ErrorCode::AuthenticationNeeded, "the session ended: the identity's key changed"));
    }
    Ok(Caller::new(Some(s.identity), origin))
}

/// What every SNMS handler takes from its request: the state, where it came from, and its headers (for the
/// token).
pub(super) struct Call {
    state: AppState,
    origin: Origin,
    headers: HeaderMap,
}

impl FromRequestParts<AppState> for Call {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let origin = parts.extensions.get::<Origin>().cloned().unwrap_or_else(|| Origin::new(Protocol::Rest, None));
        Ok(Self { state: state.clone(), origin, headers: std::mem::take(&mut parts.headers) })
    }
}

impl Call {
    /// Runs `f` with the session's caller on the blocking pool and answers its result.
    async fn with_session<T: Serialize + Send + 'static>(
        self,
        f: impl FnOnce(&AppState, &Caller) -> Result<T, NodeError> + Send + 'static,
    ) -> Response {
        let Self { state, origin, headers } = self;
        let run = crate::runtime::blocking(move || session(&state, &headers, origin).and_then(|c| f(&state, &c)));
        match run.await {
            Ok(r) => answer(r),
            Err(_) => fail(NodeError::new(ErrorCode::Internal, "request task failed")),
        }
    }

    /// Reads the JSON body (at most `http.max_body_bytes`), then runs `f` with it as [`Call::with_session`] does.
    async fn with_json<B, T>(
        self,
        body: Body,
        f: impl FnOnce(&AppState, &Caller, B) -> Result<T, NodeError> + Send + 'static,
    ) -> Response
    where
        B: serde::de::DeserializeOwned + Send + 'static,
        T: Serialize + Send + 'static,
    {
        let limit = self.state.settings.max_body_bytes;
        self.with_body(body, limit, f).await
    }

    /// Reads a batch body (at most `http.max_batch_body_bytes` and [`MAX_BATCH`] items), then runs `f` with its
    /// items as [`Call::with_session`] does.
    async fn with_batch<B, T>(
        self,
        body: Body,
        f: impl FnOnce(&AppState, &Caller, Vec<B>) -> Result<T, NodeError> + Send + 'static,
    ) -> Response
    where
        B: serde::de::DeserializeOwned + Send + 'static,
        T: Serialize + Send + 'static,
    {
        let limit = self.state.settings.max_batch_body_bytes;
        self.with_body(body, limit, |s, c, items: Vec<B>| {
            if items.len() > MAX_BATCH {
                let en = format!("a batch has at most {MAX_BATCH} items, not {}", items.len());
                return Err(NodeError::new(ErrorCode::BadRequest, en).in_chinese("批量操作数量不能超过2000"));
            }
            f(s, c, items)
        })
        .await
    }

    async fn with_body<B, T>(
        self,
        body: Body,
        limit: usize,
        f: impl FnOnce(&AppState, &Caller, B) -> Result<T, NodeError> + Send + 'static,
    ) -> Response
    where
        B: serde::de::DeserializeOwned + Send + 'static,
        T: Serialize + Send + 'static,
    {
        match json_body::<B>(body, limit).await {
            Ok(b) => self.with_session(move |s, c| f(s, c, b)).await,
            Err(e) => fail(e),
        }
    }
}
