//! The goal state: everything `goal.json` holds (DESIGN §2).
//!
//! Owns the shape of a goal's current state. It is derived from the events by `snapshot`, never edited
//! directly by commands. Pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::budget::{Limits, Usage};
use super::delivery::address::FeedbackState;
use super::delivery::record::{AwaitingHuman, DeliveryFailed, MergeDecisionRecorded, MergeRecorded};
use super::event::{Actor, BaseRef};
use super::gate::GateObservation;
use super::harness::HarnessCheck;
use super::ids::{CommitId, EventId, GoalId, TaskId, TreeId};
use super::lease::Lease;
use super::options::RunOptions;
use super::oracle::BaseRun;
use super::review::Review;
use super::status::{GoalKind, GoalStatus, Phase};

fn is_false(b: &bool) -> bool {
    !*b
}

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = 1;

/// Why a goal cannot go on by itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Blocker {
    /// The goal is not testable as written; these questions need answers.
    Questions {
        /// The exact questions.
        questions: Vec<String>,
    },
    /// A human rejected the result.
    Rejected {
        /// Their reason.
        reason: String,
    },
    /// A reviewer asked questions on the PR; a human answers them (`resume` continues).
    ReviewQuestions {
        /// Each question with who asked it.
        questions: Vec<String>,
    },
}

/// A human integrator's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// `goal accept`.
    Accept,
    /// `goal reject`.
    Reject,
}

/// A recorded human decision (`accept` / `reject`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HumanDecision {
    /// Accept or reject.
    pub verdict: Verdict,
    /// Summary or reason.
    pub text: String,
    /// Who.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The recording event.
    pub event: EventId,
    /// The one task an acceptance is limited to (`goal accept --task`); none: the whole goal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskId>,
}

/// Where the goal was delivered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The integration branch, once it exists.
    pub branch: Option<String>,
    /// The pull request, once opened.
    pub pr: Option<PullRequestRef>,
    /// The commit the PR head was last pushed at.
    #[serde(default)]
    pub pr_head: Option<String>,
    /// The PR's base branch.
    #[serde(default)]
    pub pr_base: Option<String>,
    /// The proof commit the PR's body links to, as last recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_proof_commit: Option<String>,
    /// The merge, once the PR is merged.
    #[serde(default)]
    pub merged: Option<MergeRecorded>,
    /// Slice PRs (`--slice-prs`): one per integrated task branch, into the integration branch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<SlicePr>,
    /// Every merge decision recorded, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merge_decisions: Vec<MergeDecisionRecorded>,
    /// A `manual` merge waiting for a human, with the exact command.
    #[serde(default)]
    pub awaiting_human: Option<AwaitingHuman>,
    /// The last delivery failure, until a later step succeeds.
    #[serde(default)]
    pub problem: Option<DeliveryFailed>,
    /// Review rounds recorded from the PR (`address-reviews`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub review_rounds: u32,
    /// Feedback read from the PR, the tasks addressing it and the replies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<FeedbackState>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A slice PR: one task branch into the goal's integration branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlicePr {
    /// The task.
    pub task: TaskId,
    /// PR number.
    pub number: u64,
    /// Its web address.
    pub url: String,
    /// The task branch.
    pub head: String,
    /// The task commit it was pushed at.
    pub head_sha: String,
    /// The integration branch.
    pub base: String,
    /// The proof commit its body links to.
    pub proof_commit: Option<String>,
    /// GitHub reported it merged.
    pub merged: bool,
}

/// A pull request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestRef {
    /// Its number.
    pub number: u64,
    /// Its web address.
    pub url: String,
}

/// The integration branch of a goal and its tip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    /// `omk/<goal>/integration`.
    pub branch: String,
    /// Its tip: the base commit until the first task is merged.
    pub commit: CommitId,
}

/// The gates run on one tree (the base, or the integrated result).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRun {
    /// The commit tested.
    pub commit: CommitId,
    /// Its tree.
    pub tree: TreeId,
    /// Hash of the effective gate configuration.
    pub config_hash: String,
    /// One observation per gate.
    pub gates: Vec<GateObservation>,
    /// Paths of the evidence files in the goal tree.
    #[serde(default)]
    pub evidence: Vec<String>,
}

impl GoalState {
    /// What agents are told the goal is: its text, then the answers a human gave to its intake
    /// questions.
    pub fn brief_text(&self) -> String {
        let mut text = self.text.clone();
        for answer in &self.answers {
            text.push_str("\n\nA human clarified: ");
            text.push_str(answer);
        }
        text
    }
}

impl GateRun {
    /// Whether every required gate passed.
    pub fn required_pass(&self) -> bool {
        self.gates
            .iter()
            .filter(|g| g.required)
            .all(|g| g.outcome.passed())
    }
}

/// The last event applied, for "what is it doing now".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastEvent {
    /// Event id.
    pub id: EventId,
    /// Event kind.
    pub kind: String,
    /// When.
    pub at: DateTime<Utc>,
    /// One-line summary.
    pub summary: String,
}

