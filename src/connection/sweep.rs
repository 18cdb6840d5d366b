//! The timeouts of every TCP connection, kept without a timer per request or per read: each connection notes in
//! relaxed atomics the coarse second at which bytes last went each way ([`Activity`]), and one thread wakes every
//! second, walks the open connections and shuts down the socket of each that broke a rule ([`Activity::expired`]).
//! The kernel then wakes the connection's task with an end of stream, and the task ends as if the client had
//! closed. A read or a write costs two or three stores to the connection's own cache line.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Instant;

use super::config::Timeouts;
use crate::metrics::closed_label;

/// Seconds since the process first asked, from 1 (0 means "never" in [`Activity`]); advanced by the sweep.
static NOW: AtomicU32 = AtomicU32::new(1);
static START: OnceLock<Instant> = OnceLock::new();

/// The coarse clock: whole seconds, as of the last tick.
pub(super) fn now() -> u32 {
    NOW.load(Relaxed)
}

/// Advances the coarse clock to the real time.
pub(super) fn tick() -> u32 {
    let secs = START.get_or_init(Instant::now).elapsed().as_secs();
    let t = u32::try_from(secs).unwrap_or(u32::MAX - 1) + 1;
    NOW.fetch_max(t, Relaxed);
    t
}

/// Why the sweep closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No byte within the handshake timeout of the accept.
    Handshake,
    /// Input still arriving, and unanswered, at the request timeout after its first byte: a request's headers or
    /// body trickling in. (Input that arrives once and is followed by silence, such as an HTTP/2 client's
    /// `SETTINGS` acknowledgement or `WINDOW_UPDATE`, owes no answer: the idle timeout applies to it.)
    Request,
    /// A write blocked on a client that does not read for the send timeout.
    Send,
    /// Nothing either way for the idle timeout.
    Idle,
}

impl Expiry {
    const ALL: [Self; 4] = [Self::Handshake, Self::Request, Self::Send, Self::Idle];

    /// The label value.
    fn label(self) -> &'static str {
        match self {
            Self::Handshake => "handshake",
            Self::Request => "request",
            Self::Send => "send",
            Self::Idle => "idle",
        }
    }
}

closed_label!(Expiry, "reason");

/// When bytes last went each way on one connection, in coarse seconds (0: not yet).
#[derive(Debug)]
pub(super) struct Activity {
    opened: u32,
    read: AtomicU32,
    wrote: AtomicU32,
    /// When the oldest input not followed by any byte of answer arrived.
    unanswered: AtomicU32,
    /// When a write first found the socket full, until one goes out.
    blocked: AtomicU32,
}

impl Activity {
    pub(super) fn new() -> Self {
        let zero = || AtomicU32::new(0);
        Self { opened: now(), read: zero(), wrote: zero(), unanswered: zero(), blocked: zero() }
    }

    /// Bytes arrived.
    #[inline]
    pub(super) fn read(&self) {
        let t = now();
        self.read.store(t, Relaxed);
        if self.unanswered.load(Relaxed) == 0 {
            self.unanswered.store(t, Relaxed);
        }
    }

    /// Bytes went out: whatever arrived before has its answer begun, and the socket takes writes.
    #[inline]
    pub(super) fn wrote(&self) {
        self.wrote.store(now(), Relaxed);
        if self.unanswered.load(Relaxed) != 0 {
            self.unanswered.store(0, Relaxed);
        }
        if self.blocked.load(Relaxed) != 0 {
            self.blocked.store(0, Relaxed);
        }
    }

    /// A write found the socket full.
    #[inline]
    pub(super) fn blocked(&self) {
        if self.blocked.load(Relaxed) == 0 {
            self.blocked.store(now(), Relaxed);
        }
    }

    /// The first rule the connection breaks at `now`, if any.
    pub(super) fn expired(&self, now: u32, limits: &Timeouts) -> Option<Expiry> {
        let read = self.read.load(Relaxed);
        let since = |t: u32| now.saturating_sub(t);
        let unanswered = self.unanswered.load(Relaxed);
        let blocked = self.blocked.load(Relaxed);
        let last = self.opened.max(read).max(self.wrote.load(Relaxed));
        if read == 0 && since(self.opened) >= limits.handshake {
            Some(Expiry::Handshake)
        } else if unanswered != 0 && read > unanswered && since(unanswered) >= limits.request {
            Some(Expiry::Request)
        } else if blocked != 0 && since(blocked) >= limits.send {
            Some(Expiry::Send)
        } else if since(last) >= limits.idle {
            Some(Expiry::Idle)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Timeouts = Timeouts { handshake: 10, request: 30, send: 20, idle: 60 };

    fn at(opened: u32) -> Activity {
        let a = Activity::new();
        Activity { opened, ..a }
    }

    fn set(cell: &AtomicU32, t: u32) {
        cell.store(t, Relaxed);
    }

    #[test]
    fn a_silent_connection_expires_at_the_handshake_timeout() {
        let a = at(100);
        assert_eq!(a.expired(109, &LIMITS), None);
        assert_eq!(a.expired(110, &LIMITS), Some(Expiry::Handshake));
    }

    #[test]
    fn input_without_an_answer_expires_at_the_request_timeout() {
        let a = at(100);
        // Headers trickle in, one byte at a time: the connection is never idle, but never answered either.
        set(&a.read, 101);
        set(&a.unanswered, 101);
        for t in [110, 120, 130] {
            set(&a.read, t);
            assert_eq!(a.expired(t, &LIMITS), None);
        }
        set(&a.read, 131);
        assert_eq!(a.expired(131, &LIMITS), Some(Expiry::Request));
    }

    #[test]
    fn input_that_owes_no_answer_waits_for_the_idle_timeout() {
        // An HTTP/2 client acknowledges the node's SETTINGS, and is quiet until its next call.
        let a = at(100);
        set(&a.wrote, 100);
        set(&a.read, 101);
        set(&a.unanswered, 101);
        assert_eq!(a.expired(140, &LIMITS), None);
        assert_eq!(a.expired(161, &LIMITS), Some(Expiry::Idle));
    }

    #[test]
    fn an_answer_clears_the_request_and_send_clocks() {
        let a = at(100);
        set(&a.read, 101);
        set(&a.unanswered, 101);
        set(&a.blocked, 101);
        a.wrote();
        assert_eq!(a.unanswered.load(Relaxed), 0);
        assert_eq!(a.blocked.load(Relaxed), 0);
        // Answered at 110, then quiet: only the idle timeout applies.
        set(&a.wrote, 110);
        assert_eq!(a.expired(169, &LIMITS), None);
        assert_eq!(a.expired(170, &LIMITS), Some(Expiry::Idle));
    }

    #[test]
    fn a_client_that_does_not_read_expires_at_the_send_timeout() {
        let a = at(100);
        set(&a.read, 100);
        set(&a.wrote, 105);
        set(&a.blocked, 105);
        assert_eq!(a.expired(124, &LIMITS), None);
        assert_eq!(a.expired(125, &LIMITS), Some(Expiry::Send));
    }

    #[test]
    fn the_clock_moves_forward_only() {
        let t = tick();
        assert!(t >= 1 && now() >= t);
    }
}
