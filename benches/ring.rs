//! The cost of a lookup: sinew-ring's routers beside their peer crates.
//!
//! Run with `cargo bench -p sinew-benches --bench ring`.
//!
//! # Groups
//!
//! - `ring_route/{10,100,1000}`: hash rings with 100 virtual nodes per node. sinew `HashRing`,
//!   hashring 0.3 (which has no virtual nodes of its own, so each node is added 100 times as
//!   `(name, i)`, its documented way, with `batch_add`), conhash 0.5 (100 replicas per node, its
//!   `add(node, replicas)`; MD5 is its default hash), mpchash 2 (multi-probe consistent
//!   hashing: one position per node and 23 probes per key, its defaults).
//! - `jump_route/{10,100,1000}`: sinew `Jump::route` (XXH3 of the key, then jump) and
//!   `jump_hash` on a pre-hashed key; jumphash 0.1 `JumpHasher::slot` (SipHash-1-3 of the key
//!   with per-process random keys, then jump); anchorhash 0.2 (capacity = nodes, std's
//!   `RandomState`).
//! - `maglev_route/{10,100,1000}`: sinew `Maglev` and maglev 0.2, both with 65 537 slots (the
//!   peer through `with_capacity`; its default is the first prime ≥ 100 × nodes), each hashing
//!   the key its own way (XXH3; std's SipHash-1-3).
//! - `rendezvous_route/{10,100,1000}`: sinew `Rendezvous` (unweighted) and rendezvous_hash 0.3
//!   (`calc_candidates(key).next()`, its API for the owner; it scores and sorts every node).
//! - `replicas3/{10,100,1000}`: three distinct owners, consumed by iteration. hashring's
//!   `get_with_replicas` clones the whole ring per call (and may repeat a node), so it is left
//!   out at 1000 nodes; mpchash's `replicas` collects tokens into a `Vec`;
//!   rendezvous_hash takes 3 from `calc_candidates`.
//! - `maglev_rebuild/{10,100,1000}`: building a 65 537-slot table from the node list (both).
//!
//! Every router gets the same keys: 1 024 random `u64`s, one per iteration in turn, hashed by
//! the router itself (each crate's own key hash is part of its lookup cost). Nodes are the
//! strings `node-0`, `node-1`, …

// Benches may panic on setup failure; that is a failed run, not a bug to handle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use sinew_ring::hash::sample_hash;
use sinew_ring::{HashRing, Jump, Maglev, Rendezvous, jump_hash, key_hash};

const SIZES: [usize; 3] = [10, 100, 1000];
const VNODES: u32 = 100;

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("node-{i}")).collect()
}

fn keys() -> Vec<u64> {
    (0..1024).map(|i| sample_hash(i ^ 0x5eed)).collect()
}

/// conhash needs its own node trait.
#[derive(Clone, Debug)]
struct ConNode(String);
impl conhash::Node for ConNode {
    fn name(&self) -> String {
        self.0.clone()
    }
}

/// Runs `f` on the keys in turn, one per iteration.
fn per_key<T>(keys: &[u64], mut f: impl FnMut(u64) -> T) -> impl FnMut() -> T {
    let mut i = 0usize;
    move || {
        i = (i + 1) & 1023;
        f(black_box(keys[i]))
    }
}

/// Benchmarks `f` on the keys in turn, one key per iteration, as `name` in `g`.
fn on_keys<T>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    keys: &[u64],
    f: impl FnMut(u64) -> T,
) {
    let mut f = per_key(keys, f);
    g.bench_function(name, |b| b.iter(&mut f));
}

/// hashring 0.3 with `VNODES` entries `(name, i)` per node.
fn hashring_peer(nodes: &[String]) -> hashring::HashRing<(String, u32)> {
    let mut peer = hashring::HashRing::new();
    peer.batch_add(
        nodes
            .iter()
            .flat_map(|s| (0..VNODES).map(move |i| (s.clone(), i)))
            .collect(),
    );
    assert_eq!(peer.len(), nodes.len() * VNODES as usize);
    peer
}

