//! The gRPC door's section of the configuration, `[grpc]`: its listener and its limits.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The gRPC API. It uses the `[http]` certificate and key when those are set, and `http.allow_insecure_auth`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    /// Serve gRPC on its own listener.
    pub enabled: bool,
    /// Address of that listener.
    pub listen: SocketAddr,
    /// Also serve gRPC on the HTTP port, told apart by `content-type: application/grpc`.
    pub on_http_port: bool,
    /// Largest message accepted or sent, bytes.
    pub max_message_bytes: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub max_concurrent_streams: u32,
    /// Calls served at once over all connections; past it a call is shed (`UNAVAILABLE`, rc 3). A stream
    /// counts until it ends; health checks and reflection are never shed.
    pub max_concurrent_requests: usize,
    /// `ResolveStream` calls one client (an address; IPv6 per /56) may hold open at once, so that one client
    /// cannot hold every place of `max_concurrent_requests`; more get `UNAVAILABLE`, rc 3.
    pub max_streams_per_client: usize,
    /// Most identifiers in one `ResolveBatch`.
    pub max_resolve_batch: usize,
    /// Most items in one `BatchRegister`.
    pub max_register_batch: usize,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            on_http_port: false,
            max_message_bytes: 4 << 20,
            max_concurrent_streams: 256,
            max_concurrent_requests: 1024,
            max_streams_per_client: 64,
            max_resolve_batch: 1000,
            max_register_batch: 2000,
        }
    }
}

impl GrpcConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_message_bytes == 0
            || self.max_concurrent_streams == 0
            || self.max_concurrent_requests == 0
            || self.max_streams_per_client == 0
            || self.max_resolve_batch == 0
            || self.max_register_batch == 0
        {
            return Err(ConfigError::Invalid("grpc limits must be positive".into()));
        }
        Ok(())
    }
}
