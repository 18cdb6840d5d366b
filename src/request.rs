//! What every door shares about a request, whatever its protocol: the door it came through ([`Protocol`]), what
//! it asked for ([`Operation`]), how it ended ([`Outcome`], in families of Handle response codes), where it came
//! from ([`Origin`]) and its request id; the [`Scope`] each door opens for a request and finishes with its
//! answer's outcome, which records the request metrics; and the [`Admission`] under which each door sheds load.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::{Counter, Histogram};

use crate::error::ErrorCode;
use crate::metrics::{Family, Metrics, closed_label};

mod admission;

pub use admission::{Admission, Admitted, BUSY, busy};

/// The name of the request id header (HTTP) and metadata key (gRPC).
pub const REQUEST_ID: &str = "x-request-id";

/// A new request id: 16 hex digits, unique within this process and unlikely to repeat across restarts.
pub fn new_request_id() -> Arc<str> {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static BASE: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| rand::random::<u64>() & 0xffff_ffff_0000_0000);
    let n = base.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed));
    let mut digits = [0u8; 16];
    hex::encode_to_slice(n.to_be_bytes(), &mut digits).expect("16 digits for 8 bytes");
    Arc::from(std::str::from_utf8(&digits).expect("hex digits are ASCII"))
}

/// The request id a client sent, when it is 1 to 128 visible ASCII characters; else a new one. Clients pass ids
/// through their own systems, so a sane one is kept; anything else could forge or flood the logs.
pub fn take_request_id(sent: Option<&[u8]>) -> Arc<str> {
    match sent.map(std::str::from_utf8) {
        Some(Ok(v)) if !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()) => Arc::from(v),
        _ => new_request_id(),
    }
}

/// The door a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// The REST API.
    Rest,
    /// The gRPC API.
    Grpc,
    /// The Handle protocol over UDP.
    HandleUdp,
    /// The Handle protocol over TCP.
    HandleTcp,
    /// The admin listener (metrics, health, the audit log).
    Admin,
    /// Inside the process (demo load, tests, benchmarks).
    Internal,
}

impl Protocol {
    /// Every protocol, in declaration order.
    pub const ALL: [Protocol; 6] =
        [Protocol::Rest, Protocol::Grpc, Protocol::HandleUdp, Protocol::HandleTcp, Protocol::Admin, Protocol::Internal];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Grpc => "grpc",
            Self::HandleUdp => "handle_udp",
            Self::HandleTcp => "handle_tcp",
            Self::Admin => "admin",
            Self::Internal => "internal",
        }
    }
}

/// What a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Resolve one identifier.
    Resolve,
    /// Resolve several identifiers in one call (gRPC `ResolveBatch`).
    ResolveBatch,
    /// A stream of resolutions (gRPC `ResolveStream`).
    ResolveStream,
    /// Create a handle (or create-or-replace).
    Create,
    /// Change values of an existing handle.
    Update,
    /// Delete a handle or some of its values.
    Delete,
    /// Many writes in one call (gRPC `BatchRegister`).
    BatchRegister,
    /// List handles or prefixes.
    List,
    /// The Handle protocol's site information.
    SiteInfo,
    /// Statistics.
    Statistics,
    /// Health checks and reflection.
    Service,
    /// A scrape of the metrics.
    Metrics,
    /// A query of the audit log.
    AuditQuery,
    /// A login for a session token (the SNMS API).
    Login,
    /// Reading or changing data templates.
    Templates,
    /// Anything else (unknown paths and methods, unsupported opcodes).
    Other,
}

impl Operation {
    /// Every operation, in declaration order.
    pub const ALL: [Operation; 16] = [
        Self::Resolve,
        Self::ResolveBatch,
        Self::ResolveStream,
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::BatchRegister,
        Self::List,
        Self::SiteInfo,
        Self::Statistics,
        Self::Service,
        Self::Metrics,
        Self::AuditQuery,
        Self::Login,
        Self::Templates,
        Self::Other,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Resolve => "resolve",
            Self::ResolveBatch => "resolve_batch",
            Self::ResolveStream => "resolve_stream",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::BatchRegister => "batch_register",
            Self::List => "list",
            Self::SiteInfo => "site_info",
            Self::Statistics => "statistics",
            Self::Service => "service",
            Self::Metrics => "metrics",
            Self::AuditQuery => "audit_query",
            Self::Login => "login",
            Self::Templates => "templates",
            Self::Other => "other",
        }
    }
}

