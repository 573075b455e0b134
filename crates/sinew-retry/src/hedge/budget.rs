//! The hedge's own budget: every request deposits `max_extra_load` of a hedge, every hedge
//! withdraws one, and deposits expire with the window.
//!
//! Deposits and withdrawals are counted per sub-window (see [`super::window`]). A hedge is
//! allowed when, counting the live sub-windows and this hedge,
//! `withdrawals + 1 <= max_extra_load * deposits`; the current sub-window's withdrawal count
//! moves by compare-exchange from the value that check read, so two threads cannot both
//! spend the last hedge.
//!
//! **The bound.** At every successful [`Budget::try_withdraw`] at time `t`, the hedges counted
//! in the live sub-windows (those starting after `t - W`) are at most `max_extra_load` times
//! the requests counted in them. So over any interval of length at most `W * 7/8` (which the
//! live sub-windows of its last hedge always cover), the hedges sent are at most
//! `max_extra_load` times the requests started in the `W` before that last hedge. Samples
//! dropped at a sub-window boundary (see [`Tag::claim`]) are deposits lost or withdrawals
//! refused: both only tighten the bound.

use std::time::Duration;

use super::window::{SUB_WINDOWS, Tag, Windows};
use crate::sync::{AtomicU64, Ordering};

#[derive(Debug)]
struct Slot {
    tag: Tag,
    deposits: AtomicU64,
    withdrawals: AtomicU64,
}

impl Slot {
    fn clear(&self) {
        self.deposits.store(0, Ordering::Relaxed);
        self.withdrawals.store(0, Ordering::Relaxed);
    }
}

/// A lock-free windowed hedge budget.
#[derive(Debug)]
pub(crate) struct Budget {
    windows: Windows,
    ratio: f64,
    slots: [Slot; SUB_WINDOWS],
}

impl Budget {
    /// `ratio` in `[0, 1]` and `window` of at least [`SUB_WINDOWS`] ns (the builder checks).
    pub(crate) fn new(window: Duration, ratio: f64) -> Budget {
        Budget {
            windows: Windows::new(window),
            ratio,
            slots: std::array::from_fn(|_| Slot {
                tag: Tag::new(),
                deposits: AtomicU64::new(0),
                withdrawals: AtomicU64::new(0),
            }),
        }
    }

    /// The current slot, rotated into `now_nanos`'s epoch; `None` when this reading is stale
    /// or another thread is clearing the slot.
    #[inline]
    fn current(&self, now_nanos: u64) -> Option<(&Slot, u64)> {
        let epoch = self.windows.epoch(now_nanos);
        let slot = self.slots.get(Windows::slot(epoch))?;
        slot.tag
            .claim(epoch, || slot.clear())
            .then_some((slot, epoch))
    }

    /// Counts one request.
    #[inline]
    pub(crate) fn deposit(&self, now_nanos: u64) {
        if let Some((slot, _)) = self.current(now_nanos) {
            slot.deposits.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Deposits and withdrawals in the live slots other than `skip` (an index).
    fn sums(&self, epoch: u64, skip: Option<usize>) -> (u64, u64) {
        let (mut deposits, mut withdrawals) = (0u64, 0u64);
        for (i, slot) in self.slots.iter().enumerate() {
            if Some(i) == skip || !Windows::is_live(slot.tag.load(), epoch) {
                continue;
            }
            deposits = deposits.saturating_add(slot.deposits.load(Ordering::Acquire));
            withdrawals = withdrawals.saturating_add(slot.withdrawals.load(Ordering::Acquire));
        }
        (deposits, withdrawals)
    }

    /// Spends one hedge if the budget has it.
    pub(crate) fn try_withdraw(&self, now_nanos: u64) -> bool {
        let Some((slot, epoch)) = self.current(now_nanos) else {
            return false;
        };
        let index = Windows::slot(epoch);
        let mut mine = slot.withdrawals.load(Ordering::Acquire);
        loop {
            let (other_deposits, other_withdrawals) = self.sums(epoch, Some(index));
            let deposits = other_deposits.saturating_add(slot.deposits.load(Ordering::Acquire));
            let spent = other_withdrawals.saturating_add(mine).saturating_add(1);
            if spent as f64 > self.ratio * deposits as f64 {
                return false;
            }
            match slot.withdrawals.compare_exchange_weak(
                mine,
                mine + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(seen) => mine = seen,
            }
        }
    }

    /// Hedges available at `now_nanos` (a reading; others may spend them first).
    // `as u64` of a non-negative finite f64 saturates, never wraps.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub(crate) fn balance(&self, now_nanos: u64) -> u64 {
        let (deposits, withdrawals) = self.sums(self.windows.epoch(now_nanos), None);
        ((self.ratio * deposits as f64).floor() as u64).saturating_sub(withdrawals)
    }
}

#[cfg(all(test, not(sinew_loom)))]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;
    const T0: u64 = 1_700_000_000 * SEC;

