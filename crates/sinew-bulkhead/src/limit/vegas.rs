//! [`Vegas`]: TCP Vegas' queue estimate applied to a concurrency limit.

use std::time::Duration;

use super::algorithm::{LimitAlgorithm, Sample, log10_root, nanos_f64, secs_of_nanos};
use crate::error::ConfigError;

/// Delay-based limit after TCP Vegas: estimates how many calls are queued from how far the RTT
/// is above the no-load RTT, grows the limit while the queue is short and shrinks it when it
/// is long.
///
/// Follows Netflix concurrency-limits' `VegasLimit` (`_update` / `updateEstimatedLimit`), with
/// `log(L) = max(1, floor(log10 L))` below 1000 and `floor(sqrt L)` from there
/// (`Log10RootFunction`), `L` the integer part of the limit:
///
/// 1. every `jitter * probe_multiplier * L` samples (`jitter` in `[0.5, 1)`, redrawn each
///    time) the sample's RTT becomes the new `rtt_noload` and the limit is kept (a probe, so
///    the baseline can move up after the service got slower for good);
/// 2. an RTT below `rtt_noload` (or the first sample) becomes `rtt_noload`; limit kept;
/// 3. `queue = ceil(limit * (1 - rtt_noload / rtt))`;
/// 4. a drop: `limit - log(L)`; else if `in_flight * 2 < limit` (application-limited): kept;
///    else with `alpha = 3 log(L)`, `beta = 6 log(L)`, `threshold = log(L)`:
///    `queue <= threshold` → `limit + beta`; `queue < alpha` → `limit + log(L)`;
///    `queue > beta` → `limit - log(L)`; otherwise kept;
/// 5. `new = max(1, new)`, then `limit * (1 - smoothing) + new * smoothing`.
///
/// Defaults are Netflix's: alpha factor 3, beta factor 6, smoothing 1, probe multiplier 30.
/// The probe jitter comes from a seeded generator (not Netflix's thread-local random), so a
/// run is reproducible; give each instance of a fleet its own [`seed`](VegasBuilder::seed) so
/// they do not probe in step. Use Vegas when latency is the overload signal and the no-load
/// RTT is stable (one kind of call, a small spread of service times).
///
/// ```
/// use std::time::Duration;
/// use sinew_bulkhead::limit::{LimitAlgorithm, Sample, Vegas};
///
/// let mut vegas = Vegas::new();
/// let ms = Duration::from_millis;
/// assert_eq!(vegas.update(20.0, Sample::new(ms(10), 20)), 20.0); // learns rtt_noload
/// assert_eq!(vegas.update(20.0, Sample::new(ms(10), 20)), 26.0); // no queue: + beta
/// assert_eq!(vegas.update(20.0, Sample::new(ms(20), 20)), 19.0); // queue 10 > beta
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Vegas {
    alpha: u32,
    beta: u32,
    smoothing: f64,
    probe_multiplier: u32,
    /// The no-load RTT in nanoseconds; 0 until the first sample.
    rtt_noload: f64,
    probe_count: u64,
    probe_jitter: f64,
    rng: u64,
}

/// The default seed of the probe jitter.
const DEFAULT_SEED: u64 = 0x5EED_0F7E;

impl Default for Vegas {
    fn default() -> Self {
        Vegas::new()
    }
}

impl Vegas {
    /// Netflix's defaults: alpha `3 log(L)`, beta `6 log(L)`, smoothing 1, probe multiplier 30.
    pub fn new() -> Vegas {
        Vegas::from_parts(3, 6, 1.0, 30, DEFAULT_SEED)
    }

    fn from_parts(
        alpha: u32,
        beta: u32,
        smoothing: f64,
        probe_multiplier: u32,
        seed: u64,
    ) -> Vegas {
        let mut v = Vegas {
            alpha,
            beta,
            smoothing,
            probe_multiplier,
            rtt_noload: 0.0,
            probe_count: 0,
            probe_jitter: 1.0,
            rng: seed,
        };
        v.reset_probe_jitter();
        v
    }

    /// A builder starting from the defaults.
    pub fn builder() -> VegasBuilder {
        VegasBuilder {
            alpha: 3,
            beta: 6,
            smoothing: 1.0,
            probe_multiplier: 30,
            seed: DEFAULT_SEED,
        }
    }

