//! Merging two tips of one goal: fast-forward when one contains the other, else a merge commit whose
//! snapshot is derived from the union of both sides' events (DESIGN §8).
//!
//! The union and its order are decided by `model::snapshot::merge`; this module finds the merge base,
//! gathers each side's events and writes the commit.

use chrono::{DateTime, Utc};
use gix::ObjectId;

use super::write::Record;
use super::{GixContext, GoalRef, Store, StoreError};
use crate::model::snapshot::merge_logs;

/// What a merge did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeOutcome {
    /// `theirs` was already contained in `ours`.
    UpToDate,
    /// `ours` was contained in `theirs`; the ref now points at `theirs`.
    FastForward(ObjectId),
    /// A merge commit was written.
    Merged(ObjectId),
}

/// Why two tips cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The two histories share no commit, so they are not the same goal.
    #[error("the two histories of goal {0} share no commit; refusing to merge unrelated histories")]
    Unrelated(GoalRef),
}

impl Store {
    /// git's best common ancestor of two commits, over all parents (for two tips of a goal use
    /// [`Store::goal_merge_base`] and [`Store::goal_contains`], which follow goal parents only).
    pub fn merge_base(&self, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>, StoreError> {
        match self.repo.merge_base(a, b) {
            Ok(id) => Ok(id.map(gix::Id::detach)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e).ctx(|| format!("finding the merge base of {a} and {b}")),
        }
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors, over all parents (in-process
    /// `git merge-base --is-ancestor`).
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool, StoreError> {
        if ancestor == descendant {
            return Ok(true);
        }
        Ok(self.merge_base(ancestor, descendant)? == Some(ancestor))
    }

    /// Merge `theirs` into the local goal ref currently at `ours` (compare-and-swap on `ours`).
    pub fn merge_into(
        &self,
        goal: &GoalRef,
        ours: ObjectId,
        theirs: ObjectId,
        at: DateTime<Utc>,
    ) -> Result<MergeOutcome, MergeError> {
        if ours == theirs {
            return Ok(MergeOutcome::UpToDate);
        }
        let base = self
            .goal_merge_base(ours, theirs)?
            .ok_or_else(|| MergeError::Unrelated(goal.clone()))?;
        if base == theirs {
            return Ok(MergeOutcome::UpToDate);
        }
        if base == ours {
            self.move_ref(goal, Some(ours), theirs, "fast-forward")?;
            return Ok(MergeOutcome::FastForward(theirs));
        }
        let base_snapshot = self.snapshot_at(goal, base)?;
        let our_events = self.exclusive_events(goal, ours, Some(base))?;
        let their_events = self.exclusive_events(goal, theirs, Some(base))?;
        let snapshot = merge_logs(&base_snapshot, &our_events, &their_events);
        let record = Record {
            goal: goal.clone(),
            expected: Some(ours),
            snapshot: &snapshot,
            events: &[],
            attachments: Vec::new(),
            proves: Vec::new(),
            merge_parent: Some(theirs),
            at,
        };
        Ok(MergeOutcome::Merged(self.record(record)?))
    }
}
