//! The one place that names atomics and threads, so loom can replace them.

#[cfg(sinew_loom)]
pub(crate) use loom::{
    hint::spin_loop,
    sync::atomic::{AtomicUsize, Ordering},
};

#[cfg(not(sinew_loom))]
pub(crate) use std::{
    hint::spin_loop,
    sync::atomic::{AtomicUsize, Ordering},
};

/// `Arc` for the owning load guard and for `Snapshot` (whose `arc-swap` needs std's): std's
/// under loom too (its count is not the protocol being modelled).
pub(crate) use std::sync::Arc;
