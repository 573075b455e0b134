//! Both verifiers (typed and byte-string forms) on arbitrary proofs, indices, sizes and roots:
//! no panic, and no acceptance of a false claim about the reference tree (64 leaves): whenever
//! the (new) root given is the reference tree's root *at the size claimed*, an accepted claim
//! is the one the reference tree makes, with the proof it produces.
//!
//! A reference root given with a different size says nothing about the reference tree, and
//! acceptance there is not a forgery: verifiers take leaf *hashes*, so any interior node can
//! stand as the leaf hash of a smaller tree (the empty proof of a one-leaf tree whose leaf hash
//! is its root is valid for any hash). At the claimed size the tree's shape is fixed, so
//! accepting anything but the reference proof would need a SHA-256 collision.
//!
//! Hashes are drawn from the reference tree's real leaves, roots and proof hashes as well as
//! arbitrary bytes, so the fuzzer can assemble near-valid proofs (swapped, reordered, at the
//! wrong size) rather than only random ones that no verifier could ever accept.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_merkle::log::{
    verify_consistency, verify_consistency_raw, verify_inclusion, verify_inclusion_raw,
};
use sinew_merkle::{Digest, MerkleTree};

const N: u64 = 64;

fn tree() -> &'static MerkleTree {
    static TREE: OnceLock<MerkleTree> = OnceLock::new();
    TREE.get_or_init(|| MerkleTree::from_leaves((0..N).map(|i| i.to_le_bytes())))
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Sel {
    Raw([u8; 32]),
    Leaf(u8),
    Root(u8),
    Inclusion { index: u8, size: u8, k: u8 },
    Consistency { old: u8, new: u8, k: u8 },
}

fn pick(sel: Sel) -> Digest {
    let t = tree();
    let size = |s: u8| u64::from(s) % (N + 1);
    let hashes = |r: Option<Vec<Digest>>, k: u8| {
        r.and_then(|h| h.get(usize::from(k) % h.len().max(1)).copied())
            .unwrap_or([0; 32])
    };
    match sel {
        Sel::Raw(h) => h,
        Sel::Leaf(i) => t.leaf_hash(u64::from(i) % N).unwrap_or([0; 32]),
        Sel::Root(s) => t.root_at(size(s)).unwrap_or([0; 32]),
        Sel::Inclusion { index, size: s, k } => hashes(
            t.inclusion_proof(u64::from(index), size(s))
                .ok()
                .map(|p| p.into_hashes()),
            k,
        ),
        Sel::Consistency { old, new, k } => hashes(
            t.consistency_proof(size(old), size(new))
                .ok()
                .map(|p| p.into_hashes()),
            k,
        ),
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    index: u64,
    size: u64,
    size2: u64,
    small: bool,
    leaf: Sel,
    root: Sel,
    root2: Sel,
    proof: Vec<Sel>,
    raw: Vec<Vec<u8>>,
}

fuzz_target!(|input: Input| {
    let t = tree();
    let (mut index, mut size, mut size2) = (input.index, input.size, input.size2);
    if input.small {
        // Mostly sizes the reference tree has, where acceptance is possible.
        index %= N + 2;
        size %= N + 2;
        size2 %= N + 2;
    }
    let leaf = pick(input.leaf);
    let root = pick(input.root);
    let root2 = pick(input.root2);
    let proof: Vec<Digest> = input.proof.iter().take(80).map(|&s| pick(s)).collect();

    // The reference root at a claimed size, if the reference tree has that size.
    let reference_root = |size: u64| {
        (1..=N)
            .contains(&size)
            .then(|| t.root_at(size).ok())
            .flatten()
    };
    if verify_inclusion(&leaf, index, size, &proof, &root).is_ok()
        && reference_root(size) == Some(root)
    {
        let expected = t.inclusion_proof(index, size).map(|p| p.into_hashes());
        assert!(
            expected == Ok(proof.clone()) && t.leaf_hash(index) == Some(leaf),
            "accepted a false inclusion claim: {index} {size}"
        );
    }
    if verify_consistency(size, size2, &proof, &root, &root2).is_ok()
        && reference_root(size2) == Some(root2)
    {
        let trivial = size == size2 && proof.is_empty() && root == root2;
        let expected = t.consistency_proof(size, size2).map(|p| p.into_hashes());
        let found =
            size < size2 && reference_root(size) == Some(root) && expected == Ok(proof.clone());
        assert!(
            trivial || found,
            "accepted a false consistency claim: {size} {size2}"
        );
    }

    // The byte-string forms on arbitrary lengths: no panic, and on 32-byte input the same
    // verdict as the typed forms.
    let raw: Vec<&[u8]> = input.raw.iter().take(80).map(Vec::as_slice).collect();
    let first = raw.first().copied().unwrap_or(&[]);
    let _ = verify_inclusion_raw(first, index, size, &raw, first);
    let _ = verify_consistency_raw(size, size2, &raw, first, first);
    assert_eq!(
        verify_inclusion_raw(&leaf, index, size, &proof, &root).is_ok(),
        verify_inclusion(&leaf, index, size, &proof, &root).is_ok()
    );
    assert_eq!(
        verify_consistency_raw(size, size2, &proof, &root, &root2).is_ok(),
        verify_consistency(size, size2, &proof, &root, &root2).is_ok()
    );
});
