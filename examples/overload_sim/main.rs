//! Overload, simulated: an open-loop load ramps from half to three times a server's capacity,
//! the capacity halves (a noisy neighbour) and recovers, and each admission policy at the
//! server's door is scored on what clients get.
//!
//! ```text
//! cargo run --release -p sinew-examples --example overload_sim             # the table
//! cargo run --release -p sinew-examples --example overload_sim -- --json   # one JSON object per policy
//! ```
//!
//! Options: `--seed N` (default 1), `--json`.
//!
//! The server has 10 workers and a FIFO queue; a request takes 8 ms plus an exponential 2 ms
//! on average (1,000 requests a second). The load is 0.5x capacity for 10 s, ramps to 3x by
//! 30 s and stays there; from 60 s to 90 s half the workers are gone; the run ends at 120 s.
//! A response later than 100 ms (the SLO) is of no use, and an adaptive limit hears of it as a
//! drop. Policies: `none` (every request queues); `static_tuned` (a `Bulkhead` of 12: Little's
//! law at full capacity, 10 in service and 2 waiting); `static_loose` (a `Bulkhead` of 200,
//! "plenty"); `aimd`, `vegas`, `gradient2` (an `AdaptiveLimit` with that algorithm, defaults).
//!
//! Each row: `goodput` is responses within the SLO per second from 40 s to 60 s, as a fraction
//! of capacity; the latencies are those of the same requests; `unloaded_latency_ms_p99` is
//! from 2 s to 10 s; `rejected` counts the whole run; `limit_converge_s` is how long after the
//! capacity halves the limit takes to settle (to stay within 20% of where it ends up), null
//! for policies without an adaptive limit. Everything runs on virtual time with
//! sinew-bulkhead's real types on a `ManualClock`, so a run is a function of its seed.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// an example talks
// Indexing is by request ids this simulation hands out itself: `[i]` says so more plainly
// than `.get(i)` would.
#![allow(clippy::indexing_slicing)]

mod sim;

use std::error::Error;

use sim::{Policy, Row, Sim};

fn round(x: f64, places: i32) -> f64 {
    let k = 10f64.powi(places);
    (x * k).round() / k
}

fn json_line(r: &Row) -> String {
    serde_json::json!({
        "policy": r.policy.name(),
        "goodput": round(r.goodput, 3),
        "latency_ms_p50": round(r.latency_ms_p50, 1),
        "latency_ms_p99": round(r.latency_ms_p99, 1),
        "unloaded_latency_ms_p99": round(r.unloaded_latency_ms_p99, 1),
        "rejected": r.rejected,
        "limit_converge_s": r.limit_converge_s.map(|s| round(s, 1)),
        "limit_full": r.limit_full.map(|l| round(l, 1)),
        "limit_halved": r.limit_halved.map(|l| round(l, 1)),
        "goodput_halved": round(r.goodput_halved, 3),
    })
    .to_string()
}

fn main() {
    if let Err(e) = run() {
        eprintln!("overload_sim: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut seed = 1;
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--seed" => seed = args.next().ok_or("--seed needs a value")?.parse()?,
            "--json" => json = true,
            "-h" | "--help" => {
                println!("overload_sim [--seed N] [--json]");
                return Ok(());
            }
            other => return Err(format!("unknown option {other:?} (try --help)").into()),
        }
    }
    let started = std::time::Instant::now();
    if !json {
        println!(
            "| policy | goodput at 3x | p50 ms | p99 ms | unloaded p99 ms | rejected | limit at 3x / halved | settles after halving | goodput halved |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
    }
    for policy in Policy::ALL {
        let row = Sim::new(policy, seed)?.run();
        if json {
            println!("{}", json_line(&row));
        } else {
            let limits = match (row.limit_full, row.limit_halved) {
                (Some(f), Some(h)) => format!("{f:.1} / {h:.1}"),
                _ => "–".to_owned(),
            };
            let settle = row
                .limit_converge_s
                .map_or_else(|| "–".to_owned(), |s| format!("{s:.1} s"));
            println!(
                "| {} | {:.3} | {:.1} | {:.1} | {:.1} | {} | {limits} | {settle} | {:.3} |",
                policy.name(),
                row.goodput,
                row.latency_ms_p50,
                row.latency_ms_p99,
                row.unloaded_latency_ms_p99,
                row.rejected,
                row.goodput_halved,
            );
        }
        eprint!(".");
    }
    eprintln!(" {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
