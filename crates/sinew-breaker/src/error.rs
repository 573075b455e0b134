//! Every error of the crate: [`ConfigError`] (from [`Builder::build`](crate::Builder::build)),
//! [`Rejected`] and [`CallError`].

use std::fmt;
use std::time::Duration;

use crate::state::MAX_PERMITS;
use crate::window::MAX_COUNT_WINDOW;

/// Why [`try_acquire`](crate::CircuitBreaker::try_acquire) turned a call away: the state
/// that rejected it, and for an open breaker how long until trial calls are let through.
///
/// Two `u64`s inside, so returning it costs the rejection path nothing (a `Duration` field,
/// with its `u32` of nanoseconds, made the compiler split neighbouring fields of the
/// permit it shares a `Result` with, and stall the closed path on the split).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejected {
    /// The [`State::bits`](crate::State) of the rejecting state.
    state: u64,
    /// For `Open`: nanoseconds until half-open.
    retry_after: u64,
}

impl Rejected {
    #[inline]
    pub(crate) const fn open(retry_after_nanos: u64) -> Rejected {
        Rejected {
            state: crate::state::OPEN,
            retry_after: retry_after_nanos,
        }
    }

    #[inline]
    pub(crate) const fn half_open_full() -> Rejected {
        Rejected {
            state: crate::state::HALF_OPEN,
            retry_after: 0,
        }
    }

    #[inline]
    pub(crate) const fn forced_open() -> Rejected {
        Rejected {
            state: crate::state::FORCED_OPEN,
            retry_after: 0,
        }
    }

    #[inline(always)]
    pub(crate) const fn from_parts(state: u64, retry_after_nanos: u64) -> Rejected {
        Rejected {
            state,
            retry_after: retry_after_nanos,
        }
    }

    #[inline(always)]
    pub(crate) const fn state_bits(&self) -> u64 {
        self.state
    }

    #[inline(always)]
    pub(crate) const fn retry_after_nanos(&self) -> u64 {
        self.retry_after
    }

    /// The state that rejected the call: [`Open`](crate::State::Open),
    /// [`HalfOpen`](crate::State::HalfOpen) (every trial permit taken) or
    /// [`ForcedOpen`](crate::State::ForcedOpen).
    pub fn state(&self) -> crate::State {
        crate::State::from_bits(self.state)
    }

    /// For an open breaker, the time left until trial calls are let through, by the breaker's
    /// clock at the moment of rejection; `None` in the other states.
    pub fn retry_after(&self) -> Option<Duration> {
        (self.state == crate::state::OPEN).then(|| Duration::from_nanos(self.retry_after))
    }
}

impl fmt::Debug for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Rejected");
        d.field("state", &self.state());
        if let Some(r) = self.retry_after() {
            d.field("retry_after", &r);
        }
        d.finish()
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.state(), self.retry_after()) {
            (_, Some(r)) => write!(f, "circuit breaker is open; retry after {r:?}"),
            (crate::State::HalfOpen, _) => {
                f.write_str("circuit breaker is half-open and all trial permits are taken")
            }
            _ => f.write_str("circuit breaker is forced open"),
        }
    }
}

impl std::error::Error for Rejected {}

/// The error of a call made through the breaker ([`call`](crate::CircuitBreaker::call) and
/// friends): either the breaker turned it away, or the call ran and failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError<E> {
    /// The breaker did not run the call.
    Rejected(Rejected),
    /// The call ran and returned this error (recorded as a failure or not, by the classifier).
    Inner(E),
    /// The call ran past its deadline (`call_async_timeout`); recorded as a failure.
    Timeout(Duration),
}

