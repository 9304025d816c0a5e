//! Live progress of a running goal on stderr: one line per recorded event (phase, task states, agents,
//! budget), and on a terminal a status line redrawn in place (indicatif), cut to the terminal's width so
//! it never wraps or leaves stale rows. Plain lines, without any escape sequence, when stderr is not a
//! terminal, with `--color never`, `NO_COLOR` or `TERM=dumb`. Diagnostics only: stdout stays for the
//! command's result.

use std::io::{IsTerminal, Write};

use anstyle::Style;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::render::budget_line;
use crate::model::event::{Event, EventBody};
use crate::model::snapshot::Snapshot;
use crate::model::task::TaskStatus;
use crate::settings;

/// Renders progress as the controller records steps.
pub struct Progress {
    /// The redrawn status line, when stderr is a terminal that may get escape sequences.
    live: Option<ProgressBar>,
    /// Whether plain lines may be styled (`--color always` on a pipe).
    styled: bool,
    verbose: bool,
}

impl Progress {
    /// A renderer for stderr; `verbose` also shows lease renewals and usage records.
    pub fn new(verbose: bool) -> Progress {
        let stderr = std::io::stderr();
        let choice = anstream::AutoStream::choice(&stderr);
        let styled = choice != anstream::ColorChoice::Never && !settings::dumb_terminal();
        let live = (styled && stderr.is_terminal()).then(status_bar);
        Progress {
            live,
            styled,
            verbose,
        }
    }

    /// Show what was just recorded.
    pub fn observe(&mut self, snapshot: &Snapshot, events: &[Event]) {
        let lines: Vec<String> = events
            .iter()
            .filter(|e| self.verbose || !quiet(&e.body))
            .map(|e| format!("{} {}", clock(e.at), e.body.summary()))
            .collect();
        let status = status_line(snapshot);
        match &self.live {
            Some(bar) => {
                for line in lines {
                    bar.println(line);
                }
                bar.set_message(status);
            }
            None => {
                let mut out = String::new();
                for line in &lines {
                    out.push_str(line);
                    out.push('\n');
                }
                if !lines.is_empty() || events.is_empty() {
                    out.push_str(&format!("         {}\n", self.dim(&status)));
                }
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(out.as_bytes());
                let _ = err.flush();
            }
        }
    }

    /// End the status line (before the final result is printed), leaving its last state on screen.
    pub fn finish(&mut self) {
        if let Some(bar) = self.live.take() {
            bar.abandon();
        }
    }

    fn dim(&self, text: &str) -> String {
        if self.styled {
            let style = Style::new().dimmed();
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }
}

/// A status line on stderr: the message only, dimmed, cut to the terminal's width.
fn status_bar() -> ProgressBar {
    let style = ProgressStyle::with_template("{wide_msg:.dim}")
        .expect("the status line template is valid because it is a constant");
    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style)
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
        goal.status(),
        goal.phase(),
        tasks.count(TaskStatus::Pending),
        running.len(),
        tasks.count(TaskStatus::Done),
        tasks.count(TaskStatus::Failed) + tasks.count(TaskStatus::Blocked),
        if running.is_empty() {
            "none".to_owned()
        } else {
            running.join(",")
        },
        budget_line(goal.limits(), goal.usage())
    )
}
