//! [`RocksStore`]: the embedded default engine. The only file in the crate that imports `rocksdb`.
//!
//! One column family per [`Space`], a bloom filter per SST for point lookups, a shared LRU block cache sized by
//! config, LZ4 on every level (ZSTD at the bottom when configured: smaller, but each cache miss pays its slower
//! decompression). Writes go through the WAL; with
//! [`Durability::Fsync`] (the default) each batch is fsynced before it is acknowledged, so it also survives power
//! loss; [`Durability::Buffered`] survives a crash of the process but not of the machine.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard};

use rocksdb::merge_operator::MergeOperands;
use rocksdb::statistics::{StatsLevel, Ticker};
use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBCompressionType, Direction,
    IteratorMode, Options, ReadOptions, ReadTier, WriteBatch, WriteOptions,
};

use super::disk_reads::DiskReads;
use super::{
    Batch, Compression, Durability, RocksConfig, Space, Store, StoreError, StoreFigures, Visit, Write, decode_counter,
};

/// Levels of the LSM tree counted for the SST file figure.
const LEVELS: usize = 7;

/// Entries a scan reads under one hold of the database's lock.
const SCAN_CHUNK: usize = 256;

/// A key and its value, as a scan reads them.
type Entry = (Box<[u8]>, Box<[u8]>);

/// Bytes written and synced to the store's directory before a failed store is reopened: room for a new WAL and
/// MANIFEST, proof that the disk takes writes and that a descriptor can be had.
const PROBE_BYTES: usize = 4 << 20;

/// The RocksDB-backed store.
///
/// A failed write (no space, no descriptor for a new WAL, an I/O error) leaves RocksDB with a background error:
/// it refuses every later write, and the C API it is reached through has no `Resume`. The store then reports the
/// failure ([`Store::failure`], which `/readyz` and the metrics read) and [`Store::recover`] reopens the
/// database once its directory takes writes again; reads go on meanwhile. Every acknowledged write is in the
/// WAL, which the reopen replays.
pub struct RocksStore {
    /// The open database; `None` only after a reopen that failed, until one succeeds.
    db: RwLock<Option<DB>>,
    /// Why writes fail, from the first failed write until a reopen.
    failure: Mutex<Option<String>>,
    recoveries: AtomicU64,
    cfg: RocksConfig,
    sync: bool,
    cache: Cache,
    cache_capacity: u64,
    /// The database options, which own the statistics (tickers) of the open database.
    db_opts: Options,
    disk_reads: DiskReads,
}

/// The merge operator of [`Write::Add`]: sums signed 64-bit little-endian counters.
fn add_counters(_key: &[u8], existing: Option<&[u8]>, operands: &MergeOperands) -> Option<Vec<u8>> {
    let sum = operands.iter().fold(existing.map_or(0, decode_counter), |acc, op| acc.wrapping_add(decode_counter(op)));
    Some(sum.to_le_bytes().to_vec())
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore").field("path", &self.cfg.path).field("sync", &self.sync).finish()
    }
}

fn engine(e: rocksdb::Error) -> StoreError {
    StoreError::Engine(e.into_string())
}

/// The options of one column family.
fn column_options(cfg: &RocksConfig, cache: &Cache) -> Options {
    let mut t = BlockBasedOptions::default();
    t.set_block_cache(cache);
    if cfg.bloom_bits_per_key > 0.0 {
        t.set_bloom_filter(cfg.bloom_bits_per_key, false);
    }
    t.set_index_type(BlockBasedIndexType::BinarySearch);
    // Index and filter blocks stay in memory, outside the block cache: a point lookup then never
    // re-reads them when data blocks churn the cache.
    t.set_cache_index_and_filter_blocks(false);
    t.set_format_version(5);
    let mut o = Options::default();
    o.set_block_based_table_factory(&t);
    o.set_compression_type(DBCompressionType::Lz4);
    o.set_bottommost_compression_type(match cfg.bottommost_compression {
        Compression::None => DBCompressionType::None,
        Compression::Lz4 => DBCompressionType::Lz4,
        Compression::Zstd => DBCompressionType::Zstd,
    });
    o.set_level_compaction_dynamic_level_bytes(true);
    o.set_merge_operator_associative("idnode_add_i64", add_counters);
    o.set_write_buffer_size(cfg.write_buffer_mb.max(1) << 20);
    o
}

fn open_db(cfg: &RocksConfig, db_opts: &Options, cache: &Cache) -> Result<DB, StoreError> {
    let cfs = Space::ALL.iter().map(|s| ColumnFamilyDescriptor::new(s.name(), column_options(cfg, cache)));
    DB::open_cf_descriptors(db_opts, &cfg.path, cfs)
        .map_err(|e| StoreError::Open { path: cfg.path.display().to_string(), message: e.into_string() })
}

