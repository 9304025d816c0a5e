//! `git omk goal watch`: follow a goal from any terminal — its recorded events and, while a controller
//! on this machine drives it, its agents' live text and tool calls — until no controller drives it; the
//! exit code is then the goal's status code (the one `run --until-ready` ends with).
//!
//! Polls (the goal ref and the live spool) every [`POLL`]: two small reads, no busy loop. Text for
//! people, or `--json`: one JSON object per line (`type`: `event`, `agent`, `note`, `end`). Ctrl-C
//! stops watching, never the goal.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::args::WatchArgs;
use super::error::CliError;
use super::json::OUTPUT_SCHEMA_VERSION;
use super::log::entry_text;
use crate::model::event::EventBody;
use crate::model::status::GoalStatus;
use crate::ops::Context;
use crate::ops::watch::{Driven, Seen, Watcher};

/// How often the goal and its live output are read.
const POLL: Duration = Duration::from_millis(250);

/// Follow the goal `args` names; the goal's status code once nobody drives it.
pub fn watch(dir: &Path, args: WatchArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let mut watcher = Watcher::open(&ctx, args.goal.as_deref())?;
    let mut out = Printer {
        out: io::stdout().lock(),
        json: args.json,
    };
    match follow(&ctx, &mut watcher, &mut out) {
        Err(CliError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        other => other,
    }
}

fn follow(ctx: &Context, watcher: &mut Watcher, out: &mut Printer<'_>) -> Result<i32, CliError> {
    loop {
        let seen = watcher.poll(ctx)?;
        out.all(&seen)?;
        if watcher.driven(ctx) == Driven::No {
            break;
        }
        std::thread::sleep(POLL);
    }
    // What the controller published and recorded as it stopped.
    let seen = watcher.poll(ctx)?;
    out.all(&seen)?;
    let Some(snapshot) = watcher.snapshot() else {
        return Ok(0);
    };
    let goal = &snapshot.goal;
    out.end(&goal.id().to_string(), goal.status(), goal.stop_reason())?;
    Ok(goal.status().exit_code())
}

/// Writes what is seen, flushed after each batch so a reader sees it at once.
struct Printer<'a> {
    out: io::StdoutLock<'a>,
    json: bool,
}

impl Printer<'_> {
    fn all(&mut self, seen: &[Seen]) -> io::Result<()> {
        for item in seen {
            let text = if self.json { json_line(item) } else { text(item) };
            self.out.write_all(text.as_bytes())?;
        }
        self.out.flush()
    }

    fn end(&mut self, id: &str, status: GoalStatus, reason: Option<&str>) -> io::Result<()> {
        let code = status.exit_code();
        let text = if self.json {
            line(json!({"type": "end", "id": id, "status": status, "exit_code": code}))
        } else {
            let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
            let hint = if status.is_active() {
                format!(" (no controller drives it: `git omk goal resume {id}` continues it)")
            } else {
                String::new()
            };
            format!("goal {id} is {status}{why}{hint}\n")
        };
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }
}

/// One JSON object per line, each with the output schema version.
fn json_line(item: &Seen) -> String {
    let value = match item {
        Seen::Event { commit, event } => {
            json!({"type": "event", "commit": commit.to_string(), "event": event})
        }
        Seen::Agent(published) => {
            let mut value = json!({"type": "agent"});
            if let (Value::Object(map), Value::Object(fields)) = (&mut value, published) {
                map.extend(fields.clone());
            }
            value
        }
        Seen::Note(message) => json!({"type": "note", "message": message}),
    };
    line(value)
}

fn line(mut value: Value) -> String {
    if let Value::Object(map) = &mut value {
        map.insert("schema_version".to_owned(), json!(OUTPUT_SCHEMA_VERSION));
    }
    format!("{value}\n")
}

/// Text for people: events as timeline lines (lease renewals left out), agent output labelled with
/// its task and attempt, notes after `note:`.
fn text(item: &Seen) -> String {
    match item {
        Seen::Event { event, .. } if matches!(event.body, EventBody::LeaseRenewed { .. }) => String::new(),
        Seen::Event { event, .. } => format!("{}  {}\n", event.at.format("%H:%M:%S"), event.body.summary()),
        Seen::Agent(published) => agent_text(published),
        Seen::Note(message) => format!("note: {message}\n"),
    }
}

/// An agent's published line: `  [t1 #1] agent: …`, every line of it labelled.
fn agent_text(published: &Value) -> String {
    let task = published["task"].as_str().unwrap_or("?");
    let short = task.split('-').next().unwrap_or(task);
    let label = format!("  [{short} #{}] ", published["attempt"]);
    let body = match published["kind"].as_str() {
        Some("prompt") => {
            let lines = published["text"].as_str().unwrap_or_default().lines().count();
            format!("prompt sent (turn {}, {lines} lines)\n", published["turn"])
        }
        Some("truncated") => {
            "(more output than the live spool holds: see `goal log` afterwards)\n".to_owned()
        }
        _ => entry_text(published),
    };
    body.lines().map(|l| format!("{label}{l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_lines_are_labelled_with_their_task_and_attempt() {
        let text = agent_text(
            &json!({"task": "t1-fix-add", "attempt": 2, "kind": "text", "turn": 1,
            "text": "waiting for the marker\nstill\n"}),
        );
        assert_eq!(text, "  [t1 #2] agent: waiting for the marker\n  [t1 #2] still\n");
        let call = agent_text(
            &json!({"task": "t2-x", "attempt": 1, "kind": "tool_call", "turn": 1,
            "id": "c1", "name": "Bash", "input": {"command": "ls"}}),
        );
        assert_eq!(call, "  [t2 #1] → Bash {\"command\":\"ls\"}\n");
        assert_eq!(
            agent_text(&json!({"task": "t1-a", "attempt": 1, "kind": "usage", "turn": 1})),
            ""
        );
    }

    #[test]
    fn json_lines_carry_their_type_and_the_schema_version() {
        let agent = json_line(&Seen::Agent(
            json!({"task": "t1-a", "attempt": 1, "kind": "text"}),
        ));
        let v: Value = serde_json::from_str(&agent).unwrap();
        assert_eq!(v["type"], "agent");
        assert_eq!(v["kind"], "text");
        assert_eq!(v["schema_version"], OUTPUT_SCHEMA_VERSION);
        assert!(agent.ends_with("}\n") && agent.matches('\n').count() == 1);
    }
}
