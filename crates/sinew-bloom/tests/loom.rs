//! loom models of `AtomicBloomFilter`: inserts from two threads are all visible after join,
//! and a lookup ordered after an insert (by release/acquire) never misses it.
//!
//! Run with:
//! `RUSTFLAGS="--cfg sinew_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p sinew-bloom --test loom`
#![cfg(sinew_loom)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use sinew_bloom::AtomicBloomFilter;

/// One 512-bit block and 4 probes per key: every key shares the block, so the two threads'
/// `fetch_or`s race on the same words.
fn filter() -> Arc<AtomicBloomFilter> {
    Arc::new(AtomicBloomFilter::with_num_bits(512, 4).unwrap())
}

#[test]
fn inserts_on_two_threads_are_all_visible_after_join() {
    loom::model(|| {
        let f = filter();
        let g = f.clone();
        let t = thread::spawn(move || {
            g.insert_hash(0x1111_2222_3333_4444);
            g.insert_hash(0x5555_6666_7777_8888);
        });
        f.insert_hash(0x9999_aaaa_bbbb_cccc);
        // Our own insert is visible to us at once.
        assert!(f.contains_hash(0x9999_aaaa_bbbb_cccc));
        t.join().unwrap();
        for h in [
            0x1111_2222_3333_4444,
            0x5555_6666_7777_8888,
            0x9999_aaaa_bbbb_cccc,
        ] {
            assert!(f.contains_hash(h), "{h:x} lost");
        }
    });
}

#[test]
fn a_lookup_after_an_insert_never_misses() {
    loom::model(|| {
        let f = filter();
        let published = Arc::new(AtomicBool::new(false));
        let (g, p) = (f.clone(), published.clone());
        let writer = thread::spawn(move || {
            g.insert_hash(0x0123_4567_89ab_cdef);
            p.store(true, Ordering::Release);
        });
        // A concurrent insert of another key into the same words must not hide the first.
        let h = f.clone();
        let other = thread::spawn(move || {
            h.insert_hash(0xfedc_ba98_7654_3210);
        });
        if published.load(Ordering::Acquire) {
            assert!(f.contains_hash(0x0123_4567_89ab_cdef));
        }
        writer.join().unwrap();
        other.join().unwrap();
        assert!(f.contains_hash(0x0123_4567_89ab_cdef));
        assert!(f.contains_hash(0xfedc_ba98_7654_3210));
    });
}

/// What the filter's own orderings promise: a thread that sees an item in the filter also
/// sees what its inserter wrote before inserting it (insert is Release, lookup Acquire).
#[test]
fn seeing_an_item_makes_its_inserters_earlier_writes_visible() {
    loom::model(|| {
        let f = filter();
        let data = Arc::new(loom::sync::atomic::AtomicU64::new(0));
        let (g, d) = (f.clone(), data.clone());
        let writer = thread::spawn(move || {
            d.store(42, Ordering::Relaxed);
            g.insert_hash(0x0123_4567_89ab_cdef);
        });
        if f.contains_hash(0x0123_4567_89ab_cdef) {
            assert_eq!(data.load(Ordering::Relaxed), 42);
        }
        writer.join().unwrap();
    });
}

/// Two threads insert the same new key at once: the bits are set exactly once, so at least
/// one of the two inserts reports the key as new (`true`); a lost update of a `fetch_or`
/// would let both report `false`, or lose a bit and the key.
#[test]
fn a_racing_insert_of_one_key_is_reported_new_at_least_once() {
    loom::model(|| {
        let f = filter();
        let g = f.clone();
        let t = thread::spawn(move || g.insert_hash(0x0123_4567_89ab_cdef));
        let mine = f.insert_hash(0x0123_4567_89ab_cdef);
        let theirs = t.join().unwrap();
        assert!(mine || theirs, "neither insert saw the key as new");
        assert!(f.contains_hash(0x0123_4567_89ab_cdef));
        // Inserting it again is not new.
        assert!(!f.insert_hash(0x0123_4567_89ab_cdef));
    });
}
