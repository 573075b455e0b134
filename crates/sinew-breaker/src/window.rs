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
//!   A success into a *clean* window (full, and every slot a plain success: the packed word
//!   reads exactly `N` calls, no failure, no slow call) does less still: it loads the packed
//!   word and returns, without claiming a slot. That is exact, not an approximation: the
//!   window is the sequence of the last N outcomes, and a success evicting the oldest of N
//!   equal successes leaves that sequence as it was; the cursor only says where the sequence
//!   starts in the ring, which no count can see while every slot is equal. Such a success
//!   takes effect at its load (its linearization point): a failure whose slot is already
//!   claimed but not yet added to the packed word takes effect at its `fetch_add` on the
//!   packed word, so it is ordered after the success, and a window with any failure or slow
//!   call in it is never clean, so every success that must age an outcome out claims a slot.
//!   The point is threads sharing a breaker: a healthy dependency's calls then write no
//!   shared line at all (the cursor's `fetch_add` bounced its cache line between cores on
//!   every call), and one thread saves the locked instruction too.
//!
//!   The guarantee, unchanged by the shortcut: recordings that do not overlap in time leave
//!   exactly the counts of the last N outcomes; recordings that overlap take effect in some
//!   order that keeps each thread's own order (a thread's success after its own failure
//!   sees the failure in the packed word and claims a slot). The loom model
//!   `clean_window_success_is_exact` checks that a failure is aged out by the N successes
//!   that follow it, whichever side of it a concurrent shortcut falls; it also found that the
//!   cursor's `fetch_add` must be `AcqRel` (see [`CountWindow::record`]).
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
//! - Time window (last T): B buckets of T/B each, keyed by epoch (time / bucket length).
//!   Each bucket holds three counters (calls, failures, slow calls), and each counter word
//!   carries the epoch it counts (see [`COUNT_BITS`]). Recording is one compare-exchange per
//!   counter it touches: a word of the same epoch is incremented, a word of an older epoch is
//!   restarted at 1 for the new one (the bucket's recycling, in the same instruction), and a
//!   word of a newer epoch is left alone (the recorder's clock reading is stale: buckets never
//!   go back in time). Nothing is ever subtracted below what a word holds, so no count can
//!   wrap, and a clear is a store of 0 into each word. A decision sums the words of the B
//!   buckets whose epoch is in the window.
//!
//! Both windows take a recording back when the breaker's state word changed while it was
//! written (see [`CountWindow::record`]), so an outcome of a generation before a transition
//! never counts after it, even against the clear that the transition does.

