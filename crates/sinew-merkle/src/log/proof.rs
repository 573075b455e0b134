//! [`InclusionProof`] and [`ConsistencyProof`], with their byte encoding (documented in the
//! [`log`](crate::log#proof-byte-encoding-version-1-stable) module).

use super::hasher::{Digest, MerkleHasher, Sha256Hasher};
use super::verify::{
    consistency_len, inclusion_shape, verify_consistency_with, verify_inclusion_with,
};
use crate::error::{ConsistencyShapeError, DecodeError, InclusionShapeError, VerifyError};

const INCLUSION_TAG: u8 = 0x01;
const CONSISTENCY_TAG: u8 = 0x02;
const HEADER_LEN: usize = 1 + 8 + 8 + 1;

/// An inclusion proof: the sibling hashes on the path from leaf `index` to the root of the tree
/// of `size` leaves, from the leaf up (RFC 9162 2.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(
        try_from = "serde_impl::RawInclusion",
        into = "serde_impl::RawInclusion"
    )
)]
pub struct InclusionProof {
    index: u64,
    size: u64,
    hashes: Vec<Digest>,
}

/// A consistency proof: the hashes that show the tree of `new_size` leaves extends the tree of
/// `old_size` leaves (RFC 9162 2.1.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(
        try_from = "serde_impl::RawConsistency",
        into = "serde_impl::RawConsistency"
    )
)]
pub struct ConsistencyProof {
    old_size: u64,
    new_size: u64,
    hashes: Vec<Digest>,
}

fn check_consistency_shape(old: u64, new: u64, count: usize) -> Result<(), ConsistencyShapeError> {
    if old > new {
        return Err(ConsistencyShapeError::SizesOutOfOrder {
            size1: old,
            size2: new,
        });
    }
    if old == 0 {
        return Err(ConsistencyShapeError::EmptyOldTree);
    }
    let expected = if old == new {
        0
    } else {
        consistency_len(old, new)
    };
    if count != expected {
        return Err(ConsistencyShapeError::ProofLength {
            expected,
            actual: count,
        });
    }
    Ok(())
}

/// Reads the common layout: tag, two u64s, a count and the hashes.
fn decode_common(bytes: &[u8], tag: u8) -> Result<(u64, u64, Vec<Digest>), DecodeError> {
    let (&first, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
    if first != tag {
        return Err(DecodeError::UnknownTag(first));
    }
    let (a, rest) = rest
        .split_first_chunk::<8>()
        .ok_or(DecodeError::Truncated)?;
    let (b, rest) = rest
        .split_first_chunk::<8>()
        .ok_or(DecodeError::Truncated)?;
    let (&count, rest) = rest.split_first().ok_or(DecodeError::Truncated)?;
    let count = usize::from(count);
    let need = count * 32;
    if rest.len() < need {
        return Err(DecodeError::Truncated);
    }
    if rest.len() > need {
        return Err(DecodeError::TrailingBytes);
    }
    let hashes = rest
        .chunks_exact(32)
        .filter_map(|c| Digest::try_from(c).ok())
        .collect();
    Ok((u64::from_be_bytes(*a), u64::from_be_bytes(*b), hashes))
}

fn encode_common(tag: u8, a: u64, b: u64, hashes: &[Digest]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 32 * hashes.len());
    out.push(tag);
    out.extend_from_slice(&a.to_be_bytes());
    out.extend_from_slice(&b.to_be_bytes());
    // Proofs have at most 65 hashes (the constructors check the shape).
    out.push(u8::try_from(hashes.len()).unwrap_or(u8::MAX));
    for h in hashes {
        out.extend_from_slice(h);
    }
    out
}

impl InclusionProof {
    /// A proof from its parts, for proofs received in another form (JSON, protobuf).
    ///
    /// # Errors
    ///
    /// [`InclusionShapeError::IndexOutOfRange`] if `index >= size`,
    /// [`InclusionShapeError::ProofLength`] if
    /// `hashes` has the wrong length for `index` and `size`.
    pub fn new(index: u64, size: u64, hashes: Vec<Digest>) -> Result<Self, InclusionShapeError> {
        inclusion_shape(index, size, hashes.len())?;
        Ok(Self::new_unchecked(index, size, hashes))
    }

