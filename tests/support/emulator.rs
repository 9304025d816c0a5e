//! The stateful GitHub emulator (`emulate@0.12.2`), one per test on 127.0.0.1 with a free port and a
//! seed, killed by process group on drop; and a bare git remote whose pre-receive hook mirrors every push
//! into the emulator through the Git Data API (the emulator has no git smart-HTTP).

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use super::git_repo::{TestRepo, hermetic};
use super::http::{Front, Reply, call, call_as, try_call};
use super::tools::{Tools, require};

/// The seeded owner, repository and token.
pub const OWNER: &str = "omk-bot";
/// The seeded repository.
pub const REPO: &str = "demo";
/// A token the seed knows.
pub const TOKEN: &str = "omk_test_token";

/// The token of a human reviewer the seed knows (`alice`).
pub const REVIEWER_TOKEN: &str = "alice_review_token";

const SEED: &str = r"tokens:
  omk_test_token:
    login: omk-bot
    scopes: [repo, user]
  alice_review_token:
    login: alice
    scopes: [repo, user]
github:
  users:
    - login: omk-bot
      name: OMK Bot
      email: omk-bot@example.com
    - login: alice
      name: Alice Reviewer
      email: alice@example.com
  repos:
    - owner: omk-bot
      name: demo
      auto_init: true
";

/// A running emulator.
pub struct Emulator {
    child: Child,
    /// Its address.
    pub addr: SocketAddr,
    /// Node, for hooks.
    pub node: PathBuf,
    _dir: TempDir,
}

