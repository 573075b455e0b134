//! [`BloomFilter`]: the classic filter, `k` bits anywhere in one bit array.

use std::fmt;
use std::hash::{BuildHasher, Hash};

use crate::error::{ConfigError, DecodeError, MergeError};
use crate::filter::{compatible, forward_filter};
use crate::format::{Reader, Writer, variant};
use crate::hash::{Xxh3Builder, fmix64, reduce};
use crate::sizing::{self, MAX_HASHES};

/// A classic Bloom filter: each item sets `k` bits anywhere in an array of `m` bits.
///
/// The `k` positions come from the item's one 64-bit hash by double hashing (Kirsch and
/// Mitzenmacher) with a rotation: `x₀` is the hash, `h2` a 64-bit mix of it, and
/// `xᵢ₊₁ = rotl(xᵢ + h2, 5)` (wrapping); probe `i` maps `xᵢ` onto `0..m` by a 64-bit
/// multiply-high. The rotation feeds low bits into the high bits the multiply-high reads, so
/// the probes are not an arithmetic progression over `0..m`: plain double hashing with that
/// reduction gives small filters several times the rate asked for (a query whose `h2` is
/// near 0 or `m/2`, say, hits only one or two distinct bits). All index math is 64-bit, so
/// filters of more than 2^32 bits work.
///
/// [`with_false_positive_rate`](Self::with_false_positive_rate) picks the `(m, k)` with the
/// fewest bits whose expected rate at `n` items is the rate asked for (see the crate docs);
/// measured at n = 1M it lands within a few percent of the target.
///
/// ```
/// use sinew_bloom::BloomFilter;
///
/// let mut seen = BloomFilter::with_false_positive_rate(1000, 0.01)?;
/// assert!(seen.insert("alice"));
/// assert!(!seen.insert("alice")); // already (probably) there
/// assert!(seen.contains("alice"));
/// assert!(!seen.contains("bob"));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Serialized form
///
/// Variant 1 of the [format](crate#serialized-format): `bits` (u64), `hashes` (u32), then
/// `ceil(bits / 64)` words; bits past `bits` in the last word are zero.
#[derive(Clone, PartialEq, Eq)]
pub struct BloomFilter<S = Xxh3Builder> {
    words: Vec<u64>,
    num_bits: u64,
    hashes: u32,
    hasher: S,
}

impl<S> fmt::Debug for BloomFilter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BloomFilter")
            .field("bits", &self.num_bits)
            .field("hashes", &self.hashes)
            .finish_non_exhaustive()
    }
}

impl BloomFilter {
    /// The largest filter this crate builds: 2^48 bits (32 TiB); larger sizes are a
    /// [`ConfigError`](crate::ConfigError).
    pub const MAX_BITS: u64 = crate::sizing::MAX_BITS;

    /// A filter for `expected_items` at false-positive rate `fpr`, hashed with the default
    /// [`Xxh3Builder`] (seed 0). 0 expected items sizes it as for 1.
    ///
    /// # Errors
    ///
    /// [`ConfigError::FalsePositiveRate`] if `fpr` is not strictly between 0 and 1 (NaN
    /// included); [`ConfigError::TooLarge`] if it would need more than
    /// [`MAX_BITS`](Self::MAX_BITS).
    pub fn with_false_positive_rate(expected_items: usize, fpr: f64) -> Result<Self, ConfigError> {
        Self::with_false_positive_rate_and_hasher(expected_items, fpr, Xxh3Builder::default())
    }

    /// A filter of exactly `bits` bits and `hashes` hashes (1 to 64), default hasher.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `bits` is 0 or above [`MAX_BITS`](Self::MAX_BITS), or `hashes` is
    /// out of range.
    pub fn with_num_bits(bits: u64, hashes: u32) -> Result<Self, ConfigError> {
        Self::with_num_bits_and_hasher(bits, hashes, Xxh3Builder::default())
    }

