//! What delivery records in the goal: the data of the delivery events and the goal's `delivery` state
//! (DESIGN §9).
//!
//! Owns the event payloads (`pr_opened`, `merge_recorded`, `merge_awaiting_human`, `delivery_failed`)
//! and their summaries; how each changes the goal is `snapshot::Snapshot::apply` (the one place goal
//! status changes). Pure.

use serde::{Deserialize, Serialize};

use super::merge::CheckView;
use crate::model::ids::TaskId;
use crate::model::options::MergePolicy;
use crate::model::status::GoalStatus;

/// The goal's PR was opened, or found and updated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrOpened {
    /// PR number.
    pub number: u64,
    /// Its web address.
    pub url: String,
    /// The head branch (the integration branch).
    pub head: String,
    /// The commit the head branch was pushed at.
    pub head_sha: String,
    /// The base branch.
    pub base: String,
    /// Opened as a draft.
    pub draft: bool,
    /// Whether this run created the PR (false: an existing one was updated).
    pub created: bool,
    /// The proof commit the PR's body links to (absent in records older than the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_commit: Option<String>,
    /// For a slice PR (`--slice-prs`): the task whose branch it delivers into the integration branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskId>,
    /// For a slice PR: GitHub reports it merged (the integration branch took its commits).
    #[serde(default, skip_serializing_if = "is_false")]
    pub merged: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The goal's PR was merged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRecorded {
    /// PR number.
    pub number: u64,
    /// The head that was merged (the proven commit for a gated merge).
    pub head_sha: String,
    /// The merge commit GitHub made, when it said.
    pub merge_commit: Option<String>,
    /// `gated` when git omk merged it, `external` when it found it merged.
    pub by: String,
    /// The merge policy that decided it (absent in records older than the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<MergePolicy>,
    /// The checks on the head as the gate read them before merging (empty for an external merge).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckView>,
}

/// One merge decision the goal recorded, in order (`goal.json` `delivery.merge_decisions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum MergeDecisionRecorded {
    /// The PR was merged.
    Merged(MergeRecorded),
    /// A human must merge (`manual`).
    AwaitingHuman(MergeAwaitingHuman),
}

/// Merge policy `manual`: a human must merge; the exact command is recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeAwaitingHuman {
    /// PR number, when one exists.
    pub number: Option<u64>,
    /// The command to run.
    pub command: String,
}

/// The step of delivery that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStage {
    /// Finding the remote, the repository or the token.
    Connect,
    /// Pushing the integration branch and the goal ref.
    Push,
    /// Opening or updating the PR and its comment.
    PullRequest,
    /// Merging.
    Merge,
}

impl DeliveryStage {
    /// Name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStage::Connect => "connect",
            DeliveryStage::Push => "push",
            DeliveryStage::PullRequest => "pull_request",
            DeliveryStage::Merge => "merge",
        }
    }
}

/// A recorded `manual` merge that waits for a human, and the status the goal had before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitingHuman {
    /// PR number, when one exists.
    pub number: Option<u64>,
    /// The command to run.
    pub command: String,
    /// The status to return to once the PR is merged.
    pub status_before: GoalStatus,
}

/// A delivery step failed. Nothing was lost: the goal and its commits are intact, re-running the command
/// continues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryFailed {
    /// Which step.
    pub stage: DeliveryStage,
    /// What went wrong (never contains a token).
    pub message: String,
    /// What to do about it.
    pub next: String,
}

