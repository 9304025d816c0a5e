//! Running one git command and turning its failure into a typed error with git's own message.
//!
//! Commands run in a directory of the user's repository (its work tree or shared git directory); a
//! checkout git-omk made for an agent or a gate is addressed through [`super::checkout::Checkout`]
//! instead, never through its own `.git` file.

use std::path::Path;
use std::process::Output;

use crate::process;

/// A git command that could not run or failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// git could not be started.
    #[error("could not run git {args}: {source}")]
    Spawn {
        /// The arguments.
        args: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// git exited with an error.
    #[error("git {args} failed: {stderr}")]
    Failed {
        /// The arguments.
        args: String,
        /// Exit code.
        code: Option<i32>,
        /// What git said.
        stderr: String,
    },
    /// A directory is not a checkout of the repository.
    #[error("{path} is not a checkout of this repository: {reason}")]
    Checkout {
        /// The directory.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Run `git args…` in `dir` with extra environment `env`; return its output whatever the exit code.
pub fn git_output(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Output, GitError> {
    let mut cmd = process::git(dir);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    process::output(&mut cmd).map_err(|source| GitError::Spawn {
        args: args.join(" "),
        source,
    })
}

/// Run `git args…` in `dir`; fail unless it exits 0; return trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    git_env(dir, args, &[])
}

/// Like [`git`] with extra environment.
pub fn git_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String, GitError> {
    checked(args, git_output(dir, args, env)?)
}

/// Trimmed stdout of `git args…` when it exited 0, else its error.
pub(super) fn checked(args: &[&str], out: Output) -> Result<String, GitError> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(GitError::Failed {
            args: args.join(" "),
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// The all-zero object id git uses for "must not exist" in `update-ref`.
pub const ZERO_OID: &str = "0000000000000000000000000000000000000000";

/// Move `refs/heads/<branch>` from `old` (`None`: must not exist) to `new`, atomically.
pub fn update_branch(dir: &Path, branch: &str, new: &str, old: Option<&str>) -> Result<(), GitError> {
    let name = format!("refs/heads/{branch}");
    git(
        dir,
        &["update-ref", "-m", "git-omk", &name, new, old.unwrap_or(ZERO_OID)],
    )
    .map(drop)
}
