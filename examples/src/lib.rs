//! Examples live beside this crate as `[[example]]` targets. This library holds what the
//! tests of those examples share, the simulators' random numbers ([`rng`]), and the showcase's
//! wire format ([`wire`]), so the fuzzer can reach its decoder.

pub mod rng;
pub mod wire;

use std::path::PathBuf;

/// The built binary of example `name`, for tests that run it as a process.
///
/// `cargo test -p sinew-examples` (and `cargo test --workspace`) builds the examples before
/// running tests, next to the test binary (`target/<profile>/examples/<name>`). Selecting a
/// single test with `--test` does not build them, so a binary older than its source
/// (`<name>.rs`, or any file in `<name>/`) is refused rather than run stale.
///
/// # Errors
///
/// A message saying how to build the binary, if it is missing or older than its source.
pub fn example_binary(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/deps/<test> -> target/<profile>/examples/<name>
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .ok_or("the test binary has no target directory")?;
    let binary = dir.join("examples").join(name);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let source = if root.join(name).is_dir() {
        root.join(name)
    } else {
        root.join(format!("{name}.rs"))
    };
    let built = std::fs::metadata(&binary).and_then(|m| m.modified());
    match (built, newest(&source)) {
        (Ok(b), Ok(w)) if b >= w => Ok(binary),
        _ => Err(format!(
            "{} is missing or older than {}: build it (cargo test -p sinew-examples, or add --examples)",
            binary.display(),
            source.display()
        )),
    }
}

/// When `path` (a file, or the newest file in a directory) was last written.
fn newest(path: &std::path::Path) -> std::io::Result<std::time::SystemTime> {
    if !path.is_dir() {
        return std::fs::metadata(path)?.modified();
    }
    let mut latest = std::time::SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(path)? {
        latest = latest.max(newest(&entry?.path())?);
    }
    Ok(latest)
}