/// Writes and syncs [`PROBE_BYTES`] in `dir`, then removes them.
fn probe(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(".idnode-write-probe");
    let written = std::fs::File::create(&path).and_then(|mut f| {
        f.write_all(&vec![0u8; PROBE_BYTES])?;
        f.sync_all()
    });
    let _ = std::fs::remove_file(&path);
    written
}

impl RocksStore {
    /// Opens (creating if needed) the database in `cfg.path`.
    pub fn open(cfg: &RocksConfig) -> Result<Self, StoreError> {
        let cache = Cache::new_lru_cache(cfg.block_cache_mb.max(1) << 20);
        let mut db_opts = column_options(cfg, &cache);
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(cfg.background_jobs.max(1));
        // Flushes and compactions run at the lowest CPU priority: on a busy core they yield to the lookups
        // instead of stalling them for tens of milliseconds.
        let mut env = rocksdb::Env::new().map_err(engine)?;
        env.lower_thread_pool_cpu_priority();
        env.lower_high_priority_thread_pool_cpu_priority();
        db_opts.set_env(&env);
        db_opts.set_keep_log_file_num(5);
        // Tickers only (block cache hits and misses, stall time): no timers on the read path.
        db_opts.enable_statistics();
        db_opts.set_statistics_level(StatsLevel::ExceptHistogramOrTimers);
        let db = open_db(cfg, &db_opts, &cache)?;
        let cache_capacity = (cfg.block_cache_mb.max(1) as u64) << 20;
        Ok(Self {
            db: RwLock::new(Some(db)),
            failure: Mutex::default(),
            recoveries: AtomicU64::new(0),
            cfg: cfg.clone(),
            sync: cfg.durability == Durability::Fsync,
            cache,
            cache_capacity,
            db_opts,
            disk_reads: DiskReads::default(),
        })
    }

    /// Flushes the memtables and compacts every column family into the last level (after a bulk load).
    pub fn compact(&self) -> Result<(), StoreError> {
        let db = self.db()?;
        for s in Space::ALL {
            let cf = cf(&db, s)?;
            db.flush_cf(cf).map_err(engine)?;
            db.compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.cfg.path
    }

    /// The open database, read-locked for as long as the guard lives.
    fn db(&self) -> Result<OpenDb<'_>, StoreError> {
        let guard = self.db.read().unwrap_or_else(PoisonError::into_inner);
        match *guard {
            Some(_) => Ok(OpenDb(guard)),
            None => Err(StoreError::Engine("the store is being reopened after a failure".into())),
        }
    }

    /// A write failed: the engine refuses writes from now on, until a reopen.
    fn failed(&self, e: &rocksdb::Error) {
        let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if failure.is_none() {
            tracing::error!(error = %e, "a store write failed; writes are refused until the store recovers");
            *failure = Some(e.to_string());
        }
    }
}

impl RocksStore {
    /// Up to [`SCAN_CHUNK`] entries of `space` under `prefix`, after `after`.
    fn scan_chunk(&self, space: Space, prefix: &[u8], after: Option<&[u8]>) -> Result<Vec<Entry>, StoreError> {
        let start = match after {
            Some(a) if a >= prefix => a,
            _ => prefix,
        };
        let mut ro = ReadOptions::default();
        ro.fill_cache(false);
        let db = self.db()?;
        let mut chunk = Vec::new();
        for item in db.iterator_cf_opt(cf(&db, space)?, ro, IteratorMode::From(start, Direction::Forward)) {
            let (k, v) = item.map_err(engine)?;
            if !k.starts_with(prefix) {
                break;
            }
            if after.is_some_and(|a| &*k <= a) {
                continue;
            }
            chunk.push((k, v));
            if chunk.len() == SCAN_CHUNK {
                break;
            }
        }
        Ok(chunk)
    }
}

/// A read guard of the database that [`RocksStore::db`] found open.
struct OpenDb<'a>(RwLockReadGuard<'a, Option<DB>>);

impl std::ops::Deref for OpenDb<'_> {
    type Target = DB;

    fn deref(&self) -> &DB {
        self.0.as_ref().expect("RocksStore::db checked it is open")
    }
}

fn cf(db: &DB, space: Space) -> Result<&rocksdb::ColumnFamily, StoreError> {
    db.cf_handle(space.name()).ok_or_else(|| StoreError::Engine(format!("column family {space} missing")))
}

