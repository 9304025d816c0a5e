//! A scripted, OpenAI-compatible model server for driving the REAL agents in tests.
//!
//! `POST …/chat/completions` answers with the next scripted turn, as server-sent events when the
//! request asks for `stream: true` (usage in the last chunk, as `stream_options.include_usage` asks)
//! or as one JSON body otherwise. A turn is text, reasoning, tool calls, usage, delays (before the
//! first byte and between chunks), an HTTP error, and expectations on the request. Every request is
//! logged with the usage the server reported, for assertions. `GET …/models` lists the model.
//!
//! Two ways to script: a list of turns served in order ([`ModelServer::start`]), or routes
//! ([`ModelServer::routed`]) that pick the answer by the content of the request, for several agents
//! talking to the server at once: the first [`Route`] whose conditions hold answers.
//! Binds 127.0.0.1 on a free port, runs on its own thread, and stops when dropped.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// The model name the server reports.
pub const MODEL: &str = "fake-model";

/// A check on the request a turn answers; a failed check is recorded in `mismatches`.
#[derive(Clone, Debug)]
pub enum Expect {
    /// The last message (as JSON text) contains this.
    LastMessageContains(String),
    /// Some message contains this.
    AnyMessageContains(String),
    /// These tools are offered.
    ToolsInclude(Vec<String>),
}

/// One scripted tool call.
#[derive(Clone, Debug)]
pub struct ToolCall {
    /// Tool name.
    pub name: String,
    /// Arguments (sent as a JSON string).
    pub arguments: Value,
}

/// Usage reported for a turn (defaults: estimated from the sizes of request and answer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `prompt_tokens`.
    pub prompt: u64,
    /// `completion_tokens`.
    pub completion: u64,
    /// `prompt_tokens_details.cached_tokens`.
    pub cached: u64,
}

/// One scripted answer.
#[derive(Clone, Debug, Default)]
pub struct Turn {
    text: String,
    think: Option<String>,
    tool_calls: Vec<ToolCall>,
    usage: Option<Usage>,
    delay: Duration,
    chunk_delay: Duration,
    chunks: usize,
    http_error: Option<(u16, String)>,
    expect: Vec<Expect>,
}

impl Turn {
    /// A text answer.
    pub fn text(text: &str) -> Turn {
        Turn {
            text: text.to_owned(),
            chunks: 3,
            ..Turn::default()
        }
    }

    /// An answer that only calls a tool.
    pub fn tool(name: &str, arguments: Value) -> Turn {
        Turn::text("").tool_call(name, arguments)
    }

    /// An HTTP error instead of an answer.
    pub fn http_error(status: u16, message: &str) -> Turn {
        Turn {
            http_error: Some((status, message.to_owned())),
            ..Turn::text("")
        }
    }

    /// Also call a tool.
    pub fn tool_call(mut self, name: &str, arguments: Value) -> Turn {
        self.tool_calls.push(ToolCall {
            name: name.to_owned(),
            arguments,
        });
        self
    }

    /// Also stream reasoning.
    pub fn think(mut self, text: &str) -> Turn {
        self.think = Some(text.to_owned());
        self
    }

    /// Report this usage.
    pub fn usage(mut self, prompt: u64, completion: u64, cached: u64) -> Turn {
        self.usage = Some(Usage {
            prompt,
            completion,
            cached,
        });
        self
    }

    /// Wait this long before answering.
    pub fn delay(mut self, delay: Duration) -> Turn {
        self.delay = delay;
        self
    }

    /// Stream the text in `chunks` pieces with `delay` between chunks.
    pub fn slow_stream(mut self, chunks: usize, delay: Duration) -> Turn {
        self.chunks = chunks.max(1);
        self.chunk_delay = delay;
        self
    }

    /// Check the request.
    pub fn expect(mut self, expect: Expect) -> Turn {
        self.expect.push(expect);
        self
    }

    /// Check that the last message contains `needle`.
    pub fn expect_last(self, needle: &str) -> Turn {
        self.expect(Expect::LastMessageContains(needle.to_owned()))
    }

