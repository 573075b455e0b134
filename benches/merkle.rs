//! sinew-merkle beside rs_merkle 1.5, ct-merkle 0.3 and merkle-cbt 0.3, all on SHA-256, and the
//! anti-entropy exchange.
//!
//! Run with `cargo bench -p sinew-benches --bench merkle`.
//!
//! # Groups
//!
//! Ids are `BenchmarkId::new(implementation, configuration)`: `sinew` or the peer crate's name,
//! and `default` for each one's obvious way, or the way it is called otherwise; the report tool
//! (`bench_report`) pairs a peer row with sinew's row of the same configuration, else with
//! sinew's `default`.
//!
//! - `merkle_build_1M`: a tree of 1,048,576 32-byte leaves, from the leaves (leaf hashing
//!   included). sinew's `default` is `MerkleTree::from_leaves`, its `push` one push per leaf;
//!   ct-merkle only builds by pushing, so its row is `push`, paired with sinew's.
//! - `merkle_append_1024`: 1,024 leaves appended one by one to an empty tree (per batch).
//! - `merkle_inclusion_proof_1M`: one inclusion proof from a tree of 1M leaves.
//! - `merkle_verify_inclusion_1M`: verifying one such proof (leaf hash given; ct-merkle, whose
//!   API takes the leaf data, hashes the leaf inside, so its row is `from leaf data`, paired
//!   with sinew doing the same).
//! - `merkle_consistency_prove_1M` / `merkle_consistency_verify_1M`: proving and verifying
//!   consistency between 1M - 1,000 and 1M leaves (only ct-merkle of the peers has
//!   consistency proofs).
//! - `merkle_antientropy_reconcile_1M`, `merkle_antientropy_diff_1M`,
//!   `merkle_antientropy_insert_1_thread`, `merkle_antientropy_insert_2_threads`: two replicas
//!   of 1M keys differing in 100, depth 16: the whole reconciliation (every message encoded,
//!   decoded and answered in process), `diff`, one insert, and one insert with 2 threads
//!   sharing one tree. The bytes exchanged are printed beside the size of sending every key's
//!   hash. No peer.
//! - `merkle_leaf_hash_32B` / `merkle_node_hash`: the hash floor; a node hash is SHA-256 of 65
//!   bytes, beside `sha2`'s one-shot `Sha256::digest` of 65 bytes.
//!
//! # Fairness
//!
//! Every tree hashes with SHA-256 from the `sha2` crate (0.10 for sinew, rs_merkle and
//! merkle-cbt, 0.11 for ct-merkle, which is on `digest` 0.11), which uses the CPU's SHA
//! extensions when present, so the trees use the same hash function. They do not call it the
//! same way: sinew calls the compression function `sha2::compress256` directly (two blocks
//! per inner node, one per 32-byte leaf, no streaming buffer), while the peers go through the
//! `Digest` API (`new`/`update`/`finalize`), as their code does; part of sinew's lead on
//! hashing-bound groups is that choice, which is open to the peers' users only by patching
//! them.
//!
//! Every timed input goes through `black_box`, sinew's as the peers' (indices and sizes too,
//! so no implementation gets its index arithmetic folded at compile time).
//!
//! - rs_merkle 1.5: `rs_merkle::algorithms::Sha256`; leaves are hashed with it first (its
//!   README's way), then `MerkleTree::from_leaves`; appends use `insert` then one `commit` per
//!   batch (its batched API, so its `default`). It has no leaf/node domain separation and promotes odd nodes.
//! - ct-merkle 0.3: `MemoryBackedTree<Sha256, [u8; 32]>`, RFC 6962 hashing like sinew; it only
//!   builds by `push`.
//! - merkle-cbt 0.3: `CBMT<[u8; 32], MergeSha256>` with a merge of `SHA-256(0x01 || l || r)` written
//!   with the `Digest` API (what a user of it writes); leaves pre-hashed with `SHA-256(0x00 || x)`.
//!   Its proofs are multi-leaf capable; we ask for one leaf.

// Benches may panic on setup failure; that is a failed run, not a bug to handle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use merkle_cbt::merkle_tree::{CBMT, Merge};
use rs_merkle::Hasher as _;
use sha2::Digest as _;
use sinew_merkle::antientropy::{Reconciler, Responder, Step, diff};
use sinew_merkle::log::{leaf_hash, node_hash, verify_consistency, verify_inclusion};
use sinew_merkle::{AntiEntropyTree, MerkleTree};

const N: usize = 1 << 20;

