//! Slice pull requests (DESIGN §9, opt-in `--slice-prs`): one PR per integrated task branch into the
//! goal's integration branch, each with its own slice of the evidence and a link to the proof commit,
//! listed by the integrator PR.
//!
//! Owns the order slices are delivered in (the order their merges sit on the integration branch), what
//! each slice PR says, and the lines the integrator PR lists them with. The ops layer pushes, talks to the
//! forge and records. Pure.

use std::fmt::Write as _;

use super::body::{MAX_BODY_CHARS, commit_url};
use super::markdown::{cell, code, short, truncate_to};
use crate::model::ids::TaskId;
use crate::model::snapshot::Snapshot;
use crate::model::task::{AttemptOutcome, Task, TaskStatus};

/// The hidden marker a slice PR's body starts with.
pub const SLICE_MARKER: &str = "<!-- git-omk:slice-pr -->";

/// One integrated task as the integration branch holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slice {
    /// The task.
    pub task: TaskId,
    /// Its branch (`omk/<goal>/tasks/<task>`).
    pub branch: String,
    /// The task's own commit (its last successful attempt).
    pub commit: String,
    /// The integration commit before the task was merged (the slice PR's base).
    pub before: String,
    /// The integration commit that merged it.
    pub integrated: String,
}

/// The integrated tasks of `snapshot` in the order their merges sit on the integration branch, walking
/// from the goal's base: `before` gives the integration commit a merge commit was made on (its first
/// parent). Tasks whose merge is not on that chain come last, in plan order.
pub fn slices(snapshot: &Snapshot, before: impl Fn(&str) -> Option<String>) -> Vec<Slice> {
    let mut pending: Vec<Slice> = snapshot
        .tasks
        .tasks
        .iter()
        .filter_map(|t| slice_of(t, &before))
        .collect();
    let mut ordered = Vec::with_capacity(pending.len());
    let mut at = snapshot.goal.base.commit.to_string();
    while let Some(i) = pending.iter().position(|s| s.before == at) {
        let next = pending.remove(i);
        at = next.integrated.clone();
        ordered.push(next);
    }
    ordered.extend(pending);
    ordered
}

fn slice_of(task: &Task, before: &impl Fn(&str) -> Option<String>) -> Option<Slice> {
    if task.status != TaskStatus::Done {
        return None;
    }
    let integrated = task.integrated?.to_string();
    let commit = task
        .attempts
        .iter()
        .rev()
        .find(|a| a.outcome == AttemptOutcome::Succeeded)
        .and_then(|a| a.commit.map(|c| c.to_string()))?;
    Some(Slice {
        task: task.id.clone(),
        branch: task.branch.clone()?,
        before: before(&integrated)?,
        commit,
        integrated,
    })
}

/// What a slice PR shows about its task, gathered by the ops layer from the goal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SliceFacts {
    /// The goal.
    pub goal_id: String,
    /// The goal's title.
    pub goal_title: String,
    /// The task id.
    pub task: String,
    /// Its title.
    pub title: String,
    /// Its kind.
    pub kind: String,
    /// The agent that ran it (as configured) and the engine and version, when recorded.
    pub agent: String,
    /// The write set.
    pub write_set: Vec<String>,
    /// Tasks it depends on.
    pub depends_on: Vec<String>,
    /// Its acceptance criteria.
    pub acceptance: Vec<String>,
    /// Each attempt in words.
    pub attempts: Vec<String>,
    /// The task gates on its last attempt, in words.
    pub gates: Vec<String>,
    /// What the agent said at the end of its last attempt.
    pub summary: Option<String>,
    /// The proof commit (what the integrator PR links too).
    pub proof_commit: Option<String>,
    /// The goal's verdict.
    pub status: String,
}

/// The title of a slice PR.
pub fn slice_title(facts: &SliceFacts) -> String {
    format!("[{}] {}", facts.task, facts.title.trim())
}

/// The body of a slice PR.
pub fn slice_body(facts: &SliceFacts, html_url: Option<&str>) -> String {
    let mut out = format!("{SLICE_MARKER}\n");
    let _ = writeln!(
        out,
        "Slice `{}` of goal `{}` — {}\n",
        facts.task,
        facts.goal_id,
        cell(&facts.goal_title)
    );
    let _ = writeln!(
        out,
        "Integrated by git-omk into the goal's integration branch, whose pull request (the integrator PR) \
         lists every slice. Review here; the goal's proof covers the integrated result.\n"
    );
    let _ = writeln!(out, "{}\n", proof_line(facts, html_url));
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| task | {} ({}) |", code(&facts.task), cell(&facts.kind));
    let _ = writeln!(out, "| agent | {} |", cell(&facts.agent));
    let _ = writeln!(out, "| write set | {} |", list(&facts.write_set));
    let _ = writeln!(out, "| depends on | {} |", list(&facts.depends_on));
    out.push('\n');
    section(&mut out, "Acceptance", &facts.acceptance, "none recorded");
    section(&mut out, "Attempts", &facts.attempts, "none recorded");
    section(
        &mut out,
        "Task gates",
        &facts.gates,
        "no task gate evidence is recorded",
    );
    let _ = writeln!(out, "## Agent summary\n");
    match &facts.summary {
        Some(s) if !s.trim().is_empty() => {
            for line in s.trim().lines() {
                let _ = writeln!(out, "> {line}");
            }
            out.push('\n');
        }
        _ => {
            let _ = writeln!(out, "_The agent said nothing at the end of its attempt._\n");
        }
    }
    truncate_to(out, MAX_BODY_CHARS)
}

fn proof_line(facts: &SliceFacts, html_url: Option<&str>) -> String {
    let status = code(&facts.status);
    match (&facts.proof_commit, html_url) {
        (Some(sha), Some(html)) => format!(
            "**Goal proof:** {status} · proof commit [{}]({})",
            code(&short(sha)),
            commit_url(html, sha)
        ),
        (Some(sha), None) => format!("**Goal proof:** {status} · proof commit {}", code(&short(sha))),
        (None, _) => format!("**Goal proof:** {status} · proof commit: _missing (no proof is recorded yet)_"),
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "—".to_owned()
    } else {
        items.iter().map(|i| code(i)).collect::<Vec<_>>().join(", ")
    }
}

fn section(out: &mut String, heading: &str, items: &[String], empty: &str) {
    let _ = writeln!(out, "## {heading}\n");
    if items.is_empty() {
        let _ = writeln!(out, "_{empty}_\n");
        return;
    }
    for item in items.iter().take(40) {
        let _ = writeln!(out, "- {}", cell(item));
    }
    out.push('\n');
}

/// The line the integrator PR lists a slice PR with: ``#12 `a` Fix add (merged)``.
pub fn slice_line(number: u64, task: &TaskId, title: &str, merged: bool) -> String {
    let state = if merged { "merged" } else { "open" };
    format!("#{number} `{task}` {} ({state})", title.trim())
}
