//! Property tests: random add/remove sequences against brute-force models (a linear scan over
//! every point for the ring, over every node for rendezvous, a from-scratch table for Maglev,
//! a plain list for jump).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly
#![allow(clippy::cast_possible_truncation)] // small test sizes

use proptest::prelude::*;
use sinew_ring::{HashRing, Jump, Maglev, Rendezvous, jump_hash};

mod reference;
use reference::{Members, ring_order_in};

#[derive(Debug, Clone)]
enum Op {
    Add(u16, u32),
    Remove(u16),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            3 => (0u16..24, 1u32..4).prop_map(|(n, w)| Op::Add(n, w)),
            1 => (0u16..24).prop_map(Op::Remove),
        ],
        0..40,
    )
}

/// The membership after `ops`, as (node, weight) in first-added order.
fn apply(ops: &[Op]) -> Members<u16> {
    let mut m = Members::default();
    for op in ops {
        match *op {
            Op::Add(n, w) => m.add(n, w),
            Op::Remove(n) => {
                m.remove(n);
            }
        }
    }
    m
}

fn keys() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(any::<u64>(), 1..30)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn ring_matches_linear_scan(ops in ops(), keys in keys(), vnodes in 1u32..6) {
        let mut ring = HashRing::with_vnodes(vnodes);
        for op in &ops {
            match *op {
                Op::Add(n, w) => ring.add_weighted(n, w).unwrap(),
                Op::Remove(n) => { ring.remove(&n); }
            }
        }
        let members = apply(&ops);
        prop_assert_eq!(ring.len(), members.list.len());
        let pts = members.ring_points(vnodes);
        prop_assert_eq!(ring.points(), pts.len());
        for &h in keys.iter().chain(pts.iter().map(|p| &p.0)).chain([0, u64::MAX].iter()) {
            let want = ring_order_in(&pts, h);
            prop_assert_eq!(ring.route_hash(h).copied(), want.first().copied());
            let got: Vec<u16> = ring.replicas_hash(h, 3).copied().collect();
            prop_assert_eq!(&got[..], &want[..want.len().min(3)]);
            let all: Vec<u16> = ring.replicas_hash(h, usize::MAX).copied().collect();
            prop_assert_eq!(all, want);
        }
    }

    /// The ring's bucket index gives exactly the owner a plain binary search over the sorted
    /// points gives, on keys next to points, sharing a point's high bits (the index's packed
    /// bits decide those, or the search does) and on bucket boundaries, with rings large
    /// enough to have crowded buckets.
    #[test]
    fn ring_index_matches_binary_search(
        ops in ops(),
        vnodes in 1u32..80,
        keys in keys(),
        low in any::<u64>(),
    ) {
        let mut ring = HashRing::with_vnodes(vnodes);
        for op in &ops {
            match *op {
                Op::Add(n, w) => ring.add_weighted(n, w).unwrap(),
                Op::Remove(n) => { ring.remove(&n); }
            }
        }
        let pts = apply(&ops).ring_points(vnodes);
        let owner = |h: u64| {
            let pos = pts.partition_point(|p| p.0 < h);
            pts.get(pos).or(pts.first()).map(|p| p.3)
        };
        for &p in pts.iter().map(|p| &p.0).chain(&keys) {
            let mut near = vec![p.wrapping_sub(1), p, p.wrapping_add(1), p ^ 1];
            for shift in [20, 30, 40, 43, 44, 48, 52, 56, 60] {
                let high = p >> shift << shift;
                near.extend([high, high.wrapping_sub(1), high | (low >> (64 - shift))]);
            }
            for h in near {
                prop_assert_eq!(ring.route_hash(h).copied(), owner(h), "hash {:#x}", h);
                prop_assert_eq!(ring.replicas_hash(h, 1).next().copied(), owner(h));
            }
        }
    }

    #[test]
    fn rendezvous_matches_all_node_scan(ops in ops(), keys in keys()) {
        let mut r = Rendezvous::new();
        for op in &ops {
            match *op {
                Op::Add(n, w) => r.add_weighted(n, w).unwrap(),
                Op::Remove(n) => { r.remove(&n); }
            }
        }
        let members = apply(&ops);
        for &h in &keys {
            let want = members.rendezvous_order(h);
            let got: Vec<u16> = r.replicas_hash(h, usize::MAX).copied().collect();
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(r.route_hash(h).copied(), want.first().copied());
        }
    }

    #[test]
    fn maglev_matches_a_fresh_build(ops in ops(), keys in keys()) {
        let mut m = Maglev::with_table_size(251).unwrap();
        for op in &ops {
            match *op {
                Op::Add(n, _) => m.add(n).unwrap(),
                Op::Remove(n) => { m.remove(&n); }
            }
        }
        // The model: the same set built from scratch, in sorted order.
        let mut set: Vec<u16> = apply(&ops).list.into_iter().map(|(n, _)| n).collect();
        set.sort_unstable();
        let mut fresh = Maglev::with_table_size(251).unwrap();
        for &n in &set { fresh.add(n).unwrap(); }
        let counts = m.slots();
        for (_, c) in &counts {
            // Each node owns 251/n slots, give or take one.
            prop_assert!(*c + 1 >= 251 / set.len() && *c <= 251 / set.len() + 1);
        }
        for &h in &keys {
            prop_assert_eq!(m.route_hash(h), fresh.route_hash(h));
            let got: Vec<u16> = m.replicas_hash(h, usize::MAX).copied().collect();
            prop_assert!(fresh.replicas_hash(h, usize::MAX).copied().eq(got.iter().copied()));
            let mut sorted = got.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, set.clone(), "replicas(all) lists every node once");
        }
    }

    #[test]
    fn jump_matches_a_list(ops in ops(), keys in keys()) {
        let mut j = Jump::new();
        let mut model: Vec<u16> = Vec::new();
        for op in &ops {
            match *op {
                Op::Add(n, _) => {
                    prop_assert_eq!(j.add(n), !model.contains(&n));
                    if !model.contains(&n) { model.push(n); }
                }
                Op::Remove(n) => {
                    let i = model.iter().position(|&x| x == n);
                    prop_assert_eq!(j.remove(&n), i.is_some());
                    if let Some(i) = i { model.swap_remove(i); }
                }
            }
        }
        prop_assert_eq!(j.nodes(), &model[..]);
        for &h in &keys {
            let want = if model.is_empty() { None } else {
                Some(model[jump_hash(h, model.len() as u32) as usize])
            };
            prop_assert_eq!(j.route_hash(h).copied(), want);
            prop_assert_eq!(j.replicas_hash(h, 100).count(), model.len());
        }
    }

    /// The migration plan is exact: every point of either ring and its neighbours agree with
    /// the listed moves.
    #[test]
    fn diff_is_exact(a in ops(), b in ops()) {
        let build = |ops: &[Op]| {
            let mut r = HashRing::with_vnodes(3);
            for op in ops {
                match *op {
                    Op::Add(n, w) => r.add_weighted(n, w).unwrap(),
                    Op::Remove(n) => { r.remove(&n); }
                }
            }
            r
        };
        let (old, new) = (build(&a), build(&b));
        let moves = HashRing::diff(&old, &new);
        let mut probes: Vec<u64> = vec![0, u64::MAX];
        for m in &moves {
            probes.extend([m.range.first, m.range.last, m.range.first.wrapping_sub(1), m.range.last.wrapping_add(1)]);
        }
        for h in probes {
            let listed = moves.iter().find(|m| m.range.contains(h));
            match listed {
                Some(m) => {
                    prop_assert_eq!(old.route_hash(h), m.from);
                    prop_assert_eq!(new.route_hash(h), m.to);
                }
                None => prop_assert_eq!(old.route_hash(h), new.route_hash(h)),
            }
        }
    }
}
