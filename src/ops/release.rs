//! `git omk goal release [GOAL]`: free the lease of a goal whose controller is gone (DESIGN §8), so
//! another machine can take the goal over without waiting for the lease to expire. Decided by
//! `model::release` on the current tip, recorded as a decision and `controller_stopped`.

use gix::ObjectId;

use super::{Context, OpsError};
use crate::model::event::Event;
use crate::model::lease::Lease;
use crate::model::release::{Release, release as decide};
use crate::process;
use crate::store::GoalRef;
use crate::store::write::Record;

/// The result of `goal release`.
#[derive(Clone, Debug)]
pub struct Released {
    /// The goal.
    pub goal: GoalRef,
    /// The lease released; `None` when no lease was recorded.
    pub lease: Option<Lease>,
    /// The commit that recorded the release.
    pub commit: Option<ObjectId>,
}

/// Release the lease of the goal `query` names.
pub fn release(ctx: &Context, query: Option<&str>) -> Result<Released, OpsError> {
    let goal = ctx.resolve_local(query)?;
    let done = ctx.retrying(goal.id().as_str(), || {
        let loaded = ctx.load(&goal)?;
        let host = ctx.actor.host.as_str();
        let alive = loaded
            .snapshot
            .goal
            .lease
            .as_ref()
            .is_some_and(|l| l.host == host && process::pid_alive(l.pid));
        let (lease, bodies) = match decide(&loaded.snapshot, host, alive, ctx.clock.now())? {
            Release::NotHeld => {
                return Ok(Released {
                    goal: goal.clone(),
                    lease: None,
                    commit: None,
                });
            }
            Release::Free { lease, events } => (lease, events),
        };
        let events: Vec<Event> = bodies.into_iter().map(|b| ctx.event(b)).collect();
        let mut snapshot = loaded.snapshot;
        for event in &events {
            snapshot.apply(event);
        }
        let commit = ctx.store.record(Record {
            goal: goal.clone(),
            expected: Some(loaded.tip),
            snapshot: &snapshot,
            events: &events,
            attachments: Vec::new(),
            proves: Vec::new(),
            merge_parent: None,
            at: ctx.clock.now(),
        })?;
        Ok(Released {
            goal: goal.clone(),
            lease: Some(lease),
            commit: Some(commit),
        })
    })?;
    ctx.maintain();
    Ok(done)
}
