//! Behaviour of every router: known values, balance, minimal disruption, order independence,
//! replicas, weights, bounded loads, migration plans and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly
#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation
)] // the issue asks to print measured values

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use sinew_ring::hash::{KEY_SEED, MAGLEV_OFFSET_SEED, MAGLEV_SKIP_SEED, point_hash, sample_hash};
use sinew_ring::{
    BoundedLoad, ConfigError, ConsistentHash, HashRing, Jump, Maglev, MembershipError, Rendezvous,
    Snapshot, jump_hash, key_hash, key_hash_bytes, moved_fraction, node_id,
};
use twox_hash::XxHash3_64;

/// Published jump-hash values (the vectors shared by the Go, C and Elixir ports of the paper's
/// code), including a bucket count above `i32::MAX` and the all-ones key.
#[test]
fn jump_hash_known_values() {
    let vectors: [(u64, u32, u32); 15] = [
        (0, 1, 0),
        (3, 1, 0),
        (0, 2, 0),
        (4, 2, 1),
        (7, 2, 0),
        (1, 1, 0),
        (42, 57, 43),
        (1, 128, 55),
        (129, 128, 120),
        (256, 1024, 520),
        (0xDEAD_10CC, 1, 0),
        (0xDEAD_10CC, 666, 361),
        (128, 100_000_000, 38_172_097),
        (128, 2_147_483_648, 1_644_467_860),
        (u64::MAX, 128, 92),
    ];
    for (key, buckets, expected) in vectors {
        assert_eq!(
            jump_hash(key, buckets),
            expected,
            "jump_hash({key}, {buckets})"
        );
    }
    assert_eq!(jump_hash(12345, 0), 0, "zero buckets is defined as 0");
}

