//! The tests' scripted model server, for manual use: serve a scenario file until Ctrl-C.
//!
//! `cargo run --example model_server -- scenario.json` prints `LISTENING http://127.0.0.1:PORT/v1`.
//! A scenario is `{"turns": [...]}` (or a bare list); a turn has `text`, `think`, `tool_calls`
//! (`[{"name", "arguments"}]`), `usage` (`{"prompt_tokens", "completion_tokens", "cached_tokens"}`),
//! `delay_ms`, `chunks` and `chunk_delay_ms`, `http_status` with `error`, and `expect`
//! (`{"last_message_contains", "any_message_contains", "tools_include"}`). Failed expectations and
//! every request's reported usage are printed when it stops.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // benchmarks print figures
#![allow(clippy::disallowed_methods)] // a development tool: reads its arguments, prints

#[path = "../tests/support/model_server.rs"]
mod model_server;

use std::time::Duration;

use model_server::{Expect, ModelServer, Turn};
use serde_json::Value;

fn turn(spec: &Value) -> Turn {
    let text = |k: &str| spec.get(k).and_then(Value::as_str);
    let num = |k: &str| spec.get(k).and_then(Value::as_u64);
    let mut turn = match (num("http_status"), text("error")) {
        (Some(status), error) => {
            Turn::http_error(u16::try_from(status).unwrap_or(500), error.unwrap_or("error"))
        }
        _ => Turn::text(text("text").unwrap_or("")),
    };
    for call in spec
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = call.get("name").and_then(Value::as_str).unwrap_or("tool");
        turn = turn.tool_call(name, call.get("arguments").cloned().unwrap_or(Value::Null));
    }
    if let Some(think) = text("think") {
        turn = turn.think(think);
    }
    if let Some(u) = spec.get("usage") {
        let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        turn = turn.usage(n("prompt_tokens"), n("completion_tokens"), n("cached_tokens"));
    }
    if let Some(ms) = num("delay_ms") {
        turn = turn.delay(Duration::from_millis(ms));
    }
    if let Some(ms) = num("chunk_delay_ms") {
        let chunks = usize::try_from(num("chunks").unwrap_or(3)).unwrap_or(3);
        turn = turn.slow_stream(chunks, Duration::from_millis(ms));
    }
    expectations(turn, spec.get("expect"))
}

fn expectations(mut turn: Turn, expect: Option<&Value>) -> Turn {
    let Some(expect) = expect else { return turn };
    if let Some(s) = expect.get("last_message_contains").and_then(Value::as_str) {
        turn = turn.expect_last(s);
    }
    if let Some(s) = expect.get("any_message_contains").and_then(Value::as_str) {
        turn = turn.expect_any(s);
    }
    if let Some(names) = expect.get("tools_include").and_then(Value::as_array) {
        let names = names
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect();
        turn = turn.expect(Expect::ToolsInclude(names));
    }
    turn
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: model_server SCENARIO.json");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let scenario: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
    let turns = scenario
        .get("turns")
        .unwrap_or(&scenario)
        .as_array()
        .cloned()
        .unwrap_or_default();
    let server = ModelServer::start(turns.iter().map(turn).collect());
    println!("LISTENING {}", server.base_url());
    let _ = tokio::signal::ctrl_c().await;
    for request in server.requests() {
        println!(
            "turn {} usage {:?} completed {}",
            request.turn, request.usage, request.completed
        );
    }
    for mismatch in server.mismatches() {
        println!("EXPECT FAILED {mismatch}");
    }
}
