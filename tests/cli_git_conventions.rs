//! git-omk behaves like a git command: configuration read as git reads it (`git -c`,
//! `GIT_CONFIG_COUNT`), invalid `omk.*` values refused with exit 2, SHA-256 repositories refused with
//! that reason, shell completions (also through git's own bash completion), man pages that
//! `git omk --help` shows, colour choices and a status line that fits the terminal.

#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read their environment

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::git_repo::{TestRepo, hermetic};

/// The directory of the git-omk binary, first on `PATH`, so `git omk` runs it.
fn path_with_omk() -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_git-omk"));
    let mut dirs = vec![bin.parent().expect("the binary has a directory").to_owned()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap().into_string().unwrap()
}

/// `git <args>` in the repository, with git-omk on `PATH`.
fn git(repo: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("git");
    hermetic(&mut cmd, &repo.home);
    cmd.current_dir(&repo.path)
        .env("PATH", path_with_omk())
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn planned_options(out: &Output, repo: &TestRepo) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let id = serde_json::from_slice::<Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let show = repo.omk().args(["goal", "show", "--json", &id]).output().unwrap();
    serde_json::from_slice::<Value>(&show.stdout).unwrap()["goal"]["options"].clone()
}

#[test]
fn git_dash_c_and_git_config_count_are_honoured() {
    let repo = TestRepo::new();
    let run = ["goal", "plan", "--json", "Fix the off-by-one in slugify"];
    let mut args = vec!["-c", "omk.maxAgents=7", "-c", "omk.agent=exec:true", "omk"];
    args.extend(run);
    let options = planned_options(&git(&repo, &args, &[]), &repo);
    assert_eq!(options["max_agents"], 7, "{options}");
    assert_eq!(options["agent"], "exec:true", "{options}");

    let env = [
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "omk.maxAgents"),
        ("GIT_CONFIG_VALUE_0", "5"),
    ];
    let mut args = vec!["omk"];
    args.extend(run);
    let options = planned_options(&git(&repo, &args, &env), &repo);
    assert_eq!(options["max_agents"], 5, "{options}");

    // `git -c` wins over the repository's configuration, as in git.
    repo.git(&["config", "omk.maxAgents", "3"]);
    let mut args = vec!["-c", "omk.maxAgents=9", "omk"];
    args.extend(run);
    let options = planned_options(&git(&repo, &args, &[]), &repo);
    assert_eq!(options["max_agents"], 9, "{options}");
}

#[test]
fn an_invalid_omk_value_is_exit_2_naming_the_key_and_what_is_accepted() {
    let repo = TestRepo::new();
    let refs_before = repo.goal_refs();
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["-c", "omk.maxAgents=banana"],
            &["omk.maxAgents", "banana", "from 1 to 64"],
        ),
        (
            &["-c", "omk.agent=gpt"],
            &["omk.agent", "gpt", "kimi", "exec:<command>"],
        ),
        (
            &["-c", "omk.autoMaintenance=maybe"],
            &["omk.autoMaintenance", "true or false"],
        ),
        (
            &["-c", "omk.turnTimeout=soon"],
            &["omk.turnTimeout", "a duration"],
        ),
    ];
    for (config, needles) in cases {
        for command in [
            &["goal", "plan", "Fix the off-by-one in slugify"][..],
            &["goal", "list"],
        ] {
            let mut args = config.to_vec();
            args.push("omk");
            args.extend(command);
            let out = git(&repo, &args, &[]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            for needle in needles {
                assert!(err.contains(needle), "{args:?}: `{needle}` not in {err}");
            }
        }
    }
    let env = [
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "omk.maxAgents"),
        ("GIT_CONFIG_VALUE_0", "0"),
    ];
    let out = git(&repo, &["omk", "goal", "list"], &env);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("omk.maxAgents"), "{}", stderr(&out));
    assert_eq!(repo.goal_refs(), refs_before, "nothing was written");
}

#[test]
fn a_sha256_repository_is_refused_with_that_reason() {
    let repo = TestRepo::new();
    let sha256 = repo.home.join("sha256");
    repo.git(&["init", "-q", "--object-format=sha256", sha256.to_str().unwrap()]);
    let out = repo
        .omk_in(&sha256)
        .args(["goal", "plan", "Fix the off-by-one in slugify"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("SHA-256"), "{err}");
    assert!(!err.contains("not inside a git repository"), "{err}");
    assert!(!has_goal_refs(&sha256));
}

fn has_goal_refs(git_dir_parent: &Path) -> bool {
    git_dir_parent.join(".git/refs/omk").exists()
}
