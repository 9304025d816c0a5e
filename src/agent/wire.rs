//! The Wire 1.10 engine: legacy kimi-cli 1.x (`kimi --wire --work-dir D --session S`).
//!
//! Owns the client side of Wire: string request ids, `initialize`, `prompt` (answered at the end of
//! the turn), `cancel`, the `event` stream (text, thoughts, tool calls with streamed arguments, tool
//! results, per-step `StatusUpdate` token usage) and `ApprovalRequest`s answered by the policy: approve
//! once, or reject WITH feedback so the model sees why and adapts (never `approve_for_session`).
//! A Shell child of kimi-cli survives a cancel, so tools started during a turn are killed when it ends.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::{Instant, sleep_until, timeout_at};

use super::conn::{Connection, Incoming, NoiseCounts};
use super::engine::{BoxFuture, CancelWatch, Engine, MAX_TEXT, Step, Warnings, bounded};
use super::error::AgentError;
use super::event::{AgentEvent, Denial, EngineKind, SessionInfo, StopReason};
use super::jsonrpc::{self, Answer, METHOD_NOT_FOUND, Message, RpcError};
use super::session::Limits;
use crate::clock::{monotonic, random_bytes};
use crate::model::policy::{Access, Policy, Verdict};
use crate::model::usage::{TokenUsage, estimate_tokens};
use crate::process::{self, GroupSpec};

/// The Wire protocol version spoken.
const PROTOCOL: &str = "1.10";
/// Longest streamed tool-call arguments kept.
const MAX_ARGS: usize = 1 << 20;
/// Tool calls remembered at once.
const MAX_CALLS: usize = 1024;

/// How to start a Wire session.
pub struct WireStart {
    /// The `kimi` program.
    pub program: OsString,
    /// Arguments after the engine's own (`--config …` and the like).
    pub extra_args: Vec<OsString>,
    /// Environment on top of the inherited one.
    pub env: Vec<(OsString, OsString)>,
    /// The policy (its work dir is the agent's `--work-dir`).
    pub policy: Arc<Policy>,
    /// A stored session id to resume; a new one is made up otherwise.
    pub resume: Option<String>,
    /// Bounds and timeouts.
    pub limits: Limits,
    /// The model name, when the caller knows it.
    pub model: Option<String>,
}

#[derive(Debug, Default)]
struct Call {
    name: String,
    args: String,
    announced: bool,
}

#[derive(Debug, Default)]
struct TurnState {
    prompt: String,
    steps_begun: u32,
    steps_reported: u32,
    context_tokens: Option<u64>,
    chars_in_step: usize,
}

/// A running Wire session.
pub struct WireEngine {
    conn: Connection,
    info: SessionInfo,
    policy: Arc<Policy>,
    next_id: u64,
    prompt_id: Option<Value>,
    calls: HashMap<String, Call>,
    open_call: Option<String>,
    turn: TurnState,
    pending: VecDeque<Step>,
    warnings: Warnings,
    cancel_deadline: Option<Instant>,
    cancel_ids: Vec<Value>,
    cancel_acked: bool,
    /// The agent's own processes once it was ready: the ones a turn's end does not kill.
    keep: Vec<u32>,
    limits: Limits,
}

