//! The showcase, run as a user runs it, in `--quick` mode (a few seconds): it must exit 0
//! after its final check (every replica of every key holds its newest write) and print its
//! summary. It must also refuse bad flags with a clear message and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;

fn binary() -> std::path::PathBuf {
    sinew_examples::example_binary("cluster").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_quick_showcase_passes_its_own_check() {
    let out = Command::new(binary())
        .args(["--quick", "--seed", "7"])
        .output()
        .unwrap();
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
    let out = Command::new(binary())
        .args(["--nodes", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--nodes must be at least 4"), "{stderr}");
}
