//! The templates of `/snms/api/v5/template` (and v3's read): `GET` and `DELETE` by `prefix` and `version`,
//! `POST` to define (published at once unless `"published": false`, an idnode extension), `PUT` to change a
//! draft (the fields it leaves out stay); and idnode's `POST …/publish` and `GET …/list?prefix=`.

use axum::body::Body;
use axum::response::Response;
use serde::Deserialize;

use super::{Call, Params, missing, params};
use crate::error::{ErrorCode, NodeError};
use crate::id::Prefix;
use crate::template::Template;

/// Which template a request names.
#[derive(Deserialize)]
pub(super) struct Named {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    version: String,
}

impl Named {
    fn parts(&self) -> Result<(Prefix, &str), NodeError> {
        if self.prefix.is_empty() {
            return Err(missing("prefix"));
        }
        if self.version.is_empty() {
            return Err(missing("version"));
        }
        Ok((crate::node::template_prefix(&self.prefix)?, self.version.as_str()))
    }
}

fn not_found() -> NodeError {
    NodeError::new(ErrorCode::HandleNotFound, "no such template").in_chinese("模板不存在")
}

/// A template body; `published` defaults to true, as an SNMS template is usable once defined.
fn template(mut body: serde_json::Value, published: bool) -> Result<Template, NodeError> {
    if let Some(o) = body.as_object_mut() {
        o.entry("published").or_insert(serde_json::Value::Bool(published));
    }
    serde_json::from_value(body).map_err(|e| {
        NodeError::new(ErrorCode::BadRequest, format!("malformed template: {e}"))
            .in_chinese(format!("模板参数格式错误：{e}"))
    })
}

/// `GET ?prefix=&version=`.
pub(super) async fn get(call: Call, q: Params<Named>) -> Response {
    call.with_session(move |s, _| {
        let q = params(q)?;
        let (prefix, version) = q.parts()?;
        s.node.template(&prefix, version)?.map(|t| t.as_ref().clone()).ok_or_else(not_found)
    })
    .await
}

/// `GET /list?prefix=`: the templates defined on a prefix (every prefix without one).
pub(super) async fn list(call: Call, q: Params<Named>) -> Response {
    call.with_session(move |s, _| {
        let q = params(q)?;
        let prefix = (!q.prefix.is_empty()).then(|| crate::node::template_prefix(&q.prefix)).transpose()?;
        let all = s.node.templates(prefix.as_ref())?;
        Ok(all.iter().map(|t| t.as_ref().clone()).collect::<Vec<_>>())
    })
    .await
}

/// `POST`: defines a template version.
pub(super) async fn define(call: Call, body: Body) -> Response {
    call.with_json(body, |s, c, t| s.node.define_template(c, template(t, true)?)).await
}

/// `PUT`: changes a draft (items matched by index and type, never deleted).
pub(super) async fn update(call: Call, body: Body) -> Response {
    call.with_json(body, |s, c, t| s.node.update_template(c, template(t, false)?)).await
}

/// `POST /publish` with `{"prefix", "version"}`.
pub(super) async fn publish(call: Call, body: Body) -> Response {
    call.with_json(body, |s, c, named: Named| {
        let (prefix, version) = named.parts()?;
        s.node.publish_template(c, &prefix, version)
    })
    .await
}

/// `DELETE ?prefix=&version=`: deletes a draft.
pub(super) async fn remove(call: Call, q: Params<Named>) -> Response {
    call.with_session(move |s, c| {
        let q = params(q)?;
        let (prefix, version) = q.parts()?;
        s.node.delete_template(c, &prefix, version).map(|()| true)
    })
    .await
}
