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

/// The state of a goal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalState {
    /// Schema of this record.
    pub schema_version: u32,
    /// The goal id.
    pub id: GoalId,
    /// One line.
    pub title: String,
    /// The normalised goal text.
    pub text: String,
    /// A human's answers to intake questions (`goal answer`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    /// Its kind, once intake classified it.
    pub kind: Option<GoalKind>,
    /// Where it stands.
    pub status: GoalStatus,
    /// Which phase it is in.
    pub phase: Phase,
    /// The status a paused goal resumes to.
    pub paused_from: Option<GoalStatus>,
    /// Where work starts.
    pub base: BaseRef,
    /// What `run` was asked (initial limits included).
    pub options: RunOptions,
    /// Current limits (initial ones raised by `budget-add`).
    pub limits: Limits,
    /// What was spent.
    pub usage: Usage,
    /// The controller lease, if any.
    pub lease: Option<Lease>,
    /// Who created it.
    pub created_by: Actor,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the last event happened.
    pub updated_at: DateTime<Utc>,
    /// What blocks it.
    pub blockers: Vec<Blocker>,
    /// Where it was delivered.
    pub delivery: Delivery,
    /// Human verdicts, oldest first.
    pub human_decisions: Vec<HumanDecision>,
    /// The last event applied.
    pub last_event: Option<LastEvent>,
    /// How many events made this state.
    pub event_count: u64,
    /// The integration branch, once execution created it.
    #[serde(default)]
    pub integration: Option<Integration>,
    /// Gates on the base commit.
    #[serde(default)]
    pub baseline: Option<GateRun>,
    /// Gates on the integrated result.
    #[serde(default)]
    pub verification: Option<GateRun>,
    /// Why the controller stopped the goal in its current status.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The result's tests run against the base code (bugfix oracle evidence).
    #[serde(default)]
    pub base_run: Option<BaseRun>,
    /// The result's test harness files compared with the base's, and the result's gates run again
    /// with the base's versions restored when they changed.
    #[serde(default)]
    pub harness: Option<HarnessCheck>,
    /// The review of the result.
    #[serde(default)]
    pub review: Option<Review>,
    /// Hidden from `goal list` (`goal archive`); only finished goals are.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
}
