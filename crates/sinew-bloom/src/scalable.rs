//! [`ScalableBloomFilter`]: grows by adding filters, keeping the compound rate at the target.

use std::fmt;
use std::hash::{BuildHasher, Hash};

use crate::classic::BloomFilter;
use crate::error::{ConfigError, DecodeError, MergeError};
use crate::filter::forward_filter;
use crate::format::{Reader, Writer, variant};
use crate::hash::Xxh3Builder;
use crate::sizing;

/// The most stages a filter grows to; past it, the last stage takes every new item (its
/// rate then climbs past the target).
const MAX_STAGES: usize = 64;

/// Default tightening ratio `r`.
const DEFAULT_TIGHTENING_RATIO: f64 = 0.5;

/// Default growth factor `s`.
const DEFAULT_GROWTH: u32 = 2;

#[derive(Clone, PartialEq, Eq)]
struct Stage {
    filter: BloomFilter,
    capacity: u64,
    len: u64,
}

/// A scalable Bloom filter (Almeida, Baquero, Preguiça and Hutchison, 2007): when the current
/// filter has taken its capacity, a larger and stricter one is added, so you need not know
/// how many items will come.
///
/// Stage `i` (from 0) holds `n0 · s^i` items at rate `P (1 - r) r^i`, where `n0` is the
/// initial capacity, `P` the target rate, `s` the growth factor (default 2) and `r` the
/// tightening ratio (default 0.5). A lookup is positive if any stage is, so the compound rate
/// is at most `Σ P (1 - r) r^i < P` however many stages there are. Each stage is a classic
/// [`BloomFilter`] (so each meets its own rate), and an item goes into the newest stage only
/// if no stage has it yet.
///
/// Measured over 20,000 items and 400,000 absent keys, a filter started at 1 item lands at
/// 0.32% for a 1% target, one started at 10 at 0.81%, one started at 100 at 0.95%; one
/// started at 1% of the final count, over 1M items, below the target (tests/accuracy.rs).
/// Tiny stages are sized conservatively, so a realistic first guess saves memory:
/// starting at 1 costs more bits per item than starting near the real count.
///
/// ```
/// use sinew_bloom::ScalableBloomFilter;
///
/// // Sized for 100 items, then given 10,000: it grows instead of filling up.
/// let mut f = ScalableBloomFilter::with_false_positive_rate(100, 0.01)?;
/// for i in 0..10_000u32 {
///     f.insert(&i);
/// }
/// assert!(f.stages() > 1);
/// assert!((0..10_000u32).all(|i| f.contains(&i)));
/// assert!(f.false_positive_rate() < 0.012); // near the target, never far past it
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Serialized form
///
/// Variant 5 of the [format](crate#serialized-format): target rate (f64 bits), tightening
/// ratio (f64 bits), growth (u32), initial capacity (u64), stage count (u32), then for each
/// stage: capacity (u64), items (u64), bits (u64), hashes (u32) and its words as in the
/// classic form.
#[derive(Clone, PartialEq)]
pub struct ScalableBloomFilter<S = Xxh3Builder> {
    stages: Vec<Stage>,
    target: f64,
    ratio: f64,
    growth: u32,
    initial: u64,
    hasher: S,
}

impl<S> fmt::Debug for ScalableBloomFilter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScalableBloomFilter")
            .field("stages", &self.stages.len())
            .field("target", &self.target)
            .field("ratio", &self.ratio)
            .field("growth", &self.growth)
            .finish_non_exhaustive()
    }
}

impl ScalableBloomFilter {
    /// The largest filter this crate builds: 2^48 bits (32 TiB); larger sizes are a
    /// [`ConfigError`](crate::ConfigError).
    pub const MAX_BITS: u64 = crate::sizing::MAX_BITS;

    /// The most stages a filter grows to; past it, the last stage takes every new item (its
    /// rate then climbs past the target).
    pub const MAX_STAGES: usize = MAX_STAGES;

    /// The default tightening ratio `r`: each stage's rate is `r` times the previous one's.
    pub const DEFAULT_TIGHTENING_RATIO: f64 = DEFAULT_TIGHTENING_RATIO;

    /// The default growth factor `s`: each stage holds `s` times the previous one's items.
    pub const DEFAULT_GROWTH: u32 = DEFAULT_GROWTH;

