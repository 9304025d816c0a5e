//! Event kinds have one spelling: `kind_name` agrees with the serde tag of every kind, and
//! docs/storage.md names and describes each. `one_of_each` has a sample of every kind; `position` is
//! exhaustive, so a new kind does not compile here until it has a sample, and then the tests below
//! check it everywhere.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::*;
use crate::model::decision::DecisionDraft;
use crate::model::delivery::address::{Addressed, ReplyPosted};
use crate::model::delivery::record::DeliveryStage;
use crate::model::delivery::reviews::{Ask, Feedback, FeedbackKind};
use crate::model::gate::Outcome;
use crate::model::graph::tests::task;
use crate::model::ids::fake;
use crate::model::proof::tests::{Goal, RESULT, gate, run};

/// The documentation every kind must be described in.
const STORAGE_MD: &str = include_str!("../../../docs/storage.md");

/// Where `body`'s kind sits in [`one_of_each`]. No catch-all arm: a new kind must be placed here.
fn position(body: &EventBody) -> usize {
    match body {
        EventBody::GoalCreated(_) => 0,
        EventBody::IntakeCompleted { .. } => 1,
        EventBody::PlanRecorded { .. } => 2,
        EventBody::PlannerFinished(_) => 3,
        EventBody::FollowUpsAdded { .. } => 4,
        EventBody::DecisionRecorded(_) => 5,
        EventBody::Paused { .. } => 6,
        EventBody::Resumed {} => 7,
        EventBody::Cancelled { .. } => 8,
        EventBody::BudgetAdded(_) => 9,
        EventBody::QuestionsAnswered { .. } => 10,
        EventBody::Accepted { .. } => 11,
        EventBody::Rejected { .. } => 12,
        EventBody::ControllerStarted { .. } => 13,
        EventBody::LeaseRenewed { .. } => 14,
        EventBody::ControllerStopped { .. } => 15,
        EventBody::PhaseStarted { .. } => 16,
        EventBody::IntegrationStarted { .. } => 17,
        EventBody::BaselineRecorded(_) => 18,
        EventBody::TaskDispatched { .. } => 19,
        EventBody::AttemptFinished(_) => 20,
        EventBody::TaskIntegrated { .. } => 21,
        EventBody::TaskBlocked { .. } => 22,
        EventBody::UsageAdded(_) => 23,
        EventBody::VerificationRecorded(_) => 24,
        EventBody::BaseRunRecorded(_) => 25,
        EventBody::HarnessChecked(_) => 26,
        EventBody::ReviewRecorded(_) => 27,
        EventBody::ProofRecorded(_) => 28,
        EventBody::WorkSaved { .. } => 29,
        EventBody::GoalStopped { .. } => 30,
        EventBody::PrOpened(_) => 31,
        EventBody::MergeRecorded(_) => 32,
        EventBody::MergeAwaitingHuman(_) => 33,
        EventBody::DeliveryFailed(_) => 34,
        EventBody::ReviewFeedback(_) => 35,
        EventBody::ReviewReplied(_) => 36,
        EventBody::Archived {} => 37,
        EventBody::Unarchived {} => 38,
    }
}

fn a() -> TaskId {
    TaskId::parse("a").expect("a valid task id")
}

