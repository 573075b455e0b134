//! The serialized format: golden files freeze version 1, round trips are exact, and bad
//! input is an error (never a panic).
//!
//! The golden files under `tests/golden/v1/` were written by this crate's first version.
//! Every later version must read them and answer the same; the test also rebuilds each filter
//! from scratch and requires the same bytes, which freezes the hashing (seeded XXH3, the
//! probe layout) as well as the container. To regenerate after a deliberate format change
//! (a new version number, never an edit of v1): `SINEW_BLESS=1 cargo test -p sinew-bloom --test format`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use sinew_bloom::{
    AtomicBloomFilter, BlockedBloomFilter, BloomFilter, CountingBloomFilter, DecodeError,
    ScalableBloomFilter, SplitBlockBloomFilter, Xxh3Builder,
};

const SEED: u64 = 0x5eed;

fn items() -> Vec<String> {
    (0..40).map(|i| format!("item-{i}")).collect()
}

fn absent() -> Vec<String> {
    (0..40).map(|i| format!("absent-{i}")).collect()
}

/// Compares `bytes` with the golden file `name`, or writes it when blessing.
fn golden(name: &str, bytes: &[u8]) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/v1")
        .join(name);
    if std::env::var_os("SINEW_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    let stored = std::fs::read(&path).unwrap();
    assert_eq!(stored, bytes, "{name}: the format or the hashing changed");
    stored
}

fn classic() -> BloomFilter {
    let mut f =
        BloomFilter::with_num_bits_and_hasher(1000, 5, Xxh3Builder::with_seed(SEED)).unwrap();
    for i in items() {
        f.insert(&i);
    }
    f
}

fn blocked() -> BlockedBloomFilter {
    let mut f =
        BlockedBloomFilter::with_num_bits_and_hasher(2048, 11, Xxh3Builder::with_seed(SEED))
            .unwrap();
    for i in items() {
        f.insert(&i);
    }
    f
}

fn split_block() -> SplitBlockBloomFilter {
    let mut f = SplitBlockBloomFilter::with_num_bits(1024, 8).unwrap();
    for i in items() {
        f.insert_bytes(i.as_bytes());
    }
    f
}

fn counting() -> CountingBloomFilter {
    let mut f = CountingBloomFilter::with_num_bits_and_hasher(500, 4, Xxh3Builder::with_seed(SEED))
        .unwrap();
    for i in items() {
        f.insert(&i);
    }
    f.insert(&"twice");
    f.insert(&"twice");
    f
}

fn scalable() -> ScalableBloomFilter {
    let mut f =
        ScalableBloomFilter::with_growth(10, 0.01, 0.5, 2, Xxh3Builder::with_seed(SEED)).unwrap();
    for i in items() {
        f.insert(&i);
    }
    f
}

fn check<F>(
    name: &str,
    built: Vec<u8>,
    decode: impl Fn(&[u8]) -> Result<F, DecodeError>,
    contains: impl Fn(&F, &str) -> bool,
    encode: impl Fn(&F) -> Vec<u8>,
) {
    let stored = golden(name, &built);
    let f = decode(&stored).unwrap();
    for i in items() {
        assert!(contains(&f, &i), "{name}: {i} missing");
    }
    let false_hits = absent().iter().filter(|a| contains(&f, a)).count();
    assert!(false_hits < 10, "{name}: {false_hits} false hits of 40");
    assert_eq!(encode(&f), stored, "{name}: re-encoding differs");
}

#[test]
fn golden_classic() {
    check(
        "classic.bin",
        classic().to_bytes(),
        BloomFilter::from_bytes,
        |f, i| f.contains(i),
        BloomFilter::to_bytes,
    );
}

#[test]
fn golden_blocked() {
    check(
        "blocked.bin",
        blocked().to_bytes(),
        BlockedBloomFilter::from_bytes,
        |f, i| f.contains(i),
        BlockedBloomFilter::to_bytes,
    );
    // The atomic filter reads and writes the same form.
    check(
        "blocked.bin",
        blocked().to_bytes(),
        AtomicBloomFilter::from_bytes,
        |f, i| f.contains(i),
        AtomicBloomFilter::to_bytes,
    );
}

#[test]
fn golden_split_block() {
    check(
        "split_block.bin",
        split_block().to_bytes(),
        SplitBlockBloomFilter::from_bytes,
        |f, i| f.contains_bytes(i.as_bytes()),
        SplitBlockBloomFilter::to_bytes,
    );
}

#[test]
fn golden_counting() {
    check(
        "counting.bin",
        counting().to_bytes(),
        CountingBloomFilter::from_bytes,
        |f, i| f.contains(i),
        CountingBloomFilter::to_bytes,
    );
    let f = CountingBloomFilter::from_bytes(&counting().to_bytes()).unwrap();
    assert!(f.count(&"twice") >= 2);
}

#[test]
fn golden_scalable() {
    let f = scalable();
    assert!(
        f.stages() >= 3,
        "the golden file should hold several stages"
    );
    // Later stages are sized when they are added, by the sizing of the version that adds
    // them, which may improve; so only the stored bytes (not a fresh build) are compared.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/v1/scalable.bin");
    let bytes = if std::env::var_os("SINEW_BLESS").is_some() {
        f.to_bytes()
    } else {
        std::fs::read(path).unwrap()
    };
    check(
        "scalable.bin",
        bytes,
        ScalableBloomFilter::from_bytes,
        |f, i| f.contains(i),
        ScalableBloomFilter::to_bytes,
    );
}