    /// A filter whose first stage holds `initial_capacity` items, keeping the compound rate
    /// at or below `fpr`, with the default growth (2) and tightening ratio (0.5), default
    /// hasher. 0 initial capacity means 1.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `fpr` is outside (0, 1) or NaN, or the first stage is too large.
    pub fn with_false_positive_rate(
        initial_capacity: usize,
        fpr: f64,
    ) -> Result<Self, ConfigError> {
        Self::with_false_positive_rate_and_hasher(initial_capacity, fpr, Xxh3Builder::default())
    }

    /// A filter whose first stage has `bits` bits and `hashes` hashes; its capacity is the
    /// item count at which those are optimal (`bits · ln 2 / hashes`), its rate there is
    /// `2^-hashes`, and the target is that over `1 - r`. Default growth and ratio.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `bits` is 0 or too large, or `hashes` is out of range (1 to 64).
    pub fn with_num_bits(bits: u64, hashes: u32) -> Result<Self, ConfigError> {
        Self::with_num_bits_and_hasher(bits, hashes, Xxh3Builder::default())
    }

    /// The seed of the default hasher.
    pub fn seed(&self) -> u64 {
        self.hasher.seed()
    }

    /// The filter in the crate's portable, versioned [format](crate#serialized-format).
    pub fn to_bytes(&self) -> Vec<u8> {
        let body: usize = self
            .stages
            .iter()
            .map(|s| 28 + s.filter.as_words().len() * 8)
            .sum();
        let mut w = Writer::new(variant::SCALABLE, self.seed(), 32 + body);
        w.f64(self.target);
        w.f64(self.ratio);
        w.u32(self.growth);
        w.u64(self.initial);
        w.u32(u32::try_from(self.stages.len()).unwrap_or(u32::MAX));
        for s in &self.stages {
            w.u64(s.capacity);
            w.u64(s.len);
            s.filter.write_body(&mut w);
        }
        w.finish()
    }

    /// Reads a filter written by [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    ///
    /// [`DecodeError`] for anything but a well-formed scalable filter; never panics, and
    /// allocates no more than the input's length justifies.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, variant::SCALABLE)?;
        let target = r.f64()?;
        let ratio = r.f64()?;
        let growth = r.u32()?;
        let initial = r.u64()?;
        let count = r.u32()?;
        check_params(target, ratio, growth).map_err(|_| DecodeError::Invalid("parameters"))?;
        if initial == 0 {
            return Err(DecodeError::Invalid("initial capacity"));
        }
        if count == 0 || count as usize > MAX_STAGES {
            return Err(DecodeError::Invalid("stage count"));
        }
        let mut stages: Vec<Stage> = Vec::new();
        for _ in 0..count {
            let capacity = r.u64()?;
            let len = r.u64()?;
            // Stage capacities are `initial · growth^i` (saturating), as `grow` makes them.
            let expected = stages
                .last()
                .map_or(initial, |s| s.capacity.saturating_mul(u64::from(growth)));
            if capacity != expected {
                return Err(DecodeError::Invalid("stage capacity"));
            }
            // Stages hash nothing themselves (the scalable filter hashes once for all).
            let filter = BloomFilter::read_body(&mut r, 0)?;
            stages.push(Stage {
                filter,
                capacity,
                len,
            });
        }
        let hasher = Xxh3Builder::with_seed(r.seed());
        r.finish()?;
        Ok(ScalableBloomFilter {
            stages,
            target,
            ratio,
            growth,
            initial,
            hasher,
        })
    }
}

fn check_params(target: f64, ratio: f64, growth: u32) -> Result<(), ConfigError> {
    sizing::check_rate(target)?;
    if !(ratio > 0.0 && ratio < 1.0) {
        return Err(ConfigError::TighteningRatio(ratio));
    }
    if growth < 1 {
        return Err(ConfigError::Growth(growth));
    }
    Ok(())
}

