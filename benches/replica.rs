//! The cost of sinew-replica's version vectors beside rust-crdt's (`crdts`) `VClock`.
//!
//! Run with `cargo bench -p sinew-benches --bench replica`.
//!
//! Every benchmark is `BenchmarkId::new(implementation, configuration)`: `"sinew"` or
//! `"crdts"`, and `"default"` for the obvious constructor and call, else what differs.
//!
//! # Inputs
//!
//! 5-node clusters: vectors over the actors 1..=5 (node ids) with counters of a busy key
//! (uniform in 1 000..100 000), 256 pairs `(a, b)` made before timing from `splitmix64` and
//! walked in order. `b` is `a` with each counter moved by up to ±3, arranged so that a third
//! of the pairs are equal, a third have `b` ahead (`b` descends `a`), and a third are
//! concurrent: replicas of one key are mostly in step or a few writes apart.
//!
//! # Groups
//!
//! - `replica_vv_merge_5`: `a.merge(b)` (pointwise max). `default`: `b` has the same 5 actors
//!   as `a` (the steady state); `one new actor`: `b` has a 6th actor that `a` lacks (sinew
//!   then rebuilds its vector, the allocating path). Both sides run under `iter_batched`: the
//!   inputs are cloned before timing and the results dropped after, so the figure is the merge
//!   alone.
//! - `replica_vv_compare_5`: `default` is `a.partial_cmp(&b)` (equal / less / greater /
//!   concurrent); `descends` is sinew's `a.descends(&b)` against `a >= b` for crdts (its way
//!   to ask the same question, through `partial_cmp`).
//!
//! # Configuration
//!
//! - sinew: `VersionVector` (a `Vec` of `(actor, counter)` sorted by actor; `u64` actors),
//!   built with `witness`; `merge(&b)` borrows.
//! - crdts 7.3: `VClock<u64>` (a `BTreeMap<u64, u64>`), built with `apply(Dot::new(..))`, its
//!   documented way; `CvRDT::merge(b)` takes `b` by value (its only merge), so its row
//!   includes consuming `b`. Default features off (they add quickcheck, num and merkle
//!   support, not used by `VClock`).

// Benches may panic on setup failure; that is a failed run, not a bug to handle.
#![allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]

use std::hint::black_box;

use crdts::{CmRDT, CvRDT, VClock};
use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main,
};
use sinew_hash::splitmix64;
use sinew_replica::version::{Dot, VersionVector};

const ACTORS: u64 = 5;
const PAIRS: usize = 256;

/// A vector's `(actor, counter)` entries.
type Counters = Vec<(u64, u64)>;

/// The `(a, b)` counters of pair `i` (see the module docs), over actors 1..=5, plus a 6th
/// actor in `b` when `new_actor`.
fn pair(i: usize, new_actor: bool) -> (Counters, Counters) {
    let mut seed = splitmix64(i as u64);
    let mut next = || {
        seed = splitmix64(seed);
        seed
    };
    let a: Counters = (1..=ACTORS)
        .map(|id| (id, 1_000 + next() % 99_000))
        .collect();
    let mut b = a.clone();
    let delta = |r: u64| 1 + r % 3;
    match i % 3 {
        0 => {}
        1 => {
            // b ahead: one or two actors moved forward.
            for _ in 0..1 + next() % 2 {
                let k = (next() % ACTORS) as usize;
                b[k].1 += delta(next());
            }
        }
        _ => {
            // Concurrent: one actor ahead in each.
            let k = (next() % ACTORS) as usize;
            let l = (k + 1 + (next() % (ACTORS - 1)) as usize) % ACTORS as usize;
            b[k].1 += delta(next());
            b[l].1 -= delta(next());
        }
    }
    if new_actor {
        b.push((ACTORS + 1, 1 + next() % 100));
    }
    (a, b)
}

fn sinew_vv(entries: &[(u64, u64)]) -> VersionVector {
    let mut v = VersionVector::new();
    for &(actor, counter) in entries {
        v.witness(Dot::new(actor, counter));
    }
    v
}

fn crdts_vv(entries: &[(u64, u64)]) -> VClock<u64> {
    let mut v = VClock::new();
    for &(actor, counter) in entries {
        v.apply(crdts::Dot::new(actor, counter));
    }
    v
}

struct Inputs {
    sinew: Vec<(VersionVector, VersionVector)>,
    crdts: Vec<(VClock<u64>, VClock<u64>)>,
}

fn inputs(new_actor: bool) -> Inputs {
    let pairs: Vec<_> = (0..PAIRS).map(|i| pair(i, new_actor)).collect();
    let inputs = Inputs {
        sinew: pairs
            .iter()
            .map(|(a, b)| (sinew_vv(a), sinew_vv(b)))
            .collect(),
        crdts: pairs
            .iter()
            .map(|(a, b)| (crdts_vv(a), crdts_vv(b)))
            .collect(),
    };
    // The two sides see the same orders.
    for ((sa, sb), (ca, cb)) in inputs.sinew.iter().zip(&inputs.crdts) {
        assert_eq!(sa.partial_cmp(sb), ca.partial_cmp(cb));
    }
    inputs
}

fn vv_merge_5(c: &mut Criterion) {
    let mut group = c.benchmark_group("replica_vv_merge_5");
    for (config, new_actor) in [("default", false), ("one new actor", true)] {
        let inputs = inputs(new_actor);
        let mut i = 0;
        group.bench_function(BenchmarkId::new("sinew", config), |bench| {
            bench.iter_batched(
                || {
                    i = (i + 1) % PAIRS;
                    (inputs.sinew[i].0.clone(), &inputs.sinew[i].1)
                },
                |(mut a, b)| {
                    a.merge(black_box(b));
                    a
                },
                BatchSize::SmallInput,
            );
        });
        let mut i = 0;
        group.bench_function(BenchmarkId::new("crdts", config), |bench| {
            bench.iter_batched(
                || {
                    i = (i + 1) % PAIRS;
                    inputs.crdts[i].clone()
                },
                |(mut a, b)| {
                    a.merge(black_box(b));
                    a
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

/// Benchmarks `f` on the pairs, one pair per iteration, in order.
fn bench_pairs<T, R>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    pairs: &[(T, T)],
    f: impl Fn(&T, &T) -> R,
) {
    let mut i = 0;
    group.bench_function(id, |bench| {
        bench.iter(|| {
            i = (i + 1) % pairs.len();
            let (a, b) = &pairs[i];
            f(black_box(a), black_box(b))
        });
    });
}

fn vv_compare_5(c: &mut Criterion) {
    let mut group = c.benchmark_group("replica_vv_compare_5");
    let inputs = inputs(false);
    let (sinew, crdts) = (&inputs.sinew, &inputs.crdts);
    bench_pairs(
        &mut group,
        BenchmarkId::new("sinew", "default"),
        sinew,
        |a, b| a.partial_cmp(b),
    );
    bench_pairs(
        &mut group,
        BenchmarkId::new("crdts", "default"),
        crdts,
        |a, b| a.partial_cmp(b),
    );
    bench_pairs(
        &mut group,
        BenchmarkId::new("sinew", "descends"),
        sinew,
        |a, b| a.descends(b),
    );
    bench_pairs(
        &mut group,
        BenchmarkId::new("crdts", "descends"),
        crdts,
        |a, b| a >= b,
    );
    group.finish();
}

criterion_group!(benches, vv_merge_5, vv_compare_5);
criterion_main!(benches);
