//! What the node records about what happens to it: the statistics, the audit log and the core's metrics; and the
//! one path by which a change reaches the store: the record, its statistics counters and its audit entry in one
//! atomic batch.

use super::counters::CoreMetrics;
use super::{Caller, Records};
use crate::audit::{Action, Audit, Event};
use crate::error::{ErrorCode, NodeError};
use crate::id::Handle;
use crate::metrics::Metrics;
use crate::record::{HandleValue, types};
use crate::stats::Change;
use crate::stats::Stats;
use crate::store::Batch;

/// Value types whose change is an administrative change.
const ADMIN_TYPES: [&str; 4] = [types::HS_ADMIN, types::HS_SECKEY, types::HS_PUBKEY, types::HS_VLIST];

/// Whether going from `old` to `new` touches administration.
fn is_admin_change(h: &Handle, old: Option<&[HandleValue]>, new: Option<&[HandleValue]>) -> bool {
    if h.administered_prefix().is_some() {
        return true;
    }
    let admin = |v: &HandleValue| ADMIN_TYPES.iter().any(|t| v.is(t));
    let changed = |a: Option<&[HandleValue]>, b: Option<&[HandleValue]>| {
        a.unwrap_or_default().iter().filter(|v| admin(v)).any(|v| !b.unwrap_or_default().contains(v))
    };
    changed(old, new) || changed(new, old)
}

/// Audit entries of refusals one identity from one client may cause per minute; more are counted, not written,
/// so that forbidden requests cannot be used to fill the disk.
const REFUSALS_PER_MINUTE: u32 = 30;
/// Clients and identities whose refusals are counted at once; past it the counts start over.
const MAX_REFUSERS: usize = 10_000;
/// Bytes of a refusal's handle and message kept in its entry.
const MAX_REFUSAL_TEXT: usize = 256;

/// A change put into a batch, to be logged and counted once the batch is written.
pub(crate) struct Staged {
    handle: String,
    action: Action,
    change: Change,
    identity: String,
    digest: Option<String>,
}

/// The statistics, the audit log and the core's metrics.
pub(crate) struct Journal {
    stats: Stats,
    audit: Audit,
    counters: CoreMetrics,
    refusals: std::sync::Mutex<std::collections::HashMap<Refuser, (u32, u32)>>,
}

/// Whose refusals are counted together: an identity's key (empty: anonymous) and its client's address block;
/// the value is the minute counted and the count.
type Refuser = (String, Option<std::net::IpAddr>);

/// `s` cut to at most `max` bytes, at a character boundary, marked when cut.
fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let end = (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
    format!("{}…", &s[..end])
}

impl Journal {
    pub(crate) fn new(stats: Stats, audit: Audit, metrics: &Metrics) -> Self {
        Self { stats, audit, counters: CoreMetrics::new(metrics), refusals: Default::default() }
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn audit(&self) -> &Audit {
        &self.audit
    }

    pub(crate) fn counters(&self) -> &CoreMetrics {
        &self.counters
    }

    /// The audit event of a request by `caller` on `h`.
    fn event(&self, caller: &Caller, action: Action, handle: &str, handle_key: &str) -> Event<'static> {
        let origin = caller.origin();
        let (identity, identity_key) = match caller.identity() {
            Some(id) => (id.to_string(), id.key()),
            None => (String::new(), String::new()),
        };
        Event {
            identity,
            identity_key,
            client: origin.peer.map(|p| p.to_string()),
            protocol: origin.protocol.label(),
            request_id: origin.request_id.as_deref().map(str::to_owned),
            operation: action.name(),
            handle: handle.to_owned(),
            handle_key: handle_key.to_owned(),
            result: "ok".into(),
            ..Event::default()
        }
    }

