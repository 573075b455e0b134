//! [`RateLimiter`]: one token bucket shared by every caller, as GCRA in one `AtomicU64`.

use sinew_clock::{Clock, SystemClock};

use crate::error::{CheckNError, Denied};
use crate::metrics::{Counters, Metrics};
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
/// TAT forward with one compare-exchange. A denial writes nothing to the TAT, so a flood of
/// rejected requests does not bounce its cache line between cores (each decision is counted
/// for [`metrics`](Self::metrics) on a cache line of its own).
///
/// All methods take `&self`; `RateLimiter` is `Send + Sync`. Share it with `Arc` (or a
/// `static`); clones are not provided on purpose, since a clone with its own bucket would be a
/// second budget.
///
/// [`metrics`](Self::metrics) counts admissions and denials, each with one relaxed
/// `fetch_add` on a cache line of its own (away from the TAT that every check reads).
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
    counters: Counters,
}

impl RateLimiter {
    /// A limiter on the [`SystemClock`], with a full bucket.
    pub fn new(quota: Quota) -> Self {
        Self::with_clock(quota, SystemClock)
    }
}

/// Tokens taken or reserved by [`RateLimiter::take_n`] or [`RateLimiter::reserve`], for a
/// [`RateLimiter::refund`] if they go unused: where the TAT was left (`end`) and their cost.
#[cfg(any(feature = "tokio", all(test, sinew_loom)))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    pub(crate) end: u64,
    pub(crate) cost: u64,
}

#[cfg(feature = "tokio")]
impl Ticket {
    /// No tokens (`n = 0`): refunding it changes nothing.
    pub(crate) const EMPTY: Ticket = Ticket { end: 0, cost: 0 };
}

#[cfg(any(feature = "tokio", all(test, sinew_loom)))]
impl<C> RateLimiter<C> {
    /// Gives back the tokens of `ticket`, which were taken or reserved and not used, **if no
    /// token was taken or reserved after them**: then the TAT still ends at `ticket.end`, and
    /// moving it back by the cost restores the limiter exactly as if they had never been
    /// taken. Returns whether it did.
    ///
    /// Otherwise the tokens are forfeited (the limiter stays stricter, never looser). Moving
    /// the TAT back under later reservations would hand the refunded time to new callers
    /// while those reservations still wake at their fixed times: with a burst of 1, waiters
    /// A then B reserved (due at 100 and 200 ms), A cancelled and refunded, a `check` at
    /// 200 ms would be admitted beside B, two tokens at once from a bucket of one. (The loom
    /// model `reserve_refund_never_exceeds_the_rate` checks this.)
    pub(crate) fn refund(&self, ticket: Ticket) -> bool {
        // A strong compare-exchange: a spurious failure would forfeit tokens for nothing.
        // Relaxed for the same reason as `acquire`: the TAT is the whole state.
        self.tat
            .compare_exchange(
                ticket.end,
                ticket.end.saturating_sub(ticket.cost),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// [`refund`](Self::refund) for tokens already counted as an admission (taken by
    /// `take_n`, or a completed wait): if they are given back, so is the count. A waiter's
    /// reservation cancelled before it was due was never counted, and uses `refund`.
    #[cfg(feature = "tower")]
    pub(crate) fn refund_admitted(&self, ticket: Ticket) -> bool {
        let refunded = self.refund(ticket);
        if refunded && ticket.cost > 0 {
            self.counters.unadmit();
        }
        refunded
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
            counters: Counters::default(),
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
            .map(drop)
            .inspect_err(|_| self.counters.deny())
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
        self.acquire(self.now(), inc, p.depth)
            .inspect_err(|_| self.counters.deny())?;
        Ok(())
    }

    /// Takes `inc` nanoseconds of tokens if they are there (counting the admission; the
    /// caller counts a denial if it is one), or returns the wait.
    #[inline]
    fn acquire(&self, now: u64, inc: u64, depth: u64) -> Result<u64, Denied> {
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let new_tat = decide(tat, now, inc, depth).map_err(Denied::after)?;
            // Relaxed is enough: the TAT is the whole state, and the read-modify-write makes
            // each token's admission unique. Nothing else is published with it.
            match self
                .tat
                .compare_exchange_weak(tat, new_tat, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.counters.admit();
                    return Ok(new_tat);
                }
                Err(actual) => tat = actual,
            }
        }
    }

