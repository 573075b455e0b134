//! [`Quota`]: a rate and a burst, and the lock-free cell a limiter keeps it in.

use std::time::Duration;

use crate::error::ConfigError;
use crate::sync::{AtomicU64, Mutex, Ordering, fence, lock};

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// The longest a bucket may take to refill from empty: 2^62 ns, about 146 years.
///
/// Keeping `burst × interval` under this bound is what lets the limiter's state (a `u64` of
/// nanoseconds since the limiter started) never overflow for any quota. A quota whose full
/// bucket would take longer to refill acts as if its burst were
/// [`Quota::effective_burst`]; no real deployment comes near it.
pub const MAX_REFILL: Duration = Duration::from_nanos(MAX_DEPTH_NANOS);

pub(crate) const MAX_DEPTH_NANOS: u64 = 1 << 62;

/// A rate limit: one token every [`interval`](Self::interval), and a bucket holding at most
/// [`burst_size`](Self::burst_size) tokens.
///
/// Token-bucket semantics: a full bucket admits `burst` requests at once, then one per
/// interval. The bucket starts full.
///
/// # Rounding and limits
///
/// The limiter keeps time in whole nanoseconds, so the interval is the requested period
/// divided by the count, **rounded up** to a whole nanosecond (at least 1 ns): rounding up means
/// a limiter never admits more than its quota. `per_second(3)` gives 333,333,334 ns; a rate
/// above 10⁹ per second acts as 10⁹ per second. Intervals longer than [`MAX_REFILL`] are cut
/// to it.
///
/// # Errors, not panics
///
/// A zero rate, a zero period or a zero burst is not a quota: a limiter that can never admit
/// anything is a closed gate, not a rate limit, and a silent "zero means unlimited" hides bugs.
/// Every constructor returns `Result<Quota, ConfigError>`, so misuse is reported where it
/// happens.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sinew_ratelimit::{ConfigError, Quota};
///
/// let q = Quota::per_second(10)?.burst(5)?;
/// assert_eq!(q.interval(), Duration::from_millis(100));
/// assert_eq!(q.burst_size(), 5);
///
/// // The default burst is one second's worth, at least 1.
/// assert_eq!(Quota::per_second(10)?.burst_size(), 10);
/// assert_eq!(Quota::per_minute(30)?.burst_size(), 1);
///
/// assert_eq!(Quota::per_second(0), Err(ConfigError::ZeroRate));
/// assert_eq!(Quota::per_second(1)?.burst(0), Err(ConfigError::ZeroBurst));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # serde
///
/// With the `serde` feature a quota is `{"interval_ns": 100000000, "burst": 5}`: the interval
/// in whole nanoseconds and the burst, exactly what it holds, so a round trip gives back an
/// equal quota. Deserializing goes through the constructors' checks: a zero interval or burst
/// is an error ([`ConfigError::ZeroPeriod`], [`ConfigError::ZeroBurst`]), never a `Quota`
/// that could not have been made, and an interval above [`MAX_REFILL`] is cut to it, as
/// [`with_period`](Self::with_period) does. Unknown fields are errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "serde_impl::QuotaRepr", into = "serde_impl::QuotaRepr")
)]
pub struct Quota {
    interval: u64,
    burst: u32,
}

impl Quota {
    /// `n` requests per second; burst `n`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroRate`] if `n` is 0.
    pub fn per_second(n: u32) -> Result<Quota, ConfigError> {
        Self::per(n, NANOS_PER_SEC)
    }

