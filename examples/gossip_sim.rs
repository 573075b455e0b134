//! Simulates a sinew-gossip cluster on virtual time and prints a report card as one JSON object.
//!
//! ```text
//! cargo run --release -p sinew-examples --example gossip_sim -- --nodes 1000 --loss 0.05 --seed 1
//! cargo run --release -p sinew-examples --example gossip_sim -- --nodes 1000 --scenario partition
//! cargo run --release -p sinew-examples --example gossip_sim -- --loss 0.07 --starved 0.05
//! ```
//!
//! Options: `--nodes N` (default 1000), `--loss P` (iid datagram loss, default 0), `--starved F`
//! (fraction of members whose datagrams arrive 0.5-2.5 s late in the steady phase, default 0),
//! `--seed S` (default 1), `--steady SECONDS` (default 120), `--scenario steady|partition`.
//! The wall time goes to stderr.
//!
//! What happens (see `sinew::gossip::sim::ReportCard::run`): all but 20 members join through
//! member 0; the last 20 join one by one and we count the gossip rounds until everyone knows
//! each; the cluster runs in steady state (traffic is measured); ten members crash and we time
//! how long until everyone sees each dead; with `--scenario partition` the cluster, once
//! converged (waiting at most 300 s, printed as `pre_split_wait_s`), is cut in two for 60 s and
//! we time the healing. Timing is memberlist's LAN preset throughout.
//!
//! The same scenarios played by foca 2.0 beside sinew are a measurement, in the benches:
//! `cargo run --release -p sinew-benches --bin gossip_compare -- --impl both`.
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example talks on stdout

use std::error::Error;
use std::time::Instant;

use sinew::gossip::sim::{ReportCard, ReportOptions};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("gossip_sim {}", ReportOptions::USAGE);
        return Ok(());
    }
    let opts = ReportOptions::from_args(args).map_err(|e| e.to_string())?; // printed as text
    let started = Instant::now();
    let card = ReportCard::run(&opts)?;
    eprintln!(
        "simulated {:.0} member-seconds in {:.1} s of wall time",
        card.member_seconds,
        started.elapsed().as_secs_f64()
    );
    println!("{}", card.to_json());
    Ok(())
}
