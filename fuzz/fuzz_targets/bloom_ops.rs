//! Arbitrary insert / contains / remove / union / intersect sequences on every sinew-bloom
//! filter against a `HashMap` multiset model: no false negatives ever, counting removals of
//! present items succeed and never make another present item vanish (no false-positive
//! removals are issued), removals of absent items change nothing, every `insert` reports
//! "new" exactly when the filter did not already hold the item, counting counts never fall
//! below the model's multiplicity (capped at 15), and round trips keep every answer.
#![no_main]

use std::collections::HashMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_bloom::{
    AtomicBloomFilter, BlockedBloomFilter, BloomFilter, CountingBloomFilter, Filter,
    ScalableBloomFilter, SplitBlockBloomFilter,
};

#[derive(Arbitrary, Debug)]
enum Op {
    Insert(u16),
    Contains(u16),
    Remove(u16),
    /// Union with a filter holding these items.
    Union(Vec<u16>),
    /// Intersect with a filter holding these items plus everything in the model.
    Intersect(Vec<u16>),
    RoundTrip,
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Expected items (small, so false positives and scalable growth happen).
    n: u8,
    ops: Vec<Op>,
}

struct Filters {
    classic: BloomFilter,
    blocked: BlockedBloomFilter,
    split: SplitBlockBloomFilter,
    counting: CountingBloomFilter,
    scalable: ScalableBloomFilter,
    atomic: AtomicBloomFilter,
}

impl Filters {
    fn new(n: usize) -> Self {
        Filters {
            classic: BloomFilter::with_false_positive_rate(n, 0.05).unwrap(),
            blocked: BlockedBloomFilter::with_false_positive_rate(n, 0.05).unwrap(),
            split: SplitBlockBloomFilter::with_false_positive_rate(n, 0.05).unwrap(),
            counting: CountingBloomFilter::with_false_positive_rate(n, 0.05).unwrap(),
            scalable: ScalableBloomFilter::with_false_positive_rate(n, 0.05).unwrap(),
            atomic: AtomicBloomFilter::with_false_positive_rate(n, 0.05).unwrap(),
        }
    }

    /// Inserts `x` into every filter; each `insert` must report `true` exactly when the
    /// filter did not already answer `true` for `x` (some bit or counter was unset).
    fn insert(&mut self, x: u16) {
        fn checked<F: Filter>(f: &mut F, x: u16, name: &str) {
            let before = f.contains(&x);
            assert_eq!(
                f.insert(&x),
                !before,
                "{name}: insert({x}) vs contains before"
            );
            assert!(f.contains(&x), "{name}: {x} missing right after insert");
        }
        checked(&mut self.classic, x, "classic");
        checked(&mut self.blocked, x, "blocked");
        checked(&mut self.split, x, "split-block");
        checked(&mut self.counting, x, "counting");
        checked(&mut self.scalable, x, "scalable");
        let before = self.atomic.contains(&x);
        assert_eq!(self.atomic.insert(&x), !before, "atomic: insert({x})");
    }

    fn all_contain(&self, x: u16) -> bool {
        self.classic.contains(&x)
            && self.blocked.contains(&x)
            && self.split.contains(&x)
            && self.counting.contains(&x)
            && self.scalable.contains(&x)
            && self.atomic.contains(&x)
    }
}

fn merged<F: Filter + Clone>(f: &F, other: &F, union: bool) -> F {
    let mut out = f.clone();
    if union {
        out.union(other).unwrap();
    } else {
        out.intersect(other).unwrap();
    }
    out
}

fuzz_target!(|input: Input| {
    let n = usize::from(input.n % 64) + 1;
    let mut f = Filters::new(n);
    let mut model: HashMap<u16, u32> = HashMap::new();
    for op in input.ops.into_iter().take(500) {
        match op {
            Op::Insert(x) => {
                f.insert(x);
                *model.entry(x).or_default() += 1;
            }
            Op::Contains(x) => {
                if model.get(&x).is_some_and(|c| *c > 0) {
                    assert!(f.all_contain(x), "false negative for {x}");
                }
            }
            Op::Remove(x) => {
                // Only remove what the model holds: removing a false positive may corrupt
                // a counting filter by design (documented).
                if let Some(c) = model.get_mut(&x).filter(|c| **c > 0) {
                    assert!(f.counting.remove(&x));
                    *c -= 1;
                } else if !f.counting.contains(&x) {
                    // Never inserted and answered "absent": removing it changes nothing.
                    let before = f.counting.clone();
                    assert!(!f.counting.remove(&x));
                    assert!(
                        f.counting == before,
                        "removing absent {x} changed the filter"
                    );
                }
            }
            Op::Union(items) | Op::Intersect(items) if items.len() > 200 => {}
            Op::Union(items) => {
                let mut g = Filters::new(n);
                for x in items.iter().take(200) {
                    g.insert(*x);
                }
                f.classic = merged(&f.classic, &g.classic, true);
                f.blocked = merged(&f.blocked, &g.blocked, true);
                f.split = merged(&f.split, &g.split, true);
                f.counting = merged(&f.counting, &g.counting, true);
                f.atomic = merged(&f.atomic, &g.atomic, true);
                for x in items.iter().take(200) {
                    f.scalable.insert(x); // stage layouts may differ; insert instead
                    *model.entry(*x).or_default() += 1;
                }
            }
            Op::Intersect(items) => {
                let mut g = Filters::new(n);
                for (x, c) in &model {
                    for _ in 0..*c {
                        g.insert(*x);
                    }
                }
                for x in &items {
                    g.insert(*x);
                }
                // Everything the model holds is in both, so it must survive.
                f.classic = merged(&f.classic, &g.classic, false);
                f.blocked = merged(&f.blocked, &g.blocked, false);
                f.split = merged(&f.split, &g.split, false);
                f.counting = merged(&f.counting, &g.counting, false);
                f.atomic = merged(&f.atomic, &g.atomic, false);
            }
            Op::RoundTrip => {
                f.classic = BloomFilter::from_bytes(&f.classic.to_bytes()).unwrap();
                f.blocked = BlockedBloomFilter::from_bytes(&f.blocked.to_bytes()).unwrap();
                f.split = SplitBlockBloomFilter::from_bytes(&f.split.to_bytes()).unwrap();
                f.counting = CountingBloomFilter::from_bytes(&f.counting.to_bytes()).unwrap();
                f.scalable = ScalableBloomFilter::from_bytes(&f.scalable.to_bytes()).unwrap();
                f.atomic = AtomicBloomFilter::from_bytes(&f.atomic.to_bytes()).unwrap();
            }
        }
        for (x, c) in &model {
            if *c > 0 {
                assert!(f.all_contain(*x), "false negative for {x}");
                // A counter not saturated counts exactly; a saturated one stays at 15. So an
                // item's smallest counter is at least its multiplicity, capped at 15.
                let count = u32::from(f.counting.count(x));
                assert!(count >= (*c).min(15), "count({x}) = {count} < model {c}");
            }
        }
    }
});
