//! Session tokens of the SNMS API: opaque, random, 24 hours (`http.snms_token_secs`), held in memory only (a
//! restart ends every session), each bound to the secret key it was opened with (changing the key ends the
//! session).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;

use crate::node::Identity;

/// Most sessions held at once; a login beyond them, once the expired are dropped, is refused as busy.
pub const MAX_SESSIONS: usize = 100_000;

/// What a token stands for.
#[derive(Debug, Clone)]
pub struct Session {
    /// The identity that logged in.
    pub identity: Identity,
    /// The digest of the key it logged in with.
    pub key: [u8; 32],
    expires: Instant,
}

/// The live sessions.
#[derive(Debug)]
pub struct Tokens {
    sessions: Mutex<HashMap<String, Session>>,
    lifetime: Duration,
}

impl Tokens {
    /// No sessions yet; each opened will last `lifetime`.
    pub fn new(lifetime: Duration) -> Self {
        Self { sessions: Mutex::default(), lifetime }
    }

    /// Opens a session for `identity`, logged in with the key of digest `key`; `None` when the table is full.
    pub fn open(&self, identity: Identity, key: [u8; 32], now: Instant) -> Option<String> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let mut sessions = self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, s| s.expires > now);
            if sessions.len() >= MAX_SESSIONS {
                return None;
            }
        }
        sessions.insert(token.clone(), Session { identity, key, expires: now + self.lifetime });
        Some(token)
    }

    /// The session of `token`, unless it expired (then it is dropped).
    pub fn get(&self, token: &str, now: Instant) -> Option<Session> {
        let mut sessions = self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match sessions.get(token) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                sessions.remove(token);
                None
            }
            None => None,
        }
    }

    /// Ends the session of `token`.
    pub fn close(&self, token: &str) {
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{Handle, SuffixCase};

    #[test]
    fn a_token_lasts_a_day_and_is_unguessable() {
        let day = Duration::from_secs(24 * 3600);
        let t = Tokens::new(day);
        let id = Identity { handle: Handle::parse("0.NA/88.798.1", SuffixCase::Sensitive).unwrap(), index: 300 };
        let now = Instant::now();
        let a = t.open(id.clone(), [1; 32], now).unwrap();
        let b = t.open(id, [1; 32], now).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(t.get(&a, now + day - Duration::from_secs(1)).is_some());
        assert!(t.get(&a, now + day).is_none());
        assert!(t.get(&a, now).is_none(), "an expired token is gone");
        t.close(&b);
        assert!(t.get(&b, now).is_none());
        assert!(t.get("nonsense", now).is_none());
    }
}
