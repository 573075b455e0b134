//! [`Metrics`] and [`KeyedMetrics`]: what a limiter has decided since it was made.

use crate::sync::{Counter, this_threads_stripe};

/// Counts of a [`RateLimiter`](crate::RateLimiter)'s or a
/// [`SlidingWindow`](crate::SlidingWindow)'s decisions since it was made, from their
/// `metrics()` method.
///
/// What counts: a check (`check`, `check_n`, and a waiting future once it completes) that
/// took its tokens is one admission, whatever the number of tokens; a check refused with a
/// [`Denied`](crate::Denied) (not yet) is one denial. Peeks, checks of zero tokens and requests
/// that can never fit ([`CheckNError::InsufficientCapacity`](crate::CheckNError)) are not
/// counted. With the `tower` layer in waiting mode, a token taken in `poll_ready` and given
/// back because the call never came (the service dropped, or its inner `poll_ready` failed)
/// is taken back from `admitted` too. `reset` and `set_quota` keep the counts. Counts wrap at
/// 2^64.
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

/// A lock-free limiter's counters, split into stripes on cache lines of their own (128 bytes:
/// x86-64 prefetches adjacent lines in pairs), each thread counting into the stripe it was
/// given on first use. Threads sharing a limiter then neither fight over one counter's line
/// nor slow down the threads reading the limiter's state (measured with 2 threads on one
/// limiter: a single shared admission counter added about a third to an admission). Reads
/// sum the stripes. Size: `STRIPES` × 128 bytes.
#[derive(Debug, Default)]
pub(crate) struct Counters([Stripe; STRIPES]);

/// Stripes per limiter: a power of two, enough for the cores that contend in practice.
const STRIPES: usize = 4;

#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe {
    admitted: Counter,
    denied: Counter,
}

impl Counters {
    #[inline]
    fn stripe(&self) -> Option<&Stripe> {
        self.0.get(this_threads_stripe::<STRIPES>())
    }

    /// Counts an admission.
    #[inline]
    pub(crate) fn admit(&self) {
        if let Some(s) = self.stripe() {
            s.admitted.incr();
        }
    }

    /// Takes an admission back: its tokens were refunded.
    #[cfg(feature = "tower")]
    pub(crate) fn unadmit(&self) {
        if let Some(s) = self.stripe() {
            s.admitted.decr();
        }
    }

    /// Counts a denial.
    #[inline]
    pub(crate) fn deny(&self) {
        if let Some(s) = self.stripe() {
            s.denied.incr();
        }
    }

    /// The counts so far: the sums of the stripes (each exact; a sum mixes the moments at
    /// which each stripe was read).
    pub(crate) fn snapshot(&self) -> Metrics {
        self.0.iter().fold(Metrics::default(), |m, s| Metrics {
            admitted: m.admitted.wrapping_add(s.admitted.get()),
            denied: m.denied.wrapping_add(s.denied.get()),
        })
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    /// The documented footprint: the counters' four 128-byte stripes plus the limiter's state.
    #[test]
    fn a_limiter_takes_about_640_bytes() {
        let size = std::mem::size_of::<crate::RateLimiter<crate::SystemClock>>();
        assert!((512..=768).contains(&size), "{size}");
    }
}
