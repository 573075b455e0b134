//! Sub-windows that rotate as the clock moves: the latency sketch and the hedge budget both
//! forget what is older than their window this way, with atomics only.
//!
//! A window of length `W` is cut into [`SUB_WINDOWS`] sub-windows of `W / SUB_WINDOWS`, each
//! numbered by its *epoch* (`now / sub-window length`) and stored in slot `epoch %
//! SUB_WINDOWS`. The first writer of a new epoch into a slot zeroes what the slot held. A
//! reader at epoch `e` counts the slots tagged `e - SUB_WINDOWS + 1 ..= e`: data between
//! `W - W / SUB_WINDOWS` and `W` old, never older than `W`.

use std::time::Duration;

use crate::sync::{AtomicU64, Ordering};

/// Sub-windows per window: what is kept spans 7/8 to all of the window.
pub(crate) const SUB_WINDOWS: usize = 8;

/// A slot's tag while its counters are being zeroed for a new epoch; never a live epoch.
const CLEARING: u64 = u64::MAX;

/// The epoch arithmetic of one window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Windows {
    sub_nanos: u64,
}

impl Windows {
    /// `window` must hold at least one nanosecond per sub-window (builders check it).
    pub(crate) fn new(window: Duration) -> Windows {
        let nanos = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        Windows {
            sub_nanos: (nanos / SUB_WINDOWS as u64).max(1),
        }
    }

    /// The length of one sub-window, in nanoseconds.
    pub(crate) fn sub_nanos(&self) -> u64 {
        self.sub_nanos
    }

    /// The epoch of `now_nanos` (never [`CLEARING`]).
    #[inline]
    pub(crate) fn epoch(&self, now_nanos: u64) -> u64 {
        (now_nanos / self.sub_nanos).min(CLEARING - 1)
    }

    /// The slot that holds `epoch`.
    #[inline]
    #[allow(clippy::cast_possible_truncation)] // the remainder is below SUB_WINDOWS
    pub(crate) fn slot(epoch: u64) -> usize {
        (epoch % SUB_WINDOWS as u64) as usize
    }

    /// The time (ns) at which `epoch` ends.
    #[inline]
    pub(crate) fn end_of(&self, epoch: u64) -> u64 {
        epoch.saturating_add(1).saturating_mul(self.sub_nanos)
    }

    /// Whether a slot tagged `tag` is part of the window that ends in epoch `current`.
    /// A tag from the future (the clock moved back) is not, nor is a slot being cleared.
    #[inline]
    pub(crate) fn is_live(tag: u64, current: u64) -> bool {
        tag != CLEARING && tag <= current && current - tag < SUB_WINDOWS as u64
    }
}

/// The epoch tag of one slot.
#[derive(Debug)]
pub(crate) struct Tag(AtomicU64);

impl Tag {
    pub(crate) fn new() -> Tag {
        Tag(AtomicU64::new(0))
    }

    /// The slot's epoch (or the clearing marker, which [`Windows::is_live`] rejects).
    #[inline]
    pub(crate) fn load(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Makes the slot hold `epoch`, calling `clear` to zero its counters first when it held an
    /// older one. True when the slot holds `epoch` and may be added to; false when it holds a
    /// newer epoch (this caller's clock reading is stale) or another thread is clearing it:
    /// the caller then drops its sample, which costs the window one sample at a boundary.
    ///
    /// One thread wins the compare-exchange and clears; the `Release` store of the new epoch
    /// publishes the zeroed counters to every thread that then sees the epoch. An add made
    /// by a thread that read the old epoch just before the swap may land in the new epoch or
    /// be zeroed: the sketch is statistical, and the budget only errs towards refusing.
    #[inline]
    pub(crate) fn claim(&self, epoch: u64, clear: impl FnOnce()) -> bool {
        let seen = self.0.load(Ordering::Acquire);
        if seen == epoch {
            return true;
        }
        if seen == CLEARING || seen > epoch {
            return false;
        }
        if self
            .0
            .compare_exchange(seen, CLEARING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return self.0.load(Ordering::Acquire) == epoch;
        }
        clear();
        self.0.store(epoch, Ordering::Release);
        true
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;

    #[test]
    fn epochs_slots_and_liveness() {
        let w = Windows::new(Duration::from_secs(8));
        assert_eq!(w.sub_nanos(), 1_000_000_000);
        assert_eq!(w.epoch(2_500_000_000), 2);
        assert_eq!(Windows::slot(10), 2);
        assert_eq!(w.end_of(2), 3_000_000_000);
        assert!(Windows::is_live(3, 10));
        assert!(!Windows::is_live(2, 10), "eight epochs back is out");
        assert!(!Windows::is_live(11, 10), "a future tag is out");
        assert!(!Windows::is_live(CLEARING, 10));
        assert!(w.epoch(u64::MAX) < CLEARING);
    }

    #[test]
    fn claim_clears_once_and_refuses_stale_epochs() {
        let tag = Tag::new();
        let mut cleared = 0;
        assert!(tag.claim(0, || cleared += 1));
        assert_eq!(cleared, 0, "already on epoch 0");
        assert!(tag.claim(5, || cleared += 1));
        assert!(tag.claim(5, || cleared += 1));
        assert_eq!(cleared, 1);
        assert!(!tag.claim(4, || cleared += 1), "an older epoch is refused");
        assert_eq!(tag.load(), 5);
    }
}
