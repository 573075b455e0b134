//! Bloom filter insert and lookup: every sinew-bloom variant beside fastbloom, bloomfilter,
//! sbbf-rs-safe and xorf's BinaryFuse8, on the same keys.
//!
//! Run with `cargo bench -p sinew-benches --bench bloom`.
//!
//! # Groups
//!
//! For n = 1M and n = 10M keys, each filter sized for n at a 1% false-positive rate:
//!
//! - `insert_{n}`: one insert per iteration into a filter sized for n, cycling over the n
//!   keys (after the first pass they are re-inserts, which cost the same probes).
//! - `contains_hit_{n}`: one lookup of an inserted key per iteration, cycling over the n keys.
//! - `contains_miss_{n}`: one lookup of a key never inserted, cycling over n absent keys.
//!
//! Keys are `splitmix64(i)` (inserted: `i < n`, absent: `n <= i < 2n`), computed in the loop
//! (about 1 ns) rather than read from an 80 MB array, so the figure is the filter's work on a
//! random key plus that constant. Every iteration's key differs, so successive lookups hit
//! unrelated cache lines, as in real use.
//!
//! # Peers, configured fairly
//!
//! - fastbloom 0.17 (a classic filter: k probes across the whole array) with sinew's
//!   hasher, `Xxh3Builder` (so both hash the u64 the same way), sized by its own
//!   `with_false_pos(0.01).expected_items(n)`.
//! - bloomfilter 3 (classic; SipHash-1-3, its only hasher), `new_for_fp_rate(n, 0.01)`.
//! - sbbf-rs-safe 0.3 (Parquet split-block, SIMD), given the same number of bits per key as
//!   sinew's `SplitBlockBloomFilter` for n at 1% (Parquet's sizing, a power of two) and
//!   hashes from `Xxh3Builder` (it takes hashes, not items).
//! - xorf 0.12 `BinaryFuse8` (static: built once from all keys, no insert; about 9 bits per
//!   key, 0.4% false positives), on `Xxh3Builder` hashes of the keys: the speed reference
//!   for a filter that cannot grow.
//!
//! Every filter is checked in the setup, never in a timed loop: all inserted keys are found.

// Benches may panic on setup failure; that is a failed run, not a bug to handle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation
)]

use sinew_hash::splitmix64;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use sinew_bloom::{
    AtomicBloomFilter, BlockedBloomFilter, BloomFilter, CountingBloomFilter, ScalableBloomFilter,
    SplitBlockBloomFilter, Xxh3Builder,
};
use xorf::Filter as _;

const FPR: f64 = 0.01;

/// Cycles over `base..base + n`, yielding `splitmix64` of each.
struct Keys {
    base: u64,
    n: u64,
    i: u64,
}

impl Keys {
    fn new(base: u64, n: u64) -> Self {
        Keys { base, n, i: 0 }
    }

    #[inline(always)]
    fn next(&mut self) -> u64 {
        let k = splitmix64(self.base + self.i);
        self.i += 1;
        if self.i == self.n {
            self.i = 0;
        }
        k
    }
}

/// Bits per key of sinew's split-block filter at n and 1%, for sbbf-rs-safe's constructor.
fn sbbf_bits_per_key(n: usize) -> usize {
    let bits = SplitBlockBloomFilter::with_false_positive_rate(n, FPR)
        .unwrap()
        .bits();
    (bits as usize).div_ceil(n)
}

/// Every filter under test, filled with the n keys.
struct Filters {
    classic: BloomFilter,
    blocked: BlockedBloomFilter,
    split: SplitBlockBloomFilter,
    counting: CountingBloomFilter,
    scalable: ScalableBloomFilter,
    atomic: AtomicBloomFilter,
    fastbloom: fastbloom::BloomFilter<Xxh3Builder>,
    bloomfilter: bloomfilter::Bloom<u64>,
    sbbf: sbbf_rs_safe::Filter,
    fuse: xorf::BinaryFuse8,
}

fn empty(n: usize) -> Filters {
    Filters {
        classic: BloomFilter::with_false_positive_rate(n, FPR).unwrap(),
        blocked: BlockedBloomFilter::with_false_positive_rate(n, FPR).unwrap(),
        split: SplitBlockBloomFilter::with_false_positive_rate(n, FPR).unwrap(),
        counting: CountingBloomFilter::with_false_positive_rate(n, FPR).unwrap(),
        // Started at 1/100 of n, as a filter that did not know n would be.
        scalable: ScalableBloomFilter::with_false_positive_rate(n / 100, FPR).unwrap(),
        atomic: AtomicBloomFilter::with_false_positive_rate(n, FPR).unwrap(),
        fastbloom: fastbloom::BloomFilter::with_false_pos(FPR)
            .hasher(Xxh3Builder::default())
            .expected_items(n),
        bloomfilter: bloomfilter::Bloom::new_for_fp_rate_with_seed(n, FPR, &[7; 32]).unwrap(),
        sbbf: sbbf_rs_safe::Filter::new(sbbf_bits_per_key(n), n),
        fuse: xorf::BinaryFuse8::try_from(&[0u64][..]).unwrap(),
    }
}