/// How a request ended, in families of Handle response codes, the same for every protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Success (rc 1).
    Ok,
    /// Handle or values not found (rc 100, 200).
    NotFound,
    /// Malformed request, identifier or value (rc 4, 102, 202).
    Invalid,
    /// The handle or value already exists (rc 101, 201).
    Conflict,
    /// A prefix this node does not home (rc 301).
    NotResponsible,
    /// Authentication needed or failed, or permission denied (rc 400, 402, 403).
    Denied,
    /// Shed under load (rc 3).
    Overloaded,
    /// A server error (rc 2 and anything else).
    Error,
}

impl Outcome {
    /// Every outcome, in declaration order.
    pub const ALL: [Outcome; 8] = [
        Self::Ok,
        Self::NotFound,
        Self::Invalid,
        Self::Conflict,
        Self::NotResponsible,
        Self::Denied,
        Self::Overloaded,
        Self::Error,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::NotFound => "not_found",
            Self::Invalid => "invalid",
            Self::Conflict => "conflict",
            Self::NotResponsible => "not_responsible",
            Self::Denied => "denied",
            Self::Overloaded => "overloaded",
            Self::Error => "error",
        }
    }

    /// The outcome of a Handle response code.
    pub fn from_response_code(rc: u32) -> Self {
        match rc {
            1 => Self::Ok,
            100 | 200 => Self::NotFound,
            4 | 102 | 202 => Self::Invalid,
            101 | 201 => Self::Conflict,
            301 => Self::NotResponsible,
            400 | 402 | 403 => Self::Denied,
            3 => Self::Overloaded,
            _ => Self::Error,
        }
    }

    /// The outcome of an error of the core.
    pub fn from_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::NoSuchResource => Self::Invalid,
            c => Self::from_response_code(c.response_code()),
        }
    }

    /// The outcome of an HTTP status when no error code is known.
    pub fn from_http_status(status: u16) -> Self {
        match status {
            200..=399 => Self::Ok,
            404 => Self::NotFound,
            409 => Self::Conflict,
            401 | 403 => Self::Denied,
            503 | 429 => Self::Overloaded,
            400..=499 => Self::Invalid,
            _ => Self::Error,
        }
    }

    /// The outcome of a gRPC status code when no error code is known.
    pub fn from_grpc_code(code: i32) -> Self {
        match code {
            0 => Self::Ok,
            5 => Self::NotFound,
            3 | 11 | 12 => Self::Invalid,
            6 => Self::Conflict,
            7 | 16 => Self::Denied,
            8 | 14 => Self::Overloaded,
            _ => Self::Error,
        }
    }
}

/// Where a request came from: the protocol, the client's address and the request id, for the audit log, the
/// logs and the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The door it came through.
    pub protocol: Protocol,
    /// The client's address, when known.
    pub peer: Option<SocketAddr>,
    /// The request id (`x-request-id`), when known.
    pub request_id: Option<Arc<str>>,
}

impl Origin {
    /// A request from `peer` through `protocol`.
    pub fn new(protocol: Protocol, peer: Option<SocketAddr>) -> Self {
        Self { protocol, peer, request_id: None }
    }

    /// A request made inside the process (demo data, tests, benchmarks).
    pub fn internal() -> Self {
        Self::new(Protocol::Internal, None)
    }

    /// The same origin with a request id.
    pub fn with_request_id(mut self, id: impl Into<Arc<str>>) -> Self {
        self.request_id = Some(id.into());
        self
    }
}

/// Whether a door's connections may carry credentials: over TLS always; in the clear only where the operator
/// allowed it (`http.allow_insecure_auth`, for loopback testing), since a secret sent so can be read on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    /// The door's connections are TLS.
    pub secure: bool,
    /// Credentials are accepted in the clear too.
    pub allow_insecure: bool,
}

impl Credentials {
    /// Fails with "insecure authentication" and `refusal` (the door's words for it) unless credentials may come.
    pub fn admit(&self, refusal: &str) -> Result<(), crate::error::NodeError> {
        if self.secure || self.allow_insecure {
            return Ok(());
        }
        Err(crate::error::NodeError::new(ErrorCode::InsecureAuthentication, refusal))
    }
}

