//! Benchmark of `git omk sync` against plain git moving the same refs (not a test).
//!
//! Run through `scripts/bench-sync.sh` (release build). Figures go to docs/performance.md ("Sharing").
//! Usage: bench_sync [GOALS] [RUNS]   (defaults 1000 and 11)
//!
//! Machine A creates GOALS goals and pushes them to a bare remote; machine B clones it and syncs once.
//! Then, per run, one goal changes and B moves it with `git omk sync`, and with plain git: a fetch
//! followed by `git push origin refs/omk/goals/*:refs/omk/goals/*`. Two cases: the goal changed on B
//! (sync pushes it; git fetches into the remote-tracking refs), and the goal changed on A and was pushed
//! there (sync fetches and fast-forwards it; git fetches straight into the local goal refs).

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // benchmarks print figures
#![allow(clippy::disallowed_methods)] // a benchmark spawns git and reads the clock

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use git_omk::model::control::ControlRequest;
use git_omk::model::options::RunOptions;
use git_omk::ops::Context;
use git_omk::ops::control::control;
use git_omk::ops::plan::{PlanRequest, create};

const FETCH: &str = "+refs/omk/goals/*:refs/omk/remotes/origin/goals/*";
const PUSH: &str = "refs/omk/goals/*:refs/omk/goals/*";
/// Plain git's way to bring changed goals into the local ones (it would also accept rewrites: git
/// fetch does not refuse non-fast-forwards outside refs/heads and refs/tags).
const FETCH_INTO_GOALS: &str = "refs/omk/goals/*:refs/omk/goals/*";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn run(dir: &Path, program: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let status = Command::new(program)
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("runs");
    assert!(status.success(), "{program:?} {args:?}");
    start.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("git-omk")
}

/// Pause or resume `goal` in the repository at `dir` (one goal commit).
fn change(dir: &Path, goal: &str, round: usize) {
    let ctx = Context::open(dir).expect("open");
    let request = if round.is_multiple_of(2) {
        ControlRequest::Pause { reason: None }
    } else {
        ControlRequest::Resume
    };
    control(&ctx, Some(goal), request).expect("a transition");
}

fn identity(dir: &Path) {
    git(dir, &["config", "user.name", "Bench"]);
    git(dir, &["config", "user.email", "bench@example.com"]);
}

/// Machine A with `goals` goals pushed to `remote`; returns two goal ids (one for each case).
fn machine_a(a: &Path, remote: &Path, goals: usize) -> (String, String) {
    std::fs::create_dir_all(a).expect("mkdir");
    git(a, &["init", "-q", "-b", "main"]);
    identity(a);
    std::fs::write(a.join("README.md"), "# bench\n").expect("write");
    git(a, &["add", "-A"]);
    git(a, &["commit", "-qm", "init"]);
    let ctx = Context::open(a).expect("open");
    let mut ids = Vec::new();
    for i in 0..goals {
        let request = PlanRequest {
            text: format!("Fix the off-by-one in slugify, case {i}"),
            options: RunOptions {
                llm_planner: false,
                ..RunOptions::default()
            },
            base_rev: "HEAD".to_owned(),
        };
        ids.push(create(&ctx, request).expect("create").goal.id().to_string());
    }
    git(a, &["maintenance", "run", "--task=gc"]);
    let remote_arg = remote.display().to_string();
    git(a, &["init", "-q", "--bare", "-b", "main", &remote_arg]);
    git(a, &["remote", "add", "origin", &remote_arg]);
    git(a, &["push", "-q", "origin", "main", PUSH]);
    git(remote, &["pack-refs", "--all"]);
    (ids[0].clone(), ids[goals / 2].clone())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let goals: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(11);
    let tmp = tempfile::tempdir().expect("temp dir");
    let (a, b, remote) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("remote.git"),
    );
    let (here, there) = machine_a(&a, &remote, goals);
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            &remote.display().to_string(),
            &b.display().to_string(),
        ],
    );
    identity(&b);
    let bin = binary();
    run(&b, &bin, &["sync"]);
    git(&b, &["pack-refs", "--all"]);
    let git_bin = Path::new("git");
    let (mut sync_push, mut git_push, mut sync_fetch, mut git_fetch) = (vec![], vec![], vec![], vec![]);
    for round in 0..runs {
        change(&b, &here, 2 * round);
        sync_push.push(run(&b, &bin, &["sync"]));
        change(&b, &here, 2 * round + 1);
        git_push.push(
            run(&b, git_bin, &["fetch", "-q", "origin", FETCH])
                + run(&b, git_bin, &["push", "-q", "origin", PUSH]),
        );

        change(&a, &there, 2 * round);
        git(&a, &["push", "-q", "origin", &format!("refs/omk/goals/{there}")]);
        sync_fetch.push(run(&b, &bin, &["sync"]));
        change(&a, &there, 2 * round + 1);
        git(&a, &["push", "-q", "origin", &format!("refs/omk/goals/{there}")]);
        git_fetch.push(
            run(&b, git_bin, &["fetch", "-q", "origin", FETCH_INTO_GOALS])
                + run(&b, git_bin, &["push", "-q", "origin", PUSH]),
        );
    }
    println!(
        "sync benchmark: {goals} goals, one changed, bare remote on the same disk, median of {runs}, release build"
    );
    println!("{:<58} {:>10} {:>10} {:>7}", "case", "git-omk", "git", "ratio");
    let row = |name: &str, ours: &[Duration], theirs: &[Duration]| {
        let (o, t) = (median(ours.to_vec()), median(theirs.to_vec()));
        println!(
            "{name:<58} {:>7.1} ms {:>7.1} ms {:>6.2}x",
            ms(o),
            ms(t),
            ms(o) / ms(t)
        );
    };
    row(
        "changed here: sync vs git fetch + git push",
        &sync_push,
        &git_push,
    );
    row(
        "changed on the remote: sync vs git fetch + git push",
        &sync_fetch,
        &git_fetch,
    );
}
