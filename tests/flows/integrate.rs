//! One integration step on a real repository: done tasks merged in order onto the integration tip
//! (fast-forward, merge commit, or a recorded blocker on conflict) without moving any branch, and the
//! background removal of integrated worktrees, which removes only clean worktrees still at their
//! integrated commit.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and processes

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use git_omk::model::event::EventBody;
use git_omk::model::ids::{CommitId, TaskId};
use git_omk::model::snapshot::Snapshot;
use git_omk::model::task::{Attempt, AttemptOutcome, TaskStatus};
use git_omk::ops::Context;
use git_omk::ops::integrate::{integrate_tasks, remove_integrated};
use support::git_repo::TestRepo;

const BRANCH: &str = "omk/test/integration";

/// A commit on a new branch `name` from `from` that writes `files`.
fn commit_on(repo: &TestRepo, name: &str, from: &str, files: &[(&str, &str)]) -> String {
    repo.git(&["checkout", "-q", "-b", name, from]);
    repo.write_files(files);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", name]);
    let commit = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "main"]);
    commit
}

/// The planned goal's snapshot with tasks `names`, each done with one attempt that produced `commit`.
fn snapshot_with(repo: &TestRepo, ctx: &Context, tasks: &[(&str, &str)]) -> Snapshot {
    let id = support::omk::plan(repo, "Fix add in calc.py");
    let goal = git_omk::store::GoalRef::Local(git_omk::model::ids::GoalId::parse(&id).unwrap());
    let mut snapshot = ctx.load(&goal).unwrap().snapshot;
    let template = snapshot.tasks.tasks[0].clone();
    snapshot.tasks.tasks = tasks
        .iter()
        .map(|(name, commit)| {
            let mut task = template.clone();
            task.id = TaskId::parse(name).unwrap();
            task.branch = Some(format!("omk/test/tasks/{name}"));
            task.status = TaskStatus::Done;
            task.attempts = vec![Attempt {
                number: 1,
                started_at: ctx.clock.now(),
                ended_at: Some(ctx.clock.now()),
                session_id: None,
                tokens: 0,
                commit: Some(CommitId::parse(commit).unwrap()),
                start_commit: None,
                tree: None,
                outcome: AttemptOutcome::Succeeded,
            }];
            task
        })
        .collect();
    snapshot
}

fn ids(names: &[&str]) -> Vec<TaskId> {
    names.iter().map(|n| TaskId::parse(n).unwrap()).collect()
}

