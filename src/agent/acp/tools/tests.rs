//! Tool-call tracking over real recorded ACP traffic (`fixtures/acp/`: Qwen Code 0.24.4 against the
//! scripted model; Kimi Code's shapes inline) and the policy's verdicts.

use serde_json::json;

use super::*;
use crate::model::writeset::PathPattern;

/// The agent-to-client messages of a recording.
fn recorded(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a recorded line"))
        .filter(|l| l["dir"] == "a2c")
        .map(|l| l["msg"].clone())
        .collect()
}

/// Replay a recording's tool calls and permission requests through the tracker.
fn replay(text: &str) -> Vec<AgentEvent> {
    let mut calls = ToolCalls::default();
    let mut events = Vec::new();
    for msg in recorded(text) {
        match msg["method"].as_str() {
            Some("session/update") => {
                let update = &msg["params"]["update"];
                if matches!(
                    update["sessionUpdate"].as_str(),
                    Some("tool_call" | "tool_call_update")
                ) {
                    events.extend(calls.update(update, |_| None));
                }
            }
            Some("session/request_permission") => {
                events.extend(calls.permission(&msg["params"]["toolCall"]).1);
            }
            _ => {}
        }
    }
    events
}

fn calls_of(events: &[AgentEvent]) -> Vec<(String, Value)> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolCall { name, input, .. } => Some((name.clone(), input.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn qwen_tool_calls_are_announced_with_their_real_arguments() {
    let events = replay(include_str!("../../../../fixtures/acp/qwen-hello.jsonl"));
    let calls = calls_of(&events);
    assert_eq!(
        calls,
        vec![
            (
                "write_file".to_owned(),
                json!({"file_path": "/home/dev/demo/hello.txt", "content": "Hello from the fake LLM\n"})
            ),
            (
                "run_shell_command".to_owned(),
                json!({"command": "cat hello.txt", "is_background": false})
            ),
            (
                "edit".to_owned(),
                json!({"file_path": "/home/dev/demo/hello.txt", "old_string": "fake LLM", "new_string": "scripted model"})
            ),
        ],
        "never the empty `rawInput` Qwen Code opens each call with"
    );
    let results: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolResult { ok, .. } => Some(*ok),
            _ => None,
        })
        .collect();
    assert_eq!(results, vec![true, true, true]);
    let outputs: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolResult { output, .. } => Some(output),
            _ => None,
        })
        .collect();
    assert!(
        outputs[0].contains("+Hello from the fake LLM"),
        "the diff: {outputs:?}"
    );
    assert!(
        outputs[1].starts_with("Command: cat hello.txt")
            && outputs[1].contains("Output: Hello from the fake LLM"),
        "the shell's summary: {outputs:?}"
    );
}

#[test]
fn a_call_refused_before_it_ran_still_shows_its_arguments() {
    let events = replay(include_str!("../../../../fixtures/acp/qwen-refusals.jsonl"));
    let calls = calls_of(&events);
    assert_eq!(calls[0].0, "write_file");
    assert_eq!(calls[0].1["file_path"], "/home/dev/outside/evil.txt");
    // Qwen Code refused this one itself (the file was never read), with no permission asked and no
    // argument ever sent: the call is still recorded, with what is known.
    assert_eq!(calls[1], ("write_file".to_owned(), json!({})));
    assert_eq!(
        calls[2].1["command"],
        "echo made-by-shell > out.txt && cat out.txt"
    );
    assert!(calls.iter().all(|(name, _)| name != "tool"), "{calls:?}");
}

