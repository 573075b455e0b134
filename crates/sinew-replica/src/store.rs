//! Where a replica keeps its objects.

use std::collections::HashMap;

use bytes::Bytes;

use crate::version::Siblings;

/// A replica's storage: one [`Siblings`] object per key. The replica merges before it puts,
/// so a store only keeps what it is given. Implement it over your own engine (an LSM tree, a
/// database table); [`MemoryStore`] is the in-memory one.
pub trait Store {
    /// The object stored under `key`.
    fn get(&self, key: &[u8]) -> Option<Siblings>;
    /// Stores `object` under `key`, replacing what was there.
    fn put(&mut self, key: Bytes, object: Siblings);
    /// The number of keys.
    fn len(&self) -> usize;
    /// Whether the store holds no key.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Calls `f` on every key and object, in no particular order (anti-entropy scans ranges of
    /// keys this way, as Cassandra's validation compaction does).
    fn scan(&self, f: &mut dyn FnMut(&Bytes, &Siblings));
}

/// A [`Store`] in a `HashMap`.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    map: HashMap<Bytes, Siblings>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The object under `key`, borrowed.
    pub fn object(&self, key: &[u8]) -> Option<&Siblings> {
        self.map.get(key)
    }

    /// Every key and object, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Siblings)> + '_ {
        self.map.iter()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Option<Siblings> {
        self.map.get(key).cloned()
    }

    fn put(&mut self, key: Bytes, object: Siblings) {
        self.map.insert(key, object);
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn scan(&self, f: &mut dyn FnMut(&Bytes, &Siblings)) {
        for (k, v) in &self.map {
            f(k, v);
        }
    }
}