    #[test]
    fn five_percent_of_requests() {
        let b = Budget::new(Duration::from_secs(8), 0.05);
        assert!(!b.try_withdraw(T0), "nothing deposited");
        for _ in 0..100 {
            b.deposit(T0);
        }
        assert_eq!(b.balance(T0), 5);
        let granted = (0..10).filter(|_| b.try_withdraw(T0)).count();
        assert_eq!(granted, 5);
        assert_eq!(b.balance(T0), 0);
        // Twenty more requests earn one more hedge.
        for _ in 0..20 {
            b.deposit(T0 + SEC);
        }
        assert!(b.try_withdraw(T0 + SEC));
        assert!(!b.try_withdraw(T0 + SEC));
    }

    #[test]
    fn deposits_expire_with_the_window() {
        let b = Budget::new(Duration::from_secs(8), 0.5);
        for _ in 0..10 {
            b.deposit(T0);
        }
        assert_eq!(b.balance(T0 + 7 * SEC), 5);
        assert_eq!(b.balance(T0 + 8 * SEC), 0);
        assert!(!b.try_withdraw(T0 + 8 * SEC));
        // Spent hedges expire too: a fresh window starts from its own deposits.
        for _ in 0..4 {
            b.deposit(T0 + 8 * SEC);
        }
        assert!(b.try_withdraw(T0 + 8 * SEC));
        assert!(b.try_withdraw(T0 + 8 * SEC));
        assert!(!b.try_withdraw(T0 + 8 * SEC));
        assert_eq!(b.balance(T0 + 20 * SEC), 0);
    }

    #[test]
    fn zero_ratio_never_hedges() {
        let b = Budget::new(Duration::from_secs(8), 0.0);
        for _ in 0..1_000 {
            b.deposit(T0);
        }
        assert!(!b.try_withdraw(T0));
    }
}

/// The budget's bound under concurrency: `RUSTFLAGS="--cfg sinew_loom" cargo test --release
/// -p sinew-retry hedge_budget`.
#[cfg(all(test, sinew_loom))]
mod loom_models {
    use super::*;
    use std::sync::Arc;

    const T0: u64 = 1_700_000_000 * 1_000_000_000;

    /// Two threads race for the one hedge that ten deposits at 0.1 buy; a third deposits
    /// meanwhile (which can buy at most one more). Never more hedges than the deposits allow.
    #[test]
    fn hedge_budget_never_overspends() {
        loom::model(|| {
            let b = Arc::new(Budget::new(Duration::from_secs(8), 0.1));
            for _ in 0..9 {
                b.deposit(T0);
            }
            let spenders: Vec<_> = (0..2)
                .map(|_| {
                    let b = Arc::clone(&b);
                    loom::thread::spawn(move || u64::from(b.try_withdraw(T0)))
                })
                .collect();
            b.deposit(T0);
            let granted: u64 = spenders.into_iter().map(|t| t.join().unwrap_or(0)).sum();
            assert!(granted <= 1, "{granted} hedges for 10 deposits at 0.1");
            assert_eq!(b.balance(T0), 1 - granted);
        });
    }
}
