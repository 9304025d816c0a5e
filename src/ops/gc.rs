//! `git omk gc`: remove finished worktrees and task branches whose work is safely recorded, keep the
//! worktree root under its disk quota, and run repository maintenance.
//!
//! Nothing is deleted unless the goal ref reaches its commits: a worktree with uncommitted changes is
//! committed first, and a commit the goal does not reach yet is recorded (`work_saved`, with the commit
//! as an `Omk-Proves` parent) before its worktree or branch goes. Worktrees of goals a live controller
//! is driving are never touched.

use std::path::{Path, PathBuf};

use gix::ObjectId;
use serde::Serialize;

use super::context::commit_id;
use super::worktrees::{goal_dir, repo_dir};
use super::{Context, OpsError};
use crate::git::run::git;
use crate::git::worktree;
use crate::model::event::EventBody;
use crate::model::ids::{CommitId, GoalId, TaskId};
use crate::model::status::GoalStatus;
use crate::process;
use crate::store::GoalRef;

/// What `gc` did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GcReport {
    /// Worktrees removed.
    pub removed_worktrees: Vec<String>,
    /// Worktrees kept, and why.
    pub kept_worktrees: Vec<(String, String)>,
    /// Task branches deleted (their tips are reachable from the goal).
    pub deleted_branches: Vec<String>,
    /// Work committed or recorded before removal: (task, commit).
    pub saved: Vec<(String, String)>,
    /// Bytes under this repository's worktree root before and after.
    pub bytes_before: u64,
    /// After.
    pub bytes_after: u64,
    /// The quota.
    pub quota: u64,
}

/// Collect garbage for every goal of this repository that no live controller drives.
pub async fn gc(ctx: &Context) -> Result<GcReport, OpsError> {
    let root = repo_dir(ctx);
    let mut report = GcReport {
        bytes_before: size_of(&root),
        quota: ctx.settings.worktree_quota,
        ..GcReport::default()
    };
    let work = ctx
        .store
        .workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| OpsError::Usage("the repository has no work tree".to_owned()))?;
    let _ = git(&work, &["worktree", "prune"]);
    for id in ctx.store.local_goal_ids()? {
        let goal = GoalRef::Local(id.clone());
        let snapshot = ctx.load(&goal)?.snapshot;
        let driven = snapshot
            .goal
            .lease
            .as_ref()
            .is_some_and(|l| l.is_live(ctx.clock.now()));
        if driven {
            report.kept_worktrees.push((
                goal_dir(ctx, &id).display().to_string(),
                "a controller is driving this goal".to_owned(),
            ));
            continue;
        }
        let finished = snapshot.goal.status.is_terminal() && snapshot.goal.status != GoalStatus::Paused;
        clean_goal(ctx, &work, &goal, finished, finished, &mut report).await?;
    }
    report.bytes_after = size_of(&root);
    ctx.maintain();
    Ok(report)
}

/// Remove the worktrees of one goal (task worktrees only with `tasks`; gate checkouts always) and, with
/// `branches`, its task branches, saving any work the goal does not reach yet.
pub async fn clean_goal(
    ctx: &Context,
    work: &Path,
    goal: &GoalRef,
    tasks: bool,
    branches: bool,
    report: &mut GcReport,
) -> Result<(), OpsError> {
    let task_prefix = format!("omk/{}/tasks/", goal.id());
    let checks = Path::new(goal.id().as_str()).join("checks");
    let base = base_of(ctx, goal)?;
    let found: Vec<worktree::Worktree> = worktree::list(work)?
        .into_iter()
        .chain(detached_checkouts(work)?)
        .collect();
    if tasks {
        // Tools an agent left running inside a task worktree die first (one sweep of /proc for all).
        let dirs: Vec<PathBuf> = found
            .iter()
            .filter(|wt| wt.branch.starts_with(&task_prefix))
            .map(|wt| wt.path.clone())
            .collect();
        process::kill_processes_under(&dirs);
    }
    for wt in found {
        if let Some(task) = wt.branch.strip_prefix(&task_prefix) {
            let Ok(task) = TaskId::parse(task) else { continue };
            if tasks {
                let found = Found {
                    task: &task,
                    path: &wt.path,
                    branch: &wt.branch,
                };
                save_and_remove(ctx, work, goal, base.as_deref(), found, report).await?;
            }
        } else if wt.branch.is_empty() && wt.path.parent().is_some_and(|p| p.ends_with(&checks)) {
            worktree::remove_checkout(work, &wt.path)?;
            report.removed_worktrees.push(wt.path.display().to_string());
        }
    }
    if branches {
        delete_task_branches(ctx, work, goal, base.as_deref(), report).await?;
    }
    let base = goal_dir(ctx, goal.id());
    let _ = std::fs::remove_dir(base.join("tasks"));
    let _ = std::fs::remove_dir(base.join("checks"));
    let _ = std::fs::remove_dir(&base);
    Ok(())
}

