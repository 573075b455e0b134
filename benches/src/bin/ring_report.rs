//! Balance and movement of every sinew-ring router and of the peer crates, as a table:
//! peak/mean load over 100 nodes, and the fraction of keys that change owner when a 101st
//! node joins and when the last node (node 99) leaves.
//!
//! Run with `cargo run --release -p sinew-benches --bin ring_report`.
//!
//! Every router gets the same nodes (the `u32`s 0..100) and the same keys (1,000,000
//! pseudo-random `u64`s; 100,000 for the two rendezvous routers, which score every node per
//! key), hashed by each router its own way. The ideal movement is 1/101 ≈ 0.0099 on join and
//! 1/100 = 0.0100 on leave; a router that moves more reshuffles keys between nodes that did not
//! change. The node that leaves is the last added, so the jump routers (whose nodes are a
//! numbered list) can drop their last bucket.

// A report prints; a failure is a bug in the report.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::indexing_slicing
)]

use sinew_ring::hash::sample_hash;
use sinew_ring::{HashRing, Jump, Maglev, Rendezvous};

const NODES: u32 = 100;
const VNODES: u32 = 160;

/// A built router as a function from key to node.
type Router = Box<dyn Fn(u64) -> u32>;

/// conhash names its nodes.
#[derive(Clone)]
struct ConNode(u32);
impl conhash::Node for ConNode {
    fn name(&self) -> String {
        format!("node-{}", self.0)
    }
}

struct Row {
    name: &'static str,
    keys: u64,
    peak: f64,
    join: f64,
    leave: f64,
}

fn measure(name: &'static str, keys: u64, build: impl Fn(&[u32]) -> Router) -> Row {
    let all: Vec<u32> = (0..NODES).collect();
    let grown: Vec<u32> = (0..=NODES).collect();
    let shrunk: Vec<u32> = (0..NODES - 1).collect();
    let (base, plus, minus) = (build(&all), build(&grown), build(&shrunk));
    let mut counts = vec![0u64; NODES as usize];
    let (mut joined, mut left) = (0u64, 0u64);
    for i in 0..keys {
        let k = sample_hash(i);
        let owner = base(k);
        counts[owner as usize] += 1;
        joined += u64::from(plus(k) != owner);
        left += u64::from(minus(k) != owner);
    }
    let peak = *counts.iter().max().unwrap() as f64 / (keys as f64 / f64::from(NODES));
    Row {
        name,
        keys,
        peak,
        join: joined as f64 / keys as f64,
        leave: left as f64 / keys as f64,
    }
}

fn main() {
    const M: u64 = 1_000_000;
    let rows = vec![
        measure("sinew HashRing (160 vnodes)", M, |nodes| {
            let mut r = HashRing::with_vnodes(VNODES);
            r.extend_weighted(nodes.iter().map(|&n| (n, 1)));
            Box::new(move |k| *r.route(&k).unwrap())
        }),
        measure("sinew Jump", M, |nodes| {
            let r: Jump<u32> = nodes.iter().copied().collect();
            Box::new(move |k| *r.route(&k).unwrap())
        }),
        measure("sinew Maglev (65537)", M, |nodes| {
            let r: Maglev<u32> = nodes.iter().copied().collect();
            Box::new(move |k| *r.route(&k).unwrap())
        }),
        measure("sinew Rendezvous", M / 10, |nodes| {
            let r: Rendezvous<u32> = nodes.iter().copied().collect();
            Box::new(move |k| *r.route(&k).unwrap())
        }),
        measure("hashring 0.3 (160 vnodes)", M, |nodes| {
            let mut r = hashring::HashRing::new();
            r.batch_add(
                nodes
                    .iter()
                    .flat_map(|&n| (0..VNODES).map(move |v| (n, v)))
                    .collect(),
            );
            Box::new(move |k| r.get(&k).unwrap().0)
        }),
        measure("conhash 0.5 (160 replicas)", M, |nodes| {
            let mut r = conhash::ConsistentHash::new();
            for &n in nodes {
                r.add(&ConNode(n), VNODES as usize);
            }
            Box::new(move |k| r.get(&k.to_le_bytes()).unwrap().0)
        }),
        measure("jumphash 0.1", M, |nodes| {
            let r = jumphash::JumpHasher::new_with_keys(1, 2);
            let nodes = nodes.to_vec();
            Box::new(move |k| nodes[r.slot(&k, nodes.len() as u32) as usize])
        }),
        measure("maglev 0.2 (65537)", M, |nodes| {
            use maglev::ConsistentHasher;
            let r = maglev::Maglev::with_capacity(nodes.to_vec(), 65_537);
            Box::new(move |k| *r.get(&k).unwrap())
        }),
        measure("anchorhash 0.2", M, |nodes| {
            let r: anchorhash::AnchorHash<u64, u32, _> =
                anchorhash::Builder::with_hasher(std::hash::BuildHasherDefault::<
                    std::collections::hash_map::DefaultHasher,
                >::default())
                .with_resources(nodes.to_vec())
                .build(128);
            Box::new(move |k| *r.get_resource(k).unwrap())
        }),
        measure("mpchash 2", M, |nodes| {
            let r = mpchash::HashRing::new();
            for &n in nodes {
                r.add(n);
            }
            Box::new(move |k| *r.node(&k).unwrap().node())
        }),
        measure("rendezvous_hash 0.3", M / 10, |nodes| {
            use rendezvous_hash::Node as _;
            let mut r = rendezvous_hash::RendezvousNodes::default();
            for &n in nodes {
                r.insert(rendezvous_hash::IdNode::new(n));
            }
            Box::new(move |k| *r.calc_candidates(&k).next().unwrap().node_id())
        }),
    ];
    println!("100 nodes; ideal movement: join 1/101 = 0.0099, leave 1/100 = 0.0100\n");
    println!(
        "| router | keys | peak/mean load | moved on join | moved on leave |\n|---|---|---|---|---|"
    );
    for r in rows {
        println!(
            "| {} | {} | {:.3} | {:.4} | {:.4} |",
            r.name, r.keys, r.peak, r.join, r.leave
        );
    }
}
