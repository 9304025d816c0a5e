//! The only place that spawns processes.
//!
//! Owns building commands (with a clean, explicit environment where needed) and running them to
//! completion with captured output. Agents and gates get their own spawning helpers here as well, so the
//! rules (process groups, no inherited secrets) live in one file. Must not decide anything.
#![allow(clippy::disallowed_methods)]

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;

use crate::settings;

/// Configuration every git command of git-omk runs with: no hooks (neither the user's nor any planted
/// in a shared git directory: the project's checks run as gates, never as side effects of git-omk's own
/// commands) and no file-system monitor command (`core.fsmonitor` runs a program on every status).
pub const GIT_HARDENING: [&str; 4] = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"];

/// A `git` command run in `dir` (any directory of the repository), with the caller's configuration and
/// credentials but none of its hooks or fsmonitor ([`GIT_HARDENING`]), without the variables that
/// would point git at another repository ([`settings::GIT_LOCATION_ENV`]), and with git's output in the
/// C locale so it can be parsed.
pub fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(GIT_HARDENING)
        .env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0");
    for name in settings::GIT_LOCATION_ENV {
        cmd.env_remove(name);
    }
    cmd
}

/// Run `cmd` to completion, stdin closed, capturing stdout and stderr.
pub fn output(cmd: &mut Command) -> io::Result<Output> {
    cmd.stdin(Stdio::null()).output()
}

/// Run `program` with `args` to completion, stdin closed, capturing its output (probes of tools such as
/// the sandbox's).
pub fn run(program: &OsStr, args: &[OsString]) -> io::Result<Output> {
    Command::new(program).args(args).stdin(Stdio::null()).output()
}

/// [`run`], with `restrict` applied in the child before it executes `program` (the sandbox's probe).
pub fn run_restricted(program: &OsStr, args: &[OsString], restrict: Restriction) -> io::Result<Output> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    // SAFETY: `restrict` makes async-signal-safe system calls only (its contract).
    unsafe {
        cmd.pre_exec(restrict);
    }
    cmd.output()
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

// ---------------------------------------------------------------------------------------------------
// Agents and their tools: process groups, no inherited secrets, no orphans.
// ---------------------------------------------------------------------------------------------------

/// What to start as a process group leader (an agent, or a command an agent asked for).
#[derive(Clone, Debug)]
pub struct GroupSpec {
    /// The executable.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Variables set on top of the inherited environment (git-omk's secrets are removed regardless).
    pub env: Vec<(OsString, OsString)>,
    /// Whether stdin is a pipe (agents) or closed (tools).
    pub stdin: bool,
}

/// A child that leads its own process group. Killing it kills the whole group; dropping it kills the
/// group too, so an agent and everything it started can never outlive its owner by accident.
#[derive(Debug)]
pub struct GroupChild {
    child: tokio::process::Child,
    pgid: i32,
    released: bool,
    cleanup: Vec<PathBuf>,
}

/// Start `spec` in a new process group with piped stdout and stderr. Agents and gates are started through
/// `crate::sandbox`, which confines them and calls this.
///
/// The child inherits the environment plus `spec.env`, minus git-omk's own secrets
/// ([`settings::is_secret_env`]: never passed on, even when `spec.env` names them) and minus the
/// variables that locate a repository ([`settings::GIT_LOCATION_ENV`]), and is killed by the kernel if
/// git-omk dies first.
pub fn spawn_group(spec: &GroupSpec) -> io::Result<GroupChild> {
    spawn_group_restricted(spec, None)
}

/// A restriction a child applies to itself between fork and exec (async-signal-safe system calls
/// only): the sandbox's Landlock scopes.
pub type Restriction = fn() -> io::Result<()>;

