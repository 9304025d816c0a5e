//! Several "machines" sharing goals through one bare remote: each machine is a clone with its own home
//! directory, identity and host name (`OMK_HOST`), all hermetic. Optionally the remote is served by
//! `git daemon` on 127.0.0.1.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::git_repo::{git_command, hermetic};
use super::omk::{json, write_executable};

/// A bare remote and the machines that clone it.
pub struct World {
    dir: TempDir,
    /// The bare remote.
    pub remote: PathBuf,
}

/// One clone: a work tree, a home, a host name.
pub struct Machine {
    /// The work tree.
    pub path: PathBuf,
    /// Its home directory.
    pub home: PathBuf,
    /// `OMK_HOST`.
    pub host: String,
    /// Extra environment for git-omk.
    pub env: Vec<(String, String)>,
}

impl World {
    /// A world whose first machine (`machine-a`) has `files` committed on `main` and pushed to the remote,
    /// with `origin/main` as upstream.
    pub fn new(files: &[(&str, &str)]) -> (World, Machine) {
        let dir = tempfile::tempdir().expect("temp dir");
        let remote = dir.path().join("remote.git");
        let world = World { dir, remote };
        let a = world.machine("machine-a");
        a.git(&["init", "-q", "-b", "main"]);
        a.identity();
        for (name, content) in files {
            let p = a.path.join(name);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
            std::fs::write(p, content).expect("write");
        }
        a.git(&["add", "-A"]);
        a.git(&["commit", "-q", "-m", "initial"]);
        let remote = world.remote.display().to_string();
        a.git(&["clone", "-q", "--bare", ".", &remote]);
        a.git(&["remote", "add", "origin", &remote]);
        a.git(&["fetch", "-q", "origin"]);
        a.git(&["branch", "-q", "--set-upstream-to", "origin/main"]);
        (world, a)
    }

    /// The temporary directory everything lives in.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A machine directory without a repository yet.
    fn machine(&self, host: &str) -> Machine {
        let base = self.dir.path().join(host);
        let path = base.join("work");
        let home = base.join("home");
        std::fs::create_dir_all(&path).expect("work dir");
        std::fs::create_dir_all(&home).expect("home dir");
        Machine {
            path,
            home,
            host: host.to_owned(),
            env: Vec::new(),
        }
    }

    /// A new machine cloning `url` (default: the remote's path).
    pub fn clone_from(&self, host: &str, url: &str) -> Machine {
        let m = self.machine(host);
        let target = m.path.display().to_string();
        m.git_in(self.dir.path(), &["clone", "-q", url, &target]);
        m.identity();
        m
    }

    /// A new machine cloning the bare remote.
    pub fn clone(&self, host: &str) -> Machine {
        let url = self.remote.display().to_string();
        self.clone_from(host, &url)
    }

    /// Log every ref update the remote accepts (`<ref> <old> <new>` lines), and refuse non-fast-forwards
    /// and deletions as a protected server would.
    pub fn watch_remote(&self) {
        let log = self.dir.path().join("remote-updates.log");
        let hook = self.remote.join("hooks/update");
        write_executable(
            &hook,
            &format!("#!/bin/sh\necho \"$1 $2 $3\" >> '{}'\n", log.display()),
        );
        self.remote_git(&["config", "receive.denyNonFastForwards", "true"]);
        self.remote_git(&["config", "receive.denyDeletes", "true"]);
    }

    /// Every ref update the remote accepted since `watch_remote`.
    pub fn remote_updates(&self) -> Vec<(String, String, String)> {
        std::fs::read_to_string(self.dir.path().join("remote-updates.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut f = l.split(' ');
                Some((f.next()?.to_owned(), f.next()?.to_owned(), f.next()?.to_owned()))
            })
            .collect()
    }

    /// Assert every update the remote accepted created a ref or moved it to a descendant.
    pub fn assert_remote_only_moved_forward(&self) {
        let updates = self.remote_updates();
        assert!(!updates.is_empty(), "the remote saw updates");
        for (name, old, new) in updates {
            assert!(!new.chars().all(|c| c == '0'), "{name} was deleted");
            if old.chars().all(|c| c == '0') {
                continue;
            }
            assert!(
                self.remote_is_ancestor(&old, &new),
                "{name} moved from {old} to {new}, which does not contain it"
            );
        }
    }

    /// Whether `a` is an ancestor of `b` in the remote.
    pub fn remote_is_ancestor(&self, a: &str, b: &str) -> bool {
        git_command(self.dir.path(), &self.remote)
            .args(["merge-base", "--is-ancestor", a, b])
            .status()
            .expect("git runs")
            .success()
    }

    /// Run git in the bare remote.
    pub fn remote_git(&self, args: &[&str]) -> String {
        let out = git_command(self.dir.path(), &self.remote)
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The goal refs of the remote with their tips.
    pub fn remote_goals(&self) -> BTreeMap<String, String> {
        refs(&self.remote_git(&["for-each-ref", "--format=%(refname) %(objectname)", "refs/omk"]))
    }
}

fn refs(listing: &str) -> BTreeMap<String, String> {
    listing
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(r, s)| (r.to_owned(), s.to_owned()))
        .collect()
}

impl Machine {
    fn identity(&self) {
        let name = format!("User of {}", self.host);
        let email = format!("{}@example.com", self.host);
        self.git(&["config", "user.name", &name]);
        self.git(&["config", "user.email", &email]);
    }