    /// `n` requests per minute; burst one second's worth (`n / 60`, at least 1).
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroRate`] if `n` is 0.
    pub fn per_minute(n: u32) -> Result<Quota, ConfigError> {
        Self::per(n, 60 * NANOS_PER_SEC)
    }

    /// `n` requests per hour; burst one second's worth (`n / 3600`, at least 1).
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroRate`] if `n` is 0.
    pub fn per_hour(n: u32) -> Result<Quota, ConfigError> {
        Self::per(n, 3600 * NANOS_PER_SEC)
    }

    /// One request per `period`; burst one second's worth (at least 1).
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroPeriod`] if `period` is zero.
    pub fn with_period(period: Duration) -> Result<Quota, ConfigError> {
        if period.is_zero() {
            return Err(ConfigError::ZeroPeriod);
        }
        // Sub-nanosecond periods round up to 1 ns; huge ones are cut to the refill bound.
        let nanos = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX);
        let interval = nanos.clamp(1, MAX_DEPTH_NANOS);
        let per_second = NANOS_PER_SEC / interval;
        Ok(Quota {
            interval,
            burst: u32::try_from(per_second).unwrap_or(u32::MAX).max(1),
        })
    }

    /// `n` requests per `period_nanos`, with one second's worth of burst.
    fn per(n: u32, period_nanos: u64) -> Result<Quota, ConfigError> {
        if n == 0 {
            return Err(ConfigError::ZeroRate);
        }
        let n64 = u64::from(n);
        let interval = period_nanos.div_ceil(n64).clamp(1, MAX_DEPTH_NANOS);
        // n ≤ 2^32 and 10^9 < 2^30, so the product fits in u64.
        let per_second = n64.saturating_mul(NANOS_PER_SEC) / period_nanos;
        Ok(Quota {
            interval,
            burst: u32::try_from(per_second).unwrap_or(u32::MAX).max(1),
        })
    }

    /// The same rate with a bucket of `burst` tokens: that many requests are admitted at once
    /// from a full bucket.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroBurst`] if `burst` is 0.
    pub fn burst(self, burst: u32) -> Result<Quota, ConfigError> {
        if burst == 0 {
            return Err(ConfigError::ZeroBurst);
        }
        Ok(Quota { burst, ..self })
    }

    /// The time one token takes to come back (the emission interval), in whole nanoseconds.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval)
    }

    /// The configured bucket size.
    pub fn burst_size(&self) -> u32 {
        self.burst
    }

    /// The bucket size the limiter actually uses: [`burst_size`](Self::burst_size), unless a
    /// full bucket would take longer than [`MAX_REFILL`] to refill (for example a burst of
    /// `u32::MAX` at one request per day), in which case it is the most that refills in
    /// [`MAX_REFILL`].
    pub fn effective_burst(&self) -> u32 {
        u32::try_from(self.depth() / self.interval).unwrap_or(u32::MAX)
    }

    /// The time a full bucket takes to refill from empty: `burst × interval`, at most
    /// [`MAX_REFILL`].
    pub fn refill_time(&self) -> Duration {
        Duration::from_nanos(self.depth())
    }

    /// `burst × interval` in nanoseconds, at most `MAX_DEPTH_NANOS` (never overflows).
    /// A whole number of intervals, so a bucket emptied at once refills one token per interval.
    pub(crate) fn depth(&self) -> u64 {
        let fit = MAX_DEPTH_NANOS / self.interval;
        u64::from(self.burst).min(fit) * self.interval
    }

    pub(crate) fn interval_nanos(&self) -> u64 {
        self.interval
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    use super::Quota;
    use crate::error::ConfigError;

    /// A [`Quota`] as it is written: its two numbers, by name.
    #[derive(Serialize, Deserialize)]
    #[serde(rename = "Quota", deny_unknown_fields)]
    pub(super) struct QuotaRepr {
        interval_ns: u64,
        burst: u32,
    }

    impl From<Quota> for QuotaRepr {
        fn from(quota: Quota) -> Self {
            QuotaRepr {
                interval_ns: quota.interval,
                burst: quota.burst,
            }
        }
    }

    impl TryFrom<QuotaRepr> for Quota {
        type Error = ConfigError;

        /// The constructors' checks, so a quota read from a file is one that could be made.
        fn try_from(repr: QuotaRepr) -> Result<Self, ConfigError> {
            Quota::with_period(Duration::from_nanos(repr.interval_ns))?.burst(repr.burst)
        }
    }
}

