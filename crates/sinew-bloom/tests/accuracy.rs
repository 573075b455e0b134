//! Measured false-positive rates at n = 1,000,000 against the rate asked for.
//!
//! Keys: inserted keys are `splitmix64(i)` for `i in 0..N`, absent keys `splitmix64(i)` for
//! `i in N..2N` (splitmix64 is a bijection, so the two sets are disjoint). Everything is
//! fixed, so each test is deterministic; the margins say what a correctly sized filter meets.
//!
//! Margin derivation: with `N = 10^6` absent queries at true rate `p`, the false-positive
//! count is Binomial(N, p), standard deviation `sqrt(N p)`: 100 at 1% (1% of the mean) and
//! 31.6 at 0.1% (3.2%). The windows, 0.9x..1.1x for the classic filter and at most
//! 1.1x for the others, are ±10 sd at 1% and ±3.2 sd at 0.1%: a filter whose true rate is the
//! target fails with probability below 0.2% for any choice of keys, while a sizing error of
//! 10% or more (the usual rounding slop) fails.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, clippy::print_stderr)]

use sinew_bloom::{
    AtomicBloomFilter, BlockedBloomFilter, BloomFilter, Filter, ScalableBloomFilter,
};
use sinew_hash::splitmix64;

const N: u64 = 1_000_000;
const N_USIZE: usize = 1_000_000;

/// Fills `f` with the N inserted keys, checks there is no false negative, and returns the
/// measured rate over the N absent keys.
fn measure<F: Filter>(f: &mut F) -> f64 {
    for i in 0..N {
        f.insert(&splitmix64(i));
    }
    for i in 0..N {
        assert!(f.contains(&splitmix64(i)), "false negative for key {i}");
    }
    let hits = (N..2 * N).filter(|i| f.contains(&splitmix64(*i))).count();
    let rate = hits as f64 / N as f64;
    eprintln!("{} bits, {} hashes: rate {rate}", f.bits(), f.hashes());
    rate
}

#[test]
fn classic_1_percent_within_0_9x_to_1_1x() {
    let mut f = BloomFilter::with_false_positive_rate(N_USIZE, 0.01).unwrap();
    let rate = measure(&mut f);
    assert!((0.009..=0.011).contains(&rate), "measured {rate}");
    // The fill-based estimates agree with what was measured.
    let est = f.false_positive_rate();
    assert!((est / rate - 1.0).abs() < 0.05, "estimate {est} vs {rate}");
    let n = f.len_estimate();
    assert!((990_000..=1_010_000).contains(&n), "len estimate {n}");
}

#[test]
fn classic_0_1_percent_within_0_9x_to_1_1x() {
    let mut f = BloomFilter::with_false_positive_rate(N_USIZE, 0.001).unwrap();
    let rate = measure(&mut f);
    assert!((0.0009..=0.0011).contains(&rate), "measured {rate}");
}

#[test]
fn blocked_1_percent_at_most_1_1x() {
    let mut f = BlockedBloomFilter::with_false_positive_rate(N_USIZE, 0.01).unwrap();
    let rate = measure(&mut f);
    assert!(rate <= 0.011, "measured {rate}");
    let est = f.false_positive_rate();
    assert!((est / rate - 1.0).abs() < 0.1, "estimate {est} vs {rate}");
    let n = f.len_estimate();
    assert!((950_000..=1_050_000).contains(&n), "len estimate {n}");
}

#[test]
fn blocked_0_1_percent_at_most_1_1x() {
    let mut f = BlockedBloomFilter::with_false_positive_rate(N_USIZE, 0.001).unwrap();
    let rate = measure(&mut f);
    assert!(rate <= 0.0011, "measured {rate}");
}

#[test]
fn atomic_1_percent_at_most_1_1x_and_same_bits_as_blocked() {
    let mut f = AtomicBloomFilter::with_false_positive_rate(N_USIZE, 0.01).unwrap();
    let rate = measure(&mut f);
    assert!(rate <= 0.011, "measured {rate}");
    let mut g = BlockedBloomFilter::with_false_positive_rate(N_USIZE, 0.01).unwrap();
    for i in 0..N {
        g.insert(&splitmix64(i));
    }
    assert_eq!(f.to_blocked(), g);
}

