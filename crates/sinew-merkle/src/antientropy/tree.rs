//! [`AntiEntropyTree`], [`diff`] and [`BucketRange`] (how the tree works is in the
//! [module docs](super)).

use crate::error::{ConfigError, DiffError};
use crate::sync::{AtomicU64, Mutex, Ordering};
use twox_hash::{XxHash3_64, XxHash3_128};

/// The largest depth an [`AntiEntropyTree`] takes: `2^24` buckets (256 MiB of bucket digests).
pub const MAX_DEPTH: u8 = 24;

/// The default seed of [`AntiEntropyTree::new`]. Replicas must use the same seed.
pub const DEFAULT_SEED: u64 = 0x7369_6e65_775f_6165; // "sinew_ae"

/// log2 of the number of buckets in a dirty group. Under loom it is 1, so that the small
/// models (depth 2) have several groups.
#[cfg(not(sinew_loom))]
const GROUP_SHIFT: u8 = 5;
#[cfg(sinew_loom)]
const GROUP_SHIFT: u8 = 1;

/// A 128-bit digest of a bucket or subtree: two 64-bit lanes (high and low), each a sum modulo
/// 2^64 of the entries' hashes.
pub type Digest128 = u128;

/// A range of bucket indices `start..end` that differs between two replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketRange {
    /// The first bucket.
    pub start: u32,
    /// One past the last bucket.
    pub end: u32,
}

impl BucketRange {
    /// Whether `bucket` is in the range.
    pub fn contains(&self, bucket: u32) -> bool {
        self.start <= bucket && bucket < self.end
    }

    /// The number of buckets in the range (0 if `end <= start`).
    pub fn len(&self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range holds no bucket (never true for ranges this crate returns).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Whether `bucket` lies in any of `ranges` (sorted, as this crate returns them).
pub fn ranges_contain(ranges: &[BucketRange], bucket: u32) -> bool {
    match ranges.binary_search_by(|r| r.start.cmp(&bucket)) {
        Ok(_) => true,
        Err(0) => false,
        Err(i) => ranges.get(i - 1).is_some_and(|r| r.contains(bucket)),
    }
}

/// Merges sorted bucket indices into ranges of consecutive buckets.
pub(crate) fn to_ranges(buckets: impl IntoIterator<Item = u32>) -> Vec<BucketRange> {
    let mut out: Vec<BucketRange> = Vec::new();
    for b in buckets {
        match out.last_mut() {
            Some(r) if r.end == b => r.end = b + 1,
            _ => out.push(BucketRange {
                start: b,
                end: b + 1,
            }),
        }
    }
    out
}

/// A digest's two lanes, `(low, high)`.
/// The bucket of `key` in a tree of `2^depth` buckets with this seed: the top `depth` bits of
/// its seeded XXH3-64 hash, as [`AntiEntropyTree::bucket_of`] computes it. It lets a peer that
/// holds no tree find its own keys in the [`BucketRange`]s a reconciliation reported. A `depth`
/// outside `1..=MAX_DEPTH` is clamped into it.
pub fn bucket_of(depth: u8, seed: u64, key: &[u8]) -> u32 {
    let depth = depth.clamp(1, MAX_DEPTH);
    let h = XxHash3_64::oneshot_with_seed(seed, key);
    // depth <= 24, so the top `depth` bits fit.
    u32::try_from(h >> (64 - u32::from(depth))).unwrap_or(0)
}

#[inline]
#[allow(clippy::cast_possible_truncation)] // deliberate: the low and high 64 bits
fn lanes(d: Digest128) -> (u64, u64) {
    (d as u64, (d >> 64) as u64)
}

#[inline]
fn from_lanes(lo: u64, hi: u64) -> Digest128 {
    (u128::from(hi) << 64) | u128::from(lo)
}

/// Lane-wise wrapping addition.
#[inline]
fn add(a: Digest128, b: Digest128) -> Digest128 {
    let ((alo, ahi), (blo, bhi)) = (lanes(a), lanes(b));
    from_lanes(alo.wrapping_add(blo), ahi.wrapping_add(bhi))
}

/// Lane-wise wrapping subtraction.
#[inline]
fn sub(a: Digest128, b: Digest128) -> Digest128 {
    let ((alo, ahi), (blo, bhi)) = (lanes(a), lanes(b));
    from_lanes(alo.wrapping_sub(blo), ahi.wrapping_sub(bhi))
}

/// A Merkle tree over a keyed data set, split into `2^depth` buckets by key hash, maintained
/// through `&self` by any number of threads, and compared with a peer's by
/// [`Reconciler`](super::Reconciler) or [`diff`].
///
/// It stores digests, not keys: 16 bytes per bucket plus about one byte per bucket for the
/// cache, whatever the number of keys. Pick the depth so that a bucket holds a handful of keys (about
/// `log2(keys / 16)`): deeper trees find differences more precisely and exchange more hashes.
///
/// # Thread safety
///
/// `insert`, `remove` and `update` are lock-free: two atomic adds on the bucket and one atomic
/// `or` into the dirty bitmap. Reads of inner nodes take a short lock over the cache.
/// Once the writers are done, every read equals the digest of the sequential history
/// (loom-checked). A read concurrent with writes may see part of them.
///
/// # Examples
///
/// ```
/// use sinew_merkle::AntiEntropyTree;
/// use sinew_merkle::antientropy::diff;
///
/// let a = AntiEntropyTree::new(8)?;
/// let b = AntiEntropyTree::new(8)?;
/// for (key, version) in [("apple", 1), ("pear", 4), ("plum", 2)] {
///     a.insert(key, version);
///     b.insert(key, version);
/// }
/// b.update("pear", 4, 5); // b has a newer pear
/// let ranges = diff(&a, &b)?;
/// assert_eq!(ranges.len(), 1);
/// assert!(ranges[0].contains(a.bucket_of("pear")));
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AntiEntropyTree {
    depth: u8,
    seed: u64,
    /// Bucket digests, two lanes each (`[low, high]`).
    buckets: Box<[[AtomicU64; 2]]>,
    /// The deepest cached level: `depth - min(depth, GROUP_SHIFT)`. Its nodes are the groups.
    group_level: u8,
    /// One bit per group: set when a bucket of the group changed since the cache last read it.
    dirty: Box<[AtomicU64]>,
    /// Heap-numbered digests of the nodes at levels `0..=group_level` (root 1, children of `i`
    /// are `2i` and `2i + 1`; index 0 unused), valid for groups whose dirty bit is clear.
    cache: Mutex<Box<[Digest128]>>,
}

/// Concise: the parameters and the root, not the `2^depth` bucket digests.
impl std::fmt::Debug for AntiEntropyTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AntiEntropyTree")
            .field("depth", &self.depth)
            .field("seed", &format_args!("{:#x}", self.seed))
            .field("buckets", &self.buckets.len())
            .field("root", &format_args!("{:#034x}", self.root()))
            .finish()
    }
}

