//! [`SystemClock`]: wall time that cannot step backwards while the process runs, read from the
//! CPU's time-stamp counter where the kernel trusts it.

use std::time::{Duration, Instant, SystemTime};

use crate::line::Line;
use crate::sync::OnceLock;
use crate::{Clock, add_elapsed, nanos_of};

/// Wall-clock time, sampled once per process and then advanced by a monotonic source: the
/// CPU's time-stamp counter where it is reliable, else the OS monotonic clock.
///
/// The first reading (from any `SystemClock`) reads [`SystemTime::now`] once; every later
/// reading is that wall time plus the time elapsed since. So a wall-clock step backwards (an
/// NTP correction, an operator running `date`) cannot move this clock back while the process
/// runs, and every `SystemClock` in the process agrees with every other. The price is that
/// steps *forwards* are not followed either; across restarts the clock is read afresh, so a
/// rollback that happened while the process was down is visible (the crates that need more,
/// such as sinew-snowflake's high-water mark, handle it themselves).
///
/// # Where the elapsed time comes from
///
/// - **The time-stamp counter** ([`TimeSource::Counter`]), read through
///   [`quanta`](https://docs.rs/quanta) (the counter governor and moka use), when the kernel
///   uses it as its own clock source: on Linux x86/x86-64 with `current_clocksource` = `tsc`,
///   which the kernel selects only after checking the counter is invariant and synchronized
///   across cores. A reading is one counter read and a multiply: about 10 ns on the reference
///   machine, against about 24 ns for [`Instant::now`]. The counter's rate is calibrated at
///   the first reading (quanta's calibration, milliseconds, once per process) and the line
///   from ticks to nanoseconds is refitted to the OS monotonic clock every 100 ms by whichever
///   reader passes the mark, so the reading stays within microseconds of what the OS clock
///   would give (the raw calibration drifts by 15.6 ppm, 1.3 s a day, on the reference
///   machine) and never steps back to get there: it slows down instead.
/// - **The OS monotonic clock** ([`TimeSource::Os`], [`Instant`]) everywhere else, and when
///   the environment variable `SINEW_CLOCK` is `os` at the first reading (for a machine whose
///   counter you distrust).
///
/// # Guarantees
///
/// - Wall time at the first reading, then never backwards on a thread. Across threads, a
///   reading that happens after another (through a lock or a channel) is never earlier: the
///   OS clock guarantees it; the counter source keeps it through each refit (a sequence lock,
///   checked by a loom model) and allows only the CPU's reordering of a counter read past the
///   synchronization, nanoseconds (each refit also steps the line 1 µs forward, so that
///   reordering cannot carry a reading on the old line past the new one).
/// - Within about 20 µs of the OS monotonic clock's elapsed time (one refit period's drift),
///   so the same NTP slewing applies: time spent suspended is not counted on Linux.
///
/// `SystemClock` is a zero-sized `Copy` handle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

/// Where [`SystemClock`]'s elapsed time comes from in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeSource {
    /// The CPU's time-stamp counter, refitted to the OS clock.
    Counter,
    /// The OS monotonic clock ([`Instant`]).
    Os,
}

#[derive(Debug)]
struct Base {
    /// The wall time at the first reading, in nanoseconds (saturated).
    wall_nanos: u64,
    mono: Instant,
    counter: Option<Counter>,
}

#[derive(Debug)]
struct Counter {
    clock: quanta::Clock,
    line: Line,
}

static BASE: OnceLock<Base> = OnceLock::new();

/// How often the counter's line is refitted to the OS clock.
const REFIT_PERIOD: Duration = Duration::from_millis(100);

impl SystemClock {
    /// Returns the system clock handle.
    pub const fn new() -> Self {
        SystemClock
    }

    /// Where this process's readings come from (decided at the first reading, which this
    /// call makes if none was made yet).
    pub fn source() -> TimeSource {
        match Self::base().counter {
            Some(_) => TimeSource::Counter,
            None => TimeSource::Os,
        }
    }

    #[inline]
    fn base() -> &'static Base {
        BASE.get_or_init(|| Base::new(counter_is_reliable()))
    }
}

