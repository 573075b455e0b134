//! The breaker against the reference model in `tests/reference/mod.rs`, on random settings and
//! operation sequences (the fuzz target `breaker_model` runs the same driver).
#![allow(clippy::unwrap_used)]

mod reference;

use proptest::prelude::*;
use reference::{Op, Settings};

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u16..3000).prop_map(Op::Advance),
        6 => Just(Op::Acquire),
        4 => any::<u8>().prop_map(Op::Success),
        4 => any::<u8>().prop_map(Op::Failure),
        2 => any::<u8>().prop_map(Op::Drop),
        1 => prop_oneof![Just(Op::ForceOpen), Just(Op::Disable), Just(Op::Reset)],
    ]
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        (1u32..12, 1u32..12, 1u32..=100),
        proptest::option::of((1u32..2000, 1u32..=100)),
        proptest::option::of(1u32..6),
        (1u32..5000, proptest::option::of((1u32..4, 1u32..8))),
        (1u32..5, proptest::option::of(1u32..5000)),
    )
        .prop_map(
            |(
                (window, minimum_calls, failure_pct),
                slow,
                consecutive,
                (wait_ms, backoff),
                (permits, max_half_open_ms),
            )| Settings {
                window,
                minimum_calls,
                failure_pct,
                slow,
                consecutive,
                wait_ms,
                backoff,
                permits,
                max_half_open_ms,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn breaker_matches_the_model(s in settings(), ops in proptest::collection::vec(op(), 0..200)) {
        reference::run(s, &ops);
    }
}
