//! [`Builder`] and the settings it checks.

use std::fmt;
use std::time::Duration;

use sinew_clock::{Clock, SystemClock};

use crate::breaker::{CircuitBreaker, Listener, Transition};
use crate::error::ConfigError;
use crate::state::MAX_PERMITS;
use crate::window::MAX_COUNT_WINDOW;

/// The longest wait this crate accepts (100 years), so deadlines never overflow.
const MAX_WAIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Which calls the closed state's decision looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowKind {
    Count(u32),
    Time { window: Duration, buckets: u32 },
}

/// A breaker's settings (everything but its clock and listener), checked.
///
/// A `Config` is always valid: there is [`Config::default`], a breaker's own
/// ([`CircuitBreaker::config`]) and, with the `serde` feature, one deserialized, which runs the
/// checks of [`Builder::build`] and fails with the [`ConfigError`] it would return. Build a
/// breaker from one with [`Builder::config`].
///
/// # Serde
///
/// With the `serde` feature, a `Config` serializes as a map named after the builder's
/// setters; durations are seconds as numbers (`0.25` is 250 ms, see
/// [`sinew_clock::serde_secs`]). Every key may be left out, and then takes its default
/// (see [`Builder`]), so a file names only what it changes:
///
/// ```json
/// {
///   "failure_rate_threshold": 0.5,
///   "slow_call": { "duration": 2.0, "rate_threshold": 0.8 },
///   "minimum_calls": 20,
///   "window": { "count": 100 },
///   "consecutive_failures": null,
///   "wait_in_open": 10.0,
///   "open_backoff": { "multiplier": 2.0, "max": 120.0 },
///   "open_jitter": { "fraction": 0.1, "seed": 42 },
///   "half_open_permits": 5,
///   "max_wait_in_half_open": null
/// }
/// ```
///
/// - `slow_call`, `consecutive_failures`, `open_backoff` and `max_wait_in_half_open` are
///   `null` (or absent) when off.
/// - `window` is `{"count": calls}` or `{"time": {"window": seconds, "buckets": n}}`
///   (`buckets` defaults to 10).
/// - `minimum_calls` absent follows the builder's rule: 100, or a smaller count window's size.
/// - An unknown key is an error, so a misspelt setting is not silently ignored.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use std::time::Duration;
/// use sinew_breaker::{CircuitBreaker, Config};
///
/// let config: Config = serde_json::from_str(r#"{"window": {"count": 20}, "wait_in_open": 5}"#)?;
/// let breaker = CircuitBreaker::builder().config(config).build()?;
/// let same = CircuitBreaker::builder()
///     .count_window(20)
///     .wait_in_open(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(breaker.config(), same.config());
/// // Out of range: the same error as the builder's.
/// assert!(serde_json::from_str::<Config>(r#"{"failure_rate_threshold": 1.5}"#).is_err());
/// # }
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "repr::Repr", into = "repr::Repr")
)]
pub struct Config {
    pub(crate) failure_rate: f64,
    pub(crate) slow_nanos: Option<u64>,
    pub(crate) slow_rate: f64,
    pub(crate) minimum_calls: u64,
    pub(crate) window: WindowKind,
    pub(crate) consecutive_failures: Option<u32>,
    pub(crate) wait_in_open: Duration,
    /// Multiplier and cap of the wait on repeated trips.
    pub(crate) backoff: Option<(f64, Duration)>,
    pub(crate) jitter: f64,
    pub(crate) jitter_seed: u64,
    pub(crate) half_open_permits: u32,
    pub(crate) max_wait_in_half_open: Option<Duration>,
}

impl Default for Config {
    /// resilience4j's defaults, where it has one.
    fn default() -> Self {
        Config {
            failure_rate: 0.5,
            slow_nanos: None,
            slow_rate: 1.0,
            minimum_calls: 100,
            window: WindowKind::Count(100),
            consecutive_failures: None,
            wait_in_open: Duration::from_secs(60),
            backoff: None,
            jitter: 0.0,
            jitter_seed: 0x5eed_b4ea_4e45_0001,
            half_open_permits: 10,
            max_wait_in_half_open: None,
        }
    }
}

