//! The `[connections]` section: the caps and timeouts every TCP listener (REST, gRPC, Handle TCP, admin)
//! applies to its connections.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Caps on the connections open at once, and the timeouts that close them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionConfig {
    /// Connections open at once on the public listeners together; lowered at start to the descriptor limit less
    /// `reserved_descriptors`.
    pub max_open: usize,
    /// Descriptors kept out of the connections' reach: the store's files (RocksDB keeps every SST file open, and
    /// opens a new WAL at each memtable switch), the admin listener's connections, the process's own.
    pub reserved_descriptors: usize,
    /// Connections open at once from one client (an IPv4 address, an IPv6 /56), every public listener together.
    pub max_per_source: usize,
    /// Seconds a new connection has to send its first byte.
    pub handshake_timeout_secs: u64,
    /// Seconds a client has to send a whole request (headers and body) once it starts it: input still arriving,
    /// without any answer, this long after its first byte closes the connection.
    pub request_timeout_secs: u64,
    /// Seconds a write may wait on a client that does not read.
    pub send_timeout_secs: u64,
    /// Seconds a connection may carry nothing either way.
    pub idle_timeout_secs: u64,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            max_open: 50_000,
            reserved_descriptors: 1024,
            max_per_source: 256,
            handshake_timeout_secs: 10,
            request_timeout_secs: 30,
            send_timeout_secs: 30,
            idle_timeout_secs: 60,
        }
    }
}

impl ConnectionConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_open == 0 || self.max_per_source == 0 {
            return Err(ConfigError::Invalid(
                "connections.max_open and connections.max_per_source must be positive".into(),
            ));
        }
        let timeouts =
            [self.handshake_timeout_secs, self.request_timeout_secs, self.send_timeout_secs, self.idle_timeout_secs];
        if timeouts.iter().any(|&t| t == 0 || t > u64::from(u32::MAX)) {
            return Err(ConfigError::Invalid("connections: every timeout must be positive".into()));
        }
        Ok(())
    }

    /// The timeouts, in the sweep's seconds.
    pub(super) fn timeouts(&self) -> Timeouts {
        let secs = |s: u64| u32::try_from(s).unwrap_or(u32::MAX);
        Timeouts {
            handshake: secs(self.handshake_timeout_secs),
            request: secs(self.request_timeout_secs),
            send: secs(self.send_timeout_secs),
            idle: secs(self.idle_timeout_secs),
        }
    }
}

/// The timeouts, in whole seconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    pub handshake: u32,
    pub request: u32,
    pub send: u32,
    pub idle: u32,
}
