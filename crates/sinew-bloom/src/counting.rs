//! [`CountingBloomFilter`]: 4-bit saturating counters, so items can be removed.

use std::fmt;
use std::hash::{BuildHasher, Hash};

use crate::classic::Probes;
use crate::error::{ConfigError, DecodeError, MergeError};
use crate::filter::{compatible, forward_filter};
use crate::format::{Reader, Writer, variant};
use crate::hash::Xxh3Builder;
use crate::sizing::{self, MAX_HASHES};

/// The largest value a counter holds ([`CountingBloomFilter::COUNTER_MAX`]).
const COUNTER_MAX: u8 = 15;

/// A counting Bloom filter: each of `m` cells is a 4-bit counter instead of a bit, so an item
/// can be [`remove`](Self::remove)d. Probing is the classic filter's (same hasher, same
/// double hashing with a rotation); memory is 4 bits per cell.
///
/// - [`insert`](Self::insert) adds 1 to each of the item's `k` counters, stopping at 15.
/// - A counter at 15 is *saturated*: it has lost count, so it is never decremented again (a
///   decrement could make it reach 0 while items still hold it, and they would vanish).
/// - [`remove`](Self::remove) does nothing and returns `false` unless the item is present
///   (all its counters non-zero), so removing something never inserted and not a false
///   positive changes nothing. Removing a *false positive* decrements counters that belong
///   to other items and can make them vanish: that is inherent to counting filters, so remove
///   only what you inserted.
///
/// ```
/// use sinew_bloom::CountingBloomFilter;
///
/// let mut f = CountingBloomFilter::with_false_positive_rate(1000, 0.01)?;
/// f.insert("session-1");
/// f.insert("session-2");
/// assert!(f.remove("session-1"));
/// assert!(!f.contains("session-1"));
/// assert!(f.contains("session-2"));
/// assert!(!f.remove("never-seen")); // not present: nothing changes
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Serialized form
///
/// Variant 4 of the [format](crate#serialized-format): `cells` (u64), `hashes` (u32), then
/// `ceil(cells / 16)` words, cell `i` being bits `4(i % 16)..4(i % 16) + 4` of word `i / 16`;
/// nibbles past `cells` are zero.
#[derive(Clone, PartialEq, Eq)]
pub struct CountingBloomFilter<S = Xxh3Builder> {
    words: Vec<u64>,
    cells: u64,
    hashes: u32,
    hasher: S,
}

impl<S> fmt::Debug for CountingBloomFilter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountingBloomFilter")
            .field("cells", &self.cells)
            .field("hashes", &self.hashes)
            .finish_non_exhaustive()
    }
}

#[inline]
#[allow(clippy::cast_possible_truncation)] // cell / 16 < words.len(), a usize
const fn nibble(cell: u64) -> (usize, u32) {
    ((cell >> 4) as usize, ((cell & 15) * 4) as u32)
}

impl CountingBloomFilter {
    /// The largest filter this crate builds: 2^48 bits (32 TiB); larger sizes are a
    /// [`ConfigError`](crate::ConfigError).
    pub const MAX_BITS: u64 = crate::sizing::MAX_BITS;

    /// The largest value a counter holds; a counter that reaches it stays there.
    pub const COUNTER_MAX: u8 = COUNTER_MAX;

    /// A filter for `expected_items` at false-positive rate `fpr` (sized as the classic
    /// filter, one counter per bit), default hasher. 0 expected items sizes it as for 1.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `fpr` is outside (0, 1) or NaN, or the filter would be too large.
    pub fn with_false_positive_rate(expected_items: usize, fpr: f64) -> Result<Self, ConfigError> {
        Self::with_false_positive_rate_and_hasher(expected_items, fpr, Xxh3Builder::default())
    }

    /// A filter of `cells` 4-bit counters (the `bits` of the [`Filter`](crate::Filter)
    /// trait) and `hashes` hashes (1 to 64), default hasher.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `cells` is 0 or too large (4 bits each count against
    /// [`MAX_BITS`](Self::MAX_BITS)), or `hashes` is out of range.
    pub fn with_num_bits(cells: u64, hashes: u32) -> Result<Self, ConfigError> {
        Self::with_num_bits_and_hasher(cells, hashes, Xxh3Builder::default())
    }

