//! Benchmark of goal lookups among very many goals, printed beside `git for-each-ref` over the same refs
//! (not a test).
//!
//! Run through `scripts/bench-store.sh --scale GOALS` (release build). Figures go to docs/performance.md.
//! One goal is created with git-omk's store; GOALS more goals are imported with `git fast-import` (their
//! commit messages are real goal messages, their trees the first goal's tree) and their refs are written
//! packed, as `git pack-refs` leaves them. Then: `goal list` (whole, and `-n 10`), `goal status`
//! (latest), `goal show` by a unique prefix of the id and of its hash part, and ambiguous prefixes, each
//! timed as the median of several runs, next to `git for-each-ref` printing the same refs and subjects.
//!
//! Usage: bench_scale [GOALS]   (default 100000). `OMK_BENCH_KEEP=<dir>` keeps the repository there.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // benchmarks print figures
#![allow(clippy::disallowed_methods)] // a benchmark spawns git and reads the clock

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use git_omk::model::options::RunOptions;
use git_omk::ops::Context;
use git_omk::ops::plan::{PlanRequest, create};

/// The synthetic goals start this many seconds before the real one and are spread over 30 days.
const SPAN_SECS: i64 = 30 * 86_400;

/// Statuses the synthetic goals cycle through (with their phase), so `--status` has something to filter.
const MIX: [(&str, &str); 5] = [
    ("ready", "delivery"),
    ("not_ready", "proof"),
    ("ready", "delivery"),
    ("cancelled", "execution"),
    ("paused", "execution"),
];

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

fn setup(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.name", "Bench"]);
    git(dir, &["config", "user.email", "bench@example.com"]);
    git(dir, &["config", "gc.auto", "0"]);
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::write(dir.join("src/slugify.rs"), "pub fn slugify() {}\n").expect("write");
    std::fs::write(dir.join("README.md"), "# bench\n").expect("write");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "init"]);
}

/// A deterministic stream of pseudo-random numbers (splitmix64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The ids of `goals` synthetic goals, oldest first, all created before `before` (seconds since 1970).
fn synthetic_ids(goals: usize, before: i64) -> Vec<(String, i64)> {
    let step = (SPAN_SECS / goals.max(1) as i64).max(1);
    let start = before - 86_400 - step * goals as i64;
    let mut random = Random(0x5eed);
    (0..goals)
        .map(|i| {
            let at = start + step * i as i64;
            let time = chrono::DateTime::from_timestamp(at, 0).expect("in range");
            let hash = format!("{:08x}", random.next() as u32);
            (format!("{}-{hash}", time.format("%Y%m%d-%H%M%S")), at)
        })
        .collect()
}

/// Import one goal commit per id with `git fast-import`, every one with `tree`, and return the commit ids
/// in the same order.
fn import(dir: &Path, ids: &[(String, i64)], tree: &str) -> Vec<String> {
    let marks = dir.join(".git/bench-marks");
    let mut child = Command::new("git")
        .current_dir(dir)
        .args(["fast-import", "--quiet", "--done"])
        .arg(format!("--export-marks={}", marks.display()))
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    {
        let mut input = BufWriter::with_capacity(1 << 20, child.stdin.take().expect("piped"));
        for (i, (id, at)) in ids.iter().enumerate() {
            let (status, phase) = MIX[i % MIX.len()];
            let created = chrono::DateTime::from_timestamp(*at, 0)
                .expect("in range")
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, false);
            let message = format!(
                "{status}: Synthetic goal {i}\n\n- {status}\n\nOmk-Schema: 1\nOmk-Goal: {id}\nOmk-Phase: {phase}\n\
                 Omk-Created: {created}\nOmk-Event: goal_created\n"
            );
            write!(
                input,
                "reset refs/bench/import\ncommit refs/bench/import\nmark :{}\ncommitter Bench <bench@example.com> {at} +0000\n\
                 data {}\n{message}M 040000 {tree} \"\"\n\n",
                i + 1,
                message.len()
            )
            .expect("write to fast-import");
        }
        writeln!(input, "done").expect("write to fast-import");
        input.flush().expect("flush");
    }
    assert!(child.wait().expect("fast-import finishes").success());
    let text = std::fs::read_to_string(&marks).expect("marks");
    let mut commits = vec![String::new(); ids.len()];
    for line in text.lines() {
        let (mark, sha) = line.split_once(' ').expect("mark line");
        let n: usize = mark.trim_start_matches(':').parse().expect("mark number");
        commits[n - 1] = sha.to_owned();
    }
    std::fs::remove_file(&marks).expect("remove marks");
    git(dir, &["update-ref", "-d", "refs/bench/import"]);
    commits
}

/// Pack every ref, then add the imported goals to `packed-refs` (sorted, as `git pack-refs` writes it).
fn write_packed_refs(dir: &Path, ids: &[(String, i64)], commits: &[String]) {
    git(dir, &["pack-refs", "--all"]);
    let path = dir.join(".git/packed-refs");
    let existing = std::fs::read_to_string(&path).expect("packed-refs");
    let mut lines: Vec<String> = existing
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    lines.extend(
        ids.iter()
            .zip(commits)
            .map(|((id, _), sha)| format!("{sha} refs/omk/goals/{id}")),
    );
    lines.sort_by(|a, b| a[41..].cmp(&b[41..]));
    let mut out = BufWriter::new(std::fs::File::create(&path).expect("packed-refs"));
    writeln!(out, "# pack-refs with: peeled fully-peeled sorted ").expect("write");
    for line in lines {
        writeln!(out, "{line}").expect("write");
    }
    out.flush().expect("flush");
}

fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("git-omk")
}

fn run(dir: &Path, program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("runs")
}

/// Median wall time of `runs` runs, and the last run's output.
fn time(dir: &Path, program: &Path, args: &[&str], runs: usize) -> (Duration, Output) {
    let mut samples = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = run(dir, program, args);
        samples.push(start.elapsed());
        last = Some(out);
    }
    samples.sort();
    (samples[runs / 2], last.expect("at least one run"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The shortest prefix of `hash` that `git omk goal show` resolves to `id`.
fn unique_hash_prefix(dir: &Path, bin: &Path, id: &str) -> String {
    let hash = &id[16..];
    (4..=8)
        .map(|n| hash[..n].to_owned())
        .find(|p| run(dir, bin, &["goal", "show", p, "-f", "json"]).status.success())
        .unwrap_or_else(|| hash.to_owned())
}

fn main() {
    let goals: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = std::env::var_os("OMK_BENCH_KEEP").map_or_else(|| tmp.path().join("repo"), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("mkdir");
    setup(&dir);
    let ctx = Context::open(&dir).expect("open");
    let real = create(
        &ctx,
        PlanRequest {
            text: "Fix the off-by-one in slugify".to_owned(),
            options: RunOptions {
                llm_planner: false,
                ..RunOptions::default()
            },
            base_rev: "HEAD".to_owned(),
        },
    )
    .expect("create");
    let id = real.goal.id().to_string();
    let tree = git(&dir, &["rev-parse", &format!("{}^{{tree}}", real.commit)]);
    let now = chrono::Utc::now().timestamp();

    let start = Instant::now();
    let ids = synthetic_ids(goals, now);
    let commits = import(&dir, &ids, &tree);
    write_packed_refs(&dir, &ids, &commits);
    let imported = start.elapsed();
    drop(commits);
    let all = goals + 1;

    let bin = binary();
    let git_path = Path::new("git");
    let slow_runs = if goals >= 500_000 { 3 } else { 5 };
    let load_before = load_average();
    let (for_each_ref, fer) = time(
        &dir,
        git_path,
        &[
            "for-each-ref",
            "--format=%(refname) %(contents:subject)",
            "refs/omk/goals",
        ],
        slow_runs,
    );
    assert_eq!(fer.stdout.iter().filter(|b| **b == b'\n').count(), all);
    let (list, listed) = time(&dir, &bin, &["goal", "list"], slow_runs);
    assert!(listed.status.success());
    assert_eq!(listed.stdout.iter().filter(|b| **b == b'\n').count(), all);
    let (list_json, _) = time(&dir, &bin, &["goal", "list", "--json"], slow_runs);
    let (list_status, _) = time(&dir, &bin, &["goal", "list", "--status", "paused"], slow_runs);
    let (list_ten, ten) = time(&dir, &bin, &["goal", "list", "-n", "10"], 11);
    assert_eq!(ten.stdout.iter().filter(|b| **b == b'\n').count(), 10);
    let (status, st) = time(&dir, &bin, &["goal", "status"], 11);
    assert!(
        String::from_utf8_lossy(&st.stdout).contains(&id),
        "status shows the latest goal"
    );
    let id_prefix = &id[..20];
    let (show_id, shown) = time(&dir, &bin, &["goal", "show", id_prefix], 11);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let hash_prefix = unique_hash_prefix(&dir, &bin, &id);
    let (show_hash, _) = time(&dir, &bin, &["goal", "show", &hash_prefix], 11);
    let day = &ids[ids.len() / 2].0[..9];
    let mut ambiguous = Vec::new();
    for query in ["2026", day] {
        let (took, out) = time(&dir, &bin, &["goal", "show", query], 11);
        assert_eq!(out.status.code(), Some(2), "{query} is ambiguous");
        ambiguous.push((query.to_owned(), took, out.stderr.len()));
    }
    let load_after = load_average();

    println!("goal lookups among {all} goals (refs packed), release build");
    println!(
        "imported {goals} goals with git fast-import in {:.1} s; load average before {load_before}, after {load_after}",
        imported.as_secs_f64()
    );
    println!("{:<58} {:>10} {:>9}", "command", "median", "÷ for-each-ref");
    let row = |name: &str, took: Duration| {
        println!(
            "{name:<58} {:>7.1} ms {:>9.3}",
            ms(took),
            ms(took) / ms(for_each_ref)
        );
    };
    row(
        "git for-each-ref --format='%(refname) %(contents:subject)'",
        for_each_ref,
    );
    row("git omk goal list", list);
    row("git omk goal list --json", list_json);
    row("git omk goal list --status paused", list_status);
    row("git omk goal list -n 10", list_ten);
    row("git omk goal status (latest)", status);
    row(&format!("git omk goal show {id_prefix} (id prefix)"), show_id);
    row(
        &format!("git omk goal show {hash_prefix} (hash prefix)"),
        show_hash,
    );
    for (query, took, bytes) in ambiguous {
        row(
            &format!("git omk goal show {query} (ambiguous, {bytes} B message)"),
            took,
        );
    }
}