fn mpchash_peer(nodes: &[String]) -> mpchash::HashRing<String> {
    let peer = mpchash::HashRing::new();
    for s in nodes {
        peer.add(s.clone());
    }
    peer
}

fn rendezvous_peer(
    nodes: &[String],
) -> rendezvous_hash::RendezvousNodes<
    rendezvous_hash::IdNode<String>,
    rendezvous_hash::DefaultNodeHasher,
> {
    let mut peer = rendezvous_hash::RendezvousNodes::default();
    for s in nodes {
        peer.insert(rendezvous_hash::IdNode::new(s.clone()));
    }
    peer
}

fn ring_route(c: &mut Criterion) {
    let keys = keys();
    for n in SIZES {
        let mut g = c.benchmark_group(format!("ring_route/{n}"));
        let nodes = names(n);

        let mut ring = HashRing::with_vnodes(VNODES);
        assert!(
            ring.extend_weighted(nodes.iter().map(|s| (s.clone(), 1)))
                .is_empty()
        );
        on_keys(&mut g, "sinew HashRing", &keys, |k| {
            ring.route(&k).map(String::len)
        });

        let peer = hashring_peer(&nodes);
        on_keys(&mut g, "hashring 0.3", &keys, |k| {
            peer.get(&k).map(|(s, _)| s.len())
        });

        let mut con = conhash::ConsistentHash::new();
        for s in &nodes {
            con.add(&ConNode(s.clone()), VNODES as usize);
        }
        on_keys(&mut g, "conhash 0.5", &keys, |k| {
            con.get(&k.to_le_bytes()).map(|c| c.0.len())
        });

        let mpc = mpchash_peer(&nodes);
        on_keys(&mut g, "mpchash 2", &keys, |k| {
            mpc.node(&k).map(|t| t.node().len())
        });
        g.finish();
    }
}

fn jump_route(c: &mut Criterion) {
    let keys = keys();
    for n in SIZES {
        let mut g = c.benchmark_group(format!("jump_route/{n}"));
        let jump: Jump<String> = names(n).into_iter().collect();
        on_keys(&mut g, "sinew Jump", &keys, |k| {
            jump.route(&k).map(String::len)
        });
        on_keys(&mut g, "sinew jump_hash (pre-hashed key)", &keys, |k| {
            jump_hash(k, n as u32)
        });

        let peer = jumphash::JumpHasher::new();
        on_keys(&mut g, "jumphash 0.1", &keys, |k| peer.slot(&k, n as u32));

        let anchor: anchorhash::AnchorHash<u64, String, _> = anchorhash::Builder::default()
            .with_resources(names(n))
            .build(n as u16);
        on_keys(&mut g, "anchorhash 0.2", &keys, |k| {
            anchor.get_resource(k).map(String::len)
        });
        g.finish();
    }
}

fn maglev_route(c: &mut Criterion) {
    use maglev::ConsistentHasher;
    let keys = keys();
    for n in SIZES {
        let mut g = c.benchmark_group(format!("maglev_route/{n}"));
        let m: Maglev<String> = names(n).into_iter().collect();
        on_keys(&mut g, "sinew Maglev", &keys, |k| {
            m.route(&k).map(String::len)
        });
        on_keys(&mut g, "sinew Maglev (pre-hashed key)", &keys, |k| {
            m.route_hash(k).map(String::len)
        });

        let peer = maglev::Maglev::with_capacity(names(n), 65_537);
        assert_eq!(peer.capacity(), 65_537);
        on_keys(&mut g, "maglev 0.2", &keys, |k| {
            peer.get(&k).map(String::len)
        });
        g.finish();
    }
}

