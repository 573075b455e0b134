//! [`Metrics`] and [`KeyedMetrics`]: what a limiter has decided since it was made.

use crate::sync::{Counter, StripedCounter};

/// Counts of a [`RateLimiter`](crate::RateLimiter)'s or a
/// [`SlidingWindow`](crate::SlidingWindow)'s decisions since it was made, from their
/// `metrics()` method.
///
/// What counts: a check (`check`, `check_n`, and a waiting future once it completes) that
/// took its tokens is one admission, whatever the number of tokens; a check refused with a
/// [`Denied`](crate::Denied) (not yet) is one denial. Peeks, checks of zero tokens and requests
/// that can never fit ([`CheckNError::InsufficientCapacity`](crate::CheckNError)) are not
/// counted. `reset` and `set_quota` keep the counts. Counts wrap at 2^64.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Metrics {
    /// Checks admitted.
    pub admitted: u64,
    /// Checks denied.
    pub denied: u64,
}

/// Counts of a [`KeyedRateLimiter`](crate::KeyedRateLimiter)'s decisions and evictions since
/// it was made, from [`KeyedRateLimiter::metrics`](crate::KeyedRateLimiter::metrics).
///
/// Admissions and denials count as in [`Metrics`]; the `until_key_*` futures retry checks,
/// and each refused retry counts as a denial. Counts wrap at 2^64.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct KeyedMetrics {
    /// Checks admitted.
    pub admitted: u64,
    /// Checks denied, for any reason: the key's bucket was empty, or (counted in
    /// [`key_capacity_denied`](Self::key_capacity_denied) too) the key was new and the
    /// limiter was full of keys that still owe tokens.
    pub denied: u64,
    /// Keys evicted because their bucket had refilled (by the incremental sweeps and by
    /// [`evict_refilled`](crate::KeyedRateLimiter::evict_refilled)).
    pub keys_evicted: u64,
    /// Checks of a new key denied because the limiter already tracked `max_keys` keys
    /// ([`Denied::is_key_capacity`](crate::Denied::is_key_capacity)); a subset of
    /// [`denied`](Self::denied).
    pub key_capacity_denied: u64,
}

impl KeyedMetrics {
    /// The field-by-field sum (wrapping), to add up shards.
    pub(crate) fn add(self, other: KeyedMetrics) -> KeyedMetrics {
        KeyedMetrics {
            admitted: self.admitted.wrapping_add(other.admitted),
            denied: self.denied.wrapping_add(other.denied),
            keys_evicted: self.keys_evicted.wrapping_add(other.keys_evicted),
            key_capacity_denied: self
                .key_capacity_denied
                .wrapping_add(other.key_capacity_denied),
        }
    }
}

/// A lock-free limiter's counters, on cache lines of their own (128 bytes: adjacent-line
/// prefetching on x86-64 pulls lines in pairs), so that counting a decision does not slow
/// down the threads reading the limiter's state beside them.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Counters {
    pub(crate) admitted: StripedCounter,
    pub(crate) denied: Counter,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> Metrics {
        Metrics {
            admitted: self.admitted.get(),
            denied: self.denied.get(),
        }
    }
}
