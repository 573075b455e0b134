//! The showcase, run as a user runs it, in `--quick` mode (a few seconds): it must exit 0
//! after its final check (every replica of every key holds its newest write) and print its
//! summary. It must also refuse bad flags with a clear message and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the showcase with `args`, killing it (and failing) if it runs past 120 s: its own
/// waits are bounded, this bounds everything else.
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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

fn binary() -> std::path::PathBuf {
    sinew_examples::example_binary("cluster").unwrap_or_else(|e| panic!("{e}"))
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
        "CRASH node-4",
        "RESTART node-4",
        "| requests limited |",
        "| calls rejected by breakers |",
        "| reads saved by Bloom filters |",
        "| keys repaired by anti-entropy |",
        "OK: every replica of every key holds its newest write.",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    assert!(stdout.contains(", 0 wrong"), "{stdout}");
}

#[test]
fn bad_flags_are_refused_clearly() {
    let out = run(&["--nodes", "2"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--nodes must be at least 4"), "{stderr}");
}