/// The paper's C code transliterated (signed 64-bit and double, as written), compared over many
/// keys and bucket counts.
#[test]
fn jump_hash_matches_the_paper_code() {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    fn paper(mut key: u64, num_buckets: i32) -> i32 {
        let (mut b, mut j): (i64, i64) = (-1, 0);
        while j < i64::from(num_buckets) {
            b = j;
            key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
            j = ((b + 1) as f64 * ((1i64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
        }
        b as i32
    }
    for i in 0..20_000u64 {
        let key = sample_hash(i);
        let buckets = (sample_hash(i ^ 0xabc) % 5000) as i32 + 1;
        assert_eq!(
            i64::from(jump_hash(key, buckets as u32)),
            i64::from(paper(key, buckets))
        );
    }
}

#[test]
fn jump_hash_moves_keys_only_to_the_new_bucket() {
    for i in 0..10_000u64 {
        let key = sample_hash(i);
        for n in [1u32, 2, 7, 100] {
            let (a, b) = (jump_hash(key, n), jump_hash(key, n + 1));
            assert!(a == b || b == n, "key {key}: {a} -> {b} at {n}");
        }
    }
}

/// Peak/mean load over 1M sample keys.
fn peak_over_mean<R: ConsistentHash>(r: &R) -> f64 {
    const KEYS: u64 = 1_000_000;
    let mut counts = vec![0u64; r.len()];
    for i in 0..KEYS {
        counts[r.route_index(sample_hash(i)).unwrap()] += 1;
    }
    let peak = *counts.iter().max().unwrap() as f64;
    peak / (KEYS as f64 / r.len() as f64)
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("node-{i}")).collect()
}

/// Margins: with 1M keys over 100 nodes each node expects 10 000 keys, so sampling alone adds
/// a standard deviation of 1 % and a peak over 100 nodes of about +2.5 σ ≈ 2.5 %. Jump and
/// Maglev split the hash space evenly (Maglev to ±1 slot of 655), so 1.05 leaves about 4 σ.
/// The ring's share per node has relative standard deviation ≈ 1/√160 ≈ 7.9 %, so its peak
/// over 100 nodes is ≈ 1 + 2.5 × 0.079 ≈ 1.2 — the 1.25 bound.
fn hundred_nodes<R: FromIterator<String>>() -> R {
    names(100).into_iter().collect()
}

#[test]
fn ring_balance_over_a_million_keys() {
    let ring: HashRing<String> = hundred_nodes();
    assert_eq!(ring.points(), 16_000);
    let r = peak_over_mean(&ring);
    println!("peak/mean over 1M keys, 100 nodes: ring (160 vnodes) {r:.4}");
    assert!(r <= 1.25, "ring {r}");
}

#[test]
fn jump_balance_over_a_million_keys() {
    let j = peak_over_mean(&hundred_nodes::<Jump<String>>());
    println!("peak/mean over 1M keys, 100 nodes: jump {j:.4}");
    assert!(j <= 1.05, "jump {j}");
}

#[test]
fn maglev_balance_over_a_million_keys() {
    let m = peak_over_mean(&hundred_nodes::<Maglev<String>>());
    println!("peak/mean over 1M keys, 100 nodes: maglev {m:.4}");
    assert!(m <= 1.05, "maglev {m}");
}

/// Rendezvous is O(n) a key, so it gets 200 000 keys over 50 nodes (4 000 a node, σ ≈ 1.6 %,
/// peak ≈ +2.5 σ ≈ 4 %; 1.08 leaves 5 σ).
#[test]
fn rendezvous_balance() {
    let r: Rendezvous<String> = names(50).into_iter().collect();
    let mut counts = vec![0u64; 50];
    for i in 0..200_000 {
        counts[r.route_index(sample_hash(i)).unwrap()] += 1;
    }
    let peak = *counts.iter().max().unwrap() as f64 / 4000.0;
    println!("rendezvous peak/mean, 50 nodes, 200k keys: {peak:.4}");
    assert!(peak <= 1.08, "{peak}");
}

/// Checks adding `new` to `before` moves about 1/(n+1) of keys and only to `new`, and that
/// removing it again restores every key.
fn check_minimal_disruption<R>(before: &R, after: &R, new: &String, expected: f64)
where
    R: ConsistentHash<Node = String>,
{
    let samples = 200_000u64;
    let mut moved = 0u64;
    for i in 0..samples {
        let h = sample_hash(i);
        let (a, b) = (before.route_hash(h).unwrap(), after.route_hash(h).unwrap());
        if a != b {
            assert_eq!(b, new, "a moved key must move to the new node");
            moved += 1;
        }
    }
    let f = moved as f64 / samples as f64;
    // The new node's share has relative sd ≈ 1/√vnodes (ring) plus sampling noise; 35 % of
    // the expected share is > 4 sd for 160 vnodes.
    assert!(
        (f - expected).abs() < 0.35 * expected,
        "moved {f}, expected {expected}"
    );
}

#[test]
fn adding_a_node_moves_only_its_share_to_it() {
    let nodes = names(20);
    let new = "node-new".to_string();
    let ring: HashRing<String> = nodes.iter().cloned().collect();
    let mut ring2 = ring.clone();
    ring2.add(new.clone()).unwrap();
    check_minimal_disruption(&ring, &ring2, &new, 1.0 / 21.0);
    // Removing it again restores every key exactly.
    let mut ring3 = ring2.clone();
    assert!(ring3.remove(&new));
    assert_eq!(moved_fraction(&ring, &ring3, 50_000), 0.0);

    let r: Rendezvous<String> = nodes.iter().cloned().collect();
    let mut r2 = r.clone();
    r2.add(new.clone()).unwrap();
    check_minimal_disruption(&r, &r2, &new, 1.0 / 21.0);

    let j: Jump<String> = nodes.iter().cloned().collect();
    let mut j2 = j.clone();
    j2.add(new.clone());
    check_minimal_disruption(&j, &j2, &new, 1.0 / 21.0);
}

#[test]
fn removing_a_node_moves_only_its_keys() {
    let nodes = names(20);
    let gone = nodes[7].clone();
    let ring: HashRing<String> = nodes.iter().cloned().collect();
    let mut after = ring.clone();
    assert!(after.remove(&gone));
    assert!(!after.remove(&gone));
    let r: Rendezvous<String> = nodes.iter().cloned().collect();
    let mut r_after = r.clone();
    assert!(r_after.remove(&gone));
    for i in 0..100_000 {
        let h = sample_hash(i);
        for (a, b) in [
            (ring.route_hash(h), after.route_hash(h)),
            (r.route_hash(h), r_after.route_hash(h)),
        ] {
            let (a, b) = (a.unwrap(), b.unwrap());
            if a != &gone {
                assert_eq!(a, b, "a key of a remaining node moved");
            } else {
                assert_ne!(b, &gone);
            }
        }
    }
    // Jump: popping the last bucket moves only its keys.
    let j: Jump<String> = nodes.iter().cloned().collect();
    let mut j2 = j.clone();
    let last = j2.pop().unwrap();
    for i in 0..100_000 {
        let h = sample_hash(i);
        let a = j.route_hash(h).unwrap();
        if a != &last {
            assert_eq!(Some(a), j2.route_hash(h));
        }
    }
}

/// Maglev is near-minimal: adding one node to 20 moves its 1/21 share plus a little.
#[test]
fn maglev_disruption_is_small() {
    let nodes = names(20);
    let m: Maglev<String> = nodes.iter().cloned().collect();
    let mut m2 = m.clone();
    m2.add("node-new".to_string()).unwrap();
    let f = moved_fraction(&m, &m2, 200_000);
    println!("maglev: adding a 21st node moved {f:.4} of keys (minimum 0.0476)");
    assert!(f > 0.04 && f < 0.1, "{f}");
    // Exactly, slot by slot (each slot is a fixed range of key hashes): the new node takes
    // ⌊M/21⌋ or ⌈M/21⌉ slots, and every other changed slot is churn among the old nodes.
    const M: u64 = 65_537;
    let first = |s: u64| ((u128::from(s) << 64).div_ceil(u128::from(M))) as u64;
    let (mut to_new, mut churn) = (0u64, 0u64);
    for s in 0..M {
        let (a, b) = (m.route_hash(first(s)), m2.route_hash(first(s)));
        if b == Some(&"node-new".to_string()) {
            to_new += 1;
        } else if a != b {
            churn += 1;
        }
    }
    println!("maglev: {to_new} slots to the new node, {churn} slots churned among the others");
    assert!(to_new == M / 21 || to_new == M / 21 + 1, "{to_new}");
    assert!(churn < M / 21, "churn {churn} above the new node's share");
    let exact = (to_new + churn) as f64 / M as f64;
    assert!(
        (exact - f).abs() < 0.005,
        "slot count {exact} vs sampled {f}"
    );
}

#[test]
fn placement_does_not_depend_on_insertion_order() {
    let nodes = names(30);
    let mut reversed = nodes.clone();
    reversed.reverse();
    let mut ring_a = HashRing::with_vnodes(40);
    for n in &nodes {
        ring_a
            .add_weighted(n.clone(), 1 + (n.len() as u32 % 3))
            .unwrap();
    }
    let mut ring_b = HashRing::with_vnodes(40);
    ring_b.add("temporary".to_string()).unwrap();
    for n in &reversed {
        ring_b
            .add_weighted(n.clone(), 1 + (n.len() as u32 % 3))
            .unwrap();
    }
    assert!(ring_b.remove(&"temporary".to_string()));
    let mut ring_c = HashRing::with_vnodes(40);
    assert!(
        ring_c
            .extend_weighted(
                reversed
                    .iter()
                    .map(|n| (n.clone(), 1 + (n.len() as u32 % 3)))
            )
            .is_empty()
    );

    let mag_a: Maglev<String> = nodes.iter().cloned().collect();
    let mut mag_b = Maglev::new();
    for n in &reversed {
        mag_b.add(n.clone()).unwrap();
    }
    let ren_a: Rendezvous<String> = nodes.iter().cloned().collect();
    let ren_b: Rendezvous<String> = reversed.iter().cloned().collect();

    for i in 0..20_000 {
        let h = sample_hash(i);
        assert_eq!(ring_a.route_hash(h), ring_b.route_hash(h));
        assert_eq!(ring_a.route_hash(h), ring_c.route_hash(h));
        assert!(ring_a.replicas_hash(h, 3).eq(ring_b.replicas_hash(h, 3)));
        assert_eq!(mag_a.route_hash(h), mag_b.route_hash(h));
        assert!(mag_a.replicas_hash(h, 3).eq(mag_b.replicas_hash(h, 3)));
        assert_eq!(ren_a.route_hash(h), ren_b.route_hash(h));
        assert!(ren_a.replicas_hash(h, 3).eq(ren_b.replicas_hash(h, 3)));
    }
}

/// Placement is pinned: these owners must never change between releases or platforms.
#[test]
fn placement_is_pinned() {
    let ring: HashRing<&str> = ["a", "b", "c", "d"].into_iter().collect();
    let jump: Jump<&str> = ["a", "b", "c", "d"].into_iter().collect();
    let maglev: Maglev<&str> = ["a", "b", "c", "d"].into_iter().collect();
    let ren: Rendezvous<&str> = ["a", "b", "c", "d"].into_iter().collect();
    let keys = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    let got: Vec<[&str; 4]> = keys
        .iter()
        .map(|k| {
            [
                *ring.route(k).unwrap(),
                *jump.route(k).unwrap(),
                *maglev.route(k).unwrap(),
                *ren.route(k).unwrap(),
            ]
        })
        .collect();
    let expected: Vec<[&str; 4]> = PINNED.to_vec();
    assert_eq!(got, expected);
}

/// Owners of the six keys under (ring, jump, maglev, rendezvous) with members a, b, c, d.
const PINNED: [[&str; 4]; 6] = [
    ["d", "c", "c", "c"],
    ["b", "b", "a", "c"],
    ["d", "d", "a", "a"],
    ["c", "b", "d", "b"],
    ["a", "d", "b", "a"],
    ["b", "d", "b", "d"],
];

fn check_replicas<R: ConsistentHash<Node = String>>(r: &R) {
    for i in 0..2_000 {
        let h = sample_hash(i);
        for n in [0, 1, 3, r.len(), r.len() + 5] {
            let reps: Vec<&String> = r.replicas_hash(h, n).collect();
            assert_eq!(reps.len(), n.min(r.len()));
            let distinct: HashSet<&String> = reps.iter().copied().collect();
            assert_eq!(distinct.len(), reps.len(), "replicas must be distinct");
            if n > 0 {
                assert_eq!(Some(reps[0]), r.route_hash(h));
            }
            // Stable: asking again gives the same, and a shorter list is a prefix.
            assert!(r.replicas_hash(h, n).eq(reps.iter().copied()));
            if reps.len() >= 2 {
                assert!(r.replicas_hash(h, 2).eq(reps.iter().copied().take(2)));
            }
        }
    }
}

#[test]
fn replicas_are_distinct_stable_and_start_with_the_owner() {
    let nodes = names(12);
    check_replicas(&nodes.iter().cloned().collect::<HashRing<String>>());
    check_replicas(&nodes.iter().cloned().collect::<Jump<String>>());
    check_replicas(&nodes.iter().cloned().collect::<Rendezvous<String>>());
    check_replicas(&nodes.iter().cloned().collect::<Maglev<String>>());
    let mut small = HashRing::with_vnodes(1);
    small.add("only".to_string()).unwrap();
    check_replicas(&small);
}

#[test]
fn empty_routers_route_nowhere() {
    let ring: HashRing<String> = HashRing::new();
    assert_eq!(ring.route("k"), None);
    assert_eq!(ring.replicas("k", 3).count(), 0);
    assert!(ring.is_empty());
    let j: Jump<String> = Jump::new();
    assert_eq!(j.route("k"), None);
    assert_eq!(j.replicas("k", 3).count(), 0);
    let r: Rendezvous<String> = Rendezvous::new();
    assert_eq!(r.route("k"), None);
    assert_eq!(r.replicas("k", 3).count(), 0);
    let m: Maglev<String> = Maglev::new();
    assert_eq!(m.route("k"), None);
    assert_eq!(m.replicas("k", 3).count(), 0);
    let lb = BoundedLoad::new(m, 1.25).unwrap();
    assert!(lb.acquire("k").is_none());
    assert_eq!(moved_fraction(&ring, &HashRing::<String>::new(), 100), 0.0);
    // Emptied by removal (its lookup index rebuilt for no points), not only never filled.
    let mut emptied = HashRing::new();
    emptied.add("a").unwrap();
    assert!(emptied.remove(&"a"));
    for h in [0, 1 << 63, u64::MAX] {
        assert_eq!(emptied.route_index(h), None);
        assert_eq!(emptied.route_hash(h), None);
        assert_eq!(emptied.replica_indices(h, 3).count(), 0);
    }
}

/// A node of weight 3 among 10 of weight 1 should own 3/13 of keys. The ring's share has
/// relative sd ≈ 1/√(3·160) ≈ 4.6 %; ±20 % is over 4 sd. Rendezvous is exact in expectation
/// (sampling sd ≈ 1 %).
#[test]
fn weights_are_proportional() {
    let mut ring = HashRing::new();
    let mut ren = Rendezvous::new();
    for i in 0..10 {
        ring.add(i).unwrap();
        ren.add(i).unwrap();
    }
    ring.add_weighted(99, 3).unwrap();
    ren.add_weighted(99, 3).unwrap();
    assert_eq!(ring.weight(&99), Some(3));
    assert_eq!(ring.points(), 13 * 160);
    let samples = 100_000;
    let share = |r: &dyn Fn(u64) -> Option<i32>| {
        (0..samples)
            .filter(|&i| r(sample_hash(i)) == Some(99))
            .count() as f64
            / samples as f64
    };
    let ring_share = share(&|h| ring.route_hash(h).copied());
    let ren_share = share(&|h| ren.route_hash(h).copied());
    println!("weight-3 share: ring {ring_share:.4}, rendezvous {ren_share:.4} (ideal 0.2308)");
    assert!(
        (ring_share / (3.0 / 13.0) - 1.0).abs() < 0.2,
        "{ring_share}"
    );
    assert!((ren_share / (3.0 / 13.0) - 1.0).abs() < 0.05, "{ren_share}");
    // Lowering the weight back removes only points: keys move only away from node 99.
    let mut ring1 = ring.clone();
    ring1.add(99).unwrap();
    assert_eq!(ring1.points(), 11 * 160);
    for i in 0..20_000 {
        let h = sample_hash(i);
        if ring.route_hash(h) != Some(&99) {
            assert_eq!(ring.route_hash(h), ring1.route_hash(h));
        }
    }
}

#[test]
fn bounded_load_never_exceeds_the_cap_and_never_refuses() {
    let ring: HashRing<String> = names(10).into_iter().collect();
    let lb = BoundedLoad::new(ring, 1.25).unwrap();
    let mut held = Vec::new();
    let mut removed = 0;
    for i in 0..5_000u64 {
        // A skewed workload: half the keys are the same hot key.
        let h = if i % 2 == 0 { 42 } else { sample_hash(i) };
        let m = lb.total() + 1;
        let idx = lb.acquire_index(h).expect("never refuses");
        let cap = lb.capacity(m);
        assert!(lb.load(idx) <= cap, "load {} over cap {cap}", lb.load(idx));
        held.push(idx);
        // Now and then release an old key.
        if i % 7 == 0 {
            let old = held.swap_remove((sample_hash(i) % held.len() as u64) as usize);
            assert!(lb.release(old));
            removed += 1;
        }
    }
    assert_eq!(lb.total(), 5_000 - removed);
    let sum: usize = lb.loads().map(|(_, l)| l).sum();
    assert_eq!(sum, lb.total());
    for idx in held {
        assert!(lb.release(idx));
    }
    assert_eq!(lb.total(), 0);
    assert!(!lb.release(0), "nothing to release");
    assert!(!lb.release(999), "out of range");
}

#[test]
fn bounded_load_with_acquires_only_stays_within_ceil_c_times_mean() {
    for factor in [1.0, 1.1, 1.25, 2.0] {
        let maglev: Maglev<String> = names(7).into_iter().collect();
        let lb = BoundedLoad::new(maglev, factor).unwrap();
        let guards: Vec<_> = (0..1000u32)
            .map(|i| lb.acquire(&(i % 3)).unwrap())
            .collect();
        let cap = (factor * 1000.0 / 7.0).ceil() as usize;
        for (node, load) in lb.loads() {
            assert!(load <= cap, "{node}: {load} > {cap} at c = {factor}");
        }
        assert!(guards[0].node().is_some());
        drop(guards);
        assert_eq!(lb.total(), 0);
    }
    for bad in [0.5, f64::NAN, f64::INFINITY, -1.0] {
        let r: Jump<u8> = [1].into_iter().collect();
        assert!(matches!(
            BoundedLoad::new(r, bad),
            Err(ConfigError::BadCapacityFactor { .. })
        ));
    }
}

#[test]
fn bounded_load_is_shared_between_threads() {
    let ring: HashRing<String> = names(8).into_iter().collect();
    let lb = BoundedLoad::new(ring, 1.25).unwrap();
    // Both threads hold all their keys at the barrier: 4000 placed, none over ⌈1.25 × 4000/8⌉.
    let barrier = std::sync::Barrier::new(3);
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (lb, barrier) = (&lb, &barrier);
            s.spawn(move || {
                let guards: Vec<_> = (0..2000u64)
                    // Half the keys are one hot key, so the threads contend for its node.
                    .map(|i| {
                        let h = if i % 2 == 0 {
                            7
                        } else {
                            sample_hash(i * 2 + t)
                        };
                        lb.acquire_hash(h).unwrap()
                    })
                    .collect();
                barrier.wait(); // all placed
                barrier.wait(); // checked
                drop(guards);
            });
        }
        barrier.wait();
        assert_eq!(lb.total(), 4000);
        let loads: Vec<usize> = lb.loads().map(|(_, l)| l).collect();
        assert_eq!(loads.iter().sum::<usize>(), 4000);
        assert!(
            loads.iter().all(|&l| l <= 625),
            "{loads:?} over ⌈1.25 × 500⌉"
        );
        // The hot key's 2000 copies cannot fit on one node: they spread.
        assert!(loads.iter().filter(|&&l| l > 0).count() >= 4, "{loads:?}");
        barrier.wait();
    });
    assert_eq!(lb.total(), 0);
    assert!(lb.loads().all(|(_, l)| l == 0));
}

