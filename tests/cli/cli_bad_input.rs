//! Bad input: each case gets a clear message, exit code 2, and changes nothing (no ref, no object).

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read the clock

use crate::support;

use std::process::Command;

use support::git_repo::{TestRepo, git_command, hermetic};
use support::omk::{listed_ids, plan};

/// Refs and the number of objects: what "nothing written" means.
fn footprint(repo: &TestRepo) -> (Vec<String>, usize) {
    let objects = walk(&repo.path.join(".git/objects"));
    (repo.goal_refs(), objects)
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
}

/// Run `args`, expect exit 2 with `needle` in stderr and an unchanged footprint.
fn refused(repo: &TestRepo, args: &[&str], needle: &str) {
    refused_with_stdin(repo, args, None, needle);
}

fn refused_with_stdin(repo: &TestRepo, args: &[&str], stdin: Option<Vec<u8>>, needle: &str) {
    let before = footprint(repo);
    let mut cmd = repo.omk();
    cmd.args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {err}");
    assert!(err.contains(needle), "{args:?}: expected `{needle}` in: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    assert_eq!(footprint(repo), before, "{args:?} wrote something");
}

#[test]
fn goal_text_must_be_sensible() {
    let repo = TestRepo::new();
    refused(&repo, &["goal", "plan", ""], "the goal is empty");
    refused(&repo, &["goal", "plan", "  \n\t "], "the goal is empty");
    refused(&repo, &["goal", "run", "   "], "the goal is empty");
    refused(&repo, &["goal", "plan", "fix the\u{7} bug"], "control character");
    refused(
        &repo,
        &["goal", "plan", "fix \u{1b}[31mred\u{1b}[0m"],
        "control character",
    );
    refused_with_stdin(
        &repo,
        &["goal", "plan", "-"],
        Some(vec![b'a'; 1024 * 1024]),
        "longer than 8192 bytes",
    );
    refused(
        &repo,
        &["goal", "plan", &"word ".repeat(2000)],
        "the limit is 8192 bytes",
    );
}

#[test]
fn goal_references_must_name_one_goal() {
    let repo = TestRepo::new();
    refused(&repo, &["goal", "status"], "no goal yet");
    let a = plan(&repo, "Fix the off-by-one in slugify");
    let b = plan(&repo, "Add retries to the HTTP client");
    refused(&repo, &["goal", "show", "ffffffffff"], "no goal matches");
    refused(&repo, &["goal", "pause", "2026"], "ambiguous");
    refused(&repo, &["goal", "pause", &a[..9]], "ambiguous");
    let _ = b;
}

/// Every command that takes GOAL, with the arguments it needs besides GOAL.
const GOAL_COMMANDS: [&[&str]; 17] = [
    &["goal", "status"],
    &["goal", "show"],
    &["goal", "proof"],
    &["goal", "verify"],
    &["goal", "review"],
    &["goal", "replay"],
    &["goal", "budget"],
    &["goal", "budget-add", "--time", "1h"],
    &["goal", "pause"],
    &["goal", "resume"],
    &["goal", "execute"],
    &["goal", "cancel"],
    &["goal", "accept", "--summary", "ok"],
    &["goal", "reject", "--reason", "no"],
    &["goal", "open-pr", "--dry-run"],
    &["goal", "merge"],
    &["goal", "release"],
];

#[test]
fn every_goal_argument_resolves_the_same_way_among_many_goals() {
    use support::imported::{Imported, import_goals};
    let repo = TestRepo::new();
    let a = plan(&repo, "Fix the off-by-one in slugify");
    let template = repo.git(&["rev-parse", &format!("refs/omk/goals/{a}")]);
    let mut goals: Vec<Imported> = (0..40)
        .map(|i| Imported::local(&format!("20250101-0000{i:02}-b00000{i:02}"), "planned", 0))
        .collect();
    goals.push(Imported::local("20250303-000000-eeeeeeee", "running", 0).fetched_from("origin"));
    import_goals(&repo, &template, &goals);
    repo.git(&["pack-refs", "--all"]);
    let long = "2".repeat(10_000);
    for command in GOAL_COMMANDS {
        fn with<'a>(command: &[&'a str], query: &'a str) -> Vec<&'a str> {
            let mut args = command.to_vec();
            args.insert(2, query);
            args
        }
        let with = |query| with(command, query);
        refused(
            &repo,
            &with("2025"),
            "is ambiguous: it matches 41 goals; the newest 10:",
        );
        refused(
            &repo,
            &with("b0000"),
            "is ambiguous: it matches 40 goals; the newest 10:",
        );
        refused(&repo, &with("20250101-00001"), "it matches 10 goals:");
        refused(
            &repo,
            &with("../../etc/passwd"),
            "no goal matches `../../etc/passwd`",
        );
        refused(&repo, &with("3FA9"), "no goal matches");
        refused(&repo, &with("ffffffffff"), "no goal matches");
        refused(&repo, &with("20250101-000099-b0000099"), "no goal matches");
        let before = footprint(&repo);
        let out = repo.omk().args(with(&long)).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        assert!(out.stderr.len() < 4096, "{command:?}: {} bytes", out.stderr.len());
        assert_eq!(footprint(&repo), before);
    }
    // Commands that change a goal refuse one that exists here only as fetched.
    for command in GOAL_COMMANDS.iter().filter(|c| {
        [
            "pause",
            "resume",
            "cancel",
            "accept",
            "reject",
            "budget-add",
            "execute",
            "review",
            "merge",
            "release",
        ]
        .contains(&c[1])
    }) {
        let mut args = command.to_vec();
        args.insert(2, "eeee");
        refused(&repo, &args, "only as fetched from origin");
    }
}