fn leaves(n: usize) -> Vec<[u8; 32]> {
    (0..n as u64)
        .map(|i| {
            let mut l = [0u8; 32];
            l[..8].copy_from_slice(&i.to_le_bytes());
            l[8..16].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
            l
        })
        .collect()
}

struct MergeSha256;

impl Merge for MergeSha256 {
    type Item = [u8; 32];
    fn merge(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
        let mut h = sha2::Sha256::new();
        h.update([1u8]);
        h.update(left);
        h.update(right);
        h.finalize().into()
    }
}

fn cbt_leaf(x: &[u8; 32]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update([0u8]);
    h.update(x);
    h.finalize().into()
}

type CtTree = MemoryBackedTree<sha2_011::Sha256, [u8; 32]>;
type RsTree = rs_merkle::MerkleTree<rs_merkle::algorithms::Sha256>;

fn build(c: &mut Criterion) {
    let data = leaves(N);
    let mut g = c.benchmark_group("merkle_build_1M");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(N as u64));
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| black_box(MerkleTree::from_leaves(&data).root()));
    });
    g.bench_function(BenchmarkId::new("sinew", "push"), |b| {
        b.iter(|| {
            let mut t = MerkleTree::new();
            for l in &data {
                t.push(l);
            }
            black_box(t.root())
        });
    });
    g.bench_function(BenchmarkId::new("rs_merkle", "default"), |b| {
        b.iter(|| {
            let hashes: Vec<[u8; 32]> = data
                .iter()
                .map(|l| rs_merkle::algorithms::Sha256::hash(l))
                .collect();
            black_box(RsTree::from_leaves(&hashes).root())
        });
    });
    // ct-merkle only builds by pushing: paired with sinew's push.
    g.bench_function(BenchmarkId::new("ct-merkle", "push"), |b| {
        b.iter(|| {
            let mut t = CtTree::new();
            for l in &data {
                t.push(*l);
            }
            black_box(t.root())
        });
    });
    g.bench_function(BenchmarkId::new("merkle-cbt", "default"), |b| {
        b.iter(|| {
            let hashes: Vec<[u8; 32]> = data.iter().map(cbt_leaf).collect();
            black_box(CBMT::<[u8; 32], MergeSha256>::build_merkle_tree(&hashes).root())
        });
    });
    g.finish();
}

