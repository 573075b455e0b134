//! Every decoder of sinew-bloom on arbitrary bytes (`from_bytes` of each filter,
//! `SplitBlockBloomFilter::from_bitset`, and the serde impls through both the byte and the
//! sequence paths): no panic; whatever decodes re-encodes to exactly the same bytes, agrees
//! with the other paths, and survives every operation (lookups, estimates, inserts, merges).
//!
//! The first byte picks how the rest is used: bit 0 appends a valid checksum (XXH3-64, seed
//! 0), bit 1 prepends a valid header (magic, version 1, the variant in bits 2..5, flags 0),
//! so the fuzzer reaches the parameter and body checks behind them.
#![no_main]

use std::hash::{BuildHasher, Hasher};

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde::de::value::{BytesDeserializer, Error as DeError, SeqDeserializer};
use sinew_bloom::{
    AtomicBloomFilter, BlockedBloomFilter, BloomFilter, CountingBloomFilter, Filter,
    ScalableBloomFilter, SplitBlockBloomFilter, Xxh3Builder,
};

/// Runs every operation on a decoded filter; none may panic, and what it holds stays held.
fn exercise<F: Filter + Clone>(f: &F) {
    let _ = f.len_estimate();
    let rate = f.false_positive_rate();
    assert!((0.0..=1.0).contains(&rate), "rate {rate}");
    let _ = (
        f.bits(),
        f.hashes(),
        f.contains(&1u64),
        f.contains_hash(u64::MAX),
    );
    let mut g = f.clone();
    g.insert(&"fuzz");
    g.insert_hash(0);
    assert!(g.contains(&"fuzz") && g.contains_hash(0));
    let mut h = g.clone();
    h.union(&g).unwrap();
    h.intersect(&g).ok(); // scalable filters of several stages refuse, by design
    assert!(h.contains(&"fuzz"));
    let _ = h.len_estimate();
    h.clear();
}

/// Decodes `bytes` as `F` by `from_bytes` and by both serde paths; they must agree.
fn decode<F>(
    bytes: &[u8],
    from_bytes: fn(&[u8]) -> Result<F, sinew_bloom::DecodeError>,
) -> Option<F>
where
    F: Filter + Clone + for<'de> Deserialize<'de>,
{
    let direct = from_bytes(bytes).ok();
    let by_bytes = F::deserialize(BytesDeserializer::<DeError>::new(bytes)).ok();
    let by_seq = F::deserialize(SeqDeserializer::<_, DeError>::new(bytes.iter().copied())).ok();
    assert_eq!(direct.is_some(), by_bytes.is_some());
    assert_eq!(direct.is_some(), by_seq.is_some());
    if let Some(f) = &direct {
        exercise(f);
    }
    direct
}

fn check(bytes: &[u8]) {
    if let Some(f) = decode(bytes, BloomFilter::from_bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Some(f) = decode(bytes, BlockedBloomFilter::from_bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Some(f) = decode(bytes, AtomicBloomFilter::from_bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Some(f) = decode(bytes, SplitBlockBloomFilter::from_bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Some(f) = decode(bytes, CountingBloomFilter::from_bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Some(f) = decode(bytes, ScalableBloomFilter::from_bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Ok(f) = SplitBlockBloomFilter::from_bitset(bytes) {
        assert_eq!(f.bitset(), bytes);
        exercise(&f);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = Vec::with_capacity(rest.len() + 24);
    if mode & 2 != 0 {
        bytes.extend_from_slice(b"SNWB");
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.push((mode >> 2) % 6);
        bytes.push(0);
    }
    bytes.extend_from_slice(rest);
    if mode & 1 != 0 {
        let mut h = Xxh3Builder::with_seed(0).build_hasher();
        h.write(&bytes);
        let sum = h.finish();
        bytes.extend_from_slice(&sum.to_le_bytes());
    }
    check(&bytes);
});
