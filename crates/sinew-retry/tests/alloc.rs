//! No heap allocation on the per-call paths: `Delays::next`, the budget's deposit and
//! withdrawal, and a whole `retry_blocking_with` run with a `Backoff` policy.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sinew_retry::{Backoff, Jitter, ManualClock, RetryBudget, RetryPolicy, retry_blocking_with};
use sinew_testkit::CountingAllocator;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

fn allocs() -> u64 {
    CountingAllocator::allocations_on_this_thread()
}

#[test]
fn hot_paths_do_not_allocate() {
    let clock = ManualClock::new(Duration::from_secs(100));
    let budget = RetryBudget::builder().clock(clock.clone()).build().unwrap();
    let backoffs: Vec<Backoff> = [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ]
    .into_iter()
    .map(|j| {
        Backoff::exponential(Duration::from_millis(1))
            .jitter(j)
            .max_retries(5)
            .build()
            .unwrap()
    })
    .collect();
    let policy = RetryPolicy::new(backoffs[1].clone()).budget(budget.clone());
    let before = allocs();
    for b in &backoffs {
        let total: Duration = b.delays().sum();
        assert!(total < Duration::from_secs(1));
        let _ = b.delays_seeded(9).count();
    }
    for _ in 0..1000 {
        budget.deposit();
        let _ = budget.try_withdraw();
        clock.advance(Duration::from_millis(7));
    }
    for i in 0..100u32 {
        let r = retry_blocking_with(
            &policy,
            None,
            |d| clock.advance(d),
            |a| {
                if a.number < 3 { Err(i) } else { Ok(a.number) }
            },
        );
        let _ = r.map_err(|e| e.attempts());
    }
    assert_eq!(allocs() - before, 0);
}
