//! [`Backoff`]: how long to wait before each retry, and how many retries to make.

use std::cell::Cell;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::iter::FusedIterator;
use std::time::Duration;

use crate::error::ConfigError;

/// The longest delay or cap accepted (100 years), so sums of delays never overflow.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// How each delay is randomized, as in the AWS Architecture Blog's
/// ["Exponential Backoff and Jitter"](https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
///
/// With `d = min(cap, base * factor^n)` the n-th retry's un-jittered delay (n = 0, 1, ..):
///
/// | jitter | delay | mean |
/// |---|---|---|
/// | `None` | `d` | `d` |
/// | `Full` (default) | uniform in `[0, d)` | `d / 2` |
/// | `Equal` | `d / 2` + uniform in `[0, d / 2)` | `3d / 4` |
/// | `Decorrelated` | `min(cap, uniform in [base, 3 * previous))`, previous starting at `base` | grows about 1.5x per retry until the cap |
///
/// Jitter spreads the retries of clients that failed together, so they do not come back
/// together; `Full` spreads them most and, in AWS's simulation, does the least total work.
/// `Decorrelated` ignores `factor` (its growth is the `3 * previous`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Jitter {
    /// No randomness: exactly `d`.
    None,
    /// Uniform in `[0, d)`.
    #[default]
    Full,
    /// `d / 2` plus uniform in `[0, d / 2)`.
    Equal,
    /// `min(cap, uniform in [base, 3 * previous))`.
    Decorrelated,
}

/// A backoff schedule: exponential (base, factor, cap) or constant, with [`Jitter`], at most
/// `max_retries` retries and optionally at most `max_elapsed` in all.
///
/// Build one with [`Backoff::exponential`] or [`Backoff::constant`]; [`Backoff::default`] is
/// `exponential(100 ms)` with factor 2, cap 10 s, [`Jitter::Full`] and 3 retries.
/// [`delays`](Self::delays) gives the delays as an iterator that allocates nothing and costs a
/// few nanoseconds per item.
///
/// ```
/// use std::time::Duration;
/// use sinew_retry::{Backoff, Jitter};
///
/// let backoff = Backoff::exponential(Duration::from_millis(100))
///     .factor(2.0)
///     .cap(Duration::from_secs(1))
///     .jitter(Jitter::None)
///     .max_retries(5)
///     .build()?;
/// let delays: Vec<Duration> = backoff.delays().collect();
/// assert_eq!(delays, [100, 200, 400, 800, 1000].map(Duration::from_millis));
///
/// // Full jitter (the default): each delay is uniform below the schedule's.
/// let jittered = Backoff::exponential(Duration::from_millis(100)).build()?;
/// for (d, max) in jittered.delays_seeded(7).zip([100, 200, 400]) {
///     assert!(d < Duration::from_millis(max));
/// }
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Serde
///
/// With the `serde` feature a `Backoff` is a map of its settings, durations in seconds
/// (`{"base": 0.1, "factor": 2.0, "cap": 10.0, "jitter": "full", "max_retries": 3,
/// "max_elapsed": null, "seed": null}`); absent keys take the defaults of
/// [`Backoff::default`], unknown keys are an error, and the checks of
/// [`BackoffBuilder::build`] run on deserializing.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "repr::Repr", into = "repr::Repr")
)]
pub struct Backoff {
    base: Duration,
    factor: f64,
    cap: Duration,
    jitter: Jitter,
    max_retries: u32,
    max_elapsed: Option<Duration>,
    seed: Option<u64>,
}

impl Default for Backoff {
    /// `exponential(100 ms)`: factor 2, cap 10 s, [`Jitter::Full`], 3 retries.
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(100),
            factor: 2.0,
            cap: Duration::from_secs(10),
            jitter: Jitter::Full,
            max_retries: 3,
            max_elapsed: None,
            seed: None,
        }
    }
}

impl Backoff {
    /// Exponential backoff from `base`: factor 2, cap 10 s (or `base` if longer),
    /// [`Jitter::Full`], 3 retries. Change any of them on the builder.
    pub fn exponential(base: Duration) -> BackoffBuilder {
        BackoffBuilder {
            backoff: Backoff {
                base,
                ..Backoff::default()
            },
            cap_set: false,
        }
    }

