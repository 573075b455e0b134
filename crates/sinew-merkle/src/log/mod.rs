//! The verifiable log: RFC 6962/9162 append-only Merkle trees, their inclusion and consistency
//! proofs, and the verifiers.
//!
//! - [`MerkleTree`]: an append-only log. [`push`](MerkleTree::push) is amortized `O(1)`
//!   hashing; [`root_at`](MerkleTree::root_at), [`inclusion_proof`](MerkleTree::inclusion_proof)
//!   and [`consistency_proof`](MerkleTree::consistency_proof) answer for any earlier size.
//! - [`CompactTree`]: the `O(log n)` frontier, for writers that do not keep the leaves.
//! - [`InclusionProof`] and [`ConsistencyProof`]: proofs with a stable
//!   [byte encoding](#proof-byte-encoding-version-1-stable) (and serde behind a feature),
//!   verified against trusted sizes and roots with their `verify` methods.
//! - [`verify_inclusion`] and [`verify_consistency`]: the RFC 9162 verifiers as free functions,
//!   panic-free and allocation-free on any input; `_with` forms for any hasher, `_raw` forms for
//!   hashes of unchecked length, [`root_from_inclusion_proof`] without the final comparison.
//! - Hashing exactly as RFC 6962: `leaf = H(0x00 || data)` ([`leaf_hash`]),
//!   `node = H(0x01 || left || right)` ([`node_hash`]), no duplication of odd nodes; every
//!   hash is a 32-byte [`Digest`]. SHA-256 by default ([`Sha256Hasher`], using the CPU's SHA
//!   extensions when present), any 32-byte hash through [`MerkleHasher`] (BLAKE3 with the
//!   `blake3` feature).
//!
//! # Examples
//!
//! ```
//! use sinew_merkle::MerkleTree;
//! use sinew_merkle::log::{leaf_hash, verify_consistency, verify_inclusion};
//!
//! let mut log = MerkleTree::new();
//! log.push(b"alice pays bob 5");
//! log.push(b"bob pays carol 2");
//! let (old_size, old_root) = (log.len(), log.root());
//! log.push(b"carol pays dan 1");
//!
//! let proof = log.inclusion_proof(1, log.len())?;
//! verify_inclusion(&leaf_hash(b"bob pays carol 2"), 1, log.len(), proof.hashes(), &log.root())?;
//! let proof = log.consistency_proof(old_size, log.len())?;
//! verify_consistency(old_size, log.len(), proof.hashes(), &old_root, &log.root())?;
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Proof byte encoding (version 1, stable)
//!
//! [`InclusionProof::to_bytes`] and [`ConsistencyProof::to_bytes`]. All integers are
//! big-endian; hashes are 32 raw bytes, listed from the bottom of the tree up.
//!
//! ```text
//! inclusion:    0x01 | index: u64 | size: u64         | count: u8 | count x hash
//! consistency:  0x02 | old_size: u64 | new_size: u64  | count: u8 | count x hash
//! ```
//!
//! The first byte is the type tag, which doubles as the format version: a later format will
//! use new tag bytes, which this version rejects with
//! [`DecodeError::UnknownTag`](crate::DecodeError::UnknownTag). Decoding checks the shape:
//! `index < size`, `0 < old_size <= new_size`, that `count` is exactly the number of hashes a
//! proof for those sizes has (at most 64, or 65 for consistency), and that no bytes trail. A
//! decoded proof can still be wrong; only verification against a trusted size and root says it
//! is right (see the `# Security` notes on the `verify` and `from_bytes` methods).

mod compact;
mod hasher;
mod proof;
mod tree;
mod verify;

pub use compact::CompactTree;
#[cfg(feature = "blake3")]
pub use hasher::Blake3Hasher;
pub use hasher::{
    Digest, LEAF_PREFIX, MerkleHasher, NODE_PREFIX, Sha256Hasher, empty_root, leaf_hash, node_hash,
};
pub use proof::{ConsistencyProof, InclusionProof};
pub use tree::MerkleTree;
pub use verify::{
    root_from_inclusion_proof, verify_consistency, verify_consistency_raw, verify_consistency_with,
    verify_inclusion, verify_inclusion_raw, verify_inclusion_with,
};