    /// The seed of the default hasher.
    pub fn seed(&self) -> u64 {
        self.hasher.seed()
    }

    /// The filter in the crate's portable, versioned [format](crate#serialized-format).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(variant::CLASSIC, self.seed(), 12 + self.words.len() * 8);
        self.write_body(&mut w);
        w.finish()
    }

    /// Writes this filter's body (size, hashes, words) into `w`.
    pub(crate) fn write_body(&self, w: &mut Writer) {
        w.sized_words(self.num_bits, self.hashes, &self.words);
    }

    /// Reads a body written by [`write_body`](Self::write_body), checking it.
    pub(crate) fn read_body(r: &mut Reader<'_>, seed: u64) -> Result<Self, DecodeError> {
        let (num_bits, hashes, words) = r.sized_words(1, MAX_HASHES)?;
        Ok(BloomFilter {
            words,
            num_bits,
            hashes,
            hasher: Xxh3Builder::with_seed(seed),
        })
    }

    /// Reads a filter written by [`to_bytes`](Self::to_bytes) (by this or an earlier version).
    ///
    /// # Errors
    ///
    /// [`DecodeError`] for anything but a well-formed classic filter; never panics, and
    /// allocates no more than the input's length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, variant::CLASSIC)?;
        let seed = r.seed();
        let filter = Self::read_body(&mut r, seed)?;
        r.finish()?;
        Ok(filter)
    }
}

impl<S: BuildHasher> BloomFilter<S> {
    /// [`with_false_positive_rate`](BloomFilter::with_false_positive_rate) with a hasher of
    /// your own. Use one that is seeded and platform-independent if the bits must agree
    /// across processes.
    ///
    /// # Errors
    ///
    /// As [`with_false_positive_rate`](BloomFilter::with_false_positive_rate).
    pub fn with_false_positive_rate_and_hasher(
        expected_items: usize,
        fpr: f64,
        hasher: S,
    ) -> Result<Self, ConfigError> {
        let (bits, hashes) = sizing::classic(expected_items, fpr)?;
        Self::with_num_bits_and_hasher(bits, hashes, hasher)
    }

    /// [`with_num_bits`](BloomFilter::with_num_bits) with a hasher of your own.
    ///
    /// # Errors
    ///
    /// As [`with_num_bits`](BloomFilter::with_num_bits).
    pub fn with_num_bits_and_hasher(
        bits: u64,
        hashes: u32,
        hasher: S,
    ) -> Result<Self, ConfigError> {
        sizing::check_bits(bits)?;
        sizing::check_hashes(hashes, MAX_HASHES)?;
        let words =
            usize::try_from(bits.div_ceil(64)).map_err(|_| ConfigError::TooLarge { bits })?;
        Ok(BloomFilter {
            words: sizing::zeroed(words, bits)?,
            num_bits: bits,
            hashes,
            hasher,
        })
    }

    /// The hasher.
    pub fn hasher(&self) -> &S {
        &self.hasher
    }

    /// Adds `item`; `true` if it was possibly absent before (some bit changed).
    #[inline]
    pub fn insert<T: Hash + ?Sized>(&mut self, item: &T) -> bool {
        self.insert_hash(self.hasher.hash_one(item))
    }

    /// `false` if `item` was certainly never inserted; `true` if it probably was.
    #[inline]
    pub fn contains<T: Hash + ?Sized>(&self, item: &T) -> bool {
        self.contains_hash(self.hasher.hash_one(item))
    }

    /// Adds an item by its 64-bit hash (which must be uniform over all 64 bits).
    #[inline]
    pub fn insert_hash(&mut self, hash: u64) -> bool {
        let mut fresh = false;
        for bit in Probes::new(hash, self.num_bits, self.hashes) {
            let (word, mask) = locate(bit);
            if let Some(w) = self.words.get_mut(word) {
                fresh |= *w & mask == 0;
                *w |= mask;
            }
        }
        fresh
    }

