//! Benchmark (not a test): the controller's own overhead per task. A goal of 50 independent tasks
//! (planned by the scripted planner agent: one file each) runs `--until-ready` with an instant `exec`
//! agent and `--max-agents 8`; the timing events (`OMK_LOG=omk::timing=debug`) give each worktree
//! creation and agent run (the 50 task attempts, the planner and the two reviewer sessions) and each
//! step of the controller loop. Printed side by side:
//! - the total wall time of `git omk goal run --until-ready`, the sum of its worktree creations and agent
//!   runs, and the time no worktree creation or agent run was in progress (the controller's own work:
//!   recording, integration, gates, review scanners, proof, clean-up, start-up), per task;
//! - the worktree creations against plain `git worktree add -b` for the same count, at the same
//!   concurrency (8) and one at a time.
//!
//! Run: `scripts/bench-controller.sh` (builds in release mode; `BENCH_RUNS`, default 5, consecutive runs:
//! the last one in detail, then all side by side with their medians). Figures go to docs/performance.md.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // benchmarks print figures
#![allow(clippy::disallowed_methods)] // a benchmark spawns processes and reads the clock

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TASKS: usize = 50;
const AGENTS: usize = 8;

const AGENT: &str = r##"#!/bin/sh
case "$OMK_PROMPT" in
  *"reviewer for git-omk"*) printf '```json\n{"findings": []}\n```\n'; exit 0 ;;
  *"planner for git-omk"*) cat "$BENCH_PLAN"; exit 0 ;;
esac
f=$(printf '%s\n' "$OMK_PROMPT" | sed -n 's/^Your task ([^)]*): Update \(.*\)$/\1/p')
echo "updated" >> "$f"
echo "updated $f"
"##;

/// One run's headline figures: wall time (ms), the controller's own time per task (ms), git-omk's
/// worktree creations ÷ plain adds 8 at once, and one plain add one at a time (ms).
struct Figures {
    wall_ms: f64,
    own_per_task_ms: f64,
    creation_ratio: f64,
    plain_add_ms: f64,
}

fn main() {
    let omk = std::env::current_exe()
        .expect("the benchmark knows its path")
        .parent()
        .and_then(Path::parent)
        .expect("examples live in target/<profile>/examples")
        .join("git-omk");
    assert!(omk.exists(), "build git-omk first: {}", omk.display());
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(5);
    let figures: Vec<Figures> = (1..=runs).map(|run| one_run(&omk, run == runs)).collect();
    print_summary(&figures);
}

/// Consecutive runs side by side, then the medians: the machine's speed drifts between runs (see the
/// plain `git worktree add` column), so one run proves little.
fn print_summary(figures: &[Figures]) {
    println!(
        "| run | wall time | controller's own time per task | creations ÷ plain adds (8 at once) | plain `git worktree add`, one at a time |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for (i, f) in figures.iter().enumerate() {
        println!(
            "| {} | {:.0} ms | **{:.1} ms** | {:.2}× | {:.1} ms |",
            i + 1,
            f.wall_ms,
            f.own_per_task_ms,
            f.creation_ratio,
            f.plain_add_ms
        );
    }
    let median = |pick: fn(&Figures) -> f64| {
        let mut v: Vec<f64> = figures.iter().map(pick).collect();
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        }
    };
    println!(
        "| median | {:.0} ms | **{:.1} ms** | {:.2}× | {:.1} ms |",
        median(|f| f.wall_ms),
        median(|f| f.own_per_task_ms),
        median(|f| f.creation_ratio),
        median(|f| f.plain_add_ms)
    );
}