/// Builds a [`CircuitBreaker`]; start with [`CircuitBreaker::builder`].
///
/// Every setting has a default (those of Java's resilience4j where it has one):
///
/// | setting | default |
/// |---|---|
/// | [`failure_rate_threshold`](Self::failure_rate_threshold) | 0.5 |
/// | [`slow_call`](Self::slow_call) | off |
/// | [`minimum_calls`](Self::minimum_calls) | 100, or the count window's size if smaller |
/// | window | [`count_window(100)`](Self::count_window) |
/// | [`consecutive_failures`](Self::consecutive_failures) | off |
/// | [`wait_in_open`](Self::wait_in_open) | 60 s, no backoff, no jitter |
/// | [`half_open_permits`](Self::half_open_permits) | 10 |
/// | [`max_wait_in_half_open`](Self::max_wait_in_half_open) | none (wait for every trial) |
/// | [`clock`](Self::clock) | [`SystemClock`] |
///
/// Setters only record values; [`build`](Self::build) checks them all and reports the first
/// out-of-range one as a [`ConfigError`].
pub struct Builder<C = SystemClock> {
    config: Config,
    /// Whether `minimum_calls` was set by hand (else it follows the count window).
    minimum_calls_set: bool,
    clock: C,
    listener: Option<Listener>,
}

impl<C: fmt::Debug> fmt::Debug for Builder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("config", &self.config)
            .field("minimum_calls_set", &self.minimum_calls_set)
            .field("clock", &self.clock)
            .field("listener", &self.listener.is_some())
            .finish()
    }
}

impl Builder<SystemClock> {
    pub(crate) fn new() -> Self {
        Builder {
            config: Config::default(),
            minimum_calls_set: false,
            clock: SystemClock,
            listener: None,
        }
    }
}

impl<C: Clock> Builder<C> {
    /// Trips when the share of failed calls in the window reaches `threshold`
    /// (`0 < threshold <= 1`), once the window holds [`minimum_calls`](Self::minimum_calls).
    pub fn failure_rate_threshold(mut self, threshold: f64) -> Self {
        self.config.failure_rate = threshold;
        self
    }

