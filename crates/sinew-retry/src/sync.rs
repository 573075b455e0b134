//! The one place that names atomics and `Arc`, so loom can replace what it models.

#[cfg(sinew_loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};

#[cfg(not(sinew_loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};

/// std's `Arc` under loom too: it only keeps shared state alive (clones share one budget or
/// hedge); no protocol goes through its reference count.
#[allow(unused_imports)]
pub(crate) use std::sync::Arc;
