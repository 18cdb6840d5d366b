//! The Handle.Net REST API's challenge and response (handle-auth.md, "REST"): `POST /api/sessions` gives a
//! session id and a nonce; a request proves an identity with `Authorization: Handle sessionId=…, id=…,
//! type=HS_SECKEY|HS_PUBKEY, alg=…, cnonce=…, signature=…` over the nonce and the client's cnonce, checked as
//! the Handle protocol checks an answer to its challenge; the same header again in that session is known.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::AppState;
use crate::error::{ErrorCode, NodeError};
use crate::hdl::challenge::{challenged, pubkey_proves, seckey, seckey_proves};
use crate::node::{Caller, Identity, Node};
use crate::record::types;
use crate::record::wire::put_bytes;
use crate::request::Origin;

/// How long a session lives after its last use.
const SESSION_IDLE: Duration = Duration::from_secs(600);
/// Most sessions at once; beyond, the oldest idle ones go first.
const MAX_SESSIONS: usize = 100_000;

struct Session {
    nonce: [u8; 16],
    used: Instant,
    /// The header that authenticated, and whom.
    known: Option<(String, Identity)>,
}

/// The REST door's authentication sessions, by id.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    /// A new session: its id and nonce.
    pub fn open(&self) -> (String, [u8; 16]) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if all.len() >= MAX_SESSIONS {
            all.retain(|_, s| s.used.elapsed() < SESSION_IDLE);
        }
        let id = hex::encode(rand::random::<[u8; 16]>());
        let nonce = rand::random();
        all.insert(id.clone(), Session { nonce, used: Instant::now(), known: None });
        (id, nonce)
    }

    /// The caller proven by `Authorization: Handle` `params` (the header's `value`), checked against `node`.
    pub fn caller(&self, node: &Node, value: &str, origin: Origin) -> Result<Caller, NodeError> {
        let params = parse(value);
        let get = |k: &str| params.get(k).map(String::as_str);
        let unknown = || NodeError::new(ErrorCode::AuthenticationFailed, "unknown or expired Handle session");
        let id = get("sessionid").ok_or_else(unknown)?;
        let nonce = {
            let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let s = all.get_mut(id).filter(|s| s.used.elapsed() < SESSION_IDLE).ok_or_else(unknown)?;
            s.used = Instant::now();
            if let Some((_, identity)) = s.known.as_ref().filter(|(header, _)| header == value) {
                return Ok(Caller::new(Some(identity.clone()), origin));
            }
            s.nonce
        };
        let missing =
            |k: &str| NodeError::new(ErrorCode::AuthenticationFailed, format!("Handle authorization lacks {k}"));
        let (user, kind, alg) = (
            get("id").ok_or_else(|| missing("id"))?,
            get("type").unwrap_or("HS_PUBKEY"),
            get("alg").unwrap_or("SHA256"),
        );
        let b64 = |k: &str| B64.decode(get(k).ok_or_else(|| missing(k))?).map_err(|_| missing(k));
        let (cnonce, signature) = (b64("cnonce")?, b64("signature")?);
        let user = if user.contains(':') { user.to_owned() } else { format!("0:{user}") };
        let m = challenged(&nonce, &cnonce);
        let caller = match kind {
            "HS_SECKEY" => {
                let mut signed = vec![seckey_code(alg).ok_or_else(|| missing("a known alg"))?];
                if signed[0] == seckey::PBKDF2_HMAC_SHA1 {
                    let number = |k: &str| get(k).and_then(|v| v.parse::<u32>().ok()).ok_or_else(|| missing(k));
                    put_bytes(&mut signed, &b64("salt")?);
                    signed.extend_from_slice(&number("iterations")?.to_be_bytes());
                    signed.extend_from_slice(&number("length")?.to_be_bytes());
                    put_bytes(&mut signed, &signature);
                } else {
                    signed.extend_from_slice(&signature);
                }
                node.login(&user, types::HS_SECKEY, &|secret| seckey_proves(secret, &m, &signed, 11), origin)?
            }
            "HS_PUBKEY" => {
                let mut signed = Vec::new();
                put_bytes(&mut signed, alg.as_bytes());
                put_bytes(&mut signed, &signature);
                node.login(&user, types::HS_PUBKEY, &|key| pubkey_proves(key, &m, &signed), origin)?
            }
            other => {
                return Err(NodeError::new(ErrorCode::AuthenticationFailed, format!("unknown key type {other:?}")));
            }
        };
        if let (Some(identity), Some(s)) =
            (caller.identity(), self.0.lock().unwrap_or_else(|e| e.into_inner()).get_mut(id))
        {
            s.known = Some((value.to_owned(), identity.clone()));
        }
        Ok(caller)
    }
}

/// The form code of a secret-key answer named `alg` (case and punctuation ignored, as Handle.Net compares).
fn seckey_code(alg: &str) -> Option<u8> {
    let bare: String = alg.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase();
    Some(match bare.as_str() {
        "MD5" => seckey::MD5,
        "SHA" | "SHA1" => seckey::SHA1,
        "SHA256" | "SHA2" => seckey::SHA256,
        "HMACSHA1" => seckey::HMAC_SHA1,
        "HMACSHA256" => seckey::HMAC_SHA256,
        "PBKDF2HMACSHA1" | "PBKDF2WITHHMACSHA1" => seckey::PBKDF2_HMAC_SHA1,
        _ => return None,
    })
}

/// The `key="value"` pairs after the scheme, keys lowercased.
fn parse(value: &str) -> HashMap<String, String> {
    let rest = value.trim().split_once(' ').map_or("", |(_, r)| r);
    rest.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

/// `POST /api/sessions`: a new session and its nonce (201).
pub(super) async fn open(State(state): State<AppState>) -> Response {
    let (id, nonce) = state.sessions.open();
    let body = serde_json::json!({"sessionId": id, "nonce": B64.encode(nonce)});
    (StatusCode::CREATED, axum::Json(body)).into_response()
}
