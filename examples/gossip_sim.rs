//! Simulates a sinew-gossip cluster on virtual time and prints a report card as one JSON object.
//!
//! ```text
//! cargo run --release -p sinew-examples --example gossip_sim -- --nodes 1000 --loss 0.05 --seed 1
//! cargo run --release -p sinew-examples --example gossip_sim -- --nodes 1000 --scenario partition
//! cargo run --release -p sinew-examples --example gossip_sim -- --loss 0.07 --starved 0.05 --impl both
//! ```
//!
//! Options: `--nodes N` (default 1000), `--loss P` (iid datagram loss, default 0), `--starved F`
//! (fraction of members whose datagrams arrive 0.5-2.5 s late in the steady phase, default 0),
//! `--seed S` (default 1), `--steady SECONDS` (default 120), `--scenario steady|partition`,
//! `--impl sinew|foca|both` (default sinew).
//!
//! `--impl foca` plays the same scenario, on the same seeded network, with foca 2.0 members
//! configured with the same timing (see `gossip_sim/foca_member.rs` for the adapter and every
//! configuration choice). With `sinew` or `foca` the output is that implementation's report
//! card; with `both` it is one JSON object holding both, `{"sinew":{...},"foca":{...}}`, run
//! one after the other (sinew first). Wall times go to stderr.
//!
//! What happens (see `sinew::gossip::sim::ReportCard::run`): all but 20 members join through
//! member 0; the last 20 join one by one and we count the gossip rounds until everyone knows
//! each; the cluster runs in steady state (traffic is measured); ten members crash and we time
//! how long until everyone sees each dead; with `--scenario partition` the cluster, once
//! converged (waiting at most 300 s, printed as `pre_split_wait_s`), is cut in two for 60 s and
//! we time the healing. Timing is memberlist's LAN preset throughout. foca reports no
//! suspicions; the adapter infers them from the suspect-to-down timer foca schedules.
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example talks on stdout

use std::error::Error;
use std::time::{Duration, Instant};

use sinew::gossip::sim::{ReportCard, ReportOptions, Scenario};

#[path = "gossip_sim/foca_member.rs"]
mod foca_member;

use foca_member::FocaMember;

/// Which implementations to run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Impl {
    Sinew,
    Foca,
    Both,
}

/// Runs one implementation's report card; prints its wall time on stderr.
fn card(name: &str, opts: &ReportOptions) -> Result<ReportCard, Box<dyn Error>> {
    let started = Instant::now();
    let card = if name == "foca" {
        ReportCard::run_with::<FocaMember>(opts, foca_member::lan_config(opts.nodes.max(30)))
    } else {
        ReportCard::run(opts)?
    };
    let wall = started.elapsed().as_secs_f64();
    eprintln!(
        "{name}: simulated {:.0} member-seconds in {wall:.1} s of wall time ({:.0} member-s per s)",
        card.member_seconds,
        card.member_seconds / wall
    );
    Ok(card)
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut opts = ReportOptions::default();
    let mut which = Impl::Sinew;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--nodes" => opts.nodes = value()?.parse()?,
            "--loss" => opts.loss = value()?.parse()?,
            "--starved" => opts.starved = value()?.parse()?,
            "--seed" => opts.seed = value()?.parse()?,
            "--steady" => opts.steady = Duration::from_secs(value()?.parse()?),
            "--scenario" => {
                opts.scenario = match value()?.as_str() {
                    "steady" => Scenario::Steady,
                    "partition" => Scenario::Partition,
                    other => return Err(format!("unknown scenario {other:?}").into()),
                }
            }
            "--impl" => {
                which = match value()?.as_str() {
                    "sinew" => Impl::Sinew,
                    "foca" => Impl::Foca,
                    "both" => Impl::Both,
                    other => return Err(format!("unknown implementation {other:?}").into()),
                }
            }
            "-h" | "--help" => {
                println!(
                    "gossip_sim [--nodes N] [--loss P] [--starved F] [--seed S] [--steady SECS] [--scenario steady|partition] [--impl sinew|foca|both]"
                );
                return Ok(());
            }
            other => return Err(format!("unknown option {other:?} (try --help)").into()),
        }
    }
    match which {
        Impl::Sinew => println!("{}", card("sinew", &opts)?.to_json()),
        Impl::Foca => println!("{}", card("foca", &opts)?.to_json()),
        Impl::Both => {
            let sinew = card("sinew", &opts)?;
            let foca = card("foca", &opts)?;
            println!(
                "{{\"sinew\":{},\"foca\":{}}}",
                sinew.to_json(),
                foca.to_json()
            );
        }
    }
    Ok(())
}
