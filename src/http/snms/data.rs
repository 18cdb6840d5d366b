//! Logins (`/identity/token`, and `/identity/token/v1` with the day's digest of the password) and the
//! identifiers of `/identityv2/data`: a record names its template by `templateVersion`, and its values are that
//! template's items, strings of at most 255 characters.

use std::time::Instant;

use axum::body::Body;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AppState, Call, Params, answer, fail, json_body, missing, params};
use crate::error::{ErrorCode, NodeError};
use crate::id::Handle;
use crate::node::{Caller, Filter, RecordMode, RecordWrite, ValueMode};
use crate::record::HandleValue;
use crate::template::{FIRST_ITEM_INDEX, TEMPLATE_ID_INDEX, TEMPLATE_VERSION_INDEX, TEMPLATE_VERSION_TYPE, Violation};

/// Longest handle, template version, username, password and value the API takes (snms-api.md).
const MAX_HANDLE: usize = 255;
const MAX_VERSION: usize = 128;
const MAX_USERNAME: usize = 50;
const MAX_PASSWORD: usize = 64;
const MAX_VALUE: usize = 255;
/// The login digest's day is China Standard Time's; this long after its midnight, yesterday's still counts.
const UTC_OFFSET_SECS: i64 = 8 * 3600;
const MIDNIGHT_GRACE_SECS: i64 = 300;

#[derive(Deserialize)]
pub(super) struct Login {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

#[derive(Serialize)]
struct Token {
    token: String,
}

/// `POST /identity/token`: the password is the identity's secret key.
pub(super) async fn login(call: Call, body: Body) -> Response {
    open_session(call, body, |secret, given| bool::from(secret.ct_eq(given))).await
}

/// `POST /identity/token/v1`: the password is `hex(sha256(hex(sha256(secret)) + "yyyy-MM-dd"))` of the day.
pub(super) async fn login_hashed(call: Call, body: Body) -> Response {
    open_session(call, body, |secret, given| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp() + UTC_OFFSET_SECS;
        let days = if now.rem_euclid(86_400) < MIDNIGHT_GRACE_SECS { vec![now, now - 86_400] } else { vec![now] };
        days.into_iter().any(|t| bool::from(day_digest(secret, t).as_bytes().ct_eq(&given.to_ascii_lowercase())))
    })
    .await
}

/// The v1 login digest of `secret` on the day of `local` (seconds, China Standard Time).
fn day_digest(secret: &[u8], local: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(local).map(|t| t.date()).unwrap_or(time::Date::MIN);
    let day = format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day());
    let inner = hex::encode(Sha256::digest(secret));
    hex::encode(Sha256::digest(format!("{inner}{day}")))
}

async fn open_session(call: Call, body: Body, proves: impl Fn(&[u8], &[u8]) -> bool + Send + 'static) -> Response {
    let Call { state, origin, .. } = call;
    let login: Login = match json_body(body, state.settings.max_body_bytes).await {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    if login.username.is_empty() {
        return fail(missing("username"));
    }
    if login.password.is_empty() {
        return fail(missing("password"));
    }
    if login.username.chars().count() > MAX_USERNAME || login.password.chars().count() > MAX_PASSWORD {
        return fail(NodeError::new(ErrorCode::AuthenticationFailed, "username or password too long"));
    }
    if let Err(e) = state.credentials.admit("logging in over plain HTTP is refused: use HTTPS") {
        return fail(e);
    }
    let run = crate::runtime::blocking(move || {
        let user = if login.username.contains(':') { login.username } else { format!("300:{}", login.username) };
        let given = login.password.into_bytes();
        let caller =
            state.node.login(&user, crate::record::types::HS_SECKEY, &|secret| proves(secret, &given), origin)?;
        let id = caller.require()?.clone();
        let key =
            state.node.key_fingerprint(&id)?.ok_or_else(|| NodeError::new(ErrorCode::AuthenticationFailed, ""))?;
        let token = state.tokens.open(id, key, Instant::now());
        token
            .map(|token| Token { token })
            .ok_or_else(|| NodeError::new(ErrorCode::Overloaded, "too many sessions are open").retry_after(60))
    });
    match run.await {
        Ok(r) => answer(r),
        Err(_) => fail(NodeError::new(ErrorCode::Internal, "request task failed")),
    }
}

/// A value as the API writes it.
#[derive(Debug, Deserialize, Serialize)]
struct Value {
    index: u32,
    #[serde(rename = "type")]
    ty: String,
    /// Reserved by the contract: echoed empty.
    #[serde(default)]
    auth: Option<serde_json::Value>,
    data: Data,
}

#[derive(Debug, Deserialize, Serialize)]
struct Data {
    #[serde(default = "string_format")]
    format: String,
    value: String,
}

fn string_format() -> String {
    "string".into()
}

/// A record as the API writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(default)]
    handle: String,
    #[serde(default)]
    template_version: String,
    #[serde(default)]
    value: Vec<Value>,
}

