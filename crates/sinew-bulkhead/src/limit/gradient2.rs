//! [`Gradient2`]: Netflix's gradient of a long-term against the current RTT.

use std::time::Duration;

use super::algorithm::{LimitAlgorithm, Sample, nanos_f64, secs_of_nanos};
use crate::error::ConfigError;

/// Delay-based limit that compares the current RTT with a long-term exponential average of it:
/// while the current RTT stays within `rtt_tolerance` of the average the limit creeps up by
/// `queue_size`, and when it rises further the limit shrinks in proportion.
///
/// Follows Netflix concurrency-limits' `Gradient2Limit` (`_update`, the version with
/// `rttTolerance`), per sample with `short = rtt`:
///
/// 1. `long` = exponential average of the RTTs (`ExpAvgMeasurement`: plain mean of the first
///    10, then factor `2 / (long_window + 1)`);
/// 2. if `long / short > 2` the stored average is multiplied by 0.95 (recovering quickly after
///    a long overload), while this step still uses the `long` of step 1;
/// 3. if `in_flight < limit / 2` (application-limited) the limit is kept;
/// 4. `gradient = clamp(rtt_tolerance * long / short, 0.5, 1.0)`;
///    `new = limit * gradient + queue_size`;
///    `new = limit * (1 - smoothing) + new * smoothing`.
///
/// Like Netflix's it ignores [`Sample::dropped`]: it reacts to latency only (a timeout shows
/// as a long RTT). Defaults are Netflix's: `smoothing` 0.2, `queue_size` 4, `long_window` 600,
/// `rtt_tolerance` 1.5. (Netflix's builder also bounds the limit to `[20, 200]` by default;
/// here the bounds belong to [`AdaptiveLimit`](super::AdaptiveLimit).) Use Gradient2 when
/// RTTs are noisy or the service mixes cheap and costly calls: averaging rather than
/// minimum-tracking keeps it from fixing on an unrealistically low baseline as Vegas can.
///
/// ```
/// use std::time::Duration;
/// use sinew_bulkhead::limit::{Gradient2, LimitAlgorithm, Sample};
///
/// let mut g = Gradient2::new();
/// // Steady RTT: gradient 1, so 20 * 0.8 + (20 + 4) * 0.2 = 20.8.
/// let out = g.update(20.0, Sample::new(Duration::from_millis(10), 20));
/// assert!((out - 20.8).abs() < 1e-9);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Gradient2 {
    smoothing: f64,
    queue_size: u32,
    long_window: u32,
    rtt_tolerance: f64,
    /// The long-term average RTT in nanoseconds.
    long_rtt: f64,
    warmup_sum: f64,
    warmup_count: u32,
}

/// Samples averaged plainly before the exponential average takes over (Netflix's warm-up).
const WARMUP: u32 = 10;

impl Default for Gradient2 {
    fn default() -> Self {
        Gradient2::new()
    }
}

impl Gradient2 {
    /// Netflix's defaults: smoothing 0.2, queue size 4, long window 600, RTT tolerance 1.5.
    pub const fn new() -> Gradient2 {
        Gradient2::from_parts(0.2, 4, 600, 1.5)
    }

    const fn from_parts(
        smoothing: f64,
        queue_size: u32,
        long_window: u32,
        rtt_tolerance: f64,
    ) -> Self {
        Gradient2 {
            smoothing,
            queue_size,
            long_window,
            rtt_tolerance,
            long_rtt: 0.0,
            warmup_sum: 0.0,
            warmup_count: 0,
        }
    }

    /// A builder starting from the defaults.
    pub const fn builder() -> Gradient2Builder {
        Gradient2Builder {
            g: Gradient2::new(),
        }
    }

    /// The long-term average RTT (zero before the first sample).
    pub fn long_rtt(&self) -> Duration {
        secs_of_nanos(self.long_rtt)
    }

    fn add_long(&mut self, rtt: f64) -> f64 {
        if self.warmup_count < WARMUP {
            self.warmup_count += 1;
            self.warmup_sum += rtt;
            self.long_rtt = self.warmup_sum / f64::from(self.warmup_count);
        } else {
            let factor = 2.0 / (f64::from(self.long_window) + 1.0);
            self.long_rtt = self.long_rtt * (1.0 - factor) + rtt * factor;
        }
        self.long_rtt
    }
}

/// Builds a [`Gradient2`]; from [`Gradient2::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct Gradient2Builder {
    g: Gradient2,
}

impl Gradient2Builder {
    /// How much of each step is taken, in `(0, 1]` (default 0.2).
    pub fn smoothing(mut self, smoothing: f64) -> Self {
        self.g.smoothing = smoothing;
        self
    }

    /// How far the limit may grow past the current one per update while latency is steady
    /// (default 4).
    pub fn queue_size(mut self, queue_size: u32) -> Self {
        self.g.queue_size = queue_size;
        self
    }

    /// The long-term average's window in samples (default 600; nonzero).
    pub fn long_window(mut self, samples: u32) -> Self {
        self.g.long_window = samples;
        self
    }

    /// How much above the long-term average the current RTT may be before the limit shrinks:
    /// 2.0 accepts twice the average (default 1.5; at least 1).
    pub fn rtt_tolerance(mut self, tolerance: f64) -> Self {
        self.g.rtt_tolerance = tolerance;
        self
    }

