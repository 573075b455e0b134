//! Bulkheads and adaptive concurrency limits: backpressure that keeps goodput at capacity.
//!
//! (Overview, examples, crate features and guarantees: written as the crate fills in.)
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod error;
mod sync;

// The README's code blocks, run as doctests, so the snippets crates.io shows cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

pub use error::ConfigError;

/// The clocks, from sinew-clock: every timed type here takes one, so tests drive time by hand.
pub use sinew_clock::{Clock, ManualClock, SystemClock};
