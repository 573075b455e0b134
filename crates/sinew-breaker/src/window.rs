//! The sliding window of outcomes in the closed state, lock-free.
//!
//! - Count window (last N calls): a ring of N one-byte slots and one packed aggregate word.
//!   Recording is three atomic operations: claim the next slot (`fetch_add`), put the outcome
//!   in it (`swap`, which returns the outcome it evicts), and add the difference to the
//!   aggregate (`fetch_add`). The aggregate is always the exact sum of the slots once every
//!   recording in flight has finished; while two recordings race for the *same* slot (only
//!   when the ring wraps around during one of them) it can be transiently off, so decisions are
//!   taken only on aggregates that are self-consistent (see [`Counts::plausible`]).
//! - Time window (last T): B buckets of T/B each, keyed by epoch (time / bucket length). The
//!   first recording in a new epoch recycles the bucket by compare-exchange on its tag and
//!   subtracts what it held; recording is a load and one or two `fetch_add`s.

use crate::sync::{AtomicU8, AtomicU64, Ordering};

/// Outcome bits of one recorded call.
pub(crate) const CALL: u8 = 1;
pub(crate) const FAILED: u8 = 2;
pub(crate) const SLOW: u8 = 4;

/// Counts of calls in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) slow: u64,
}

impl Counts {
    /// Whether these counts could be a real window: a decision taken on a transiently torn
    /// aggregate (see the module docs) is skipped, and the next recording decides again.
    #[inline]
    pub(crate) fn plausible(self, capacity: u64) -> bool {
        self.calls <= capacity && self.failures <= self.calls && self.slow <= self.calls
    }
}

// Count-window aggregate: 21 bits per field (capacity at most 2^20).
const FIELD: u32 = 21;
const FIELD_MASK: u64 = (1 << FIELD) - 1;
pub(crate) const MAX_COUNT_WINDOW: u32 = 1 << 20;

#[inline]
const fn packed(slot: u8) -> u64 {
    (slot & CALL) as u64
        | ((((slot & FAILED) >> 1) as u64) << FIELD)
        | ((((slot & SLOW) >> 2) as u64) << (2 * FIELD))
}

#[inline]
const fn unpack(agg: u64) -> Counts {
    Counts {
        calls: agg & FIELD_MASK,
        failures: (agg >> FIELD) & FIELD_MASK,
        slow: (agg >> (2 * FIELD)) & FIELD_MASK,
    }
}

#[derive(Debug)]
pub(crate) struct CountWindow {
    slots: Box<[AtomicU8]>,
    next: AtomicU64,
    agg: AtomicU64,
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> Self {
        CountWindow {
            slots: (0..size).map(|_| AtomicU8::new(0)).collect(),
            next: AtomicU64::new(0),
            agg: AtomicU64::new(0),
        }
    }

    #[inline]
    fn capacity(&self) -> u64 {
        self.slots.len() as u64
    }

    #[inline]
    pub(crate) fn record(&self, outcome: u8) -> Counts {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.capacity();
        let Some(slot) = usize::try_from(i).ok().and_then(|i| self.slots.get(i)) else {
            return Counts::default();
        };
        let old = slot.swap(outcome, Ordering::Relaxed);
        let delta = packed(outcome).wrapping_sub(packed(old));
        unpack(
            self.agg
                .fetch_add(delta, Ordering::Relaxed)
                .wrapping_add(delta),
        )
    }

    pub(crate) fn counts(&self) -> Counts {
        unpack(self.agg.load(Ordering::Relaxed))
    }

    /// Empties every slot, keeping the aggregate equal to the sum of the slots even against
    /// concurrent (stale) recordings.
    pub(crate) fn clear(&self) {
        for slot in self.slots.iter() {
            let old = slot.swap(0, Ordering::Relaxed);
            if old != 0 {
                self.agg
                    .fetch_add(packed(old).wrapping_neg(), Ordering::Relaxed);
            }
        }
    }
}

#[derive(Debug, Default)]
struct Bucket {
    /// Epoch + 1 of the calls this bucket holds; 0 when empty.
    tag: AtomicU64,
    calls: AtomicU64,
    /// Failures in the low 32 bits, slow calls in the high 32 (wrapping at 2^32 per bucket).
    bad: AtomicU64,
}

