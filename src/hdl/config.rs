//! The Handle protocol's section of the configuration, `[handle]`: its listeners, their limits and the
//! published `HS_SITE`.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::limit::SourceLimit;
use super::server::Limits;
use crate::error::ConfigError;
use crate::net::Network;

/// The Handle binary protocol listeners.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HandleConfig {
    /// Serve the Handle protocol.
    pub enabled: bool,
    /// UDP address.
    pub listen_udp: SocketAddr,
    /// TCP address.
    pub listen_tcp: SocketAddr,
    /// Address published in `HS_SITE` (default: the TCP listen address).
    pub advertise: Option<std::net::IpAddr>,
    /// Requests answered at once before response code 3 (too busy).
    pub max_in_flight: usize,
    /// UDP answers longer than this many 512-byte packets are sent truncated (retry over TCP).
    pub udp_max_response_packets: usize,
    /// UDP sockets sharing the port (`SO_REUSEPORT`), each with its own receive loop; 0: one per runtime worker.
    pub udp_sockets: usize,
    /// KiB of UDP answers per second per source block (IPv4 /24, IPv6 /56) before answers go out truncated, so
    /// that the client asks again over TCP (against reflection attacks); 0: no limit.
    pub udp_answer_kib_per_source: u64,
    /// Networks whose sources the UDP answer limit does not count (CIDR), such as trusted enterprise resolvers.
    pub udp_unlimited_sources: Vec<String>,
    /// Serial number of the published `HS_SITE`.
    pub site_serial: u16,
    /// Seconds a challenge to an administrative request waits for its answer.
    pub challenge_ttl_secs: u64,
    /// PEM file of the node's RSA key, which signs certified answers and whose public half `HS_SITE` publishes
    /// (default: `node-key.pem` in the data directory; made on first start when missing).
    pub node_key: Option<std::path::PathBuf>,
}

impl Default for HandleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen_udp: SocketAddr::from(([127, 0, 0, 1], 2641)),
            listen_tcp: SocketAddr::from(([127, 0, 0, 1], 2641)),
            advertise: None,
            max_in_flight: 4096,
            udp_max_response_packets: 32,
            udp_sockets: 0,
            udp_answer_kib_per_source: 256,
            udp_unlimited_sources: vec!["127.0.0.0/8".into(), "::1/128".into()],
            site_serial: 1,
            challenge_ttl_secs: 20,
            node_key: None,
        }
    }
}

impl HandleConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.unlimited_sources()?;
        if self.udp_sockets > 256 {
            return Err(ConfigError::Invalid("handle.udp_sockets must be at most 256".into()));
        }
        if !(1..=600).contains(&self.challenge_ttl_secs) {
            return Err(ConfigError::Invalid("handle.challenge_ttl_secs must be 1 to 600".into()));
        }
        Ok(())
    }

    /// The networks of `udp_unlimited_sources`.
    pub fn unlimited_sources(&self) -> Result<Vec<Network>, ConfigError> {
        let parse =
            |s: &String| s.parse().map_err(|e| ConfigError::Invalid(format!("handle.udp_unlimited_sources: {e}")));
        self.udp_unlimited_sources.iter().map(parse).collect()
    }

    /// The limits the listeners apply.
    pub fn limits(&self) -> Result<Limits, ConfigError> {
        Ok(Limits {
            max_in_flight: self.max_in_flight,
            udp_max_response_packets: self.udp_max_response_packets,
            udp_source_limit: Arc::new(SourceLimit::new(
                self.udp_answer_kib_per_source.saturating_mul(1024),
                self.unlimited_sources()?,
            )),
        })
    }
}