use crate::sync::{AtomicU8, AtomicU64, Ordering, fence};

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

    /// The packed word of a clean window: every slot a plain success.
    #[inline]
    fn clean(&self) -> u64 {
        packed(CALL) * self.capacity()
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
    ///
    /// `current` is asked after a recording that changed the window: when it says the outcome
    /// no longer belongs to the breaker's generation (a transition happened since the caller
    /// checked), the outcome is taken back out of its slot and `None` returned. Together with
    /// [`clear`](Self::clear) running after the transition's compare-exchange, every stale
    /// outcome is removed, by the clear or by its recorder. This is the store-buffering
    /// pattern (write the window, read the state / write the state, read the window), so each
    /// side has a `SeqCst` fence between its write and its read: if the recorder's read misses
    /// the transition, the clear sees the recorder's write. (A fence rather than `SeqCst`
    /// accesses: loom checks fences, not `SeqCst` loads; see the loom model
    /// `stale_recording_racing_a_clear`.) It costs a fence on recordings that change the
    /// window, never on a success replacing a success.
    #[inline(always)]
    pub(crate) fn record(
        &self,
        outcome: u8,
        decide_at: u64,
        current: impl Fn() -> bool,
    ) -> Option<Counts> {
        if outcome == CALL && self.agg.load(Ordering::Relaxed) == self.clean() {
            return None; // a success into a clean window: nothing changes (see the module docs)
        }
        // `AcqRel`, not `Relaxed`: the cursor's `fetch_add`s form one release sequence, so a
        // claimer sees every outcome written before any earlier claim, and a success that
        // finds a success in its slot is not reading a stale one while the outcome that
        // replaced it (written, then its recorder claimed again) stays a lap too long. The
        // same instruction on x86-64 (a locked add is a full barrier); the loom model
        // `clean_window_success_is_exact` fails with `Relaxed`.
        let i = self.next.fetch_add(1, Ordering::AcqRel);
        let slot = self.slots.get(self.slot_of(i))?;
        let seen = slot.load(Ordering::Relaxed);
        if seen == outcome && outcome == CALL {
            return None; // a success replacing a success: nothing changes
        }
        let old = if seen == outcome {
            outcome
        } else {
            slot.swap(outcome, Ordering::Relaxed)
        };
        let delta = packed(outcome).wrapping_sub(packed(old));
        let counts = if delta == 0 {
            unpack(self.agg.load(Ordering::Relaxed))
        } else {
            let counts = unpack(
                self.agg
                    .fetch_add(delta, Ordering::Relaxed)
                    .wrapping_add(delta),
            );
            fence(Ordering::SeqCst);
            if !current() {
                self.take_back(slot, outcome);
                return None;
            }
            counts
        };
        if outcome == CALL && !(old == 0 && counts.calls == decide_at) {
            return None;
        }
        Some(counts)
    }

    /// Empties `slot` if it still holds this recorder's `outcome`. If it does not, whoever
    /// replaced the outcome (a clear, or a later recording) already took it out of the packed
    /// word. The outcome this recording evicted is not put back: it may be of the generation
    /// before the transition too, and a stale outcome must never count. (If a later recording
    /// wrote an equal outcome into the slot after a clear, that one is removed instead: a
    /// fresh outcome may be lost, never a stale one kept.)
    #[cold]
    fn take_back(&self, slot: &AtomicU8, outcome: u8) {
        if slot
            .compare_exchange(outcome, 0, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.agg
                .fetch_add(packed(outcome).wrapping_neg(), Ordering::Relaxed);
        }
    }

    pub(crate) fn counts(&self) -> Counts {
        unpack(self.agg.load(Ordering::Relaxed))
    }

    /// Empties every slot, keeping the packed word equal to the sum of the slots even
    /// against concurrent (stale) recordings.
    /// Starts with the `SeqCst` fence that pairs with [`record`](Self::record)'s: call it after
    /// the transition's compare-exchange.
    pub(crate) fn clear(&self) {
        fence(Ordering::SeqCst);
        for slot in self.slots.iter() {
            let old = slot.swap(0, Ordering::Relaxed);
            if old != 0 {
                self.agg
                    .fetch_add(packed(old).wrapping_neg(), Ordering::Relaxed);
            }
        }
    }
}

/// A time-window counter word: a stamp (a valid bit and the low [`EPOCH_BITS`] of the epoch
/// whose calls it counts) above a count of [`COUNT_BITS`] bits; 0 is an empty word. Each
/// word says by itself which epoch it belongs to, so there is no separate tag to keep in step
/// with the counts: a recording moves a word to its epoch and adds in one compare-exchange,
/// a word only ever moves forward in time, and no count is ever subtracted below what it
/// holds (nothing can wrap).
///
/// Widths: a count saturates at 2^32 - 1 calls per bucket; epochs are compared modulo 2^31
/// (with 1 ms buckets, about 24 days), so a word untouched for a multiple of that span could
/// be read as current again, and a recording stalled for half of it as newer.
const COUNT_BITS: u32 = 32;
const COUNT_MAX: u64 = (1 << COUNT_BITS) - 1;
const EPOCH_BITS: u32 = 31;
const EPOCH_MASK: u64 = (1 << EPOCH_BITS) - 1;
const VALID: u64 = 1 << (COUNT_BITS + EPOCH_BITS);

/// The stamp of `epoch`, as it sits in a word.
#[inline]
const fn stamp(epoch: u64) -> u64 {
    VALID | (epoch & EPOCH_MASK) << COUNT_BITS
}

