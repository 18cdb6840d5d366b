//! Queries of the audit log by identifier, identity and time range, in time order, a page at a time.

use serde::Serialize;

use super::{Audit, AuditEntry, BY_HANDLE, BY_IDENTITY, ENTRY, STAMP, entry_key, stamp};
use crate::store::{Space, StoreError, Visit};

/// Most entries in one page.
pub const MAX_LIMIT: usize = 1000;
/// Entries in a page when no limit is given.
const DEFAULT_LIMIT: usize = 100;

/// Which entries to return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries of this identifier (its normalized key).
    pub handle_key: Option<String>,
    /// Only entries of this identity (`index:` + normalized handle key).
    pub identity_key: Option<String>,
    /// From this time, µs since the epoch.
    pub from_us: Option<u64>,
    /// Up to this time (inclusive), µs since the epoch.
    pub to_us: Option<u64>,
    /// Page size (default 100, at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
    /// Continue after this cursor (the `next` of the previous page).
    pub after: Option<String>,
}

/// A page of entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditPage {
    /// The entries, oldest first.
    pub entries: Vec<AuditEntry>,
    /// The cursor of the next page, when there may be one.
    pub next: Option<String>,
}

/// Parses a cursor `time_us-seq`.
fn parse_cursor(c: &str) -> Option<[u8; STAMP]> {
    let (t, s) = c.split_once('-')?;
    Some(stamp(t.parse().ok()?, s.parse().ok()?))
}

impl Audit {
    /// The page of entries `q` asks for. A malformed cursor is `None`.
    pub fn query(&self, q: &AuditQuery) -> Result<Option<AuditPage>, StoreError> {
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let to = q.to_us.unwrap_or(u64::MAX);
        let (prefix, indexed) = match (&q.handle_key, &q.identity_key) {
            (Some(h), _) => (index_prefix(BY_HANDLE, h), true),
            (None, Some(i)) => (index_prefix(BY_IDENTITY, i), true),
            (None, None) => (vec![ENTRY], false),
        };
        let mut after = prefix.clone();
        match &q.after {
            Some(c) => after.extend_from_slice(&match parse_cursor(c) {
                Some(s) => s,
                None => return Ok(None),
            }),
            None => after.extend_from_slice(&q.from_us.unwrap_or(0).to_be_bytes()),
        }
        if let (Some(_), Some(from)) = (&q.after, q.from_us) {
            let floor = [&prefix[..], &from.to_be_bytes()].concat();
            after = after.max(floor);
        }
        let mut entries = Vec::new();
        loop {
            let mut stamps = Vec::new();
            let mut values = Vec::new();
            self.store.scan(Space::Audit, &prefix, Some(&after), &mut |k, v| {
                let Some(s) = k.get(k.len().saturating_sub(STAMP)..).filter(|s| s.len() == STAMP) else {
                    return Visit::Continue;
                };
                if u64::from_be_bytes(s[..8].try_into().unwrap_or_default()) > to {
                    return Visit::Stop;
                }
                stamps.push(s.to_vec());
                if !indexed {
                    values.push(v.to_vec());
                }
                if stamps.len() > limit { Visit::Stop } else { Visit::Continue }
            })?;
            let more = stamps.len() > limit;
            stamps.truncate(limit);
            if let Some(last) = stamps.last() {
                after = [&prefix[..], last].concat();
            }
            for (i, s) in stamps.iter().enumerate() {
                let bytes = if indexed { self.store.get(Space::Audit, &entry_key(s))? } else { values.get(i).cloned() };
                let Some(e) = bytes.and_then(|b| serde_json::from_slice::<AuditEntry>(&b).ok()) else { continue };
                if q.handle_key.is_some() && q.identity_key.as_ref().is_some_and(|i| *i != e.identity_key) {
                    continue;
                }
                entries.push(e);
                if entries.len() == limit {
                    let next = (more || i + 1 < stamps.len()).then(|| cursor(&entries[limit - 1]));
                    return Ok(Some(AuditPage { entries, next }));
                }
            }
            if !more {
                return Ok(Some(AuditPage { entries, next: None }));
            }
        }
    }
}

fn index_prefix(kind: u8, name: &str) -> Vec<u8> {
    let mut k = vec![kind];
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k
}

fn cursor(e: &AuditEntry) -> String {
    format!("{}-{}", e.time_us, e.seq)
}
