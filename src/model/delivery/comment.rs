//! The sticky proof-summary comment: one comment per PR, found by a hidden marker and updated in place
//! with the latest proof, never posted twice (DESIGN §9).
//!
//! Owns the marker, the comment text and the choice of which existing comment to update. Pure.

use std::fmt::Write as _;

use super::body::{PrContext, proof_line};
use super::facts::{GateResult, ProofFacts};
use super::markdown::{cell, code, short, truncate_to};

/// The hidden marker every sticky comment starts with.
pub const STICKY_MARKER: &str = "<!-- git-omk:proof-summary -->";

/// Comments are limited like bodies; the summary is short anyway.
const MAX_COMMENT_CHARS: usize = 20_000;

/// Whether a comment body is a git-omk sticky summary (the marker must open the comment, so a quote of it
/// in someone else's comment does not count).
pub fn is_sticky(body: &str) -> bool {
    body.trim_start().starts_with(STICKY_MARKER)
}

/// An existing comment, as far as the upsert needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExistingComment {
    /// Comment id.
    pub id: u64,
    /// Its body.
    pub body: String,
}

/// What to do with the sticky comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StickyAction {
    /// No sticky comment exists: post one.
    Create,
    /// One exists with other text: edit it.
    Update {
        /// The comment to edit (the oldest sticky comment).
        id: u64,
    },
    /// The oldest sticky comment already says exactly this.
    Unchanged {
        /// Its id.
        id: u64,
    },
}

/// The upsert decision, plus extra sticky comments left behind by an interrupted earlier run (a retried
/// request that had in fact succeeded); they are ours and are removed so exactly one remains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StickyPlan {
    /// Create, update or leave.
    pub action: StickyAction,
    /// Duplicate sticky comments to delete.
    pub duplicates: Vec<u64>,
}

/// Decide how to make `wanted` the one sticky comment among `existing` (in posting order).
pub fn plan_sticky(existing: &[ExistingComment], wanted: &str) -> StickyPlan {
    let mut ours = existing.iter().filter(|c| is_sticky(&c.body));
    let Some(first) = ours.next() else {
        return StickyPlan {
            action: StickyAction::Create,
            duplicates: Vec::new(),
        };
    };
    let action = if first.body.trim() == wanted.trim() {
        StickyAction::Unchanged { id: first.id }
    } else {
        StickyAction::Update { id: first.id }
    };
    StickyPlan {
        action,
        duplicates: ours.map(|c| c.id).collect(),
    }
}

/// The sticky comment text: the verdict, gate and task counts, and what the summary is for.
pub fn sticky_comment(ctx: &PrContext<'_>) -> String {
    let f = ctx.facts;
    let mut out = String::new();
    let _ = writeln!(out, "{STICKY_MARKER}\n### git-omk proof summary\n");
    let _ = writeln!(out, "{}\n", proof_line(ctx));
    let _ = writeln!(out, "- gates: {}", gate_counts(f));
    let _ = writeln!(out, "- tasks: {}", task_counts(f));
    match ctx.head {
        Some(head) => {
            let _ = writeln!(out, "- delivered head: {}", code(&short(head)));
        }
        None => out.push_str("- delivered head: _unknown_\n"),
    }
    for reason in f.reasons.iter().take(10) {
        let _ = writeln!(out, "- not ready: {}", cell(reason));
    }
    for missing in f.missing.iter().take(10) {
        let _ = writeln!(out, "- missing: {}", cell(missing));
    }
    let _ = writeln!(
        out,
        "\n_This comment is updated in place by git-omk whenever the proof changes._"
    );
    truncate_to(out, MAX_COMMENT_CHARS)
}

