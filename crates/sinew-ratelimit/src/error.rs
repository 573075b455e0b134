//! Every error of the crate: [`ConfigError`] (a quota or window that is not one),
//! [`Denied`] and [`CheckNError`] (why a request was not admitted).

use std::fmt;
use std::time::Duration;

/// A request was not admitted now; it would be after [`retry_after`](Self::retry_after).
///
/// Nothing was consumed: a denied request leaves the limiter exactly as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Denied {
    wait_nanos: u64,
    key_capacity: bool,
}

impl Denied {
    pub(crate) fn after(wait_nanos: u64) -> Denied {
        Denied {
            wait_nanos,
            key_capacity: false,
        }
    }

    pub(crate) fn key_capacity(wait_nanos: u64) -> Denied {
        Denied {
            wait_nanos,
            key_capacity: true,
        }
    }

    /// How long until the same request would be admitted, if nothing else takes the tokens
    /// first. For [`RateLimiter`](crate::RateLimiter) this is exact to the nanosecond.
    pub fn retry_after(&self) -> Duration {
        Duration::from_nanos(self.wait_nanos)
    }

    /// True when a [`KeyedRateLimiter`](crate::KeyedRateLimiter) refused a *new* key because
    /// it already tracks its maximum number of keys and none of them has refilled;
    /// [`retry_after`](Self::retry_after) is then the time until one can be evicted.
    pub fn is_key_capacity(&self) -> bool {
        self.key_capacity
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key_capacity {
            write!(
                f,
                "rate limited: too many keys tracked, retry after {:?}",
                self.retry_after()
            )
        } else {
            write!(f, "rate limited: retry after {:?}", self.retry_after())
        }
    }
}

impl std::error::Error for Denied {}

/// Why `check_n` did not admit `n` tokens. Either way nothing was consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckNError {
    /// Not yet: the tokens will be there after [`Denied::retry_after`].
    Denied(Denied),
    /// Never, under the current quota: `n` tokens do not fit in the bucket at all.
    InsufficientCapacity {
        /// The tokens asked for.
        requested: u32,
        /// The most the bucket holds ([`Quota::effective_burst`](crate::Quota::effective_burst)).
        capacity: u32,
    },
}

impl CheckNError {
    /// The wait for [`CheckNError::Denied`]; `None` for a request that can never be admitted.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CheckNError::Denied(d) => Some(d.retry_after()),
            CheckNError::InsufficientCapacity { .. } => None,
        }
    }
}

impl From<Denied> for CheckNError {
    fn from(denied: Denied) -> Self {
        CheckNError::Denied(denied)
    }
}

impl fmt::Display for CheckNError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckNError::Denied(d) => d.fmt(f),
            CheckNError::InsufficientCapacity {
                requested,
                capacity,
            } => write!(
                f,
                "{requested} tokens can never be admitted: the bucket holds {capacity}"
            ),
        }
    }
}

impl std::error::Error for CheckNError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckNError::Denied(d) => Some(d),
            CheckNError::InsufficientCapacity { .. } => None,
        }
    }
}

/// Why a [`Quota`](crate::Quota) or a [`SlidingWindow`](crate::SlidingWindow) could not be
/// made: each variant names the setting that is out of range.
///
/// Every value of zero is refused rather than read as "unlimited": a limiter that can never
/// admit anything is a closed gate, not a rate limit, and a silent "zero means no limit" hides
/// bugs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// A quota's rate of zero requests per period: such a limiter would never admit anything.
    ZeroRate,
    /// A quota's period of zero: "one request per no time" is not a rate.
    ZeroPeriod,
    /// A quota's burst of zero: a bucket that holds no token never admits anything.
    ZeroBurst,
    /// A sliding window's limit of zero requests per window admits nothing.
    ZeroLimit,
    /// A sliding window of zero length is not a window.
    ZeroWindow,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::ZeroRate => "a rate limit of zero requests admits nothing",
            ConfigError::ZeroPeriod => "a rate limit's period must be longer than zero",
            ConfigError::ZeroBurst => "a rate limit's burst must be at least 1",
            ConfigError::ZeroLimit => "a sliding window's limit must be at least 1",
            ConfigError::ZeroWindow => "a sliding window must be longer than zero",
        })
    }
}

impl std::error::Error for ConfigError {}
