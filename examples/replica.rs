//! Dynamo-style replication with sinew-replica, step by step, on five in-process nodes.
//!
//! ```text
//! cargo run -p sinew-examples --example replica
//! ```
//!
//! Every node runs a `Coordinator` (it starts reads and writes for clients) and a `Replica`
//! (it stores objects). Both are sans-io: they never touch a socket or a clock, they hand us
//! messages and we deliver them. Here delivery is a loop over a vector, so the example can
//! lose a message or take a node down exactly when it wants to; a real node sends the same
//! messages over the network (`Message::encode` / `Message::decode`).
//!
//! The tour: a quorum write and read; two clients writing at once, kept as siblings and then
//! resolved; a node down, its writes kept as hints by a stand-in and handed over when it is
//! back; a replica that missed a write, fixed by the next read; and anti-entropy, which finds
//! what differs between two replicas with a Merkle tree and repairs it.
#![allow(clippy::print_stdout)] // an example talks

use std::collections::HashSet;
use std::error::Error;
use std::time::Duration;

use bytes::Bytes;
use sinew::clock::{HybridClock, SystemClock};
use sinew::merkle::antientropy::diff;
use sinew::replica::{
    Completion, Coordinator, Message, Options, Policy, Replica, Siblings, Store, Transmit,
    VersionVector, WriteOutcome,
};
use sinew::ring::HashRing;

type Res<T> = Result<T, Box<dyn Error>>;

struct Node {
    coordinator: Coordinator<u64>,
    replica: Replica<u64>,
}

struct Cluster {
    ring: HashRing<u64>,
    nodes: Vec<Node>,
    down: HashSet<u64>,
    now: Duration,
}

impl Cluster {
    fn new(n: u64) -> Self {
        let nodes = (0..n)
            .map(|id| Node {
                // The actor names the node in versions; unique per node.
                coordinator: Coordinator::new(
                    id,
                    id,
                    Policy::Dvv,
                    HybridClock::new(SystemClock::new()),
                ),
                replica: Replica::new(id, id, Policy::Dvv),
            })
            .collect();
        Self {
            ring: (0..n).collect(),
            nodes,
            down: HashSet::new(),
            now: Duration::ZERO,
        }
    }

    /// Delivers messages until there are none left, except those `lose` picks (and any to or
    /// from a node that is down).
    fn deliver(&mut self, lose: impl Fn(&Transmit<u64>) -> bool) {
        loop {
            let mut wire = Vec::new();
            for (id, node) in (0u64..).zip(&mut self.nodes) {
                while let Some(t) = node.coordinator.poll_transmit() {
                    wire.push((id, t));
                }
                while let Some(t) = node.replica.poll_transmit() {
                    wire.push((id, t));
                }
            }
            if wire.is_empty() {
                return;
            }
            for (from, t) in wire {
                if self.down.contains(&from) || self.down.contains(&t.to) || lose(&t) {
                    continue;
                }
                let Some(node) = self
                    .nodes
                    .get_mut(usize::try_from(t.to).unwrap_or(usize::MAX))
                else {
                    continue;
                };
                if t.message.for_coordinator() {
                    node.coordinator.handle_reply(from, t.message, self.now);
                } else {
                    node.replica.handle(from, t.message, self.now);
                }
            }
        }
    }

    fn node(&mut self, id: u64) -> Res<&mut Node> {
        self.nodes
            .get_mut(usize::try_from(id)?)
            .ok_or_else(|| "no such node".into())
    }

    /// Delivers everything, then takes the operation's completion from node `via`.
    fn finish(&mut self, via: u64) -> Res<Completion> {
        self.deliver(|_| false);
        self.node(via)?
            .coordinator
            .poll_event()
            .ok_or_else(|| "the operation did not complete".into())
    }

    fn put(&mut self, via: u64, key: &str, value: &str, context: VersionVector) -> Res<()> {
        let w = self.put_quietly(via, key, value, context)?;
        println!(
            "  put {value:?} -> acknowledged by a quorum, dot {}, strict quorum: {}",
            w.dot, w.strict
        );
        Ok(())
    }

    fn put_quietly(
        &mut self,
        via: u64,
        key: &str,
        value: &str,
        context: VersionVector,
    ) -> Res<WriteOutcome> {
        let (ring, down, now) = (self.ring.clone(), self.down.clone(), self.now);
        let key = Bytes::from(key.to_owned());
        let value = Bytes::from(value.to_owned());
        self.node(via)?.coordinator.put(
            key,
            value,
            context,
            &ring,
            |n| !down.contains(n),
            Options::QUORUM,
            now,
        )?;
        match self.finish(via)? {
            Completion::Put { result, .. } => Ok(result?),
            _ => Err("not a write".into()),
        }
    }

    fn get(&mut self, via: u64, key: &str) -> Res<Siblings> {
        let (ring, down, now) = (self.ring.clone(), self.down.clone(), self.now);
        self.node(via)?.coordinator.get(
            Bytes::from(key.to_owned()),
            &ring,
            |n| !down.contains(n),
            Options::QUORUM,
            now,
        )?;
        match self.finish(via)? {
            Completion::Get { result, .. } => {
                let object = result?.object;
                println!("  get {key:?} -> {:?}", show(&object));
                Ok(object)
            }
            _ => Err("not a read".into()),
        }
    }
}

