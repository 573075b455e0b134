//! Merkle trees for distributed systems: RFC 6962/9162 verifiable logs with inclusion and
//! consistency proofs, and Merkle anti-entropy for replica repair.
//!
//! **Part one, verifiable logs** (Certificate Transparency, transparency logs, audit trails):
//!
//! - [`MerkleTree`]: an append-only log. [`push`](MerkleTree::push) is amortized `O(1)`
//!   hashing; [`root_at`](MerkleTree::root_at), [`inclusion_proof`](MerkleTree::inclusion_proof)
//!   and [`consistency_proof`](MerkleTree::consistency_proof) answer for any earlier size.
//! - [`CompactTree`]: the `O(log n)` frontier, for writers that do not keep the leaves.
//! - [`verify_inclusion`] and [`verify_consistency`]: the RFC 9162 verifiers as free functions,
//!   panic-free and allocation-free on any input; [`InclusionProof`] and [`ConsistencyProof`]
//!   with a stable [byte encoding](proof) (and serde behind a feature).
//! - Hashing exactly as RFC 6962: `leaf = H(0x00 || data)`, `node = H(0x01 || left || right)`,
//!   no duplication of odd nodes. SHA-256 by default ([`Sha256Hasher`], using the CPU's SHA
//!   extensions when present), any 32-byte hash through [`MerkleHasher`] (BLAKE3 with the
//!   `blake3` feature). Checked against transparency-dev's RFC 6962 test vectors.
//!
//! **Part two, anti-entropy** (Dynamo- and Cassandra-style repair):
//!
//! - [`AntiEntropyTree`]: `2^depth` buckets by key hash, each an order-independent sum of its
//!   entries' 128-bit hashes; updated through `&self` from many threads; inner nodes computed on
//!   demand and cached.
//! - [`Reconciler`] and [`Responder`]: a sans-io exchange that compares digests level by level,
//!   descends only into differing subtrees and ends with the differing [`BucketRange`]s; the
//!   [messages](reconcile) have a documented encoding. [`diff`] does the same for two trees in
//!   one process.
//!
//! # Should I use this?
//!
//! For a transparency log or any log whose readers must check what they are shown, yes: this
//! is RFC 6962 byte for byte, interoperable with Certificate Transparency, Trillian, Tessera and
//! sigstore's Rekor when used with SHA-256. For replica repair, use the anti-entropy tree when
//! two stores hold mostly the same keys and you want to find the few that differ without
//! shipping them all. If you need a sparse Merkle tree (a key-value map with non-membership
//! proofs) or Bitcoin's tree shape, this is not it.
//!
//! # Examples
//!
//! A log, a proof that an entry is in it, and a proof that it only grew:
//!
//! ```
//! use sinew_merkle::{leaf_hash, verify_consistency, verify_inclusion, MerkleTree};
//!
//! let mut log = MerkleTree::new();
//! for entry in ["alice pays bob 5", "bob pays carol 2", "carol pays dan 1"] {
//!     log.push(entry.as_bytes());
//! }
//! let (size1, root1) = (log.len(), log.root());
//! log.push(b"dan pays alice 7");
//!
//! let proof = log.inclusion_proof(1, log.len())?;
//! verify_inclusion(&leaf_hash(b"bob pays carol 2"), 1, log.len(), proof.hashes(), &log.root())?;
//!
//! let proof = log.consistency_proof(size1, log.len())?;
//! verify_consistency(size1, log.len(), proof.hashes(), &root1, &log.root())?;
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Two replicas find the keys they disagree on:
//!
//! ```
//! use sinew_merkle::{diff, ranges_contain, AntiEntropyTree};
//!
//! let a = AntiEntropyTree::new(12)?;
//! let b = AntiEntropyTree::new(12)?;
//! for key in 0..10_000u32 {
//!     a.insert(key.to_be_bytes(), 1);
//!     b.insert(key.to_be_bytes(), 1);
//! }
//! b.update(42u32.to_be_bytes(), 1, 2); // a missed an update of key 42
//! let ranges = diff(&a, &b)?;
//! let suspects: Vec<u32> = (0..10_000u32)
//!     .filter(|k| ranges_contain(&ranges, a.bucket_of(k.to_be_bytes())))
//!     .collect();
//! assert!(suspects.contains(&42) && suspects.len() < 20);
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Crate features
//!
//! - `serde`: `Serialize`/`Deserialize` for [`InclusionProof`] and [`ConsistencyProof`]
//!   (hashes as hex strings in human-readable formats; deserializing checks the proof's shape).
//! - `blake3`: [`Blake3Hasher`].
//!
//! # Guarantees
//!
//! - **Bad input.** The verifiers return [`VerifyError`] for every input they reject (zero or
//!   huge sizes, index beyond size, proofs of the wrong length, altered hashes) and never panic
//!   or allocate. Decoders ([`InclusionProof::from_bytes`], [`Message::decode`]) return
//!   [`DecodeError`] for any malformed input and never allocate more than the input's length
//!   (a [`Message::Diff`] keeps its flags packed, as sent). Both are fuzzed
//!   (`merkle_verify`, `merkle_decode`). The [`Reconciler`] and [`Responder`] cap the
//!   candidates of a round ([`DEFAULT_MAX_CANDIDATES`]), so a dishonest peer cannot make them
//!   hold `2^depth`.
//! - **Complexity.** [`MerkleTree::push`]: amortized two hashes. Roots and proofs: `O(log n)`
//!   hashes. Memory: 64 bytes per leaf. [`CompactTree`]: at most 64 hashes of state.
//!   [`AntiEntropyTree`]: about `17 * 2^depth` bytes; a write is three atomic operations; a
//!   reconciliation takes at most `depth` round trips of `16 * candidates` bytes.
//! - **Thread safety.** Trees are `Send + Sync`. [`MerkleTree`] and [`CompactTree`] take
//!   `&mut self` to append. [`AntiEntropyTree`] is written through `&self` by any number of
//!   threads; once they are done, its digests equal those of the sequential history
//!   (loom-checked).
//! - **Security.** Leaf and node hashes are domain-separated and odd nodes are not duplicated,
//!   so neither the second-preimage attack on unseparated trees nor the CVE-2012-2459
//!   duplicate-leaf ambiguity applies. RFC 9162's verifiers do not pin down the tree size a
//!   proof is for, so take sizes with roots from a trusted tree head: the free verifiers take
//!   them as arguments, and [`InclusionProof::verify`] / [`ConsistencyProof::verify`] take the
//!   trusted sizes and reject a proof that carries others. The anti-entropy digests use XXH3, a fast
//!   non-cryptographic hash: they detect accidental divergence between replicas you run, and
//!   are not meant to resist a replica that crafts collisions.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod antientropy;
mod compact;
mod error;
mod hasher;
pub mod proof;
pub mod reconcile;
mod sync;
mod tree;
mod verify;

pub use antientropy::{
    AntiEntropyTree, BucketRange, DEFAULT_SEED, Digest, MAX_DEPTH, diff, ranges_contain,
};
pub use compact::CompactTree;
pub use error::{ConfigError, DecodeError, ReconcileError, TreeError, VerifyError};
#[cfg(feature = "blake3")]
pub use hasher::Blake3Hasher;
pub use hasher::{
    Hash, LEAF_PREFIX, MerkleHasher, NODE_PREFIX, Sha256Hasher, empty_root, leaf_hash, node_hash,
};
pub use proof::{ConsistencyProof, InclusionProof};
pub use reconcile::{DEFAULT_MAX_CANDIDATES, DiffBits, Message, Reconciler, Responder, Step};
pub use tree::MerkleTree;
pub use verify::{
    root_from_inclusion_proof, verify_consistency, verify_consistency_raw, verify_consistency_with,
    verify_inclusion, verify_inclusion_raw, verify_inclusion_with,
};
