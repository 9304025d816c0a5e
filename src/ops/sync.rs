//! `git omk sync [REMOTE]` (DESIGN §8): fetch the remote's goals, bring every local goal up to date with
//! its fetched copy, then push the goals the remote lacks, never forced.
//!
//! One round: `git fetch` the goals into `refs/omk/remotes/<remote>/goals/`; per goal, create the local
//! ref when only the remote has it, fast-forward it when it is behind, merge when both sides have
//! commits the other lacks (`Store::merge_into`: the union of both sides' events, the same snapshot
//! whichever machine merges); then push every goal whose local tip differs from the fetched one, with a
//! lease on the fetched tip. When the remote moved meanwhile the push changes nothing and the round
//! starts over, a bounded number of times. Goal refs only ever move forward: local refs by
//! compare-and-swap to a descendant, remote refs by fast-forward pushes whose lease is the tip the
//! descendant was built on.

use std::collections::BTreeMap;
use std::path::Path;

use gix::ObjectId;

use super::remote::choose_remote;
use super::runtime::block_on;
use super::transaction::until_won;
use super::{Context, OpsError};
use crate::clock::random_bytes;
use crate::git::fetch::fetch;
use crate::git::push::{PushError, PushSpec, RefOutcome, push_leased};
use crate::model::backoff::Backoff;
use crate::model::ids::GoalId;
use crate::model::status::GoalStatus;
use crate::store::layout::fetch_refspec;
use crate::store::merge::{MergeError, MergeOutcome};
use crate::store::{GoalRef, StoreError};

/// Rounds of fetch → merge → push before giving up while other machines keep pushing the same goals.
pub const MAX_ROUNDS: u32 = 16;

/// What `sync` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct SyncRequest {
    /// The remote (default: the current branch's upstream remote, else `origin`).
    pub remote: Option<String>,
}

/// What happened to the local copy of a goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalChange {
    /// Only the remote had it: the local ref was created (it can now be controlled here).
    Created,
    /// The local copy was behind: fast-forwarded.
    FastForwarded,
    /// Both sides had new commits: a merge commit was written.
    Merged,
}

/// What sync did to one goal.
#[derive(Clone, Debug)]
pub struct GoalSync {
    /// The goal.
    pub id: GoalId,
    /// What happened to the local copy (the strongest change over all rounds).
    pub local: Option<LocalChange>,
    /// What happened on the remote.
    pub pushed: Option<RefOutcome>,
    /// The local tip at the end.
    pub tip: ObjectId,
    /// Status from the tip's subject.
    pub status: Option<GoalStatus>,
    /// Title from the tip's subject.
    pub title: String,
}

/// A goal sync could not reconcile (the others were still synced).
#[derive(Clone, Debug)]
pub struct SyncProblem {
    /// The goal.
    pub id: GoalId,
    /// What is wrong.
    pub message: String,
}

/// The result of `sync`.
#[derive(Clone, Debug)]
pub struct SyncReport {
    /// The remote.
    pub remote: String,
    /// Rounds of fetch → merge → push it took.
    pub rounds: u32,
    /// Goals known locally or on the remote.
    pub goals: usize,
    /// Goals where something happened, by id.
    pub changed: Vec<GoalSync>,
    /// Goals that could not be reconciled.
    pub problems: Vec<SyncProblem>,
    /// Why the push finally failed, when it did (local merges are kept; run sync again).
    pub push_error: Option<String>,
}

/// The goals to push in one round: id, local tip, the fetched tip it descends from.
type Pushes = Vec<(GoalId, ObjectId, Option<ObjectId>)>;

/// Every goal id with its local tip and its tip fetched from the remote.
type Pairs = BTreeMap<GoalId, (Option<ObjectId>, Option<ObjectId>)>;

/// Fetch, reconcile and push the goals of `request.remote`.
pub fn sync(ctx: &Context, request: &SyncRequest) -> Result<SyncReport, OpsError> {
    let remote = choose_remote(ctx, request.remote.as_deref())?;
    block_on(rounds(ctx, remote))
}

