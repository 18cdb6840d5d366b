//! The service core: resolution, registration and authorization over a [`Store`].
//!
//! It knows nothing of HTTP, gRPC or the wire protocol: adapters parse their requests into [`Handle`]s, values and
//! a [`Caller`], call the methods here, and map [`NodeError`] through [`crate::error::ErrorCode`].

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::audit::Audit;
use crate::error::NodeError;
use crate::id::{Handle, Prefix};
use crate::metrics::Metrics;
use crate::record::HandleValue;
use crate::request::Origin;
use crate::stats::Stats;
use crate::store::Store;
use crate::template::Template;
use access::Access;
use homing::Homing;
use journal::Journal;
use records::Records;
use registration::Registrar;
use resolution::Resolver;
use template_editor::TemplateEditor;
use templates::Templates;
use throttle::Throttle;

mod access;
mod cache;
mod config;
mod counters;
mod homing;
mod journal;
mod list;
mod record_writes;
mod records;
mod registration;
mod resolution;
mod site;
mod template_editor;
mod templates;
mod throttle;

pub use access::{Caller, Identity};
pub use cache::{CacheFigures, RenderingSlot, SharedRecord};
pub use config::{
    AuthConfig, DEFAULT_MAX_LISTINGS, DEFAULT_MAX_LISTINGS_PER_CLIENT, DEFAULT_RECORD_CACHE_MB, NodeConfig,
    NodeSettings, Reads,
};
pub use list::Page;
pub use registration::{PutOutcome, RecordMode, RecordWrite, ValueMode};
pub use resolution::{Filter, Resolution};
pub(crate) use template_editor::template_prefix;

/// The node core, shared by every adapter: a facade over its parts. State: what it homes ([`Homing`]), its
/// records ([`Records`]: store, record cache, lock stripes), what it records about changes and requests
/// ([`Journal`]: statistics, audit log, metrics) and the lockout ([`Throttle`]). Rooms, built on demand from the
/// state they may use: [`Access`] (authentication, authorization), [`Resolver`] (resolution) and [`Registrar`]
/// (registration). Each room depends only on those listed before it.
pub struct Node {
    homing: Homing,
    records: Records,
    journal: Journal,
    templates: Templates,
    throttle: Throttle,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("homing", &self.homing).finish_non_exhaustive()
    }
}

/// Current time in epoch seconds.
pub fn now() -> u32 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or(0)
}

impl Node {
    /// A core over `store` with `settings`, recording into `metrics`.
    pub fn new(store: Arc<dyn Store>, settings: NodeSettings, metrics: Arc<Metrics>) -> Self {
        let stats = Stats::new(store.clone(), settings.utc_offset_minutes);
        let audit = Audit::new(store.clone());
        Self {
            homing: Homing::new(settings.prefixes, settings.suffix_case),
            templates: Templates::new(store.clone(), settings.templates_required),
            records: Records::new(store, settings.record_cache_bytes, settings.max_values_per_record),
            journal: Journal::new(stats, audit, &metrics),
            throttle: Throttle::new(settings.max_auth_failures, settings.lockout),
            metrics,
        }
    }

