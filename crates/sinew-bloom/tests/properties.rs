//! Property tests: no false negatives for any variant, union/intersect semantics, counting
//! removal against a multiset model, exact round trips, and arbitrary bytes never panic.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::HashMap;

use proptest::prelude::*;
use sinew_bloom::{
    AtomicBloomFilter, BlockedBloomFilter, BloomFilter, ConfigError, CountingBloomFilter, Filter,
    MergeError, ScalableBloomFilter, SplitBlockBloomFilter, Xxh3Builder,
};

fn no_false_negatives<F: Filter>(mut f: F, items: &[Vec<u8>]) {
    for i in items {
        f.insert(i);
    }
    for i in items {
        assert!(f.contains(i));
        // Re-inserting a present item changes no bit (no counter was zero).
        assert!(!f.insert(i));
    }
}

fn union_and_intersect<F: Filter + Clone>(make: impl Fn() -> F, a: &[u64], b: &[u64]) {
    let (mut fa, mut fb) = (make(), make());
    for x in a {
        fa.insert(x);
    }
    for x in b {
        fb.insert(x);
    }
    let mut u = fa.clone();
    u.union(&fb).unwrap();
    assert!(a.iter().chain(b).all(|x| u.contains(x)));
    let mut i = fa.clone();
    i.intersect(&fb).unwrap();
    for x in a.iter().filter(|x| b.contains(x)) {
        assert!(i.contains(x));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_variant_has_no_false_negatives(
        items in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..300),
        n in 0usize..500,
        p in 0.0001f64..0.5,
    ) {
        no_false_negatives(BloomFilter::with_false_positive_rate(n, p).unwrap(), &items);
        no_false_negatives(BlockedBloomFilter::with_false_positive_rate(n, p).unwrap(), &items);
        no_false_negatives(SplitBlockBloomFilter::with_false_positive_rate(n, p).unwrap(), &items);
        no_false_negatives(CountingBloomFilter::with_false_positive_rate(n, p).unwrap(), &items);
        no_false_negatives(ScalableBloomFilter::with_false_positive_rate(n, p).unwrap(), &items);
        no_false_negatives(AtomicBloomFilter::with_false_positive_rate(n, p).unwrap(), &items);
    }

    #[test]
    fn tiny_filters_have_no_false_negatives(
        items in prop::collection::vec(any::<u64>(), 0..200),
        bits in 1u64..300,
        k in 1u32..16,
    ) {
        let mut f = BloomFilter::with_num_bits(bits, k).unwrap();
        let mut b = BlockedBloomFilter::with_num_bits(bits, k).unwrap();
        for x in &items {
            f.insert(x);
            b.insert(x);
        }
        prop_assert!(items.iter().all(|x| f.contains(x) && b.contains(x)));
    }

    /// The batched lookup answers exactly as `contains`, for every probe count, across batch
    /// edges (0, 1, 16, 17, ... queries) and on filters full enough to answer both ways.
    #[test]
    fn contains_many_agrees_with_contains(
        inserted in prop::collection::vec(any::<u64>(), 0..300),
        absent in prop::collection::vec(any::<u64>(), 0..100),
        blocks in 1u64..8,
        k in 1u32..=16,
    ) {
        let mut f = BlockedBloomFilter::with_num_bits(blocks * 512, k).unwrap();
        for x in &inserted {
            f.insert(x);
        }
        let queries: Vec<u64> = inserted.iter().chain(&absent).copied().collect();
        let one_by_one: Vec<bool> = queries.iter().map(|q| f.contains(q)).collect();
        let batched: Vec<bool> = f.contains_many(&queries).collect();
        prop_assert_eq!(&batched, &one_by_one);
        // By value, and through an iterator that is not a slice.
        let by_value: Vec<bool> = f.contains_many(queries.iter().copied()).collect();
        prop_assert_eq!(&by_value, &one_by_one);
        let mut many = f.contains_many(&queries);
        prop_assert_eq!(many.size_hint(), (queries.len(), Some(queries.len())));
        prop_assert!(many.by_ref().take(queries.len()).eq(one_by_one.iter().copied()));
        prop_assert_eq!(many.next(), None);
    }

    #[test]
    fn union_holds_both_and_intersect_holds_the_common(
        a in prop::collection::vec(0u64..400, 0..150),
        b in prop::collection::vec(0u64..400, 0..150),
    ) {
        union_and_intersect(|| BloomFilter::with_false_positive_rate(200, 0.01).unwrap(), &a, &b);
        union_and_intersect(|| BlockedBloomFilter::with_false_positive_rate(200, 0.01).unwrap(), &a, &b);
        union_and_intersect(|| SplitBlockBloomFilter::with_false_positive_rate(200, 0.01).unwrap(), &a, &b);
        union_and_intersect(|| CountingBloomFilter::with_false_positive_rate(200, 0.01).unwrap(), &a, &b);
        union_and_intersect(|| AtomicBloomFilter::with_false_positive_rate(200, 0.01).unwrap(), &a, &b);
        // Scalable: stage-wise union works while both have the same stages.
        let mut sa = ScalableBloomFilter::with_false_positive_rate(1000, 0.01).unwrap();
        let mut sb = ScalableBloomFilter::with_false_positive_rate(1000, 0.01).unwrap();
        a.iter().for_each(|x| { sa.insert(x); });
        b.iter().for_each(|x| { sb.insert(x); });
        let mut u = sa.clone();
        u.union(&sb).unwrap();
        prop_assert!(a.iter().chain(&b).all(|x| u.contains(x)));
        sa.intersect(&sb).unwrap();
        prop_assert!(a.iter().filter(|x| b.contains(x)).all(|x| sa.contains(x)));
    }

    /// Counting filter against a multiset: every item with a positive count is present;
    /// removing an absent item changes nothing; saturated counters never come back down.
    #[test]
    fn counting_matches_a_multiset(ops in prop::collection::vec((any::<bool>(), 0u64..60), 0..400)) {
        let mut f = CountingBloomFilter::with_false_positive_rate(60, 0.001).unwrap();
        let mut model: HashMap<u64, u32> = HashMap::new();
        for (insert, x) in ops {
            if insert {
                f.insert(&x);
                *model.entry(x).or_default() += 1;
            } else if model.get(&x).copied().unwrap_or(0) > 0 {
                prop_assert!(f.remove(&x));
                *model.get_mut(&x).unwrap() -= 1;
            } else if !f.contains(&x) {
                let before = f.to_bytes();
                prop_assert!(!f.remove(&x));
                prop_assert_eq!(f.to_bytes(), before);
            }
            for (item, count) in &model {
                if *count > 0 {
                    prop_assert!(f.contains(item), "{} lost", item);
                    prop_assert!(u32::from(f.count(item)) >= (*count).min(15));
                }
            }
        }
    }

    #[test]
    fn round_trips_are_exact(items in prop::collection::vec(any::<u64>(), 0..200), seed: u64, n in 1usize..300) {
        let s = Xxh3Builder::with_seed(seed);
        let mut c = BloomFilter::with_false_positive_rate_and_hasher(n, 0.02, s).unwrap();
        let mut b = BlockedBloomFilter::with_false_positive_rate_and_hasher(n, 0.02, s).unwrap();
        let mut k = CountingBloomFilter::with_false_positive_rate_and_hasher(n, 0.02, s).unwrap();
        let mut g = ScalableBloomFilter::with_false_positive_rate_and_hasher(n, 0.02, s).unwrap();
        let mut p = SplitBlockBloomFilter::with_false_positive_rate(n, 0.02).unwrap();
        for x in &items {
            c.insert(x);
            b.insert(x);
            k.insert(x);
            g.insert(x);
            p.insert(x);
        }
        prop_assert_eq!(&BloomFilter::from_bytes(&c.to_bytes()).unwrap(), &c);
        prop_assert_eq!(&BlockedBloomFilter::from_bytes(&b.to_bytes()).unwrap(), &b);
        prop_assert_eq!(&CountingBloomFilter::from_bytes(&k.to_bytes()).unwrap(), &k);
        prop_assert_eq!(&ScalableBloomFilter::from_bytes(&g.to_bytes()).unwrap(), &g);
        prop_assert_eq!(&SplitBlockBloomFilter::from_bytes(&p.to_bytes()).unwrap(), &p);
        prop_assert_eq!(BloomFilter::from_bytes(&c.to_bytes()).unwrap().seed(), seed);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = BloomFilter::from_bytes(&bytes);
        let _ = BlockedBloomFilter::from_bytes(&bytes);
        let _ = AtomicBloomFilter::from_bytes(&bytes);
        let _ = SplitBlockBloomFilter::from_bytes(&bytes);
        let _ = SplitBlockBloomFilter::from_bitset(&bytes);
        let _ = CountingBloomFilter::from_bytes(&bytes);
        let _ = ScalableBloomFilter::from_bytes(&bytes);
    }
}

