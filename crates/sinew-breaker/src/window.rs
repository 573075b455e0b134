//! The sliding window of outcomes in the closed state, lock-free.
//!
//! - Count window (last N calls): a ring of N one-byte slots, a cursor that picks the next
//!   slot, and one word packing the number of calls, failures and slow calls the slots hold
//!   (21 bits each). Recording claims the next slot with one `fetch_add` on the cursor. When
//!   the slot already holds the same outcome (a success replacing a success: the steady state
//!   of a healthy dependency) that is all: one locked instruction and two plain loads.
//!   Otherwise the outcome is swapped into the slot and the difference added to the packed
//!   word with one `fetch_add`, whose result is a consistent snapshot of the three counts to
//!   decide on. Every count changes by at most one per recording, so the recording that
//!   brings the window to its minimum number of calls sees exactly that number and decides.
//!
//!   The packed word is the exact sum of the slots once every recording in flight has
//!   finished; while two recordings race for the *same* slot (only when the ring wraps
//!   around during one of them) it can be transiently off by one, and a torn value is
//!   recognised and skipped (see [`Counts::plausible`]).
//!
//!   (A plain load and store of the cursor would save the locked instruction, but two
//!   racing recordings could then claim one slot and one outcome would be lost; and taking
//!   the call count from the cursor instead of the packed word would let two racing failures
//!   each see a window that does not trip. The loom model
//!   `two_tripping_failures_make_one_transition` catches both.)
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

// Count-window packed word: 21 bits per field (capacity at most 2^20).
const FIELD: u32 = 21;
const FIELD_MASK: u64 = (1 << FIELD) - 1;
/// The largest count window: its counts must fit the packed word's 21-bit fields.
pub(crate) const MAX_COUNT_WINDOW: u32 = 1 << 20;

/// An outcome as a delta of the count window's packed word.
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

/// Failures in the low 32 bits, slow calls in the high 32: a time-window bucket's "bad" word.
#[inline]
const fn bad_bits(outcome: u8) -> u64 {
    ((outcome & FAILED) >> 1) as u64 | ((((outcome & SLOW) >> 2) as u64) << 32)
}

