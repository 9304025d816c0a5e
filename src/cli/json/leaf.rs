//! The small named values of the JSON output: a goal's status, phase and kind, a task's kind and status,
//! a delivery and a merge policy, a refspec's kind, what sync did to a local copy, what `ci install` did to a file and
//! a check run's conclusion. Each is its own enum with its own spelling, mapped from the model's variant by name
//! (no wildcard), so a new or renamed variant in the model does not compile until it is named here.
//! Must not serialise a model type.

use serde::Serialize;

use crate::model::ci::{Conclusion, FileAction};
use crate::model::options::{DeliveryPolicy, MergePolicy};
use crate::model::sharing::RefspecKind;
use crate::model::status::{GoalKind, GoalStatus, Phase};
use crate::model::task::{TaskKind, TaskStatus};
use crate::ops::sync::LocalChange;

/// Where a goal stands.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalStatusView {
    /// Planned, not executing.
    Planned,
    /// A controller drives it.
    Running,
    /// Paused by a human.
    Paused,
    /// The proof says ready.
    Ready,
    /// Finished, not ready.
    NotReady,
    /// Needs a human.
    BlockedOnHuman,
    /// A budget is exhausted.
    NeedsMoreBudget,
    /// Infrastructure failure.
    Failed,
    /// Cancelled by a human.
    Cancelled,
}

impl GoalStatusView {
    /// Of the model's status.
    pub fn of(s: GoalStatus) -> GoalStatusView {
        match s {
            GoalStatus::Planned => GoalStatusView::Planned,
            GoalStatus::Running => GoalStatusView::Running,
            GoalStatus::Paused => GoalStatusView::Paused,
            GoalStatus::Ready => GoalStatusView::Ready,
            GoalStatus::NotReady => GoalStatusView::NotReady,
            GoalStatus::BlockedOnHuman => GoalStatusView::BlockedOnHuman,
            GoalStatus::NeedsMoreBudget => GoalStatusView::NeedsMoreBudget,
            GoalStatus::Failed => GoalStatusView::Failed,
            GoalStatus::Cancelled => GoalStatusView::Cancelled,
        }
    }
}

/// Which phase a goal is in.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseView {
    /// Reading and classifying the goal text.
    Intake,
    /// Planning.
    Planning,
    /// Gates on the base commit.
    Baseline,
    /// Agents working on tasks.
    Execution,
    /// Merging task branches.
    Integration,
    /// Gates on the integrated tree.
    Verification,
    /// Review.
    Review,
    /// Computing the proof.
    Proof,
    /// Pull request and merge.
    Delivery,
}

impl PhaseView {
    /// Of the model's phase.
    pub fn of(p: Phase) -> PhaseView {
        match p {
            Phase::Intake => PhaseView::Intake,
            Phase::Planning => PhaseView::Planning,
            Phase::Baseline => PhaseView::Baseline,
            Phase::Execution => PhaseView::Execution,
            Phase::Integration => PhaseView::Integration,
            Phase::Verification => PhaseView::Verification,
            Phase::Review => PhaseView::Review,
            Phase::Proof => PhaseView::Proof,
            Phase::Delivery => PhaseView::Delivery,
        }
    }
}

/// What kind of goal it is.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalKindView {
    /// New behaviour.
    Feature,
    /// Wrong behaviour made right.
    Bugfix,
    /// Structure changes, behaviour stays.
    Refactor,
    /// Faster or smaller, measured.
    Performance,
    /// Documentation.
    Docs,
    /// Reimplementation or port.
    Rewrite,
    /// Findings, not code changes.
    Audit,
    /// Parts of different kinds.
    Mixed,
}

impl GoalKindView {
    /// Of the model's kind.
    pub fn of(k: GoalKind) -> GoalKindView {
        match k {
            GoalKind::Feature => GoalKindView::Feature,
            GoalKind::Bugfix => GoalKindView::Bugfix,
            GoalKind::Refactor => GoalKindView::Refactor,
            GoalKind::Performance => GoalKindView::Performance,
            GoalKind::Docs => GoalKindView::Docs,
            GoalKind::Rewrite => GoalKindView::Rewrite,
            GoalKind::Audit => GoalKindView::Audit,
            GoalKind::Mixed => GoalKindView::Mixed,
        }
    }
}

