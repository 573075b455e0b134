//! The sliding window of outcomes in the closed state, lock-free.
//!
//! - Count window (last N calls): a ring of N one-byte slots, a cursor that picks the next
//!   slot, a count of the non-empty slots and one word packing the failures and slow calls
//!   the slots hold. In the steady state of a healthy dependency (a success replacing a
//!   success) recording is a load and a store of the cursor and a load of the slot: no
//!   locked instruction at all. Otherwise the outcome is swapped into the slot and the
//!   difference added to the packed word (`fetch_add`), and the first fill of a slot bumps
//!   the count (`fetch_add`).
//!
//!   The cursor is advanced with a plain load and store, not a locked increment, because the
//!   increment would cost more than everything else in a recording. Two recordings racing on
//!   it may pick the same slot; then the later swap overwrites the earlier outcome, whose
//!   effect on the counts is undone exactly (the swap returns it), so the window holds N of
//!   the last N+1 calls for a moment. The counts never drift: once the recordings in flight
//!   have finished, the packed word and the count equal the slots' contents. While two
//!   recordings race for the *same* slot the packed word can be transiently off by one; a
//!   torn value is recognised and skipped (see [`Counts::plausible`]).
//! - Time window (last T): B buckets of T/B each, keyed by epoch (time / bucket length). The
//!   first recording in a new epoch recycles the bucket by compare-exchange on its tag and
//!   subtracts what it held; recording is a load and one or two `fetch_add`s, and a decision
//!   sums the B buckets.

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

/// The largest count window (the packed word has 32 bits per field; this bound keeps slots
/// cheap to clear and configuration mistakes visible).
pub(crate) const MAX_COUNT_WINDOW: u32 = 1 << 20;

/// Failures in the low 32 bits, slow calls in the high 32: the "bad" part of an outcome.
#[inline]
const fn bad_bits(outcome: u8) -> u64 {
    ((outcome & FAILED) >> 1) as u64 | ((((outcome & SLOW) >> 2) as u64) << 32)
}

#[inline]
const fn unpack_bad(calls: u64, bad: u64) -> Counts {
    Counts {
        calls,
        failures: bad & 0xffff_ffff,
        slow: bad >> 32,
    }
}

#[derive(Debug)]
pub(crate) struct CountWindow {
    slots: Box<[AtomicU8]>,
    /// The cursor: recordings since the last clear, give or take the races described in the
    /// module docs. Only its value modulo the length matters.
    next: AtomicU64,
    /// How many slots are non-empty: the number of calls in the window.
    filled: AtomicU64,
    /// Packed failures and slow calls held by the slots ([`bad_bits`]).
    bad: AtomicU64,
    len: u32,
    /// Lemire's fastmod constant for `len`: a remainder in two multiplications, where a
    /// hardware division would cost more than the rest of the recording.
    fastmod: u64,
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> Self {
        let size = size.max(1);
        CountWindow {
            slots: (0..size).map(|_| AtomicU8::new(0)).collect(),
            next: AtomicU64::new(0),
            filled: AtomicU64::new(0),
            bad: AtomicU64::new(0),
            len: size,
            fastmod: (u64::MAX / u64::from(size)).wrapping_add(1),
        }
    }

    #[inline]
    fn capacity(&self) -> u64 {
        u64::from(self.len)
    }

    /// `i mod len` for the low 32 bits of `i`. The ring's order skips once every 2^32
    /// recordings when `len` does not divide 2^32, which only changes which old outcome one
    /// recording evicts.
    #[inline]
    #[allow(clippy::cast_possible_truncation)] // truncation to the low 32 bits is the point
    fn slot_of(&self, i: u64) -> usize {
        let low = self.fastmod.wrapping_mul(u64::from(i as u32));
        ((u128::from(low) * u128::from(self.len)) >> 64) as usize
    }

    /// Records `outcome`; returns the window's counts, or `None` when `outcome` is a plain
    /// success that does not bring the window to `decide_at` calls: a success can only lower
    /// the rates, except by completing the minimum number of calls.
    #[inline]
    pub(crate) fn record(&self, outcome: u8, decide_at: u64) -> Option<Counts> {
        let i = self.next.load(Ordering::Relaxed);
        self.next.store(i.wrapping_add(1), Ordering::Relaxed);
        let slot = self.slots.get(self.slot_of(i))?;
        let old = if slot.load(Ordering::Relaxed) == outcome {
            if outcome == CALL {
                return None; // a success replacing a success: nothing changes
            }
            outcome
        } else {
            slot.swap(outcome, Ordering::Relaxed)
        };
        let (calls, completed) = if old == 0 {
            let calls = self.filled.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            (calls, calls == decide_at)
        } else {
            (self.filled.load(Ordering::Relaxed), false)
        };
        let delta = bad_bits(outcome).wrapping_sub(bad_bits(old));
        let bad = if delta == 0 {
            if outcome == CALL && !completed {
                return None;
            }
            self.bad.load(Ordering::Relaxed)
        } else {
            let bad = self
                .bad
                .fetch_add(delta, Ordering::Relaxed)
                .wrapping_add(delta);
            if outcome == CALL && !completed {
                return None;
            }
            bad
        };
        Some(unpack_bad(calls, bad))
    }

