//! [`RateLimiter`]: one token bucket shared by every caller, as GCRA in one `AtomicU64`.

use sinew_clock::{Clock, SystemClock};

use crate::error::{CheckNError, Denied};
use crate::quota::{Params, Quota, QuotaCell};
use crate::sync::{AtomicU64, Ordering};

/// One GCRA decision. `tat` is the stored theoretical arrival time (the instant the bucket is
/// next full again), `now` the current time, `inc` the cost of the request (`n × interval`,
/// at most `depth`), `depth` the bucket size in time. Returns the new TAT if admitted, or the
/// nanoseconds to wait.
///
/// Admitted iff `max(tat, now) + inc <= now + depth`. Taking `max(tat, now)` is also what
/// clamps time that moves backwards: an earlier `now` only ever makes the test stricter.
/// No operation can overflow: `tat` and `now` are nanoseconds since the limiter started,
/// `inc <= depth <= 2^62`, and the additions saturate anyway.
#[inline]
pub(crate) fn decide(tat: u64, now: u64, inc: u64, depth: u64) -> Result<u64, u64> {
    let new_tat = tat.max(now).saturating_add(inc);
    let allow_at = new_tat.saturating_sub(depth);
    if allow_at > now {
        Err(allow_at - now)
    } else {
        Ok(new_tat)
    }
}

/// The cost of `n` tokens in nanoseconds, or why they can never fit.
#[inline]
pub(crate) fn cost(p: Params, n: u32) -> Result<u64, CheckNError> {
    match u64::from(n).checked_mul(p.interval) {
        Some(inc) if inc <= p.depth => Ok(inc),
        _ => Err(CheckNError::InsufficientCapacity {
            requested: n,
            capacity: p.capacity(),
        }),
    }
}

/// Whole tokens available at `now` given the stored `tat`.
pub(crate) fn remaining(tat: u64, now: u64, p: Params) -> u32 {
    let backlog = tat.saturating_sub(now);
    let free = p.depth.saturating_sub(backlog);
    u32::try_from(free / p.interval).unwrap_or(u32::MAX)
}

/// A rate limiter shared by all its callers: one token bucket, checked lock-free.
///
/// The bucket is kept as GCRA (the generic cell rate algorithm): a single `u64`, the
/// *theoretical arrival time* (TAT) at which the bucket would be full again, in nanoseconds
/// since the limiter was made. A check reads the clock and the TAT, and on admission moves the
/// TAT forward with one compare-exchange. A denial writes nothing, so a flood of rejected
/// requests does not bounce the cache line between cores.
///
/// All methods take `&self`; `RateLimiter` is `Send + Sync`. Share it with `Arc` (or a
/// `static`); clones are not provided on purpose, since a clone with its own bucket would be a
/// second budget.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sinew_ratelimit::{ManualClock, Quota, RateLimiter};
///
/// let clock = ManualClock::new(Duration::from_secs(1_000));
/// let limiter = RateLimiter::with_clock(Quota::per_second(10)?.burst(5)?, clock.clone());
/// for _ in 0..5 {
///     limiter.check()?; // a full bucket admits the burst at once
/// }
/// let denied = limiter.check().unwrap_err();
/// assert_eq!(denied.retry_after(), Duration::from_millis(100));
/// clock.advance(Duration::from_millis(100));
/// limiter.check()?;
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RateLimiter<C = SystemClock> {
    tat: AtomicU64,
    quota: QuotaCell,
    start: u64,
    clock: C,
}

impl RateLimiter {
    /// A limiter on the [`SystemClock`], with a full bucket.
    pub fn new(quota: Quota) -> Self {
        Self::with_clock(quota, SystemClock)
    }
}

#[cfg(feature = "tokio")]
impl<C> RateLimiter<C> {
    /// Gives back tokens of cost `inc` that were taken or reserved and not used: moves the TAT
    /// back by `inc` (saturating; a TAT at or before now is a full bucket either way).
    /// Reservations made after them keep their admission times.
    pub(crate) fn refund(&self, inc: u64) {
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            match self.tat.compare_exchange_weak(
                tat,
                tat.saturating_sub(inc),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => tat = actual,
            }
        }
    }
}

