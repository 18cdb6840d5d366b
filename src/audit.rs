//! The audit log: every committed change and every refused write or failed authentication, with time, identity,
//! client address, protocol, operation, identifier and a digest of the record written.
//!
//! A change's entry is written in the same atomic batch as the change, so the log never misses or invents a
//! committed change. Keys (space `audit`): `t<time µs><seq>` holds the entry (JSON); `h<handle key>\0<time><seq>`
//! and `i<identity>\0<time><seq>` index it by identifier and by identity. [`Audit::sweep`] deletes entries older
//! than the retention, and the oldest beyond the log's byte bound: the bytes of every entry and its index keys
//! are added to a counter (space `meta`, key `audit_bytes`) in the batch that writes the entry, and taken off in
//! the batch that deletes it, so the count is exact across crashes (from the first start of a node that keeps
//! it, [`Audit::begin_counting`]: older entries are neither counted nor taken off).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::store::{Batch, Space, Store, StoreError, Visit};

mod config;
mod query;

pub use config::AuditConfig;
pub use query::{AuditPage, AuditQuery, MAX_LIMIT};

const ENTRY: u8 = b't';
const BY_HANDLE: u8 = b'h';
const BY_IDENTITY: u8 = b'i';
/// Length of the time-and-sequence suffix of every key.
const STAMP: usize = 12;
/// Entries deleted per batch by the retention sweep.
const SWEEP_BATCH: usize = 1000;
/// The counter of the log's bytes.
const BYTES_KEY: &[u8] = b"audit_bytes";
/// When the log began counting its bytes (µs since the epoch, big-endian).
const SINCE_KEY: &[u8] = b"audit_bytes_since";

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, RFC 3339 UTC with microseconds.
    pub time: String,
    /// Microseconds since the epoch (and the entry's cursor with `seq`).
    pub time_us: u64,
    /// Tie-breaker of entries in the same microsecond.
    pub seq: u32,
    /// `index:handle` of the identity, or `anonymous`.
    pub identity: String,
    /// The client's address, when known.
    pub client: Option<String>,
    /// `rest`, `grpc`, `handle_tcp`, `handle_udp` or `internal`.
    pub protocol: String,
    /// The request id, when known.
    pub request_id: Option<String>,
    /// `create`, `replace`, `modify_values`, `remove_values`, `delete`, `authenticate`, ...
    pub operation: String,
    /// The identifier, as stored or as sent.
    pub handle: String,
    /// `ok`, or the refusal (`denied: <message>`).
    pub result: String,
    /// Whether the change touched administration: a prefix handle, `HS_ADMIN`, keys or groups.
    pub admin: bool,
    /// `sha256:<hex>` of the record after the change (before, for a delete).
    pub digest: Option<String>,
    /// Normalized keys of the indexes (kept to delete them with the entry).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub(crate) handle_key: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub(crate) identity_key: String,
}

/// What an audited request did, as the log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A login (audited when refused).
    Authenticate,
    /// A create or replace that was refused before it was told apart.
    Write,
    /// A new handle.
    Create,
    /// A handle's values replaced.
    Replace,
    /// Values added or changed.
    ModifyValues,
    /// Values removed.
    RemoveValues,
    /// A handle deleted.
    Delete,
    /// The node's `HS_SITE` written on a prefix handle it homes.
    PublishSite,
    /// A data template defined.
    DefineTemplate,
    /// A draft template changed.
    UpdateTemplate,
    /// A template published.
    PublishTemplate,
    /// A draft template deleted.
    DeleteTemplate,
}

impl Action {
    /// The name in the log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Authenticate => "authenticate",
            Self::Write => "write",
            Self::Create => "create",
            Self::Replace => "replace",
            Self::ModifyValues => "modify_values",
            Self::RemoveValues => "remove_values",
            Self::Delete => "delete",
            Self::PublishSite => "publish_site",
            Self::DefineTemplate => "define_template",
            Self::UpdateTemplate => "update_template",
            Self::PublishTemplate => "publish_template",
            Self::DeleteTemplate => "delete_template",
        }
    }
}

/// What the caller of [`Audit::entry`] knows of an event.
#[derive(Debug, Clone, Default)]
pub struct Event<'a> {
    /// `index:handle`, or empty for anonymous.
    pub identity: String,
    /// The identity's normalized key, for the index.
    pub identity_key: String,
    /// Client address.
    pub client: Option<String>,
    /// Protocol label.
    pub protocol: &'a str,
    /// Request id.
    pub request_id: Option<String>,
    /// Operation.
    pub operation: &'a str,
    /// Identifier as stored or sent.
    pub handle: String,
    /// Normalized key of the identifier, for the index.
    pub handle_key: String,
    /// `ok` or the refusal.
    pub result: String,
    /// Administrative change.
    pub admin: bool,
    /// Digest of the record.
    pub digest: Option<String>,
}

/// The audit log of one node.
pub struct Audit {
    store: Arc<dyn Store>,
    seq: AtomicU32,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit").finish_non_exhaustive()
    }
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

fn rfc3339(us: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn stamp(time_us: u64, seq: u32) -> [u8; STAMP] {
    let mut s = [0u8; STAMP];
    s[..8].copy_from_slice(&time_us.to_be_bytes());
    s[8..].copy_from_slice(&seq.to_be_bytes());
    s
}

fn index_key(kind: u8, name: &str, stamp: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + name.len() + stamp.len());
    k.push(kind);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k.extend_from_slice(stamp);
    k
}

fn entry_key(stamp: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + STAMP);
    k.push(ENTRY);
    k.extend_from_slice(stamp);
    k
}