impl Base {
    fn new(use_counter: bool) -> Self {
        // A wall clock set before 1970 reads as the epoch rather than failing: time then
        // still moves forwards from there.
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let wall_nanos = nanos_of(wall);
        let counter = use_counter.then(|| {
            let clock = quanta::Clock::new();
            // Nanoseconds per 2^32 ticks, from quanta's calibration (exactly 2^32 if quanta
            // fell back to the OS clock itself, whose ticks are nanoseconds).
            let nominal = clock.delta_as_nanos(0, 1 << 32);
            let period = (nanos_of(REFIT_PERIOD) << 32) / nominal.max(1);
            (clock, nominal, period)
        });
        let mono = Instant::now();
        let counter = counter.map(|(clock, nominal, period)| Counter {
            line: Line::new(clock.raw(), wall_nanos, nominal, period),
            clock,
        });
        Base {
            wall_nanos,
            mono,
            counter,
        }
    }

    /// The reading by the OS monotonic clock.
    #[inline]
    fn os_nanos(&self) -> u64 {
        add_elapsed(self.wall_nanos, self.mono.elapsed())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        let Some(counter) = &self.counter else {
            return self.os_nanos();
        };
        let ticks = || counter.clock.raw();
        let (nanos, due) = counter.line.read(ticks);
        if due {
            counter.line.refit(ticks, || self.os_nanos());
        }
        nanos
    }
}

/// The counter is used where the kernel itself uses it as its clock source (it checks the
/// counter is invariant and synchronized across cores first), unless `SINEW_CLOCK=os`.
fn counter_is_reliable() -> bool {
    if cfg!(sinew_loom) || std::env::var_os("SINEW_CLOCK").is_some_and(|v| v == "os") {
        return false;
    }
    cfg!(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "x86")
    )) && std::fs::read_to_string(
        "/sys/devices/system/clocksource/clocksource0/current_clocksource",
    )
    .is_ok_and(|source| source.trim() == "tsc")
}

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    /// The reading in `u64` nanoseconds, the form the hot paths use.
    #[inline]
    fn now_nanos(&self) -> u64 {
        Self::base().now_nanos()
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn wall_nanos() -> u64 {
        nanos_of(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default(),
        )
    }

    /// Both sources, built fresh: the counter (where this machine has a usable one; quanta
    /// falls back to the OS clock inside it otherwise) and the OS fallback.
    fn bases() -> [Base; 2] {
        [Base::new(true), Base::new(false)]
    }

    #[test]
    fn starts_at_the_wall_time_and_never_goes_backwards() {
        for base in bases() {
            let before = wall_nanos();
            let mut last = base.now_nanos();
            // Both clocks were read within this test; a minute covers any scheduling delay.
            assert!(last.abs_diff(before) < 60_000_000_000, "{last} vs {before}");
            // 300 ms of readings cross at least two refits of the counter's line.
            let start = Instant::now();
            while start.elapsed() < REFIT_PERIOD * 3 {
                let now = base.now_nanos();
                assert!(now >= last, "{now} < {last}");
                last = now;
            }
        }
    }

    #[test]
    fn follows_the_os_clock() {
        for base in bases() {
            for _ in 0..4 {
                std::thread::sleep(REFIT_PERIOD);
                // One read refits if due; the next is on the refitted line.
                base.now_nanos();
                let (ours, os) = (base.now_nanos(), base.os_nanos());
                // Microseconds in practice (one period's drift); a millisecond leaves room
                // for a descheduled thread between the two reads.
                assert!(ours.abs_diff(os) < 1_000_000, "{ours} vs {os}");
            }
        }
    }

    #[test]
    fn readings_passed_between_threads_stay_in_order() {
        for base in bases() {
            let last = Mutex::new(0u64);
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..20_000 {
                            let Ok(mut last) = last.lock() else { return };
                            let now = base.now_nanos();
                            // The counter source allows the CPU's reordering of its read past
                            // the lock: nanoseconds; a microsecond is the documented bound.
                            assert!(now + 1_000 >= *last, "{now} < {}", *last);
                            *last = now.max(*last);
                        }
                    });
                }
            });
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

    #[test]
    fn uses_the_counter_where_the_kernel_does() {
        let kernel = std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .unwrap_or_default();
        let expected = if kernel.trim() == "tsc"
            && cfg!(any(target_arch = "x86_64", target_arch = "x86"))
            && std::env::var_os("SINEW_CLOCK").is_none_or(|v| v != "os")
        {
            TimeSource::Counter
        } else {
            TimeSource::Os
        };
        assert_eq!(SystemClock::source(), expected);
    }
}
