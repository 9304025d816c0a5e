//! Repository maintenance after goal writes.
//!
//! gix writes loose objects and loose refs only; thousands of goals then read 5–10× slower. Like git's
//! own `gc --auto`, we look at one object fan-out directory and only when it suggests enough loose
//! objects do we run `git maintenance run --auto`, which decides for itself (and packs refs).

use std::path::Path;

use crate::process;

/// Whether the repository looks like it has more loose objects than `gc_auto` (git's `gc.auto`), estimated
/// the way git does: from the one fan-out directory `objects/17`. `gc_auto == 0` disables it.
pub fn looks_due(common_dir: &Path, gc_auto: u64) -> bool {
    if gc_auto == 0 {
        return false;
    }
    let threshold = gc_auto.div_ceil(256) as usize;
    std::fs::read_dir(common_dir.join("objects").join("17"))
        .map(|entries| entries.count() > threshold)
        .unwrap_or(false)
}

/// Run `git maintenance run --auto` in the foreground if it looks due. Failures are reported to the
/// caller, who treats them as warnings: maintenance never makes a write fail.
pub fn run_if_due(common_dir: &Path, gc_auto: u64) -> std::io::Result<bool> {
    if !looks_due(common_dir, gc_auto) {
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
