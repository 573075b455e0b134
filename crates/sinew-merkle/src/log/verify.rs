//! Proof verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2) as free functions.
//!
//! Every verifier first checks the claimed sizes and the proof's length against the sizes (so a
//! huge or malformed proof costs nothing to reject), then runs the RFC's loop. None of them
//! panics or allocates, whatever the input.

use super::hasher::{Digest, MerkleHasher, Sha256Hasher};
use crate::error::{
    ConsistencyShapeError, InclusionShapeError, VerifyConsistencyError, VerifyConsistencyRawError,
    VerifyInclusionError, VerifyInclusionRawError,
};

/// The lengths of the two parts of an inclusion proof for `index` in a tree of `size`
/// (requires `index < size`): the hashes below the point where the paths to `index` and to
/// `size - 1` meet, and the hashes above it (one per left subtree on the right border).
pub(crate) fn decompose(index: u64, size: u64) -> (usize, usize) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner as usize, border as usize)
}

/// The number of hashes in an inclusion proof for `index` in a tree of `size` (requires
/// `index < size`).
pub(crate) fn inclusion_len(index: u64, size: u64) -> usize {
    let (inner, border) = decompose(index, size);
    inner + border
}

/// Checks that `index < size` and that a proof of `count` hashes has the right length for
/// them: that length, or why not.
pub(crate) fn inclusion_shape(
    index: u64,
    size: u64,
    count: usize,
) -> Result<usize, InclusionShapeError> {
    if index >= size {
        return Err(InclusionShapeError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if count != expected {
        return Err(InclusionShapeError::ProofLength {
            expected,
            actual: count,
        });
    }
    Ok(expected)
}

/// The number of hashes in a consistency proof from `size1` to `size2` (requires
/// `0 < size1 < size2`).
pub(crate) fn consistency_len(size1: u64, size2: u64) -> usize {
    let (inner, border) = decompose(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    // The proof starts with the hash of the subtree of 2^shift leaves that ends at size1,
    // unless size1 is exactly that subtree (then root1 plays its part).
    let start = usize::from(!size1.is_power_of_two());
    start + inner - shift + border
}

/// Verifies an RFC 6962 SHA-256 inclusion proof: that the leaf with hash `leaf_hash` sits at
/// `index` in the tree of `size` leaves whose root is `root`.
///
/// `proof` lists the sibling hashes from the leaf up, as
/// [`MerkleTree::inclusion_proof`](crate::MerkleTree::inclusion_proof) and RFC 9162 produce
/// them. Panic-free for any input.
///
/// Take `size` and `root` together from one trusted source (a signed tree head): the proof
/// only encodes the shape of the path, and some other sizes give the same shape, so a proof
/// checked against a root with a size that did not come with it can pass. This is inherent to
/// RFC 9162 proofs, not to this implementation; the same holds for [`verify_consistency`].
///
/// # Errors
///
/// [`VerifyInclusionError::Shape`] if `index >= size`
/// ([`IndexOutOfRange`](InclusionShapeError::IndexOutOfRange)) or the proof has the wrong
/// number of hashes for `index` and `size` ([`ProofLength`](InclusionShapeError::ProofLength)),
/// and [`VerifyInclusionError::RootMismatch`] if it does not lead to `root`.
///
/// # Examples
///
/// ```
/// use sinew_merkle::MerkleTree;
/// use sinew_merkle::log::{leaf_hash, verify_inclusion};
///
/// let mut log = MerkleTree::new();
/// for entry in [&b"alpha"[..], b"beta", b"gamma"] {
///     log.push(entry);
/// }
/// let proof = log.inclusion_proof(1, 3)?;
/// verify_inclusion(&leaf_hash(b"beta"), 1, 3, proof.hashes(), &log.root())?;
/// assert!(verify_inclusion(&leaf_hash(b"BETA"), 1, 3, proof.hashes(), &log.root()).is_err());
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_inclusion(
    leaf_hash: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), VerifyInclusionError> {
    verify_inclusion_with(&Sha256Hasher, leaf_hash, index, size, proof, root)
}

/// [`verify_inclusion`] with any [`MerkleHasher`].
///
/// # Errors
///
/// As [`verify_inclusion`].
pub fn verify_inclusion_with<H: MerkleHasher>(
    hasher: &H,
    leaf_hash: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), VerifyInclusionError> {
    let computed = root_from_inclusion_proof(hasher, leaf_hash, index, size, proof)?;
    if computed == *root {
        Ok(())
    } else {
        Err(VerifyInclusionError::RootMismatch)
    }
}

/// The root that an inclusion proof leads to (RFC 9162 2.1.3.2, without the final comparison).
///
/// Useful when the root arrives later or is looked up by the result.
///
/// # Errors
///
/// [`InclusionShapeError::IndexOutOfRange`] or [`InclusionShapeError::ProofLength`] as in
/// [`verify_inclusion`].
pub fn root_from_inclusion_proof<H: MerkleHasher>(
    hasher: &H,
    leaf_hash: &Digest,
    index: u64,
    size: u64,
    proof: &[Digest],
) -> Result<Digest, InclusionShapeError> {
    let expected = inclusion_shape(index, size, proof.len())?;
    // RFC 9162 2.1.3.2, step by step.
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return Err(InclusionShapeError::ProofLength {
                expected,
                actual: proof.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = hasher.hash_children(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = hasher.hash_children(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(InclusionShapeError::ProofLength {
            expected,
            actual: proof.len(),
        });
    }
    Ok(r)
}

/// Verifies an RFC 6962 SHA-256 consistency proof: that the tree of `size2` leaves with root
/// `root2` extends the tree of `size1` leaves with root `root1` (the log only grew).
///
/// Follows RFC 9162 2.1.4.2. Equal sizes need an empty proof and equal roots (the empty tree
/// has exactly one root, [`empty_root`](super::empty_root)); a proof from size 0 is rejected
/// as the RFC does not define one. Panic-free for any input.
///
/// # Errors
///
/// [`VerifyConsistencyError::Shape`] if `size1 > size2`
/// ([`SizesOutOfOrder`](ConsistencyShapeError::SizesOutOfOrder)), if `size1 == 0 < size2`
/// ([`EmptyOldTree`](ConsistencyShapeError::EmptyOldTree)) or if the proof has the wrong
/// number of hashes ([`ProofLength`](ConsistencyShapeError::ProofLength)), and
/// [`VerifyConsistencyError::RootMismatch`] if it does not lead to both roots.
///
/// # Examples
///
/// ```
/// use sinew_merkle::MerkleTree;
/// use sinew_merkle::log::verify_consistency;
///
/// let mut log = MerkleTree::new();
/// log.push(b"one");
/// log.push(b"two");
/// let old_root = log.root();
/// log.push(b"three");
/// let proof = log.consistency_proof(2, 3)?;
/// verify_consistency(2, 3, proof.hashes(), &old_root, &log.root())?;
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Digest],
    root1: &Digest,
    root2: &Digest,
) -> Result<(), VerifyConsistencyError> {
    verify_consistency_with(&Sha256Hasher, size1, size2, proof, root1, root2)
}

/// The checks of a consistency proof that need no hashing: `Ok(true)` when they settle it.
fn consistency_trivial<H: MerkleHasher>(
    hasher: &H,
    size1: u64,
    size2: u64,
    proof_len: usize,
    root1: &[u8],
    root2: &[u8],
) -> Result<bool, VerifyConsistencyError> {
    if size1 > size2 {
        return Err(ConsistencyShapeError::SizesOutOfOrder { size1, size2 }.into());
    }
    if size1 == size2 {
        if proof_len != 0 {
            return Err(ConsistencyShapeError::ProofLength {
                expected: 0,
                actual: proof_len,
            }
            .into());
        }
        if root1 != root2 || (size1 == 0 && root1 != hasher.hash_empty()) {
            return Err(VerifyConsistencyError::RootMismatch);
        }
        return Ok(true);
    }
    if size1 == 0 {
        return Err(ConsistencyShapeError::EmptyOldTree.into());
    }
    let expected = consistency_len(size1, size2);
    if proof_len != expected {
        return Err(ConsistencyShapeError::ProofLength {
            expected,
            actual: proof_len,
        }
        .into());
    }
    Ok(false)
}

/// [`verify_consistency`] with any [`MerkleHasher`].
///
/// # Errors
///
/// As [`verify_consistency`].
pub fn verify_consistency_with<H: MerkleHasher>(
    hasher: &H,
    size1: u64,
    size2: u64,
    proof: &[Digest],
    root1: &Digest,
    root2: &Digest,
) -> Result<(), VerifyConsistencyError> {
    if consistency_trivial(hasher, size1, size2, proof.len(), root1, root2)? {
        return Ok(());
    }
    // RFC 9162 2.1.4.2. When size1 is a power of two, root1 is the first node of the path.
    let (first, rest) = match proof.split_first() {
        Some((first, rest)) if !size1.is_power_of_two() => (first, rest),
        _ => (root1, proof),
    };
    let (mut fnode, mut snode) = (size1 - 1, size2 - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return Err(VerifyConsistencyError::RootMismatch);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = hasher.hash_children(c, &fr);
            sr = hasher.hash_children(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = hasher.hash_children(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode == 0 && fr == *root1 && sr == *root2 {
        Ok(())
    } else {
        Err(VerifyConsistencyError::RootMismatch)
    }
}

/// A hash from bytes, or the length of bytes that are not one.
fn to_hash(bytes: &[u8]) -> Result<Digest, usize> {
    Digest::try_from(bytes).map_err(|_| bytes.len())
}

/// The most hashes a proof has: 64 for inclusion, 65 for consistency.
const MAX_PROOF_LEN: usize = 65;

/// Why byte strings could not become a proof's hashes.
enum RawHashes {
    /// More than [`MAX_PROOF_LEN`] of them (the callers check the length first): how many.
    TooMany(usize),
    /// One of them is not 32 bytes long: its length.
    HashLength(usize),
}

/// Copies a proof of checked length (at most [`MAX_PROOF_LEN`]) into `buf`, on the stack:
/// the `_raw` verifiers do not allocate either.
fn to_hashes<'b, P: AsRef<[u8]>>(
    proof: &[P],
    buf: &'b mut [Digest; MAX_PROOF_LEN],
) -> Result<&'b [Digest], RawHashes> {
    let out = buf
        .get_mut(..proof.len())
        .ok_or(RawHashes::TooMany(proof.len()))?;
    for (slot, p) in out.iter_mut().zip(proof) {
        *slot = to_hash(p.as_ref()).map_err(RawHashes::HashLength)?;
    }
    Ok(out)
}

/// [`verify_inclusion`] for hashes that arrive as byte strings of unchecked length (JSON,
/// protobuf, another language's API): a hash that is not 32 bytes is rejected with
/// [`VerifyInclusionRawError::HashLength`].
///
/// # Errors
///
/// As [`verify_inclusion`], plus [`VerifyInclusionRawError::HashLength`].
pub fn verify_inclusion_raw<P: AsRef<[u8]>>(
    leaf_hash: &[u8],
    index: u64,
    size: u64,
    proof: &[P],
    root: &[u8],
) -> Result<(), VerifyInclusionRawError> {
    let expected = inclusion_shape(index, size, proof.len())?;
    let mut buf = [[0; 32]; MAX_PROOF_LEN];
    let proof = to_hashes(proof, &mut buf).map_err(|e| match e {
        RawHashes::TooMany(actual) => InclusionShapeError::ProofLength { expected, actual }.into(),
        RawHashes::HashLength(len) => VerifyInclusionRawError::HashLength { len },
    })?;
    let hash_length = |len| VerifyInclusionRawError::HashLength { len };
    let leaf_hash = to_hash(leaf_hash).map_err(hash_length)?;
    let root = to_hash(root).map_err(hash_length)?;
    Ok(verify_inclusion(&leaf_hash, index, size, proof, &root)?)
}

/// [`verify_consistency`] for hashes that arrive as byte strings of unchecked length.
///
/// As in transparency-dev/merkle, equal sizes compare the two roots as byte strings whatever
/// their length (no hashing is involved); every other case rejects a hash that is not 32 bytes
/// with [`VerifyConsistencyRawError::HashLength`].
///
/// # Errors
///
/// As [`verify_consistency`], plus [`VerifyConsistencyRawError::HashLength`].
pub fn verify_consistency_raw<P: AsRef<[u8]>>(
    size1: u64,
    size2: u64,
    proof: &[P],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), VerifyConsistencyRawError> {
    if consistency_trivial(&Sha256Hasher, size1, size2, proof.len(), root1, root2)? {
        return Ok(());
    }
    let mut buf = [[0; 32]; MAX_PROOF_LEN];
    let proof = to_hashes(proof, &mut buf).map_err(|e| match e {
        RawHashes::TooMany(actual) => {
            VerifyConsistencyRawError::Shape(ConsistencyShapeError::ProofLength {
                expected: consistency_len(size1, size2),
                actual,
            })
        }
        RawHashes::HashLength(len) => VerifyConsistencyRawError::HashLength { len },
    })?;
    let hash_length = |len| VerifyConsistencyRawError::HashLength { len };
    let root1 = to_hash(root1).map_err(hash_length)?;
    let root2 = to_hash(root2).map_err(hash_length)?;
    Ok(verify_consistency(size1, size2, proof, &root1, &root2)?)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)] // tests fail loudly
mod tests {
    use super::*;

    #[test]
    fn huge_and_zero_sizes_do_not_panic() {
        let h = [7u8; 32];
        let long = vec![h; 200];
        for &(a, b) in &[
            (0, 0),
            (0, 1),
            (1, 0),
            (u64::MAX, u64::MAX),
            (u64::MAX - 1, u64::MAX),
            (1, u64::MAX),
            (1 << 63, u64::MAX),
        ] {
            for p in [&long[..], &long[..64], &long[..65], &long[..1], &[][..]] {
                let r = verify_inclusion(&h, a, b, p, &h);
                // The one valid input: leaf 0 of a one-leaf tree is its root.
                assert!(
                    r.is_err() || (a, b, p.len()) == (0, 1, 0),
                    "{a} {b} {}",
                    p.len()
                );
                assert!(
                    verify_consistency(a, b, p, &h, &h).is_err()
                        || (a == b && p.is_empty() && a != 0)
                );
            }
        }
    }

    /// From the first `merkle_verify` fuzz finding (a wrong property in the target, not a
    /// verifier bug): a one-leaf tree's root is its leaf hash, so the empty proof is valid for
    /// any hash that is both; soundness only holds relative to a trusted root.
    #[test]
    fn one_leaf_tree_accepts_its_own_root() {
        for h in [[0u8; 32], [0xff; 32], crate::log::leaf_hash(b"x")] {
            assert_eq!(verify_inclusion(&h, 0, 1, &[], &h), Ok(()));
            assert_eq!(
                verify_inclusion(&h, 0, 1, &[], &[1; 32]),
                Err(VerifyInclusionError::RootMismatch)
            );
            assert!(verify_inclusion(&h, 0, 1, &[h], &h).is_err());
        }
    }

    #[test]
    fn raw_verifiers_take_the_longest_proofs() {
        // The longest proofs (64 inclusion hashes, 65 consistency hashes) fit the stack buffer.
        assert_eq!(inclusion_len(0, u64::MAX), 64);
        let long = vec![vec![1u8; 32]; 66];
        assert_eq!(
            verify_inclusion_raw(&[0; 32], 0, u64::MAX, &long[..64], &[0; 32]),
            Err(VerifyInclusionRawError::RootMismatch)
        );
        let max = (1..64)
            .map(|k| (consistency_len((1 << k) - 1, u64::MAX), k))
            .max()
            .unwrap_or((0, 0));
        assert!(max.0 <= MAX_PROOF_LEN, "{max:?}");
        let (size1, size2) = ((1u64 << max.1) - 1, u64::MAX);
        assert_eq!(
            verify_consistency_raw(size1, size2, &long[..max.0], &[0; 32], &[0; 32]),
            Err(VerifyConsistencyRawError::RootMismatch)
        );
        assert!(matches!(
            verify_consistency_raw(size1, size2, &long[..=max.0], &[0; 32], &[0; 32]),
            Err(VerifyConsistencyRawError::Shape(
                ConsistencyShapeError::ProofLength { .. }
            ))
        ));
    }

    #[test]
    fn proof_lengths_match_generated_proofs() {
        let mut t = crate::MerkleTree::new();
        for i in 0..70u32 {
            t.push(&i.to_le_bytes());
        }
        for size in 1..=70 {
            for index in 0..size {
                let p = t
                    .inclusion_proof(index, size)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(p.hashes().len(), inclusion_len(index, size));
            }
            for old in 1..size {
                let p = t
                    .consistency_proof(old, size)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(p.hashes().len(), consistency_len(old, size), "{old} {size}");
            }
        }
    }
}
