//! Failure detectors usable on their own: feed heartbeat arrival times, ask whether the
//! monitored process is still available.
//!
//! [`PhiAccrual`] is the accrual detector of Hayashibara et al. (2004) in the form Akka uses:
//! inter-arrival times are modelled as a normal distribution (with a floor on the standard
//! deviation and an allowance for an acceptable pause), and `phi = -log10(P(next heartbeat
//! arrives later than now))`. [`TimeoutDetector`] is the fixed-timeout rule of a SWIM probe: the
//! process is available while its last sign of life is younger than the timeout.
//!
//! Both are plain values driven by the caller's clock readings (`Duration`s since any fixed
//! origin, as [`sinew_clock::Clock::now`](crate::Clock::now) returns), so they work for
//! presence ("online/offline") tracking in services as well as inside a membership protocol.

use std::collections::VecDeque;
use std::time::Duration;

use crate::error::ConfigError;

/// A failure detector fed with heartbeats.
pub trait FailureDetector {
    /// Records a heartbeat (any sign of life) arriving at `now`.
    fn heartbeat(&mut self, now: Duration);
    /// Whether the monitored process is considered available at `now`. A detector that has
    /// seen no heartbeat yet reports available (it has no evidence either way).
    fn is_available(&self, now: Duration) -> bool;
}

/// The phi-accrual failure detector (Hayashibara et al.; Akka's variant).
///
/// Keeps a sliding window of inter-arrival times (`max_samples`), their mean `mu` and standard
/// deviation `sigma` (floored at `min_std_deviation`). At time `now`, with `t` the time since
/// the last heartbeat,
///
/// ```text
/// y   = (t - (mu + acceptable_pause)) / sigma
/// e   = exp(-y * (1.5976 + 0.070566 * y^2))      (logistic approximation of the normal CDF)
/// phi = -log10(e / (1 + e))      if t > mu + acceptable_pause
///       -log10(1 - 1 / (1 + e))  otherwise
/// ```
///
/// and the process is available while `phi < threshold`. `phi = 1` means a 10% chance that a
/// heartbeat is still coming, `phi = 8` (the default threshold) one in 10^8.
///
/// The first heartbeat seeds the window with two intervals, `estimate -/+ estimate / 4`, so
/// the detector is usable before it has real samples (Akka does the same).
///
/// Costs: `heartbeat` and `phi` are O(1); memory is `max_samples` `f64`s.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sinew_gossip::PhiAccrual;
///
/// let mut fd = PhiAccrual::new();
/// let s = Duration::from_secs;
/// for t in 0..10 {
///     fd.heartbeat(s(t)); // one heartbeat a second
/// }
/// assert!(fd.is_available(s(10)));
/// assert!(fd.phi(s(10)) < 1.0);
/// assert!(!fd.is_available(s(30))); // 21 s of silence
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct PhiAccrual {
    threshold: f64,
    max_samples: usize,
    min_std_deviation_ms: f64,
    acceptable_pause_ms: f64,
    first_estimate_ms: f64,
    intervals: VecDeque<f64>,
    sum: f64,
    squared_sum: f64,
    last: Option<Duration>,
}

