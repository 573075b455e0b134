//! Adaptive concurrency limits: [`AdaptiveLimit`] admits calls while fewer than its limit are in
//! flight, and a [`LimitAlgorithm`] ([`Aimd`], [`Vegas`], [`Gradient2`] or your own) moves the
//! limit from the calls' round-trip times and drops.
//!
//! # How samples reach the algorithm: windows
//!
//! The common path takes no lock. Admission is one compare-and-swap of the in-flight count
//! against the current limit (an atomic). Closing a permit releases the slot (one
//! `fetch_sub`) and adds the call's RTT and a count to one packed accumulator (one
//! `fetch_add`); a drop also bumps a drop counter. Every [`window_samples`] completions, or
//! once [`window_time`] has passed on the limit's clock, the caller that closes the window
//! takes the algorithm's mutex with `try_lock` (so no caller ever waits: if another thread is
//! already updating, the samples simply count towards the next window), drains the
//! accumulators and calls [`LimitAlgorithm::update`] once with the window's summary:
//! average RTT, largest in-flight count at admission, and whether any call was dropped. This
//! is Netflix's `WindowedLimit` with its `AverageSampleWindow`.
//!
//! The effect on responsiveness: the limit moves once per window, not once per call. With
//! the defaults (100 samples or 100 ms, whichever comes first) a busy service updates about
//! ten times a second or more, and a quiet one at least every 100 ms it has traffic. Averaging
//! over a window also filters single slow calls, which is why Netflix windows its limits.
//! [`Aimd`] grows by one per window of successes. For one update per call (the unwindowed
//! Netflix behaviour) set `window_samples(1)`; each completion then tries the lock.
//!
//! [`window_samples`]: AdaptiveLimitBuilder::window_samples
//! [`window_time`]: AdaptiveLimitBuilder::window_time

mod aimd;
mod algorithm;
mod gradient2;
mod partition;
mod vegas;

use std::fmt;
use std::time::Duration;

use sinew_clock::{Clock, SystemClock};

use crate::error::{ConfigError, Rejected};
use crate::sync::{Arc, AtomicU64, Mutex, Ordering, Padded, TryLockError};

pub use aimd::{Aimd, AimdBuilder};
pub use algorithm::{LimitAlgorithm, Sample};
pub use gradient2::{Gradient2, Gradient2Builder};
pub use partition::{Class, PartitionPermit, Partitioned, PartitionedBuilder};
pub use vegas::{Vegas, VegasBuilder};

/// The largest `max_limit` (2^20): far above any useful concurrency, and small enough that
/// in-flight counts and limits convert between `u32`, `u64` and `f64` exactly.
pub const MAX_LIMIT: u32 = 1 << 20;

/// The largest `window_samples`.
pub const MAX_WINDOW_SAMPLES: u32 = 1024;

/// The accumulator packs the window's sample count above 48 bits of summed RTT nanoseconds.
const COUNT_SHIFT: u32 = 48;
const ONE_SAMPLE: u64 = 1 << COUNT_SHIFT;
const SUM_MASK: u64 = ONE_SAMPLE - 1;
/// A single RTT counts as at most 2^36 ns (68.7 s), so even four times the largest window
/// of such calls (which only happens if the closing thread is starved) fits the 48-bit sum.
const MAX_SAMPLE_RTT_NANOS: u64 = 1 << 36;

/// How a call ended, for [`AdaptivePermit::record`] and the tower classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The call completed; its RTT is a sample.
    Success,
    /// The call timed out or the server signalled overload (a 503, `RESOURCE_EXHAUSTED`);
    /// loss-based algorithms back off.
    Dropped,
    /// The call says nothing about capacity (a client error, a cancelled call): no sample.
    Ignored,
}

/// Counters of an [`AdaptiveLimit`], read with [`AdaptiveLimit::metrics`].
///
/// Each is read separately (relaxed), so under load the fields may be a few calls apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LimitMetrics {
    /// Calls admitted since the limit was built.
    pub admitted: u64,
    /// Calls turned away because the limit was reached.
    pub rejected: u64,
    /// Permits closed with [`Outcome::Dropped`].
    pub dropped: u64,
    /// Permits closed with [`Outcome::Ignored`] (or dropped without an outcome).
    pub ignored: u64,
    /// How many times the (integer) limit changed.
    pub limit_changes: u64,
    /// The current limit.
    pub limit: u32,
    /// Calls in flight now.
    pub in_flight: u32,
}

