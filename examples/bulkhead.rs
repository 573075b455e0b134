//! Backpressure with sinew-bulkhead, in two parts.
//!
//! ```text
//! cargo run --release -p sinew-examples --example bulkhead
//! ```
//!
//! 1. A `Bulkhead` of 3 with a wait queue of 2 and a 50 ms maximum wait: 8 calls of 40 ms
//!    arrive at once. Three run, two wait their turn (first in, first out), three are turned
//!    away at once because the queue is full; then 6 calls of 70 ms, whose waiters give up
//!    after 50 ms. Tokio's clock is paused, so the timeline is
//!    exact and the example finishes at once.
//! 2. An `AdaptiveLimit` with `Vegas` in front of a dependency that has 8 workers: past 8 calls
//!    in flight, calls queue and their round trips grow. No one tells the limit the number 8;
//!    it settles a little above it (Vegas keeps a short queue) from the round-trip times alone,
//!    and comes down when half the workers go.
#![allow(clippy::print_stdout)] // an example talks

use std::error::Error;
use std::time::Duration;

use sinew::bulkhead::{AdaptiveLimit, Bulkhead, ManualClock, Rejected, Vegas};
use tokio::time::{Instant, sleep};

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Box<dyn Error>> {
    bulkhead().await?;
    adaptive()?;
    Ok(())
}

async fn bulkhead() -> Result<(), Box<dyn Error>> {
    println!("1. A bulkhead of 3, a queue of 2, a 50 ms maximum wait.\n");
    let b = Bulkhead::builder()
        .max_concurrent(3)
        .queue(2)
        .max_wait(Duration::from_millis(50))
        .build()?;
    let start = Instant::now();
    // The first wave's calls take 40 ms, so its waiters get a slot in time; the second's take
    // 70 ms, longer than a waiter's 50 ms maximum wait.
    for (wave, work) in [(8, 40), (6, 70)] {
        let mut calls = Vec::new();
        for i in 0..wave {
            let b = b.clone();
            calls.push(tokio::spawn(async move {
                match b.acquire().await {
                    Ok(permit) => {
                        let admitted = start.elapsed();
                        sleep(Duration::from_millis(work)).await; // the dependency
                        drop(permit);
                        format!(
                            "call {i}: admitted at {admitted:?}, done at {:?}",
                            start.elapsed()
                        )
                    }
                    Err(Rejected::QueueFull) => format!("call {i}: rejected at once, queue full"),
                    Err(Rejected::Timeout) => {
                        format!(
                            "call {i}: gave up at {:?}, after its 50 ms maximum wait",
                            start.elapsed()
                        )
                    }
                    Err(other) => format!("call {i}: {other}"),
                }
            }));
        }
        for call in calls {
            println!("  {}", call.await?);
        }
        let m = b.metrics();
        println!(
            "  so far: {} admitted, {} waited, {} rejected ({} of them timed out), {} in flight\n",
            m.admitted, m.waited, m.rejected, m.timed_out, m.in_flight
        );
    }
    Ok(())
}

/// A dependency with `workers` workers and 10 ms of work per call: a call's round trip is the
/// work plus its wait behind the calls ahead of it.
fn round_trip(in_flight: u32, workers: u32) -> Duration {
    let waves = in_flight.div_ceil(workers).max(1);
    Duration::from_millis(10 * u64::from(waves))
}

fn adaptive() -> Result<(), Box<dyn Error>> {
    println!(
        "2. An adaptive limit (Vegas, starting at 1) in front of a dependency with 8 workers.\n"
    );
    let clock = ManualClock::new(Duration::from_secs(1));
    let limit = AdaptiveLimit::builder(Vegas::new())
        .initial_limit(1)
        .clock(clock.clone())
        .build()?;
    let mut workers = 8;
    for round in 1..=400 {
        if round == 201 {
            workers = 4;
            println!("  -- half the workers go --");
        }
        // Callers always want more than the dependency can take: take every permit the limit
        // gives, then complete them all with the round trip that many calls in flight cost.
        let mut permits = Vec::new();
        while let Ok(p) = limit.try_acquire() {
            permits.push(p);
            if permits.len() >= 64 {
                break;
            }
        }
        let in_flight = u32::try_from(permits.len())?;
        let rtt = round_trip(in_flight, workers);
        for p in permits {
            p.success_rtt(rtt);
        }
        clock.advance(rtt);
        if round % 40 == 0 || round <= 3 {
            println!(
                "  round {round:>3}: limit {:>2}, {in_flight:>2} in flight, round trip {rtt:?}",
                limit.limit()
            );
        }
    }
    println!(
        "\n  The limit settled a little above the number of workers (Vegas keeps a short queue, between\n  its alpha and beta thresholds), found from round-trip times alone, and followed the change.\n  A fixed limit would have to be told, and told again."
    );
    Ok(())
}
