//! The one place that names atomics and threads, so loom can replace them.

#[cfg(sinew_loom)]
pub(crate) use loom::{
    sync::atomic::{AtomicU64, Ordering},
    thread::yield_now,
};

#[cfg(not(sinew_loom))]
pub(crate) use std::{
    sync::atomic::{AtomicU64, Ordering},
    thread::yield_now,
};
