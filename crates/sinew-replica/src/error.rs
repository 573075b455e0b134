//! Every error of the crate.
//!
//! - [`ConfigError`]: settings refused by [`Options::new`](crate::Options::new) and
//!   [`HintStore::new`](crate::HintStore::new).
//! - [`OpError`]: why a read or a write did not complete.
//! - [`DecodeError`]: bytes that are not a valid encoding, from
//!   [`VersionVector::decode`](crate::version::VersionVector::decode),
//!   [`Siblings::decode`](crate::version::Siblings::decode) and the other decoders.
//! - [`SimError`]: options refused by the [simulator](crate::sim).

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
    /// A field is out of its range (a node id too wide for its type, a bucket range out of
    /// order, a tree depth out of bounds).
    Invalid {
        /// The field.
        what: &'static str,
    },
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
            DecodeError::Invalid { what } => write!(f, "invalid {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A setting rejected by a constructor ([`Options::new`](crate::Options::new),
/// [`HintStore::new`](crate::HintStore::new)); each variant names its setting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `n` (replicas per key) must be in `1..=max`.
    N {
        /// The value given.
        n: usize,
        /// The largest supported.
        max: usize,
    },
    /// `r` (replies a read waits for) must be in `1..=n`.
    R {
        /// The value given.
        r: usize,
        /// The replica count.
        n: usize,
    },
    /// `w` (acknowledgements a write waits for) must be in `1..=n`.
    W {
        /// The value given.
        w: usize,
        /// The replica count.
        n: usize,
    },
    /// A hint store must hold at least one hint and one byte.
    HintLimits,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::N { n, max } => write!(f, "n = {n}: replicas per key must be in 1..={max}"),
            Self::R { r, n } => write!(f, "r = {r}: a read quorum must be in 1..=n (n = {n})"),
            Self::W { w, n } => write!(f, "w = {w}: a write quorum must be in 1..=n (n = {n})"),
            Self::HintLimits => {
                f.write_str("a hint store needs room for at least one hint and one byte")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why a read or a write did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpError {
    /// Fewer nodes are alive than the operation needs, so it was not started.
    Unavailable {
        /// Replies (r) or acknowledgements (w) the operation needs.
        needed: usize,
        /// Nodes alive among those it could use.
        alive: usize,
    },
    /// The deadline passed before enough replicas answered; a write may still have been
    /// applied by some of them (as with any quorum system, the outcome is unknown).
    Timeout {
        /// Replies or acknowledgements received.
        acked: usize,
        /// Replies or acknowledgements needed.
        needed: usize,
    },
    /// The coordinator already runs its maximum number of operations.
    Overloaded {
        /// The limit.
        max_in_flight: usize,
    },
    /// The operation's [`Options`](crate::Options) are out of range.
    Options(ConfigError),
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable { needed, alive } => {
                write!(f, "unavailable: needs {needed} replicas, {alive} alive")
            }
            Self::Timeout { acked, needed } => {
                write!(f, "timed out with {acked} of {needed} replicas answering")
            }
            Self::Overloaded { max_in_flight } => {
                write!(
                    f,
                    "overloaded: {max_in_flight} operations already in flight"
                )
            }
            Self::Options(e) => write!(f, "invalid options: {e}"),
        }
    }
}

impl std::error::Error for OpError {}

/// Why the simulator refused its options
/// ([`SimOptions::from_args`](crate::sim::SimOptions::from_args),
/// [`SimOptions::validate`](crate::sim::SimOptions::validate)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimError {
    /// A flag it does not know.
    UnknownFlag(String),
    /// The flag came last, without its value.
    MissingValue(String),
    /// The flag's value does not parse.
    BadValue {
        /// The flag.
        flag: String,
        /// Its value.
        value: String,
    },
    /// A setting out of range (the run would not be the one asked for).
    Invalid {
        /// The setting.
        setting: &'static str,
        /// What it must be.
        reason: &'static str,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::UnknownFlag(flag) => write!(f, "unknown option {flag:?} (try --help)"),
            SimError::MissingValue(flag) => write!(f, "{flag} needs a value"),
            SimError::BadValue { flag, value } => write!(f, "{flag}: cannot read {value:?}"),
            SimError::Invalid { setting, reason } => write!(f, "{setting} {reason}"),
        }
    }
}

impl std::error::Error for SimError {}
