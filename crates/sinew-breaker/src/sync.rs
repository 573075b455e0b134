//! The one place that names atomics, so loom can replace them.

#[cfg(sinew_loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

#[cfg(not(sinew_loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

/// Keeps a hot atomic on a cache line of its own, so that threads writing one (the outcome
/// window) do not slow down threads reading another (the state word every admission loads).
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
