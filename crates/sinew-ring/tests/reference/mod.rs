//! Brute-force reference models of the routers' placement, written from their documented
//! formulas: shared by `tests/model.rs` (proptest) and `fuzz/fuzz_targets/ring_ops.rs` (the
//! differential fuzz target), so both check the crate against the same model.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::indexing_slicing,
    clippy::cast_precision_loss
)] // each user uses part

use std::hash::Hash;

use sinew_ring::hash::{mix64, point_hash};
use sinew_ring::node_id;

/// Membership as (node, weight), in first-added order: what a sequence of adds and removes
/// leaves behind.
#[derive(Debug, Clone)]
pub struct Members<N> {
    pub list: Vec<(N, u32)>,
}

impl<N> Default for Members<N> {
    fn default() -> Self {
        Members { list: Vec::new() }
    }
}

impl<N: Copy + Eq + Hash> Members<N> {
    /// Adds `n` with weight `w`, or sets its weight if it is a member.
    pub fn add(&mut self, n: N, w: u32) {
        match self.list.iter_mut().find(|(x, _)| *x == n) {
            Some(e) => e.1 = w,
            None => self.list.push((n, w)),
        }
    }

    /// Removes `n`; whether it was a member.
    pub fn remove(&mut self, n: N) -> bool {
        let before = self.list.len();
        self.list.retain(|(x, _)| *x != n);
        before != self.list.len()
    }

    /// Every ring point `(hash, id, vnode, node)`, sorted: `w × vnodes` points per node at
    /// `point_hash(node_id(n), v)`.
    pub fn ring_points(&self, vnodes: u32) -> Vec<(u64, u64, u32, N)> {
        let mut pts = Vec::new();
        for &(n, w) in &self.list {
            let id = node_id(&n);
            for v in 0..w * vnodes {
                pts.push((point_hash(id, v), id, v, n));
            }
        }
        pts.sort_unstable_by_key(|p| (p.0, p.1, p.2));
        pts
    }

    /// The ring's owners clockwise from `h`, first occurrences only (a linear scan).
    pub fn ring_order(&self, vnodes: u32, h: u64) -> Vec<N> {
        ring_order_in(&self.ring_points(vnodes), h)
    }

    /// Rendezvous: every node scored (`mix64(h ^ id)`, or `w / -ln(u)` when weights differ),
    /// best first, ties by the larger identity.
    pub fn rendezvous_order(&self, h: u64) -> Vec<N> {
        let uniform = self.list.windows(2).all(|w| w[0].1 == w[1].1);
        let mut scored: Vec<((u64, u64), N)> = self
            .list
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

/// The owners clockwise from `h` over precomputed `points`, first occurrences only.
pub fn ring_order_in<N: Copy + Eq>(points: &[(u64, u64, u32, N)], h: u64) -> Vec<N> {
    let start = points.iter().position(|p| p.0 >= h).unwrap_or(0);
    let mut out: Vec<N> = Vec::new();
    for i in 0..points.len() {
        let n = points[(start + i) % points.len()].3;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}
