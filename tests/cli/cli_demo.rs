//! `git omk demo` end to end on a machine without Kimi: the sample repository is created, the whole
//! goal runs with the stand-in agent (which says it is one) to `ready`, the pull request is rendered
//! and `goal verify` holds; a directory that is not empty is refused with nothing written.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git-omk and read their environment

use crate::support;

use std::path::PathBuf;

use serde_json::Value;
use support::git_repo::TestRepo;

/// A PATH with git, the Rust toolchain (the sample's gate is `cargo test`) and the shell, but no Kimi;
/// and the toolchain's homes, outside the hermetic home.
fn without_kimi() -> Vec<(String, String)> {
    let git = support::agents::which_git();
    let cargo = PathBuf::from(std::env::var("CARGO").unwrap());
    let mut dirs = vec![
        git.parent().unwrap().to_owned(),
        cargo.parent().unwrap().to_owned(),
    ];
    dirs.extend(["/usr/bin", "/bin"].map(PathBuf::from));
    let home = PathBuf::from(std::env::var("HOME").unwrap_or_default());
    let var = |name: &str, default: PathBuf| {
        let value = std::env::var(name).unwrap_or_else(|_| default.display().to_string());
        (name.to_owned(), value)
    };
    vec![
        (
            "PATH".to_owned(),
            std::env::join_paths(dirs).unwrap().into_string().unwrap(),
        ),
        var("RUSTUP_HOME", home.join(".rustup")),
        var("CARGO_HOME", home.join(".cargo")),
    ]
}

#[test]
fn the_demo_ends_ready_with_the_stand_in_on_a_machine_without_kimi_and_says_so() {
    let repo = TestRepo::new();
    let env = without_kimi();
    let dir = repo.home.join("demo");
    let mut demo = repo.omk_in(&repo.home);
    demo.args(["demo", "--dir", dir.to_str().unwrap()])
        .env_remove("KIMI_MODEL_NAME")
        .env_remove("KIMI_CODE_HOME");
    for (k, v) in &env {
        demo.env(k, v);
    }
    let out = demo.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("the stand-in agent"), "{stderr}");
    assert!(
        stdout.contains("This run used git-omk's stand-in agent, not an AI model"),
        "{stdout}"
    );
    assert!(stdout.contains("the proof holds: ready"), "{stdout}");
    assert!(stdout.contains(&dir.display().to_string()), "{stdout}");
    assert!(stdout.contains("git omk goal open-pr --dry-run"), "{stdout}");

    let show = repo
        .omk_in(&dir)
        .args(["goal", "show", "-f", "json"])
        .output()
        .unwrap();
    let show: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(show["goal"]["status"], "ready", "{show}");
    let task = &show["tasks"][0];
    assert_eq!(task["status"], "done", "{task}");
    let transcript = repo.git_in(&dir, &["log", "-p", "--glob=refs/omk/goals/*", "--", "agents"]);
    assert!(
        transcript.contains("stand-in agent, not an AI model"),
        "the transcript says it is a stand-in"
    );
    // `goal log` renders the task's transcript; `--json` gives the recorded lines.
    let log = repo.omk_in(&dir).args(["goal", "log"]).output().unwrap();
    let text = String::from_utf8_lossy(&log.stdout);
    assert_eq!(log.status.code(), Some(0), "{text}");
    assert!(text.starts_with("== task t1"), "{text}");
    assert!(text.contains("prompt (turn 1):"), "{text}");
    assert!(text.contains("agent: I am git-omk's stand-in agent"), "{text}");
    let raw = repo
        .omk_in(&dir)
        .args(["goal", "log", "latest", "t1", "--attempt", "1", "--json"])
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&raw.stdout).lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        assert!(entry["kind"].is_string(), "{line}");
    }
    let bad = repo
        .omk_in(&dir)
        .args(["goal", "log", "latest", "t9"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "an unknown task is bad input");
    let fixed = std::fs::read_to_string(dir.join("src/slugify.rs")).unwrap();
    assert!(fixed.contains(">= max"), "the user's checkout is never touched");

    // A directory that is not empty is refused, and nothing is written into it.
    let mut again = repo.omk_in(&repo.home);
    again.args(["demo", "--stand-in", "--dir", dir.to_str().unwrap()]);
    for (k, v) in &env {
        again.env(k, v);
    }
    let before = repo.git_in(&dir, &["for-each-ref"]);
    let out = again.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not empty"));
    assert_eq!(repo.git_in(&dir, &["for-each-ref"]), before);
}
