//! Twenty processes racing `pause`, `resume` and `budget-add` on one goal: every command that reports
//! success is exactly one commit in the goal's history, and nothing is lost.

#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read the clock

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::git_repo::{TestRepo, hermetic};

#[test]
fn twenty_racing_processes_lose_no_update() {
    let repo = TestRepo::new();
    let out = repo
        .omk()
        .args(["goal", "plan", "--json", "Fix the off-by-one in slugify"])
        .output()
        .unwrap();
    let id = serde_json::from_slice::<Value>(&out.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bin = env!("CARGO_BIN_EXE_git-omk");
    let children: Vec<(&str, std::process::Child)> = (0..20)
        .map(|i| {
            let args: &[&str] = match i % 3 {
                0 => &["goal", "pause", "--json"],
                1 => &["goal", "resume", "--no-run", "--json"],
                _ => &["goal", "budget-add", "--time", "1m", "--json"],
            };
            let mut cmd = Command::new(bin);
            hermetic(&mut cmd, &repo.home);
            let child = cmd
                .current_dir(&repo.path)
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (args[1], child)
        })
        .collect();
    let mut committed = BTreeSet::new();
    let mut added = 0;
    for (verb, child) in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {
                let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                assert!(
                    committed.insert(v["commit"].as_str().unwrap().to_owned()),
                    "two successes, one commit"
                );
                if verb == "budget-add" {
                    added += 1;
                }
            }
            Some(2) => assert!(
                stderr.contains("already paused") || stderr.contains("not paused"),
                "{verb}: {stderr}"
            ),
            other => panic!("{verb} exited {other:?}: {stderr}"),
        }
    }
    assert_eq!(added, 6, "budget-add is always allowed, so all six succeed");
    let ref_name = format!("refs/omk/goals/{id}");
    let history: BTreeSet<String> = repo
        .git(&["rev-list", &ref_name])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        history.len(),
        committed.len() + 1,
        "one commit per success, plus the creation"
    );
    assert!(
        committed.is_subset(&history),
        "every reported commit is in the history"
    );
    let budget: Value = serde_json::from_slice(
        &repo
            .omk()
            .args(["goal", "budget", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        budget["limits"]["time_secs"],
        8 * 3600 + 60 * added,
        "no budget-add was lost"
    );
    let verify = repo.omk().args(["goal", "replay", "--verify"]).output().unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
