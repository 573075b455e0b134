//! Differential target: a `RateLimiter` and a `KeyedRateLimiter` driven by arbitrary clock
//! advances, clock rewinds, checks, multi-token checks and quota changes (extreme quotas
//! included), against a plain token bucket per key; and a `SlidingWindow` (any limit, any
//! window length) against a brute-force count over the log of admitted requests. The models
//! and the driver are `crates/sinew-ratelimit/tests/reference/` (the same ones the crate's
//! proptests use). Every admit/deny decision, every `retry_after` and every count in
//! `metrics()` must agree.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[path = "../../crates/sinew-ratelimit/tests/reference/mod.rs"]
mod reference;

use reference::{Op, QuotaSpec, Spec};

#[derive(Arbitrary, Debug, Clone, Copy)]
enum FuzzSpec {
    PerSecond(u32),
    PerMinute(u32),
    PerHour(u32),
    Period(u64),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct FuzzQuota {
    spec: FuzzSpec,
    burst: Option<u32>,
}

impl FuzzQuota {
    fn spec(self) -> QuotaSpec {
        QuotaSpec {
            spec: match self.spec {
                FuzzSpec::PerSecond(n) => Spec::PerSecond(n),
                FuzzSpec::PerMinute(n) => Spec::PerMinute(n),
                FuzzSpec::PerHour(n) => Spec::PerHour(n),
                FuzzSpec::Period(ns) => Spec::Period(ns),
            },
            burst: self.burst,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum FuzzOp {
    Advance(u32),
    /// The clock jumps forward by this many thousands of seconds.
    Jump(u16),
    /// The clock moves back by this many nanoseconds.
    Rewind(u32),
    /// The clock moves back by this many seconds.
    RewindSeconds(u16),
    Check(u8),
    CheckN(u8, u32),
    SmallN(u8, u8),
    Peek,
    SetQuota(FuzzQuota),
}

#[derive(Arbitrary, Debug)]
struct Input {
    quota: FuzzQuota,
    window: (u32, u64),
    ops: Vec<FuzzOp>,
}

fuzz_target!(|input: Input| {
    let ops: Vec<Op> = input
        .ops
        .into_iter()
        .take(500)
        .map(|op| match op {
            FuzzOp::Advance(ns) => Op::Advance(u64::from(ns)),
            FuzzOp::Jump(s) => Op::Advance(u64::from(s) * 1_000_000_000_000),
            FuzzOp::Rewind(ns) => Op::Rewind(u64::from(ns)),
            FuzzOp::RewindSeconds(s) => Op::Rewind(u64::from(s) * 1_000_000_000),
            FuzzOp::Check(key) => Op::Check(key),
            FuzzOp::CheckN(key, n) => Op::CheckN(key, n),
            FuzzOp::SmallN(key, n) => Op::CheckN(key, u32::from(n % 8)),
            FuzzOp::Peek => Op::Peek,
            FuzzOp::SetQuota(q) => Op::SetQuota(q.spec()),
        })
        .collect();
    reference::run(input.quota.spec(), input.window, &ops);
});