fn gate_counts(f: &ProofFacts) -> String {
    if f.gates.is_empty() {
        return "_missing (no gate evidence is recorded)_".to_owned();
    }
    let count = |r: GateResult| f.gates.iter().filter(|g| g.after == r).count();
    let required_failing = f
        .gates
        .iter()
        .filter(|g| g.required && g.after != GateResult::Passed)
        .count();
    format!(
        "{} passed, {} failed, {} not run on the result; {} required gate(s) not passing",
        count(GateResult::Passed),
        count(GateResult::Failed),
        count(GateResult::NotRun),
        required_failing
    )
}

fn task_counts(f: &ProofFacts) -> String {
    if f.tasks.is_empty() {
        return "none recorded".to_owned();
    }
    let mut statuses: Vec<(&str, usize)> = Vec::new();
    for t in &f.tasks {
        match statuses.iter_mut().find(|(s, _)| *s == t.status) {
            Some((_, n)) => *n += 1,
            None => statuses.push((&t.status, 1)),
        }
    }
    statuses
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::delivery::facts::{GateRow, TaskRow};
    use crate::model::status::GoalStatus;

    fn facts() -> ProofFacts {
        ProofFacts {
            goal_id: "g".into(),
            title: "t".into(),
            summary: "s".into(),
            status: GoalStatus::NotReady,
            reasons: vec!["a required gate fails".into()],
            proof_commit: Some("1".repeat(40)),
            proven_commit: Some("2".repeat(40)),
            proven_tree: None,
            base_commit: "3".repeat(40),
            tests: Vec::new(),
            gates: vec![GateRow {
                name: "test".into(),
                required: true,
                before: GateResult::Passed,
                after: GateResult::Failed,
            }],
            tasks: vec![
                TaskRow {
                    id: "a".into(),
                    title: "A".into(),
                    status: "done".into(),
                    attempts: 1,
                },
                TaskRow {
                    id: "b".into(),
                    title: "B".into(),
                    status: "failed".into(),
                    attempts: 3,
                },
            ],
            changed_files: vec![],
            gaps: vec![],
            decisions: vec![],
            missing: vec![],
        }
    }

    #[test]
    fn comment_carries_marker_verdict_and_counts() {
        let f = facts();
        let text = sticky_comment(&PrContext {
            facts: &f,
            goal_ref: "refs/omk/goals/g",
            html_url: Some("https://ghe.example.com/o/r"),
            fetch_from: "origin",
            head: Some("4444444444444444"),
            slices: &[],
        });
        assert!(is_sticky(&text));
        assert!(text.contains("`not_ready`"));
        assert!(text.contains(&format!("https://ghe.example.com/o/r/commit/{}", "1".repeat(40))));
        assert!(text.contains("1 failed"));
        assert!(text.contains("1 done, 1 failed"));
        assert!(text.contains("`444444444444`"));
        assert!(text.contains("not ready: a required gate fails"));
    }

    #[test]
    fn upsert_creates_once_updates_the_oldest_and_drops_duplicates() {
        let wanted = format!("{STICKY_MARKER}\nnew");
        assert_eq!(plan_sticky(&[], &wanted).action, StickyAction::Create);
        let human = ExistingComment {
            id: 1,
            body: format!("> {STICKY_MARKER}\nquoting it"),
        };
        assert_eq!(
            plan_sticky(std::slice::from_ref(&human), &wanted).action,
            StickyAction::Create
        );
        let old = ExistingComment {
            id: 2,
            body: format!("{STICKY_MARKER}\nold"),
        };
        let dup = ExistingComment {
            id: 3,
            body: format!("{STICKY_MARKER}\nold"),
        };
        let plan = plan_sticky(&[human.clone(), old.clone(), dup], &wanted);
        assert_eq!(plan.action, StickyAction::Update { id: 2 });
        assert_eq!(plan.duplicates, vec![3]);
        let same = ExistingComment {
            id: 2,
            body: wanted.clone(),
        };
        assert_eq!(
            plan_sticky(&[human, same], &wanted).action,
            StickyAction::Unchanged { id: 2 }
        );
    }
}
