//! sinew-gossip beside foca 2.0 in the same simulator: the same scenario, on the same seeded
//! network, played by each implementation, with one report card each.
//!
//! ```text
//! cargo run --release -p sinew-benches --bin gossip_compare -- --nodes 1000 --loss 0.07 --starved 0.05 --impl both
//! cargo run --release -p sinew-benches --bin gossip_compare -- --nodes 1000 --loss 0.05 --scenario partition
//! ```
//!
//! Options: those of the `gossip_sim` example (`--nodes N`, `--loss P`, `--starved F`,
//! `--seed S`, `--steady SECONDS`, `--scenario steady|partition`; see
//! `sinew_gossip::sim::ReportOptions::from_args`), plus `--impl sinew|foca|both` (default
//! `both`).
//!
//! `--impl foca` plays the scenario with foca 2.0 members configured with the same timing (see
//! `foca_member.rs` beside this file for the adapter and every configuration choice). With
//! `sinew` or `foca` the output is that implementation's report card; with `both` it is one
//! JSON object holding both, `{"sinew":{...},"foca":{...}}`, run one after the other (sinew
//! first). Wall times go to stderr. foca reports no suspicions; the adapter infers them from
//! the suspect-to-down timer foca schedules.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a measurement program talks on stdout

use std::error::Error;
use std::time::Instant;

use sinew_gossip::sim::{ReportCard, ReportOptions};

mod foca_member;

use foca_member::FocaMember;

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
    let mut which = "both".to_owned();
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--impl" => which = args.next().ok_or("--impl needs a value")?,
            "-h" | "--help" => {
                println!(
                    "gossip_compare {} [--impl sinew|foca|both]",
                    ReportOptions::USAGE
                );
                return Ok(());
            }
            _ => rest.push(arg),
        }
    }
    let opts = ReportOptions::from_args(rest).map_err(|e| e.to_string())?; // printed as text
    let names: &[&str] = match which.as_str() {
        "sinew" => &["sinew"],
        "foca" => &["foca"],
        "both" => &["sinew", "foca"],
        other => return Err(format!("unknown implementation {other:?}").into()),
    };
    let mut cards = Vec::new();
    for name in names {
        cards.push((name, card(name, &opts)?));
    }
    if let [(_, only)] = cards.as_slice() {
        println!("{}", only.to_json());
    } else {
        let fields: Vec<String> = cards
            .iter()
            .map(|(name, card)| format!("\"{name}\":{}", card.to_json()))
            .collect();
        println!("{{{}}}", fields.join(","));
    }
    Ok(())
}
