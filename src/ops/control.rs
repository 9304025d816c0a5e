//! `pause`, `resume`, `cancel`, `budget-add`, `accept`, `reject`: one goal transaction each, decided by
//! `model::control::decide` (again on the new tip after a lost race).

use gix::ObjectId;

use super::{Context, OpsError};
use crate::model::control::{ControlRequest, decide};
use crate::model::event::{Event, EventBody};
use crate::model::proof::after_verdict;
use crate::model::snapshot::Snapshot;
use crate::store::GoalRef;

/// A recorded control request.
#[derive(Clone, Debug)]
pub struct Controlled {
    /// The goal.
    pub goal: GoalRef,
    /// The commit that recorded it.
    pub commit: ObjectId,
    /// The state after it.
    pub snapshot: Snapshot,
    /// The events recorded.
    pub events: Vec<Event>,
}

/// Apply `request` to the goal `query` names.
pub fn control(ctx: &Context, query: Option<&str>, request: ControlRequest) -> Result<Controlled, OpsError> {
    let goal = ctx.resolve_local(query)?;
    let verdict = matches!(
        request,
        ControlRequest::Accept { .. } | ControlRequest::Reject { .. }
    );
    let done = ctx.transaction(&goal).commit_blocking(|draft| {
        draft.record_all(decide(draft.snapshot(), request.clone())?);
        if let Some(proof) = after_verdict(draft.snapshot()).filter(|_| verdict) {
            draft.record(EventBody::ProofRecorded(Box::new(proof)));
        }
        Ok(())
    })?;
    Ok(Controlled {
        goal,
        commit: done.tip,
        snapshot: done.snapshot,
        events: done.events,
    })
}

/// Archive (`archive` true) or unarchive the goals `queries` name: one transaction each, but only once
/// every goal resolved and the request is allowed on each, so bad input records nothing at all.
pub fn archive(ctx: &Context, queries: &[String], archive: bool) -> Result<Vec<Controlled>, OpsError> {
    let request = if archive {
        ControlRequest::Archive
    } else {
        ControlRequest::Unarchive
    };
    let mut goals: Vec<GoalRef> = Vec::new();
    for query in queries {
        let goal = ctx.resolve_local(Some(query))?;
        decide(&ctx.load(&goal)?.snapshot, request.clone())?;
        if !goals.contains(&goal) {
            goals.push(goal);
        }
    }
    goals
        .iter()
        .map(|goal| control(ctx, Some(goal.id().as_str()), request.clone()))
        .collect()
}