fn show(object: &Siblings) -> Vec<String> {
    object
        .iter()
        .map(|s| String::from_utf8_lossy(&s.value).into_owned())
        .collect()
}

fn main() -> Res<()> {
    let mut c = Cluster::new(5);
    let home: Vec<u64> = c.ring.replicas_bytes(b"cart:alice", 3).copied().collect();
    let [h0, h1, h2] = <[u64; 3]>::try_from(home.clone()).map_err(|_| "fewer than 3 nodes")?;
    println!("5 nodes; key \"cart:alice\" lives on nodes {home:?} (n = 3, r = w = 2)\n");

    println!("1. A quorum write, then a read from another node:");
    c.put(h0, "cart:alice", "book", VersionVector::new())?;
    let read = c.get(4, "cart:alice")?;

    println!("\n2. Two clients add to the cart at once, each from what it read:");
    c.put(1, "cart:alice", "book+pen", read.context().clone())?;
    c.put(2, "cart:alice", "book+ink", read.context().clone())?;
    let read = c.get(3, "cart:alice")?;
    println!(
        "  both writes are kept as siblings; the next write, made from this read, merges them:"
    );
    c.put(3, "cart:alice", "book+pen+ink", read.context().clone())?;
    c.get(0, "cart:alice")?;

    println!(
        "\n3. Node {} goes down; writes go to a stand-in that keeps a hint:",
        h2
    );
    c.down.insert(h2);
    let read = c.get(h0, "cart:alice")?;
    c.put(h0, "cart:alice", "book+pen+ink+bag", read.context().clone())?;
    let hints: usize = c.nodes.iter().map(|n| n.replica.hints().len()).sum();
    println!("  hints held across the cluster: {hints}");
    c.down.remove(&h2);
    let (down, now) = (c.down.clone(), c.now);
    for node in &mut c.nodes {
        node.replica.replay_hints(|n| !down.contains(n), now);
    }
    c.deliver(|_| false);
    let owner_has = c
        .node(h2)?
        .replica
        .store()
        .get(b"cart:alice")
        .map(|o| show(&o));
    println!(
        "  node {} is back and the hint was handed over: it holds {owner_has:?}",
        h2
    );

    println!(
        "\n4. A write whose copy to node {} is lost; the next read repairs it:",
        h1
    );
    let read = c.get(h0, "cart:alice")?;
    let (ring, now) = (c.ring.clone(), c.now);
    let context = read.context().clone();
    c.node(h0)?.coordinator.put(
        Bytes::from_static(b"cart:alice"),
        Bytes::from_static(b"empty"),
        context,
        &ring,
        |_| true,
        Options::QUORUM.with_read_repair(sinew::replica::ReadRepair::Blocking),
        now,
    )?;
    let lost = h1;
    c.deliver(|t| t.to == lost && matches!(t.message, Message::Replicate { .. }));
    let _ = c.node(h0)?.coordinator.poll_event();
    let stale = c
        .node(lost)?
        .replica
        .store()
        .get(b"cart:alice")
        .map(|o| show(&o));
    println!("  node {lost} holds {stale:?}");
    c.get(h2, "cart:alice")?;
    let repaired = c
        .node(lost)?
        .replica
        .store()
        .get(b"cart:alice")
        .map(|o| show(&o));
    println!("  after the read, node {lost} holds {repaired:?}");

    println!(
        "\n5. Node {} is down while 100 keys are written; anti-entropy repairs what it missed:",
        h1
    );
    c.down.insert(h1);
    for i in 0..100 {
        c.put_quietly(h0, &format!("item:{i}"), "x", VersionVector::new())?;
    }
    c.down.remove(&h1);
    let ring = c.ring.clone();
    let (a, b) = (h0, h1);
    let shared = |key: &[u8]| {
        let owners: Vec<u64> = ring.replicas_bytes(key, 3).copied().collect();
        owners.contains(&a) && owners.contains(&b)
    };
    let should_hold = (0..100)
        .filter(|i| shared(format!("item:{i}").as_bytes()))
        .count()
        + 1;
    let missed = should_hold - c.node(b)?.replica.store().len();
    let tree_a = c.node(a)?.replica.merkle_tree(10, shared)?;
    let tree_b = c.node(b)?.replica.merkle_tree(10, shared)?;
    // Two processes would run sinew-merkle's Reconciler and Responder over the network (see
    // the merkle_repair example); in one process `diff` gives the same ranges.
    let ranges = diff(&tree_a, &tree_b)?;
    println!(
        "  the Merkle trees differ in {} bucket ranges",
        ranges.len()
    );
    let sync = c.node(a)?.replica.sync_request(b, &tree_a, &ranges, shared);
    c.node(b)?
        .replica
        .handle_sync(a, sync.message, shared, Duration::ZERO);
    c.deliver(|_| false);
    let held = c.node(b)?.replica.store().len();
    println!(
        "  node {b} missed {missed} of the writes; after one exchange it holds {held} keys, all it should"
    );
    Ok(())
}