impl Emulator {
    /// Start one, or `None` (skipped loudly) when it is not installed and not under CI.
    pub fn start() -> Option<Emulator> {
        let tools = Tools::locate();
        let node = require("Node.js (>= 22)", tools.node)?;
        let entry = require("the GitHub emulator (emulate@0.12.2)", tools.emulator)?;
        let dir = tempfile::tempdir().expect("temp dir");
        let seed = dir.path().join("seed.yaml");
        std::fs::write(&seed, SEED).expect("write seed");
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(&node)
                .arg(&entry)
                .args(["start", "--service", "github", "--host", "127.0.0.1", "--port"])
                .arg(port.to_string())
                .arg("--seed")
                .arg(&seed)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("spawn the emulator");
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
            if wait_ready(&mut child, addr) {
                return Some(Emulator {
                    child,
                    addr,
                    node,
                    _dir: dir,
                });
            }
            kill(&mut child);
        }
        panic!("the GitHub emulator did not become ready (3 attempts of 30 s)")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `/repos/omk-bot/demo{rest}`.
    pub fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{OWNER}/{REPO}{rest}")
    }

    /// GET.
    pub fn get(&self, path: &str) -> (u16, Value) {
        call(self.addr, "GET", path, None)
    }

    /// Any method, with a JSON body.
    pub fn send(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        call(self.addr, method, path, Some(body))
    }

    /// Any method, with a JSON body, as the user of `token`.
    pub fn send_as(&self, token: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
        call_as(self.addr, token, method, path, Some(body))
    }

    /// Every PR of the repository.
    pub fn pulls(&self) -> Vec<Value> {
        let (status, body) = self.get(&self.repo_path("/pulls?state=all&per_page=100"));
        assert_eq!(status, 200, "{body}");
        body.as_array().cloned().unwrap_or_default()
    }

    /// One PR.
    pub fn pull(&self, number: u64) -> Value {
        let (status, body) = self.get(&self.repo_path(&format!("/pulls/{number}")));
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The comments of a PR.
    pub fn comments(&self, number: u64) -> Vec<Value> {
        let (status, body) = self.get(&self.repo_path(&format!("/issues/{number}/comments")));
        assert_eq!(status, 200, "{body}");
        body.as_array().cloned().unwrap_or_default()
    }

    /// The sticky proof-summary comments git-omk keeps on PR `number`.
    pub fn proof_summaries(&self, number: u64) -> Vec<Value> {
        self.comments(number)
            .into_iter()
            .filter(|c| {
                c["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("git-omk:proof-summary"))
            })
            .collect()
    }

    /// Require check `name` on `branch` (branch protection, set up the way an admin would).
    pub fn protect(&self, branch: &str, check: &str) {
        let body = json!({
            "required_status_checks": { "strict": false, "contexts": [check] },
            "enforce_admins": false,
            "required_pull_request_reviews": null,
            "restrictions": null,
        });
        let (status, answer) = self.send(
            "PUT",
            &self.repo_path(&format!("/branches/{branch}/protection")),
            &body,
        );
        assert_eq!(status, 200, "{answer}");
    }

    /// Start a check run on `sha`; returns its id.
    pub fn start_check(&self, name: &str, sha: &str) -> u64 {
        let body = json!({ "name": name, "head_sha": sha, "status": "in_progress" });
        let (status, answer) = self.send("POST", &self.repo_path("/check-runs"), &body);
        assert_eq!(status, 201, "{answer}");
        answer["id"].as_u64().expect("check run id")
    }

    /// Complete a check run.
    pub fn finish_check(&self, id: u64, conclusion: &str) {
        let body = json!({ "status": "completed", "conclusion": conclusion });
        let (status, answer) = self.send("PATCH", &self.repo_path(&format!("/check-runs/{id}")), &body);
        assert_eq!(status, 200, "{answer}");
    }

    /// A human's `CHANGES_REQUESTED` review with two inline comments on `path` of PR `number`; the ids
    /// of the PR's review comments.
    pub fn request_changes(&self, number: u64, path: &str) -> Vec<u64> {
        let review = json!({
            "event": "REQUEST_CHANGES",
            "body": "Two things before this can go in.",
            "comments": [
                { "path": path, "position": 1, "body": "Please say what add returns in a comment." },
                { "path": path, "position": 2, "body": "Please add a mul function next to add." },
            ],
        });
        let reviews_path = self.repo_path(&format!("/pulls/{number}/reviews"));
        let (status, answer) = self.send_as(REVIEWER_TOKEN, "POST", &reviews_path, &review);
        assert_eq!(status, 201, "{answer}");
        self.review_comments(number)
            .iter()
            .filter_map(|c| c["id"].as_u64())
            .collect()
    }

    /// The inline review comments of PR `number`.
    pub fn review_comments(&self, number: u64) -> Vec<Value> {
        let (_, comments) = self.get(&self.repo_path(&format!("/pulls/{number}/comments")));
        comments.as_array().cloned().unwrap_or_default()
    }

    /// Review comments on PR `number` that answer comment `id`.
    pub fn replies_to(&self, number: u64, id: u64) -> Vec<Value> {
        self.review_comments(number)
            .into_iter()
            .filter(|c| c["in_reply_to_id"].as_u64() == Some(id))
            .collect()
    }

    /// The emulator has no `POST …/pulls/{n}/comments/{id}/replies` (GitHub's endpoint for answering in
    /// a review thread); it takes `in_reply_to_id` on `POST …/pulls/{n}/comments` instead. `front`
    /// answers the real endpoint by making that call, so git-omk speaks GitHub's API.
    pub fn bridge_replies(&self, front: &Front) {
        let addr = self.addr;
        front.set_rule(move |req| {
            let parts: Vec<&str> = req.path().split('/').collect();
            let is_reply =
                req.method == "POST" && parts.len() == 9 && parts[4] == "pulls" && parts[8] == "replies";
            if !is_reply {
                return Reply::Forward;
            }
            let id: u64 = parts[7].parse().unwrap_or_default();
            let body = req
                .body
                .as_ref()
                .and_then(|b| b["body"].as_str())
                .unwrap_or("")
                .to_owned();
            let path = format!("/repos/{}/{}/pulls/{}/comments", parts[2], parts[3], parts[5]);
            let reply = json!({ "body": body, "in_reply_to_id": id });
            let (status, answer) = call_as(addr, TOKEN, "POST", &path, Some(&reply));
            Reply::json(status, &answer)
        });
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

fn wait_ready(child: &mut Child, addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    let probe = format!("/repos/{OWNER}/{REPO}");
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        // A server still starting may accept and then reset: that is "not yet", not a failure.
        if matches!(try_call(addr, "GET", &probe, None), Ok((200, _))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Kill the emulator's whole process group, by its pid.
fn kill(child: &mut Child) {
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A bare repository standing in for GitHub's git side: pushes to it are mirrored into the emulator.
pub struct Remote {
    /// The bare repository.
    pub path: PathBuf,
    _dir: TempDir,
}

impl Remote {
    /// A bare remote mirroring into `emulator` (the mirror uses its own token, not git-omk's).
    pub fn mirroring(emulator: &Emulator, home: &Path) -> Remote {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("demo.git");
        let git = |args: &[&str]| {
            let mut cmd = Command::new("git");
            hermetic(&mut cmd, home);
            let out = cmd.args(args).output().expect("git runs");
            assert!(
                out.status.success(),
                "git {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        git(&[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            path.to_str().expect("utf-8 path"),
        ]);
        let config = |key: &str, value: &str| {
            git(&[
                "--git-dir",
                path.to_str().expect("utf-8 path"),
                "config",
                key,
                value,
            ]);
        };
        config(
            "omk-test.mirror-api",
            &format!("{}{}", emulator.url(), emulator.repo_path("")),
        );
        config("omk-test.mirror-token", "mirror-token");
        let script = path.join("omk-mirror.mjs");
        std::fs::write(&script, include_str!("mirror-hook.mjs")).expect("write mirror script");
        let hook = path.join("hooks").join("pre-receive");
        let text = format!(
            "#!/bin/sh\nreason=\"$(git config --get omk-test.reject)\"\nif [ -n \"$reason\" ]; then echo \"$reason\" >&2; exit 1; fi\nexec '{}' '{}'\n",
            emulator.node.display(),
            script.display()
        );
        std::fs::write(&hook, text).expect("write hook");
        make_executable(&hook);
        Remote { path, _dir: dir }
    }

    /// Make the remote refuse pushes with `reason` (as a server-side hook would).
    pub fn reject_pushes(&self, repo: &TestRepo, reason: &str) {
        repo.git(&[
            "--git-dir",
            self.path.to_str().expect("utf-8 path"),
            "config",
            "omk-test.reject",
            reason,
        ]);
    }

    /// A ref's value on the remote, if it exists.
    pub fn ref_value(&self, repo: &TestRepo, name: &str) -> Option<String> {
        let out = repo.git(&[
            "--git-dir",
            self.path.to_str().expect("utf-8 path"),
            "for-each-ref",
            "--format=%(objectname)",
            name,
        ]);
        (!out.is_empty()).then_some(out)
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path).expect("hook metadata").permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).expect("chmod hook");
}
