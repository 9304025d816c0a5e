//! `git omk goal release [GOAL]`: free the lease of a goal whose controller is gone (DESIGN §8), so
//! another machine can take the goal over without waiting for the lease to expire. Decided by
//! `model::release` on the current tip, recorded as a decision and `controller_stopped`.

use gix::ObjectId;

use super::{Context, OpsError};
use crate::model::lease::Lease;
use crate::model::release::{Release, release as decide};
use crate::process;
use crate::store::GoalRef;

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
    let host = ctx.actor.host.as_str();
    let done = ctx.transaction(&goal).commit_blocking(|draft| {
        let alive = draft
            .snapshot()
            .goal
            .lease()
            .as_ref()
            .is_some_and(|l| l.host == host && process::pid_alive(l.pid));
        match decide(draft.snapshot(), host, alive, ctx.clock.now())? {
            Release::NotHeld => Ok(None),
            Release::Free { lease, events } => {
                draft.record_all(events);
                Ok(Some(lease))
            }
        }
    })?;
    Ok(Released {
        goal,
        commit: done.recorded().then_some(done.tip),
        lease: done.value,
    })
}