/// What a task is for (kebab-case, as `tasks.json` spells it).
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKindView {
    /// Build new behaviour.
    Implement,
    /// Fix wrong behaviour.
    Fix,
    /// Write or repair tests.
    Test,
    /// Restructure.
    Refactor,
    /// Documentation.
    Docs,
    /// Investigate and report.
    Review,
    /// Merge results.
    Integrate,
    /// Resolve a merge conflict.
    ResolveConflict,
}

impl TaskKindView {
    /// Of the model's task kind.
    pub fn of(k: TaskKind) -> TaskKindView {
        match k {
            TaskKind::Implement => TaskKindView::Implement,
            TaskKind::Fix => TaskKindView::Fix,
            TaskKind::Test => TaskKindView::Test,
            TaskKind::Refactor => TaskKindView::Refactor,
            TaskKind::Docs => TaskKindView::Docs,
            TaskKind::Review => TaskKindView::Review,
            TaskKind::Integrate => TaskKindView::Integrate,
            TaskKind::ResolveConflict => TaskKindView::ResolveConflict,
        }
    }
}

/// Where a task stands.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatusView {
    /// Not started.
    Pending,
    /// An agent works on it.
    Running,
    /// Finished with passing task gates.
    Done,
    /// Out of attempts.
    Failed,
    /// Waiting on something outside the controller.
    Blocked,
    /// Cancelled with its goal.
    Cancelled,
}

impl TaskStatusView {
    /// Of the model's task status.
    pub fn of(s: TaskStatus) -> TaskStatusView {
        match s {
            TaskStatus::Pending => TaskStatusView::Pending,
            TaskStatus::Running => TaskStatusView::Running,
            TaskStatus::Done => TaskStatusView::Done,
            TaskStatus::Failed => TaskStatusView::Failed,
            TaskStatus::Blocked => TaskStatusView::Blocked,
            TaskStatus::Cancelled => TaskStatusView::Cancelled,
        }
    }
}

/// How a finished goal is delivered.
#[derive(Clone, Copy, Serialize)]
pub enum DeliveryPolicyView {
    /// The integration branch stays local.
    #[serde(rename = "local")]
    Local,
    /// Push and open a draft PR.
    #[serde(rename = "draft-pr")]
    DraftPr,
    /// Push and open a PR.
    #[serde(rename = "auto-pr")]
    AutoPr,
}

impl DeliveryPolicyView {
    /// Of the model's policy.
    pub fn of(p: DeliveryPolicy) -> DeliveryPolicyView {
        match p {
            DeliveryPolicy::Local => DeliveryPolicyView::Local,
            DeliveryPolicy::DraftPr => DeliveryPolicyView::DraftPr,
            DeliveryPolicy::AutoPr => DeliveryPolicyView::AutoPr,
        }
    }
}

/// When a goal's PR may be merged.
#[derive(Clone, Copy, Serialize)]
pub enum MergePolicyView {
    /// Never merge.
    #[serde(rename = "disabled")]
    Disabled,
    /// A human merges.
    #[serde(rename = "manual")]
    Manual,
    /// Merge when the proof is ready and checks pass.
    #[serde(rename = "gated")]
    Gated,
}

impl MergePolicyView {
    /// Of the model's policy.
    pub fn of(p: MergePolicy) -> MergePolicyView {
        match p {
            MergePolicy::Disabled => MergePolicyView::Disabled,
            MergePolicy::Manual => MergePolicyView::Manual,
            MergePolicy::Gated => MergePolicyView::Gated,
        }
    }
}

/// Which multi-valued key of a remote a refspec belongs to.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefspecKindView {
    /// `remote.<name>.fetch`.
    Fetch,
    /// `remote.<name>.push`.
    Push,
}

