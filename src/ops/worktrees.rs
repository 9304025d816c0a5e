//! Where a goal's worktrees and branches are: names and paths only (the git calls are in `git`).
//!
//! Worktrees live outside the user's work tree, under `omk.worktreeRoot` (default: the user's cache
//! directory), in a directory per repository (its name and a hash of its git directory, so two clones
//! never share one) and per goal.

use std::path::{Path, PathBuf};

use super::Context;
use crate::git::worktree;
use crate::model::ids::{GoalId, TaskId, short};

/// `omk/<goal>/tasks/<task>`.
pub fn task_branch(goal: &GoalId, task: &TaskId) -> String {
    format!("omk/{goal}/tasks/{task}")
}

/// `omk/<goal>/integration`.
pub fn integration_branch(goal: &GoalId) -> String {
    format!("omk/{goal}/integration")
}

/// The directory of this repository's worktrees.
pub fn repo_dir(ctx: &Context) -> PathBuf {
    let common = ctx.store.common_dir();
    let canonical = common.canonicalize().unwrap_or_else(|_| common.to_path_buf());
    let name = canonical
        .parent()
        .and_then(Path::file_name)
        .map_or_else(|| "repo".to_owned(), |n| n.to_string_lossy().into_owned());
    let digest = gix::objs::compute_hash(
        gix::hash::Kind::Sha1,
        gix::object::Kind::Blob,
        canonical.to_string_lossy().as_bytes(),
    )
    .map(|id| id.to_string()[..10].to_owned())
    .unwrap_or_default();
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    ctx.settings.worktree_root.join(format!("{safe}-{digest}"))
}

/// The directory of a goal's worktrees.
pub fn goal_dir(ctx: &Context, goal: &GoalId) -> PathBuf {
    repo_dir(ctx).join(goal.as_str())
}

/// A task's worktree.
pub fn task_dir(ctx: &Context, goal: &GoalId, task: &TaskId) -> PathBuf {
    goal_dir(ctx, goal).join("tasks").join(task.as_str())
}

/// Where the task's worktree really is: the worktree that has its branch checked out (the worktree root
/// may have changed since it was made), else where a new one would go.
pub fn find_task_dir(ctx: &Context, goal: &GoalId, task: &TaskId) -> PathBuf {
    let branch = task_branch(goal, task);
    ctx.store
        .workdir()
        .and_then(|work| worktree::list(work).ok())
        .and_then(|all| all.into_iter().find(|w| w.branch == branch))
        .map_or_else(|| task_dir(ctx, goal, task), |w| w.path)
}

/// A detached checkout of `commit` for running gates on it.
pub fn check_dir(ctx: &Context, goal: &GoalId, commit: &str) -> PathBuf {
    goal_dir(ctx, goal).join("checks").join(short(commit))
}
