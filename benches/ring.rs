//! The cost of a lookup: sinew-ring's routers beside their peer crates, on cold keys.
//!
//! Run with `cargo bench -p sinew-benches --bench ring`.
//!
//! # Keys
//!
//! Every per-key benchmark walks the same 2²⁰ (1 048 576) distinct random `u64` keys, one per
//! iteration, in order, wrapping at the end (8 MiB of keys, read sequentially, so the walk
//! itself costs every router the same). A 1000-node ring is bigger than the L2 cache, so with
//! this many keys its lookups miss the cache as a real workload's do; a small key set reused
//! would keep the touched part of the table cached and flatter the routers with big tables.
//!
//! Each router hashes the key its own default way, since that is part of its lookup cost:
//! sinew's routers XXH3-64 (seeded) over the key's 8 little-endian bytes (`key_hash`);
//! hashring 0.3 SipHash-2-4 with zero keys (its `DefaultHashBuilder`); conhash 0.5 MD5 of the
//! key's 8 little-endian bytes (it takes bytes, MD5 is its default); mpchash 2 XXH3 (its
//! default `Xxh3Builder`); jumphash 0.1 SipHash-1-3 with per-process random keys; anchorhash
//! 0.2 and maglev 0.2 std's `RandomState`/`DefaultHasher` (SipHash-1-3); rendezvous_hash 0.3
//! its `DefaultNodeHasher` (std's SipHash-1-3). Nodes are the strings `node-0`, `node-1`, ….
//!
//! # Groups (`BenchmarkId::new(implementation, configuration)`)
//!
//! - `ring_route_{10,100,1000}x100_cold`: hash rings with 100 virtual nodes per node; the
//!   headline is 1000 × 100 (100 000 points). sinew `HashRing::with_vnodes(100)` ("default":
//!   the obvious constructor with the group's vnode count); hashring 0.3, which has no virtual
//!   nodes of its own, so each node is added 100 times as `(name, i)`, its documented way, with
//!   `batch_add`; conhash 0.5 (100 replicas per node, its `add(node, replicas)`); mpchash 2
//!   (multi-probe consistent hashing: one position per node and 23 probes per key, its
//!   defaults, so it has no vnode count to match).
//! - `ring_jump_route_1000_cold`: sinew `Jump::route` ("default") and `jump_hash` on the
//!   pre-hashed key ("jump_hash, pre-hashed key"); jumphash 0.1 `JumpHasher::slot`; anchorhash
//!   0.2 (capacity = nodes). Jump has no table, so its cost is the key hash and the ~ln n jumps.
//! - `ring_maglev_route_1000_cold`: sinew `Maglev::new()` (65 537 slots, "default") and its
//!   `route_hash` ("pre-hashed key"); maglev 0.2 `Maglev::new` ("default": its table is the
//!   first prime ≥ 100 × nodes, 100 003 slots here) and `with_capacity(65 537)` ("65537
//!   slots", the same table size as sinew's default).
//! - `ring_rendezvous_route_100_cold`: sinew `Rendezvous` (unweighted) and rendezvous_hash 0.3
//!   (`calc_candidates(key).next()`, its API for the owner; it scores and sorts every node).
//!   Rendezvous is O(n) a lookup, meant for small clusters, hence 100 nodes.
//! - `ring_replicas3_{10,100,1000}_cold`: three distinct owners, consumed by iteration. sinew
//!   `HashRing` ("default", 100 vnodes), `Maglev`, `Jump`; hashring's `get_with_replicas`
//!   clones the whole ring per call (and may repeat a node), so it is left out at 1000 nodes;
//!   mpchash's `replicas` collects tokens into a `Vec`.
//! - `ring_rendezvous_replicas3_100_cold`: sinew `Rendezvous` against rendezvous_hash taking 3
//!   from `calc_candidates`.
//! - `ring_maglev_rebuild_{10,100,1000}`: building a 65 537-slot table from the node list (the
//!   peer through `with_capacity`, "65537 slots").
//! - `ring_key_hash`: sinew's key hash alone, for reading the tables: how much of a route is
//!   hashing the key.

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