/// Rounds of fetch → reconcile → push until the push goes through or fails for good.
async fn rounds(ctx: &Context, remote: String) -> Result<SyncReport, OpsError> {
    let dir = ctx
        .store
        .workdir()
        .unwrap_or_else(|| ctx.store.common_dir())
        .to_path_buf();
    let mut changes: BTreeMap<GoalId, GoalSync> = BTreeMap::new();
    let mut backoff = Backoff::new(MAX_ROUNDS - 1, 10, 64);
    let (goals, problems, push_error) = loop {
        fetch(&dir, &remote, &[fetch_refspec(&remote)]).map_err(|e| OpsError::infrastructure("sync", e))?;
        let pairs = goal_pairs(ctx, &remote)?;
        let (pushes, problems) = reconcile_all(ctx, &remote, &pairs, &mut changes).await;
        if pushes.is_empty() {
            break (pairs.len(), problems, None);
        }
        let failed = match push_goals(ctx, &dir, &remote, &pushes) {
            Ok(outcomes) => {
                for (id, tip, outcome) in outcomes {
                    entry(ctx, &mut changes, &id, tip).pushed = Some(outcome);
                }
                break (pairs.len(), problems, None);
            }
            Err(e) => e,
        };
        match Some(&failed)
            .filter(|e| retryable(e))
            .and_then(|_| backoff.next_delay(random_bytes::<1>()[0]))
        {
            Some(delay) => {
                tracing::debug!("sync round {}: {failed}; fetching again", backoff.waited());
                tokio::time::sleep(delay).await;
            }
            None => break (pairs.len(), problems, Some(failed.to_string())),
        }
    };
    ctx.maintain();
    Ok(SyncReport {
        remote,
        rounds: backoff.waited() + 1,
        goals,
        changed: changes.into_values().collect(),
        problems,
        push_error,
    })
}

/// Every goal id with its local tip and its tip fetched from `remote`.
fn goal_pairs(ctx: &Context, remote: &str) -> Result<Pairs, OpsError> {
    let mut pairs = Pairs::new();
    for (goal, tip) in ctx.store.goal_refs()? {
        match goal {
            GoalRef::Local(id) => pairs.entry(id).or_default().0 = Some(tip),
            GoalRef::Remote { remote: r, id } if r == remote => pairs.entry(id).or_default().1 = Some(tip),
            GoalRef::Remote { .. } => {}
        }
    }
    Ok(pairs)
}

/// Reconcile every goal whose local and fetched tips differ; return what to push and the problems.
async fn reconcile_all(
    ctx: &Context,
    remote: &str,
    pairs: &Pairs,
    changes: &mut BTreeMap<GoalId, GoalSync>,
) -> (Pushes, Vec<SyncProblem>) {
    let mut pushes = Vec::new();
    let mut problems = Vec::new();
    for (id, (local, fetched)) in pairs {
        if local.is_some() && local == fetched {
            continue;
        }
        match reconcile(ctx, remote, id, *fetched).await {
            Ok((change, tip)) => {
                if let Some(change) = change {
                    let e = entry(ctx, changes, id, tip);
                    e.local = Some(e.local.map_or(change, |before| strongest(before, change)));
                }
                if Some(tip) != *fetched {
                    pushes.push((id.clone(), tip, *fetched));
                }
            }
            Err(e) => problems.push(SyncProblem {
                id: id.clone(),
                message: e.to_string(),
            }),
        }
    }
    (pushes, problems)
}

/// Bring the local copy of `id` up to date with `fetched`: create, fast-forward or merge. Returns what
/// changed and the local tip.
async fn reconcile(
    ctx: &Context,
    remote: &str,
    id: &GoalId,
    fetched: Option<ObjectId>,
) -> Result<(Option<LocalChange>, ObjectId), OpsError> {
    let goal = GoalRef::Local(id.clone());
    until_won(&goal, Backoff::goal_writes(), || {
        match reconcile_once(ctx, remote, &goal, fetched) {
            Err(OpsError::Store(StoreError::Conflict { .. })) => Ok(None),
            other => other.map(Some),
        }
    })
    .await
}

/// One attempt at [`reconcile`], on the local tip as it is now.
fn reconcile_once(
    ctx: &Context,
    remote: &str,
    goal: &GoalRef,
    fetched: Option<ObjectId>,
) -> Result<(Option<LocalChange>, ObjectId), OpsError> {
    let local = ctx.store.tip(goal)?;
    match (local, fetched) {
        (None, Some(theirs)) => {
            let message = format!("sync: goal fetched from {remote}");
            ctx.store.move_ref(goal, None, theirs, &message)?;
            Ok((Some(LocalChange::Created), theirs))
        }
        (Some(ours), Some(theirs)) => match ctx.store.merge_into(goal, ours, theirs, ctx.clock.now()) {
            Ok(MergeOutcome::UpToDate) => Ok((None, ours)),
            Ok(MergeOutcome::FastForward(tip)) => Ok((Some(LocalChange::FastForwarded), tip)),
            Ok(MergeOutcome::Merged(tip)) => Ok((Some(LocalChange::Merged), tip)),
            Err(MergeError::Store(e)) => Err(e.into()),
            Err(e @ MergeError::Unrelated(_)) => Err(OpsError::Usage(e.to_string())),
        },
        (Some(ours), None) => Ok((None, ours)),
        (None, None) => Err(StoreError::NotFound(goal.clone()).into()),
    }
}

