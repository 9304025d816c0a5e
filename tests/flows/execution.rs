//! Execution end to end with the `exec` agent (a shell script standing in for a coding agent), real git
//! repositories and real pytest gates: concurrent slices, retries, pause and cancel from another
//! terminal, budgets, leases, one-wave execution, crash recovery and garbage collection.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read the clock

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::follow::Follow;
use support::git_repo::{TestRepo, git_command};
use support::omk::{json, readiness_codes, task, until_ready, verify_history, write_executable};
use support::scenario::{BOTH, TWO_BUGS};
use support::tools::{path_with, pytest_bin};

const AGENT: &str = r##"#!/bin/sh
# A scripted coding agent: fixes what its task line names, or misbehaves as AGENT_MODE says.
case "$OMK_PROMPT" in
  *"reviewer for git-omk"*)
    printf 'No problems.\n```json\n{"findings": %s}\n```\n' "${REVIEW_FINDINGS:-[]}"; exit 0 ;;
esac
task=$(printf '%s\n' "$OMK_PROMPT" | grep '^Your task' || true)
[ -n "$AGENT_SLEEP" ] && sleep "$AGENT_SLEEP"
case "$AGENT_MODE" in
  wrong) echo "# attempt $(date +%s%N)" >> calc.py; exit 0 ;;
  hang) m="300.$(date +%N)"; sleep "$m" & echo "$m" >> "$AGENT_PIDS"; wait; exit 0 ;;
  conflict)
    # Someone else commits a different fix of add onto the integration branch meanwhile.
    case "$task" in *add*)
      integ="$(git rev-parse --abbrev-ref HEAD | sed 's#/tasks/.*#/integration#')"
      tip=$(git rev-parse "refs/heads/$integ")
      export GIT_INDEX_FILE="$AGENT_FLAG.index"
      git read-tree "$tip"
      blob=$(printf 'def add(a, b):\n    return b + a\n' | git hash-object -w --stdin)
      git update-index --cacheinfo "100644,$blob,calc.py"
      tree=$(git write-tree)
      rm -f "$GIT_INDEX_FILE"; unset GIT_INDEX_FILE
      git update-ref "refs/heads/$integ" "$(git commit-tree "$tree" -p "$tip" -m 'another fix')" "$tip" ;;
    esac ;;
  work-then-hang)
    # Fixes its task, then keeps working on it (appending to the file it fixed) until it is stopped.
    case "$task" in *add*) sed -i 's/return a - b/return a + b/' calc.py ;; esac
    ( while :; do echo "# still working" >> calc.py; sleep 0.1; done ) &
    m="300.$(date +%N)"; sleep "$m" & echo "$m" >> "$AGENT_PIDS"; wait; exit 0 ;;
  hang-once)
    if [ ! -e "$AGENT_FLAG" ]; then
      touch "$AGENT_FLAG"; m="300.$(date +%N)"; sleep "$m" & echo "$m" >> "$AGENT_PIDS"; wait
    fi ;;
esac
case "$task" in
  *add*) sed -i 's/return a - b/return a + b/' calc.py ;;
  *upper*) sed -i 's/return s.lower()/return s.upper()/' strings.py ;;
esac
"##;

/// A repository with two independent bugs, each caught by a failing pytest test, and an agent script.
struct Fixture {
    repo: TestRepo,
    agent: PathBuf,
    env: Vec<(String, String)>,
}

impl Fixture {
    fn new() -> Option<Fixture> {
        let bin = pytest_bin()?;
        let repo = TestRepo::with_files(TWO_BUGS);
        let agent = repo.home.join("agent.sh");
        write_executable(&agent, AGENT);
        // Where the scripted agent leaves notes for the test: the one directory outside its worktree
        // the sandbox lets it write (as `omk.sandbox.allowWrite` would).
        let state = repo.home.join("agent-state");
        std::fs::create_dir_all(&state).unwrap();
        let env = vec![
            ("PATH".to_owned(), path_with(&bin)),
            (
                "OMK_WORKTREE_ROOT".to_owned(),
                repo.home.join("worktrees").display().to_string(),
            ),
            (
                "AGENT_PIDS".to_owned(),
                state.join("agent.pids").display().to_string(),
            ),
            (
                "AGENT_FLAG".to_owned(),
                state.join("agent.flag").display().to_string(),
            ),
            ("OMK_SANDBOX_ALLOW_WRITE".to_owned(), state.display().to_string()),
        ];
        Some(Fixture { repo, agent, env })
    }

    fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        support::omk::command(&self.repo, &self.env, args, extra)
    }

    fn omk(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        self.command(args, extra).output().unwrap()
    }

    fn spawn(&self, args: &[&str], extra: &[(&str, &str)]) -> Child {
        self.command(args, extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn agent_arg(&self) -> String {
        format!("exec:{}", self.agent.display())
    }

    fn run(&self, goal: &str, extra_args: &[&str], env: &[(&str, &str)]) -> Output {
        let agent = self.agent_arg();
        let mut args = until_ready(goal, &agent, &["--json"]);
        args.extend_from_slice(extra_args);
        self.omk(&args, env)
    }

    fn show(&self) -> Value {
        json(&self.omk(&["goal", "show", "-f", "json"], &[]))
    }

    /// Wait (bounded, as a hang guard only) until `ready` says yes.
    fn wait_until(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.omk(&["goal", "show", "-f", "json"], &[]);
            if out.status.success() {
                let v = json(&out);
                if ready(&v) {
                    return v;
                }
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The live processes the hanging agent started: it names each `sleep` it starts with a marker
    /// (inside the sandbox its pids are those of its own PID namespace), found here by command line.
    fn agent_pids(&self) -> Vec<i32> {
        let markers: Vec<String> = std::fs::read_to_string(self.repo.home.join("agent-state/agent.pids"))
            .unwrap_or_default()
            .lines()
            .map(|l| format!("sleep {}", l.trim()))
            .collect();
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| alive(*pid))
            .filter(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                markers.iter().any(|m| cmdline.trim_end() == m)
            })
            .collect()
    }

    /// Start `run --until-ready` on "Fix add in calc.py" with the agent in `mode`, and wait until its
    /// agent started the processes it names in `AGENT_PIDS` (it did its work up to there).
    fn start_one_task(&self, mode: &str) -> (Child, Started) {
        let agent = self.agent_arg();
        let child = self.spawn(
            &until_ready("Fix add in calc.py", &agent, &[]),
            &[("AGENT_MODE", mode)],
        );
        let running = self.wait_until("the agent to run", |v| v["tasks"][0]["status"] == "running");
        let id = running["goal"]["id"].as_str().unwrap().to_owned();
        let task_id = running["tasks"][0]["id"].as_str().unwrap().to_owned();
        while self.agent_pids().is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let root = PathBuf::from(self.env[1].1.clone());
        let dir = find_task_dir(&root, &task_id).expect("the running task has a worktree");
        (child, Started { id, task_id, dir })
    }

    fn worktrees(&self) -> Vec<String> {
        self.repo.linked_worktrees()
    }

    fn verify_history(&self) {
        verify_history(|args| self.omk(args, &[]));
    }
}

/// A goal whose one task's agent runs ([`Fixture::start_one_task`]).
struct Started {
    id: String,
    task_id: String,
    /// The task's worktree.
    dir: PathBuf,
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
}

fn wait_exit(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

#[test]
fn two_independent_slices_run_concurrently_and_end_ready() {
    let Some(fx) = Fixture::new() else { return };
    let before = fx.repo.user_state();
    let out = fx.run(
        "Fix add in calc.py and fix upper in strings.py",
        &["--max-agents", "2"],
        &[("AGENT_SLEEP", "1")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "ready exits 0: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = json(&out);
    assert_eq!(result["status"], "ready");
    assert_eq!(
        fx.repo.user_state(),
        before,
        "the user's branch, HEAD and work tree are untouched"
    );
    let branch = result["integration"]["branch"].as_str().unwrap();
    assert!(
        fx.repo
            .git(&["show", &format!("{branch}:calc.py")])
            .contains("a + b")
    );
    assert!(
        fx.repo
            .git(&["show", &format!("{branch}:strings.py")])
            .contains("s.upper()")
    );
    assert!(
        fx.repo.git(&["show", "HEAD:calc.py"]).contains("a - b"),
        "main still has the bug"
    );
    let show = fx.show();
    let (a, b) = (
        &task(&show, "t1")["attempts"][0],
        &task(&show, "t2")["attempts"][0],
    );
    let t = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert!(
        t(&a["started_at"]) < t(&b["ended_at"]) && t(&b["started_at"]) < t(&a["ended_at"]),
        "the slices overlapped in time: {a} {b}"
    );
    assert!(show["goal"]["verification"]["gates"][0]["outcome"] == "passed");
    assert!(
        fx.worktrees().is_empty(),
        "worktrees are removed once their work is recorded: {:?}",
        fx.worktrees()
    );
    fx.verify_history();
    let goal_ref = format!("refs/omk/goals/{}", result["id"].as_str().unwrap());
    let integrated = fx.repo.git(&["rev-parse", branch]);
    assert_eq!(
        fx.repo
            .git(&["merge-base", "--is-ancestor", &integrated, &goal_ref]),
        "",
        "the goal ref reaches the proven result"
    );
}

#[test]
fn a_merge_conflict_is_a_recorded_blocker_and_resume_integrates_its_resolution() {
    let Some(fx) = Fixture::new() else { return };
    // Unconfined: the scripted agent plays "someone else" committing onto the integration branch.
    let out = fx.run(
        BOTH,
        &["--max-agents", "2"],
        &[("AGENT_MODE", "conflict"), ("OMK_SANDBOX", "off")],
    );
    assert_ne!(out.status.code(), Some(0), "a blocked task is not ready");
    let result = json(&out);
    let integration = result["integration"]["branch"].as_str().unwrap().to_owned();
    let show = fx.show();
    let t1 = task(&show, "t1");
    assert_eq!(t1["status"], "blocked", "{t1}");
    let note = t1["note"].as_str().unwrap();
    assert!(
        note.contains("conflicts in calc.py") && note.contains(&format!("merge {integration} into")),
        "the blocker names the file and how to resolve it: {note}"
    );
    assert!(t1["integrated"].is_null());
    let branch = t1["branch"].as_str().unwrap().to_owned();
    assert_eq!(
        fx.repo.git(&["show", &format!("{integration}:calc.py")]),
        "def add(a, b):\n    return b + a",
        "the integration branch keeps the other fix; nothing was half-merged"
    );

    // A human resolves the conflict on the task branch, as the blocker says, and resumes.
    let dir = fx.repo.home.join("resolve");
    fx.repo
        .git(&["worktree", "add", "-q", &dir.to_string_lossy(), &branch]);
    let merged = git_command(&fx.repo.home, &dir)
        .args(["merge", "-q", &integration])
        .output()
        .unwrap();
    assert!(!merged.status.success(), "the merge conflicts");
    std::fs::write(dir.join("calc.py"), "def add(a, b):\n    return a + b\n").unwrap();
    fx.repo
        .git_in(&dir, &["commit", "-q", "-am", "resolve the conflict"]);
    let resolution = fx.repo.git_in(&dir, &["rev-parse", "HEAD"]);
    fx.repo.git(&["worktree", "remove", &dir.to_string_lossy()]);

    let out = fx.omk(&["goal", "resume", "--json"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "resumed to ready: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let show = fx.show();
    assert_eq!(task(&show, "t1")["status"], "done");
    assert_eq!(task(&show, "t2")["status"], "done");
    assert_eq!(
        fx.repo.git(&["show", &format!("{integration}:calc.py")]),
        "def add(a, b):\n    return a + b"
    );
    assert!(
        fx.repo
            .git(&["show", &format!("{integration}:strings.py")])
            .contains("s.upper()"),
        "the other task's work is in too"
    );
    assert_eq!(
        fx.repo.git(&["rev-parse", &integration]),
        resolution,
        "the resolution fast-forwards the integration branch"
    );
    let goal_ref = format!("refs/omk/goals/{}", show["goal"]["id"].as_str().unwrap());
    fx.repo
        .git(&["merge-base", "--is-ancestor", &resolution, &goal_ref]);
    fx.verify_history();
}

#[test]
fn an_agent_that_keeps_failing_ends_not_ready_within_its_retry_limit() {
    let Some(fx) = Fixture::new() else { return };
    let out = fx.run("Fix add in calc.py", &[], &[("AGENT_MODE", "wrong")]);
    assert_eq!(out.status.code(), Some(1), "not_ready exits 1");
    let show = fx.show();
    let t1 = task(&show, "t1");
    assert_eq!(t1["status"], "failed");
    let attempts = t1["attempts"].as_array().unwrap();
    assert_eq!(
        attempts.len(),
        t1["retry_limit"].as_u64().unwrap() as usize,
        "every allowed attempt, no more"
    );
    assert!(attempts.iter().all(|a| a["outcome"] == "failed"));
    assert!(
        attempts[1]["evidence"]
            .as_str()
            .unwrap()
            .contains("nothing that failed on the base passes now")
    );
    let proof = json(&fx.omk(&["goal", "proof", "--json"], &[]));
    assert_eq!(proof["readiness"]["status"], "not_ready");
    let codes = readiness_codes(&proof);
    assert!(
        codes.contains(&"task_not_done") && codes.contains(&"required_gate_failed"),
        "{codes:?}"
    );
    fx.verify_history();
}

#[test]
fn pause_from_another_terminal_stops_every_agent_and_resume_finishes() {
    let Some(fx) = Fixture::new() else { return };
    let agent = fx.agent_arg();
    let child = fx.spawn(&until_ready(BOTH, &agent, &[]), &[("AGENT_MODE", "hang-once")]);
    while fx.agent_pids().is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let paused = fx.omk(&["goal", "pause", "--reason", "meeting"], &[]);
    assert!(
        paused.status.success(),
        "{}",
        String::from_utf8_lossy(&paused.stderr)
    );
    let out = wait_exit(child);
    assert_eq!(
        out.status.code(),
        Some(5),
        "a paused controller exits 5: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for pid in fx.agent_pids() {
        assert!(!alive(pid), "agent process {pid} survived the pause");
    }
    let show = fx.show();
    assert_eq!(show["goal"]["status"], "paused");
    assert_eq!(show["goal"]["lease"], Value::Null, "the lease is released");
    let interrupted = show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["attempts"][0]["outcome"] == "interrupted")
        .count();
    assert!(
        interrupted >= 1,
        "the hanging attempt (and any other still running) was interrupted and recorded"
    );
    let resumed = fx.omk(&["goal", "resume", "--json"], &[("AGENT_MODE", "hang-once")]);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(json(&resumed)["status"], "ready");
    fx.verify_history();
}

#[test]
fn cancel_from_another_terminal_stops_the_controller() {
    let Some(fx) = Fixture::new() else { return };
    let agent = fx.agent_arg();
    let child = fx.spawn(
        &until_ready("Fix add in calc.py", &agent, &[]),
        &[("AGENT_MODE", "hang")],
    );
    fx.wait_until("the agent to run", |v| v["tasks"][0]["status"] == "running");
    while fx.agent_pids().is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(fx.omk(&["goal", "cancel"], &[]).status.success());
    let out = wait_exit(child);
    assert_eq!(out.status.code(), Some(5));
    for pid in fx.agent_pids() {
        assert!(!alive(pid), "agent process {pid} survived the cancel");
    }
    assert_eq!(fx.show()["goal"]["status"], "cancelled");
}

/// `control` (`pause` or `cancel`) stops the agent mid-work: what it wrote is kept on the task branch
/// and recorded with its interrupted attempt. What lands in the worktree after the controller stopped
/// (a tool the agent started finishing its write) is kept too: the controller that resumes the goal
/// commits it on the task branch and records it as work left, before the next attempt (which builds on
/// it rather than silently taking it in, or dropping it).
fn stopped_mid_work_keeps_the_agents_work(control: &str) {
    let Some(fx) = Fixture::new() else { return };
    let (child, Started { id, task_id, dir }) = fx.start_one_task("work-then-hang");
    assert!(fx.omk(&["goal", control], &[]).status.success());
    assert_eq!(wait_exit(child).status.code(), Some(5));
    let goal_ref = format!("refs/omk/goals/{id}");
    let reaches = |from: &str, commit: &str| {
        fx.repo
            .git_output(&["merge-base", "--is-ancestor", commit, from])
            .status
            .success()
    };
    let attempt = &fx.show()["tasks"][0]["attempts"][0];
    assert_eq!(attempt["outcome"], "interrupted", "{attempt}");
    let stopped = attempt["commit"]
        .as_str()
        .expect("the interrupted attempt's commit")
        .to_owned();
    assert!(
        fx.repo
            .git(&["show", &format!("{stopped}:calc.py")])
            .contains("return a + b"),
        "the work the agent did before it was stopped is on the task branch"
    );
    assert!(
        reaches(&goal_ref, &stopped),
        "the goal reaches the interrupted work"
    );
    // Written after the controller stopped the agent.
    assert!(dir.exists(), "a stopped goal's worktree stays");
    std::fs::write(dir.join("calc.py"), "def add(a, b):\n    return b + a\n").unwrap();
    std::fs::write(dir.join("notes.txt"), "outside the write set\n").unwrap();
    // The goal ends `not_ready` (its one task fixes add; upper stays broken).
    let resumed = fx.omk(&["goal", "resume", "--json"], &[]);
    assert_eq!(
        resumed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(json(&resumed)["status"], "not_ready");
    let replay = json(&fx.omk(&["goal", "replay", "-f", "json"], &[]));
    let saved: Vec<&Value> = replay["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["event"])
        .filter(|e| e["kind"] == "work_saved")
        .collect();
    assert_eq!(saved.len(), 1, "the late change is recorded once: {saved:?}");
    assert_eq!(saved[0]["data"]["task"].as_str(), Some(task_id.as_str()));
    let left = saved[0]["data"]["commit"].as_str().unwrap();
    assert_eq!(
        fx.repo.git(&["show", &format!("{left}:calc.py")]),
        "def add(a, b):\n    return b + a",
        "the work left holds exactly what was written after the stop"
    );
    assert_eq!(
        fx.repo.git(&["show", &format!("{left}:notes.txt")]),
        "outside the write set",
        "what it changed outside its write set is kept too"
    );
    assert!(
        reaches(left, &stopped),
        "the work left is on the task branch, after the interrupted work"
    );
    assert!(reaches(&goal_ref, left), "the goal reaches the work left");
    let show = fx.show();
    let next = show["tasks"][0]["attempts"][1]["commit"].as_str().unwrap();
    assert!(reaches(next, left), "the next attempt builds on the work left");
    let integrated = show["goal"]["integration"]["commit"].as_str().unwrap();
    for (commit, what) in [(next, "the next attempt"), (integrated, "the result")] {
        let outside = fx
            .repo
            .git_output(&["cat-file", "-e", &format!("{commit}:notes.txt")]);
        assert!(
            !outside.status.success(),
            "{what} has nothing outside the write set"
        );
    }
    let decisions = show["decisions"].as_array().unwrap();
    assert!(
        decisions.iter().any(|d| d["step"] == "work_left"
            && d["chosen"].as_str().unwrap().contains(&task_id)
            && d["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e.as_str().unwrap().contains("calc.py"))),
        "goal show names the work left: {decisions:?}"
    );
    let text = fx.omk(&["goal", "show"], &[]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("[work_left]"));
    fx.verify_history();
}

#[test]
fn work_an_agent_leaves_when_paused_is_kept_and_recorded() {
    stopped_mid_work_keeps_the_agents_work("pause");
}

#[test]
fn work_an_agent_leaves_when_cancelled_is_kept_and_recorded() {
    stopped_mid_work_keeps_the_agents_work("cancel");
}

#[test]
fn a_second_controller_is_refused_while_the_lease_is_live() {
    let Some(fx) = Fixture::new() else { return };
    let agent = fx.agent_arg();
    let child = fx.spawn(
        &until_ready("Fix add in calc.py", &agent, &[]),
        &[("AGENT_MODE", "hang")],
    );
    fx.wait_until("the agent to run", |v| v["tasks"][0]["status"] == "running");
    let second = fx.omk(&["goal", "execute"], &[]);
    assert_eq!(second.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("is driven by the controller"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(fx.omk(&["goal", "cancel"], &[]).status.success());
    assert_eq!(wait_exit(child).status.code(), Some(5));
}

/// Two `goal resume`s started at the same moment on a goal whose controller was killed: exactly one of
/// them takes the goal over; the other refuses (exit 2) naming the holder. Repeated, because the race is
/// not won the same way every time.
#[test]
fn two_resumes_at_once_after_a_crash_start_exactly_one_controller() {
    for trial in 0..10 {
        let Some(fx) = Fixture::new() else { return };
        let killed = fx.run(BOTH, &[], &[("OMK_FAULT", "dispatch")]);
        assert_eq!(
            killed.status.code(),
            None,
            "trial {trial}: the controller was killed"
        );
        let first = fx.spawn(&["goal", "resume", "--json"], &[]);
        let second = fx.spawn(&["goal", "resume", "--json"], &[]);
        let pids = [first.id(), second.id()];
        let outs = [wait_exit(first), wait_exit(second)];
        let codes: Vec<Option<i32>> = outs.iter().map(|o| o.status.code()).collect();
        let stderr = |i: usize| String::from_utf8_lossy(&outs[i].stderr).into_owned();
        let Some(winner) = codes.iter().position(|c| *c == Some(0)) else {
            panic!(
                "trial {trial}: no resume finished: {codes:?}\n{}\n{}",
                stderr(0),
                stderr(1)
            );
        };
        let loser = 1 - winner;
        assert_eq!(
            codes[loser],
            Some(2),
            "trial {trial}: the other refuses: {}",
            stderr(loser)
        );
        assert!(
            stderr(loser).contains("is driven by the controller")
                && stderr(loser).contains(&format!("pid {} ", pids[winner])),
            "trial {trial}: the refusal names the holder (pid {}): {}",
            pids[winner],
            stderr(loser)
        );
        assert_eq!(json(&outs[winner])["status"], "ready", "trial {trial}");
        let replay = json(&fx.omk(&["goal", "replay", "-f", "json"], &[]));
        let started = replay["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["kind"] == "controller_started")
            .count();
        assert_eq!(
            started, 2,
            "trial {trial}: the killed controller and exactly one after it"
        );
        fx.verify_history();
    }
}

#[test]
fn an_exhausted_time_budget_stops_then_budget_add_finishes() {
    let Some(fx) = Fixture::new() else { return };
    let out = fx.run(BOTH, &["--budget-time", "2s"], &[("AGENT_MODE", "hang-once")]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "needs_more_budget exits 4: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let show = fx.show();
    assert_eq!(show["goal"]["status"], "needs_more_budget");
    assert!(
        show["goal"]["stop_reason"]
            .as_str()
            .unwrap()
            .contains("time budget is exhausted")
    );
    for pid in fx.agent_pids() {
        assert!(!alive(pid), "agent process {pid} survived");
    }
    assert!(
        fx.omk(&["goal", "budget-add", "--time", "1h"], &[])
            .status
            .success()
    );
    let resumed = fx.omk(&["goal", "resume", "--json"], &[]);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(json(&resumed)["status"], "ready");
    fx.verify_history();
}

#[test]
fn execute_runs_one_wave_at_a_time() {
    let Some(fx) = Fixture::new() else { return };
    let agent = fx.agent_arg();
    let planned = fx.omk(
        &[
            "goal",
            "run",
            "Fix add in calc.py, then fix upper in strings.py",
            "--no-llm-planner",
            "--agent",
            &agent,
            "--json",
        ],
        &[],
    );
    assert!(planned.status.success());
    let first = fx.omk(&["goal", "execute", "--json"], &[]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let after_one = fx.show();
    assert_eq!(task(&after_one, "t1")["status"], "done");
    assert_eq!(
        task(&after_one, "t2")["status"],
        "pending",
        "the second wave waits for the next execute"
    );
    assert_eq!(after_one["goal"]["lease"], Value::Null);
    let second = fx.omk(&["goal", "execute", "--json"], &[]);
    assert_eq!(json(&second)["status"], "ready");
}

/// Kill the controller with `OMK_FAULT` at `point`, then resume: the goal completes with every event
/// once, no agent left running, and no worktree left after gc.
fn crash_and_resume(point: &str, resume_args: &[&str]) {
    let Some(fx) = Fixture::new() else { return };
    let out = fx.run(BOTH, &[], &[("OMK_FAULT", point)]);
    assert_eq!(
        out.status.code(),
        None,
        "killed by a signal at {point}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = fx.omk(resume_args, &[]);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "resume after {point}: {}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let show = fx.show();
    assert_eq!(show["goal"]["status"], "ready", "after a crash at {point}");
    fx.verify_history();
    assert!(fx.omk(&["gc"], &[]).status.success());
    assert!(
        fx.worktrees().is_empty(),
        "no worktree leaked: {:?}",
        fx.worktrees()
    );
}

#[test]
fn crash_between_a_commit_and_its_ref_update() {
    crash_and_resume("before-ref-update:6", &["goal", "resume"]);
}

#[test]
fn crash_right_after_dispatching_agents() {
    crash_and_resume("dispatch", &["goal", "resume"]);
}

#[test]
fn crash_during_integration_then_resume_auto() {
    crash_and_resume("integration", &["goal", "resume", "--auto"]);
}

#[test]
fn kill_9_mid_wave_with_agents_running_loses_no_work() {
    let Some(fx) = Fixture::new() else { return };
    let agent = fx.agent_arg();
    let mut child = fx.spawn(&until_ready(BOTH, &agent, &[]), &[("AGENT_MODE", "hang-once")]);
    while fx.agent_pids().is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let hanging = fx.wait_until("a task to run", |v| {
        v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["status"] == "running")
    });
    let running = hanging["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"] == "running")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let worktree = PathBuf::from(fx.env[1].1.clone());
    let task_dir = find_task_dir(&worktree, &running).expect("the running task has a worktree");
    std::fs::write(task_dir.join("notes.txt"), "work in progress\n").unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let resumed = fx.omk(&["goal", "resume", "--json"], &[]);
    assert_eq!(
        json(&resumed)["status"],
        "ready",
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    for pid in fx.agent_pids() {
        assert!(
            !alive(pid),
            "agent process {pid} outlived its controller and the resume"
        );
    }
    let show = fx.show();
    let attempts = task(&show, &running)["attempts"].as_array().unwrap().clone();
    assert_eq!(attempts[0]["outcome"], "interrupted");
    let snapshot = attempts[0]["commit"].as_str().unwrap();
    assert_eq!(
        fx.repo.git(&["show", &format!("{snapshot}:notes.txt")]),
        "work in progress",
        "the interrupted work was saved"
    );
    fx.verify_history();
    assert!(fx.omk(&["gc"], &[]).status.success());
    assert!(fx.worktrees().is_empty());
}

fn find_task_dir(root: &Path, task: &str) -> Option<PathBuf> {
    let repo = std::fs::read_dir(root).ok()?.flatten().next()?.path();
    let goal = std::fs::read_dir(repo).ok()?.flatten().next()?.path();
    let dir = goal.join("tasks").join(task);
    dir.is_dir().then_some(dir)
}

/// The goal commit named by `proof_commit` recorded a `proof_recorded` event.
fn recorded_a_proof(fx: &Fixture, commit: &str) -> bool {
    let replay = json(&fx.omk(&["goal", "replay", "-f", "json"], &[]));
    replay["events"].as_array().unwrap().iter().any(|e| {
        e["commit"].as_str() == Some(commit) && e["event"]["kind"].as_str() == Some("proof_recorded")
    })
}

#[test]
fn verify_reruns_the_gates_on_the_proven_tree_and_records_whether_the_proof_holds() {
    let Some(fx) = Fixture::new() else { return };
    let out = fx.run(BOTH, &["--max-agents", "2"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ran = json(&out);
    let branch = ran["integration"]["branch"].as_str().unwrap().to_owned();
    let integrated = fx.repo.git(&["rev-parse", &branch]);

    let proof = json(&fx.omk(&["goal", "proof", "-f", "json"], &[]));
    assert_eq!(proof["recorded"], true);
    assert_eq!(
        proof["proof"]["result"]["commit"].as_str(),
        Some(integrated.as_str())
    );
    let proof_commit = proof["proof_commit"].as_str().unwrap().to_owned();
    assert!(
        recorded_a_proof(&fx, &proof_commit),
        "the proof commit recorded the proof"
    );

    let held = fx.omk(&["goal", "verify", "--json"], &[]);
    assert_eq!(
        held.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&held.stdout)
    );
    let held = json(&held);
    assert_eq!(
        (held["holds"].clone(), held["proven"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(held["commit"].as_str(), Some(integrated.as_str()));
    assert!(
        held["recorded"].is_string(),
        "a concluded local goal records the fresh evidence"
    );

    // The same tree in a changed environment: pytest selects no test, which fails closed.
    let broken = fx.omk(
        &["goal", "verify", "--json"],
        &[("PYTEST_ADDOPTS", "-k no_such_test")],
    );
    assert_eq!(
        broken.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&broken.stdout)
    );
    let broken = json(&broken);
    assert_eq!(broken["holds"], false);
    assert_eq!(broken["proof"]["status"], "not_ready");
    assert!(!broken["proof"]["reasons"].as_array().unwrap().is_empty());
    assert_eq!(
        fx.show()["goal"]["status"],
        "not_ready",
        "the recorded proof no longer says ready"
    );
    assert_eq!(fx.omk(&["goal", "proof"], &[]).status.code(), Some(1));

    let again = fx.omk(&["goal", "verify"], &[]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("the proof holds"));
    assert_eq!(fx.show()["goal"]["status"], "ready");
    let latest = json(&fx.omk(&["goal", "proof", "-f", "json"], &[]));
    assert_ne!(
        latest["proof_commit"], proof["proof_commit"],
        "each verification records a new proof"
    );
    fx.verify_history();
}

#[test]
fn a_fetched_goal_is_verified_in_another_clone_without_writing_anything() {
    let Some(fx) = Fixture::new() else { return };
    let out = fx.run(BOTH, &["--max-agents", "2"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = json(&out)["id"].as_str().unwrap().to_owned();
    let clone = fx.repo.home.join("clone");
    let git = |dir: &Path, args: &[&str]| fx.repo.git_in(dir, args);
    git(
        &fx.repo.home,
        &["clone", "-q", fx.repo.path.to_str().unwrap(), "clone"],
    );
    let omk = |args: &[&str]| {
        let mut cmd = fx.command(args, &[]);
        cmd.current_dir(&clone);
        cmd.output().unwrap()
    };
    assert!(omk(&["remote", "setup"]).status.success());
    git(&clone, &["fetch", "-q", "origin"]);
    let out = omk(&["goal", "verify", &id, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["holds"], true);
    assert_eq!(v["remote"], "origin");
    assert!(v["recorded"].is_null());
    assert!(v["not_recorded"].as_str().unwrap().contains("fetched"));
    assert_eq!(
        git(&clone, &["for-each-ref", "refs/omk/goals"]),
        "",
        "verifying a fetched goal creates no local goal"
    );
}

#[test]
fn a_high_finding_blocks_ready_until_a_human_accepts_it() {
    let Some(fx) = Fixture::new() else { return };
    let finding =
        r#"[{"severity": "high", "file": "calc.py", "line": 2, "message": "adds without checking types"}]"#;
    let out = fx.run(BOTH, &["--max-agents", "2"], &[("REVIEW_FINDINGS", finding)]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let proof = json(&fx.omk(&["goal", "proof", "-f", "json"], &[]));
    let reasons = proof["readiness"]["reasons"].to_string();
    assert!(reasons.contains("adds without checking types"), "{reasons}");
    assert_eq!(fx.omk(&["goal", "proof"], &[]).status.code(), Some(1));

    // Partial acceptance: an unknown task is bad input (nothing written); the other slice's accept
    // leaves calc.py's finding open.
    let tip = || fx.repo.git(&["for-each-ref", "refs/omk/goals"]);
    let before = tip();
    let unknown = fx.omk(&["goal", "accept", "--task", "nope", "--summary", "x"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("has no task nope"));
    assert_eq!(tip(), before, "a refused accept records nothing");
    let show = fx.show();
    let strings_task = task(&show, "t2")["id"].as_str().unwrap().to_owned();
    let partial = fx.omk(
        &[
            "goal",
            "accept",
            "--task",
            &strings_task,
            "--summary",
            "upper is fine",
        ],
        &[],
    );
    assert!(
        partial.status.success(),
        "{}",
        String::from_utf8_lossy(&partial.stderr)
    );
    let proof = json(&fx.omk(&["goal", "proof", "-f", "json"], &[]));
    assert_eq!(proof["readiness"]["status"], "not_ready", "{proof}");
    assert_eq!(proof["proof"]["findings"][0]["accepted"], false, "{proof}");
    assert_eq!(
        proof["proof"]["human_decisions"][0]["task"],
        strings_task.as_str()
    );

    let accepted = fx.omk(
        &["goal", "accept", "--summary", "types are checked by the caller"],
        &[],
    );
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let proof = fx.omk(&["goal", "proof"], &[]);
    assert_eq!(
        proof.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&proof.stdout)
    );
    let show = fx.show();
    assert_eq!(show["goal"]["status"], "ready");
    let proof = json(&fx.omk(&["goal", "proof", "-f", "json"], &[]));
    assert_eq!(
        proof["proof"]["status"], "ready",
        "the recorded proof follows the decision"
    );
    assert_eq!(
        proof["proof"]["human_decisions"][1]["text"],
        "types are checked by the caller"
    );
    fx.verify_history();
}

#[test]
fn review_again_records_a_new_review_and_proof_and_refuses_an_unfinished_goal() {
    let Some(fx) = Fixture::new() else { return };
    let finding =
        r#"[{"severity": "high", "file": "strings.py", "line": 2, "message": "unicode case folding"}]"#;
    let out = fx.run(BOTH, &["--max-agents", "2"], &[("REVIEW_FINDINGS", finding)]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The reviewers now find nothing (the concern was answered elsewhere): a new review clears it.
    let again = fx.omk(&["goal", "review", "--json"], &[]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let doc = json(&again);
    assert_eq!(doc["status"], "ready");
    let proof = json(&fx.omk(&["goal", "proof", "-f", "json"], &[]));
    assert_eq!(proof["proof"]["status"], "ready");
    assert_eq!(proof["proof"]["findings"].as_array().map(Vec::len), Some(0));
    fx.verify_history();

    let planned = fx.omk(&["goal", "plan", "Fix add in calc.py", "--json"], &[]);
    assert!(planned.status.success());
    let tip = fx.repo.git(&["for-each-ref", "refs/omk/goals"]);
    let refused = fx.omk(&["goal", "review"], &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("concluded"));
    assert_eq!(
        fx.repo.git(&["for-each-ref", "refs/omk/goals"]),
        tip,
        "nothing written"
    );
}

#[test]
fn cleaning_up_a_cancelled_goal_keeps_the_uncommitted_work_of_its_worktrees() {
    let Some(fx) = Fixture::new() else { return };
    let (child, Started { id, dir, .. }) = fx.start_one_task("hang");
    assert!(fx.omk(&["goal", "cancel"], &[]).status.success());
    assert_eq!(wait_exit(child).status.code(), Some(5));
    // Work lands in the worktree after the controller stopped (a tool, a person): gc must keep it.
    assert!(dir.exists(), "a cancelled goal's worktree waits for gc");
    std::fs::write(dir.join("notes.txt"), "the only copy\n").unwrap();
    std::fs::write(dir.join("calc.py"), "def add(a, b):\n    return b + a\n").unwrap();
    let gc = fx.omk(&["gc", "--json"], &[]);
    assert!(gc.status.success());
    let report = json(&gc);
    assert_eq!(report["saved"].as_array().map(Vec::len), Some(1), "{report}");
    assert!(fx.worktrees().is_empty(), "{:?}", fx.worktrees());
    assert!(!dir.exists(), "the worktree is gone");
    // The work is reachable from the goal ref: some commit in its history holds both files.
    let goal_ref = format!("refs/omk/goals/{id}");
    let kept = fx.repo.git(&["rev-list", &goal_ref]).lines().any(|c| {
        let show = |path: &str| fx.repo.git_output(&["show", &format!("{c}:{path}")]);
        let notes = show("notes.txt");
        notes.status.success()
            && String::from_utf8_lossy(&notes.stdout) == "the only copy\n"
            && String::from_utf8_lossy(&show("calc.py").stdout).contains("return b + a")
    });
    assert!(
        kept,
        "the uncommitted work was saved before its worktree was removed"
    );
    fx.verify_history();
}

/// One `exec:` command serving every role through `OMK_ROLE` (and `OMK_TASK`): it logs what it was
/// asked to be, fixes what its task (`OMK_TASK`) names, answers with no findings as a reviewer, and has
/// no plan.
const ROLE_AGENT: &str = r##"#!/bin/sh
echo "$OMK_ROLE ${OMK_TASK:-}" >> "$ROLE_LOG"
case "$OMK_ROLE" in
  task) case "$OMK_TASK" in
      *add*) sed -i 's/return a - b/return a + b/' calc.py ;;
      *upper*) sed -i 's/return s.lower()/return s.upper()/' strings.py ;;
    esac ;;
  reviewer|security-reviewer) printf 'Looks right.\n```json\n{"findings": []}\n```\n' ;;
  planner) echo "I leave the plan to you." ;;
  *) echo "unknown role: $OMK_ROLE" >&2; exit 3 ;;
esac
"##;

#[test]
fn an_exec_agent_serves_every_role_through_omk_role_and_the_goal_ends_ready() {
    let Some(fx) = Fixture::new() else { return };
    let script = fx.repo.home.join("role-agent.sh");
    write_executable(&script, ROLE_AGENT);
    // The log is written outside the worktree: in the one directory the sandbox lets agents write
    // besides their worktrees (`omk.sandbox.allowWrite`).
    let scratch = fx.repo.home.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let scratch_env = scratch.display().to_string();
    let log = scratch.join("roles.log");
    let agent = format!("exec:{}", script.display());
    let log_env = log.display().to_string();
    let notified = fx.repo.home.join("notified.json");
    let notified_env = notified.display().to_string();
    fx.repo.git(&[
        "config",
        "omk.notify",
        "cat > \"$NOTIFY_OUT\"; echo \"$OMK_STATUS\" >> \"$NOTIFY_OUT.status\"",
    ]);
    let out = fx.omk(
        &["goal", "run", BOTH, "--until-ready", "--agent", &agent, "--json"],
        &[
            ("ROLE_LOG", log_env.as_str()),
            ("OMK_SANDBOX_ALLOW_WRITE", scratch_env.as_str()),
            ("NOTIFY_OUT", notified_env.as_str()),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "ready: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["status"], "ready");
    // omk.notify received the terminal event on stdin.
    let event: Value = serde_json::from_str(&std::fs::read_to_string(&notified).unwrap()).unwrap();
    assert_eq!(event["event"], "goal_stopped");
    assert_eq!(event["status"], "ready");
    assert_eq!(event["goal"], json(&out)["id"]);
    let statuses = std::fs::read_to_string(format!("{notified_env}.status")).unwrap();
    assert_eq!(statuses, "ready\n");
    let roles = std::fs::read_to_string(&log).unwrap();
    let task = task(&fx.show(), "t1").to_owned();
    let task_id = task["id"].as_str().unwrap();
    for line in [
        "planner ",
        &format!("task {task_id}"),
        "reviewer ",
        "security-reviewer ",
    ] {
        assert!(
            roles.lines().any(|l| l == line.trim_end() || l == line),
            "`{line}` in {roles}"
        );
    }

    // A failing notifier is recorded and changes nothing.
    fx.repo
        .git(&["config", "omk.notify", "echo notifier broke >&2; exit 3"]);
    let out = fx.omk(
        &["goal", "run", BOTH, "--until-ready", "--agent", &agent, "--json"],
        &[
            ("ROLE_LOG", log_env.as_str()),
            ("OMK_SANDBOX_ALLOW_WRITE", scratch_env.as_str()),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let show = fx.show();
    assert_eq!(show["goal"]["status"], "ready");
    let failed = show["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["step"] == "notify")
        .expect("the notifier's failure is recorded");
    assert!(
        failed["why"].as_str().unwrap().contains("notifier broke"),
        "{failed}"
    );
    fx.repo.git(&["config", "--unset", "omk.notify"]);

    // A reviewer of its own: flags and `omk.agent.reviewer` are recorded per role.
    fx.repo.git(&["config", "omk.agent.reviewer", &agent]);
    let plan = fx.omk(&["goal", "plan", "--json", "Fix upper in strings.py"], &[]);
    assert!(plan.status.success(), "{}", String::from_utf8_lossy(&plan.stderr));
    let options = fx.show()["goal"]["options"].clone();
    assert_eq!(options["agent"], "kimi", "{options}");
    assert_eq!(options["reviewer_agent"], agent.as_str(), "{options}");
    assert!(options.get("planner_agent").is_none(), "{options}");
    let run = fx.omk(
        &[
            "goal",
            "run",
            "--json",
            "Fix upper in strings.py",
            "--agent",
            "qwen",
            "--planner-agent",
            "kimi-acp",
        ],
        &[],
    );
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let options = fx.show()["goal"]["options"].clone();
    assert_eq!(options["agent"], "qwen", "{options}");
    assert_eq!(options["planner_agent"], "kimi-acp", "{options}");
    assert_eq!(options["reviewer_agent"], agent.as_str(), "{options}");
}

/// An agent that says it waits, tries to forge a line of the live spool that `goal watch` follows,
/// waits for the test's marker file, then fixes `add`.
const WATCHED_AGENT: &str = r##"#!/bin/sh
case "$OMK_PROMPT" in
  *"reviewer for git-omk"*)
    printf 'No problems.\n```json\n{"findings": []}\n```\n'; exit 0 ;;
esac
echo "watch me: waiting for the marker"
live="$(git rev-parse --git-common-dir)/omk/live"
if { printf '{"task":"forged","attempt":1,"kind":"text","turn":1,"text":"x"}\n' >> "$live/forged.jsonl"; } 2>/dev/null; then
  echo "the spool took a forged line"
else
  echo "the spool refused a forged line"
fi
while [ ! -e "$WATCH_MARKER" ]; do sleep 0.1; done
sed -i 's/return a - b/return a + b/' calc.py
echo "fixed add after the marker"
"##;

/// `goal watch` from a second process: it prints what the agent says while the agent waits for a
/// marker that the test creates only after seeing it, then follows the goal to its end and exits with
/// the status code `run --until-ready` exits with.
#[test]
fn goal_watch_shows_the_agent_while_it_runs_and_exits_with_the_run_status() {
    let Some(fx) = Fixture::new() else { return };
    let script = fx.repo.home.join("watched-agent.sh");
    write_executable(&script, WATCHED_AGENT);
    let agent = format!("exec:{}", script.display());
    let marker = fx.repo.home.join("marker");
    let marker_env = marker.display().to_string();
    let env = [("WATCH_MARKER", marker_env.as_str())];
    let run_args = until_ready("Fix add in calc.py", &agent, &["--json"]);
    let guard = Duration::from_secs(120);

    // Cancelled from a third terminal while the agent waits: both exit 5.
    let run = fx.spawn(&run_args, &env);
    fx.wait_until("a controller", |v| !v["goal"]["lease"].is_null());
    let mut watch = fx.spawn(&["goal", "watch"], &[]);
    let mut lines = Follow::stdout_of(&mut watch);
    assert!(
        lines.until("watch me: waiting for the marker", guard),
        "{}",
        lines.text()
    );
    let cancel = fx.omk(&["goal", "cancel"], &[]);
    assert!(
        cancel.status.success(),
        "{}",
        String::from_utf8_lossy(&cancel.stderr)
    );
    let out = wait_exit(run);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines.rest(guard);
    assert_eq!(watch.wait().unwrap().code(), Some(5), "{}", lines.text());
    assert!(lines.text().contains(" is cancelled"), "{}", lines.text());

    // Seen while it runs, then to the end: `add` is fixed, but the fixture's other bug (`upper`) keeps
    // the pytest gate red, so the goal ends not_ready and both exit 1.
    let run = fx.spawn(&run_args, &env);
    fx.wait_until("a controller", |v| {
        v["goal"]["status"] == "running" && !v["goal"]["lease"].is_null()
    });
    let mut watch = fx.spawn(&["goal", "watch"], &[]);
    let mut lines = Follow::stdout_of(&mut watch);
    assert!(
        lines.until("[t1 #1] agent: watch me: waiting for the marker", guard),
        "{}",
        lines.text()
    );
    // Only now can the agent go on: the line above was printed while the run was still going.
    std::fs::write(&marker, "").unwrap();
    let out = wait_exit(run);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines.rest(guard);
    assert_eq!(watch.wait().unwrap().code(), Some(1), "{}", lines.text());
    let text = lines.text();
    for needle in [
        "task t1-",
        ": attempt 1 started",
        "[t1 #1] agent: the spool refused a forged line",
        "[t1 #1] agent: fixed add after the marker",
        "proof: not_ready",
        " is not_ready",
    ] {
        assert!(text.contains(needle), "`{needle}` in\n{text}");
    }
    assert!(
        !text.contains("took a forged line") && !text.contains("[forged"),
        "{text}"
    );
    assert!(
        !fx.repo
            .path
            .join(".git/omk/live")
            .read_dir()
            .unwrap()
            .any(|_| true),
        "the live spool went with the controller"
    );

    // `goal log` shows the same output afterwards, from the recorded transcript.
    let log = fx.omk(&["goal", "log"], &[]);
    let log = String::from_utf8_lossy(&log.stdout).into_owned();
    for needle in ["watch me: waiting for the marker", "fixed add after the marker"] {
        assert!(log.contains(needle), "`{needle}` in\n{log}");
    }

    // On a finished goal: the timeline at once, JSON lines, the status code.
    let again = fx.omk(&["goal", "watch", "--json"], &[]);
    assert_eq!(again.status.code(), Some(1));
    let objects: Vec<Value> = String::from_utf8_lossy(&again.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects[0]["type"], "event");
    assert_eq!(objects[0]["event"]["kind"], "goal_created");
    let end = objects.last().unwrap();
    assert_eq!(end["type"], "end");
    assert_eq!(end["status"], "not_ready");
    assert_eq!(end["exit_code"], 1);
    assert!(objects.iter().all(|o| o["schema_version"] == 1));
}

/// A goal that stops before its first dispatch (its gate configuration is invalid) after its first
/// wave's worktree was made ahead: the end-of-goal clean-up and a later `gc` record no "work left" for
/// a task that never ran, and remove its worktree and branch (clean, at the base, which the user's
/// branch still reaches: nothing of anybody's work is lost).
#[test]
fn an_early_worktree_of_a_goal_stopped_before_its_first_dispatch_is_removed_without_a_record() {
    let Some(fx) = Fixture::new() else { return };
    fx.repo.write_files(&[(".omk/gates.toml", "[[gate]]\nname = \n")]);
    fx.repo.git(&["add", "-A"]);
    fx.repo.git(&["commit", "-qm", "a broken gate configuration"]);
    let base = fx.repo.git(&["rev-parse", "HEAD"]);
    let out = fx.run("Fix add in calc.py", &[], &[]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = fx.show();
    assert_eq!(shown["goal"]["status"], "blocked_on_human");
    assert_eq!(shown["tasks"][0]["status"], "pending", "never dispatched");
    let work_saved = || {
        let replay = fx.omk(&["goal", "replay", "-f", "json"], &[]);
        String::from_utf8_lossy(&replay.stdout)
            .matches("work_saved")
            .count()
    };
    assert_eq!(work_saved(), 0, "no work left was recorded");
    assert_eq!(fx.worktrees(), Vec::<String>::new(), "the early worktree is gone");
    let task_branches = || {
        fx.repo
            .git(&["for-each-ref", "--format=%(refname)", "refs/heads/omk/"])
    };
    assert!(!task_branches().contains("/tasks/"), "{}", task_branches());
    assert!(fx.omk(&["gc"], &[]).status.success());
    assert_eq!(work_saved(), 0, "gc records nothing either");
    assert_eq!(
        fx.repo.git(&["rev-parse", "HEAD"]),
        base,
        "the user's branch is where it was"
    );
    fx.verify_history();
}

/// An agent whose start-up hangs (an ACP agent that never answers `initialize`), started ahead while the
/// base's gates run, for longer than the controller's lease lives (`OMK_TEST_LEASE_TTL`): the controller
/// renews the lease meanwhile, so a second `goal resume` refuses (exit 2) naming the holder instead of
/// taking the goal over; `goal cancel` then ends the run, and no agent process is left.
#[test]
fn a_hung_agent_start_up_never_lets_the_lease_lapse_and_cancel_ends_the_run() {
    let Some(fx) = Fixture::new() else { return };
    let hang = fx.repo.home.join("hang.sh");
    write_executable(
        &hang,
        "#!/bin/sh\nm=\"300.$(date +%N)\"; echo \"$m\" >> \"$AGENT_PIDS\"; exec sleep \"$m\"\n",
    );
    let agent = format!("acp:{}", hang.display());
    let ttl = [("OMK_TEST_LEASE_TTL", "4")];
    let args = [
        "goal",
        "run",
        "Fix add in calc.py",
        "--until-ready",
        "--no-llm-planner",
        "--agent",
    ];
    let child = fx.spawn(&[&args[..], &[agent.as_str()]].concat(), &ttl);
    while fx.agent_pids().is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Well past the lease's time to live: without renewal it would have lapsed twice over.
    std::thread::sleep(Duration::from_secs(10));
    assert!(!fx.agent_pids().is_empty(), "the start-up still hangs");
    let second = fx.omk(&["goal", "resume"], &ttl);
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{said}");
    assert!(said.contains("is driven by the controller"), "{said}");
    assert!(said.contains(&format!("pid {}", child.id())), "{said}");
    let started = fx.omk(&["goal", "replay", "-f", "json"], &[]);
    let started = String::from_utf8_lossy(&started.stdout)
        .matches("controller_started")
        .count();
    assert_eq!(started, 1, "nobody took the goal over");
    assert!(fx.omk(&["goal", "cancel"], &[]).status.success());
    let out = wait_exit(child);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for pid in fx.agent_pids() {
        assert!(!alive(pid), "agent process {pid} survived the cancel");
    }
    assert_eq!(fx.show()["goal"]["status"], "cancelled");
    fx.verify_history();
}