#[test]
fn a_step_fast_forwards_merges_and_blocks_a_conflict_without_moving_the_branch() {
    let repo = TestRepo::with_files(&[("x.txt", "one\n"), ("y.txt", "y\n")]);
    let base = repo.git(&["rev-parse", "HEAD"]);
    let a = commit_on(&repo, "a", &base, &[("x.txt", "from a\n")]);
    let b = commit_on(&repo, "b", &base, &[("x.txt", "from b\n")]);
    let c = commit_on(&repo, "c", &base, &[("c.txt", "c\n")]);
    let ctx = Context::open(&repo.path).unwrap();
    let snapshot = snapshot_with(&repo, &ctx, &[("a", &a), ("b", &b), ("c", &c)]);

    let step = integrate_tasks(
        &ctx,
        &repo.path,
        &snapshot,
        BRANCH,
        &ids(&["a", "b", "c"]),
        base.clone(),
    )
    .unwrap();

    let events: Vec<String> = step
        .bodies
        .iter()
        .map(|body| match body {
            EventBody::TaskIntegrated { task, commit } => format!("integrated {task} at {commit}"),
            EventBody::TaskBlocked { task, reason } => format!("blocked {task}: {reason}"),
            other => format!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(
        events[0],
        format!("integrated a at {a}"),
        "a descends from the tip: fast-forward"
    );
    assert!(
        events[1].starts_with("blocked b: merging into omk/test/integration conflicts in x.txt")
            && events[1].contains("omk/test/tasks/b"),
        "b conflicts with a and becomes a blocker naming the file and its branch: {}",
        events[1]
    );
    assert_eq!(events[2], format!("integrated c at {}", step.tip));
    let parents = repo.git(&["rev-list", "--parents", "-n", "1", &step.tip]);
    assert_eq!(
        parents,
        format!("{} {a} {c}", step.tip),
        "c is merged onto a, first parent the tip"
    );
    assert_eq!(repo.git(&["show", &format!("{}:x.txt", step.tip)]), "from a");
    assert_eq!(repo.git(&["show", &format!("{}:c.txt", step.tip)]), "c");
    let mut proves: Vec<String> = step.proves.iter().map(ToString::to_string).collect();
    proves.sort();
    let mut expected = vec![a.clone(), c.clone(), step.tip.clone()];
    expected.sort();
    assert_eq!(
        proves, expected,
        "the merged task commits and the new tip are proven"
    );
    assert_eq!(
        step.merged,
        vec![
            (ids(&["a"])[0].clone(), a.clone()),
            (ids(&["c"])[0].clone(), c.clone())
        ]
    );
    assert!(
        repo.git(&["branch", "--list", BRANCH]).is_empty(),
        "the step writes commits but moves no branch"
    );

    let again = integrate_tasks(
        &ctx,
        &repo.path,
        &snapshot,
        BRANCH,
        &ids(&["a", "c"]),
        step.tip.clone(),
    )
    .unwrap();
    assert_eq!(
        again.tip, step.tip,
        "tasks already in the tip change nothing (a crash after the branch moved)"
    );
}

fn add_worktree(repo: &TestRepo, dir: &Path, branch: &str, at: &str) {
    repo.git(&["worktree", "add", "-q", "-b", branch, &dir.to_string_lossy(), at]);
}

fn listed(repo: &TestRepo, dir: &Path) -> bool {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    repo.git(&["worktree", "list", "--porcelain"])
        .lines()
        .any(|l| l.strip_prefix("worktree ").is_some_and(|p| Path::new(p) == dir))
}

#[test]
fn only_clean_worktrees_at_their_integrated_commit_are_removed_and_their_tools_stopped() {
    let repo = TestRepo::with_files(&[("x.txt", "one\n")]);
    let base = repo.git(&["rev-parse", "HEAD"]);
    let root = repo.home.join("worktrees");
    let (clean, dirty, moved): (PathBuf, PathBuf, PathBuf) =
        (root.join("clean"), root.join("dirty"), root.join("moved"));
    add_worktree(&repo, &clean, "t-clean", &base);
    add_worktree(&repo, &dirty, "t-dirty", &base);
    add_worktree(&repo, &moved, "t-moved", &base);
    std::fs::write(dirty.join("notes.txt"), "not committed\n").unwrap();
    std::fs::write(moved.join("x.txt"), "later\n").unwrap();
    repo.git_in(&moved, &["commit", "-q", "-am", "later work"]);
    let mut tool = Command::new("sleep")
        .arg("60")
        .current_dir(&clean)
        .spawn()
        .unwrap();

    remove_integrated(
        &repo.path,
        &repo.path.join(".git"),
        &[
            (clean.clone(), base.clone()),
            (dirty.clone(), base.clone()),
            (moved.clone(), base.clone()),
        ],
    );

    let status = tool.wait().unwrap();
    assert_eq!(
        status.code(),
        None,
        "a tool left running in the worktree was killed"
    );
    assert!(
        !clean.exists() && !listed(&repo, &clean),
        "the clean worktree at its commit is removed"
    );
    assert_eq!(
        std::fs::read_to_string(dirty.join("notes.txt")).unwrap(),
        "not committed\n",
        "uncommitted work stays where it is"
    );
    assert!(listed(&repo, &dirty));
    assert!(listed(&repo, &moved), "a worktree whose HEAD moved on is kept");
    assert_eq!(std::fs::read_to_string(moved.join("x.txt")).unwrap(), "later\n");
}

/// A finished task's worktree, kept while its agent's process hosted a reviewer: untouched it holds
/// nothing to flag; a change made there (written, removed or untracked files, or a commit) is
/// committed on the task branch with everything in it, and named, never lost.
#[test]
fn a_change_after_the_task_was_done_is_committed_and_named() {
    use git_omk::ops::gc::change_after_done;
    let repo = TestRepo::with_files(&[("x.txt", "one\n"), ("y.txt", "two\n")]);
    let done = repo.git(&["rev-parse", "HEAD"]);
    let done_id = CommitId::parse(&done).unwrap();
    let common = repo.path.join(".git");
    let root = repo.home.join("worktrees");
    let (kept, moved) = (root.join("kept"), root.join("moved"));
    add_worktree(&repo, &kept, "t-kept", &done);
    add_worktree(&repo, &moved, "t-moved", &done);
    let check = |dir: &Path| change_after_done(&common, dir, done_id, "after done", true).unwrap();

    assert_eq!(check(&kept), None, "an untouched worktree");
    assert_eq!(check(&root.join("gone")), None, "no worktree");

    std::fs::write(kept.join("x.txt"), "changed\n").unwrap();
    std::fs::remove_file(kept.join("y.txt")).unwrap();
    std::fs::write(kept.join("pwned.txt"), "new\n").unwrap();
    let change = check(&kept).expect("a change is found");
    let evidence = change.evidence.join("\n");
    for name in ["x.txt", "y.txt", "pwned.txt"] {
        assert!(evidence.contains(name), "{evidence}");
    }
    assert!(!evidence.contains("HEAD moved"), "{evidence}");
    assert_eq!(
        repo.git(&["rev-parse", "t-kept"]),
        change.commit.to_string(),
        "on the task branch"
    );
    assert_eq!(repo.git(&["rev-parse", &format!("{}^", change.commit)]), done);
    assert_eq!(
        repo.git(&["show", &format!("{}:pwned.txt", change.commit)]),
        "new"
    );
    assert_eq!(
        repo.git_in(&kept, &["status", "--porcelain"]),
        "",
        "nothing left uncommitted"
    );
    assert_eq!(
        check(&kept).map(|c| c.commit),
        Some(change.commit),
        "still not `done`"
    );

    std::fs::write(moved.join("x.txt"), "later\n").unwrap();
    repo.git_in(&moved, &["commit", "-q", "-am", "a commit after done"]);
    let head = repo.git_in(&moved, &["rev-parse", "HEAD"]);
    let change = check(&moved).expect("a moved HEAD is found");
    assert_eq!(change.commit.to_string(), head);
    assert!(
        change.evidence[0].starts_with("HEAD moved from"),
        "{:?}",
        change.evidence
    );
}