    /// Commits the change of `h` from `old` to `new` values (`None`: no record), as `action` by `caller`,
    /// with its statistics and audit entry, atomically and durably, into `records` (which drops `h` from the
    /// record cache). The caller holds the handle's lock stripe ([`Records::lock`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn commit(
        &self,
        records: &Records,
        caller: &Caller,
        action: Action,
        h: &Handle,
        as_created: &str,
        old: Option<&[HandleValue]>,
        new: Option<&[HandleValue]>,
    ) -> Result<(), NodeError> {
        let mut b = Batch::new();
        let staged = self.stage(&mut b, caller, action, h, as_created, old, new);
        records.write(std::slice::from_ref(h), b)?;
        self.committed(&staged);
        Ok(())
    }

    /// Puts the change of `h` from `old` to `new` values, its statistics and its audit entry into `batch`; once
    /// the batch is written, [`Journal::committed`] logs and counts it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn stage(
        &self,
        batch: &mut Batch,
        caller: &Caller,
        action: Action,
        h: &Handle,
        as_created: &str,
        old: Option<&[HandleValue]>,
        new: Option<&[HandleValue]>,
    ) -> Staged {
        let change = match (old, new) {
            (None, _) => Change::Create,
            (Some(_), None) => Change::Delete,
            (Some(_), Some(_)) => Change::Update,
        };
        let digest = match new {
            Some(values) => Some(crate::records::put(batch, h, as_created, values)),
            None => {
                crate::records::delete(batch, h);
                old.map(|values| crate::records::digest(as_created, values))
            }
        };
        self.stats.count_change(batch, h.prefix_key(), change);
        let mut event = self.event(caller, action, as_created, h.key());
        event.admin = is_admin_change(h, old, new);
        event.digest = digest;
        let entry = self.audit.entry(event);
        self.audit.add_to(batch, &entry);
        Staged { handle: as_created.to_owned(), action, change, identity: entry.identity, digest: entry.digest }
    }

    /// Logs and counts a staged change whose batch was written.
    pub(crate) fn committed(&self, s: &Staged) {
        tracing::info!(
            handle = s.handle,
            operation = s.action.name(),
            identity = %s.identity,
            digest = s.digest.as_deref().unwrap_or(""),
            "committed"
        );
        self.counted(s);
    }

    /// Logs and counts the staged changes of one written batch: a line for the batch, and a line per change at
    /// debug level (the audit log keeps every change; 2,000 info lines a batch would flood the node's log).
    pub(crate) fn committed_batch(&self, staged: &[&Staged]) {
        let (Some(first), Some(last)) = (staged.first(), staged.last()) else { return };
        if staged.len() == 1 {
            return self.committed(first);
        }
        tracing::info!(records = staged.len(), first = first.handle, last = last.handle, identity = %first.identity, "committed a batch");
        for s in staged {
            tracing::debug!(
                handle = s.handle,
                operation = s.action.name(),
                digest = s.digest.as_deref().unwrap_or(""),
                "committed"
            );
            self.counted(s);
        }
    }

    fn counted(&self, s: &Staged) {
        self.counters.registration(s.change);
        self.counters.audited(false);
    }

    /// Adds to `batch` the audit entry of a template change by `caller` (`handle`: the template's identifier),
    /// an administrative change.
    pub(crate) fn audit_template(&self, batch: &mut Batch, caller: &Caller, action: Action, handle: &str) {
        let mut event = self.event(caller, action, handle, &handle.to_ascii_uppercase());
        event.admin = true;
        let entry = self.audit.entry(event);
        self.audit.add_to(batch, &entry);
        self.counters.audited(false);
    }

    /// Records a refused request in the audit log when the refusal is about authorization; passes `result` on.
    pub(crate) fn audit_refusal<T>(
        &self,
        caller: &Caller,
        action: Action,
        h: &Handle,
        result: Result<T, NodeError>,
    ) -> Result<T, NodeError> {
        if let Err(e) = &result
            && matches!(e.code, ErrorCode::Forbidden | ErrorCode::AuthenticationFailed)
        {
            self.write_refusal(caller, action, h.as_str(), h.key(), e);
        }
        result
    }

    /// Whether a refusal of `caller` may be written: at most [`REFUSALS_PER_MINUTE`] per identity and client.
    fn refusal_allowed(&self, caller: &Caller) -> bool {
        let minute = super::now() / 60;
        let who = caller.identity().map(|id| id.key()).unwrap_or_default();
        let client = caller.origin().peer.map(|p| crate::net::client(p.ip()));
        let mut table = self.refusals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if table.len() >= MAX_REFUSERS && !table.contains_key(&(who.clone(), client)) {
            table.retain(|_, (m, _)| *m == minute);
            if table.len() >= MAX_REFUSERS {
                table.clear();
            }
        }
        let (m, n) = table.entry((who, client)).or_insert((minute, 0));
        if *m != minute {
            (*m, *n) = (minute, 0);
        }
        *n += 1;
        *n <= REFUSALS_PER_MINUTE
    }

    /// Writes the audit entry of a refusal, its handle and message bounded, unless its identity and client have
    /// written their share this minute (then it is counted only); a failure to write is logged, not returned.
    pub(crate) fn write_refusal(&self, caller: &Caller, action: Action, handle: &str, key: &str, e: &NodeError) {
        if !self.refusal_allowed(caller) {
            self.counters.refusal_suppressed();
            return;
        }
        let mut event = self.event(caller, action, &bounded(handle, MAX_REFUSAL_TEXT), &bounded(key, MAX_REFUSAL_TEXT));
        event.result = format!("denied: {}", bounded(&e.message, MAX_REFUSAL_TEXT));
        let entry = self.audit.entry(event);
        match self.audit.write(&entry) {
            Ok(()) => self.counters.audited(true),
            Err(err) => {
                static LINE: crate::log::Sparse = crate::log::Sparse::new();
                if let Some(unlogged) = LINE.due() {
                    tracing::error!(error = %err, unlogged, "cannot write an audit entry of a refusal");
                }
            }
        }
    }
}
