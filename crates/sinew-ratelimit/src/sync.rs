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
