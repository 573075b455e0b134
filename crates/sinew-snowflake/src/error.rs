//! Every error type of the crate: [`ConfigError`] from the builders, and one type per
//! operation holding only the variants that operation can produce.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::Field;

/// Why settings were rejected: a [`Layout`](crate::Layout) that
/// [`LayoutBuilder::build`](crate::LayoutBuilder::build) refused, or a generator that
/// [`GeneratorBuilder::build`](crate::GeneratorBuilder::build) (and so
/// [`Generator::new`](crate::Generator::new) and
/// [`Generator::with_clock`](crate::Generator::with_clock)) or
/// [`LocalGenerator::with_batch_size`](crate::LocalGenerator::with_batch_size) could not
/// start. Each variant names the setting at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The layout's field widths add up to more bits than allowed (63, or 64 with
    /// [`LayoutBuilder::use_sign_bit`](crate::LayoutBuilder::use_sign_bit)).
    FieldsTooWide {
        /// The sum of the field widths.
        bits: u32,
        /// The most allowed.
        max: u32,
    },
    /// The layout's timestamp field has zero width, so IDs would not be time-ordered.
    ZeroTimestampBits,
    /// The layout's tick is zero (or below one nanosecond).
    ZeroTick,
    /// The layout's epoch is before 1970-01-01T00:00:00Z.
    EpochBeforeUnixEpoch,
    /// The layout's timestamp field would run out after the year 2554 (the end of `u64`
    /// nanoseconds since 1970, which this crate computes in). Use fewer timestamp bits or a
    /// shorter tick.
    ExpiresTooLate,
    /// The worker id does not fit the layout's worker field.
    WorkerOutOfRange {
        /// The worker id given.
        worker: u64,
        /// The largest the layout holds.
        max: u64,
    },
    /// The layout's epoch is later than the generator clock's current time.
    EpochInFuture {
        /// The layout's epoch.
        epoch: SystemTime,
        /// What the clock read.
        now: SystemTime,
    },
    /// The resume point ([`GeneratorBuilder::resume_after`](crate::GeneratorBuilder::resume_after))
    /// has bits above the layout's width, so the layout did not make it.
    ResumeAfterForeignId {
        /// The ID given.
        id: u64,
    },
    /// The resume point is the layout's very last ID: no ID can follow it, as the layout's
    /// timestamp field has run out.
    ResumeAfterExpired {
        /// When the layout ran out ([`Layout::expires_at`](crate::Layout::expires_at)).
        at: SystemTime,
    },
    /// A [`LocalGenerator`](crate::LocalGenerator)'s batch size is zero or more than one tick
    /// holds.
    BatchSize {
        /// The batch size given.
        requested: u64,
        /// The most one batch can hold: the layout's IDs per tick.
        max: u64,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldsTooWide { bits, max } => {
                write!(
                    f,
                    "layout fields total {bits} bits, more than the {max} allowed"
                )
            }
            Self::ZeroTimestampBits => f.write_str("layout has a zero-width timestamp field"),
            Self::ZeroTick => f.write_str("layout tick must be at least one nanosecond"),
            Self::EpochBeforeUnixEpoch => f.write_str("layout epoch is before 1970"),
            Self::ExpiresTooLate => {
                f.write_str("layout timestamp field outlasts the year 2554 (u64 nanoseconds)")
            }
            Self::WorkerOutOfRange { worker, max } => {
                write!(f, "worker id {worker} does not fit the layout (max {max})")
            }
            Self::EpochInFuture { epoch, now } => write!(
                f,
                "layout epoch {epoch:?} is after the clock's current time {now:?}"
            ),
            Self::ResumeAfterForeignId { id } => {
                write!(f, "resume point {id} was not made with this layout")
            }
            Self::ResumeAfterExpired { at } => expired(f, *at),
            Self::BatchSize { requested, max } => batch_size(f, *requested, *max),
        }
    }
}

impl std::error::Error for ConfigError {}

// The messages shared by several error types, written once.

fn expired(f: &mut fmt::Formatter<'_>, at: SystemTime) -> fmt::Result {
    write!(f, "layout's timestamp field ran out at {at:?}")
}

fn batch_size(f: &mut fmt::Formatter<'_>, requested: u64, max: u64) -> fmt::Result {
    write!(f, "batch of {requested} ids; a batch holds 1 to {max}")
}

