//! `pause`, `resume`, `cancel`, `budget-add`, `accept`, `reject`: decide on the current tip, record one
//! commit, retry on a lost race.

use gix::ObjectId;

use super::{Context, OpsError};
use crate::model::control::{ControlRequest, decide};
use crate::model::event::{Event, EventBody};
use crate::model::proof::after_verdict;
use crate::model::snapshot::Snapshot;
use crate::store::GoalRef;
use crate::store::write::Record;

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
    let done = ctx.retrying(goal.id().as_str(), || {
        let loaded = ctx.load(&goal)?;
        let bodies = decide(&loaded.snapshot, request.clone())?;
        let mut events: Vec<Event> = bodies.into_iter().map(|b| ctx.event(b)).collect();
        let mut snapshot = loaded.snapshot;
        for event in &events {
            snapshot.apply(event);
        }
        let verdict = matches!(
            request,
            ControlRequest::Accept { .. } | ControlRequest::Reject { .. }
        );
        if let Some(proof) = after_verdict(&snapshot).filter(|_| verdict) {
            let event = ctx.event(EventBody::ProofRecorded(Box::new(proof)));
            snapshot.apply(&event);
            events.push(event);
        }
        let record = Record {
            goal: goal.clone(),
            expected: Some(loaded.tip),
            snapshot: &snapshot,
            events: &events,
            attachments: Vec::new(),
            proves: Vec::new(),
            merge_parent: None,
            at: ctx.clock.now(),
        };
        let commit = ctx.store.record(record)?;
        Ok(Controlled {
            goal: goal.clone(),
            commit,
            snapshot,
            events,
        })
    })?;
    ctx.maintain();
    Ok(done)
}