#[test]
fn kimi_code_calls_are_announced_from_their_streamed_arguments() {
    let mut calls = ToolCalls::default();
    let open = json!({"sessionUpdate": "tool_call", "toolCallId": "0:c1", "title": "Write", "kind": "edit",
        "status": "pending", "content": [{"type": "content", "content": {"type": "text", "text": ""}}]});
    assert!(calls.update(&open, |_| None).is_empty());
    let partial = json!({"sessionUpdate": "tool_call_update", "toolCallId": "0:c1", "status": "in_progress",
        "content": [{"type": "content", "content": {"type": "text", "text": "{\"path\": \"hello.txt\", \"content\""}}]});
    assert!(calls.update(&partial, |_| None).is_empty(), "not yet complete");
    let whole = json!({"sessionUpdate": "tool_call_update", "toolCallId": "0:c1", "status": "in_progress",
        "content": [{"type": "content", "content": {"type": "text", "text": "{\"path\": \"hello.txt\", \"content\": \"Hi\"}"}}]});
    let events = calls.update(&whole, |_| None);
    assert_eq!(
        calls_of(&events),
        vec![("Write".to_owned(), json!({"path": "hello.txt", "content": "Hi"}))]
    );
    let (state, again) = calls.permission(&json!({"toolCallId": "0:c1", "title": "Writing hello.txt"}));
    assert!(again.is_none(), "announced once");
    assert_eq!(state.name, "Write");
    let terminal = json!({"sessionUpdate": "tool_call_update", "toolCallId": "0:c1", "status": "completed",
        "content": [{"type": "terminal", "terminalId": "term_1"}]});
    let done = calls.update(&terminal, |id| Some(format!("output of {id}")));
    assert!(
        matches!(&done[..], [AgentEvent::ToolResult { ok: true, output, .. }] if output == "output of term_1")
    );
}

#[test]
fn tool_calls_are_judged_from_streamed_arguments() {
    let policy = Policy::task(Path::new("/w"), vec![PathPattern::parse("ok.txt").unwrap()]).unwrap();
    let mut state = ToolState::default();
    state.merge(
        &json!({"title": "Write", "kind": "edit", "content": [{"type": "content", "content": {"type": "text", "text": "{\"path\": \"/tmp/evil.txt\", \"content\": \"x\"}"}}]}),
    );
    let (verdict, target) = judge(&policy, &state);
    assert!(!verdict.is_allowed());
    assert_eq!(target, "/tmp/evil.txt");
    let mut shell = ToolState::default();
    shell.merge(&json!({"title": "Bash", "rawInput": {"command": "git push"}}));
    assert!(!judge(&policy, &shell).0.is_allowed());
    let mut fine = ToolState::default();
    fine.merge(&json!({"title": "Write", "rawInput": {"path": "ok.txt"}}));
    assert!(judge(&policy, &fine).0.is_allowed());
}

#[test]
fn qwen_permission_requests_are_judged_by_their_paths_and_commands() {
    let policy = Policy::task(
        Path::new("/home/dev/demo"),
        vec![PathPattern::parse("hello.txt").unwrap()],
    )
    .unwrap();
    let mut calls = ToolCalls::default();
    let mut verdicts = Vec::new();
    for text in [
        include_str!("../../../../fixtures/acp/qwen-hello.jsonl"),
        include_str!("../../../../fixtures/acp/qwen-refusals.jsonl"),
    ] {
        for msg in recorded(text) {
            if msg["method"] == "session/request_permission" {
                let (state, _) = calls.permission(&msg["params"]["toolCall"]);
                let (verdict, target) = judge(&policy, &state);
                verdicts.push((state.name, verdict.is_allowed(), target));
            }
        }
    }
    assert_eq!(
        verdicts,
        vec![
            (
                "write_file".to_owned(),
                true,
                "/home/dev/demo/hello.txt".to_owned()
            ),
            ("edit".to_owned(), true, "/home/dev/demo/hello.txt".to_owned()),
            (
                "write_file".to_owned(),
                false,
                "/home/dev/outside/evil.txt".to_owned()
            ),
            // It redirects into out.txt, outside the write set.
            (
                "run_shell_command".to_owned(),
                false,
                "echo made-by-shell > out.txt && cat out.txt".to_owned()
            ),
        ]
    );
}

#[test]
fn empty_raw_inputs_say_nothing() {
    assert!(!has_content(&json!({})));
    assert!(!has_content(&Value::Null));
    assert!(has_content(&json!({"command": "ls"})));
}
