//! loom models of `AntiEntropyTree`'s concurrent updates: lock-free bucket writes and dirty
//! bits, and cached inner digests recomputed under a lock. Under loom a dirty group is 2
//! buckets, so the depth-2 trees here have two groups (cached level 1) under a cached root. Property: whatever the
//! interleaving, once the writers are done every digest (bucket, inner node, root) equals that
//! of the same updates applied sequentially, even when a reader refreshed the cache midway.
//!
//! Run with:
//! `RUSTFLAGS="--cfg sinew_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p sinew-merkle --test loom`
#![cfg(sinew_loom)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests fail loudly

use loom::sync::Arc;
use loom::thread;
use sinew_merkle::AntiEntropyTree;

const DEPTH: u8 = 2;

/// Every digest of the tree, bottom level first.
fn snapshot(t: &AntiEntropyTree) -> Vec<u128> {
    (0..=DEPTH)
        .rev()
        .flat_map(|level| (0..1u32 << level).map(move |i| (level, i)))
        .map(|(level, i)| t.node_digest(level, i).unwrap())
        .collect()
}

/// Keys that land in the same bucket (so the writers race on the same atomics and dirty bit),
/// one in the other bucket of the same group (same dirty bit, different bucket), and one in the
/// other group (different dirty bit, shared root).
fn keys() -> (String, String, String, String) {
    let t = AntiEntropyTree::new(DEPTH).unwrap();
    let k0 = "k0".to_string();
    let b0 = t.bucket_of(&k0);
    let same = (1..)
        .map(|i| format!("k{i}"))
        .find(|k| t.bucket_of(k) == b0)
        .unwrap();
    let sibling = (1..)
        .map(|i| format!("k{i}"))
        .find(|k| t.bucket_of(k) == b0 ^ 1)
        .unwrap();
    let other = (1..)
        .map(|i| format!("k{i}"))
        .find(|k| t.bucket_of(k) == b0 ^ 2)
        .unwrap();
    (k0, same, sibling, other)
}

fn expected(ops: &[(&str, u64)]) -> Vec<u128> {
    let t = AntiEntropyTree::new(DEPTH).unwrap();
    for (k, v) in ops {
        t.insert(k, *v);
    }
    snapshot(&t)
}

#[test]
fn concurrent_writers_equal_sequential() {
    loom::model(|| {
        let (a, b, _, _) = keys();
        let want = expected(&[(&a, 1), (&b, 2)]);
        let t = Arc::new(AntiEntropyTree::new(DEPTH).unwrap());
        let t1 = t.clone();
        let a1 = a.clone();
        let w1 = thread::spawn(move || t1.insert(&a1, 1));
        let t2 = t.clone();
        let b2 = b.clone();
        let w2 = thread::spawn(move || t2.insert(&b2, 2));
        w1.join().unwrap();
        w2.join().unwrap();
        assert_eq!(snapshot(&t), want);
    });
}

#[test]
fn reader_refreshing_midway_does_not_lose_writes() {
    loom::model(|| {
        let (a, _, sib, _) = keys();
        let want = expected(&[(&a, 1), (&sib, 3)]);
        let t = Arc::new(AntiEntropyTree::new(DEPTH).unwrap());
        // A read first, so the cache is warm and the marks start clear.
        let _ = t.root();
        let t1 = t.clone();
        let a1 = a.clone();
        let w1 = thread::spawn(move || t1.insert(&a1, 1));
        let t2 = t.clone();
        let s2 = sib.clone();
        let w2 = thread::spawn(move || {
            t2.insert(&s2, 3);
            t2.root()
        });
        // The main thread reads concurrently too.
        let _ = t.node_digest(1, 0);
        w1.join().unwrap();
        let _mid = w2.join().unwrap();
        assert_eq!(snapshot(&t), want);
    });
}

#[test]
fn update_and_remove_race_with_insert() {
    loom::model(|| {
        let (a, b, _, _) = keys();
        let want = expected(&[(&a, 5)]);
        let t = Arc::new(AntiEntropyTree::new(DEPTH).unwrap());
        t.insert(&b, 9);
        let _ = t.root();
        let t1 = t.clone();
        let a1 = a.clone();
        let w1 = thread::spawn(move || {
            t1.insert(&a1, 4);
            t1.update(&a1, 4, 5);
        });
        let t2 = t.clone();
        let b2 = b.clone();
        let w2 = thread::spawn(move || {
            t2.remove(&b2, 9);
            t2.root()
        });
        w1.join().unwrap();
        let _ = w2.join().unwrap();
        assert_eq!(snapshot(&t), want);
    });
}

#[test]
fn writers_in_different_groups_and_a_reader() {
    loom::model(|| {
        let (a, _, _, other) = keys();
        let want = expected(&[(&a, 1), (&other, 2)]);
        let t = Arc::new(AntiEntropyTree::new(DEPTH).unwrap());
        let _ = t.root();
        let t1 = t.clone();
        let a1 = a.clone();
        let w1 = thread::spawn(move || t1.insert(&a1, 1));
        let t2 = t.clone();
        let o2 = other.clone();
        let w2 = thread::spawn(move || t2.insert(&o2, 2));
        let _ = t.root();
        w1.join().unwrap();
        w2.join().unwrap();
        assert_eq!(snapshot(&t), want);
    });
}