    /// The algorithm, or the first setting out of range.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting.
    pub fn build(self) -> Result<Gradient2, ConfigError> {
        let g = self.g;
        if !(g.smoothing > 0.0 && g.smoothing <= 1.0) {
            return Err(ConfigError::Smoothing(g.smoothing));
        }
        if g.queue_size > super::MAX_LIMIT {
            return Err(ConfigError::Gradient2QueueSize(g.queue_size));
        }
        if g.long_window == 0 {
            return Err(ConfigError::Gradient2LongWindow(g.long_window));
        }
        if !(g.rtt_tolerance >= 1.0 && g.rtt_tolerance.is_finite()) {
            return Err(ConfigError::Gradient2RttTolerance(g.rtt_tolerance));
        }
        Ok(g)
    }
}

impl LimitAlgorithm for Gradient2 {
    fn update(&mut self, limit: f64, sample: Sample) -> f64 {
        let short = nanos_f64(sample.rtt);
        // A zero RTT would make the gradient infinite; it carries no information.
        if short <= 0.0 {
            return limit;
        }
        let long = self.add_long(short);
        if long / short > 2.0 {
            self.long_rtt *= 0.95;
        }
        if f64::from(sample.in_flight) < limit / 2.0 {
            return limit;
        }
        let gradient = (self.rtt_tolerance * long / short).clamp(0.5, 1.0);
        let new = limit * gradient + f64::from(self.queue_size);
        limit * (1.0 - self.smoothing) + new * self.smoothing
    }

    fn name(&self) -> &'static str {
        "gradient2"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::float_cmp)]
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    /// Ten samples of 10 ms at limit 20: the warm-up, leaving the long average at 10 ms.
    fn warmed() -> Gradient2 {
        let mut g = Gradient2::new();
        for _ in 0..10 {
            g.update(20.0, Sample::new(ms(10), 20));
        }
        assert_eq!(g.long_rtt(), ms(10));
        g
    }

    #[test]
    fn steady_latency_grows_by_a_fifth_of_the_queue_size() {
        let mut g = warmed();
        // gradient 1: 20 * 0.8 + (20 * 1 + 4) * 0.2 = 20.8.
        close(g.update(20.0, Sample::new(ms(10), 20)), 20.8);
    }

    #[test]
    fn rise_within_tolerance_still_grows() {
        let mut g = warmed();
        // long = 10 * (1 - 2/601) + 14 * 2/601; 1.5 * long / 14 > 1, so gradient 1.
        close(g.update(20.0, Sample::new(ms(14), 20)), 20.8);
    }

    #[test]
    fn rise_beyond_tolerance_shrinks() {
        let mut g = warmed();
        let f = 2.0 / 601.0;
        let long = 10e6 * (1.0 - f) + 20e6 * f;
        let gradient = 1.5 * long / 20e6; // 0.7525
        let want = 20.0 * 0.8 + (20.0 * gradient + 4.0) * 0.2; // 19.81
        close(g.update(20.0, Sample::new(ms(20), 20)), want);
        assert!(want < 20.0);
    }

    #[test]
    fn gradient_is_floored_at_one_half() {
        let mut g = warmed();
        // 100x the average: gradient clamps to 0.5: 100 * 0.8 + (50 + 4) * 0.2 = 90.8.
        close(g.update(100.0, Sample::new(ms(1000), 100)), 90.8);
    }

    #[test]
    fn application_limited_holds() {
        let mut g = warmed();
        assert_eq!(g.update(20.0, Sample::new(ms(20), 9)), 20.0);
    }

    #[test]
    fn drops_are_ignored_like_netflix() {
        let mut a = warmed();
        let mut b = warmed();
        let s = Sample::new(ms(10), 20);
        assert_eq!(a.update(20.0, s), b.update(20.0, s.dropped()));
    }

    #[test]
    fn long_average_decays_fast_after_overload() {
        let mut g = Gradient2::new();
        for _ in 0..10 {
            g.update(20.0, Sample::new(ms(100), 20));
        }
        // long = 100 * (1 - f) + 10 * f = 99.70, and 99.70 / 10 > 2: stored * 0.95.
        g.update(20.0, Sample::new(ms(10), 20));
        let f = 2.0 / 601.0;
        let want = (100e6 * (1.0 - f) + 10e6 * f) * 0.95;
        assert!((g.long_rtt().as_nanos() as f64 - want).abs() < 2.0);
    }

    #[test]
    fn builder_rejects_bad_settings() {
        assert!(Gradient2::builder().smoothing(0.0).build().is_err());
        assert!(Gradient2::builder().smoothing(1.5).build().is_err());
        assert!(Gradient2::builder().long_window(0).build().is_err());
        assert!(Gradient2::builder().rtt_tolerance(0.9).build().is_err());
        assert!(
            Gradient2::builder()
                .rtt_tolerance(f64::INFINITY)
                .build()
                .is_err()
        );
        assert!(Gradient2::builder().queue_size(u32::MAX).build().is_err());
        assert!(
            Gradient2::builder()
                .queue_size(2)
                .long_window(100)
                .rtt_tolerance(2.0)
                .build()
                .is_ok()
        );
    }
}
