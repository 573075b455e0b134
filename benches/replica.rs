//! The cost of sinew-replica's version vectors beside rust-crdt's (`crdts`) `VClock`, and of
//! its coordinator handling a quorum read or write end to end.
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
//! - `replica_quorum_read`, `replica_quorum_write`: one operation handled end to end by a
//!   `Coordinator` on a 5-node `HashRing`, n = 3, r = w = 2 (`Options::QUORUM`): start it,
//!   take its messages, feed it the three replies (three `GetReply`; or the leader's
//!   `PutReply` and two `Ack`s), collect its completion. `default` is `Policy::Dvv`, `Lww`
//!   last-writer-wins. Keys are cold: the next of 2^20 distinct keys each iteration. The
//!   replies (what a decoder would hand over: objects with 5-actor contexts) are built just
//!   before each operation, outside the timed section (`BatchSize::PerIteration`), as a
//!   decoder hands them over; built in bulk ahead of time they are cold in the cache, and the
//!   same operation then measured 1.3-1.4 µs, mostly cache misses on the replies and on
//!   freeing them. No peer: no Rust crate offers this as a library.
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

use bytes::Bytes;
use crdts::{CmRDT, CvRDT, VClock};
use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main,
};
use sinew_clock::{HlcTimestamp, HybridClock, ManualClock};
use sinew_hash::splitmix64;
use sinew_replica::version::{Dot, VersionVector};
use sinew_replica::{Coordinator, Message, Options, Policy, Siblings};
use sinew_ring::HashRing;

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

/// A reply object: one sibling of a busy key whose context names the 5 nodes.
fn reply_object() -> Siblings {
    let context: VersionVector = (1..=ACTORS)
        .map(|actor| Dot {
            actor,
            counter: 1_000 + actor,
        })
        .collect();
    let mut o = Siblings::new();
    o.write(
        3,
        &context,
        HlcTimestamp::from_u64(1 << 40),
        Bytes::from_static(b"value"),
    );
    o
}

const NOW: std::time::Duration = std::time::Duration::from_secs(1_700_000_000);

/// Answers every message the coordinator sends (three replies) and collects its completion.
fn drive(c: &mut Coordinator<u64, ManualClock>, mut replies: Vec<Siblings>) -> usize {
    let mut handled = 0;
    while let Some(t) = c.poll_transmit() {
        let reply = match t.message {
            Message::Get { op, .. } => Message::GetReply {
                op,
                object: replies.pop().unwrap_or_default(),
            },
            Message::Put { op, .. } => Message::PutReply {
                op,
                dot: Dot {
                    actor: 3,
                    counter: 1_004,
                },
                object: replies.pop().unwrap_or_default(),
            },
            Message::Replicate { op, .. } => Message::Ack { op },
            _ => continue,
        };
        c.handle_reply(t.to, reply, NOW);
        handled += 1;
    }
    while c.poll_event().is_some() {
        handled += 1;
    }
    handled
}

fn quorum_ops(cr: &mut Criterion) {
    const KEYS: usize = 1 << 20;
    let ring: HashRing<u64> = (0..5).collect();
    let keys: Vec<Bytes> = (0..KEYS as u64)
        .map(|i| Bytes::from(format!("user:{:016x}", splitmix64(i))))
        .collect();
    let value = Bytes::from_static(b"value");
    for (group, read) in [
        ("replica_quorum_read", true),
        ("replica_quorum_write", false),
    ] {
        let mut g = cr.benchmark_group(group);
        for (config, policy) in [("default", Policy::Dvv), ("Lww", Policy::Lww)] {
            let mut c = Coordinator::new(0u64, 1, policy, HybridClock::new(ManualClock::new(NOW)));
            let mut i = 0usize;
            g.bench_function(BenchmarkId::new("sinew", config), |b| {
                b.iter_batched(
                    || vec![reply_object(), reply_object(), reply_object()],
                    |replies| {
                        i = (i + 1) % KEYS;
                        let key = keys[i].clone();
                        let started = if read {
                            c.get(key, &ring, |_| true, Options::QUORUM, NOW)
                        } else {
                            c.put(
                                key,
                                value.clone(),
                                VersionVector::new(),
                                &ring,
                                |_| true,
                                Options::QUORUM,
                                NOW,
                            )
                        };
                        black_box(started.is_ok());
                        drive(&mut c, replies)
                    },
                    BatchSize::PerIteration,
                );
            });
        }
        g.finish();
    }
}

criterion_group!(benches, vv_merge_5, vv_compare_5, quorum_ops);
criterion_main!(benches);
