//! Publishing this node's `HS_SITE` on the prefix handles it homes, so that a hierarchy above it can refer
//! clients here.

use super::{Caller, Registrar, now};
use crate::audit::Action;
use crate::error::NodeError;
use crate::id::Handle;
use crate::record::{HandleValue, types};

/// Index of the published `HS_SITE` value (the Handle.Net convention), when free.
const SITE_INDEX: u32 = 1;

impl Registrar<'_> {
    /// Sets `site` (binary `HS_SITE` data) on every homed prefix handle that exists; returns how many changed.
    pub fn publish_site(&self, site: &[u8]) -> Result<usize, NodeError> {
        let handles: Vec<Handle> =
            self.records.allocated_prefixes(self.homing)?.iter().map(Handle::prefix_handle).collect();
        let mut changed = 0;
        for h in handles {
            let _guard = self.records.lock(&h);
            let Some(mut rec) = self.records.load(&h)? else { continue };
            let old = rec.values.clone();
            match rec.values.iter_mut().find(|v| v.is(types::HS_SITE)) {
                Some(v) if v.data == site => continue,
                Some(v) => {
                    v.data = site.to_vec();
                    v.timestamp = now();
                }
                None => {
                    let index =
                        (SITE_INDEX..).find(|i| !rec.values.iter().any(|v| v.index == *i)).unwrap_or(SITE_INDEX);
                    rec.values.push(HandleValue::new(index, types::HS_SITE, site.to_vec(), now()));
                    rec.values.sort_by_key(|v| v.index);
                }
            }
            self.journal.commit(
                self.records,
                &Caller::anonymous(),
                Action::PublishSite,
                &h,
                &rec.handle,
                Some(&old),
                Some(&rec.values),
            )?;
            changed += 1;
        }
        Ok(changed)
    }
}