impl RefspecKindView {
    /// Of the model's kind.
    pub fn of(k: RefspecKind) -> RefspecKindView {
        match k {
            RefspecKind::Fetch => RefspecKindView::Fetch,
            RefspecKind::Push => RefspecKindView::Push,
        }
    }
}

/// What sync did to the local copy of a goal.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalChangeView {
    /// The local ref was created.
    Created,
    /// The local copy was fast-forwarded.
    FastForwarded,
    /// A merge commit was written.
    Merged,
}

impl LocalChangeView {
    /// Of sync's report.
    pub fn of(c: LocalChange) -> LocalChangeView {
        match c {
            LocalChange::Created => LocalChangeView::Created,
            LocalChange::FastForwarded => LocalChangeView::FastForwarded,
            LocalChange::Merged => LocalChangeView::Merged,
        }
    }
}

/// What `ci install` does with one file.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileActionView {
    /// Write it.
    Create,
    /// It already says exactly this.
    Unchanged,
    /// Overwrite it (`--force`).
    Replace,
    /// Leave it, write nothing.
    Refuse,
}

impl FileActionView {
    /// Of the model's action.
    pub fn of(a: FileAction) -> FileActionView {
        match a {
            FileAction::Create => FileActionView::Create,
            FileAction::Unchanged => FileActionView::Unchanged,
            FileAction::Replace => FileActionView::Replace,
            FileAction::Refuse => FileActionView::Refuse,
        }
    }
}

/// A check run's conclusion.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConclusionView {
    /// The proof holds on the head.
    Success,
    /// It does not.
    Failure,
}

impl ConclusionView {
    /// Of the model's conclusion.
    pub fn of(c: Conclusion) -> ConclusionView {
        match c {
            Conclusion::Success => ConclusionView::Success,
            Conclusion::Failure => ConclusionView::Failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same<M: Serialize, V: Serialize>(model: &[M], view: impl Fn(&M) -> V) {
        for m in model {
            let expected = serde_json::to_string(m).unwrap();
            assert_eq!(serde_json::to_string(&view(m)).unwrap(), expected);
        }
    }

    /// Every variant of every small value is spelled as the model spelled it.
    #[test]
    fn every_named_value_prints_as_the_model_did() {
        same(&GoalStatus::ALL, |s| GoalStatusView::of(*s));
        same(&Phase::ALL, |p| PhaseView::of(*p));
        same(&GoalKind::ALL, |k| GoalKindView::of(*k));
        let kinds = [
            TaskKind::Implement,
            TaskKind::Fix,
            TaskKind::Test,
            TaskKind::Refactor,
            TaskKind::Docs,
            TaskKind::Review,
            TaskKind::Integrate,
            TaskKind::ResolveConflict,
        ];
        same(&kinds, |k| TaskKindView::of(*k));
        let statuses = [
            TaskStatus::Pending,
            TaskStatus::Running,
            TaskStatus::Done,
            TaskStatus::Failed,
            TaskStatus::Blocked,
            TaskStatus::Cancelled,
        ];
        same(&statuses, |s| TaskStatusView::of(*s));
        let policies = [MergePolicy::Disabled, MergePolicy::Manual, MergePolicy::Gated];
        same(&policies, |p| MergePolicyView::of(*p));
        let deliveries = [
            DeliveryPolicy::Local,
            DeliveryPolicy::DraftPr,
            DeliveryPolicy::AutoPr,
        ];
        same(&deliveries, |p| DeliveryPolicyView::of(*p));
        same(&[RefspecKind::Fetch, RefspecKind::Push], |k| {
            RefspecKindView::of(*k)
        });
        let changes = [
            LocalChange::Created,
            LocalChange::FastForwarded,
            LocalChange::Merged,
        ];
        same(&changes, |c| LocalChangeView::of(*c));
        let actions = [
            FileAction::Create,
            FileAction::Unchanged,
            FileAction::Replace,
            FileAction::Refuse,
        ];
        same(&actions, |a| FileActionView::of(*a));
        same(&[Conclusion::Success, Conclusion::Failure], |c| {
            ConclusionView::of(*c)
        });
    }
}
