//! Every error type of the crate: one per operation, each holding only the variants that
//! operation can produce (the crate docs list which operation returns which).

use std::fmt;

// The messages shared by several error types, written once.

fn size_out_of_range(f: &mut fmt::Formatter<'_>, size: u64, len: u64) -> fmt::Result {
    write!(f, "tree size {size} is larger than the tree ({len} leaves)")
}

fn index_out_of_range(f: &mut fmt::Formatter<'_>, index: u64, size: u64) -> fmt::Result {
    write!(f, "leaf index {index} is not below tree size {size}")
}

fn sizes_out_of_order(f: &mut fmt::Formatter<'_>, old: u64, new: u64) -> fmt::Result {
    write!(f, "old tree size {old} is larger than new tree size {new}")
}

fn empty_old_tree(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("consistency proofs from the empty tree are undefined")
}

fn proof_length(f: &mut fmt::Formatter<'_>, expected: usize, actual: usize) -> fmt::Result {
    write!(f, "proof has {actual} hashes, expected {expected}")
}

fn hash_length(f: &mut fmt::Formatter<'_>, len: usize) -> fmt::Result {
    write!(f, "hash is {len} bytes, expected 32")
}

fn root_mismatch(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("proof does not match the root hash")
}

fn incompatible(f: &mut fmt::Formatter<'_>, local: (u8, u64), remote: (u8, u64)) -> fmt::Result {
    write!(
        f,
        "trees are incompatible: local depth {} seed {:#x}, remote depth {} seed {:#x}",
        local.0, local.1, remote.0, remote.1
    )
}

/// Why [`MerkleTree::root_at`](crate::MerkleTree::root_at) has no root for a size.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootAtError {
    /// The requested tree size is larger than the tree.
    SizeOutOfRange {
        /// The size asked for.
        size: u64,
        /// The tree's size.
        len: u64,
    },
}

impl fmt::Display for RootAtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SizeOutOfRange { size, len } => size_out_of_range(f, *size, *len),
        }
    }
}

impl std::error::Error for RootAtError {}

/// Why [`MerkleTree::inclusion_proof`](crate::MerkleTree::inclusion_proof) has no proof for
/// an index and size.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InclusionProofError {
    /// The requested tree size is larger than the tree.
    SizeOutOfRange {
        /// The size asked for.
        size: u64,
        /// The tree's size.
        len: u64,
    },
    /// The leaf index is not below the tree size it was asked for.
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size it must be below.
        size: u64,
    },
}

impl fmt::Display for InclusionProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SizeOutOfRange { size, len } => size_out_of_range(f, *size, *len),
            Self::IndexOutOfRange { index, size } => index_out_of_range(f, *index, *size),
        }
    }
}

impl std::error::Error for InclusionProofError {}

/// Why [`MerkleTree::consistency_proof`](crate::MerkleTree::consistency_proof) has no proof
/// between two sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsistencyProofError {
    /// The requested new size is larger than the tree.
    SizeOutOfRange {
        /// The size asked for.
        size: u64,
        /// The tree's size.
        len: u64,
    },
    /// A consistency proof was asked for from a larger tree to a smaller one.
    SizesOutOfOrder {
        /// The old size.
        old_size: u64,
        /// The new size (smaller than `old_size`).
        new_size: u64,
    },
    /// A consistency proof was asked for from the empty tree, which RFC 9162 does not define
    /// (every tree extends the empty tree; there is nothing to prove).
    EmptyOldTree,
}

impl fmt::Display for ConsistencyProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SizeOutOfRange { size, len } => size_out_of_range(f, *size, *len),
            Self::SizesOutOfOrder { old_size, new_size } => {
                sizes_out_of_order(f, *old_size, *new_size)
            }
            Self::EmptyOldTree => empty_old_tree(f),
        }
    }
}

impl std::error::Error for ConsistencyProofError {}

/// Why a [`CompactTree`](crate::log::CompactTree) could not take another leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushError {
    /// The tree already has `u64::MAX` leaves, the most its size can count (a compact tree
    /// restored with that size).
    Full {
        /// The tree's size.
        len: u64,
    },
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { len } => write!(f, "the tree is full ({len} leaves)"),
        }
    }
}

impl std::error::Error for PushError {}

/// Why [`CompactTree::from_parts`](crate::log::CompactTree::from_parts) could not restore a
/// compact tree.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FromPartsError {
    /// The frontier does not have one hash per set bit of the size.
    FrontierLength {
        /// The number of hashes a frontier for the size has (its number of set bits).
        expected: usize,
        /// The number given.
        actual: usize,
    },
}

impl fmt::Display for FromPartsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FrontierLength { expected, actual } => write!(
                f,
                "frontier has {actual} hashes, but the size has {expected} set bits"
            ),
        }
    }
}

impl std::error::Error for FromPartsError {}

