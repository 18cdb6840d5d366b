//! An in-memory [`Store`] for tests: a `BTreeMap` per space behind one lock.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use super::{Batch, Space, Store, StoreError, Visit, Write, decode_counter};

/// Entries of every space, keyed by (space, key).
type Entries = BTreeMap<(Space, Vec<u8>), Vec<u8>>;

/// A volatile store. Batches are atomic because one write lock covers them.
#[derive(Debug, Default)]
pub struct MemoryStore {
    spaces: RwLock<Entries>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Engine("memory store lock poisoned".into())
}

impl Store for MemoryStore {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.spaces.read().map_err(poisoned)?.get(&(space, key.to_vec())).cloned())
    }

    fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let mut m = self.spaces.write().map_err(poisoned)?;
        for op in batch.ops {
            match op.write {
                Write::Put(v) => {
                    m.insert((op.space, op.key), v);
                }
                Write::Delete => {
                    m.remove(&(op.space, op.key));
                }
                Write::Add(d) => {
                    let slot = m.entry((op.space, op.key)).or_default();
                    *slot = decode_counter(slot).wrapping_add(d).to_le_bytes().to_vec();
                }
            }
        }
        Ok(())
    }

    fn scan(
        &self,
        space: Space,
        prefix: &[u8],
        after: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Visit,
    ) -> Result<(), StoreError> {
        let m = self.spaces.read().map_err(poisoned)?;
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded((space, a.to_vec())),
            _ => Bound::Included((space, prefix.to_vec())),
        };
        for ((s, k), v) in m.range((start, Bound::Unbounded)) {
            if *s != space || !k.starts_with(prefix) {
                break;
            }
            if visit(k, v) == Visit::Stop {
                break;
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