    /// A call that takes `duration` or longer (from acquiring its permit to reporting it, by the
    /// breaker's clock) is slow; trips when the share of slow calls in the window reaches
    /// `rate_threshold` (`0 < rate_threshold <= 1`). Slow calls count whether they succeed or
    /// fail. In half-open, a slow trial counts as a failed trial.
    ///
    /// Off by default; with it off, permits never read the clock.
    pub fn slow_call(mut self, duration: Duration, rate_threshold: f64) -> Self {
        self.config.slow_nanos = Some(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
        self.config.slow_rate = rate_threshold;
        self
    }

    /// No rate decision before the window holds this many calls (at least 1; for a count
    /// window at most its size).
    ///
    /// Unset, it is 100, or the size of a smaller [`count_window`](Self::count_window): so
    /// `count_window(20)` alone decides once the window is full, as resilience4j does, rather
    /// than failing to build. Set by hand above the count window's size, it is an error.
    pub fn minimum_calls(mut self, calls: u32) -> Self {
        self.config.minimum_calls = u64::from(calls);
        self.minimum_calls_set = true;
        self
    }

    /// The window is the last `calls` calls (1 to 2^20). Replaces any time window. Unless
    /// [`minimum_calls`](Self::minimum_calls) is set, a window of fewer than 100 calls also
    /// lowers the minimum to its size.
    pub fn count_window(mut self, calls: u32) -> Self {
        self.config.window = WindowKind::Count(calls);
        self
    }

    /// The window is the calls of the last `window`, kept in 10 buckets of `window / 10` (see
    /// [`time_window_buckets`](Self::time_window_buckets)); a bucket leaves the window whole.
    /// Replaces any count window. Recording reads the clock.
    pub fn time_window(mut self, window: Duration) -> Self {
        self.config.window = WindowKind::Time {
            window,
            buckets: 10,
        };
        self
    }

    /// How many buckets a [`time_window`](Self::time_window) has (1 to 1024; default 10). More
    /// buckets forget more smoothly and cost more per decision. Call after `time_window`.
    pub fn time_window_buckets(mut self, buckets: u32) -> Self {
        if let WindowKind::Time { window, .. } = self.config.window {
            self.config.window = WindowKind::Time { window, buckets };
        }
        self
    }

    /// Also trips after `failures` failures in a row in the closed state (at least 1),
    /// regardless of the window.
    pub fn consecutive_failures(mut self, failures: u32) -> Self {
        self.config.consecutive_failures = Some(failures);
        self
    }

    /// How long the breaker stays open before letting trial calls through (more than zero;
    /// the first trip in a row, with no [`open_backoff`](Self::open_backoff): every trip).
    pub fn wait_in_open(mut self, wait: Duration) -> Self {
        self.config.wait_in_open = wait;
        self
    }

    /// Exponential backoff on repeated trips: the n-th trip in a row (half-open failing again)
    /// waits `wait_in_open * multiplier^(n-1)`, at most `max` (`multiplier >= 1`,
    /// `max >= wait_in_open`). A successful half-open resets the count.
    pub fn open_backoff(mut self, multiplier: f64, max: Duration) -> Self {
        self.config.backoff = Some((multiplier, max));
        self
    }

    /// Multiplies each wait in open by a factor in `[1 - fraction, 1 + fraction)`
    /// (`0 <= fraction < 1`), so breakers tripped by the same outage do not all probe it at
    /// the same instant.
    ///
    /// - The factor is applied to the wait after [`open_backoff`](Self::open_backoff) and its
    ///   cap, so a jittered wait can exceed the cap by up to `fraction`; the deadline is then
    ///   rounded up to the millisecond.
    /// - It is not random: it is a hash (SplitMix64) of `seed` and the breaker's transition
    ///   counter (21 bits, wrapping) at the trip. The same seed and the same history give the
    ///   same waits (reproducible in tests), and breakers built with the same seed that trip
    ///   in step also wait in step: give each process its own seed (say, drawn at random or
    ///   hashed from the host name at startup) for the jitter to spread a fleet.
    /// - The factor is uniform over its range only across many trips; one breaker's waits
    ///   follow the fixed sequence of its seed.
    pub fn open_jitter(mut self, fraction: f64, seed: u64) -> Self {
        self.config.jitter = fraction;
        self.config.jitter_seed = seed;
        self
    }

    /// Half-open admits exactly this many trial calls (1 to 65535); when all have succeeded
    /// the breaker closes, and the first failure reopens it.
    pub fn half_open_permits(mut self, permits: u32) -> Self {
        self.config.half_open_permits = permits;
        self
    }

    /// Reopens a half-open breaker whose trials have not all reported after `wait` (more than
    /// zero), so trial permits held forever cannot keep it half-open. Checked when a call is
    /// turned away in half-open.
    pub fn max_wait_in_half_open(mut self, wait: Duration) -> Self {
        self.config.max_wait_in_half_open = Some(wait);
        self
    }

    /// Replaces every setting (not the clock or the listener) with `config`'s: a
    /// configuration read from a file, or another breaker's. Setters called afterwards change
    /// it further. Its `minimum_calls` counts as set explicitly: a smaller count window set
    /// afterwards is checked against it (and refused with
    /// [`ConfigError::MinimumCallsExceedWindow`]) rather than lowering it, as it would for the
    /// default.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self.minimum_calls_set = true;
        self
    }

