//! Live progress of a running goal on stderr: one line per recorded event (phase, task states, agents,
//! budget), and on a terminal a status line redrawn in place. Diagnostics only: stdout stays for the
//! command's result.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Utc};

use super::render::budget_line;
use crate::model::event::{Event, EventBody};
use crate::model::snapshot::Snapshot;
use crate::model::task::TaskStatus;

/// Renders progress as the controller records steps.
pub struct Progress {
    terminal: bool,
    verbose: bool,
    status_shown: bool,
}

impl Progress {
    /// A renderer for stderr; `verbose` also shows lease renewals and usage records.
    pub fn new(verbose: bool) -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            verbose,
            status_shown: false,
        }
    }

    /// Show what was just recorded.
    pub fn observe(&mut self, snapshot: &Snapshot, events: &[Event]) {
        let mut out = String::new();
        if self.terminal && self.status_shown {
            out.push_str("\r\x1b[2K");
        }
        for event in events.iter().filter(|e| self.verbose || !quiet(&e.body)) {
            out.push_str(&format!("{} {}\n", clock(event.at), event.body.summary()));
        }
        let status = status_line(snapshot);
        if self.terminal {
            out.push_str(&format!("\x1b[2m{status}\x1b[0m"));
            self.status_shown = true;
        } else if events.iter().any(|e| !quiet(&e.body)) || events.is_empty() {
            out.push_str(&format!("         {status}\n"));
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(out.as_bytes());
        let _ = err.flush();
    }

    /// End the status line (before the final result is printed).
    pub fn finish(&mut self) {
        if self.terminal && self.status_shown {
            let _ = std::io::stderr().write_all(b"\n");
            self.status_shown = false;
        }
    }
}

fn quiet(body: &EventBody) -> bool {
    matches!(body, EventBody::LeaseRenewed { .. } | EventBody::UsageAdded(_))
}

fn clock(at: DateTime<Utc>) -> String {
    at.format("%H:%M:%S").to_string()
}

/// `[execution] tasks 1 running, 2 done, 0 failed · agents t1 · time 2m of 8h · …`
fn status_line(snapshot: &Snapshot) -> String {
    let goal = &snapshot.goal;
    let tasks = &snapshot.tasks;
    let running: Vec<&str> = tasks
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Running)
        .map(|t| t.id.as_str())
        .collect();
    format!(
        "[{} · {}] tasks {} pending, {} running, {} done, {} failed · agents {} · {}",
        goal.status,
        goal.phase,
        tasks.count(TaskStatus::Pending),
        running.len(),
        tasks.count(TaskStatus::Done),
        tasks.count(TaskStatus::Failed) + tasks.count(TaskStatus::Blocked),
        if running.is_empty() {
            "none".to_owned()
        } else {
            running.join(",")
        },
        budget_line(&goal.limits, &goal.usage)
    )
}