impl Audit {
    /// The audit log in `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, seq: AtomicU32::new(0) }
    }

    /// Builds the entry of `event`, stamped now.
    pub fn entry(&self, e: Event<'_>) -> AuditEntry {
        let time_us = now_us();
        AuditEntry {
            time: rfc3339(time_us),
            time_us,
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            identity: if e.identity.is_empty() { "anonymous".into() } else { e.identity },
            client: e.client,
            protocol: e.protocol.to_owned(),
            request_id: e.request_id,
            operation: e.operation.to_owned(),
            handle: e.handle,
            result: e.result,
            admin: e.admin,
            digest: e.digest,
            handle_key: e.handle_key,
            identity_key: e.identity_key,
        }
    }

    /// Adds `entry` and its indexes to `batch`.
    pub fn add_to(&self, batch: &mut Batch, entry: &AuditEntry) {
        let s = stamp(entry.time_us, entry.seq);
        let json = serde_json::to_vec(entry).unwrap_or_default();
        let bytes = entry_bytes(json.len(), entry);
        batch.put(Space::Audit, entry_key(&s), json);
        if !entry.handle_key.is_empty() {
            batch.put(Space::Audit, index_key(BY_HANDLE, &entry.handle_key, &s), Vec::new());
        }
        if !entry.identity_key.is_empty() {
            batch.put(Space::Audit, index_key(BY_IDENTITY, &entry.identity_key, &s), Vec::new());
        }
        batch.add(Space::Meta, BYTES_KEY, bytes);
    }

    /// Notes that the log counts its bytes from now on, unless it did already: entries older than that were never
    /// counted, so their deletion is not taken off. Called once at start.
    pub fn begin_counting(&self) -> Result<(), StoreError> {
        if self.counted_since()?.is_none() {
            let mut b = Batch::new();
            b.put(Space::Meta, SINCE_KEY, now_us().to_be_bytes().to_vec());
            self.store.write(b)?;
        }
        Ok(())
    }

    fn counted_since(&self) -> Result<Option<u64>, StoreError> {
        let since = self.store.get(Space::Meta, SINCE_KEY)?;
        Ok(since.and_then(|v| v.try_into().ok()).map(u64::from_be_bytes))
    }

    /// The bytes of the entries written since the log began counting (see the module).
    pub fn bytes(&self) -> Result<u64, StoreError> {
        let n = self.store.get(Space::Meta, BYTES_KEY)?.map_or(0, |v| crate::store::decode_counter(&v));
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Writes `entry` on its own (refusals, which change nothing else).
    pub fn write(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut b = Batch::new();
        self.add_to(&mut b, entry);
        self.store.write(b)
    }

    /// Deletes, oldest first, the entries older than `max_age_secs` (none: kept whatever their age) and those
    /// that keep the log over `max_bytes` (none: no bound); returns how many went for their age and how many for
    /// the bound.
    pub fn sweep(&self, max_age_secs: Option<u64>, max_bytes: Option<u64>) -> Result<(usize, usize), StoreError> {
        let cutoff = max_age_secs.map_or(0, |age| now_us().saturating_sub(age.saturating_mul(1_000_000)));
        let mut over = match max_bytes {
            None => 0,
            Some(max) => self.bytes()?.saturating_sub(max),
        };
        let counted_since = self.counted_since()?;
        let (mut aged, mut bounded) = (0, 0);
        let mut resume: Option<Vec<u8>> = None;
        loop {
            let mut batch = Batch::new();
            let (mut n, mut freed) = (0, 0i64);
            let from = resume.take();
            self.store.scan(Space::Audit, &[ENTRY], from.as_deref(), &mut |k, v| {
                let s = &k[1..];
                let time = u64::from_be_bytes(s.get(..8).and_then(|t| t.try_into().ok()).unwrap_or_default());
                let old = s.len() == STAMP && time < cutoff;
                if !old && over == 0 {
                    return Visit::Stop;
                }
                let entry = serde_json::from_slice::<AuditEntry>(v).ok();
                if let Some(e) = &entry {
                    if !e.handle_key.is_empty() {
                        batch.delete(Space::Audit, index_key(BY_HANDLE, &e.handle_key, s));
                    }
                    if !e.identity_key.is_empty() {
                        batch.delete(Space::Audit, index_key(BY_IDENTITY, &e.identity_key, s));
                    }
                }
                batch.delete(Space::Audit, k.to_vec());
                resume = Some(k.to_vec());
                // What was counted when written: its bytes (an entry that does not parse, its key and JSON);
                // nothing for entries from before the log counted.
                let bytes = match entry {
                    _ if counted_since.is_none_or(|since| time < since) => 0,
                    Some(e) => entry_bytes(v.len(), &e),
                    None => i64::try_from(1 + STAMP + v.len()).unwrap_or(i64::MAX),
                };
                freed += bytes;
                over = over.saturating_sub(u64::try_from(bytes).unwrap_or(0));
                if old {
                    aged += 1
                } else {
                    bounded += 1
                }
                n += 1;
                if n == SWEEP_BATCH { Visit::Stop } else { Visit::Continue }
            })?;
            if n == 0 {
                return Ok((aged, bounded));
            }
            batch.add(Space::Meta, BYTES_KEY, -freed);
            self.store.write(batch)?;
        }
    }
}

/// The bytes an entry of `json_len` bytes and its index keys take, as the log's bound counts them.
fn entry_bytes(json_len: usize, e: &AuditEntry) -> i64 {
    let index = |name: &str| if name.is_empty() { 0 } else { 2 + name.len() + STAMP };
    i64::try_from(1 + STAMP + json_len + index(&e.handle_key) + index(&e.identity_key)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