/// One event of every kind, in the order of [`position`].
fn one_of_each() -> Vec<EventBody> {
    let at = Utc
        .with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .single()
        .expect("a valid time");
    let planned = Goal::planned(GoalKind::Bugfix).snapshot;
    let plan = planned.plan.clone().expect("a planned goal has a plan");
    let mut evidenced = Goal::evidenced();
    let proof = evidenced.record_proof();
    let created = GoalCreated {
        text: "Fix it".into(),
        base: BaseRef {
            rev: "HEAD".into(),
            commit: fake::commit("base"),
        },
        options: RunOptions::default(),
        nonce: "n".into(),
    };
    let lease = Lease::new("h", 7, at);
    let addition = BudgetAddition::new(Some(Duration::from_secs(60)), None, None).expect("something to add");
    vec![
        EventBody::GoalCreated(created),
        EventBody::IntakeCompleted {
            kind: GoalKind::Bugfix,
            title: "Fix it".into(),
            questions: Vec::new(),
        },
        EventBody::PlanRecorded {
            plan: plan.clone(),
            tasks: planned.tasks.clone(),
        },
        EventBody::PlannerFinished(Box::new(PlannerReport {
            engine: "exec".into(),
            session_id: None,
            tokens: 3,
            outcome: PlannerOutcome::KeptHeuristic {
                reason: "no plan".into(),
            },
        })),
        EventBody::FollowUpsAdded {
            from: a(),
            tasks: vec![task("b", &["a"], &["docs/**"])],
        },
        EventBody::DecisionRecorded(DecisionDraft {
            step: "execution".into(),
            chosen: "dispatch a".into(),
            why: "ready".into(),
            evidence: Vec::new(),
        }),
        EventBody::Paused { reason: None },
        EventBody::Resumed {},
        EventBody::Cancelled { reason: None },
        EventBody::BudgetAdded(addition),
        EventBody::QuestionsAnswered {
            answer: "slugify in src/slug.py".into(),
        },
        EventBody::Accepted {
            summary: "fine".into(),
            task: None,
        },
        EventBody::Rejected { reason: "no".into() },
        EventBody::ControllerStarted {
            lease: lease.clone(),
            took_over: None,
        },
        EventBody::LeaseRenewed { expires_at: at },
        EventBody::ControllerStopped {
            reason: "done".into(),
        },
        EventBody::PhaseStarted {
            phase: Phase::Execution,
        },
        EventBody::IntegrationStarted {
            branch: "omk/g/integration".into(),
            commit: fake::commit("base"),
        },
        EventBody::BaselineRecorded(run("base", vec![gate("test", true, Outcome::Passed)])),
        EventBody::TaskDispatched {
            task: a(),
            attempt: 1,
            branch: "omk/g/tasks/a".into(),
            start_commit: fake::commit("base"),
        },
        EventBody::AttemptFinished(AttemptReport {
            task: a(),
            attempt: 1,
            outcome: AttemptOutcome::Succeeded,
            commit: Some(fake::commit("attempt1")),
            tree: Some(fake::tree("tree1")),
            tokens: 10,
            session_id: None,
            next: TaskStatus::Done,
            note: None,
        }),
        EventBody::TaskIntegrated {
            task: a(),
            commit: fake::commit(RESULT),
        },
        EventBody::TaskBlocked {
            task: a(),
            reason: "conflict".into(),
        },
        EventBody::UsageAdded(UsageDelta::default()),
        EventBody::VerificationRecorded(run(RESULT, vec![gate("test", true, Outcome::Passed)])),
        EventBody::BaseRunRecorded(BaseRun {
            commit: fake::commit("overlay"),
            result: fake::commit(RESULT),
            overlaid: vec!["tests/test_a.py".into()],
            gates: Vec::new(),
        }),
        EventBody::HarnessChecked(HarnessCheck {
            result: fake::commit(RESULT),
            changes: Vec::new(),
            restored: None,
            error: None,
        }),
        EventBody::ReviewRecorded(Review {
            commit: fake::commit(RESULT),
            findings: Vec::new(),
            gaps: Vec::new(),
            at,
        }),
        EventBody::ProofRecorded(Box::new(proof)),
        EventBody::WorkSaved {
            task: a(),
            commit: fake::commit("saved"),
            reason: "uncommitted work".into(),
        },
        EventBody::GoalStopped {
            status: GoalStatus::Failed,
            reason: "gave up".into(),
        },
        EventBody::PrOpened(PrOpened {
            number: 7,
            url: "https://example.com/o/r/pull/7".into(),
            head: "omk/g/integration".into(),
            head_sha: RESULT.into(),
            base: "main".into(),
            draft: false,
            created: true,
            proof_commit: None,
            task: None,
            merged: false,
        }),
        EventBody::MergeRecorded(MergeRecorded {
            number: 7,
            head_sha: RESULT.into(),
            merge_commit: None,
            by: "gated".into(),
            policy: None,
            checks: Vec::new(),
        }),
        EventBody::MergeAwaitingHuman(MergeAwaitingHuman {
            number: Some(7),
            command: "gh pr merge 7".into(),
        }),
        EventBody::DeliveryFailed(DeliveryFailed {
            stage: DeliveryStage::Push,
            message: "rejected".into(),
            next: "fetch".into(),
        }),
        EventBody::ReviewFeedback(FeedbackRecorded {
            pr: 7,
            round: 1,
            items: vec![Addressed {
                feedback: Feedback {
                    kind: FeedbackKind::ReviewComment,
                    id: 10,
                    source: "github:alice".into(),
                    review_id: Some(1),
                    path: Some("docs/a.md".into()),
                    line: Some(2),
                    position: None,
                    body: "Please fix the typo.".into(),
                    url: "https://example.com/o/r/pull/7#discussion_r10".into(),
                    ask: Ask::Change,
                },
                task: Some(TaskId::parse("review-1-1").expect("a valid task id")),
                note: None,
            }],
            tasks: vec![task("review-1-1", &["a"], &["docs/a.md"])],
        }),
        EventBody::ReviewReplied(RepliesPosted {
            replies: vec![ReplyPosted {
                kind: FeedbackKind::ReviewComment,
                id: 10,
                reply_id: 11,
                commit: Some(RESULT.into()),
                addressed: true,
            }],
        }),
        EventBody::Archived {},
        EventBody::Unarchived {},
    ]
}

#[test]
fn there_is_one_sample_of_every_kind_in_order() {
    for (i, body) in one_of_each().iter().enumerate() {
        assert_eq!(position(body), i, "{}", body.kind_name());
    }
}

#[test]
fn kind_names_are_the_serde_tags() {
    let mut names = BTreeSet::new();
    for body in one_of_each() {
        let json = serde_json::to_value(&body).expect("events serialise");
        assert_eq!(json["kind"], body.kind_name());
        assert!(names.insert(body.kind_name()), "{} twice", body.kind_name());
        let back: EventBody = serde_json::from_value(json).expect("and read back");
        assert_eq!(back, body);
    }
}

#[test]
fn docs_storage_md_describes_every_kind() {
    let missing: Vec<&str> = one_of_each()
        .iter()
        .map(EventBody::kind_name)
        .filter(|kind| !STORAGE_MD.contains(&format!("| `{kind}` |")))
        .collect();
    assert!(missing.is_empty(), "docs/storage.md lacks a row for {missing:?}");
}

#[test]
fn every_kind_applies_and_summarises() {
    let mut goal = Goal::planned(GoalKind::Bugfix);
    for body in one_of_each().into_iter().skip(1) {
        assert!(!body.summary().is_empty(), "{}", body.kind_name());
        goal.apply(body);
    }
    assert_eq!(goal.snapshot.goal.event_count, 3 + 38);
}
