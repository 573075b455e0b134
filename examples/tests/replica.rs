//! The replica examples, run as a user runs them: the tour prints each step's outcome, and the
//! simulator, on a small scenario with faults, prints a JSON report card that passes its checks
//! and refuses bad flags clearly.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::{Command, Output};

fn run(example: &str, args: &[&str]) -> Output {
    let binary = sinew_examples::example_binary(example).unwrap_or_else(|e| panic!("{e}"));
    Command::new(binary).args(args).output().unwrap()
}

#[test]
fn the_tour_shows_siblings_hints_read_repair_and_anti_entropy_working() {
    let out = run("replica", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(r#"get "cart:alice" -> ["book+pen", "book+ink"]"#),
        "{stdout}"
    );
    assert!(stdout.contains(r#"the hint was handed over: it holds Some(["book+pen+ink+bag"])"#));
    assert!(
        stdout.contains(r#"after the read, node"#) && stdout.contains(r#"holds Some(["empty"])"#)
    );
    assert!(stdout.contains("all it should"), "{stdout}");
}

#[test]
fn the_simulator_passes_a_small_faulty_run_and_refuses_bad_flags() {
    let out = run("replica_sim", &["--ops", "3000", "--seed", "3", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for field in [
        r#""lost_acknowledged_writes":0,"#,
        r#""stale_reads":0,"#,
        r#""lost_concurrent_updates":0,"#,
        r#""converged":true,"#,
    ] {
        assert!(stdout.contains(field), "{field} missing in {stdout}");
    }
    let out = run("replica_sim", &["--n", "9"]);
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
}