#[test]
fn incompatible_filters_do_not_merge() {
    let mut a = BloomFilter::with_num_bits(1000, 3).unwrap();
    let b = BloomFilter::with_num_bits(1001, 3).unwrap();
    let c = BloomFilter::with_num_bits(1000, 4).unwrap();
    let d = BloomFilter::with_num_bits_and_hasher(1000, 3, Xxh3Builder::with_seed(1)).unwrap();
    assert_eq!(
        a.union(&b),
        Err(MergeError::Bits {
            left: 1000,
            right: 1001
        })
    );
    assert_eq!(
        a.intersect(&c),
        Err(MergeError::Hashes { left: 3, right: 4 })
    );
    assert_eq!(a.union(&d), Err(MergeError::Hasher));
    let mut s = BlockedBloomFilter::with_num_bits(1024, 3).unwrap();
    assert!(
        s.union(&BlockedBloomFilter::with_num_bits(2048, 3).unwrap())
            .is_err()
    );
    let mut p = SplitBlockBloomFilter::with_num_bits(256, 8).unwrap();
    assert!(
        p.union(&SplitBlockBloomFilter::with_num_bits(512, 8).unwrap())
            .is_err()
    );
    // Scalable filters with different stage counts do not merge.
    let mut x = ScalableBloomFilter::with_false_positive_rate(2, 0.01).unwrap();
    let mut y = x.clone();
    for i in 0..10u32 {
        y.insert(&i);
    }
    assert_eq!(x.union(&y), Err(MergeError::Stages));
    assert_eq!(y.clone().intersect(&y), Err(MergeError::Stages));
}