fn detached_checkouts(work: &Path) -> Result<Vec<worktree::Worktree>, OpsError> {
    let out = git(work, &["worktree", "list", "--porcelain"])?;
    let mut found = Vec::new();
    let mut path: Option<PathBuf> = None;
    for line in out.lines() {
        if let Some(p) = line.strip_prefix("worktree ") {
            path = Some(PathBuf::from(p));
        } else if line == "detached"
            && let Some(p) = path.take()
        {
            found.push(worktree::Worktree {
                path: p,
                branch: String::new(),
            });
        }
    }
    Ok(found)
}

/// The goal's base commit, when the goal can be read.
fn base_of(ctx: &Context, goal: &GoalRef) -> Result<Option<String>, OpsError> {
    if ctx.store.tip(goal)?.is_none() {
        return Ok(None);
    }
    Ok(Some(ctx.load(goal)?.snapshot.goal.base.commit.to_string()))
}

/// Whether `commit` (a task worktree's head or a task branch's tip) holds nothing of anybody's work:
/// it is the goal's `base`, and a ref outside the goal's task branches (the user's branch, the
/// integration branch, a tag, a remote-tracking branch) still reaches it. A task whose worktree was
/// created ahead of a dispatch that never came (the goal stopped first) leaves exactly that.
fn only_the_base(work: &Path, goal: &GoalRef, base: Option<&str>, commit: &str) -> bool {
    if base != Some(commit) {
        return false;
    }
    let tasks = format!("refs/heads/omk/{}/tasks/", goal.id());
    let args = [
        "for-each-ref",
        "--format=%(refname)",
        "--contains",
        commit,
        "refs/heads/",
        "refs/tags/",
        "refs/remotes/",
    ];
    git(work, &args).is_ok_and(|out| out.lines().any(|r| !r.is_empty() && !r.starts_with(&tasks)))
}

/// A task worktree found by `clean_goal`.
struct Found<'a> {
    task: &'a TaskId,
    path: &'a Path,
    branch: &'a str,
}

/// Commit what the worktree holds, make sure the goal reaches it, then remove the worktree. A clean
/// worktree at the goal's base holds nothing to save ([`only_the_base`]): it and its branch go without
/// a record.
async fn save_and_remove(
    ctx: &Context,
    work: &Path,
    goal: &GoalRef,
    base: Option<&str>,
    found: Found<'_>,
    report: &mut GcReport,
) -> Result<(), OpsError> {
    let Found { task, path, branch } = found;
    let message = format!(
        "omk: work left in the worktree of {task}\n\nOmk-Goal: {}\nOmk-Task: {task}\n",
        goal.id()
    );
    let fallback = ctx.store.repo().committer().is_none();
    let checkout = worktree::Checkout::locate(ctx.store.common_dir(), path)?;
    let (mut head, dirty) = worktree::state(&checkout)?;
    if !dirty && only_the_base(work, goal, base, &head) {
        worktree::remove(work, path)?;
        report.removed_worktrees.push(path.display().to_string());
        let name = format!("refs/heads/{branch}");
        if git(work, &["update-ref", "-d", &name, &head]).is_ok() {
            report.deleted_branches.push(branch.to_owned());
        }
        return Ok(());
    }
    let mut committed = None;
    if dirty {
        committed = worktree::commit_all(&checkout, &message, fallback)?;
        head = worktree::head(&checkout)?;
    }
    ensure_recorded(
        ctx,
        goal,
        task,
        &head,
        if committed.is_some() {
            "uncommitted changes"
        } else {
            "a commit the goal did not record"
        },
        report,
    )
    .await?;
    worktree::remove(work, path)?;
    report.removed_worktrees.push(path.display().to_string());
    Ok(())
}

/// Record `commit` on the goal (as an `Omk-Proves` parent) unless the goal already reaches it.
async fn ensure_recorded(
    ctx: &Context,
    goal: &GoalRef,
    task: &TaskId,
    commit: &str,
    reason: &str,
    report: &mut GcReport,
) -> Result<(), OpsError> {
    let commit = commit_id(commit)?;
    let id = commit.object_id();
    let reaches = |tip: ObjectId| ctx.store.is_ancestor(id, tip);
    if let Some(tip) = ctx.store.tip(goal)?
        && reaches(tip)?
    {
        return Ok(());
    }
    let saved = EventBody::WorkSaved {
        task: task.clone(),
        commit,
        reason: reason.to_owned(),
    };
    let done = ctx
        .transaction(goal)
        .commit(|draft| {
            if !reaches(draft.tip())? {
                draft.record(saved.clone());
                draft.prove([id]);
            }
            Ok(())
        })
        .await?;
    if done.recorded() {
        report.saved.push((task.to_string(), commit.to_string()));
    }
    Ok(())
}