/// A fresh session id in UUID shape (kimi-cli creates a session under an unknown id).
fn new_session_id() -> String {
    let b = random_bytes::<16>();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

impl WireEngine {
    /// Start kimi-cli in Wire mode and initialize.
    pub async fn start(start: WireStart) -> Result<WireEngine, AgentError> {
        let session_id = start.resume.clone().unwrap_or_else(new_session_id);
        let work_dir = start.policy.work_dir().to_owned();
        let mut args: Vec<OsString> = vec!["--wire".into(), "--work-dir".into(), work_dir.clone().into()];
        args.extend(["--session".into(), session_id.clone().into()]);
        args.extend(start.extra_args.iter().cloned());
        let spec = GroupSpec {
            program: start.program.clone(),
            args,
            cwd: work_dir,
            env: start.env.clone(),
            stdin: true,
        };
        let mut engine = WireEngine {
            conn: Connection::spawn(&spec, start.limits.max_line)?,
            info: SessionInfo {
                engine: EngineKind::KimiWire,
                agent: None,
                version: None,
                protocol: format!("wire/{PROTOCOL}"),
                program: start.program.to_string_lossy().into_owned(),
                session_id: Some(session_id),
                model: start.model.clone(),
            },
            policy: start.policy,
            next_id: 0,
            prompt_id: None,
            calls: HashMap::new(),
            open_call: None,
            turn: TurnState::default(),
            pending: VecDeque::new(),
            warnings: Warnings::default(),
            cancel_deadline: None,
            cancel_ids: Vec::new(),
            cancel_acked: false,
            keep: Vec::new(),
            limits: start.limits,
        };
        engine.initialize().await?;
        engine.keep = process::family(engine.conn.pgid());
        Ok(engine)
    }

    async fn initialize(&mut self) -> Result<(), AgentError> {
        let params = json!({
            "protocol_version": PROTOCOL,
            "client": {"name": "git-omk", "version": env!("CARGO_PKG_VERSION")},
            "capabilities": {"supports_question": false, "supports_plan_mode": false},
        });
        match self.call("initialize", params).await {
            Ok(result) => {
                let server = result.get("server");
                let field = |k: &str| {
                    server
                        .and_then(|s| s.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                self.info.agent = field("name");
                self.info.version = field("version");
                if let Some(v) = result.get("protocol_version").and_then(Value::as_str) {
                    self.info.protocol = format!("wire/{v}");
                }
                Ok(())
            }
            // Older Wire servers have no `initialize`: they still take prompts.
            Err(AgentError::Refused {
                code: METHOD_NOT_FOUND,
                ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn new_id(&mut self) -> Value {
        self.next_id += 1;
        json!(format!("omk-{}", self.next_id))
    }

    async fn call(&mut self, method: &str, params: Value) -> Result<Value, AgentError> {
        let id = self.new_id();
        self.conn.send(jsonrpc::request(&id, method, params))?;
        let deadline = monotonic() + self.limits.start_timeout;
        loop {
            let item = timeout_at(deadline, self.conn.recv())
                .await
                .map_err(|_| AgentError::Timeout {
                    what: method.to_owned(),
                    secs: self.limits.start_timeout.as_secs(),
                })?;
            let Some(item) = item else {
                return Err(self.conn.exited(&format!("while answering {method}")).await);
            };
            if let Some((rid, outcome)) = self.dispatch(item)?
                && rid == id
            {
                self.pending.clear();
                return outcome.map_err(|e| AgentError::Refused {
                    method: method.to_owned(),
                    code: e.code,
                    message: e.message,
                });
            }
        }
    }

    async fn begin_turn(&mut self, prompt: &str) -> Result<(), AgentError> {
        self.turn = TurnState {
            prompt: prompt.to_owned(),
            ..TurnState::default()
        };
        self.cancel_deadline = None;
        self.pending.clear();
        let id = self.new_id();
        self.conn
            .send(jsonrpc::request(&id, "prompt", json!({"user_input": prompt})))?;
        self.prompt_id = Some(id);
        Ok(())
    }

    async fn next_step(&mut self, cancel: &mut CancelWatch) -> Result<Step, AgentError> {
        loop {
            if let Some(step) = self.pending.pop_front() {
                return Ok(step);
            }
            let forced = self.cancel_deadline;
            tokio::select! {
                biased;
                _ = cancel.requested(), if self.cancel_deadline.is_none() && self.prompt_id.is_some() => {
                    self.cancel_deadline = Some(monotonic() + self.limits.cancel_grace);
                    self.send_cancel()?;
                }
                _ = sleep_until(forced.unwrap_or_else(monotonic)), if forced.is_some() => {
                    self.conn.kill();
                    self.end_turn(StopReason::Cancelled, true);
                }
                item = self.conn.recv() => match item {
                    None => return Err(self.conn.exited("during a turn").await),
                    Some(item) => {
                        if let Some((id, outcome)) = self.dispatch(item)? {
                            self.on_response(id, outcome);
                        }
                    }
                },
            }
        }
    }

    /// Ask kimi-cli to cancel the turn.
    fn send_cancel(&mut self) -> Result<(), AgentError> {
        let id = self.new_id();
        self.cancel_ids.push(id.clone());
        self.conn.send(jsonrpc::request(&id, "cancel", json!({})))
    }

    fn cancelling(&self) -> bool {
        self.cancel_deadline.is_some()
    }

    fn on_response(&mut self, id: Value, outcome: Result<Value, RpcError>) {
        if self.prompt_id.as_ref() != Some(&id) {
            if outcome.is_ok() && self.cancel_ids.contains(&id) {
                self.cancel_acked = true;
            }
            return;
        }
        let stop = match outcome {
            Ok(result) => match result.get("status").and_then(Value::as_str) {
                Some("finished") => StopReason::Finished,
                Some("cancelled") => StopReason::Cancelled,
                Some("max_steps_reached") => StopReason::MaxSteps,
                other => StopReason::Failed {
                    message: format!("unknown turn status {other:?}"),
                },
            },
            Err(e) => StopReason::Failed { message: e.message },
        };
        self.end_turn(stop, false);
    }

    /// The turn is over: announce the last tool call, estimate unreported steps, kill stray tools.
    fn end_turn(&mut self, stop: StopReason, killed: bool) {
        self.close_call();
        let t = &self.turn;
        if t.steps_begun > t.steps_reported {
            let input = t.context_tokens.unwrap_or_else(|| estimate_tokens(&t.prompt));
            let usage = TokenUsage::estimated(input, (t.chars_in_step as u64).div_ceil(4));
            self.pending.push_back(Step::Event(AgentEvent::Usage { usage }));
        }
        if !killed {
            process::kill_strays(self.conn.pgid(), &self.keep);
        }
        self.prompt_id = None;
        self.cancel_deadline = None;
        self.cancel_ids.clear();
        self.cancel_acked = false;
        self.pending.push_back(Step::End { stop, killed });
    }

    fn event(&mut self, event: AgentEvent) {
        if self.prompt_id.is_some() {
            self.pending.push_back(Step::Event(event));
        }
    }

    fn dispatch(&mut self, item: Incoming) -> Result<Option<Answer>, AgentError> {
        match item {
            Incoming::Malformed(e) => {
                self.conn.noise().malformed.fetch_add(1, Relaxed);
                self.warn(format!("the agent sent a malformed line ({e})"));
            }
            Incoming::TooLong(len) => {
                self.conn.noise().too_long.fetch_add(1, Relaxed);
                self.warn(format!(
                    "the agent sent a line of {len} bytes, over the limit; it was discarded"
                ));
            }
            Incoming::Message(Message::Response { id, outcome }) => return Ok(Some((id, outcome))),
            Incoming::Message(Message::Notification { method, params }) if method == "event" => {
                self.on_event(&params);
            }
            Incoming::Message(Message::Request { id, method, params }) if method == "request" => {
                self.on_request(id, &params)?;
            }
            Incoming::Message(Message::Request { id, .. }) => {
                self.conn.noise().unknown.fetch_add(1, Relaxed);
                self.conn
                    .reply_error(&id, METHOD_NOT_FOUND, "git-omk does not serve this method")?;
            }
            Incoming::Message(Message::Notification { .. }) => {
                self.conn.noise().unknown.fetch_add(1, Relaxed);
            }
        }
        Ok(None)
    }

    fn warn(&mut self, message: String) {
        if let Some(event) = self.warnings.event(message) {
            self.event(event);
        }
    }

    fn on_event(&mut self, params: &Value) {
        let kind = params.get("type").and_then(Value::as_str).unwrap_or("");
        let payload = params.get("payload").unwrap_or(&Value::Null);
        let text = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        if kind != "ToolCallPart" {
            self.close_call();
        }
        match kind {
            "ContentPart" => match payload.get("type").and_then(Value::as_str) {
                Some("text") => self.output(AgentEvent::Text { text: text("text") }),
                Some("think") => self.output(AgentEvent::Thought { text: text("think") }),
                _ => {}
            },
            "ToolCall" => self.open(payload),
            "ToolCallPart" => self.append_args(&text("arguments_part")),
            "ToolResult" => self.tool_result(payload),
            "StepBegin" => {
                self.turn.steps_begun += 1;
                if self.cancel_acked {
                    // kimi-cli 1.x swallows a cancel that lands while a tool runs (the tool fails, the
                    // turn goes on) and ignores any further cancel of that turn: stop it the hard way
                    // before the next step spends tokens.
                    self.conn.kill();
                    self.end_turn(StopReason::Cancelled, true);
                }
            }
            "StatusUpdate" => self.status(payload),
            "StepRetry" => self.warn("the model call failed and is retried".to_owned()),
            _ => {}
        }
    }

    fn output(&mut self, event: AgentEvent) {
        if let AgentEvent::Text { text } | AgentEvent::Thought { text } = &event {
            self.turn.chars_in_step += text.len();
        }
        self.event(event);
    }

    fn open(&mut self, payload: &Value) {
        let Some(id) = payload.get("id").and_then(Value::as_str).map(str::to_owned) else {
            return;
        };
        if self.calls.len() >= MAX_CALLS {
            self.calls.clear();
        }
        let name = payload
            .pointer("/function/name")
            .and_then(Value::as_str)
            .unwrap_or("tool");
        let args = payload
            .pointer("/function/arguments")
            .and_then(Value::as_str)
            .unwrap_or("");
        self.calls.insert(
            id.clone(),
            Call {
                name: name.to_owned(),
                args: bounded(args, MAX_ARGS),
                announced: false,
            },
        );
        self.open_call = Some(id);
    }

    fn append_args(&mut self, part: &str) {
        self.turn.chars_in_step += part.len();
        if let Some(call) = self.open_call.as_ref().and_then(|id| self.calls.get_mut(id))
            && call.args.len() + part.len() <= MAX_ARGS
        {
            call.args.push_str(part);
        }
    }

    /// The open tool call's arguments are complete: announce it.
    fn close_call(&mut self) {
        let Some(id) = self.open_call.take() else {
            return;
        };
        self.announce(&id);
    }

    fn announce(&mut self, id: &str) {
        let Some(call) = self.calls.get_mut(id).filter(|c| !c.announced) else {
            return;
        };
        call.announced = true;
        let input = serde_json::from_str(&call.args).unwrap_or_else(|_| Value::String(call.args.clone()));
        let event = AgentEvent::ToolCall {
            id: id.to_owned(),
            name: call.name.clone(),
            input,
        };
        self.event(event);
    }

    fn tool_result(&mut self, payload: &Value) {
        let id = payload
            .get("tool_call_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        self.announce(&id);
        self.calls.remove(&id);
        let value = payload.get("return_value").unwrap_or(&Value::Null);
        let pick = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or("");
        let output = if pick("output").is_empty() {
            pick("message")
        } else {
            pick("output")
        };
        let event = AgentEvent::ToolResult {
            id,
            ok: !value.get("is_error").and_then(Value::as_bool).unwrap_or(false),
            output: bounded(output, MAX_TEXT),
        };
        self.event(event);
    }

    fn status(&mut self, payload: &Value) {
        if let Some(tokens) = payload.get("context_tokens").and_then(Value::as_u64) {
            self.turn.context_tokens = Some(tokens);
        }
        let Some(usage) = payload.get("token_usage").filter(|u| u.is_object()) else {
            return;
        };
        let n = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
        let (other, read, creation) = (n("input_other"), n("input_cache_read"), n("input_cache_creation"));
        let usage = TokenUsage {
            input: other + read + creation,
            output: n("output"),
            cache_read: read,
            cache_creation: creation,
            estimated: 0,
        };
        self.turn.steps_reported = self.turn.steps_begun.max(self.turn.steps_reported + 1);
        self.turn.chars_in_step = 0;
        self.event(AgentEvent::Usage { usage });
    }

    fn on_request(&mut self, id: Value, params: &Value) -> Result<(), AgentError> {
        self.close_call();
        let payload = params.get("payload").unwrap_or(&Value::Null);
        match params.get("type").and_then(Value::as_str) {
            Some("ApprovalRequest") => {
                let answer = self.approve(&id, payload);
                self.conn.reply(&id, answer)
            }
            Some("ToolCallRequest") => {
                let call_id = payload.get("id").cloned().unwrap_or(Value::Null);
                let answer = json!({"tool_call_id": call_id, "return_value": {
                    "is_error": true, "output": "", "message": "git-omk offers no external tools", "display": []}});
                self.conn.reply(&id, answer)
            }
            _ => {
                self.conn.noise().unknown.fetch_add(1, Relaxed);
                self.conn
                    .reply_error(&id, METHOD_NOT_FOUND, "git-omk does not serve this request")
            }
        }
    }

    /// Answer an approval by the policy: approve once, or reject with the reason as feedback.
    fn approve(&mut self, id: &Value, payload: &Value) -> Value {
        let request_id = payload.get("id").cloned().unwrap_or_else(|| id.clone());
        let sender = payload.get("sender").and_then(Value::as_str).unwrap_or("");
        let action = payload.get("action").and_then(Value::as_str).unwrap_or("");
        let call_id = payload.get("tool_call_id").and_then(Value::as_str).unwrap_or("");
        let args = self
            .calls
            .get(call_id)
            .and_then(|c| serde_json::from_str::<Value>(&c.args).ok())
            .unwrap_or(Value::Null);
        let description = payload.get("description").and_then(Value::as_str).unwrap_or("");
        let (verdict, target) = if self.cancelling() {
            (Verdict::Deny("the turn was cancelled".to_owned()), String::new())
        } else {
            judge(&self.policy, sender, action, &args, description)
        };
        match verdict {
            Verdict::Allow => json!({"request_id": request_id, "response": "approve"}),
            Verdict::Deny(reason) => {
                let feedback = format!("Refused by git-omk: {reason}");
                self.event(AgentEvent::Denied(Denial {
                    tool: sender.to_owned(),
                    target,
                    reason,
                }));
                json!({"request_id": request_id, "response": "reject", "feedback": feedback})
            }
        }
    }
}

/// The policy's verdict on a Wire approval request, and what it was aimed at.
fn judge(policy: &Policy, sender: &str, action: &str, args: &Value, description: &str) -> (Verdict, String) {
    let quoted = description.split('`').nth(1).unwrap_or("").to_owned();
    let arg = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_owned);
    if sender == "Shell" || action == "run command" {
        let command = arg("command").unwrap_or(quoted);
        return (policy.check_command(&command, None), command);
    }
    let edits = matches!(sender, "WriteFile" | "StrReplaceFile")
        || action.contains("edit")
        || action.contains("write");
    if edits {
        let path = arg("path").unwrap_or(quoted);
        if path.is_empty() {
            return (
                Verdict::Deny("the file to change could not be determined".to_owned()),
                path,
            );
        }
        return (policy.check_write(Path::new(&path)), path);
    }
    let reason = match policy.access() {
        Access::ReadOnly => format!("this session is read-only: `{sender}` ({action}) is not allowed"),
        Access::ReadWrite => format!("git-omk does not know the tool `{sender}` ({action}) and refuses it"),
    };
    (Verdict::Deny(reason), sender.to_owned())
}

impl Engine for WireEngine {
    fn info(&self) -> &SessionInfo {
        &self.info
    }

    fn begin<'a>(&'a mut self, prompt: &'a str) -> BoxFuture<'a, Result<(), AgentError>> {
        Box::pin(self.begin_turn(prompt))
    }

    fn step<'a>(&'a mut self, cancel: &'a mut CancelWatch) -> BoxFuture<'a, Result<Step, AgentError>> {
        Box::pin(self.next_step(cancel))
    }

    fn process_group(&self) -> Option<i32> {
        Some(self.conn.pgid())
    }

    fn noise(&self) -> NoiseCounts {
        self.conn.noise().counts()
    }

    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move { self.conn.shutdown(Duration::from_secs(2)).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::writeset::PathPattern;

    #[test]
    fn approvals_follow_the_policy() {
        let policy = Policy::task(Path::new("/w"), vec![PathPattern::parse("hello.txt").unwrap()]).unwrap();
        let ok = judge(
            &policy,
            "WriteFile",
            "edit file",
            &json!({"path": "hello.txt"}),
            "",
        );
        assert!(ok.0.is_allowed());
        let outside = judge(&policy, "WriteFile", "edit file", &json!({"path": "/tmp/x"}), "");
        assert!(!outside.0.is_allowed());
        let from_description = judge(
            &policy,
            "StrReplaceFile",
            "edit file",
            &Value::Null,
            "Edit file `/w/other.rs`",
        );
        assert!(!from_description.0.is_allowed());
        assert_eq!(from_description.1, "/w/other.rs");
        let push = judge(
            &policy,
            "Shell",
            "run command",
            &json!({"command": "git push"}),
            "",
        );
        assert!(!push.0.is_allowed());
        let unknown = judge(&policy, "Mystery", "do things", &Value::Null, "");
        assert!(!unknown.0.is_allowed());
        assert_eq!(new_session_id().len(), 36);
    }
}
