//! Human control requests (pause, resume, cancel, budget-add, accept, reject): whether each is allowed
//! in the current state, and which events record it (DESIGN §1, §3).
//!
//! `decide` is strict where `Snapshot::apply` is lenient: a request that makes no sense is refused here
//! with a message that says what to do, and nothing is recorded. Pure.

use super::budget::{BudgetAddition, exhausted};
use super::event::EventBody;
use super::goal::Blocker;
use super::ids::TaskId;
use super::snapshot::Snapshot;
use super::status::GoalStatus;

/// What a person asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlRequest {
    /// `goal pause`.
    Pause {
        /// Optional reason.
        reason: Option<String>,
    },
    /// `goal resume`.
    Resume,
    /// `goal cancel`.
    Cancel {
        /// Optional reason.
        reason: Option<String>,
    },
    /// `goal budget-add`.
    BudgetAdd(BudgetAddition),
    /// `goal accept --summary`.
    Accept {
        /// The summary (already validated text).
        summary: String,
        /// Accept only this task's findings (`--task`); it must be a task of the goal.
        task: Option<TaskId>,
    },
    /// `goal reject --reason`.
    Reject {
        /// The reason (already validated text).
        reason: String,
    },
    /// `goal archive`.
    Archive,
    /// `goal unarchive`.
    Unarchive,
}

/// A request refused in the goal's current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    /// What is wrong and what to do instead.
    pub message: String,
}

fn refuse(message: impl Into<String>) -> Refused {
    Refused {
        message: message.into(),
    }
}

/// Whether the goal of `snapshot` waits for answers to its intake questions (`goal answer`).
pub fn answerable(snapshot: &Snapshot) -> Result<(), Refused> {
    let goal = &snapshot.goal;
    let asks = goal
        .blockers
        .iter()
        .any(|b| matches!(b, Blocker::Questions { .. }));
    if goal.status == GoalStatus::BlockedOnHuman && asks {
        Ok(())
    } else {
        Err(refuse(format!(
            "goal {} is {} and asks no questions; `goal answer` answers the intake questions of a goal \
             blocked on them",
            goal.id, goal.status
        )))
    }
}

/// Decide whether `request` is allowed on `snapshot` and return the events that record it.
pub fn decide(snapshot: &Snapshot, request: ControlRequest) -> Result<Vec<EventBody>, Refused> {
    let goal = &snapshot.goal;
    let status = goal.status;
    let id = goal.id.as_str();
    match request {
        ControlRequest::Pause { reason } => match status {
            GoalStatus::Planned | GoalStatus::Running => Ok(vec![EventBody::Paused { reason }]),
            GoalStatus::Paused => Err(refuse(format!(
                "goal {id} is already paused; resume it with `git omk goal resume {id}`"
            ))),
            other => Err(refuse(format!(
                "goal {id} is {other}; only planned or running goals can be paused"
            ))),
        },
        ControlRequest::Resume => decide_resume(snapshot),
        ControlRequest::Cancel { reason } => match status {
            GoalStatus::Cancelled => Err(refuse(format!("goal {id} is already cancelled"))),
            _ => Ok(vec![EventBody::Cancelled { reason }]),
        },
        ControlRequest::BudgetAdd(add) => match status {
            GoalStatus::Cancelled => Err(refuse(format!(
                "goal {id} is cancelled; resume it first with `git omk goal resume {id}`"
            ))),
            _ => Ok(vec![EventBody::BudgetAdded(add)]),
        },
        ControlRequest::Accept { summary, task } => {
            require_result(snapshot, "accept")?;
            if let Some(task) = &task {
                require_task(snapshot, task)?;
            }
            Ok(vec![EventBody::Accepted { summary, task }])
        }
        ControlRequest::Reject { reason } => {
            require_result(snapshot, "reject")?;
            Ok(vec![EventBody::Rejected { reason }])
        }
        ControlRequest::Archive => decide_archive(snapshot),
        ControlRequest::Unarchive if goal.archived => Ok(vec![EventBody::Unarchived {}]),
        ControlRequest::Unarchive => Err(refuse(format!("goal {id} is not archived"))),
    }
}

/// Only a finished goal can be archived: an active one would vanish from `list` while it runs.
fn decide_archive(snapshot: &Snapshot) -> Result<Vec<EventBody>, Refused> {
    let goal = &snapshot.goal;
    let id = goal.id.as_str();
    if goal.archived {
        Err(refuse(format!("goal {id} is already archived")))
    } else if goal.status.is_active() {
        Err(refuse(format!(
            "goal {id} is {}; only finished goals can be archived (cancel it first with \
             `git omk goal cancel {id}`)",
            goal.status
        )))
    } else {
        Ok(vec![EventBody::Archived {}])
    }
}

