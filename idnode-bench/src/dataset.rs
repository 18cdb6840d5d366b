//! The benchmark data set: millions of realistic ceramic product identifiers, generated deterministically so a
//! load generator can name any of them (and names that do not exist) without reading the store.
//!
//! Identifier `i` of a set of `enterprises` enterprises is `<node>.<1 + i % enterprises>/JDZ-<year>-<serial>`,
//! its record a full product record of the ceramics template (about 1 KiB: URL, `HS_ADMIN`, template pointer
//! and 19 attributes, much of it Chinese text). Misses use the suffix `MISS-<n>`.

use idnode::demo;
use idnode::store::{Batch, Store, StoreError};

/// Puts per write batch while loading.
const LOAD_BATCH: usize = 5_000;

/// The shape of a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSpec {
    /// Number of identifiers.
    pub count: u64,
    /// Enterprise prefixes they are spread over.
    pub enterprises: u64,
    /// The node prefix (`88.798`).
    pub node_prefix: String,
}

impl DatasetSpec {
    /// `count` identifiers over `enterprises` enterprises of node `88.798`.
    pub fn new(count: u64, enterprises: u64) -> Self {
        Self { count, enterprises: enterprises.max(1), node_prefix: "88.798".into() }
    }

    /// The enterprise prefix of identifier `i`.
    pub fn prefix(&self, i: u64) -> String {
        format!("{}.{}", self.node_prefix, 1 + i % self.enterprises)
    }

    /// Identifier `i` (any `i`: those at or past `count` do not exist in a loaded set).
    pub fn handle(&self, i: u64) -> String {
        let serial = i / self.enterprises;
        format!("{}/JDZ-{}-{serial:08}", self.prefix(i), 2020 + serial % 6)
    }

    /// An identifier under a real prefix that does not exist.
    pub fn missing(&self, n: u64) -> String {
        format!("{}/MISS-{n:08}", self.prefix(n))
    }

    /// Writes identifiers `from..to` into `store`; `progress` is called with the count written so far.
    pub fn load(
        &self,
        store: &dyn Store,
        from: u64,
        to: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, StoreError> {
        let mut batch = Batch::new();
        let mut written = 0;
        for i in from..to.min(self.count) {
            let text = self.handle(i);
            let prefix = self.prefix(i);
            let values = demo::product_record(i, (i % self.enterprises) as usize, &prefix, &text);
            idnode::records::put_created(&mut batch, &text, &values);
            written += 1;
            if batch.ops.len() >= LOAD_BATCH {
                store.write(std::mem::take(&mut batch))?;
                progress(written);
            }
        }
        store.write(batch)?;
        progress(written);
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idnode::id::{Handle, SuffixCase};
    use idnode::store::MemoryStore;

    #[test]
    fn names_are_valid_distinct_and_loaded() {
        let spec = DatasetSpec::new(1000, 7);
        let names: std::collections::HashSet<String> = (0..1000).map(|i| spec.handle(i)).collect();
        assert_eq!(names.len(), 1000);
        assert_eq!(spec.handle(0), "88.798.1/JDZ-2020-00000000");
        assert_eq!(spec.handle(8), "88.798.2/JDZ-2021-00000001");
        let store = MemoryStore::new();
        assert_eq!(spec.load(&store, 0, 2000, &mut |_| {}).unwrap(), 1000);
        let key = Handle::parse(&spec.handle(999), SuffixCase::Sensitive).unwrap();
        let rec = idnode::records::get(&store, &key).unwrap().unwrap();
        assert!(rec.unwrap().values.len() > 20);
        let miss = Handle::parse(&spec.missing(3), SuffixCase::Sensitive).unwrap();
        assert!(!idnode::records::exists(&store, &miss).unwrap());
    }
}
