//! `goal review`: review a concluded goal's result again (scanners, reviewer and security-reviewer
//! sessions) and record the review with the proof recomputed from it (DESIGN §1, §6).
//!
//! Only a local goal that has concluded (`ready` or `not_ready`) is reviewed here: while a controller
//! works on the goal, its own review step runs; a fetched goal belongs to the machine that drives it.

use std::path::Path;

use gix::ObjectId;

use super::drive::{agent_launch, changed_files};
use super::review::{ReviewOutcome, Reviewers, review};
use super::runtime::block_on;
use super::worktrees::check_dir;
use super::{Context, OpsError};
use crate::git::worktree;
use crate::model::event::{EventBody, UsageDelta};
use crate::model::ids::CommitId;
use crate::model::options::Role;
use crate::model::proof::{FileStat, prove};
use crate::model::snapshot::Snapshot;
use crate::model::status::GoalStatus;
use crate::settings;
use crate::store::GoalRef;

/// What `goal review` recorded.
#[derive(Clone, Debug)]
pub struct Reviewed {
    /// The goal.
    pub goal: GoalRef,
    /// The goal commit that recorded the review and the new proof.
    pub commit: ObjectId,
    /// The state after it.
    pub snapshot: Snapshot,
}

/// Run `goal review`.
pub fn review_goal(ctx: &Context, query: Option<&str>) -> Result<Reviewed, OpsError> {
    ctx.check_sandbox()?;
    let goal = ctx.resolve_local(query)?;
    let snapshot = ctx.load(&goal)?.snapshot;
    let result = reviewable(&snapshot)?;
    let repo_dir = ctx
        .store
        .workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| OpsError::Usage("the repository has no work tree".to_owned()))?;
    let base = snapshot.goal.base.commit;
    let dir = check_dir(ctx, &snapshot.goal.id, &format!("review-{}", result.short()));
    worktree::ensure_detached(&repo_dir, ctx.store.common_dir(), &dir, &result.to_string())?;
    let outcome = run_review(ctx, &snapshot, base, result, &dir);
    let _ = worktree::remove_checkout(&repo_dir, &dir);
    let outcome = outcome?;
    let changed = changed_files(&repo_dir, base, result);
    let (commit, snapshot) = record(ctx, &goal, result, outcome, changed)?;
    Ok(Reviewed {
        goal,
        commit,
        snapshot,
    })
}

/// The result to review, or why this goal cannot be reviewed now.
fn reviewable(snapshot: &Snapshot) -> Result<CommitId, OpsError> {
    let goal = &snapshot.goal;
    if !matches!(goal.status, GoalStatus::Ready | GoalStatus::NotReady) {
        return Err(OpsError::Usage(format!(
            "goal {} is {}: its controller reviews the result when it gets there; `goal review` re-reviews a goal that has concluded",
            goal.id, goal.status
        )));
    }
    match goal.integration.as_ref() {
        Some(i) if i.commit != goal.base.commit => Ok(i.commit),
        _ => Err(OpsError::Usage(format!(
            "goal {} has no integrated result to review",
            goal.id
        ))),
    }
}

fn run_review(
    ctx: &Context,
    snapshot: &Snapshot,
    base: CommitId,
    result: CommitId,
    checkout: &Path,
) -> Result<ReviewOutcome, OpsError> {
    let reviewers = Reviewers {
        agent: snapshot.goal.options.agent_of(Role::Reviewer).clone(),
        launch: agent_launch(ctx),
        prices: settings::price_table(ctx.store.repo())?,
        timeout: ctx.settings.turn_timeout,
    };
    block_on(review(
        ctx,
        snapshot,
        (base, result),
        checkout,
        &reviewers,
        None,
        Vec::new(),
    ))
}

/// Record the review, its usage and the proof recomputed with it, deciding on the current tip (which
/// must still be the concluded goal with the result reviewed).
fn record(
    ctx: &Context,
    goal: &GoalRef,
    result: CommitId,
    outcome: ReviewOutcome,
    changed: Vec<FileStat>,
) -> Result<(ObjectId, Snapshot), OpsError> {
    let done = ctx.transaction(goal).commit_blocking(|draft| {
        if reviewable(draft.snapshot())? != result {
            return Err(OpsError::Usage(format!(
                "goal {} changed its result while it was reviewed; run `git omk goal review` again",
                goal.id()
            )));
        }
        draft.record(EventBody::ReviewRecorded(outcome.review.clone()));
        draft.record(EventBody::UsageAdded(UsageDelta::of_sessions(
            &outcome.usage,
            &outcome.cost,
        )));
        let proof = prove(draft.snapshot(), changed.clone());
        draft.record(EventBody::ProofRecorded(Box::new(proof)));
        draft.attach(outcome.attachments.clone());
        Ok(())
    })?;
    Ok((done.tip, done.snapshot))
}
