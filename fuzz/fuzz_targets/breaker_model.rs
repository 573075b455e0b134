//! Differential target: a `CircuitBreaker` driven by arbitrary settings and sequences of
//! (advance time, acquire, report success/failure, drop permit, force open / disable / reset)
//! against the plain reference state machine in `crates/sinew-breaker/tests/reference/`
//! (the same model the crate's proptest uses). Slow calls come from time advancing while a
//! permit is held. Every state, admission, rejection (with its `retry_after`), window count
//! and listener event must match the model's.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[path = "../../crates/sinew-breaker/tests/reference/mod.rs"]
mod reference;

use reference::{Op, Settings};

#[derive(Arbitrary, Debug)]
enum FuzzOp {
    Advance(u16),
    Acquire,
    Success(u8),
    Failure(u8),
    Drop(u8),
    ForceOpen,
    Disable,
    Reset,
}

#[derive(Arbitrary, Debug)]
struct Input {
    window: u8,
    minimum_calls: u8,
    failure_pct: u8,
    slow: Option<(u16, u8)>,
    consecutive: Option<u8>,
    wait_ms: u16,
    backoff: Option<(u8, u8)>,
    permits: u8,
    max_half_open_ms: Option<u16>,
    ops: Vec<FuzzOp>,
}

fuzz_target!(|input: Input| {
    let settings = Settings {
        window: u32::from(input.window),
        minimum_calls: u32::from(input.minimum_calls),
        failure_pct: u32::from(input.failure_pct),
        slow: input.slow.map(|(d, r)| (u32::from(d), u32::from(r))),
        consecutive: input.consecutive.map(u32::from),
        wait_ms: u32::from(input.wait_ms),
        backoff: input.backoff.map(|(m, c)| (u32::from(m), u32::from(c))),
        permits: u32::from(input.permits),
        max_half_open_ms: input.max_half_open_ms.map(u32::from),
    };
    let ops: Vec<Op> = input
        .ops
        .into_iter()
        .take(512)
        .map(|op| match op {
            FuzzOp::Advance(ms) => Op::Advance(ms),
            FuzzOp::Acquire => Op::Acquire,
            FuzzOp::Success(i) => Op::Success(i),
            FuzzOp::Failure(i) => Op::Failure(i),
            FuzzOp::Drop(i) => Op::Drop(i),
            FuzzOp::ForceOpen => Op::ForceOpen,
            FuzzOp::Disable => Op::Disable,
            FuzzOp::Reset => Op::Reset,
        })
        .collect();
    reference::run(settings, &ops);
});