impl AntiEntropyTree {
    /// A tree of `2^depth` buckets with [`DEFAULT_SEED`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::Depth`] unless `1 <= depth <= MAX_DEPTH`.
    pub fn new(depth: u8) -> Result<Self, ConfigError> {
        Self::with_seed(depth, DEFAULT_SEED)
    }

    /// A tree of `2^depth` buckets with a seed of your own (all replicas must share it).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Depth`] unless `1 <= depth <= MAX_DEPTH`.
    pub fn with_seed(depth: u8, seed: u64) -> Result<Self, ConfigError> {
        if depth == 0 || depth > MAX_DEPTH {
            return Err(ConfigError::Depth {
                depth,
                max: MAX_DEPTH,
            });
        }
        let n = 1usize << depth;
        let group_level = depth - depth.min(GROUP_SHIFT);
        let groups = 1usize << group_level;
        Ok(Self {
            depth,
            seed,
            buckets: (0..n)
                .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
                .collect(),
            group_level,
            dirty: (0..groups.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            cache: Mutex::new(vec![0; 2 * groups].into_boxed_slice()),
        })
    }

    /// The depth: the tree has `2^depth` buckets.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The seed of the key and entry hashes.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The number of buckets, `2^depth`.
    pub fn buckets(&self) -> u32 {
        1 << self.depth
    }

    /// The bucket that `key` falls in: the top `depth` bits of its seeded XXH3-64 hash
    /// (the free function [`bucket_of`] with this tree's depth and seed).
    pub fn bucket_of(&self, key: impl AsRef<[u8]>) -> u32 {
        bucket_of(self.depth, self.seed, key.as_ref())
    }

    /// The 128-bit hash of one entry, as it is added to its bucket's digest.
    pub fn entry_hash(&self, key: impl AsRef<[u8]>, version: u64) -> Digest128 {
        let seed = self.seed ^ version.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        XxHash3_128::oneshot_with_seed(seed, key.as_ref())
    }

    /// Adds an entry (a key at a version): three atomic operations, no lock.
    pub fn insert(&self, key: impl AsRef<[u8]>, version: u64) {
        let key = key.as_ref();
        self.apply(self.bucket_of(key), self.entry_hash(key, version), false);
    }

    /// Removes an entry previously inserted with the same key and version.
    pub fn remove(&self, key: impl AsRef<[u8]>, version: u64) {
        let key = key.as_ref();
        self.apply(self.bucket_of(key), self.entry_hash(key, version), true);
    }

    /// Replaces the entry `(key, old_version)` by `(key, new_version)`.
    pub fn update(&self, key: impl AsRef<[u8]>, old_version: u64, new_version: u64) {
        let key = key.as_ref();
        let bucket = self.bucket_of(key);
        let old = self.entry_hash(key, old_version);
        let new = self.entry_hash(key, new_version);
        // new - old, lane by lane, in one write.
        self.apply(bucket, sub(new, old), false);
    }

    fn apply(&self, bucket: u32, h: Digest128, subtract: bool) {
        let (lo, hi) = lanes(h);
        let (lo, hi) = if subtract {
            (lo.wrapping_neg(), hi.wrapping_neg())
        } else {
            (lo, hi)
        };
        if let Some([l, h]) = self.buckets.get(bucket as usize) {
            l.fetch_add(lo, Ordering::AcqRel);
            h.fetch_add(hi, Ordering::AcqRel);
        }
        // Then mark the bucket's group dirty, with a read-modify-write (see `refresh`).
        let group = (bucket >> (self.depth - self.group_level)) as usize;
        if let Some(word) = self.dirty.get(group / 64) {
            word.fetch_or(1 << (group % 64), Ordering::AcqRel);
        }
    }

    /// The digest of bucket `index`, if it exists.
    pub fn bucket_digest(&self, index: u32) -> Option<Digest128> {
        self.buckets.get(index as usize).map(|[l, h]| {
            let lo = l.load(Ordering::Acquire);
            let hi = h.load(Ordering::Acquire);
            from_lanes(lo, hi)
        })
    }

    /// The root digest (the sum of all entries' hashes). Equal roots mean, up to a 2^-128-ish
    /// chance, equal data sets.
    pub fn root(&self) -> Digest128 {
        self.node_digests(0, &[0]).first().copied().unwrap_or(0)
    }

    /// The digest of node `index` at `level` (0 is the root, `depth` the buckets), if it
    /// exists.
    pub fn node_digest(&self, level: u8, index: u32) -> Option<Digest128> {
        if level > self.depth || u64::from(index) >> level != 0 {
            return None;
        }
        self.node_digests(level, &[index]).first().copied()
    }

    /// The sum of the buckets `first..first + count`.
    fn sum_buckets(&self, first: usize, count: usize) -> Digest128 {
        (first..first + count).fold(0, |acc, b| {
            let d = u32::try_from(b)
                .ok()
                .and_then(|b| self.bucket_digest(b))
                .unwrap_or(0);
            add(acc, d)
        })
    }

    /// The digests of the nodes `indices` at `level` (which must exist), under one lock.
    pub(crate) fn node_digests(&self, level: u8, indices: &[u32]) -> Vec<Digest128> {
        if level >= self.depth {
            return indices
                .iter()
                .map(|&i| self.bucket_digest(i).unwrap_or(0))
                .collect();
        }
        if level > self.group_level {
            // Below the cached levels: at most 2^GROUP_SHIFT / 2 buckets per node.
            let span = usize::from(self.depth - level);
            return indices
                .iter()
                .map(|&i| self.sum_buckets((i as usize) << span, 1 << span))
                .collect();
        }
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.refresh(&mut cache);
        indices
            .iter()
            .map(|&i| {
                cache
                    .get((1usize << level) + i as usize)
                    .copied()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Brings the cache up to date: recomputes each dirty group from its buckets, then the
    /// nodes above the dirty groups, level by level.
    ///
    /// Correctness with concurrent writers (readers are serialized by the cache lock): a
    /// writer adds to its bucket, then `or`s its group's bit into a dirty word. Every write to
    /// a dirty word is a read-modify-write (the writers' `fetch_or`, the reader's `swap`), so
    /// each word's history is one chain in which each operation reads the one before. A
    /// reader's swap that comes after a writer's `or` in that chain synchronizes with the
    /// writer (release sequence) and so sums the bucket with the writer's update; a reader's
    /// swap that comes before it leaves the bit set, for the next read. Either way, once the
    /// writers stop no update is missing from the cache. Recomputing a group is idempotent (it
    /// sums its buckets), so a bit set for an update the reader already saw costs only time.
    /// (An earlier design kept one flag per inner node and skipped marking a flag that read as
    /// set; loom found the interleaving in which that loses an update.)
    fn refresh(&self, cache: &mut [Digest128]) {
        let span = usize::from(self.depth - self.group_level);
        let first_group = 1usize << self.group_level;
        let mut touched: Vec<usize> = Vec::new();
        for (w, word) in self.dirty.iter().enumerate() {
            if word.load(Ordering::Acquire) == 0 {
                continue;
            }
            let mut bits = word.swap(0, Ordering::AcqRel);
            while bits != 0 {
                let group = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let node = first_group + group;
                let sum = self.sum_buckets(group << span, 1 << span);
                if let Some(slot) = cache.get_mut(node) {
                    *slot = sum;
                }
                touched.push(node);
            }
        }
        // `touched` is sorted (groups in ascending order), so parents dedup in place.
        while touched.first().is_some_and(|&n| n > 1) {
            let mut parents: Vec<usize> = touched.iter().map(|n| n >> 1).collect();
            parents.dedup();
            for &p in &parents {
                let l = cache.get(2 * p).copied().unwrap_or(0);
                let r = cache.get(2 * p + 1).copied().unwrap_or(0);
                if let Some(slot) = cache.get_mut(p) {
                    *slot = add(l, r);
                }
            }
            touched = parents;
        }
    }

    pub(crate) fn check_compatible(&self, depth: u8, seed: u64) -> Result<(), DiffError> {
        if depth == self.depth && seed == self.seed {
            Ok(())
        } else {
            Err(DiffError::Incompatible {
                local: (self.depth, self.seed),
                remote: (depth, seed),
            })
        }
    }
}

/// The buckets in which two trees in one process differ, as sorted ranges: the same answer
/// as a [`Reconciler`](super::Reconciler) exchange, without the messages.
///
/// The answer is exact for trees that are not written while `diff` runs. It reads the trees
/// level by level, so a write that lands meanwhile may be missed (its ancestors were already
/// found equal) or seen only in part; the next `diff` catches it. Its memory grows with the
/// number of differing nodes on a level, at most `2^depth` candidates (no limit is needed: no
/// peer is involved).
///
/// # Errors
///
/// [`DiffError::Incompatible`] if the trees differ in depth or seed.
pub fn diff(a: &AntiEntropyTree, b: &AntiEntropyTree) -> Result<Vec<BucketRange>, DiffError> {
    a.check_compatible(b.depth, b.seed)?;
    let mut candidates: Vec<u32> = vec![0, 1];
    for level in 1..=a.depth {
        let da = a.node_digests(level, &candidates);
        let db = b.node_digests(level, &candidates);
        let differing = candidates
            .iter()
            .zip(da.iter().zip(&db))
            .filter(|(_, (x, y))| x != y)
            .map(|(&i, _)| i);
        if level == a.depth {
            return Ok(to_ranges(differing));
        }
        candidates = differing.flat_map(|i| [2 * i, 2 * i + 1]).collect();
        if candidates.is_empty() {
            break;
        }
    }
    Ok(Vec::new())
}

#[cfg(all(test, not(sinew_loom)))]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)] // tests fail loudly
mod tests {
    use super::*;

    #[test]
    fn config_limits() {
        assert!(AntiEntropyTree::new(0).is_err());
        assert!(AntiEntropyTree::new(MAX_DEPTH + 1).is_err());
        assert!(AntiEntropyTree::new(1).is_ok());
    }

    #[test]
    fn inner_nodes_are_sums_and_follow_updates() {
        let t = AntiEntropyTree::new(6).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.root(), 0);
        for i in 0..200u32 {
            t.insert(i.to_le_bytes(), u64::from(i));
            if i % 17 == 0 {
                // Read in between, so the cache has to follow later writes.
                let sum = (0..64).fold(0, |acc, b| add(acc, t.bucket_digest(b).unwrap_or(0)));
                assert_eq!(t.root(), sum);
            }
        }
        for level in 0..=6u8 {
            let total = (0..1u32 << level).fold(0, |acc, i| {
                add(
                    acc,
                    t.node_digest(level, i).unwrap_or_else(|| panic!("node")),
                )
            });
            assert_eq!(total, t.root(), "level {level}");
        }
        for i in 0..200u32 {
            t.remove(i.to_le_bytes(), u64::from(i));
        }
        assert_eq!(t.root(), 0);
        assert_eq!(t.node_digest(7, 0), None);
        assert_eq!(t.node_digest(3, 8), None);
    }

    #[test]
    fn debug_is_concise_and_inverted_ranges_are_empty() {
        let t = AntiEntropyTree::new(16).unwrap();
        t.insert("k", 1);
        let text = format!("{t:?}");
        assert!(text.len() < 200, "{text}");
        assert!(
            text.contains("depth: 16") && text.contains("buckets: 65536"),
            "{text}"
        );
        let inverted = BucketRange { start: 5, end: 2 };
        assert_eq!(inverted.len(), 0);
        assert!(inverted.is_empty());
        assert_eq!(BucketRange { start: 2, end: 5 }.len(), 3);
    }

    #[test]
    fn ranges_merge_and_search() {
        let r = to_ranges([1, 2, 3, 7, 9, 10]);
        assert_eq!(
            r,
            vec![
                BucketRange { start: 1, end: 4 },
                BucketRange { start: 7, end: 8 },
                BucketRange { start: 9, end: 11 }
            ]
        );
        for b in 0..12 {
            assert_eq!(
                ranges_contain(&r, b),
                [1, 2, 3, 7, 9, 10].contains(&b),
                "{b}"
            );
        }
    }
}
