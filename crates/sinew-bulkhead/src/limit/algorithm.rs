//! The [`LimitAlgorithm`] trait and the [`Sample`] it is fed.

use std::time::Duration;

/// One measurement fed to a [`LimitAlgorithm`]: a call's (or a window's average) round-trip
/// time, how many calls were in flight, whether the call was dropped, and when.
///
/// A plain `Copy` value with public fields, so a simulator builds one per step for nothing:
///
/// ```
/// use std::time::Duration;
/// use sinew_bulkhead::limit::Sample;
///
/// let s = Sample::new(Duration::from_millis(10), 12).dropped().at(Duration::from_secs(3));
/// assert_eq!((s.in_flight, s.dropped, s.now), (12, true, Duration::from_secs(3)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// The round-trip time (for [`AdaptiveLimit`](crate::limit::AdaptiveLimit): the average
    /// over the window).
    pub rtt: Duration,
    /// The calls in flight when the call started, itself included (for `AdaptiveLimit`: the
    /// largest such number in the window).
    pub in_flight: u32,
    /// Whether the call was dropped: a timeout, or an overload signal from the server (for
    /// `AdaptiveLimit`: whether any call in the window was).
    pub dropped: bool,
    /// When the sample was taken, by the limit's clock (the end of the call or window).
    pub now: Duration,
}

impl Sample {
    /// A successful sample at time zero.
    #[inline]
    pub const fn new(rtt: Duration, in_flight: u32) -> Sample {
        Sample {
            rtt,
            in_flight,
            dropped: false,
            now: Duration::ZERO,
        }
    }

    /// The same sample, marked dropped.
    #[inline]
    #[must_use]
    pub const fn dropped(self) -> Sample {
        Sample {
            dropped: true,
            ..self
        }
    }

    /// The same sample, taken at `now`.
    #[inline]
    #[must_use]
    pub const fn at(self, now: Duration) -> Sample {
        Sample { now, ..self }
    }
}

/// A rule that moves a concurrency limit from samples: sans-io (no clock, threads or atomics;
/// time arrives in [`Sample::now`]), so it can be driven by a test or a simulator directly.
///
/// [`AdaptiveLimit`](crate::limit::AdaptiveLimit) calls [`update`](Self::update) once per
/// sample window and clamps the result into its `[min_limit, max_limit]`; it also replaces a
/// result that is not finite by the current limit, so a buggy rule cannot break admission.
/// Code driving an algorithm by hand should clamp the same way.
pub trait LimitAlgorithm: Send {
    /// The limit after this sample; `limit` is the current one, `sample.in_flight` the calls
    /// in flight when the call started.
    fn update(&mut self, limit: f64, sample: Sample) -> f64;

    /// A short name for logs and reports (`"aimd"`, `"vegas"`, `"gradient2"`).
    fn name(&self) -> &'static str;
}

impl<A: LimitAlgorithm + ?Sized> LimitAlgorithm for Box<A> {
    #[inline]
    fn update(&mut self, limit: f64, sample: Sample) -> f64 {
        (**self).update(limit, sample)
    }

    #[inline]
    fn name(&self) -> &'static str {
        (**self).name()
    }
}

/// Netflix's `Log10RootFunction`: `max(1, floor(log10(n)))` below 1000, `floor(sqrt(n))` from
/// there, so thresholds grow slowly with the limit.
#[inline]
pub(crate) fn log10_root(limit: f64) -> f64 {
    // The Java original takes the limit truncated to an int.
    let n = limit.max(0.0).floor();
    if n < 1000.0 {
        n.log10().floor().max(1.0)
    } else {
        n.sqrt().floor()
    }
}

/// Nanoseconds of a duration as `f64` (exact below 2^53 ns, 104 days).
#[inline]
pub(crate) fn nanos_f64(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

/// A duration from `f64` nanoseconds (negative or NaN read as zero, too large as the maximum).
#[inline]
pub(crate) fn secs_of_nanos(nanos: f64) -> Duration {
    Duration::try_from_secs_f64(nanos.max(0.0) / 1e9).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log10_root_matches_netflix_table() {
        // Values from the rule: max(1, floor(log10 n)) below 1000, floor(sqrt n) above.
        for (n, want) in [
            (0.0, 1.0),
            (1.0, 1.0),
            (9.0, 1.0),
            (10.0, 1.0),
            (99.9, 1.0),
            (100.0, 2.0),
            (999.0, 2.0),
            (1000.0, 31.0),
            (4096.0, 64.0),
        ] {
            assert_eq!(log10_root(n), want, "n = {n}");
        }
    }

    #[test]
    fn boxed_algorithms_forward() {
        struct Double;
        impl LimitAlgorithm for Double {
            fn update(&mut self, limit: f64, _: Sample) -> f64 {
                limit * 2.0
            }
            fn name(&self) -> &'static str {
                "double"
            }
        }
        let mut b: Box<dyn LimitAlgorithm> = Box::new(Double);
        assert_eq!(b.update(3.0, Sample::new(Duration::ZERO, 0)), 6.0);
        assert_eq!(b.name(), "double");
    }
}
