//! A filter of more than 2^32 bits: index math is 64-bit end to end.
//!
//! The filter is 2^32 + 2^31 bits (768 MiB). `vec![0; n]` gets zeroed pages from the OS
//! lazily, so only the pages the few inserts touch are ever resident: the test is light on
//! memory and runs in well under a second.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use sinew_bloom::BloomFilter;

#[test]
fn a_filter_of_more_than_2_pow_32_bits_uses_the_bits_above_2_pow_32() {
    let bits = (1u64 << 32) + (1u64 << 31);
    let mut f = BloomFilter::with_num_bits(bits, 3).unwrap();
    assert_eq!(f.bits(), bits);

    // The hash u64::MAX puts its first probe at the very last bit, 2^32 + 2^31 - 1: a 32-bit
    // index would have wrapped it below 2^32.
    assert!(f.insert_hash(u64::MAX));
    assert!(f.contains_hash(u64::MAX));
    assert_eq!(*f.as_words().last().unwrap() >> 63, 1);

    // A third of all probes land above 2^32; each must be found again.
    let keys: Vec<u64> = (0..300).collect();
    for k in &keys {
        f.insert(k);
    }
    assert!(keys.iter().all(|k| f.contains(k)));
    let high_words = &f.as_words()[1 << 26..];
    let high_bits: u32 = high_words.iter().map(|w| w.count_ones()).sum();
    assert!(high_bits > 200, "only {high_bits} bits above 2^32");
    // Absent keys: with ~900 of 6.4e9 bits set, a false positive has odds near 1e-20.
    assert!((1_000..1_100u64).all(|k| !f.contains(&k)));
}
