//! The only place that spawns processes.
//!
//! Owns building commands (with a clean, explicit environment where needed) and running them to
//! completion with captured output. Agents and gates get their own spawning helpers here as well, so the
//! rules (process groups, no inherited secrets) live in one file. Must not decide anything.
#![allow(clippy::disallowed_methods)]

use std::ffi::OsStr;
use std::io;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A `git` command run in `dir` (any directory of the repository), with the caller's configuration,
/// credentials and hooks, and with git's output in the C locale so it can be parsed.
pub fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0");
    cmd
}

/// Run `cmd` to completion, stdin closed, capturing stdout and stderr.
pub fn output(cmd: &mut Command) -> io::Result<Output> {
    cmd.stdin(Stdio::null()).output()
}

/// Run `program` with `args` and return its stdout when it succeeds (for quick probes like `--version`).
pub fn probe(program: &OsStr, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The token `gh` (GitHub's CLI) holds for `host`, via `gh auth token --hostname HOST`; `None` when `gh`
/// is not installed, not logged in, or prints nothing. The token is returned, never logged or stored.
pub fn gh_auth_token(host: &str) -> Option<String> {
    let out = Command::new("gh")
        .args(["auth", "token", "--hostname", host])
        .env("GH_PROMPT_DISABLED", "1")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let token = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !token.is_empty()).then_some(token)
}
