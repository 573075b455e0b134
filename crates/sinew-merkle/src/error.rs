//! The error types: [`TreeError`], [`VerifyError`], [`DecodeError`], [`ConfigError`],
//! [`ReconcileError`].

use std::fmt;

/// Why a tree could not answer a request (a root or a proof for sizes it does not have) or
/// take another leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TreeError {
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
    /// The tree already has `u64::MAX` leaves, the most its size can count (a
    /// [`CompactTree`](crate::CompactTree) restored with that size).
    Full {
        /// The tree's size.
        len: u64,
    },
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SizeOutOfRange { size, len } => {
                write!(f, "tree size {size} is larger than the tree ({len} leaves)")
            }
            Self::IndexOutOfRange { index, size } => {
                write!(f, "leaf index {index} is not below tree size {size}")
            }
            Self::SizesOutOfOrder { old_size, new_size } => {
                write!(f, "old size {old_size} is larger than new size {new_size}")
            }
            Self::EmptyOldTree => {
                f.write_str("consistency proofs from the empty tree are undefined")
            }
            Self::Full { len } => write!(f, "the tree is full ({len} leaves)"),
        }
    }
}

impl std::error::Error for TreeError {}

/// Why a proof did not verify. Every verifier returns one of these for any input it rejects;
/// none panics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The leaf index is not below the tree size.
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The old tree is larger than the new one.
    SizesOutOfOrder {
        /// The claimed old size.
        size1: u64,
        /// The claimed new size.
        size2: u64,
    },
    /// A consistency proof from the empty tree (RFC 9162 defines none; nothing to verify).
    EmptyOldTree,
    /// The proof has the wrong number of hashes for the claimed index and sizes.
    ProofLength {
        /// How many hashes a proof for these sizes has.
        expected: usize,
        /// How many the proof has.
        actual: usize,
    },
    /// A proof object's own tree size is not the trusted size it was verified against
    /// ([`InclusionProof::verify`](crate::InclusionProof::verify),
    /// [`ConsistencyProof::verify`](crate::ConsistencyProof::verify)).
    SizeMismatch {
        /// The size the proof carries.
        proof: u64,
        /// The trusted size given to the verifier.
        trusted: u64,
    },
    /// A hash given as bytes is not 32 bytes long (the `_raw` verifiers).
    HashLength {
        /// Its length.
        len: usize,
    },
    /// The proof does not lead to the claimed root(s): the leaf is not in the tree, or the
    /// trees are not consistent, or the proof or a root was altered.
    RootMismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IndexOutOfRange { index, size } => {
                write!(f, "leaf index {index} is not below tree size {size}")
            }
            Self::SizesOutOfOrder { size1, size2 } => {
                write!(
                    f,
                    "old tree size {size1} is larger than new tree size {size2}"
                )
            }
            Self::EmptyOldTree => {
                f.write_str("consistency proofs from the empty tree are undefined")
            }
            Self::ProofLength { expected, actual } => {
                write!(f, "proof has {actual} hashes, expected {expected}")
            }
            Self::SizeMismatch { proof, trusted } => write!(
                f,
                "proof is for tree size {proof}, but the trusted tree size is {trusted}"
            ),
            Self::HashLength { len } => write!(f, "hash is {len} bytes, expected 32"),
            Self::RootMismatch => f.write_str("proof does not match the root hash"),
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

/// An invalid anti-entropy configuration.
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
    /// ([`DEFAULT_MAX_CANDIDATES`](crate::reconcile::DEFAULT_MAX_CANDIDATES) or the one given
    /// to `with_limit`): the trees differ almost everywhere, or the peer claims they do. Fall
    /// back to a full copy, or retry with a larger limit on both sides.
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
            Self::Incompatible { local, remote } => write!(
                f,
                "trees are incompatible: local depth {} seed {:#x}, remote depth {} seed {:#x}",
                local.0, local.1, remote.0, remote.1
            ),
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
