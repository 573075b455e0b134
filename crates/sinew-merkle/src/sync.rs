//! The one place that names atomics and locks, so loom can replace them.

#[cfg(sinew_loom)]
pub(crate) use loom::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering},
};

#[cfg(not(sinew_loom))]
pub(crate) use std::sync::{
    Mutex,
    atomic::{AtomicU64, Ordering},
};