/// One request at a door, from when the door has read it to its answer: where it came from (with its request
/// id), what it asked for, and when it began. A door opens one per request, sets the operation where it
/// dispatches the request (the route, the method, the opcode) and finishes it once with the answer's outcome.
#[derive(Debug)]
pub struct Scope {
    origin: Origin,
    operation: Operation,
    started: Instant,
}

impl Scope {
    /// A request from `origin`; its operation is [`Operation::Other`] until dispatched.
    pub fn open(origin: Origin) -> Self {
        Self { origin, operation: Operation::Other, started: Instant::now() }
    }

    /// The request was dispatched as `operation`.
    pub fn dispatched(&mut self, operation: Operation) {
        self.operation = operation;
    }

    /// What the request asked for.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// Where it came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Its request id ("" for a protocol that has none).
    pub fn request_id(&self) -> &str {
        self.origin.request_id.as_deref().unwrap_or("")
    }

    /// A span naming the request's protocol and id, for the work of a request that may log. Opened only by
    /// the doors' paths that log (a span's fields are formatted when it opens, which a cached lookup would not
    /// repay).
    pub fn span(&self) -> tracing::Span {
        tracing::info_span!("request", protocol = self.origin.protocol.label(), request_id = self.request_id())
    }

    /// The request ended with `outcome`: recorded in `metrics`; returns how long it took.
    pub fn finish(self, metrics: &RequestMetrics, outcome: Outcome) -> Duration {
        let elapsed = self.started.elapsed();
        metrics.record(self.origin.protocol, self.operation, outcome, elapsed);
        elapsed
    }
}

closed_label!(Protocol, "protocol");
closed_label!(Operation, "operation");
closed_label!(Outcome, "result");

/// Requests by protocol, operation and result, and their latency: what every door records of every request.
#[derive(Debug)]
pub struct RequestMetrics {
    requests: Family<(Protocol, Operation, Outcome), Counter>,
    durations: Family<(Protocol, Operation), Histogram>,
}

impl RequestMetrics {
    /// The request metrics of `metrics`.
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            requests: metrics.family("idnode_api_requests_total", "Requests by protocol, operation and result."),
            durations: metrics.family(
                "idnode_api_request_duration_seconds",
                "Request latency by protocol and operation (streams: until the stream ends).",
            ),
        }
    }

    /// Records one request: its result and its latency.
    pub fn record(&self, protocol: Protocol, op: Operation, outcome: Outcome, elapsed: std::time::Duration) {
        self.requests.get((protocol, op, outcome)).increment(1);
        self.durations.get((protocol, op)).record(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_agree_across_protocols() {
        assert_eq!(Outcome::from_code(ErrorCode::HandleNotFound), Outcome::NotFound);
        assert_eq!(Outcome::from_code(ErrorCode::Forbidden), Outcome::Denied);
        assert_eq!(Outcome::from_code(ErrorCode::Overloaded), Outcome::Overloaded);
        assert_eq!(Outcome::from_code(ErrorCode::BadRequest), Outcome::Invalid);
        assert_eq!(Outcome::from_http_status(404), Outcome::NotFound);
        assert_eq!(Outcome::from_grpc_code(16), Outcome::Denied);
        assert_eq!(Outcome::from_response_code(1), Outcome::Ok);
        assert!(Operation::ALL.iter().enumerate().all(|(i, o)| *o as usize == i));
        assert!(Protocol::ALL.iter().enumerate().all(|(i, p)| *p as usize == i));
        assert!(Outcome::ALL.iter().enumerate().all(|(i, o)| *o as usize == i));
    }

    #[test]
    fn request_ids_are_kept_when_sane_and_minted_otherwise() {
        assert_eq!(&*take_request_id(Some(b"abc-123")), "abc-123");
        for bad in [&b""[..], b"has space", b"tab\there", &[b'x'; 129][..], "\u{e9}t\u{e9}".as_bytes()] {
            let id = take_request_id(Some(bad));
            assert_eq!(id.len(), 16, "{bad:?} -> {id}");
        }
        assert_ne!(take_request_id(None), take_request_id(None));
    }
}