/// A concurrency limit that adapts to the service behind it: see the [module docs](self).
///
/// Clones share one limit (an `Arc` inside). `try_acquire` is lock-free; the algorithm runs
/// once per sample window under a `try_lock`, so no caller waits for it.
///
/// ```
/// use std::time::Duration;
/// use sinew_bulkhead::{ManualClock, limit::{AdaptiveLimit, Aimd}};
///
/// let clock = ManualClock::new(Duration::ZERO);
/// let limit = AdaptiveLimit::builder(Aimd::new())
///     .initial_limit(2)
///     .window_samples(1)
///     .clock(clock.clone())
///     .build()?;
/// let a = limit.try_acquire()?;
/// let b = limit.try_acquire()?;
/// assert!(limit.try_acquire().is_err()); // 2 in flight
/// a.success_rtt(Duration::from_millis(3)); // in_flight 1 * 2 >= 2: AIMD grows to 3
/// b.ignore();
/// assert_eq!(limit.limit(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AdaptiveLimit<C = SystemClock> {
    shared: Arc<Shared<C>>,
}

impl<C> Clone for AdaptiveLimit<C> {
    fn clone(&self) -> Self {
        AdaptiveLimit {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The admission word and the limit it is checked against, read together by every admission.
#[derive(Debug)]
struct Gate {
    in_flight: AtomicU64,
    limit: AtomicU64,
}

struct Controller {
    algorithm: Box<dyn LimitAlgorithm>,
    /// The algorithm's (fractional) limit; the gate holds its integer part.
    limit: f64,
}

struct Shared<C> {
    gate: Padded<Gate>,
    /// The current window: sample count (top 16 bits) and summed RTT nanoseconds.
    acc: Padded<AtomicU64>,
    max_in_flight: AtomicU64,
    window_drops: AtomicU64,
    /// Clock nanoseconds at which the window closes even if not full.
    next_update: AtomicU64,
    rejected: AtomicU64,
    dropped: AtomicU64,
    ignored: AtomicU64,
    /// Samples drained from closed windows.
    completed: AtomicU64,
    limit_changes: AtomicU64,
    controller: Mutex<Controller>,
    min_limit: u32,
    max_limit: u32,
    window_samples: u64,
    window_nanos: u64,
    name: &'static str,
    clock: C,
}

impl AdaptiveLimit {
    /// A limit run by `algorithm` on the system clock: min 1, max 1000, initial 20, windows of
    /// 100 samples or 100 ms.
    pub fn new(algorithm: impl LimitAlgorithm + 'static) -> Self {
        AdaptiveLimitBuilder::new(Box::new(algorithm), SystemClock).finish()
    }

    /// A builder for the limits, the window and the clock.
    pub fn builder(algorithm: impl LimitAlgorithm + 'static) -> AdaptiveLimitBuilder {
        AdaptiveLimitBuilder::new(Box::new(algorithm), SystemClock)
    }
}

impl<C: Clock> AdaptiveLimit<C> {
    /// A permit if fewer than [`limit`](Self::limit) calls are in flight, else
    /// [`Rejected::Full`]. Lock-free: one compare-and-swap and one clock read (the start
    /// time, for [`AdaptivePermit::success`]).
    ///
    /// The permit borrows the limit; [`try_acquire_owned`](Self::try_acquire_owned) gives
    /// one to move into a spawned task.
    ///
    /// # Errors
    ///
    /// [`Rejected::Full`] when the limit is reached.
    #[inline]
    pub fn try_acquire(&self) -> Result<AdaptivePermit<'_, C>, Rejected> {
        let in_flight = self.shared.admit()?;
        Ok(AdaptivePermit {
            holder: Holder::Borrowed(&self.shared),
            start: self.shared.clock.now_nanos(),
            in_flight,
        })
    }

    /// Like [`try_acquire`](Self::try_acquire), with a `'static` permit holding a clone of
    /// the limit (one more atomic increment and decrement, for the `Arc`).
    ///
    /// # Errors
    ///
    /// [`Rejected::Full`] when the limit is reached.
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<OwnedAdaptivePermit<C>, Rejected>
    where
        C: 'static,
    {
        let in_flight = self.shared.admit()?;
        Ok(AdaptivePermit {
            holder: Holder::Owned(Arc::clone(&self.shared)),
            start: self.shared.clock.now_nanos(),
            in_flight,
        })
    }

    /// Admits a call whatever the limit (for partitions' guaranteed shares).
    pub(crate) fn acquire_forced(&self) -> AdaptivePermit<'_, C> {
        let before = self.shared.gate.in_flight.fetch_add(1, Ordering::Acquire);
        AdaptivePermit {
            holder: Holder::Borrowed(&self.shared),
            start: self.shared.clock.now_nanos(),
            in_flight: u32::try_from(before.saturating_add(1)).unwrap_or(u32::MAX),
        }
    }

    /// Admission without counting a rejection (partitions count their own).
    pub(crate) fn try_acquire_quiet(&self) -> Option<AdaptivePermit<'_, C>> {
        let in_flight = self.shared.try_admit()?;
        Some(AdaptivePermit {
            holder: Holder::Borrowed(&self.shared),
            start: self.shared.clock.now_nanos(),
            in_flight,
        })
    }