impl<S: BuildHasher> ScalableBloomFilter<S> {
    /// [`with_false_positive_rate`](ScalableBloomFilter::with_false_positive_rate) with a
    /// hasher of your own.
    ///
    /// # Errors
    ///
    /// As [`with_false_positive_rate`](ScalableBloomFilter::with_false_positive_rate).
    pub fn with_false_positive_rate_and_hasher(
        initial_capacity: usize,
        fpr: f64,
        hasher: S,
    ) -> Result<Self, ConfigError> {
        Self::with_growth(
            initial_capacity,
            fpr,
            DEFAULT_TIGHTENING_RATIO,
            DEFAULT_GROWTH,
            hasher,
        )
    }

    /// A filter with every parameter chosen: the first stage holds `initial_capacity` items,
    /// each later stage `growth` times more at `tightening_ratio` times the rate.
    ///
    /// Larger growth means fewer stages (faster lookups) but more memory left idle; a smaller
    /// ratio means stricter later stages (more bits) but a looser first one.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] if `fpr` or `tightening_ratio` is outside (0, 1), `growth` is 0, or
    /// the first stage is too large.
    pub fn with_growth(
        initial_capacity: usize,
        fpr: f64,
        tightening_ratio: f64,
        growth: u32,
        hasher: S,
    ) -> Result<Self, ConfigError> {
        check_params(fpr, tightening_ratio, growth)?;
        let initial = u64::try_from(initial_capacity.max(1)).unwrap_or(u64::MAX);
        let stage = new_stage(initial, fpr * (1.0 - tightening_ratio))?;
        Ok(ScalableBloomFilter {
            stages: vec![stage],
            target: fpr,
            ratio: tightening_ratio,
            growth,
            initial,
            hasher,
        })
    }

    /// [`with_num_bits`](ScalableBloomFilter::with_num_bits) with a hasher of your own.
    ///
    /// # Errors
    ///
    /// As [`with_num_bits`](ScalableBloomFilter::with_num_bits).
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn with_num_bits_and_hasher(
        bits: u64,
        hashes: u32,
        hasher: S,
    ) -> Result<Self, ConfigError> {
        let filter = BloomFilter::with_num_bits(bits, hashes)?;
        let capacity = ((bits as f64 * std::f64::consts::LN_2 / f64::from(hashes)) as u64).max(1);
        let ratio = DEFAULT_TIGHTENING_RATIO;
        let target = (0.5f64.powi(hashes as i32) / (1.0 - ratio)).min(0.999);
        Ok(ScalableBloomFilter {
            stages: vec![Stage {
                filter,
                capacity,
                len: 0,
            }],
            target,
            ratio,
            growth: DEFAULT_GROWTH,
            initial: capacity,
            hasher,
        })
    }

    /// The hasher.
    pub fn hasher(&self) -> &S {
        &self.hasher
    }

    /// The number of stages so far.
    pub fn stages(&self) -> usize {
        self.stages.len()
    }

    /// The compound false-positive rate the filter keeps to.
    pub fn target_rate(&self) -> f64 {
        self.target
    }

    /// Adds `item` unless some stage already has it; `true` if it was added.
    #[inline]
    pub fn insert<T: Hash + ?Sized>(&mut self, item: &T) -> bool {
        self.insert_hash(self.hasher.hash_one(item))
    }

    /// `false` if `item` was certainly never inserted.
    #[inline]
    pub fn contains<T: Hash + ?Sized>(&self, item: &T) -> bool {
        self.contains_hash(self.hasher.hash_one(item))
    }

    /// [`insert`](Self::insert) by 64-bit hash. Adds a stage first if the newest is full.
    pub fn insert_hash(&mut self, hash: u64) -> bool {
        if self.contains_hash(hash) {
            return false;
        }
        if self.stages.last().is_some_and(|s| s.len >= s.capacity) {
            self.grow();
        }
        match self.stages.last_mut() {
            Some(s) => {
                s.filter.insert_hash(hash);
                s.len = s.len.saturating_add(1);
                true
            }
            None => false,
        }
    }

    fn grow(&mut self) {
        if self.stages.len() >= MAX_STAGES {
            return;
        }
        let Some(last) = self.stages.last() else {
            return;
        };
        let capacity = last.capacity.saturating_mul(u64::from(self.growth));
        let i = i32::try_from(self.stages.len()).unwrap_or(i32::MAX);
        let rate = self.target * (1.0 - self.ratio) * self.ratio.powi(i);
        // A stage that cannot be built (too large, or a rate that underflowed) is not added;
        // the newest stage keeps taking items.
        if let Ok(stage) = new_stage(capacity, rate) {
            self.stages.push(stage);
        }
    }

