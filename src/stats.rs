//! Statistics the node publishes: registered identifiers and resolutions per enterprise prefix and per day,
//! totals for the node, and the top prefixes.
//!
//! Registrations are exact: every create and delete adds to its counters in the same atomic batch as the record
//! ([`Stats::count_change`], counters applied by the store without a read). Resolutions are counted in memory on
//! the hot path (a shared read lock and two relaxed atomics) and flushed as counter additions every
//! `flush_interval`: a crash loses at most the resolutions of the last interval, a graceful stop none.
//!
//! Keys (space `meta`): `stats/day/<YYYYMMDD>/<prefix>/<c|d|r|m>` and `stats/all/<prefix>/<c|d|r|m>`, for
//! created, deleted, resolved and missed (resolutions of handles that do not exist). Days follow the configured
//! UTC offset (default +08:00, China Standard Time). Misses under a prefix that has no record here are counted
//! under [`OTHER`], so the label set stays bounded by the data, not by what clients send.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use time::{Date, OffsetDateTime, UtcOffset};

use crate::metrics::closed_label;
use crate::store::{Batch, Space, Store, StoreError, Visit, decode_counter};

mod config;
mod report;

pub use config::{DEFAULT_UTC_OFFSET_MINUTES, StatsConfig};
pub use report::{Counts, DayRow, PrefixRow, Report, ReportQuery, parse_date};

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
    /// Every kind of change, in declaration order.
    pub const ALL: [Change; 3] = [Change::Create, Change::Update, Change::Delete];

    /// The label value.
    fn label(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

closed_label!(Change, "change");

/// The pseudo-prefix of misses under prefixes with no record on this node.
pub const OTHER: &str = "(other)";
const DAY_KEYS: &str = "stats/day/";
const ALL_KEYS: &str = "stats/all/";

/// Resolutions counted since the last flush.
#[derive(Debug, Default)]
struct Pending {
    resolved: AtomicU64,
    missed: AtomicU64,
}

/// The statistics of one node.
pub struct Stats {
    store: Arc<dyn Store>,
    offset: UtcOffset,
    pending: RwLock<HashMap<Box<str>, Arc<Pending>>>,
    other: Arc<Pending>,
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats").field("offset", &self.offset).finish_non_exhaustive()
    }
}

/// `YYYYMMDD` of a date.
fn day_number(d: Date) -> u32 {
    d.year() as u32 * 10_000 + u32::from(u8::from(d.month())) * 100 + u32::from(d.day())
}

fn counter_key(base: &str, prefix: &str, kind: char) -> Vec<u8> {
    format!("{base}{prefix}/{kind}").into_bytes()
}

impl Stats {
    /// Statistics over `store`, days starting at midnight at `offset_minutes` east of UTC. Call [`Stats::load`]
    /// before serving, so misses under prefixes known from earlier runs are attributed to them.
    pub fn new(store: Arc<dyn Store>, offset_minutes: i32) -> Self {
        let offset = UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap_or(UtcOffset::UTC);
        Self { store, offset, pending: RwLock::default(), other: Arc::default() }
    }

    /// Loads the prefixes that have statistics in the store.
    pub fn load(&self) -> Result<usize, StoreError> {
        let mut known = Vec::new();
        self.scan_counters(ALL_KEYS, None, &mut |prefix, _, _| {
            if prefix != OTHER && known.last().is_none_or(|k: &String| k != prefix) {
                known.push(prefix.to_owned());
            }
            Visit::Continue
        })?;
        for p in &known {
            self.entry(p);
        }
        Ok(known.len())
    }

    /// Counts the handles already in the store when the store has no statistics yet (a store from before
    /// statistics, or data loaded in bulk): they count in the all-time totals of their prefixes, not in any day.
    /// Returns the number counted, or `None` when statistics already exist.
    pub fn seed(&self) -> Result<Option<u64>, StoreError> {
        let mut any = false;
        self.store.scan(Space::Meta, ALL_KEYS.as_bytes(), None, &mut |_, _| {
            any = true;
            Visit::Stop
        })?;
        if any {
            return Ok(None);
        }
        let mut per_prefix: HashMap<String, u64> = HashMap::new();
        crate::records::scan_keys(self.store.as_ref(), "", &mut |k| {
            let prefix = k.split('/').next().unwrap_or_default();
            *per_prefix.entry(prefix.to_owned()).or_default() += 1;
            Visit::Continue
        })?;
        let mut batch = Batch::new();
        for (prefix, n) in &per_prefix {
            batch.add(Space::Meta, counter_key(ALL_KEYS, prefix, 'c'), i64::try_from(*n).unwrap_or(i64::MAX));
        }
        self.store.write(batch)?;
        Ok(Some(per_prefix.values().sum()))
    }