impl Default for PhiAccrual {
    fn default() -> Self {
        Self::new()
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl PhiAccrual {
    /// Akka's defaults: threshold 8, 1000 samples, minimum standard deviation 100 ms, no
    /// acceptable pause, first-heartbeat estimate 1 s.
    pub fn new() -> Self {
        Self {
            threshold: 8.0,
            max_samples: 1000,
            min_std_deviation_ms: 100.0,
            acceptable_pause_ms: 0.0,
            first_estimate_ms: 1000.0,
            intervals: VecDeque::new(),
            sum: 0.0,
            squared_sum: 0.0,
            last: None,
        }
    }

    /// A detector with every parameter given.
    ///
    /// # Errors
    ///
    /// [`ConfigError::PhiThreshold`] if `threshold` is not positive and finite;
    /// [`ConfigError::Zero`] naming `max_samples`, `min_std_deviation` or
    /// `first_heartbeat_estimate` if it is zero.
    pub fn with_params(
        threshold: f64,
        max_samples: usize,
        min_std_deviation: Duration,
        acceptable_pause: Duration,
        first_heartbeat_estimate: Duration,
    ) -> Result<Self, ConfigError> {
        if !(threshold.is_finite() && threshold > 0.0) {
            return Err(ConfigError::PhiThreshold(threshold));
        }
        if max_samples == 0 {
            return Err(ConfigError::Zero("max_samples"));
        }
        if min_std_deviation.is_zero() {
            return Err(ConfigError::Zero("min_std_deviation"));
        }
        if first_heartbeat_estimate.is_zero() {
            return Err(ConfigError::Zero("first_heartbeat_estimate"));
        }
        Ok(Self {
            threshold,
            max_samples,
            min_std_deviation_ms: millis(min_std_deviation),
            acceptable_pause_ms: millis(acceptable_pause),
            first_estimate_ms: millis(first_heartbeat_estimate),
            ..Self::new()
        })
    }

    /// The threshold above which the process counts as unavailable.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    fn push_interval(&mut self, ms: f64) {
        if self.intervals.len() >= self.max_samples
            && let Some(old) = self.intervals.pop_front()
        {
            self.sum -= old;
            self.squared_sum -= old * old;
        }
        self.intervals.push_back(ms);
        self.sum += ms;
        self.squared_sum += ms * ms;
    }

    /// Records a heartbeat at `now`. A heartbeat earlier than the previous one is counted as
    /// arriving at the same instant (a zero interval), so clock readings that go backwards
    /// cannot corrupt the statistics.
    pub fn heartbeat(&mut self, now: Duration) {
        match self.last {
            None => {
                let mean = self.first_estimate_ms;
                let sd = mean / 4.0;
                self.push_interval(mean - sd);
                self.push_interval(mean + sd);
            }
            Some(last) => self.push_interval(millis(now.saturating_sub(last))),
        }
        self.last = Some(now.max(self.last.unwrap_or(now)));
    }

    /// The mean of the sampled inter-arrival times, in milliseconds (0 before any heartbeat).
    pub fn mean_ms(&self) -> f64 {
        if self.intervals.is_empty() {
            0.0
        } else {
            self.sum / self.intervals.len() as f64
        }
    }

    /// The standard deviation of the sampled intervals (not floored), in milliseconds.
    pub fn std_deviation_ms(&self) -> f64 {
        if self.intervals.is_empty() {
            return 0.0;
        }
        let n = self.intervals.len() as f64;
        let mean = self.sum / n;
        (self.squared_sum / n - mean * mean).max(0.0).sqrt()
    }

    /// The suspicion level at `now`: 0 before the first heartbeat, then growing with the
    /// silence since the last one.
    pub fn phi(&self, now: Duration) -> f64 {
        let Some(last) = self.last else {
            return 0.0;
        };
        let t = millis(now.saturating_sub(last));
        let mean = self.mean_ms() + self.acceptable_pause_ms;
        let sd = self.std_deviation_ms().max(self.min_std_deviation_ms);
        phi(t, mean, sd)
    }

    /// Whether `phi(now) < threshold`.
    pub fn is_available(&self, now: Duration) -> bool {
        self.phi(now) < self.threshold
    }

    /// Whether any heartbeat has been recorded.
    pub fn is_monitoring(&self) -> bool {
        self.last.is_some()
    }
}

/// Akka's logistic approximation of `-log10(1 - CDF(t))` for a normal distribution.
fn phi(t: f64, mean: f64, sd: f64) -> f64 {
    let y = (t - mean) / sd;
    let e = (-y * (1.5976 + 0.070566 * y * y)).exp();
    if t > mean {
        -(e / (1.0 + e)).log10()
    } else {
        -(1.0 - 1.0 / (1.0 + e)).log10()
    }
}

impl FailureDetector for PhiAccrual {
    fn heartbeat(&mut self, now: Duration) {
        PhiAccrual::heartbeat(self, now);
    }
    fn is_available(&self, now: Duration) -> bool {
        PhiAccrual::is_available(self, now)
    }
}

/// The fixed-timeout rule of a SWIM probe: available while the last heartbeat (ack) is at most
/// `timeout` old.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sinew_gossip::{FailureDetector, TimeoutDetector};
///
/// let ms = Duration::from_millis;
/// let mut fd = TimeoutDetector::new(ms(500));
/// fd.heartbeat(ms(1000));
/// assert!(fd.is_available(ms(1500)));
/// assert!(!fd.is_available(ms(1501)));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct TimeoutDetector {
    timeout: Duration,
    last: Option<Duration>,
}

impl TimeoutDetector {
    /// A detector that gives up `timeout` after the last heartbeat.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            last: None,
        }
    }
}

