//! [`QuantaClock`] (`quanta` feature): a precise clock read from the CPU's time-stamp counter.

use std::time::Duration;

use sinew_clock::{Clock, SystemClock};

/// A [`Clock`] on the [`quanta`](https://docs.rs/quanta) crate's TSC-based clock: nanosecond
/// resolution like [`SystemClock`], at the cost of one `rdtsc` and a multiply-shift instead of a
/// `clock_gettime` call (quanta falls back to the OS monotonic clock where the TSC is not
/// usable).
///
/// This is the clock governor uses by default; with it, a benchmark against governor compares
/// the limiters, not their clocks. Use it when each check must see the precise time and the
/// system clock's cost shows; use [`CachedClock`](crate::CachedClock) when a resolution of about
/// a millisecond is enough (cheaper still).
///
/// Readings are the [`SystemClock`] time at construction plus the counter's elapsed time.
/// Counters of different cores are calibrated but not guaranteed in step: a reading taken on
/// another core may be slightly earlier, which the limiters treat as time moving backwards
/// (clamped, never an extra admission). Clones share the origin.
///
/// # Examples
///
/// ```
/// use sinew_ratelimit::{Quota, QuantaClock, RateLimiter};
///
/// let limiter = RateLimiter::with_clock(Quota::per_second(100)?, QuantaClock::new());
/// limiter.check()?;
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct QuantaClock {
    clock: quanta::Clock,
    origin: u64,
    wall: u64,
}

impl QuantaClock {
    /// A clock whose reading starts at the current [`SystemClock`] time. Calibrates quanta's
    /// clock the first time one is made in the process (about 10 ms).
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        QuantaClock {
            clock,
            origin,
            wall: SystemClock.now_nanos(),
        }
    }
}

impl Default for QuantaClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for QuantaClock {
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        // `delta_as_nanos` is 0 if the counter reads behind the origin.
        self.wall
            .saturating_add(self.clock.delta_as_nanos(self.origin, self.clock.raw()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_forward_from_the_wall_time() {
        let before = SystemClock.now_nanos();
        let clock = QuantaClock::new();
        let a = clock.now_nanos();
        assert!(a >= before);
        std::thread::sleep(Duration::from_millis(2));
        let b = clock.now_nanos();
        assert!(b >= a + 1_000_000, "{a} -> {b}");
        assert!(clock.now() >= Duration::from_nanos(b));
        let _ = QuantaClock::default();
    }
}
