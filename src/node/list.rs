//! Listing handles under a prefix (paged or streamed) and the prefixes this node homes.

use super::{Caller, Node};
use crate::error::{ErrorCode, NodeError};
use crate::id::{Handle, NA_PREFIX, Prefix};
use crate::record::admin::perm;
use crate::records;
use crate::store::Visit;

/// Which part of a listing to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Every handle.
    All,
    /// Page `page` (zero-based) of `size` handles; `size == 0` returns only the count.
    Page {
        /// Zero-based page number.
        page: u64,
        /// Handles per page.
        size: u64,
    },
}

impl Node {
    /// Checks that `caller` is a node administrator: holds the list-handles permission on the prefix handle of
    /// the node's first configured prefix (`0.NA/88.798`) or above. The audit log is theirs to read.
    pub fn authorize_node_admin(&self, caller: &Caller) -> Result<(), NodeError> {
        let id = caller.require()?;
        let prefix = self.settings.prefixes.first().cloned();
        let name = prefix.as_ref().map(|p| format!("0.NA/{p}")).unwrap_or_default();
        if self.chain_grants(id, prefix, perm::LIST_HANDLES)? {
            Ok(())
        } else {
            Err(NodeError::new(ErrorCode::Forbidden, format!("{id} is not an administrator of {name}")))
        }
    }

    /// Checks that `caller` may list the handles under `prefix`.
    pub fn authorize_list(&self, caller: &Caller, prefix: &Prefix) -> Result<(), NodeError> {
        let id = caller.require()?;
        if !self.homes(prefix) {
            return Err(NodeError::new(
                ErrorCode::NotResponsible,
                format!("this node is not responsible for prefix {prefix}"),
            ));
        }
        if self.chain_grants(id, Some(prefix.clone()), perm::LIST_HANDLES)? {
            Ok(())
        } else {
            Err(NodeError::new(
                ErrorCode::Forbidden,
                format!("{id} lacks the list_handles permission on 0.NA/{prefix}"),
            ))
        }
    }

    /// Visits the handles (as created) under `prefix` that fall in `page`, and returns the total count. Call
    /// [`Node::authorize_list`] first. `emit` returns false to abandon the listing (client gone).
    pub fn list_handles(
        &self,
        prefix: &Prefix,
        page: Page,
        emit: &mut dyn FnMut(&str) -> bool,
    ) -> Result<u64, NodeError> {
        let (skip, take) = match page {
            Page::All => (0, u64::MAX),
            Page::Page { page, size } => (page.saturating_mul(size), size),
        };
        let mut seen = 0u64;
        let mut alive = true;
        let mut bad = 0u64;
        records::scan_prefix(self.store().as_ref(), prefix, &mut |handle| {
            if alive && seen >= skip && seen - skip < take {
                match handle {
                    Ok(h) => alive = emit(h),
                    Err(_) => bad += 1,
                }
            }
            seen += 1;
            if alive { Visit::Continue } else { Visit::Stop }
        })?;
        if bad > 0 {
            tracing::error!(prefix = %prefix, bad, "listing skipped corrupt records");
        }
        Ok(seen)
    }

    /// The prefixes homed here: the configured ones and every allocated prefix (a `0.NA/X` handle) below them.
    pub fn homed_prefixes(&self, caller: &Caller) -> Result<Vec<String>, NodeError> {
        caller.require()?;
        let mut out: Vec<String> = self.configured_prefixes().iter().map(|p| p.to_string()).collect();
        for p in self.allocated_prefixes()? {
            if !out.contains(&p.to_string()) {
                out.push(p.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// The homed prefixes that have a prefix handle `0.NA/X` in the store.
    pub(crate) fn allocated_prefixes(&self) -> Result<Vec<Prefix>, NodeError> {
        let na = format!("{NA_PREFIX}/");
        let mut out = Vec::new();
        records::scan_keys(self.store().as_ref(), &na, &mut |k| {
            if let Ok(p) = Prefix::parse(&k[na.len()..])
                && self.homes(&p)
            {
                out.push(p);
            }
            Visit::Continue
        })?;
        Ok(out)
    }

    /// Whether a handle exists.
    pub fn exists(&self, h: &Handle) -> Result<bool, NodeError> {
        Ok(records::exists(self.store().as_ref(), h)?)
    }
}