/// One delivery event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryEvent<'a> {
    /// `pr_opened`.
    PrOpened(&'a PrOpened),
    /// `merge_recorded`.
    MergeRecorded(&'a MergeRecorded),
    /// `merge_awaiting_human`.
    MergeAwaitingHuman(&'a MergeAwaitingHuman),
    /// `delivery_failed`.
    DeliveryFailed(&'a DeliveryFailed),
}

impl DeliveryEvent<'_> {
    /// A short human summary for timelines.
    pub fn summary(&self) -> String {
        match self {
            DeliveryEvent::PrOpened(p) if p.task.is_some() && p.created => {
                format!("opened slice PR #{} ({} → {})", p.number, p.head, p.base)
            }
            DeliveryEvent::PrOpened(p) if p.created => {
                format!("opened PR #{} ({} → {})", p.number, p.head, p.base)
            }
            DeliveryEvent::PrOpened(p) => format!("updated PR #{}", p.number),
            DeliveryEvent::MergeRecorded(m) => format!("PR #{} merged ({})", m.number, m.by),
            DeliveryEvent::MergeAwaitingHuman(m) => format!("waiting for a human to merge: {}", m.command),
            DeliveryEvent::DeliveryFailed(f) => {
                format!("delivery failed ({}): {}", f.stage.as_str(), f.message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::model::event::{Actor, ActorKind, BaseRef, Event, EventBody, GoalCreated};
    use crate::model::ids::{EventId, GoalId, fake};
    use crate::model::options::RunOptions;
    use crate::model::snapshot::Snapshot;
    use crate::model::status::Phase;

    fn event(n: u8, body: EventBody) -> Event {
        Event {
            id: EventId::from_random([n; 10]),
            at: DateTime::parse_from_rfc3339("2026-11-22T03:11:42Z")
                .expect("valid time")
                .with_timezone(&Utc),
            actor: Actor {
                kind: ActorKind::Human,
                name: "A <a@x>".into(),
                host: "h".into(),
            },
            body,
        }
    }

    fn goal() -> Snapshot {
        let created = event(
            0,
            EventBody::GoalCreated(GoalCreated {
                text: "Fix it".into(),
                base: BaseRef {
                    rev: "HEAD".into(),
                    commit: fake::commit(&"0".repeat(40)),
                },
                options: RunOptions::default(),
                nonce: "n".into(),
            }),
        );
        let id = GoalId::parse("20261122-031142-3fa9c01b").expect("valid id");
        Snapshot::genesis(&id, &created).expect("creation event")
    }

    #[test]
    fn pr_opened_records_number_url_and_clears_problems() {
        let mut s = goal();
        s.apply(&event(
            1,
            EventBody::DeliveryFailed(DeliveryFailed {
                stage: DeliveryStage::Push,
                message: "rejected".into(),
                next: "fetch".into(),
            }),
        ));
        assert!(s.goal.delivery.problem.is_some());
        s.apply(&event(
            2,
            EventBody::PrOpened(PrOpened {
                number: 4,
                url: "https://github.com/o/r/pull/4".into(),
                head: "omk/g/integration".into(),
                head_sha: "1".repeat(40),
                base: "main".into(),
                draft: true,
                created: true,
                proof_commit: None,
                task: None,
                merged: false,
            }),
        ));
        let d = &s.goal.delivery;
        assert_eq!(d.pr.as_ref().map(|p| p.number), Some(4));
        assert_eq!(d.branch.as_deref(), Some("omk/g/integration"));
        assert_eq!(d.problem, None);
        assert_eq!(s.goal.phase, Phase::Delivery);
        assert_eq!(
            s.goal.last_event.as_ref().map(|e| e.kind.as_str()),
            Some("pr_opened")
        );
    }

    #[test]
    fn manual_merge_blocks_on_a_human_until_merged() {
        let mut s = goal();
        let before = s.goal.status;
        let waiting = MergeAwaitingHuman {
            number: Some(4),
            command: "gh pr merge 4 --merge".into(),
        };
        s.apply(&event(1, EventBody::MergeAwaitingHuman(waiting.clone())));
        s.apply(&event(2, EventBody::MergeAwaitingHuman(waiting)));
        assert_eq!(s.goal.status, GoalStatus::BlockedOnHuman);
        let recorded = s.goal.delivery.awaiting_human.clone().expect("recorded");
        assert_eq!(
            recorded.status_before, before,
            "a repeat keeps the original status"
        );
        s.apply(&event(
            3,
            EventBody::MergeRecorded(MergeRecorded {
                number: 4,
                head_sha: "1".repeat(40),
                merge_commit: None,
                by: "external".into(),
                policy: None,
                checks: Vec::new(),
            }),
        ));
        assert_eq!(s.goal.status, before);
        assert!(s.goal.delivery.awaiting_human.is_none());
        assert!(s.goal.delivery.merged.is_some());
    }
}
