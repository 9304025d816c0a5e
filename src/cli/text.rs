//! Text and Markdown renderers: for people, not a contract (scripts use JSON).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::render::{age, budget_line, short};
use crate::model::budget::exhausted;
use crate::model::gate::Outcome;
use crate::model::goal::{Blocker, GoalState};
use crate::model::planner::describe_check;
use crate::model::proof::{Proof, Readiness};
use crate::model::proof_md::render as render_proof_md;
use crate::model::snapshot::Snapshot;
use crate::model::status::GoalStatus;
use crate::model::task::{Task, TaskStatus};
use crate::ops::query::{GoalRow, Relation};
use crate::ops::replay::{TimelineEntry, VerifyReport};
use crate::ops::verify::VerifyReport as GoalVerifyReport;
use crate::store::GoalRef;

/// `goal list`.
pub fn list(rows: &[GoalRow], now: DateTime<Utc>) -> String {
    if rows.is_empty() {
        return NO_GOALS.to_owned();
    }
    rows.iter().map(|row| list_row(row, now)).collect()
}

/// What `goal list` says when it lists nothing.
pub const NO_GOALS: &str = "no goals yet: create one with git omk goal plan \"<goal>\"\n";

/// One line of `goal list`.
pub fn list_row(row: &GoalRow, now: DateTime<Utc>) -> String {
    let e = &row.entry;
    let m = &e.message;
    let status = m.status.map_or("?", |s| s.as_str());
    let phase = m.phase.map_or("?", |p| p.as_str());
    let created = m.created.map_or_else(|| "?".to_owned(), |c| age(c, now));
    let mut line = format!("{}  {status:<17} {phase:<12} {created:>4}  {}", e.goal, m.title);
    for (remote, relation) in &row.remotes {
        if *relation != Relation::RemoteOnly {
            let _ = write!(line, "  [{remote}: {}]", relation_text(*relation));
        }
    }
    if m.archived {
        line.push_str("  (archived)");
    }
    if let Some(problem) = &e.problem {
        let _ = write!(line, "  (unreadable: {problem})");
    }
    let mut out = line.trim_end().to_owned();
    out.push('\n');
    out
}

fn relation_text(r: Relation) -> &'static str {
    match r {
        Relation::Same => "up to date",
        Relation::Ahead => "ahead",
        Relation::Behind => "behind",
        Relation::Diverged => "diverged",
        Relation::RemoteOnly => "fetched",
    }
}

/// `goal status`.
pub fn status(goal: &GoalRef, snapshot: &Snapshot, now: DateTime<Utc>) -> String {
    let g = &snapshot.goal;
    let mut out = format!("goal {goal}  {} · {}\n  {}\n", g.status, g.phase, g.title);
    let t = &snapshot.tasks;
    let running: Vec<&str> = t
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Running)
        .map(|t| t.id.as_str())
        .collect();
    let _ = writeln!(
        out,
        "tasks: {} total · {} pending · {} running · {} done · {} failed",
        t.tasks.len(),
        count(snapshot, "pending"),
        running.len(),
        count(snapshot, "done"),
        count(snapshot, "failed")
    );
    let _ = writeln!(
        out,
        "agents: {}",
        if running.is_empty() {
            "none active".to_owned()
        } else {
            running.join(", ")
        }
    );
    let _ = writeln!(out, "controller: {}", lease_text(g, now));
    let _ = writeln!(out, "budget: {}", budget_line(&g.limits, &g.usage));
    if let Some(last) = &g.last_event {
        let _ = writeln!(out, "last event: {} ago · {}", age(last.at, now), last.summary);
    }
    out.push_str(&blockers_text(g));
    out
}

fn count(snapshot: &Snapshot, status: &str) -> usize {
    snapshot
        .tasks
        .tasks
        .iter()
        .filter(|t| t.status.as_str() == status)
        .count()
}

fn lease_text(g: &GoalState, now: DateTime<Utc>) -> String {
    match &g.lease {
        Some(l) if l.is_live(now) => format!(
            "held by {} pid {} until {}",
            l.host,
            l.pid,
            l.expires_at.to_rfc3339()
        ),
        Some(l) => format!(
            "none (the lease of {} pid {} expired {} ago)",
            l.host,
            l.pid,
            age(l.expires_at, now)
        ),
        None => "none".to_owned(),
    }
}