impl FailureDetector for TimeoutDetector {
    fn heartbeat(&mut self, now: Duration) {
        self.last = Some(self.last.map_or(now, |l| l.max(now)));
    }
    fn is_available(&self, now: Duration) -> bool {
        self.last
            .is_none_or(|last| now.saturating_sub(last) <= self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn before_any_heartbeat_phi_is_zero() {
        let fd = PhiAccrual::new();
        assert_eq!(fd.phi(ms(1_000_000)), 0.0);
        assert!(fd.is_available(ms(1_000_000)));
        assert!(!fd.is_monitoring());
    }

    #[test]
    fn first_heartbeat_seeds_mean_and_deviation() {
        // Seeded intervals 750 and 1250: mean 1000, population sd sqrt(62500) = 250.
        let mut fd = PhiAccrual::new();
        fd.heartbeat(ms(0));
        assert!(close(fd.mean_ms(), 1000.0));
        assert!(close(fd.std_deviation_ms(), 250.0));
        // t = mean: y = 0, e = 1, phi = -log10(1 - 1/2) = log10(2) = 0.30103.
        assert!(close(fd.phi(ms(1000)), std::f64::consts::LOG10_2));
        // t = 1500: y = 2, e = exp(-2 * (1.5976 + 0.070566 * 4)) = exp(-3.760528) = 0.0232813,
        // phi = -log10(e / (1 + e)) = -log10(0.0227516) = 1.64283.
        assert!(close(fd.phi(ms(1500)), 1.642_83), "{}", fd.phi(ms(1500)));
        // t = 500: y = -2, e = exp(3.760528) = 42.953, phi = -log10(1 - 1/43.953) = 0.0099988.
        assert!(close(fd.phi(ms(500)), 0.009_998_8), "{}", fd.phi(ms(500)));
    }

    #[test]
    fn min_std_deviation_and_acceptable_pause_apply() {
        // Regular 1 s heartbeats: samples 750, 1250 and then 1000s; the deviation shrinks below
        // the 100 ms floor, which then applies.
        let mut fd = PhiAccrual::with_params(8.0, 4, ms(100), ms(0), ms(1000)).unwrap();
        for t in 0..5 {
            fd.heartbeat(ms(t * 1000));
        }
        // Window of 4 samples: [1000, 1000, 1000, 1000]: mean 1000, sd 0 -> floor 100.
        assert!(close(fd.mean_ms(), 1000.0));
        assert!(close(fd.std_deviation_ms(), 0.0));
        // 1200 ms after the last heartbeat: y = 2 with sd 100 -> phi 1.64283 as above.
        assert!(close(fd.phi(ms(4000 + 1200)), 1.642_83));
        // With a 3 s acceptable pause the mean becomes 4000: at t = 4200, y = 2 again.
        let mut paused = PhiAccrual::with_params(8.0, 4, ms(100), ms(3000), ms(1000)).unwrap();
        for t in 0..5 {
            paused.heartbeat(ms(t * 1000));
        }
        assert!(close(paused.phi(ms(4000 + 4200)), 1.642_83));
        assert!(paused.is_available(ms(4000 + 4200)));
    }

    #[test]
    fn phi_grows_monotonically_and_crosses_threshold() {
        let mut fd = PhiAccrual::new();
        for t in 0..20 {
            fd.heartbeat(ms(t * 1000));
        }
        let mut prev = 0.0;
        let mut crossed = None;
        for dt in (0..20_000).step_by(50) {
            let p = fd.phi(ms(19_000 + dt));
            assert!(p >= prev, "phi decreased at {dt}");
            prev = p;
            if crossed.is_none() && !fd.is_available(ms(19_000 + dt)) {
                crossed = Some(dt);
            }
        }
        // Samples: 750, 1250 and 19 x 1000: mean 1000, sd sqrt(2 * 250^2 / 21) = 77.2 -> the
        // 100 ms floor applies. phi = 8 needs e/(1+e) = 1e-8, i.e. y(1.5976 + 0.070566 y^2) =
        // ln(1e8) = 18.42, y = 5.03, so the threshold is crossed at 1000 + 503 ms.
        assert_eq!(crossed, Some(1550));
    }

    #[test]
    fn window_is_bounded_and_old_samples_fall_out() {
        let mut fd = PhiAccrual::with_params(8.0, 3, ms(10), ms(0), ms(1000)).unwrap();
        fd.heartbeat(ms(0));
        fd.heartbeat(ms(100));
        fd.heartbeat(ms(200));
        fd.heartbeat(ms(300));
        // [100, 100, 100]: the seeded 750/1250 fell out.
        assert!(close(fd.mean_ms(), 100.0));
    }

    #[test]
    fn clock_going_backwards_is_harmless() {
        let mut fd = PhiAccrual::new();
        fd.heartbeat(ms(5000));
        fd.heartbeat(ms(4000));
        assert!(fd.phi(ms(4500)).is_finite());
        assert!(fd.is_available(ms(5000)));
    }

    #[test]
    fn bad_params_are_refused() {
        let err = |r: Result<PhiAccrual, ConfigError>| r.err();
        assert_eq!(
            err(PhiAccrual::with_params(0.0, 1, ms(1), ms(0), ms(1))),
            Some(ConfigError::PhiThreshold(0.0))
        );
        assert!(matches!(
            err(PhiAccrual::with_params(f64::NAN, 1, ms(1), ms(0), ms(1))),
            Some(ConfigError::PhiThreshold(t)) if t.is_nan()
        ));
        assert_eq!(
            err(PhiAccrual::with_params(8.0, 0, ms(1), ms(0), ms(1))),
            Some(ConfigError::Zero("max_samples"))
        );
        assert_eq!(
            err(PhiAccrual::with_params(8.0, 1, ms(0), ms(0), ms(1))),
            Some(ConfigError::Zero("min_std_deviation"))
        );
        assert_eq!(
            err(PhiAccrual::with_params(8.0, 1, ms(1), ms(0), ms(0))),
            Some(ConfigError::Zero("first_heartbeat_estimate"))
        );
    }

    #[test]
    fn timeout_detector() {
        let mut fd = TimeoutDetector::new(ms(500));
        assert!(fd.is_available(ms(10_000)));
        fd.heartbeat(ms(1000));
        assert!(fd.is_available(ms(1500)));
        assert!(!fd.is_available(ms(1501)));
    }
}
