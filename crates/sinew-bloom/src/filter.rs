//! The [`Filter`] trait: what every filter in this crate does, for generic code.

use std::hash::Hash;

use crate::error::{ConfigError, MergeError};

/// The operations every filter in this crate offers, for code generic over the variant.
///
/// Each filter also has these as inherent methods, so using one filter needs no trait import.
/// Items go in through generic methods (`T: Hash + ?Sized`), not a type parameter, so any
/// hashable item can be queried and a decoded filter needs no annotation.
///
/// ```
/// use sinew_bloom::{BlockedBloomFilter, BloomFilter, Filter};
///
/// fn load<F: Filter>(keys: &[&str]) -> Result<F, Box<dyn std::error::Error>> {
///     let mut f = F::with_false_positive_rate(keys.len(), 0.01)?;
///     for k in keys {
///         f.insert(*k);
///     }
///     Ok(f)
/// }
/// let classic: BloomFilter = load(&["a", "b"])?;
/// let blocked: BlockedBloomFilter = load(&["a", "b"])?;
/// assert!(classic.contains("a") && blocked.contains("b"));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Filter {
    /// A filter sized for `expected_items` at false-positive rate `fpr` (strictly between 0
    /// and 1). 0 expected items sizes it as for 1: the smallest filter.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `fpr` is outside (0, 1) or NaN, or the filter would be too large.
    fn with_false_positive_rate(expected_items: usize, fpr: f64) -> Result<Self, ConfigError>
    where
        Self: Sized;

    /// A filter of `bits` bits (rounded up to the variant's unit) and `hashes` hashes.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `bits` is 0 or too large, or `hashes` is out of the variant's range.
    fn with_num_bits(bits: u64, hashes: u32) -> Result<Self, ConfigError>
    where
        Self: Sized;

    /// Adds `item`; `true` if it was possibly absent before (some bit changed).
    fn insert<T: Hash + ?Sized>(&mut self, item: &T) -> bool;

    /// `false` if `item` was certainly never inserted; `true` if it probably was.
    fn contains<T: Hash + ?Sized>(&self, item: &T) -> bool;

    /// Adds an item by its 64-bit hash (which must be uniform over all 64 bits).
    fn insert_hash(&mut self, hash: u64) -> bool;

    /// Looks an item up by its 64-bit hash.
    fn contains_hash(&self, hash: u64) -> bool;

    /// An estimate of the number of distinct items inserted, from the fill.
    fn len_estimate(&self) -> u64;

    /// The false-positive rate the filter has now, estimated from its fill.
    fn false_positive_rate(&self) -> f64;

    /// Removes every item.
    fn clear(&mut self);

    /// Makes this filter contain everything either filter contains.
    ///
    /// # Errors
    ///
    /// [`MergeError`] if the filters differ in size, hash count or hasher.
    fn union(&mut self, other: &Self) -> Result<(), MergeError>;

    /// Makes this filter contain only what both contain (a superset of the true intersection
    /// may still answer "maybe").
    ///
    /// # Errors
    ///
    /// [`MergeError`] if the filters differ in size, hash count or hasher.
    fn intersect(&mut self, other: &Self) -> Result<(), MergeError>;

    /// The size in bits (in cells, for a counting filter).
    fn bits(&self) -> u64;

    /// The number of bits each item sets.
    fn hashes(&self) -> u32;
}

/// Checks that two filters can be merged.
pub(crate) fn compatible(
    (left_bits, left_hashes): (u64, u32),
    (right_bits, right_hashes): (u64, u32),
    same_hasher: bool,
) -> Result<(), MergeError> {
    if left_bits != right_bits {
        return Err(MergeError::Bits {
            left: left_bits,
            right: right_bits,
        });
    }
    if left_hashes != right_hashes {
        return Err(MergeError::Hashes {
            left: left_hashes,
            right: right_hashes,
        });
    }
    if !same_hasher {
        return Err(MergeError::Hasher);
    }
    Ok(())
}

/// Implements [`Filter`] for a type by forwarding to its inherent methods of the same names.
macro_rules! forward_filter {
    ([$($gen:tt)*] $ty:ty, where $($bound:tt)*) => {
        impl<$($gen)*> $crate::Filter for $ty where $($bound)* {
            fn with_false_positive_rate(
                expected_items: usize,
                fpr: f64,
            ) -> Result<Self, $crate::ConfigError> {
                Self::with_false_positive_rate_and_hasher(expected_items, fpr, S::default())
            }
            fn with_num_bits(bits: u64, hashes: u32) -> Result<Self, $crate::ConfigError> {
                Self::with_num_bits_and_hasher(bits, hashes, S::default())
            }
            fn insert<T: ::std::hash::Hash + ?Sized>(&mut self, item: &T) -> bool {
                <$ty>::insert(self, item)
            }
            fn contains<T: ::std::hash::Hash + ?Sized>(&self, item: &T) -> bool {
                <$ty>::contains(self, item)
            }
            fn insert_hash(&mut self, hash: u64) -> bool {
                <$ty>::insert_hash(self, hash)
            }
            fn contains_hash(&self, hash: u64) -> bool {
                <$ty>::contains_hash(self, hash)
            }
            fn len_estimate(&self) -> u64 {
                <$ty>::len_estimate(self)
            }
            fn false_positive_rate(&self) -> f64 {
                <$ty>::false_positive_rate(self)
            }
            fn clear(&mut self) {
                <$ty>::clear(self);
            }
            fn union(&mut self, other: &Self) -> Result<(), $crate::MergeError> {
                <$ty>::union(self, other)
            }
            fn intersect(&mut self, other: &Self) -> Result<(), $crate::MergeError> {
                <$ty>::intersect(self, other)
            }
            fn bits(&self) -> u64 {
                <$ty>::bits(self)
            }
            fn hashes(&self) -> u32 {
                <$ty>::hashes(self)
            }
        }
    };
}
pub(crate) use forward_filter;