#[test]
fn header_layout_is_as_documented() {
    let bytes = classic().to_bytes();
    assert_eq!(&bytes[..4], b"SNWB");
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 1);
    assert_eq!(bytes[6], 1); // classic
    assert_eq!(bytes[7], 0);
    assert_eq!(u64::from_le_bytes(bytes[8..16].try_into().unwrap()), SEED);
    assert_eq!(u64::from_le_bytes(bytes[16..24].try_into().unwrap()), 1000);
    assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 5);
    assert_eq!(bytes.len(), 16 + 12 + 16 * 8 + 8);
}

#[test]
fn every_truncation_and_every_bit_flip_is_an_error() {
    for bytes in [
        classic().to_bytes(),
        blocked().to_bytes(),
        split_block().to_bytes(),
        counting().to_bytes(),
        scalable().to_bytes(),
    ] {
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            assert!(BloomFilter::from_bytes(cut).is_err());
            assert!(BlockedBloomFilter::from_bytes(cut).is_err());
            assert!(SplitBlockBloomFilter::from_bytes(cut).is_err());
            assert!(CountingBloomFilter::from_bytes(cut).is_err());
            assert!(ScalableBloomFilter::from_bytes(cut).is_err());
        }
        // Any single flipped bit is caught (by the checksum, or by the header checks).
        for at in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(BloomFilter::from_bytes(&bad).is_err());
            assert!(ScalableBloomFilter::from_bytes(&bad).is_err());
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(BloomFilter::from_bytes(&long).is_err());
    }
}

#[test]
fn specific_errors() {
    let bytes = classic().to_bytes();
    assert_eq!(
        BloomFilter::from_bytes(b"NOPE and more bytes here"),
        Err(DecodeError::Magic)
    );
    assert_eq!(
        BloomFilter::from_bytes(b"SNWB"),
        Err(DecodeError::Truncated)
    );
    assert_eq!(
        BlockedBloomFilter::from_bytes(&bytes),
        Err(DecodeError::Variant {
            expected: 2,
            found: 1
        })
    );
    let mut v2 = bytes.clone();
    v2[4] = 2;
    assert_eq!(BloomFilter::from_bytes(&v2), Err(DecodeError::Version(2)));
    let mut corrupt = bytes.clone();
    let last_word = corrupt.len() - 9;
    corrupt[last_word] ^= 1;
    assert_eq!(
        BloomFilter::from_bytes(&corrupt),
        Err(DecodeError::Checksum)
    );
}

/// A header that claims a huge filter over a short input must fail before allocating.
#[test]
fn huge_claims_fail_without_allocating() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"SNWB");
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.push(1);
    bytes.push(0);
    bytes.extend_from_slice(&0u64.to_le_bytes());
    bytes.extend_from_slice(&(1u64 << 47).to_le_bytes()); // 16 TiB of bits
    bytes.extend_from_slice(&3u32.to_le_bytes());
    let sum = twox_checksum(&bytes);
    bytes.extend_from_slice(&sum.to_le_bytes());
    assert_eq!(BloomFilter::from_bytes(&bytes), Err(DecodeError::Truncated));
}

fn twox_checksum(bytes: &[u8]) -> u64 {
    // The format's checksum is XXH3-64 with seed 0; Xxh3Builder hashes raw bytes the same way.
    use std::hash::{BuildHasher, Hasher};
    let mut h = Xxh3Builder::with_seed(0).build_hasher();
    h.write(bytes);
    h.finish()
}

/// `bytes` with its checksum recomputed, so a test can edit a field and reach the checks
/// behind the checksum.
fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
    let body = bytes.len() - 8;
    let sum = twox_checksum(&bytes[..body]);
    bytes[body..].copy_from_slice(&sum.to_le_bytes());
    bytes
}

/// Offset of stage `i`'s (capacity, items) header in a scalable encoding whose earlier
/// stages' words are `words_before` words in all.
fn stage_at(words_before: usize, i: usize) -> usize {
    16 + 32 + i * 28 + words_before * 8
}

#[test]
fn scalable_item_counts_and_capacities_are_checked() {
    let f = scalable();
    let bytes = f.to_bytes();
    let put = |b: &mut Vec<u8>, at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    let stage0 = stage_at(0, 0);
    let bits0 = u64::from_le_bytes(bytes[stage0 + 16..stage0 + 24].try_into().unwrap());
    let stage1 = stage_at(usize::try_from(bits0.div_ceil(64)).unwrap(), 1);
    assert_eq!(
        u64::from_le_bytes(bytes[stage1..stage1 + 8].try_into().unwrap()),
        20,
        "stage 1 holds 20 items"
    );

    // Capacities follow initial · growth^i.
    let mut cap = bytes.clone();
    put(&mut cap, stage1, 21);
    assert_eq!(
        ScalableBloomFilter::from_bytes(&resealed(cap)),
        Err(DecodeError::Invalid("stage capacity"))
    );

    // A stage may hold more items than its capacity (the newest, when no larger stage could
    // be built; an older one, if building the next failed for a while): huge counts in two
    // stages must not overflow anything.
    let mut huge = bytes.clone();
    let last = f.stages() - 1;
    let mut at = stage0;
    for _ in 0..last {
        let bits = u64::from_le_bytes(huge[at + 16..at + 24].try_into().unwrap());
        at += 28 + usize::try_from(bits.div_ceil(64)).unwrap() * 8;
    }
    put(&mut huge, stage0 + 8, u64::MAX);
    put(&mut huge, at + 8, u64::MAX);
    let mut g = ScalableBloomFilter::from_bytes(&resealed(huge)).unwrap();
    assert_eq!(g.len_estimate(), u64::MAX);
    assert!(g.insert("something new"));
    assert_eq!(g.len_estimate(), u64::MAX);
    let mut h = g.clone();
    h.union(&g).unwrap();
    assert_eq!(h.len_estimate(), u64::MAX);
}
