//! The controller's copy of its goal and the one way it records a step: through the goal transaction,
//! starting from the state it knows, so a step decided on a stale copy is decided again on the tip
//! another writer left (a pause, a cancel, a budget added), never re-applied blindly.
//!
//! Owns the active-time bookkeeping (wall time between recorded steps, added to the usage of the next
//! one). Never acts: the driver acts and hands the facts to `record`.

use std::rc::Rc;

use gix::ObjectId;
use tokio::time::Instant;

use super::Observer;
use crate::clock::monotonic;
use crate::model::event::{EventBody, UsageDelta};
use crate::model::snapshot::Snapshot;
use crate::ops::transaction::Draft;
use crate::ops::{Context, OpsError};
use crate::store::GoalRef;

/// The goal as the controller last read or recorded it.
pub(super) struct Ledger<'o> {
    ctx: Rc<Context>,
    goal: GoalRef,
    tip: ObjectId,
    snapshot: Snapshot,
    since_record: Instant,
    carried_ms: u128,
    observer: Observer<'o>,
}

impl<'o> Ledger<'o> {
    /// The goal `goal` read at its tip.
    pub(super) fn open(ctx: Rc<Context>, goal: GoalRef, observer: Observer<'o>) -> Result<Self, OpsError> {
        let loaded = ctx.load(&goal)?;
        Ok(Ledger {
            ctx,
            goal,
            tip: loaded.tip,
            snapshot: loaded.snapshot,
            since_record: monotonic(),
            carried_ms: 0,
            observer,
        })
    }

    /// The tip the controller knows.
    pub(super) fn tip(&self) -> ObjectId {
        self.tip
    }

    /// The state at that tip.
    pub(super) fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Record one step. `decide` runs on the known state first and, after a lost race, again on the
    /// new tip; it records the step's events (or nothing, when the step no longer makes sense there).
    /// The active time since the previous step is added to whatever it records.
    pub(super) async fn record<T>(
        &mut self,
        mut decide: impl FnMut(&mut Draft<'_>) -> Result<T, OpsError>,
    ) -> Result<T, OpsError> {
        let active = self.active_time();
        let ctx = self.ctx.clone();
        let done = ctx
            .transaction(&self.goal)
            .by_controller()
            .starting_from(self.tip, self.snapshot.clone())
            .commit(|draft| {
                let value = decide(draft)?;
                if let Some(delta) = active.filter(|_| !draft.is_empty()) {
                    draft.record(EventBody::UsageAdded(delta));
                }
                Ok(value)
            })
            .await?;
        let recorded = done.recorded();
        if !recorded && let Some(delta) = active {
            self.carried_ms += u128::from(delta.active_secs) * 1000;
        }
        self.tip = done.tip;
        self.snapshot = done.snapshot;
        if recorded {
            (self.observer)(&self.snapshot, &done.events);
        }
        Ok(done.value)
    }

    /// Read the tip again (another process recorded something, or the controller wrote through another
    /// use case such as the clean-up).
    pub(super) fn reload(&mut self) -> Result<(), OpsError> {
        let loaded = self.ctx.load(&self.goal)?;
        self.tip = loaded.tip;
        self.snapshot = loaded.snapshot;
        Ok(())
    }

    /// Reload when the goal ref moved since the controller last looked.
    pub(super) fn refresh(&mut self) -> Result<(), OpsError> {
        if self.ctx.store.tip(&self.goal)? != Some(self.tip) {
            self.reload()?;
        }
        Ok(())
    }

    /// Seconds of active time not recorded yet.
    pub(super) fn pending_secs(&self) -> u64 {
        let ms = self.since_record.elapsed().as_millis() + self.carried_ms;
        u64::try_from(ms / 1000).unwrap_or(u64::MAX)
    }

    /// Active wall time since the previous record, in whole seconds (the remainder carries over).
    fn active_time(&mut self) -> Option<UsageDelta> {
        let elapsed = self.since_record.elapsed().as_millis() + self.carried_ms;
        self.since_record = monotonic();
        self.carried_ms = elapsed % 1000;
        let secs = u64::try_from(elapsed / 1000).unwrap_or(u64::MAX);
        (secs > 0).then(|| UsageDelta {
            active_secs: secs,
            ..UsageDelta::default()
        })
    }
}
