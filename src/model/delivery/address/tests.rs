use chrono::{DateTime, Utc};

use super::*;
use crate::model::delivery::record::PrOpened;
use crate::model::event::{Actor, ActorKind, BaseRef, Event, EventBody, GoalCreated};
use crate::model::goal::Integration;
use crate::model::graph::tests::task;
use crate::model::ids::{EventId, GoalId, fake};
use crate::model::options::RunOptions;

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

/// A delivered, ready goal with one integrated task writing `calc.py`.
fn delivered() -> Snapshot {
    let created = event(
        0,
        EventBody::GoalCreated(GoalCreated {
            text: "Fix add".into(),
            base: BaseRef {
                rev: "main".into(),
                commit: fake::commit(&"0".repeat(40)),
            },
            options: RunOptions::default(),
            nonce: "n".into(),
        }),
    );
    let id = GoalId::parse("20261122-031142-3fa9c01b").expect("valid id");
    let mut s = Snapshot::genesis(&id, &created).expect("creation event");
    let mut t = task("t1-fix-add", &[], &["calc.py"]);
    t.status = TaskStatus::Done;
    t.integrated = Some(fake::commit(&"1".repeat(40)));
    s.tasks = TaskGraph::new(vec![t]).expect("valid graph");
    s.goal.integration = Some(Integration {
        branch: "omk/g/integration".into(),
        commit: fake::commit(&"1".repeat(40)),
    });
    s.goal.status = GoalStatus::Ready;
    s.apply(&event(
        1,
        EventBody::PrOpened(PrOpened {
            number: 7,
            url: "https://github.com/o/r/pull/7".into(),
            head: "omk/g/integration".into(),
            head_sha: "1".repeat(40),
            base: "main".into(),
            draft: false,
            created: true,
            proof_commit: None,
            task: None,
            merged: false,
        }),
    ));
    s
}

fn inline(id: u64, path: &str, body: &str) -> Feedback {
    Feedback {
        kind: FeedbackKind::ReviewComment,
        id,
        source: "github:alice".into(),
        review_id: Some(1),
        path: Some(path.into()),
        line: None,
        position: Some(1),
        body: body.into(),
        url: format!("https://github.com/o/r/pull/7#discussion_r{id}"),
        ask: super::super::reviews::ask_of(body),
    }
}

fn review(id: u64, body: &str) -> Feedback {
    Feedback {
        kind: FeedbackKind::Review,
        review_id: None,
        path: None,
        position: None,
        url: format!("https://github.com/o/r/pull/7#pullrequestreview-{id}"),
        ..inline(id, "", body)
    }
}

#[test]
fn inline_comments_become_one_fix_task_per_file_starting_from_the_result() {
    let s = delivered();
    let batch = plan_fixes(
        &s,
        7,
        vec![
            review(1, "Two things."),
            inline(10, "calc.py", "Please add a docstring."),
            inline(11, "calc.py", "Please name the arguments x and y."),
            inline(12, "README.md", "Please mention add."),
        ],
    );
    let ids: Vec<&str> = batch.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["review-1-1", "review-1-2"]);
    let calc = &batch.tasks[0];
    assert_eq!(calc.write_set, [PathPattern::parse("calc.py").expect("valid")]);
    assert_eq!(calc.depends_on, [TaskId::parse("t1-fix-add").expect("valid")]);
    assert_eq!(calc.kind, TaskKind::Fix);
    for text in [
        "Two things.",
        "> Please add a docstring.",
        "> Please name the arguments",
    ] {
        assert!(calc.description.contains(text), "{text}: {}", calc.description);
    }
    let tasks: Vec<Option<&str>> = batch
        .items
        .iter()
        .map(|i| i.task.as_ref().map(TaskId::as_str))
        .collect();
    assert_eq!(
        tasks,
        [
            Some("review-1-1"),
            Some("review-1-1"),
            Some("review-1-1"),
            Some("review-1-2")
        ],
        "the review's own text is context of the file task of its comments"
    );
}