    /// Run git in the work tree; panics on failure; trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.path, args)
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = git_command(&self.home, dir)
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "{}: git {args:?} failed: {}",
            self.host,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A git-omk command on this machine.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_git-omk"));
        hermetic(&mut cmd, &self.home);
        cmd.current_dir(&self.path)
            .env("OMK_HOST", &self.host)
            .env("OMK_WORKTREE_ROOT", self.home.join("worktrees"))
            .args(args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Run git-omk; return its output whatever the exit code.
    pub fn omk(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("git-omk runs")
    }

    /// Run git-omk and require exit code 0.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.omk(args);
        assert!(
            out.status.success(),
            "{}: git omk {args:?} exited {:?}\nstdout: {}\nstderr: {}",
            self.host,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Run git-omk with exit code 0 and parse its JSON output.
    pub fn json(&self, args: &[&str]) -> Value {
        json(&self.ok(args))
    }

    /// Start git-omk in the background.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("git-omk starts")
    }

    /// The hosts of the controllers that started on `goal`, in the order its history recorded them.
    pub fn controllers_started(&self, goal: &str) -> Vec<String> {
        self.json(&["goal", "replay", goal, "-f", "json"])["events"]
            .as_array()
            .expect("replay lists events")
            .iter()
            .filter(|e| e["event"]["kind"] == "controller_started")
            .map(|e| {
                e["event"]["data"]["lease"]["host"]
                    .as_str()
                    .expect("a host")
                    .to_owned()
            })
            .collect()
    }

    /// Plan a goal with the heuristic planner; its id.
    pub fn plan(&self, text: &str) -> String {
        let v = self.json(&["goal", "run", text, "--no-llm-planner", "--json"]);
        v["id"].as_str().expect("an id").to_owned()
    }

    /// `goal show -f json` of `goal`.
    pub fn show(&self, goal: &str) -> Value {
        self.json(&["goal", "show", goal, "-f", "json"])
    }

    /// Ids of every event in the goal's history.
    pub fn event_ids(&self, goal: &str) -> Vec<String> {
        self.json(&["goal", "replay", goal, "-f", "json"])["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["event"]["id"].as_str().expect("an id").to_owned())
            .collect()
    }

    /// The id of the newest event of the goal.
    pub fn last_event_id(&self, goal: &str) -> String {
        self.event_ids(goal).pop().expect("an event")
    }

    /// `sync --json`, required to succeed.
    pub fn sync(&self) -> Value {
        self.json(&["sync", "--json"])
    }

    /// `replay --verify` passes.
    pub fn verify(&self, goal: &str) {
        let v = self.json(&["goal", "replay", goal, "--verify", "--json"]);
        assert!(v["divergence"].is_null(), "{}: {v}", self.host);
    }

    /// Local goal refs and their tips.
    pub fn goals(&self) -> BTreeMap<String, String> {
        refs(&self.git(&[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/omk/goals",
        ]))
    }

    /// Whether `a` is an ancestor of (or equal to) `b` here.
    pub fn is_ancestor(&self, a: &str, b: &str) -> bool {
        git_command(&self.home, &self.path)
            .args(["merge-base", "--is-ancestor", a, b])
            .status()
            .expect("git runs")
            .success()
    }

    /// Assert every goal of `before` still exists and moved only to a descendant.
    pub fn assert_moved_forward_since(&self, before: &BTreeMap<String, String>) {
        let after = self.goals();
        for (name, old) in before {
            let new = after
                .get(name)
                .unwrap_or_else(|| panic!("{}: {name} disappeared", self.host));
            assert!(
                self.is_ancestor(old, new),
                "{}: {name} moved from {old} to {new}, which does not contain it",
                self.host
            );
        }
    }

    /// `git rev-parse HEAD`, `git status --porcelain --ignored` and the current branch.
    pub fn user_state(&self) -> (String, String, String) {
        (
            self.git(&["rev-parse", "HEAD"]),
            self.git(&["status", "--porcelain", "--ignored"]),
            self.git(&["symbolic-ref", "-q", "HEAD"]),
        )
    }
}

/// `git daemon` serving a directory on 127.0.0.1, read and write; stopped (its process group killed)
/// when dropped.
pub struct Daemon {
    child: Child,
    /// The port.
    pub port: u16,
}

impl Daemon {
    /// Serve `base` (every repository under it) on a free port of 127.0.0.1.
    pub fn start(base: &Path, home: &Path) -> Daemon {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut cmd = Command::new("git");
        hermetic(&mut cmd, home);
        cmd.args([
            "daemon",
            "--reuseaddr",
            "--listen=127.0.0.1",
            &format!("--port={port}"),
            "--export-all",
            "--enable=receive-pack",
            "--informative-errors",
            &format!("--base-path={}", base.display()),
        ])
        .arg(base)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
        let child = cmd.spawn().expect("git daemon starts");
        let daemon = Daemon { child, port };
        daemon.wait_ready(home);
        daemon
    }

    /// The URL of repository `name` under the served directory.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }

    fn wait_ready(&self, home: &Path) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut cmd = Command::new("git");
            hermetic(&mut cmd, home);
            let url = format!("git://127.0.0.1:{}/", self.port);
            let probe = cmd.args(["ls-remote", &url]).output().expect("git runs");
            let stderr = String::from_utf8_lossy(&probe.stderr);
            if probe.status.success() || !stderr.contains("Connection refused") {
                return;
            }
            assert!(Instant::now() < deadline, "git daemon did not start: {stderr}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}
