//! [`Aimd`]: additive increase, multiplicative decrease on drops.

use std::time::Duration;

use super::algorithm::{LimitAlgorithm, Sample};
use crate::error::ConfigError;

/// Loss-based limit: additive increase while calls succeed, multiplicative decrease on a drop.
///
/// Follows Netflix concurrency-limits' `AIMDLimit` (`_update`), on the integer part `L` of the
/// current limit:
///
/// * the sample was dropped, or its RTT exceeds `timeout`: `max(1, min(L - 1, floor(L * backoff_ratio)))`;
/// * else, if `in_flight * 2 >= L` (the limit is actually being used): `L + 1`;
/// * else (application-limited, so a success says nothing about the limit): unchanged.
///
/// Under [`AdaptiveLimit`](super::AdaptiveLimit) one sample is one window, so the limit grows
/// by one per window of successes. Defaults are Netflix's: `backoff_ratio` 0.9, `timeout` 5 s.
/// Use it when the server signals overload (timeouts, 503s, `RESOURCE_EXHAUSTED`) rather than
/// through latency alone.
///
/// ```
/// use std::time::Duration;
/// use sinew_bulkhead::limit::{Aimd, LimitAlgorithm, Sample};
///
/// let mut aimd = Aimd::new();
/// let ok = Sample::new(Duration::from_millis(5), 20);
/// assert_eq!(aimd.update(20.0, ok), 21.0);
/// assert_eq!(aimd.update(20.0, ok.dropped()), 18.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Aimd {
    backoff_ratio: f64,
    timeout: Duration,
}

impl Default for Aimd {
    fn default() -> Self {
        Aimd::new()
    }
}

impl Aimd {
    /// Netflix's defaults: `backoff_ratio` 0.9, `timeout` 5 s.
    pub const fn new() -> Aimd {
        Aimd {
            backoff_ratio: 0.9,
            timeout: Duration::from_secs(5),
        }
    }

    /// A builder starting from the defaults.
    pub const fn builder() -> AimdBuilder {
        AimdBuilder { aimd: Aimd::new() }
    }

    /// The factor applied to the limit on a drop.
    pub fn backoff_ratio(&self) -> f64 {
        self.backoff_ratio
    }

    /// The RTT above which a successful call counts as a drop.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// Builds an [`Aimd`]; from [`Aimd::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct AimdBuilder {
    aimd: Aimd,
}

impl AimdBuilder {
    /// The factor applied to the limit on a drop, in `[0.5, 1)` (default 0.9).
    pub fn backoff_ratio(mut self, ratio: f64) -> Self {
        self.aimd.backoff_ratio = ratio;
        self
    }

    /// A call slower than this counts as a drop (default 5 s; nonzero).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.aimd.timeout = timeout;
        self
    }

    /// The algorithm, or the first setting out of range.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting.
    pub fn build(self) -> Result<Aimd, ConfigError> {
        let a = self.aimd;
        if !(0.5..1.0).contains(&a.backoff_ratio) {
            return Err(ConfigError::AimdBackoffRatio(a.backoff_ratio));
        }
        if a.timeout.is_zero() {
            return Err(ConfigError::AimdTimeout(a.timeout));
        }
        Ok(a)
    }
}

impl LimitAlgorithm for Aimd {
    fn update(&mut self, limit: f64, sample: Sample) -> f64 {
        let current = limit.floor();
        if sample.dropped || sample.rtt > self.timeout {
            (current - 1.0)
                .min((current * self.backoff_ratio).floor())
                .max(1.0)
        } else if f64::from(sample.in_flight) * 2.0 >= current {
            current + 1.0
        } else {
            limit
        }
    }

    fn name(&self) -> &'static str {
        "aimd"
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::float_cmp)]
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn grows_by_one_on_success_when_the_limit_is_used() {
        let mut a = Aimd::new();
        // in_flight * 2 >= L: 10 * 2 >= 20, so 20 + 1.
        assert_eq!(a.update(20.0, Sample::new(MS, 10)), 21.0);
        // The integer part is what grows: 20.7 -> 21.
        assert_eq!(a.update(20.7, Sample::new(MS, 20)), 21.0);
    }

    #[test]
    fn holds_when_application_limited() {
        let mut a = Aimd::new();
        // 9 * 2 < 20: unchanged.
        assert_eq!(a.update(20.0, Sample::new(MS, 9)), 20.0);
    }

    #[test]
    fn backs_off_on_drops_and_timeouts() {
        let mut a = Aimd::new();
        // floor(20 * 0.9) = 18 < 19.
        assert_eq!(a.update(20.0, Sample::new(MS, 20).dropped()), 18.0);
        // floor(5 * 0.9) = 4 = min(4, 4).
        assert_eq!(a.update(5.0, Sample::new(MS, 5).dropped()), 4.0);
        // L - 1 wins when the ratio would not move the integer: floor(3 * 0.9) = 2 = L - 1.
        assert_eq!(a.update(3.0, Sample::new(MS, 5).dropped()), 2.0);
        // Never below 1.
        assert_eq!(a.update(1.0, Sample::new(MS, 1).dropped()), 1.0);
        // An RTT above the timeout is a drop: floor(100 * 0.9) = 90.
        let slow = Sample::new(Duration::from_secs(6), 100);
        assert_eq!(a.update(100.0, slow), 90.0);
        // Exactly the timeout is not.
        assert_eq!(
            a.update(100.0, Sample::new(Duration::from_secs(5), 100)),
            101.0
        );
    }

    #[test]
    fn custom_ratio() {
        let mut a = Aimd::builder().backoff_ratio(0.5).build().unwrap();
        assert_eq!(a.update(40.0, Sample::new(MS, 40).dropped()), 20.0);
    }

    #[test]
    fn builder_rejects_bad_settings() {
        for r in [0.49, 1.0, f64::NAN, -1.0] {
            assert!(matches!(
                Aimd::builder().backoff_ratio(r).build(),
                Err(ConfigError::AimdBackoffRatio(_))
            ));
        }
        assert_eq!(
            Aimd::builder().timeout(Duration::ZERO).build(),
            Err(ConfigError::AimdTimeout(Duration::ZERO))
        );
    }
}