/// A record read back.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    prefix: String,
    handle: String,
    template_version: String,
    value: Vec<Value>,
}

fn invalid(en: String, zh: String) -> NodeError {
    NodeError::new(ErrorCode::InvalidValue, en).in_chinese(zh)
}

/// The handle a request names, within the API's length.
fn handle(state: &AppState, text: &str) -> Result<Handle, NodeError> {
    if text.is_empty() {
        return Err(missing("handle"));
    }
    if text.chars().count() > MAX_HANDLE {
        return Err(invalid(
            format!("a handle has at most {MAX_HANDLE} characters"),
            "标识长度不能超过255个字符".into(),
        ));
    }
    state.node.parse_handle(text).map_err(|e| {
        let zh = format!("标识格式不正确：{}", e.message);
        e.in_chinese(zh)
    })
}

/// The handle and core values of `r`: its values are template items (index 2000 and up) of the string format,
/// and the node adds the template version at 1001 (and, from the template, its identifier at 1000).
fn record(state: &AppState, r: Record) -> Result<(Handle, Vec<HandleValue>), NodeError> {
    let h = handle(state, &r.handle)?;
    if r.template_version.is_empty() {
        return Err(missing("templateVersion"));
    }
    if r.template_version.chars().count() > MAX_VERSION {
        return Err(invalid(format!("templateVersion has at most {MAX_VERSION} characters"), "模板版本过长".into()));
    }
    let stamp = crate::node::now();
    let mut values = Vec::with_capacity(r.value.len() + 1);
    for v in r.value {
        if v.index == TEMPLATE_ID_INDEX || v.index == TEMPLATE_VERSION_INDEX {
            let en = format!("index {} is reserved: the node writes it", v.index);
            return Err(invalid(en, format!("非法操作，索引{}为保留索引", v.index)));
        }
        if v.index < FIRST_ITEM_INDEX {
            let unknown = Violation::UnknownIndex { index: v.index };
            return Err(invalid(unknown.english(), unknown.chinese()));
        }
        if v.data.format != "string" {
            let en = format!("index {}: only the string format is supported", v.index);
            return Err(invalid(en, format!("索引{}的数据格式只支持string", v.index)));
        }
        if v.data.value.chars().count() > MAX_VALUE {
            let en = format!("index {}: a value has at most {MAX_VALUE} characters", v.index);
            return Err(invalid(en, format!("索引{}的值不能超过255个字符", v.index)));
        }
        values.push(HandleValue::new(v.index, &v.ty, v.data.value.into_bytes(), stamp));
    }
    values.push(HandleValue::new(
        TEMPLATE_VERSION_INDEX,
        TEMPLATE_VERSION_TYPE,
        r.template_version.into_bytes(),
        stamp,
    ));
    Ok((h, values))
}

/// One item of a request, kept as its JSON text until it is parsed on its own: a malformed item fails alone,
/// and a batch of 2,000 builds no tree of JSON values.
type Item = Box<RawValue>;

fn parse<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, NodeError> {
    serde_json::from_str(item.get()).map_err(|e| {
        NodeError::new(ErrorCode::BadRequest, format!("malformed item: {e}")).in_chinese(format!("参数格式错误：{e}"))
    })
}

/// The write of a create item: idempotent, so that a retry after an unknown outcome is safe.
fn create_write(state: &AppState, item: &Item) -> Result<RecordWrite, NodeError> {
    let (h, values) = record(state, parse(item)?)?;
    Ok(RecordWrite { h, values, mode: RecordMode::CreateIdempotent })
}

fn create_one(state: &AppState, caller: &Caller, item: Item) -> Result<(), NodeError> {
    let w = create_write(state, &item)?;
    state.node.write_record(caller, &w.h, w.values, w.mode).map(drop)
}

fn update_one(state: &AppState, caller: &Caller, item: Item) -> Result<(), NodeError> {
    let (h, values) = record(state, parse(&item)?)?;
    state.node.put_values(caller, &h, values, None, ValueMode::Upsert)
}

#[derive(Deserialize)]
pub(super) struct Named {
    #[serde(default)]
    handle: String,
}