    /// The same `delay` before every retry: [`Jitter::None`], 3 retries.
    pub fn constant(delay: Duration) -> BackoffBuilder {
        BackoffBuilder {
            backoff: Backoff {
                base: delay,
                factor: 1.0,
                cap: delay,
                jitter: Jitter::None,
                ..Backoff::default()
            },
            cap_set: true,
        }
    }

    /// The delays before each retry, a fresh iterator of at most
    /// [`max_retries`](Self::max_retries) items. Its randomness is seeded from the seed set
    /// with [`BackoffBuilder::seed`], else freshly per call (from a per-thread generator
    /// seeded by the OS's randomness, as `HashMap`'s keys are).
    ///
    /// A seeded `Backoff` gives the same sequence on every call; where many independent
    /// sequences are wanted (a simulation of many clients), use
    /// [`delays_seeded`](Self::delays_seeded) with a distinct seed each.
    pub fn delays(&self) -> Delays {
        self.delays_seeded(self.seed.unwrap_or_else(fresh_seed))
    }

    /// The delays, with their randomness from `seed`: the same seed gives the same sequence.
    pub fn delays_seeded(&self, seed: u64) -> Delays {
        let base = nanos_f64(self.base);
        let cap = nanos_f64(self.cap);
        Delays {
            rng: seed,
            remaining: self.max_retries,
            next: base.min(cap),
            factor: self.factor,
            cap,
            cap_nanos: u64::try_from(self.cap.as_nanos()).unwrap_or(u64::MAX),
            base,
            prev: base,
            jitter: self.jitter,
        }
    }

    /// Retries at most (the attempts are one more).
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The longest time from the start of the first attempt to the end of the last wait, if
    /// set: the retry helpers make no retry whose wait would end later.
    pub fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The first delay before jitter.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The growth factor per retry.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// The longest delay.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The jitter.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The seed set with [`BackoffBuilder::seed`], if any.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.base > MAX_WAIT {
            return Err(ConfigError::Base(self.base));
        }
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return Err(ConfigError::Factor(self.factor));
        }
        if self.cap < self.base || self.cap > MAX_WAIT {
            return Err(ConfigError::Cap {
                cap: self.cap,
                base: self.base,
            });
        }
        if let Some(m) = self.max_elapsed
            && (m.is_zero() || m > MAX_WAIT)
        {
            return Err(ConfigError::MaxElapsed(m));
        }
        Ok(())
    }
}

/// Builds a [`Backoff`]; start with [`Backoff::exponential`] or [`Backoff::constant`].
/// Setters record; [`build`](Self::build) checks.
#[derive(Clone, Debug)]
pub struct BackoffBuilder {
    backoff: Backoff,
    /// Whether the cap was set (by hand, or by `constant`); else it is 10 s or the base.
    cap_set: bool,
}

impl BackoffBuilder {
    /// The growth factor per retry (finite, at least 1; default 2). Ignored by
    /// [`Jitter::Decorrelated`].
    pub fn factor(mut self, factor: f64) -> Self {
        self.backoff.factor = factor;
        self
    }

    /// The longest delay (at least the base, at most 100 years; default 10 s, or the base if
    /// that is longer).
    pub fn cap(mut self, cap: Duration) -> Self {
        self.backoff.cap = cap;
        self.cap_set = true;
        self
    }

    /// The jitter (default [`Jitter::Full`] for exponential, [`Jitter::None`] for constant).
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.backoff.jitter = jitter;
        self
    }

    /// Retries at most (default 3; 0 means the first attempt only).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.backoff.max_retries = retries;
        self
    }

    /// The longest time from the start of the first attempt to the end of the last wait
    /// (more than zero, at most 100 years; default unlimited).
    pub fn max_elapsed(mut self, elapsed: Duration) -> Self {
        self.backoff.max_elapsed = Some(elapsed);
        self
    }

    /// Makes [`Backoff::delays`] deterministic: every call yields the sequence of this seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.backoff.seed = Some(seed);
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first out-of-range setting.
    pub fn build(mut self) -> Result<Backoff, ConfigError> {
        if !self.cap_set {
            self.backoff.cap = self.backoff.cap.max(self.backoff.base);
        }
        self.backoff.check()?;
        Ok(self.backoff)
    }
}

