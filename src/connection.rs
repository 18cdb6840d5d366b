//! The TCP connections of every listener: [`Connections`] admits each accepted connection (within the node's cap,
//! its source's cap and the descriptors kept for the store), counts its bytes and lifetime ([`Tracked`]) and
//! closes it when it breaks a timeout (`sweep`).
//!
//! - `config`: the `[connections]` section;
//! - `descriptors`: the process's descriptor limit, raised at start;
//! - `sweep`: the coarse clock and the timeout rules;
//! - `tracked`: the counted stream and the listeners that hand it out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use metrics::{Counter, Gauge};

use crate::metrics::{Family, Label, Metrics, closed_label};
use crate::net::{ClientPlace, PerClient};
use crate::request::Protocol;
use config::Timeouts;
use sweep::{Activity, Expiry};

mod config;
mod descriptors;
mod sweep;
mod tracked;

pub use config::ConnectionConfig;
pub use descriptors::raise_descriptor_limit;
pub use tracked::{Peer, Tracked, TrackedListener};

/// Connections the admin listener may open beyond the public listeners' cap, so that an operator can still
/// scrape and probe a node whose public listeners are full.
const ADMIN_HEADROOM: usize = 64;

/// Why a connection was closed on accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its client holds `max_per_source` connections already.
    PerSource,
    /// The node holds `max_open` connections already.
    Full,
}

impl Refusal {
    const ALL: [Self; 2] = [Self::PerSource, Self::Full];

    /// The label value.
    fn label(self) -> &'static str {
        match self {
            Self::PerSource => "per_source",
            Self::Full => "full",
        }
    }
}

closed_label!(Refusal, "reason");

/// The open connections of a node: their caps, their timeouts and their metrics.
#[derive(Debug)]
pub struct Connections {
    max_open: usize,
    timeouts: Timeouts,
    per_source: Arc<PerClient>,
    open_total: AtomicUsize,
    next_id: AtomicU64,
    registry: Mutex<HashMap<u64, Arc<Open>>>,
    metrics: ConnectionMetrics,
}

/// One admitted connection, as the sweep sees it.
#[derive(Debug)]
struct Open {
    fd: RawFd,
    protocol: Protocol,
    activity: Activity,
    /// Set once the sweep has shut the socket down, so that it is counted once.
    expired: AtomicBool,
    _place: Option<ClientPlace>,
}

impl Connections {
    /// The connections of a node configured with `cfg`, `max_open` lowered to what `descriptors` (the process's
    /// descriptor limit) leaves beyond the reserve; the sweep runs on its own thread until they are dropped.
    pub fn new(cfg: &ConnectionConfig, descriptors: u64, metrics: &Metrics) -> anyhow::Result<Arc<Self>> {
        let room = usize::try_from(descriptors).unwrap_or(usize::MAX).saturating_sub(cfg.reserved_descriptors);
        let max_open = cfg.max_open.min(room.saturating_sub(ADMIN_HEADROOM)).max(1);
        if max_open < cfg.max_open {
            tracing::warn!(
                max_open,
                configured = cfg.max_open,
                descriptors,
                reserved = cfg.reserved_descriptors,
                "connections.max_open lowered to what the descriptor limit leaves beyond the reserve"
            );
        }
        let metrics = ConnectionMetrics::new(metrics);
        metrics.max_open.set(max_open as f64);
        let connections = Arc::new(Self {
            max_open,
            timeouts: cfg.timeouts(),
            per_source: PerClient::new(cfg.max_per_source),
            open_total: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            registry: Mutex::default(),
            metrics,
        });
        let weak = Arc::downgrade(&connections);
        std::thread::Builder::new().name("idnode-sweep".into()).spawn(move || sweep(&weak))?;
        Ok(connections)
    }

    /// The connections' byte and lifetime counters.
    pub fn metrics(&self) -> &ConnectionMetrics {
        &self.metrics
    }

