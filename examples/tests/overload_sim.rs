//! The overload simulator, run as a user runs it (`--json`, seed 1): a row per policy, no
//! limit collapses under 3x load, and an adaptive limit keeps goodput at capacity with low
//! latency and settles after the capacity halves. The simulation runs on virtual time from its
//! seed, so these are facts about the policies, not timings.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    let binary = sinew_examples::example_binary("overload_sim").unwrap_or_else(|e| panic!("{e}"));
    Command::new(binary).args(args).output().unwrap()
}

#[test]
fn adaptive_limits_keep_goodput_where_no_limit_collapses() {
    let out = run(&["--json", "--seed", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: HashMap<String, Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["policy"].as_str().unwrap().to_owned(), v)
        })
        .collect();
    let names = [
        "none",
        "static_tuned",
        "static_loose",
        "aimd",
        "vegas",
        "gradient2",
    ];
    assert_eq!(rows.len(), names.len());
    let f = |p: &str, k: &str| rows[p][k].as_f64().unwrap_or_else(|| panic!("{p}.{k}"));
    for p in ["none", "static_tuned", "static_loose"] {
        assert!(rows[p]["limit_converge_s"].is_null(), "{p}");
    }
    // No limit: the queue grows without bound and nothing meets the SLO; a loose fixed limit
    // queues 200 calls, 20 times the service time.
    assert!(f("none", "goodput") < 0.1);
    assert!(f("static_loose", "goodput") < 0.1);
    // Vegas: goodput at capacity, p99 within twice the unloaded p99, settled within 10 s of
    // the capacity halving.
    assert!(f("vegas", "goodput") >= 0.9);
    assert!(f("vegas", "latency_ms_p99") <= 2.0 * f("vegas", "unloaded_latency_ms_p99"));
    assert!(f("vegas", "limit_converge_s") <= 10.0);
    // Every adaptive limit keeps goodput up, and shed load rather than queue it.
    for p in ["aimd", "vegas", "gradient2"] {
        assert!(f(p, "goodput") >= 0.9, "{p}");
        assert!(f(p, "rejected") > 0.0, "{p}");
    }
}

#[test]
fn bad_flags_are_refused_clearly() {
    let out = run(&["--bogus"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option"));
}
