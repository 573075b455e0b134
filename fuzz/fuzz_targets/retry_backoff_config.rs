//! Arbitrary backoff settings (what a config file or a caller may hand in): building either
//! fails with a `ConfigError` or gives a `Backoff` whose delays never panic, number at most
//! `max_retries`, stay within the cap, and repeat exactly for the same seed.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_retry::{Backoff, Jitter};

#[derive(Arbitrary, Debug)]
struct Input {
    constant: bool,
    base_nanos: u64,
    factor: f64,
    cap_nanos: u64,
    jitter: u8,
    max_retries: u8,
    seed: u64,
}

fuzz_target!(|i: Input| {
    let base = Duration::from_nanos(i.base_nanos);
    let builder = if i.constant {
        Backoff::constant(base)
    } else {
        Backoff::exponential(base)
    };
    let jitter = match i.jitter % 4 {
        0 => Jitter::None,
        1 => Jitter::Full,
        2 => Jitter::Equal,
        _ => Jitter::Decorrelated,
    };
    let Ok(backoff) = builder
        .factor(i.factor)
        .cap(Duration::from_nanos(i.cap_nanos))
        .jitter(jitter)
        .max_retries(u32::from(i.max_retries))
        .build()
    else {
        return;
    };
    let delays: Vec<Duration> = backoff.delays_seeded(i.seed).collect();
    assert!(delays.len() <= usize::from(i.max_retries));
    let cap = backoff.cap().max(backoff.base());
    assert!(delays.iter().all(|d| *d <= cap), "{delays:?} over {cap:?}");
    assert_eq!(delays, backoff.delays_seeded(i.seed).collect::<Vec<_>>());
});
