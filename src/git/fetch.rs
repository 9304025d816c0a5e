//! Fetching with the user's git (DESIGN §2, §8): `git fetch` with explicit refspecs, so the user's
//! credentials, transport settings and hooks apply and only the refs asked for move.
//!
//! Must not decide which refs to fetch or what a fetched ref means: callers pass the refspecs.

use std::io;
use std::path::Path;

use crate::process;

/// Why a fetch did not happen.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// git could not be started.
    #[error("cannot run git: {0}")]
    Spawn(#[from] io::Error),
    /// git fetch failed (remote missing, unreachable, no access, a ref could not be updated).
    #[error("git fetch from `{remote}` failed: {message}")]
    Failed {
        /// Remote name.
        remote: String,
        /// git's error output (last lines).
        message: String,
    },
}

/// `git fetch --prune --no-tags <remote> <refspecs…>`: update exactly the refs the refspecs name, and
/// remove those of their destinations the remote no longer has. Tags and `FETCH_HEAD` are left alone.
pub fn fetch(dir: &Path, remote: &str, refspecs: &[String]) -> Result<(), FetchError> {
    let mut cmd = process::git(dir);
    cmd.args([
        "fetch",
        "--quiet",
        "--prune",
        "--no-tags",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        remote,
    ]);
    cmd.args(refspecs);
    let out = process::output(&mut cmd)?;
    if out.status.success() {
        return Ok(());
    }
    Err(FetchError::Failed {
        remote: remote.to_owned(),
        message: last_lines(&String::from_utf8_lossy(&out.stderr)),
    })
}

fn last_lines(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let text = lines[lines.len().saturating_sub(4)..].join(" / ");
    if text.is_empty() {
        "git printed nothing".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_of_git_errors() {
        assert_eq!(last_lines(""), "git printed nothing");
        assert_eq!(
            last_lines("fatal: 'nope' does not appear to be a git repository\n\nfatal: Could not read\n"),
            "fatal: 'nope' does not appear to be a git repository / fatal: Could not read"
        );
    }
}
