//! The straight line that turns CPU counter ticks into nanoseconds for [`SystemClock`], and
//! the rule that keeps it on the OS clock.
//!
//! A reading is `base_nanos + (ticks - base_ticks) * mult / 2^32`. Three words describe the
//! line, so they are published under a sequence lock: a writer makes the sequence odd, stores
//! the words and makes it even again; a reader retries if the sequence was odd or changed
//! while it read. Readers take no lock and write nothing.
//!
//! The counter's rate is only known to within its calibration (15.6 ppm fast on the reference
//! machine, about 1.3 s a day), so once a [period](Line::period_ticks) the first reader past
//! it *refits* the line against the OS clock: the new line starts where the old one was (plus
//! [`STEP_NANOS`], or at the OS reading if that is later), and its slope is set so it meets the
//! OS clock one period later. The clock therefore stays within about one period's drift of the
//! OS clock (microseconds) and never steps back: it only slows down to let the OS clock catch
//! up, never below half speed.
//!
//! [`SystemClock`]: crate::SystemClock

use crate::sync::{AtomicBool, AtomicU64, Ordering, fence};

/// How far each refit moves the line forward past the old one. It covers the one case the
/// sequence lock alone cannot order: a reader whose counter read the CPU executed after the
/// writer's (out-of-order execution, at most a few hundred instructions) while its check of
/// the sequence still saw the old line. Its reading is then less than this much past the
/// old line's value at the refit, and every reading of the new line is later.
pub(crate) const STEP_NANOS: u64 = 1_000;

/// One consistent set of the line's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    pub(crate) base_ticks: u64,
    pub(crate) base_nanos: u64,
    /// Nanoseconds per 2^32 ticks.
    pub(crate) mult: u64,
}

impl Params {
    /// The line's value at `ticks`. A counter that reads behind the base (another core's
    /// counter a few ticks behind) reads as the base, never earlier.
    #[inline]
    pub(crate) fn at(&self, ticks: u64) -> u64 {
        let elapsed = ticks.saturating_sub(self.base_ticks);
        let scaled = (u128::from(elapsed) * u128::from(self.mult)) >> 32;
        self.base_nanos
            .saturating_add(u64::try_from(scaled).unwrap_or(u64::MAX))
    }
}

/// The published line: see the module docs.
#[derive(Debug)]
pub(crate) struct Line {
    seq: AtomicU64,
    base_ticks: AtomicU64,
    base_nanos: AtomicU64,
    mult: AtomicU64,
    /// Held by the one reader that refits; others go on reading the current line.
    refitting: AtomicBool,
    /// The calibrated slope, nanoseconds per 2^32 ticks.
    nominal: u64,
    /// Ticks between refits.
    period_ticks: u64,
}

impl Line {
    /// A line through (`ticks`, `nanos`) with the calibrated slope `nominal` (nanoseconds per
    /// 2^32 ticks), refitted every `period_ticks`.
    pub(crate) fn new(ticks: u64, nanos: u64, nominal: u64, period_ticks: u64) -> Self {
        Line {
            seq: AtomicU64::new(0),
            base_ticks: AtomicU64::new(ticks),
            base_nanos: AtomicU64::new(nanos),
            mult: AtomicU64::new(nominal.max(1)),
            refitting: AtomicBool::new(false),
            nominal: nominal.max(1),
            period_ticks: period_ticks.max(1),
        }
    }

    /// Reads the counter with `ticks` inside a consistent view of the line and returns the
    /// reading, and whether the line is due for a refit.
    ///
    /// The counter is read between the two loads of the sequence so that a refit that starts
    /// after the counter read makes this reader retry with the new line, rather than use the
    /// old line at a counter value past the refit point.
    #[inline]
    pub(crate) fn read(&self, ticks: impl Fn() -> u64) -> (u64, bool) {
        loop {
            let seq = self.seq.load(Ordering::Acquire);
            if seq & 1 == 0 {
                let now = ticks();
                let params = self.load_params();
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == seq {
                    let due = now.saturating_sub(params.base_ticks) >= self.period_ticks;
                    return (params.at(now), due);
                }
            }
            crate::sync::spin();
        }
    }