    /// Today, at the configured offset.
    pub fn today(&self) -> Date {
        OffsetDateTime::now_utc().to_offset(self.offset).date()
    }

    fn entry(&self, prefix: &str) -> Arc<Pending> {
        if let Some(p) = self.pending.read().unwrap_or_else(|p| p.into_inner()).get(prefix) {
            return p.clone();
        }
        self.pending.write().unwrap_or_else(|p| p.into_inner()).entry(prefix.into()).or_default().clone()
    }

    /// Counts one resolution under `prefix`: `found` when the handle exists.
    pub fn count_resolution(&self, prefix: &str, found: bool) {
        let bump = |p: &Pending| if found { &p.resolved } else { &p.missed }.fetch_add(1, Ordering::Relaxed);
        if let Some(p) = self.pending.read().unwrap_or_else(|p| p.into_inner()).get(prefix) {
            bump(p);
        } else if found {
            bump(&self.entry(prefix));
        } else {
            bump(&self.other);
        }
    }

    /// Adds the counters of a committed `change` of a handle under `prefix` to the batch that commits it. Updates
    /// change no count.
    pub fn count_change(&self, batch: &mut Batch, prefix: &str, change: Change) {
        let kind = match change {
            Change::Create => 'c',
            Change::Delete => 'd',
            Change::Update => return,
        };
        add_counter(batch, day_number(self.today()), prefix, kind, 1);
        self.entry(prefix);
    }

    /// Writes the resolutions counted since the last flush. On failure they stay counted for the next one.
    pub fn flush(&self) -> Result<(), StoreError> {
        let day = day_number(self.today());
        let mut taken = Vec::new();
        {
            let map = self.pending.read().unwrap_or_else(|p| p.into_inner());
            for (prefix, p) in map.iter().map(|(k, v)| (&**k, v)).chain([(OTHER, &self.other)]) {
                let (r, m) = (p.resolved.swap(0, Ordering::Relaxed), p.missed.swap(0, Ordering::Relaxed));
                if r + m > 0 {
                    taken.push((prefix.to_owned(), p.clone(), r, m));
                }
            }
        }
        if taken.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::new();
        for (prefix, _, r, m) in &taken {
            add_counter(&mut batch, day, prefix, 'r', *r);
            add_counter(&mut batch, day, prefix, 'm', *m);
        }
        self.store.write(batch).inspect_err(|_| {
            for (_, p, r, m) in &taken {
                p.resolved.fetch_add(*r, Ordering::Relaxed);
                p.missed.fetch_add(*m, Ordering::Relaxed);
            }
        })
    }

    /// Resolutions counted but not flushed yet, per prefix: `(prefix, resolved, missed)`.
    fn unflushed(&self) -> Vec<(String, u64, u64)> {
        let map = self.pending.read().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .map(|(k, v)| (&**k, v))
            .chain([(OTHER, &self.other)])
            .map(|(k, p)| (k.to_owned(), p.resolved.load(Ordering::Relaxed), p.missed.load(Ordering::Relaxed)))
            .filter(|(_, r, m)| r + m > 0)
            .collect()
    }

    /// Visits the counters under `base` (after `after`, when given) as `(rest, kind, value)`, where `rest` is the
    /// key between `base` and `/<kind>` (empty when `base` ends with the `/` before the kind).
    fn scan_counters(
        &self,
        base: &str,
        after: Option<&[u8]>,
        visit: &mut dyn FnMut(&str, char, i64) -> Visit,
    ) -> Result<(), StoreError> {
        self.store.scan(Space::Meta, base.as_bytes(), after, &mut |k, v| {
            let rest = std::str::from_utf8(&k[base.len()..]).ok().map(|r| r.rsplit_once('/').unwrap_or(("", r)));
            match rest {
                Some((head, kind)) if kind.len() == 1 => visit(head, char::from(kind.as_bytes()[0]), decode_counter(v)),
                _ => Visit::Continue,
            }
        })
    }
}

fn add_counter(batch: &mut Batch, day: u32, prefix: &str, kind: char, n: u64) {
    if n == 0 {
        return;
    }
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    batch.add(Space::Meta, format!("{DAY_KEYS}{day}/{prefix}/{kind}").into_bytes(), n);
    batch.add(Space::Meta, counter_key(ALL_KEYS, prefix, kind), n);
}

#[cfg(test)]
mod tests;
