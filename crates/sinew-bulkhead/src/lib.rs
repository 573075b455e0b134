//! Bulkheads and adaptive concurrency limits: backpressure that keeps goodput at capacity.
//!
//! (Overview, examples, crate features and guarantees: written as the crate fills in.)
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod error;
pub mod limit;
mod sync;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

// The README's code blocks, run as doctests, so the snippets crates.io shows cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

// The "Adaptive limits" README section, kept apart until it is merged into README.md.
#[cfg(doctest)]
#[doc = include_str!("../ADAPTIVE.md")]
mod adaptive_readme {}

pub use error::{ConfigError, Rejected, ServiceError};
pub use limit::{
    AdaptiveLimit, AdaptivePermit, Aimd, Gradient2, LimitAlgorithm, LimitMetrics, Outcome,
    OwnedAdaptivePermit, Partitioned, Sample, Vegas,
};

/// The clocks, from sinew-clock: every timed type here takes one, so tests drive time by hand.
pub use sinew_clock::{Clock, ManualClock, SystemClock};