    /// The no-load RTT learnt so far (zero before the first sample).
    pub fn rtt_noload(&self) -> Duration {
        secs_of_nanos(self.rtt_noload)
    }

    fn reset_probe_jitter(&mut self) {
        // splitmix64: a uniform draw in [0.5, 1) with no dependency and no global state.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        self.probe_jitter = 0.5 + unit * 0.5;
    }
}

/// Builds a [`Vegas`]; from [`Vegas::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct VegasBuilder {
    alpha: u32,
    beta: u32,
    smoothing: f64,
    probe_multiplier: u32,
    seed: u64,
}

impl VegasBuilder {
    /// Alpha as a multiple of `log(L)`: below `alpha * log(L)` queued calls the limit grows
    /// (default 3).
    pub fn alpha(mut self, factor: u32) -> Self {
        self.alpha = factor;
        self
    }

    /// Beta as a multiple of `log(L)`: above `beta * log(L)` queued calls the limit shrinks
    /// (default 6).
    pub fn beta(mut self, factor: u32) -> Self {
        self.beta = factor;
        self
    }

    /// How much of each step is taken, in `(0, 1]` (default 1: the whole step).
    pub fn smoothing(mut self, smoothing: f64) -> Self {
        self.smoothing = smoothing;
        self
    }

    /// Re-probe the no-load RTT about every `probe_multiplier * limit` samples (default 30).
    pub fn probe_multiplier(mut self, multiplier: u32) -> Self {
        self.probe_multiplier = multiplier;
        self
    }

    /// Seed of the probe jitter (so instances of a fleet probe at different times).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The algorithm, or the first setting out of range.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting.
    pub fn build(self) -> Result<Vegas, ConfigError> {
        if self.alpha == 0 || self.beta == 0 || self.alpha > self.beta {
            return Err(ConfigError::VegasThresholds {
                alpha: self.alpha,
                beta: self.beta,
            });
        }
        if !(self.smoothing > 0.0 && self.smoothing <= 1.0) {
            return Err(ConfigError::Smoothing(self.smoothing));
        }
        if self.probe_multiplier == 0 {
            return Err(ConfigError::VegasProbeMultiplier(self.probe_multiplier));
        }
        Ok(Vegas::from_parts(
            self.alpha,
            self.beta,
            self.smoothing,
            self.probe_multiplier,
            self.seed,
        ))
    }
}

impl LimitAlgorithm for Vegas {
    fn update(&mut self, limit: f64, sample: Sample) -> f64 {
        let rtt = nanos_f64(sample.rtt);
        // Netflix requires rtt > 0; a zero RTT carries no queueing information.
        if rtt <= 0.0 {
            return limit;
        }
        self.probe_count = self.probe_count.saturating_add(1);
        if self.probe_jitter * f64::from(self.probe_multiplier) * limit <= self.probe_count as f64 {
            self.reset_probe_jitter();
            self.probe_count = 0;
            self.rtt_noload = rtt;
            return limit;
        }
        if self.rtt_noload == 0.0 || rtt < self.rtt_noload {
            self.rtt_noload = rtt;
            return limit;
        }
        let queue = (limit * (1.0 - self.rtt_noload / rtt)).ceil();
        let log = log10_root(limit);
        let new = if sample.dropped {
            limit - log
        } else if f64::from(sample.in_flight) * 2.0 < limit {
            return limit;
        } else {
            let alpha = f64::from(self.alpha) * log;
            let beta = f64::from(self.beta) * log;
            if queue <= log {
                limit + beta
            } else if queue < alpha {
                limit + log
            } else if queue > beta {
                limit - log
            } else {
                return limit;
            }
        };
        let new = new.max(1.0);
        (1.0 - self.smoothing) * limit + self.smoothing * new
    }