    pub(crate) fn new_unchecked(index: u64, size: u64, hashes: Vec<Digest>) -> Self {
        Self {
            index,
            size,
            hashes,
        }
    }

    /// The leaf index the proof is for.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The tree size the proof is for.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The sibling hashes, from the leaf up.
    pub fn hashes(&self) -> &[Digest] {
        &self.hashes
    }

    /// The sibling hashes, by value.
    pub fn into_hashes(self) -> Vec<Digest> {
        self.hashes
    }

    /// Verifies the proof (SHA-256): that the leaf with hash `leaf_hash` is at
    /// [`index`](Self::index) in the tree of `size` leaves whose root is `root`, where `size`
    /// and `root` come together from a source you trust (a signed tree head).
    ///
    /// This is [`verify_inclusion`](super::verify_inclusion) with this proof's index, after
    /// checking that the proof is for the trusted `size`. Against a fixed size, the hashes fit
    /// the path of one index only, so once this returns `Ok`, [`index`](Self::index) is the
    /// leaf's position; compare it with the index you expect if you expect one.
    ///
    /// # Security
    ///
    /// The size inside a proof (especially a decoded one) is chosen by whoever made the proof.
    /// RFC 9162's verifier does not pin it down: a proof can also verify, against the same
    /// root, for another size whose path has the same shape (a proof for leaf 1 of a tree of
    /// 2 also verifies as leaf 2 of a tree of 3). That is why this method takes the trusted
    /// size and rejects a proof that carries any other.
    ///
    /// # Errors
    ///
    /// [`VerifyError::SizeMismatch`] if the proof is not for `size`,
    /// [`VerifyError::RootMismatch`] if the leaf is not in the tree with that root.
    ///
    /// # Examples
    ///
    /// ```
    /// use sinew_merkle::MerkleTree;
    /// use sinew_merkle::log::{leaf_hash, InclusionProof};
    ///
    /// let log = MerkleTree::from_leaves([&b"a"[..], b"b", b"c"]);
    /// let (size, root) = (log.len(), log.root()); // from a signed tree head
    /// let wire = log.inclusion_proof(1, size)?.to_bytes();
    /// let proof = InclusionProof::from_bytes(&wire)?;
    /// proof.verify(&leaf_hash(b"b"), size, &root)?;
    /// assert_eq!(proof.index(), 1);
    /// Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self, leaf_hash: &Digest, size: u64, root: &Digest) -> Result<(), VerifyError> {
        self.verify_with(&Sha256Hasher, leaf_hash, size, root)
    }

    /// [`verify`](Self::verify) with any hasher.
    ///
    /// # Security
    ///
    /// As [`verify`](Self::verify): `size` and `root` must come from a trusted source.
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify).
    pub fn verify_with<H: MerkleHasher>(
        &self,
        hasher: &H,
        leaf_hash: &Digest,
        size: u64,
        root: &Digest,
    ) -> Result<(), VerifyError> {
        if self.size != size {
            return Err(VerifyError::SizeMismatch {
                proof: self.size,
                trusted: size,
            });
        }
        // The proof's shape was checked when it was made, so with the trusted size only the
        // root comparison can fail.
        verify_inclusion_with(hasher, leaf_hash, self.index, self.size, &self.hashes, root)
            .map_err(|_| VerifyError::RootMismatch)
    }

    /// The byte encoding (see the [`log`](crate::log#proof-byte-encoding-version-1-stable)
    /// module): `18 + 32 * hashes` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_common(INCLUSION_TAG, self.index, self.size, &self.hashes)
    }

    /// Decodes [`to_bytes`](Self::to_bytes)'s output, checking the proof's shape.
    ///
    /// # Security
    ///
    /// The index and size in the bytes are the sender's claim, not facts: a well-formed proof
    /// can still be wrong, and can even verify for a size other than the one it states.
    /// Verify it with [`verify`](Self::verify) against a size and root you trust (or pass your
    /// trusted size to [`verify_inclusion`](super::verify_inclusion)), never against
    /// [`size`](Self::size).
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] for anything but a well-formed encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (index, size, hashes) = decode_common(bytes, INCLUSION_TAG)?;
        inclusion_shape(index, size, hashes.len())
            .map_err(|_| DecodeError::Invalid("inclusion proof shape does not match its sizes"))?;
        Ok(Self::new_unchecked(index, size, hashes))
    }
}

