//! Every error of the crate. Builders return [`ConfigError`], each variant naming its setting.

use std::fmt;

/// A setting out of range, from a builder's `build`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {}

impl fmt::Display for ConfigError {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl std::error::Error for ConfigError {}
