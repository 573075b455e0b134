//! Merkle trees for distributed systems, in two modules:
//!
//! - [`log`]: **verifiable logs** (RFC 6962/9162, as in Certificate Transparency, transparency
//!   logs and audit trails): an append-only [`MerkleTree`] (and the `O(log n)`
//!   [`CompactTree`](log::CompactTree)), inclusion and consistency proofs with a stable byte
//!   encoding, and panic-free verifiers. Hashing is exactly RFC 6962's:
//!   `leaf = H(0x00 || data)`, `node = H(0x01 || left || right)`, no duplication of odd nodes;
//!   SHA-256 by default ([`Sha256Hasher`], using the CPU's SHA extensions when present), any
//!   32-byte hash through [`MerkleHasher`](log::MerkleHasher) (BLAKE3 with the `blake3`
//!   feature). Every hash is a 32-byte [`Digest`]. Checked against transparency-dev's RFC 6962
//!   test vectors.
//! - [`antientropy`]: **anti-entropy** (Dynamo- and Cassandra-style repair): an
//!   [`AntiEntropyTree`] of `2^depth` buckets by key hash, updated through `&self` from many
//!   threads, and the sans-io [`Reconciler`](antientropy::Reconciler) /
//!   [`Responder`](antientropy::Responder) exchange that finds the bucket ranges two replicas
//!   disagree on ([`diff`](antientropy::diff) for two trees in one process).
//!
//! The crate root holds the types named every day: [`MerkleTree`], [`AntiEntropyTree`],
//! [`Sha256Hasher`], [`Digest`] and the error types; everything else is in its module.
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
//! use sinew_merkle::MerkleTree;
//! use sinew_merkle::log::{leaf_hash, verify_consistency, verify_inclusion};
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
//! use sinew_merkle::AntiEntropyTree;
//! use sinew_merkle::antientropy::{diff, ranges_contain};
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
//! - `serde`: `Serialize`/`Deserialize` for [`InclusionProof`](log::InclusionProof) and
//!   [`ConsistencyProof`](log::ConsistencyProof) (hashes as hex strings in human-readable
//!   formats; deserializing checks the proof's shape).
//! - `blake3`: `log::Blake3Hasher`, BLAKE3 with RFC 6962's tree shape and prefixes.
//!
//! # Errors
//!
//! Each operation returns an error type holding only the variants it can produce:
//!
//! | operation | error |
//! |---|---|
//! | [`MerkleTree::root_at`] | [`RootAtError`] |
//! | [`MerkleTree::inclusion_proof`] | [`InclusionProofError`] |
//! | [`MerkleTree::consistency_proof`] | [`ConsistencyProofError`] |
//! | [`CompactTree::push`](log::CompactTree::push), [`push_leaf_hash`](log::CompactTree::push_leaf_hash) | [`PushError`] |
//! | [`CompactTree::from_parts`](log::CompactTree::from_parts) | [`FromPartsError`] |
//! | [`InclusionProof::new`](log::InclusionProof::new), [`root_from_inclusion_proof`](log::root_from_inclusion_proof) | [`InclusionShapeError`] |
//! | [`ConsistencyProof::new`](log::ConsistencyProof::new) | [`ConsistencyShapeError`] |
//! | [`verify_inclusion`](log::verify_inclusion), [`verify_inclusion_with`](log::verify_inclusion_with) | [`VerifyInclusionError`] |
//! | [`verify_inclusion_raw`](log::verify_inclusion_raw) | [`VerifyInclusionRawError`] |
//! | [`verify_consistency`](log::verify_consistency), [`verify_consistency_with`](log::verify_consistency_with) | [`VerifyConsistencyError`] |
//! | [`verify_consistency_raw`](log::verify_consistency_raw) | [`VerifyConsistencyRawError`] |
//! | [`InclusionProof::verify`](log::InclusionProof::verify), [`ConsistencyProof::verify`](log::ConsistencyProof::verify) | [`VerifyError`] |
//! | [`InclusionProof::from_bytes`](log::InclusionProof::from_bytes), [`ConsistencyProof::from_bytes`](log::ConsistencyProof::from_bytes), [`Message::decode`](antientropy::Message::decode) | [`DecodeError`] |
//! | [`AntiEntropyTree::new`], [`AntiEntropyTree::with_seed`] | [`ConfigError`] |
//! | [`antientropy::diff`] | [`DiffError`] |
//! | [`Reconciler::receive`](antientropy::Reconciler::receive), [`Responder::respond`](antientropy::Responder::respond) | [`ReconcileError`] |
//!
//! # Guarantees
//!
//! - **Bad input.** The verifiers return an error for every input they reject (zero or huge
//!   sizes, index beyond size, proofs of the wrong length, altered hashes) and never panic or
//!   allocate. Decoders ([`InclusionProof::from_bytes`](log::InclusionProof::from_bytes),
//!   [`Message::decode`](antientropy::Message::decode)) return [`DecodeError`] for any
//!   malformed input and never allocate more than the input's length (a
//!   [`Message::Diff`](antientropy::Message::Diff) keeps its flags packed, as sent). Both are
//!   fuzzed (`merkle_verify`, `merkle_decode`). The reconciler and responder cap the candidates
//!   of a round ([`DEFAULT_MAX_CANDIDATES`](antientropy::DEFAULT_MAX_CANDIDATES)), so a
//!   dishonest peer cannot make them hold `2^depth`.
//! - **Complexity.** [`MerkleTree::push`]: amortized two hashes. Roots and proofs: `O(log n)`
//!   hashes. Memory: 64 bytes per leaf. [`CompactTree`](log::CompactTree): at most 64 hashes
//!   of state. [`AntiEntropyTree`]: about `17 * 2^depth` bytes; a write is three atomic
//!   operations; a reconciliation takes at most `depth` round trips of `16 * candidates` bytes.
//! - **Thread safety.** Trees are `Send + Sync`. [`MerkleTree`] and
//!   [`CompactTree`](log::CompactTree) take `&mut self` to append. [`AntiEntropyTree`] is
//!   written through `&self` by any number of threads; once they are done, its digests equal
//!   those of the sequential history (loom-checked).
//! - **Security.** Leaf and node hashes are domain-separated and odd nodes are not duplicated,
//!   so neither the second-preimage attack on unseparated trees nor the CVE-2012-2459
//!   duplicate-leaf ambiguity applies. RFC 9162's verifiers do not pin down the tree size a
//!   proof is for, so take sizes with roots from a trusted tree head: the free verifiers take
//!   them as arguments, and [`InclusionProof::verify`](log::InclusionProof::verify) /
//!   [`ConsistencyProof::verify`](log::ConsistencyProof::verify) take the trusted sizes and
//!   reject a proof that carries others. The anti-entropy digests use XXH3, a fast
//!   non-cryptographic hash: they detect accidental divergence between replicas you run, and
//!   are not meant to resist a replica that crafts collisions.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod antientropy;
mod error;
pub mod log;
mod sync;

// The README's code blocks, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

pub use antientropy::AntiEntropyTree;
pub use error::{
    ConfigError, ConsistencyProofError, ConsistencyShapeError, DecodeError, DiffError,
    FromPartsError, InclusionProofError, InclusionShapeError, PushError, ReconcileError,
    RootAtError, VerifyConsistencyError, VerifyConsistencyRawError, VerifyError,
    VerifyInclusionError, VerifyInclusionRawError,
};
pub use log::{Digest, MerkleTree, Sha256Hasher};
