//! A storage node that keeps a Bloom filter of its keys and skips "disk" reads for keys it
//! does not have: how many reads the filter saves, what its false positives cost, and how it
//! survives a restart (`to_bytes`/`from_bytes`).
//!
//! Run with `cargo run --release -p sinew-examples --example bloom`.
#![allow(clippy::print_stdout, clippy::cast_precision_loss)] // an example talks on stdout

use std::collections::HashMap;
use std::error::Error;
use std::thread;

use sinew::bloom::{AtomicBloomFilter, BlockedBloomFilter, CountingBloomFilter};

/// A key-value store whose every `get` costs a (pretend) disk read.
struct Disk {
    data: HashMap<String, String>,
    reads: u64,
}

impl Disk {
    fn get(&mut self, key: &str) -> Option<&String> {
        self.reads += 1;
        self.data.get(key)
    }
}

/// The node: the disk, plus a filter of every key on it, consulted first.
struct Node {
    disk: Disk,
    filter: BlockedBloomFilter,
    skipped: u64,
}

impl Node {
    fn new(expected_keys: usize) -> Result<Self, Box<dyn Error>> {
        Ok(Node {
            disk: Disk {
                data: HashMap::new(),
                reads: 0,
            },
            // 1% of lookups for absent keys will still go to disk; 99% will not.
            filter: BlockedBloomFilter::with_false_positive_rate(expected_keys, 0.01)?,
            skipped: 0,
        })
    }

    fn put(&mut self, key: String, value: String) {
        self.filter.insert(key.as_str());
        self.disk.data.insert(key, value);
    }

    fn get(&mut self, key: &str) -> Option<&String> {
        if !self.filter.contains(key) {
            self.skipped += 1; // certainly absent: no disk read
            return None;
        }
        self.disk.get(key) // probably present (or a false positive)
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    println!("== 1. A node with 100,000 keys and a 1% blocked Bloom filter");
    let mut node = Node::new(100_000)?;
    for i in 0..100_000 {
        node.put(format!("user:{i}"), format!("profile of user {i}"));
    }
    println!(
        "filter: {} bits ({:.1} bits per key, {} KiB), {} hashes",
        node.filter.bits(),
        node.filter.bits() as f64 / 100_000.0,
        node.filter.bits() / 8 / 1024,
        node.filter.hashes()
    );

    println!("\n== 2. 1,000,000 lookups, 80% of them for keys the node does not have");
    let (mut found, mut false_positives) = (0u64, 0u64);
    for i in 0..1_000_000u64 {
        let key = if i % 5 == 0 {
            format!("user:{}", i % 100_000) // present
        } else {
            format!("user:{}", 100_000 + i) // absent
        };
        let reads_before = node.disk.reads;
        let hit = node.get(&key).is_some();
        if hit {
            found += 1;
        } else if node.disk.reads > reads_before {
            false_positives += 1;
        }
    }
    println!(
        "found {found}; disk reads {}; reads skipped by the filter {} ({:.1}% of all lookups)",
        node.disk.reads,
        node.skipped,
        node.skipped as f64 / 10_000.0
    );
    println!(
        "false positives (a wasted read for an absent key): {false_positives} of 800,000 absent \
         lookups = {:.3}% (target 1%)",
        false_positives as f64 / 8_000.0
    );

    println!("\n== 3. Restart: persist the filter, read it back");
    let bytes = node.filter.to_bytes();
    let restored = BlockedBloomFilter::from_bytes(&bytes)?;
    println!(
        "{} bytes on disk; restored filter still has user:42: {}",
        bytes.len(),
        restored.contains("user:42")
    );
    let mut corrupt = bytes.clone();
    if let Some(b) = corrupt.get_mut(100) {
        *b ^= 1;
    }
    match BlockedBloomFilter::from_bytes(&corrupt) {
        Ok(_) => println!("corruption went unnoticed (this should not happen)"),
        Err(e) => println!("a flipped bit is caught: {e}"),
    }

    println!("\n== 4. Deletes: a counting filter");
    let mut sessions = CountingBloomFilter::with_false_positive_rate(1_000, 0.01)?;
    sessions.insert("session-a");
    sessions.insert("session-b");
    sessions.remove("session-a");
    println!(
        "after removing session-a: a present {}, b present {}",
        sessions.contains("session-a"),
        sessions.contains("session-b")
    );

    println!("\n== 5. Many writers: an atomic filter shared by 4 threads");
    let shared = AtomicBloomFilter::with_false_positive_rate(400_000, 0.01)?;
    thread::scope(|s| {
        for t in 0..4u64 {
            let shared = &shared;
            s.spawn(move || {
                for i in 0..100_000 {
                    shared.insert(&(t * 100_000 + i));
                }
            });
        }
    });
    let all = (0..400_000u64).all(|i| shared.contains(&i));
    println!(
        "all 400,000 keys visible after the threads joined: {all}; estimated count {}",
        shared.len_estimate()
    );
    Ok(())
}