#[inline]
const fn bad_delta(outcome: u8) -> u64 {
    ((outcome & FAILED) >> 1) as u64 | ((((outcome & SLOW) >> 2) as u64) << 32)
}

#[derive(Debug)]
pub(crate) struct TimeWindow {
    buckets: Box<[Bucket]>,
    bucket_nanos: u64,
}

impl TimeWindow {
    pub(crate) fn new(window_nanos: u64, buckets: u32) -> Self {
        TimeWindow {
            buckets: (0..buckets).map(|_| Bucket::default()).collect(),
            bucket_nanos: (window_nanos / u64::from(buckets)).max(1),
        }
    }

    #[inline]
    fn len(&self) -> u64 {
        self.buckets.len() as u64
    }

    #[inline]
    fn bucket(&self, epoch: u64) -> Option<&Bucket> {
        usize::try_from(epoch % self.len())
            .ok()
            .and_then(|i| self.buckets.get(i))
    }

    /// Records an outcome at `now` (nanoseconds since the breaker's time base) and returns the
    /// window's counts as of `now`.
    pub(crate) fn record(&self, outcome: u8, now: u64) -> Counts {
        let epoch = now / self.bucket_nanos;
        let Some(b) = self.bucket(epoch) else {
            return Counts::default();
        };
        let tag = epoch.saturating_add(1);
        let mut seen = b.tag.load(Ordering::Acquire);
        while seen != tag {
            // Recycle: remember what the old epoch left, claim the bucket, subtract it. Calls
            // of the new epoch that land between the claim and the subtraction are kept; a
            // straggler of the old epoch racing the claim may count in the new one.
            let calls = b.calls.load(Ordering::Relaxed);
            let bad = b.bad.load(Ordering::Relaxed);
            match b
                .tag
                .compare_exchange(seen, tag, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    b.calls.fetch_sub(calls, Ordering::Relaxed);
                    b.bad.fetch_sub(bad, Ordering::Relaxed);
                    break;
                }
                Err(actual) => seen = actual,
            }
        }
        b.calls.fetch_add(1, Ordering::Relaxed);
        let bad = bad_delta(outcome);
        if bad != 0 {
            b.bad.fetch_add(bad, Ordering::Relaxed);
        }
        self.counts(now)
    }

    /// The sum of the buckets whose epoch lies in the window ending at `now`.
    pub(crate) fn counts(&self, now: u64) -> Counts {
        let epoch = now / self.bucket_nanos;
        let oldest = epoch.saturating_sub(self.len() - 1);
        let mut c = Counts::default();
        for b in self.buckets.iter() {
            let tag = b.tag.load(Ordering::Acquire);
            if tag == 0 || tag - 1 < oldest || tag - 1 > epoch {
                continue;
            }
            let bad = b.bad.load(Ordering::Relaxed);
            c.calls = c.calls.wrapping_add(b.calls.load(Ordering::Relaxed));
            c.failures = c.failures.wrapping_add(bad & u64::from(u32::MAX));
            c.slow = c.slow.wrapping_add(bad >> 32);
        }
        c
    }

    pub(crate) fn clear(&self) {
        for b in self.buckets.iter() {
            b.tag.store(0, Ordering::Release);
            b.calls.store(0, Ordering::Relaxed);
            b.bad.store(0, Ordering::Relaxed);
        }
    }
}

