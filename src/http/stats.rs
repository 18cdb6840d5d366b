//! `GET /api/stats`: the node's published statistics (public, read-only): `from`, `to` (`YYYY-MM-DD`), `prefix`
//! and `top` select the report.

use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::query::Params;
use super::reply::{self, ApiError, Caching, Render};
use crate::error::{ErrorCode, NodeError};
use crate::request::Origin;
use crate::stats::{ReportQuery, parse_date};

/// Reads the report query from the parameters.
fn report_query(params: &Params) -> Result<ReportQuery, NodeError> {
    let date = |k| params.last(k).map(parse_date).transpose();
    let top = params.int("top").map_err(|m| NodeError::new(ErrorCode::BadRequest, m))?;
    Ok(ReportQuery {
        from: date("from")?,
        to: date("to")?,
        prefix: params.last("prefix").map(str::to_owned),
        top: top.map(|t| usize::try_from(t).unwrap_or(usize::MAX)),
    })
}

/// The handler.
pub async fn stats(State(state): State<AppState>, origin: Option<Extension<Origin>>, uri: Uri) -> Response {
    let client = origin.and_then(|o| o.peer).map(|p| p.ip());
    let params = Params::parse(uri.query());
    let render = Render::from_params(&params).unwrap_or_default();
    let report = match report_query(&params) {
        Ok(q) => state.runtime.report(&state.node, q, client).await,
        Err(e) => Err(e),
    };
    match report {
        Ok(r) => reply::json(StatusCode::OK, &r, &render, Caching::NoStore, None),
        Err(e) => ApiError::from_node(e, "", &render).into_response(),
    }
}
