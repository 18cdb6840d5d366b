//! Metrics: names as constants, descriptions, and handles registered once per node on its own Prometheus
//! recorder (the `metrics` crate's [`Recorder`] API), rendered on the admin listener's `/metrics`.
//!
//! Names follow `idnode_<subsystem>_<name>_{total,seconds,bytes}`; process figures use the standard `process_*`
//! names every Prometheus tool knows. Labels come from closed enums ([`Protocol`], [`Operation`], [`Outcome`],
//! [`Change`]): never an identifier, a prefix or an address. Each node owns its recorder, so two nodes in one
//! process (the tests) never mix their figures.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::node::CacheFigures;
use crate::store::{Space, StoreFigures};

pub mod io;
mod labels;
pub mod process;

pub use labels::{Operation, Outcome, Protocol};

/// Requests by protocol, operation and result.
pub const REQUESTS_TOTAL: &str = "idnode_api_requests_total";
/// Request latency by protocol and operation.
pub const REQUEST_DURATION_SECONDS: &str = "idnode_api_request_duration_seconds";
/// Bytes received by protocol.
pub const RECEIVED_BYTES_TOTAL: &str = "idnode_api_received_bytes_total";
/// Bytes sent by protocol.
pub const SENT_BYTES_TOTAL: &str = "idnode_api_sent_bytes_total";
/// Open connections by protocol.
pub const OPEN_CONNECTIONS: &str = "idnode_api_open_connections";
/// Identifiers resolved by protocol and result (a batch counts each identifier).
pub const RESOLUTIONS_TOTAL: &str = "idnode_core_resolutions_total";
/// Committed changes of records by kind.
pub const REGISTRATIONS_TOTAL: &str = "idnode_core_registrations_total";
/// Audit records written by kind.
pub const AUDIT_RECORDS_TOTAL: &str = "idnode_audit_records_total";
/// Client addresses locked out of authentication.
pub const AUTH_LOCKOUTS_TOTAL: &str = "idnode_auth_lockouts_total";
/// Handle UDP answers sent truncated because their source block was over its budget.
pub const UDP_LIMITED_TOTAL: &str = "idnode_handle_udp_limited_total";
/// Statistics flushes by result.
pub const STATS_FLUSHES_TOTAL: &str = "idnode_stats_flushes_total";
/// Whether the node is ready (1) or not (0).
pub const READY: &str = "idnode_node_ready";
/// Build information.
pub const BUILD_INFO: &str = "idnode_build_info";

/// Latency buckets, seconds: fine below a millisecond, where warm lookups land.
pub const LATENCY_BUCKETS: [f64; 17] =
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A committed change of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new handle.
    Create,
    /// Values of an existing handle added, replaced or removed.
    Update,
    /// A handle deleted.
    Delete,
}

impl Change {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

const P: usize = Protocol::ALL.len();
const O: usize = Operation::COUNT;
const R: usize = Outcome::COUNT;
static META: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
    Key::from_parts(name, labels.iter().map(|(k, v)| Label::from_static_parts(k, v)).collect::<Vec<_>>())
}