impl ConsistencyProof {
    /// A proof from its parts.
    ///
    /// # Errors
    ///
    /// [`ConsistencyShapeError::SizesOutOfOrder`], [`ConsistencyShapeError::EmptyOldTree`] or
    /// [`ConsistencyShapeError::ProofLength`] when the parts cannot form a proof.
    pub fn new(
        old_size: u64,
        new_size: u64,
        hashes: Vec<Digest>,
    ) -> Result<Self, ConsistencyShapeError> {
        check_consistency_shape(old_size, new_size, hashes.len())?;
        Ok(Self::new_unchecked(old_size, new_size, hashes))
    }

    pub(crate) fn new_unchecked(old_size: u64, new_size: u64, hashes: Vec<Digest>) -> Self {
        Self {
            old_size,
            new_size,
            hashes,
        }
    }

    /// The old tree size.
    pub fn old_size(&self) -> u64 {
        self.old_size
    }

    /// The new tree size.
    pub fn new_size(&self) -> u64 {
        self.new_size
    }

    /// The proof hashes, in RFC 9162 order.
    pub fn hashes(&self) -> &[Digest] {
        &self.hashes
    }

    /// The proof hashes, by value.
    pub fn into_hashes(self) -> Vec<Digest> {
        self.hashes
    }

    /// Verifies the proof (SHA-256): that the tree of `new_size` leaves with root `new_root`
    /// extends the tree of `old_size` leaves with root `old_root`, where each (size, root) pair
    /// comes from a source you trust (signed tree heads).
    ///
    /// This is [`verify_consistency`](super::verify_consistency) after checking that the proof
    /// is for the trusted sizes.
    ///
    /// # Security
    ///
    /// The sizes inside a proof (especially a decoded one) are chosen by whoever made the
    /// proof, and RFC 9162's verifier does not pin them down: a proof can verify against the
    /// same roots for other sizes whose paths have the same shape. That is why this method
    /// takes the trusted sizes and rejects a proof that carries any others.
    ///
    /// # Errors
    ///
    /// [`VerifyError::SizeMismatch`] if the proof is not for `old_size` and `new_size`,
    /// [`VerifyError::RootMismatch`] if the trees are not consistent.
    ///
    /// # Examples
    ///
    /// ```
    /// use sinew_merkle::MerkleTree;
    /// use sinew_merkle::log::ConsistencyProof;
    ///
    /// let mut log = MerkleTree::from_leaves([&b"a"[..], b"b"]);
    /// let (old_size, old_root) = (log.len(), log.root()); // an earlier signed tree head
    /// log.push(b"c");
    /// let (new_size, new_root) = (log.len(), log.root()); // the latest one
    /// let wire = log.consistency_proof(old_size, new_size)?.to_bytes();
    /// let proof = ConsistencyProof::from_bytes(&wire)?;
    /// proof.verify(old_size, &old_root, new_size, &new_root)?;
    /// Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(
        &self,
        old_size: u64,
        old_root: &Digest,
        new_size: u64,
        new_root: &Digest,
    ) -> Result<(), VerifyError> {
        self.verify_with(&Sha256Hasher, old_size, old_root, new_size, new_root)
    }

    /// [`verify`](Self::verify) with any hasher.
    ///
    /// # Security
    ///
    /// As [`verify`](Self::verify): the sizes and roots must come from trusted sources.
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify).
    pub fn verify_with<H: MerkleHasher>(
        &self,
        hasher: &H,
        old_size: u64,
        old_root: &Digest,
        new_size: u64,
        new_root: &Digest,
    ) -> Result<(), VerifyError> {
        for (proof, trusted) in [(self.old_size, old_size), (self.new_size, new_size)] {
            if proof != trusted {
                return Err(VerifyError::SizeMismatch { proof, trusted });
            }
        }
        // As for inclusion: with the shape checked and the sizes trusted, only the roots can
        // fail to match.
        verify_consistency_with(
            hasher,
            self.old_size,
            self.new_size,
            &self.hashes,
            old_root,
            new_root,
        )
        .map_err(|_| VerifyError::RootMismatch)
    }

    /// The byte encoding (see the [`log`](crate::log#proof-byte-encoding-version-1-stable)
    /// module): `18 + 32 * hashes` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_common(CONSISTENCY_TAG, self.old_size, self.new_size, &self.hashes)
    }

    /// Decodes [`to_bytes`](Self::to_bytes)'s output, checking the proof's shape.
    ///
    /// # Security
    ///
    /// The sizes in the bytes are the sender's claim, not facts: a well-formed proof can still
    /// be wrong, and can even verify for sizes other than the ones it states. Verify it with
    /// [`verify`](Self::verify) against sizes and roots you trust (or pass your trusted sizes
    /// to [`verify_consistency`](super::verify_consistency)), never against
    /// [`old_size`](Self::old_size) and [`new_size`](Self::new_size).
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] for anything but a well-formed encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (old, new, hashes) = decode_common(bytes, CONSISTENCY_TAG)?;
        check_consistency_shape(old, new, hashes.len()).map_err(|_| {
            DecodeError::Invalid("consistency proof shape does not match its sizes")
        })?;
        Ok(Self::new_unchecked(old, new, hashes))
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    //! Serde forms: `{"index": 3, "size": 10, "hashes": ["<64 hex digits>", ...]}` in
    //! human-readable formats, raw 32-byte arrays otherwise. Deserializing checks the shape.

    use super::{ConsistencyProof, Digest, InclusionProof};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::fmt::Write as _;

    /// One hash: hex text when human-readable, 32 bytes otherwise.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct HashRepr(pub(super) Digest);

    impl Serialize for HashRepr {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if s.is_human_readable() {
                let mut text = String::with_capacity(64);
                for b in self.0 {
                    let _ = write!(text, "{b:02x}");
                }
                s.serialize_str(&text)
            } else {
                self.0.serialize(s)
            }
        }
    }

    impl<'de> Deserialize<'de> for HashRepr {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            if d.is_human_readable() {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                let bytes = text.as_bytes();
                if bytes.len() != 64 {
                    return Err(D::Error::custom("a hash is 64 hex digits"));
                }
                let mut out = [0u8; 32];
                for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                    let digit = |c: u8| (c as char).to_digit(16);
                    match pair {
                        [hi, lo] => match (digit(*hi), digit(*lo)) {
                            (Some(h), Some(l)) => *o = u8::try_from(h << 4 | l).unwrap_or(0),
                            _ => return Err(D::Error::custom("invalid hex digit in hash")),
                        },
                        _ => return Err(D::Error::custom("a hash is 64 hex digits")),
                    }
                }
                Ok(Self(out))
            } else {
                Digest::deserialize(d).map(Self)
            }
        }
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct RawInclusion {
        index: u64,
        size: u64,
        hashes: Vec<HashRepr>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct RawConsistency {
        old_size: u64,
        new_size: u64,
        hashes: Vec<HashRepr>,
    }

    impl From<InclusionProof> for RawInclusion {
        fn from(p: InclusionProof) -> Self {
            Self {
                index: p.index,
                size: p.size,
                hashes: p.hashes.into_iter().map(HashRepr).collect(),
            }
        }
    }

    impl TryFrom<RawInclusion> for InclusionProof {
        type Error = crate::InclusionShapeError;
        fn try_from(r: RawInclusion) -> Result<Self, Self::Error> {
            Self::new(r.index, r.size, r.hashes.into_iter().map(|h| h.0).collect())
        }
    }

    impl From<ConsistencyProof> for RawConsistency {
        fn from(p: ConsistencyProof) -> Self {
            Self {
                old_size: p.old_size,
                new_size: p.new_size,
                hashes: p.hashes.into_iter().map(HashRepr).collect(),
            }
        }
    }

    impl TryFrom<RawConsistency> for ConsistencyProof {
        type Error = crate::ConsistencyShapeError;
        fn try_from(r: RawConsistency) -> Result<Self, Self::Error> {
            Self::new(
                r.old_size,
                r.new_size,
                r.hashes.into_iter().map(|h| h.0).collect(),
            )
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)] // tests fail loudly
mod tests {
    use super::*;
    use crate::MerkleTree;

    #[test]
    fn round_trip_and_rejections() {
        let t = MerkleTree::from_leaves((0..21u8).map(|i| [i]));
        let p = t.inclusion_proof(5, 21).unwrap_or_else(|e| panic!("{e}"));
        let bytes = p.to_bytes();
        assert_eq!(bytes.len(), 18 + 32 * p.hashes().len());
        assert_eq!(InclusionProof::from_bytes(&bytes), Ok(p.clone()));
        assert_eq!(
            InclusionProof::from_bytes(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Truncated)
        );
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            InclusionProof::from_bytes(&long),
            Err(DecodeError::TrailingBytes)
        );
        assert_eq!(InclusionProof::from_bytes(&[]), Err(DecodeError::Truncated));
        assert_eq!(
            ConsistencyProof::from_bytes(&bytes),
            Err(DecodeError::UnknownTag(INCLUSION_TAG))
        );
        let c = t.consistency_proof(7, 21).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ConsistencyProof::from_bytes(&c.to_bytes()), Ok(c.clone()));
        // A count that does not match the sizes.
        let mut wrong = c.to_bytes();
        wrong[17] += 1;
        wrong.extend_from_slice(&[0; 32]);
        assert!(matches!(
            ConsistencyProof::from_bytes(&wrong),
            Err(DecodeError::Invalid(_))
        ));
    }

    /// The review finding behind `verify`'s size argument: RFC 9162's verifier accepts a proof
    /// for leaf 1 of a tree of 2 as a proof for leaf 2 of a tree of 3 with the same root, so a
    /// decoded proof that claims the second shape must be rejected against the trusted size 2.
    #[test]
    fn verify_pins_the_trusted_size() {
        let t = MerkleTree::from_leaves([&b"a"[..], b"b"]);
        let (size, root) = (t.len(), t.root());
        let leaf = crate::log::leaf_hash(b"b");
        let honest = t.inclusion_proof(1, 2).unwrap();
        assert_eq!(honest.verify(&leaf, size, &root), Ok(()));
        // The free verifier cannot tell the shapes apart.
        assert_eq!(
            crate::log::verify_inclusion(&leaf, 2, 3, honest.hashes(), &root),
            Ok(())
        );
        let forged = InclusionProof::from_bytes(
            &InclusionProof::new(2, 3, honest.hashes().to_vec())
                .unwrap()
                .to_bytes(),
        )
        .unwrap();
        assert_eq!(
            forged.verify(&leaf, size, &root),
            Err(VerifyError::SizeMismatch {
                proof: 3,
                trusted: 2
            })
        );
        assert_eq!(
            forged.verify(&leaf, 3, &root),
            Ok(()),
            "only the trusted size tells them apart"
        );

        let mut t = MerkleTree::from_leaves((0..6u8).map(|i| [i]));
        let (old_size, old_root) = (t.len(), t.root());
        t.push(&[6]);
        let c = t.consistency_proof(old_size, 7).unwrap();
        assert_eq!(c.verify(old_size, &old_root, 7, &t.root()), Ok(()));
        assert_eq!(
            c.verify(old_size, &old_root, 8, &t.root()),
            Err(VerifyError::SizeMismatch {
                proof: 7,
                trusted: 8
            })
        );
        assert_eq!(
            c.verify(5, &old_root, 7, &t.root()),
            Err(VerifyError::SizeMismatch {
                proof: 6,
                trusted: 5
            })
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_json_round_trip_checks_shape() {
        let t = MerkleTree::from_leaves((0..9u8).map(|i| [i]));
        let p = t.inclusion_proof(8, 9).unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_string(&p).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            json.starts_with(r#"{"index":8,"size":9,"hashes":[""#),
            "{json}"
        );
        let back: InclusionProof = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, p);
        let bad = json.replace(r#""size":9"#, r#""size":8"#);
        assert!(serde_json::from_str::<InclusionProof>(&bad).is_err());
        let c = t.consistency_proof(3, 9).unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::to_string(&c).unwrap_or_else(|e| panic!("{e}"));
        let back: ConsistencyProof = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, c);
    }
}
