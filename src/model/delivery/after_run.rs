//! What a driven goal delivers once it has concluded (DESIGN §1 `run --until-ready`, §9): the pull
//! request its `--policy` asks for and the merge its `--merge-policy` allows. Pure.
//!
//! A goal is delivered only with a recorded proof of a result that differs from its base. Under
//! `draft-pr` the PR is a draft; under `auto-pr` it is a draft unless the goal is `ready`, so a
//! `not_ready` proof is shown for review but never presented as mergeable. A merge is only attempted
//! for a `ready` goal whose merge policy is not `disabled` (the merge gate decides the rest).

use crate::model::options::{DeliveryPolicy, MergePolicy};
use crate::model::snapshot::Snapshot;
use crate::model::status::GoalStatus;

/// What to deliver after a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AfterRun {
    /// Open or update the PR; `Some(true)`: as a draft.
    pub open_pr: Option<bool>,
    /// Then run the merge step of the goal's merge policy.
    pub merge: bool,
}

/// Decide what a concluded goal delivers.
pub fn after_run(snapshot: &Snapshot) -> AfterRun {
    let nothing = AfterRun {
        open_pr: None,
        merge: false,
    };
    let goal = &snapshot.goal;
    let ready = goal.status == GoalStatus::Ready;
    let concluded = ready || goal.status == GoalStatus::NotReady;
    let has_result = snapshot
        .proof
        .as_ref()
        .and_then(|p| p.result.as_ref())
        .is_some_and(|r| r.commit != goal.base.commit.to_string());
    if goal.options.delivery == DeliveryPolicy::Local || !concluded || !has_result {
        return nothing;
    }
    let draft = goal.options.delivery == DeliveryPolicy::DraftPr || !ready;
    AfterRun {
        open_pr: Some(draft),
        merge: ready && goal.options.merge != MergePolicy::Disabled,
    }
}
