//! Simulates a Dynamo-style store built from sinew-replica on virtual time, checks the history
//! of client operations, and prints a report card (one JSON object with `--json`).
//!
//! ```text
//! cargo run --release -p sinew-examples --example replica_sim -- --json
//! cargo run --release -p sinew-examples --example replica_sim -- --policy lww --skew-ms 50 --seed 3
//! cargo run --release -p sinew-examples --example replica_sim -- --no-partition --ops 20000
//! ```
//!
//! Flags: `--nodes --n --r --w --ops --loss --skew-ms --policy lww|dvv --seed --json
//! --no-faults`, and `--no-partition --no-crash --fault-s --clients --keys --detect-ms
//! --ae-ms --timeout-ms` (see `--help`). Defaults: 5 nodes, N = 3, R = W = 2, 100,000
//! operations, 5% loss, ±50 ms skew, dotted version vectors, one partition and one crash.
//!
//! What happens (see `sinew::replica::sim`): 8 clients run read-modify-writes and reads on
//! 1,000 keys through random nodes; a 2 | 3 partition comes at 20% of the operations and
//! heals 10 s later; a node crashes at 50% and restarts 10 s later, keeping its durable store
//! and losing what it held in memory (hints, operations in flight). Then the workload stops
//! and anti-entropy runs until every key's replicas agree. The checker counts lost
//! acknowledged writes, stale reads and lost concurrent updates. Progress and wall time go to
//! stderr; the exit status is 1 if the checker found a violation.
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example talks on stdout

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use sinew::replica::sim::{ReportCard, SimOptions};

fn main() -> Result<ExitCode, Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("replica_sim {}", SimOptions::USAGE);
        return Ok(ExitCode::SUCCESS);
    }
    let json = args.iter().any(|a| a == "--json");
    let opts = SimOptions::from_args(args).map_err(|e| e.to_string())?; // printed as text
    let started = Instant::now();
    let mut last = 0;
    let card = ReportCard::run_with_progress(&opts, &mut |done, total| {
        let percent = done * 100 / total.max(1);
        if total >= 20_000 && percent >= last + 10 {
            last = percent;
            eprint!("\r{percent}% of {total} operations");
            let _ = std::io::stderr().flush();
        }
    })?;
    if last > 0 {
        eprintln!();
    }
    eprintln!(
        "simulated {:.0} s in {:.1} s of wall time",
        card.virtual_s,
        started.elapsed().as_secs_f64()
    );
    if json {
        println!("{}", card.to_json());
    } else {
        println!("{card}");
    }
    Ok(if card.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
