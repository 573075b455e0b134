//! Interop with Apache Parquet's split-block Bloom filter: a filter written by parquet-mr
//! (`tests/data/parquet-sbbf/bloom_filter.xxhash.bin`, from apache/parquet-testing, Apache-2.0,
//! license alongside) holds "hello", "parquet", "bloom" and "filter".
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use sinew_bloom::{DecodeError, SplitBlockBloomFilter};

const FILE: &[u8] = include_bytes!("data/parquet-sbbf/bloom_filter.xxhash.bin");
const WORDS: [&str; 4] = ["hello", "parquet", "bloom", "filter"];

/// Splits the file into its Thrift `BloomFilterHeader` and the bitset, checking the header's
/// `numBytes` (field 1, an i32 in the compact protocol: type byte 0x15, zigzag varint).
fn bitset() -> &'static [u8] {
    assert_eq!(FILE[0], 0x15, "field 1, i32");
    let (mut value, mut shift, mut at) = (0u64, 0, 1);
    loop {
        let b = FILE[at];
        value |= u64::from(b & 0x7f) << shift;
        shift += 7;
        at += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    let num_bytes = (value >> 1) as usize; // zigzag; the value is positive
    assert_eq!(num_bytes, 1024);
    &FILE[FILE.len() - num_bytes..]
}

#[test]
fn reads_the_parquet_mr_filter() {
    let f = SplitBlockBloomFilter::from_bitset(bitset()).unwrap();
    assert_eq!(f.bits(), 1024 * 8);
    for w in WORDS {
        assert!(f.contains_bytes(w.as_bytes()), "{w} missing");
    }
    let others = [
        "world",
        "arrow",
        "filters",
        "Hello",
        "",
        "hello ",
        "parquet-mr",
        "xxhash",
        "block",
        "split",
        "column",
        "row",
        "group",
        "page",
        "dictionary",
        "bloomfilter",
    ];
    for w in others {
        assert!(!f.contains_bytes(w.as_bytes()), "{w} present");
    }
}

#[test]
fn writes_the_same_bits_as_parquet_mr() {
    let mut f = SplitBlockBloomFilter::with_num_bits(1024 * 8, 8).unwrap();
    for w in WORDS {
        assert!(f.insert_bytes(w.as_bytes()));
    }
    assert_eq!(f.bitset(), bitset());
    // Round trip through our own format keeps the bits.
    let g = SplitBlockBloomFilter::from_bytes(&f.to_bytes()).unwrap();
    assert_eq!(g.bitset(), bitset());
}

#[test]
fn hash_is_xxhash64_seed_0() {
    // xxHash64 of the empty input with seed 0 (the reference implementation's test vector).
    assert_eq!(
        SplitBlockBloomFilter::hash_bytes(b""),
        0xef46_db37_51d8_e999
    );
    let f = SplitBlockBloomFilter::from_bitset(bitset()).unwrap();
    assert!(f.contains_hash(SplitBlockBloomFilter::hash_bytes(b"bloom")));
}

#[test]
fn bad_bitsets_are_errors() {
    for len in [0usize, 1, 31, 33, 1000] {
        assert!(matches!(
            SplitBlockBloomFilter::from_bitset(&vec![0; len]),
            Err(DecodeError::Invalid(_))
        ));
    }
}
