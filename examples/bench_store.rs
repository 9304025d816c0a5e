//! Benchmark of the goal store, printed side by side with git doing the same work (not a test).
//!
//! Run through `scripts/bench-store.sh` (release build). Figures go to docs/performance.md.
//! Usage: bench_store [GOALS]   (default 10000)

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

fn git_stdin(dir: &Path, args: &[&str], input: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("git")
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(input)
        .expect("write");
    let out = child.wait_with_output().expect("git finishes");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time_command(dir: &Path, program: &Path, args: &[&str], runs: usize) -> Duration {
    let samples = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = Command::new(program)
                .current_dir(dir)
                .args(args)
                .stdout(Stdio::null())
                .status()
                .expect("runs");
            assert!(status.success(), "{program:?} {args:?}");
            start.elapsed()
        })
        .collect();
    median(samples)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn setup(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.name", "Bench"]);
    git(dir, &["config", "user.email", "bench@example.com"]);
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::write(dir.join("src/slugify.rs"), "pub fn slugify() {}\n").expect("write");
    std::fs::write(dir.join("README.md"), "# bench\n").expect("write");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "init"]);
}

/// One goal written with git plumbing: the same files (blobs), the plan subtree, the root tree, the commit
/// and a compare-and-swap ref update. `template` is a goal commit whose files are reused as content.
fn plumbing_goal(dir: &Path, template: &str, ref_name: &str, old: Option<&str>, salt: usize) -> String {
    let mut root = String::new();
    let mut plan = String::new();
    for line in git(dir, &["ls-tree", "-r", template]).lines() {
        let (meta, path) = line.split_once('\t').expect("ls-tree line");
        let oid = meta.split_whitespace().nth(2).expect("oid");
        let mut content = git(dir, &["cat-file", "blob", oid]).into_bytes();
        content.extend(format!("\n{salt}\n").as_bytes());
        let blob = git_stdin(dir, &["hash-object", "-w", "--stdin"], &content);
        match path.strip_prefix("plan/") {
            Some(name) => plan.push_str(&format!("100644 blob {blob}\t{name}\n")),
            None => root.push_str(&format!("100644 blob {blob}\t{path}\n")),
        }
    }
    if !plan.is_empty() {
        let plan_tree = git_stdin(dir, &["mktree"], plan.as_bytes());
        root.push_str(&format!("040000 tree {plan_tree}\tplan\n"));
    }
    let tree = git_stdin(dir, &["mktree"], root.as_bytes());
    let mut args = vec!["commit-tree", tree.as_str(), "-m", "planned: bench"];
    if let Some(parent) = old {
        args.extend(["-p", parent]);
    }
    let commit = git(dir, &args);
    let zero = "0".repeat(40);
    git(dir, &["update-ref", ref_name, &commit, old.unwrap_or(&zero)]);
    commit
}

/// One state transition with git plumbing: the four snapshot files that change, a new root tree reusing
/// the plan subtree, the commit, and a compare-and-swap ref update.
fn plumbing_transition(dir: &Path, ref_name: &str, salt: usize) {
    let old = git(dir, &["rev-parse", ref_name]);
    let mut root = String::new();
    for line in git(dir, &["ls-tree", &old]).lines() {
        let (meta, path) = line.split_once('\t').expect("ls-tree line");
        if ["goal.json", "tasks.json", "events.jsonl", "decisions.jsonl"].contains(&path) {
            let blob = git_stdin(
                dir,
                &["hash-object", "-w", "--stdin"],
                format!("{path} {salt}\n").as_bytes(),
            );
            root.push_str(&format!("100644 blob {blob}\t{path}\n"));
        } else {
            root.push_str(&format!("{meta}\t{path}\n"));
        }
    }
    let tree = git_stdin(dir, &["mktree"], root.as_bytes());
    let commit = git(dir, &["commit-tree", &tree, "-p", &old, "-m", "paused: bench"]);
    git(dir, &["update-ref", ref_name, &commit, &old]);
}

fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("git-omk")
}

