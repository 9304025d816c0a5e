//! `git omk goal log`: recorded transcripts rendered for people — the agent's text, its tool calls
//! with their results, edits as unified diffs, refusals and policy violations — or, with `--json`, the
//! recorded lines as they are. Reads lines as JSON values, so a kind this version does not know is
//! shown by its name rather than breaking the log.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;
use similar::TextDiff;

use super::args::LogArgs;
use super::error::CliError;
use super::render::emit;
use crate::ops::Context;
use crate::ops::transcripts::{AttemptLog, LogRequest, transcripts};

/// Most lines of a prompt or a tool result shown; the rest is counted.
const MAX_LINES: usize = 12;

/// Print the transcripts `args` names.
pub fn log(dir: &Path, args: LogArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let request = LogRequest {
        goal: args.goal,
        task: args.task,
        attempt: args.attempt,
    };
    let logs = transcripts(&ctx, &request)?;
    let out = if args.json {
        logs.iter()
            .flat_map(|l| l.lines.iter())
            .fold(String::new(), |mut out, line| {
                out.push_str(line);
                out.push('\n');
                out
            })
    } else if logs.is_empty() {
        "no transcripts yet: no task attempt has run\n".to_owned()
    } else {
        logs.iter().map(render).collect::<Vec<_>>().join("\n")
    };
    emit(&out)?;
    Ok(0)
}

/// One attempt's transcript for people.
pub fn render(log: &AttemptLog) -> String {
    let mut out = format!("== task {} · attempt {} · {}\n", log.task, log.attempt, log.agent);
    if log.lines.is_empty() {
        out.push_str("(no transcript recorded)\n");
    }
    for line in &log.lines {
        match serde_json::from_str::<Value>(line) {
            Ok(entry) => out.push_str(&entry_text(&entry)),
            Err(_) => out.push_str("(an unreadable line)\n"),
        }
    }
    out
}

/// One transcript entry for people (empty for entries people do not need, like per-step usage).
pub fn entry_text(entry: &Value) -> String {
    let field = |name: &str| entry.get(name).and_then(Value::as_str).unwrap_or_default();
    match field("kind") {
        "prompt" => format!("prompt (turn {}):\n{}", entry["turn"], indented(field("text"))),
        "text" => format!("agent: {}\n", field("text").trim_end()),
        "thought" => format!("thinking: {}\n", field("text").trim_end()),
        "tool_call" => tool_call(field("name"), &entry["input"]),
        "tool_result" => {
            let how = if entry["ok"].as_bool() == Some(false) {
                "failed"
            } else {
                "ok"
            };
            format!("  ← {how}\n{}", indented(field("output")))
        }
        "denied" => format!(
            "refused: {} {}: {}\n",
            field("tool"),
            field("target"),
            field("reason")
        ),
        "violation" => format!("policy violation: {}: {}\n", field("path"), field("reason")),
        "breach" => format!("sandbox breach: {}\n", entry["breach"]),
        "warning" => format!("warning: {}\n", field("message")),
        "turn_end" => format!("turn {} ended: {}\n", entry["turn"], entry["stop"]),
        "usage" => String::new(),
        other => format!("({other})\n"),
    }
}

/// A tool call: its name and input; edits (old and new text) as a unified diff.
fn tool_call(name: &str, input: &Value) -> String {
    let path = ["path", "file_path", "filePath"]
        .iter()
        .find_map(|k| input.get(*k).and_then(Value::as_str));
    let text = |keys: &[&str]| keys.iter().find_map(|k| input.pointer(k).and_then(Value::as_str));
    let old = text(&["/old_string", "/old_str", "/oldText", "/edit/old"]);
    let new = text(&["/new_string", "/new_str", "/newText", "/edit/new", "/content"]);
    match (path, new) {
        (Some(path), Some(new)) => {
            let diff = TextDiff::from_lines(old.unwrap_or_default(), new);
            let label = if old.is_some() {
                path.to_owned()
            } else {
                "/dev/null".to_owned()
            };
            let mut out = format!("→ {name} {path}\n");
            let unified = diff
                .unified_diff()
                .context_radius(3)
                .header(&label, path)
                .to_string();
            out.push_str(&indented(&unified));
            out
        }
        _ => {
            let mut args = input.to_string();
            if args.len() > 300 {
                let cut = (0..=300).rev().find(|i| args.is_char_boundary(*i)).unwrap_or(0);
                args.truncate(cut);
                args.push('…');
            }
            format!("→ {name} {args}\n")
        }
    }
}

