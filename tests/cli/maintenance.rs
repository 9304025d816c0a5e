//! Automatic maintenance: gix writes only loose objects and refs, so git-omk runs
//! `git maintenance run --auto` when git's own `gc.auto` estimate says it is due.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk

use crate::support;

use support::git_repo::TestRepo;

fn packed_goal_refs(repo: &TestRepo) -> bool {
    std::fs::read_to_string(repo.path.join(".git/packed-refs")).is_ok_and(|s| s.contains("refs/omk/goals/"))
}

fn packs(repo: &TestRepo) -> usize {
    std::fs::read_dir(repo.path.join(".git/objects/pack"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn goal_writes_trigger_git_maintenance_when_due() {
    let repo = TestRepo::new();
    repo.git(&["config", "gc.auto", "1"]);
    let mut goals = 0;
    while !packed_goal_refs(&repo) && goals < 300 {
        repo.omk()
            .args(["goal", "plan", "Fix the off-by-one in slugify"])
            .assert()
            .success();
        goals += 1;
    }
    assert!(
        packed_goal_refs(&repo),
        "maintenance never ran after {goals} goals"
    );
    assert!(packs(&repo) >= 1, "objects were packed");
    let listed = repo.omk().args(["goal", "list", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        v["goals"].as_array().unwrap().len(),
        goals,
        "every goal is still there"
    );
}

#[test]
fn maintenance_can_be_switched_off() {
    let repo = TestRepo::new();
    repo.git(&["config", "gc.auto", "1"]);
    repo.git(&["config", "omk.autoMaintenance", "false"]);
    let sample = |repo: &TestRepo| {
        std::fs::read_dir(repo.path.join(".git/objects/17"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let mut goals = 0;
    while sample(&repo) < 3 && goals < 300 {
        repo.omk()
            .args(["goal", "plan", "Fix the off-by-one in slugify"])
            .assert()
            .success();
        goals += 1;
    }
    assert!(
        sample(&repo) >= 3,
        "maintenance would be due by now: {goals} goals, {} loose objects in objects/17, {} packs, goal refs packed: {}",
        sample(&repo),
        packs(&repo),
        packed_goal_refs(&repo)
    );
    repo.omk()
        .args(["goal", "plan", "Fix the off-by-one in slugify"])
        .assert()
        .success();
    assert!(!packed_goal_refs(&repo));
    assert_eq!(packs(&repo), 0);
}