#[test]
fn a_recorded_batch_reopens_the_goal_and_the_loop_drives_then_delivers_then_replies() {
    let mut s = delivered();
    assert_eq!(next(&s), AddressStep::Read);
    let batch = plan_fixes(&s, 7, vec![inline(10, "calc.py", "Please add a docstring.")]);
    s.apply(&event(2, EventBody::ReviewFeedback(batch)));
    assert_eq!(
        (s.goal.status, s.goal.phase),
        (GoalStatus::Running, Phase::Execution)
    );
    assert_eq!(s.goal.delivery.review_rounds, 1);
    assert_eq!(next(&s), AddressStep::Drive);

    let fix = s
        .tasks
        .get_mut(&TaskId::parse("review-1-1").expect("valid"))
        .expect("joined");
    fix.status = TaskStatus::Done;
    fix.integrated = Some(fake::commit(&"2".repeat(40)));
    if let Some(i) = s.goal.integration.as_mut() {
        i.commit = fake::commit(&"2".repeat(40));
    }
    s.goal.status = GoalStatus::Ready;
    assert_eq!(next(&s), AddressStep::Deliver, "the PR head is the old result");
    s.goal.delivery.pr_head = Some("2".repeat(40));
    let AddressStep::Reply(waiting) = next(&s) else {
        panic!("replies wait: {:?}", next(&s))
    };
    let text = reply_text(
        &waiting[0],
        &resolution(&s, &waiting[0]),
        "https://github.com/o/r",
        &s.goal,
    );
    assert!(text.starts_with(REPLY_MARKER), "{text}");
    assert!(
        text.contains(&format!("https://github.com/o/r/commit/{}", "2".repeat(40))),
        "{text}"
    );
    s.apply(&event(
        3,
        EventBody::ReviewReplied(RepliesPosted {
            replies: vec![ReplyPosted {
                kind: FeedbackKind::ReviewComment,
                id: 10,
                reply_id: 99,
                commit: Some("2".repeat(40)),
                addressed: true,
            }],
        }),
    ));
    assert_eq!(next(&s), AddressStep::Read, "nothing is left over");
}

#[test]
fn a_question_alone_blocks_the_goal_on_a_human_and_resume_clears_it() {
    let mut s = delivered();
    let batch = plan_fixes(&s, 7, vec![inline(11, "calc.py", "Why subtract here?")]);
    assert!(batch.tasks.is_empty());
    assert!(
        batch.items[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("question"))
    );
    s.apply(&event(2, EventBody::ReviewFeedback(batch)));
    assert_eq!(s.goal.status, GoalStatus::BlockedOnHuman);
    assert!(s.goal.blockers.iter().any(
        |b| matches!(b, Blocker::ReviewQuestions { questions } if questions[0].contains("Why subtract"))
    ));
    let AddressStep::Reply(waiting) = next(&s) else {
        panic!("the question waits for its reply")
    };
    let text = reply_text(&waiting[0], &resolution(&s, &waiting[0]), "https://x", &s.goal);
    assert!(
        text.contains("Not addressed by git-omk: it asks a question"),
        "{text}"
    );
    s.apply(&event(3, EventBody::Resumed {}));
    assert!(s.goal.blockers.is_empty());
}

#[test]
fn feedback_whose_task_would_not_validate_is_recorded_with_why() {
    let s = delivered();
    let batch = plan_fixes(&s, 7, vec![inline(10, "../outside.py", "Please fix.")]);
    assert!(batch.tasks.is_empty());
    assert!(batch.items[0].task.is_none());
    assert!(
        batch.items[0].note.as_deref().is_some_and(|n| n.contains("..")),
        "{batch:?}"
    );
}

#[test]
fn a_conversation_comment_becomes_a_task_over_the_goals_files_after_the_file_tasks() {
    let s = delivered();
    let mut talk = review(20, "Please also handle floats.");
    talk.kind = FeedbackKind::Conversation;
    let batch = plan_fixes(
        &s,
        7,
        vec![inline(10, "calc.py", "Please add a docstring."), talk],
    );
    assert_eq!(batch.tasks.len(), 2);
    let general = &batch.tasks[1];
    assert_eq!(general.write_set, [PathPattern::parse("calc.py").expect("valid")]);
    assert!(general.depends_on.iter().any(|d| d.as_str() == "review-1-1"));
}

#[test]
fn the_same_feedback_recorded_twice_is_kept_once() {
    let mut s = delivered();
    let batch = plan_fixes(&s, 7, vec![inline(10, "calc.py", "Please add a docstring.")]);
    s.apply(&event(2, EventBody::ReviewFeedback(batch.clone())));
    s.apply(&event(3, EventBody::ReviewFeedback(batch)));
    assert_eq!(s.goal.delivery.feedback.len(), 1);
    assert_eq!(
        s.tasks.tasks.len(),
        2,
        "the second copy's task does not validate (same id)"
    );
}