    #[inline]
    fn load_params(&self) -> Params {
        Params {
            base_ticks: self.base_ticks.load(Ordering::Relaxed),
            base_nanos: self.base_nanos.load(Ordering::Relaxed),
            mult: self.mult.load(Ordering::Relaxed),
        }
    }

    /// Refits the line to the OS clock (`os_nanos`, read after `ticks`), unless another thread
    /// is refitting it right now. Returns the new line's value at the refit point, if this
    /// call refitted.
    #[cold]
    pub(crate) fn refit(&self, ticks: impl Fn() -> u64, os_nanos: impl Fn() -> u64) -> Option<u64> {
        if self
            .refitting
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        // Only the holder of `refitting` stores the words, so these loads see the current line.
        let old = self.load_params();
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // Orders the odd sequence before the new words (the sequence lock's release) and, being
        // a full fence, before the counter read below as far as the CPU allows.
        fence(Ordering::SeqCst);
        let now = ticks();
        let os = os_nanos();
        let continued = old.at(now).saturating_add(STEP_NANOS);
        let base = continued.max(os);
        let new = Params {
            base_ticks: now,
            base_nanos: base,
            mult: self.slope_to_meet(base, os),
        };
        self.base_ticks.store(new.base_ticks, Ordering::Relaxed);
        self.base_nanos.store(new.base_nanos, Ordering::Relaxed);
        self.mult.store(new.mult, Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
        self.refitting.store(false, Ordering::Release);
        Some(base)
    }

    /// The slope that takes the line from `base` (at or ahead of the OS reading `os`) to where
    /// the OS clock will be one period later by the calibrated rate, and never below half
    /// the calibrated rate: a line far ahead (the process was idle for hours) slows down by
    /// half until the OS clock catches up, rather than stopping.
    fn slope_to_meet(&self, base: u64, os: u64) -> u64 {
        let period_nanos = (u128::from(self.period_ticks) * u128::from(self.nominal)) >> 32;
        let ahead = u128::from(base - os.min(base));
        let span = period_nanos.saturating_sub(ahead).max(period_nanos / 2);
        let mult = (span << 32) / u128::from(self.period_ticks);
        u64::try_from(mult).unwrap_or(u64::MAX).max(1)
    }

    /// The current words (for tests).
    #[cfg(test)]
    pub(crate) fn params(&self) -> Params {
        self.load_params()
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2^32: one nanosecond per tick.
    const ONE: u64 = 1 << 32;

    #[test]
    fn reads_the_line_and_says_when_a_refit_is_due() {
        let line = Line::new(1_000, 5_000, ONE, 100);
        assert_eq!(line.read(|| 1_050), (5_050, false));
        assert_eq!(line.read(|| 1_100), (5_100, true));
        // A counter behind the base reads as the base.
        assert_eq!(line.read(|| 10), (5_000, false));
    }

    #[test]
    fn a_refit_behind_the_os_clock_steps_forward_to_it() {
        let line = Line::new(0, 0, ONE, 1_000_000);
        // The OS clock is 50 µs ahead of the line at tick 1,000,000.
        assert_eq!(line.refit(|| 1_000_000, || 1_050_000), Some(1_050_000));
        assert_eq!(
            line.params().mult,
            ONE,
            "on the OS clock: the calibrated slope"
        );
        assert_eq!(line.read(|| 1_000_010).0, 1_050_010);
    }

    #[test]
    fn a_refit_ahead_of_the_os_clock_slows_down_and_never_steps_back() {
        let line = Line::new(0, 0, ONE, 1_000_000);
        let before = line.read(|| 1_000_000).0;
        // The counter runs fast: the OS clock reads 20 µs behind the line.
        let base = line.refit(|| 1_000_000, || 980_000).unwrap_or_default();
        assert_eq!(base, 1_000_000 + STEP_NANOS);
        assert!(base >= before);
        // One period later the line meets where the OS clock will be by the calibrated rate.
        // (The slope is a whole number of 2^-32 ns per tick: within a nanosecond.)
        let met = line.read(|| 2_000_000).0;
        assert!(met.abs_diff(1_980_000) <= 1, "{met}");
        // Far ahead (an idle hour): half speed, never a standstill.
        let line = Line::new(0, 0, ONE, 1_000);
        line.refit(|| 0, || 0);
        let base = line.refit(|| 0, || 0).unwrap_or_default();
        let after = line.read(|| 1_000).0;
        assert_eq!(after - base, 500);
    }

    #[test]
    fn only_one_refit_at_a_time() {
        let line = Line::new(0, 0, ONE, 10);
        line.refitting.store(true, Ordering::Relaxed);
        assert_eq!(line.refit(|| 100, || 100), None);
        assert_eq!(line.params().base_ticks, 0);
    }

    proptest! {
        /// Whatever the OS clock does (drift either way, steps, long idle spells), readings
        /// taken at increasing counter values never decrease, across any number of refits,
        /// and after each refit the line is at or past the OS reading.
        #[test]
        fn never_backwards_across_refits(
            steps in proptest::collection::vec((1u64..5_000_000, -2_000_000i64..2_000_000, any::<bool>()), 1..60),
            nominal in (ONE / 2)..(ONE * 2),
        ) {
            let line = Line::new(0, 1_000_000_000, nominal, 1_000_000);
            let (mut ticks, mut os, mut last) = (0u64, 1_000_000_000u64, 0u64);
            for (advance, os_error, refit) in steps {
                ticks += advance;
                os = os.saturating_add_signed(os_error).max(1);
                let (reading, due) = line.read(|| ticks);
                prop_assert!(reading >= last, "{reading} < {last}");
                last = reading;
                if (due || refit) && let Some(base) = line.refit(|| ticks, || os) {
                    prop_assert!(base >= os && base >= last);
                    last = base;
                }
            }
        }
    }
}

#[cfg(all(test, sinew_loom))]
mod loom_models {
    use super::*;
    use loom::sync::Arc;

    /// A refit racing two readings on another thread: the readings never go backwards, and
    /// each is the value of a whole line (the old or the new one), never a mix of their
    /// words. The counter is a shared atomic that every read advances, standing in for a
    /// counter synchronized across cores.
    #[test]
    fn readings_never_go_backwards_and_never_mix_two_lines() {
        loom::model(|| {
            let counter = Arc::new(AtomicU64::new(10));
            // Slope 1 ns/tick, refit due after 1 tick; the OS clock is 500 ns behind.
            let line = Arc::new(Line::new(0, 1_000_000, 1 << 32, 1));
            let old = line.params();
            let writer = {
                let (line, counter) = (line.clone(), counter.clone());
                loom::thread::spawn(move || {
                    let tick = || counter.fetch_add(1, Ordering::Relaxed);
                    line.refit(tick, || 1_000_000 - 500)
                })
            };
            let tick = || counter.fetch_add(1, Ordering::Relaxed);
            let (first, _) = line.read(tick);
            let (second, _) = line.read(tick);
            assert!(second >= first, "{second} < {first}");
            // The only refitter always gets the lock.
            let base = writer.join().ok().flatten();
            let new = line.params();
            for reading in [first, second] {
                let on_old = (0..64).any(|t| old.at(t) == reading);
                let on_new = (0..64).any(|t| new.at(t) == reading);
                assert!(on_old || on_new, "{reading} is on neither line");
            }
            assert!(base.is_some_and(|base| base > old.at(new.base_ticks)));
        });
    }
}
