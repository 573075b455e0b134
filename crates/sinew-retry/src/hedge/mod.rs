//! Hedged requests ("The Tail at Scale", Dean and Barroso, CACM 2013): when a request has not
//! answered after the latency most requests beat (p95 by default, over a sliding window), send
//! a second copy; the first answer wins and the other is cancelled. A request that is slow
//! for a reason of its own (a GC pause, a busy replica, a lost packet) is rescued by a copy
//! that is not, at the price of a few percent more load, capped by the hedge's own budget.
//!
//! [`Hedge`] is the shared state: the latency sketch and the budget. Use it through
//! [`Hedge::call`] (feature `tokio`), the tower `HedgeLayer` (feature `tower`), or by hand
//! with [`start`](Hedge::start), [`delay`](Hedge::delay), [`try_hedge`](Hedge::try_hedge) and
//! [`record`](Hedge::record).
//!
//! # The latency sketch
//!
//! A log-bucketed histogram, the HDR histogram's layout, of atomic counters. Latencies are
//! counted in nanoseconds: below 32 ns each value has a bucket of its own; above, each power
//! of two `[2^e, 2^(e+1))` is split into 32 buckets of width `2^(e-5)`, and a bucket reports
//! its midpoint, within `2^(e-6)` of any value in it. The counts are exact, so the percentile's
//! rank lands in the right bucket, and
//!
//! > the delay is within **1/64 (1.6%)** of the true nearest-rank percentile of the latencies
//! > in the window (the `⌈p·n⌉`-th smallest of the `n`).
//!
//! Latencies of 2^36 ns (about 68.7 s) or more count as 2^36 - 1 ns. There are 1,024 counters
//! per sub-window (8 KiB) and eight sub-windows: the window slides in eighths, and a
//! percentile covers the latencies of the last 7/8 to 8/8 of it, never older.
//! [`record`](Hedge::record) is a clock read and two relaxed atomic adds;
//! [`delay`](Hedge::delay) sums eight counts and answers from a cache refreshed at most every
//! `window / 64` and at each sub-window boundary; a refresh scans the buckets from the top
//! (microseconds), so its cost per call is amortised to a few loads.
//!
//! # The budget
//!
//! Every request ([`start`](Hedge::start)) deposits `max_extra_load` of a hedge, every hedge
//! ([`try_hedge`](Hedge::try_hedge)) withdraws one, per sub-window, so deposits expire with
//! the window. A hedge is allowed when, over the live sub-windows and counting itself,
//! `hedges <= max_extra_load * requests`; a compare-exchange on the current sub-window's hedge
//! count makes that check and the withdrawal one step, so concurrent callers reading the same
//! sub-window cannot both take the last hedge. Two callers whose clock readings straddle a
//! sub-window boundary check against different sub-windows' counts, and both may pass: the
//! budget can overshoot by one hedge per caller racing at a boundary. The bound, with that
//! allowance: over any interval of at most 7/8 of the window, the hedges sent are at most
//! `max_extra_load` times the requests started in the window before its last hedge. A loom
//! model checks the race within a sub-window.

#[cfg(feature = "tokio")]
pub(crate) mod future;
pub(crate) mod sketch;

mod budget;
mod window;

use std::fmt;
use std::time::Duration;

use sinew_clock::{Clock, SystemClock};

use crate::error::ConfigError;
use crate::sync::{Arc, AtomicU64, Ordering};
use budget::Budget;
use sketch::Sketch;
use window::SUB_WINDOWS;

