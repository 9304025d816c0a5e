//! The tool calls of an ACP turn, merged per `toolCallId` from `tool_call`, `tool_call_update` and
//! `session/request_permission` (each carries only the fields that changed), and the policy's verdict
//! on a call.
//!
//! Owns when a call is announced: once its arguments are known — a non-empty `rawInput` (Qwen Code
//! opens every call with `rawInput: {}` and sends the real one in a later update or in the permission
//! request), or the JSON its streamed content spelled out (Kimi Code) — or, at the latest, when it
//! ends. So the transcript shows what was written or run, never `{}` for a call that had arguments.
//! Pure: no I/O (a terminal's output is asked for through a closure).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::super::engine::{MAX_TEXT, bounded};
use super::super::event::AgentEvent;
use crate::model::policy::{Access, Policy, Verdict};

/// Tool calls tracked at once.
const MAX_TRACKED_CALLS: usize = 1024;

/// What is known about one tool call.
#[derive(Clone, Debug, Default)]
pub struct ToolState {
    /// The tool's name: the agent's own (`_meta.toolName`, like Qwen Code's `write_file`), else the
    /// title of the call's first message.
    pub name: String,
    /// ACP's tool kind (`edit`, `execute`, `read`…).
    pub kind: Option<String>,
    raw_input: Option<Value>,
    content_text: String,
    locations: Vec<String>,
    terminal: Option<String>,
    announced: bool,
}

impl ToolState {
    /// The call's arguments: its `rawInput`, else the JSON its streamed content spelled out.
    pub fn input(&self) -> Option<Value> {
        self.raw_input.clone().or_else(|| {
            serde_json::from_str::<Value>(&self.content_text)
                .ok()
                .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        })
    }

    /// The arguments to record when the call ends without any: the paths it touched, else nothing.
    fn input_or_locations(&self) -> Value {
        self.input().unwrap_or_else(|| match self.locations.as_slice() {
            [] => Value::Object(serde_json::Map::new()),
            paths => serde_json::json!({ "locations": paths }),
        })
    }

    /// Merge the fields an ACP tool call, update or permission request's `toolCall` carries.
    pub fn merge(&mut self, update: &Value) {
        let tool_name = update.pointer("/_meta/toolName").and_then(Value::as_str);
        if let Some(name) = tool_name.filter(|n| !n.is_empty()) {
            self.name = name.to_owned();
        } else if self.name.is_empty() {
            let title = update.get("title").and_then(Value::as_str).unwrap_or("tool");
            self.name = title.to_owned();
        }
        if let Some(kind) = update.get("kind").and_then(Value::as_str) {
            self.kind = Some(kind.to_owned());
        }
        if let Some(input) = update.get("rawInput").filter(|v| has_content(v)) {
            self.raw_input = Some(input.clone());
        }
        if let Some(items) = update.get("content").and_then(Value::as_array) {
            self.merge_content(items);
        }
        if let Some(locations) = update.get("locations").and_then(Value::as_array) {
            let paths: Vec<String> = locations
                .iter()
                .filter_map(|l| l.get("path").and_then(Value::as_str).map(str::to_owned))
                .collect();
            if !paths.is_empty() {
                self.locations = paths;
            }
        }
    }

    fn merge_content(&mut self, items: &[Value]) {
        let text: String = items
            .iter()
            .filter_map(|i| i.pointer("/content/text").and_then(Value::as_str))
            .collect();
        if !text.is_empty() {
            self.content_text = bounded(&text, MAX_TEXT);
        }
        if let Some(id) = items
            .iter()
            .find(|i| i.get("type").and_then(Value::as_str) == Some("terminal"))
            .and_then(|i| i.get("terminalId").and_then(Value::as_str))
        {
            self.terminal = Some(id.to_owned());
        }
    }
}

/// Whether a `rawInput` says anything (`{}`, `null` and `""` do not).
fn has_content(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Object(map) => !map.is_empty(),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => true,
    }
}

/// The tool calls of a session, by id.
#[derive(Debug, Default)]
pub struct ToolCalls {
    calls: HashMap<String, ToolState>,
}

impl ToolCalls {
    /// Merge a `tool_call` or `tool_call_update`; returns the events it makes: the call, once its
    /// arguments are known, and its result when it ends. `terminal_output` gives the output of a
    /// client terminal the call ran in.
    pub fn update(
        &mut self,
        update: &Value,
        terminal_output: impl Fn(&str) -> Option<String>,
    ) -> Vec<AgentEvent> {
        let Some(id) = update.get("toolCallId").and_then(Value::as_str) else {
            return Vec::new();
        };
        if !self.calls.contains_key(id) && self.calls.len() >= MAX_TRACKED_CALLS {
            return Vec::new();
        }
        let state = self.calls.entry(id.to_owned()).or_default();
        state.merge(update);
        let status = update.get("status").and_then(Value::as_str).unwrap_or("");
        let done = matches!(status, "completed" | "failed");
        let mut events = Vec::new();
        if let Some(call) = announce(id, state, done) {
            events.push(call);
        }
        if done {
            let output = result_text(update, state, terminal_output);
            events.push(AgentEvent::ToolResult {
                id: id.to_owned(),
                ok: status == "completed",
                output: bounded(&output, MAX_TEXT),
            });
            self.calls.remove(id);
        }
        events
    }

