//! Resolution: index and type filters (OR), trailing-dot subtypes, public-only and authorized reads.

use std::sync::Arc;

use super::{Access, Caller, Homing, Journal, Records, RenderingSlot, SharedRecord};
use crate::error::{ErrorCode, NodeError};
use crate::id::Handle;
use crate::record::HandleValue;
use crate::record::admin::perm;
use crate::request::Outcome;

/// Which values a resolution asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Requested indexes (empty: any).
    pub indexes: Vec<u32>,
    /// Requested types, a trailing `.` meaning "and subtypes" (empty: any).
    pub types: Vec<String>,
    /// Leave out values that are not publicly readable, even for an authorized caller.
    pub public_only: bool,
}

impl Filter {
    /// Whether any index or type was requested.
    pub fn is_selective(&self) -> bool {
        !self.indexes.is_empty() || !self.types.is_empty()
    }

    /// Whether `v` matches the index or type lists (OR); everything matches when both are empty.
    pub fn matches(&self, v: &HandleValue) -> bool {
        !self.is_selective() || self.indexes.contains(&v.index) || self.types.iter().any(|t| v.type_matches(t))
    }
}

/// The outcome of a resolution of an existing handle: the record as stored (shared with the record cache, never
/// copied) and which of its values the caller gets.
#[derive(Debug, Clone)]
pub struct Resolution {
    shared: Arc<SharedRecord>,
    /// Positions of the values picked; `None` for the record's public view.
    picked: Option<Vec<u32>>,
    /// False when the filter was selective and nothing matched (response code 200).
    pub matched: bool,
}

impl Resolution {
    /// The Handle response code of this resolution for every door: 1, or 200 when the filter matched nothing.
    pub fn response_code(&self) -> u32 {
        if self.matched { 1 } else { ErrorCode::ValuesNotFound.response_code() }
    }

    /// The handle as created.
    pub fn stored_handle(&self) -> &str {
        &self.shared.record.handle
    }

    /// The values the caller may see that match the filter, ordered by index.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &HandleValue> + Clone {
        let picked = self.picked.as_deref().unwrap_or(self.shared.public());
        picked.iter().map(|&i| &self.shared.record.values[i as usize])
    }

    /// Seconds a cache may keep this answer, seen at `now` (epoch seconds): the least of its values' (0 when it
    /// has none).
    pub fn max_age(&self, now: u32) -> u32 {
        match self.picked {
            None => self.shared.public_max_age(now),
            Some(_) => self.values().map(|v| v.ttl.max_age(now)).min().unwrap_or(0),
        }
    }

    /// This resolution's values rendered by `render`: made once per cached record and kept with it in `slot`
    /// when this is the record's public view (no filter, only publicly readable values), made afresh otherwise.
    pub fn rendering<T>(&self, slot: RenderingSlot<T>, render: impl FnOnce() -> T) -> T
    where
        T: std::any::Any + Clone + Send + Sync,
    {
        if self.picked.is_none() { self.shared.rendering(slot, render) } else { render() }
    }
}

/// Resolution: reads through the record cache, filtered and authorized, counted.
pub(crate) struct Resolver<'a> {
    pub(crate) homing: &'a Homing,
    pub(crate) records: &'a Records,
    pub(crate) journal: &'a Journal,
    pub(crate) access: Access<'a>,
}

impl Resolver<'_> {
    /// Resolves `h` for `caller`. A missing handle is an error ([`ErrorCode::HandleNotFound`]). Counted in the
    /// metrics (by the caller's protocol) and in the statistics of the handle's prefix.
    pub fn resolve(&self, h: &Handle, filter: &Filter, caller: &Caller) -> Result<Resolution, NodeError> {
        let r = self.read_authorized(h, filter, caller);
        let outcome = match &r {
            Ok(res) if res.matched => Outcome::Ok,
            Ok(_) => Outcome::NotFound,
            Err(e) => Outcome::from_code(e.code),
        };
        self.journal.counters().resolution(caller.origin().protocol, outcome);
        match &r {
            Ok(_) => self.journal.stats().count_resolution(h.prefix_key(), true),
            Err(e) if e.code == ErrorCode::HandleNotFound => {
                self.journal.stats().count_resolution(h.prefix_key(), false)
            }
            Err(_) => {}
        }
        r
    }

    fn read_authorized(&self, h: &Handle, filter: &Filter, caller: &Caller) -> Result<Resolution, NodeError> {
        self.homing.check_responsible(h)?;
        let shared = self
            .records
            .load_shared(h)?
            .ok_or_else(|| NodeError::new(ErrorCode::HandleNotFound, format!("handle {h} not found")))?;
        let record = &shared.record;
        // Authorized reads need the read-value bit on the handle or a prefix handle above it; asked at most once,
        // and only when a matching value is not public.
        let wants_private = |values: &[HandleValue]| {
            !filter.public_only
                && values.iter().any(|v| filter.matches(v) && !v.perms.public_read() && v.perms.admin_read())
        };
        let may_read_private = match caller.identity() {
            Some(id) if wants_private(&record.values) => self.may_read(id, h, &record.values)?,
            _ => false,
        };
        if !filter.is_selective() && !may_read_private {
            return Ok(Resolution { shared, picked: None, matched: true });
        }
        let picked: Vec<u32> = (0..record.values.len() as u32)
            .filter(|&i| {
                let v = &record.values[i as usize];
                filter.matches(v) && (v.perms.public_read() || (may_read_private && v.perms.admin_read()))
            })
            .collect();
        let matched = !(picked.is_empty() && filter.is_selective());
        Ok(Resolution { shared, picked: Some(picked), matched })
    }

    fn may_read(&self, id: &super::Identity, h: &Handle, values: &[HandleValue]) -> Result<bool, NodeError> {
        match self.access.authorize(id, h, values, perm::READ_VALUE) {
            Ok(()) => Ok(true),
            Err(e) if e.code == ErrorCode::Forbidden => Ok(false),
            Err(e) => Err(e),
        }
    }
}
