//! Every decoder of sinew-bloom on arbitrary bytes: no panic, and whatever decodes re-encodes
//! to exactly the same bytes. Half the inputs get a valid checksum appended, so the fuzzer
//! reaches the header and body checks behind it.
#![no_main]

use std::hash::{BuildHasher, Hasher};

use libfuzzer_sys::fuzz_target;
use sinew_bloom::{
    AtomicBloomFilter, BlockedBloomFilter, BloomFilter, CountingBloomFilter, ScalableBloomFilter,
    SplitBlockBloomFilter, Xxh3Builder,
};

fn check(bytes: &[u8]) {
    if let Ok(f) = BloomFilter::from_bytes(bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Ok(f) = BlockedBloomFilter::from_bytes(bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Ok(f) = AtomicBloomFilter::from_bytes(bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Ok(f) = SplitBlockBloomFilter::from_bytes(bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Ok(f) = CountingBloomFilter::from_bytes(bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Ok(f) = ScalableBloomFilter::from_bytes(bytes) {
        assert_eq!(f.to_bytes(), bytes);
    }
    if let Ok(f) = SplitBlockBloomFilter::from_bitset(bytes) {
        assert_eq!(f.bitset(), bytes);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        check(rest);
    } else {
        // Append the format's checksum (XXH3-64, seed 0, of everything before it).
        let mut h = Xxh3Builder::with_seed(0).build_hasher();
        h.write(rest);
        let mut bytes = rest.to_vec();
        bytes.extend_from_slice(&h.finish().to_le_bytes());
        check(&bytes);
    }
});