    /// Merge the `toolCall` of a permission request (its content is a diff, not the streamed
    /// arguments, so the streamed text is kept). Returns what is known about the call, to judge it,
    /// and the call's announcement if its arguments just became known.
    pub fn permission(&mut self, tool: &Value) -> (ToolState, Option<AgentEvent>) {
        let id = tool.get("toolCallId").and_then(Value::as_str).unwrap_or("");
        let mut state = self.calls.remove(id).unwrap_or_default();
        let content = std::mem::take(&mut state.content_text);
        let terminal = state.terminal.take();
        state.merge(tool);
        state.content_text = content;
        state.terminal = terminal;
        let event = announce(id, &mut state, false);
        let snapshot = state.clone();
        if self.calls.len() < MAX_TRACKED_CALLS {
            self.calls.insert(id.to_owned(), state);
        }
        (snapshot, event)
    }
}

/// What a call that ended returned, the most readable first: its `rawOutput` when that is text, the
/// output of the client terminal it ran in, the text content of its last update (Qwen Code's shell
/// summary), its `rawOutput` as JSON, else the text it streamed.
fn result_text(
    update: &Value,
    state: &ToolState,
    terminal_output: impl Fn(&str) -> Option<String>,
) -> String {
    let raw = update.get("rawOutput").filter(|v| !v.is_null());
    if let Some(Value::String(text)) = raw {
        return text.clone();
    }
    if let Some(text) = state.terminal.as_deref().and_then(terminal_output) {
        return text;
    }
    let last: String = update
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| i.pointer("/content/text").and_then(Value::as_str))
        .collect();
    if !last.is_empty() {
        return last;
    }
    raw.map_or_else(|| state.content_text.clone(), Value::to_string)
}

/// The call's announcement, the first time its arguments are known (or when it ends without any).
fn announce(id: &str, state: &mut ToolState, done: bool) -> Option<AgentEvent> {
    if state.announced {
        return None;
    }
    let input = if done {
        state.input_or_locations()
    } else {
        state.input()?
    };
    state.announced = true;
    Some(AgentEvent::ToolCall {
        id: id.to_owned(),
        name: state.name.clone(),
        input,
    })
}

/// The policy's verdict on a tool call, and what it was aimed at.
pub fn judge(policy: &Policy, state: &ToolState) -> (Verdict, String) {
    let input = state.input().unwrap_or(Value::Null);
    let kind = state
        .kind
        .clone()
        .unwrap_or_else(|| guess_kind(&state.name).to_owned());
    match kind.as_str() {
        "edit" | "delete" | "move" => judge_write(policy, state, &input),
        "execute" => judge_command(policy, &input),
        _ => (Verdict::Allow, String::new()),
    }
}

fn judge_write(policy: &Policy, state: &ToolState, input: &Value) -> (Verdict, String) {
    let mut paths: Vec<String> = [
        "path",
        "file_path",
        "filePath",
        "old_path",
        "new_path",
        "destination",
    ]
    .iter()
    .filter_map(|k| input.get(*k).and_then(Value::as_str).map(str::to_owned))
    .collect();
    paths.extend(state.locations.iter().cloned());
    if paths.is_empty() && policy.access() == Access::ReadOnly {
        return (policy.check_write(policy.work_dir()), String::new());
    }
    for path in &paths {
        let verdict = policy.check_write(Path::new(path));
        if !verdict.is_allowed() {
            return (verdict, path.clone());
        }
    }
    paths.dedup();
    (Verdict::Allow, paths.join(", "))
}

fn judge_command(policy: &Policy, input: &Value) -> (Verdict, String) {
    match input.get("command").and_then(Value::as_str) {
        Some(command) => {
            let cwd = ["cwd", "directory"]
                .iter()
                .find_map(|k| input.get(*k).and_then(Value::as_str))
                .map(Path::new);
            (policy.check_command(command, cwd), command.to_owned())
        }
        None if policy.access() == Access::ReadOnly => (
            Verdict::Deny("this session is read-only and the command could not be checked".into()),
            String::new(),
        ),
        None => (Verdict::Allow, String::new()),
    }
}

/// The kind of a tool known by name, for agents that do not say.
fn guess_kind(name: &str) -> &'static str {
    match name {
        "Write" | "Edit" | "MultiEdit" | "WriteFile" | "StrReplaceFile" | "NotebookEdit" | "write_file"
        | "edit" | "replace" => "edit",
        "Bash" | "Shell" | "run_shell_command" => "execute",
        _ => "other",
    }
}

#[cfg(test)]
mod tests;
