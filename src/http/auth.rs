//! HTTP Basic credentials: user name `index:handle` (percent-encoded), password the raw `HS_SECKEY` bytes.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use percent_encoding::percent_decode;

use crate::error::{ErrorCode, NodeError};
use crate::node::{Caller, Node};

/// Splits decoded Basic credentials into identity and secret. The identity is normally percent-encoded
/// (`300%3A0.NA/88.798`); a raw `300:0.NA/88.798:secret` is accepted too.
fn split_credentials(decoded: &[u8]) -> Option<(String, Vec<u8>)> {
    let first = decoded.iter().position(|b| *b == b':')?;
    let (user, secret) = if decoded[..first].iter().all(u8::is_ascii_digit) && !decoded[..first].is_empty() {
        let second = first + 1 + decoded[first + 1..].iter().position(|b| *b == b':')?;
        (&decoded[..second], &decoded[second + 1..])
    } else {
        (&decoded[..first], &decoded[first + 1..])
    };
    let user = percent_decode(user).decode_utf8().ok()?.into_owned();
    Some((user, secret.to_vec()))
}

/// Authenticates the request's credentials, if any. `secure` is whether the connection is TLS.
pub fn caller(node: &Node, headers: &HeaderMap, secure: bool, allow_insecure: bool) -> Result<Caller, NodeError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(Caller::Anonymous) };
    if !secure && !allow_insecure {
        return Err(NodeError::new(
            ErrorCode::InsecureAuthentication,
            "authentication over plain HTTP is refused: use HTTPS (operators may allow it for loopback testing with http.allow_insecure_auth)",
        ));
    }
    let text = value
        .to_str()
        .map_err(|_| NodeError::new(ErrorCode::AuthenticationFailed, "Authorization header is not ASCII"))?;
    let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Err(NodeError::new(
            ErrorCode::AuthenticationNeeded,
            format!("authorization scheme {scheme:?} is not supported; use Basic with index:handle and the secret key"),
        ));
    }
    let decoded = B64
        .decode(rest.trim())
        .map_err(|_| NodeError::new(ErrorCode::AuthenticationFailed, "Basic credentials are not valid base64"))?;
    let (user, secret) = split_credentials(&decoded).ok_or_else(|| {
        NodeError::new(ErrorCode::AuthenticationFailed, "Basic credentials must be index:handle and a secret")
    })?;
    Ok(Caller::Identity(node.authenticate(&user, &secret)?))
}

#[cfg(test)]
mod tests {
    use super::split_credentials;

    #[test]
    fn encoded_and_raw_identities() {
        let (u, s) = split_credentials(b"300%3A0.NA/88.798.1:pa:ss").unwrap();
        assert_eq!((u.as_str(), s.as_slice()), ("300:0.NA/88.798.1", &b"pa:ss"[..]));
        let (u, s) = split_credentials(b"300:0.NA/88.798.1:secret").unwrap();
        assert_eq!((u.as_str(), s.as_slice()), ("300:0.NA/88.798.1", &b"secret"[..]));
        assert!(split_credentials(b"nocolon").is_none());
        assert!(split_credentials(b"300:noseparator").is_none());
    }
}
