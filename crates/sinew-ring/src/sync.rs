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