/// One benchmark run on a fresh repository; the detailed tables are printed when `detail` is set.
fn one_run(omk: &Path, detail: bool) -> Figures {
    let tmp = tempfile::tempdir().expect("temp dir");
    let home = tmp.path().to_path_buf();
    let repo = home.join("work");
    let base = setup(&home, &repo);
    let (wall, timings, status) = run_goal(omk, &home, &repo);
    let worktrees: Vec<(i64, i64)> = timings
        .iter()
        .filter(|t| t.0 == "worktree")
        .map(|t| (t.1, t.2))
        .collect();
    let agents: Vec<(i64, i64)> = timings
        .iter()
        .filter(|t| t.0 == "agent")
        .map(|t| (t.1, t.2))
        .collect();
    // A task whose agent starts early (while the base's gates run) logs its worktree twice: when it is
    // created and when the attempt takes it over.
    assert!(worktrees.len() >= TASKS, "a worktree per task: {status}");
    let busy = union_us(worktrees.iter().chain(&agents));
    let sum_w: i64 = worktrees.iter().map(|w| w.1).sum();
    let sum_a: i64 = agents.iter().map(|a| a.1).sum();
    let wall_us = wall.as_micros() as i64;
    let own = wall_us - busy;
    let (plain_parallel, raced) = plain_worktrees(&home, &repo, &base, AGENTS, "p");
    let (plain_serial, _) = plain_worktrees(&home, &repo, &base, 1, "s");
    let ms = |us: i64| us as f64 / 1000.0;
    let figures = Figures {
        wall_ms: ms(wall_us),
        own_per_task_ms: ms(own) / TASKS as f64,
        creation_ratio: sum_w as f64 / plain_parallel as f64,
        plain_add_ms: ms(plain_serial) / TASKS as f64,
    };
    if !detail {
        return figures;
    }
    println!("goal status: {status}\n");
    println!("| measure ({TASKS} tasks, --max-agents {AGENTS}) | total | per task |");
    println!("|---|---:|---:|");
    println!(
        "| wall time of `goal run --until-ready` | {:.0} ms | {:.1} ms |",
        ms(wall_us),
        ms(wall_us) / TASKS as f64
    );
    println!(
        "| sum of worktree creations | {:.0} ms | {:.1} ms |",
        ms(sum_w),
        ms(sum_w) / TASKS as f64
    );
    println!(
        "| sum of agent runs | {:.0} ms | {:.1} ms |",
        ms(sum_a),
        ms(sum_a) / TASKS as f64
    );
    println!(
        "| time with a worktree creation or agent run in progress | {:.0} ms | {:.1} ms |",
        ms(busy),
        ms(busy) / TASKS as f64
    );
    println!(
        "| controller's own time (wall − that) | {:.0} ms | **{:.1} ms** |",
        ms(own),
        ms(own) / TASKS as f64
    );
    println!();
    print_steps(&timings);
    println!();
    println!("| worktree creation ({TASKS}) | sum | per worktree | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| git-omk (in the run, {AGENTS} at once) | {:.0} ms | {:.1} ms | {:.2}× |",
        ms(sum_w),
        ms(sum_w) / TASKS as f64,
        sum_w as f64 / plain_parallel as f64
    );
    println!(
        "| `git worktree add -b`, {AGENTS} at once ({raced} raced and were retried) | {:.0} ms | {:.1} ms | 1.00× |",
        ms(plain_parallel),
        ms(plain_parallel) / TASKS as f64
    );
    println!(
        "| `git worktree add -b`, one at a time | {:.0} ms | {:.1} ms | |",
        ms(plain_serial),
        ms(plain_serial) / TASKS as f64
    );
    println!();
    figures
}

/// The controller loop's steps (everything but the attempts' own worktree and agent steps): how often
/// each ran and for how long in all. `wait` overlaps the agents; the others are the controller's work.
fn print_steps(timings: &[(String, i64, i64)]) {
    let mut steps: std::collections::BTreeMap<&str, (usize, i64)> = Default::default();
    for (step, _, micros) in timings.iter().filter(|t| t.0 != "worktree" && t.0 != "agent") {
        let entry = steps.entry(step.as_str()).or_default();
        entry.0 += 1;
        entry.1 += micros;
    }
    println!("| controller step | times | total | per task |");
    println!("|---|---:|---:|---:|");
    for (step, (times, micros)) in steps {
        println!(
            "| {step} | {times} | {:.0} ms | {:.1} ms |",
            micros as f64 / 1000.0,
            micros as f64 / 1000.0 / TASKS as f64
        );
    }
}

fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let out = hermetic(Command::new("git"), home)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn hermetic(mut cmd: Command, home: &Path) -> Command {
    cmd.env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .env("TZ", "UTC")
        .env("LC_ALL", "C");
    cmd
}

/// A repository of 50 files, the planner's answer (one task per file) and the agent script.
fn setup(home: &Path, repo: &Path) -> String {
    std::fs::create_dir_all(repo.join("src")).expect("repo dir");
    git(repo, home, &["init", "-q", "-b", "main"]);
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let name = format!("src/f{i:02}.txt");
        std::fs::write(repo.join(&name), format!("file {i}\n")).expect("write");
        tasks.push(format!(
            r#"{{"id": "t{i:02}", "title": "Update {name}", "write_set": ["{name}"], "acceptance": ["{name} is updated"]}}"#
        ));
    }
    git(repo, home, &["add", "-A"]);
    git(repo, home, &["commit", "-q", "-m", "base"]);
    let plan = format!(
        "```json\n{{\"brief\": \"Update 50 files\", \"technical_plan\": \"One task per file\", \"tasks\": [{}]}}\n```\n",
        tasks.join(", ")
    );
    std::fs::write(home.join("plan.txt"), plan).expect("plan");
    let agent = home.join("agent.sh");
    std::fs::write(&agent, AGENT).expect("agent");
    std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    git(repo, home, &["rev-parse", "HEAD"])
}