    fn access(&self) -> Access<'_> {
        Access { homing: &self.homing, records: &self.records, journal: &self.journal, throttle: &self.throttle }
    }

    fn resolver(&self) -> Resolver<'_> {
        Resolver { homing: &self.homing, records: &self.records, journal: &self.journal, access: self.access() }
    }

    fn registrar(&self) -> Registrar<'_> {
        Registrar {
            homing: &self.homing,
            records: &self.records,
            journal: &self.journal,
            templates: &self.templates,
            access: self.access(),
        }
    }

    fn template_editor(&self) -> TemplateEditor<'_> {
        TemplateEditor { templates: &self.templates, journal: &self.journal, access: self.access() }
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn Store> {
        self.records.store()
    }

    /// The record cache's counters and occupancy.
    pub fn cache_figures(&self) -> CacheFigures {
        self.records.cache_figures()
    }

    /// The recorder this core and its doors record into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The statistics.
    pub fn stats(&self) -> &Stats {
        self.journal.stats()
    }

    /// The audit log.
    pub fn audit(&self) -> &Audit {
        self.journal.audit()
    }

    /// Parses a handle with this node's suffix rule (see [`Homing::parse_handle`]).
    pub fn parse_handle(&self, s: &str) -> Result<Handle, NodeError> {
        self.homing.parse_handle(s)
    }

    /// Resolves `h` for `caller`; a missing handle is [`crate::error::ErrorCode::HandleNotFound`]. Counted in the
    /// metrics (by the caller's protocol) and in the statistics of the handle's prefix.
    pub fn resolve(&self, h: &Handle, filter: &Filter, caller: &Caller) -> Result<Resolution, NodeError> {
        self.resolver().resolve(h, filter, caller)
    }

    /// Whether the record of `h` is in the record cache, so that resolving it reads no store: a probe, which
    /// counts nothing.
    pub fn is_cached(&self, h: &Handle) -> bool {
        self.records.is_cached(h)
    }

    /// Whether resolving `written` (a handle as a request wrote it) may wait for the disk: the store's recent
    /// reads waited for it (see [`crate::store::disk_reads`]), and its record is not in memory
    /// ([`Node::in_memory`]). Asked by the doors of each request when `node.reads` is `tiered`; while the
    /// store's reads come from memory it is one atomic load.
    pub fn may_wait_for_disk(&self, written: &str) -> bool {
        self.store().waits_for_disk() && self.parse_handle(written).is_ok_and(|h| !self.in_memory(&h))
    }

    /// Whether resolving `h` reads no file: its record is in the record cache, or the store holds it (or knows it
    /// has none) in memory. A probe, which counts nothing in the record cache (RocksDB counts its block-cache
    /// lookup); a resolution may still read the prefix handles above `h` to authorize a caller for values that
    /// are not public.
    pub fn in_memory(&self, h: &Handle) -> bool {
        self.homing.check_responsible(h).is_err() || self.records.in_memory(h)
    }

    /// The caller of a request from `origin` with an `Authorization` value (or none); failures are audited and
    /// an address that fails too often is locked out for a while.
    pub fn caller_from(&self, authorization: Option<&str>, origin: Origin) -> Result<Caller, NodeError> {
        self.access().caller_from(authorization, origin)
    }

    /// The caller `user` (`index:handle`) from `origin`, when one of its keys of `key_type` (`HS_SECKEY`,
    /// `HS_PUBKEY`) satisfies `proves` (given the stored key); throttled and audited as [`Node::caller_from`] is.
    pub fn login(
        &self,
        user: &str,
        key_type: &str,
        proves: &dyn Fn(&[u8]) -> bool,
        origin: Origin,
    ) -> Result<Caller, NodeError> {
        self.access().login(user, key_type, proves, origin)
    }

    /// A digest of the secret key that authenticates `id` (`None` once it is gone): a session opened with it
    /// ends when it changes.
    pub fn key_fingerprint(&self, id: &Identity) -> Result<Option<[u8; 32]>, NodeError> {
        self.access().key_fingerprint(id)
    }

    /// Checks `secret` against the `HS_SECKEY` values of the identity `user` (`index:handle`).
    pub fn authenticate(&self, user: &str, secret: &[u8]) -> Result<Identity, NodeError> {
        self.access().authenticate(user, secret)
    }

    /// Checks that `caller` is a node administrator (list-handles on the node prefix's handle or above).
    pub fn authorize_node_admin(&self, caller: &Caller) -> Result<(), NodeError> {
        self.access().authorize_node_admin(caller)
    }

    /// Checks that `caller` may list the handles under `prefix`.
    pub fn authorize_list(&self, caller: &Caller, prefix: &Prefix) -> Result<(), NodeError> {
        self.access().authorize_list(caller, prefix)
    }

    /// Creates `h` with `values`, or replaces its record (unless `overwrite` is false: then an existing handle
    /// is [`crate::error::ErrorCode::HandleAlreadyExists`]).
    pub fn put_record(
        &self,
        caller: &Caller,
        h: &Handle,
        values: Vec<HandleValue>,
        overwrite: bool,
    ) -> Result<PutOutcome, NodeError> {
        self.registrar().put_record(caller, h, values, overwrite)
    }

    /// Writes a whole record as `mode` says.
    pub fn write_record(
        &self,
        caller: &Caller,
        h: &Handle,
        values: Vec<HandleValue>,
        mode: RecordMode,
    ) -> Result<PutOutcome, NodeError> {
        self.registrar().write_record(caller, h, values, mode)
    }

    /// Writes whole records in one atomic, durable store write (one fsync for the lot), in order; one result per
    /// item, each failing on its own as [`Node::write_record`] would.
    pub fn write_records(
        &self,
        caller: &Caller,
        writes: Vec<Result<RecordWrite, NodeError>>,
    ) -> Vec<Result<PutOutcome, NodeError>> {
        self.registrar().write_records(caller, writes)
    }

    /// Adds or replaces `values` in the existing record of `h`, as `mode` allows; with `only`, values whose index
    /// is not listed are ignored.
    pub fn put_values(
        &self,
        caller: &Caller,
        h: &Handle,
        values: Vec<HandleValue>,
        only: Option<&[u32]>,
        mode: ValueMode,
    ) -> Result<(), NodeError> {
        self.registrar().put_values(caller, h, values, only, mode)
    }

    /// Removes the values at `indexes`; all of them must exist.
    pub fn delete_values(&self, caller: &Caller, h: &Handle, indexes: &[u32]) -> Result<(), NodeError> {
        self.registrar().delete_values(caller, h, indexes)
    }

    /// Deletes the handle and its record.
    pub fn delete_handle(&self, caller: &Caller, h: &Handle) -> Result<(), NodeError> {
        self.registrar().delete_handle(caller, h)
    }

    /// Creates a handle `prefix/<stem><random>` with `values` and returns it.
    pub fn mint(
        &self,
        caller: &Caller,
        prefix: &Prefix,
        stem: &str,
        values: Vec<HandleValue>,
    ) -> Result<Handle, NodeError> {
        self.registrar().mint(caller, prefix, stem, values)
    }

    /// Sets `site` (binary `HS_SITE` data) on every homed prefix handle that exists; returns how many changed.
    pub fn publish_site(&self, site: &[u8]) -> Result<usize, NodeError> {
        self.registrar().publish_site(site)
    }

    /// The template (prefix, version), published or draft.
    pub fn template(&self, prefix: &Prefix, version: &str) -> Result<Option<Arc<Template>>, NodeError> {
        self.templates.get(prefix, version)
    }

    /// The templates defined on `prefix` (on every prefix when `None`).
    pub fn templates(&self, prefix: Option<&Prefix>) -> Result<Vec<Arc<Template>>, NodeError> {
        self.templates.list(prefix)
    }

    /// Defines a template version (published at once if `t.published`); returns it as stored.
    pub fn define_template(&self, caller: &Caller, t: Template) -> Result<Template, NodeError> {
        self.template_editor().define(caller, t)
    }

    /// Changes a draft template version (see [`Template::update`]).
    pub fn update_template(&self, caller: &Caller, change: Template) -> Result<Template, NodeError> {
        self.template_editor().update(caller, change)
    }

    /// Publishes a template version: records may then name it, and it no longer changes.
    pub fn publish_template(&self, caller: &Caller, prefix: &Prefix, version: &str) -> Result<Template, NodeError> {
        self.template_editor().publish(caller, prefix, version)
    }

    /// Deletes a draft template version.
    pub fn delete_template(&self, caller: &Caller, prefix: &Prefix, version: &str) -> Result<(), NodeError> {
        self.template_editor().delete(caller, prefix, version)
    }

    /// Writes the templates the node ships with ([`crate::template::ceramics`]) under its node prefix, into a
    /// store that has no template yet; returns how many were written.
    pub fn install_templates(&self) -> Result<usize, NodeError> {
        let Some(node_prefix) = self.homing.configured().first() else { return Ok(0) };
        if !self.templates.is_empty()? {
            return Ok(0);
        }
        // Built normalized (their unit test checks it), under a configured prefix, which is normalized too.
        let shipped = crate::template::ceramics::all(node_prefix.as_str());
        let n = shipped.len();
        for t in shipped {
            let version = t.version.clone();
            self.templates.write(node_prefix, &version, |_| Ok(Some(t)), crate::store::Batch::new())?;
        }
        Ok(n)
    }

    /// Visits the handles (as created) under `prefix` that fall in `page`, and returns the total count. Call
    /// [`Node::authorize_list`] first. `emit` returns false to abandon the listing (client gone).
    pub fn list_handles(
        &self,
        prefix: &Prefix,
        page: Page,
        emit: &mut dyn FnMut(&str) -> bool,
    ) -> Result<u64, NodeError> {
        self.records.list_handles(prefix, page, emit)
    }

    /// The prefixes homed here, for `caller`: the configured ones and every allocated prefix (a `0.NA/X` handle)
    /// below them.
    pub fn homed_prefixes(&self, caller: &Caller) -> Result<Vec<String>, NodeError> {
        caller.require()?;
        let mut out: Vec<String> = self.homing.configured().iter().map(|p| p.to_string()).collect();
        for p in self.records.allocated_prefixes(&self.homing)? {
            if !out.contains(&p.to_string()) {
                out.push(p.to_string());
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
