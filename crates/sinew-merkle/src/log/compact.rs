//! [`CompactTree`]: the frontier of a log tree, `O(log n)` state, append and root only.

use super::hasher::{Digest, MerkleHasher, Sha256Hasher};
use crate::error::{FromPartsError, PushError};

/// A log tree that keeps only its frontier (also called a compact range): the roots of the
/// perfect subtrees that make up its leaves, one per set bit of the size, at most 64 hashes.
///
/// Writers that store their entries elsewhere (a database, object storage) use it to compute
/// the same root as [`MerkleTree`](super::MerkleTree) without keeping the leaves. A push is
/// amortized one leaf hash plus one node hash; [`root`](Self::root) costs `popcount(n) - 1`
/// node hashes.
///
/// # Examples
///
/// ```
/// use sinew_merkle::MerkleTree;
/// use sinew_merkle::log::CompactTree;
///
/// let mut compact = CompactTree::new();
/// let mut full = MerkleTree::new();
/// for i in 0..1000u32 {
///     compact.push(&i.to_be_bytes())?;
///     full.push(&i.to_be_bytes());
/// }
/// assert_eq!(compact.root(), full.root());
/// assert_eq!(compact.frontier().len(), 1000u32.count_ones() as usize);
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactTree<H: MerkleHasher = Sha256Hasher> {
    hasher: H,
    size: u64,
    /// Perfect subtree roots, largest (leftmost) first.
    frontier: Vec<Digest>,
}

impl Default for CompactTree {
    fn default() -> Self {
        Self::new()
    }
}

impl CompactTree {
    /// An empty SHA-256 compact tree.
    pub fn new() -> Self {
        Self::with_hasher(Sha256Hasher)
    }

    /// Restores a SHA-256 compact tree from its size and frontier (as saved from
    /// [`len`](Self::len) and [`frontier`](Self::frontier)).
    ///
    /// # Errors
    ///
    /// [`FromPartsError::FrontierLength`] if the frontier does not have one hash per set bit
    /// of `size`.
    pub fn from_parts(size: u64, frontier: Vec<Digest>) -> Result<Self, FromPartsError> {
        Self::from_parts_with(Sha256Hasher, size, frontier)
    }
}

impl<H: MerkleHasher> CompactTree<H> {
    /// An empty compact tree with the given hasher.
    pub fn with_hasher(hasher: H) -> Self {
        Self {
            hasher,
            size: 0,
            frontier: Vec::with_capacity(64),
        }
    }

    /// [`from_parts`](CompactTree::from_parts) with any hasher.
    ///
    /// # Errors
    ///
    /// As [`from_parts`](CompactTree::from_parts).
    pub fn from_parts_with(
        hasher: H,
        size: u64,
        frontier: Vec<Digest>,
    ) -> Result<Self, FromPartsError> {
        let expected = size.count_ones() as usize;
        if frontier.len() != expected {
            return Err(FromPartsError::FrontierLength {
                expected,
                actual: frontier.len(),
            });
        }
        Ok(Self::from_parts_unchecked(hasher, size, frontier))
    }

    pub(crate) fn from_parts_unchecked(hasher: H, size: u64, frontier: Vec<Digest>) -> Self {
        Self {
            hasher,
            size,
            frontier,
        }
    }

    /// The number of leaves appended.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// Whether no leaf was appended.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The frontier: the perfect subtree roots, largest (leftmost) first.
    pub fn frontier(&self) -> &[Digest] {
        &self.frontier
    }

    /// Appends a leaf (hashed as `H(0x00 || data)`).
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] if the tree already has `u64::MAX` leaves (reachable only through
    /// [`from_parts`](CompactTree::from_parts)); the tree is unchanged.
    pub fn push(&mut self, data: &[u8]) -> Result<(), PushError> {
        self.check_room()?;
        let h = self.hasher.hash_leaf(data);
        self.push_leaf_hash(h)
    }

    /// Appends a leaf given by its leaf hash.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
    pub fn push_leaf_hash(&mut self, leaf_hash: Digest) -> Result<(), PushError> {
        let new_size = self.check_room()?;
        // A binary counter: each trailing one bit of the size is a subtree the new leaf closes.
        let mut carry = leaf_hash;
        let mut size = self.size;
        while size & 1 == 1 {
            match self.frontier.pop() {
                Some(left) => carry = self.hasher.hash_children(&left, &carry),
                None => break,
            }
            size >>= 1;
        }
        self.frontier.push(carry);
        self.size = new_size;
        Ok(())
    }

    /// The size after one more leaf, if it fits in a `u64`.
    fn check_room(&self) -> Result<u64, PushError> {
        self.size
            .checked_add(1)
            .ok_or(PushError::Full { len: self.size })
    }

    /// The root (the empty root for no leaves): the right fold of the frontier.
    pub fn root(&self) -> Digest {
        let mut it = self.frontier.iter().rev();
        let Some(&last) = it.next() else {
            return self.hasher.hash_empty();
        };
        it.fold(last, |acc, left| self.hasher.hash_children(left, &acc))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly
mod tests {
    use super::*;

    #[test]
    fn a_full_tree_rejects_pushes_unchanged() {
        let frontier = vec![[7u8; 32]; 64];
        let mut c = CompactTree::from_parts(u64::MAX, frontier.clone()).unwrap();
        let root = c.root();
        assert_eq!(c.push(b"x"), Err(PushError::Full { len: u64::MAX }));
        assert_eq!(
            c.push_leaf_hash([1; 32]),
            Err(PushError::Full { len: u64::MAX })
        );
        assert_eq!(
            (c.len(), c.frontier(), c.root()),
            (u64::MAX, &frontier[..], root)
        );

        // One below: the last push fills it, carrying through all 63 subtrees.
        let mut c = CompactTree::from_parts(u64::MAX - 1, vec![[7u8; 32]; 63]).unwrap();
        assert_eq!(c.push(b"x"), Ok(()));
        assert_eq!((c.len(), c.frontier().len()), (u64::MAX, 64));
        assert!(c.push(b"y").is_err());
    }
}
