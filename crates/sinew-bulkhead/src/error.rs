//! Every error of the crate. Builders return [`ConfigError`], each variant naming its setting;
//! admission returns [`Rejected`]; the tower layers return [`CallError`].

use std::fmt;
use std::time::Duration;

/// Why a call was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejected {
    /// Every slot is taken (and no queue is configured, or
    /// [`try_acquire`](crate::Bulkhead::try_acquire) was asked, which never waits).
    Full,
    /// Every slot is taken and the wait queue holds its maximum of waiters.
    QueueFull,
    /// The call waited in the queue for the maximum wait without getting a slot.
    Timeout,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejected::Full => "bulkhead is full",
            Rejected::QueueFull => "bulkhead is full and its wait queue is full",
            Rejected::Timeout => "timed out waiting for a bulkhead slot",
        })
    }
}

impl std::error::Error for Rejected {}

/// The error of a call made through a tower layer of this crate: either the call was turned
/// away, or it ran and the inner service failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError<E> {
    /// The call was not admitted; the inner service never saw it.
    Rejected(Rejected),
    /// The inner service returned this error.
    Inner(E),
}

impl<E> CallError<E> {
    /// The inner service's error, if the call ran and failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Inner(e) => Some(e),
            CallError::Rejected(_) => None,
        }
    }

    /// Whether the call was turned away without running.
    pub fn is_rejected(&self) -> bool {
        matches!(self, CallError::Rejected(_))
    }

    /// Why the call was turned away, if it was.
    pub fn rejected(&self) -> Option<Rejected> {
        match self {
            CallError::Rejected(r) => Some(*r),
            CallError::Inner(_) => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(r) => r.fmt(f),
            CallError::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Display already shows the inner error, so the chain continues below it.
        match self {
            CallError::Inner(e) => e.source(),
            CallError::Rejected(_) => None,
        }
    }
}

impl<E> From<Rejected> for CallError<E> {
    fn from(r: Rejected) -> Self {
        CallError::Rejected(r)
    }
}

