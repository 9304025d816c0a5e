//! The delivery part of `goal show -f json` (and of `goal run --until-ready --json`): the goal's pull
//! request, slice PRs, merges and their checks, a merge waiting for a human, the last delivery failure,
//! and the review feedback read from the PR with the replies posted.
//!
//! Each is its own view, built field by field from the model's delivery state, so renaming a field of
//! the model does not rename a key here. Must not serialise a model type.

use serde::Serialize;

use super::leaf::{GoalStatusView, MergePolicyView};
use crate::model::delivery::address::{FeedbackState, ReplyPosted};
use crate::model::delivery::merge::{CheckState, CheckView};
use crate::model::delivery::record::{
    AwaitingHuman, DeliveryFailed, DeliveryStage, MergeAwaitingHuman, MergeDecisionRecorded, MergeRecorded,
};
use crate::model::delivery::reviews::{Ask, Feedback, FeedbackKind};
use crate::model::goal::{Delivery, PullRequestRef, SlicePr};
use crate::model::ids::TaskId;

/// Where a goal was delivered (`goal.delivery`).
#[derive(Serialize)]
pub struct DeliveryView<'a> {
    /// The integration branch, once it exists.
    pub branch: Option<&'a str>,
    /// The pull request, once opened.
    pub pr: Option<PullRequestView<'a>>,
    /// The commit the PR head was last pushed at.
    pub pr_head: Option<&'a str>,
    /// The PR's base branch.
    pub pr_base: Option<&'a str>,
    /// The proof commit the PR's body links to; absent when none is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr_proof_commit: Option<&'a str>,
    /// The merge, once the PR is merged.
    pub merged: Option<MergeView<'a>>,
    /// Slice PRs (`--slice-prs`); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<SlicePrView<'a>>,
    /// Every merge decision, oldest first; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub merge_decisions: Vec<MergeDecisionView<'a>>,
    /// A `manual` merge waiting for a human.
    pub awaiting_human: Option<AwaitingHumanView<'a>>,
    /// The last delivery failure, until a later step succeeds.
    pub problem: Option<DeliveryProblemView<'a>>,
    /// Review rounds recorded from the PR; absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub review_rounds: u32,
    /// Feedback read from the PR, with the task addressing it and the reply; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<FeedbackView<'a>>,
}