#[test]
fn diff_lists_exactly_the_ranges_that_change_owner() {
    let mut old = HashRing::with_vnodes(50);
    for n in names(10) {
        old.add(n).unwrap();
    }
    let mut new = old.clone();
    new.add("node-new".to_string()).unwrap();
    assert!(new.remove(&"node-3".to_string()));
    new.add_weighted("node-5".to_string(), 2).unwrap();
    let moves = HashRing::diff(&old, &new);
    assert!(!moves.is_empty());
    // Sorted, disjoint, never wrapping.
    for w in moves.windows(2) {
        assert!(w[0].range.last < w[1].range.first);
    }
    for m in &moves {
        assert!(m.range.first <= m.range.last);
        assert_ne!(m.from, m.to);
        // Both ends of each range have the stated owners.
        for h in [m.range.first, m.range.last] {
            assert_eq!(old.route_hash(h), m.from);
            assert_eq!(new.route_hash(h), m.to);
        }
    }
    // Sampled keys: a key changes owner exactly when it lies in a listed range.
    for i in 0..100_000 {
        let h = sample_hash(i);
        let listed = moves.iter().find(|m| m.range.contains(h));
        match listed {
            Some(m) => {
                assert_eq!(old.route_hash(h), m.from);
                assert_eq!(new.route_hash(h), m.to);
            }
            None => assert_eq!(old.route_hash(h), new.route_hash(h)),
        }
    }
    // The fraction of the hash space listed matches the sampled moved fraction.
    let listed: f64 = moves.iter().map(|m| m.range.fraction()).sum();
    assert!(
        moves.iter().all(|m| !m.range.is_empty()
            && m.range.len() == u128::from(m.range.last - m.range.first) + 1)
    );
    let whole = sinew_ring::HashRange {
        first: 0,
        last: u64::MAX,
    };
    assert_eq!(whole.len(), 1u128 << 64);
    assert!((whole.fraction() - 1.0).abs() < 1e-12);
    let backwards = sinew_ring::HashRange { first: 5, last: 4 };
    assert!(backwards.is_empty() && backwards.fraction() == 0.0);
    assert_eq!(backwards.len(), 0);
    let sampled = moved_fraction(&old, &new, 100_000);
    assert!((listed - sampled).abs() < 0.01, "{listed} vs {sampled}");
    // No change, no moves; from an empty ring, everything "moves" from nobody.
    assert!(HashRing::diff(&old, &old).is_empty());
    let empty = HashRing::with_vnodes(50);
    let all = HashRing::diff(&empty, &old);
    assert!(all.iter().all(|m| m.from.is_none()));
    assert_eq!(all.first().unwrap().range.first, 0);
    assert_eq!(all.last().unwrap().range.last, u64::MAX);
}

