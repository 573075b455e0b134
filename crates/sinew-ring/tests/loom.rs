//! loom models of `BoundedLoad`'s acquire/release protocol: under every interleaving, no
//! acquire is refused while a node has room, no node's load exceeds `⌈c × m / n⌉` for the `m`
//! keys placed, and the loads always sum to the total.
//!
//! Run with:
//! `RUSTFLAGS="--cfg sinew_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p sinew-ring --test loom`
#![cfg(sinew_loom)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use loom::sync::Arc;
use loom::thread;
use sinew_ring::{BoundedLoad, Jump};

/// Two nodes, capacity factor 1: the tightest bound, so any lost update or stale read in the
/// protocol shows up as a load of 3 (over ⌈3/2⌉ = 2) or a refused acquire.
fn two_nodes() -> Arc<BoundedLoad<Jump<u8>>> {
    let nodes: Jump<u8> = [0, 1].into_iter().collect();
    Arc::new(BoundedLoad::new(nodes, 1.0).unwrap())
}

#[test]
fn concurrent_acquires_respect_the_bound() {
    loom::model(|| {
        let lb = two_nodes();
        // Every key prefers the same node first, so they compete for it.
        let hash = 7;
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let lb = Arc::clone(&lb);
                thread::spawn(move || lb.acquire_index(hash).expect("never refused"))
            })
            .collect();
        let mine = lb.acquire_index(hash).expect("never refused");
        let mut got = vec![mine];
        for h in handles {
            got.push(h.join().unwrap());
        }
        assert_eq!(lb.total(), 3);
        assert_eq!(lb.load(0) + lb.load(1), 3);
        assert!(
            lb.load(0) <= 2 && lb.load(1) <= 2,
            "loads {} {}",
            lb.load(0),
            lb.load(1)
        );
        for i in got {
            assert!(lb.release(i));
        }
        assert_eq!(lb.total(), 0);
    });
}

#[test]
fn release_races_with_acquire() {
    loom::model(|| {
        let lb = two_nodes();
        let first = lb.acquire_index(3).unwrap();
        let t = {
            let lb = Arc::clone(&lb);
            thread::spawn(move || {
                let i = lb.acquire_index(3).expect("never refused");
                // Loads never sum to more than the total, even mid-protocol.
                assert!(lb.load(0) + lb.load(1) <= lb.total() + 1);
                i
            })
        };
        assert!(lb.release(first));
        assert!(!lb.release(5));
        let second = t.join().unwrap();
        assert_eq!(lb.total(), 1);
        assert_eq!(lb.load(second), 1);
        assert!(lb.release(second));
        assert!(!lb.release(second), "a load released twice is refused");
        assert_eq!(lb.total(), 0);
    });
}

/// A router that only ever offers node 0 (it breaks the trait's contract): concurrent acquires
/// must still all be placed, through the scan of every node, within the bound.
struct OnlyFirst;

impl sinew_ring::ConsistentHash for OnlyFirst {
    type Node = u8;
    fn len(&self) -> usize {
        2
    }
    fn node(&self, index: usize) -> Option<&u8> {
        [&0, &1].get(index).copied()
    }
    fn route_index(&self, _: u64) -> Option<usize> {
        Some(0)
    }
    fn replica_indices(&self, _: u64, n: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::repeat_n(0, n)
    }
}

#[test]
fn scan_fallback_places_every_key_under_contention() {
    loom::model(|| {
        let lb = Arc::new(BoundedLoad::new(OnlyFirst, 1.0).unwrap());
        let t = {
            let lb = Arc::clone(&lb);
            thread::spawn(move || lb.acquire_index(1).expect("never refused"))
        };
        let a = lb.acquire_index(2).expect("never refused");
        let b = lb.acquire_index(3).expect("never refused");
        let c = t.join().unwrap();
        assert_eq!(lb.total(), 3);
        assert_eq!(lb.load(0) + lb.load(1), 3);
        assert!(
            lb.load(0) <= 2 && lb.load(1) <= 2,
            "{} {}",
            lb.load(0),
            lb.load(1)
        );
        for i in [a, b, c] {
            assert!(lb.release(i));
        }
    });
}
