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

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child as AsyncChild, Command as AsyncCommand};

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

/// Variables holding git-omk's own secrets; commands it runs for a project (gates) never see them.
pub const OMK_SECRET_VARS: [&str; 4] = [
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
];

/// What to run in its own process group.
#[derive(Clone, Debug)]
pub struct GroupSpec<'a> {
    /// The program (looked up on `PATH` when it has no slash).
    pub program: &'a OsStr,
    /// Its arguments.
    pub args: &'a [String],
    /// The working directory.
    pub dir: &'a Path,
    /// Variables set on top of the inherited environment (later entries win).
    pub env: &'a [(String, String)],
}

/// A child process leading its own process group, with stdin closed and stdout and stderr piped.
/// Dropping it kills the whole group, so no gate or agent outlives its owner.
#[derive(Debug)]
pub struct GroupChild {
    /// The child (its `stdout`/`stderr` can be taken).
    pub child: AsyncChild,
    pgid: Option<Pid>,
}

/// Spawn `spec` as the leader of a new process group (async; needs a tokio runtime).
pub fn spawn_group(spec: &GroupSpec<'_>) -> io::Result<GroupChild> {
    let mut cmd = AsyncCommand::new(spec.program);
    cmd.args(spec.args)
        .current_dir(spec.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for var in OMK_SECRET_VARS {
        cmd.env_remove(var);
    }
    for (key, value) in spec.env {
        cmd.env(key, value);
    }
    let child = cmd.spawn()?;
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    Ok(GroupChild { child, pgid })
}

impl GroupChild {
    /// Send `signal` to every process of the group (those still alive; an empty group is fine).
    pub fn signal_group(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            // ESRCH (the group is gone) is the expected answer once everything exited.
            let _ = killpg(pgid, signal);
        }
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        self.signal_group(Signal::SIGKILL);
    }
}