/// A type whose `Hash` ignores its value, so every two values collide in identity.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Colliding(u32);
impl Hash for Colliding {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut ring = HashRing::new();
    assert_eq!(
        ring.add_weighted(Colliding(0), 0),
        Err(MembershipError::ZeroWeight)
    );
    ring.add(Colliding(1)).unwrap();
    let e = ring.add(Colliding(2)).unwrap_err();
    assert!(matches!(e, MembershipError::IdentityCollision { .. }));
    assert!(!e.to_string().is_empty());
    assert_eq!(ring.len(), 1);
    ring.add(Colliding(1)).unwrap(); // the same node again is fine
    assert!(!ring.remove(&Colliding(2)));
    assert!(ring.remove(&Colliding(1)));
    assert!(ring.is_empty());

    let mut big = HashRing::with_vnodes(u32::MAX);
    assert!(matches!(
        big.add("x"),
        Err(MembershipError::TooManyPoints { .. })
    ));
    assert!(big.is_empty());
    let refused = big.extend_weighted([("x", 1), ("y", 0)]);
    assert!(matches!(
        refused.as_slice(),
        [
            ("x", MembershipError::TooManyPoints { .. }),
            ("y", MembershipError::ZeroWeight)
        ]
    ));
    assert!(big.is_empty());