fn blockers_text(g: &GoalState) -> String {
    let mut out = String::new();
    for b in &g.blockers {
        match b {
            Blocker::Questions { questions } => {
                out.push_str(
                    "blocked: the goal is not testable as written; answer these with `git omk goal answer`:\n",
                );
                for q in questions {
                    let _ = writeln!(out, "  - {q}");
                }
            }
            Blocker::Rejected { reason } => {
                let _ = writeln!(out, "rejected by a human: {reason}");
            }
            Blocker::ReviewQuestions { questions } => {
                out.push_str(
                    "blocked: a reviewer asked on the PR; answer there, then `git omk goal resume`:
",
                );
                for q in questions {
                    let _ = writeln!(out, "  - {q}");
                }
            }
        }
    }
    out
}

/// `goal show` (text).
pub fn show(goal: &GoalRef, tip: &str, snapshot: &Snapshot, now: DateTime<Utc>) -> String {
    let g = &snapshot.goal;
    let mut out = status(goal, snapshot, now);
    let _ = writeln!(out, "\nkind: {}", g.kind.map_or("unclassified", |k| k.as_str()));
    let _ = writeln!(out, "base: {} ({})", g.base.rev, short(g.base.commit));
    let o = &g.options;
    let _ = writeln!(
        out,
        "options: agent {} · max agents {} · policy {} · merge {} · planner {}",
        o.agent,
        o.max_agents,
        o.delivery,
        o.merge,
        if o.llm_planner { "agent" } else { "heuristic" }
    );
    let _ = writeln!(
        out,
        "created: {} by {} on {}",
        g.created_at.to_rfc3339(),
        g.created_by.name,
        g.created_by.host
    );
    let _ = writeln!(out, "tip: {tip}\n\ngoal:\n{}\n", indent(&g.text));
    out.push_str(&tasks_text(&snapshot.tasks.tasks));
    if let Some(plan) = &snapshot.plan {
        out.push_str("\noracle:\n");
        for check in &plan.oracle.checks {
            let _ = writeln!(out, "  - {}", describe_check(check));
        }
    }
    out.push_str("\ndecisions:\n");
    for d in &snapshot.decisions {
        let _ = writeln!(out, "  - [{}] {} — {}", d.step, d.chosen, d.why);
    }
    for h in &g.human_decisions {
        let _ = writeln!(out, "  - [human] {:?} by {}: {}", h.verdict, h.by, h.text);
    }
    out
}

fn tasks_text(tasks: &[Task]) -> String {
    let mut out = format!("tasks ({}):\n", tasks.len());
    for t in tasks {
        let _ = writeln!(out, "  {} [{}] {}", t.id, t.status.as_str(), t.title);
        if !t.depends_on.is_empty() {
            let deps: Vec<&str> = t.depends_on.iter().map(|d| d.as_str()).collect();
            let _ = writeln!(out, "    after: {}", deps.join(", "));
        }
        let ws: Vec<&str> = t.write_set.iter().map(|p| p.as_str()).collect();
        let _ = writeln!(out, "    writes: {}", ws.join(", "));
        for a in &t.acceptance {
            let _ = writeln!(out, "    - {a}");
        }
    }
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `goal show -f md`: the whole goal as one Markdown document.
pub fn show_md(goal: &GoalRef, tip: &str, snapshot: &Snapshot) -> String {
    let g = &snapshot.goal;
    let mut out = format!(
        "# {}\n\n- goal: `{goal}`\n- status: **{}** ({})\n- kind: {}\n- base: `{}` ({})\n- tip: `{tip}`\n- budget: {}\n\n",
        g.title,
        g.status,
        g.phase,
        g.kind.map_or("unclassified", |k| k.as_str()),
        g.base.rev,
        short(g.base.commit),
        budget_line(&g.limits, &g.usage)
    );
    let _ = writeln!(out, "## Goal\n\n{}\n", g.text);
    if let Some(plan) = &snapshot.plan {
        for doc in [&plan.brief, &plan.technical_plan, &plan.test_spec] {
            out.push_str(&demote(doc));
            out.push('\n');
        }
    }
    out.push_str("## Tasks\n\n| task | status | after | writes |\n|---|---|---|---|\n");
    for t in &snapshot.tasks.tasks {
        let deps: Vec<&str> = t.depends_on.iter().map(|d| d.as_str()).collect();
        let ws: Vec<String> = t.write_set.iter().map(|p| format!("`{}`", p.as_str())).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            t.id,
            t.status.as_str(),
            deps.join(", "),
            ws.join(" ")
        );
    }
    out.push_str("\n## Decisions\n\n");
    for d in &snapshot.decisions {
        let _ = writeln!(out, "- **{}**: {} — {}", d.step, d.chosen, d.why);
    }
    out
}