#[derive(Debug)]
pub(crate) struct CountWindow {
    slots: Box<[AtomicU8]>,
    /// The cursor: recordings since the window was built (only its value modulo the length
    /// matters).
    next: AtomicU64,
    /// Packed calls, failures and slow calls held by the slots ([`packed`]).
    agg: AtomicU64,
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
            agg: AtomicU64::new(0),
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
    #[inline(always)]
    pub(crate) fn record(&self, outcome: u8, decide_at: u64) -> Option<Counts> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = self.slots.get(self.slot_of(i))?;
        let current = slot.load(Ordering::Relaxed);
        if current == outcome && outcome == CALL {
            return None; // a success replacing a success: nothing changes
        }
        let old = if current == outcome {
            outcome
        } else {
            slot.swap(outcome, Ordering::Relaxed)
        };
        let delta = packed(outcome).wrapping_sub(packed(old));
        let counts = if delta == 0 {
            unpack(self.agg.load(Ordering::Relaxed))
        } else {
            unpack(
                self.agg
                    .fetch_add(delta, Ordering::Relaxed)
                    .wrapping_add(delta),
            )
        };
        if outcome == CALL && !(old == 0 && counts.calls == decide_at) {
            return None;
        }
        Some(counts)
    }

    pub(crate) fn counts(&self) -> Counts {
        unpack(self.agg.load(Ordering::Relaxed))
    }

    /// Empties every slot, keeping the packed word equal to the sum of the slots even
    /// against concurrent (stale) recordings.
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

    #[inline(never)]
    fn record_out_of_line(&self, outcome: u8, now: u64) -> Counts {
        self.record(outcome, now)
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
    #[inline(always)]
    pub(crate) fn record(&self, outcome: u8, now: u64, decide_at: u64) -> Option<Counts> {
        match self {
            Window::Count(w) => w.record(outcome, decide_at),
            Window::Time(w) => Some(w.record_out_of_line(outcome, now)),
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

    proptest::proptest! {
        /// A time window against a list of every recorded call: with time moving forwards,
        /// its counts are exactly the calls whose bucket lies in the window.
        #[test]
        fn time_window_matches_a_list_of_calls(
            buckets in 1u32..8,
            bucket_nanos in 1u64..50,
            steps in proptest::collection::vec((0u64..120, 0u8..8), 1..200),
        ) {
            let w = TimeWindow::new(bucket_nanos * u64::from(buckets), buckets);
            let width = w.bucket_nanos;
            let mut now = 0u64;
            let mut calls: Vec<(u64, u8)> = Vec::new();
            for (advance, bits) in steps {
                now += advance;
                let outcome = CALL | (bits & (FAILED | SLOW));
                let seen = w.record(outcome, now);
                calls.push((now / width, outcome));
                let epoch = now / width;
                let oldest = epoch.saturating_sub(u64::from(buckets) - 1);
                let live = calls.iter().filter(|(e, _)| *e >= oldest && *e <= epoch);
                let want = live.fold(Counts::default(), |mut c, (_, o)| {
                    c.calls += 1;
                    c.failures += u64::from(o & FAILED != 0);
                    c.slow += u64::from(o & SLOW != 0);
                    c
                });
                proptest::prop_assert_eq!(seen, want);
                proptest::prop_assert_eq!(w.counts(now), want);
            }
        }

        /// A count window against a list: its counts are exactly the last N outcomes.
        #[test]
        fn count_window_matches_a_list_of_calls(
            size in 1u32..16,
            outcomes in proptest::collection::vec(0u8..8, 1..200),
        ) {
            let w = CountWindow::new(size);
            let mut all: Vec<u8> = Vec::new();
            for bits in outcomes {
                let outcome = CALL | (bits & (FAILED | SLOW));
                w.record(outcome, 0);
                all.push(outcome);
                let start = all.len().saturating_sub(size as usize);
                let last = all.get(start..).unwrap_or_default();
                let want = Counts {
                    calls: last.len() as u64,
                    failures: last.iter().filter(|o| *o & FAILED != 0).count() as u64,
                    slow: last.iter().filter(|o| *o & SLOW != 0).count() as u64,
                };
                proptest::prop_assert_eq!(w.counts(), want);
            }
        }
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

    /// What the slots hold, counted one by one.
    fn slot_sum(w: &CountWindow) -> Counts {
        let mut c = Counts::default();
        for slot in w.slots.iter() {
            let v = slot.load(Ordering::Relaxed);
            c.calls += u64::from(v != 0);
            c.failures += u64::from(v & FAILED != 0);
            c.slow += u64::from(v & SLOW != 0);
        }
        c
    }

    /// Two threads racing on the cursor of a 2-slot ring, one of them recording twice (so the
    /// ring wraps): once they are done the packed word equals the slots' contents.
    #[test]
    fn racing_cursor_never_lets_the_counts_drift() {
        loom::model(|| {
            let w = Arc::new(CountWindow::new(2));
            w.record(CALL | FAILED, 0);
            let w2 = Arc::clone(&w);
            let t = thread::spawn(move || {
                w2.record(CALL | SLOW, 0);
            });
            w.record(CALL, 0);
            w.record(CALL | FAILED, 0);
            t.join().unwrap();
            assert_eq!(w.counts(), slot_sum(&w));
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
            assert_eq!(end, slot_sum(&w));
            assert!(
                end.calls <= 1 && end.failures == 0,
                "{end:?} next={} slots={:?}",
                w.next.load(Ordering::Relaxed),
                w.slots
                    .iter()
                    .map(|s| s.load(Ordering::Relaxed))
                    .collect::<Vec<_>>()
            );
        });
    }
}
