//! A `RetryBudget` driven by arbitrary deposits, withdrawals and clock steps, checked against
//! a reference model that records every deposit and grant with its time: grants ever made never
//! exceed `ratio` x deposits plus the floor's per-second allowance, the grants of the last
//! window never exceed `ratio` x the deposits of the last two windows plus the floor of the
//! seconds it touches, and the floor never grants more than `min_per_second` in one second
//! beyond what live credit pays for. No panic for any sequence.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sinew_clock::{Clock, ManualClock};
use sinew_retry::RetryBudget;

#[derive(Arbitrary, Debug)]
enum Op {
    Deposit,
    Withdraw,
    /// Advance the clock by this many milliseconds (times 10).
    Advance(u16),
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// The ratio in thousandths, up to 1.0.
    ratio_milli: u16,
    floor: u8,
    ops: Vec<Op>,
}

const T0: Duration = Duration::from_secs(1_000);
const W: u64 = 10_000_000_000; // the window, in ns

fuzz_target!(|input: Input| {
    let ratio = f64::from(input.ratio_milli % 1001) / 1000.0;
    let floor = u32::from(input.floor % 8);
    let clock = ManualClock::new(T0);
    let Ok(b) = RetryBudget::builder()
        .ratio(ratio)
        .min_per_second(floor)
        .window(Duration::from_nanos(W))
        .clock(clock.clone())
        .build()
    else {
        return;
    };
    let f = f64::from(floor);
    let mut deposits: Vec<u64> = Vec::new();
    let mut grants: Vec<u64> = Vec::new();
    for op in input.ops.iter().take(2_000) {
        match op {
            Op::Deposit => {
                b.deposit();
                deposits.push(clock.now_nanos());
            }
            Op::Withdraw => {
                if b.try_withdraw() {
                    grants.push(clock.now_nanos());
                }
            }
            Op::Advance(ms) => clock.advance(Duration::from_millis(u64::from(*ms) * 10)),
        }
        let now = clock.now_nanos();
        let count = |v: &[u64], within: u64| v.iter().filter(|&&t| t + within > now).count() as f64;
        let elapsed_s = (now - T0.as_nanos() as u64) as f64 / 1e9;
        assert!(
            grants.len() as f64
                <= ratio * deposits.len() as f64 + f * (1.0 + elapsed_s).ceil() + 1e-9,
            "grants {} over the whole run",
            grants.len()
        );
        // The last W touches at most 11 whole seconds.
        assert!(count(&grants, W) <= ratio * count(&deposits, 2 * W) + f * 11.0 + 1e-9);
        let second = now / 1_000_000_000;
        let this_second = grants
            .iter()
            .filter(|&&g| g / 1_000_000_000 == second)
            .count() as f64;
        assert!(this_second <= ratio * count(&deposits, W) + f + 1e-9);
        let m = b.metrics();
        assert_eq!(m.withdrawals, grants.len() as u64);
        assert_eq!(m.deposits, deposits.len() as u64);
    }
});
