//! The admin listener's section of the configuration, `[admin]`.

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
