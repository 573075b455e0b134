//! Every error of the crate. Builders return [`ConfigError`], each variant naming its setting;
//! admission returns [`Rejected`]; the tower services return [`ServiceError`].

use std::fmt;
use std::time::Duration;

/// A setting out of range, from a builder's `build`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
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
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why a call was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejected {
    /// Every permit is taken (the limit is reached) and there is no queue to wait in.
    Full,
    /// Every permit is taken and the wait queue is full.
    QueueFull,
    /// The call waited in the queue for the maximum wait without getting a permit.
    Timeout,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejected::Full => "concurrency limit reached",
            Rejected::QueueFull => "concurrency limit reached and the wait queue is full",
            Rejected::Timeout => "timed out waiting for a permit",
        })
    }
}

impl std::error::Error for Rejected {}

/// The error of a call made through a tower service of this crate: either the limit turned it
/// away (load shedding), or the inner service ran and failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceError<E> {
    /// The call was not run.
    Rejected(Rejected),
    /// The inner service's own error.
    Inner(E),
}

impl<E> ServiceError<E> {
    /// The inner service's error, if it ran and failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            ServiceError::Inner(e) => Some(e),
            ServiceError::Rejected(_) => None,
        }
    }

    /// Whether the call was turned away without running.
    pub fn is_rejected(&self) -> bool {
        matches!(self, ServiceError::Rejected(_))
    }
}

impl<E: fmt::Display> fmt::Display for ServiceError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::Rejected(r) => r.fmt(f),
            ServiceError::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ServiceError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Display already shows the inner error, so the chain continues below it.
        match self {
            ServiceError::Inner(e) => e.source(),
            ServiceError::Rejected(_) => None,
        }
    }
}

impl<E> From<Rejected> for ServiceError<E> {
    fn from(r: Rejected) -> Self {
        ServiceError::Rejected(r)
    }
}
