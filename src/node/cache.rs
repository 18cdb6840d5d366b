//! The record cache: decoded records of recently resolved handles, shared by every protocol.
//!
//! A warm resolution is a hash lookup and an `Arc` clone instead of a RocksDB get and a decode of every value.
//! The cache holds decoded records, so filters and permissions apply exactly as on a miss; the
//! renderings kept with a record are the REST JSON of its public view (every publicly readable value, no
//! filter), the answer to nearly every anonymous lookup, made on its first use, and likewise its gRPC and Handle
//! protocol values. Each door owns its rendering (its type and how it is made); the cache only keeps it, in a
//! [`RenderingSlot`] the door claims.
//!
//! Consistency: a change invalidates its handle in the journal's commit while the writer holds the
//! handle's lock stripe, and bumps the stripe's generation. A reader that missed remembers the generation before
//! its store read and inserts afterwards only under the same stripe lock and only if the generation is unchanged,
//! so a record read before a concurrent change can never be cached after it.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::record::wire::StoredRecord;
use crate::record::{HandleValue, Ttl};

/// Bytes a cached entry costs beyond its strings and data (allocation headers, the map slot, the `Arc`).
const ENTRY_OVERHEAD: u64 = 128;
/// Bytes a cached value costs beyond its type and data, its renderings included.
const VALUE_OVERHEAD: u64 = 280;

/// A record as read and cached: decoded, with its public view (the publicly readable values) summed up once and
/// its renderings made on first use. A resolution of the public view then touches none of the values.
#[derive(Debug)]
pub struct SharedRecord {
    /// The record.
    pub record: StoredRecord,
    /// Positions in `record.values` of the publicly readable values.
    public: Box<[u32]>,
    /// The shortest relative TTL of the public values, and their earliest absolute expiry (epoch seconds).
    public_ttl: (Option<u32>, Option<u32>),
    renderings: [OnceLock<Box<dyn Any + Send + Sync>>; SLOTS],
}

/// Where a door keeps its rendering of a record's public view with the cached record (the REST JSON with its
/// ETag, the gRPC values in protobuf, the Handle protocol's values section). A door claims one slot once, at
/// start ([`RenderingSlot::claim`]), for a type of its own, cheap to clone.
#[derive(Debug)]
pub struct RenderingSlot<T>(usize, PhantomData<fn() -> T>);

impl<T> Clone for RenderingSlot<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for RenderingSlot<T> {}

/// Slots a cached record has.
const SLOTS: usize = 4;

impl<T> RenderingSlot<T> {
    /// A slot of its own, or (past [`SLOTS`] claims) one whose renderings are never kept.
    pub fn claim() -> Self {
        static CLAIMED: AtomicUsize = AtomicUsize::new(0);
        Self(CLAIMED.fetch_add(1, Ordering::Relaxed), PhantomData)
    }
}

impl SharedRecord {
    pub(crate) fn new(record: StoredRecord) -> Self {
        let public: Box<[u32]> =
            (0..record.values.len() as u32).filter(|&i| record.values[i as usize].perms.public_read()).collect();
        let ttls = || public.iter().map(|&i| record.values[i as usize].ttl);
        let relative = ttls().filter_map(|t| if let Ttl::Relative(s) = t { Some(s) } else { None }).min();
        let expiry = ttls().filter_map(|t| if let Ttl::Absolute(e) = t { Some(e) } else { None }).min();
        Self { public_ttl: (relative, expiry), public, record, renderings: Default::default() }
    }

    /// Positions in `record.values` of the publicly readable values, in order.
    pub(crate) fn public(&self) -> &[u32] {
        &self.public
    }

    /// Seconds a cache may keep the public view, seen at `now` (epoch seconds): the least of its values' (0 when
    /// it has none).
    pub(crate) fn public_max_age(&self, now: u32) -> u32 {
        let (relative, expiry) = self.public_ttl;
        relative.into_iter().chain(expiry.map(|e| Ttl::Absolute(e).max_age(now))).min().unwrap_or(0)
    }

    /// The rendering of the public view kept in `slot`, made by `render` the first time.
    pub(crate) fn rendering<T: Any + Clone + Send + Sync>(
        &self,
        slot: RenderingSlot<T>,
        render: impl FnOnce() -> T,
    ) -> T {
        let Some(cell) = self.renderings.get(slot.0) else { return render() };
        let mut render = Some(render);
        let kept = cell.get_or_init(|| Box::new((render.take().expect("called once"))()));
        match (kept.downcast_ref::<T>(), render) {
            (Some(t), _) => t.clone(),
            // Only a slot made by hand can hold another type: rendered afresh.
            (None, Some(render)) => render(),
            (None, None) => unreachable!("what this call rendered is of its type"),
        }
    }
}

/// What the cache's counters and occupancy show at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheFigures {
    /// Lookups answered from the cache since start.
    pub hits: u64,
    /// Lookups that went to the store since start.
    pub misses: u64,
    /// Records held.
    pub entries: u64,
    /// Estimated bytes held.
    pub bytes: u64,
    /// Capacity, bytes.
    pub capacity_bytes: u64,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<Box<str>, Arc<SharedRecord>> for ByBytes {
    /// The decoded record plus its three renderings (each about the data and the type again, and the fixed
    /// fields), counted up front: an entry's weight may not change while cached.
    fn weight(&self, key: &Box<str>, shared: &Arc<SharedRecord>) -> u64 {
        let rec = &shared.record;
        let value =
            |v: &HandleValue| VALUE_OVERHEAD + (4 * (v.ty.len() + v.data.len()) + v.references.len() * 80) as u64;
        ENTRY_OVERHEAD + (key.len() + 2 * rec.handle.len()) as u64 + rec.values.iter().map(value).sum::<u64>()
    }
}

