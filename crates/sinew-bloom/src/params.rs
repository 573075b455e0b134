//! [`Params`]: a filter's size as a configuration file states it.

use crate::error::ConfigError;
use crate::filter::Filter;

/// How big a filter should be, as plain data a configuration can hold (and, with the `serde`
/// feature, read and write), turned into any filter by [`build`](Self::build).
///
/// Nothing is checked until `build`, which runs the same checks as the constructors, so a bad
/// value read from a file is a [`ConfigError`] there, never a filter that misbehaves.
///
/// ```
/// use sinew_bloom::{BlockedBloomFilter, Params};
///
/// let params = Params::FalsePositiveRate { expected_items: 10_000, rate: 0.01 };
/// let mut f: BlockedBloomFilter = params.build()?;
/// f.insert("user:42");
/// assert!(f.contains("user:42"));
///
/// let bad = Params::FalsePositiveRate { expected_items: 10, rate: 1.5 };
/// assert!(bad.build::<BlockedBloomFilter>().is_err());
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// In JSON (feature `serde`): `{"false_positive_rate": {"expected_items": 10000, "rate":
/// 0.01}}` or `{"bits": {"bits": 95851, "hashes": 7}}`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case", deny_unknown_fields)
)]
#[non_exhaustive]
pub enum Params {
    /// Sized for `expected_items` at false-positive rate `rate`
    /// ([`Filter::with_false_positive_rate`]).
    FalsePositiveRate {
        /// The number of items the filter is sized for.
        expected_items: usize,
        /// The false-positive rate at that many items, strictly between 0 and 1.
        rate: f64,
    },
    /// `bits` bits and `hashes` hashes ([`Filter::with_num_bits`]).
    Bits {
        /// The number of bits (rounded up to the variant's unit).
        bits: u64,
        /// The number of hashes per item.
        hashes: u32,
    },
}

impl Params {
    /// An empty filter of these parameters.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] as the matching constructor returns it.
    pub fn build<F: Filter>(&self) -> Result<F, ConfigError> {
        match *self {
            Params::FalsePositiveRate {
                expected_items,
                rate,
            } => F::with_false_positive_rate(expected_items, rate),
            Params::Bits { bits, hashes } => F::with_num_bits(bits, hashes),
        }
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{BloomFilter, CountingBloomFilter};

    #[test]
    fn reads_from_json_and_checks_when_built() {
        let p: Params =
            serde_json::from_str(r#"{"false_positive_rate":{"expected_items":1000,"rate":0.01}}"#)
                .unwrap();
        let f: BloomFilter = p.build().unwrap();
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"false_positive_rate":{"expected_items":1000,"rate":0.01}}"#
        );
        assert!(f.bits() >= 9_000);
        let p: Params = serde_json::from_str(r#"{"bits":{"bits":0,"hashes":3}}"#).unwrap();
        assert!(p.build::<CountingBloomFilter>().is_err());
        assert!(
            serde_json::from_str::<Params>(r#"{"bits":{"bits":64,"hashes":3,"x":1}}"#).is_err()
        );
        assert!(serde_json::from_str::<Params>(r#"{"size":{"bits":64}}"#).is_err());
    }
}
