//! Every error of the crate.
//!
//! - [`DecodeError`]: bytes that are not a valid encoding, from
//!   [`VersionVector::decode`](crate::version::VersionVector::decode),
//!   [`Siblings::decode`](crate::version::Siblings::decode) and the other decoders.

use std::fmt;

/// Why bytes were refused by a decoder. Decoders never panic and never allocate more than
/// the input justifies; every invariant the decoded type guarantees is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends inside a value.
    Truncated,
    /// A varint is longer than 10 bytes, overflows 64 bits, or is not in its shortest form
    /// (so every value has exactly one encoding).
    Overlong,
    /// A count is above the decoder's limit.
    TooMany {
        /// What was counted (`"actors"`, `"siblings"`, ...).
        what: &'static str,
        /// The count found in the input.
        count: u64,
        /// The largest count accepted.
        max: u64,
    },
    /// Actors of a version vector, or dots of siblings, are not strictly increasing
    /// (out of order, or a duplicate), or an actor id overflows 64 bits.
    Unsorted,
    /// A counter is zero: a version vector stores no zero entries, and no dot has counter 0.
    ZeroCounter,
    /// A sibling's dot is not covered by the object's causal context.
    Uncovered,
    /// Bytes are left after a value that must fill the whole input.
    Trailing,
    /// A tag byte names no known variant.
    UnknownTag {
        /// What the tag selects (a message kind, ...).
        what: &'static str,
        /// The tag found.
        tag: u64,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("input ends inside a value"),
            DecodeError::Overlong => {
                f.write_str("varint is overlong (not minimal, over 10 bytes or over 64 bits)")
            }
            DecodeError::TooMany { what, count, max } => {
                write!(f, "{count} {what}, at most {max} accepted")
            }
            DecodeError::Unsorted => {
                f.write_str("actors or dots are not strictly increasing (unsorted or duplicate)")
            }
            DecodeError::ZeroCounter => f.write_str("a counter is zero"),
            DecodeError::Uncovered => {
                f.write_str("a sibling's dot is not covered by the object's causal context")
            }
            DecodeError::Trailing => f.write_str("bytes left after the value"),
            DecodeError::UnknownTag { what, tag } => write!(f, "unknown {what} tag {tag}"),
        }
    }
}

impl std::error::Error for DecodeError {}