fn demote(markdown: &str) -> String {
    markdown
        .lines()
        .map(|l| {
            if l.starts_with('#') {
                format!("#{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// `goal proof` (text or md).
pub fn proof(
    goal: &GoalRef,
    readiness: &Readiness,
    recorded: Option<&Proof>,
    commit: Option<&str>,
    md: bool,
) -> String {
    let head = if md {
        format!("# Proof of `{goal}`\n\n")
    } else {
        format!("proof of goal {goal}\n")
    };
    let mut out = head;
    let origin = match (recorded, commit) {
        (Some(_), Some(c)) => format!("recorded in goal commit {c}"),
        (Some(_), None) => "recorded".to_owned(),
        (None, _) => "not recorded yet; computed now from the evidence so far".to_owned(),
    };
    let _ = writeln!(out, "status: {} ({origin})", readiness.status);
    if let Some(p) = recorded {
        proof_summary(&mut out, p);
    }
    if !readiness.reasons.is_empty() {
        out.push_str(if md {
            "\n## Why not ready\n\n"
        } else {
            "why not ready:\n"
        });
        for r in &readiness.reasons {
            let _ = writeln!(out, "{}{}", if md { "- " } else { "  - " }, r.describe());
        }
    }
    out
}

/// The recorded proof's evidence in a few lines: proven commit, gates, oracle, findings, gaps.
fn proof_summary(out: &mut String, p: &Proof) {
    if let Some(r) = &p.result {
        let _ = writeln!(out, "proven: commit {} (tree {})", r.commit, r.tree);
    }
    for g in &p.gates {
        let c = &g.change;
        let _ = writeln!(
            out,
            "gate {}{}: base {}, result {} ({})",
            c.name,
            if c.required { "" } else { " (optional)" },
            outcome_word(c.base),
            outcome_word(c.result),
            c.change.as_str()
        );
    }
    for check in &p.oracle {
        let _ = writeln!(
            out,
            "oracle: {}: {}",
            if check.passed { "ok" } else { "FAILED" },
            check.detail
        );
    }
    let open = p.findings.iter().filter(|f| !f.accepted).count();
    let _ = writeln!(out, "findings: {} ({open} not accepted)", p.findings.len());
    for gap in &p.gaps {
        let _ = writeln!(out, "gap: {gap}");
    }
}

fn outcome_word(o: Option<Outcome>) -> &'static str {
    match o {
        Some(Outcome::Passed) => "passed",
        Some(Outcome::Failed) => "failed",
        Some(Outcome::FailedInfra) => "failed (infrastructure)",
        None => "not run",
    }
}

/// `goal proof -f md` of a recorded proof: `proof.md`, with the current verdict when it differs.
pub fn proof_md(readiness: &Readiness, p: &Proof, commit: Option<&str>) -> String {
    let mut out = render_proof_md(p);
    if let Some(c) = commit {
        let _ = writeln!(out, "\nRecorded in goal commit `{c}`.");
    }
    if readiness.status != p.status {
        let _ = writeln!(out, "\n**Now: {}**", readiness.status);
        for r in &readiness.reasons {
            let _ = writeln!(out, "- {}", r.describe());
        }
    }
    out
}

/// `goal verify` (text).
pub fn verify_goal(r: &GoalVerifyReport) -> String {
    let mut out = String::new();
    let what = if r.proven {
        "proven commit"
    } else {
        "current result (no proof recorded yet)"
    };
    let _ = writeln!(
        out,
        "verified goal {}: gates re-run on the {what} {}",
        r.goal, r.commit
    );
    for g in &r.run.gates {
        let _ = writeln!(
            out,
            "  {}{}: {}",
            g.name,
            if g.required { "" } else { " (optional)" },
            outcome_word(Some(g.outcome))
        );
    }
    if r.holds() {
        out.push_str("the proof holds: ready\n");
    } else {
        let _ = writeln!(out, "the proof does NOT hold: {}", r.proof.status);
        if !r.proven {
            out.push_str("  - no proof is recorded for this goal yet\n");
        }
        for reason in &r.proof.reasons {
            let _ = writeln!(out, "  - {}", reason.describe());
        }
    }
    match (&r.recorded, &r.not_recorded) {
        (Some(c), _) => {
            let _ = writeln!(out, "recorded in goal commit {c}");
        }
        (None, Some(why)) => {
            let _ = writeln!(out, "{why}");
        }
        (None, None) => {}
    }
    out
}

/// `goal budget` (text or md).
pub fn budget(goal: &GoalRef, snapshot: &Snapshot, md: bool) -> String {
    let g = &snapshot.goal;
    let mut out = if md {
        format!("# Budget of `{goal}`\n\n")
    } else {
        format!("budget of goal {goal}\n")
    };
    let _ = writeln!(
        out,
        "{}{}",
        if md { "- " } else { "" },
        budget_line(&g.limits, &g.usage)
    );
    let exhausted = exhausted(&g.limits, &g.usage);
    if !exhausted.is_empty() {
        let _ = writeln!(out, "exhausted: {exhausted:?}");
    }
    for t in &snapshot.tasks.tasks {
        let tokens: u64 = t.attempts.iter().map(|a| a.tokens).sum();
        let _ = writeln!(
            out,
            "{}{}: {} tokens over {} attempt(s)",
            if md { "- " } else { "  " },
            t.id,
            tokens,
            t.attempts.len()
        );
    }
    out
}

/// `goal replay` (text or md).
pub fn timeline(goal: &GoalRef, entries: &[TimelineEntry], md: bool) -> String {
    let mut out = if md {
        format!("# Timeline of `{goal}`\n\n")
    } else {
        String::new()
    };
    for e in entries {
        let ev = &e.event;
        let line = format!(
            "{}  {}  {:<18} {}  ({})",
            ev.at.format("%Y-%m-%d %H:%M:%S"),
            short(e.commit),
            ev.body.kind_name(),
            ev.body.summary(),
            ev.actor.name
        );
        let _ = writeln!(out, "{}{line}", if md { "- " } else { "" });
    }
    out
}

/// `goal replay --verify` (text or md).
pub fn verify(goal: &GoalRef, report: &VerifyReport) -> String {
    match &report.divergence {
        None => format!(
            "goal {goal}: {} commit(s) and {} event(s) replayed; every snapshot matches its events\n",
            report.commits, report.events
        ),
        Some(d) => format!(
            "goal {goal}: the snapshot of commit {} does not match its events\n  file: {} line {}\n  derived:  {}\n  recorded: {}\n",
            d.commit,
            d.file,
            d.line,
            d.derived.trim(),
            d.recorded.trim()
        ),
    }
}

/// What a recording command prints.
pub fn recorded(goal: &GoalRef, commit: &str, snapshot: &Snapshot, what: &str) -> String {
    let g = &snapshot.goal;
    let mut out = format!("{what} {goal}: {} · {}\n  {}\n", g.status, g.phase, g.title);
    let _ = writeln!(out, "  commit {}", short(commit));
    out
}

/// What `goal answer` prints: the goal planned again (with how to drive it), or the questions left.
pub fn answered(goal: &GoalRef, commit: &str, snapshot: &Snapshot) -> String {
    let mut out = planned(goal, commit, snapshot);
    if snapshot.goal.status == GoalStatus::Planned {
        let _ = writeln!(
            out,
            "\nnext: git omk goal resume {}   (drive it to a terminal status)",
            snapshot.goal.id
        );
    }
    out
}

/// What `plan`/`run` print.
pub fn planned(goal: &GoalRef, commit: &str, snapshot: &Snapshot) -> String {
    let g = &snapshot.goal;
    let mut out = recorded(goal, commit, snapshot, "goal");
    let _ = writeln!(
        out,
        "  kind {} · base {} ({})",
        g.kind.map_or("?", |k| k.as_str()),
        g.base.rev,
        short(g.base.commit)
    );
    if !snapshot.tasks.tasks.is_empty() {
        out.push('\n');
        out.push_str(&tasks_text(&snapshot.tasks.tasks));
    }
    out.push_str(&blockers_text(g));
    out
}