    pub(crate) fn counts(&self) -> Counts {
        unpack_bad(
            self.filled.load(Ordering::Relaxed),
            self.bad.load(Ordering::Relaxed),
        )
    }

    /// Empties every slot, keeping the count and the packed word equal to the slots'
    /// contents even against concurrent (stale) recordings.
    pub(crate) fn clear(&self) {
        self.next.store(0, Ordering::Relaxed);
        for slot in self.slots.iter() {
            let old = slot.swap(0, Ordering::Relaxed);
            if old != 0 {
                self.filled.fetch_sub(1, Ordering::Relaxed);
                let bad = bad_bits(old);
                if bad != 0 {
                    self.bad.fetch_add(bad.wrapping_neg(), Ordering::Relaxed);
                }
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
        let bad = bad_bits(outcome);
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
    /// Records `outcome` at `now`; the counts to decide on, or `None` when no decision can
    /// change (see [`CountWindow::record`]).
    #[inline]
    pub(crate) fn record(&self, outcome: u8, now: u64, decide_at: u64) -> Option<Counts> {
        match self {
            Window::Count(w) => w.record(outcome, decide_at),
            Window::Time(w) => Some(w.record(outcome, now)),
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

    /// Records and returns the counts after it.
    fn rec(w: &CountWindow, outcome: u8) -> Counts {
        let seen = w.record(outcome, 0);
        let now = w.counts();
        if let Some(seen) = seen {
            assert_eq!(seen, now);
        }
        now
    }

    #[test]
    fn count_window_keeps_the_last_n() {
        let w = CountWindow::new(3);
        assert_eq!(rec(&w, CALL | FAILED).failures, 1);
        rec(&w, CALL | SLOW);
        let c = rec(&w, CALL);
        assert_eq!((c.calls, c.failures, c.slow), (3, 1, 1));
        // Evicts the failure.
        let c = rec(&w, CALL);
        assert_eq!((c.calls, c.failures, c.slow), (3, 0, 1));
        let c = rec(&w, CALL | FAILED | SLOW);
        assert_eq!((c.calls, c.failures, c.slow), (3, 1, 1));
        w.clear();
        assert_eq!(w.counts(), Counts::default());
    }

    #[test]
    fn plain_successes_skip_the_decision_except_at_the_minimum() {
        let w = CountWindow::new(2);
        assert_eq!(w.record(CALL, 2), None);
        assert_eq!(w.record(CALL, 2).map(|c| c.calls), Some(2));
        // The window stays at 2 calls, but a success no longer decides anything.
        assert_eq!(w.record(CALL, 2), None);
        assert_eq!(w.record(CALL, 2), None);
        // A success evicting a failure lowers the rate: no decision either.
        assert!(w.record(CALL | FAILED, 2).is_some());
        assert_eq!(w.record(CALL, 2), None);
        assert_eq!(w.record(CALL, 2), None);
        assert_eq!(
            w.counts(),
            Counts {
                calls: 2,
                failures: 0,
                slow: 0
            }
        );
        assert!(w.record(CALL | FAILED, 2).is_some());
        assert!(w.record(CALL | SLOW, 2).is_some());
    }

    #[test]
    fn fastmod_is_the_remainder() {
        for len in [1u32, 2, 3, 7, 100, 1000, 1 << 20] {
            let w = CountWindow::new(len);
            for i in [0u64, 1, 2, 99, 100, 101, 12_345, u64::from(u32::MAX)] {
                assert_eq!(
                    w.slot_of(i) as u64,
                    (i & 0xffff_ffff) % u64::from(len),
                    "{i} mod {len}"
                );
            }
        }
    }

    #[test]
    fn count_window_at_max_capacity_does_not_overflow_fields() {
        let w = CountWindow::new(MAX_COUNT_WINDOW);
        let mut c = Counts::default();
        for _ in 0..MAX_COUNT_WINDOW {
            c = rec(&w, CALL | FAILED | SLOW);
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
    /// are done the packed word equals the slot's content, and every count a recorder saw
    /// is at most one off (the transient of the module docs) or flagged implausible.
    #[test]
    fn racing_recordings_keep_the_aggregate_exact() {
        loom::model(|| {
            let w = Arc::new(CountWindow::new(1));
            let w2 = Arc::clone(&w);
            let t = thread::spawn(move || w2.record(CALL | FAILED, 0));
            let mine = w.record(CALL | SLOW, 0);
            let theirs = t.join().unwrap();
            for seen in [mine, theirs].into_iter().flatten() {
                if seen.plausible(1) {
                    assert_eq!(seen.calls, 1, "{seen:?}");
                    assert!(seen.failures + seen.slow <= 2, "{seen:?}");
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
            w.record(CALL | FAILED, 0);
            let w2 = Arc::clone(&w);
            let t = thread::spawn(move || {
                w2.record(CALL, 0);
            });
            w.clear();
            t.join().unwrap();
            let end = w.counts();
            assert!(end.calls <= 1 && end.failures == 0, "{end:?}");
        });
    }
}
