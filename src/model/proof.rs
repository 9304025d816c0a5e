//! Readiness: the one pure function that decides whether evidence supports `ready` (DESIGN §7).
//!
//! `ready` is impossible while a task is not done and integrated, gate evidence for the integrated
//! result is missing or stale, a required gate fails, a required gate that passed on the base regressed,
//! there are no gates at all, questions are open, or a human rejected the result. Pure.

use serde::{Deserialize, Serialize};

use super::gate::compare::compare;
use super::goal::{Blocker, GateRun};
use super::snapshot::Snapshot;
use super::status::GoalStatus;
use super::task::TaskStatus;

/// One reason a goal is not ready.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "code")]
pub enum NotReadyReason {
    /// The goal has not been executed; there is no result to judge.
    NoResult,
    /// A task did not finish, or its result is not integrated.
    TaskNotDone {
        /// The task.
        task: String,
        /// Its status.
        status: String,
        /// Why, when known.
        note: Option<String>,
    },
    /// No gate evidence exists for the result.
    MissingGateEvidence,
    /// The gates ran on another commit than the integrated result.
    StaleGateEvidence {
        /// The commit the gates tested.
        tested: String,
        /// The integrated result.
        result: String,
    },
    /// Neither `.omk/gates.toml` nor detection gave any gate: nothing can prove the result.
    NoGates,
    /// A required gate fails on the result.
    RequiredGateFailed {
        /// The gate.
        gate: String,
        /// Why.
        reason: String,
    },
    /// A required gate that passed on the base fails on (or vanished from) the result.
    Regression {
        /// The gate.
        gate: String,
    },
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
    let mut reasons = blocker_reasons(snapshot);
    reasons.extend(task_reasons(snapshot));
    reasons.extend(gate_reasons(snapshot));
    let status = if reasons.is_empty() {
        GoalStatus::Ready
    } else {
        GoalStatus::NotReady
    };
    Readiness { status, reasons }
}

fn blocker_reasons(snapshot: &Snapshot) -> Vec<NotReadyReason> {
    snapshot
        .goal
        .blockers
        .iter()
        .map(|b| match b {
            Blocker::Questions { .. } => NotReadyReason::OpenQuestions,
            Blocker::Rejected { reason } => NotReadyReason::RejectedByHuman {
                reason: reason.clone(),
            },
        })
        .collect()
}

fn task_reasons(snapshot: &Snapshot) -> Vec<NotReadyReason> {
    let tasks = &snapshot.tasks.tasks;
    if tasks.is_empty() || tasks.iter().all(|t| t.attempts.is_empty()) {
        return vec![NotReadyReason::NoResult];
    }
    tasks
        .iter()
        .filter(|t| t.status != TaskStatus::Done || t.integrated.is_none())
        .map(|t| NotReadyReason::TaskNotDone {
            task: t.id.to_string(),
            status: if t.status == TaskStatus::Done {
                "done, not integrated".to_owned()
            } else {
                t.status.as_str().to_owned()
            },
            note: t.note.clone(),
        })
        .collect()
}

fn gate_reasons(snapshot: &Snapshot) -> Vec<NotReadyReason> {
    let goal = &snapshot.goal;
    let Some(result) = &goal.verification else {
        return vec![NotReadyReason::MissingGateEvidence];
    };
    let mut reasons = Vec::new();
    if let Some(integration) = &goal.integration
        && integration.commit != result.commit
    {
        reasons.push(NotReadyReason::StaleGateEvidence {
            tested: result.commit.clone(),
            result: integration.commit.clone(),
        });
    }
    if result.gates.is_empty() {
        reasons.push(NotReadyReason::NoGates);
    }
    reasons.extend(failed_required(result));
    if let Some(base) = &goal.baseline {
        let comparison = compare(&base.gates, &result.gates);
        reasons.extend(
            comparison
                .blocking()
                .map(|c| NotReadyReason::Regression { gate: c.name.clone() }),
        );
    }
    reasons
}

fn failed_required(run: &GateRun) -> impl Iterator<Item = NotReadyReason> + '_ {
    run.gates
        .iter()
        .filter(|g| g.required && !g.outcome.passed())
        .map(|g| NotReadyReason::RequiredGateFailed {
            gate: g.name.clone(),
            reason: g
                .reason
                .map_or_else(|| g.outcome.as_str().to_owned(), |r| r.describe()),
        })
}

impl NotReadyReason {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            NotReadyReason::NoResult => "no task has run yet: there is no result to judge".to_owned(),
            NotReadyReason::TaskNotDone { task, status, note } => match note {
                Some(n) => format!("task {task} is {status}: {n}"),
                None => format!("task {task} is {status}"),
            },
            NotReadyReason::MissingGateEvidence => "no gate evidence is recorded for the result".to_owned(),
            NotReadyReason::StaleGateEvidence { tested, result } => {
                format!("the gates tested {tested}, not the result {result}")
            }
            NotReadyReason::NoGates => {
                "no gates are configured or detected, so nothing proves the result (add .omk/gates.toml)"
                    .to_owned()
            }
            NotReadyReason::RequiredGateFailed { gate, reason } => {
                format!("required gate {gate} fails: {reason}")
            }
            NotReadyReason::Regression { gate } => {
                format!("required gate {gate} passed on the base and fails on the result")
            }
            NotReadyReason::OpenQuestions => "the goal has unanswered questions".to_owned(),
            NotReadyReason::RejectedByHuman { reason } => format!("rejected by a human: {reason}"),
        }
    }
}