fn append(c: &mut Criterion) {
    let data = leaves(1024);
    let mut g = c.benchmark_group("merkle_append_1024");
    g.throughput(Throughput::Elements(1024));
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| {
            let mut t = MerkleTree::new();
            for l in &data {
                t.push(l);
            }
            black_box(t.len())
        });
    });
    g.bench_function(BenchmarkId::new("rs_merkle", "default"), |b| {
        b.iter(|| {
            let mut t = RsTree::new();
            for l in &data {
                t.insert(rs_merkle::algorithms::Sha256::hash(l));
            }
            t.commit();
            black_box(t.root())
        });
    });
    g.bench_function(BenchmarkId::new("ct-merkle", "default"), |b| {
        b.iter(|| {
            let mut t = CtTree::new();
            for l in &data {
                t.push(*l);
            }
            black_box(t.len())
        });
    });
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let data = leaves(N);
    let sinew = MerkleTree::from_leaves(&data);
    let rs_hashes: Vec<[u8; 32]> = data
        .iter()
        .map(|l| rs_merkle::algorithms::Sha256::hash(l))
        .collect();
    let rs = RsTree::from_leaves(&rs_hashes);
    let mut ct = CtTree::new();
    for l in &data {
        ct.push(*l);
    }
    let cbt_hashes: Vec<[u8; 32]> = data.iter().map(cbt_leaf).collect();
    let cbt = CBMT::<[u8; 32], MergeSha256>::build_merkle_tree(&cbt_hashes);
    // An index off the power-of-two grid, the same for all.
    let idx = 777_777usize;
    let n = N as u64;

    let mut g = c.benchmark_group("merkle_inclusion_proof_1M");
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| {
            black_box(
                sinew
                    .inclusion_proof(black_box(idx as u64), black_box(n))
                    .unwrap(),
            )
        });
    });
    g.bench_function(BenchmarkId::new("rs_merkle", "default"), |b| {
        b.iter(|| black_box(rs.proof(&[black_box(idx)])));
    });
    g.bench_function(BenchmarkId::new("ct-merkle", "default"), |b| {
        b.iter(|| black_box(ct.prove_inclusion(black_box(idx))));
    });
    g.bench_function(BenchmarkId::new("merkle-cbt", "default"), |b| {
        b.iter(|| black_box(cbt.build_proof(&[black_box(idx as u32)]).unwrap()));
    });
    g.finish();

    // Sanity (outside the timed loops): every proof verifies.
    let root = sinew.root();
    let leaf = leaf_hash(&data[idx]);
    let sp = sinew.inclusion_proof(idx as u64, n).unwrap();
    verify_inclusion(&leaf, idx as u64, n, sp.hashes(), &root).unwrap();
    let rp = rs.proof(&[idx]);
    let rroot = rs.root().unwrap();
    assert!(rp.verify(rroot, &[idx], &[rs_hashes[idx]], N));
    let cp = ct.prove_inclusion(idx);
    let croot = ct.root();
    croot.verify_inclusion(&data[idx], idx as u64, &cp).unwrap();
    let bp = cbt.build_proof(&[idx as u32]).unwrap();
    let broot = cbt.root();
    assert!(bp.verify(&broot, &[cbt_hashes[idx]]));
    assert_eq!(
        croot.as_bytes().as_slice(),
        &root[..],
        "ct-merkle and sinew agree"
    );

    let mut g = c.benchmark_group("merkle_verify_inclusion_1M");
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| {
            verify_inclusion(
                black_box(&leaf),
                black_box(idx as u64),
                black_box(n),
                black_box(sp.hashes()),
                black_box(&root),
            )
            .is_ok()
        });
    });
    // ct-merkle's verifier takes the leaf data and hashes it; this is sinew doing the same.
    g.bench_function(BenchmarkId::new("sinew", "from leaf data"), |b| {
        b.iter(|| {
            verify_inclusion(
                &leaf_hash(black_box(&data[idx])),
                black_box(idx as u64),
                black_box(n),
                black_box(sp.hashes()),
                black_box(&root),
            )
            .is_ok()
        });
    });
    g.bench_function(BenchmarkId::new("rs_merkle", "default"), |b| {
        b.iter(|| {
            black_box(&rp).verify(
                black_box(rroot),
                &[black_box(idx)],
                &[black_box(rs_hashes[idx])],
                black_box(N),
            )
        });
    });
    g.bench_function(BenchmarkId::new("ct-merkle", "from leaf data"), |b| {
        b.iter(|| {
            black_box(&croot)
                .verify_inclusion(black_box(&data[idx]), black_box(idx as u64), black_box(&cp))
                .is_ok()
        });
    });
    g.bench_function(BenchmarkId::new("merkle-cbt", "default"), |b| {
        b.iter(|| black_box(&bp).verify(black_box(&broot), &[black_box(cbt_hashes[idx])]));
    });
    g.finish();

    // Consistency: old size 1M - 1000.
    let old = N - 1000;
    let mut ct_old = CtTree::new();
    for l in &data[..old] {
        ct_old.push(*l);
    }
    let ct_old_root = ct_old.root();
    let old_root = sinew.root_at(old as u64).unwrap();
    let scp = sinew.consistency_proof(old as u64, n).unwrap();
    let ccp = ct.prove_consistency(N - old);
    verify_consistency(old as u64, n, scp.hashes(), &old_root, &root).unwrap();
    croot.verify_consistency(&ct_old_root, &ccp).unwrap();
    let mut g = c.benchmark_group("merkle_consistency_prove_1M");
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| {
            black_box(
                sinew
                    .consistency_proof(black_box(old as u64), black_box(n))
                    .unwrap(),
            )
        });
    });
    g.bench_function(BenchmarkId::new("ct-merkle", "default"), |b| {
        b.iter(|| black_box(ct.prove_consistency(black_box(N - old))));
    });
    g.finish();
    let mut g = c.benchmark_group("merkle_consistency_verify_1M");
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| {
            verify_consistency(
                black_box(old as u64),
                black_box(n),
                black_box(scp.hashes()),
                black_box(&old_root),
                black_box(&root),
            )
            .is_ok()
        });
    });
    g.bench_function(BenchmarkId::new("ct-merkle", "default"), |b| {
        b.iter(|| {
            black_box(&croot)
                .verify_consistency(black_box(&ct_old_root), black_box(&ccp))
                .is_ok()
        });
    });
    g.finish();
}

/// Runs a whole exchange in process; returns the total bytes and rounds.
fn reconcile(a: &AntiEntropyTree, b: &AntiEntropyTree) -> (u64, u32, usize) {
    let mut rec = Reconciler::new(a);
    let mut resp = Responder::new(b);
    let mut msg = rec.start();
    loop {
        let reply = resp.respond(&msg).unwrap();
        match rec.receive(&reply).unwrap() {
            Step::Send(next) => msg = next,
            Step::Done(ranges) => {
                return (
                    rec.bytes_sent() + rec.bytes_received(),
                    rec.rounds(),
                    ranges.len(),
                );
            }
        }
    }
}

