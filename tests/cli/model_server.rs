//! The scripted model server itself: streaming and whole answers, tool calls, usage, errors,
//! expectations, the request log, and stopping when dropped. (The agent tests rely on all of it.)

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // the shared test support spawns git

use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use support::model_server::{ModelServer, Route, Turn};

/// POST a JSON body with a plain HTTP/1.1 client; returns status line and body.
fn post(server: &ModelServer, body: &Value) -> (String, String) {
    let url = server.base_url();
    let addr = url.trim_start_matches("http://").trim_end_matches("/v1");
    let mut stream = TcpStream::connect(addr).unwrap();
    let text = body.to_string();
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

fn events(sse: &str) -> Vec<Value> {
    sse.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

fn request(stream: bool, last: &str) -> Value {
    json!({"model": "fake-model", "stream": stream, "messages": [{"role": "user", "content": last}],
           "tools": [{"type": "function", "function": {"name": "WriteFile"}}]})
}

#[test]
fn streams_text_tool_calls_and_usage() {
    let server = ModelServer::start(vec![
        Turn::text("Hello there")
            .tool_call("WriteFile", json!({"path": "a.txt", "content": "x"}))
            .usage(1000, 50, 600)
            .expect_last("make a file")
            .expect(support::model_server::Expect::ToolsInclude(vec![
                "WriteFile".into(),
            ])),
    ]);
    let (status, body) = post(&server, &request(true, "please make a file"));
    assert!(status.contains("200"), "{status}");
    let events = events(&body);
    let text: String = events
        .iter()
        .filter_map(|e| e.pointer("/choices/0/delta/content").and_then(Value::as_str))
        .collect();
    assert_eq!(text, "Hello there");
    let args: String = events
        .iter()
        .filter_map(|e| {
            e.pointer("/choices/0/delta/tool_calls/0/function/arguments")
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"path": "a.txt", "content": "x"})
    );
    let last = events.last().unwrap();
    assert_eq!(last["usage"]["prompt_tokens"], 1000);
    assert_eq!(last["usage"]["prompt_tokens_details"]["cached_tokens"], 600);
    assert!(server.mismatches().is_empty(), "{:?}", server.mismatches());
    let log = server.requests();
    assert_eq!(log.len(), 1);
    assert!(log[0].completed);
    assert_eq!(log[0].usage.unwrap().completion, 50);
}

#[test]
fn answers_whole_errors_and_records_failed_expectations() {
    let server = ModelServer::start(vec![
        Turn::text("plain").expect_last("never said"),
        Turn::http_error(500, "boom"),
    ]);
    let (status, body) = post(&server, &request(false, "hi"));
    assert!(status.contains("200"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["choices"][0]["message"]["content"], "plain");
    assert!(
        v["usage"]["prompt_tokens"].as_u64().unwrap() > 0,
        "estimated usage"
    );
    let (status, body) = post(&server, &request(true, "again"));
    assert!(status.contains("500"), "{status}");
    assert!(body.contains("boom"));
    assert_eq!(server.mismatches().len(), 1, "the failed expectation is recorded");
    let (_, body) = post(&server, &request(false, "more"));
    assert!(body.contains("scenario exhausted"));
    assert_eq!(server.served(), 3);
}

#[test]
fn delays_and_stopping() {
    let server = ModelServer::start(vec![
        Turn::text("abcdef").slow_stream(3, Duration::from_millis(20)),
    ]);
    let (_, body) = post(&server, &request(true, "x"));
    assert_eq!(
        events(&body).len(),
        1 + 3 + 2,
        "role, three pieces, finish, usage"
    );
    // Whether the port refuses connections afterwards is not a sound check: another test may bind the
    // same free port in between. The listener and every connection live in the serving runtime, so
    // the state they share being gone means all of them are.
    let probe = server.stop_probe();
    assert!(!probe.stopped(), "running while it is held");
    drop(server);
    assert!(probe.stopped(), "stopped when dropped");
}

/// A conversation: the brief, then `steps` model calls each followed by a tool result.
fn conversation(brief: &str, steps: usize, more: &[&str]) -> Value {
    let mut messages = vec![
        json!({"role": "system", "content": "You are an agent."}),
        json!({"role": "user", "content": [{"type": "text", "text": brief}]}),
    ];
    for _ in 0..steps {
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": []}));
        messages.push(json!({"role": "tool", "content": "ok"}));
    }
    for m in more {
        messages.push(json!({"role": "user", "content": m}));
    }
    json!({"model": "fake-model", "stream": false, "messages": messages})
}

fn answer(server: &ModelServer, body: &Value) -> String {
    let (_, text) = post(server, body);
    let v: Value = serde_json::from_str(&text).unwrap();
    v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn routes_pick_the_answer_by_conversation_step_and_use_count() {
    let server = ModelServer::routed(vec![
        Route::when("task A")
            .last_user("retry")
            .step(0)
            .reply(Turn::text("A retry")),
        Route::when("task A")
            .step(0)
            .times(1)
            .reply(Turn::text("A first")),
        Route::when("task A").step(0).reply(Turn::text("A again")),
        Route::when("task A").step(1).reply(Turn::text("A done")),
        Route::when("task B").and("goal").reply(Turn::text("B any step")),
    ]);
    assert_eq!(
        answer(&server, &conversation("the goal, task A", 0, &[])),
        "A first"
    );
    assert_eq!(
        answer(&server, &conversation("the goal, task A", 0, &[])),
        "A again",
        "used up"
    );
    assert_eq!(
        answer(&server, &conversation("the goal, task A", 1, &[])),
        "A done"
    );
    assert_eq!(
        answer(&server, &conversation("the goal, task A", 2, &["please retry"])),
        "A retry",
        "steps count from the last user message"
    );
    assert_eq!(
        answer(&server, &conversation("the goal, task B", 3, &[])),
        "B any step"
    );
    assert!(server.mismatches().is_empty(), "{:?}", server.mismatches());
    assert_eq!(
        answer(&server, &conversation("task C", 0, &[])),
        "(no route matched)"
    );
    assert_eq!(server.mismatches().len(), 1, "an unrouted request is recorded");
    let routes: Vec<Option<usize>> = server.requests().iter().map(|r| r.route).collect();
    assert_eq!(routes, vec![Some(1), Some(2), Some(3), Some(0), Some(4), None]);
}