    /// Looks an item up by its 64-bit hash.
    #[inline]
    pub fn contains_hash(&self, hash: u64) -> bool {
        Probes::new(hash, self.num_bits, self.hashes).all(|bit| {
            let (word, mask) = locate(bit);
            self.words.get(word).is_some_and(|w| w & mask != 0)
        })
    }

    /// The number of bits set.
    pub fn count_ones(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// An estimate of the number of distinct items inserted: `-(m/k)·ln(1 - X/m)` for `X`
    /// bits set (Swamidass and Baldi). Saturates at `u64::MAX` when every bit is set. O(m).
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn len_estimate(&self) -> u64 {
        let m = self.num_bits as f64;
        let x = self.count_ones() as f64;
        (-(m / f64::from(self.hashes)) * (-x / m).ln_1p()).round() as u64
    }

    /// The false-positive rate now, from the fill: `(X/m)^k`. O(m).
    #[allow(clippy::cast_precision_loss)]
    pub fn false_positive_rate(&self) -> f64 {
        let fill = self.count_ones() as f64 / self.num_bits as f64;
        fill.powf(f64::from(self.hashes))
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        self.words.fill(0);
    }

    /// The size in bits.
    pub fn bits(&self) -> u64 {
        self.num_bits
    }

    /// The number of bits each item sets.
    pub fn hashes(&self) -> u32 {
        self.hashes
    }

    /// The bit array as little-endian-numbered words (bit `i` is bit `i % 64` of word `i / 64`).
    pub fn as_words(&self) -> &[u64] {
        &self.words
    }
}

impl<S: BuildHasher + PartialEq> BloomFilter<S> {
    /// Makes this filter contain everything either filter contains (bitwise OR).
    ///
    /// # Errors
    ///
    /// [`MergeError`] if the filters differ in size, hash count or hasher.
    pub fn union(&mut self, other: &Self) -> Result<(), MergeError> {
        self.merge(other, |a, b| a | b)
    }

    /// Keeps only the bits set in both filters (bitwise AND): every item inserted into both
    /// still answers `true`; the rate is at most either filter's.
    ///
    /// # Errors
    ///
    /// [`MergeError`] if the filters differ in size, hash count or hasher.
    pub fn intersect(&mut self, other: &Self) -> Result<(), MergeError> {
        self.merge(other, |a, b| a & b)
    }

    fn merge(&mut self, other: &Self, op: impl Fn(u64, u64) -> u64) -> Result<(), MergeError> {
        compatible(
            (self.num_bits, self.hashes),
            (other.num_bits, other.hashes),
            self.hasher == other.hasher,
        )?;
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a = op(*a, *b);
        }
        Ok(())
    }
}

forward_filter!([S] BloomFilter<S>, where S: BuildHasher + Default + PartialEq);

/// Word index and mask of bit `bit`.
#[inline]
#[allow(clippy::cast_possible_truncation)] // bit / 64 < words.len(), a usize
pub(crate) const fn locate(bit: u64) -> (usize, u64) {
    ((bit >> 6) as usize, 1 << (bit & 63))
}

/// The `k` bit positions of a hash in `0..m`: double hashing with a rotation (see
/// [`BloomFilter`]).
pub(crate) struct Probes {
    x: u64,
    y: u64,
    i: u64,
    k: u64,
    m: u64,
}

impl Probes {
    #[inline]
    pub(crate) fn new(hash: u64, m: u64, k: u32) -> Self {
        Probes {
            x: hash,
            y: fmix64(hash),
            i: 0,
            k: u64::from(k),
            m,
        }
    }
}

impl Iterator for Probes {
    type Item = u64;

    #[inline]
    fn next(&mut self) -> Option<u64> {
        if self.i == self.k {
            return None;
        }
        let bit = reduce(self.x, self.m);
        self.x = self.x.wrapping_add(self.y).rotate_left(5);
        self.i += 1;
        Some(bit)
    }
}