/// [`spawn_group`], with `restrict` applied in the child before it executes the program; the spawn
/// fails when it fails.
pub fn spawn_group_restricted(spec: &GroupSpec, restrict: Option<Restriction>) -> io::Result<GroupChild> {
    let mut cmd = tokio::process::Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .stdin(if spec.stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in settings::secret_env_names() {
        cmd.env_remove(name);
    }
    for name in settings::GIT_LOCATION_ENV {
        cmd.env_remove(name);
    }
    let is_secret = |name: &OsStr| name.to_str().is_none_or(settings::is_secret_env);
    for (name, value) in spec.env.iter().filter(|(name, _)| !is_secret(name)) {
        cmd.env(name, value);
    }
    die_with_parent(&mut cmd);
    if let Some(restrict) = restrict {
        // SAFETY: `restrict` makes async-signal-safe system calls only (its contract).
        unsafe {
            cmd.pre_exec(restrict);
        }
    }
    let child = cmd.spawn()?;
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .ok_or_else(|| io::Error::other("the child exited before its process group was known"))?;
    Ok(GroupChild {
        child,
        pgid,
        released: false,
        cleanup: Vec::new(),
    })
}

/// Have the kernel kill the child when the thread that spawned it exits (git-omk spawns from threads
/// that live as long as the command: the main thread of its single-threaded runtime).
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut tokio::process::Command) {
    // SAFETY: the closure runs in the forked child before exec and only makes one async-signal-safe
    // system call (prctl), touching no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
            Ok(())
        });
    }
}

/// Elsewhere the process group (killed on drop) is what ends the child.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut tokio::process::Command) {}

impl GroupChild {
    /// Remove `dir` (recursively) once the child is dropped: the private directory of a confined
    /// process.
    pub fn remove_on_drop(&mut self, dir: PathBuf) {
        self.cleanup.push(dir);
    }

    /// The process group id (also the leader's pid).
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// The leader's stdin, once.
    pub fn take_stdin(&mut self) -> Option<tokio::process::ChildStdin> {
        self.child.stdin.take()
    }

    /// The leader's stdout, once.
    pub fn take_stdout(&mut self) -> Option<tokio::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// The leader's stderr, once.
    pub fn take_stderr(&mut self) -> Option<tokio::process::ChildStderr> {
        self.child.stderr.take()
    }

    /// Wait for the leader to exit (other members of the group may live on: see [`kill_group`]).
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// The leader's exit status if it has exited.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Kill every process of the group (SIGKILL). Idempotent.
    pub fn kill(&mut self) {
        kill_group(self.pgid);
        let _ = self.child.start_kill();
    }

    /// Ask the group to stop (SIGTERM), wait up to `grace` for the leader, then kill the group.
    pub async fn terminate(&mut self, grace: Duration) {
        let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGTERM);
        let _ = tokio::time::timeout(grace, self.child.wait()).await;
        self.kill();
        let _ = self.child.wait().await;
        self.released = true;
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if !self.released {
            self.kill();
        }
        for dir in &self.cleanup {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Kill every process of group `pgid` (SIGKILL); a group that is already gone is not an error.
pub fn kill_group(pgid: i32) {
    if pgid > 1 {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

/// Whether process `pid` exists on this machine (it may belong to another user).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else { return false };
    match kill(Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

/// The id of this process.
pub fn own_pid() -> u32 {
    std::process::id()
}

/// Die at once, as `kill -9` would kill us (fault injection for crash tests).
pub fn kill_self() -> ! {
    let _ = kill(Pid::this(), Signal::SIGKILL);
    std::process::abort()
}

/// Kill (SIGKILL) every process of this user whose working directory is `dir` or below it, except
/// this process. Used when a controller died with agents running: the agent itself dies with its parent,
/// but tools it started can outlive it, and they all work inside the task's worktree. Returns how many
/// were signalled.
pub fn kill_processes_in(dir: &Path) -> usize {
    kill_processes_under(std::slice::from_ref(&dir.to_path_buf()))
}

/// [`kill_processes_in`] for several directories with one sweep of `/proc`.
pub fn kill_processes_under(dirs: &[PathBuf]) -> usize {
    let dirs: Vec<PathBuf> = dirs.iter().filter_map(|d| d.canonicalize().ok()).collect();
    if dirs.is_empty() {
        return 0;
    }
    let me = std::process::id();
    processes()
        .into_iter()
        .filter(|p| p.pid != me && !p.zombie)
        .filter(|p| {
            std::fs::read_link(format!("/proc/{}/cwd", p.pid))
                .is_ok_and(|cwd| dirs.iter().any(|d| cwd.starts_with(d)))
        })
        .filter_map(|p| i32::try_from(p.pid).ok())
        .filter(|pid| kill(Pid::from_raw(*pid), Signal::SIGKILL).is_ok())
        .count()
}

/// One process as `/proc` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Process group id.
    pub pgid: u32,
    /// Whether it is a zombie (exited, not yet reaped).
    pub zombie: bool,
}

/// Every live process on this machine (Linux `/proc`; empty elsewhere).
pub fn processes() -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            parse_stat(pid, &stat)
        })
        .collect()
}

/// Parse `/proc/<pid>/stat`: the command name may contain spaces and parentheses, so fields are read
/// after the last `)`.
fn parse_stat(pid: u32, stat: &str) -> Option<ProcInfo> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    Some(ProcInfo {
        pid,
        ppid,
        pgid,
        zombie: state == "Z",
    })
}