fn antientropy(c: &mut Criterion) {
    const KEYS: u64 = 1_000_000;
    const DEPTH: u8 = 16;
    let a = AntiEntropyTree::new(DEPTH).unwrap();
    let b = AntiEntropyTree::new(DEPTH).unwrap();
    for k in 0..KEYS {
        a.insert(k.to_be_bytes(), 1);
        // 100 differences: 40 changed versions, 30 keys b lost, 30 keys only b has.
        match k % 10_000 {
            0 if k < 400_000 => b.insert(k.to_be_bytes(), 2),
            0 if k < 700_000 => {}
            _ => b.insert(k.to_be_bytes(), 1),
        }
    }
    for k in KEYS..KEYS + 30 {
        b.insert(k.to_be_bytes(), 1);
    }
    let (bytes, rounds, ranges) = reconcile(&a, &b);
    // The setup has the 100 differences it claims: the buckets differ where the keys do.
    let differing: std::collections::BTreeSet<u32> = (0..KEYS + 30)
        .filter(|k| (k % 10_000 == 0 && *k < 700_000) || *k >= KEYS)
        .map(|k| a.bucket_of(k.to_be_bytes()))
        .collect();
    let found: usize = diff(&a, &b).unwrap().iter().map(|r| r.len() as usize).sum();
    assert_eq!(found, differing.len());
    // Sending every key's hash: one 16-byte entry hash per key (8-byte key hash and 8-byte
    // version would be the same size).
    let full = KEYS * 16;
    println!(
        "antientropy: 1M keys, 100 differing, depth {DEPTH}: {rounds} rounds, {bytes} bytes \
         exchanged, {ranges} differing bucket ranges; full key-hash transfer {full} bytes; \
         ratio {:.3}%",
        bytes as f64 * 100.0 / full as f64
    );

    let sinew = BenchmarkId::new("sinew", "default");
    let mut g = c.benchmark_group("merkle_antientropy_reconcile_1M");
    g.sample_size(20);
    g.bench_function(sinew.clone(), |bench| {
        bench.iter(|| black_box(reconcile(&a, &b)));
    });
    g.finish();
    let mut g = c.benchmark_group("merkle_antientropy_diff_1M");
    g.sample_size(20);
    g.bench_function(sinew.clone(), |bench| {
        bench.iter(|| black_box(diff(&a, &b).unwrap()));
    });
    g.finish();
    let t = AntiEntropyTree::new(DEPTH).unwrap();
    let mut k = 0u64;
    let mut g = c.benchmark_group("merkle_antientropy_insert_1_thread");
    g.sample_size(20);
    g.bench_function(sinew.clone(), |bench| {
        bench.iter(|| {
            k += 1;
            t.insert(black_box(k.to_be_bytes()), 1);
        });
    });
    // Two threads inserting into one tree; wall time per insert (each thread does half).
    let shared = AntiEntropyTree::new(DEPTH).unwrap();
    let next = std::sync::atomic::AtomicU64::new(0);
    g.finish();
    let mut g = c.benchmark_group("merkle_antientropy_insert_2_threads");
    g.sample_size(20);
    g.bench_function(sinew, |bench| {
        bench.iter_custom(|iters| {
            let start = std::time::Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..iters / 2 {
                            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            shared.insert(black_box(k.to_be_bytes()), 1);
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
    g.finish();
}

/// The hash floor: one RFC 6962 node hash (two SHA-256 compressions) and one 32-byte leaf hash
/// (one compression). A 1M-leaf verification is 20 node hashes.
fn hashes(c: &mut Criterion) {
    let (l, r) = ([1u8; 32], [2u8; 32]);
    let mut g = c.benchmark_group("merkle_leaf_hash_32B");
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| leaf_hash(black_box(&l)));
    });
    g.finish();
    // A node hash is SHA-256 of 65 bytes (0x01 || left || right): sha2's one-shot digest of
    // 65 bytes is its baseline.
    let mut g = c.benchmark_group("merkle_node_hash");
    g.bench_function(BenchmarkId::new("sinew", "default"), |b| {
        b.iter(|| node_hash(black_box(&l), black_box(&r)));
    });
    g.bench_function(BenchmarkId::new("sha2", "Sha256::digest"), |b| {
        let buf = [3u8; 65];
        b.iter(|| sha2::Sha256::digest(black_box(&buf)));
    });
    g.finish();
}

criterion_group!(benches, hashes, build, append, proofs, antientropy);
criterion_main!(benches);
