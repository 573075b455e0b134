//! The one place that names atomics, `Arc` and `Mutex`, so loom can replace what it models.

#[cfg(sinew_loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};

#[cfg(not(sinew_loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};

#[allow(unused_imports)]
pub(crate) use std::sync::Arc;