    /// [`contains`](Self::contains) by 64-bit hash: positive if any stage is.
    #[inline]
    pub fn contains_hash(&self, hash: u64) -> bool {
        self.stages
            .iter()
            .rev()
            .any(|s| s.filter.contains_hash(hash))
    }

    /// The number of items added (inserts that returned `true`): exact, not estimated
    /// (saturating at `u64::MAX`).
    pub fn len_estimate(&self) -> u64 {
        self.stages
            .iter()
            .fold(0u64, |total, s| total.saturating_add(s.len))
    }

    /// The compound rate now, from the stages' fills: `1 - Π (1 - rate_i)`.
    pub fn false_positive_rate(&self) -> f64 {
        1.0 - self
            .stages
            .iter()
            .map(|s| 1.0 - s.filter.false_positive_rate())
            .product::<f64>()
    }

    /// Removes every item, keeping only the (emptied) first stage.
    pub fn clear(&mut self) {
        self.stages.truncate(1);
        for s in &mut self.stages {
            s.filter.clear();
            s.len = 0;
        }
    }

    /// The total size of all stages in bits.
    pub fn bits(&self) -> u64 {
        self.stages.iter().map(|s| s.filter.bits()).sum()
    }

    /// The hash count of the newest stage (later stages use more).
    pub fn hashes(&self) -> u32 {
        self.stages.last().map_or(0, |s| s.filter.hashes())
    }
}

impl<S: BuildHasher + PartialEq> ScalableBloomFilter<S> {
    fn check_stages(&self, other: &Self) -> Result<(), MergeError> {
        if self.hasher != other.hasher {
            return Err(MergeError::Hasher);
        }
        let same = self.stages.len() == other.stages.len()
            && self.stages.iter().zip(&other.stages).all(|(a, b)| {
                a.filter.bits() == b.filter.bits()
                    && a.filter.hashes() == b.filter.hashes()
                    && a.capacity == b.capacity
            });
        if same {
            Ok(())
        } else {
            Err(MergeError::Stages)
        }
    }

    /// Stage-wise union: the filters must have the same stages (same parameters and the same
    /// number of stages). Each stage's item count becomes the sum, capped at its capacity (or
    /// at the larger count, if a newest stage already holds more).
    ///
    /// # Errors
    ///
    /// [`MergeError::Stages`] if the stages differ, [`MergeError::Hasher`] if the hashers do.
    pub fn union(&mut self, other: &Self) -> Result<(), MergeError> {
        self.check_stages(other)?;
        for (a, b) in self.stages.iter_mut().zip(&other.stages) {
            a.filter.union(&b.filter)?;
            // Capped at the capacity (the two may share items), but never below
            // either count (a newest stage may already hold more than its capacity).
            let cap = a.capacity.max(a.len).max(b.len);
            a.len = a.len.saturating_add(b.len).min(cap);
        }
        Ok(())
    }

    /// Intersection, for filters that are still in their single first stage (with more
    /// stages, an item may sit in different stages of the two, so a stage-wise AND could
    /// lose it).
    ///
    /// # Errors
    ///
    /// [`MergeError::Stages`] unless both have exactly one matching stage;
    /// [`MergeError::Hasher`] if the hashers differ.
    pub fn intersect(&mut self, other: &Self) -> Result<(), MergeError> {
        self.check_stages(other)?;
        if self.stages.len() != 1 {
            return Err(MergeError::Stages);
        }
        for (a, b) in self.stages.iter_mut().zip(&other.stages) {
            a.filter.intersect(&b.filter)?;
            a.len = a.len.min(b.len);
        }
        Ok(())
    }
}

fn new_stage(capacity: u64, rate: f64) -> Result<Stage, ConfigError> {
    let n = usize::try_from(capacity).unwrap_or(usize::MAX);
    Ok(Stage {
        filter: BloomFilter::with_false_positive_rate(n, rate)?,
        capacity,
        len: 0,
    })
}

forward_filter!([S] ScalableBloomFilter<S>, where S: BuildHasher + Default + PartialEq);