/// Delete `omk/<goal>/tasks/*` branches whose tips the goal reaches (recording those it does not).
async fn delete_task_branches(
    ctx: &Context,
    work: &Path,
    goal: &GoalRef,
    base: Option<&str>,
    report: &mut GcReport,
) -> Result<(), OpsError> {
    let prefix = format!("refs/heads/omk/{}/tasks/", goal.id());
    let out = git(
        work,
        &["for-each-ref", "--format=%(refname) %(objectname)", &prefix],
    )?;
    let checked_out: Vec<String> = worktree::list(work)?
        .into_iter()
        .map(|w| format!("refs/heads/{}", w.branch))
        .collect();
    for line in out.lines() {
        let Some((name, tip)) = line.split_once(' ') else {
            continue;
        };
        if checked_out.iter().any(|b| b == name) {
            report.kept_worktrees.push((
                name.to_owned(),
                "the branch is checked out in a worktree".to_owned(),
            ));
            continue;
        }
        let Ok(task) = TaskId::parse(name.trim_start_matches(&prefix)) else {
            continue;
        };
        if only_the_base(work, goal, base, tip) {
            if git(work, &["update-ref", "-d", name, tip]).is_ok() {
                report
                    .deleted_branches
                    .push(name.trim_start_matches("refs/heads/").to_owned());
            }
            continue;
        }
        ensure_recorded(
            ctx,
            goal,
            &task,
            tip,
            "a task branch the goal did not record",
            report,
        )
        .await?;
        if git(work, &["update-ref", "-d", name, tip]).is_ok() {
            report
                .deleted_branches
                .push(name.trim_start_matches("refs/heads/").to_owned());
        }
    }
    Ok(())
}

/// Bytes used by files under `dir` (0 when it does not exist).
pub fn size_of(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size_of(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// Whether this repository's worktrees use more than the quota.
pub fn over_quota(ctx: &Context) -> bool {
    size_of(&repo_dir(ctx)) > ctx.settings.worktree_quota
}

/// Remove a goal's worktrees once it reached a terminal status (called by its controller); its task
/// branches stay until `gc`.
pub async fn after_goal(ctx: &Context, goal: &GoalId) -> Result<GcReport, OpsError> {
    let work = ctx
        .store
        .workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| OpsError::Usage("the repository has no work tree".to_owned()))?;
    let mut report = GcReport::default();
    clean_goal(
        ctx,
        &work,
        &GoalRef::Local(goal.clone()),
        true,
        false,
        &mut report,
    )
    .await?;
    Ok(report)
}

/// What changed in a task's worktree after its task was done: the commit that now holds it (on the
/// task branch) and what changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeAfterDone {
    /// The task branch's commit holding the change (the worktree's moved HEAD, or a commit of what
    /// was uncommitted there).
    pub commit: CommitId,
    /// What changed: a moved HEAD, then `git status` lines (at most [`MAX_EVIDENCE`]).
    pub evidence: Vec<String>,
}

/// Most `git status` lines kept as the evidence of a [`ChangeAfterDone`].
pub const MAX_EVIDENCE: usize = 20;

/// Whether the worktree at `path` still holds exactly `done`, the commit its task's attempt ended at
/// (clean, HEAD there). A finished task's agent process kept to host a reviewer runs there after the
/// task; whatever it changed is not the task's work: it is committed on the task branch with
/// `message` (nothing is lost) and returned, for the caller to record as such rather than as work
/// left. `None` when nothing changed or there is no worktree.
pub fn change_after_done(
    common_dir: &Path,
    path: &Path,
    done: CommitId,
    message: &str,
    fallback_identity: bool,
) -> Result<Option<ChangeAfterDone>, OpsError> {
    let Ok(checkout) = worktree::Checkout::locate(common_dir, path) else {
        return Ok(None);
    };
    let (head, dirty) = worktree::state(&checkout)?;
    let head = commit_id(&head)?;
    if head == done && !dirty {
        return Ok(None);
    }
    let mut evidence = Vec::new();
    if head != done {
        evidence.push(format!("HEAD moved from {} to {}", done.short(), head.short()));
    }
    let status = checkout.git(&["status", "--porcelain", "--untracked-files=all"])?;
    evidence.extend(status.lines().take(MAX_EVIDENCE).map(str::to_owned));
    let commit = match worktree::commit_all(&checkout, message, fallback_identity)? {
        Some(made) => commit_id(&made)?,
        None => head,
    };
    Ok(Some(ChangeAfterDone { commit, evidence }))
}