    /// Calls `listener` once for every state transition, on the thread that made it (keep it
    /// short; it runs on the call path of the call that tripped the breaker).
    pub fn on_transition(mut self, listener: impl Fn(&Transition) + Send + Sync + 'static) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }

    /// The time source: [`SystemClock`] by default; [`ManualClock`](crate::ManualClock) in
    /// tests; [`CachedClock`](crate::CachedClock) where the clock read dominates.
    pub fn clock<C2: Clock>(self, clock: C2) -> Builder<C2> {
        Builder {
            config: self.config,
            minimum_calls_set: self.minimum_calls_set,
            clock,
            listener: self.listener,
        }
    }

    /// Checks the settings and builds the breaker, closed.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first out-of-range setting.
    pub fn build(self) -> Result<CircuitBreaker<C>, ConfigError> {
        Ok(CircuitBreaker::from_parts(
            checked(self.config, self.minimum_calls_set)?,
            self.clock,
            self.listener,
        ))
    }
}

/// `config` with the default minimum resolved (unless `minimum_calls_set`), if it is valid.
fn checked(mut config: Config, minimum_calls_set: bool) -> Result<Config, ConfigError> {
    if let (false, WindowKind::Count(n)) = (minimum_calls_set, config.window) {
        // The default minimum follows a smaller count window (a window of 0 stays an error
        // below, reported as such).
        config.minimum_calls = config.minimum_calls.min(u64::from(n.max(1)));
    }
    validate(&config)?;
    Ok(config)
}

fn rate_ok(x: f64) -> bool {
    x > 0.0 && x <= 1.0
}

fn validate(c: &Config) -> Result<(), ConfigError> {
    if !rate_ok(c.failure_rate) {
        return Err(ConfigError::FailureRateThreshold(c.failure_rate));
    }
    if let Some(nanos) = c.slow_nanos {
        if nanos == 0 {
            return Err(ConfigError::SlowCallDuration);
        }
        if !rate_ok(c.slow_rate) {
            return Err(ConfigError::SlowCallRateThreshold(c.slow_rate));
        }
    }
    if c.minimum_calls == 0 {
        return Err(ConfigError::MinimumCalls(0));
    }
    match c.window {
        WindowKind::Count(n) => {
            if n == 0 || n > MAX_COUNT_WINDOW {
                return Err(ConfigError::CountWindow(n));
            }
            if c.minimum_calls > u64::from(n) {
                return Err(ConfigError::MinimumCallsExceedWindow {
                    minimum_calls: u32::try_from(c.minimum_calls).unwrap_or(u32::MAX),
                    window: n,
                });
            }
        }
        WindowKind::Time { window, buckets } => {
            if buckets == 0 || buckets > 1024 {
                return Err(ConfigError::TimeWindowBuckets(buckets));
            }
            if window.is_zero() || window > MAX_WAIT || window.as_nanos() < u128::from(buckets) {
                return Err(ConfigError::TimeWindow(window));
            }
        }
    }
    if c.consecutive_failures == Some(0) {
        return Err(ConfigError::ConsecutiveFailures(0));
    }
    if c.wait_in_open.is_zero() || c.wait_in_open > MAX_WAIT {
        return Err(ConfigError::WaitInOpen(c.wait_in_open));
    }
    if let Some((multiplier, max)) = c.backoff
        && (!(multiplier >= 1.0 && multiplier.is_finite())
            || max < c.wait_in_open
            || max > MAX_WAIT)
    {
        return Err(ConfigError::OpenBackoff { multiplier, max });
    }
    if !(0.0..1.0).contains(&c.jitter) {
        return Err(ConfigError::OpenJitter(c.jitter));
    }
    if c.half_open_permits == 0 || c.half_open_permits > MAX_PERMITS {
        return Err(ConfigError::HalfOpenPermits(c.half_open_permits));
    }
    if let Some(w) = c.max_wait_in_half_open
        && (w.is_zero() || w > MAX_WAIT)
    {
        return Err(ConfigError::MaxWaitInHalfOpen(w));
    }
    Ok(())
}

/// The serde form of [`Config`] (documented there).
#[cfg(feature = "serde")]
mod repr {
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    use super::{Config, WindowKind, checked};
    use crate::error::ConfigError;