    /// The seed of the default hasher.
    pub fn seed(&self) -> u64 {
        self.hasher.seed()
    }

    /// The filter in the crate's portable, versioned [format](crate#serialized-format).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(variant::COUNTING, self.seed(), 12 + self.words.len() * 8);
        w.sized_words(self.cells, self.hashes, &self.words);
        w.finish()
    }

    /// Reads a filter written by [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    ///
    /// [`DecodeError`] for anything but a well-formed counting filter; never panics, and
    /// allocates no more than the input's length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, variant::COUNTING)?;
        let (cells, hashes, words) = r.sized_words(4, MAX_HASHES)?;
        let hasher = Xxh3Builder::with_seed(r.seed());
        r.finish()?;
        Ok(CountingBloomFilter {
            words,
            cells,
            hashes,
            hasher,
        })
    }
}

impl<S: BuildHasher> CountingBloomFilter<S> {
    /// [`with_false_positive_rate`](CountingBloomFilter::with_false_positive_rate) with a
    /// hasher of your own.
    ///
    /// # Errors
    ///
    /// As [`with_false_positive_rate`](CountingBloomFilter::with_false_positive_rate).
    pub fn with_false_positive_rate_and_hasher(
        expected_items: usize,
        fpr: f64,
        hasher: S,
    ) -> Result<Self, ConfigError> {
        let (cells, hashes) = sizing::classic(expected_items, fpr)?;
        Self::with_num_bits_and_hasher(cells, hashes, hasher)
    }

    /// [`with_num_bits`](CountingBloomFilter::with_num_bits) with a hasher of your own.
    ///
    /// # Errors
    ///
    /// As [`with_num_bits`](CountingBloomFilter::with_num_bits).
    pub fn with_num_bits_and_hasher(
        cells: u64,
        hashes: u32,
        hasher: S,
    ) -> Result<Self, ConfigError> {
        if cells == 0 {
            return Err(ConfigError::ZeroBits);
        }
        sizing::check_bits(cells.saturating_mul(4))?;
        sizing::check_hashes(hashes, MAX_HASHES)?;
        let words = usize::try_from(cells.div_ceil(16))
            .map_err(|_| ConfigError::TooLarge { bits: cells })?;
        Ok(CountingBloomFilter {
            words: sizing::zeroed(words, cells.saturating_mul(4))?,
            cells,
            hashes,
            hasher,
        })
    }

    /// The hasher.
    pub fn hasher(&self) -> &S {
        &self.hasher
    }

    fn get(&self, cell: u64) -> u8 {
        let (w, shift) = nibble(cell);
        self.words
            .get(w)
            .map_or(0, |w| u8::try_from((w >> shift) & 15).unwrap_or(0))
    }

    fn set(&mut self, cell: u64, value: u8) {
        let (w, shift) = nibble(cell);
        if let Some(w) = self.words.get_mut(w) {
            *w = (*w & !(15 << shift)) | (u64::from(value & 15) << shift);
        }
    }

    /// Adds `item`: each of its counters goes up by one, stopping at 15. `true` if some
    /// counter was zero (the item was certainly absent before).
    #[inline]
    pub fn insert<T: Hash + ?Sized>(&mut self, item: &T) -> bool {
        self.insert_hash(self.hasher.hash_one(item))
    }

    /// `false` if `item` is certainly not in the filter.
    #[inline]
    pub fn contains<T: Hash + ?Sized>(&self, item: &T) -> bool {
        self.contains_hash(self.hasher.hash_one(item))
    }

    /// Removes `item` if present (see the type's docs); `true` if it was present.
    #[inline]
    pub fn remove<T: Hash + ?Sized>(&mut self, item: &T) -> bool {
        self.remove_hash(self.hasher.hash_one(item))
    }

    /// How many times `item` may have been inserted (and not removed): its smallest counter,
    /// an overestimate by false positives, capped at 15.
    #[inline]
    pub fn count<T: Hash + ?Sized>(&self, item: &T) -> u8 {
        self.count_hash(self.hasher.hash_one(item))
    }