#[test]
fn bad_configs_are_errors() {
    for p in [0.0, 1.0, -1.0, f64::NAN, f64::INFINITY, 1.5] {
        assert!(matches!(
            BloomFilter::with_false_positive_rate(10, p),
            Err(ConfigError::FalsePositiveRate(_))
        ));
        assert!(BlockedBloomFilter::with_false_positive_rate(10, p).is_err());
        assert!(SplitBlockBloomFilter::with_false_positive_rate(10, p).is_err());
        assert!(CountingBloomFilter::with_false_positive_rate(10, p).is_err());
        assert!(ScalableBloomFilter::with_false_positive_rate(10, p).is_err());
        assert!(AtomicBloomFilter::with_false_positive_rate(10, p).is_err());
    }
    assert_eq!(
        BloomFilter::with_num_bits(0, 3).unwrap_err(),
        ConfigError::ZeroBits
    );
    assert!(matches!(
        BloomFilter::with_num_bits(10, 0),
        Err(ConfigError::Hashes { .. })
    ));
    assert!(matches!(
        BloomFilter::with_num_bits(10, 65),
        Err(ConfigError::Hashes { .. })
    ));
    assert!(matches!(
        BlockedBloomFilter::with_num_bits(10, 17),
        Err(ConfigError::Hashes { .. })
    ));
    assert!(matches!(
        SplitBlockBloomFilter::with_num_bits(256, 7),
        Err(ConfigError::Hashes { .. })
    ));
    assert!(matches!(
        BloomFilter::with_num_bits(u64::MAX, 3),
        Err(ConfigError::TooLarge { .. })
    ));
    assert!(matches!(
        CountingBloomFilter::with_num_bits(u64::MAX / 2, 3),
        Err(ConfigError::TooLarge { .. })
    ));
    let s = Xxh3Builder::default();
    assert!(matches!(
        ScalableBloomFilter::with_growth(10, 0.01, 1.0, 2, s),
        Err(ConfigError::TighteningRatio(_))
    ));
    assert!(matches!(
        ScalableBloomFilter::with_growth(10, 0.01, 0.5, 0, s),
        Err(ConfigError::Growth(0))
    ));
    // Rates so small the filter would pass MAX_BITS.
    assert!(matches!(
        BloomFilter::with_false_positive_rate(usize::MAX, 1e-300),
        Err(ConfigError::TooLarge { .. })
    ));
}

