//! Credentials of a REST request (Basic, or the Handle.Net challenge scheme): refused over plain HTTP unless
//! allowed, then checked by the core.

use axum::http::{HeaderMap, header};

use super::sessions::Sessions;
use crate::error::{ErrorCode, NodeError};
use crate::node::{Caller, Node};
use crate::request::{Credentials, Origin};

/// Authenticates the request's credentials, if any, where `credentials` admits them. Credentials and a JSONP
/// callback (`jsonp`) are refused together: a browser sends cached credentials with a `<script>` tag, so any
/// web page could read an authenticated answer wrapped in a callback.
/// `sessions`: where the `Authorization: Handle` scheme's sessions are (the REST port's; none on the admin port).
pub fn caller(
    node: &Node,
    headers: &HeaderMap,
    origin: Origin,
    credentials: Credentials,
    jsonp: bool,
    sessions: Option<&Sessions>,
) -> Result<Caller, NodeError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(Caller::new(None, origin)) };
    if jsonp {
        let msg = "callback (JSONP) is refused with credentials: any web page could read the answer";
        return Err(NodeError::new(ErrorCode::BadRequest, msg));
    }
    credentials.admit(
        "authentication over plain HTTP is refused: use HTTPS (operators may allow it for loopback testing with http.allow_insecure_auth)",
    )?;
    let text = value
        .to_str()
        .map_err(|_| NodeError::new(ErrorCode::AuthenticationFailed, "Authorization header is not ASCII"))?;
    // The Handle.Net scheme: a signature over the session's nonce (`POST /api/sessions`); else Basic.
    if let Some(sessions) =
        sessions.filter(|_| text.trim_start().get(..7).is_some_and(|s| s.eq_ignore_ascii_case("Handle ")))
    {
        return sessions.caller(node, text, origin);
    }
    node.caller_from(Some(text), origin)
}