/// The numbers the hot path needs, read together from a [`QuotaCell`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    /// Nanoseconds per token; `1 ..= depth`.
    pub(crate) interval: u64,
    /// Bucket depth in nanoseconds (`burst × interval`, clamped); `interval ..= 2^62`.
    pub(crate) depth: u64,
    /// The configured burst (0 when read by [`QuotaCell::load`], which skips it).
    pub(crate) burst: u32,
}

impl Params {
    pub(crate) fn of(quota: Quota) -> Params {
        Params {
            interval: quota.interval_nanos(),
            depth: quota.depth(),
            burst: quota.burst,
        }
    }

    /// The whole tokens that fit in the bucket.
    pub(crate) fn capacity(self) -> u32 {
        u32::try_from(self.depth / self.interval).unwrap_or(u32::MAX)
    }
}

#[derive(Debug)]
struct Slot {
    interval: AtomicU64,
    depth: AtomicU64,
    burst: AtomicU64,
}

impl Slot {
    fn new(p: Params) -> Slot {
        Slot {
            interval: AtomicU64::new(p.interval),
            depth: AtomicU64::new(p.depth),
            burst: AtomicU64::new(u64::from(p.burst)),
        }
    }
}

/// A quota that can be replaced at run time while other threads read it, never torn.
///
/// Two slots and a version word: the version's bit 1 names the active slot, bit 0 says a
/// writer is filling the other one. A reader loads the version, reads the active slot, and
/// accepts what it read unless the version has since moved far enough for a *second* writer to
/// have started overwriting that slot (a seqlock whose readers never wait for a writer: one
/// `set` in flight does not disturb them, they retry only if two complete during their read).
/// Writers take turns on a plain mutex (they are rare, and a blocked writer sleeps instead of
/// spinning); readers never touch it.
#[derive(Debug)]
pub(crate) struct QuotaCell {
    version: AtomicU64,
    slots: [Slot; 2],
    writer: Mutex<()>,
}

impl QuotaCell {
    pub(crate) fn new(quota: Quota) -> QuotaCell {
        let p = Params::of(quota);
        QuotaCell {
            version: AtomicU64::new(0),
            slots: [Slot::new(p), Slot::new(p)],
            writer: Mutex::new(()),
        }
    }

    fn slot(&self, version: u64) -> &Slot {
        if version & 2 == 0 {
            &self.slots[0]
        } else {
            &self.slots[1]
        }
    }

    /// Reads the active slot with `read`, retrying until the read is known to be of one
    /// `set` (or of `new`), never a mix.
    #[inline]
    fn read<T>(&self, read: impl Fn(&Slot) -> T) -> T {
        loop {
            let v1 = self.version.load(Ordering::Acquire);
            let value = read(self.slot(v1));
            // Orders the slot reads before the re-check: if any of them saw a write made after
            // a writer's claim, this fence synchronises with that writer's release fence, and
            // the re-check sees the claim.
            fence(Ordering::Acquire);
            let v2 = self.version.load(Ordering::Relaxed);
            // The slot active at v1 is next overwritten by the writer that claims at
            // (v1 & !1) + 3.
            if v2.wrapping_sub(v1 & !1) <= 2 {
                return value;
            }
        }
    }

    /// The hot path's numbers: interval and depth (two loads besides the version's).
    #[inline]
    pub(crate) fn load(&self) -> Params {
        self.read(|slot| Params {
            interval: slot.interval.load(Ordering::Relaxed),
            depth: slot.depth.load(Ordering::Relaxed),
            burst: 0,
        })
    }

    /// The whole quota.
    pub(crate) fn quota(&self) -> Quota {
        self.read(|slot| Quota {
            interval: slot.interval.load(Ordering::Relaxed),
            burst: u32::try_from(slot.burst.load(Ordering::Relaxed)).unwrap_or(u32::MAX),
        })
    }