    fn name(&self) -> &'static str {
        "vegas"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::float_cmp)]
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn learnt(noload: Duration) -> Vegas {
        let mut v = Vegas::new();
        assert_eq!(v.update(20.0, Sample::new(noload, 20)), 20.0);
        assert_eq!(v.rtt_noload(), noload);
        v
    }

    #[test]
    fn grows_by_beta_with_no_queue() {
        let mut v = learnt(ms(10));
        // queue = ceil(20 * (1 - 10/10)) = 0 <= log(20) = 1: 20 + 6 * 1.
        assert_eq!(v.update(20.0, Sample::new(ms(10), 20)), 26.0);
        // At L = 150, log = 2: + 12.
        assert_eq!(v.update(150.0, Sample::new(ms(10), 150)), 162.0);
    }

    #[test]
    fn grows_by_log_with_a_short_queue() {
        let mut v = learnt(ms(10));
        // rtt 11.1 ms: queue = ceil(20 * (1 - 10/11.1)) = ceil(1.98) = 2, in (1, 3): + 1.
        let s = Sample::new(Duration::from_micros(11_100), 20);
        assert_eq!(v.update(20.0, s), 21.0);
    }

    #[test]
    fn holds_between_alpha_and_beta() {
        let mut v = learnt(ms(10));
        // rtt 12.5 ms: queue = ceil(20 * 0.2) = 4 in [3, 6]: kept.
        let s = Sample::new(Duration::from_micros(12_500), 20);
        assert_eq!(v.update(20.0, s), 20.0);
    }

    #[test]
    fn shrinks_when_queueing() {
        let mut v = learnt(ms(10));
        // rtt 20 ms: queue = ceil(20 * 0.5) = 10 > 6: 20 - 1.
        assert_eq!(v.update(20.0, Sample::new(ms(20), 20)), 19.0);
        // At L = 200 (log 2): queue = 100 > 12: 200 - 2.
        assert_eq!(v.update(200.0, Sample::new(ms(20), 200)), 198.0);
    }

    #[test]
    fn drop_shrinks_even_without_queue() {
        let mut v = learnt(ms(10));
        assert_eq!(v.update(20.0, Sample::new(ms(10), 1).dropped()), 19.0);
    }

    #[test]
    fn application_limited_holds() {
        let mut v = learnt(ms(10));
        // 9 * 2 < 20: kept even with no queue.
        assert_eq!(v.update(20.0, Sample::new(ms(10), 9)), 20.0);
    }

    #[test]
    fn smoothing_takes_part_of_the_step() {
        let mut v = Vegas::builder().smoothing(0.5).build().unwrap();
        v.update(20.0, Sample::new(ms(10), 20));
        // Step to 26, half taken: 0.5 * 20 + 0.5 * 26 = 23.
        assert_eq!(v.update(20.0, Sample::new(ms(10), 20)), 23.0);
    }

    #[test]
    fn lower_rtt_becomes_the_baseline() {
        let mut v = learnt(ms(10));
        assert_eq!(v.update(20.0, Sample::new(ms(5), 20)), 20.0);
        assert_eq!(v.rtt_noload(), ms(5));
    }

    #[test]
    fn probes_a_new_baseline_within_the_jittered_period() {
        let mut v = learnt(ms(10));
        // The service got slower for good: 20 ms. Until the probe, each sample shrinks.
        // The probe comes after jitter * 30 * 20 samples, jitter in [0.5, 1): 300..=600.
        let mut n = 1u64; // the learning sample counted
        loop {
            n += 1;
            let out = v.update(20.0, Sample::new(ms(20), 20));
            if out == 20.0 {
                break;
            }
            assert_eq!(out, 19.0);
            assert!(n <= 600, "no probe within 600 samples");
        }
        assert!(n >= 300, "probed after {n} samples");
        assert_eq!(v.rtt_noload(), ms(20));
        // With the new baseline, 20 ms is no queue.
        assert_eq!(v.update(20.0, Sample::new(ms(20), 20)), 26.0);
    }

    #[test]
    fn builder_rejects_bad_settings() {
        assert!(Vegas::builder().alpha(0).build().is_err());
        assert!(Vegas::builder().alpha(7).build().is_err());
        assert!(Vegas::builder().smoothing(0.0).build().is_err());
        assert!(Vegas::builder().smoothing(f64::NAN).build().is_err());
        assert!(Vegas::builder().probe_multiplier(0).build().is_err());
        assert!(Vegas::builder().alpha(2).beta(4).seed(7).build().is_ok());
    }
}