/// The delays of a [`Backoff`], from [`Backoff::delays`]: at most `max_retries` items, then
/// `None` for good.
///
/// `next` allocates nothing and is a few float operations and one SplitMix64 step; the
/// schedule's next delay is carried forward by one multiplication (no `powf`).
#[derive(Clone)]
pub struct Delays {
    /// SplitMix64 state.
    rng: u64,
    remaining: u32,
    /// The next un-jittered delay, nanoseconds: `min(cap, base * factor^n)`.
    next: f64,
    factor: f64,
    cap: f64,
    /// The cap in whole nanoseconds: the float cap can round above it (past 2^53 ns), so the
    /// delay handed out is clamped here.
    cap_nanos: u64,
    base: f64,
    /// Decorrelated jitter's previous delay, nanoseconds.
    prev: f64,
    jitter: Jitter,
}

impl fmt::Debug for Delays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delays")
            .field("remaining", &self.remaining)
            .field("jitter", &self.jitter)
            .finish_non_exhaustive()
    }
}

impl Delays {
    /// A uniform float in `[0, 1)`: one SplitMix64 step, its top 53 bits.
    #[inline]
    fn unit(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(sinew_hash::GOLDEN_GAMMA);
        // 2^-53: the top 53 bits scaled into [0, 1), every value equally likely.
        (sinew_hash::mix64(self.rng) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

impl Iterator for Delays {
    type Item = Duration;

    #[inline]
    fn next(&mut self) -> Option<Duration> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let d = self.next;
        self.next = (d * self.factor).min(self.cap);
        let nanos = match self.jitter {
            Jitter::None => d,
            Jitter::Full => d * self.unit(),
            Jitter::Equal => 0.5 * d + 0.5 * d * self.unit(),
            Jitter::Decorrelated => {
                let lo = self.base;
                let hi = 3.0 * self.prev;
                self.prev = (lo + (hi - lo) * self.unit()).min(self.cap);
                self.prev
            }
        };
        // `as` saturates (and maps NaN to 0), so no input can make this panic.
        #[allow(clippy::cast_possible_truncation)]
        Some(Duration::from_nanos((nanos as u64).min(self.cap_nanos)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Delays {}
impl FusedIterator for Delays {}

fn nanos_f64(d: Duration) -> f64 {
    d.as_nanos() as f64
}

/// A seed for an unseeded [`Backoff::delays`]: a per-thread SplitMix64 stream started from
/// std's per-process random keys, so sequences differ across calls, threads and processes.
fn fresh_seed() -> u64 {
    thread_local! {
        static NEXT: Cell<u64> = Cell::new(
            std::collections::hash_map::RandomState::new().build_hasher().finish(),
        );
    }
    NEXT.with(|next| {
        let s = next.get().wrapping_add(sinew_hash::GOLDEN_GAMMA);
        next.set(s);
        sinew_hash::mix64(s)
    })
}

/// The serde form of [`Backoff`] (documented there).
#[cfg(feature = "serde")]
mod repr {
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    use super::{Backoff, Jitter};
    use crate::error::ConfigError;

    #[derive(Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub(super) struct Repr {
        #[serde(with = "sinew_clock::serde_secs")]
        base: Duration,
        factor: f64,
        #[serde(with = "sinew_clock::serde_secs")]
        cap: Duration,
        jitter: Jitter,
        max_retries: u32,
        #[serde(with = "sinew_clock::serde_secs::option")]
        max_elapsed: Option<Duration>,
        seed: Option<u64>,
    }

    impl Default for Repr {
        fn default() -> Self {
            Repr::from(Backoff::default())
        }
    }

    impl From<Backoff> for Repr {
        fn from(b: Backoff) -> Self {
            Repr {
                base: b.base,
                factor: b.factor,
                cap: b.cap,
                jitter: b.jitter,
                max_retries: b.max_retries,
                max_elapsed: b.max_elapsed,
                seed: b.seed,
            }
        }
    }

    impl TryFrom<Repr> for Backoff {
        type Error = ConfigError;

        fn try_from(r: Repr) -> Result<Backoff, ConfigError> {
            let b = Backoff {
                base: r.base,
                factor: r.factor,
                cap: r.cap,
                jitter: r.jitter,
                max_retries: r.max_retries,
                max_elapsed: r.max_elapsed,
                seed: r.seed,
            };
            b.check()?;
            Ok(b)
        }
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Found by the `retry_backoff_config` fuzz target: a cap past 2^53 ns rounds up as a
    /// float, and delays at the cap came out a few hundred nanoseconds over it.
    #[test]
    fn a_cap_too_large_for_a_float_still_caps() {
        let cap = Duration::from_nanos(34_700_215_433_138_519);
        for jitter in [Jitter::None, Jitter::Equal, Jitter::Decorrelated] {
            let b = Backoff::exponential(ms(1))
                .factor(1e9)
                .cap(cap)
                .jitter(jitter)
                .max_retries(50)
                .build()
                .unwrap();
            assert!(b.delays_seeded(7).all(|d| d <= cap), "{jitter:?}");
            assert!(b.delays_seeded(7).skip(2).any(|d| d == cap) || jitter != Jitter::None);
        }
    }

    #[test]
    fn no_jitter_is_the_schedule_capped() {
        let b = Backoff::exponential(ms(10))
            .factor(3.0)
            .cap(ms(500))
            .jitter(Jitter::None)
            .max_retries(6)
            .build()
            .unwrap();
        let d: Vec<_> = b.delays().collect();
        assert_eq!(d, [10, 30, 90, 270, 500, 500].map(ms));
        let c = Backoff::constant(ms(7)).max_retries(4).build().unwrap();
        assert_eq!(c.delays().collect::<Vec<_>>(), [ms(7); 4]);
        assert_eq!(c.delays().len(), 4);
    }

    #[test]
    fn zero_retries_yield_nothing() {
        let b = Backoff::exponential(ms(1)).max_retries(0).build().unwrap();
        let mut d = b.delays();
        assert_eq!(d.next(), None);
        assert_eq!(d.next(), None);
    }

    #[test]
    fn defaults() {
        let b = Backoff::default();
        assert_eq!(Backoff::exponential(ms(100)).build().unwrap(), b);
        assert_eq!((b.base(), b.factor(), b.cap()), (ms(100), 2.0, ms(10_000)));
        assert_eq!(
            (b.jitter(), b.max_retries(), b.max_elapsed()),
            (Jitter::Full, 3, None)
        );
        // A base above the default cap lifts the cap rather than failing.
        let long = Backoff::exponential(Duration::from_secs(30))
            .build()
            .unwrap();
        assert_eq!(long.cap(), Duration::from_secs(30));
    }

    #[test]
    fn bad_settings_are_errors_naming_them() {
        let e = |b: BackoffBuilder| b.build().unwrap_err();
        assert_eq!(
            e(Backoff::exponential(ms(1)).factor(0.5)),
            ConfigError::Factor(0.5)
        );
        assert!(matches!(
            e(Backoff::exponential(ms(1)).factor(f64::NAN)),
            ConfigError::Factor(_)
        ));
        assert_eq!(
            e(Backoff::exponential(ms(10)).cap(ms(5))),
            ConfigError::Cap {
                cap: ms(5),
                base: ms(10)
            }
        );
        assert_eq!(
            e(Backoff::exponential(ms(1)).max_elapsed(Duration::ZERO)),
            ConfigError::MaxElapsed(Duration::ZERO)
        );
        assert_eq!(
            e(Backoff::constant(Duration::MAX)),
            ConfigError::Base(Duration::MAX)
        );
        assert!(!ConfigError::Factor(0.5).to_string().is_empty());
    }

    #[test]
    fn seeded_is_deterministic_and_unseeded_varies() {
        let b = Backoff::exponential(ms(100))
            .max_retries(8)
            .build()
            .unwrap();
        let a: Vec<_> = b.delays_seeded(1).collect();
        assert_eq!(a, b.delays_seeded(1).collect::<Vec<_>>());
        assert_ne!(a, b.delays_seeded(2).collect::<Vec<_>>());
        let s = Backoff::exponential(ms(100))
            .seed(1)
            .max_retries(8)
            .build()
            .unwrap();
        assert_eq!(s.delays().collect::<Vec<_>>(), a);
        assert_ne!(
            b.delays().collect::<Vec<_>>(),
            b.delays().collect::<Vec<_>>()
        );
    }

    /// Draws `N` first-retry-to-cap delays per jitter with a fixed seed and checks every
    /// delay's bounds and each position's mean.
    ///
    /// The margin: a uniform draw on an interval of width `w` has standard deviation
    /// `w / sqrt(12)`, so the mean of `N` draws has standard deviation `w / sqrt(12 N)`. With
    /// `N = 20_000` that is `w * 0.00204`; the margin `w * 0.0125` is 6 standard deviations, a
    /// false failure chance below 1e-8 for a random seed (and the seed is fixed anyway).
    #[test]
    fn jitter_bounds_and_means() {
        const N: u64 = 20_000;
        let margin = |w: f64| w * 0.0125;
        let base = ms(100);
        let cap = ms(1_000);
        let schedule = [100.0, 200.0, 400.0, 800.0, 1000.0, 1000.0].map(|m| m * 1e6);
        for jitter in [Jitter::Full, Jitter::Equal] {
            let b = Backoff::exponential(base)
                .cap(cap)
                .jitter(jitter)
                .max_retries(6)
                .build()
                .unwrap();
            let mut sums = [0.0f64; 6];
            for seed in 0..N {
                for (i, d) in b.delays_seeded(seed.wrapping_mul(0x9e37)).enumerate() {
                    let (d, top) = (nanos_f64(d), schedule[i]);
                    let low = if jitter == Jitter::Full {
                        0.0
                    } else {
                        top / 2.0
                    };
                    assert!(
                        d >= low && d <= top,
                        "{jitter:?} retry {i}: {d} not in [{low}, {top}]"
                    );
                    sums[i] += d;
                }
            }
            for (i, top) in schedule.iter().enumerate() {
                let mean = sums[i] / N as f64;
                let (expect, width) = match jitter {
                    Jitter::Full => (top / 2.0, *top),
                    _ => (top * 0.75, top / 2.0),
                };
                assert!(
                    (mean - expect).abs() <= margin(width),
                    "{jitter:?} retry {i}: mean {mean} vs {expect}"
                );
            }
        }
    }

    /// Decorrelated: every delay in `[base, cap]` and below 3x the previous one; the first
    /// is uniform on `[base, 3 base)`, so its mean is `2 base` (margin as above, width `2 base`).
    #[test]
    fn decorrelated_bounds_and_first_mean() {
        const N: u64 = 20_000;
        let (base, cap) = (100e6, 2_000e6);
        let b = Backoff::exponential(ms(100))
            .cap(ms(2_000))
            .jitter(Jitter::Decorrelated)
            .max_retries(10)
            .build()
            .unwrap();
        let mut first = 0.0;
        for seed in 0..N {
            let mut prev = base;
            for (i, d) in b.delays_seeded(seed).enumerate() {
                let d = nanos_f64(d);
                assert!(d >= base - 1.0 && d <= cap, "{d}");
                assert!(d <= 3.0 * prev, "{d} > 3 x {prev}");
                if i == 0 {
                    first += d;
                }
                prev = d;
            }
        }
        let mean = first / N as f64;
        assert!((mean - 2.0 * base).abs() <= 0.0125 * 2.0 * base, "{mean}");
    }

    #[test]
    fn huge_schedules_saturate_without_panicking() {
        let b = Backoff::exponential(Duration::from_secs(1))
            .factor(1e300)
            .cap(MAX_WAIT)
            .jitter(Jitter::Equal)
            .max_retries(50)
            .build()
            .unwrap();
        assert!(b.delays().all(|d| d <= MAX_WAIT));
    }
}