/// Longest accepted window: 100 years, as the other sinew crates accept.
const MAX_WINDOW: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Sends a second request when the first is slow; see the [module docs](self).
///
/// Clones share one sketch, one budget and one set of counters (an `Arc` inside), so one
/// `Hedge` per downstream serves every task and thread that calls it. Every method takes
/// `&self` and is lock-free: [`record`](Self::record) and [`start`](Self::start) are a clock
/// read and two or three atomic adds, [`delay`](Self::delay) a handful of loads between
/// refreshes of its cached answer (see the [module docs](self)).
///
/// # Examples
///
/// By hand, around any kind of call:
///
/// ```
/// use std::time::Duration;
/// use sinew_retry::{Hedge, ManualClock};
///
/// let clock = ManualClock::new(Duration::from_secs(1_700_000_000));
/// let hedge = Hedge::builder()
///     .percentile(0.95)
///     .max_extra_load(0.05)
///     .min_samples(100)
///     .clock(clock.clone())
///     .build()?;
///
/// // Warm up: 100 requests, 95 at 10 ms and 5 at 200 ms.
/// for i in 0..100 {
///     hedge.start();
///     hedge.record(Duration::from_millis(if i < 95 { 10 } else { 200 }));
/// }
/// // The next request: send it, and if it has not answered after `delay`, hedge it.
/// hedge.start();
/// let delay = hedge.delay().ok_or("not enough samples")?;
/// assert!(delay.abs_diff(Duration::from_millis(10)) <= Duration::from_millis(10) / 64);
/// assert!(hedge.try_hedge()); // within the 5% budget: send the copy
/// assert_eq!(hedge.metrics().hedges, 1);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Hedge<C: Clock = SystemClock> {
    shared: Arc<Shared<C>>,
}

struct Shared<C> {
    clock: C,
    sketch: Sketch,
    budget: Budget,
    percentile: f64,
    window: Duration,
    max_extra_load: f64,
    min_samples: u32,
    requests: AtomicU64,
    hedges: AtomicU64,
    hedges_won: AtomicU64,
    refused: AtomicU64,
}

/// Counters of a [`Hedge`] since it was built (not windowed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HedgeMetrics {
    /// Original requests counted by [`start`](Hedge::start).
    pub requests: u64,
    /// Hedges the budget allowed ([`try_hedge`](Hedge::try_hedge) returned true).
    pub hedges: u64,
    /// Hedges whose answer came first.
    pub hedges_won: u64,
    /// Hedges the budget refused.
    pub refused: u64,
}

/// Configures a [`Hedge`]; from [`Hedge::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct HedgeBuilder<C = SystemClock> {
    percentile: f64,
    window: Duration,
    max_extra_load: f64,
    min_samples: u32,
    clock: C,
}

impl Hedge {
    /// A hedge with the default settings on the system clock: hedge at the p95 of the last
    /// 10 s of latencies, once 100 are in the window, at most 5% extra load.
    pub fn new() -> Self {
        Hedge::from_builder(HedgeBuilder::default())
    }

    /// A builder with the defaults of [`new`](Self::new).
    pub fn builder() -> HedgeBuilder {
        HedgeBuilder::default()
    }
}

impl Default for Hedge {
    fn default() -> Self {
        Hedge::new()
    }
}

impl Default for HedgeBuilder {
    fn default() -> Self {
        HedgeBuilder {
            percentile: 0.95,
            window: Duration::from_secs(10),
            max_extra_load: 0.05,
            min_samples: 100,
            clock: SystemClock,
        }
    }
}

impl<C> HedgeBuilder<C> {
    /// The latency percentile after which a hedge is sent, in `(0, 1]` (default 0.95).
    /// Lower hedges more requests (within the budget) and sooner.
    pub fn percentile(mut self, percentile: f64) -> Self {
        self.percentile = percentile;
        self
    }

    /// How long latencies are remembered (default 10 s). The window slides in eight steps:
    /// the percentile is over the latencies of the last 7/8 to 8/8 of it, and the budget's
    /// deposits expire the same way. At least 8 ns, at most 100 years.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Hedges allowed per request, in `[0, 1]` (default 0.05: at most 5% extra load).
    /// 0 never hedges.
    pub fn max_extra_load(mut self, max_extra_load: f64) -> Self {
        self.max_extra_load = max_extra_load;
        self
    }