    /// Check that some message contains `needle`.
    pub fn expect_any(self, needle: &str) -> Turn {
        self.expect(Expect::AnyMessageContains(needle.to_owned()))
    }
}

/// A routing rule: answer with its turn when every needle occurs in the conversation's text, the
/// last user message contains `last_user` (if set), and the request is the `step`-th model call since
/// that user message (if set; 0 is the first call of a prompt, 1 the call after its tool results…).
#[derive(Clone, Debug)]
pub struct Route {
    needles: Vec<String>,
    last_user: Option<String>,
    step: Option<usize>,
    uses_left: Option<usize>,
    turn: Turn,
}

impl Route {
    /// A route for conversations containing `needle`.
    pub fn when(needle: &str) -> Route {
        Route {
            needles: vec![needle.to_owned()],
            last_user: None,
            step: None,
            uses_left: None,
            turn: Turn::text(""),
        }
    }

    /// Also require `needle` in the conversation.
    pub fn and(mut self, needle: &str) -> Route {
        self.needles.push(needle.to_owned());
        self
    }

    /// Require `needle` in the last user message.
    pub fn last_user(mut self, needle: &str) -> Route {
        self.last_user = Some(needle.to_owned());
        self
    }

    /// Only the `step`-th model call since the last user message.
    pub fn step(mut self, step: usize) -> Route {
        self.step = Some(step);
        self
    }

    /// Answer at most `n` requests.
    pub fn times(mut self, n: usize) -> Route {
        self.uses_left = Some(n);
        self
    }

    /// The answer.
    pub fn reply(mut self, turn: Turn) -> Route {
        self.turn = turn;
        self
    }

    fn matches(&self, conversation: &Conversation) -> bool {
        self.uses_left != Some(0)
            && self
                .needles
                .iter()
                .all(|n| conversation.text.contains(n.as_str()))
            && self
                .last_user
                .as_ref()
                .is_none_or(|n| conversation.last_user.contains(n.as_str()))
            && self.step.is_none_or(|s| s == conversation.step)
    }
}

/// What routing looks at in a request.
struct Conversation {
    /// Every string of every message, one per line.
    text: String,
    /// The text of the last user message.
    last_user: String,
    /// Assistant messages after the last user message.
    step: usize,
}

impl Conversation {
    fn of(body: &Value) -> Conversation {
        let messages = body
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let role = |m: &Value| m.get("role").and_then(Value::as_str).unwrap_or("").to_owned();
        let last_user_at = messages.iter().rposition(|m| role(m) == "user");
        let mut text = String::new();
        for m in &messages {
            strings_of(m, &mut text);
        }
        let mut last_user = String::new();
        if let Some(i) = last_user_at {
            strings_of(&messages[i], &mut last_user);
        }
        let after = last_user_at.map_or(0, |i| i + 1);
        let step = messages[after..]
            .iter()
            .filter(|m| role(m) == "assistant")
            .count();
        Conversation {
            text,
            last_user,
            step,
        }
    }
}

/// Append every string inside `value`, one per line.
fn strings_of(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|v| strings_of(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings_of(v, out)),
        _ => {}
    }
}

/// One logged request.
#[derive(Clone, Debug)]
pub struct Logged {
    /// Request path.
    pub path: String,
    /// The JSON body.
    pub body: Value,
    /// Which scripted turn answered (index; past the script: the fallback answer). With routes: the
    /// request's number.
    pub turn: usize,
    /// With routes: which route answered (`None`: none matched, the fallback answered).
    pub route: Option<usize>,
    /// The usage the answer reported (none for errors).
    pub usage: Option<Usage>,
    /// Whether the whole answer was written (false when the client went away mid-stream).
    pub completed: bool,
}

#[derive(Default)]
struct State {
    turns: Vec<Turn>,
    routes: Vec<Route>,
    fallback: Turn,
    cursor: usize,
    log: Vec<Logged>,
    mismatches: Vec<String>,
}

/// The running server.
pub struct ModelServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ModelServer {
    /// Serve `turns` in order, then `(scenario exhausted)` text answers.
    pub fn start(turns: Vec<Turn>) -> ModelServer {
        ModelServer::serve_state(State {
            turns,
            fallback: Turn::text("(scenario exhausted)"),
            ..State::default()
        })
    }

