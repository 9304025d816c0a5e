//! How delivery events change the goal: the pull request, its merge, a merge a human must do, a failed
//! step. Part of `Snapshot::apply` (the only place goal status changes). Pure.

use super::Snapshot;
use crate::model::delivery::record::{
    AwaitingHuman, DeliveryFailed, MergeAwaitingHuman, MergeDecisionRecorded, MergeRecorded, PrOpened,
};
use crate::model::goal::{PullRequestRef, SlicePr};
use crate::model::ids::TaskId;
use crate::model::proof::delivery::delivery_record;
use crate::model::status::{GoalStatus, Phase};

impl Snapshot {
    pub(super) fn on_pr_opened(&mut self, pr: &PrOpened) {
        if let Some(task) = &pr.task {
            self.on_slice_pr(task, pr);
            return;
        }
        let d = &mut self.goal.delivery;
        d.branch = Some(pr.head.clone());
        d.pr = Some(PullRequestRef {
            number: pr.number,
            url: pr.url.clone(),
        });
        d.pr_head = Some(pr.head_sha.clone());
        d.pr_base = Some(pr.base.clone());
        if pr.proof_commit.is_some() {
            d.pr_proof_commit = pr.proof_commit.clone();
        }
        d.problem = None;
        self.goal.phase = self.goal.phase.max(Phase::Delivery);
    }

    /// A slice PR is recorded once per task and follows what later `pr_opened` events say of it.
    fn on_slice_pr(&mut self, task: &TaskId, pr: &PrOpened) {
        let slice = SlicePr {
            task: task.clone(),
            number: pr.number,
            url: pr.url.clone(),
            head: pr.head.clone(),
            head_sha: pr.head_sha.clone(),
            base: pr.base.clone(),
            proof_commit: pr.proof_commit.clone(),
            merged: pr.merged,
        };
        let slices = &mut self.goal.delivery.slices;
        match slices.iter_mut().find(|s| s.task == *task) {
            Some(known) => *known = slice,
            None => slices.push(slice),
        }
    }

    /// A merge ends a wait for a human: the goal goes back to the status it had before.
    pub(super) fn on_merge_recorded(&mut self, merge: &MergeRecorded) {
        let d = &mut self.goal.delivery;
        d.merged = Some(merge.clone());
        d.merge_decisions
            .push(MergeDecisionRecorded::Merged(merge.clone()));
        d.problem = None;
        if let Some(waiting) = d.awaiting_human.take()
            && self.goal.status == GoalStatus::BlockedOnHuman
        {
            self.goal.status = waiting.status_before;
        }
    }

    /// Waiting for a human to merge blocks the goal (not a cancelled one), remembering the status it
    /// had before the first wait.
    pub(super) fn on_merge_awaiting_human(&mut self, waiting: &MergeAwaitingHuman) {
        if self.goal.status == GoalStatus::Cancelled {
            return;
        }
        let d = &mut self.goal.delivery;
        let status_before = match &d.awaiting_human {
            Some(before) => before.status_before,
            None => self.goal.status,
        };
        d.merge_decisions
            .push(MergeDecisionRecorded::AwaitingHuman(waiting.clone()));
        d.awaiting_human = Some(AwaitingHuman {
            number: waiting.number,
            command: waiting.command.clone(),
            status_before,
        });
        self.goal.status = GoalStatus::BlockedOnHuman;
    }

    /// The recorded proof's delivery section follows the goal's delivery state (the PRs, the feedback
    /// addressed, the merge decisions), so every goal commit after a delivery event carries it.
    pub(super) fn refresh_proof_delivery(&mut self) {
        if self.proof.is_none() {
            return;
        }
        let record = delivery_record(self);
        if let Some(proof) = self.proof.as_mut() {
            proof.delivery = record;
        }
    }

    pub(super) fn on_delivery_failed(&mut self, failure: &DeliveryFailed) {
        self.goal.delivery.problem = Some(failure.clone());
    }
}
