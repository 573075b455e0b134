//! A cluster of cache nodes on a consistent-hash ring: keys spread over the nodes, a node joins
//! and one leaves, and for each change the migration plan says which hash ranges move where.
//!
//! Run with `cargo run --release -p sinew-examples --example ring`.

// An example prints; a failure is a bug in the example.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::cast_precision_loss)]

use std::collections::BTreeMap;

use sinew::ring::{BoundedLoad, HashRing, Move, key_hash};

const KEYS: usize = 100_000;

/// How many of the keys each node owns.
fn load(ring: &HashRing<&'static str>) -> BTreeMap<&'static str, usize> {
    let mut counts: BTreeMap<&str, usize> = ring.nodes().map(|(n, _)| (*n, 0)).collect();
    for i in 0..KEYS {
        let owner = ring.route(&format!("user:{i}")).unwrap();
        *counts.entry(*owner).or_default() += 1;
    }
    counts
}

fn print_load(title: &str, ring: &HashRing<&'static str>) {
    println!("\n{title}");
    let total_weight: u32 = ring.nodes().map(|(_, w)| w).sum();
    for (node, keys) in load(ring) {
        let weight = ring.weight(&node).unwrap();
        let ideal = KEYS as f64 * f64::from(weight) / f64::from(total_weight);
        println!(
            "  {node:<8} weight {weight}  {keys:>6} keys  ({:>5.1}% of its fair share)",
            100.0 * keys as f64 / ideal
        );
    }
}

/// Summarises a plan: per (from, to), how many ranges and what share of the hash space.
fn print_plan(title: &str, plan: &[Move<'_, &'static str>]) {
    println!("\n{title}: {} hash ranges change owner", plan.len());
    let mut by_pair: BTreeMap<(&str, &str), (usize, f64)> = BTreeMap::new();
    for m in plan {
        let pair = (m.from.map_or("-", |n| *n), m.to.map_or("-", |n| *n));
        let e = by_pair.entry(pair).or_default();
        e.0 += 1;
        e.1 += m.range.fraction();
    }
    for ((from, to), (ranges, share)) in by_pair {
        println!(
            "  {from:<8} -> {to:<8} {ranges:>4} ranges, {:>5.2}% of all keys",
            100.0 * share
        );
    }
    if let Some(m) = plan.first() {
        println!(
            "  e.g. keys with key_hash in {:#018x}..={:#018x} stream from {} to {}",
            m.range.first,
            m.range.last,
            m.from.unwrap(),
            m.to.unwrap()
        );
    }
}

fn main() {
    // Five cache nodes; cache-e has twice the memory, so twice the weight.
    let mut ring = HashRing::new(); // 160 virtual nodes per unit of weight
    for node in ["cache-a", "cache-b", "cache-c", "cache-d"] {
        ring.add(node).unwrap();
    }
    ring.add_weighted("cache-e", 2).unwrap();
    println!(
        "{} nodes, {} points on the ring, {KEYS} keys user:0..user:{}",
        ring.len(),
        ring.points(),
        KEYS - 1
    );
    print_load("Load per node:", &ring);

    // Where one key lives, and its two backups (distinct nodes, in preference order).
    let key = "user:42";
    let replicas: Vec<_> = ring.replicas(key, 3).collect();
    println!(
        "\n{key} (key_hash {:#018x}) lives on {:?}",
        key_hash(key),
        replicas
    );

    // A node joins: only the keys it takes over move, all of them to it.
    let mut grown = ring.clone();
    grown.add("cache-f").unwrap();
    print_plan("cache-f joins", &HashRing::diff(&ring, &grown));
    let moved = (0..KEYS)
        .filter(|i| {
            let k = format!("user:{i}");
            ring.route(&k) != grown.route(&k)
        })
        .count();
    println!(
        "  measured: {moved} of {KEYS} keys moved ({:.2}%; the ideal is 1/7 = 14.29% by weight)",
        100.0 * moved as f64 / KEYS as f64
    );
    print_load("Load after cache-f joined:", &grown);

    // A node leaves: only its keys move, spread over the others.
    let mut shrunk = grown.clone();
    shrunk.remove(&"cache-b");
    print_plan("cache-b leaves", &HashRing::diff(&grown, &shrunk));
    print_load("Load after cache-b left:", &shrunk);

    // Bounded loads: a hot key cannot pile more than ⌈1.25 × average⌉ sessions on one node.
    let lb = BoundedLoad::new(shrunk, 1.25).unwrap();
    let sessions: Vec<_> = (0..1000)
        .map(|i| lb.acquire(if i % 2 == 0 { "hot" } else { "cold" }).unwrap())
        .collect();
    println!(
        "\n1000 sessions on 2 keys with BoundedLoad(c = 1.25), cap {} per node:",
        lb.capacity(1000)
    );
    for (node, load) in lb.loads() {
        println!("  {node:<8} {load:>4} sessions");
    }
    drop(sessions);
}