    /// Answer each request with the first route that matches it; a request no route matches gets a
    /// `(no route matched)` text answer and is recorded in `mismatches`.
    pub fn routed(routes: Vec<Route>) -> ModelServer {
        ModelServer::serve_state(State {
            routes,
            fallback: Turn::text("(no route matched)"),
            ..State::default()
        })
    }

    fn serve_state(state: State) -> ModelServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(state));
        let (stop, stopped) = oneshot::channel();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the model server");
            rt.block_on(serve(listener, shared, stopped));
        });
        ModelServer {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The OpenAI base URL (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every chat request so far.
    pub fn requests(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// Failed expectations so far.
    pub fn mismatches(&self) -> Vec<String> {
        self.state.lock().unwrap().mismatches.clone()
    }

    /// How many scripted turns were served.
    pub fn served(&self) -> usize {
        self.state.lock().unwrap().cursor
    }

    /// A witness that outlives the server: it says whether the server's listener, connections and state
    /// are all gone (they live in the serving runtime, which ends when the server is dropped).
    pub fn stop_probe(&self) -> StopProbe {
        StopProbe(Arc::downgrade(&self.state))
    }

    /// Replace the script (and reset the cursor); the log is kept.
    pub fn set_turns(&self, turns: Vec<Turn>) {
        let mut s = self.state.lock().unwrap();
        s.turns = turns;
        s.cursor = 0;
    }
}

/// See [`ModelServer::stop_probe`].
pub struct StopProbe(Weak<Mutex<State>>);

impl StopProbe {
    /// Whether nothing of the server is left: no listener, no connection task, no state.
    pub fn stopped(&self) -> bool {
        self.0.upgrade().is_none()
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    state: Arc<Mutex<State>>,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = TcpListener::from_std(listener).expect("tokio listener");
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(connection(stream, state.clone()));
                }
            }
        }
    }
}

struct Request {
    method: String,
    path: String,
    close: bool,
    body: Vec<u8>,
}

async fn connection(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut stream, &mut buf).await {
        let keep = respond(&mut stream, &req, &state).await;
        if !keep || req.close {
            return;
        }
    }
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 1 << 20 || !fill(stream, buf).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let close = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(stream, buf).await?
    } else {
        let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        while buf.len() < len {
            if !fill(stream, buf).await {
                return None;
            }
        }
        buf.drain(..len).collect()
    };
    Some(Request {
        method,
        path,
        close,
        body,
    })
}

async fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(buf, b"\r\n") {
                break i;
            }
            if !fill(stream, buf).await {
                return None;
            }
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        buf.drain(..line_end + 2);
        while buf.len() < size + 2 {
            if !fill(stream, buf).await {
                return None;
            }
        }
        body.extend(buf.drain(..size));
        buf.drain(..2);
        if size == 0 {
            return Some(body);
        }
    }
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Answer one request; returns whether the connection may be reused.
async fn respond(stream: &mut TcpStream, req: &Request, state: &Arc<Mutex<State>>) -> bool {
    let path = req.path.split('?').next().unwrap_or("").trim_end_matches('/');
    if req.method == "GET" && path.ends_with("/models") {
        let body =
            json!({"object": "list", "data": [{"id": MODEL, "object": "model", "context_length": 131072}]});
        return send_json(stream, 200, &body).await;
    }
    if req.method != "POST" || !path.ends_with("/chat/completions") {
        return send_json(
            stream,
            404,
            &json!({"error": {"message": format!("no route {}", req.path)}}),
        )
        .await;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return send_json(stream, 400, &json!({"error": {"message": "bad json"}})).await;
    };
    let (index, turn) = next_turn(state, &req.path, &body);
    if !turn.delay.is_zero() {
        tokio::time::sleep(turn.delay).await;
    }
    if let Some((status, message)) = &turn.http_error {
        let error = json!({"error": {"message": message, "type": "scripted_error"}});
        return send_json(stream, *status, &error).await;
    }
    let usage = usage_of(&turn, &body);
    set_usage(state, index, usage);
    let answer = Answer::new(&turn, index, &body, usage);
    let completed = if body.get("stream").and_then(Value::as_bool) == Some(true) {
        answer.stream(stream, &turn).await
    } else {
        send_json(stream, 200, &answer.whole()).await
    };
    set_completed(state, index, completed);
    completed && body.get("stream").and_then(Value::as_bool) != Some(true)
}

