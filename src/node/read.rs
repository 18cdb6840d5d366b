//! Resolution: index and type filters (OR), trailing-dot subtypes, public-only and authorized reads.

use super::{Caller, Node};
use crate::error::{ErrorCode, NodeError};
use crate::id::Handle;
use crate::record::HandleValue;
use crate::record::admin::perm;

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

/// The outcome of a resolution of an existing handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The handle as created.
    pub stored_handle: String,
    /// The values the caller may see that match the filter, ordered by index.
    pub values: Vec<HandleValue>,
    /// False when the filter was selective and nothing matched (response code 200).
    pub matched: bool,
}

impl Node {
    /// Resolves `h` for `caller`. A missing handle is an error ([`ErrorCode::HandleNotFound`]).
    pub fn resolve(&self, h: &Handle, filter: &Filter, caller: &Caller) -> Result<Resolution, NodeError> {
        self.check_responsible(h)?;
        let record =
            self.load(h)?.ok_or_else(|| NodeError::new(ErrorCode::HandleNotFound, format!("handle {h} not found")))?;
        let mut may_read_private: Option<bool> = None;
        let mut values = Vec::with_capacity(record.values.len());
        for v in record.values {
            if !filter.matches(&v) {
                continue;
            }
            if !v.perms.public_read() {
                if filter.public_only || !v.perms.admin_read() {
                    continue;
                }
                let allowed = match (may_read_private, caller) {
                    (Some(a), _) => a,
                    (None, Caller::Anonymous) => false,
                    (None, Caller::Identity(id)) => {
                        // Authorized reads need the read-value bit on the handle or a prefix handle above it.
                        let a = self.authorize_read(id, h)?;
                        may_read_private = Some(a);
                        a
                    }
                };
                if !allowed {
                    continue;
                }
            }
            values.push(v);
        }
        let matched = !(values.is_empty() && filter.is_selective());
        Ok(Resolution { stored_handle: record.handle, values, matched })
    }

    fn authorize_read(&self, id: &super::Identity, h: &Handle) -> Result<bool, NodeError> {
        let existing = self.load(h)?.map(|r| r.values).unwrap_or_default();
        match self.authorize(id, h, &existing, perm::READ_VALUE) {
            Ok(()) => Ok(true),
            Err(e) if e.code == ErrorCode::Forbidden => Ok(false),
            Err(e) => Err(e),
        }
    }
}