/// Run the goal; its wall time and the timing events `(step, start_us, micros)`.
fn run_goal(omk: &Path, home: &Path, repo: &Path) -> (Duration, Vec<(String, i64, i64)>, String) {
    let agent = format!("exec:{}", home.join("agent.sh").display());
    let mut cmd = hermetic(Command::new(omk), home);
    cmd.current_dir(repo)
        .env("OMK_LOG", "omk::timing=debug")
        .env("OMK_WORKTREE_ROOT", home.join("worktrees"))
        .env("BENCH_PLAN", home.join("plan.txt"))
        .args(["goal", "run", "Update the 50 files under src", "--until-ready"])
        .args(["--agent", &agent, "--max-agents", &AGENTS.to_string(), "--json"]);
    let started = Instant::now();
    let out = cmd.output().expect("git-omk runs");
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let result: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("the goal ran ({e}): {stderr}"));
    let status = format!(
        "{} ({} tasks, {} attempts)",
        result["status"].as_str().unwrap_or("?"),
        result["tasks"].as_array().map_or(0, Vec::len),
        result["tasks"].as_array().map_or(0, |t| t
            .iter()
            .map(|t| t["attempts"].as_u64().unwrap_or(1))
            .sum::<u64>())
    );
    let timings = stderr
        .lines()
        .filter(|l| l.contains(" start_us="))
        .filter_map(|l| {
            let field = |k: &str| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix(&format!("{k}=")))
                    .map(|v| v.trim_matches('"').to_owned())
            };
            Some((
                field("step")?,
                field("start_us")?.parse().ok()?,
                field("micros")?.parse().ok()?,
            ))
        })
        .collect();
    (wall, timings, status)
}

/// Length of the union of `[start, start + len)` intervals, in microseconds.
fn union_us<'a>(intervals: impl Iterator<Item = &'a (i64, i64)>) -> i64 {
    let mut v: Vec<(i64, i64)> = intervals.map(|(s, l)| (*s, s + l)).collect();
    v.sort();
    let (mut total, mut current): (i64, Option<(i64, i64)>) = (0, None);
    for (s, e) in v {
        current = match current {
            Some((cs, ce)) if s <= ce => Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                Some((s, e))
            }
            None => Some((s, e)),
        };
    }
    total + current.map_or(0, |(s, e)| e - s)
}

/// Sum of the durations of `TASKS` plain `git worktree add -b` calls, `threads` at a time, and how many
/// had to be retried.
fn plain_worktrees(home: &Path, repo: &Path, base: &str, threads: usize, tag: &str) -> (i64, usize) {
    let root = home.join(format!("plain-{tag}"));
    let next = Arc::new(Mutex::new(0usize));
    let total = Arc::new(Mutex::new(0i64));
    let retries = Arc::new(Mutex::new(0usize));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (next, total, root, retries) = (next.clone(), total.clone(), root.clone(), retries.clone());
            scope.spawn(move || {
                loop {
                    let i = {
                        let mut n = next.lock().expect("lock");
                        *n += 1;
                        *n - 1
                    };
                    if i >= TASKS {
                        break;
                    }
                    let path: PathBuf = root.join(format!("t{i:02}"));
                    let branch = format!("bench-{tag}/t{i:02}");
                    let started = Instant::now();
                    let target = path.to_string_lossy();
                    let args = ["worktree", "add", "--quiet", "-b", &branch, &target, base];
                    // Concurrent `worktree add`s of one repository can race (git reads its
                    // siblings' half-written registrations): clean up and retry, counting the time.
                    let run = |args: &[&str]| {
                        hermetic(Command::new("git"), home)
                            .args(args)
                            .current_dir(repo)
                            .output()
                            .expect("git runs")
                            .status
                            .success()
                    };
                    let mut tries = 0;
                    while !run(&args) {
                        tries += 1;
                        assert!(tries < 20, "git worktree add keeps failing for {branch}");
                        *retries.lock().expect("lock") += 1;
                        let _ = std::fs::remove_dir_all(&path);
                        run(&["worktree", "prune"]);
                        run(&["branch", "-D", &branch]);
                    }
                    *total.lock().expect("lock") += started.elapsed().as_micros() as i64;
                }
            });
        }
    });
    let sum = *total.lock().expect("lock");
    (sum, *retries.lock().expect("lock"))
}
