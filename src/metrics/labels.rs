//! The bounded label values of the request metrics: protocol, operation and result.

use crate::error::ErrorCode;

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
    /// Inside the process (demo load, tests, benchmarks).
    Internal,
}

impl Protocol {
    /// Every protocol, in declaration order (a protocol's index is `protocol as usize`).
    pub const ALL: [Protocol; 5] =
        [Protocol::Rest, Protocol::Grpc, Protocol::HandleUdp, Protocol::HandleTcp, Protocol::Internal];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Grpc => "grpc",
            Self::HandleUdp => "handle_udp",
            Self::HandleTcp => "handle_tcp",
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
    /// Anything else (unknown paths and methods, unsupported opcodes).
    Other,
}

impl Operation {
    /// Number of operations.
    pub const COUNT: usize = 12;

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
    /// Number of outcomes.
    pub const COUNT: usize = 8;

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