/// How many epochs `word` lies behind `epoch` (wrapping in [`EPOCH_BITS`]): 0 for the same
/// epoch, more than `EPOCH_MASK / 2` for a word of a later epoch than `epoch`.
#[inline]
const fn age(word: u64, epoch: u64) -> u64 {
    epoch.wrapping_sub(word >> COUNT_BITS) & EPOCH_MASK
}

/// Adds `n` to `word` for `epoch`: a word of an older epoch (or an empty one) restarts at `n`
/// for `epoch`; a word of a newer epoch is left alone (the caller's clock reading is stale, and
/// a bucket never goes back in time). Returns whether `n` was added.
fn bump(word: &AtomicU64, epoch: u64, n: u64) -> bool {
    let mut cur = word.load(Ordering::Relaxed);
    loop {
        let new = if cur & VALID == 0 {
            stamp(epoch) | n
        } else {
            match age(cur, epoch) {
                0 => stamp(epoch) | ((cur & COUNT_MAX) + n).min(COUNT_MAX),
                a if a <= EPOCH_MASK / 2 => stamp(epoch) | n,
                _ => return false,
            }
        };
        match word.compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(actual) => cur = actual,
        }
    }
}

/// Takes back `n` that [`bump`] added for `epoch`, if the word still counts `epoch` (never
/// below zero; a word cleared or moved on since has nothing of it left).
fn unbump(word: &AtomicU64, epoch: u64, n: u64) {
    let mut cur = word.load(Ordering::Relaxed);
    while cur & VALID != 0 && age(cur, epoch) == 0 && cur & COUNT_MAX != 0 {
        let new = cur - n.min(cur & COUNT_MAX);
        match word.compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => cur = actual,
        }
    }
}

/// The count `word` holds for the window of `span` epochs ending at `epoch`.
#[inline]
fn live(word: &AtomicU64, epoch: u64, span: u64) -> u64 {
    let w = word.load(Ordering::Acquire);
    if w & VALID != 0 && age(w, epoch) < span {
        w & COUNT_MAX
    } else {
        0
    }
}

#[derive(Debug, Default)]
struct Bucket {
    calls: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
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
    ///
    /// A recording whose `now` is older than what its bucket already holds (a thread that read
    /// the clock, then stalled for a whole window) records nothing: buckets never go back in
    /// time. `current` is asked after the counters are written: if the outcome no longer
    /// belongs to the breaker's generation (a transition, which clears the window, happened
    /// meanwhile) the recording is taken back and `None` returned.
    pub(crate) fn record(
        &self,
        outcome: u8,
        now: u64,
        current: impl Fn() -> bool,
    ) -> Option<Counts> {
        let epoch = now / self.bucket_nanos;
        let b = self.bucket(epoch)?;
        if bump(&b.calls, epoch, 1) {
            let failed = outcome & FAILED != 0 && bump(&b.failures, epoch, 1);
            let slow = outcome & SLOW != 0 && bump(&b.slow, epoch, 1);
            fence(Ordering::SeqCst); // see `CountWindow::record`
            if !current() {
                if slow {
                    unbump(&b.slow, epoch, 1);
                }
                if failed {
                    unbump(&b.failures, epoch, 1);
                }
                unbump(&b.calls, epoch, 1);
                return None;
            }
        }
        Some(self.counts(now))
    }

    #[inline(never)]
    fn record_out_of_line(
        &self,
        outcome: u8,
        now: u64,
        current: impl Fn() -> bool,
    ) -> Option<Counts> {
        self.record(outcome, now, current)
    }

    /// The sum of the buckets whose epoch lies in the window ending at `now`. Each bucket's
    /// failures and slow calls are capped at its calls, so a sum read while a recording is
    /// half written is still a possible window.
    pub(crate) fn counts(&self, now: u64) -> Counts {
        let epoch = now / self.bucket_nanos;
        let span = self.len();
        let mut c = Counts::default();
        for b in self.buckets.iter() {
            let calls = live(&b.calls, epoch, span);
            c.calls = c.calls.saturating_add(calls);
            c.failures = c
                .failures
                .saturating_add(live(&b.failures, epoch, span).min(calls));
            c.slow = c.slow.saturating_add(live(&b.slow, epoch, span).min(calls));
        }
        c
    }

