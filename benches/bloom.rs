//! Bloom filter insert and lookup: every sinew-bloom variant beside fastbloom, bloomfilter,
//! sbbf-rs-safe and xorf's BinaryFuse8, on the same keys.
//!
//! Run with `cargo bench -p sinew-benches --bench bloom`.
//!
//! # Groups
//!
//! For n = 1M and n = 10M keys, each filter sized for n at a 1% false-positive rate:
//!
//! - `bloom_insert_{n}`: one insert per iteration into a filter sized for n, walking the hit
//!   keys below (after the first pass they are re-inserts, which cost the same probes).
//! - `bloom_contains_hit_{n}`: one lookup of an inserted key per iteration.
//! - `bloom_contains_miss_{n}`: one lookup of a key never inserted per iteration.
//!
//! Keys are cold: two arrays of `splitmix64` values, made before timing and walked in order
//! by every implementation alike (a load and an index step per iteration): the hit keys
//! `splitmix64(i)` for `i < min(n, 2^20)` (all inserted), the miss keys `splitmix64(n + i)`
//! (none inserted). That is 1,000,000 or more distinct random keys per group, so successive
//! lookups read unrelated cache lines of a filter larger than L2 (about 1.2 MB at n = 1M,
//! 12 MB at 10M), as in real use.
//!
//! # Rows
//!
//! `BenchmarkId::new(implementation, configuration)`. `("sinew", "default")` is
//! `BlockedBloomFilter::with_false_positive_rate(n, 0.01)` and its `contains`, the filter the
//! crate recommends for speed; the other sinew filters are named in the configuration.
//! `("sinew", "contains_many")` is the same blocked filter answering through
//! `contains_many` (batched; its time is per key, so it compares with the other rows).
//!
//! # Peers, configured fairly
//!
//! - `("fastbloom", "default")`: fastbloom 0.17 exactly as its builder makes it,
//!   `BloomFilter::with_false_pos(0.01).expected_items(n)`, with its default hasher (seeded
//!   SipHash-1-3): the like-for-like headline against sinew's default.
//! - `("fastbloom", "Xxh3Builder")`: fastbloom 0.17 as its builder makes it,
//!   `BloomFilter::with_false_pos(0.01).expected_items(n)` (a classic filter: k probes
//!   across the whole array, a lookup stopping at the first unset bit), with sinew's hasher
//!   `Xxh3Builder` in place of its default SipHash-1-3, so both hash each key with the same
//!   function and the rows compare the filters, not the hashers.
//! - `("bloomfilter", "default")`: bloomfilter 3 (classic; SipHash-1-3, its only hasher),
//!   `new_for_fp_rate(n, 0.01)`.
//! - `("sbbf-rs-safe", "Xxh3Builder")`: sbbf-rs-safe 0.3 (Parquet split-block, SIMD), given
//!   the bits per key of sinew's `SplitBlockBloomFilter` for n at 1% (Parquet's sizing, a
//!   power of two) and hashes from `Xxh3Builder` (it takes hashes, not items).
//! - `("xorf BinaryFuse8", "Xxh3Builder")`: xorf 0.12 `BinaryFuse8` (static: built once from
//!   all keys, no insert; about 9 bits per key, 0.4% false positives), on `Xxh3Builder`
//!   hashes of the keys: the speed reference for a filter that cannot grow.
//!
//! Every filter is checked in the setup, never in a timed loop: all inserted keys are found.

// Benches may panic on setup failure; that is a failed run, not a bug to handle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::indexing_slicing
)]

use sinew_hash::splitmix64;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use sinew_bloom::{
    AtomicBloomFilter, BlockedBloomFilter, BloomFilter, CountingBloomFilter, ScalableBloomFilter,
    SplitBlockBloomFilter, Xxh3Builder,
};
use xorf::Filter as _;

const FPR: f64 = 0.01;

/// Distinct keys walked per group at most: 2^20, over 1,000,000 and cold at either n.
const WALK: u64 = 1 << 20;

/// `splitmix64(base + i)` for `i < min(n, WALK)`: the hit keys (base 0, all inserted) or the
/// miss keys (base n, none inserted).
fn keys(base: u64, n: u64) -> Vec<u64> {
    (base..base + n.min(WALK)).map(splitmix64).collect()
}

/// Walks a key array in order and wraps: the same load and index step for every row.
struct Walk<'a> {
    keys: &'a [u64],
    i: usize,
}

impl<'a> Walk<'a> {
    fn new(keys: &'a [u64]) -> Self {
        Walk { keys, i: 0 }
    }

