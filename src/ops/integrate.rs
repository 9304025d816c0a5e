//! Integration of done tasks (DESIGN §3): each task's last commit is merged, in dependency order, onto
//! the integration tip. A commit the tip already contains changes nothing; a descendant of the tip is
//! taken as it is (fast-forward); anything else gets a merge commit written without a work tree, or
//! becomes a recorded blocker when it conflicts. Ancestry is answered in-process by the store; the
//! controller moves the branch once per step and records the step as one goal commit. Once recorded,
//! an integrated task's worktree is removed in the background (its commit is safe on the goal ref).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::context::{commit_id, oid};
use super::{Context, OpsError};
use crate::git::integrate::{Merged, merge_commit};
use crate::git::worktree;
use crate::model::event::EventBody;
use crate::model::ids::TaskId;
use crate::model::snapshot::Snapshot;
use crate::model::task::Task;
use crate::process;

/// What one integration step did.
pub struct Integration {
    /// The integration tip after every merge of the step.
    pub tip: String,
    /// `TaskIntegrated` (with the tip after that task) or `TaskBlocked` (a conflict), per task.
    pub bodies: Vec<EventBody>,
    /// The merged task commits and the new tip: `Omk-Proves` parents of the goal commit.
    pub proves: Vec<ObjectId>,
    /// Each integrated task with the commit of it that was merged (its recorded commit, or a conflict
    /// resolution on its branch).
    pub merged: Vec<(TaskId, String)>,
}

/// Merge the last commit of each of `tasks`, in order, onto `tip` (the integration branch is not
/// moved here).
pub fn integrate_tasks(
    ctx: &Context,
    repo_dir: &Path,
    snapshot: &Snapshot,
    branch: &str,
    tasks: &[TaskId],
    tip: String,
) -> Result<Integration, OpsError> {
    let fallback = ctx.store.repo().committer().is_none();
    let mut tip = tip;
    let mut bodies = Vec::new();
    let mut proves = BTreeSet::new();
    let mut merged = Vec::new();
    for id in tasks {
        let Some(task) = snapshot.tasks.get(id) else {
            continue;
        };
        let Some(recorded) = task
            .attempts
            .iter()
            .rev()
            .find_map(|a| a.commit.map(|c| c.to_string()))
        else {
            bodies.push(EventBody::TaskBlocked {
                task: id.clone(),
                reason: "done without a commit".to_owned(),
            });
            continue;
        };
        let commit = to_merge(ctx, task, recorded)?;
        let message = format!(
            "omk: integrate {id}\n\nOmk-Goal: {}\nOmk-Task: {id}\n",
            snapshot.goal.id
        );
        match merge_one(ctx, repo_dir, &tip, &commit, &message, fallback)? {
            Merged::Tip(next) => {
                proves.insert(oid(&commit)?);
                merged.push((id.clone(), commit.clone()));
                tip = next;
                bodies.push(EventBody::TaskIntegrated {
                    task: id.clone(),
                    commit: commit_id(&tip)?,
                });
            }
            Merged::Conflict(paths) => bodies.push(EventBody::TaskBlocked {
                task: id.clone(),
                reason: format!(
                    "merging into {branch} conflicts in {}: merge {branch} into {}, resolve, commit, then `git omk goal resume`",
                    paths.join(", "),
                    task.branch.clone().unwrap_or_default()
                ),
            }),
        }
    }
    proves.insert(oid(&tip)?);
    Ok(Integration {
        tip,
        bodies,
        proves: proves.into_iter().collect(),
        merged,
    })
}