    let mut r = Rendezvous::new();
    r.add(Colliding(1)).unwrap();
    assert!(matches!(
        r.add(Colliding(2)),
        Err(MembershipError::IdentityCollision { .. })
    ));
    assert_eq!(
        r.add_weighted(Colliding(1), 0),
        Err(MembershipError::ZeroWeight)
    );

    for bad in [
        0,
        1,
        2,
        4,
        65_536,
        Maglev::<u8>::MAX_TABLE_SIZE + 1,
        u32::MAX,
    ] {
        assert!(matches!(
            Maglev::<u8>::with_table_size(bad),
            Err(ConfigError::BadTableSize { .. })
        ));
    }
    let mut tiny = Maglev::with_table_size(3).unwrap();
    for i in 0..3 {
        tiny.add(i).unwrap();
    }
    assert!(matches!(
        tiny.add(3),
        Err(MembershipError::TableTooSmall { .. })
    ));
    assert_eq!(tiny.len(), 3);
    let mut m = Maglev::new();
    m.add(Colliding(1)).unwrap();
    assert!(matches!(
        m.add(Colliding(2)),
        Err(MembershipError::IdentityCollision { .. })
    ));

    let mut j = Jump::new();
    assert!(j.add(1));
    assert!(!j.add(1));
    assert!(!j.remove(&2));
}

#[test]
fn maglev_slots_are_even() {
    let m: Maglev<String> = names(100).into_iter().collect();
    let slots = m.slots();
    assert_eq!(slots.iter().map(|(_, c)| c).sum::<usize>(), 65_537);
    assert!(
        slots.iter().all(|&(_, c)| c == 655 || c == 656),
        "{slots:?}"
    );
    let mut small = Maglev::<u32>::with_table_size(7).unwrap();
    assert_eq!(small.table_size(), 7);
    assert!(small.slots().is_empty());
    for n in 0..3 {
        small.add(n).unwrap();
    }
    let mut counts: Vec<usize> = small.slots().into_iter().map(|(_, c)| c).collect();
    counts.sort_unstable();
    assert_eq!(counts, vec![2, 2, 3], "7 slots over 3 nodes");
    // Removing a node hands its slots to the others: 7 = 3 + 4.
    assert!(small.remove(&1));
    let mut counts: Vec<usize> = small.slots().into_iter().map(|(_, c)| c).collect();
    counts.sort_unstable();
    assert_eq!(counts, vec![3, 4]);
}

#[test]
fn snapshot_readers_see_whole_versions() {
    // Every published version is exactly the ring of nodes 0..len, so a reader that saw a
    // half-built version would route differently from a fresh build of that membership.
    let versions: Vec<HashRing<u32>> = (0..=20).map(|k| (0..k).collect()).collect();
    let shared = Snapshot::new(versions[4].clone());
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut last_len = 0;
            for i in 0..200u32 {
                let ring = shared.load();
                assert!(ring.len() >= 4 && ring.len() <= 20);
                assert!(ring.len() >= last_len, "versions go backwards");
                last_len = ring.len();
                let fresh = &versions[ring.len()];
                assert_eq!(ring.points(), fresh.points());
                for key in i * 8..i * 8 + 8 {
                    assert_eq!(ring.route(&key), fresh.route(&key));
                }
            }
        });
        for k in 4..20 {
            shared.update(|r| {
                let mut next = r.clone();
                next.add(k).unwrap();
                next
            });
        }
    });
    assert_eq!(shared.load().len(), 20);
    shared.store(HashRing::new());
    assert!(shared.load_full().is_empty());
}

#[test]
fn route_is_route_hash_of_key_hash() {
    let ring: HashRing<u32> = (0..10).collect();
    for k in [
        "a",
        "b",
        "some longer key that is more than sixty-four bytes long, to stream",
    ] {
        assert_eq!(ring.route(k), ring.route_hash(key_hash(k)));
    }
    let counts: HashMap<u32, usize> = (0..1000u32).fold(HashMap::new(), |mut m, k| {
        *m.entry(*ring.route(&k).unwrap()).or_default() += 1;
        m
    });
    assert_eq!(counts.len(), 10, "u64 keys spread over all nodes");
}

#[test]
fn owned_loads_move_between_threads() {
    fn send_static<T: Send + 'static>(_: &T) {}
    let lb = std::sync::Arc::new(
        BoundedLoad::new(names(4).into_iter().collect::<Jump<String>>(), 1.0).unwrap(),
    );
    let guards: Vec<_> = (0..8u32).map(|i| lb.acquire_owned(&i).unwrap()).collect();
    send_static(&guards[0]);
    // c = 1: 8 keys over 4 nodes, exactly 2 each.
    assert!(lb.loads().all(|(_, l)| l == 2));
    let moved = std::thread::spawn(move || guards.iter().filter(|g| g.node().is_some()).count());
    assert_eq!(moved.join().unwrap(), 8);
    assert_eq!(
        lb.total(),
        0,
        "dropping the guards in the other thread released them"
    );
}