fn next_turn(state: &Arc<Mutex<State>>, path: &str, body: &Value) -> (usize, Turn) {
    let mut s = state.lock().unwrap();
    let index = s.cursor;
    s.cursor += 1;
    let (turn, route) = if s.routes.is_empty() {
        let turn = s.turns.get(index).cloned().unwrap_or_else(|| s.fallback.clone());
        (turn, None)
    } else {
        route(&mut s, index, body)
    };
    let problems = check(index, &turn.expect, body);
    s.mismatches.extend(problems);
    s.log.push(Logged {
        path: path.to_owned(),
        body: body.clone(),
        turn: index,
        route,
        usage: None,
        completed: false,
    });
    (index, turn)
}

/// The turn of the first route matching `body` (using it up), or the fallback and a mismatch.
fn route(s: &mut State, index: usize, body: &Value) -> (Turn, Option<usize>) {
    let conversation = Conversation::of(body);
    match s.routes.iter().position(|r| r.matches(&conversation)) {
        Some(i) => {
            let route = &mut s.routes[i];
            if let Some(left) = route.uses_left.as_mut() {
                *left -= 1;
            }
            (route.turn.clone(), Some(i))
        }
        None => {
            let last: String = conversation.last_user.chars().take(300).collect();
            s.mismatches.push(format!(
                "request {index} (step {}) matched no route; last user message: {last}",
                conversation.step
            ));
            (s.fallback.clone(), None)
        }
    }
}

fn set_usage(state: &Arc<Mutex<State>>, index: usize, usage: Usage) {
    let mut s = state.lock().unwrap();
    if let Some(entry) = s.log.iter_mut().rev().find(|l| l.turn == index) {
        entry.usage = Some(usage);
    }
}

fn set_completed(state: &Arc<Mutex<State>>, index: usize, completed: bool) {
    let mut s = state.lock().unwrap();
    if let Some(entry) = s.log.iter_mut().rev().find(|l| l.turn == index) {
        entry.completed = completed;
    }
}