impl<C: Clock> RateLimiter<C> {
    /// A limiter on `clock`, with a full bucket. For the cheapest checks, use a
    /// [`CachedClock`](crate::CachedClock) (its resolution then bounds the limiter's).
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        let start = clock.now_nanos();
        RateLimiter {
            tat: AtomicU64::new(0),
            quota: QuotaCell::new(quota),
            start,
            clock,
        }
    }

    /// Nanoseconds since the limiter started; a clock reading before the start reads as 0.
    #[inline]
    fn now(&self) -> u64 {
        self.clock.now_nanos().saturating_sub(self.start)
    }

    /// Takes one token if there is one.
    ///
    /// # Errors
    ///
    /// [`Denied`] with the exact wait if the bucket is empty; nothing is consumed.
    #[inline]
    pub fn check(&self) -> Result<(), Denied> {
        let p = self.quota.load();
        // One token always fits: `interval <= depth` for every quota.
        self.acquire(self.now(), p.interval, p.depth)
    }

    /// Takes `n` tokens if all of them are there, otherwise none (`n = 0` always succeeds).
    ///
    /// # Errors
    ///
    /// [`CheckNError::Denied`] if the tokens are not there yet (with the exact wait);
    /// [`CheckNError::InsufficientCapacity`] if `n` exceeds the bucket, so no wait helps.
    /// Either way nothing is consumed.
    #[inline]
    pub fn check_n(&self, n: u32) -> Result<(), CheckNError> {
        if n == 0 {
            // Even when a shrunken quota leaves the bucket in debt: no token is asked for.
            return Ok(());
        }
        let p = self.quota.load();
        let inc = cost(p, n)?;
        Ok(self.acquire(self.now(), inc, p.depth)?)
    }

    #[inline]
    fn acquire(&self, now: u64, inc: u64, depth: u64) -> Result<(), Denied> {
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let new_tat = decide(tat, now, inc, depth).map_err(Denied::after)?;
            // Relaxed is enough: the TAT is the whole state, and the read-modify-write makes
            // each token's admission unique. Nothing else is published with it.
            match self
                .tat
                .compare_exchange_weak(tat, new_tat, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => tat = actual,
            }
        }
    }

    /// Takes `n` tokens now (as [`check_n`](Self::check_n)) and returns their cost in
    /// nanoseconds, for a later [`refund`](Self::refund).
    #[cfg(feature = "tokio")]
    pub(crate) fn take_n(&self, n: u32) -> Result<u64, CheckNError> {
        let p = self.quota.load();
        let inc = cost(p, n)?;
        self.acquire(self.now(), inc, p.depth)?;
        Ok(inc)
    }

    /// Reserves `n` tokens unconditionally: moves the TAT forward by their cost even if that
    /// puts the bucket in debt, and returns `(cost, wait)`: the nanoseconds to refund if the
    /// reservation is abandoned, and how long until the tokens would have been admitted by
    /// [`check_n`](Self::check_n) (0 if they were there at once).
    ///
    /// Reservations are ordered by their compare-exchange: a later one is admitted after an
    /// earlier one, and synchronous checks see the debt and are denied until it is paid.
    #[cfg(feature = "tokio")]
    pub(crate) fn reserve(&self, n: u32) -> Result<(u64, u64), CheckNError> {
        let p = self.quota.load();
        let inc = cost(p, n)?;
        let now = self.now();
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let new_tat = tat.max(now).saturating_add(inc);
            let wait = new_tat.saturating_sub(p.depth).saturating_sub(now);
            match self
                .tat
                .compare_exchange_weak(tat, new_tat, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok((inc, wait)),
                Err(actual) => tat = actual,
            }
        }
    }

    /// Would [`check`](Self::check) admit one request now? Consumes nothing.
    ///
    /// # Errors
    ///
    /// [`Denied`] with the wait, as `check` would return it.
    pub fn peek(&self) -> Result<(), Denied> {
        let p = self.quota.load();
        let tat = self.tat.load(Ordering::Relaxed);
        decide(tat, self.now(), p.interval, p.depth)
            .map(drop)
            .map_err(Denied::after)
    }

    /// Would [`check_n`](Self::check_n) admit `n` tokens now? Consumes nothing.
    ///
    /// # Errors
    ///
    /// As [`check_n`](Self::check_n).
    pub fn peek_n(&self, n: u32) -> Result<(), CheckNError> {
        if n == 0 {
            return Ok(());
        }
        let p = self.quota.load();
        let inc = cost(p, n)?;
        let tat = self.tat.load(Ordering::Relaxed);
        decide(tat, self.now(), inc, p.depth)
            .map(drop)
            .map_err(|w| CheckNError::Denied(Denied::after(w)))
    }

    /// Whole tokens in the bucket now (for `RateLimit-Remaining`-style headers). A snapshot:
    /// other threads may take them before you do.
    pub fn remaining(&self) -> u32 {
        remaining(
            self.tat.load(Ordering::Relaxed),
            self.now(),
            self.quota.load(),
        )
    }

    /// The current quota.
    pub fn quota(&self) -> Quota {
        self.quota.quota()
    }

    /// Replaces the quota; checks never wait for it (concurrent `set_quota` calls take turns
    /// on a writer-only mutex). Checks running meanwhile use either the old or the
    /// new quota, never a mix of the two. Tokens already taken stay taken (the TAT is kept), so
    /// shrinking the burst below what is in use denies until the backlog drains, and growing it
    /// makes the extra tokens available at once.
    pub fn set_quota(&self, quota: Quota) {
        self.quota.set(quota);
    }

    /// Refills the bucket (forgets every token taken).
    pub fn reset(&self) {
        self.tat.store(0, Ordering::Relaxed);
    }

    /// The clock this limiter reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;

    #[test]
    fn decide_clamps_and_saturates() {
        // Time behind the TAT: waits the difference.
        assert_eq!(decide(500, 0, 100, 500), Err(100));
        assert_eq!(decide(400, 0, 100, 500), Ok(500));
        // A TAT in the past is the same as a full bucket.
        assert_eq!(decide(0, 1_000, 100, 500), Ok(1_100));
        // Saturating arithmetic at the top of the range never wraps into an admission.
        assert_eq!(decide(u64::MAX, 0, 1, 1), Err(u64::MAX - 1));
        assert_eq!(decide(u64::MAX, u64::MAX, 1, 1), Ok(u64::MAX));
    }
}