fn rendezvous_route(c: &mut Criterion) {
    use rendezvous_hash::Node as _;
    let keys = keys();
    for n in SIZES {
        let mut g = c.benchmark_group(format!("rendezvous_route/{n}"));
        let nodes = names(n);
        let r: Rendezvous<String> = nodes.iter().cloned().collect();
        on_keys(&mut g, "sinew Rendezvous", &keys, |k| {
            r.route(&k).map(String::len)
        });

        let peer = rendezvous_peer(&nodes);
        on_keys(&mut g, "rendezvous_hash 0.3", &keys, |k| {
            peer.calc_candidates(&k).next().map(|s| s.node_id().len())
        });
        g.finish();
    }
}

fn replicas3(c: &mut Criterion) {
    use rendezvous_hash::Node as _;
    let keys = keys();
    for n in SIZES {
        let mut g = c.benchmark_group(format!("replicas3/{n}"));
        let nodes = names(n);
        let ring: HashRing<String> = {
            let mut r = HashRing::with_vnodes(VNODES);
            r.extend_weighted(nodes.iter().map(|s| (s.clone(), 1)));
            r
        };
        let sum = |it: &mut dyn Iterator<Item = &String>| it.map(String::len).sum::<usize>();
        on_keys(&mut g, "sinew HashRing", &keys, |k| {
            sum(&mut ring.replicas(&k, 3))
        });
        let m: Maglev<String> = nodes.iter().cloned().collect();
        on_keys(&mut g, "sinew Maglev", &keys, |k| {
            sum(&mut m.replicas(&k, 3))
        });
        let j: Jump<String> = nodes.iter().cloned().collect();
        on_keys(&mut g, "sinew Jump", &keys, |k| sum(&mut j.replicas(&k, 3)));
        let r: Rendezvous<String> = nodes.iter().cloned().collect();
        on_keys(&mut g, "sinew Rendezvous", &keys, |k| {
            sum(&mut r.replicas(&k, 3))
        });

        if n < 1000 {
            let peer = hashring_peer(&nodes);
            on_keys(&mut g, "hashring 0.3", &keys, |k| {
                peer.get_with_replicas(&k, 2)
                    .map(|v| v.iter().map(|(s, _)| s.len()).sum::<usize>())
            });
        }
        let mpc = mpchash_peer(&nodes);
        on_keys(&mut g, "mpchash 2", &keys, |k| {
            mpc.replicas(&k, 3)
                .iter()
                .map(|t| t.node().len())
                .sum::<usize>()
        });
        let peer = rendezvous_peer(&nodes);
        on_keys(&mut g, "rendezvous_hash 0.3", &keys, |k| {
            peer.calc_candidates(&k)
                .take(3)
                .map(|s| s.node_id().len())
                .sum::<usize>()
        });
        g.finish();
    }
}

fn maglev_rebuild(c: &mut Criterion) {
    for n in SIZES {
        let mut g = c.benchmark_group(format!("maglev_rebuild/{n}"));
        g.sample_size(20);
        let nodes = names(n);
        g.bench_with_input(
            BenchmarkId::from_parameter("sinew Maglev"),
            &nodes,
            |b, nodes| {
                b.iter(|| nodes.iter().cloned().collect::<Maglev<String>>().len());
            },
        );
        g.bench_with_input(
            BenchmarkId::from_parameter("maglev 0.2"),
            &nodes,
            |b, nodes| {
                b.iter(|| maglev::Maglev::with_capacity(nodes.iter().cloned(), 65_537));
            },
        );
        g.finish();
    }
}

/// The key hash alone, for reading the tables: how much of a route is hashing the key.
fn key_hashing(c: &mut Criterion) {
    let keys = keys();
    let mut g = c.benchmark_group("key_hash");
    on_keys(&mut g, "sinew key_hash (XXH3, u64 key)", &keys, |k| {
        key_hash(&k)
    });
    g.finish();
}

criterion_group!(
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = ring_route, jump_route, maglev_route, rendezvous_route, replicas3, maglev_rebuild, key_hashing
);
criterion_main!(benches);