#[test]
fn ranges_of_a_node_cover_exactly_its_keys() {
    let ring: HashRing<String> = {
        let mut r = HashRing::with_vnodes(30);
        r.extend_weighted(names(6).into_iter().map(|n| (n, 1)));
        r
    };
    let per_node: Vec<Vec<sinew_ring::HashRange>> =
        names(6).iter().map(|n| ring.ranges_of(n)).collect();
    // Together they tile the whole hash space exactly once.
    let total: f64 = per_node.iter().flatten().map(|r| r.fraction()).sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    for i in 0..20_000 {
        let h = sample_hash(i);
        let owner = ring.route_hash(h).unwrap();
        for (n, ranges) in names(6).iter().zip(&per_node) {
            assert_eq!(ranges.iter().any(|r| r.contains(h)), n == owner);
        }
    }
    assert!(ring.ranges_of(&"not a member".to_string()).is_empty());
}

/// Every point of `ring`, computed from the documented placement (`point_hash(node_id(n), v)`
/// for `v < weight × vnodes`), not from the ring's internals.
fn ring_points(ring: &HashRing<String>) -> Vec<u64> {
    let vnodes = ring.vnodes();
    ring.nodes()
        .flat_map(|(n, w)| {
            let id = node_id(n);
            (0..w * vnodes).map(move |v| point_hash(id, v))
        })
        .collect()
}

/// Key hashes at and on both sides of every point: exactly where ownership changes.
fn boundary_probes(points: &[u64]) -> Vec<u64> {
    let mut probes = vec![0, 1, u64::MAX - 1, u64::MAX];
    for &p in points {
        probes.extend([p.wrapping_sub(1), p, p.wrapping_add(1)]);
    }
    probes
}

fn weighted_ring(n: usize, vnodes: u32) -> HashRing<String> {
    let mut ring = HashRing::with_vnodes(vnodes);
    let refused = ring.extend_weighted(names(n).into_iter().zip((0..).map(|i| 1 + i % 3)));
    assert!(refused.is_empty());
    ring
}

/// Minimal disruption probed exactly at the ring's boundaries: for every point `p` of either
/// ring, keys hashing to `p - 1`, `p` and `p + 1` change owner only to the new node, and the
/// keys just at and before each of the new node's points are its own.
#[test]
fn adding_a_node_moves_keys_only_to_it_at_every_boundary() {
    let old = weighted_ring(20, 40);
    let new_node = "node-new".to_string();
    let mut new = old.clone();
    new.add_weighted(new_node.clone(), 2).unwrap();
    let old_points = ring_points(&old);
    let new_points = ring_points(&new);
    assert_eq!(old_points.len(), old.points());
    assert_eq!(new_points.len(), new.points());
    let old_set: HashSet<u64> = old_points.iter().copied().collect();
    let mut moved = 0;
    let probes = boundary_probes(&new_points);
    for &h in &probes {
        let (a, b) = (old.route_hash(h).unwrap(), new.route_hash(h).unwrap());
        if a != b {
            assert_eq!(b, &new_node, "key hash {h:#x} moved from {a} to {b}");
            moved += 1;
        }
    }
    // Each of the new node's 80 points owns the key at it and the key just before it.
    let id = node_id(&new_node);
    for v in 0..80 {
        let p = point_hash(id, v);
        assert_eq!(new.route_hash(p), Some(&new_node), "point {v}");
        if !old_set.contains(&p.wrapping_sub(1)) {
            assert_eq!(new.route_hash(p.wrapping_sub(1)), Some(&new_node));
        }
    }
    assert!(moved >= 160, "{moved} probes moved");
    // And the keys that moved are exactly the new node's ranges.
    let listed: f64 = new.ranges_of(&new_node).iter().map(|r| r.fraction()).sum();
    let sampled = moved_fraction(&old, &new, 100_000);
    assert!((listed - sampled).abs() < 0.01, "{listed} vs {sampled}");
}

/// Removal probed exactly: at every boundary of the old ring, a key of a remaining node stays,
/// and a key of the removed node goes to the next distinct node clockwise (its old second
/// replica).
#[test]
fn removing_a_node_moves_only_its_keys_at_every_boundary() {
    let old = weighted_ring(20, 40);
    let gone = "node-7".to_string();
    let mut new = old.clone();
    assert!(new.remove(&gone));
    let mut own = 0;
    for h in boundary_probes(&ring_points(&old)) {
        let a = old.route_hash(h).unwrap();
        let b = new.route_hash(h).unwrap();
        if a == &gone {
            own += 1;
            let next: Vec<&String> = old.replicas_hash(h, 2).collect();
            assert_eq!(b, next[1], "key hash {h:#x}");
        } else {
            assert_eq!(a, b, "key hash {h:#x} of a remaining node moved");
        }
    }
    // node-7 has weight 2 (7 % 3 = 1): 80 points, so at least 160 of its probes (p - 1, p).
    assert!(own >= 160, "{own}");
    // Raising a weight is an addition of points: keys move only to the reweighted node.
    let mut heavier = old.clone();
    heavier.add_weighted(gone.clone(), 3).unwrap();
    for h in boundary_probes(&ring_points(&heavier)) {
        let (a, b) = (old.route_hash(h).unwrap(), heavier.route_hash(h).unwrap());
        assert!(a == b || b == &gone, "key hash {h:#x}: {a} -> {b}");
    }
}

