//! The one place that names atomics and `Arc`, so loom can replace what it models.

#[cfg(sinew_loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64, Ordering, fence};

#[cfg(not(sinew_loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64, Ordering, fence};

/// std's `Arc` under loom too, on purpose: it is part of the public API
/// ([`try_acquire_owned`](crate::CircuitBreaker::try_acquire_owned) takes `self: &Arc<Self>`,
/// and only std's `Arc` can be a method receiver on stable Rust; the tower layer holds one),
/// and no protocol of this crate goes through its reference count, which only keeps the
/// breaker alive. Every atomic the breaker's protocols use is loom's under `sinew_loom`.
pub(crate) use std::sync::Arc;

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
