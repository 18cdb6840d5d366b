//! The REST door's section of the configuration, `[http]`: its listener and its limits.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::request::Credentials;

/// The REST listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// PEM certificate chain; with `tls_key`, the listener serves HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    pub tls_key: Option<PathBuf>,
    /// Accept HTTP Basic credentials over plain HTTP (for loopback development and tests only).
    pub allow_insecure_auth: bool,
    /// Largest request body accepted, bytes.
    pub max_body_bytes: usize,
    /// Largest body of an SNMS batch (up to 2,000 records), bytes.
    pub max_batch_body_bytes: usize,
    /// Seconds an SNMS session token lasts (the contract's 24 hours).
    pub snms_token_secs: u64,
    /// Requests served at once before new ones get 503.
    pub max_concurrent_requests: usize,
    /// Send CORS headers allowing any origin.
    pub cors: bool,
    /// Threads serving the listener, each with its own single-threaded runtime; 0: one per core.
    pub workers: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            tls_cert: None,
            tls_key: None,
            allow_insecure_auth: false,
            max_body_bytes: 1 << 20,
            max_batch_body_bytes: 16 << 20,
            snms_token_secs: 86_400,
            max_concurrent_requests: 1024,
            cors: true,
            workers: 0,
        }
    }
}

impl HttpConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid("http.tls_cert and http.tls_key go together".into()));
        }
        if !(1..=30 * 86_400).contains(&self.snms_token_secs) {
            return Err(ConfigError::Invalid("http.snms_token_secs must be within 1..=2592000".into()));
        }
        if self.max_body_bytes == 0 || self.max_batch_body_bytes == 0 || self.max_concurrent_requests == 0 {
            return Err(ConfigError::Invalid(
                "http.max_body_bytes, max_batch_body_bytes and max_concurrent_requests must be positive".into(),
            ));
        }
        if self.workers > 256 {
            return Err(ConfigError::Invalid("http.workers must be at most 256".into()));
        }
        Ok(())
    }

    /// Whether the doors may take credentials: over TLS when a certificate is set, in the clear when allowed.
    pub fn credentials(&self) -> Credentials {
        Credentials { secure: self.tls_cert.is_some(), allow_insecure: self.allow_insecure_auth }
    }
}
