//! The showcase, run as a user runs it, in `--quick` mode (a few seconds): node processes on
//! loopback, one killed with SIGKILL and restarted. It must exit 0 after its final check and
//! end with its JSON line; killed itself, it must take every node process with it; and it
//! must refuse bad flags clearly.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn binary() -> std::path::PathBuf {
    sinew_examples::example_binary("cluster").unwrap_or_else(|e| panic!("{e}"))
}

fn spawn(args: &[&str]) -> Child {
    Command::new(binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs the showcase with `args`, killing it (and failing) if it runs past 120 s: its own
/// waits are bounded, this bounds everything else.
fn run(args: &[&str]) -> Output {
    let mut child = spawn(args);
    // Drain the pipes on threads so a full pipe cannot stall the child.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the showcase ran past 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

#[test]
fn the_quick_showcase_passes_its_own_check() {
    let out = run(&["--quick", "--seed", "7"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {}\n{stdout}\n{stderr}",
        out.status
    );
    for line in [
        "CRASH node-",
        "RESTART node-",
        "OK: every replica of every key holds its newest acknowledged write.",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    let last = stdout.lines().last().unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the last line is not JSON ({e}): {last}"));
    let n = |key: &str| {
        report[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} is missing from {report}"))
    };
    assert_eq!(report["transport"], "tcp");
    assert_eq!(n("node_processes"), 5);
    // 2,000 keys loaded, then more written while a node was down.
    assert!(n("acknowledged_writes") > 2_000, "{report}");
    assert_eq!(n("lost_acknowledged_writes"), 0, "{report}");
    assert_eq!(n("stale_reads"), 0, "{report}");
    assert_eq!(n("stale_replicas"), 0, "{report}");
    assert_eq!(n("replicas_checked"), 3 * n("keys"), "{report}");
    // Each mechanism did its part: the writes the killed node missed came back through hints,
    // read repair and anti-entropy; greedy was limited; breakers opened on refused connects.
    for key in [
        "hints_delivered",
        "read_repairs",
        "anti_entropy_bytes",
        "anti_entropy_keys",
        "limited",
        "breakers_opened",
        "calls_failed",
    ] {
        assert!(n(key) > 0, "{key} is 0 in {report}");
    }
    assert!(n("breaker_rejections") <= n("acknowledged_writes") * 10);
    let (p50, p99) = (n("latency_us_p50"), n("latency_us_p99"));
    assert!(0 < p50 && p50 <= p99, "{report}");
    assert!(report["wall_s"].as_f64().is_some_and(|s| s > 0.0));
}

/// Whether process `pid` is gone (a zombie waiting to be reaped counts as gone: it runs
/// nothing and holds no socket).
#[cfg(target_os = "linux")]
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

#[cfg(target_os = "linux")]
#[test]
fn killing_the_showcase_kills_every_node() {
    let mut child = spawn(&["--quick", "--seed", "3"]);
    let stdout = BufReader::new(child.stdout.take().unwrap());
    // The pids of the nodes, from the lines that announce them, until the cluster is up.
    let mut pids = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some((_, rest)) = line.split_once(" as pid ") {
            pids.push(rest.split(':').next().unwrap().parse::<u32>().unwrap());
        }
        if line.contains("see each other alive") {
            break;
        }
    }
    assert_eq!(pids.len(), 5, "{pids:?}");
    assert!(pids.iter().all(|p| !gone(*p)), "a node died early");
    // SIGKILL: the showcase gets no chance to clean up; the nodes must notice by themselves.
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pids.iter().all(|p| gone(*p)) {
        assert!(
            Instant::now() < deadline,
            "node processes outlived the showcase by 10 s: {:?}",
            pids.iter().filter(|p| !gone(**p)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_flags_are_refused_clearly() {
    for (args, message) in [
        (&["--nodes", "2"][..], "--nodes must be at least 4"),
        (&["--keys", "5"][..], "--keys must be between 100 and"),
        (&["--bogus"][..], "unknown option \"--bogus\""),
    ] {
        let out = run(args);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
