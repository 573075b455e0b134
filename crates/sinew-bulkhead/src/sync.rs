//! The one place that names atomics, `Arc` and `Mutex`, so loom can replace what it models.

#[cfg(sinew_loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering},
};

#[cfg(not(sinew_loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering},
};

/// `try_lock`'s error, std's under loom too (loom returns std's types).
pub(crate) use std::sync::TryLockError;

/// std's `Arc` under loom too: it only keeps shared state alive (the permits that hold one
/// are part of the public API); every atomic the admission protocol uses is loom's.
#[allow(unused_imports)]
pub(crate) use std::sync::Arc;

/// Keeps a hot atomic on a cache line of its own, so threads writing one (the sample
/// accumulator every completion adds to) do not slow down threads reading another (the limit
/// and in-flight count every admission loads). 128 bytes: adjacent-line prefetching on x86-64
/// pulls lines in pairs.
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
