//! Smaller parts of the goal record in `goal show -f json`: who created it, what blocks it, the human
//! verdicts, the integration branch. Each is its own view, built field by field from the model, with
//! every enum variant mapped by name. Must not serialise a model type.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::event::{Actor, ActorKind};
use crate::model::goal::{Blocker, HumanDecision, Integration, Verdict};
use crate::model::ids::{CommitId, EventId, TaskId};

/// Who caused something: `{kind, name, host}`.
#[derive(Serialize)]
pub struct ActorView<'a> {
    /// What kind of actor.
    pub kind: ActorKindView,
    /// A person's `Name <email>`, a controller's or agent's name.
    pub name: &'a str,
    /// Host name of the machine.
    pub host: &'a str,
}

impl<'a> ActorView<'a> {
    /// Of the model's actor.
    pub fn of(a: &'a Actor) -> ActorView<'a> {
        ActorView {
            kind: ActorKindView::of(a.kind),
            name: &a.name,
            host: &a.host,
        }
    }
}

/// Kinds of actors.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKindView {
    /// A person at a command line.
    Human,
    /// The goal controller.
    Controller,
    /// A coding agent.
    Agent,
    /// git-omk itself.
    System,
}

impl ActorKindView {
    /// Of the model's kind (every variant by name, no wildcard).
    pub fn of(k: ActorKind) -> ActorKindView {
        match k {
            ActorKind::Human => ActorKindView::Human,
            ActorKind::Controller => ActorKindView::Controller,
            ActorKind::Agent => ActorKindView::Agent,
            ActorKind::System => ActorKindView::System,
        }
    }
}

/// Why a goal cannot go on by itself, tagged by `kind`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BlockerView<'a> {
    /// The goal is not testable as written.
    Questions {
        /// The exact questions.
        questions: &'a [String],
    },
    /// A human rejected the result.
    Rejected {
        /// Their reason.
        reason: &'a str,
    },
    /// A reviewer asked questions on the PR.
    ReviewQuestions {
        /// Each question with who asked it.
        questions: &'a [String],
    },
}

impl<'a> BlockerView<'a> {
    /// Of the model's blocker (every variant by name, no wildcard).
    pub fn of(b: &'a Blocker) -> BlockerView<'a> {
        match b {
            Blocker::Questions { questions } => BlockerView::Questions { questions },
            Blocker::Rejected { reason } => BlockerView::Rejected { reason },
            Blocker::ReviewQuestions { questions } => BlockerView::ReviewQuestions { questions },
        }
    }
}

/// A recorded human verdict (`accept` / `reject`).
#[derive(Serialize)]
pub struct HumanDecisionView<'a> {
    /// `accept` or `reject`.
    pub verdict: VerdictView,
    /// Summary or reason.
    pub text: &'a str,
    /// Who.
    pub by: &'a str,
    /// When.
    pub at: DateTime<Utc>,
    /// The recording event.
    pub event: &'a EventId,
    /// The one task an acceptance is limited to; absent for the whole goal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<&'a TaskId>,
}

impl<'a> HumanDecisionView<'a> {
    /// Of the model's decision.
    pub fn of(d: &'a HumanDecision) -> HumanDecisionView<'a> {
        HumanDecisionView {
            verdict: VerdictView::of(d.verdict),
            text: &d.text,
            by: &d.by,
            at: d.at,
            event: &d.event,
            task: d.task.as_ref(),
        }
    }
}

/// A human's verdict.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictView {
    /// `goal accept`.
    Accept,
    /// `goal reject`.
    Reject,
}

impl VerdictView {
    /// Of the model's verdict (every variant by name, no wildcard).
    pub fn of(v: Verdict) -> VerdictView {
        match v {
            Verdict::Accept => VerdictView::Accept,
            Verdict::Reject => VerdictView::Reject,
        }
    }
}

/// The integration branch of a goal and its tip: `{branch, commit}`.
#[derive(Serialize)]
pub struct IntegrationView<'a> {
    /// `omk/<goal>/integration`.
    pub branch: &'a str,
    /// Its tip.
    pub commit: &'a CommitId,
}

impl<'a> IntegrationView<'a> {
    /// Of the model's integration.
    pub fn of(i: &'a Integration) -> IntegrationView<'a> {
        IntegrationView {
            branch: &i.branch,
            commit: &i.commit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::fake;

    /// Each model value and its view serialise to the same JSON.
    macro_rules! same {
        ($models:expr, $view:expr) => {
            for m in $models.iter() {
                let expected = serde_json::to_string(m).unwrap();
                assert_eq!(serde_json::to_string(&$view(m)).unwrap(), expected);
            }
        };
    }

    /// Actors, blockers, human decisions and the integration print as the model printed them, every
    /// variant and optional key included.
    #[test]
    fn the_record_part_views_print_as_the_model_did() {
        let kinds = [
            ActorKind::Human,
            ActorKind::Controller,
            ActorKind::Agent,
            ActorKind::System,
        ];
        let actors = kinds.map(|kind| Actor {
            kind,
            name: "A <a@x>".into(),
            host: "h".into(),
        });
        same!(&actors, ActorView::of);
        let blockers = [
            Blocker::Questions {
                questions: vec!["Which?".into(), "Why?".into()],
            },
            Blocker::Rejected { reason: "no".into() },
            Blocker::ReviewQuestions {
                questions: vec!["github:r asks: ok?".into()],
            },
        ];
        same!(&blockers, BlockerView::of);
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let decisions =
            [(Verdict::Accept, Some("t1")), (Verdict::Reject, None)].map(|(verdict, task)| HumanDecision {
                verdict,
                text: "because".into(),
                by: "A <a@x>".into(),
                at,
                event: EventId::from_random([3; 10]),
                task: task.map(|t| TaskId::parse(t).unwrap()),
            });
        same!(&decisions, HumanDecisionView::of);
        let integration = [Integration {
            branch: "omk/g/integration".into(),
            commit: fake::commit("tip"),
        }];
        same!(&integration, IntegrationView::of);
    }
}
