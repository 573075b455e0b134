//! Examples live beside this crate as `[[example]]` targets. This library holds only what the
//! tests of those examples share.

use std::path::PathBuf;

/// The built binary of example `name`, for tests that run it as a process.
///
/// `cargo test -p sinew-examples` (and `cargo test --workspace`) builds the examples before
/// running tests, next to the test binary (`target/<profile>/examples/<name>`). Selecting a
/// single test with `--test` does not build them, so a binary older than its source is
/// refused rather than run stale.
///
/// # Errors
///
/// A message saying how to build the binary, if it is missing or older than `<name>.rs`.
pub fn example_binary(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/deps/<test> -> target/<profile>/examples/<name>
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .ok_or("the test binary has no target directory")?;
    let binary = dir.join("examples").join(name);
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("{name}.rs"));
    let built = std::fs::metadata(&binary).and_then(|m| m.modified());
    let written = std::fs::metadata(&source).and_then(|m| m.modified());
    match (built, written) {
        (Ok(b), Ok(w)) if b >= w => Ok(binary),
        _ => Err(format!(
            "{} is missing or older than {}: build it (cargo test -p sinew-examples, or add --examples)",
            binary.display(),
            source.display()
        )),
    }
}
