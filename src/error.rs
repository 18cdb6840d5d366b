//! Error codes of the node, mapped once to the Handle response code, the HTTP status and the gRPC code; and
//! why a configuration is unusable ([`ConfigError`]), which every section's validation returns.
//!
//! Every adapter (REST, gRPC, and the Handle wire protocol later) turns a [`NodeError`] into its own terms
//! through [`ErrorCode`], so the same failure reads the same whichever door a client came through.

use std::path::PathBuf;

use crate::id::IdError;
use crate::record::RecordError;
use crate::store::StoreError;

/// What went wrong, in the Handle system's own vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Unexpected server error (rc 2).
    Internal,
    /// The node is overloaded (rc 3).
    Overloaded,
    /// The handle does not exist (rc 100).
    HandleNotFound,
    /// The handle already exists (rc 101).
    HandleAlreadyExists,
    /// The handle is not syntactically valid (rc 102).
    InvalidHandle,
    /// The handle exists but the requested values do not (rc 200).
    ValuesNotFound,
    /// A value with that index already exists (rc 201).
    ValueAlreadyExists,
    /// A value is malformed (rc 202).
    InvalidValue,
    /// The node does not home the handle's prefix (rc 301).
    NotResponsible,
    /// The caller is authenticated but lacks the permission (rc 400).
    Forbidden,
    /// The request needs authentication (rc 402).
    AuthenticationNeeded,
    /// The credentials were wrong (rc 403).
    AuthenticationFailed,
    /// The client's address failed authentication too often and is locked out for a while (rc 403, HTTP 429).
    TooManyFailures,
    /// The request body is larger than the node accepts (rc 202, HTTP 413).
    PayloadTooLarge,
    /// Credentials were sent over plain HTTP where the operator does not allow it (rc 402, HTTP 403).
    InsecureAuthentication,
    /// The request itself is malformed: bad parameter, bad JSON (rc 202, HTTP 400).
    BadRequest,
    /// No such resource or method (rc 2, HTTP 404 / 405).
    NoSuchResource,
}

impl ErrorCode {
    /// The Handle protocol response code.
    pub fn response_code(self) -> u32 {
        match self {
            Self::Internal => 2,
            Self::Overloaded => 3,
            Self::HandleNotFound => 100,
            Self::HandleAlreadyExists => 101,
            Self::InvalidHandle => 102,
            Self::ValuesNotFound => 200,
            Self::ValueAlreadyExists => 201,
            Self::InvalidValue | Self::PayloadTooLarge => 202,
            Self::NotResponsible => 301,
            Self::Forbidden => 400,
            Self::AuthenticationNeeded | Self::InsecureAuthentication => 402,
            Self::AuthenticationFailed | Self::TooManyFailures => 403,
            Self::BadRequest => 202,
            Self::NoSuchResource => 2,
        }
    }

    /// The HTTP status of the REST API (handle-rest-api.md, status table).
    pub fn http_status(self) -> u16 {
        match self {
            Self::Internal => 500,
            Self::Overloaded => 503,
            Self::HandleNotFound => 404,
            Self::HandleAlreadyExists | Self::ValueAlreadyExists => 409,
            Self::InvalidHandle
            | Self::ValuesNotFound
            | Self::InvalidValue
            | Self::NotResponsible
            | Self::BadRequest => 400,
            Self::Forbidden | Self::InsecureAuthentication => 403,
            Self::NoSuchResource => 404,
            Self::AuthenticationNeeded | Self::AuthenticationFailed => 401,
            Self::PayloadTooLarge => 413,
            Self::TooManyFailures => 429,
        }
    }
}

impl ErrorCode {
    /// The gRPC status code.
    pub fn grpc_code(self) -> tonic::Code {
        use tonic::Code;
        match self {
            Self::Internal => Code::Internal,
            Self::Overloaded => Code::Unavailable,
            Self::HandleNotFound | Self::ValuesNotFound | Self::NoSuchResource => Code::NotFound,
            Self::HandleAlreadyExists | Self::ValueAlreadyExists => Code::AlreadyExists,
            Self::InvalidHandle | Self::InvalidValue | Self::BadRequest => Code::InvalidArgument,
            Self::NotResponsible => Code::FailedPrecondition,
            Self::Forbidden => Code::PermissionDenied,
            Self::AuthenticationNeeded | Self::AuthenticationFailed | Self::InsecureAuthentication => {
                Code::Unauthenticated
            }
            Self::PayloadTooLarge | Self::TooManyFailures => Code::ResourceExhausted,
        }
    }
}

/// An error of the node core: a code and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NodeError {
    /// The classification that the adapters map to their status codes.
    pub code: ErrorCode,
    /// A human-readable explanation, safe to show to the client.
    pub message: String,
    /// Seconds after which the request may succeed when sent again (HTTP `Retry-After`), when known.
    pub retry_after_secs: Option<u32>,
    /// The message in Chinese, where the core has one (the SNMS API answers in Chinese).
    pub message_zh: Option<Box<str>>,
}

impl NodeError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retry_after_secs: None, message_zh: None }
    }

    /// The same error, with its message in Chinese.
    pub fn in_chinese(mut self, message: impl Into<String>) -> Self {
        self.message_zh = Some(message.into().into_boxed_str());
        self
    }

    /// The same error, to be retried after `secs`.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.min(u64::from(u32::MAX)) as u32);
        self
    }
}

impl From<IdError> for NodeError {
    fn from(e: IdError) -> Self {
        Self::new(ErrorCode::InvalidHandle, e.to_string())
    }
}

impl From<RecordError> for NodeError {
    fn from(e: RecordError) -> Self {
        // The Handle.Net server answers a duplicate index in one body with 409 / rc 201 "Index conflict".
        let code = match e {
            RecordError::DuplicateIndex(_) => ErrorCode::ValueAlreadyExists,
            _ => ErrorCode::InvalidValue,
        };
        Self::new(code, e.to_string())
    }
}

impl From<StoreError> for NodeError {
    fn from(e: StoreError) -> Self {
        // Every request fails alike while the store is failed: one line a minute says so.
        static LINE: crate::log::Sparse = crate::log::Sparse::new();
        if let Some(unlogged) = LINE.due() {
            tracing::error!(error = %e, unlogged, "storage error (unlogged: like errors since the last line)");
        }
        Self::new(ErrorCode::Internal, "internal storage error")
    }
}

/// Why a configuration is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("invalid configuration: {0}")]
    Parse(#[from] toml::de::Error),
    /// A value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}