    /// [`insert`](Self::insert) by 64-bit hash.
    pub fn insert_hash(&mut self, hash: u64) -> bool {
        let mut fresh = false;
        for cell in Probes::new(hash, self.cells, self.hashes) {
            let c = self.get(cell);
            fresh |= c == 0;
            if c < COUNTER_MAX {
                self.set(cell, c + 1);
            }
        }
        fresh
    }

    /// [`contains`](Self::contains) by 64-bit hash.
    pub fn contains_hash(&self, hash: u64) -> bool {
        Probes::new(hash, self.cells, self.hashes).all(|cell| self.get(cell) > 0)
    }

    /// [`remove`](Self::remove) by 64-bit hash.
    pub fn remove_hash(&mut self, hash: u64) -> bool {
        if !self.contains_hash(hash) {
            return false;
        }
        for cell in Probes::new(hash, self.cells, self.hashes) {
            let c = self.get(cell);
            // Saturated counters have lost count; 0 happens only when two probes of one
            // false-positive key share a counter that held 1.
            if c != COUNTER_MAX && c != 0 {
                self.set(cell, c - 1);
            }
        }
        true
    }

    /// [`count`](Self::count) by 64-bit hash.
    pub fn count_hash(&self, hash: u64) -> u8 {
        Probes::new(hash, self.cells, self.hashes)
            .map(|cell| self.get(cell))
            .min()
            .unwrap_or(0)
    }

    fn nonzero(&self) -> u64 {
        self.words
            .iter()
            .map(|w| {
                // A nibble is non-zero iff any of its 4 bits is set: fold them onto bit 0.
                let folded = (w | (w >> 1) | (w >> 2) | (w >> 3)) & 0x1111_1111_1111_1111;
                u64::from(folded.count_ones())
            })
            .sum()
    }

    /// An estimate of the number of distinct items present, from the non-zero counters. O(m).
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn len_estimate(&self) -> u64 {
        let m = self.cells as f64;
        let x = self.nonzero() as f64;
        (-(m / f64::from(self.hashes)) * (-x / m).ln_1p()).round() as u64
    }

    /// The false-positive rate now: (non-zero counters / cells)^k. O(m).
    #[allow(clippy::cast_precision_loss)]
    pub fn false_positive_rate(&self) -> f64 {
        (self.nonzero() as f64 / self.cells as f64).powf(f64::from(self.hashes))
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        self.words.fill(0);
    }

    /// The number of cells (4-bit counters).
    pub fn bits(&self) -> u64 {
        self.cells
    }

    /// The number of counters each item increments.
    pub fn hashes(&self) -> u32 {
        self.hashes
    }
}

impl<S: BuildHasher + PartialEq> CountingBloomFilter<S> {
    /// Adds the other filter's counts to this one's (saturating at 15): the result holds the
    /// items of both, and removing an item from it works as if it had been inserted here.
    ///
    /// # Errors
    ///
    /// [`MergeError`] if the filters differ in size, hash count or hasher.
    pub fn union(&mut self, other: &Self) -> Result<(), MergeError> {
        self.merge(other, |a, b| a.saturating_add(b).min(COUNTER_MAX))
    }

    /// Keeps the smaller of each pair of counters: items inserted into both stay present.
    ///
    /// # Errors
    ///
    /// [`MergeError`] if the filters differ in size, hash count or hasher.
    pub fn intersect(&mut self, other: &Self) -> Result<(), MergeError> {
        self.merge(other, std::cmp::min)
    }

    fn merge(&mut self, other: &Self, op: impl Fn(u8, u8) -> u8) -> Result<(), MergeError> {
        compatible(
            (self.cells, self.hashes),
            (other.cells, other.hashes),
            self.hasher == other.hasher,
        )?;
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            let mut out = 0u64;
            for shift in (0..64).step_by(4) {
                let x = u8::try_from((*a >> shift) & 15).unwrap_or(0);
                let y = u8::try_from((b >> shift) & 15).unwrap_or(0);
                out |= u64::from(op(x, y)) << shift;
            }
            *a = out;
        }
        Ok(())
    }
}

forward_filter!([S] CountingBloomFilter<S>, where S: BuildHasher + Default + PartialEq);
