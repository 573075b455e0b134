//! [`MerkleTree`]: an append-only log tree that keeps every complete subtree's hash.

use super::compact::CompactTree;
use super::hasher::{Digest, MerkleHasher, Sha256Hasher};
use super::proof::{ConsistencyProof, InclusionProof};
use crate::error::{ConsistencyProofError, InclusionProofError, RootAtError};

/// The largest power of two strictly below `n` (requires `n >= 2`): where RFC 6962 splits a
/// tree of `n` leaves.
#[inline]
pub(crate) fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// An append-only RFC 6962 Merkle tree (a verifiable log) that hands out roots and proofs for
/// any earlier size.
///
/// It stores the hash of every complete (perfect, aligned) subtree: level 0 holds the leaf
/// hashes, level `k` the hashes of the subtrees of `2^k` leaves. That is at most `2n` hashes
/// (64 bytes per leaf), and a push hashes one leaf plus, amortized, one inner node: each
/// completed pair is hashed once and never again. Roots and proofs for any size up to
/// [`len`](Self::len) are assembled from these in `O(log n)` hashing (only the incomplete right
/// border is hashed on demand).
///
/// Odd nodes are never duplicated: a tree of `n` leaves is split at the largest power of two
/// below `n`, as RFC 6962 specifies, so a tree with its last leaf repeated has a different root.
///
/// # Examples
///
/// ```
/// use sinew_merkle::MerkleTree;
/// use sinew_merkle::log::{leaf_hash, verify_inclusion};
///
/// let mut log = MerkleTree::new();
/// for i in 0..10u32 {
///     log.push(&i.to_be_bytes());
/// }
/// let proof = log.inclusion_proof(3, 10)?;
/// assert_eq!(proof.hashes().len(), 4);
/// verify_inclusion(&leaf_hash(&3u32.to_be_bytes()), 3, 10, proof.hashes(), &log.root())?;
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MerkleTree<H: MerkleHasher = Sha256Hasher> {
    hasher: H,
    /// `levels[k][i]` is the hash of leaves `i * 2^k .. (i + 1) * 2^k`.
    levels: Vec<Vec<Digest>>,
}

/// Concise: the size and the root, not the leaves.
impl<H: MerkleHasher> std::fmt::Debug for MerkleTree<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let root = self.root();
        f.debug_struct("MerkleTree")
            .field("len", &self.len())
            .field("root", &format_args!("{}", Hex(&root)))
            .finish()
    }
}

/// Lower-case hex of a hash, for `Debug`.
struct Hex<'a>(&'a Digest);

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl Default for MerkleTree {
    fn default() -> Self {
        Self::new()
    }
}

impl MerkleTree {
    /// An empty SHA-256 tree.
    pub fn new() -> Self {
        Self::with_hasher(Sha256Hasher)
    }

    /// A SHA-256 tree of `leaves` (hashed as RFC 6962 leaves), built level by level.
    ///
    /// Faster than pushing one by one: the same number of hashes, in a cache-friendly order.
    pub fn from_leaves<I, D>(leaves: I) -> Self
    where
        I: IntoIterator<Item = D>,
        D: AsRef<[u8]>,
    {
        let hasher = Sha256Hasher;
        let hashes = leaves
            .into_iter()
            .map(|d| hasher.hash_leaf(d.as_ref()))
            .collect();
        Self::from_leaf_hashes_with(hasher, hashes)
    }

    /// A SHA-256 tree whose leaf hashes (already `H(0x00 || data)`) are `leaf_hashes`.
    pub fn from_leaf_hashes(leaf_hashes: Vec<Digest>) -> Self {
        Self::from_leaf_hashes_with(Sha256Hasher, leaf_hashes)
    }
}

impl<H: MerkleHasher> MerkleTree<H> {
    /// An empty tree with the given hasher.
    pub fn with_hasher(hasher: H) -> Self {
        Self {
            hasher,
            levels: vec![Vec::new()],
        }
    }

