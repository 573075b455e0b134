//! Retries that cannot become a retry storm.
//!
//! (Overview, examples, crate features and guarantees: written as the crate fills in.)
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod error;
pub mod hedge;
mod sync;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

// The README's code blocks, run as doctests, so the snippets crates.io shows cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

pub use error::ConfigError;
pub use hedge::{Hedge, HedgeBuilder, HedgeMetrics};

/// The clocks, from sinew-clock: every timed type here takes one, so tests drive time by hand.
pub use sinew_clock::{Clock, ManualClock, SystemClock};