/// Remove the worktrees of integrated tasks (`(worktree, merged commit)`, recorded on the goal by
/// then) that are clean and still at that commit: run on a blocking thread while other agents work.
/// Tools left running in them are stopped first. Anything else, and any removal that fails, is left
/// to the end-of-goal clean-up, which saves work before it removes.
pub fn remove_integrated(repo_dir: &Path, common_dir: &Path, worktrees: &[(PathBuf, String)]) {
    let dirs: Vec<PathBuf> = worktrees.iter().map(|(dir, _)| dir.clone()).collect();
    process::kill_processes_under(&dirs);
    for (dir, commit) in worktrees {
        let Ok(checkout) = worktree::Checkout::locate(common_dir, dir) else {
            continue;
        };
        if matches!(worktree::state(&checkout), Ok((head, false)) if head == *commit) {
            let _ = worktree::remove(repo_dir, dir);
        }
    }
}

/// The commit to merge for `task`: its branch's tip when that descends from the recorded commit (a
/// conflict resolved on the task branch after the task was blocked), else the recorded commit.
fn to_merge(ctx: &Context, task: &Task, recorded: String) -> Result<String, OpsError> {
    let Some(branch) = task.branch.as_deref() else {
        return Ok(recorded);
    };
    let Some(tip) = ctx.store.ref_tip(&format!("refs/heads/{branch}"))? else {
        return Ok(recorded);
    };
    let recorded_id = oid(&recorded)?;
    if tip != recorded_id && ctx.store.is_ancestor(recorded_id, tip)? {
        Ok(tip.to_string())
    } else {
        Ok(recorded)
    }
}

/// The tip after merging `commit` onto `tip`: `tip` itself when it already contains the commit, the
/// commit when it descends from the tip, else a new merge commit (or the conflicting paths).
fn merge_one(
    ctx: &Context,
    repo_dir: &Path,
    tip: &str,
    commit: &str,
    message: &str,
    fallback_identity: bool,
) -> Result<Merged, OpsError> {
    let (tip_id, commit_id) = (oid(tip)?, oid(commit)?);
    if ctx.store.is_ancestor(commit_id, tip_id)? {
        return Ok(Merged::Tip(tip.to_owned()));
    }
    if ctx.store.is_ancestor(tip_id, commit_id)? {
        return Ok(Merged::Tip(commit.to_owned()));
    }
    Ok(merge_commit(repo_dir, tip, commit, message, fallback_identity)?)
}

/// A batch for [`remove_integrated`]: (worktree, integrated commit) pairs.
type Batch = Vec<(PathBuf, String)>;

/// Removes integrated tasks' worktrees one batch after the other on a single background thread, so
/// removals never pile up beside the worktree creations and agents of the tasks still running.
pub struct Remover {
    repo_dir: PathBuf,
    common_dir: PathBuf,
    worker: Option<(mpsc::UnboundedSender<Batch>, JoinHandle<()>)>,
}

impl Remover {
    /// A remover for the worktrees of the repository at `repo_dir` (shared git directory
    /// `common_dir`); its thread starts on first use.
    pub fn new(repo_dir: PathBuf, common_dir: PathBuf) -> Remover {
        Remover {
            repo_dir,
            common_dir,
            worker: None,
        }
    }

    /// Queue a batch (needs a tokio runtime).
    pub fn remove(&mut self, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        let (repo_dir, common_dir) = (&self.repo_dir, &self.common_dir);
        let (queue, _) = self.worker.get_or_insert_with(|| {
            let (queue, mut batches) = mpsc::unbounded_channel::<Batch>();
            let (repo_dir, common_dir) = (repo_dir.clone(), common_dir.clone());
            let worker = tokio::task::spawn_blocking(move || {
                while let Some(batch) = batches.blocking_recv() {
                    remove_integrated(&repo_dir, &common_dir, &batch);
                }
            });
            (queue, worker)
        });
        // A worker that died leaves its worktrees to the end-of-goal clean-up.
        let _ = queue.send(batch);
    }

    /// Wait until every queued batch is done (before anything lists or removes worktrees).
    pub async fn settle(&mut self) {
        if let Some((queue, worker)) = self.worker.take() {
            drop(queue);
            let _ = worker.await;
        }
    }
}
