//! [`Error`]: why a generator could not start or could not make an ID.

use std::fmt;
use std::time::{Duration, SystemTime};

/// Why a [`Generator`](crate::Generator) could not be built or could not make an ID.
///
/// Every error leaves the generator as it was: no ID is lost or issued twice because of one,
/// and the next call may succeed (after the clock catches up, for example).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The worker id does not fit the layout's worker field.
    WorkerOutOfRange {
        /// The worker id given.
        worker: u64,
        /// The largest the layout holds.
        max: u64,
    },
    /// The layout's epoch is later than the clock's current time.
    EpochInFuture {
        /// The layout's epoch.
        epoch: SystemTime,
        /// What the clock read.
        now: SystemTime,
    },
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
    /// A batch was asked for with more IDs than one tick holds (or zero IDs).
    BatchSize {
        /// The number of IDs asked for.
        requested: u64,
        /// The most one batch can hold: the layout's IDs per tick.
        max: u64,
    },
    /// A resume point (`resume_after`) has bits above the layout's width, so the layout did
    /// not make it.
    ForeignId {
        /// The ID given.
        id: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WorkerOutOfRange { worker, max } => {
                write!(f, "worker id {worker} does not fit the layout (max {max})")
            }
            Error::EpochInFuture { epoch, now } => write!(
                f,
                "layout epoch {epoch:?} is after the clock's current time {now:?}"
            ),
            Error::ClockMovedBackwards { by, tolerance } => write!(
                f,
                "clock moved backwards by {by:?}, more than the {tolerance:?} tolerated"
            ),
            Error::SequenceExhausted => f.write_str("sequence exhausted for the current tick"),
            Error::Expired { at } => write!(f, "layout's timestamp field ran out at {at:?}"),
            Error::BatchSize { requested, max } => {
                write!(f, "batch of {requested} ids; a batch holds 1 to {max}")
            }
            Error::ForeignId { id } => write!(f, "id {id} was not made with this layout"),
        }
    }
}

impl std::error::Error for Error {}