    #[inline(always)]
    fn next(&mut self) -> u64 {
        let k = self.keys[self.i];
        self.i += 1;
        if self.i == self.keys.len() {
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
    fastbloom_default: fastbloom::BloomFilter,
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
        fastbloom_default: fastbloom::BloomFilter::with_false_pos(FPR).expected_items(n),
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
        f.fastbloom_default.insert(k);
        f.bloomfilter.set(k);
        f.sbbf.insert_hash(h.hash_one(k));
    }
    let hashes: Vec<u64> = keys.iter().map(|k| h.hash_one(k)).collect();
    f.fuse = xorf::BinaryFuse8::try_from(&hashes).unwrap();
    for k in &keys {
        assert!(f.classic.contains(k) && f.blocked.contains(k) && f.split.contains(k));
        assert!(f.counting.contains(k) && f.scalable.contains(k) && f.atomic.contains(k));
        assert!(f.fastbloom.contains(k) && f.fastbloom_default.contains(k));
        assert!(f.bloomfilter.check(k));
        assert!(f.sbbf.contains_hash(h.hash_one(k)) && f.fuse.contains(&h.hash_one(k)));
    }
    f
}

/// One benchmark per row: `$body` on each key of `$keys` in turn.
macro_rules! per_key {
    ($g:expr, $keys:expr, $imp:expr, $conf:expr, |$k:ident| $body:expr) => {
        $g.bench_function(BenchmarkId::new($imp, $conf), |b| {
            let mut walk = Walk::new($keys);
            b.iter(|| {
                let $k = walk.next();
                black_box($body)
            })
        });
    };
}

/// Adds one lookup benchmark per filter to `g`, over `keys`.
fn lookups(g: &mut BenchmarkGroup<'_, WallTime>, f: &Filters, keys: &[u64]) {
    let h = Xxh3Builder::default();
    per_key!(g, keys, "sinew", "default", |k| f.blocked.contains(&k));
    // The batched form, timed per key: each sample answers `iters` keys in order.
    g.bench_function(BenchmarkId::new("sinew", "contains_many"), |b| {
        let mut at = 0;
        b.iter_custom(|iters| {
            let start = Instant::now();
            let mut left = usize::try_from(iters).unwrap();
            while left > 0 {
                let take = left.min(keys.len() - at);
                for hit in f.blocked.contains_many(&keys[at..at + take]) {
                    black_box(hit);
                }
                at = (at + take) % keys.len();
                left -= take;
            }
            start.elapsed()
        });
    });
    per_key!(g, keys, "sinew", "BloomFilter", |k| f.classic.contains(&k));
    per_key!(g, keys, "sinew", "SplitBlockBloomFilter", |k| f
        .split
        .contains(&k));
    per_key!(g, keys, "sinew", "AtomicBloomFilter", |k| f
        .atomic
        .contains(&k));
    per_key!(g, keys, "sinew", "CountingBloomFilter", |k| f
        .counting
        .contains(&k));
    per_key!(g, keys, "sinew", "ScalableBloomFilter, 7 stages", |k| f
        .scalable
        .contains(&k));
    per_key!(g, keys, "fastbloom", "Xxh3Builder", |k| f
        .fastbloom
        .contains(&k));
    per_key!(g, keys, "fastbloom", "default", |k| f
        .fastbloom_default
        .contains(&k));
    per_key!(g, keys, "bloomfilter", "default", |k| f
        .bloomfilter
        .check(&k));
    per_key!(g, keys, "sbbf-rs-safe", "Xxh3Builder", |k| f
        .sbbf
        .contains_hash(h.hash_one(k)));
    per_key!(g, keys, "xorf BinaryFuse8", "Xxh3Builder", |k| f
        .fuse
        .contains(&h.hash_one(k)));
}

fn inserts(g: &mut BenchmarkGroup<'_, WallTime>, n: usize, keys: &[u64]) {
    let h = Xxh3Builder::default();
    let mut f = empty(n);
    per_key!(g, keys, "sinew", "default", |k| f.blocked.insert(&k));
    per_key!(g, keys, "sinew", "BloomFilter", |k| f.classic.insert(&k));
    per_key!(g, keys, "sinew", "SplitBlockBloomFilter", |k| f
        .split
        .insert(&k));
    per_key!(g, keys, "sinew", "AtomicBloomFilter", |k| f
        .atomic
        .insert(&k));
    per_key!(g, keys, "sinew", "CountingBloomFilter", |k| f
        .counting
        .insert(&k));
    per_key!(g, keys, "sinew", "ScalableBloomFilter, from n/100", |k| f
        .scalable
        .insert(&k));
    per_key!(g, keys, "fastbloom", "Xxh3Builder", |k| f
        .fastbloom
        .insert(&k));
    per_key!(g, keys, "fastbloom", "default", |k| f
        .fastbloom_default
        .insert(&k));
    per_key!(g, keys, "bloomfilter", "default", |k| f
        .bloomfilter
        .check_and_set(&k));
    per_key!(g, keys, "sbbf-rs-safe", "Xxh3Builder", |k| f
        .sbbf
        .insert_hash(h.hash_one(k)));
}

fn bench(c: &mut Criterion) {
    for n in [1_000_000usize, 10_000_000] {
        let label = if n == 1_000_000 { "1M" } else { "10M" };
        let hits = keys(0, n as u64);
        let misses = keys(n as u64, n as u64);
        {
            let mut g = c.benchmark_group(format!("bloom_insert_{label}"));
            inserts(&mut g, n, &hits);
            g.finish();
        }
        let f = filled(n);
        let mut g = c.benchmark_group(format!("bloom_contains_hit_{label}"));
        lookups(&mut g, &f, &hits);
        g.finish();
        let mut g = c.benchmark_group(format!("bloom_contains_miss_{label}"));
        lookups(&mut g, &f, &misses);
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
