//! The tasks of `tasks.json` in `goal show -f json` (and the recording commands, `run --until-ready`):
//! each task, its attempts and how each ended, as views of their own.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{TaskKindView, TaskStatusView};
use crate::model::ids::{CommitId, TaskId, TreeId};
use crate::model::task::{Attempt, AttemptOutcome, Task};
use crate::model::writeset::PathPattern;

/// One task of `tasks.json` (in `goal show -f json`).
#[derive(Serialize)]
pub struct TaskView<'a> {
    /// Task id.
    pub id: &'a TaskId,
    /// One line.
    pub title: &'a str,
    /// What to do.
    pub description: &'a str,
    /// What the task is for.
    pub kind: TaskKindView,
    /// Where it stands.
    pub status: TaskStatusView,
    /// Tasks it waits for.
    pub depends_on: &'a [TaskId],
    /// Paths it reads.
    pub read_set: &'a [PathPattern],
    /// Paths it may write.
    pub write_set: &'a [PathPattern],
    /// What must hold when it is done.
    pub acceptance: &'a [String],
    /// Gates it runs.
    pub gates: &'a [String],
    /// Attempts allowed.
    pub retry_limit: u32,
    /// Attempts made, oldest first.
    pub attempts: Vec<AttemptView<'a>>,
    /// Its branch.
    pub branch: Option<&'a str>,
    /// The agent session.
    pub session_id: Option<&'a str>,
    /// The commit integrating it.
    pub integrated: Option<&'a CommitId>,
    /// Why it stands where it does.
    pub note: Option<&'a str>,
    /// Tests it is asked to remove; absent when none.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub removes_tests: &'a [String],
}

impl<'a> TaskView<'a> {
    /// Of the model's task.
    pub fn of(t: &'a Task) -> TaskView<'a> {
        TaskView {
            id: &t.id,
            title: &t.title,
            description: &t.description,
            kind: TaskKindView::of(t.kind),
            status: TaskStatusView::of(t.status),
            depends_on: &t.depends_on,
            read_set: &t.read_set,
            write_set: &t.write_set,
            acceptance: &t.acceptance,
            gates: &t.gates,
            retry_limit: t.retry_limit,
            attempts: t.attempts.iter().map(AttemptView::of).collect(),
            branch: t.branch.as_deref(),
            session_id: t.session_id.as_deref(),
            integrated: t.integrated.as_ref(),
            note: t.note.as_deref(),
            removes_tests: &t.removes_tests,
        }
    }
}

/// One agent attempt at a task.
#[derive(Serialize)]
pub struct AttemptView<'a> {
    /// 1-based.
    pub number: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// The agent session.
    pub session_id: Option<&'a str>,
    /// Tokens spent.
    pub tokens: u64,
    /// The commit it produced.
    pub commit: Option<&'a CommitId>,
    /// The commit it started from.
    pub start_commit: Option<&'a CommitId>,
    /// The tree it produced.
    pub tree: Option<&'a TreeId>,
    /// How it ended: `outcome` plus its fields.
    #[serde(flatten)]
    pub outcome: AttemptOutcomeView<'a>,
}

impl<'a> AttemptView<'a> {
    /// Of the model's attempt.
    pub fn of(a: &'a Attempt) -> AttemptView<'a> {
        AttemptView {
            number: a.number,
            started_at: a.started_at,
            ended_at: a.ended_at,
            session_id: a.session_id.as_deref(),
            tokens: a.tokens,
            commit: a.commit.as_ref(),
            start_commit: a.start_commit.as_ref(),
            tree: a.tree.as_ref(),
            outcome: AttemptOutcomeView::of(&a.outcome),
        }
    }
}

/// How an attempt ended, tagged by `outcome`.
#[derive(Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AttemptOutcomeView<'a> {
    /// Still running.
    Running,
    /// Changes committed and task gates passed.
    Succeeded,
    /// It failed.
    Failed {
        /// What failed.
        evidence: &'a str,
    },
    /// Stopped by pause, cancel, budget or a crash.
    Interrupted {
        /// Why.
        reason: &'a str,
    },
}

impl<'a> AttemptOutcomeView<'a> {
    /// Of the model's outcome (every variant by name, no wildcard).
    pub fn of(o: &'a AttemptOutcome) -> AttemptOutcomeView<'a> {
        match o {
            AttemptOutcome::Running => AttemptOutcomeView::Running,
            AttemptOutcome::Succeeded => AttemptOutcomeView::Succeeded,
            AttemptOutcome::Failed { evidence } => AttemptOutcomeView::Failed { evidence },
            AttemptOutcome::Interrupted { reason } => AttemptOutcomeView::Interrupted { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task is the view's, field by field, as the model's printed it: every attempt outcome, optional
    /// keys unset and set.
    #[test]
    fn the_task_view_prints_as_the_model_did() {
        use crate::model::ids::fake;
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let bare = crate::model::graph::tests::task("t1", &["t0"], &["src/**"]);
        let mut full = bare.clone();
        full.branch = Some("omk/g/tasks/t1".into());
        full.session_id = Some("s".into());
        full.integrated = Some(fake::commit("merge"));
        full.note = Some("n".into());
        full.removes_tests = vec!["old".into()];
        let outcomes = [
            AttemptOutcome::Running,
            AttemptOutcome::Succeeded,
            AttemptOutcome::Failed { evidence: "e".into() },
            AttemptOutcome::Interrupted { reason: "r".into() },
        ];
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let done = i > 0;
            full.attempts.push(Attempt {
                number: u32::try_from(i + 1).unwrap(),
                started_at: at,
                ended_at: done.then_some(at),
                session_id: done.then(|| "s".to_owned()),
                tokens: 5,
                commit: done.then(|| fake::commit("c")),
                start_commit: done.then(|| fake::commit("s")),
                tree: done.then(|| fake::tree("t")),
                outcome,
            });
        }
        for task in [bare, full] {
            let json = serde_json::to_string(&TaskView::of(&task)).unwrap();
            assert_eq!(json, serde_json::to_string(&task).unwrap());
        }
    }
}
