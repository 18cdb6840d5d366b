//! The operators' sections: the admin listener, statistics, the audit log and the authentication lockout.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The admin listener: `/metrics`, `/healthz`, `/readyz` and the audit API, apart from the public API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Serve the admin listener.
    pub enabled: bool,
    /// Its address; keep it on loopback or a management network.
    pub listen: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self { enabled: true, listen: SocketAddr::from(([127, 0, 0, 1], 9180)) }
    }
}

/// Statistics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsConfig {
    /// Seconds between flushes of the resolution counts; a crash loses at most this much.
    pub flush_interval_secs: u64,
    /// Days start at midnight at this offset east of UTC, minutes (480: China Standard Time).
    pub utc_offset_minutes: i32,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self { flush_interval_secs: 10, utc_offset_minutes: crate::node::DEFAULT_UTC_OFFSET_MINUTES }
    }
}

/// The audit log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Days entries are kept (0: forever).
    pub retention_days: u64,
    /// Seconds between retention sweeps.
    pub sweep_interval_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { retention_days: 400, sweep_interval_secs: 3600 }
    }
}

/// Brute-force protection of the secret keys (REST and gRPC credentials).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Failed authentications from one client address (an IPv6 /56) that lock it out (0: no lockout).
    pub max_failures: u32,
    /// Seconds the failures are counted over, and the lockout lasts.
    pub lockout_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { max_failures: 10, lockout_secs: 300 }
    }
}
