//! Property tests: proofs from trees of up to 2000 leaves verify, and any single-bit change to
//! the proof, the leaf, the index, a root or a size is rejected (with the one documented
//! exception for sizes); compact and full trees agree; encodings round-trip.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use sinew_merkle::log::{
    CompactTree, ConsistencyProof, InclusionProof, empty_root, leaf_hash, node_hash,
    verify_consistency, verify_inclusion,
};
use sinew_merkle::{Digest, MerkleTree, VerifyError};

/// MTH straight from RFC 6962 section 2.1.
fn reference_root(leaves: &[Digest]) -> Digest {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

fn tree(n: u64) -> MerkleTree {
    MerkleTree::from_leaves((0..n).map(|i| i.to_le_bytes()))
}

fn flip(h: &Digest, bit: usize) -> Digest {
    let mut h = *h;
    h[bit / 8 % 32] ^= 1 << (bit % 8);
    h
}

/// The operations the RFC 9162 inclusion verifier performs for (index, size): for each proof
/// hash, whether it goes on the left. Two claims with the same trace are indistinguishable to
/// any verifier, because the proof does not encode the size.
fn inclusion_trace(index: u64, size: u64, len: usize) -> Option<Vec<bool>> {
    if index >= size {
        return None;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut ops = Vec::new();
    for _ in 0..len {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            ops.push(true);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            ops.push(false);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(ops)
}

/// The same for the consistency verifier: whether root1 seeds the path, and per proof hash
/// whether it extends both roots (on the left) or only the second (on the right).
fn consistency_trace(s1: u64, s2: u64, len: usize) -> Option<(bool, Vec<bool>)> {
    if s1 == 0 || s1 >= s2 || len == 0 {
        return None;
    }
    let seeded = s1.is_power_of_two();
    let rest = if seeded { len } else { len - 1 };
    let (mut f, mut s) = (s1 - 1, s2 - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut ops = Vec::new();
    for _ in 0..rest {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            ops.push(true);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            ops.push(false);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some((seeded, ops))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn inclusion_proofs_verify_and_bit_flips_fail(
        n in 1u64..=2000, i in any::<u64>(), bit in 0usize..256, ibit in 0u32..64,
    ) {
        let t = tree(n);
        let index = i % n;
        let root = t.root();
        let leaf = leaf_hash(&index.to_le_bytes());
        let proof = t.inclusion_proof(index, n).unwrap();
        prop_assert_eq!(proof.index(), index);
        prop_assert!(verify_inclusion(&leaf, index, n, proof.hashes(), &root).is_ok());
        prop_assert!(proof.verify(&leaf, n, &root).is_ok());
        prop_assert_eq!(
            proof.verify(&leaf, n ^ (1 << ibit), &root),
            Err(VerifyError::SizeMismatch { proof: n, trusted: n ^ (1 << ibit) })
        );

        // Leaf, root and each proof hash.
        prop_assert!(verify_inclusion(&flip(&leaf, bit), index, n, proof.hashes(), &root).is_err());
        prop_assert!(verify_inclusion(&leaf, index, n, proof.hashes(), &flip(&root, bit)).is_err());
        for k in 0..proof.hashes().len() {
            let mut p = proof.hashes().to_vec();
            p[k] = flip(&p[k], bit);
            prop_assert!(verify_inclusion(&leaf, index, n, &p, &root).is_err());
        }
        // Index: always rejected.
        prop_assert!(verify_inclusion(&leaf, index ^ (1 << ibit), n, proof.hashes(), &root).is_err());
        // Size: rejected unless the new size gives the verifier exactly the same operations
        // (then no verifier can tell; the size must come signed with the root, as in RFC 9162's
        // tree heads). The trace check makes sure that is the only way through.
        let n2 = n ^ (1 << ibit);
        if verify_inclusion(&leaf, index, n2, proof.hashes(), &root).is_ok() {
            let len = proof.hashes().len();
            prop_assert_eq!(inclusion_trace(index, n2, len), inclusion_trace(index, n, len));
        }
        // Dropping or adding a hash.
        if let Some((_, shorter)) = proof.hashes().split_last() {
            prop_assert!(verify_inclusion(&leaf, index, n, shorter, &root).is_err());
        }
        let mut longer = proof.hashes().to_vec();
        longer.push(root);
        prop_assert!(verify_inclusion(&leaf, index, n, &longer, &root).is_err());
        // Byte encoding.
        prop_assert_eq!(InclusionProof::from_bytes(&proof.to_bytes()).unwrap(), proof);
    }

    #[test]
    fn consistency_proofs_verify_and_bit_flips_fail(
        n in 1u64..=2000, m in any::<u64>(), bit in 0usize..256, sbit in 0u32..64,
    ) {
        let t = tree(n);
        let old = m % n + 1; // 1..=n
        let (root1, root2) = (t.root_at(old).unwrap(), t.root());
        let proof = t.consistency_proof(old, n).unwrap();
        prop_assert!(verify_consistency(old, n, proof.hashes(), &root1, &root2).is_ok());
        prop_assert!(proof.verify(old, &root1, n, &root2).is_ok());
        prop_assert!(proof.verify(old, &root1, n ^ (1 << sbit), &root2).is_err());
        prop_assert!(proof.verify(old ^ (1 << sbit), &root1, n, &root2).is_err());

        prop_assert!(verify_consistency(old, n, proof.hashes(), &flip(&root1, bit), &root2).is_err());
        prop_assert!(verify_consistency(old, n, proof.hashes(), &root1, &flip(&root2, bit)).is_err());
        for k in 0..proof.hashes().len() {
            let mut p = proof.hashes().to_vec();
            p[k] = flip(&p[k], bit);
            prop_assert!(verify_consistency(old, n, &p, &root1, &root2).is_err());
        }
        let len = proof.hashes().len();
        for (s1, s2) in [(old ^ (1 << sbit), n), (old, n ^ (1 << sbit))] {
            if verify_consistency(s1, s2, proof.hashes(), &root1, &root2).is_ok() {
                prop_assert!(consistency_trace(s1, s2, len).is_some());
                prop_assert_eq!(consistency_trace(s1, s2, len), consistency_trace(old, n, len));
            }
        }
        if old < n {
            let mut longer = proof.hashes().to_vec();
            longer.push(root2);
            prop_assert!(verify_consistency(old, n, &longer, &root1, &root2).is_err());
            prop_assert!(verify_consistency(old, n, &proof.hashes()[1..], &root1, &root2).is_err());
        }
        prop_assert_eq!(ConsistencyProof::from_bytes(&proof.to_bytes()).unwrap(), proof);
    }

    #[test]
    fn compact_full_and_reference_trees_agree(n in 0u64..600) {
        let leaves: Vec<Digest> = (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut full = MerkleTree::new();
        let mut compact = CompactTree::new();
        for (k, l) in leaves.iter().enumerate() {
            full.push_leaf_hash(*l);
            compact.push_leaf_hash(*l).unwrap();
            if k % 97 == 0 {
                prop_assert_eq!(compact.root(), full.root());
            }
        }
        let want = reference_root(&leaves);
        prop_assert_eq!(full.root(), want);
        prop_assert_eq!(compact.root(), want);
        prop_assert_eq!(tree(n).root(), want);
        let restored = full.to_compact();
        prop_assert_eq!(&restored, &compact);
        let again = CompactTree::from_parts(n, compact.frontier().to_vec()).unwrap();
        prop_assert_eq!(again.root(), want);
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = InclusionProof::from_bytes(&bytes);
        let _ = ConsistencyProof::from_bytes(&bytes);
        let _ = sinew_merkle::antientropy::Message::decode(&bytes);
    }
}

#[test]
fn every_proof_of_small_trees_verifies() {
    let t = tree(64);
    for size in 1..=64 {
        let root = t.root_at(size).unwrap();
        for index in 0..size {
            let p = t.inclusion_proof(index, size).unwrap();
            verify_inclusion(
                &leaf_hash(&index.to_le_bytes()),
                index,
                size,
                p.hashes(),
                &root,
            )
            .unwrap();
        }
        for old in 1..=size {
            let p = t.consistency_proof(old, size).unwrap();
            verify_consistency(old, size, p.hashes(), &t.root_at(old).unwrap(), &root).unwrap();
        }
    }
}
