//! The retry simulator, run as a user runs it (`--json`, seed 1): every scenario and policy
//! has its row, and the rows show what sinew-retry is for. The simulation runs on virtual time
//! from its seed, so these are facts about the policies, not timings.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    let binary = sinew_examples::example_binary("retry_sim").unwrap_or_else(|e| panic!("{e}"));
    Command::new(binary).args(args).output().unwrap()
}

fn rows() -> HashMap<(String, String), Value> {
    let out = run(&["--json", "--seed", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let key = (
                v["scenario"].as_str().unwrap().to_owned(),
                v["policy"].as_str().unwrap().to_owned(),
            );
            (key, v)
        })
        .collect()
}

fn f(rows: &HashMap<(String, String), Value>, scenario: &str, policy: &str, field: &str) -> f64 {
    rows[&(scenario.to_owned(), policy.to_owned())][field]
        .as_f64()
        .unwrap_or_else(|| panic!("{scenario}/{policy} has no {field}"))
}

#[test]
fn budgets_stop_retry_storms_and_hedges_cut_the_tail() {
    let r = rows();
    assert_eq!(r.len(), 3 * 6, "every scenario x policy");
    for row in r.values() {
        assert_eq!(row["layers"], 2);
        assert!(row["offered_rps"].as_f64().unwrap() > 900.0, "{row}");
    }
    // A dead server: 3 naive retries at 2 layers make (1 + 3)^2 = 16 calls per request;
    // backoff only spreads them; budgets keep the load within 1.2x, unless every layer
    // retries what the one below already retried (they multiply).
    assert!(f(&r, "outage", "naive", "amplification") > 15.5);
    assert!(f(&r, "outage", "backoff", "amplification") > 15.5);
    let budget = f(&r, "outage", "budget", "amplification");
    assert!(budget <= 1.2, "budget amplification {budget}");
    assert!(f(&r, "outage", "budget_every_layer", "amplification") > budget);
    // 10% random failures: the budget has room for nearly every retry.
    let naive = f(&r, "flaky", "naive", "success_rate");
    let budgeted = f(&r, "flaky", "budget", "success_rate");
    assert!(naive - budgeted <= 0.01, "naive {naive}, budget {budgeted}");
    assert!(f(&r, "flaky", "none", "success_rate") < 0.92);
    // A slow tail: hedging halves the p99 (at least) for at most 5% more calls, plus the
    // hedges' own rounding.
    let p99 = f(&r, "slow_tail", "none", "latency_ms_p99");
    let hedged = f(&r, "slow_tail", "hedge", "latency_ms_p99");
    assert!(hedged <= p99 / 2.0, "p99 {p99} ms, hedged {hedged} ms");
    assert!(f(&r, "slow_tail", "hedge", "amplification") <= 1.06);
}

#[test]
fn bad_flags_are_refused_clearly() {
    for (args, message) in [
        (&["--layers", "9"][..], "--layers must be between 1 and 4"),
        (&["--rps", "0"][..], "--rps must be between"),
        (&["--bogus"][..], "unknown option"),
    ] {
        let out = run(args);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
