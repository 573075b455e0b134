//! [`SystemClock`]: wall time that cannot step backwards while the process runs.

use std::time::{Duration, Instant, SystemTime};

use crate::sync::OnceLock;
use crate::{Clock, nanos_of};

/// Wall-clock time, sampled once per process and then advanced by the monotonic clock.
///
/// The first call to [`now`](Clock::now) (from any `SystemClock`) reads [`SystemTime::now`] and
/// [`Instant::now`] together; every later reading is that wall time plus the monotonic time
/// elapsed since. So a wall-clock step backwards (an NTP correction, an operator running `date`)
/// cannot move this clock back while the process runs, and every `SystemClock` in the process
/// agrees with every other.
///
/// The price is that steps *forwards* are not followed either: the reading stays within the
/// monotonic clock's drift of the wall time at the first call (NTP slews the monotonic clock on
/// Linux, so the drift is small; time spent suspended is not counted on Linux, so a laptop that
/// sleeps falls behind). Across restarts the clock is read afresh, so a rollback that
/// happened while the process was down is visible; the crates that need more (such as
/// sinew-snowflake's high-water mark) handle it themselves.
///
/// `SystemClock` is a zero-sized `Copy` handle. A reading costs one [`Instant::now`] (a vDSO
/// call, about 20 ns on Linux x86-64) plus an addition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

#[derive(Debug)]
struct Base {
    wall: Duration,
    /// `wall` in nanoseconds, saturated, for the `now_nanos` fast path.
    wall_nanos: u64,
    mono: Instant,
}

static BASE: OnceLock<Base> = OnceLock::new();

impl SystemClock {
    /// Returns the system clock handle.
    pub const fn new() -> Self {
        SystemClock
    }

    #[inline]
    fn base() -> &'static Base {
        BASE.get_or_init(|| {
            // A wall clock set before 1970 reads as the epoch rather than failing: time then
            // still moves forwards from there.
            let wall = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            Base {
                wall,
                wall_nanos: nanos_of(wall),
                mono: Instant::now(),
            }
        })
    }
}

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Duration {
        let base = Self::base();
        base.wall.saturating_add(base.mono.elapsed())
    }

    /// The same reading in `u64` arithmetic, which is measurably cheaper than going through
    /// `Duration`'s `u128` nanoseconds on the hot paths that call it per operation.
    #[inline]
    fn now_nanos(&self) -> u64 {
        let base = Self::base();
        let elapsed = base.mono.elapsed();
        base.wall_nanos
            .saturating_add(elapsed.as_secs().saturating_mul(1_000_000_000))
            .saturating_add(u64::from(elapsed.subsec_nanos()))
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;

    #[test]
    fn close_to_wall_time_and_never_backwards() {
        let clock = SystemClock::new();
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let mut last = clock.now();
        // Both clocks were read within this test; a minute covers any scheduling delay.
        assert!(
            last.abs_diff(wall) < Duration::from_secs(60),
            "{last:?} vs {wall:?}"
        );
        for _ in 0..10_000 {
            let now = clock.now();
            assert!(now >= last);
            last = now;
        }
    }

    #[test]
    fn now_nanos_agrees_with_now() {
        let clock = SystemClock::new();
        let before = clock.now();
        let nanos = clock.now_nanos();
        let after = clock.now();
        assert!(nanos_of(before) <= nanos && nanos <= nanos_of(after));
    }

    #[test]
    fn all_handles_share_one_base() {
        let (a, b) = (SystemClock::new(), SystemClock);
        let first = a.now();
        let second = b.now();
        assert!(second >= first);
        assert!(second - first < Duration::from_secs(60));
    }
}