fn main() {
    let goals: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    // OMK_BENCH_KEEP=<dir> keeps the benchmark repository there for profiling.
    let dir = std::env::var_os("OMK_BENCH_KEEP").map_or_else(|| tmp.path().join("repo"), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("mkdir");
    setup(&dir);
    let ctx = Context::open(&dir).expect("open");
    let request = |i: usize| PlanRequest {
        text: format!("Fix the off-by-one in slugify, case {i}"),
        options: RunOptions {
            llm_planner: false,
            ..RunOptions::default()
        },
        base_rev: "HEAD".to_owned(),
    };

    let start = Instant::now();
    let mut last = None;
    for i in 0..goals {
        last = Some(create(&ctx, request(i)).expect("create"));
    }
    let create_total = start.elapsed();
    let last = last.expect("at least one goal");
    let id = last.goal.id().to_string();
    // In the foreground: a detached maintenance run (git's default) would still be packing while the
    // later phases are timed, and make their figures depend on when it ends.
    git(
        &dir,
        &[
            "-c",
            "maintenance.autoDetach=false",
            "-c",
            "gc.autoDetach=false",
            "maintenance",
            "run",
            "--auto",
        ],
    );

    let sample = 100.min(goals);
    let template = last.commit.to_string();
    let plumb_start = Instant::now();
    for i in 0..sample {
        plumbing_goal(&dir, &template, &format!("refs/bench/goals/{i}"), None, i);
    }
    let plumb_per_goal = plumb_start.elapsed() / sample as u32;
    for i in 0..sample {
        git(&dir, &["update-ref", "-d", &format!("refs/bench/goals/{i}")]);
    }
    git(&dir, &["pack-refs", "--all"]);

    let bin = binary();
    let list = time_command(&dir, &bin, &["goal", "list"], 11);
    let for_each_ref = time_command(
        &dir,
        Path::new("git"),
        &[
            "for-each-ref",
            "--format=%(refname) %(contents:subject)",
            "refs/omk/goals",
        ],
        11,
    );
    let show = time_command(&dir, &bin, &["goal", "show", &id], 21);

    let transitions = 400;
    let cpu_start = thread_cpu();
    let t_start = Instant::now();
    for i in 0..transitions {
        let req = if i % 2 == 0 {
            ControlRequest::Pause { reason: None }
        } else {
            ControlRequest::Resume
        };
        control(&ctx, Some(&id), req).expect("transition");
    }
    let ours_transition = t_start.elapsed() / transitions;
    let cpu_transition = thread_cpu()
        .zip(cpu_start)
        .map(|(end, start)| (end - start) / transitions);
    let goal_ref = format!("refs/omk/goals/{id}");
    let p_start = Instant::now();
    for i in 0..50 {
        plumbing_transition(&dir, &goal_ref, i);
    }
    let plumb_transition = p_start.elapsed() / 50;

    println!("goal store benchmark: {goals} goals, one machine, release build");
    println!(
        "{:<52} {:>12} {:>12} {:>8}",
        "operation", "git-omk", "git", "ratio"
    );
    let row = |name: &str, ours: f64, theirs: f64, unit: &str| {
        println!(
            "{name:<52} {:>9.3} {unit} {:>9.3} {unit} {:>7.2}x",
            ours,
            theirs,
            ours / theirs
        );
    };
    row(
        &format!("create {goals} goals (git: plumbing, {sample} sampled, scaled)"),
        create_total.as_secs_f64(),
        plumb_per_goal.as_secs_f64() * goals as f64,
        "s ",
    );
    row(
        "create one goal (mean)",
        ms(create_total) / goals as f64,
        ms(plumb_per_goal),
        "ms",
    );
    row(
        "goal list vs for-each-ref subjects (median of 11)",
        ms(list),
        ms(for_each_ref),
        "ms",
    );
    println!(
        "{:<52} {:>9.3} ms",
        "goal show, one goal among all (median of 21)",
        ms(show)
    );
    row(
        "one state-transition commit (mean)",
        ms(ours_transition),
        ms(plumb_transition),
        "ms",
    );
    if let Some(cpu) = cpu_transition {
        println!("{:<52} {:>9.3} ms", "  its CPU time (this thread, mean)", ms(cpu));
    }
}

/// CPU time this thread has used so far (Linux; `None` elsewhere): a figure other processes on a busy
/// machine skew far less than the wall clock.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}