fn decide_resume(snapshot: &Snapshot) -> Result<Vec<EventBody>, Refused> {
    let goal = &snapshot.goal;
    let id = goal.id.as_str();
    let has_questions = goal
        .blockers
        .iter()
        .any(|b| matches!(b, Blocker::Questions { .. }));
    match goal.status {
        GoalStatus::Paused | GoalStatus::NotReady | GoalStatus::Failed | GoalStatus::Cancelled => {
            Ok(vec![EventBody::Resumed {}])
        }
        GoalStatus::BlockedOnHuman if has_questions => Err(refuse(format!(
            "goal {id} is not testable as written; answer its questions (`git omk goal show {id}`) with \
             git omk goal answer {id} \"<the answers>\""
        ))),
        GoalStatus::BlockedOnHuman => Ok(vec![EventBody::Resumed {}]),
        GoalStatus::NeedsMoreBudget if !exhausted(&goal.limits, &goal.usage).is_empty() => {
            Err(refuse(format!(
                "goal {id} has exhausted its budget; raise it with `git omk goal budget-add {id} --time 1h` \
             (or --tokens / --usd), which resumes it"
            )))
        }
        GoalStatus::NeedsMoreBudget => Ok(vec![EventBody::Resumed {}]),
        GoalStatus::Ready => Err(refuse(format!("goal {id} is ready; there is nothing to resume"))),
        GoalStatus::Planned | GoalStatus::Running => {
            Err(refuse(format!("goal {id} is {}, not paused", goal.status)))
        }
    }
}

/// `task` must be a task of the goal's plan.
fn require_task(snapshot: &Snapshot, task: &TaskId) -> Result<(), Refused> {
    if snapshot.tasks.tasks.iter().any(|t| t.id == *task) {
        return Ok(());
    }
    let known: Vec<&str> = snapshot.tasks.tasks.iter().map(|t| t.id.as_str()).collect();
    Err(refuse(format!(
        "goal {} has no task {task}; its tasks: {}",
        snapshot.goal.id,
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    )))
}

fn require_result(snapshot: &Snapshot, verb: &str) -> Result<(), Refused> {
    let goal = &snapshot.goal;
    let finished = matches!(
        goal.status,
        GoalStatus::Ready | GoalStatus::NotReady | GoalStatus::BlockedOnHuman
    );
    if finished && snapshot.plan.is_some() {
        Ok(())
    } else {
        Err(refuse(format!(
            "goal {} is {} and has no result to {verb} yet; a goal can be accepted or rejected once it is \
             ready, not_ready or blocked_on_human after a run",
            goal.id, goal.status
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::proof::tests::Goal;
    use crate::model::status::GoalKind;

    fn refused(snapshot: &Snapshot, request: ControlRequest) -> String {
        decide(snapshot, request).expect_err("refused").message
    }

    #[test]
    fn only_finished_goals_are_archived_and_a_resumed_one_is_listed_again() {
        let mut goal = Goal::planned(GoalKind::Bugfix);
        let message = refused(&goal.snapshot, ControlRequest::Archive);
        assert!(message.contains("only finished goals"), "{message}");
        assert!(refused(&goal.snapshot, ControlRequest::Unarchive).contains("not archived"));
        goal.apply(EventBody::Cancelled { reason: None });
        let events = decide(&goal.snapshot, ControlRequest::Archive).expect("a cancelled goal");
        assert_eq!(events, vec![EventBody::Archived {}]);
        goal.apply(EventBody::Archived {});
        assert!(goal.snapshot.goal.archived);
        assert!(refused(&goal.snapshot, ControlRequest::Archive).contains("already archived"));
        goal.apply(EventBody::Unarchived {});
        assert!(!goal.snapshot.goal.archived);
        goal.apply(EventBody::Archived {});
        goal.apply(EventBody::Resumed {});
        assert!(goal.snapshot.goal.status.is_active());
        assert!(!goal.snapshot.goal.archived, "a goal that runs again is listed");
    }

    #[test]
    fn an_accept_for_a_task_the_goal_does_not_have_is_refused() {
        let mut goal = Goal::evidenced();
        goal.snapshot.goal.status = GoalStatus::NotReady;
        let unknown = ControlRequest::Accept {
            summary: "fine".into(),
            task: Some(TaskId::parse("zz").expect("a valid task id")),
        };
        assert!(refused(&goal.snapshot, unknown).contains("has no task zz; its tasks: a"));
        let known = ControlRequest::Accept {
            summary: "fine".into(),
            task: Some(TaskId::parse("a").expect("a valid task id")),
        };
        assert!(decide(&goal.snapshot, known).is_ok());
    }

    #[test]
    fn an_archive_event_on_an_active_goal_changes_nothing() {
        // A merged log may carry one (archived on one machine while resumed on the other).
        let mut goal = Goal::planned(GoalKind::Bugfix);
        goal.apply(EventBody::Archived {});
        assert!(!goal.snapshot.goal.archived);
    }
}
