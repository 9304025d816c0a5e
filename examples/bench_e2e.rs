//! Benchmark (not a test): a one-task bugfix driven by `git omk goal run --until-ready`, next to the
//! same agent doing the same fix alone, for each real agent against the scripted model server.
//!
//! For each engine, with the same fixture (a Python project whose `test_add` fails), model script and
//! agent:
//! - **agent alone**: a minimal client (`support/raw_client.rs`) spawns the agent, opens a session and
//!   sends the fix prompt; the model answers with one shell call that fixes `calc.py`, then a short
//!   answer. Its time from spawn to the answer is the agent's own session time.
//! - **git-omk**: `git omk goal run "Fix add in calc.py" --until-ready --no-llm-planner` on a fresh
//!   copy: plan, baseline gates, the task's worktree and agent session, integration, the result's
//!   gates, the bugfix base run, the reviewer and security-reviewer sessions, the proof. The goal must
//!   end `ready`. Its steps' timing events (`OMK_LOG=omk::timing=debug`) are summed per step.
//!
//! Runs alternate (agent alone, then git-omk) so both see the same machine load; medians are printed.
//!
//! Usage: `scripts/bench-e2e.sh [RUNS]` (default 3; installs the agents and pytest, release build);
//! `OMK_BENCH_AGENTS=kimi-acp` (comma-separated `--agent` names) runs only those engines.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // benchmarks print figures
#![allow(clippy::disallowed_methods)] // a benchmark spawns processes, reads the clock and its environment

#[path = "../tests/support/model_server.rs"]
mod model_server;

#[path = "../tests/support/agents.rs"]
mod agents;

#[path = "../tests/support/tools.rs"]
mod tools;

#[path = "support/raw_client.rs"]
mod raw_client;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use agents::{Agent, AgentHome};
use model_server::{ModelServer, Route, Turn};
use serde_json::json;

/// The goal, and what the agent alone is asked.
const GOAL: &str = "Fix add in calc.py";
/// What only the task's brief says (the goal line also names the goal).
const TASK: &str = "): Fix add in calc.py";
/// What every reviewer prompt says.
const REVIEWER: &str = "reviewer for git-omk";
/// The fix, as one shell command that shows the fixed line.
const FIX: &str = "sed -i 's/return a - b/return a + b/' calc.py && grep -n 'return' calc.py";

const FILES: [(&str, &str); 4] = [
    (
        "calc.py",
        "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n",
    ),
    (
        "test_calc.py",
        "from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n",
    ),
    ("pytest.ini", "[pytest]\n"),
    ("README.md", "# calc\n\nSmall helpers.\n"),
];

/// The model: the task (or the lone agent, asked with the task's words) runs the fix, then answers;
/// reviewers find nothing.
fn routes(kind: Agent, needle: &str) -> Vec<Route> {
    vec![
        Route::when(REVIEWER).reply(Turn::text(
            "I read the change; it does what the goal asks.\n```json\n{\"findings\": []}\n```",
        )),
        Route::when(needle).step(0).reply(kind.shell(FIX)),
        Route::when(needle)
            .step(1)
            .reply(Turn::text("Fixed it; the test passes now.")),
    ]
}

fn git(home: &Path, dir: &Path, args: &[&str]) {
    let ok = hermetic(Command::new("git"), home)
        .args(args)
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "git {args:?}");
}

/// Git and git-omk see only this run's configuration.
fn hermetic(mut cmd: Command, home: &Path) -> Command {
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com");
    cmd
}

/// A fresh fixture repository: (temp dir, its home, the repository).
fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (home, repo) = (dir.path().join("home"), dir.path().join("repo"));
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&repo).expect("repo");
    for (path, text) in FILES {
        std::fs::write(repo.join(path), text).expect("write");
    }
    git(&home, &repo, &["init", "-q", "-b", "main"]);
    git(&home, &repo, &["add", "."]);
    git(&home, &repo, &["commit", "-qm", "init"]);
    (dir, home, repo)
}

/// The agent alone: spawn to the answer of the fix prompt.
async fn alone(kind: Agent, program: &Path) -> Duration {
    let (_dir, _home, repo) = fixture();
    let server = ModelServer::routed(routes(kind, GOAL));
    let agent_home = AgentHome::new();
    let launch = agent_home.launch(kind, program, &server);
    let started = Instant::now();
    let mut raw = raw_client::Raw::start(kind, program, &repo, &launch).await;
    raw.prompt(&format!("{GOAL}: the test test_add in test_calc.py fails."))
        .await;
    let took = started.elapsed();
    let _ = raw.child.kill().await;
    let fixed = std::fs::read_to_string(repo.join("calc.py")).unwrap_or_default();
    assert!(fixed.contains("a + b"), "the agent alone fixed calc.py");
    took
}