    /// Admits `stream`, accepted from `peer` by a `protocol` listener, unless a cap is reached (the stream is then
    /// dropped, which closes it).
    pub fn admit<S: std::os::fd::AsRawFd>(
        self: &Arc<Self>,
        stream: S,
        peer: Option<IpAddr>,
        protocol: Protocol,
    ) -> Result<Tracked<S>, Refusal> {
        let admin = protocol == Protocol::Admin;
        let place = if admin {
            None
        } else {
            Some(self.per_source.enter(peer).ok_or_else(|| self.refused(protocol, Refusal::PerSource))?)
        };
        let cap = if admin { self.max_open + ADMIN_HEADROOM } else { self.max_open };
        let taken = self.open_total.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < cap).then_some(n + 1));
        if taken.is_err() {
            return Err(self.refused(protocol, Refusal::Full));
        }
        let open = Arc::new(Open {
            fd: stream.as_raw_fd(),
            protocol,
            activity: Activity::new(),
            expired: AtomicBool::new(false),
            _place: place,
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.registry.lock().unwrap_or_else(PoisonError::into_inner).insert(id, open.clone());
        self.metrics.open.get(protocol).increment(1.0);
        Ok(Tracked::new(stream, self.clone(), open, id))
    }

    fn refused(&self, protocol: Protocol, refusal: Refusal) -> Refusal {
        self.metrics.refused.get((protocol, refusal)).increment(1);
        refusal
    }

    /// A connection ended: its place is given back before its socket closes, so that the sweep never shuts
    /// down a descriptor that a new socket has taken.
    fn forget(&self, id: u64, protocol: Protocol) {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        self.open_total.fetch_sub(1, Ordering::Relaxed);
        self.metrics.open.get(protocol).decrement(1.0);
    }

    /// Shuts down the sockets of the connections that broke a timeout at `now`.
    fn sweep_once(&self, now: u32) {
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        for open in registry.values() {
            let Some(expiry) = open.activity.expired(now, &self.timeouts) else { continue };
            if open.expired.swap(true, Ordering::Relaxed) {
                continue;
            }
            // SAFETY: the descriptor is open: the registry's lock is held, and a connection leaves the registry
            // (under that lock) before its socket is closed. `shutdown` neither closes nor frees it.
            unsafe { libc::shutdown(open.fd, libc::SHUT_RDWR) };
            self.metrics.expired.get((open.protocol, expiry)).increment(1);
        }
    }
}

/// Wakes every second to advance the clock and close what expired, until the connections are dropped.
fn sweep(connections: &Weak<Connections>) {
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = sweep::tick();
        let Some(connections) = connections.upgrade() else { return };
        connections.sweep_once(now);
    }
}

/// Bytes received and sent and connections open, by protocol; connections refused and expired.
#[derive(Debug)]
pub struct ConnectionMetrics {
    received: Family<Protocol, Counter>,
    sent: Family<Protocol, Counter>,
    open: Family<Protocol, Gauge>,
    refused: Family<(Protocol, Refusal), Counter>,
    expired: Family<(Protocol, Expiry), Counter>,
    max_open: Gauge,
}

impl ConnectionMetrics {
    /// The connection metrics of `metrics`, every series registered.
    pub fn new(metrics: &Metrics) -> Self {
        let all = Protocol::ALL;
        Self {
            received: metrics
                .family("idnode_api_received_bytes_total", "Bytes received, by protocol.")
                .register_all(all),
            sent: metrics.family("idnode_api_sent_bytes_total", "Bytes sent, by protocol.").register_all(all),
            open: metrics.family("idnode_api_open_connections", "Open connections, by protocol.").register_all(all),
            refused: metrics
                .family(
                    "idnode_connections_refused_total",
                    "Connections closed on accept: their source's cap or the node's was reached.",
                )
                .register_all(by_protocol(&Refusal::ALL)),
            expired: metrics
                .family(
                    "idnode_connections_expired_total",
                    "Connections closed by a timeout: handshake, request, send or idle.",
                )
                .register_all(by_protocol(Expiry::ALL)),
            max_open: metrics.gauge(
                "idnode_connections_max_open",
                "Connections the public listeners may hold at once (connections.max_open, as the descriptors allow).",
            ),
        }
    }

    /// Counts bytes received and sent through `protocol`.
    pub fn bytes(&self, protocol: Protocol, received: u64, sent: u64) {
        if received > 0 {
            self.received.get(protocol).increment(received);
        }
        if sent > 0 {
            self.sent.get(protocol).increment(sent);
        }
    }
}

/// The protocols served over TCP connections.
const OVER_TCP: [Protocol; 4] = [Protocol::Rest, Protocol::Grpc, Protocol::HandleTcp, Protocol::Admin];

/// Every pair of a protocol served over TCP and one of `reasons`.
fn by_protocol<R: Copy>(reasons: &'static [R]) -> impl Iterator<Item = (Protocol, R)> {
    OVER_TCP.into_iter().flat_map(move |p| reasons.iter().map(move |&r| (p, r)))
}
