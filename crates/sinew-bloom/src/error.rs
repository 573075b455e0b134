//! The error types: [`ConfigError`], [`MergeError`], [`DecodeError`].

use std::fmt;

/// Why a filter could not be built with the parameters given.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The false-positive rate is not strictly between 0 and 1 (or is NaN).
    FalsePositiveRate(f64),
    /// A filter needs at least one bit (or counter).
    ZeroBits,
    /// The hash count is outside what this filter supports.
    Hashes {
        /// The count given.
        hashes: u32,
        /// The smallest supported.
        min: u32,
        /// The largest supported.
        max: u32,
    },
    /// The filter would need more bits than this crate supports ([`BloomFilter::MAX_BITS`](crate::BloomFilter::MAX_BITS))
    /// or than this platform can address, or the allocator refused the memory (returned as
    /// this error rather than aborting the process).
    TooLarge {
        /// The number of bits it would need (saturated at `u64::MAX`).
        bits: u64,
    },
    /// A scalable filter's tightening ratio is not strictly between 0 and 1.
    TighteningRatio(f64),
    /// A scalable filter's growth factor is below 1.
    Growth(u32),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::FalsePositiveRate(p) => {
                write!(f, "false-positive rate {p} is not strictly between 0 and 1")
            }
            ConfigError::ZeroBits => f.write_str("a filter needs at least one bit"),
            ConfigError::Hashes { hashes, min, max } => {
                write!(f, "{hashes} hashes; this filter takes {min} to {max}")
            }
            ConfigError::TooLarge { bits } => write!(f, "a filter of {bits} bits is too large"),
            ConfigError::TighteningRatio(r) => {
                write!(f, "tightening ratio {r} is not strictly between 0 and 1")
            }
            ConfigError::Growth(g) => write!(f, "growth factor {g} is below 1"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why two filters could not be combined with `union` or `intersect`.
///
/// Two filters combine only if they were built the same way: same variant, same number of
/// bits (or blocks, or counters), same hash count and same hasher (seed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MergeError {
    /// The filters have different sizes.
    Bits {
        /// This filter's size in bits (cells for a counting filter).
        left: u64,
        /// The other filter's.
        right: u64,
    },
    /// The filters use different numbers of hashes.
    Hashes {
        /// This filter's hash count.
        left: u32,
        /// The other filter's.
        right: u32,
    },
    /// The filters hash with different hashers (for the default hasher: different seeds).
    Hasher,
    /// Scalable filters combine only when their stages match one for one, and intersect only
    /// with a single stage (an item may sit in different stages of the two).
    Stages,
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::Bits { left, right } => {
                write!(f, "filters differ in size: {left} and {right} bits")
            }
            MergeError::Hashes { left, right } => {
                write!(f, "filters differ in hash count: {left} and {right}")
            }
            MergeError::Hasher => f.write_str("filters use different hashers or seeds"),
            MergeError::Stages => f.write_str("scalable filters' stages do not match"),
        }
    }
}

impl std::error::Error for MergeError {}

/// Why `from_bytes` (or `SplitBlockBloomFilter::from_bitset`) rejected its input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the encoding did.
    Truncated,
    /// The input does not start with the magic bytes `SNWB`.
    Magic,
    /// The format version is newer than this crate reads.
    Version(u16),
    /// The input holds a different variant of filter than the type asked for.
    Variant {
        /// The variant tag the type reads.
        expected: u8,
        /// The tag in the input.
        found: u8,
    },
    /// The checksum does not match the contents.
    Checksum,
    /// A header field is out of range or inconsistent with the others.
    Invalid(&'static str),
    /// The input is longer than its encoding.
    TrailingBytes,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("input ends before the filter does"),
            DecodeError::Magic => f.write_str("not a sinew-bloom filter (bad magic bytes)"),
            DecodeError::Version(v) => write!(f, "format version {v} is not supported"),
            DecodeError::Variant { expected, found } => {
                write!(
                    f,
                    "filter variant {found} where variant {expected} was expected"
                )
            }
            DecodeError::Checksum => f.write_str("checksum mismatch"),
            DecodeError::Invalid(what) => write!(f, "invalid filter: {what}"),
            DecodeError::TrailingBytes => f.write_str("trailing bytes after the filter"),
        }
    }
}

impl std::error::Error for DecodeError {}
