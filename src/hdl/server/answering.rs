//! The Handle UDP requests a socket is answering on the blocking pool, so that a client's resend of one is
//! not answered twice.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::hdl::codec::Envelope;

/// The requests a UDP socket is answering on the blocking pool, by peer and request id, with their bytes. A
/// client that sends a request again before its answer came (the Java client does after 500 ms) then gets one
/// answer, and a node that is slow because it reads the disk does not read the same record once per copy.
/// Requests with id 0 are never taken for copies: nothing tells them apart.
#[derive(Clone, Default)]
pub(super) struct Answering(Arc<Mutex<Messages>>);

/// Request messages by peer and request id.
type Messages = HashMap<(SocketAddr, u32), Vec<u8>>;

impl Answering {
    fn lock(&self) -> MutexGuard<'_, Messages> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `message` from `peer` with `env`'s request id is a copy of one being answered.
    pub(super) fn is_copy(&self, peer: SocketAddr, env: &Envelope, message: &[u8]) -> bool {
        if env.request_id == 0 {
            return false;
        }
        let answering = self.lock();
        !answering.is_empty() && answering.get(&(peer, env.request_id)).is_some_and(|m| m == message)
    }

    /// Notes that `message` is being answered until the guard drops.
    pub(super) fn enter(&self, peer: SocketAddr, env: &Envelope, message: &[u8]) -> Option<AnsweringGuard> {
        if env.request_id == 0 {
            return None;
        }
        let key = (peer, env.request_id);
        self.lock().insert(key, message.to_vec());
        Some(AnsweringGuard(self.clone(), key))
    }
}

/// Ends an [`Answering`] entry when dropped, however the answer ends.
pub(super) struct AnsweringGuard(Answering, (SocketAddr, u32));

impl Drop for AnsweringGuard {
    fn drop(&mut self) {
        self.0.lock().remove(&self.1);
    }
}