/// Why [`Generator::next_id`](crate::Generator::next_id) (or
/// [`LocalGenerator::next_id`](crate::LocalGenerator::next_id)) made no ID.
///
/// Every error leaves the generator as it was: no ID is lost or issued twice because of one,
/// and the next call may succeed (after the clock catches up, for example).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextIdError {
    /// The clock reads further behind the last ID issued than the rollback tolerance allows.
    /// No ID was issued; the call succeeds again once the clock has caught up.
    ClockMovedBackwards {
        /// How far behind the last issued tick the clock is.
        by: Duration,
        /// The tolerance it exceeded.
        tolerance: Duration,
    },
    /// The tick's sequence numbers are used up and the generator is set to
    /// [`Exhaustion::Error`](crate::Exhaustion::Error).
    SequenceExhausted,
    /// The layout's timestamp field has overflowed: it cannot make IDs after this instant.
    Expired {
        /// When the layout ran out ([`Layout::expires_at`](crate::Layout::expires_at)).
        at: SystemTime,
    },
}

impl fmt::Display for NextIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClockMovedBackwards { by, tolerance } => write!(
                f,
                "clock moved backwards by {by:?}, more than the {tolerance:?} tolerated"
            ),
            Self::SequenceExhausted => f.write_str("sequence exhausted for the current tick"),
            Self::Expired { at } => expired(f, *at),
        }
    }
}

impl std::error::Error for NextIdError {}

/// Why [`Generator::next_batch`](crate::Generator::next_batch) reserved no batch: a batch size
/// it cannot hold, or any reason [`next_id`](crate::Generator::next_id) can fail. An error
/// claims nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextBatchError {
    /// The batch asked for has zero IDs or more than one tick holds.
    BatchSize {
        /// The number of IDs asked for.
        requested: u64,
        /// The most one batch can hold: the layout's IDs per tick.
        max: u64,
    },
    /// The generator could not make IDs now, for a reason [`next_id`](crate::Generator::next_id)
    /// shares (displayed as the inner error).
    NextId(NextIdError),
}

impl fmt::Display for NextBatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BatchSize { requested, max } => batch_size(f, *requested, *max),
            Self::NextId(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for NextBatchError {}

impl From<NextIdError> for NextBatchError {
    fn from(e: NextIdError) -> Self {
        Self::NextId(e)
    }
}

/// Why [`Layout::try_decode`](crate::Layout::try_decode) did not take an ID apart.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryDecodeError {
    /// The ID has bits set above the layout's width, so this layout did not make it.
    IdOutOfRange {
        /// The ID.
        id: u64,
        /// The layout's width in bits.
        bits: u32,
    },
}

impl fmt::Display for TryDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IdOutOfRange { id, bits } => {
                write!(f, "id {id} has bits set above the layout's {bits} bits")
            }
        }
    }
}

impl std::error::Error for TryDecodeError {}

/// Why [`Layout::compose`](crate::Layout::compose) did not build an ID.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComposeError {
    /// A value does not fit its field.
    FieldOutOfRange {
        /// Which field.
        field: Field,
        /// The value given.
        value: u64,
        /// The largest value the field holds.
        max: u64,
    },
}

impl fmt::Display for ComposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FieldOutOfRange { field, value, max } => {
                write!(f, "{field} {value} does not fit its field (max {max})")
            }
        }
    }
}

impl std::error::Error for ComposeError {}

/// What is wrong with a string that does not parse as an [`Id`](crate::Id).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseIdError {
    /// The string is empty.
    Empty,
    /// The string has the wrong length for a fixed-width form (or more than 20 decimal digits).
    InvalidLength {
        /// The length required (the most allowed, for decimal).
        expected: usize,
        /// The length given, in bytes.
        found: usize,
    },
    /// A byte is not in the form's alphabet.
    InvalidCharacter {
        /// Its byte offset.
        index: usize,
        /// The byte.
        byte: u8,
    },
    /// The value is larger than `u64::MAX`.
    Overflow,
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseIdError::Empty => f.write_str("empty id"),
            ParseIdError::InvalidLength { expected, found } => {
                write!(f, "id is {found} characters long, expected {expected}")
            }
            ParseIdError::InvalidCharacter { index, byte } => {
                write!(
                    f,
                    "invalid character {:?} at offset {index} in id",
                    char::from(*byte)
                )
            }
            ParseIdError::Overflow => f.write_str("id is larger than 2^64 - 1"),
        }
    }
}

impl std::error::Error for ParseIdError {}