/// Push `pushes` in one atomic push, each leased on its fetched tip, after checking each is a creation
/// or a fast-forward; then move the remote-tracking refs to what was pushed.
fn push_goals(
    ctx: &Context,
    dir: &Path,
    remote: &str,
    pushes: &Pushes,
) -> Result<Vec<(GoalId, ObjectId, RefOutcome)>, PushError> {
    let mut specs = Vec::with_capacity(pushes.len());
    for (id, tip, fetched) in pushes {
        if let Some(theirs) = fetched {
            ensure_descends(ctx, remote, id, *tip, *theirs)?;
        }
        let spec = PushSpec {
            commit: tip.to_string(),
            dst: GoalRef::Local(id.clone()).ref_name(),
        };
        specs.push((spec, fetched.map(|t| t.to_string())));
    }
    let report = push_leased(dir, remote, &specs)?;
    let mut out = Vec::with_capacity(pushes.len());
    for ((id, tip, fetched), (_, outcome)) in pushes.iter().zip(report.refs) {
        let tracking = GoalRef::Remote {
            remote: remote.to_owned(),
            id: id.clone(),
        };
        if let Err(e) = ctx.store.move_ref(&tracking, *fetched, *tip, "sync: pushed") {
            tracing::debug!("not updating {tracking} after the push: {e}");
        }
        out.push((id.clone(), *tip, outcome));
    }
    Ok(out)
}

/// Refuse to push `tip` over `theirs` unless it contains it (by construction it always does).
fn ensure_descends(
    ctx: &Context,
    remote: &str,
    id: &GoalId,
    tip: ObjectId,
    theirs: ObjectId,
) -> Result<(), PushError> {
    if ctx.store.goal_contains(tip, theirs).unwrap_or(false) {
        return Ok(());
    }
    Err(PushError::NotFastForward {
        remote: remote.to_owned(),
        dst: GoalRef::Local(id.clone()).ref_name(),
        remote_sha: theirs.to_string(),
        local_sha: tip.to_string(),
        why: "the local goal does not contain the fetched one".to_owned(),
    })
}

/// Whether a failed push is worth another round: the remote moved (a lease or fast-forward check
/// failed, a ref was locked by a concurrent push), not a refusal like a hook or a permission.
fn retryable(error: &PushError) -> bool {
    const MOVED: [&str; 9] = [
        "stale info",
        "fetch first",
        "non-fast-forward",
        "atomic push failed",
        "atomic transaction failed",
        "cannot lock ref",
        "failed to update ref",
        "incorrect old value",
        "failed to lock",
    ];
    match error {
        PushError::Rejected { rejected, .. } => rejected
            .iter()
            .all(|r| MOVED.iter().any(|m| r.reason.contains(m))),
        PushError::NotFastForward { .. } => false,
        PushError::Failed { message, .. } => MOVED.iter().any(|m| message.contains(m)),
        PushError::Spawn(_) | PushError::Remote { .. } => false,
    }
}

/// The more telling of two changes seen over several rounds.
fn strongest(a: LocalChange, b: LocalChange) -> LocalChange {
    let rank = |c: LocalChange| match c {
        LocalChange::FastForwarded => 0,
        LocalChange::Created => 1,
        LocalChange::Merged => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// The change record of `id`, created on first use, its tip and subject refreshed to `tip`.
fn entry<'a>(
    ctx: &Context,
    changes: &'a mut BTreeMap<GoalId, GoalSync>,
    id: &GoalId,
    tip: ObjectId,
) -> &'a mut GoalSync {
    let (status, title) = ctx
        .store
        .commit_message(tip)
        .map(|(m, _)| (m.status, m.title))
        .unwrap_or_default();
    let e = changes.entry(id.clone()).or_insert_with(|| GoalSync {
        id: id.clone(),
        local: None,
        pushed: None,
        tip,
        status: None,
        title: String::new(),
    });
    e.tip = tip;
    e.status = status;
    e.title = title;
    e
}