    /// No hedging until this many latencies are in the window (default 100), so a cold start
    /// does not hedge on a percentile of three samples. At least one sample is always needed.
    pub fn min_samples(mut self, min_samples: u32) -> Self {
        self.min_samples = min_samples;
        self
    }

    /// The clock that slides the window (a `ManualClock` in tests). Latencies themselves
    /// are measured by the caller ([`Hedge::record`]) or, in [`Hedge::call`] and the tower
    /// layer, on tokio's clock, the one their hedge timer runs on.
    pub fn clock<C2: Clock>(self, clock: C2) -> HedgeBuilder<C2> {
        HedgeBuilder {
            percentile: self.percentile,
            window: self.window,
            max_extra_load: self.max_extra_load,
            min_samples: self.min_samples,
            clock,
        }
    }

    /// Checks the settings and builds the hedge.
    ///
    /// # Errors
    ///
    /// [`ConfigError::HedgePercentile`], [`ConfigError::HedgeWindow`] or
    /// [`ConfigError::HedgeMaxExtraLoad`] for a setting out of its range.
    pub fn build(self) -> Result<Hedge<C>, ConfigError>
    where
        C: Clock,
    {
        if !(self.percentile > 0.0 && self.percentile <= 1.0) {
            return Err(ConfigError::HedgePercentile(self.percentile));
        }
        if self.window < Duration::from_nanos(SUB_WINDOWS as u64) || self.window > MAX_WINDOW {
            return Err(ConfigError::HedgeWindow(self.window));
        }
        if !(0.0..=1.0).contains(&self.max_extra_load) {
            return Err(ConfigError::HedgeMaxExtraLoad(self.max_extra_load));
        }
        Ok(Hedge::from_builder(self))
    }
}

impl<C: Clock> Hedge<C> {
    /// A hedge from checked settings.
    fn from_builder(b: HedgeBuilder<C>) -> Hedge<C> {
        Hedge {
            shared: Arc::new(Shared {
                clock: b.clock,
                sketch: Sketch::new(b.window, b.percentile, b.min_samples),
                budget: Budget::new(b.window, b.max_extra_load),
                percentile: b.percentile,
                window: b.window,
                max_extra_load: b.max_extra_load,
                min_samples: b.min_samples,
                requests: AtomicU64::new(0),
                hedges: AtomicU64::new(0),
                hedges_won: AtomicU64::new(0),
                refused: AtomicU64::new(0),
            }),
        }
    }

    /// How long to wait for an answer before sending the hedge, now: the configured
    /// percentile of the latencies in the window (within 1/64), or `None` while fewer than
    /// `min_samples` are there (do not hedge). The answer is cached for `window / 64` at most.
    #[inline]
    pub fn delay(&self) -> Option<Duration> {
        self.shared.sketch.delay(self.shared.clock.now_nanos())
    }

    /// Records the latency of a completed request. Record one latency per original request:
    /// its own, or, if it was cancelled because its hedge answered first, the time it had run
    /// by then (past the delay, so the percentile's rank is still right). [`call`](Self::call)
    /// and the tower layer do exactly this.
    #[inline]
    pub fn record(&self, latency: Duration) {
        self.shared
            .sketch
            .record(self.shared.clock.now_nanos(), latency);
    }

    /// Counts an original request: it deposits `max_extra_load` of a hedge into the budget.
    #[inline]
    pub fn start(&self) {
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
        self.shared.budget.deposit(self.shared.clock.now_nanos());
    }

