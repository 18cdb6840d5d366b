//! Listing handles under a prefix (paged or streamed) and the prefixes this node homes.

use super::Records;
use crate::error::NodeError;
use crate::id::Prefix;
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

impl Records {
    /// Visits the handles (as created) under `prefix` that fall in `page`, and returns the total count. Call
    /// [`super::Node::authorize_list`] first. `emit` returns false to abandon the listing (client gone).
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
        static LINE: crate::log::Sparse = crate::log::Sparse::new();
        if bad > 0
            && let Some(unlogged) = LINE.due()
        {
            tracing::error!(prefix = %prefix, bad, unlogged, "listing skipped corrupt records");
        }
        Ok(seen)
    }
}
