//! Follow-up tasks a task's agent proposes (DESIGN §5): the controller validates each against the graph
//! and write-set rules and the budget, and records it, accepted or rejected with why, before it runs.
//!
//! An agent proposes follow-ups with a fenced ```json block in its final answer:
//! `{"follow_ups": [{"id", "title", "description", "kind", "depends_on", "write_set", "acceptance"}]}`
//! (the task shape of `plan_answer`). Only a succeeded attempt's proposals count (a retried attempt would
//! propose them again). A follow-up always depends on the task that proposed it, and on every task whose
//! write set it may collide with, so it can never run concurrently with a conflicting task. Pure.

use serde::Deserialize;

use super::budget::exhausted;
use super::decision::DecisionDraft;
use super::graph::TaskGraph;
use super::ids::TaskId;
use super::plan_answer::{MAX_AGENT_TASKS, RawTask, to_task};
use super::snapshot::Snapshot;
use super::task::{Task, TaskKind};
use super::writeset::sets_may_overlap;

/// Most follow-ups taken from one answer.
pub const MAX_PER_ANSWER: usize = 3;

/// What became of an answer's proposals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Review {
    /// Tasks to add, validated.
    pub accepted: Vec<Task>,
    /// One decision per proposal (accepted or rejected, with why).
    pub decisions: Vec<DecisionDraft>,
}

#[derive(Deserialize)]
struct Answer {
    follow_ups: Vec<serde_json::Value>,
}

/// Review the follow-ups proposed in `answer` by task `from` of `snapshot`.
pub fn review(snapshot: &Snapshot, from: &TaskId, answer: &str) -> Review {
    let mut out = Review::default();
    let Some(block) = proposal_block(answer) else {
        return out;
    };
    let proposals = match serde_json::from_str::<Answer>(block) {
        Ok(a) => a.follow_ups,
        Err(e) => {
            out.decisions.push(reject(
                from,
                "(unreadable)",
                format!("the block is not a follow_ups object ({e})"),
            ));
            return out;
        }
    };
    let spent = exhausted(&snapshot.goal.limits, &snapshot.goal.usage);
    let kind = snapshot.tasks.get(from).map(|t| t.kind);
    for (i, value) in proposals.into_iter().enumerate() {
        let name = value
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or("(no id)")
            .to_owned();
        let verdict = if !spent.is_empty() {
            Err("the goal's budget is exhausted".to_owned())
        } else if i >= MAX_PER_ANSWER {
            Err(format!(
                "at most {MAX_PER_ANSWER} follow-ups are taken from one answer"
            ))
        } else if snapshot.tasks.tasks.len() + out.accepted.len() >= MAX_AGENT_TASKS {
            Err(format!("a goal has at most {MAX_AGENT_TASKS} tasks"))
        } else {
            serde_json::from_value::<RawTask>(value)
                .map_err(|e| format!("not a task ({e})"))
                .and_then(|raw| {
                    if raw.removes_tests.is_empty() {
                        Ok(raw)
                    } else {
                        Err("a follow-up cannot declare that it removes tests: only the plan can".to_owned())
                    }
                })
                .and_then(|raw| to_task(&raw, kind.unwrap_or(TaskKind::Implement)).map_err(|p| p.join("; ")))
                .and_then(|task| place(snapshot, &out.accepted, from, task))
        };
        match verdict {
            Ok((task, after)) => {
                out.decisions.push(
                    DecisionDraft::new(
                        "follow-up",
                        format!("accept follow-up {} proposed by task {from}", task.id),
                        "it is a valid task inside the repository, ordered after the tasks it could collide with, within the budget",
                    )
                    .with_evidence(after),
                );
                out.accepted.push(task);
            }
            Err(why) => out.decisions.push(reject(from, &name, why)),
        }
    }
    out
}

fn reject(from: &TaskId, name: &str, why: String) -> DecisionDraft {
    DecisionDraft::new(
        "follow-up",
        format!("reject follow-up {name} proposed by task {from}"),
        why,
    )
}

/// Give `task` its dependencies (the proposer, and every task it may collide with) and check the graph.
/// Returns the task and the orderings added, in words.
fn place(
    snapshot: &Snapshot,
    accepted: &[Task],
    from: &TaskId,
    mut task: Task,
) -> Result<(Task, Vec<String>), String> {
    let existing: Vec<&Task> = snapshot.tasks.tasks.iter().chain(accepted).collect();
    if existing.iter().any(|t| t.id == task.id) {
        return Err(format!("task id `{}` is already used", task.id));
    }
    let mut notes = Vec::new();
    if !task.depends_on.contains(from) {
        task.depends_on.push(from.clone());
        notes.push(format!("runs after {from}, which proposed it"));
    }
    for other in &existing {
        if !task.depends_on.contains(&other.id) && sets_may_overlap(&other.write_set, &task.write_set) {
            task.depends_on.push(other.id.clone());
            notes.push(format!("runs after {}: their write sets may overlap", other.id));
        }
    }
    let mut all: Vec<Task> = existing.into_iter().cloned().collect();
    all.push(task.clone());
    TaskGraph::new(all).map_err(|e| e.to_string())?;
    Ok((task, notes))
}