/// Live (non-zombie) members of process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<u32> {
    let Ok(pgid) = u32::try_from(pgid) else {
        return Vec::new();
    };
    processes()
        .into_iter()
        .filter(|p| p.pgid == pgid && !p.zombie)
        .map(|p| p.pid)
        .collect()
}

/// Live descendants of `pid` (children, grandchildren…), whatever their process group.
pub fn descendants(pid: u32) -> Vec<u32> {
    let all = processes();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            all.iter()
                .filter(|p| p.ppid == parent && !p.zombie)
                .map(|p| p.pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// The live members of group `pgid` and the descendants of its leader (whatever their group), from one
/// look at `/proc`.
pub fn family(pgid: i32) -> Vec<u32> {
    let Ok(leader) = u32::try_from(pgid) else {
        return Vec::new();
    };
    let all: Vec<ProcInfo> = processes().into_iter().filter(|p| !p.zombie).collect();
    let mut found: Vec<u32> = all.iter().filter(|p| p.pgid == leader).map(|p| p.pid).collect();
    let mut i = 0;
    let mut frontier = vec![leader];
    while i < frontier.len() {
        let parent = frontier[i];
        for child in all.iter().filter(|p| p.ppid == parent) {
            frontier.push(child.pid);
            found.push(child.pid);
        }
        i += 1;
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// Kill (SIGKILL) the processes of group `pgid` and the descendants of its leader that are not in
/// `keep` and are not the leader itself. Used at the end of an agent turn: tools the agent started
/// during the turn die, the agent and its long-lived helpers stay. Returns how many were signalled.
pub fn kill_strays(pgid: i32, keep: &[u32]) -> usize {
    family(pgid)
        .into_iter()
        .filter(|p| i64::from(*p) != i64::from(pgid) && !keep.contains(p))
        .filter_map(|p| i32::try_from(p).ok())
        .filter(|p| kill(Pid::from_raw(*p), Signal::SIGKILL).is_ok())
        .count()
}

/// The full command line of a live process (arguments joined by spaces), if readable.
pub fn command_line(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let text = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Some(text)
}

/// Run `program args` with a time limit and return its stdout when it succeeds (version probes of
/// agents, which may be slow to start). The probe runs in its own process group, killed on timeout.
pub async fn probe_with_timeout(program: &OsStr, args: &[&str], limit: Duration) -> Option<String> {
    let spec = GroupSpec {
        program: program.to_owned(),
        args: args.iter().map(OsString::from).collect(),
        cwd: std::env::temp_dir(),
        env: Vec::new(),
        stdin: false,
    };
    let mut child = spawn_group(&spec).ok()?;
    let mut stdout = child.take_stdout()?;
    let mut stderr = child.take_stderr()?;
    let work = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let (a, b) = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        a.ok()?;
        b.ok()?;
        let status = child.wait().await.ok()?;
        status
            .success()
            .then(|| String::from_utf8_lossy(&out).into_owned())
    };
    tokio::time::timeout(limit, work).await.ok().flatten()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let stat = "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 0 0";
        assert_eq!(
            parse_stat(4242, stat),
            Some(ProcInfo {
                pid: 4242,
                ppid: 1,
                pgid: 4242,
                zombie: false
            })
        );
        assert_eq!(parse_stat(1, "garbage"), None);
    }

    #[tokio::test]
    async fn dropping_a_group_child_kills_the_whole_group() {
        let spec = GroupSpec {
            program: "sh".into(),
            args: vec!["-c".into(), "sleep 300 & sleep 300 & wait".into()],
            cwd: std::env::temp_dir(),
            env: Vec::new(),
            stdin: false,
        };
        let child = spawn_group(&spec).unwrap();
        let pgid = child.pgid();
        for _ in 0..100 {
            if group_members(pgid).len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(group_members(pgid).len() >= 3, "the shell and both sleeps run");
        drop(child);
        for _ in 0..100 {
            if group_members(pgid).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(group_members(pgid).is_empty(), "no process of the group survives");
    }
}