fn check(index: usize, expect: &[Expect], body: &Value) -> Vec<String> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let last = messages.last().map(Value::to_string).unwrap_or_default();
    let tools: Vec<String> = body
        .get("tools")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(|t| {
                    t.pointer("/function/name")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut problems = Vec::new();
    for e in expect {
        match e {
            Expect::LastMessageContains(needle) if !last.contains(needle.as_str()) => {
                problems.push(format!(
                    "turn {index}: last message lacks {needle:?}: {}",
                    cut(&last)
                ));
            }
            Expect::AnyMessageContains(needle)
                if !messages.iter().any(|m| m.to_string().contains(needle.as_str())) =>
            {
                problems.push(format!("turn {index}: no message contains {needle:?}"));
            }
            Expect::ToolsInclude(names) => {
                for name in names.iter().filter(|n| !tools.contains(n)) {
                    problems.push(format!(
                        "turn {index}: tool {name:?} not offered (have {tools:?})"
                    ));
                }
            }
            _ => {}
        }
    }
    problems
}

fn cut(text: &str) -> String {
    text.chars().take(300).collect()
}

fn estimate(value: &impl ToString) -> u64 {
    (value.to_string().len() as u64 / 4).max(1)
}

fn usage_of(turn: &Turn, body: &Value) -> Usage {
    turn.usage.unwrap_or_else(|| Usage {
        prompt: estimate(body.get("messages").unwrap_or(&Value::Null)),
        completion: estimate(&turn.text)
            + turn
                .tool_calls
                .iter()
                .map(|c| estimate(&c.arguments))
                .sum::<u64>(),
        cached: 0,
    })
}

struct Answer {
    id: String,
    text: String,
    think: Option<String>,
    model: String,
    calls: Vec<(String, String, String)>,
    usage: Usage,
    finish: &'static str,
}

impl Answer {
    fn new(turn: &Turn, index: usize, body: &Value, usage: Usage) -> Answer {
        let calls: Vec<(String, String, String)> = turn
            .tool_calls
            .iter()
            .enumerate()
            .map(|(j, c)| {
                (
                    format!("call_{index}_{j}_omk"),
                    c.name.clone(),
                    c.arguments.to_string(),
                )
            })
            .collect();
        Answer {
            id: format!("chatcmpl-scripted-{index}"),
            text: turn.text.clone(),
            think: turn.think.clone(),
            model: body
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or(MODEL)
                .to_owned(),
            finish: if calls.is_empty() { "stop" } else { "tool_calls" },
            calls,
            usage,
        }
    }

    fn usage_json(&self) -> Value {
        json!({
            "prompt_tokens": self.usage.prompt,
            "completion_tokens": self.usage.completion,
            "total_tokens": self.usage.prompt + self.usage.completion,
            "prompt_tokens_details": {"cached_tokens": self.usage.cached},
        })
    }

    fn whole(&self) -> Value {
        let calls: Vec<Value> = self
            .calls
            .iter()
            .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}))
            .collect();
        let mut message = json!({"role": "assistant", "content": self.text});
        if self.text.is_empty() {
            message["content"] = Value::Null;
        }
        if let Some(think) = &self.think {
            message["reasoning_content"] = json!(think);
        }
        if !calls.is_empty() {
            message["tool_calls"] = json!(calls);
        }
        json!({
            "id": self.id, "object": "chat.completion", "created": 0, "model": self.model,
            "choices": [{"index": 0, "finish_reason": self.finish, "message": message}],
            "usage": self.usage_json(),
        })
    }

    fn chunk(&self, delta: Option<Value>, finish: Option<&str>, usage: Option<Value>) -> Vec<u8> {
        let choices = match delta {
            Some(delta) => json!([{"index": 0, "delta": delta, "finish_reason": finish}]),
            None => json!([]),
        };
        let mut chunk = json!({"id": self.id, "object": "chat.completion.chunk", "created": 0, "model": self.model, "choices": choices});
        if let Some(usage) = usage {
            chunk["usage"] = usage;
        }
        format!("data: {chunk}\n\n").into_bytes()
    }

    /// Stream the answer as server-sent events; false when the client went away.
    async fn stream(&self, stream: &mut TcpStream, turn: &Turn) -> bool {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
        let mut pieces = vec![self.chunk(Some(json!({"role": "assistant", "content": ""})), None, None)];
        if let Some(think) = &turn.think {
            for part in split(think, turn.chunks) {
                pieces.push(self.chunk(Some(json!({"reasoning_content": part})), None, None));
            }
        }
        for part in split(&turn.text, turn.chunks) {
            pieces.push(self.chunk(Some(json!({"content": part})), None, None));
        }
        for (i, (id, name, args)) in self.calls.iter().enumerate() {
            let first = json!({"tool_calls": [{"index": i, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]});
            pieces.push(self.chunk(Some(first), None, None));
            for part in split(args, 2) {
                let delta = json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]});
                pieces.push(self.chunk(Some(delta), None, None));
            }
        }
        pieces.push(self.chunk(Some(json!({})), Some(self.finish), None));
        pieces.push(self.chunk(None, None, Some(self.usage_json())));
        pieces.push(b"data: [DONE]\n\n".to_vec());
        if stream.write_all(head.as_bytes()).await.is_err() {
            return false;
        }
        for piece in pieces {
            if stream.write_all(&piece).await.is_err() || stream.flush().await.is_err() {
                return false;
            }
            if !turn.chunk_delay.is_zero() {
                tokio::time::sleep(turn.chunk_delay).await;
            }
        }
        true // the caller records the answer as complete, then closes the connection
    }
}

/// `text` in about `n` pieces (on character boundaries).
fn split(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let size = chars.len().div_ceil(n.max(1));
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

async fn send_json(stream: &mut TcpStream, status: u16, body: &Value) -> bool {
    let text = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        text.len()
    );
    stream.write_all(head.as_bytes()).await.is_ok() && stream.write_all(text.as_bytes()).await.is_ok()
}
