//! Differential target: arbitrary operation sequences on `MerkleTree`, `CompactTree` and two
//! `AntiEntropyTree`s against simple reference models. The log trees must give the roots of
//! RFC 6962's recursive definition and the proofs of RFC 9162's recursive PATH and SUBPROOF;
//! the anti-entropy trees must report exactly the buckets where two map models differ.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_merkle::antientropy::diff;
use sinew_merkle::log::{CompactTree, empty_root, leaf_hash, node_hash};
use sinew_merkle::{AntiEntropyTree, Digest, MerkleTree};

#[derive(Arbitrary, Debug)]
enum Op {
    Push(Vec<u8>),
    Root(u16),
    Inclusion(u16, u16),
    Consistency(u16, u16),
    Put { b_side: bool, key: u8, version: u8 },
    Delete { b_side: bool, key: u8 },
}

fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// MTH(D[n]), RFC 6962 2.1.
fn mth(d: &[Digest]) -> Digest {
    match d {
        [] => empty_root(),
        [one] => *one,
        _ => {
            let (l, r) = d.split_at(split(d.len()));
            node_hash(&mth(l), &mth(r))
        }
    }
}

/// PATH(m, D[n]), RFC 9162 2.1.3.1.
fn path(m: usize, d: &[Digest]) -> Vec<Digest> {
    if d.len() <= 1 {
        return Vec::new();
    }
    let k = split(d.len());
    let (l, r) = d.split_at(k);
    let mut p = if m < k { path(m, l) } else { path(m - k, r) };
    p.push(if m < k { mth(r) } else { mth(l) });
    p
}

/// SUBPROOF(m, D[n], b), RFC 9162 2.1.4.1.
fn subproof(m: usize, d: &[Digest], b: bool) -> Vec<Digest> {
    if m == d.len() {
        return if b { Vec::new() } else { vec![mth(d)] };
    }
    let k = split(d.len());
    let (l, r) = d.split_at(k);
    let mut p = if m <= k {
        subproof(m, l, b)
    } else {
        subproof(m - k, r, false)
    };
    p.push(if m <= k { mth(r) } else { mth(l) });
    p
}

fn apply(tree: &AntiEntropyTree, model: &mut BTreeMap<u8, u64>, op: &Op) {
    match *op {
        Op::Put { key, version, .. } => {
            let v = u64::from(version);
            match model.insert(key, v) {
                Some(old) => tree.update([key], old, v),
                None => tree.insert([key], v),
            }
        }
        Op::Delete { key, .. } => {
            if let Some(old) = model.remove(&key) {
                tree.remove([key], old);
            }
        }
        _ => {}
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut tree = MerkleTree::new();
    let mut compact = CompactTree::new();
    let mut leaves: Vec<Digest> = Vec::new();
    let (Ok(ta), Ok(tb)) = (AntiEntropyTree::new(4), AntiEntropyTree::new(4)) else {
        return;
    };
    let (mut ma, mut mb) = (BTreeMap::new(), BTreeMap::new());
    for op in ops.iter().take(300) {
        match op {
            Op::Push(data) => {
                tree.push(data);
                assert!(compact.push(data).is_ok());
                leaves.push(leaf_hash(data));
                assert_eq!(tree.root(), compact.root());
            }
            Op::Root(size) => {
                let size = usize::from(*size);
                match tree.root_at(size as u64) {
                    Ok(root) => assert_eq!(root, mth(&leaves[..size])),
                    Err(_) => assert!(size > leaves.len()),
                }
            }
            Op::Inclusion(index, size) => {
                let (m, n) = (usize::from(*index), usize::from(*size));
                match tree.inclusion_proof(m as u64, n as u64) {
                    Ok(p) => assert_eq!(p.hashes(), &path(m, &leaves[..n])[..]),
                    Err(_) => assert!(n > leaves.len() || m >= n),
                }
            }
            Op::Consistency(old, new) => {
                let (m, n) = (usize::from(*old), usize::from(*new));
                match tree.consistency_proof(m as u64, n as u64) {
                    Ok(p) if m == n => assert!(p.hashes().is_empty()),
                    Ok(p) => assert_eq!(p.hashes(), &subproof(m, &leaves[..n], true)[..]),
                    Err(_) => assert!(n > leaves.len() || m > n || m == 0),
                }
            }
            Op::Put { b_side, .. } | Op::Delete { b_side, .. } => {
                if *b_side {
                    apply(&tb, &mut mb, op);
                } else {
                    apply(&ta, &mut ma, op);
                }
            }
        }
    }
    assert_eq!(tree.root(), mth(&leaves));
    let keys: BTreeSet<u8> = ma.keys().chain(mb.keys()).copied().collect();
    let want: BTreeSet<u32> = keys
        .into_iter()
        .filter(|k| ma.get(k) != mb.get(k))
        .map(|k| ta.bucket_of([k]))
        .collect();
    let got: BTreeSet<u32> = diff(&ta, &tb)
        .unwrap_or_default()
        .iter()
        .flat_map(|r| r.start..r.end)
        .collect();
    assert_eq!(got, want);
});
