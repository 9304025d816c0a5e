//! Readiness: the one pure function that decides whether evidence supports `ready` (DESIGN §7).
//!
//! Until verification evidence exists (gates, oracle, review), the answer is `not ready` with the
//! missing evidence listed: readiness is never assumed. Pure.

use serde::{Deserialize, Serialize};

use super::goal::Blocker;
use super::snapshot::Snapshot;
use super::status::GoalStatus;

/// One reason a goal is not ready.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "code")]
pub enum NotReadyReason {
    /// The goal has not been executed; there is no result to judge.
    NoResult,
    /// No gate evidence exists for the result.
    MissingGateEvidence,
    /// The goal has unanswered questions.
    OpenQuestions,
    /// A human rejected the result.
    RejectedByHuman {
        /// Their reason.
        reason: String,
    },
}

/// The readiness verdict and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: GoalStatus,
    /// Empty when ready.
    pub reasons: Vec<NotReadyReason>,
}

/// Judge the recorded evidence of a goal.
pub fn readiness(snapshot: &Snapshot) -> Readiness {
    let mut reasons = Vec::new();
    for blocker in &snapshot.goal.blockers {
        match blocker {
            Blocker::Questions { .. } => reasons.push(NotReadyReason::OpenQuestions),
            Blocker::Rejected { reason } => reasons.push(NotReadyReason::RejectedByHuman {
                reason: reason.clone(),
            }),
        }
    }
    let executed = snapshot.tasks.tasks.iter().any(|t| !t.attempts.is_empty());
    if !executed {
        reasons.push(NotReadyReason::NoResult);
    }
    reasons.push(NotReadyReason::MissingGateEvidence);
    Readiness {
        status: GoalStatus::NotReady,
        reasons,
    }
}

impl NotReadyReason {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            NotReadyReason::NoResult => "no task has run yet: there is no result to judge".to_owned(),
            NotReadyReason::MissingGateEvidence => "no gate evidence is recorded for the result".to_owned(),
            NotReadyReason::OpenQuestions => "the goal has unanswered questions".to_owned(),
            NotReadyReason::RejectedByHuman { reason } => format!("rejected by a human: {reason}"),
        }
    }
}