/// Why parts cannot form an inclusion proof:
/// [`InclusionProof::new`](crate::log::InclusionProof::new) and
/// [`root_from_inclusion_proof`](crate::log::root_from_inclusion_proof).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InclusionShapeError {
    /// The leaf index is not below the tree size.
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The proof has the wrong number of hashes for the index and size.
    ProofLength {
        /// How many hashes a proof for this index and size has.
        expected: usize,
        /// How many the proof has.
        actual: usize,
    },
}

impl fmt::Display for InclusionShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IndexOutOfRange { index, size } => index_out_of_range(f, *index, *size),
            Self::ProofLength { expected, actual } => proof_length(f, *expected, *actual),
        }
    }
}

impl std::error::Error for InclusionShapeError {}

/// Why parts cannot form a consistency proof:
/// [`ConsistencyProof::new`](crate::log::ConsistencyProof::new).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsistencyShapeError {
    /// The old tree is larger than the new one.
    SizesOutOfOrder {
        /// The claimed old size.
        size1: u64,
        /// The claimed new size.
        size2: u64,
    },
    /// A proof from the empty tree (RFC 9162 defines none).
    EmptyOldTree,
    /// The proof has the wrong number of hashes for the sizes.
    ProofLength {
        /// How many hashes a proof for these sizes has.
        expected: usize,
        /// How many the proof has.
        actual: usize,
    },
}

impl fmt::Display for ConsistencyShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SizesOutOfOrder { size1, size2 } => sizes_out_of_order(f, *size1, *size2),
            Self::EmptyOldTree => empty_old_tree(f),
            Self::ProofLength { expected, actual } => proof_length(f, *expected, *actual),
        }
    }
}

impl std::error::Error for ConsistencyShapeError {}

/// Why an inclusion proof did not verify: [`verify_inclusion`](crate::log::verify_inclusion)
/// and [`verify_inclusion_with`](crate::log::verify_inclusion_with). They return one of these
/// for any input they reject; none panics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyInclusionError {
    /// The index, size and proof length do not fit together (checked before any hashing;
    /// displayed as the inner error).
    Shape(InclusionShapeError),
    /// The proof does not lead to the claimed root: the leaf is not in the tree, or the proof
    /// or the root was altered.
    RootMismatch,
}

impl fmt::Display for VerifyInclusionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape(e) => e.fmt(f),
            Self::RootMismatch => root_mismatch(f),
        }
    }
}

impl std::error::Error for VerifyInclusionError {}

impl From<InclusionShapeError> for VerifyInclusionError {
    fn from(e: InclusionShapeError) -> Self {
        Self::Shape(e)
    }
}

/// Why an inclusion proof given as byte strings did not verify:
/// [`verify_inclusion_raw`](crate::log::verify_inclusion_raw).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyInclusionRawError {
    /// The index, size and proof length do not fit together.
    Shape(InclusionShapeError),
    /// A hash given as bytes is not 32 bytes long.
    HashLength {
        /// Its length.
        len: usize,
    },
    /// The proof does not lead to the claimed root.
    RootMismatch,
}

impl fmt::Display for VerifyInclusionRawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape(e) => e.fmt(f),
            Self::HashLength { len } => hash_length(f, *len),
            Self::RootMismatch => root_mismatch(f),
        }
    }
}

impl std::error::Error for VerifyInclusionRawError {}

impl From<InclusionShapeError> for VerifyInclusionRawError {
    fn from(e: InclusionShapeError) -> Self {
        Self::Shape(e)
    }
}

impl From<VerifyInclusionError> for VerifyInclusionRawError {
    fn from(e: VerifyInclusionError) -> Self {
        match e {
            VerifyInclusionError::Shape(e) => Self::Shape(e),
            VerifyInclusionError::RootMismatch => Self::RootMismatch,
        }
    }
}

/// Why a consistency proof did not verify:
/// [`verify_consistency`](crate::log::verify_consistency) and
/// [`verify_consistency_with`](crate::log::verify_consistency_with). They return one of these
/// for any input they reject; none panics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyConsistencyError {
    /// The sizes and proof length do not fit together (checked before any hashing;
    /// displayed as the inner error).
    Shape(ConsistencyShapeError),
    /// The proof does not lead to both roots: the trees are not consistent, or the proof or a
    /// root was altered.
    RootMismatch,
}

impl fmt::Display for VerifyConsistencyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape(e) => e.fmt(f),
            Self::RootMismatch => root_mismatch(f),
        }
    }
}

impl std::error::Error for VerifyConsistencyError {}

impl From<ConsistencyShapeError> for VerifyConsistencyError {
    fn from(e: ConsistencyShapeError) -> Self {
        Self::Shape(e)
    }
}

/// Why a consistency proof given as byte strings did not verify:
/// [`verify_consistency_raw`](crate::log::verify_consistency_raw).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyConsistencyRawError {
    /// The sizes and proof length do not fit together.
    Shape(ConsistencyShapeError),
    /// A hash given as bytes is not 32 bytes long.
    HashLength {
        /// Its length.
        len: usize,
    },
    /// The proof does not lead to both roots.
    RootMismatch,
}