    /// Counts a waiter's admission (its reservation is due and it keeps its tokens).
    #[cfg(feature = "tokio")]
    pub(crate) fn count_admitted(&self) {
        self.counters.admit();
    }

    /// Takes `n` tokens now (as [`check_n`](Self::check_n)) and returns their [`Ticket`],
    /// for a later [`refund`](Self::refund). A denial is not counted: the caller waits
    /// instead.
    #[cfg(any(feature = "tower", all(test, sinew_loom)))]
    pub(crate) fn take_n(&self, n: u32) -> Result<Ticket, CheckNError> {
        let p = self.quota.load();
        let cost = cost(p, n)?;
        let end = self.acquire(self.now(), cost, p.depth)?;
        Ok(Ticket { end, cost })
    }

    /// Reserves `n` tokens unconditionally: moves the TAT forward by their cost even if that
    /// puts the bucket in debt, and returns their [`Ticket`] (for a
    /// [`refund`](Self::refund) if the reservation is abandoned) and how many nanoseconds
    /// from now they are due: when [`check_n`](Self::check_n) would have admitted them,
    /// 0 if they were there at once.
    ///
    /// Reservations are ordered by their compare-exchange: a later one is due after an
    /// earlier one, and synchronous checks see the debt and are denied until it is paid.
    /// Each reservation gets the same place in the TAT's timeline that a `check_n` admitted
    /// at its due time would have had, so waiters together never exceed the quota.
    #[cfg(any(feature = "tokio", all(test, sinew_loom)))]
    pub(crate) fn reserve(&self, n: u32) -> Result<(Ticket, u64), CheckNError> {
        let p = self.quota.load();
        let cost = cost(p, n)?;
        let now = self.now();
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let end = tat.max(now).saturating_add(cost);
            let wait = end.saturating_sub(p.depth).saturating_sub(now);
            match self
                .tat
                .compare_exchange_weak(tat, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok((Ticket { end, cost }, wait)),
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

    /// Admissions and denials since the limiter was made (see [`Metrics`] for what counts).
    ///
    /// Each count is exact (one `fetch_add` per decision); the two are read one after the
    /// other, so under concurrent checks they may be from instants a few decisions apart.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sinew_ratelimit::{ManualClock, Quota, RateLimiter};
    ///
    /// let clock = ManualClock::new(Duration::from_secs(1));
    /// let limiter = RateLimiter::with_clock(Quota::per_second(10)?.burst(2)?, clock);
    /// for _ in 0..3 {
    ///     let _ = limiter.check();
    /// }
    /// let m = limiter.metrics();
    /// assert_eq!((m.admitted, m.denied), (2, 1));
    /// Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.counters.snapshot()
    }

    /// Replaces the quota; checks never wait for it (concurrent `set_quota` calls take turns
    /// on a writer-only mutex). Checks running meanwhile use either the old or the
    /// new quota, never a mix of the two. Tokens already taken stay taken (the TAT is kept), so
    /// shrinking the burst below what is in use denies until the backlog drains, and growing it
    /// makes the extra tokens available at once.
    pub fn set_quota(&self, quota: Quota) {
        self.quota.set(quota);
        crate::events::quota_changed("RateLimiter", quota);
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

/// loom models of the waiters' protocol: `reserve` and `refund` racing each other and `check`.
#[cfg(all(test, sinew_loom))]
mod loom_models {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests fail loudly

    use std::time::Duration;

    use loom::sync::Arc;
    use loom::thread;
    use sinew_clock::ManualClock;

    use super::*;

    const MS: u64 = 1_000_000;

    /// A full bucket of `burst` at one token per 100 ms, on a clock the model moves by hand.
    fn limiter(burst: u32) -> (ManualClock, Arc<RateLimiter<ManualClock>>) {
        let clock = ManualClock::new(Duration::from_secs(1_000));
        let quota = Quota::per_second(10).unwrap().burst(burst).unwrap();
        (
            clock.clone(),
            Arc::new(RateLimiter::with_clock(quota, clock)),
        )
    }

    /// Every window `[times[i], times[j]]` holds at most `burst + length / interval` tokens.
    fn assert_within_rate(times: &mut [u64], burst: u64, interval: u64) {
        times.sort_unstable();
        for i in 0..times.len() {
            for j in i..times.len() {
                let tokens = (j - i + 1) as u64;
                let allowed = burst + (times[j] - times[i]) / interval;
                assert!(
                    tokens <= allowed,
                    "{tokens} tokens admitted in [{}, {}] ns, at most {allowed} allowed: {times:?}",
                    times[i],
                    times[j]
                );
            }
        }
    }

    /// Burst 1, one token per 100 ms, the bucket just emptied. Waiter A reserves a token and
    /// is cancelled (refunds), waiter B reserves a token and keeps it, and a `check` runs,
    /// all at once. Then time moves on in 50 ms steps with a `check` at each.
    ///
    /// Property: the admission times (B's at its due time, every successful `check` at its
    /// time) never exceed the quota in any window, and A's refund is exact: it succeeds unless
    /// B reserved after A, and then every token of the 400 ms is used (5 = burst + 4), or
    /// exactly A's one token is lost.
    #[test]
    fn reserve_refund_never_exceeds_the_rate() {
        loom::model(|| {
            let (clock, l) = limiter(1);
            assert!(l.check().is_ok());
            let a = {
                let l = Arc::clone(&l);
                thread::spawn(move || {
                    let (ticket, _) = l.reserve(1).unwrap();
                    (ticket, l.refund(ticket))
                })
            };
            let b = {
                let l = Arc::clone(&l);
                thread::spawn(move || l.reserve(1).unwrap())
            };
            let here = l.check().is_ok();
            let (a_ticket, refunded) = a.join().unwrap();
            let (b_ticket, b_wait) = b.join().unwrap();

            let mut times = vec![0, b_wait];
            if here {
                times.push(0);
            }
            for step in 1..=8 {
                clock.advance(Duration::from_millis(50));
                while l.check().is_ok() {
                    times.push(step * 50 * MS);
                }
            }
            assert_within_rate(&mut times, 1, 100 * MS);
            if !refunded {
                assert!(
                    b_ticket.end > a_ticket.end,
                    "a refund failed with no one after it"
                );
            }
            assert_eq!(times.len(), if refunded { 5 } else { 4 }, "{times:?}");
        });
    }

    /// A token taken with `take_n` (the tower layer's permit) and given back while another
    /// thread takes tokens: never more than the quota, and given back whenever it was the last.
    #[test]
    fn take_refund_against_check() {
        loom::model(|| {
            let (clock, l) = limiter(2);
            let t = {
                let l = Arc::clone(&l);
                // `None` if the two checks took both tokens first.
                thread::spawn(move || l.take_n(1).ok().map(|ticket| l.refund(ticket)))
            };
            let mut times = Vec::new();
            for _ in 0..2 {
                if l.check().is_ok() {
                    times.push(0);
                }
            }
            let refunded = t.join().unwrap();
            for step in 1..=4 {
                clock.advance(Duration::from_millis(50));
                while l.check().is_ok() {
                    times.push(step * 50 * MS);
                }
            }
            assert_within_rate(&mut times, 2, 100 * MS);
            // 2 at once plus 2 more by 200 ms, one fewer if the taken token was not given back.
            let lost = refunded == Some(false);
            assert_eq!(times.len(), if lost { 3 } else { 4 }, "{times:?}");
        });
    }
}