impl<'a> DeliveryView<'a> {
    /// Of the model's delivery state.
    pub fn of(d: &'a Delivery) -> DeliveryView<'a> {
        DeliveryView {
            branch: d.branch.as_deref(),
            pr: d.pr.as_ref().map(PullRequestView::of),
            pr_head: d.pr_head.as_deref(),
            pr_base: d.pr_base.as_deref(),
            pr_proof_commit: d.pr_proof_commit.as_deref(),
            merged: d.merged.as_ref().map(MergeView::of),
            slices: d.slices.iter().map(SlicePrView::of).collect(),
            merge_decisions: d.merge_decisions.iter().map(MergeDecisionView::of).collect(),
            awaiting_human: d.awaiting_human.as_ref().map(AwaitingHumanView::of),
            problem: d.problem.as_ref().map(DeliveryProblemView::of),
            review_rounds: d.review_rounds,
            feedback: d.feedback.iter().map(FeedbackView::of).collect(),
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A pull request: `{number, url}`.
#[derive(Serialize)]
pub struct PullRequestView<'a> {
    /// Its number.
    pub number: u64,
    /// Its web address.
    pub url: &'a str,
}

impl<'a> PullRequestView<'a> {
    /// Of the model's PR.
    pub fn of(pr: &'a PullRequestRef) -> PullRequestView<'a> {
        PullRequestView {
            number: pr.number,
            url: &pr.url,
        }
    }
}

/// A slice PR: one task branch into the goal's integration branch.
#[derive(Serialize)]
pub struct SlicePrView<'a> {
    /// The task.
    pub task: &'a TaskId,
    /// PR number.
    pub number: u64,
    /// Its web address.
    pub url: &'a str,
    /// The task branch.
    pub head: &'a str,
    /// The task commit it was pushed at.
    pub head_sha: &'a str,
    /// The integration branch.
    pub base: &'a str,
    /// The proof commit its body links to.
    pub proof_commit: Option<&'a str>,
    /// GitHub reported it merged.
    pub merged: bool,
}

impl<'a> SlicePrView<'a> {
    /// Of the model's slice PR.
    pub fn of(s: &'a SlicePr) -> SlicePrView<'a> {
        SlicePrView {
            task: &s.task,
            number: s.number,
            url: &s.url,
            head: &s.head,
            head_sha: &s.head_sha,
            base: &s.base,
            proof_commit: s.proof_commit.as_deref(),
            merged: s.merged,
        }
    }
}

/// A recorded merge of the goal's PR.
#[derive(Serialize)]
pub struct MergeView<'a> {
    /// PR number.
    pub number: u64,
    /// The head that was merged.
    pub head_sha: &'a str,
    /// The merge commit GitHub made, when it said.
    pub merge_commit: Option<&'a str>,
    /// `gated` when git-omk merged it, `external` when it found it merged.
    pub by: &'a str,
    /// The merge policy that decided it; absent in records older than the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<MergePolicyView>,
    /// The checks on the head before merging; absent when none (an external merge).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckStateLineView<'a>>,
}

impl<'a> MergeView<'a> {
    /// Of the model's merge record.
    pub fn of(m: &'a MergeRecorded) -> MergeView<'a> {
        MergeView {
            number: m.number,
            head_sha: &m.head_sha,
            merge_commit: m.merge_commit.as_deref(),
            by: &m.by,
            policy: m.policy.map(MergePolicyView::of),
            checks: m.checks.iter().map(CheckStateLineView::of).collect(),
        }
    }
}

/// One check on a PR head: `{name, state: {state, detail?}}`.
#[derive(Serialize)]
pub struct CheckStateLineView<'a> {
    /// The check's name.
    pub name: &'a str,
    /// Its state.
    pub state: CheckStateView<'a>,
}

impl<'a> CheckStateLineView<'a> {
    /// Of the model's check.
    pub fn of(c: &'a CheckView) -> CheckStateLineView<'a> {
        CheckStateLineView {
            name: &c.name,
            state: CheckStateView::of(&c.state),
        }
    }
}

/// How a check ended, tagged by `state`, a failure's conclusion in `detail`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum CheckStateView<'a> {
    /// Queued or running.
    Pending,
    /// Completed with success, neutral or skipped.
    Passed,
    /// Completed otherwise, with the conclusion.
    Failed(&'a str),
}

impl<'a> CheckStateView<'a> {
    /// Of the model's check state (every variant by name, no wildcard).
    pub fn of(s: &'a CheckState) -> CheckStateView<'a> {
        match s {
            CheckState::Pending => CheckStateView::Pending,
            CheckState::Passed => CheckStateView::Passed,
            CheckState::Failed(conclusion) => CheckStateView::Failed(conclusion),
        }
    }
}

/// One merge decision, tagged by `decision`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum MergeDecisionView<'a> {
    /// The PR was merged.
    Merged(MergeView<'a>),
    /// A human must merge (`manual`).
    AwaitingHuman(MergeAwaitingHumanView<'a>),
}

impl<'a> MergeDecisionView<'a> {
    /// Of the model's decision (every variant by name, no wildcard).
    pub fn of(d: &'a MergeDecisionRecorded) -> MergeDecisionView<'a> {
        match d {
            MergeDecisionRecorded::Merged(m) => MergeDecisionView::Merged(MergeView::of(m)),
            MergeDecisionRecorded::AwaitingHuman(a) => {
                MergeDecisionView::AwaitingHuman(MergeAwaitingHumanView::of(a))
            }
        }
    }
}

/// A `manual` merge decision: the PR and the command a human runs.
#[derive(Serialize)]
pub struct MergeAwaitingHumanView<'a> {
    /// PR number, when one exists.
    pub number: Option<u64>,
    /// The command to run.
    pub command: &'a str,
}

impl<'a> MergeAwaitingHumanView<'a> {
    /// Of the model's decision.
    pub fn of(m: &'a MergeAwaitingHuman) -> MergeAwaitingHumanView<'a> {
        MergeAwaitingHumanView {
            number: m.number,
            command: &m.command,
        }
    }
}

/// A `manual` merge waiting for a human, and the status the goal returns to once it is merged.
#[derive(Serialize)]
pub struct AwaitingHumanView<'a> {
    /// PR number, when one exists.
    pub number: Option<u64>,
    /// The command to run.
    pub command: &'a str,
    /// The status to return to.
    pub status_before: GoalStatusView,
}

impl<'a> AwaitingHumanView<'a> {
    /// Of the model's record.
    pub fn of(a: &'a AwaitingHuman) -> AwaitingHumanView<'a> {
        AwaitingHumanView {
            number: a.number,
            command: &a.command,
            status_before: GoalStatusView::of(a.status_before),
        }
    }
}

/// The last delivery failure: `{stage, message, next}`.
#[derive(Serialize)]
pub struct DeliveryProblemView<'a> {
    /// Which step failed.
    pub stage: DeliveryStageView,
    /// What went wrong.
    pub message: &'a str,
    /// What to do about it.
    pub next: &'a str,
}

impl<'a> DeliveryProblemView<'a> {
    /// Of the model's failure.
    pub fn of(f: &'a DeliveryFailed) -> DeliveryProblemView<'a> {
        DeliveryProblemView {
            stage: DeliveryStageView::of(f.stage),
            message: &f.message,
            next: &f.next,
        }
    }
}

/// The step of delivery that failed.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStageView {
    /// Finding the remote, the repository or the token.
    Connect,
    /// Pushing.
    Push,
    /// Opening or updating the PR.
    PullRequest,
    /// Merging.
    Merge,
}

impl DeliveryStageView {
    /// Of the model's stage (every variant by name, no wildcard).
    pub fn of(s: DeliveryStage) -> DeliveryStageView {
        match s {
            DeliveryStage::Connect => DeliveryStageView::Connect,
            DeliveryStage::Push => DeliveryStageView::Push,
            DeliveryStage::PullRequest => DeliveryStageView::PullRequest,
            DeliveryStage::Merge => DeliveryStageView::Merge,
        }
    }
}

/// One piece of PR feedback the goal recorded: where it came from, the task addressing it, the reply.
#[derive(Serialize)]
pub struct FeedbackView<'a> {
    /// The PR it came from.
    pub pr: u64,
    /// The review round that recorded it.
    pub round: u32,
    /// The feedback as read.
    pub feedback: FeedbackItemView<'a>,
    /// The fix task (`null`: a question, or a task that would not validate).
    pub task: Option<&'a TaskId>,
    /// Why no task addresses it; absent when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
    /// The reply, once posted.
    pub reply: Option<ReplyView<'a>>,
}

impl<'a> FeedbackView<'a> {
    /// Of the model's recorded feedback.
    pub fn of(f: &'a FeedbackState) -> FeedbackView<'a> {
        FeedbackView {
            pr: f.pr,
            round: f.round,
            feedback: FeedbackItemView::of(&f.item.feedback),
            task: f.item.task.as_ref(),
            note: f.item.note.as_deref(),
            reply: f.reply.as_ref().map(ReplyView::of),
        }
    }
}

/// A review, inline comment or conversation comment as read from the PR.
#[derive(Serialize)]
pub struct FeedbackItemView<'a> {
    /// Where it is.
    pub kind: FeedbackKindView,
    /// Its GitHub id.
    pub id: u64,
    /// `github:<login>`.
    pub source: &'a str,
    /// The review an inline comment belongs to; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_id: Option<u64>,
    /// The file, for inline comments.
    pub path: Option<&'a str>,
    /// The line in the file.
    pub line: Option<u32>,
    /// The position in the PR's diff, when GitHub gives no line.
    pub position: Option<u32>,
    /// The text.
    pub body: &'a str,
    /// Its web address.
    pub url: &'a str,
    /// A change or a question.
    pub ask: AskView,
}

impl<'a> FeedbackItemView<'a> {
    /// Of the model's feedback.
    pub fn of(f: &'a Feedback) -> FeedbackItemView<'a> {
        FeedbackItemView {
            kind: FeedbackKindView::of(f.kind),
            id: f.id,
            source: &f.source,
            review_id: f.review_id,
            path: f.path.as_deref(),
            line: f.line,
            position: f.position,
            body: &f.body,
            url: &f.url,
            ask: AskView::of(f.ask),
        }
    }
}

/// Where a piece of feedback is.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKindView {
    /// The text of a review that requested changes.
    Review,
    /// An inline comment on a file.
    ReviewComment,
    /// A comment in the conversation.
    Conversation,
}

impl FeedbackKindView {
    /// Of the model's kind (every variant by name, no wildcard).
    pub fn of(k: FeedbackKind) -> FeedbackKindView {
        match k {
            FeedbackKind::Review => FeedbackKindView::Review,
            FeedbackKind::ReviewComment => FeedbackKindView::ReviewComment,
            FeedbackKind::Conversation => FeedbackKindView::Conversation,
        }
    }
}

/// What a piece of feedback asks for.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AskView {
    /// A change to the code.
    Change,
    /// An answer from a human.
    Question,
}

impl AskView {
    /// Of the model's ask (every variant by name, no wildcard).
    pub fn of(a: Ask) -> AskView {
        match a {
            Ask::Change => AskView::Change,
            Ask::Question => AskView::Question,
        }
    }
}

/// A reply git-omk posted on the PR.
#[derive(Serialize)]
pub struct ReplyView<'a> {
    /// The feedback answered.
    pub kind: FeedbackKindView,
    /// Its GitHub id.
    pub id: u64,
    /// The reply's GitHub id.
    pub reply_id: u64,
    /// The commit that addressed it, when one did.
    pub commit: Option<&'a str>,
    /// Whether the feedback was addressed by a change.
    pub addressed: bool,
}

impl<'a> ReplyView<'a> {
    /// Of the model's reply.
    pub fn of(r: &'a ReplyPosted) -> ReplyView<'a> {
        ReplyView {
            kind: FeedbackKindView::of(r.kind),
            id: r.id,
            reply_id: r.reply_id,
            commit: r.commit.as_deref(),
            addressed: r.addressed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::delivery::address::Addressed;
    use crate::model::options::MergePolicy;
    use crate::model::status::GoalStatus;

    fn task(id: &str) -> TaskId {
        TaskId::parse(id).unwrap()
    }

    fn merge(policy: Option<MergePolicy>, checks: Vec<CheckView>) -> MergeRecorded {
        MergeRecorded {
            number: 7,
            head_sha: "a".repeat(40),
            merge_commit: policy.map(|_| "b".repeat(40)),
            by: "gated".into(),
            policy,
            checks,
        }
    }

    fn feedback(kind: FeedbackKind, ask: Ask, file: bool) -> Feedback {
        Feedback {
            kind,
            id: 11,
            source: "github:rev".into(),
            review_id: file.then_some(3),
            path: file.then(|| "src/a.rs".to_owned()),
            line: file.then_some(4),
            position: file.then_some(9),
            body: "Please fix \"this\"".into(),
            url: "https://example.invalid/pr/7#c".into(),
            ask,
        }
    }

    /// Every delivery state the model can hold prints as the model printed it: empty, and full with
    /// every check state, merge decision, delivery stage, feedback kind and ask.
    fn deliveries() -> Vec<Delivery> {
        let checks = vec![
            CheckView {
                name: "ci".into(),
                state: CheckState::Pending,
            },
            CheckView {
                name: "lint".into(),
                state: CheckState::Passed,
            },
            CheckView {
                name: "test".into(),
                state: CheckState::Failed("timed_out".into()),
            },
        ];
        let policies = [MergePolicy::Disabled, MergePolicy::Manual, MergePolicy::Gated];
        let mut merge_decisions: Vec<MergeDecisionRecorded> = policies
            .into_iter()
            .map(|p| MergeDecisionRecorded::Merged(merge(Some(p), checks.clone())))
            .collect();
        merge_decisions.push(MergeDecisionRecorded::Merged(merge(None, Vec::new())));
        merge_decisions.push(MergeDecisionRecorded::AwaitingHuman(MergeAwaitingHuman {
            number: Some(7),
            command: "gh pr merge 7".into(),
        }));
        merge_decisions.push(MergeDecisionRecorded::AwaitingHuman(MergeAwaitingHuman {
            number: None,
            command: "git merge".into(),
        }));
        let kinds = [
            FeedbackKind::Review,
            FeedbackKind::ReviewComment,
            FeedbackKind::Conversation,
        ];
        let mut items = Vec::new();
        for (i, kind) in kinds.into_iter().enumerate() {
            for ask in [Ask::Change, Ask::Question] {
                let addressed = ask == Ask::Change;
                items.push(FeedbackState {
                    pr: 7,
                    round: u32::try_from(i + 1).unwrap(),
                    item: Addressed {
                        feedback: feedback(kind, ask, i == 1),
                        task: addressed.then(|| task("r1-fix")),
                        note: (!addressed).then(|| "a question".to_owned()),
                    },
                    reply: addressed.then(|| ReplyPosted {
                        kind,
                        id: 11,
                        reply_id: 12,
                        commit: (i == 0).then(|| "c".repeat(40)),
                        addressed,
                    }),
                });
            }
        }
        let slices: Vec<SlicePr> = [None, Some("d".repeat(40))]
            .into_iter()
            .map(|proof_commit| SlicePr {
                task: task("t1"),
                number: 8,
                url: "https://example.invalid/pr/8".into(),
                head: "omk/g/tasks/t1".into(),
                head_sha: "e".repeat(40),
                base: "omk/g/integration".into(),
                merged: proof_commit.is_some(),
                proof_commit,
            })
            .collect();
        let full = |stage: DeliveryStage, status_before: GoalStatus| Delivery {
            branch: Some("omk/g/integration".into()),
            pr: Some(PullRequestRef {
                number: 7,
                url: "https://example.invalid/pr/7".into(),
            }),
            pr_head: Some("a".repeat(40)),
            pr_base: Some("main".into()),
            pr_proof_commit: Some("f".repeat(40)),
            merged: Some(merge(Some(MergePolicy::Gated), checks.clone())),
            slices: slices.clone(),
            merge_decisions: merge_decisions.clone(),
            awaiting_human: Some(AwaitingHuman {
                number: Some(7),
                command: "gh pr merge 7".into(),
                status_before,
            }),
            problem: Some(DeliveryFailed {
                stage,
                message: "refused".into(),
                next: "run it again".into(),
            }),
            review_rounds: 3,
            feedback: items.clone(),
        };
        let stages = [
            DeliveryStage::Connect,
            DeliveryStage::Push,
            DeliveryStage::PullRequest,
            DeliveryStage::Merge,
        ];
        let mut all = vec![Delivery::default()];
        for (stage, status) in stages.into_iter().cycle().zip(GoalStatus::ALL) {
            all.push(full(stage, status));
        }
        all
    }

    #[test]
    fn the_delivery_view_prints_as_the_model_did() {
        for delivery in deliveries() {
            let view = serde_json::to_string(&DeliveryView::of(&delivery)).unwrap();
            assert_eq!(view, serde_json::to_string(&delivery).unwrap());
        }
    }
}