const RING_SIZES: [usize; 3] = [10, 100, 1000];
const VNODES: u32 = 100;
/// Distinct keys walked (a power of two, so the index wraps with a mask).
const KEYS: usize = 1 << 20;

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("node-{i}")).collect()
}

fn keys() -> Vec<u64> {
    (0..KEYS as u64).map(|i| sample_hash(i ^ 0x5eed)).collect()
}

/// conhash needs its own node trait.
#[derive(Clone, Debug)]
struct ConNode(String);
impl conhash::Node for ConNode {
    fn name(&self) -> String {
        self.0.clone()
    }
}

/// Benchmarks `f` as `BenchmarkId::new(imp, config)` in `g`, one key per iteration, walking
/// the keys in order and wrapping.
fn on_keys<T>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    (imp, config): (&str, &str),
    keys: &[u64],
    mut f: impl FnMut(u64) -> T,
) {
    let mut i = 0usize;
    g.bench_function(BenchmarkId::new(imp, config), |b| {
        b.iter(|| {
            i = (i + 1) & (KEYS - 1);
            f(black_box(keys[i]))
        });
    });
}

/// sinew's ring with `VNODES` virtual nodes per node.
fn sinew_ring(nodes: &[String]) -> HashRing<String> {
    let mut ring = HashRing::with_vnodes(VNODES);
    assert!(
        ring.extend_weighted(nodes.iter().map(|s| (s.clone(), 1)))
            .is_empty()
    );
    ring
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
    for n in RING_SIZES {
        let mut g = c.benchmark_group(format!("ring_route_{n}x{VNODES}_cold"));
        let nodes = names(n);

        let ring = sinew_ring(&nodes);
        on_keys(&mut g, ("sinew", "default"), &keys, |k| {
            ring.route(&k).map(String::len)
        });

        let peer = hashring_peer(&nodes);
        on_keys(&mut g, ("hashring", "default"), &keys, |k| {
            peer.get(&k).map(|(s, _)| s.len())
        });

        let mut con = conhash::ConsistentHash::new();
        for s in &nodes {
            con.add(&ConNode(s.clone()), VNODES as usize);
        }
        on_keys(&mut g, ("conhash", "default"), &keys, |k| {
            con.get(&k.to_le_bytes()).map(|c| c.0.len())
        });

        let mpc = mpchash_peer(&nodes);
        on_keys(&mut g, ("mpchash", "default"), &keys, |k| {
            mpc.node(&k).map(|t| t.node().len())
        });
        g.finish();
    }
}

fn jump_route(c: &mut Criterion) {
    let keys = keys();
    let n = 1000;
    let mut g = c.benchmark_group(format!("ring_jump_route_{n}_cold"));
    let jump: Jump<String> = names(n).into_iter().collect();
    on_keys(&mut g, ("sinew", "default"), &keys, |k| {
        jump.route(&k).map(String::len)
    });
    on_keys(&mut g, ("sinew", "jump_hash, pre-hashed key"), &keys, |k| {
        jump_hash(k, n as u32)
    });

    let peer = jumphash::JumpHasher::new();
    on_keys(&mut g, ("jumphash", "default"), &keys, |k| {
        peer.slot(&k, n as u32)
    });

    let anchor: anchorhash::AnchorHash<u64, String, _> = anchorhash::Builder::default()
        .with_resources(names(n))
        .build(n as u16);
    on_keys(&mut g, ("anchorhash", "default"), &keys, |k| {
        anchor.get_resource(k).map(String::len)
    });
    g.finish();
}

fn maglev_route(c: &mut Criterion) {
    use maglev::ConsistentHasher;
    let keys = keys();
    let n = 1000;
    let mut g = c.benchmark_group(format!("ring_maglev_route_{n}_cold"));
    let m: Maglev<String> = names(n).into_iter().collect();
    on_keys(&mut g, ("sinew", "default"), &keys, |k| {
        m.route(&k).map(String::len)
    });
    on_keys(&mut g, ("sinew", "pre-hashed key"), &keys, |k| {
        m.route_hash(k).map(String::len)
    });

    let peer = maglev::Maglev::new(names(n));
    on_keys(&mut g, ("maglev", "default"), &keys, |k| {
        peer.get(&k).map(String::len)
    });
    let peer = maglev::Maglev::with_capacity(names(n), 65_537);
    assert_eq!(peer.capacity(), 65_537);
    on_keys(&mut g, ("maglev", "65537 slots"), &keys, |k| {
        peer.get(&k).map(String::len)
    });
    g.finish();
}

