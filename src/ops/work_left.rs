//! Work left in the worktree of an interrupted task: what changed there after its attempt was stopped
//! (a pause, a cancel or another stop) and recorded at a commit. A tool the agent started can finish
//! its write after the agent was stopped; a person can edit there while the goal waits.
//!
//! Owns finding such a change and committing it on the task branch, so the next attempt builds on it
//! rather than taking it in as its own work or dropping it. Returns what it found; the driver records
//! it (one goal transaction). Never removes anything that is not also held by the commit it returns.

use std::path::Path;

use super::OpsError;
use super::context::commit_id;
use super::gc::MAX_EVIDENCE;
use crate::git::worktree::{self, Checkout};
use crate::model::ids::{CommitId, GoalId, TaskId};
use crate::model::policy::Policy;
use crate::model::writeset::PathPattern;

/// A change found in an interrupted task's worktree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkLeft {
    /// The task branch's commit holding everything the worktree held (its moved HEAD, or a commit of
    /// what was uncommitted there).
    pub commit: CommitId,
    /// Where the task branch is now, for the next attempt: `commit`, or a commit after it that puts the
    /// paths outside the task's write set back as they were (they stay in `commit`).
    pub tip: CommitId,
    /// What changed: a moved HEAD, then `git status` lines (at most [`MAX_EVIDENCE`]).
    pub evidence: Vec<String>,
    /// Changed paths outside the task's write set (taken out again at `tip`).
    pub outside: Vec<String>,
}

/// Where to look and how to commit.
pub struct Look<'a> {
    /// The goal.
    pub goal: &'a GoalId,
    /// The task.
    pub task: &'a TaskId,
    /// The repository's shared git directory.
    pub common_dir: &'a Path,
    /// The task's worktree.
    pub path: &'a Path,
    /// The commit the interrupted attempt recorded.
    pub stopped: CommitId,
    /// The task's write set.
    pub write_set: &'a [PathPattern],
    /// Commit with git-omk's identity (the user has none).
    pub fallback_identity: bool,
}

/// What changed in the worktree at `look.path` since its task's attempt was interrupted at
/// `look.stopped`, committed on the task branch; `None` when the worktree is gone, or clean at a
/// commit `recorded` says the goal already holds (the interrupted one, or work left recorded before).
pub fn work_left(
    look: &Look<'_>,
    recorded: impl Fn(CommitId) -> Result<bool, OpsError>,
) -> Result<Option<WorkLeft>, OpsError> {
    let Ok(checkout) = worktree::Checkout::locate(look.common_dir, look.path) else {
        return Ok(None);
    };
    let (head, dirty) = worktree::state(&checkout)?;
    let head = commit_id(&head)?;
    if !dirty && (head == look.stopped || recorded(head)?) {
        return Ok(None);
    }
    let evidence = evidence(&checkout, look.stopped, head)?;
    let (task, stopped) = (look.task, look.stopped.short());
    let message = format!(
        "omk: work left in the worktree of {task} after it was stopped\n\nWhat changed there after its interrupted attempt was recorded at {stopped}.\n\n{}",
        trailers(look)
    );
    let commit = match worktree::commit_all(&checkout, &message, look.fallback_identity)? {
        Some(made) => commit_id(&made)?,
        None => head,
    };
    let (tip, outside) = take_out_outside(&checkout, look, commit)?;
    Ok(Some(WorkLeft {
        commit,
        tip,
        evidence,
        outside,
    }))
}

/// What changed since `stopped`: a moved HEAD, then `git status` lines.
fn evidence(checkout: &Checkout, stopped: CommitId, head: CommitId) -> Result<Vec<String>, OpsError> {
    let mut evidence = Vec::new();
    if head != stopped {
        evidence.push(format!("HEAD moved from {} to {}", stopped.short(), head.short()));
    }
    let status = checkout.git(&["status", "--porcelain", "--untracked-files=all"])?;
    evidence.extend(status.lines().take(MAX_EVIDENCE).map(str::to_owned));
    Ok(evidence)
}

/// Put the paths changed since the interrupted attempt outside the task's write set back as they were
/// there, in a commit after `commit` (which keeps them): the next attempt may not build on them. The
/// branch tip after that, and those paths.
fn take_out_outside(
    checkout: &Checkout,
    look: &Look<'_>,
    commit: CommitId,
) -> Result<(CommitId, Vec<String>), OpsError> {
    let stopped = look.stopped.to_string();
    let changed = worktree::changed_paths(checkout, &stopped)?;
    let policy = Policy::task(look.path, look.write_set.to_vec())
        .map_err(|e| OpsError::infrastructure("reading the task's write set", e))?;
    let outside: Vec<String> = (policy.check_changes(&changed).into_iter())
        .map(|v| v.path)
        .collect();
    if outside.is_empty() {
        return Ok((commit, outside));
    }
    worktree::discard(checkout, &stopped, &outside)?;
    let message = format!(
        "omk: take back out what {} changed outside its write set after it was stopped\n\nKept in {}: {}\n\n{}",
        look.task,
        commit.short(),
        outside.join(", "),
        trailers(look)
    );
    let tip = match worktree::commit_all(checkout, &message, look.fallback_identity)? {
        Some(made) => commit_id(&made)?,
        None => commit,
    };
    Ok((tip, outside))
}

fn trailers(look: &Look<'_>) -> String {
    format!("Omk-Goal: {}\nOmk-Task: {}\n", look.goal, look.task)
}