#[test]
fn budgets_and_options_are_validated() {
    let repo = TestRepo::new();
    let run = |extra: &[&str], needle: &str| {
        let mut args = vec!["goal", "run", "Fix the off-by-one in slugify"];
        args.extend_from_slice(extra);
        refused(&repo, &args, needle);
    };
    run(&["--budget-time", "0h"], "more than zero");
    run(&["--budget-time=-1h"], "not a duration");
    run(&["--budget-time", "-1h"], "not a duration");
    run(&["--budget-time", "8x"], "not a duration");
    run(&["--budget-time", "abc"], "not a duration");
    run(&["--budget-usd", "0"], "not a USD amount");
    run(&["--budget-usd", "-3"], "not a USD amount");
    run(&["--budget-tokens", "0"], "not a token count");
    run(&["--max-agents", "0"], "--max-agents must be between 1 and");
    run(&["--agent", "gpt"], "not an agent");
    run(&["--agent", "acp:"], "names no command");
    run(&["--policy", "yolo"], "not a delivery policy");
    run(&["--merge-policy", "always"], "not a merge policy");
    run(
        &["--base", "no-such-branch"],
        "is not a commit of this repository",
    );
    plan(&repo, "Fix the off-by-one in slugify");
    refused(&repo, &["goal", "budget-add"], "nothing to add");
    refused(&repo, &["goal", "budget-add", "--time", "0s"], "more than zero");
    refused(&repo, &["goal", "show", "-f", "yaml"], "invalid value 'yaml'");
    refused(
        &repo,
        &["goal", "list", "--status", "done"],
        "unknown status `done`",
    );
    refused(
        &repo,
        &["goal", "accept", "--summary", "  "],
        "the summary is empty",
    );
    refused(
        &repo,
        &["goal", "reject", "--reason", "\u{1}"],
        "control character",
    );
}