/// Started at 1/100 of the final size: stages of 10k, 20k, ..., 640k items.
fn scalable(p: f64) {
    let mut f = ScalableBloomFilter::with_false_positive_rate(N_USIZE / 100, p).unwrap();
    let rate = measure(&mut f);
    assert_eq!(f.stages(), 7);
    assert!(rate <= 1.1 * p, "measured {rate}");
    assert!(f.false_positive_rate() <= p);
}

#[test]
fn scalable_1_percent_from_1_100th_at_most_1_1x() {
    scalable(0.01);
}

#[test]
fn scalable_0_1_percent_from_1_100th_at_most_1_1x() {
    scalable(0.001);
}

/// Small classic filters meet their rate too. Each (n, p) is measured as the mean over 500
/// filters (seeds 0..500, so 500 independent filters) of the rate over 1,000 absent keys.
///
/// Margin: the mean of 500,000 queries at true rate `p` has a standard deviation of at most
/// `sqrt(p / 500,000)` from the queries plus the spread between filters; measured, the
/// standard deviation of the mean is at most 4.5% of `p` for every case here (largest at
/// n = 100, p = 0.1%). The bound 1.15x is more than 3 sd above a filter whose true rate is
/// the target, and the sizing's second-order terms keep small filters below it (measured
/// 0.37x to 0.98x). Probes that are not independent at small `m` (plain double hashing
/// with a multiply-high reduction, which an earlier version had) measure 1.1x to 8.8x here.
#[test]
fn small_classic_filters_meet_their_rate() {
    const FILTERS: u64 = 500;
    const QUERIES: u64 = 1_000;
    for n in [1usize, 10, 100] {
        for p in [0.01, 0.001] {
            let mut hits = 0;
            for seed in 0..FILTERS {
                let hasher = sinew_bloom::Xxh3Builder::with_seed(seed);
                let mut f = BloomFilter::with_false_positive_rate_and_hasher(n, p, hasher).unwrap();
                for i in 0..n as u64 {
                    f.insert(&splitmix64(i));
                }
                hits += (0..QUERIES)
                    .filter(|i| f.contains(&splitmix64(i + (1 << 40))))
                    .count();
            }
            let rate = hits as f64 / (FILTERS * QUERIES) as f64;
            assert!(rate <= 1.15 * p, "n {n}, target {p}: measured {rate}");
        }
    }
}

/// The compound rate of a scalable filter stays at the target however far it grows: started
/// at 1, 10 and 100 items and given 20,000 (15, 11 and 8 stages), measured over 400,000
/// absent keys.
///
/// Margin: at true rate 1%, 400,000 queries give a standard deviation of 1.6% of the rate
/// (`sqrt(4000)` = 63 of 4,000 hits); at 0.1%, 5%. The bound 1.1x is 6 and 2 sd above the
/// target; measured, the filters land at 0.32x to 0.95x (tiny first stages are sized
/// conservatively). An earlier version, whose small stages missed their share, measured
/// 4.5x from 1 item and 1.4x from 10.
#[test]
fn scalable_compound_rate_holds_from_tiny_starts() {
    const ITEMS: u64 = 20_000;
    const QUERIES: u64 = 400_000;
    for (start, p) in [
        (1usize, 0.01),
        (10, 0.01),
        (100, 0.01),
        (1, 0.001),
        (10, 0.001),
    ] {
        let mut f = ScalableBloomFilter::with_false_positive_rate(start, p).unwrap();
        for i in 0..ITEMS {
            f.insert(&splitmix64(i));
        }
        let hits = (ITEMS..ITEMS + QUERIES)
            .filter(|i| f.contains(&splitmix64(*i)))
            .count();
        let rate = hits as f64 / QUERIES as f64;
        assert!(
            rate <= 1.1 * p,
            "start {start}, target {p}: measured {rate}"
        );
        assert!(
            f.false_positive_rate() <= p,
            "estimate {}",
            f.false_positive_rate()
        );
    }
}
