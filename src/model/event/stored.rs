//! Goals recorded before commit and tree ids were typed still read the same: every id-bearing event
//! written as the older code wrote it (`fixtures/goals/typed-ids-events.jsonl`: ids as 40-digit hex
//! strings, compact JSON, one event per line) parses, serialises back to the very same bytes, and
//! applies to a snapshot whose `goal.json` and `tasks.json` keep the same hex text.

use super::*;
use crate::model::proof::tests::{BASE, Goal};
use crate::model::status::GoalKind;

/// Events as stored in `events.jsonl` by the code that kept ids as strings.
const STORED: &str = include_str!("../../../fixtures/goals/typed-ids-events.jsonl");

const ATTEMPT: &str = "1f3c5e7a9b2d4f6081a3c5e7092b4d6f8a0c2e41";
const ATTEMPT_TREE: &str = "7d0e2c4a6b8f1e3d5c7a9b0d2f4e6c8a1b3d5f70";
const RESULT: &str = "a0b1c2d3e4f5061728394a5b6c7d8e9f00112233";

fn stored_events() -> Vec<Event> {
    STORED
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[test]
fn events_recorded_with_string_ids_read_and_write_back_byte_for_byte() {
    let events = stored_events();
    assert_eq!(events.len(), 12);
    for (line, event) in STORED.lines().zip(&events) {
        assert_eq!(serde_json::to_string(event).unwrap(), line);
    }
}

#[test]
fn a_snapshot_replayed_from_them_keeps_the_same_hex_text() {
    let mut snapshot = Goal::planned(GoalKind::Bugfix).snapshot;
    for event in &stored_events() {
        snapshot.apply(event);
    }
    let s = &snapshot;
    let integration = s.goal.integration.as_ref().expect("integration started");
    assert_eq!(integration.commit.to_string(), RESULT);
    let task = &s.tasks.tasks[0];
    assert_eq!(task.integrated.map(|c| c.to_string()).as_deref(), Some(RESULT));
    let attempt = &task.attempts[1];
    assert_eq!(attempt.commit.map(|c| c.to_string()).as_deref(), Some(ATTEMPT));
    assert_eq!(attempt.tree.map(|t| t.to_string()).as_deref(), Some(ATTEMPT_TREE));
    let goal_json = serde_json::to_string_pretty(&s.goal).unwrap();
    let tasks_json = serde_json::to_string_pretty(&s.tasks).unwrap();
    for text in [
        format!("\"commit\": \"{RESULT}\""),
        format!("\"commit\": \"{}\"", crate::model::ids::fake::commit(BASE)),
    ] {
        assert!(goal_json.contains(&text), "{text} in {goal_json}");
    }
    for text in [
        format!("\"commit\": \"{ATTEMPT}\""),
        format!("\"tree\": \"{ATTEMPT_TREE}\""),
        format!("\"integrated\": \"{RESULT}\""),
    ] {
        assert!(tasks_json.contains(&text), "{text} in {tasks_json}");
    }
    let goal_back: crate::model::goal::GoalState = serde_json::from_str(&goal_json).unwrap();
    assert_eq!(goal_back, s.goal);
    assert_eq!(serde_json::to_string_pretty(&goal_back).unwrap(), goal_json);
}

#[test]
fn a_recorded_id_that_is_not_one_makes_the_event_unreadable() {
    let line = STORED.lines().nth(6).expect("task_integrated");
    for bad in [
        "",
        "a0b1c2",
        "A0B1C2D3E4F5061728394A5B6C7D8E9F00112233",
        "../../etc/passwd",
    ] {
        let corrupt = line.replace(RESULT, bad);
        let err = serde_json::from_str::<Event>(&corrupt).expect_err("not a commit id");
        assert!(err.to_string().contains("is not a commit id"), "{err}");
    }
}