    pub(crate) fn count_rejection(&self) {
        self.shared.rejected.fetch_add(1, Ordering::Relaxed);
    }
}

impl<C> AdaptiveLimit<C> {
    /// The current limit: how many calls may be in flight.
    pub fn limit(&self) -> u32 {
        self.shared.limit()
    }

    /// The calls in flight now.
    pub fn in_flight(&self) -> u32 {
        let n = self.shared.gate.in_flight.load(Ordering::Relaxed);
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The bounds the limit moves between.
    pub fn bounds(&self) -> (u32, u32) {
        (self.shared.min_limit, self.shared.max_limit)
    }

    /// The algorithm's [`name`](LimitAlgorithm::name).
    pub fn algorithm(&self) -> &'static str {
        self.shared.name
    }

    /// The counters; readable at any time, from any thread.
    pub fn metrics(&self) -> LimitMetrics {
        let s = &*self.shared;
        let in_flight = self.in_flight();
        let pending = s.acc.load(Ordering::Relaxed) >> COUNT_SHIFT;
        let ignored = s.ignored.load(Ordering::Relaxed);
        LimitMetrics {
            admitted: s.completed.load(Ordering::Relaxed)
                + pending
                + ignored
                + u64::from(in_flight),
            rejected: s.rejected.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            ignored,
            limit_changes: s.limit_changes.load(Ordering::Relaxed),
            limit: s.limit(),
            in_flight,
        }
    }
}

impl<C> fmt::Debug for AdaptiveLimit<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveLimit")
            .field("algorithm", &self.shared.name)
            .field("limit", &self.limit())
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

impl<C> Shared<C> {
    fn limit(&self) -> u32 {
        u32::try_from(self.gate.limit.load(Ordering::Relaxed)).unwrap_or(u32::MAX)
    }

    /// One CAS of the in-flight count against the limit; the new count on success.
    #[inline]
    fn try_admit(&self) -> Option<u32> {
        let limit = self.gate.limit.load(Ordering::Relaxed);
        let mut cur = self.gate.in_flight.load(Ordering::Relaxed);
        loop {
            if cur >= limit {
                return None;
            }
            match self.gate.in_flight.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                // `cur < limit <= MAX_LIMIT`, so it fits.
                Ok(_) => return Some(u32::try_from(cur + 1).unwrap_or(u32::MAX)),
                Err(actual) => cur = actual,
            }
        }
    }

    #[inline]
    fn admit(&self) -> Result<u32, Rejected> {
        match self.try_admit() {
            Some(n) => Ok(n),
            None => {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                Err(Rejected::Full)
            }
        }
    }

    #[inline]
    fn release(&self) {
        self.gate.in_flight.fetch_sub(1, Ordering::Release);
    }

    fn ignore(&self) {
        self.release();
        self.ignored.fetch_add(1, Ordering::Relaxed);
    }
}