/// The Maglev paper's `Populate` (Eisenbud et al. 2016, Pseudocode 1) written out plainly, with
/// this crate's documented offset/skip and the nodes in identity order: the entry of every slot.
#[allow(clippy::needless_range_loop)] // the paper's loop, indexed as in the paper
fn maglev_reference(nodes: &[String], m: u64) -> Vec<String> {
    let mut sorted: Vec<(u64, &String)> = nodes.iter().map(|n| (node_id(n), n)).collect();
    sorted.sort_unstable();
    let xxh = |seed: u64, id: u64| XxHash3_64::oneshot_with_seed(seed, &id.to_le_bytes());
    let offset: Vec<u64> = sorted
        .iter()
        .map(|&(id, _)| xxh(MAGLEV_OFFSET_SEED, id) % m)
        .collect();
    let skip: Vec<u64> = sorted
        .iter()
        .map(|&(id, _)| xxh(MAGLEV_SKIP_SEED, id) % (m - 1) + 1)
        .collect();
    let permutation = |i: usize, j: u64| ((offset[i] + j * skip[i]) % m) as usize;
    let n = sorted.len();
    let mut next = vec![0u64; n];
    let mut entry: Vec<Option<usize>> = vec![None; m as usize];
    let mut filled = 0;
    'done: loop {
        for i in 0..n {
            let mut c = permutation(i, next[i]);
            while entry[c].is_some() {
                next[i] += 1;
                c = permutation(i, next[i]);
            }
            entry[c] = Some(i);
            next[i] += 1;
            filled += 1;
            if filled == m {
                break 'done;
            }
        }
    }
    entry
        .into_iter()
        .map(|e| sorted[e.unwrap()].1.clone())
        .collect()
}

/// The table matches the reference slot for slot; slots are read through the public API at
/// both ends of each slot's hash range (slot `s` holds hashes `⌈s·2⁶⁴/M⌉ ..= ⌈(s+1)·2⁶⁴/M⌉ − 1`).
#[test]
fn maglev_table_matches_the_papers_populate() {
    for (m, n) in [(7u32, 1usize), (7, 3), (7, 7), (251, 10), (65_537, 100)] {
        let nodes = names(n);
        let mut maglev = Maglev::with_table_size(m).unwrap();
        // Added in a scrambled order (11 is coprime with every n here): the table depends
        // on identities only.
        for i in 0..n {
            maglev.add(nodes[(i * 11 + 3) % n].clone()).unwrap();
        }
        assert_eq!(maglev.len(), n);
        let reference = maglev_reference(&nodes, u64::from(m));
        let first = |s: u64| -> u64 { ((u128::from(s) << 64).div_ceil(u128::from(m))) as u64 };
        for s in 0..u64::from(m) {
            let lo = first(s);
            let hi = if s + 1 == u64::from(m) {
                u64::MAX
            } else {
                first(s + 1) - 1
            };
            let want = Some(&reference[s as usize]);
            assert_eq!(
                maglev.route_hash(lo),
                want,
                "M {m}, n {n}, slot {s} (first hash)"
            );
            assert_eq!(
                maglev.route_hash(hi),
                want,
                "M {m}, n {n}, slot {s} (last hash)"
            );
        }
    }
}

/// Membership changes cost O(1) expected per node (a hash map by identity, not a scan):
/// 100 000 nodes join and leave one at a time. With a linear scan per lookup this is about
/// 10¹⁰ identity comparisons (minutes in a debug build); the state must also stay exact.
#[test]
fn large_memberships_change_one_node_at_a_time() {
    const N: u64 = 100_000;
    let mut r = Rendezvous::new();
    for i in 0..N {
        r.add_weighted(i, 1 + (i % 2) as u32).unwrap();
    }
    assert_eq!(r.len(), N as usize);
    // Remove every other node in a scrambled order (7919 is coprime with N).
    for k in 0..N {
        let i = k * 7919 % N;
        if i % 2 == 1 {
            assert!(r.remove(&i));
            assert!(!r.contains(&i));
        }
    }
    assert_eq!(r.len(), (N / 2) as usize);
    for i in 0..N {
        assert_eq!(r.contains(&i), i % 2 == 0, "node {i}");
    }
    // What is left routes exactly like a fresh build of the same membership (all weight 1
    // now, so rendezvous is back on its unweighted scores).
    let fresh: Rendezvous<u64> = (0..N).step_by(2).collect();
    for key in 0..4u64 {
        assert_eq!(r.route(&key), fresh.route(&key));
    }
    // Jump: the same churn against a plain list with swap_remove.
    let mut jump: Jump<u64> = (0..N).collect();
    let mut list: Vec<u64> = (0..N).collect();
    let mut at: HashMap<u64, usize> = (0..N).map(|i| (i, i as usize)).collect();
    for k in 0..N {
        let i = k * 7919 % N;
        if i % 2 == 1 {
            assert!(jump.remove(&i));
            let pos = at.remove(&i).unwrap();
            list.swap_remove(pos);
            if let Some(&moved) = list.get(pos) {
                at.insert(moved, pos);
            }
        }
    }
    assert_eq!(jump.nodes(), &list[..]);
    assert!(!jump.add(0) && jump.add(1) && jump.contains(&1));
    let mut ring = HashRing::with_vnodes(1);
    assert!(ring.extend_weighted((0..N).map(|i| (i, 1))).is_empty());
    assert_eq!(ring.points(), N as usize);
    assert!(ring.contains(&(N - 1)) && !ring.contains(&N));
}

/// Weighted rendezvous placement is pinned, replicas and all. The scores use
/// `u = ((h >> 12) + 0.5) / 2⁵²` (strictly inside (0, 1)); with the earlier
/// `((h >> 11) + 0.5) / 2⁵³`, which reached 1.0 at the top of the range, these owners were the
/// same (the two differ only when scores agree to about 2⁻⁵²), but a hash near `u64::MAX`
/// scored infinity.
#[test]
fn weighted_rendezvous_placement_is_pinned() {
    let mut r = Rendezvous::new();
    for (n, w) in [("a", 1), ("b", 2), ("c", 3), ("d", 1)] {
        r.add_weighted(n, w).unwrap();
    }
    let got: Vec<(&str, [&str; 4])> = WEIGHTED_PINNED
        .iter()
        .map(|&(k, _)| {
            let v: Vec<&str> = r.replicas(k, 4).copied().collect();
            (k, [v[0], v[1], v[2], v[3]])
        })
        .collect();
    assert_eq!(got, WEIGHTED_PINNED.to_vec());
}

const WEIGHTED_PINNED: [(&str, [&str; 4]); 12] = [
    ("alpha", ["c", "d", "b", "a"]),
    ("bravo", ["c", "d", "a", "b"]),
    ("charlie", ["c", "b", "a", "d"]),
    ("delta", ["b", "a", "c", "d"]),
    ("echo", ["a", "d", "b", "c"]),
    ("foxtrot", ["d", "c", "b", "a"]),
    ("golf", ["b", "d", "c", "a"]),
    ("hotel", ["b", "a", "c", "d"]),
    ("india", ["c", "b", "a", "d"]),
    ("juliet", ["b", "c", "a", "d"]),
    ("kilo", ["d", "a", "c", "b"]),
    ("lima", ["d", "c", "a", "b"]),
];