/// The last fenced ```json block that mentions `follow_ups`.
fn proposal_block(answer: &str) -> Option<&str> {
    let mut found = None;
    let mut rest = answer;
    let mut offset = 0;
    while let Some(start) = rest.find("```json") {
        let body = start + "```json".len();
        let Some(len) = rest[body..].find("```") else {
            break;
        };
        let block = &answer[offset + body..offset + body + len];
        if block.contains("\"follow_ups\"") {
            found = Some(block);
        }
        offset += body + len + 3;
        rest = &answer[offset..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::budget::Usage;
    use crate::model::event::{Actor, ActorKind, BaseRef, Event, EventBody, GoalCreated};
    use crate::model::graph::tests::task;
    use crate::model::ids::fake;
    use crate::model::ids::{EventId, GoalId};
    use crate::model::options::RunOptions;
    use chrono::{TimeZone, Utc};

    fn snapshot(tasks: Vec<Task>) -> Snapshot {
        let id = GoalId::parse("20261122-100000-aaaaaaaa").unwrap();
        let created = Event {
            id: EventId::parse("e0").unwrap(),
            at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap(),
            actor: Actor {
                kind: ActorKind::Controller,
                name: "c".into(),
                host: "h".into(),
            },
            body: EventBody::GoalCreated(GoalCreated {
                text: "x".into(),
                base: BaseRef {
                    rev: "HEAD".into(),
                    commit: fake::commit("b"),
                },
                options: RunOptions::default(),
                nonce: "n".into(),
            }),
        };
        let mut s = Snapshot::genesis(&id, &created).unwrap();
        s.tasks = TaskGraph::new(tasks).unwrap();
        s
    }

    fn answer(items: &str) -> String {
        format!("Done.\n```json\n{{\"follow_ups\": [{items}]}}\n```\n")
    }

    fn a() -> TaskId {
        TaskId::parse("a").unwrap()
    }

    #[test]
    fn valid_follow_ups_are_ordered_after_their_proposer_and_conflicts() {
        let s = snapshot(vec![task("a", &[], &["src/a.rs"]), task("b", &[], &["src/b.rs"])]);
        let r = review(
            &s,
            &a(),
            &answer(
                r#"{"id": "docs-a", "title": "Document a", "write_set": ["src/b.rs", "docs/a.md"], "acceptance": ["documented"]}"#,
            ),
        );
        assert_eq!(r.accepted.len(), 1, "{:?}", r.decisions);
        let deps: Vec<&str> = r.accepted[0].depends_on.iter().map(TaskId::as_str).collect();
        assert_eq!(deps, ["a", "b"]);
        assert!(r.decisions[0].chosen.starts_with("accept follow-up docs-a"));
        assert!(review(&s, &a(), "All done, nothing else.").decisions.is_empty());
    }

    #[test]
    fn invalid_follow_ups_are_rejected_with_why() {
        let s = snapshot(vec![task("a", &[], &["src/a.rs"])]);
        let items = [
            r#"{"id": "a", "title": "dup", "write_set": ["x"], "acceptance": ["x"]}"#,
            r#"{"id": "esc", "title": "escape", "write_set": ["../x"], "acceptance": ["x"]}"#,
            r#"{"id": "ghost", "title": "g", "depends_on": ["zz"], "write_set": ["y"], "acceptance": ["x"]}"#,
            r#"{"id": "fourth", "title": "f", "write_set": ["z"], "acceptance": ["x"]}"#,
        ];
        let r = review(&s, &a(), &answer(&items.join(",")));
        assert!(r.accepted.is_empty());
        let why: Vec<&str> = r.decisions.iter().map(|d| d.why.as_str()).collect();
        assert!(why[0].contains("already used"), "{why:?}");
        assert!(why[1].contains("leaves the repository"), "{why:?}");
        assert!(why[2].contains("unknown task `zz`"), "{why:?}");
        assert!(why[3].contains("at most 3"), "{why:?}");
        let removes = r#"{"id": "drop", "title": "d", "write_set": ["t"], "acceptance": ["x"], "removes_tests": ["test_sub"]}"#;
        let r = review(&s, &a(), &answer(removes));
        assert!(
            r.accepted.is_empty(),
            "the supervised agent cannot excuse its own removals"
        );
        assert!(
            r.decisions[0].why.contains("only the plan can"),
            "{:?}",
            r.decisions
        );
        let r = review(&s, &a(), "```json\n{\"follow_ups\": 3}\n```");
        assert!(r.decisions[0].chosen.contains("reject"), "{:?}", r.decisions);
        let mut broke = s.clone();
        broke.goal.limits.tokens = Some(10);
        broke.goal.usage = Usage {
            tokens: 10,
            ..Usage::default()
        };
        let r = review(
            &broke,
            &a(),
            &answer(r#"{"id": "more", "title": "m", "write_set": ["m"], "acceptance": ["x"]}"#),
        );
        assert!(r.accepted.is_empty() && r.decisions[0].why.contains("budget"));
    }
}