    /// Replaces the parameters. Readers never wait for this; concurrent `set`s take turns on
    /// the writer mutex.
    pub(crate) fn set(&self, quota: Quota) {
        let p = Params::of(quota);
        let _writer = lock(&self.writer);
        // Claim: readers of the slot about to be overwritten will see the version move. Only
        // the writer holding the mutex changes the version, so it is even here and no one
        // else moves it until we are done. (It stays a read-modify-write, as when writers
        // raced for it: with a plain load and store, which the fences below should order just
        // as well, the loom model `two_writers_never_tear_the_quota` reports a torn read, so
        // we keep the form loom verifies.)
        let v = self.version.fetch_add(1, Ordering::Relaxed);
        // Pairs with the readers' acquire fence (see `load`).
        fence(Ordering::Release);
        let spare = self.slot(v.wrapping_add(2));
        spare.interval.store(p.interval, Ordering::Relaxed);
        spare.depth.store(p.depth, Ordering::Relaxed);
        spare.burst.store(u64::from(p.burst), Ordering::Relaxed);
        // Publishes the spare slot as the active one and releases the writers' claim.
        self.version.store(v.wrapping_add(2), Ordering::Release);
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;

    #[test]
    fn constructors() {
        let q = Quota::per_second(10).unwrap();
        assert_eq!(q.interval(), Duration::from_millis(100));
        assert_eq!(q.burst_size(), 10);
        assert_eq!(
            Quota::per_second(3).unwrap().interval().as_nanos(),
            333_333_334
        );
        assert_eq!(
            Quota::per_minute(120).unwrap().interval(),
            Duration::from_millis(500)
        );
        assert_eq!(Quota::per_minute(120).unwrap().burst_size(), 2);
        assert_eq!(Quota::per_minute(59).unwrap().burst_size(), 1);
        assert_eq!(
            Quota::per_hour(1).unwrap().interval(),
            Duration::from_secs(3600)
        );
        let p = Quota::with_period(Duration::from_millis(250)).unwrap();
        assert_eq!(p.interval(), Duration::from_millis(250));
        assert_eq!(p.burst_size(), 4);
        assert_eq!(
            Quota::with_period(Duration::from_secs(5))
                .unwrap()
                .burst_size(),
            1
        );
        assert_eq!(
            Quota::with_period(Duration::from_nanos(0)),
            Err(ConfigError::ZeroPeriod)
        );
        assert_eq!(Quota::per_minute(0), Err(ConfigError::ZeroRate));
        assert_eq!(Quota::per_hour(0), Err(ConfigError::ZeroRate));
        assert_eq!(q.burst(0), Err(ConfigError::ZeroBurst));
        assert!(!ConfigError::ZeroBurst.to_string().is_empty());
    }

    #[test]
    fn extremes_clamp_instead_of_overflowing() {
        let fast = Quota::per_second(u32::MAX).unwrap();
        assert_eq!(fast.interval(), Duration::from_nanos(1));
        assert_eq!(fast.burst_size(), u32::MAX);
        assert_eq!(fast.effective_burst(), u32::MAX);
        let day = Quota::with_period(Duration::from_secs(86_400)).unwrap();
        let huge = day.burst(u32::MAX).unwrap();
        assert!(huge.refill_time() <= MAX_REFILL);
        assert!(huge.refill_time() > MAX_REFILL - day.interval());
        assert_eq!(
            u64::from(huge.effective_burst()),
            MAX_DEPTH_NANOS / 86_400_000_000_000
        );
        let forever = Quota::with_period(Duration::MAX).unwrap();
        assert_eq!(forever.interval(), MAX_REFILL);
        assert_eq!(forever.effective_burst(), 1);
    }

    #[test]
    fn cell_round_trips() {
        let a = Quota::per_second(10).unwrap();
        let b = Quota::per_minute(7).unwrap().burst(3).unwrap();
        let cell = QuotaCell::new(a);
        assert_eq!(cell.quota(), a);
        for _ in 0..5 {
            cell.set(b);
            assert_eq!(cell.quota(), b);
            assert_eq!(cell.load().interval, Params::of(b).interval);
            assert_eq!(cell.load().depth, Params::of(b).depth);
            cell.set(a);
            assert_eq!(cell.quota(), a);
        }
    }
}
