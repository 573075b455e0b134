//! Bits per key and measured false-positive rate of every sinew-bloom filter and of the peer
//! crates, at the same n and target rate, as a table.
//!
//! Run with `cargo run --release -p sinew-benches --bin bloom_report [n]` (default
//! n = 1,000,000). Inserted keys are `splitmix64(i)` for `i < n`; the rate is measured over n
//! keys that were never inserted. Each filter is sized by its own constructor for n at the
//! target (sbbf-rs-safe, which takes bits per key, gets Parquet's sizing as sinew's
//! split-block filter computes it; xorf's BinaryFuse8 has no target and is shown once).
#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation
)]

use sinew_hash::splitmix64;
use std::error::Error;
use std::hash::BuildHasher;

use sinew_bloom::{
    AtomicBloomFilter, BlockedBloomFilter, BloomFilter, CountingBloomFilter, Filter,
    ScalableBloomFilter, SplitBlockBloomFilter, Xxh3Builder,
};
use xorf::Filter as _;

/// One row: inserts the n keys, then counts hits among n absent keys.
fn row(
    name: &str,
    target: f64,
    n: u64,
    bits: u64,
    mut insert: impl FnMut(u64),
    contains: impl Fn(u64) -> bool,
) {
    for i in 0..n {
        insert(splitmix64(i));
    }
    assert!(
        (0..n).all(|i| contains(splitmix64(i))),
        "{name}: false negative"
    );
    let hits = (n..2 * n).filter(|i| contains(splitmix64(*i))).count();
    let rate = hits as f64 / n as f64;
    println!(
        "| {name} | {:.2}% | {:.2} | {:.4}% | {:.3} |",
        target * 100.0,
        bits as f64 / n as f64,
        rate * 100.0,
        rate / target
    );
}

/// A sinew filter's row; `bits_per_cell` is 4 for the counting filter, whose cells are
/// 4-bit counters, so the column shows memory.
fn sinew<F: Filter>(name: &str, target: f64, n: u64, mut f: F, bits_per_cell: u64) {
    for i in 0..n {
        f.insert(&splitmix64(i));
    }
    let bits = f.bits() * bits_per_cell;
    row(name, target, n, bits, |_| {}, |k| f.contains(&k));
}

fn main() -> Result<(), Box<dyn Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let items = usize::try_from(n)?;
    println!("n = {n} keys; rate measured over {n} absent keys\n");
    println!("| filter | target | bits/key | measured rate | measured / target |");
    println!("|---|---|---|---|---|");
    let h = Xxh3Builder::default();
    for target in [0.01, 0.001] {
        sinew(
            "sinew BloomFilter",
            target,
            n,
            BloomFilter::with_false_positive_rate(items, target)?,
            1,
        );
        sinew(
            "sinew BlockedBloomFilter",
            target,
            n,
            BlockedBloomFilter::with_false_positive_rate(items, target)?,
            1,
        );
        sinew(
            "sinew AtomicBloomFilter",
            target,
            n,
            AtomicBloomFilter::with_false_positive_rate(items, target)?,
            1,
        );
        sinew(
            "sinew SplitBlockBloomFilter",
            target,
            n,
            SplitBlockBloomFilter::with_false_positive_rate(items, target)?,
            1,
        );
        sinew(
            "sinew CountingBloomFilter (4 bits per cell)",
            target,
            n,
            CountingBloomFilter::with_false_positive_rate(items, target)?,
            4,
        );
        sinew(
            "sinew ScalableBloomFilter (from n/100)",
            target,
            n,
            ScalableBloomFilter::with_false_positive_rate(items / 100, target)?,
            1,
        );

        let mut fb = fastbloom::BloomFilter::with_false_pos(target)
            .hasher(Xxh3Builder::default())
            .expected_items(items);
        for i in 0..n {
            fb.insert(&splitmix64(i));
        }
        let bits = fb.num_bits() as u64;
        row(
            "fastbloom 0.17",
            target,
            n,
            bits,
            |_| {},
            |k| fb.contains(&k),
        );

        let mut bf = bloomfilter::Bloom::new_for_fp_rate_with_seed(items, target, &[7; 32])?;
        let bits = bf.len();
        for i in 0..n {
            bf.set(&splitmix64(i));
        }
        row("bloomfilter 3", target, n, bits, |_| {}, |k| bf.check(&k));

        let split_bits = SplitBlockBloomFilter::with_false_positive_rate(items, target)?.bits();
        let mut sb = sbbf_rs_safe::Filter::new((split_bits as usize).div_ceil(items), items);
        for i in 0..n {
            sb.insert_hash(h.hash_one(splitmix64(i)));
        }
        let bits = sb.as_bytes().len() as u64 * 8;
        row(
            "sbbf-rs-safe 0.3",
            target,
            n,
            bits,
            |_| {},
            |k| sb.contains_hash(h.hash_one(k)),
        );
    }
    let keys: Vec<u64> = (0..n).map(|i| h.hash_one(splitmix64(i))).collect();
    let fuse = xorf::BinaryFuse8::try_from(&keys)?;
    let bits = fuse.fingerprints.len() as u64 * 8;
    row(
        "xorf BinaryFuse8 (static)",
        1.0 / 256.0,
        n,
        bits,
        |_| {},
        |k| fuse.contains(&h.hash_one(k)),
    );
    Ok(())
}