/// One `goal run`: its wall time and the total time of each timed step.
fn omk(kind: Agent, program: &Path, pytest: &Path) -> (Duration, BTreeMap<String, Duration>) {
    let (_dir, home, repo) = fixture();
    let server = ModelServer::routed(routes(kind, TASK));
    let agent_home = AgentHome::new();
    let launch = agent_home.launch(kind, program, &server);
    let agent = kind.spec().to_string();
    let mut cmd = hermetic(Command::new(binary()), &home);
    cmd.current_dir(&repo)
        .env("PATH", tools::path_with(pytest))
        .env("OMK_LOG", "omk::timing=debug")
        .env("OMK_WORKTREE_ROOT", home.join("worktrees"))
        .env(kind.program_var(), program)
        .env("OMK_AGENT_ARGS", json!(launch.extra_args).to_string())
        .envs(
            launch
                .env
                .iter()
                .filter(|(k, _)| k != "HOME")
                .map(|(k, v)| (k, v)),
        )
        .args(["goal", "run", GOAL, "--until-ready", "--no-llm-planner"])
        .args(["--agent", &agent, "--json"]);
    let started = Instant::now();
    let out = cmd.output().expect("git-omk runs");
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let result: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("the goal ran ({e}): {stderr}"));
    assert_eq!(
        result["status"], "ready",
        "the goal ends ready: {result}\n{stderr}"
    );
    (wall, steps(&stderr))
}

/// Total time per step of the timing events (`step=… micros=…`); the task's and each reviewer's
/// agent sessions are told apart by their subject.
fn steps(stderr: &str) -> BTreeMap<String, Duration> {
    let mut totals = BTreeMap::new();
    for line in stderr.lines().filter(|l| l.contains(" micros=")) {
        let field = |k: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{k}=")))
                .map(|v| v.trim_matches('"').to_owned())
        };
        let (Some(step), Some(micros)) = (field("step"), field("micros")) else {
            continue;
        };
        let subject = field("subject").unwrap_or_default();
        let name = match step.as_str() {
            "agent" | "agent-start" if subject.contains("reviewer") => format!("{step} ({subject})"),
            "agent" => "agent (task)".to_owned(),
            _ => step,
        };
        let micros: u64 = micros.parse().unwrap_or(0);
        *totals.entry(name).or_insert(Duration::ZERO) += Duration::from_micros(micros);
    }
    totals
}

fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("git-omk")
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3)
        .max(1);
    let pytest = tools::pytest_bin().expect("pytest (scripts/install-pytest.sh)");
    println!(
        "one-task bugfix, median of {runs} runs each; load average before: {}",
        load_average()
    );
    println!("| engine | agent alone (start + fix turn) | `git omk goal run --until-ready` | difference |");
    println!("|---|---:|---:|---:|");
    let mut details = Vec::new();
    // `OMK_BENCH_AGENTS=kimi-acp,qwen` limits the run to those engines (`--agent` spellings).
    let only = std::env::var("OMK_BENCH_AGENTS").ok();
    for kind in Agent::ALL {
        let wanted = only
            .as_deref()
            .is_none_or(|list| list.split(',').any(|a| a.trim() == kind.spec().to_string()));
        let Some(program) = agents::installed(kind).filter(|_| wanted) else {
            continue;
        };
        // Warm the caches (Python bytecode, Node compile cache) once.
        alone(kind, &program).await;
        let (mut raw, mut ours, mut last) = (Vec::new(), Vec::new(), BTreeMap::new());
        for _ in 0..runs {
            raw.push(alone(kind, &program).await);
            let (wall, steps) = omk(kind, &program, &pytest);
            ours.push(wall);
            last = steps;
        }
        let (raw, ours) = (median(raw), median(ours));
        let diff = ours.as_secs_f64() - raw.as_secs_f64();
        println!(
            "| {kind:?} | {} | {} | {:+.0} ms |",
            ms(raw),
            ms(ours),
            diff * 1000.0
        );
        details.push((kind, last));
    }
    println!("\nload average after: {}", load_average());
    for (kind, steps) in details {
        println!(
            "\n{kind:?}, the last git-omk run's timed steps (total per step; agent steps overlap others):"
        );
        for (step, took) in steps {
            println!("  {step:<24} {:>8}", ms(took));
        }
    }
}
