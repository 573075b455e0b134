//! Every error of the crate. Builders return [`ConfigError`], each variant naming its setting.

use std::fmt;
use std::time::Duration;

/// A setting out of range, from a builder's `build`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The hedge's `percentile` is not in `(0, 1]` (or is NaN).
    HedgePercentile(f64),
    /// The hedge's `window` is shorter than 8 ns (one per sub-window) or longer than 100 years.
    HedgeWindow(Duration),
    /// The hedge's `max_extra_load` is not in `[0, 1]` (or is NaN).
    HedgeMaxExtraLoad(f64),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::HedgePercentile(p) => {
                write!(f, "hedge percentile must be in (0, 1], got {p}")
            }
            ConfigError::HedgeWindow(w) => {
                write!(
                    f,
                    "hedge window must be between 8 ns and 100 years, got {w:?}"
                )
            }
            ConfigError::HedgeMaxExtraLoad(l) => {
                write!(f, "hedge max_extra_load must be in [0, 1], got {l}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}
