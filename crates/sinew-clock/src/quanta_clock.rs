//! [`QuantaClock`]: quanta's clock as it is, with a per-handle origin.

use std::time::Duration;

use crate::{Clock, SystemClock};

/// A [`Clock`] on the [`quanta`](https://docs.rs/quanta) crate's clock as it is: the CPU's
/// time-stamp counter scaled by quanta's calibration (quanta falls back to the OS monotonic
/// clock where the counter is not usable).
///
/// This is the clock governor uses by default, kept so a benchmark against governor can
/// compare the limiters on the very same clock. Prefer [`SystemClock`], which reads the same
/// counter at about the same cost but is shared by the whole process and refitted to the OS
/// clock: quanta's calibration alone drifts (15.6 ppm, about 1.3 s a day, on the reference
/// machine), and a `QuantaClock` does not correct it.
///
/// Readings are the [`SystemClock`] time at construction plus the counter's elapsed time.
/// Counters of different cores are calibrated but not guaranteed in step: a reading taken on
/// another core may be slightly earlier, which the sinew primitives treat as time moving
/// backwards (clamped). Clones share the origin.
///
/// # Examples
///
/// ```
/// use sinew_clock::{Clock, QuantaClock};
///
/// let clock = QuantaClock::new();
/// let (a, b) = (clock.now(), clock.now());
/// assert!(b >= a);
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

#[cfg(all(test, not(sinew_loom)))]
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