#[test]
fn zero_expected_items_is_the_smallest_filter() {
    let f = BloomFilter::with_false_positive_rate(0, 0.01).unwrap();
    assert_eq!(
        f.bits(),
        BloomFilter::with_false_positive_rate(1, 0.01)
            .unwrap()
            .bits()
    );
    let mut b = BlockedBloomFilter::with_false_positive_rate(0, 0.01).unwrap();
    assert_eq!(b.bits(), 512);
    assert!(b.insert("x") && b.contains("x"));
}

#[test]
fn clear_empties_and_estimates_track_the_fill() {
    let mut f = BloomFilter::with_false_positive_rate(1000, 0.01).unwrap();
    assert_eq!(f.len_estimate(), 0);
    assert!(f.false_positive_rate().abs() < f64::EPSILON);
    for i in 0..1000u32 {
        f.insert(&i);
    }
    let n = f.len_estimate();
    assert!((950..=1050).contains(&n), "{n}");
    let p = f.false_positive_rate();
    assert!((0.007..0.013).contains(&p), "{p}");
    f.clear();
    assert!(!f.contains(&1u32));
    assert_eq!(f.len_estimate(), 0);
}

#[test]
fn counting_saturates_and_stays_saturated() {
    let mut f = CountingBloomFilter::with_num_bits(64, 1).unwrap();
    for _ in 0..20 {
        f.insert("hot");
    }
    assert_eq!(f.count("hot"), 15);
    for _ in 0..20 {
        assert!(f.remove("hot"));
    }
    // Saturated: it lost count, so it stays present rather than risk a false negative.
    assert_eq!(f.count("hot"), 15);
    assert!(f.contains("hot"));
}

#[test]
fn counting_remove_restores_the_empty_filter() {
    let mut f = CountingBloomFilter::with_false_positive_rate(100, 0.01).unwrap();
    let empty = f.to_bytes();
    for i in 0..50u32 {
        f.insert(&i);
    }
    for i in 0..50u32 {
        assert!(f.remove(&i));
    }
    assert_eq!(f.to_bytes(), empty);
}

/// What `remove` does with an item that was never inserted, in both cases:
///
/// - the filter says it is absent (the usual case): `remove` returns `false` and changes
///   nothing, so no member is affected (also property-tested above);
/// - it is a false positive: the filter cannot tell it from a member (its counters are all
///   non-zero, exactly as if it had been inserted), so `remove` decrements them and can make
///   a real member vanish. This is inherent to counting filters, and documented on the type:
///   remove only what you inserted. The test pins that behaviour, so a change to it is seen.
#[test]
fn removing_a_never_inserted_item() {
    // 32 cells, 2 hashes, 8 members: false positives are common.
    let mut f = CountingBloomFilter::with_num_bits(32, 2).unwrap();
    let members: Vec<u32> = (0..8).collect();
    for m in &members {
        f.insert(m);
    }
    let mut absent_seen = 0;
    let mut vanished = None;
    for stranger in 1_000..2_000u32 {
        let mut g = f.clone();
        if g.contains(&stranger) {
            assert!(
                g.remove(&stranger),
                "a false positive is removed like a member"
            );
            if let Some(lost) = members.iter().find(|m| !g.contains(*m)) {
                vanished = Some((stranger, *lost));
            }
        } else {
            absent_seen += 1;
            assert!(!g.remove(&stranger));
            assert_eq!(g, f, "removing an absent item changed the filter");
        }
    }
    assert!(absent_seen > 100, "too few absent strangers: {absent_seen}");
    let (stranger, lost) = vanished.expect("some false positive's removal drops a member");
    // The member is gone because the stranger took its counters: the documented hazard.
    let mut g = f.clone();
    g.remove(&stranger);
    assert!(!g.contains(&lost));
}