/// `GET /identityv2/data/detail?handle=`: the template items of the record the caller may read.
pub(super) async fn detail(call: Call, q: Params<Named>) -> Response {
    call.with_session(move |state, caller| {
        let q = params(q)?;
        let h = handle(state, &q.handle)?;
        let res = state.node.resolve(&h, &Filter::default(), caller)?;
        let text = |v: &HandleValue| String::from_utf8_lossy(&v.data).into_owned();
        let version = res.values().find(|v| v.index == TEMPLATE_VERSION_INDEX).map(text).unwrap_or_default();
        let value = res
            .values()
            .filter(|v| v.index >= FIRST_ITEM_INDEX && std::str::from_utf8(&v.data).is_ok())
            .map(|v| Value {
                index: v.index,
                ty: v.ty.clone(),
                auth: None,
                data: Data { format: string_format(), value: text(v) },
            })
            .collect();
        Ok(Detail { prefix: h.prefix().to_string(), handle: q.handle, template_version: version, value })
    })
    .await
}

/// `POST /identityv2/data`: registers a record; the identical record already there is a success (a retry).
pub(super) async fn create(call: Call, body: Body) -> Response {
    call.with_json(body, |s, c, item| create_one(s, c, item).map(|()| true)).await
}

/// `PUT /identityv2/data`: the values sent replace those at their indexes; the others stay.
pub(super) async fn update(call: Call, body: Body) -> Response {
    call.with_json(body, |s, c, item| update_one(s, c, item).map(|()| true)).await
}

/// `DELETE /identityv2/data` with `{"handle"}`.
pub(super) async fn remove(call: Call, body: Body) -> Response {
    call.with_json(body, |s, c, named: Named| {
        let h = handle(s, &named.handle)?;
        s.node.delete_handle(c, &h).map(|()| true)
    })
    .await
}

/// The result of one item of a batch.
#[derive(Serialize)]
struct ItemResult {
    handle: String,
    msg: String,
}

/// The result of one handle of `batchDelete`.
#[derive(Serialize)]
struct DeleteResult {
    handle: String,
    code: i32,
    msg: String,
}

/// The `msg` of a batch item's result: `success`, or the reason.
fn item_msg<T>(r: Result<T, NodeError>) -> String {
    r.map_or_else(|e| super::message(&e), |_| "success".into())
}

/// The handle an item names, as it names it (empty when the item is no object).
fn item_handle(item: &Item) -> String {
    parse::<Named>(item).map(|n| n.handle).unwrap_or_default()
}

/// `POST /identityv2/data/batchCreate`: every item in one store write.
pub(super) async fn batch_create(call: Call, body: Body) -> Response {
    call.with_batch(body, |s, c, items: Vec<Item>| {
        let handles: Vec<String> = items.iter().map(item_handle).collect();
        let writes = items.iter().map(|item| create_write(s, item)).collect();
        let results = s.node.write_records(c, writes).into_iter().zip(handles);
        Ok(results.map(|(r, handle)| ItemResult { handle, msg: item_msg(r) }).collect::<Vec<_>>())
    })
    .await
}

/// `PUT /identityv2/data/batchUpdate`: item by item (each merges into the record it finds).
pub(super) async fn batch_update(call: Call, body: Body) -> Response {
    call.with_batch(body, |s, c, items: Vec<Item>| {
        let results = items
            .into_iter()
            .map(|item| ItemResult { handle: item_handle(&item), msg: item_msg(update_one(s, c, item)) });
        Ok(results.collect::<Vec<_>>())
    })
    .await
}

/// `DELETE /identityv2/data/batchDelete` with an array of handles.
pub(super) async fn batch_delete(call: Call, body: Body) -> Response {
    call.with_batch(body, |s, c, handles: Vec<String>| {
        let results = handles.into_iter().map(|text| {
            let done = handle(s, &text).and_then(|h| s.node.delete_handle(c, &h));
            let (code, msg) = done.map_or_else(|e| (-2, super::message(&e)), |()| (1, "success".into()));
            DeleteResult { handle: text, code, msg }
        });
        Ok(results.collect::<Vec<_>>())
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_day_digest_is_sha256_of_the_hex_sha256_and_the_date() {
        // 2026-12-01T00:00 in China Standard Time, as the local seconds the digest takes.
        let local = 1_796_083_200;
        let d = super::day_digest(b"secret", local);
        let inner = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
        let expected = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(format!("{inner}2026-12-01")));
        assert_eq!(d, expected);
    }
}
