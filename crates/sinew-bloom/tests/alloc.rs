//! Decoding never allocates more than the input justifies: a counting global allocator
//! records the peak of live heap bytes while each decoder runs, on valid inputs and on
//! headers that claim huge filters (with valid checksums, so every check behind the checksum
//! is reached). One test function, so no other test's allocations run alongside.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::hash::{BuildHasher, Hasher};

use sinew_testkit::CountingAllocator;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

use sinew_bloom::{
    AtomicBloomFilter, BlockedBloomFilter, BloomFilter, CountingBloomFilter, DecodeError,
    ScalableBloomFilter, SplitBlockBloomFilter, Xxh3Builder,
};

fn checksum(bytes: &[u8]) -> u64 {
    let mut h = Xxh3Builder::with_seed(0).build_hasher();
    h.write(bytes);
    h.finish()
}

/// A header for `variant` followed by `body`, with a valid checksum.
fn sealed(variant: u8, body: &[u8]) -> Vec<u8> {
    let mut b = b"SNWB".to_vec();
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&[variant, 0]);
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(body);
    let sum = checksum(&b);
    b.extend_from_slice(&sum.to_le_bytes());
    b
}

fn every_decoder(bytes: &[u8]) -> Vec<usize> {
    vec![
        CountingAllocator::peak_bytes_during(|| BloomFilter::from_bytes(bytes)),
        CountingAllocator::peak_bytes_during(|| BlockedBloomFilter::from_bytes(bytes)),
        CountingAllocator::peak_bytes_during(|| AtomicBloomFilter::from_bytes(bytes)),
        CountingAllocator::peak_bytes_during(|| SplitBlockBloomFilter::from_bytes(bytes)),
        CountingAllocator::peak_bytes_during(|| SplitBlockBloomFilter::from_bitset(bytes)),
        CountingAllocator::peak_bytes_during(|| CountingBloomFilter::from_bytes(bytes)),
        CountingAllocator::peak_bytes_during(|| ScalableBloomFilter::from_bytes(bytes)),
    ]
}

#[test]
fn decoders_allocate_no_more_than_the_input() {
    // Valid inputs: each decoder holds at most its input's size (plus a little).
    let n = 20_000;
    let mut classic = BloomFilter::with_false_positive_rate(n, 0.01).unwrap();
    let mut blocked = BlockedBloomFilter::with_false_positive_rate(n, 0.01).unwrap();
    let mut split = SplitBlockBloomFilter::with_false_positive_rate(n, 0.01).unwrap();
    let mut counting = CountingBloomFilter::with_false_positive_rate(n, 0.01).unwrap();
    let mut scalable = ScalableBloomFilter::with_false_positive_rate(n / 16, 0.01).unwrap();
    for i in 0..n as u64 {
        classic.insert(&i);
        blocked.insert(&i);
        split.insert(&i);
        counting.insert(&i);
        scalable.insert(&i);
    }
    let inputs = [
        classic.to_bytes(),
        blocked.to_bytes(),
        split.to_bytes(),
        split.bitset(),
        counting.to_bytes(),
        scalable.to_bytes(),
    ];
    for bytes in &inputs {
        for (i, peak) in every_decoder(bytes).into_iter().enumerate() {
            assert!(
                peak <= bytes.len() + 1024,
                "decoder {i}: peak {peak} bytes for a {}-byte input",
                bytes.len()
            );
        }
    }

    // Hostile headers: huge counts over a few bytes of input.
    let mut hostile = Vec::new();
    for count in [u64::MAX, 1 << 47, 1 << 40, u64::from(u32::MAX), 1 << 20] {
        let mut body = count.to_le_bytes().to_vec();
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(&[0xff; 64]);
        for variant in [1, 2, 4] {
            hostile.push(sealed(variant, &body));
        }
        hostile.push(sealed(3, &count.to_le_bytes()));
        // Scalable: valid parameters, then 64 stages each claiming `count` bits.
        let mut s = Vec::new();
        s.extend_from_slice(&0.01f64.to_bits().to_le_bytes());
        s.extend_from_slice(&0.5f64.to_bits().to_le_bytes());
        s.extend_from_slice(&2u32.to_le_bytes());
        s.extend_from_slice(&1u64.to_le_bytes());
        s.extend_from_slice(&64u32.to_le_bytes());
        s.extend_from_slice(&1u64.to_le_bytes());
        s.extend_from_slice(&0u64.to_le_bytes());
        s.extend_from_slice(&count.to_le_bytes());
        s.extend_from_slice(&3u32.to_le_bytes());
        hostile.push(sealed(5, &s));
    }
    for bytes in &hostile {
        for (i, peak) in every_decoder(bytes).into_iter().enumerate() {
            assert!(
                peak <= 1024,
                "decoder {i}: peak {peak} bytes for a hostile header"
            );
        }
        assert!(BloomFilter::from_bytes(bytes).is_err());
        assert!(ScalableBloomFilter::from_bytes(bytes).is_err());
    }

    // serde reads through `from_bytes` too, growing its buffer only as elements
    // arrive (never by the input's size hint).
    #[cfg(feature = "serde")]
    for bytes in inputs.iter().chain(&hostile) {
        let json = serde_json::to_string(bytes).unwrap();
        let peak = CountingAllocator::peak_bytes_during(|| {
            serde_json::from_str::<BlockedBloomFilter>(&json)
        });
        // The byte buffer grows by doubling (at most twice the bytes), then the filter.
        assert!(
            peak <= 3 * bytes.len() + 4096,
            "serde: peak {peak} for {}",
            bytes.len()
        );
    }
    assert_eq!(
        BloomFilter::from_bytes(&hostile[0]),
        Err(DecodeError::Invalid("size"))
    );
}