/// Either kind of window.
#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    #[inline]
    pub(crate) fn record(&self, outcome: u8, now: u64) -> Counts {
        match self {
            Window::Count(w) => w.record(outcome),
            Window::Time(w) => w.record(outcome, now),
        }
    }

    pub(crate) fn counts(&self, now: u64) -> Counts {
        match self {
            Window::Count(w) => w.counts(),
            Window::Time(w) => w.counts(now),
        }
    }

    /// The largest number of calls the window can hold, for [`Counts::plausible`].
    pub(crate) fn capacity(&self) -> u64 {
        match self {
            Window::Count(w) => w.capacity(),
            Window::Time(_) => u64::MAX,
        }
    }

    pub(crate) fn needs_time(&self) -> bool {
        matches!(self, Window::Time(_))
    }

    pub(crate) fn clear(&self) {
        match self {
            Window::Count(w) => w.clear(),
            Window::Time(w) => w.clear(),
        }
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;

    #[test]
    fn count_window_keeps_the_last_n() {
        let w = CountWindow::new(3);
        assert_eq!(w.record(CALL | FAILED).failures, 1);
        w.record(CALL | SLOW);
        let c = w.record(CALL);
        assert_eq!((c.calls, c.failures, c.slow), (3, 1, 1));
        // Evicts the failure.
        let c = w.record(CALL);
        assert_eq!((c.calls, c.failures, c.slow), (3, 0, 1));
        let c = w.record(CALL | FAILED | SLOW);
        assert_eq!((c.calls, c.failures, c.slow), (3, 1, 1));
        w.clear();
        assert_eq!(w.counts(), Counts::default());
    }

    #[test]
    fn count_window_at_max_capacity_does_not_overflow_fields() {
        let w = CountWindow::new(MAX_COUNT_WINDOW);
        let mut c = Counts::default();
        for _ in 0..MAX_COUNT_WINDOW {
            c = w.record(CALL | FAILED | SLOW);
        }
        let n = u64::from(MAX_COUNT_WINDOW);
        assert_eq!((c.calls, c.failures, c.slow), (n, n, n));
        assert!(c.plausible(n));
    }

    #[test]
    fn time_window_forgets_old_buckets_and_ignores_the_future() {
        // 10 buckets of 100 ns.
        let w = TimeWindow::new(1_000, 10);
        w.record(CALL | FAILED, 50);
        w.record(CALL, 150);
        assert_eq!(w.counts(999).calls, 2);
        assert_eq!(w.counts(1_050).calls, 1, "bucket 0 left the window");
        assert_eq!(w.counts(2_000).calls, 0);
        // Recycling bucket 0 for epoch 10 drops epoch 0's failure.
        let c = w.record(CALL, 1_000);
        assert_eq!((c.calls, c.failures), (2, 0));
        // A clock read from before epoch 10 does not see it.
        assert_eq!(w.counts(150).calls, 1);
        w.clear();
        assert_eq!(w.counts(1_000), Counts::default());
    }

    #[test]
    fn implausible_counts_are_flagged() {
        let torn = Counts {
            calls: 3,
            failures: 4,
            slow: 0,
        };
        assert!(!torn.plausible(10));
        assert!(
            !Counts {
                calls: 11,
                failures: 0,
                slow: 0
            }
            .plausible(10)
        );
        assert!(
            Counts {
                calls: 3,
                failures: 3,
                slow: 3
            }
            .plausible(3)
        );
    }
}

#[cfg(all(test, sinew_loom))]
mod loom_models {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// Two threads recording into a one-slot ring (both racing for the same slot): once both
    /// are done the aggregate equals the slot's content, and every intermediate aggregate a
    /// recorder saw is either exact or flagged implausible.
    #[test]
    fn racing_recordings_keep_the_aggregate_exact() {
        loom::model(|| {
            let w = Arc::new(CountWindow::new(1));
            let w2 = Arc::clone(&w);
            let t = thread::spawn(move || w2.record(CALL | FAILED));
            let mine = w.record(CALL | SLOW);
            let theirs = t.join().unwrap();
            for seen in [mine, theirs] {
                if seen.plausible(1) {
                    assert_eq!(seen.calls, 1, "{seen:?}");
                    assert!(seen.failures + seen.slow == 1, "{seen:?}");
                }
            }
            let end = w.counts();
            assert_eq!(end.calls, 1);
            assert_eq!(end.failures + end.slow, 1, "{end:?}");
        });
    }

    /// A recording racing a clear: the aggregate still equals the sum of the slots.
    #[test]
    fn clear_racing_a_recording_stays_consistent() {
        loom::model(|| {
            let w = Arc::new(CountWindow::new(2));
            w.record(CALL | FAILED);
            let w2 = Arc::clone(&w);
            let t = thread::spawn(move || {
                w2.record(CALL);
            });
            w.clear();
            t.join().unwrap();
            let end = w.counts();
            assert!(end.calls <= 1 && end.failures == 0, "{end:?}");
        });
    }
}
