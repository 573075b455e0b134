//! Differential target: arbitrary add/remove/route/replicas sequences on every sinew-ring
//! router against brute-force models (a linear scan over every point for the ring, over every
//! node for rendezvous, a plain list for jump, a from-scratch table for Maglev), plus the
//! migration plan and bounded loads. Every answer must match the model's, and nothing may
//! panic.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_ring::{
    BoundedLoad, ConsistentHash, Error, HashRing, Jump, Maglev, Rendezvous, jump_hash, mix64,
    node_id, point_hash,
};

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

/// Membership as (node, weight), in first-added order.
#[derive(Default, Clone)]
struct Model {
    members: Vec<(u8, u32)>,
}

impl Model {
    fn add(&mut self, n: u8, w: u32) {
        match self.members.iter_mut().find(|(x, _)| *x == n) {
            Some(e) => e.1 = w,
            None => self.members.push((n, w)),
        }
    }
    fn remove(&mut self, n: u8) -> bool {
        let before = self.members.len();
        self.members.retain(|(x, _)| *x != n);
        before != self.members.len()
    }

    /// The ring's owners clockwise from `h`, first occurrences only (linear scan).
    fn ring(&self, vnodes: u32, h: u64) -> Vec<u8> {
        let mut pts: Vec<(u64, u64, u32, u8)> = Vec::new();
        for &(n, w) in &self.members {
            let id = node_id(&n);
            for v in 0..w * vnodes {
                pts.push((point_hash(id, v), id, v, n));
            }
        }
        pts.sort_unstable();
        let start = pts.iter().position(|p| p.0 >= h).unwrap_or(0);
        let mut out: Vec<u8> = Vec::new();
        for i in 0..pts.len() {
            let n = pts[(start + i) % pts.len()].3;
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// Rendezvous: every node scored, sorted best first.
    fn rendezvous(&self, h: u64) -> Vec<u8> {
        let uniform = self.members.windows(2).all(|w| w[0].1 == w[1].1);
        let mut scored: Vec<((u64, u64), u8)> = self
            .members
            .iter()
            .map(|&(n, w)| {
                let id = node_id(&n);
                let x = mix64(h ^ id);
                if uniform {
                    ((x, id), n)
                } else {
                    let u = ((x >> 12) as f64 + 0.5) / 4_503_599_627_370_496.0;
                    (((f64::from(w) / -u.ln()).to_bits(), id), n)
                }
            })
            .collect();
        scored.sort_unstable_by_key(|s| std::cmp::Reverse(s.0));
        scored.into_iter().map(|(_, n)| n).collect()
    }
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
    let mut model = Model::default();
    for op in input.ops.into_iter().take(64) {
        match op {
            Op::Add(n, w) => {
                let w = u32::from(w % 4);
                let n = n % 32;
                if w == 0 {
                    assert_eq!(ring.add_weighted(n, 0), Err(Error::ZeroWeight));
                    assert_eq!(ren.add_weighted(n, 0), Err(Error::ZeroWeight));
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
                    model.ring(vnodes, h).first().copied()
                );
                assert_eq!(
                    ren.route_hash(h).copied(),
                    model.rendezvous(h).first().copied()
                );
                let want = (!jump_model.is_empty())
                    .then(|| jump_model[jump_hash(h, jump_model.len() as u32) as usize]);
                assert_eq!(jump.route_hash(h).copied(), want);
                assert_eq!(maglev.route_hash(h).is_some(), !model.members.is_empty());
            }
            Op::Replicas(h, k) => {
                let k = usize::from(k % 40);
                let want = model.ring(vnodes, h);
                let got: Vec<u8> = ring.replicas_hash(h, k).copied().collect();
                assert_eq!(&got[..], &want[..k.min(want.len())]);
                let want = model.rendezvous(h);
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
