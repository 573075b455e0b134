//! The one place that names atomics, `Arc`, locks and threads, so loom can replace them.

use std::sync::TryLockError; // loom's `try_lock` reports std's error type too

#[cfg(all(sinew_loom, feature = "tower"))]
pub(crate) use loom::sync::Arc;
#[cfg(sinew_loom)]
pub(crate) use loom::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicU64, AtomicUsize, Ordering, fence},
};

#[cfg(all(not(sinew_loom), feature = "tower"))]
pub(crate) use std::sync::Arc;
#[cfg(not(sinew_loom))]
pub(crate) use std::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicU64, AtomicUsize, Ordering, fence},
};

/// Locks `mutex`, recovering the data if another thread panicked while holding it: every
/// critical section in this crate leaves its data consistent at each step, so a poisoned lock
/// holds valid state.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Locks `mutex` if no one holds it (recovering a poisoned lock as [`lock`] does), or `None`.
pub(crate) fn try_lock<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match mutex.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// A statistics counter behind `metrics()`: one relaxed `fetch_add` per count, exact (no
/// increment is lost), wrapping at 2^64.
///
/// std's atomic under loom too, on purpose: no protocol of this crate reads a counter to
/// decide anything, so loom has nothing to check in them, and keeping them out of its model
/// leaves the models' state space (and run time) as it was.
#[derive(Debug, Default)]
pub(crate) struct Counter(std::sync::atomic::AtomicU64);

impl Counter {
    /// Counts one.
    #[inline]
    pub(crate) fn incr(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Takes one back (wrapping), for a count that turned out not to stand.
    #[cfg(feature = "tower")]
    #[inline]
    pub(crate) fn decr(&self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The count so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The calling thread's stripe among `STRIPES` (a power of two): assigned round-robin on its
/// first count, then one thread-local read.
#[inline]
pub(crate) fn this_threads_stripe<const STRIPES: usize>() -> usize {
    std::thread_local! {
        static STRIPE: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    }
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    STRIPE
        .try_with(|s| {
            let mut i = s.get();
            if i == usize::MAX {
                i = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % STRIPES;
                s.set(i);
            }
            i
        })
        .unwrap_or(0)
}

/// A flag that only decides whether to emit a `tracing` event (never an admission), so, like
/// [`Counter`], std's atomic under loom too.
#[cfg(feature = "tracing")]
#[derive(Debug, Default)]
pub(crate) struct Flag(std::sync::atomic::AtomicBool);

#[cfg(feature = "tracing")]
impl Flag {
    /// Raises the flag; true if it was down.
    pub(crate) fn raise(&self) -> bool {
        !self.0.swap(true, std::sync::atomic::Ordering::Relaxed)
    }

    /// Lowers the flag.
    pub(crate) fn lower(&self) {
        self.0.store(false, std::sync::atomic::Ordering::Relaxed);
    }
}
