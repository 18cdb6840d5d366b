//! The figures read at each scrape of `/metrics`: the store's (RocksDB properties and tickers, disk space), the
//! record cache's and the process's. They are read when asked for rather than kept up to date, since only a
//! scrape looks at them.

use metrics::{Counter, Gauge};

use crate::metrics::{Metrics, process};
use crate::node::CacheFigures;
use crate::store::{Space, StoreFigures};

/// The series of those figures on a node's recorder.
pub struct Scrape {
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

impl Scrape {
    /// Registers every series on `m`.
    pub fn new(m: &Metrics) -> Self {
        const KEYS_HELP: &str = "Estimated number of keys, by space.";
        Self {
            store_gauges: STORE_GAUGES.iter().map(|(n, d)| (*n, m.gauge(n, d))).collect(),
            store_counters: STORE_COUNTERS.iter().map(|(n, d)| (*n, m.counter(n, d))).collect(),
            keys: Space::ALL
                .iter()
                .map(|s| (*s, m.gauge_with(STORE_KEYS, KEYS_HELP, &[("space", s.name())])))
                .collect(),
            process_gauges: PROCESS_GAUGES.iter().map(|(n, d)| (*n, m.gauge(n, d))).collect(),
            cpu: m.counter(PROCESS_CPU, "User and system CPU time, seconds."),
            cache_counters: CACHE_COUNTERS.map(|(n, d)| m.counter(n, d)),
            cache_gauges: CACHE_GAUGES.map(|(n, d)| m.gauge(n, d)),
        }
    }

    /// Sets every series from the figures read now.
    pub fn observe(&self, f: &StoreFigures, cache: &CacheFigures) {
        let o = self;
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
                STORE_FAILED => f.failed.map(u64::from),
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
                STORE_RECOVERIES => f.recoveries,
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
const STORE_FAILED: &str = "idnode_store_failed";
const STORE_RECOVERIES: &str = "idnode_store_recoveries_total";
const STORE_COMPACTIONS: &str = "idnode_store_running_compactions";
const STORE_DISK_FREE: &str = "idnode_store_disk_free_bytes";
const STORE_DISK_TOTAL: &str = "idnode_store_disk_total_bytes";
const PROCESS_CPU: &str = "process_cpu_seconds_total";

const STORE_GAUGES: [(&str, &str); 11] = [
    (STORE_CACHE_USAGE, "Bytes held by the RocksDB block cache."),
    (STORE_CACHE_CAPACITY, "Capacity of the RocksDB block cache, bytes."),
    (STORE_MEMTABLE, "Bytes in RocksDB memtables, all column families."),
    (STORE_PENDING, "Estimated bytes RocksDB compaction still has to rewrite."),
    (STORE_SST_FILES, "Number of SST files."),
    (STORE_SST_BYTES, "Total size of the SST files, bytes."),
    (STORE_WRITE_STOPPED, "1 while RocksDB stops writes (too many L0 files or pending compaction bytes)."),
    (STORE_COMPACTIONS, "RocksDB compactions running now."),
    (STORE_FAILED, "1 while store writes fail (no space, no descriptor, an I/O error), until the store recovers."),
    (STORE_DISK_FREE, "Free bytes on the file system of the data directory."),
    (STORE_DISK_TOTAL, "Size of the file system of the data directory, bytes."),
];

const STORE_COUNTERS: [(&str, &str); 4] = [
    (STORE_CACHE_HITS, "RocksDB block cache hits since the store opened."),
    (STORE_CACHE_MISSES, "RocksDB block cache misses since the store opened."),
    (STORE_STALL, "Seconds writers were stalled by RocksDB since the store opened."),
    (STORE_RECOVERIES, "Times the store recovered from failed writes (reopened once its disk took writes again)."),
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::connection::ConnectionMetrics;
    use crate::node::{Caller, Node, NodeSettings};
    use crate::record::{HandleValue, types};
    use crate::request::{Operation, Outcome, Protocol, RequestMetrics};
    use crate::store::MemoryStore;

    /// Every part's series on one recorder, as `/metrics` renders them.
    #[test]
    fn renders_described_metrics_with_bounded_labels() {
        let m = Arc::new(Metrics::new());
        let settings = NodeSettings::homing(vec![crate::id::Prefix::parse("88.798").unwrap()]);
        let store = Arc::new(MemoryStore::new());
        crate::demo::load(store.as_ref(), "88.798", "root").unwrap();
        let node = Node::new(store, settings, m.clone());
        let requests = RequestMetrics::new(&m);
        requests.record(Protocol::Rest, Operation::Resolve, Outcome::Ok, Duration::from_micros(70));
        requests.record(Protocol::Rest, Operation::Resolve, Outcome::Ok, Duration::from_micros(300));
        requests.record(Protocol::HandleUdp, Operation::Resolve, Outcome::NotFound, Duration::from_millis(2));
        let h = node.parse_handle("88.798/x").unwrap();
        let url = HandleValue::new(1, types::URL, b"https://example.com".to_vec(), 0);
        let root = Caller::authenticated(node.authenticate("300:0.NA/88.798", b"root").unwrap());
        node.put_record(&root, &h, vec![url], false).unwrap();
        let grpc = Caller::new(None, crate::request::Origin::new(Protocol::Grpc, None));
        node.resolve(&h, &Default::default(), &grpc).unwrap();
        ConnectionMetrics::new(&m).bytes(Protocol::Rest, 10, 20);
        m.gauge("idnode_node_ready", "1 when ready.").set(1.0);
        let cache = CacheFigures { hits: 7, misses: 2, entries: 2, bytes: 9000, capacity_bytes: 1 << 20 };
        let scrape = Scrape::new(&m);
        scrape.observe(&StoreFigures { sst_files: Some(3), ..StoreFigures::default() }, &cache);
        let text = m.render();
        for line in [
            r#"idnode_api_requests_total{protocol="rest",operation="resolve",result="ok"} 2"#,
            r#"idnode_api_requests_total{protocol="handle_udp",operation="resolve",result="not_found"} 1"#,
            r#"idnode_api_request_duration_seconds_bucket{protocol="rest",operation="resolve",le="0.0001"} 1"#,
            r#"idnode_api_request_duration_seconds_bucket{protocol="rest",operation="resolve",le="0.0005"} 2"#,
            r#"idnode_api_request_duration_seconds_count{protocol="rest",operation="resolve"} 2"#,
            r#"idnode_core_resolutions_total{protocol="grpc",result="ok"} 1"#,
            r#"idnode_core_registrations_total{change="create"} 1"#,
            r#"idnode_core_registrations_total{change="delete"} 0"#,
            r#"idnode_api_received_bytes_total{protocol="rest"} 10"#,
            r#"idnode_api_sent_bytes_total{protocol="rest"} 20"#,
            r#"idnode_store_sst_files 3"#,
            r#"idnode_record_cache_hits_total 7"#,
            r#"idnode_record_cache_bytes 9000"#,
            r#"idnode_node_ready 1"#,
            concat!(r#"idnode_build_info{version=""#, env!("CARGO_PKG_VERSION"), r#""} 1"#),
            "# TYPE idnode_api_request_duration_seconds histogram",
            "# HELP idnode_api_requests_total Requests by protocol, operation and result.",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(text.contains("process_resident_memory_bytes "), "{text}");
    }
}