impl<E> CallError<E> {
    /// The call's own error, if it ran and failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the breaker turned the call away.
    pub fn is_rejected(&self) -> bool {
        matches!(self, CallError::Rejected(_))
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(r) => r.fmt(f),
            CallError::Inner(e) => e.fmt(f),
            CallError::Timeout(d) => write!(f, "call timed out after {d:?}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // Display already shows the inner error or the rejection, so the chain continues
        // below it rather than repeating it.
        match self {
            CallError::Inner(e) => e.source(),
            CallError::Rejected(_) | CallError::Timeout(_) => None,
        }
    }
}

impl<E> From<Rejected> for CallError<E> {
    fn from(r: Rejected) -> Self {
        CallError::Rejected(r)
    }
}

/// A setting out of range, from [`Builder::build`](crate::Builder::build).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `failure_rate_threshold` is not in `(0, 1]` (or is NaN).
    FailureRateThreshold(f64),
    /// `slow_call`'s rate threshold is not in `(0, 1]` (or is NaN).
    SlowCallRateThreshold(f64),
    /// `slow_call`'s duration is zero.
    SlowCallDuration,
    /// `minimum_calls` is zero.
    MinimumCalls(u32),
    /// `count_window` is zero or above 2^20.
    CountWindow(u32),
    /// `minimum_calls` is larger than the count window, so the breaker could never trip.
    MinimumCallsExceedWindow {
        /// The minimum asked for.
        minimum_calls: u32,
        /// The window's size.
        window: u32,
    },
    /// `time_window` is zero, above 100 years, or shorter than one nanosecond per bucket.
    TimeWindow(Duration),
    /// `time_window_buckets` is zero or above 1024.
    TimeWindowBuckets(u32),
    /// `consecutive_failures` is zero.
    ConsecutiveFailures(u32),
    /// `wait_in_open` is zero or above 100 years.
    WaitInOpen(Duration),
    /// `open_backoff`'s multiplier is below 1 (or not finite), or its cap is below
    /// `wait_in_open` or above 100 years.
    OpenBackoff {
        /// The multiplier asked for.
        multiplier: f64,
        /// The cap asked for.
        max: Duration,
    },
    /// `open_jitter`'s fraction is not in `[0, 1)`.
    OpenJitter(f64),
    /// `half_open_permits` is zero or above 65535.
    HalfOpenPermits(u32),
    /// `max_wait_in_half_open` is zero or above 100 years.
    MaxWaitInHalfOpen(Duration),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::FailureRateThreshold(x) => {
                write!(f, "failure rate threshold {x} is not in (0, 1]")
            }
            ConfigError::SlowCallRateThreshold(x) => {
                write!(f, "slow-call rate threshold {x} is not in (0, 1]")
            }
            ConfigError::SlowCallDuration => f.write_str("slow-call duration is zero"),
            ConfigError::MinimumCalls(n) => write!(f, "minimum calls {n} must be at least 1"),
            ConfigError::CountWindow(n) => {
                write!(f, "count window {n} is not in 1..={MAX_COUNT_WINDOW}")
            }
            ConfigError::MinimumCallsExceedWindow {
                minimum_calls,
                window,
            } => write!(
                f,
                "minimum calls {minimum_calls} exceed the count window of {window}, so the breaker could never trip"
            ),
            ConfigError::TimeWindow(d) => write!(
                f,
                "time window {d:?} is zero, above 100 years or under 1 ns per bucket"
            ),
            ConfigError::TimeWindowBuckets(n) => {
                write!(f, "time window buckets {n} is not in 1..=1024")
            }
            ConfigError::ConsecutiveFailures(n) => {
                write!(f, "consecutive failures {n} must be at least 1")
            }
            ConfigError::WaitInOpen(d) => {
                write!(f, "wait in open {d:?} is zero or above 100 years")
            }
            ConfigError::OpenBackoff { multiplier, max } => write!(
                f,
                "open backoff multiplier {multiplier} is below 1, or its cap {max:?} is below the wait in open or above 100 years"
            ),
            ConfigError::OpenJitter(x) => write!(f, "open jitter {x} is not in [0, 1)"),
            ConfigError::HalfOpenPermits(n) => {
                write!(f, "half-open permits {n} is not in 1..={MAX_PERMITS}")
            }
            ConfigError::MaxWaitInHalfOpen(d) => {
                write!(f, "max wait in half-open {d:?} is zero or above 100 years")
            }
        }
    }
}

impl std::error::Error for ConfigError {}