impl fmt::Display for VerifyConsistencyRawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape(e) => e.fmt(f),
            Self::HashLength { len } => hash_length(f, *len),
            Self::RootMismatch => root_mismatch(f),
        }
    }
}

impl std::error::Error for VerifyConsistencyRawError {}

impl From<VerifyConsistencyError> for VerifyConsistencyRawError {
    fn from(e: VerifyConsistencyError) -> Self {
        match e {
            VerifyConsistencyError::Shape(e) => Self::Shape(e),
            VerifyConsistencyError::RootMismatch => Self::RootMismatch,
        }
    }
}

/// Why a proof object did not verify against trusted sizes and roots:
/// [`InclusionProof::verify`](crate::log::InclusionProof::verify) and
/// [`ConsistencyProof::verify`](crate::log::ConsistencyProof::verify) (a proof object's shape
/// was checked when it was made, so only these two remain).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The proof's own tree size is not the trusted size it was verified against.
    SizeMismatch {
        /// The size the proof carries.
        proof: u64,
        /// The trusted size given to the verifier.
        trusted: u64,
    },
    /// The proof does not lead to the trusted root(s): the leaf is not in the tree, or the
    /// trees are not consistent, or the proof or a root was altered.
    RootMismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SizeMismatch { proof, trusted } => write!(
                f,
                "proof is for tree size {proof}, but the trusted tree size is {trusted}"
            ),
            Self::RootMismatch => root_mismatch(f),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Why bytes could not be decoded (a proof or a reconciliation message). Decoding never
/// panics and never allocates more than the input's length.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended early.
    Truncated,
    /// The input has bytes after the encoded value.
    TrailingBytes,
    /// The first byte is not the tag of the expected type (the formats have no separate
    /// version field: a future version will use new tag bytes, which land here).
    UnknownTag(u8),
    /// The fields are well formed but inconsistent (for example a leaf index not below the
    /// tree size, or a hash count that does not match the sizes).
    Invalid(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("input ended early"),
            Self::TrailingBytes => f.write_str("trailing bytes after the encoded value"),
            Self::UnknownTag(t) => write!(f, "unknown tag byte {t:#04x}"),
            Self::Invalid(why) => write!(f, "invalid encoding: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// An invalid anti-entropy configuration:
/// [`AntiEntropyTree::new`](crate::AntiEntropyTree::new) and
/// [`with_seed`](crate::AntiEntropyTree::with_seed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The depth is outside `1..=MAX_DEPTH`.
    Depth {
        /// The depth given.
        depth: u8,
        /// The largest depth allowed.
        max: u8,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Depth { depth, max } => write!(f, "depth {depth} is outside 1..={max}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why two anti-entropy trees cannot be compared: [`diff`](crate::antientropy::diff).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiffError {
    /// The two trees differ in depth or seed, so their digests cannot be compared.
    Incompatible {
        /// The first tree's (depth, seed).
        local: (u8, u64),
        /// The second tree's (depth, seed).
        remote: (u8, u64),
    },
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Incompatible { local, remote } => incompatible(f, *local, *remote),
        }
    }
}

impl std::error::Error for DiffError {}

/// Why a reconciliation step failed: the peer sent garbage, a message out of turn, or runs a
/// tree with different parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconcileError {
    /// The message did not decode.
    Decode(DecodeError),
    /// The two trees differ in depth or seed, so their digests cannot be compared.
    Incompatible {
        /// This side's (depth, seed).
        local: (u8, u64),
        /// The peer's (depth, seed).
        remote: (u8, u64),
    },
    /// The message is not the one expected at this point of the protocol (wrong kind, wrong
    /// level, wrong number of digests, or the exchange has already finished).
    Unexpected(&'static str),
    /// The next round would hold more candidates than the limit
    /// ([`DEFAULT_MAX_CANDIDATES`](crate::antientropy::DEFAULT_MAX_CANDIDATES) or the one
    /// given to `with_limit`): the trees differ almost everywhere, or the peer claims they do.
    /// Fall back to a full copy, or retry with a larger limit on both sides.
    TooManyDifferences {
        /// The level of the round that would exceed the limit.
        level: u8,
        /// The candidates it would hold.
        candidates: usize,
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for ReconcileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(e) => write!(f, "bad message: {e}"),
            Self::Incompatible { local, remote } => incompatible(f, *local, *remote),
            Self::Unexpected(why) => write!(f, "unexpected message: {why}"),
            Self::TooManyDifferences {
                level,
                candidates,
                limit,
            } => write!(
                f,
                "too many differences: level {level} would hold {candidates} candidates, \
                 more than the limit of {limit}"
            ),
        }
    }
}

impl std::error::Error for ReconcileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DecodeError> for ReconcileError {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

impl From<DiffError> for ReconcileError {
    fn from(e: DiffError) -> Self {
        match e {
            DiffError::Incompatible { local, remote } => Self::Incompatible { local, remote },
        }
    }
}
