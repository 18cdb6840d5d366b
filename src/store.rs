//! Storage: an object-safe key-value [`Store`] with spaces (column families) and atomic write batches.
//!
//! `store/rocks.rs` is the only file that knows RocksDB; `store/memory.rs` is an in-memory engine for tests; the
//! conformance suite in `store/tests.rs` runs against both. Every write of the node goes through
//! [`Store::write`], the one seam where a replicated backend can be put later.

use std::fmt;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub mod disk_reads;
pub mod memory;
#[cfg(feature = "rocksdb")]
pub mod rocks;

pub use memory::MemoryStore;
#[cfg(feature = "rocksdb")]
pub use rocks::RocksStore;

/// When a write counts as done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// fsync the WAL before acknowledging: survives power loss.
    #[default]
    Fsync,
    /// Write the WAL to the OS before acknowledging: survives `kill -9`, not power loss.
    Buffered,
}

/// Block compression of a level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// None.
    None,
    /// LZ4: fast to decompress (the default: point reads decompress a block each time they miss the cache).
    #[default]
    Lz4,
    /// Zstandard: smaller, slower to decompress.
    Zstd,
}

/// Settings of the RocksDB engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RocksConfig {
    /// Directory of the database.
    pub path: PathBuf,
    /// Write durability.
    pub durability: Durability,
    /// Block cache size in MiB, shared by all column families.
    pub block_cache_mb: usize,
    /// Bloom filter bits per key (0 disables the filter).
    pub bloom_bits_per_key: f64,
    /// Background compaction and flush jobs.
    pub background_jobs: i32,
    /// Compression of the bottom level, which holds most of the data (upper levels use LZ4).
    pub bottommost_compression: Compression,
    /// MiB a column family's memtable takes before it is flushed to an SST file (and a new WAL begun).
    pub write_buffer_mb: usize,
}

impl Default for RocksConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("idnode-data"),
            durability: Durability::Fsync,
            block_cache_mb: 256,
            bloom_bits_per_key: 10.0,
            background_jobs: 2,
            bottommost_compression: Compression::Lz4,
            write_buffer_mb: 64,
        }
    }
}

/// A storage failure. Engine types never leak through it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The engine reported an error.
    #[error("storage engine error: {0}")]
    Engine(String),
    /// The store could not be opened.
    #[error("cannot open store at {path}: {message}")]
    Open {
        /// Where.
        path: String,
        /// Why.
        message: String,
    },
}

/// A keyspace of the store (a RocksDB column family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Space {
    /// Records, keyed by normalized handle.
    Handles,
    /// Node metadata (schema version, demo marker, ...) and statistics counters.
    Meta,
    /// The audit log and its indexes.
    Audit,
    /// Data templates, keyed by prefix and version.
    Templates,
}

impl Space {
    /// Every space.
    pub const ALL: [Space; 4] = [Space::Handles, Space::Meta, Space::Audit, Space::Templates];

    /// The column family name.
    pub fn name(self) -> &'static str {
        match self {
            Space::Handles => "handles",
            Space::Meta => "meta",
            Space::Audit => "audit",
            Space::Templates => "templates",
        }
    }
}

impl fmt::Display for Space {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one write of a batch does to its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Sets the value.
    Put(Vec<u8>),
    /// Removes the key.
    Delete,
    /// Adds to the signed 64-bit counter stored at the key (little-endian; a missing key counts as 0). Engines
    /// apply it without a read (RocksDB: a merge operator), so counters can ride along with any batch.
    Add(i64),
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The space.
    pub space: Space,
    /// The key.
    pub key: Vec<u8>,
    /// What to do.
    pub write: Write,
}

