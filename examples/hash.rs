//! Why sinew hashes with its own stable hasher, and what it guarantees: the same item gives
//! the same 64 bits in every process and on every machine, so two nodes that never talk agree
//! on where a key lives or which Bloom filter bits it sets.
//!
//! Run with `cargo run --release -p sinew-examples --example hash`.

// An example prints; a failure is a bug in the example.
#![allow(clippy::print_stdout)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};

use sinew::hash::{Xxh3Builder, Xxh3Hasher, hash_bytes, mix64, splitmix64, stable_hash};

#[derive(Hash)]
struct Key<'a> {
    tenant: u32,
    user: &'a str,
}

fn main() {
    let key = Key {
        tenant: 7,
        user: "ada",
    };

    // std's default hasher is seeded at random per process: fine for a HashMap, useless for
    // anything two processes must agree on. Run this example twice and this line changes.
    println!(
        "RandomState (differs per run):   {:#018x}",
        RandomState::new().hash_one(&key)
    );

    // sinew's: XXH3-64 under a seed you choose. Run it twice, or on another machine: same.
    let builder = Xxh3Builder::with_seed(42);
    println!(
        "Xxh3Builder, seed 42 (stable):   {:#018x}",
        builder.hash_one(&key)
    );
    assert_eq!(builder.hash_one(&key), stable_hash(42, &key));

    // What makes it portable: integers are written little-endian (std's default Hasher
    // methods use the machine's byte order), and usize as 64 bits. So a derived `Hash` of
    // `Key` is exactly these bytes: the u32, then the str's bytes and std's 0xff terminator.
    let mut bytes = 7u32.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"ada\xff");
    assert_eq!(stable_hash(42, &key), hash_bytes(42, &bytes));
    println!(
        "same as XXH3 of its {} written bytes: {:#018x}",
        bytes.len(),
        hash_bytes(42, &bytes)
    );

    // The std `Hash` output of a type is not promised across Rust versions; where another
    // language or compiler must agree, hash an explicit encoding with `hash_bytes`.
    let wire = b"tenant=7;user=ada";
    println!(
        "an explicit encoding:            {:#018x}",
        hash_bytes(42, wire)
    );

    // Writing in pieces gives the same hash as writing at once: the hasher buffers the first
    // 128 bytes (no allocation) and streams beyond.
    let long = vec![b'x'; 300];
    let mut h = Xxh3Hasher::with_seed(42);
    for piece in long.chunks(7) {
        h.write(piece);
    }
    assert_eq!(h.finish(), hash_bytes(42, &long));
    println!("300 bytes written in 7-byte pieces equal the one-shot hash");

    // The mixer: a bijection for spreading a hash, and SplitMix64 steps for reproducible keys.
    println!(
        "\nmix64(1) = {:#018x}, mix64(2) = {:#018x}",
        mix64(1),
        mix64(2)
    );
    let keys: Vec<u64> = (0..4).map(splitmix64).collect();
    println!("splitmix64(0..4) = {keys:#x?} (the same on every run: test and bench keys)");
}