/// The longest [`max_wait`](crate::BulkheadBuilder::max_wait) accepted: 100 years, far past any
/// real wait and far from overflowing a timer's deadline.
pub(crate) const MAX_WAIT_LIMIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A setting out of range, from a builder's `build`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// [`BulkheadBuilder::max_concurrent`](crate::BulkheadBuilder::max_concurrent) was not set,
    /// or set to 0 (a bulkhead that admits nothing is built with
    /// [`Bulkhead::new(0)`](crate::Bulkhead::new), on purpose).
    MaxConcurrent(u32),
    /// [`BulkheadBuilder::max_wait`](crate::BulkheadBuilder::max_wait) is zero or above 100
    /// years.
    MaxWait(Duration),
    /// `min_limit` is zero or above [`MAX_LIMIT`](crate::limit::MAX_LIMIT).
    MinLimit(u32),
    /// `max_limit` is below `min_limit` or above [`MAX_LIMIT`](crate::limit::MAX_LIMIT).
    MaxLimit(u32),
    /// `initial_limit` is outside `[min_limit, max_limit]`.
    InitialLimit(u32),
    /// `window_samples` is not in `1..=`[`MAX_WINDOW_SAMPLES`](crate::limit::MAX_WINDOW_SAMPLES).
    WindowSamples(u32),
    /// `window_time` is zero or above one hour.
    WindowTime(Duration),
    /// [`Aimd`](crate::limit::Aimd)'s `backoff_ratio` is not in `[0.5, 1)` (or is NaN).
    AimdBackoffRatio(f64),
    /// [`Aimd`](crate::limit::Aimd)'s `timeout` is zero.
    AimdTimeout(Duration),
    /// [`Vegas`](crate::limit::Vegas)'s `alpha`/`beta` factors: zero, or `alpha` above `beta`.
    VegasThresholds {
        /// The alpha factor asked for.
        alpha: u32,
        /// The beta factor asked for.
        beta: u32,
    },
    /// [`Vegas`](crate::limit::Vegas)'s or [`Gradient2`](crate::limit::Gradient2)'s
    /// `smoothing` is not in `(0, 1]` (or is NaN).
    Smoothing(f64),
    /// [`Vegas`](crate::limit::Vegas)'s `probe_multiplier` is zero.
    VegasProbeMultiplier(u32),
    /// [`Gradient2`](crate::limit::Gradient2)'s `rtt_tolerance` is below 1 or not finite.
    Gradient2RttTolerance(f64),
    /// [`Gradient2`](crate::limit::Gradient2)'s `long_window` is zero.
    Gradient2LongWindow(u32),
    /// [`Gradient2`](crate::limit::Gradient2)'s `queue_size` is above
    /// [`MAX_LIMIT`](crate::limit::MAX_LIMIT).
    Gradient2QueueSize(u32),
    /// A partition's guaranteed fraction is not in `(0, 1]` (or is NaN).
    PartitionFraction {
        /// The partition's name.
        name: String,
        /// The fraction asked for.
        fraction: f64,
    },
    /// The partitions' fractions add up to more than 1.
    PartitionFractionsSum(f64),
    /// Two partitions have the same name.
    DuplicatePartition(String),
    /// A partitioned limit was built with no partition.
    NoPartitions,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::limit::{MAX_LIMIT, MAX_WINDOW_SAMPLES};
        match self {
            ConfigError::MinLimit(n) => write!(f, "min limit {n} is not in 1..={MAX_LIMIT}"),
            ConfigError::MaxLimit(n) => {
                write!(
                    f,
                    "max limit {n} is below the min limit or above {MAX_LIMIT}"
                )
            }
            ConfigError::InitialLimit(n) => {
                write!(f, "initial limit {n} is outside [min limit, max limit]")
            }
            ConfigError::WindowSamples(n) => {
                write!(f, "window samples {n} is not in 1..={MAX_WINDOW_SAMPLES}")
            }
            ConfigError::WindowTime(d) => write!(f, "window time {d:?} is zero or above 1 hour"),
            ConfigError::AimdBackoffRatio(x) => {
                write!(f, "AIMD backoff ratio {x} is not in [0.5, 1)")
            }
            ConfigError::AimdTimeout(d) => write!(f, "AIMD timeout {d:?} is zero"),
            ConfigError::VegasThresholds { alpha, beta } => write!(
                f,
                "Vegas alpha {alpha} and beta {beta} must be at least 1 with alpha <= beta"
            ),
            ConfigError::Smoothing(x) => write!(f, "smoothing {x} is not in (0, 1]"),
            ConfigError::VegasProbeMultiplier(n) => {
                write!(f, "Vegas probe multiplier {n} must be at least 1")
            }
            ConfigError::Gradient2RttTolerance(x) => {
                write!(f, "Gradient2 RTT tolerance {x} is below 1 or not finite")
            }
            ConfigError::Gradient2LongWindow(n) => {
                write!(f, "Gradient2 long window {n} must be at least 1")
            }
            ConfigError::Gradient2QueueSize(n) => {
                write!(f, "Gradient2 queue size {n} is above {MAX_LIMIT}")
            }
            ConfigError::PartitionFraction { name, fraction } => {
                write!(
                    f,
                    "partition {name:?}: fraction {fraction} is not in (0, 1]"
                )
            }
            ConfigError::PartitionFractionsSum(x) => {
                write!(f, "partition fractions add up to {x}, more than 1")
            }
            ConfigError::DuplicatePartition(name) => {
                write!(f, "partition {name:?} is defined twice")
            }
            ConfigError::NoPartitions => {
                f.write_str("a partitioned limit needs at least one partition")
            }
            ConfigError::MaxConcurrent(n) => {
                write!(f, "max concurrent {n} must be at least 1")
            }
            ConfigError::MaxWait(d) => write!(f, "max wait {d:?} is zero or above 100 years"),
        }
    }
}

impl std::error::Error for ConfigError {}
