//! Text and Markdown renderers: for people, not a contract (scripts use JSON).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::render::{age, budget_line, short};
use crate::model::budget::exhausted;
use crate::model::goal::{Blocker, GoalState};
use crate::model::planner::describe_check;
use crate::model::proof::Readiness;
use crate::model::snapshot::Snapshot;
use crate::model::task::{Task, TaskStatus};
use crate::ops::query::{GoalRow, Relation};
use crate::ops::replay::{TimelineEntry, VerifyReport};
use crate::store::GoalRef;

/// `goal list`.
pub fn list(rows: &[GoalRow], now: DateTime<Utc>) -> String {
    if rows.is_empty() {
        return "no goals yet: create one with git omk goal plan \"<goal>\"\n".to_owned();
    }
    let mut out = String::new();
    for row in rows {
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
        if let Some(problem) = &e.problem {
            let _ = write!(line, "  (unreadable: {problem})");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
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
                out.push_str("blocked: the goal is not testable as written; answer these in a new goal:\n");
                for q in questions {
                    let _ = writeln!(out, "  - {q}");
                }
            }
            Blocker::Rejected { reason } => {
                let _ = writeln!(out, "rejected by a human: {reason}");
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
    let _ = writeln!(out, "base: {} ({})", g.base.rev, short(&g.base.commit));
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
        short(&g.base.commit),
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
pub fn proof(goal: &GoalRef, readiness: &Readiness, recorded: bool, md: bool) -> String {
    let head = if md {
        format!("# Proof of `{goal}`\n\n")
    } else {
        format!("proof of goal {goal}\n")
    };
    let mut out = head;
    let origin = if recorded {
        "recorded"
    } else {
        "not recorded yet; computed now from the evidence so far"
    };
    let _ = writeln!(out, "status: {} ({origin})", readiness.status);
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
            short(&e.commit.to_string()),
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

/// What `plan`/`run` print.
pub fn planned(goal: &GoalRef, commit: &str, snapshot: &Snapshot) -> String {
    let g = &snapshot.goal;
    let mut out = recorded(goal, commit, snapshot, "goal");
    let _ = writeln!(
        out,
        "  kind {} · base {} ({})",
        g.kind.map_or("?", |k| k.as_str()),
        g.base.rev,
        short(&g.base.commit)
    );
    if !snapshot.tasks.tasks.is_empty() {
        out.push('\n');
        out.push_str(&tasks_text(&snapshot.tasks.tasks));
    }
    out.push_str(&blockers_text(g));
    out
}
