//! The one place that names atomics, so loom can replace them.

#[cfg(sinew_loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};

#[cfg(not(sinew_loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