/// `route_bytes` hashes the raw bytes (no `Hash` impl in between) with the seeded XXH3.
#[test]
fn route_bytes_hashes_raw_bytes() {
    let nodes = names(9);
    let ring: HashRing<String> = nodes.iter().cloned().collect();
    let jump: Jump<String> = nodes.iter().cloned().collect();
    let maglev: Maglev<String> = nodes.iter().cloned().collect();
    let ren: Rendezvous<String> = nodes.iter().cloned().collect();
    for i in 0..500u32 {
        let key = format!("key-{i}");
        let b = key.as_bytes();
        let h = key_hash_bytes(b);
        assert_eq!(h, XxHash3_64::oneshot_with_seed(KEY_SEED, b));
        assert_eq!(ring.route_bytes(b), ring.route_hash(h));
        assert_eq!(jump.route_bytes(b), jump.route_hash(h));
        assert_eq!(maglev.route_bytes(b), maglev.route_hash(h));
        assert_eq!(ren.route_bytes(b), ren.route_hash(h));
        assert!(ring.replicas_bytes(b, 3).eq(ring.replicas_hash(h, 3)));
        // `str`'s Hash appends 0xff, so the two entry points differ on purpose.
        assert_ne!(key_hash_bytes(b), key_hash(key.as_str()));
        let mut terminated = b.to_vec();
        terminated.push(0xff);
        assert_eq!(key_hash_bytes(&terminated), key_hash(key.as_str()));
    }
}

/// A router that breaks the trait's contract: its preference order is node 0 over and over
/// (or only an out-of-range index). `BoundedLoad` must still place every key, by scanning.
struct Stubborn {
    nodes: Vec<u32>,
    prefer: usize,
}

impl ConsistentHash for Stubborn {
    type Node = u32;
    fn len(&self) -> usize {
        self.nodes.len()
    }
    fn node(&self, index: usize) -> Option<&u32> {
        self.nodes.get(index)
    }
    fn route_index(&self, _: u64) -> Option<usize> {
        Some(self.prefer)
    }
    fn replica_indices(&self, _: u64, n: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::repeat_n(self.prefer, n)
    }
}

/// Runs `f` on another thread and fails (rather than hangs) if it spins for a minute.
fn terminates<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("BoundedLoad spun instead of placing the key")
}

#[test]
fn bounded_load_terminates_under_adversarial_routers_and_loads() {
    for prefer in [0, 999] {
        let loads = terminates(move || {
            let r = Stubborn {
                nodes: (0..4).collect(),
                prefer,
            };
            let lb = BoundedLoad::new(r, 1.0).unwrap();
            for i in 0..400u64 {
                let idx = lb.acquire_index(i).unwrap();
                assert!(lb.load(idx) <= lb.capacity(lb.total()));
            }
            lb.loads().map(|(_, l)| l).collect::<Vec<_>>()
        });
        // c = 1: every node exactly full.
        assert_eq!(loads, vec![100; 4], "prefer {prefer}");
    }

    // Adversarial loads: node 0 far above the bound after the others' keys leave, so the
    // bound is small while one node sits over it.
    let loads = terminates(|| {
        let j: Jump<u32> = (0..4).collect();
        let lb = BoundedLoad::new(j, 1.0).unwrap();
        let idx: Vec<usize> = (0..400u64).map(|i| lb.acquire_index(i).unwrap()).collect();
        for &i in idx.iter().filter(|&&i| i != 0) {
            assert!(lb.release(i));
        }
        assert_eq!(lb.total(), 100);
        assert_eq!(lb.load(0), 100);
        // Keys that all prefer node 0 (Jump's bucket of hash 0 over 4 nodes is 0, and the
        // others follow in order) go elsewhere until the others catch up.
        assert_eq!(jump_hash(0, 4), 0);
        for _ in 0..300 {
            let m = lb.total() + 1;
            let i = lb.acquire_index(0).unwrap();
            assert_ne!(i, 0, "node 0 is over ⌈m/n⌉ until m = 400");
            assert!(lb.load(i) <= lb.capacity(m));
        }
        lb.loads().map(|(_, l)| l).collect::<Vec<_>>()
    });
    assert_eq!(loads, vec![100; 4]);

    // Huge counts, where c × m / n in floating point rounds below ⌈m / n⌉: the capacity never
    // drops below the mean, so a full set of nodes always has room.
    let j: Jump<u32> = (0..7).collect();
    let lb = BoundedLoad::new(j, 1.0).unwrap();
    for m in [
        1usize << 60,
        (1 << 60) + 1,
        (1 << 62) + 5,
        1_000_000_000_000_000_007,
        usize::MAX,
    ] {
        assert!(lb.capacity(m) >= m.div_ceil(7), "m {m}: {}", lb.capacity(m));
    }
}

/// `Debug` names the sizes, not the thousands of points or slots.
#[test]
fn debug_is_concise() {
    let nodes = names(1000);
    let ring: HashRing<String> = nodes.iter().cloned().collect();
    let maglev: Maglev<String> = nodes.iter().cloned().collect();
    let ren: Rendezvous<String> = nodes.iter().cloned().collect();
    let jump: Jump<String> = nodes.iter().cloned().collect();
    let all = [
        format!("{ring:?}"),
        format!("{maglev:?}"),
        format!("{ren:?}"),
        format!("{jump:?}"),
        format!("{:?}", BoundedLoad::new(jump.clone(), 1.25).unwrap()),
        format!("{:?}", Snapshot::new(ring.clone())),
    ];
    for d in &all {
        assert!(d.len() < 200, "{} bytes: {d}", d.len());
    }
    assert_eq!(
        all[0],
        "HashRing { nodes: 1000, vnodes: 160, points: 160000, .. }"
    );
    assert_eq!(all[1], "Maglev { nodes: 1000, table_size: 65537, .. }");
    assert_eq!(all[2], "Rendezvous { nodes: 1000, weighted: false, .. }");
    assert_eq!(all[3], "Jump { nodes: 1000, .. }");
}