    /// Asks the budget for one hedge, before sending it: true = send it (and it is counted),
    /// false = the budget is spent, do not hedge. Emits a `tracing` event (feature) either
    /// way, target `sinew_retry`.
    pub fn try_hedge(&self) -> bool {
        let granted = self
            .shared
            .budget
            .try_withdraw(self.shared.clock.now_nanos());
        let counter = if granted {
            &self.shared.hedges
        } else {
            &self.shared.refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "tracing")]
        if granted {
            tracing::event!(target: "sinew_retry", tracing::Level::DEBUG, event = "hedge_sent", "hedge sent");
        } else {
            tracing::event!(target: "sinew_retry", tracing::Level::DEBUG, event = "hedge_refused", "hedge refused: budget spent");
        }
        granted
    }

    /// Counts a hedge whose answer came before the original's ([`metrics`](Self::metrics)'
    /// `hedges_won`), for callers that hedge by hand.
    pub fn hedge_won(&self) {
        self.shared.hedges_won.fetch_add(1, Ordering::Relaxed);
    }

    /// Hedges the budget would allow now (a reading: other callers may spend them first).
    pub fn balance(&self) -> u64 {
        self.shared.budget.balance(self.shared.clock.now_nanos())
    }

    /// Latencies in the window now.
    pub fn samples(&self) -> u64 {
        self.shared.sketch.count(self.shared.clock.now_nanos())
    }

    /// The counters since the hedge was built.
    pub fn metrics(&self) -> HedgeMetrics {
        HedgeMetrics {
            requests: self.shared.requests.load(Ordering::Relaxed),
            hedges: self.shared.hedges.load(Ordering::Relaxed),
            hedges_won: self.shared.hedges_won.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
        }
    }

    /// The configured percentile.
    pub fn percentile(&self) -> f64 {
        self.shared.percentile
    }

    /// The configured window.
    pub fn window(&self) -> Duration {
        self.shared.window
    }

    /// The configured maximum extra load.
    pub fn max_extra_load(&self) -> f64 {
        self.shared.max_extra_load
    }

    /// The configured minimum of samples.
    pub fn min_samples(&self) -> u32 {
        self.shared.min_samples
    }

    /// The hedge's clock.
    pub fn clock(&self) -> &C {
        &self.shared.clock
    }

    /// Runs `op()`; if it has not answered after [`delay`](Self::delay) and the budget allows
    /// ([`try_hedge`](Self::try_hedge)), runs `op()` again; the first answer wins, `Ok` or
    /// `Err`, and the other future is dropped, which cancels it. Counts the request
    /// ([`start`](Self::start)) and records its latency on tokio's clock, as
    /// [`record`](Self::record) describes. Needs a tokio runtime with its timer.
    ///
    /// Only latency is hedged: an error is an answer. Put a retry around the call (or
    /// inside `op`) for errors. The hedge timer is tokio's, with its 1 ms resolution: the
    /// hedge goes out at the delay rounded up to the next millisecond.
    ///
    /// # Errors
    ///
    /// The first answer's error, `op`'s own `E`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sinew_retry::Hedge;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let hedge = Hedge::builder().min_samples(1).max_extra_load(1.0).build()?;
    /// hedge.record(Duration::from_millis(10)); // normally learnt from earlier calls
    ///
    /// let mut calls = 0;
    /// let answer = hedge
    ///     .call(|| {
    ///         calls += 1;
    ///         // The first copy is stuck; the hedge, sent after 10 ms, answers.
    ///         let latency = if calls == 1 { 1_000 } else { 5 };
    ///         async move {
    ///             tokio::time::sleep(Duration::from_millis(latency)).await;
    ///             Ok::<_, std::io::Error>(latency)
    ///         }
    ///     })
    ///     .await?;
    /// assert_eq!(answer, 5);
    /// assert_eq!(hedge.metrics().hedges_won, 1);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub async fn call<T, E, F, Fut>(&self, mut op: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let delay = self.begin();
        let primary = op();
        future::Hedged::new(
            self.clone(),
            delay,
            primary,
            delay.map(|_| future::Again(op)),
        )
        .await
    }

    /// Counts the request and reads the delay: the start of every hedged call.
    #[cfg(feature = "tokio")]
    pub(crate) fn begin(&self) -> Option<Duration> {
        self.start();
        self.delay()
    }

    /// Records the end of a hedged call: the original's latency (or its time so far, if the
    /// hedge won), and the win.
    #[cfg(feature = "tokio")]
    pub(crate) fn finish(&self, original_ran: Duration, hedge_won: bool) {
        self.record(original_ran);
        if hedge_won {
            self.hedge_won();
        }
    }
}