impl Store for RocksStore {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let db = self.db()?;
        let cf = cf(&db, space)?;
        self.disk_reads.read(|| db.get_cf(cf, key)).map_err(engine)
    }

    fn waits_for_disk(&self) -> bool {
        self.disk_reads.waiting()
    }

    fn in_memory(&self, space: Space, key: &[u8]) -> bool {
        let Ok(db) = self.db() else { return true };
        let Ok(cf) = cf(&db, space) else { return true };
        let mut ro = ReadOptions::default();
        // The memtables and the block cache only; a block that is not there makes the get Incomplete.
        ro.set_read_tier(ReadTier::BlockCache);
        !matches!(db.get_pinned_cf_opt(cf, key, &ro), Err(e) if e.kind() == rocksdb::ErrorKind::Incomplete)
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let db = self.db()?;
        let mut wb = WriteBatch::default();
        for op in &batch.ops {
            let cf = cf(&db, op.space)?;
            match &op.write {
                Write::Put(v) => wb.put_cf(cf, &op.key, v),
                Write::Delete => wb.delete_cf(cf, &op.key),
                Write::Add(d) => wb.merge_cf(cf, &op.key, d.to_le_bytes()),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(self.sync);
        db.write_opt(wb, &wo).map_err(|e| {
            self.failed(&e);
            engine(e)
        })
    }

    fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Visit,
    ) -> Result<(), StoreError> {
        // In chunks, the database's lock held only while a chunk is read: a visitor may wait on its client (a
        // streamed listing, up to 30 s a chunk), and a reopen after a failure must not wait for it.
        let mut last: Option<Vec<u8>> = after.map(<[u8]>::to_vec);
        loop {
            let chunk = self.scan_chunk(space, prefix, last.as_deref())?;
            let complete = chunk.len() < SCAN_CHUNK;
            for (k, v) in &chunk {
                if visit(k, v) == Visit::Stop {
                    return Ok(());
                }
            }
            match chunk.into_iter().next_back() {
                Some((k, _)) if !complete => last = Some(k.into_vec()),
                _ => return Ok(()),
            }
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        if let Some(why) = self.failure() {
            // The engine refuses a flush too; every acknowledged write is in the WAL already.
            tracing::warn!(%why, "the store is failed: not flushed; the WAL holds every acknowledged write");
            return Ok(());
        }
        self.db()?.flush_wal(true).map_err(engine)
    }

    fn failure(&self) -> Option<String> {
        self.failure.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn recover(&self) -> Result<bool, StoreError> {
        if self.failure().is_none() {
            return Ok(false);
        }
        probe(&self.cfg.path).map_err(|e| StoreError::Engine(format!("the store's directory takes no writes: {e}")))?;
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        // Closing the failed database first: RocksDB holds a lock on its directory.
        *db = None;
        *db = Some(open_db(&self.cfg, &self.db_opts, &self.cache)?);
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.recoveries.fetch_add(1, Ordering::Relaxed);
        tracing::info!("the store recovered: reopened, writes accepted again");
        Ok(true)
    }

    fn figures(&self) -> StoreFigures {
        let mut f = StoreFigures {
            block_cache_usage_bytes: Some(self.cache.get_usage() as u64),
            block_cache_capacity_bytes: Some(self.cache_capacity),
            block_cache_hits: Some(self.db_opts.get_ticker_count(Ticker::BlockCacheHit)),
            block_cache_misses: Some(self.db_opts.get_ticker_count(Ticker::BlockCacheMiss)),
            write_stall_micros: Some(self.db_opts.get_ticker_count(Ticker::StallMicros)),
            directory: Some(self.cfg.path.clone()),
            failed: Some(self.failure().is_some()),
            recoveries: Some(self.recoveries.load(Ordering::Relaxed)),
            ..StoreFigures::default()
        };
        let Ok(db) = self.db() else { return f };
        let db_int = |name: &str| db.property_int_value(name).ok().flatten();
        f.running_compactions = db_int("rocksdb.num-running-compactions");
        f.write_stopped = db_int("rocksdb.is-write-stopped").map(|v| v != 0);
        let sum = |get: &mut dyn FnMut(&rocksdb::ColumnFamily) -> Option<u64>| -> Option<u64> {
            Space::ALL.iter().filter_map(|s| db.cf_handle(s.name())).map(&mut *get).sum()
        };
        let cf_int = |cf: &rocksdb::ColumnFamily, name: &str| db.property_int_value_cf(cf, name).ok().flatten();
        f.memtable_bytes = sum(&mut |cf| cf_int(cf, "rocksdb.cur-size-all-mem-tables"));
        f.pending_compaction_bytes = sum(&mut |cf| cf_int(cf, "rocksdb.estimate-pending-compaction-bytes"));
        f.sst_bytes = sum(&mut |cf| cf_int(cf, "rocksdb.total-sst-files-size"));
        f.sst_files = sum(&mut |cf| (0..LEVELS).map(|l| cf_int(cf, &format!("rocksdb.num-files-at-level{l}"))).sum());
        f.estimated_keys = Space::ALL
            .iter()
            .filter_map(|s| Some((*s, cf_int(db.cf_handle(s.name())?, "rocksdb.estimate-num-keys")?)))
            .collect();
        f
    }
}
