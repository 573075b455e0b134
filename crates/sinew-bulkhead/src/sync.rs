//! The one place that names atomics, `Arc` and `Mutex`, so loom can replace what it models.

#[cfg(sinew_loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicU32, AtomicU64, Ordering},
};

#[cfg(not(sinew_loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicU32, AtomicU64, Ordering},
};

/// `try_lock`'s error, std's under loom too (loom returns std's types).
pub(crate) use std::sync::TryLockError;

/// std's `Arc` under loom too: it only keeps shared state alive (clones of a bulkhead or a
/// limit, owned permits, a waiter's node); no protocol of this crate goes through its
/// reference count, and every atomic the protocols use is loom's.
#[allow(unused_imports)]
pub(crate) use std::sync::Arc;

/// Locks `mutex`, recovering the data if another thread panicked while holding it: every
/// critical section in this crate leaves its data consistent at each step (no user code runs
/// under a lock), so a poisoned lock holds valid state.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A statistics counter behind `metrics()`: one relaxed `fetch_add` per count, exact,
/// wrapping at 2^64.
///
/// std's atomic under loom too, on purpose: no protocol reads a counter to decide anything,
/// so keeping them out of loom's model keeps the models small.
#[derive(Debug, Default)]
pub(crate) struct Counter(std::sync::atomic::AtomicU64);

impl Counter {
    /// Adds `n`.
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts one.
    #[inline]
    pub(crate) fn incr(&self) {
        self.add(1);
    }

    /// The count so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Keeps a hot atomic on a cache line of its own, so threads writing it (every admission and
/// release) do not slow down threads touching its neighbours, and the other way round.
/// 128 bytes: adjacent-line prefetching on x86-64 pulls lines in pairs.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}