fn rendezvous_route(c: &mut Criterion) {
    use rendezvous_hash::Node as _;
    let keys = keys();
    let n = 100;
    let nodes = names(n);
    let r: Rendezvous<String> = nodes.iter().cloned().collect();
    let peer = rendezvous_peer(&nodes);

    let mut g = c.benchmark_group(format!("ring_rendezvous_route_{n}_cold"));
    on_keys(&mut g, ("sinew", "default"), &keys, |k| {
        r.route(&k).map(String::len)
    });
    on_keys(&mut g, ("rendezvous_hash", "default"), &keys, |k| {
        peer.calc_candidates(&k).next().map(|s| s.node_id().len())
    });
    g.finish();

    let mut g = c.benchmark_group(format!("ring_rendezvous_replicas3_{n}_cold"));
    on_keys(&mut g, ("sinew", "default"), &keys, |k| {
        r.replicas(&k, 3).map(String::len).sum::<usize>()
    });
    on_keys(&mut g, ("rendezvous_hash", "default"), &keys, |k| {
        peer.calc_candidates(&k)
            .take(3)
            .map(|s| s.node_id().len())
            .sum::<usize>()
    });
    g.finish();
}

fn replicas3(c: &mut Criterion) {
    let keys = keys();
    for n in RING_SIZES {
        let mut g = c.benchmark_group(format!("ring_replicas3_{n}_cold"));
        let nodes = names(n);
        let ring = sinew_ring(&nodes);
        let sum = |it: &mut dyn Iterator<Item = &String>| it.map(String::len).sum::<usize>();
        on_keys(&mut g, ("sinew", "default"), &keys, |k| {
            sum(&mut ring.replicas(&k, 3))
        });
        let m: Maglev<String> = nodes.iter().cloned().collect();
        on_keys(&mut g, ("sinew", "Maglev"), &keys, |k| {
            sum(&mut m.replicas(&k, 3))
        });
        let j: Jump<String> = nodes.iter().cloned().collect();
        on_keys(&mut g, ("sinew", "Jump"), &keys, |k| {
            sum(&mut j.replicas(&k, 3))
        });

        if n < 1000 {
            let peer = hashring_peer(&nodes);
            on_keys(&mut g, ("hashring", "default"), &keys, |k| {
                peer.get_with_replicas(&k, 2)
                    .map(|v| v.iter().map(|(s, _)| s.len()).sum::<usize>())
            });
        }
        let mpc = mpchash_peer(&nodes);
        on_keys(&mut g, ("mpchash", "default"), &keys, |k| {
            mpc.replicas(&k, 3)
                .iter()
                .map(|t| t.node().len())
                .sum::<usize>()
        });
        g.finish();
    }
}

fn maglev_rebuild(c: &mut Criterion) {
    for n in RING_SIZES {
        let mut g = c.benchmark_group(format!("ring_maglev_rebuild_{n}"));
        g.sample_size(20);
        let nodes = names(n);
        g.bench_with_input(BenchmarkId::new("sinew", "default"), &nodes, |b, nodes| {
            b.iter(|| nodes.iter().cloned().collect::<Maglev<String>>().len());
        });
        g.bench_with_input(
            BenchmarkId::new("maglev", "65537 slots"),
            &nodes,
            |b, nodes| {
                b.iter(|| maglev::Maglev::with_capacity(nodes.iter().cloned(), 65_537));
            },
        );
        g.finish();
    }
}

fn key_hashing(c: &mut Criterion) {
    let keys = keys();
    let mut g = c.benchmark_group("ring_key_hash");
    on_keys(&mut g, ("sinew", "key_hash, u64 key"), &keys, |k| {
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
