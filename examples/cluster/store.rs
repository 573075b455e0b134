//! A node's storage: sinew-replica's `MemoryStore` behind a sinew-bloom filter of the keys
//! it holds, so a read for a key the node never stored is answered "definitely not here"
//! without touching the map (a Bloom filter in front of each SSTable does the same in
//! Cassandra).

use std::cell::Cell;

use bytes::Bytes;
use sinew::bloom::BlockedBloomFilter;
use sinew::replica::{MemoryStore, Siblings, Store};

pub(crate) struct BloomStore {
    objects: MemoryStore,
    filter: BlockedBloomFilter,
    /// Reads the filter answered alone. A `Cell` because `Store::get` takes `&self`; the
    /// store lives in one task.
    saved: Cell<u64>,
}

impl BloomStore {
    /// A store for about `expected_keys` keys, the filter at a 1% false-positive rate.
    pub(crate) fn new(expected_keys: usize) -> Result<Self, sinew::bloom::ConfigError> {
        Ok(Self {
            objects: MemoryStore::new(),
            filter: BlockedBloomFilter::with_false_positive_rate(expected_keys.max(1), 0.01)?,
            saved: Cell::new(0),
        })
    }

    /// Reads answered by the filter alone.
    pub(crate) fn saved(&self) -> u64 {
        self.saved.get()
    }
}

impl Store for BloomStore {
    fn get(&self, key: &[u8]) -> Option<Siblings> {
        if !self.filter.contains(key) {
            self.saved.set(self.saved.get() + 1);
            return None;
        }
        self.objects.get(key)
    }

    fn put(&mut self, key: Bytes, object: Siblings) {
        self.filter.insert(&key[..]);
        self.objects.put(key, object);
    }

    fn len(&self) -> usize {
        self.objects.len()
    }

    fn scan(&self, f: &mut dyn FnMut(&Bytes, &Siblings)) {
        self.objects.scan(f);
    }
}
