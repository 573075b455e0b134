//! Replica repair with Merkle anti-entropy: two replicas of a key-value store drift apart (lost
//! writes, a missed delete, a stale version), find where they differ by exchanging digests
//! level by level, repair only the keys in those buckets, and end identical.
//!
//! Run with `cargo run --release -p sinew-examples --example merkle_repair`.
#![allow(clippy::print_stdout)] // an example talks on stdout

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;

use sinew::merkle::AntiEntropyTree;
use sinew::merkle::antientropy::{BucketRange, Reconciler, Responder, Step, diff, ranges_contain};

/// A replica: the data (key -> (version, value)), the versions of deleted keys (tombstones,
/// so a missed delete can be told from a lost write), and the anti-entropy tree kept beside
/// the data.
struct Replica {
    name: &'static str,
    data: BTreeMap<String, (u64, String)>,
    tombstones: BTreeMap<String, u64>,
    tree: AntiEntropyTree,
}

impl Replica {
    fn new(name: &'static str, depth: u8) -> Result<Self, Box<dyn Error>> {
        Ok(Self {
            name,
            data: BTreeMap::new(),
            tombstones: BTreeMap::new(),
            tree: AntiEntropyTree::new(depth)?,
        })
    }

    /// Every write goes to the data and the tree together.
    fn put(&mut self, key: &str, version: u64, value: &str) {
        if let Some((old, _)) = self.data.get(key) {
            self.tree.update(key, *old, version);
        } else {
            self.tree.insert(key, version);
        }
        self.data
            .insert(key.to_string(), (version, value.to_string()));
    }

    fn delete(&mut self, key: &str) {
        if let Some((v, _)) = self.data.remove(key) {
            self.tree.remove(key, v);
            self.tombstones.insert(key.to_string(), v);
        }
    }

    fn copy_from(&mut self, other: &Replica, key: &str) {
        if let Some((v, value)) = other.data.get(key) {
            self.put(key, *v, value);
        }
    }

    /// The keys this replica holds in the differing buckets, with their versions.
    fn keys_in(&self, ranges: &[BucketRange]) -> BTreeMap<String, u64> {
        self.data
            .iter()
            .filter(|(k, _)| ranges_contain(ranges, self.tree.bucket_of(k.as_str())))
            .map(|(k, (v, _))| (k.clone(), *v))
            .collect()
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    const KEYS: usize = 100_000;
    // ~100,000 keys / 2^13 buckets = about 12 keys per bucket.
    const DEPTH: u8 = 13;

    println!("== 1. Two replicas, {KEYS} keys each");
    let mut a = Replica::new("A", DEPTH)?;
    let mut b = Replica::new("B", DEPTH)?;
    for i in 0..KEYS {
        let key = format!("user:{i:06}");
        a.put(&key, 1, &format!("profile {i}"));
        b.put(&key, 1, &format!("profile {i}"));
    }

    println!("\n== 2. They drift apart");
    // B was down while A took writes: three updates and a new key are lost on B.
    for i in [17, 4242, 77_777] {
        a.put(&format!("user:{i:06}"), 2, "updated while B was down");
    }
    a.put("user:new-1", 1, "signed up while B was down");
    // A missed a delete that B took.
    b.delete("user:031337");
    // B has a newer version that A never saw.
    b.put("user:050000", 3, "updated on B");
    println!("A: {} keys, B: {} keys", a.data.len(), b.data.len());
    println!(
        "roots differ: {:#034x} vs {:#034x}",
        a.tree.root(),
        b.tree.root()
    );

    println!("\n== 3. Reconcile: digests level by level");
    let mut reconciler = Reconciler::new(&a.tree);
    let mut responder = Responder::new(&b.tree);
    let mut message = reconciler.start();
    let ranges = loop {
        // In a real system these bytes cross the network; the protocol is sans-io.
        let reply = responder.respond(&message)?;
        match reconciler.receive(&reply)? {
            Step::Send(next) => message = next,
            Step::Done(ranges) => break ranges,
        }
    };
    let exchanged = reconciler.bytes_sent() + reconciler.bytes_received();
    // The alternative: B sends every key with its version (8-byte hash + 8-byte version).
    let full = KEYS as u64 * 16;
    println!(
        "{} round trips, {exchanged} bytes exchanged ({:.2}% of the {full} bytes of sending every \
         key's hash and version)",
        reconciler.rounds(),
        exchanged as f64 * 100.0 / full as f64
    );
    println!(
        "{} differing bucket ranges: {:?}",
        ranges.len(),
        ranges.iter().map(|r| r.start..r.end).collect::<Vec<_>>()
    );

    println!("\n== 4. Repair only those buckets");
    // Each side lists its keys and versions in the differing buckets (a few per bucket) and
    // they swap lists: the newer version wins; a key only one side has is copied over, unless
    // the other side's tombstone says it was deleted.
    let ka = a.keys_in(&ranges);
    let kb = b.keys_in(&ranges);
    println!(
        "keys to compare: {} on A, {} on B (instead of {KEYS} each)",
        ka.len(),
        kb.len()
    );
    let keys: BTreeSet<&String> = ka.keys().chain(kb.keys()).collect();
    let mut repaired = Vec::new();
    for key in keys {
        match (ka.get(key), kb.get(key)) {
            (Some(va), Some(vb)) if va == vb => continue,
            (Some(va), Some(vb)) if va > vb => b.copy_from(&a, key),
            (Some(_), Some(_)) => a.copy_from(&b, key),
            (Some(va), None) if b.tombstones.get(key) >= Some(va) => a.delete(key),
            (Some(_), None) => b.copy_from(&a, key),
            (None, Some(vb)) if a.tombstones.get(key) >= Some(vb) => b.delete(key),
            (None, Some(_)) => a.copy_from(&b, key),
            (None, None) => continue,
        }
        repaired.push(key.clone());
    }
    println!("{} keys repaired: {repaired:?}", repaired.len());
    let repaired = repaired.len();
    let full_copy: usize = b.data.iter().map(|(k, (_, v))| k.len() + 8 + v.len()).sum();
    println!(
        "moved: {exchanged} bytes of digests + two key lists of {} entries, against {full_copy} \
         bytes for a full copy of B",
        ka.len() + kb.len()
    );

    println!("\n== 5. Identical again");
    let after = diff(&a.tree, &b.tree)?;
    println!(
        "{} vs {}: roots equal: {}, data equal: {}, differing ranges now: {} ({repaired} keys \
         repaired)",
        a.name,
        b.name,
        a.tree.root() == b.tree.root(),
        a.data == b.data,
        after.len()
    );
    Ok(())
}
