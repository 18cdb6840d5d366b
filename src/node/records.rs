//! The node's handle records: the store (through [`crate::records`], which alone knows their keys and
//! encoding), the record cache in front of it, and the lock stripes that serialize the read-modify-write cycles
//! of writers and keep a read that raced a write out of the cache.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use super::Homing;
use super::cache::{CacheFigures, RecordCache, SharedRecord};
use crate::error::{ErrorCode, NodeError};
use crate::id::{Handle, NA_PREFIX, Prefix};
use crate::record::HandleValue;
use crate::record::wire::StoredRecord;
use crate::records;
use crate::store::{Batch, Store, Visit};

/// Number of lock stripes serializing read-modify-write cycles on the same handle.
const LOCK_STRIPES: usize = 64;

/// The records, cached and locked.
pub(crate) struct Records {
    store: Arc<dyn Store>,
    stripes: Vec<Mutex<()>>,
    cache: RecordCache,
    max_values: usize,
}

impl Records {
    pub(crate) fn new(store: Arc<dyn Store>, cache_bytes: u64, max_values: usize) -> Self {
        Self {
            store,
            stripes: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            cache: RecordCache::new(cache_bytes, LOCK_STRIPES),
            max_values,
        }
    }

    /// Refuses values that a record may not hold: more than `node.max_values_per_record`, an index twice or
    /// index 0. Checked before anything else, so that the other checks never see more values than that.
    pub(crate) fn check_values(&self, values: &[HandleValue]) -> Result<(), NodeError> {
        if values.len() > self.max_values {
            return Err(NodeError::new(
                ErrorCode::InvalidValue,
                format!("a record holds at most {} values (node.max_values_per_record)", self.max_values),
            ));
        }
        Ok(crate::record::check_indexes(values)?)
    }

    /// The store underneath.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The record cache's counters and occupancy.
    pub(crate) fn cache_figures(&self) -> CacheFigures {
        self.cache.figures()
    }

    /// Loads a record from the store.
    pub(crate) fn load(&self, h: &Handle) -> Result<Option<StoredRecord>, NodeError> {
        match records::get(self.store.as_ref(), h)? {
            None => Ok(None),
            Some(record) => record.map(Some).map_err(|e| {
                static LINE: crate::log::Sparse = crate::log::Sparse::new();
                if let Some(unlogged) = LINE.due() {
                    tracing::error!(handle = %h, error = %e, unlogged, "corrupt stored record");
                }
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

    /// Whether the record of `h` is in the record cache: a probe, which counts nothing.
    pub(crate) fn is_cached(&self, h: &Handle) -> bool {
        self.cache.contains(h.key())
    }

    /// Whether reading the record of `h` would read no file: it is in the record cache, or the store has it (or
    /// knows it has none) in memory. A probe, which counts nothing in the record cache (RocksDB counts its
    /// block-cache lookup).
    pub(crate) fn in_memory(&self, h: &Handle) -> bool {
        self.cache.contains(h.key()) || records::in_memory(self.store.as_ref(), h)
    }

    /// Locks the stripe of a handle for a read-modify-write cycle.
    pub(crate) fn lock(&self, h: &Handle) -> MutexGuard<'_, ()> {
        self.stripes[stripe(h)].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the stripes of every handle of `handles`, in stripe order (so that two writers of many handles
    /// never wait for each other in a circle).
    pub(crate) fn lock_all<'a>(&self, handles: impl Iterator<Item = &'a Handle>) -> Vec<MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = handles.map(stripe).collect();
        stripes.sort_unstable();
        stripes.dedup();
        stripes.into_iter().map(|s| self.stripes[s].lock().unwrap_or_else(|p| p.into_inner())).collect()
    }

    /// Writes `batch`, a change of `handles` (whose stripes the caller holds), and drops them from the record
    /// cache.
    pub(crate) fn write(&self, handles: &[Handle], batch: Batch) -> Result<(), NodeError> {
        let written = self.store.write(batch);
        for h in handles {
            self.cache.invalidate(stripe(h), h.key());
        }
        Ok(written?)
    }

    /// The homed prefixes that have a prefix handle `0.NA/X` in the store.
    pub(crate) fn allocated_prefixes(&self, homing: &Homing) -> Result<Vec<Prefix>, NodeError> {
        let na = format!("{NA_PREFIX}/");
        let mut out = Vec::new();
        records::scan_keys(self.store.as_ref(), &na, &mut |k| {
            if let Ok(p) = Prefix::parse(&k[na.len()..])
                && homing.homes(&p)
            {
                out.push(p);
            }
            Visit::Continue
        })?;
        Ok(out)
    }
}

/// The lock stripe (and cache generation) of a handle.
fn stripe(h: &Handle) -> usize {
    let mut hasher = DefaultHasher::new();
    h.key().hash(&mut hasher);
    (hasher.finish() as usize) % LOCK_STRIPES
}