    /// Empties every bucket. A recording racing the clear either lands before it (and is
    /// cleared) or after it (and is taken back by its own `current` check, when it belongs to
    /// the generation before the clear).
    pub(crate) fn clear(&self) {
        fence(Ordering::SeqCst); // see `CountWindow::clear`
        for b in self.buckets.iter() {
            b.calls.store(0, Ordering::Relaxed);
            b.failures.store(0, Ordering::Relaxed);
            b.slow.store(0, Ordering::Relaxed);
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
    /// change or the outcome turned out stale (see [`CountWindow::record`]).
    #[inline(always)]
    pub(crate) fn record(
        &self,
        outcome: u8,
        now: u64,
        decide_at: u64,
        current: impl Fn() -> bool,
    ) -> Option<Counts> {
        match self {
            Window::Count(w) => w.record(outcome, decide_at, current),
            Window::Time(w) => w.record_out_of_line(outcome, now, current),
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
        let seen = w.record(outcome, 0, || true);
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
        assert_eq!(w.record(CALL, 2, || true), None);
        assert_eq!(w.record(CALL, 2, || true).map(|c| c.calls), Some(2));
        // The window stays at 2 calls, but a success no longer decides anything.
        assert_eq!(w.record(CALL, 2, || true), None);
        assert_eq!(w.record(CALL, 2, || true), None);
        // A success evicting a failure lowers the rate: no decision either.
        assert!(w.record(CALL | FAILED, 2, || true).is_some());
        assert_eq!(w.record(CALL, 2, || true), None);
        assert_eq!(w.record(CALL, 2, || true), None);
        assert_eq!(
            w.counts(),
            Counts {
                calls: 2,
                failures: 0,
                slow: 0
            }
        );
        assert!(w.record(CALL | FAILED, 2, || true).is_some());
        assert!(w.record(CALL | SLOW, 2, || true).is_some());
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
        w.record(CALL | FAILED, 50, || true);
        w.record(CALL, 150, || true);
        assert_eq!(w.counts(999).calls, 2);
        assert_eq!(w.counts(1_050).calls, 1, "bucket 0 left the window");
        assert_eq!(w.counts(2_000).calls, 0);
        // Recycling bucket 0 for epoch 10 drops epoch 0's failure.
        let c = w.record(CALL, 1_000, || true).unwrap();
        assert_eq!((c.calls, c.failures), (2, 0));
        // A clock read from before epoch 10 does not see it.
        assert_eq!(w.counts(150).calls, 1);
        w.clear();
        assert_eq!(w.counts(1_000), Counts::default());
    }

    /// A recorder holding a clock reading from a whole window ago (same bucket, older epoch)
    /// must not rewind the bucket: the current epoch's calls stay, the stale call is dropped.
    #[test]
    fn a_stale_recording_never_rewinds_a_bucket() {
        // 2 buckets of 100 ns: epochs 0 and 2 share bucket 0.
        let w = TimeWindow::new(200, 2);
        w.record(CALL | FAILED, 250, || true); // epoch 2
        let seen = w.record(CALL, 50, || true); // epoch 0, read before the one above
        assert_eq!(
            seen.map(|c| c.calls),
            Some(0),
            "epoch 0's window holds nothing of it"
        );
        let now = w.counts(250);
        assert_eq!((now.calls, now.failures), (1, 1), "epoch 2 kept its call");
        // Epochs only move forward: the next window's bucket 0 (epoch 4) restarts.
        w.record(CALL, 450, || true);
        assert_eq!(w.counts(450).calls, 1);
    }

    /// A recording whose `current` check fails is taken back, in both windows.
    #[test]
    fn a_recording_that_turns_out_stale_is_taken_back() {
        let t = TimeWindow::new(1_000, 10);
        t.record(CALL, 10, || true);
        assert_eq!(t.record(CALL | FAILED | SLOW, 20, || false), None);
        assert_eq!(
            t.counts(20),
            Counts {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
        let c = CountWindow::new(4);
        c.record(CALL | FAILED, 1, || true);
        assert_eq!(c.record(CALL | FAILED, 1, || false), None);
        assert_eq!(c.counts().calls, 1);
        assert_eq!(c.counts().failures, 1);
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
                let seen = w.record(outcome, now, || true);
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
                proptest::prop_assert_eq!(seen, Some(want));
                proptest::prop_assert_eq!(w.counts(now), want);
            }
        }

        /// A count window against a list: its counts are exactly the last N outcomes. Mostly
        /// plain successes, so the window is often clean (see the module docs) and the
        /// successes that skip the cursor are checked against the list too.
        #[test]
        fn count_window_matches_a_list_of_calls(
            size in 1u32..16,
            outcomes in proptest::collection::vec(
                proptest::prop_oneof![3 => proptest::strategy::Just(0u8), 1 => 0u8..8],
                1..300,
            ),
        ) {
            let w = CountWindow::new(size);
            let mut all: Vec<u8> = Vec::new();
            for bits in outcomes {
                let outcome = CALL | (bits & (FAILED | SLOW));
                w.record(outcome, 0, || true);
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
    //! Test code only (`cfg(all(test, sinew_loom))`): the `unwrap`s here are on
    //! `JoinHandle::join` and on values a model just asserted exist, and a failure must panic
    //! to fail the model. The library itself has no `unwrap` or `expect`.
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
            let t = thread::spawn(move || w2.record(CALL | FAILED, 0, || true));
            let mine = w.record(CALL | SLOW, 0, || true);
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
            w.record(CALL | FAILED, 0, || true);
            let w2 = Arc::clone(&w);
            let t = thread::spawn(move || {
                w2.record(CALL | SLOW, 0, || true);
            });
            w.record(CALL, 0, || true);
            w.record(CALL | FAILED, 0, || true);
            t.join().unwrap();
            assert_eq!(w.counts(), slot_sum(&w));
        });
    }

    /// The clean-window shortcut (a success into a window of N successes claims no slot)
    /// against the last-N rule. A 2-slot window of successes; one thread records a failure
    /// then a success, another a success (which may take the shortcut, before or while the
    /// failure is recorded). In every interleaving: the packed word equals the slots, the
    /// failure's decision saw the window of 2 calls with it, and one more success ages it
    /// out: its own thread followed it with a success, so with that one at least two
    /// successes followed it, whichever side of it the other success fell. A shortcut that
    /// skipped a success the failure needed to age out (one that read a stale clean word
    /// after the failure was counted) would leave it in the window.
    #[test]
    fn clean_window_success_is_exact() {
        loom::model(|| {
            let w = Arc::new(CountWindow::new(2));
            w.record(CALL, 2, || true);
            w.record(CALL, 2, || true);
            assert_eq!(w.agg.load(Ordering::Relaxed), w.clean());
            let w2 = Arc::clone(&w);
            let t = thread::spawn(move || {
                let seen = w2.record(CALL | FAILED, 2, || true);
                w2.record(CALL, 2, || true);
                seen
            });
            let mine = w.record(CALL, 2, || true);
            let failed = t.join().unwrap();
            assert_eq!(
                mine, None,
                "a plain success past the minimum decides nothing"
            );
            let seen = failed.unwrap();
            assert!(seen.plausible(2), "{seen:?}");
            assert_eq!((seen.calls, seen.failures, seen.slow), (2, 1, 0));
            let end = w.counts();
            assert_eq!(end, slot_sum(&w));
            assert_eq!(end.calls, 2);
            assert!(end.failures <= 1, "{end:?}");
            w.record(CALL, 2, || true);
            let aged = Counts {
                calls: 2,
                failures: 0,
                slow: 0,
            };
            assert_eq!(w.counts(), aged, "the failure outlived 2 successes");
        });
    }

    /// A recording racing a clear: the aggregate still equals the sum of the slots.
    #[test]
    fn clear_racing_a_recording_stays_consistent() {
        loom::model(|| {
            let w = Arc::new(CountWindow::new(2));
            w.record(CALL | FAILED, 0, || true);
            let w2 = Arc::clone(&w);
            let t = thread::spawn(move || {
                w2.record(CALL, 0, || true);
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

    /// The protocol that keeps stale outcomes out, on its own: a recorder of generation 0
    /// checks the generation, writes, and re-checks; a transition moves the generation to 1,
    /// then clears. In every interleaving the outcome ends up removed, by the clear or by
    /// its recorder, and the packed word equals the slots. (With the re-check answering
    /// `true` regardless, loom finds the interleaving where the outcome survives.)
    #[test]
    fn stale_recording_racing_a_clear() {
        loom::model(|| {
            let w = Arc::new(CountWindow::new(2));
            let generation = Arc::new(AtomicU64::new(0));
            let (w2, g2) = (Arc::clone(&w), Arc::clone(&generation));
            let t = thread::spawn(move || {
                if g2.load(Ordering::Acquire) == 0 {
                    w2.record(CALL | FAILED, 1, || g2.load(Ordering::Acquire) == 0);
                }
            });
            generation.store(1, Ordering::Release); // the transition's compare-exchange
            w.clear();
            t.join().unwrap();
            assert_eq!(w.counts(), slot_sum(&w));
            assert_eq!(w.counts(), Counts::default(), "a stale outcome survived");
        });
    }

    /// The same protocol on a time window.
    #[test]
    fn stale_time_recording_racing_a_clear() {
        loom::model(|| {
            let w = Arc::new(TimeWindow::new(200, 2));
            let generation = Arc::new(AtomicU64::new(0));
            let (w2, g2) = (Arc::clone(&w), Arc::clone(&generation));
            let t = thread::spawn(move || {
                if g2.load(Ordering::Acquire) == 0 {
                    w2.record(CALL | FAILED, 50, || g2.load(Ordering::Acquire) == 0);
                }
            });
            generation.store(1, Ordering::Release);
            w.clear();
            t.join().unwrap();
            assert_eq!(w.counts(50), Counts::default(), "a stale outcome survived");
        });
    }

    /// Recycling (a recording of a new epoch in a bucket holding an old one), a clear and a
    /// recording of the new epoch, all racing: no count ever wraps or exceeds what was
    /// recorded since, the old epoch's failure never reappears, and failures never exceed
    /// calls.
    #[test]
    fn time_window_recycle_clear_and_record() {
        loom::model(|| {
            // 2 buckets of 100 ns: epochs 0 and 2 share bucket 0.
            let w = Arc::new(TimeWindow::new(200, 2));
            w.record(CALL | FAILED | SLOW, 50, || true);
            let w2 = Arc::clone(&w);
            let recycler = thread::spawn(move || w2.record(CALL, 250, || true));
            let w3 = Arc::clone(&w);
            let clearer = thread::spawn(move || w3.clear());
            let mine = w.record(CALL, 260, || true);
            let theirs = recycler.join().unwrap();
            clearer.join().unwrap();
            for c in [mine, theirs, Some(w.counts(260))].into_iter().flatten() {
                assert!(c.calls <= 2, "{c:?}");
                assert_eq!((c.failures, c.slow), (0, 0), "{c:?}");
            }
            for b in w.buckets.iter() {
                for word in [&b.calls, &b.failures, &b.slow] {
                    assert!(word.load(Ordering::Relaxed) & COUNT_MAX <= 2);
                }
            }
        });
    }

    /// A recorder with a clock reading a whole window old races one with a current reading
    /// for the same bucket: the current call is always kept (buckets never go back in time).
    #[test]
    fn a_stale_recorder_never_rewinds_the_bucket() {
        loom::model(|| {
            let w = Arc::new(TimeWindow::new(200, 2));
            let w2 = Arc::clone(&w);
            let t = thread::spawn(move || {
                w2.record(CALL | FAILED, 50, || true); // epoch 0, bucket 0
            });
            w.record(CALL, 250, || true); // epoch 2, bucket 0
            t.join().unwrap();
            let c = w.counts(250);
            assert_eq!(c.calls, 1, "epoch 2's call was lost: {c:?}");
            assert!(c.failures <= c.calls, "{c:?}");
        });
    }
}
