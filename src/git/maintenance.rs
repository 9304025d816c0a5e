//! Repository maintenance after goal writes.
//!
//! gix writes loose objects and loose refs only; thousands of goals then read 5–10× slower. Like git's
//! own `gc --auto`, we look at one object fan-out directory and only when it suggests enough loose
//! objects do we run `git maintenance run --auto`, which decides for itself (and packs refs).

use std::path::Path;

use crate::process;

/// git's default `gc.auto` threshold, spread over the 256 fan-out directories, as git estimates it.
const LOOSE_IN_SAMPLE_DIR: usize = 6700 / 256;

/// Whether the repository looks like it has enough loose objects to be worth maintaining.
pub fn looks_due(common_dir: &Path) -> bool {
    std::fs::read_dir(common_dir.join("objects").join("17"))
        .map(|entries| entries.count() > LOOSE_IN_SAMPLE_DIR)
        .unwrap_or(false)
}

/// Run `git maintenance run --auto` in the foreground if it looks due. Failures are reported to the
/// caller, who treats them as warnings: maintenance never makes a write fail.
pub fn run_if_due(common_dir: &Path) -> std::io::Result<bool> {
    if !looks_due(common_dir) {
        return Ok(false);
    }
    let mut cmd = process::git(common_dir);
    cmd.args([
        "-c",
        "gc.autoDetach=false",
        "-c",
        "maintenance.autoDetach=false",
        "maintenance",
        "run",
        "--auto",
        "--quiet",
    ]);
    let out = process::output(&mut cmd)?;
    if out.status.success() {
        Ok(true)
    } else {
        Err(std::io::Error::other(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    }
}