    #[derive(Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub(super) struct Repr {
        failure_rate_threshold: f64,
        slow_call: Option<SlowCall>,
        minimum_calls: Option<u32>,
        window: Window,
        consecutive_failures: Option<u32>,
        #[serde(with = "sinew_clock::serde_secs")]
        wait_in_open: Duration,
        open_backoff: Option<Backoff>,
        open_jitter: Jitter,
        half_open_permits: u32,
        #[serde(with = "sinew_clock::serde_secs::option")]
        max_wait_in_half_open: Option<Duration>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SlowCall {
        #[serde(with = "sinew_clock::serde_secs")]
        duration: Duration,
        rate_threshold: f64,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case", deny_unknown_fields)]
    enum Window {
        Count(u32),
        Time {
            #[serde(with = "sinew_clock::serde_secs")]
            window: Duration,
            #[serde(default = "ten")]
            buckets: u32,
        },
    }

    fn ten() -> u32 {
        10
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Backoff {
        multiplier: f64,
        #[serde(with = "sinew_clock::serde_secs")]
        max: Duration,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Jitter {
        fraction: f64,
        seed: u64,
    }

    impl Default for Jitter {
        fn default() -> Self {
            let d = Config::default();
            Jitter {
                fraction: d.jitter,
                seed: d.jitter_seed,
            }
        }
    }

    impl Default for Repr {
        /// The defaults, with `minimum_calls` left to follow the window.
        fn default() -> Self {
            let mut repr = Repr::from(Config::default());
            repr.minimum_calls = None;
            repr
        }
    }

    impl From<Config> for Repr {
        fn from(c: Config) -> Self {
            Repr {
                failure_rate_threshold: c.failure_rate,
                slow_call: c.slow_nanos.map(|nanos| SlowCall {
                    duration: Duration::from_nanos(nanos),
                    rate_threshold: c.slow_rate,
                }),
                minimum_calls: Some(u32::try_from(c.minimum_calls).unwrap_or(u32::MAX)),
                window: match c.window {
                    WindowKind::Count(n) => Window::Count(n),
                    WindowKind::Time { window, buckets } => Window::Time { window, buckets },
                },
                consecutive_failures: c.consecutive_failures,
                wait_in_open: c.wait_in_open,
                open_backoff: c
                    .backoff
                    .map(|(multiplier, max)| Backoff { multiplier, max }),
                open_jitter: Jitter {
                    fraction: c.jitter,
                    seed: c.jitter_seed,
                },
                half_open_permits: c.half_open_permits,
                max_wait_in_half_open: c.max_wait_in_half_open,
            }
        }
    }

    impl TryFrom<Repr> for Config {
        type Error = ConfigError;

        fn try_from(r: Repr) -> Result<Config, ConfigError> {
            let defaults = Config::default();
            let config = Config {
                failure_rate: r.failure_rate_threshold,
                slow_nanos: r
                    .slow_call
                    .as_ref()
                    .map(|s| u64::try_from(s.duration.as_nanos()).unwrap_or(u64::MAX)),
                slow_rate: r
                    .slow_call
                    .as_ref()
                    .map_or(defaults.slow_rate, |s| s.rate_threshold),
                minimum_calls: r.minimum_calls.map_or(defaults.minimum_calls, u64::from),
                window: match r.window {
                    Window::Count(n) => WindowKind::Count(n),
                    Window::Time { window, buckets } => WindowKind::Time { window, buckets },
                },
                consecutive_failures: r.consecutive_failures,
                wait_in_open: r.wait_in_open,
                backoff: r.open_backoff.map(|b| (b.multiplier, b.max)),
                jitter: r.open_jitter.fraction,
                jitter_seed: r.open_jitter.seed,
                half_open_permits: r.half_open_permits,
                max_wait_in_half_open: r.max_wait_in_half_open,
            };
            checked(config, r.minimum_calls.is_some())
        }
    }
}