impl<C: Clock> Shared<C> {
    /// Releases the slot and adds the call to the window; closes the window when it is due.
    #[inline]
    fn record(&self, in_flight: u32, rtt_nanos: u64, now: u64, dropped: bool) {
        self.release();
        let in_flight = u64::from(in_flight);
        // A load first: the window's maximum is rarely beaten, and a load is far cheaper
        // than a read-modify-write.
        if in_flight > self.max_in_flight.load(Ordering::Relaxed) {
            self.max_in_flight.fetch_max(in_flight, Ordering::Relaxed);
        }
        if dropped {
            self.window_drops.fetch_add(1, Ordering::Relaxed);
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        let prev = self.acc.fetch_add(
            ONE_SAMPLE + rtt_nanos.min(MAX_SAMPLE_RTT_NANOS),
            Ordering::Relaxed,
        );
        let count = (prev >> COUNT_SHIFT) + 1;
        if count >= self.window_samples || now >= self.next_update.load(Ordering::Relaxed) {
            self.close_window(now);
        }
    }

    /// Drains the window into one sample and runs the algorithm, unless another thread is
    /// already doing so (then these samples go to the next window).
    #[cold]
    fn close_window(&self, now: u64) {
        let mut ctl = match self.controller.try_lock() {
            Ok(guard) => guard,
            // A panicking user algorithm left the lock poisoned; the state it guards (a
            // float and the algorithm) is still usable, and admission must go on.
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        let acc = self.acc.swap(0, Ordering::Acquire);
        let count = acc >> COUNT_SHIFT;
        if count == 0 {
            // Another thread closed this window between our check and the lock.
            return;
        }
        self.next_update
            .store(now.saturating_add(self.window_nanos), Ordering::Relaxed);
        let max_in_flight = self.max_in_flight.swap(0, Ordering::Relaxed);
        let drops = self.window_drops.swap(0, Ordering::Relaxed);
        self.completed.fetch_add(count, Ordering::Relaxed);
        let sample = Sample {
            rtt: Duration::from_nanos((acc & SUM_MASK) / count),
            in_flight: u32::try_from(max_in_flight).unwrap_or(u32::MAX),
            dropped: drops > 0,
            now: Duration::from_nanos(now),
        };
        let old = ctl.limit;
        let proposed = ctl.algorithm.update(old, sample);
        let new = clamp_limit(proposed, old, self.min_limit, self.max_limit);
        ctl.limit = new;
        // `new` is within [min, max] <= MAX_LIMIT, so the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let new_int = new as u64;
        let old_int = self.gate.limit.swap(new_int, Ordering::Relaxed);
        if new_int != old_int {
            self.limit_changes.fetch_add(1, Ordering::Relaxed);
            #[cfg(feature = "tracing")]
            tracing::event!(
                target: "sinew_bulkhead",
                tracing::Level::DEBUG,
                algorithm = self.name,
                from = old_int,
                to = new_int,
                rtt_us = u64::try_from(sample.rtt.as_micros()).unwrap_or(u64::MAX),
                in_flight = sample.in_flight,
                dropped = sample.dropped,
                "adaptive limit {} -> {}",
                old_int,
                new_int
            );
        }
    }
}

/// The algorithm's proposal clamped into `[min, max]`; a NaN or infinite one keeps `old`.
fn clamp_limit(proposed: f64, old: f64, min: u32, max: u32) -> f64 {
    let v = if proposed.is_finite() { proposed } else { old };
    v.clamp(f64::from(min), f64::from(max))
}

/// Builds an [`AdaptiveLimit`]; from [`AdaptiveLimit::builder`].
#[must_use]
pub struct AdaptiveLimitBuilder<C = SystemClock> {
    algorithm: Box<dyn LimitAlgorithm>,
    min_limit: u32,
    max_limit: u32,
    initial_limit: u32,
    window_samples: u32,
    window_time: Duration,
    clock: C,
}

impl<C> fmt::Debug for AdaptiveLimitBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveLimitBuilder")
            .field("algorithm", &self.algorithm.name())
            .field("min_limit", &self.min_limit)
            .field("max_limit", &self.max_limit)
            .field("initial_limit", &self.initial_limit)
            .field("window_samples", &self.window_samples)
            .field("window_time", &self.window_time)
            .finish_non_exhaustive()
    }
}

impl<C> AdaptiveLimitBuilder<C> {
    fn new(algorithm: Box<dyn LimitAlgorithm>, clock: C) -> Self {
        AdaptiveLimitBuilder {
            algorithm,
            min_limit: 1,
            max_limit: 1000,
            initial_limit: 20,
            window_samples: 100,
            window_time: Duration::from_millis(100),
            clock,
        }
    }

