//! The one place that names atomics, `Arc`, `OnceLock` and threads, so loom can replace them.

#[cfg(sinew_loom)]
pub(crate) use loom::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering, fence},
};

#[cfg(not(sinew_loom))]
pub(crate) use std::sync::{
    Arc, Weak,
    atomic::{AtomicBool, AtomicU64, Ordering, fence},
};

// The process-wide time base is set once and never raced on in a way loom could model.
pub(crate) use std::sync::OnceLock;

// The cached clock's refresher is a real OS thread; loom models exercise the shared cell it
// writes, never the sleeping loop.
#[cfg(not(sinew_loom))]
pub(crate) use std::thread;

/// One turn of a retry loop: a pause hint to the CPU, or a yield to loom's scheduler.
#[inline]
pub(crate) fn spin() {
    #[cfg(sinew_loom)]
    loom::thread::yield_now();
    #[cfg(not(sinew_loom))]
    std::hint::spin_loop();
}
