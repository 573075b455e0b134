//! Measuring how many keys a membership change moves.

use crate::{ConsistentHash, hash::sample_hash};

/// The fraction of keys whose owner differs between `old` and `new`, estimated from `samples`
/// key hashes (a fixed SplitMix64 sequence, so the answer is reproducible). Works for any two
/// routers, even of different kinds. Keys with no owner on either side count as moved only if
/// the other side has one. `samples == 0` gives 0.
///
/// The standard error is at most `0.5 / √samples` (a binomial proportion): 100 000 samples
/// estimate to about ±0.3 %.
///
/// ```
/// use sinew_ring::{HashRing, moved_fraction};
///
/// let old: HashRing<u32> = (0..10).collect();
/// let mut new = old.clone();
/// new.add(10)?;
/// let moved = moved_fraction(&old, &new, 100_000);
/// assert!((moved - 1.0 / 11.0).abs() < 0.03, "{moved}");
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn moved_fraction<A, B>(old: &A, new: &B, samples: u64) -> f64
where
    A: ConsistentHash,
    B: ConsistentHash,
    A::Node: PartialEq<B::Node>,
{
    if samples == 0 {
        return 0.0;
    }
    let mut moved = 0u64;
    for i in 0..samples {
        let h = sample_hash(i);
        let same = match (old.route_hash(h), new.route_hash(h)) {
            (Some(a), Some(b)) => a == b,
            (None, None) => true,
            _ => false,
        };
        moved += u64::from(!same);
    }
    #[allow(clippy::cast_precision_loss)] // a ratio
    let fraction = moved as f64 / samples as f64;
    fraction
}