/// `text` indented by four spaces, at most [`MAX_LINES`] lines (the rest counted).
fn indented(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for line in lines.iter().take(MAX_LINES) {
        let _ = writeln!(out, "    {line}");
    }
    if lines.len() > MAX_LINES {
        let _ = writeln!(out, "    … ({} more lines)", lines.len() - MAX_LINES);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::TaskId;
    use serde_json::json;

    #[test]
    fn edits_are_unified_diffs_and_other_calls_show_their_input() {
        let edit = json!({"kind": "tool_call", "turn": 1, "id": "c1", "name": "Edit",
            "input": {"path": "calc.py", "old_string": "return a - b\n", "new_string": "return a + b\n"}});
        let text = entry_text(&edit);
        assert!(text.starts_with("→ Edit calc.py\n"), "{text}");
        assert!(text.contains("    -return a - b\n    +return a + b\n"), "{text}");
        let write = json!({"kind": "tool_call", "turn": 1, "id": "c2", "name": "Write",
            "input": {"file_path": "/w/new.py", "content": "x = 1\n"}});
        assert!(entry_text(&write).contains("+x = 1"));
        let shell = json!({"kind": "tool_call", "turn": 1, "id": "c3", "name": "Bash",
            "input": {"command": "pytest -q"}});
        assert_eq!(entry_text(&shell), "→ Bash {\"command\":\"pytest -q\"}\n");
    }

    /// The rendering of a whole attempt, one entry of every kind, pinned.
    #[test]
    fn an_attempt_renders_as_pinned() {
        let lines = [
            json!({"kind": "prompt", "turn": 1, "text": "Your task (t1-fix-add): Fix add in calc.py\nAcceptance: the tests pass"}),
            json!({"kind": "thought", "turn": 1, "text": "The sign is wrong."}),
            json!({"kind": "text", "turn": 1, "text": "I will fix the sign.\n"}),
            json!({"kind": "tool_call", "turn": 1, "id": "c1", "name": "Edit",
                "input": {"path": "calc.py", "old_string": "    return a - b\n", "new_string": "    return a + b\n"}}),
            json!({"kind": "tool_result", "turn": 1, "id": "c1", "ok": true, "output": "edited calc.py"}),
            json!({"kind": "tool_call", "turn": 1, "id": "c2", "name": "Bash", "input": {"command": "pytest -q"}}),
            json!({"kind": "tool_result", "turn": 1, "id": "c2", "ok": false, "output": "1 failed\nE assert 5 == -1"}),
            json!({"kind": "denied", "turn": 1, "tool": "Write", "target": "/etc/hosts", "reason": "outside the worktree"}),
            json!({"kind": "violation", "turn": 1, "path": "setup.cfg", "reason": "outside the write set"}),
            json!({"kind": "usage", "turn": 1, "usage": {"input": 100, "output": 10}}),
            json!({"kind": "warning", "turn": 1, "message": "the agent retried a step"}),
            json!({"kind": "turn_end", "turn": 1, "stop": "finished", "usage": {"input": 100, "output": 10}}),
            json!({"kind": "truncated", "dropped_entries": 3}),
        ];
        let log = AttemptLog {
            task: TaskId::parse("t1-fix-add").unwrap(),
            attempt: 2,
            agent: "kimi-acp".to_owned(),
            lines: lines.iter().map(Value::to_string).collect(),
        };
        insta::assert_snapshot!("goal_log_text", render(&log));
    }

    #[test]
    fn results_refusals_and_unknown_kinds_read_plainly() {
        let long: String = (0..20).map(|i| format!("line {i}\n")).collect();
        let result = json!({"kind": "tool_result", "turn": 1, "id": "c", "ok": false, "output": long});
        let text = entry_text(&result);
        assert!(
            text.starts_with("  ← failed\n") && text.contains("… (8 more lines)"),
            "{text}"
        );
        let denied = json!({"kind": "denied", "turn": 1, "tool": "Write", "target": "/etc/x",
            "reason": "outside the worktree"});
        assert_eq!(
            entry_text(&denied),
            "refused: Write /etc/x: outside the worktree\n"
        );
        assert_eq!(entry_text(&json!({"kind": "usage", "turn": 1})), "");
        assert_eq!(entry_text(&json!({"kind": "later_kind"})), "(later_kind)\n");
    }
}
