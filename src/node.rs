//! The service core: resolution, registration and authorization over a [`Store`].
//!
//! It knows nothing of HTTP, gRPC or the wire protocol: adapters parse their requests into [`Handle`]s, values and
//! a [`Caller`], call the methods here, and map [`NodeError`] through [`crate::error::ErrorCode`].

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::audit::Audit;
use crate::error::{ErrorCode, NodeError};
use crate::id::{Handle, Prefix, SuffixCase};
use crate::metrics::Metrics;
use crate::record::wire::StoredRecord;
use crate::records;
use crate::stats::Stats;
use crate::store::Store;
use cache::RecordCache;
use counters::CoreMetrics;
use throttle::Throttle;

mod auth;
mod cache;
mod commit;
mod counters;
mod list;
mod read;
mod site;
mod throttle;
mod write;

pub use write::{PutOutcome, RecordMode, ValueMode};

pub use auth::{Caller, Identity};
pub use cache::{CacheFigures, Form, Rendered, SharedRecord};
pub use list::Page;
pub use read::{Filter, Resolution};

/// Number of lock stripes serializing read-modify-write cycles on the same handle.
const LOCK_STRIPES: usize = 64;
/// Days of the statistics start at midnight at this offset by default: China Standard Time (UTC+8).
pub const DEFAULT_UTC_OFFSET_MINUTES: i32 = 480;
/// Capacity of the record cache unless configured otherwise, MiB: about 15,000 product records with the
/// renderings of all three protocols, so that a hot set of ten thousand stays cached.
pub const DEFAULT_RECORD_CACHE_MB: u64 = 128;

/// Settings of the core.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// Prefixes this node homes; their derived prefixes are homed with them.
    pub prefixes: Vec<Prefix>,
    /// Whether suffixes compare case-sensitively.
    pub suffix_case: SuffixCase,
    /// Memory for decoded records of recently resolved handles, bytes (0: no record cache).
    pub record_cache_bytes: u64,
    /// Statistics days start at midnight this many minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// Failed authentications from one address within `lockout` before it is locked out for `lockout` (0:
    /// never); see [`throttle`].
    pub max_auth_failures: u32,
    /// The window and length of a lockout.
    pub lockout: std::time::Duration,
}

impl NodeSettings {
    /// The defaults of a node homing `prefixes`: suffixes compared as written, the default record cache, days in
    /// China Standard Time, no lockout.
    pub fn homing(prefixes: Vec<Prefix>) -> Self {
        Self {
            prefixes,
            suffix_case: SuffixCase::Sensitive,
            record_cache_bytes: DEFAULT_RECORD_CACHE_MB << 20,
            utc_offset_minutes: DEFAULT_UTC_OFFSET_MINUTES,
            max_auth_failures: 0,
            lockout: std::time::Duration::ZERO,
        }
    }
}

/// The node core, shared by every adapter.
pub struct Node {
    store: Arc<dyn Store>,
    settings: NodeSettings,
    stripes: Vec<Mutex<()>>,
    cache: RecordCache,
    metrics: Arc<Metrics>,
    counters: CoreMetrics,
    stats: Stats,
    audit: Audit,
    throttle: Throttle,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// Current time in epoch seconds.
pub fn now() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
}

impl Node {
    /// A core over `store` with `settings`, recording into `metrics`.
    pub fn new(store: Arc<dyn Store>, settings: NodeSettings, metrics: Arc<Metrics>) -> Self {
        Self {
            stats: Stats::new(store.clone(), settings.utc_offset_minutes),
            audit: Audit::new(store.clone()),
            store,
            stripes: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            cache: RecordCache::new(settings.record_cache_bytes, LOCK_STRIPES),
            counters: CoreMetrics::new(&metrics),
            metrics,
            throttle: Throttle::new(settings.max_auth_failures, settings.lockout),
            settings,
        }
    }

    /// The record cache's counters and occupancy.
    pub fn cache_figures(&self) -> CacheFigures {
        self.cache.figures()
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The recorder this core and its doors record into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The statistics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The audit log.
    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// Parses a handle with this node's suffix rule. A leading `hdl:` is answered as the Handle.Net server does:
    /// it is a URI scheme, not part of a handle, so its "prefix" is foreign (rc 301).
    pub fn parse_handle(&self, s: &str) -> Result<Handle, NodeError> {
        if s.as_bytes().get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"hdl:")) {
            let msg = format!("\"hdl:\" is a URI scheme, not part of a handle: ask for {}", &s[4..]);
            return Err(NodeError::new(ErrorCode::NotResponsible, msg));
        }
        Ok(Handle::parse(s, self.settings.suffix_case)?)
    }

    /// The configured homed prefixes.
    pub fn configured_prefixes(&self) -> &[Prefix] {
        &self.settings.prefixes
    }

    /// Whether `prefix` is homed here (configured, or derived from a configured prefix).
    pub fn homes(&self, prefix: &Prefix) -> bool {
        self.settings.prefixes.iter().any(|p| prefix.is_within(p))
    }

    /// Fails with "not responsible" unless the node homes the handle (for `0.NA/X`, the prefix `X`).
    pub fn check_responsible(&self, h: &Handle) -> Result<(), NodeError> {
        let p = h.administered_prefix().unwrap_or_else(|| h.prefix());
        if self.homes(&p) {
            Ok(())
        } else {
            Err(NodeError::new(
                ErrorCode::NotResponsible,
                format!("this node is not responsible for prefix {}", h.prefix_str()),
            ))
        }
    }

    /// Loads a record.
    pub(crate) fn load(&self, h: &Handle) -> Result<Option<StoredRecord>, NodeError> {
        match records::get(self.store.as_ref(), h)? {
            None => Ok(None),
            Some(record) => record.map(Some).map_err(|e| {
                tracing::error!(handle = %h, error = %e, "corrupt stored record");
                NodeError::new(ErrorCode::Internal, "stored record is corrupt")
            }),
        }
    }

    /// Loads a record for reading: from the record cache, or from the store and then into the cache.
    pub(crate) fn load_shared(&self, h: &Handle) -> Result<Option<Arc<SharedRecord>>, NodeError> {
        if let Some(rec) = self.cache.get(h.key()) {
            return Ok(Some(rec));
        }
        let stripe = stripe(h);
        let generation = self.cache.generation(stripe);
        let Some(rec) = self.load(h)?.map(|r| Arc::new(SharedRecord::new(r))) else { return Ok(None) };
        // A writer holding the stripe is committing a change of some handle of it: skip caching rather than wait.
        if let Ok(_guard) = self.stripes[stripe].try_lock() {
            self.cache.insert(stripe, generation, h.key(), rec.clone());
        }
        Ok(Some(rec))
    }

    /// Locks the stripe of a handle for a read-modify-write cycle.
    pub(crate) fn lock(&self, h: &Handle) -> MutexGuard<'_, ()> {
        self.stripes[stripe(h)].lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The lock stripe (and cache generation) of a handle.
fn stripe(h: &Handle) -> usize {
    let mut hasher = DefaultHasher::new();
    h.key().hash(&mut hasher);
    (hasher.finish() as usize) % LOCK_STRIPES
}

#[cfg(test)]
mod tests;
