//! The conformance suite every [`Store`] must pass.

use super::*;

/// A store as a disk under load is to the node: it holds nothing in memory, its reads wait for the disk, and
/// once `delay` is set (milliseconds) every read of a record takes that long.
#[derive(Default)]
pub(crate) struct OnDisk {
    pub(crate) store: MemoryStore,
    pub(crate) delay: std::sync::atomic::AtomicU64,
}

impl Store for OnDisk {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let delay = self.delay.load(std::sync::atomic::Ordering::Relaxed);
        if space == Space::Handles && delay > 0 {
            std::thread::sleep(std::time::Duration::from_millis(delay));
        }
        self.store.get(space, key)
    }
    fn in_memory(&self, _: Space, _: &[u8]) -> bool {
        false
    }
    fn waits_for_disk(&self) -> bool {
        true
    }
    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        self.store.write(batch)
    }
    fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Visit,
    ) -> Result<(), StoreError> {
        self.store.scan(space, prefix, after, visit)
    }
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Runs every conformance check against `store`, which must be empty.
pub(crate) fn conformance(store: &dyn Store) {
    get_put_delete(store);
    batches_are_atomic_and_ordered(store);
    spaces_are_separate(store);
    scans_are_ordered_bounded_and_resumable(store);
    counters_add_without_reads(store);
}

fn get_put_delete(s: &dyn Store) {
    assert_eq!(s.get(Space::Handles, b"a/1").unwrap(), None);
    let mut b = Batch::new();
    b.put(Space::Handles, b"a/1".to_vec(), b"one".to_vec());
    s.write(b).unwrap();
    assert_eq!(s.get(Space::Handles, b"a/1").unwrap().as_deref(), Some(&b"one"[..]));
    let mut b = Batch::new();
    b.put(Space::Handles, b"a/1".to_vec(), b"uno".to_vec());
    s.write(b).unwrap();
    assert_eq!(s.get(Space::Handles, b"a/1").unwrap().as_deref(), Some(&b"uno"[..]));
    let mut b = Batch::new();
    b.delete(Space::Handles, b"a/1".to_vec());
    s.write(b).unwrap();
    assert_eq!(s.get(Space::Handles, b"a/1").unwrap(), None);
    s.write(Batch::new()).unwrap();
}

fn batches_are_atomic_and_ordered(s: &dyn Store) {
    let mut b = Batch::new();
    b.put(Space::Handles, b"b/1".to_vec(), b"x".to_vec())
        .put(Space::Handles, b"b/2".to_vec(), b"y".to_vec())
        .delete(Space::Handles, b"b/1".to_vec())
        .put(Space::Meta, b"count".to_vec(), b"1".to_vec());
    s.write(b).unwrap();
    assert_eq!(s.get(Space::Handles, b"b/1").unwrap(), None, "later op in a batch wins");
    assert_eq!(s.get(Space::Handles, b"b/2").unwrap().as_deref(), Some(&b"y"[..]));
    assert_eq!(s.get(Space::Meta, b"count").unwrap().as_deref(), Some(&b"1"[..]));
}

fn spaces_are_separate(s: &dyn Store) {
    let mut b = Batch::new();
    b.put(Space::Meta, b"same".to_vec(), b"meta".to_vec()).put(Space::Handles, b"same".to_vec(), b"handle".to_vec());
    s.write(b).unwrap();
    assert_eq!(s.get(Space::Meta, b"same").unwrap().as_deref(), Some(&b"meta"[..]));
    assert_eq!(s.get(Space::Handles, b"same").unwrap().as_deref(), Some(&b"handle"[..]));
}

fn collect(s: &dyn Store, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    s.scan(Space::Handles, prefix, after, &mut |k, _| {
        out.push(k.to_vec());
        if out.len() == limit { Visit::Stop } else { Visit::Continue }
    })
    .unwrap();
    out
}

fn scans_are_ordered_bounded_and_resumable(s: &dyn Store) {
    let mut b = Batch::new();
    for k in ["p.1/c", "p.1/a", "p.1/b", "p.10/a", "p.2/a", "p.1/a/x"] {
        b.put(Space::Handles, k.as_bytes().to_vec(), b"v".to_vec());
    }
    s.write(b).unwrap();
    let all = collect(s, b"p.1/", None, usize::MAX);
    assert_eq!(all, vec![b"p.1/a".to_vec(), b"p.1/a/x".to_vec(), b"p.1/b".to_vec(), b"p.1/c".to_vec()]);
    assert_eq!(collect(s, b"p.1/", None, 2).len(), 2);
    assert_eq!(collect(s, b"p.1/", Some(b"p.1/a/x"), usize::MAX), vec![b"p.1/b".to_vec(), b"p.1/c".to_vec()]);
    assert_eq!(collect(s, b"p.1/", Some(b"p.0"), usize::MAX).len(), 4, "an `after` below the prefix starts at it");
    assert!(collect(s, b"zzz/", None, usize::MAX).is_empty());
    let mut meta = Vec::new();
    s.scan(Space::Meta, b"", None, &mut |k, _| {
        meta.push(k.to_vec());
        Visit::Continue
    })
    .unwrap();
    assert!(!meta.iter().any(|k| k.starts_with(b"p.")), "scans stay in their space");
}

fn counter(s: &dyn Store, space: Space, key: &[u8]) -> i64 {
    s.get(space, key).unwrap().map(|v| decode_counter(&v)).unwrap_or(0)
}