#[test]
fn not_a_usable_repository() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let bin = env!("CARGO_BIN_EXE_git-omk");
    let omk = |cwd: &std::path::Path, args: &[&str]| {
        let mut cmd = Command::new(bin);
        hermetic(&mut cmd, &home);
        cmd.env("GIT_CEILING_DIRECTORIES", dir.path())
            .current_dir(cwd)
            .args(args)
            .output()
            .unwrap()
    };
    let out = omk(&plain, &["goal", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not inside a git repository"));
    assert!(!plain.join(".git").exists());

    let bare = dir.path().join("bare.git");
    assert!(
        git_command(&home, dir.path())
            .args(["init", "-q", "--bare", bare.to_str().unwrap()])
            .status()
            .unwrap()
            .success()
    );
    let out = omk(&bare, &["goal", "plan", "Fix the off-by-one in slugify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bare repository"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let reftable = dir.path().join("reftable");
    let ok = git_command(&home, dir.path())
        .args(["init", "-q", "--ref-format=reftable", reftable.to_str().unwrap()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "git supports reftable");
    let out = omk(&reftable, &["goal", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("reftable"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Replace `goal.json` of `id`'s tip with `content` (and the subject/trailers with `message`) in a new
/// commit on the goal ref, using git plumbing only.
fn rewrite_goal_json(repo: &TestRepo, id: &str, content: &str, message: &str) {
    let ref_name = format!("refs/omk/goals/{id}");
    let tip = repo.git(&["rev-parse", &ref_name]);
    let blob_file = repo.home.join("goal.json");
    std::fs::write(&blob_file, content).unwrap();
    let blob = repo.git(&["hash-object", "-w", blob_file.to_str().unwrap()]);
    let listing = repo.git(&["ls-tree", &tip]);
    let edited: String = listing
        .lines()
        .map(|l| {
            if l.ends_with("\tgoal.json") {
                format!("100644 blob {blob}\tgoal.json\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let tree_file = repo.home.join("tree.txt");
    std::fs::write(&tree_file, edited).unwrap();
    let out = repo
        .git_command()
        .arg("mktree")
        .stdin(std::fs::File::open(&tree_file).unwrap())
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let commit = repo.git(&["commit-tree", &tree, "-p", &tip, "-m", message]);
    repo.git(&["update-ref", &ref_name, &commit, &tip]);
}

#[test]
fn a_corrupt_goal_is_named_and_does_not_hide_the_others() {
    let repo = TestRepo::new();
    let good = plan(&repo, "Fix the off-by-one in slugify");
    let bad = plan(&repo, "Add retries to the HTTP client");
    rewrite_goal_json(
        &repo,
        &bad,
        "{ not json",
        &format!("planned: broken\n\nOmk-Schema: 1\nOmk-Goal: {bad}\n"),
    );
    let out = repo.omk().args(["goal", "list", "--json"]).output().unwrap();
    assert!(out.status.success(), "list still works");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids = listed_ids(&listed);
    assert!(ids.contains(&good.as_str()) && ids.contains(&bad.as_str()));
    refused(&repo, &["goal", "show", &bad], &format!("goal {bad}"));
    refused(&repo, &["goal", "show", &bad], "goal.json");
    refused(&repo, &["goal", "pause", &bad], "is unreadable");
    repo.omk().args(["goal", "show", &good]).assert().success();
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let repo = TestRepo::new();
    let id = plan(&repo, "Fix the off-by-one in slugify");
    let ref_name = format!("refs/omk/goals/{id}");
    let current = repo.git(&["show", &format!("{ref_name}:goal.json")]);
    let newer = current.replacen("\"schema_version\": 1", "\"schema_version\": 99", 1);
    rewrite_goal_json(
        &repo,
        &id,
        &newer,
        &format!("planned: newer\n\nOmk-Schema: 99\nOmk-Goal: {id}\n"),
    );
    refused(&repo, &["goal", "show", &id], "schema version 99");
    refused(&repo, &["goal", "resume", &id], "upgrade git-omk");
    let listed = repo.omk().args(["goal", "list"]).output().unwrap();
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains("upgrade git-omk"));
}