/// Writes applied atomically: all or none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The writes, applied in order.
    pub ops: Vec<Op>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put.
    pub fn put(&mut self, space: Space, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(Op { space, key: key.into(), write: Write::Put(value.into()) });
        self
    }

    /// Adds a delete.
    pub fn delete(&mut self, space: Space, key: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(Op { space, key: key.into(), write: Write::Delete });
        self
    }

    /// Adds `delta` to the counter at `key` (see [`Write::Add`]).
    pub fn add(&mut self, space: Space, key: impl Into<Vec<u8>>, delta: i64) -> &mut Self {
        self.ops.push(Op { space, key: key.into(), write: Write::Add(delta) });
        self
    }

    /// Whether the batch holds no write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The value of a counter written with [`Write::Add`]; anything but 8 bytes reads as 0.
pub fn decode_counter(v: &[u8]) -> i64 {
    v.try_into().map(i64::from_le_bytes).unwrap_or(0)
}

/// Figures of an engine for the operators' metrics; `None` where the engine has no such figure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreFigures {
    /// Bytes held by the block cache.
    pub block_cache_usage_bytes: Option<u64>,
    /// Capacity of the block cache, bytes.
    pub block_cache_capacity_bytes: Option<u64>,
    /// Block cache hits since the store opened.
    pub block_cache_hits: Option<u64>,
    /// Block cache misses since the store opened.
    pub block_cache_misses: Option<u64>,
    /// Bytes in memtables (active and immutable).
    pub memtable_bytes: Option<u64>,
    /// Estimated bytes compaction has to rewrite to settle the tree.
    pub pending_compaction_bytes: Option<u64>,
    /// Number of SST files.
    pub sst_files: Option<u64>,
    /// Total size of the SST files, bytes.
    pub sst_bytes: Option<u64>,
    /// Estimated number of keys per space.
    pub estimated_keys: Vec<(Space, u64)>,
    /// Time writers were stalled by the engine since the store opened, microseconds.
    pub write_stall_micros: Option<u64>,
    /// Whether writes are stopped right now (too many L0 files or pending compaction bytes).
    pub write_stopped: Option<bool>,
    /// Compactions running now.
    pub running_compactions: Option<u64>,
    /// The directory of the store on disk, for disk-space figures.
    pub directory: Option<PathBuf>,
    /// Whether writes fail (the engine stopped by an error), until the store recovers.
    pub failed: Option<bool>,
    /// Times the store recovered from such a failure since the node started.
    pub recoveries: Option<u64>,
}

/// What a scan visitor says after each entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// Go on.
    Continue,
    /// Stop the scan.
    Stop,
}

/// An ordered key-value store with atomic batches. Object-safe; synchronous like RocksDB.
pub trait Store: Send + Sync + 'static {
    /// Reads one key.
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Whether a [`Store::get`] of `key` would be answered from memory alone, reading no file: a probe for
    /// the doors, which read inline what is in memory and send the rest off their workers. An engine without
    /// files answers true; so does any engine when it cannot tell (the read itself then reports the error).
    fn in_memory(&self, _space: Space, _key: &[u8]) -> bool {
        true
    }

    /// Whether the recent reads waited for the disk (see [`disk_reads`]): then the doors ask
    /// [`Store::in_memory`] of each request. An engine without files never waits.
    fn waits_for_disk(&self) -> bool {
        false
    }

    /// Applies a batch atomically and durably (as the store's durability mode promises) before returning.
    fn write(&self, batch: Batch) -> Result<(), StoreError>;

    /// Visits, in key order, the entries whose key starts with `prefix` and is greater than `after` (when given).
    fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Visit,
    ) -> Result<(), StoreError>;

    /// Flushes buffered writes to stable storage.
    fn flush(&self) -> Result<(), StoreError>;

    /// Why writes fail right now (an engine stopped by a failed write), if they do.
    fn failure(&self) -> Option<String> {
        None
    }

    /// Brings a failed store back once the cause is gone; `Ok(true)` when it did, `Ok(false)` when it was not
    /// failed, an error (the store still failed) when the cause is still there.
    fn recover(&self) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Figures for the metrics; an engine without any returns the default.
    fn figures(&self) -> StoreFigures {
        StoreFigures::default()
    }
}

#[cfg(test)]
pub(crate) mod tests;