/// Decoded records by handle key, bounded in bytes, with a generation per lock stripe.
pub(crate) struct RecordCache {
    records: Option<Cache<Box<str>, Arc<SharedRecord>, ByBytes>>,
    generations: Vec<AtomicU64>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl RecordCache {
    /// A cache of `capacity_bytes` (0: no cache) whose generations follow `stripes` lock stripes.
    pub(crate) fn new(capacity_bytes: u64, stripes: usize) -> Self {
        let records = (capacity_bytes > 0).then(|| {
            // A product record takes about 4 KiB decoded; the estimate only sizes the hash tables.
            let items = (capacity_bytes / 4096).max(16) as usize;
            Cache::with_weighter(items, capacity_bytes, ByBytes)
        });
        Self {
            records,
            generations: (0..stripes).map(|_| AtomicU64::new(0)).collect(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cached record of `key`, counting the hit or miss.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<SharedRecord>> {
        let records = self.records.as_ref()?;
        let found = records.get(key);
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Whether `key` is cached, counting nothing.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.records.as_ref().is_some_and(|r| r.contains_key(key))
    }

    /// The generation of `stripe`, to be passed to [`RecordCache::insert`] after a store read.
    pub(crate) fn generation(&self, stripe: usize) -> u64 {
        self.generations[stripe].load(Ordering::Acquire)
    }

    /// Caches `rec` as read when `stripe` was at `generation`. The caller holds the stripe's lock; nothing is
    /// cached when a change committed since.
    pub(crate) fn insert(&self, stripe: usize, generation: u64, key: &str, rec: Arc<SharedRecord>) {
        if let Some(records) = &self.records
            && self.generation(stripe) == generation
        {
            records.insert(key.into(), rec);
        }
    }

    /// Forgets `key` after a change committed. The caller holds the stripe's lock.
    pub(crate) fn invalidate(&self, stripe: usize, key: &str) {
        self.generations[stripe].fetch_add(1, Ordering::AcqRel);
        if let Some(records) = &self.records {
            records.remove(key);
        }
    }

    /// Counters and occupancy now.
    pub(crate) fn figures(&self) -> CacheFigures {
        let Some(records) = &self.records else { return CacheFigures::default() };
        CacheFigures {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: records.len() as u64,
            bytes: records.weight(),
            capacity_bytes: records.capacity(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Perms, types};

    fn value(index: u32, ttl: Ttl, public: bool) -> HandleValue {
        let mut v = HandleValue::new(index, types::URL, b"https://example.com".to_vec(), 0);
        v.ttl = ttl;
        v.perms = Perms(if public { Perms::ADMIN_READ | Perms::PUBLIC_READ } else { Perms::ADMIN_READ });
        v
    }

    #[test]
    fn the_public_view_is_summed_up_once() {
        let values = vec![
            value(1, Ttl::Relative(3600), true),
            value(2, Ttl::Relative(60), false),
            value(3, Ttl::Absolute(1_000_500), true),
            value(4, Ttl::Relative(900), true),
        ];
        let shared = SharedRecord::new(StoredRecord { handle: "88.798.1/x".into(), values: values.clone() });
        assert_eq!(shared.public(), &[0, 2, 3], "positions of the publicly readable values");
        // The least max-age of the public values, as each value would give it.
        for now in [0, 1_000_000, 1_000_400, 1_000_500, 2_000_000] {
            let each = [0, 2, 3].iter().map(|&i| values[i].ttl.max_age(now)).min().unwrap();
            assert_eq!(shared.public_max_age(now), each, "at {now}");
        }
        let private = SharedRecord::new(StoredRecord { handle: "88.798.1/y".into(), values: vec![values[1].clone()] });
        assert!(private.public().is_empty());
        assert_eq!(private.public_max_age(0), 0, "no public value: not cacheable");
    }

    #[test]
    fn each_door_keeps_its_own_rendering_once() {
        let rec = SharedRecord::new(StoredRecord { handle: "88.798.1/x".into(), values: vec![] });
        // Slots made by hand: claims are global, and the doors of this test binary claim theirs.
        let (json, wire) = (RenderingSlot::<String>(0, PhantomData), RenderingSlot::<Vec<u8>>(1, PhantomData));
        let made = std::cell::Cell::new(0);
        let render = |s: &'static str| {
            made.set(made.get() + 1);
            s.to_owned()
        };
        assert_eq!(rec.rendering(json, || render("json")), "json");
        assert_eq!(rec.rendering(json, || render("again")), "json", "kept");
        assert_eq!(rec.rendering(wire, || vec![1u8]), vec![1u8], "another slot, another type");
        assert_eq!(rec.rendering(RenderingSlot(0, PhantomData), || 7u32), 7, "another type in a slot: afresh");
        assert_eq!(made.get(), 1);
        let none = RenderingSlot::<String>(SLOTS, PhantomData);
        assert_eq!(rec.rendering(none, || render("none")), "none", "no slot: not kept");
        assert_eq!(rec.rendering(none, || render("none")), "none");
        assert_eq!(made.get(), 3);
    }
}