    /// A tree with the given hasher over already-hashed leaves.
    pub fn from_leaf_hashes_with(hasher: H, leaf_hashes: Vec<Digest>) -> Self {
        let mut levels = vec![leaf_hashes];
        while let Some(below) = levels.last() {
            if below.len() < 2 {
                break;
            }
            let above = below
                .chunks_exact(2)
                .map(|pair| match pair {
                    [l, r] => hasher.hash_children(l, r),
                    _ => unreachable_pair(),
                })
                .collect();
            levels.push(above);
        }
        Self { hasher, levels }
    }

    /// The hasher.
    pub fn hasher(&self) -> &H {
        &self.hasher
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a leaf: hashes `data` as `H(0x00 || data)` and completes the subtrees it closes.
    /// Amortized `O(1)` hashing (two hashes per push on average).
    pub fn push(&mut self, data: &[u8]) {
        let h = self.hasher.hash_leaf(data);
        self.push_leaf_hash(h);
    }

    /// Appends a leaf given by its leaf hash (already `H(0x00 || data)`).
    pub fn push_leaf_hash(&mut self, leaf_hash: Digest) {
        let mut carry = leaf_hash;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                return;
            };
            row.push(carry);
            if row.len() % 2 == 1 {
                return;
            }
            // The row's last two hashes are a complete pair: hash them into the level above.
            match row.as_slice() {
                [.., l, r] => carry = self.hasher.hash_children(l, r),
                _ => return,
            }
            level += 1;
        }
    }

    /// Appends many leaves.
    pub fn extend<I, D>(&mut self, leaves: I)
    where
        I: IntoIterator<Item = D>,
        D: AsRef<[u8]>,
    {
        for d in leaves {
            self.push(d.as_ref());
        }
    }

    /// The hash of leaf `index`, if the tree has it.
    pub fn leaf_hash(&self, index: u64) -> Option<Digest> {
        let i = usize::try_from(index).ok()?;
        self.levels.first()?.get(i).copied()
    }

    /// The current root (the [`empty_root`](super::empty_root) for an empty tree). `O(log n)`
    /// hashing for sizes that are not powers of two, `O(1)` otherwise.
    pub fn root(&self) -> Digest {
        self.subtree(0, self.len())
    }

    /// The root the tree had when it held `size` leaves.
    ///
    /// # Errors
    ///
    /// [`RootAtError::SizeOutOfRange`] if `size > len()`.
    pub fn root_at(&self, size: u64) -> Result<Digest, RootAtError> {
        self.check_size(size)
            .map_err(|len| RootAtError::SizeOutOfRange { size, len })?;
        Ok(self.subtree(0, size))
    }

    /// The inclusion proof (RFC 9162 2.1.3.1) of leaf `index` in the tree of `size` leaves.
    ///
    /// # Errors
    ///
    /// [`InclusionProofError::SizeOutOfRange`] if `size > len()`,
    /// [`InclusionProofError::IndexOutOfRange`] if `index >= size`.
    pub fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<InclusionProof, InclusionProofError> {
        self.check_size(size)
            .map_err(|len| InclusionProofError::SizeOutOfRange { size, len })?;
        if index >= size {
            return Err(InclusionProofError::IndexOutOfRange { index, size });
        }
        // PATH(m, D[lo:hi]) from the top down; the proof lists the hashes from the bottom up.
        let mut hashes = Vec::with_capacity(64);
        let (mut lo, mut hi) = (0, size);
        while hi - lo > 1 {
            let k = split_point(hi - lo);
            if index < lo + k {
                hashes.push(self.subtree(lo + k, hi));
                hi = lo + k;
            } else {
                hashes.push(self.subtree(lo, lo + k));
                lo += k;
            }
        }
        hashes.reverse();
        Ok(InclusionProof::new_unchecked(index, size, hashes))
    }

    /// The consistency proof (RFC 9162 2.1.4.1) that the tree of `new_size` leaves extends the
    /// tree of `old_size` leaves. Equal sizes give an empty proof.
    ///
    /// # Errors
    ///
    /// [`ConsistencyProofError::SizeOutOfRange`] if `new_size > len()`,
    /// [`ConsistencyProofError::SizesOutOfOrder`] if `old_size > new_size`,
    /// [`ConsistencyProofError::EmptyOldTree`] if `old_size == 0`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<ConsistencyProof, ConsistencyProofError> {
        self.check_size(new_size)
            .map_err(|len| ConsistencyProofError::SizeOutOfRange {
                size: new_size,
                len,
            })?;
        if old_size > new_size {
            return Err(ConsistencyProofError::SizesOutOfOrder { old_size, new_size });
        }
        if old_size == 0 {
            return Err(ConsistencyProofError::EmptyOldTree);
        }
        // SUBPROOF(m, D[lo:hi], b) from the top down.
        let mut hashes = Vec::with_capacity(65);
        let (mut lo, mut hi, mut m, mut complete) = (0, new_size, old_size, true);
        loop {
            let n = hi - lo;
            if m == n {
                if !complete {
                    hashes.push(self.subtree(lo, hi));
                }
                break;
            }
            let k = split_point(n);
            if m <= k {
                hashes.push(self.subtree(lo + k, hi));
                hi = lo + k;
            } else {
                hashes.push(self.subtree(lo, lo + k));
                lo += k;
                m -= k;
                complete = false;
            }
        }
        hashes.reverse();
        Ok(ConsistencyProof::new_unchecked(old_size, new_size, hashes))
    }

    /// A [`CompactTree`] with the same leaves (its frontier, `O(log n)`).
    pub fn to_compact(&self) -> CompactTree<H> {
        let size = self.len();
        let frontier = (0..64u32)
            .rev()
            .filter(|&k| size >> k & 1 == 1)
            .map(|k| {
                let start = (size >> (k + 1)) << (k + 1);
                self.perfect(k, start)
            })
            .collect();
        CompactTree::from_parts_unchecked(self.hasher.clone(), size, frontier)
    }

    /// `Err(len)` if the tree is smaller than `size`.
    fn check_size(&self, size: u64) -> Result<(), u64> {
        let len = self.len();
        if size > len {
            return Err(len);
        }
        Ok(())
    }

    /// The hash of the perfect subtree of `2^level` leaves starting at leaf `start` (aligned).
    fn perfect(&self, level: u32, start: u64) -> Digest {
        let found = self
            .levels
            .get(level as usize)
            .and_then(|row| row.get(usize::try_from(start >> level).ok()?));
        match found {
            Some(h) => *h,
            // Unreachable: callers only ask for complete subtrees inside `len()`.
            None => {
                debug_assert!(
                    false,
                    "perfect({level}, {start}) asked for a subtree outside a tree of {}",
                    self.len()
                );
                self.hasher.hash_empty()
            }
        }
    }

    /// MTH(D[lo:hi]) for a range that RFC 6962's recursion produces (`lo` aligned to the
    /// smallest power of two >= `hi - lo`; `hi <= len()`): the right fold of the perfect
    /// subtrees that make up the range.
    fn subtree(&self, lo: u64, hi: u64) -> Digest {
        let n = hi - lo;
        if n == 0 {
            return self.hasher.hash_empty();
        }
        if n.is_power_of_two() {
            return self.perfect(n.trailing_zeros(), lo);
        }
        // Perfect pieces from the smallest (rightmost) to the largest (leftmost), one per set
        // bit of n, folded from the right.
        let mut bits = n;
        let mut end = hi;
        let k = bits.trailing_zeros();
        let mut acc = self.perfect(k, end - (1 << k));
        end -= 1 << k;
        bits &= bits - 1;
        while bits != 0 {
            let k = bits.trailing_zeros();
            let piece = self.perfect(k, end - (1 << k));
            end -= 1 << k;
            bits &= bits - 1;
            acc = self.hasher.hash_children(&piece, &acc);
        }
        acc
    }
}