/// The gauges and counters read from the store and the process at each scrape.
struct Observed {
    store_gauges: Vec<(&'static str, Gauge)>,
    store_counters: Vec<(&'static str, Counter)>,
    keys: Vec<(Space, Gauge)>,
    process_gauges: Vec<(&'static str, Gauge)>,
    cpu: Counter,
    /// Record cache: hits, misses.
    cache_counters: [Counter; 2],
    /// Record cache: entries, bytes, capacity.
    cache_gauges: [Gauge; 3],
}

/// The metrics of one node.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    requests: Vec<OnceLock<Counter>>,
    durations: Vec<OnceLock<Histogram>>,
    resolutions: Vec<OnceLock<Counter>>,
    received: Vec<Counter>,
    sent: Vec<Counter>,
    connections: Vec<Gauge>,
    registrations: [Counter; 3],
    /// Audit entries: of changes, of refusals.
    audited: [Counter; 2],
    auth_lockouts: Counter,
    udp_limited: Counter,
    /// Statistics flushes: succeeded, failed.
    stats_flushes: [Counter; 2],
    ready: Gauge,
    observed: Observed,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh recorder with every metric described and the fixed series registered.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .expect("bucket list is not empty")
            .build_recorder();
        describe(&recorder);
        let handle = recorder.handle();
        let counter =
            |name, labels: &[(&'static str, &'static str)]| recorder.register_counter(&key(name, labels), &META);
        let gauge = |name, labels: &[(&'static str, &'static str)]| recorder.register_gauge(&key(name, labels), &META);
        let per_protocol = |name| Protocol::ALL.iter().map(|p| counter(name, &[("protocol", p.label())])).collect();
        let observed = Observed {
            store_gauges: STORE_GAUGES.iter().map(|(n, _)| (*n, gauge(n, &[]))).collect(),
            store_counters: STORE_COUNTERS.iter().map(|(n, _)| (*n, counter(n, &[]))).collect(),
            keys: Space::ALL.iter().map(|s| (*s, gauge(STORE_KEYS, &[("space", s.name())]))).collect(),
            process_gauges: PROCESS_GAUGES.iter().map(|(n, _)| (*n, gauge(n, &[]))).collect(),
            cpu: counter(PROCESS_CPU, &[]),
            cache_counters: CACHE_COUNTERS.map(|(n, _)| counter(n, &[])),
            cache_gauges: CACHE_GAUGES.map(|(n, _)| gauge(n, &[])),
        };
        gauge(BUILD_INFO, &[("version", env!("CARGO_PKG_VERSION"))]).set(1.0);
        Self {
            requests: (0..P * O * R).map(|_| OnceLock::new()).collect(),
            durations: (0..P * O).map(|_| OnceLock::new()).collect(),
            resolutions: (0..P * R).map(|_| OnceLock::new()).collect(),
            received: per_protocol(RECEIVED_BYTES_TOTAL),
            sent: per_protocol(SENT_BYTES_TOTAL),
            connections: Protocol::ALL.iter().map(|p| gauge(OPEN_CONNECTIONS, &[("protocol", p.label())])).collect(),
            registrations: [Change::Create, Change::Update, Change::Delete]
                .map(|c| counter(REGISTRATIONS_TOTAL, &[("change", c.label())])),
            audited: ["change", "denied"].map(|k| counter(AUDIT_RECORDS_TOTAL, &[("kind", k)])),
            auth_lockouts: counter(AUTH_LOCKOUTS_TOTAL, &[]),
            udp_limited: counter(UDP_LIMITED_TOTAL, &[]),
            stats_flushes: ["ok", "error"].map(|r| counter(STATS_FLUSHES_TOTAL, &[("result", r)])),
            ready: gauge(READY, &[]),
            observed,
            handle,
            recorder,
        }
    }

    /// Records one request: its result and its latency.
    pub fn request(&self, protocol: Protocol, op: Operation, outcome: Outcome, elapsed: Duration) {
        let (p, o, r) = (protocol as usize, op as usize, outcome as usize);
        let labels = [("protocol", protocol.label()), ("operation", op.label()), ("result", outcome.label())];
        self.requests[(p * O + o) * R + r]
            .get_or_init(|| self.recorder.register_counter(&key(REQUESTS_TOTAL, &labels), &META))
            .increment(1);
        self.durations[p * O + o]
            .get_or_init(|| self.recorder.register_histogram(&key(REQUEST_DURATION_SECONDS, &labels[..2]), &META))
            .record(elapsed.as_secs_f64());
    }

    /// Records one identifier resolved through `protocol`.
    pub fn resolution(&self, protocol: Protocol, outcome: Outcome) {
        let (p, r) = (protocol as usize, outcome as usize);
        let labels = [("protocol", protocol.label()), ("result", outcome.label())];
        self.resolutions[p * R + r]
            .get_or_init(|| self.recorder.register_counter(&key(RESOLUTIONS_TOTAL, &labels), &META))
            .increment(1);
    }

    /// Records a committed change.
    pub fn registration(&self, change: Change) {
        self.registrations[change as usize].increment(1);
    }

    /// Counts bytes received and sent through `protocol`.
    pub fn bytes(&self, protocol: Protocol, received: u64, sent: u64) {
        let p = protocol as usize;
        if received > 0 {
            self.received[p].increment(received);
        }
        if sent > 0 {
            self.sent[p].increment(sent);
        }
    }

    /// The open-connections gauge of `protocol`.
    pub fn connections(&self, protocol: Protocol) -> &Gauge {
        &self.connections[protocol as usize]
    }

    /// Sets the readiness gauge.
    pub fn set_ready(&self, ready: bool) {
        self.ready.set(if ready { 1.0 } else { 0.0 });
    }

    /// Records an audit entry written: of a change, or of a refusal (`denied`).
    pub fn audited(&self, denied: bool) {
        self.audited[usize::from(denied)].increment(1);
    }

    /// Records a client address locked out of authentication.
    pub fn auth_lockout(&self) {
        self.auth_lockouts.increment(1);
    }

    /// Records a Handle UDP answer sent truncated by the answer-rate limit.
    pub fn udp_limited(&self) {
        self.udp_limited.increment(1);
    }

    /// Records a flush of the statistics.
    pub fn stats_flushed(&self, ok: bool) {
        self.stats_flushes[usize::from(!ok)].increment(1);
    }

    /// Drains histogram samples into their buckets; run it periodically so an unscraped node stays small.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Reads the store's, the record cache's and the process's figures and renders everything in the
    /// Prometheus text format.
    pub fn render(&self, store: &StoreFigures, cache: &CacheFigures) -> String {
        self.observe(store, cache);
        self.handle.render()
    }

    fn observe(&self, f: &StoreFigures, cache: &CacheFigures) {
        let o = &self.observed;
        for (c, v) in o.cache_counters.iter().zip([cache.hits, cache.misses]) {
            c.absolute(v);
        }
        for (g, v) in o.cache_gauges.iter().zip([cache.entries, cache.bytes, cache.capacity_bytes]) {
            g.set(v as f64);
        }
        let disk = f.directory.as_deref().and_then(process::disk_space);
        for (name, g) in &o.store_gauges {
            let v = match *name {
                STORE_CACHE_USAGE => f.block_cache_usage_bytes,
                STORE_CACHE_CAPACITY => f.block_cache_capacity_bytes,
                STORE_MEMTABLE => f.memtable_bytes,
                STORE_PENDING => f.pending_compaction_bytes,
                STORE_SST_FILES => f.sst_files,
                STORE_SST_BYTES => f.sst_bytes,
                STORE_WRITE_STOPPED => f.write_stopped.map(u64::from),
                STORE_COMPACTIONS => f.running_compactions,
                STORE_DISK_FREE => disk.map(|d| d.0),
                STORE_DISK_TOTAL => disk.map(|d| d.1),
                _ => None,
            };
            if let Some(v) = v {
                g.set(v as f64);
            }
        }
        for (name, c) in &o.store_counters {
            let v = match *name {
                STORE_CACHE_HITS => f.block_cache_hits,
                STORE_CACHE_MISSES => f.block_cache_misses,
                STORE_STALL => f.write_stall_micros.map(|us| us / 1_000_000),
                _ => None,
            };
            if let Some(v) = v {
                c.absolute(v);
            }
        }
        for (space, g) in &o.keys {
            if let Some((_, n)) = f.estimated_keys.iter().find(|(s, _)| s == space) {
                g.set(*n as f64);
            }
        }
        if let Some(p) = process::read_process() {
            o.cpu.absolute(p.cpu_seconds as u64);
            for (name, g) in &o.process_gauges {
                g.set(match *name {
                    "process_resident_memory_bytes" => p.resident_bytes as f64,
                    "process_virtual_memory_bytes" => p.virtual_bytes as f64,
                    "process_threads" => p.threads as f64,
                    "process_open_fds" => p.open_fds as f64,
                    "process_max_fds" => p.max_fds as f64,
                    _ => p.start_time_seconds,
                });
            }
        }
    }
}

const STORE_CACHE_USAGE: &str = "idnode_store_block_cache_usage_bytes";
const STORE_CACHE_CAPACITY: &str = "idnode_store_block_cache_capacity_bytes";
const STORE_CACHE_HITS: &str = "idnode_store_block_cache_hits_total";
const STORE_CACHE_MISSES: &str = "idnode_store_block_cache_misses_total";
const STORE_MEMTABLE: &str = "idnode_store_memtable_bytes";
const STORE_PENDING: &str = "idnode_store_pending_compaction_bytes";
const STORE_SST_FILES: &str = "idnode_store_sst_files";
const STORE_SST_BYTES: &str = "idnode_store_sst_bytes";
const STORE_KEYS: &str = "idnode_store_estimated_keys";
const STORE_WRITE_STOPPED: &str = "idnode_store_write_stopped";
const STORE_STALL: &str = "idnode_store_write_stall_seconds_total";
const STORE_COMPACTIONS: &str = "idnode_store_running_compactions";
const STORE_DISK_FREE: &str = "idnode_store_disk_free_bytes";
const STORE_DISK_TOTAL: &str = "idnode_store_disk_total_bytes";
const PROCESS_CPU: &str = "process_cpu_seconds_total";

const STORE_GAUGES: [(&str, &str); 10] = [
    (STORE_CACHE_USAGE, "Bytes held by the RocksDB block cache."),
    (STORE_CACHE_CAPACITY, "Capacity of the RocksDB block cache, bytes."),
    (STORE_MEMTABLE, "Bytes in RocksDB memtables, all column families."),
    (STORE_PENDING, "Estimated bytes RocksDB compaction still has to rewrite."),
    (STORE_SST_FILES, "Number of SST files."),
    (STORE_SST_BYTES, "Total size of the SST files, bytes."),
    (STORE_WRITE_STOPPED, "1 while RocksDB stops writes (too many L0 files or pending compaction bytes)."),
    (STORE_COMPACTIONS, "RocksDB compactions running now."),
    (STORE_DISK_FREE, "Free bytes on the file system of the data directory."),
    (STORE_DISK_TOTAL, "Size of the file system of the data directory, bytes."),
];

const STORE_COUNTERS: [(&str, &str); 3] = [
    (STORE_CACHE_HITS, "RocksDB block cache hits since the store opened."),
    (STORE_CACHE_MISSES, "RocksDB block cache misses since the store opened."),
    (STORE_STALL, "Seconds writers were stalled by RocksDB since the store opened."),
];

const CACHE_COUNTERS: [(&str, &str); 2] = [
    ("idnode_record_cache_hits_total", "Resolutions answered from the record cache."),
    ("idnode_record_cache_misses_total", "Resolutions that read the store (the record was not cached)."),
];

const CACHE_GAUGES: [(&str, &str); 3] = [
    ("idnode_record_cache_entries", "Records held by the record cache."),
    ("idnode_record_cache_bytes", "Estimated bytes held by the record cache."),
    ("idnode_record_cache_capacity_bytes", "Capacity of the record cache, bytes (0: disabled)."),
];

const PROCESS_GAUGES: [(&str, &str); 6] = [
    ("process_resident_memory_bytes", "Resident memory size, bytes."),
    ("process_virtual_memory_bytes", "Virtual memory size, bytes."),
    ("process_threads", "Threads of the process."),
    ("process_open_fds", "Open file descriptors."),
    ("process_max_fds", "Limit of open file descriptors."),
    ("process_start_time_seconds", "Start time of the process, seconds since the epoch."),
];

fn describe(r: &PrometheusRecorder) {
    let text = |s: &'static str| SharedString::const_str(s);
    let c = |n: &'static str, u: Option<Unit>, d| r.describe_counter(KeyName::from_const_str(n), u, text(d));
    let g = |n: &'static str, u: Option<Unit>, d| r.describe_gauge(KeyName::from_const_str(n), u, text(d));
    c(REQUESTS_TOTAL, None, "Requests by protocol, operation and result.");
    r.describe_histogram(
        KeyName::from_const_str(REQUEST_DURATION_SECONDS),
        Some(Unit::Seconds),
        text("Request latency by protocol and operation (streams: until the stream ends)."),
    );
    c(RECEIVED_BYTES_TOTAL, Some(Unit::Bytes), "Bytes received, by protocol.");
    c(SENT_BYTES_TOTAL, Some(Unit::Bytes), "Bytes sent, by protocol.");
    g(OPEN_CONNECTIONS, None, "Open connections, by protocol.");
    c(RESOLUTIONS_TOTAL, None, "Identifiers resolved, by protocol and result (each identifier of a batch counts).");
    c(REGISTRATIONS_TOTAL, None, "Committed changes of records, by kind.");
    c(AUDIT_RECORDS_TOTAL, None, "Audit records written, by kind (change or denied).");
    c(AUTH_LOCKOUTS_TOTAL, None, "Client addresses locked out of authentication after repeated failures.");
    c(
        UDP_LIMITED_TOTAL,
        None,
        "Handle UDP answers sent truncated (retry over TCP): their source block was over its budget.",
    );
    c(STATS_FLUSHES_TOTAL, None, "Flushes of the resolution statistics to the store, by result.");
    g(READY, None, "1 when the node is ready to serve (store open, listeners bound, not shutting down).");
    g(BUILD_INFO, None, "Build information; always 1.");
    g(STORE_KEYS, None, "Estimated number of keys, by space.");
    c(PROCESS_CPU, Some(Unit::Seconds), "User and system CPU time, seconds.");
    for (n, d) in STORE_GAUGES.iter().chain(&PROCESS_GAUGES).chain(&CACHE_GAUGES) {
        g(n, None, d);
    }
    for (n, d) in STORE_COUNTERS.iter().chain(&CACHE_COUNTERS) {
        c(n, None, d);
    }
}

#[cfg(test)]
mod tests;
