//! The GitHub workflows (DESIGN §9): every file of `.github/workflows` passes actionlint (with ShellCheck
//! on its scripts), and `git omk ci install` writes the user workflows exactly as shipped, never
//! overwriting a changed file without `--force`, with bad input refused and nothing written.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn processes and read the environment

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::git_repo::TestRepo;
use support::omk::json;
use support::tools;

fn workflows_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows")
}

/// Run actionlint on `files` from `dir` (a git repository); panics with its report when it finds
/// anything.
fn assert_actionlint_clean(dir: &Path, files: &[PathBuf]) {
    let Some((actionlint, shellcheck)) = tools::actionlint() else {
        return;
    };
    let out = Command::new(&actionlint)
        .arg("-shellcheck")
        .arg(&shellcheck)
        .arg("-no-color")
        .args(files)
        .current_dir(dir)
        .output()
        .expect("actionlint runs");
    assert!(
        out.status.success(),
        "actionlint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_workflow_file_passes_actionlint() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(workflows_dir())
        .expect("the workflows directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .collect();
    assert_eq!(names, ["ci.yml", "omk-run.yml", "omk-verify.yml"]);
    assert_actionlint_clean(Path::new(env!("CARGO_MANIFEST_DIR")), &files);
}

#[test]
fn actionlint_is_not_a_rubber_stamp() {
    let repo = TestRepo::new();
    let bad = repo.path.join(".github/workflows/bad.yml");
    std::fs::create_dir_all(bad.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &bad,
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n",
    )
    .expect("write");
    let Some((actionlint, shellcheck)) = tools::actionlint() else {
        return;
    };
    let out = Command::new(&actionlint)
        .arg("-shellcheck")
        .arg(&shellcheck)
        .arg(&bad)
        .current_dir(&repo.path)
        .output()
        .expect("actionlint runs");
    assert_eq!(out.status.code(), Some(1), "a script injection is found");
    assert!(String::from_utf8_lossy(&out.stdout).contains("untrusted"));
}

fn ci_install(repo: &TestRepo, args: &[&str]) -> std::process::Output {
    repo.omk()
        .args(["ci", "install"])
        .args(args)
        .output()
        .expect("git-omk runs")
}

#[test]
fn ci_install_writes_the_shipped_workflows_for_review() {
    let repo = TestRepo::new();
    let before = repo.user_state();
    let out = ci_install(&repo, &["--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["schema_version"], 1);
    let actions: Vec<(&str, &str)> = doc["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or(""),
                f["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            (".github/workflows/omk-verify.yml", "create"),
            (".github/workflows/omk-run.yml", "create")
        ]
    );
    for name in ["omk-verify.yml", "omk-run.yml"] {
        let written = std::fs::read(repo.path.join(".github/workflows").join(name)).expect("written");
        let shipped = std::fs::read(workflows_dir().join(name)).expect("shipped");
        assert_eq!(written, shipped, "{name} is written exactly as shipped");
    }
    assert_eq!(
        repo.user_state().0,
        before.0,
        "nothing committed: the files are for review"
    );
    assert!(repo.goal_refs().is_empty());
    let files = [
        repo.path.join(".github/workflows/omk-verify.yml"),
        repo.path.join(".github/workflows/omk-run.yml"),
    ];
    assert_actionlint_clean(&repo.path, &files);

    let again = ci_install(&repo, &["--json"]);
    assert!(again.status.success());
    assert!(
        json(&again)["files"]
            .as_array()
            .expect("files")
            .iter()
            .all(|f| f["action"] == "unchanged"),
        "a second install changes nothing"
    );
}

#[test]
fn ci_install_refuses_to_overwrite_a_changed_file_unless_forced() {
    let repo = TestRepo::new();
    let verify = repo.path.join(".github/workflows/omk-verify.yml");
    let run = repo.path.join(".github/workflows/omk-run.yml");
    std::fs::create_dir_all(verify.parent().expect("dir")).expect("mkdir");
    std::fs::write(&verify, "# our own edits\n").expect("write");

    let out = ci_install(&repo, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("omk-verify.yml") && err.contains("--force") && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&verify).expect("read"),
        "# our own edits\n"
    );
    assert!(
        !run.exists(),
        "nothing at all is written when one file is refused"
    );

    // Only the run workflow: the changed verify file is not touched, so this goes through.
    let out = ci_install(&repo, &["--run"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(run.exists());
    assert_eq!(
        std::fs::read_to_string(&verify).expect("read"),
        "# our own edits\n"
    );

    let out = ci_install(&repo, &["--verify", "--force", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json(&out)["files"][0]["action"], "replace");
    assert_eq!(
        std::fs::read(&verify).expect("read"),
        std::fs::read(workflows_dir().join("omk-verify.yml")).expect("shipped")
    );
}

#[test]
fn ci_bad_input_is_a_usage_error_and_writes_nothing() {
    let repo = TestRepo::new();
    let out = ci_install(&repo, &["--verfy"]);
    assert_eq!(out.status.code(), Some(2));
    let bare = tempfile::tempdir().expect("temp dir");
    let status = repo
        .git_command()
        .args(["init", "-q", "--bare"])
        .arg(bare.path())
        .status()
        .expect("git");
    assert!(status.success());
    let out = repo
        .omk_in(bare.path())
        .args(["ci", "install"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!bare.path().join(".github").exists());

    for args in [
        vec![
            "ci",
            "verify-pr",
            "--head-ref",
            "main",
            "--head-sha",
            &"a".repeat(40),
        ],
        vec![
            "ci",
            "verify-pr",
            "--head-ref",
            "omk/20261122-101500-3fa9c01b/integration",
            "--head-sha",
            "abc",
        ],
    ] {
        let out = repo
            .omk()
            .env_remove("GITHUB_EVENT_PATH")
            .args(&args)
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = repo
        .omk()
        .env_remove("GITHUB_EVENT_PATH")
        .args(["ci", "verify-pr"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GITHUB_EVENT_PATH"));
    assert!(repo.goal_refs().is_empty());
}
