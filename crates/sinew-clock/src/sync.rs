//! The one place that names atomics, `Arc`, `OnceLock` and threads, so loom can replace them.

#[cfg(sinew_loom)]
pub(crate) use loom::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

#[cfg(not(sinew_loom))]
pub(crate) use std::sync::{
    Arc, Weak,
    atomic::{AtomicU64, Ordering},
};

// The process-wide time base is set once and never raced on in a way loom could model.
pub(crate) use std::sync::OnceLock;

// The cached clock's refresher is a real OS thread; loom models exercise the shared cell it
// writes, never the sleeping loop.
#[cfg(not(sinew_loom))]
pub(crate) use std::thread;