fn counters_add_without_reads(s: &dyn Store) {
    let mut b = Batch::new();
    b.add(Space::Meta, b"n".to_vec(), 5).add(Space::Meta, b"n".to_vec(), -2).add(Space::Audit, b"n".to_vec(), 7);
    s.write(b).unwrap();
    let mut b = Batch::new();
    b.add(Space::Meta, b"n".to_vec(), 10).put(Space::Handles, b"c/1".to_vec(), b"v".to_vec());
    s.write(b).unwrap();
    assert_eq!(counter(s, Space::Meta, b"n"), 13);
    assert_eq!(counter(s, Space::Audit, b"n"), 7, "counters stay in their space");
    let mut b = Batch::new();
    b.put(Space::Meta, b"n".to_vec(), 1i64.to_le_bytes().to_vec()).add(Space::Meta, b"n".to_vec(), 1);
    s.write(b).unwrap();
    assert_eq!(counter(s, Space::Meta, b"n"), 2, "an add applies on top of a put in the same batch");
    let mut b = Batch::new();
    b.delete(Space::Meta, b"n".to_vec()).add(Space::Meta, b"n".to_vec(), -4);
    s.write(b).unwrap();
    assert_eq!(counter(s, Space::Meta, b"n"), -4, "a deleted counter restarts from 0");
}

/// Scans longer than a chunk of the RocksDB store (256 entries): every entry once, in order, from `after`,
/// stopping where the visitor says, never past the prefix.
fn long_scans(s: &dyn Store) {
    let mut b = Batch::new();
    for i in 0..700u32 {
        b.put(Space::Handles, format!("p/{i:04}").into_bytes(), i.to_le_bytes().to_vec());
    }
    b.put(Space::Handles, b"q/after-the-prefix".to_vec(), Vec::new());
    s.write(b).unwrap();
    let keys = |after: Option<&[u8]>, stop_at: usize| {
        let mut seen = Vec::new();
        s.scan(Space::Handles, b"p/", after, &mut |k, _| {
            seen.push(String::from_utf8(k.to_vec()).unwrap());
            if seen.len() == stop_at { Visit::Stop } else { Visit::Continue }
        })
        .unwrap();
        seen
    };
    let all = keys(None, usize::MAX);
    assert_eq!(all, (0..700).map(|i| format!("p/{i:04}")).collect::<Vec<_>>());
    assert_eq!(keys(Some(b"p/0255"), usize::MAX), all[256..].to_vec());
    assert_eq!(keys(Some(b"p/0100"), 300), all[101..401].to_vec());
}

#[test]
fn memory_store_conforms() {
    conformance(&MemoryStore::new());
    long_scans(&MemoryStore::new());
}

#[cfg(feature = "rocksdb")]
#[test]
fn rocks_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RocksConfig { path: dir.path().join("db"), ..RocksConfig::default() };
    conformance(&RocksStore::open(&cfg).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let cfg = RocksConfig { path: dir.path().join("db"), ..RocksConfig::default() };
    long_scans(&RocksStore::open(&cfg).unwrap());
}

#[cfg(feature = "rocksdb")]
#[test]
fn rocks_store_keeps_data_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RocksConfig { path: dir.path().join("db"), ..RocksConfig::default() };
    {
        let s = RocksStore::open(&cfg).unwrap();
        let mut b = Batch::new();
        b.put(Space::Handles, b"k".to_vec(), b"v".to_vec()).add(Space::Meta, b"c".to_vec(), 3);
        s.write(b).unwrap();
    }
    let s = RocksStore::open(&cfg).unwrap();
    assert_eq!(s.get(Space::Handles, b"k").unwrap().as_deref(), Some(&b"v"[..]));
    let mut b = Batch::new();
    b.add(Space::Meta, b"c".to_vec(), 4);
    s.write(b).unwrap();
    assert_eq!(counter(&s, Space::Meta, b"c"), 7, "counters merge across reopen");
    let f = s.figures();
    assert_eq!(f.block_cache_capacity_bytes, Some(cfg.block_cache_mb as u64 * 1024 * 1024));
    assert!(f.estimated_keys.iter().any(|(sp, n)| *sp == Space::Handles && *n >= 1), "{f:?}");
    assert!(f.memtable_bytes.is_some() && f.sst_files.is_some() && f.directory.is_some());
}

#[cfg(feature = "rocksdb")]
#[test]
fn rocks_store_reports_unopenable_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"not a dir").unwrap();
    let cfg = RocksConfig { path: file, ..RocksConfig::default() };
    assert!(matches!(RocksStore::open(&cfg), Err(StoreError::Open { .. })));
}

#[cfg(feature = "rocksdb")]
#[test]
fn rocks_store_tells_a_read_from_memory_from_one_that_reads_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RocksConfig { path: dir.path().join("db"), ..RocksConfig::default() };
    {
        let s = RocksStore::open(&cfg).unwrap();
        let mut b = Batch::new();
        b.put(Space::Handles, b"k".to_vec(), b"v".to_vec());
        s.write(b).unwrap();
        assert!(s.in_memory(Space::Handles, b"k"), "in the memtable");
        s.compact().unwrap();
    }
    let s = RocksStore::open(&cfg).unwrap();
    assert!(!s.in_memory(Space::Handles, b"k"), "only in an SST file, its block not yet cached");
    assert_eq!(s.get(Space::Handles, b"k").unwrap().as_deref(), Some(&b"v"[..]));
    assert!(s.in_memory(Space::Handles, b"k"), "its block now in the block cache");
    assert!(s.in_memory(Space::Handles, b"absent"), "the bloom filter, in memory, rules it out");
}