impl<C: Clock> Clone for Hedge<C> {
    fn clone(&self) -> Self {
        Hedge {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C: Clock + fmt::Debug> fmt::Debug for Hedge<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hedge")
            .field("percentile", &self.shared.percentile)
            .field("window", &self.shared.window)
            .field("max_extra_load", &self.shared.max_extra_load)
            .field("min_samples", &self.shared.min_samples)
            .field("clock", &self.shared.clock)
            .field("metrics", &self.metrics())
            .finish()
    }
}

#[cfg(all(test, not(sinew_loom)))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sinew_clock::ManualClock;

    fn clock() -> ManualClock {
        ManualClock::new(Duration::from_secs(1_700_000_000))
    }

    #[test]
    fn bad_settings_are_named() {
        let e = |b: HedgeBuilder| b.build().unwrap_err();
        assert_eq!(
            e(Hedge::builder().percentile(0.0)),
            ConfigError::HedgePercentile(0.0)
        );
        assert_eq!(
            e(Hedge::builder().percentile(1.5)),
            ConfigError::HedgePercentile(1.5)
        );
        assert!(matches!(
            e(Hedge::builder().percentile(f64::NAN)),
            ConfigError::HedgePercentile(p) if p.is_nan()
        ));
        assert_eq!(
            e(Hedge::builder().window(Duration::ZERO)),
            ConfigError::HedgeWindow(Duration::ZERO)
        );
        assert_eq!(
            e(Hedge::builder().window(Duration::MAX)),
            ConfigError::HedgeWindow(Duration::MAX)
        );
        assert_eq!(
            e(Hedge::builder().max_extra_load(-0.1)),
            ConfigError::HedgeMaxExtraLoad(-0.1)
        );
        assert!(matches!(
            e(Hedge::builder().max_extra_load(f64::INFINITY)),
            ConfigError::HedgeMaxExtraLoad(_)
        ));
        for err in [
            ConfigError::HedgePercentile(2.0),
            ConfigError::HedgeWindow(Duration::ZERO),
            ConfigError::HedgeMaxExtraLoad(2.0),
        ] {
            let shown = err.to_string();
            assert!(
                ["percentile", "window", "max_extra_load"]
                    .iter()
                    .any(|s| shown.contains(s)),
                "{shown}"
            );
        }
        assert!(Hedge::builder().percentile(1.0).build().is_ok());
        assert!(Hedge::builder().max_extra_load(0.0).build().is_ok());
    }

    #[test]
    fn defaults() {
        let h = Hedge::new();
        assert_eq!(h.percentile(), 0.95);
        assert_eq!(h.window(), Duration::from_secs(10));
        assert_eq!(h.max_extra_load(), 0.05);
        assert_eq!(h.min_samples(), 100);
        assert_eq!(h.delay(), None);
        assert_eq!(h.metrics(), HedgeMetrics::default());
        assert!(format!("{h:?}").contains("percentile"));
    }

    #[test]
    fn clones_share_state_and_metrics_count() {
        let clock = clock();
        let h = Hedge::builder()
            .min_samples(10)
            .max_extra_load(0.1)
            .clock(clock.clone())
            .build()
            .unwrap();
        let other = h.clone();
        for _ in 0..10 {
            other.start();
            other.record(Duration::from_millis(3));
        }
        assert_eq!(h.samples(), 10);
        assert!(h.delay().is_some());
        assert_eq!(h.balance(), 1);
        assert!(h.try_hedge());
        assert!(!other.try_hedge());
        h.hedge_won();
        assert_eq!(
            other.metrics(),
            HedgeMetrics {
                requests: 10,
                hedges: 1,
                hedges_won: 1,
                refused: 1
            }
        );
        // The window forgets latencies and deposits alike.
        clock.advance(Duration::from_secs(10));
        assert_eq!(h.samples(), 0);
        assert_eq!(h.delay(), None);
        assert_eq!(h.balance(), 0);
    }
}
