//! Differential target: arbitrary add/remove/route/replicas sequences on every sinew-ring
//! router against brute-force models (a linear scan over every point for the ring, over every
//! node for rendezvous, a plain list for jump, a from-scratch table for Maglev), plus the
//! migration plan and bounded loads. Every answer must match the model's, and nothing may
//! panic.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_ring::{
    BoundedLoad, ConsistentHash, HashRing, Jump, Maglev, MembershipError, Rendezvous, jump_hash,
};

#[path = "../../crates/sinew-ring/tests/reference/mod.rs"]
mod reference;
use reference::Members;

#[derive(Arbitrary, Debug)]
enum Op {
    Add(u8, u8),
    Remove(u8),
    Route(u64),
    Replicas(u64, u8),
    Diff,
    Bounded(Vec<u64>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    vnodes: u8,
    ops: Vec<Op>,
}

fn check_replicas<R: ConsistentHash<Node = u8>>(r: &R, h: u64, k: usize) {
    let reps: Vec<u8> = r.replicas_hash(h, k).copied().collect();
    assert_eq!(reps.len(), k.min(r.len()));
    let mut sorted = reps.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), reps.len(), "replicas repeat a node");
    if k > 0 {
        assert_eq!(reps.first(), r.route_hash(h));
    }
}

fuzz_target!(|input: Input| {
    let vnodes = u32::from(input.vnodes % 8) + 1;
    let mut ring = HashRing::with_vnodes(vnodes);
    let mut old_ring = ring.clone();
    let mut ren = Rendezvous::new();
    let mut jump = Jump::new();
    let mut jump_model: Vec<u8> = Vec::new();
    let mut maglev = Maglev::with_table_size(97).unwrap();
    let mut model: Members<u8> = Members::default();
    for op in input.ops.into_iter().take(64) {
        match op {
            Op::Add(n, w) => {
                let w = u32::from(w % 4);
                let n = n % 32;
                if w == 0 {
                    assert_eq!(ring.add_weighted(n, 0), Err(MembershipError::ZeroWeight));
                    assert_eq!(ren.add_weighted(n, 0), Err(MembershipError::ZeroWeight));
                    continue;
                }
                old_ring = ring.clone();
                ring.add_weighted(n, w).unwrap();
                ren.add_weighted(n, w).unwrap();
                maglev.add(n).unwrap();
                assert_eq!(jump.add(n), !jump_model.contains(&n));
                if !jump_model.contains(&n) {
                    jump_model.push(n);
                }
                model.add(n, w);
            }
            Op::Remove(n) => {
                let n = n % 32;
                old_ring = ring.clone();
                let present = model.remove(n);
                assert_eq!(ring.remove(&n), present);
                assert_eq!(ren.remove(&n), present);
                assert_eq!(maglev.remove(&n), present);
                let i = jump_model.iter().position(|&x| x == n);
                assert_eq!(jump.remove(&n), i.is_some());
                if let Some(i) = i {
                    jump_model.swap_remove(i);
                }
            }
            Op::Route(h) => {
                assert_eq!(
                    ring.route_hash(h).copied(),
                    model.ring_order(vnodes, h).first().copied()
                );
                assert_eq!(
                    ren.route_hash(h).copied(),
                    model.rendezvous_order(h).first().copied()
                );
                let want = (!jump_model.is_empty())
                    .then(|| jump_model[jump_hash(h, jump_model.len() as u32) as usize]);
                assert_eq!(jump.route_hash(h).copied(), want);
                assert_eq!(maglev.route_hash(h).is_some(), !model.list.is_empty());
            }
            Op::Replicas(h, k) => {
                let k = usize::from(k % 40);
                let want = model.ring_order(vnodes, h);
                let got: Vec<u8> = ring.replicas_hash(h, k).copied().collect();
                assert_eq!(&got[..], &want[..k.min(want.len())]);
                let want = model.rendezvous_order(h);
                let got: Vec<u8> = ren.replicas_hash(h, k).copied().collect();
                assert_eq!(&got[..], &want[..k.min(want.len())]);
                check_replicas(&jump, h, k);
                check_replicas(&maglev, h, k);
            }
            Op::Diff => {
                let moves = HashRing::diff(&old_ring, &ring);
                for m in &moves {
                    for h in [m.range.first, m.range.last] {
                        assert_eq!(old_ring.route_hash(h), m.from);
                        assert_eq!(ring.route_hash(h), m.to);
                    }
                }
                for w in moves.windows(2) {
                    assert!(w[0].range.last < w[1].range.first);
                }
            }
            Op::Bounded(keys) => {
                let lb = BoundedLoad::new(maglev.clone(), 1.25).unwrap();
                let mut held = Vec::new();
                for (m, &h) in keys.iter().take(200).enumerate() {
                    match lb.acquire_index(h) {
                        Some(i) => {
                            assert!(lb.load(i) <= lb.capacity(m + 1));
                            held.push(i);
                        }
                        None => assert!(maglev.is_empty()),
                    }
                }
                assert_eq!(lb.total(), held.len());
                for i in held {
                    assert!(lb.release(i));
                }
                assert_eq!(lb.total(), 0);
            }
        }
    }
});
