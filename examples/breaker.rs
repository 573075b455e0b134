//! A circuit breaker in front of a flaky downstream, on a simulated clock.
//!
//! The downstream works for 10 s, fails every call for the next 30 s, then recovers. A caller
//! makes one call every 250 ms through a `CircuitBreaker`, and the example prints a timeline:
//! when the breaker opens, how many calls it turned away instead of hammering the dead
//! service, the trial calls it lets through in half-open, the wait doubling while the outage
//! lasts, and the breaker closing once the service is back. A `ManualClock` stands in for
//! time, so the minute and a half of the story runs in milliseconds and prints the same every
//! time.
//!
//! Run with `cargo run --release -p sinew-examples --example breaker`.
#![allow(clippy::print_stdout)] // an example talks on stdout

use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sinew::breaker::{CallError, CircuitBreaker, Clock, ManualClock, State, Transition};

/// 2026-01-01T00:00:00Z: the simulation's start.
const START: Duration = Duration::from_secs(1_767_225_600);
/// One call every 250 ms.
const TICK: Duration = Duration::from_millis(250);

/// The downstream: healthy, then down from 10 s to 40 s, then healthy again. Each call takes
/// 20 ms of simulated time.
fn downstream(clock: &ManualClock) -> Result<&'static str, &'static str> {
    let elapsed = clock.now() - START;
    clock.advance(Duration::from_millis(20));
    if (Duration::from_secs(10)..Duration::from_secs(40)).contains(&elapsed) {
        Err("503 Service Unavailable")
    } else {
        Ok("200 OK")
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let clock = ManualClock::new(START);
    let at = |clock: &ManualClock| clock.now() - START;

    // The listener fires exactly once per transition, on the thread that made it; this one
    // queues the transitions for the timeline below.
    let transitions: Arc<Mutex<Vec<Transition>>> = Arc::default();
    let sink = Arc::clone(&transitions);
    let breaker = CircuitBreaker::builder()
        // Trip when half of the last 20 calls failed, once there are at least 10 of them.
        .count_window(20)
        .minimum_calls(10)
        .failure_rate_threshold(0.5)
        // Stay open 5 s, doubling on every failed recovery, at most 20 s.
        .wait_in_open(Duration::from_secs(5))
        .open_backoff(2.0, Duration::from_secs(20))
        // Then let exactly 3 trial calls through: all succeed -> closed; one fails -> open.
        .half_open_permits(3)
        .on_transition(move |t| sink.lock().map(|mut v| v.push(*t)).unwrap_or(()))
        .clock(clock.clone())
        .build()?;

    println!("   time  what happened");
    let (mut ok, mut failed, mut rejected, mut rejected_in_a_row) = (0u32, 0u32, 0u32, 0u32);
    while at(&clock) < Duration::from_secs(90) {
        let now = at(&clock);
        let state = breaker.state();
        let trial = if state == State::Closed { "" } else { "trial " };
        match breaker.call(|| downstream(&clock)) {
            Ok(_) => {
                ok += 1;
                if state != State::Closed {
                    println!("{now:>7.2?}  trial call succeeded");
                }
            }
            Err(CallError::Inner(e)) => {
                failed += 1;
                println!("{now:>7.2?}  {trial}call failed: {e}");
            }
            Err(CallError::Rejected(r)) => {
                rejected += 1;
                rejected_in_a_row += 1;
                if rejected_in_a_row == 1 {
                    println!("{now:>7.2?}  turned away at once: {r}");
                }
            }
            Err(e) => return Err(e.to_string().into()),
        }
        for t in transitions.lock().map_err(|e| e.to_string())?.drain(..) {
            let note = if t.from == State::Open {
                format!(" ({rejected_in_a_row} calls turned away while open)")
            } else {
                String::new()
            };
            println!("{:>7.2?}  == {} -> {}{note}", t.at - START, t.from, t.to);
            rejected_in_a_row = 0;
        }
        clock.advance(TICK);
    }

    let m = breaker.metrics();
    println!(
        "\n{ok} calls succeeded, {failed} failed, {rejected} were turned away without touching \
         the downstream.\nFinal state: {}, {} calls in the window, failure rate {:.0}%.",
        m.state,
        m.calls,
        m.failure_rate * 100.0
    );
    Ok(())
}