/// The state of a goal. Its fields are private to the model: `Snapshot::apply` is the one writer,
/// everything else reads through the accessors below.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalState {
    /// Schema of this record.
    pub(in crate::model) schema_version: u32,
    /// The goal id.
    pub(in crate::model) id: GoalId,
    /// One line.
    pub(in crate::model) title: String,
    /// The normalised goal text.
    pub(in crate::model) text: String,
    /// A human's answers to intake questions (`goal answer`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(in crate::model) answers: Vec<String>,
    /// Its kind, once intake classified it.
    pub(in crate::model) kind: Option<GoalKind>,
    /// Where it stands.
    pub(in crate::model) status: GoalStatus,
    /// Which phase it is in.
    pub(in crate::model) phase: Phase,
    /// The status a paused goal resumes to.
    pub(in crate::model) paused_from: Option<GoalStatus>,
    /// Where work starts.
    pub(in crate::model) base: BaseRef,
    /// What `run` was asked (initial limits included).
    pub(in crate::model) options: RunOptions,
    /// Current limits (initial ones raised by `budget-add`).
    pub(in crate::model) limits: Limits,
    /// What was spent.
    pub(in crate::model) usage: Usage,
    /// The controller lease, if any.
    pub(in crate::model) lease: Option<Lease>,
    /// Who created it.
    pub(in crate::model) created_by: Actor,
    /// When it was created.
    pub(in crate::model) created_at: DateTime<Utc>,
    /// When the last event happened.
    pub(in crate::model) updated_at: DateTime<Utc>,
    /// What blocks it.
    pub(in crate::model) blockers: Vec<Blocker>,
    /// Where it was delivered.
    pub(in crate::model) delivery: Delivery,
    /// Human verdicts, oldest first.
    pub(in crate::model) human_decisions: Vec<HumanDecision>,
    /// The last event applied.
    pub(in crate::model) last_event: Option<LastEvent>,
    /// How many events made this state.
    pub(in crate::model) event_count: u64,
    /// The integration branch, once execution created it.
    #[serde(default)]
    pub(in crate::model) integration: Option<Integration>,
    /// Gates on the base commit.
    #[serde(default)]
    pub(in crate::model) baseline: Option<GateRun>,
    /// Gates on the integrated result.
    #[serde(default)]
    pub(in crate::model) verification: Option<GateRun>,
    /// Why the controller stopped the goal in its current status.
    #[serde(default)]
    pub(in crate::model) stop_reason: Option<String>,
    /// The result's tests run against the base code (bugfix oracle evidence).
    #[serde(default)]
    pub(in crate::model) base_run: Option<BaseRun>,
    /// The result's test harness files compared with the base's, and the result's gates run again
    /// with the base's versions restored when they changed.
    #[serde(default)]
    pub(in crate::model) harness: Option<HarnessCheck>,
    /// The review of the result.
    #[serde(default)]
    pub(in crate::model) review: Option<Review>,
    /// Hidden from `goal list` (`goal archive`); only finished goals are.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(in crate::model) archived: bool,
}

/// Read access to a goal's state. The fields are private to the model: only `Snapshot::apply` (and
/// the functions it calls) changes them, so everything else reads them through these.
impl GoalState {
    /// Schema of this record.
    pub fn schema_version(&self) -> u32 {
        self.schema_version
    }

    /// The goal id.
    pub fn id(&self) -> &GoalId {
        &self.id
    }

    /// One line.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The normalised goal text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A human's answers to intake questions (`goal answer`), oldest first.
    pub fn answers(&self) -> &[String] {
        &self.answers
    }

    /// Its kind, once intake classified it.
    pub fn kind(&self) -> Option<GoalKind> {
        self.kind
    }

    /// Where it stands.
    pub fn status(&self) -> GoalStatus {
        self.status
    }

    /// Which phase it is in.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The status a paused goal resumes to.
    pub fn paused_from(&self) -> Option<GoalStatus> {
        self.paused_from
    }

    /// Where work starts.
    pub fn base(&self) -> &BaseRef {
        &self.base
    }

    /// What `run` was asked (initial limits included).
    pub fn options(&self) -> &RunOptions {
        &self.options
    }

    /// Current limits (initial ones raised by `budget-add`).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// What was spent.
    pub fn usage(&self) -> &Usage {
        &self.usage
    }

    /// The controller lease, if any.
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    /// Who created it.
    pub fn created_by(&self) -> &Actor {
        &self.created_by
    }

    /// When it was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// When the last event happened.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// What blocks it.
    pub fn blockers(&self) -> &[Blocker] {
        &self.blockers
    }

    /// Where it was delivered.
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// Human verdicts, oldest first.
    pub fn human_decisions(&self) -> &[HumanDecision] {
        &self.human_decisions
    }

    /// The last event applied.
    pub fn last_event(&self) -> Option<&LastEvent> {
        self.last_event.as_ref()
    }

    /// How many events made this state.
    pub fn event_count(&self) -> u64 {
        self.event_count
    }

    /// The integration branch, once execution created it.
    pub fn integration(&self) -> Option<&Integration> {
        self.integration.as_ref()
    }

    /// Gates on the base commit.
    pub fn baseline(&self) -> Option<&GateRun> {
        self.baseline.as_ref()
    }

    /// Gates on the integrated result.
    pub fn verification(&self) -> Option<&GateRun> {
        self.verification.as_ref()
    }

    /// Why the controller stopped the goal in its current status.
    pub fn stop_reason(&self) -> Option<&str> {
        self.stop_reason.as_deref()
    }

    /// The result's tests run against the base code (bugfix oracle evidence).
    pub fn base_run(&self) -> Option<&BaseRun> {
        self.base_run.as_ref()
    }

    /// The result's test harness check.
    pub fn harness(&self) -> Option<&HarnessCheck> {
        self.harness.as_ref()
    }

    /// The review of the result.
    pub fn review(&self) -> Option<&Review> {
        self.review.as_ref()
    }

    /// Hidden from `goal list` (`goal archive`); only finished goals are.
    pub fn archived(&self) -> bool {
        self.archived
    }
}