fn filled(n: usize) -> Filters {
    let mut f = empty(n);
    let h = Xxh3Builder::default();
    let keys: Vec<u64> = (0..n as u64).map(splitmix64).collect();
    for k in &keys {
        f.classic.insert(k);
        f.blocked.insert(k);
        f.split.insert(k);
        f.counting.insert(k);
        f.scalable.insert(k);
        f.atomic.insert(k);
        f.fastbloom.insert(k);
        f.bloomfilter.set(k);
        f.sbbf.insert_hash(h.hash_one(k));
    }
    let hashes: Vec<u64> = keys.iter().map(|k| h.hash_one(k)).collect();
    f.fuse = xorf::BinaryFuse8::try_from(&hashes).unwrap();
    for k in &keys {
        assert!(f.classic.contains(k) && f.blocked.contains(k) && f.split.contains(k));
        assert!(f.counting.contains(k) && f.scalable.contains(k) && f.atomic.contains(k));
        assert!(f.fastbloom.contains(k) && f.bloomfilter.check(k));
        assert!(f.sbbf.contains_hash(h.hash_one(k)) && f.fuse.contains(&h.hash_one(k)));
    }
    f
}

/// Adds one lookup benchmark per filter to `g`, over keys from `base`.
fn lookups(g: &mut BenchmarkGroup<'_, WallTime>, f: &Filters, base: u64, n: u64) {
    let h = Xxh3Builder::default();
    macro_rules! lookup {
        ($name:expr, |$k:ident| $body:expr) => {
            g.bench_function($name, |b| {
                let mut keys = Keys::new(base, n);
                b.iter(|| {
                    let $k = keys.next();
                    black_box($body)
                })
            });
        };
    }
    lookup!("sinew BlockedBloomFilter", |k| f.blocked.contains(&k));
    lookup!("sinew BloomFilter", |k| f.classic.contains(&k));
    lookup!("sinew SplitBlockBloomFilter", |k| f.split.contains(&k));
    lookup!("sinew AtomicBloomFilter", |k| f.atomic.contains(&k));
    lookup!("sinew CountingBloomFilter", |k| f.counting.contains(&k));
    lookup!("sinew ScalableBloomFilter (7 stages)", |k| f
        .scalable
        .contains(&k));
    lookup!("fastbloom 0.17 (Xxh3Builder)", |k| f.fastbloom.contains(&k));
    lookup!("bloomfilter 3", |k| f.bloomfilter.check(&k));
    lookup!("sbbf-rs-safe 0.3 (Xxh3Builder)", |k| f
        .sbbf
        .contains_hash(h.hash_one(k)));
    lookup!("xorf BinaryFuse8 (Xxh3Builder)", |k| f
        .fuse
        .contains(&h.hash_one(k)));
}

fn inserts(g: &mut BenchmarkGroup<'_, WallTime>, n: usize) {
    let h = Xxh3Builder::default();
    let mut f = empty(n);
    macro_rules! insert {
        ($name:expr, |$k:ident| $body:expr) => {
            g.bench_function($name, |b| {
                let mut keys = Keys::new(0, n as u64);
                b.iter(|| {
                    let $k = keys.next();
                    black_box($body)
                })
            });
        };
    }
    insert!("sinew BlockedBloomFilter", |k| f.blocked.insert(&k));
    insert!("sinew BloomFilter", |k| f.classic.insert(&k));
    insert!("sinew SplitBlockBloomFilter", |k| f.split.insert(&k));
    insert!("sinew AtomicBloomFilter", |k| f.atomic.insert(&k));
    insert!("sinew CountingBloomFilter", |k| f.counting.insert(&k));
    insert!("sinew ScalableBloomFilter (from n/100)", |k| f
        .scalable
        .insert(&k));
    insert!("fastbloom 0.17 (Xxh3Builder)", |k| f.fastbloom.insert(&k));
    insert!("bloomfilter 3", |k| f.bloomfilter.check_and_set(&k));
    insert!("sbbf-rs-safe 0.3 (Xxh3Builder)", |k| f
        .sbbf
        .insert_hash(h.hash_one(k)));
}

fn bench(c: &mut Criterion) {
    for n in [1_000_000usize, 10_000_000] {
        let label = if n == 1_000_000 { "1M" } else { "10M" };
        {
            let mut g = c.benchmark_group(format!("insert_{label}"));
            inserts(&mut g, n);
            g.finish();
        }
        let f = filled(n);
        let mut g = c.benchmark_group(format!("contains_hit_{label}"));
        lookups(&mut g, &f, 0, n as u64);
        g.finish();
        let mut g = c.benchmark_group(format!("contains_miss_{label}"));
        lookups(&mut g, &f, n as u64, n as u64);
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