#[cold]
fn unreachable_pair() -> Digest {
    // chunks_exact(2) yields only pairs.
    [0; 32]
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)] // tests fail loudly
mod tests {
    use super::*;
    use crate::log::{empty_root, leaf_hash, node_hash};

    /// MTH straight from RFC 6962 section 2.1, recursively.
    pub(crate) fn reference_root(leaves: &[Digest]) -> Digest {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_the_recursive_definition() {
        let leaves: Vec<Digest> = (0..130u32).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut t = MerkleTree::new();
        assert_eq!(t.root(), empty_root());
        for (i, h) in leaves.iter().enumerate() {
            t.push_leaf_hash(*h);
            assert_eq!(t.root(), reference_root(&leaves[..=i]), "size {}", i + 1);
        }
        for size in 0..=130 {
            assert_eq!(
                t.root_at(size),
                Ok(reference_root(&leaves[..size as usize]))
            );
        }
        let bulk = MerkleTree::from_leaf_hashes(leaves.clone());
        assert_eq!(bulk.root(), t.root());
        assert_eq!(bulk.levels, t.levels);
        assert_eq!(
            t.root_at(131),
            Err(RootAtError::SizeOutOfRange {
                size: 131,
                len: 130
            })
        );
    }

    #[cfg(feature = "blake3")]
    #[test]
    fn blake3_trees_prove_and_verify() {
        use crate::log::{Blake3Hasher, verify_consistency_with, verify_inclusion_with};
        let h = Blake3Hasher;
        let mut t = MerkleTree::with_hasher(h);
        let mut c = CompactTree::with_hasher(h);
        for i in 0..50u32 {
            t.push(&i.to_le_bytes());
            c.push(&i.to_le_bytes()).unwrap();
        }
        assert_eq!(t.root(), c.root());
        assert_ne!(
            t.root(),
            MerkleTree::from_leaves((0..50u32).map(u32::to_le_bytes)).root()
        );
        let leaf = h.hash_leaf(&7u32.to_le_bytes());
        let p = t.inclusion_proof(7, 50).unwrap();
        assert!(verify_inclusion_with(&h, &leaf, 7, 50, p.hashes(), &t.root()).is_ok());
        assert!(
            p.verify(&leaf, 50, &t.root()).is_err(),
            "SHA-256 must not accept a BLAKE3 proof"
        );
        let old = t.root_at(20).unwrap();
        let p = t.consistency_proof(20, 50).unwrap();
        assert!(verify_consistency_with(&h, 20, 50, p.hashes(), &old, &t.root()).is_ok());
        assert_eq!(h.hash_empty(), *blake3::hash(&[]).as_bytes());
    }

    #[test]
    fn debug_is_concise() {
        let t = MerkleTree::from_leaves((0..1000u32).map(u32::to_le_bytes));
        let text = format!("{t:?}");
        assert!(text.len() < 120, "{text}");
        assert!(text.starts_with("MerkleTree { len: 1000, root: "), "{text}");
        assert_eq!(
            format!("{:?}", MerkleTree::new()),
            "MerkleTree { len: 0, root: \
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 }"
        );
    }

    #[test]
    fn split_points() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn duplicated_last_leaf_changes_the_root() {
        for n in 1..40u32 {
            let leaves: Vec<_> = (0..n).map(|i| i.to_le_bytes()).collect();
            let mut dup = leaves.clone();
            dup.push(n.wrapping_sub(1).to_le_bytes());
            assert_ne!(
                MerkleTree::from_leaves(&leaves).root(),
                MerkleTree::from_leaves(&dup).root()
            );
        }
    }
}