    /// The lowest the limit goes, in `1..=MAX_LIMIT` (default 1).
    pub fn min_limit(mut self, min: u32) -> Self {
        self.min_limit = min;
        self
    }

    /// The highest the limit goes, in `min_limit..=MAX_LIMIT` (default 1000).
    pub fn max_limit(mut self, max: u32) -> Self {
        self.max_limit = max;
        self
    }

    /// The limit before the first window, in `[min_limit, max_limit]` (default 20).
    pub fn initial_limit(mut self, initial: u32) -> Self {
        self.initial_limit = initial;
        self
    }

    /// A window closes after this many completed calls, in `1..=MAX_WINDOW_SAMPLES`
    /// (default 100; 1 runs the algorithm on every call).
    pub fn window_samples(mut self, samples: u32) -> Self {
        self.window_samples = samples;
        self
    }

    /// A window with at least one call closes once this long has passed on the limit's clock,
    /// even if not full (default 100 ms; nonzero, at most an hour).
    pub fn window_time(mut self, time: Duration) -> Self {
        self.window_time = time;
        self
    }

    /// The clock RTTs and windows are measured with (a `ManualClock` in tests).
    pub fn clock<C2: Clock>(self, clock: C2) -> AdaptiveLimitBuilder<C2> {
        AdaptiveLimitBuilder {
            algorithm: self.algorithm,
            min_limit: self.min_limit,
            max_limit: self.max_limit,
            initial_limit: self.initial_limit,
            window_samples: self.window_samples,
            window_time: self.window_time,
            clock,
        }
    }

    /// The limit, or the first setting out of range.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting.
    pub fn build(self) -> Result<AdaptiveLimit<C>, ConfigError>
    where
        C: Clock,
    {
        if self.min_limit == 0 || self.min_limit > MAX_LIMIT {
            return Err(ConfigError::MinLimit(self.min_limit));
        }
        if self.max_limit < self.min_limit || self.max_limit > MAX_LIMIT {
            return Err(ConfigError::MaxLimit(self.max_limit));
        }
        if !(self.min_limit..=self.max_limit).contains(&self.initial_limit) {
            return Err(ConfigError::InitialLimit(self.initial_limit));
        }
        if !(1..=MAX_WINDOW_SAMPLES).contains(&self.window_samples) {
            return Err(ConfigError::WindowSamples(self.window_samples));
        }
        if self.window_time.is_zero() || self.window_time > Duration::from_secs(3600) {
            return Err(ConfigError::WindowTime(self.window_time));
        }
        Ok(self.finish())
    }

    fn finish(self) -> AdaptiveLimit<C>
    where
        C: Clock,
    {
        let window_nanos = u64::try_from(self.window_time.as_nanos()).unwrap_or(u64::MAX);
        let next_update = self.clock.now_nanos().saturating_add(window_nanos);
        let name = self.algorithm.name();
        AdaptiveLimit {
            shared: Arc::new(Shared {
                gate: Padded(Gate {
                    in_flight: AtomicU64::new(0),
                    limit: AtomicU64::new(u64::from(self.initial_limit)),
                }),
                acc: Padded(AtomicU64::new(0)),
                max_in_flight: AtomicU64::new(0),
                window_drops: AtomicU64::new(0),
                next_update: AtomicU64::new(next_update),
                rejected: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                ignored: AtomicU64::new(0),
                completed: AtomicU64::new(0),
                limit_changes: AtomicU64::new(0),
                controller: Mutex::new(Controller {
                    algorithm: self.algorithm,
                    limit: f64::from(self.initial_limit),
                }),
                min_limit: self.min_limit,
                max_limit: self.max_limit,
                window_samples: u64::from(self.window_samples),
                window_nanos,
                name,
                clock: self.clock,
            }),
        }
    }
}

enum Holder<'a, C> {
    Borrowed(&'a Shared<C>),
    Owned(Arc<Shared<C>>),
    /// Closed: the outcome is recorded.
    Done,
}

/// A slot in an [`AdaptiveLimit`], closed with the call's outcome.
///
/// Records the start time (by the limit's clock) and the in-flight count at admission.
/// Close it with [`success`](Self::success), [`success_rtt`](Self::success_rtt),
/// [`dropped`](Self::dropped) or [`ignore`](Self::ignore); dropping it unclosed is `ignore`
/// (no sample, so a cancelled call does not pull the limit around). `Send`; borrows the limit
/// (`'a`), or owns a clone of it when `'a` is `'static` ([`OwnedAdaptivePermit`]).
#[must_use = "a permit holds a slot until it is closed or dropped"]
pub struct AdaptivePermit<'a, C = SystemClock> {
    holder: Holder<'a, C>,
    start: u64,
    in_flight: u32,
}

/// An [`AdaptivePermit`] that owns a clone of its limit, to move into a spawned task; from
/// [`AdaptiveLimit::try_acquire_owned`].
pub type OwnedAdaptivePermit<C = SystemClock> = AdaptivePermit<'static, C>;

impl<C: Clock> AdaptivePermit<'_, C> {
    /// The call succeeded; its RTT is measured from admission by the limit's clock.
    #[inline]
    pub fn success(self) {
        self.record(Outcome::Success);
    }

    /// The call succeeded in `rtt` (measured by the caller; no clock read). The sample's time
    /// is admission plus `rtt`, with `rtt` counted as at most 2^36 ns (68.7 s), as every sample
    /// is: a bogus `rtt` (from another clock, or `Duration::MAX`) can postpone the next
    /// time-based window by that much at most, never stop windows from closing.
    #[inline]
    pub fn success_rtt(mut self, rtt: Duration) {
        let rtt = u64::try_from(rtt.as_nanos())
            .unwrap_or(u64::MAX)
            .min(MAX_SAMPLE_RTT_NANOS);
        self.close(rtt, self.start.saturating_add(rtt), false);
    }

    /// The call was dropped (timed out, or the server signalled overload).
    #[inline]
    pub fn dropped(self) {
        self.record(Outcome::Dropped);
    }

    /// The call says nothing about capacity: release the slot, take no sample.
    #[inline]
    pub fn ignore(self) {
        self.record(Outcome::Ignored);
    }

    /// Closes the permit with `outcome` (RTT from the limit's clock).
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ignored => {
                if let Some(s) = self.take() {
                    s.ignore();
                }
            }
            Outcome::Success | Outcome::Dropped => {
                let now = match &self.holder {
                    Holder::Borrowed(s) => s.clock.now_nanos(),
                    Holder::Owned(s) => s.clock.now_nanos(),
                    Holder::Done => return,
                };
                let rtt = now.saturating_sub(self.start);
                self.close(rtt, now, outcome == Outcome::Dropped);
            }
        }
    }

    #[inline]
    fn close(&mut self, rtt: u64, now: u64, dropped: bool) {
        if let Some(s) = self.take() {
            s.record(self.in_flight, rtt, now, dropped);
        }
    }
}

impl<'a, C> AdaptivePermit<'a, C> {
    /// The calls in flight when this one was admitted, itself included.
    pub fn in_flight_at_start(&self) -> u32 {
        self.in_flight
    }

    /// Marks the permit closed; the shared state, kept alive until the caller is done.
    #[inline]
    fn take(&mut self) -> Option<Taken<'a, C>> {
        match std::mem::replace(&mut self.holder, Holder::Done) {
            Holder::Borrowed(s) => Some(Taken::Borrowed(s)),
            Holder::Owned(s) => Some(Taken::Owned(s)),
            Holder::Done => None,
        }
    }
}

/// The shared state of a permit being closed (an owned one keeps its `Arc` until then).
enum Taken<'a, C> {
    Borrowed(&'a Shared<C>),
    Owned(Arc<Shared<C>>),
}

impl<C> std::ops::Deref for Taken<'_, C> {
    type Target = Shared<C>;
    #[inline]
    fn deref(&self) -> &Shared<C> {
        match self {
            Taken::Borrowed(s) => s,
            Taken::Owned(s) => s,
        }
    }
}

impl<C> Drop for AdaptivePermit<'_, C> {
    fn drop(&mut self) {
        if let Some(s) = self.take() {
            s.ignore();
        }
    }
}

impl<C> fmt::Debug for AdaptivePermit<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptivePermit")
            .field("start_nanos", &self.start)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests;
