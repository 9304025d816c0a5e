//! The ACP v1 engine: Kimi Code 2.x (`kimi acp`) and any other ACP agent (`acp:<cmd>`).
//!
//! Owns the client side of ACP: `initialize` (advertising `fs` and `terminal`, so file access and
//! shell commands go through git-omk), `session/new` / `session/resume` / `session/load`,
//! `session/prompt` and `session/cancel`, the `session/update` stream (text, thoughts, tool calls
//! merged per id, see [`tools`]), permission requests answered by the policy by kind (never
//! `allow_always`), and token usage: what the agent reports ([`usage`]: per step in `_meta.usage`,
//! per turn in the prompt's result), Kimi Code's per-step records ([`kimi_usage`]), else estimated
//! and marked so. Tracks the refusals an agent ended its turn on (Qwen Code ends its turn when a
//! permission is rejected), so the session can tell the agent about them in its next prompt.
//! Unknown messages are tolerated; known vendor extensions are answered as ACP asks (`-32601` for
//! requests) without counting as noise. A request naming another session than the current one (an
//! earlier session of the same process, see [`Engine::renew`]) is refused and recorded.

pub mod fs;
pub mod kimi_usage;
pub mod terminal;
pub mod tools;
pub mod usage;

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::{Instant, Interval, MissedTickBehavior, interval, sleep_until, timeout_at};

use super::conn::{Connection, Incoming, NoiseCounts};
use super::engine::{BoxFuture, CancelWatch, Engine, Step, Warnings, bounded};
use super::error::AgentError;
use super::event::{AgentEvent, Denial, EngineKind, SessionInfo, StopReason};
use super::jsonrpc::{self, Answer, METHOD_NOT_FOUND, Message, RpcError};
use super::session::Limits;
use crate::clock::monotonic;
use crate::model::policy::{Policy, Verdict};
use crate::model::usage::{TokenUsage, estimate_tokens};
use crate::process::GroupSpec;
use crate::sandbox::Confined;
use kimi_usage::UsageTail;
use terminal::Terminals;
use tools::{ToolCalls, judge};

pub(crate) use jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS};

/// After the prompt's answer, the longest wait for Kimi Code to log the end of the turn (its usage
/// records are complete then).
const SETTLE: Duration = Duration::from_millis(500);
/// How often the usage log is looked at while settling.
const SETTLE_POLL: Duration = Duration::from_millis(10);
/// How often Kimi Code's usage records are looked at during a turn.
const USAGE_POLL: Duration = Duration::from_millis(250);
/// Requests of vendor extensions that agents send and expect to be refused with `-32601` when the
/// client does not implement them (Qwen Code asks `craft/drainMidTurnQueue` after every tool, for
/// prompts queued while the turn runs; git-omk queues none). Answered without counting as noise, like
/// ACP's own `_`-prefixed extension methods.
const KNOWN_EXTENSIONS: &[&str] = &["craft/drainMidTurnQueue"];

/// How to start an ACP session.
pub struct AcpStart {
    /// Kimi Code or another ACP agent.
    pub engine: EngineKind,
    /// The program.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Environment on top of the inherited one.
    pub env: Vec<(OsString, OsString)>,
    /// The policy (its work dir is the session's cwd).
    pub policy: Arc<Policy>,
    /// A stored session id to resume.
    pub resume: Option<String>,
    /// Bounds and timeouts.
    pub limits: Limits,
    /// Kimi Code's data directory, to read exact usage from.
    pub kimi_home: Option<PathBuf>,
    /// The model name, when the caller knows it better than the agent.
    pub model: Option<String>,
    /// How the agent's process and its terminals are started: in its sandbox.
    pub confined: Confined,
}

#[derive(Debug, Default)]
struct TurnState {
    prompt: String,
    output_chars: usize,
    chars_since_usage: usize,
    reported: bool,
    /// The steps' reported usage so far (to compare with the turn's total).
    steps: TokenUsage,
    /// The turn's total, when the prompt's result reported one.
    total: Option<TokenUsage>,
    context_used: Option<u64>,
    /// Refusals the agent has not reacted to yet (no text, thought or new tool call since).
    unanswered: Vec<Denial>,
    ending: Option<(StopReason, Instant)>,
}

/// A running ACP session.
pub struct AcpEngine {
    conn: Connection,
    info: SessionInfo,
    policy: Arc<Policy>,
    next_id: i64,
    prompt_id: Option<Value>,
    calls: ToolCalls,
    terminals: Terminals,
    usage: Option<UsageTail>,
    unanswered: Vec<Denial>,
    turn: TurnState,
    pending: VecDeque<Step>,
    warnings: Warnings,
    cancel_deadline: Option<Instant>,
    limits: Limits,
    tick: Interval,
    /// Environment of the client's terminals (the agent's own).
    env: Vec<(OsString, OsString)>,
    /// Kimi Code's data directory, to read exact usage from.
    kimi_home: Option<PathBuf>,
    /// Noise counted before the current session (the connection's counters are shared by its sessions).
    noise_before: NoiseCounts,
}

impl AcpEngine {
    /// Start the agent, initialize, and open (or resume) a session.
    pub async fn start(start: AcpStart) -> Result<AcpEngine, AgentError> {
        let spec = GroupSpec {
            program: start.program.clone(),
            args: start.args.clone(),
            cwd: start.policy.work_dir().to_owned(),
            env: start.env.clone(),
            stdin: true,
        };
        let conn = Connection::spawn(&spec, &start.confined, start.limits.max_line)?;
        let mut engine = AcpEngine {
            conn,
            info: SessionInfo {
                engine: start.engine,
                agent: None,
                version: None,
                protocol: "acp/1".to_owned(),
                program: start.program.to_string_lossy().into_owned(),
                session_id: None,
                model: start.model.clone(),
            },
            policy: start.policy.clone(),
            next_id: 0,
            prompt_id: None,
            calls: ToolCalls::default(),
            terminals: Terminals::new(start.env.clone(), start.confined.clone()),
            usage: None,
            unanswered: Vec::new(),
            turn: TurnState::default(),
            pending: VecDeque::new(),
            warnings: Warnings::default(),
            cancel_deadline: None,
            limits: start.limits.clone(),
            tick: usage_interval(),
            env: start.env.clone(),
            kimi_home: start.kimi_home.clone(),
            noise_before: NoiseCounts::default(),
        };
        let capabilities = engine.initialize().await?;
        engine.open_session(start.resume, &capabilities).await?;
        engine.pending.clear();
        engine.tail_usage();
        Ok(engine)
    }

    /// Follow Kimi Code's usage records of the current session.
    fn tail_usage(&mut self) {
        self.usage = None;
        if let (Some(home), Some(id)) = (self.kimi_home.clone(), self.info.session_id.clone()) {
            let mut tail = UsageTail::new(home, id);
            tail.poll();
            self.usage = Some(tail);
        }
    }

    /// Open a new session in the running agent (see [`Engine::renew`]): Kimi Code serves several
    /// sessions, each with its own work directory, so a second session costs a `session/new`
    /// (about 0.1 s), not the agent's start-up (seconds).
    /// The earlier session is cancelled and closed first (its scheduled and background work ends
    /// with it), and from then on any request naming it is refused ([`foreign_session`]).
    async fn renew_session(
        &mut self,
        policy: Arc<Policy>,
        confined: Confined,
        env: Vec<(OsString, OsString)>,
    ) -> Result<(), AgentError> {
        if self.in_turn() {
            return Err(AgentError::Protocol(
                "a new session was asked for while a turn runs".to_owned(),
            ));
        }
        if let Some(old) = self.info.session_id.take() {
            self.close_session(&old).await?;
        }
        self.terminals.renew(env.clone(), confined);
        self.env = env;
        self.policy = policy;
        self.calls = ToolCalls::default();
        self.unanswered.clear();
        self.turn = TurnState::default();
        self.noise_before = self.conn.noise().counts();
        self.info.session_id = None;
        self.open_session(None, &Value::Null).await?;
        self.pending.clear();
        self.tail_usage();
        Ok(())
    }

    /// `session/cancel`, then `session/close` (an agent that does not serve it only answers with an
    /// error: the session's requests are refused all the same).
    async fn close_session(&mut self, id: &str) -> Result<(), AgentError> {
        let params = json!({"sessionId": id});
        self.conn
            .send(jsonrpc::notification("session/cancel", params.clone()))?;
        match self.call("session/close", params).await {
            Ok(_) | Err(AgentError::Refused { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn initialize(&mut self) -> Result<Value, AgentError> {
        let params = json!({
            "protocolVersion": 1,
            "clientCapabilities": {"fs": {"readTextFile": true, "writeTextFile": true}, "terminal": true},
            "clientInfo": {"name": "git-omk", "title": "git omk", "version": env!("CARGO_PKG_VERSION")},
        });
        let result = self.call("initialize", params).await?;
        let agent = result.get("agentInfo");
        self.info.agent = agent
            .and_then(|a| a.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        self.info.version = agent
            .and_then(|a| a.get("version"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(v) = result.get("protocolVersion").and_then(Value::as_u64) {
            self.info.protocol = format!("acp/{v}");
        }
        Ok(result.get("agentCapabilities").cloned().unwrap_or(Value::Null))
    }

    async fn open_session(&mut self, resume: Option<String>, caps: &Value) -> Result<(), AgentError> {
        let cwd = self.policy.work_dir().to_string_lossy().into_owned();
        let result = match resume {
            None => {
                self.call("session/new", json!({"cwd": cwd, "mcpServers": []}))
                    .await?
            }
            Some(id) => {
                let method = if caps.pointer("/sessionCapabilities/resume").is_some() {
                    "session/resume"
                } else if caps.get("loadSession").and_then(Value::as_bool) == Some(true) {
                    "session/load"
                } else {
                    return Err(AgentError::ResumeUnsupported(self.info.program.clone()));
                };
                let mut result = self
                    .call(method, json!({"sessionId": id, "cwd": cwd, "mcpServers": []}))
                    .await?;
                if let Value::Object(map) = &mut result {
                    map.entry("sessionId").or_insert(Value::String(id));
                }
                result
            }
        };
        let id = result
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| AgentError::Protocol("session/new answered without a sessionId".into()))?;
        self.info.session_id = Some(id.to_owned());
        if self.info.model.is_none() {
            self.info.model = model_name(&result);
        }
        Ok(())
    }

    fn new_id(&mut self) -> Value {
        self.next_id += 1;
        json!(self.next_id)
    }

    /// Send a request and wait for its answer, serving the agent meanwhile.
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
                return outcome.map_err(|e| AgentError::Refused {
                    method: method.to_owned(),
                    code: e.code,
                    message: e.message,
                });
            }
        }
    }

    fn session_id(&self) -> Value {
        json!(self.info.session_id.clone().unwrap_or_default())
    }

    async fn begin_turn(&mut self, prompt: &str) -> Result<(), AgentError> {
        if let Some(tail) = self.usage.as_mut() {
            tail.begin_turn();
        }
        self.turn = TurnState {
            prompt: prompt.to_owned(),
            ..TurnState::default()
        };
        self.cancel_deadline = None;
        self.pending.clear();
        let id = self.new_id();
        let params = json!({"sessionId": self.session_id(), "prompt": [{"type": "text", "text": prompt}]});
        self.conn.send(jsonrpc::request(&id, "session/prompt", params))?;
        self.prompt_id = Some(id);
        Ok(())
    }

    async fn next_step(&mut self, cancel: &mut CancelWatch) -> Result<Step, AgentError> {
        loop {
            if let Some(step) = self.pending.pop_front() {
                return Ok(step);
            }
            if let Some(at) = self.turn.ending.as_ref().map(|(_, at)| *at) {
                self.poll_usage();
                let settled = self.usage.as_ref().is_none_or(UsageTail::turn_ended);
                if settled || monotonic() >= at {
                    self.finish_turn(false);
                }
                if !self.pending.is_empty() {
                    continue;
                }
            }
            let linger = self.turn.ending.as_ref().map(|_| monotonic() + SETTLE_POLL);
            let forced = self.cancel_deadline.filter(|_| linger.is_none());
            tokio::select! {
                biased;
                _ = cancel.requested(), if self.cancel_deadline.is_none() && self.prompt_id.is_some() => {
                    self.send_cancel()?;
                }
                _ = sleep_until(forced.unwrap_or_else(monotonic)), if forced.is_some() => {
                    self.conn.kill();
                    self.turn.ending = Some((StopReason::Cancelled, monotonic()));
                    self.finish_turn(true);
                }
                _ = sleep_until(linger.unwrap_or_else(monotonic)), if linger.is_some() => {}
                _ = self.tick.tick() => self.poll_usage(),
                item = self.conn.recv() => match item {
                    None if self.turn.ending.is_some() => self.finish_turn(false),
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

    fn send_cancel(&mut self) -> Result<(), AgentError> {
        self.terminals.kill_all();
        self.cancel_deadline = Some(monotonic() + self.limits.cancel_grace);
        let params = json!({"sessionId": self.session_id()});
        self.conn.send(jsonrpc::notification("session/cancel", params))
    }

    fn on_response(&mut self, id: Value, outcome: Result<Value, RpcError>) {
        if self.prompt_id.as_ref() != Some(&id) {
            self.conn.noise().unknown.fetch_add(1, Relaxed);
            return;
        }
        self.prompt_id = None;
        if let Ok(result) = &outcome {
            self.turn.total = result.get("usage").and_then(usage::parse);
        }
        let stop = match outcome {
            Ok(result) => match result.get("stopReason").and_then(Value::as_str) {
                Some("end_turn") => StopReason::Finished,
                Some("cancelled") => StopReason::Cancelled,
                Some("max_tokens") => StopReason::MaxTokens,
                Some("max_turn_requests") => StopReason::MaxSteps,
                Some("refusal") => StopReason::Refused,
                other => StopReason::Failed {
                    message: format!("unknown stop reason {other:?}"),
                },
            },
            Err(e) => StopReason::Failed { message: e.message },
        };
        self.turn.ending = Some((stop, monotonic() + SETTLE));
    }

    /// The turn is over: collect the last usage, estimate what was not reported, stop its terminals.
    fn finish_turn(&mut self, killed: bool) {
        let Some((stop, _)) = self.turn.ending.take() else {
            return;
        };
        self.poll_usage();
        if let Some(rest) = self
            .turn
            .total
            .and_then(|total| usage::remainder(&total, &self.turn.steps))
        {
            self.reported(rest);
        }
        self.unanswered = std::mem::take(&mut self.turn.unanswered);
        let t = &self.turn;
        let unreported = !t.reported || (stop == StopReason::Cancelled && t.chars_since_usage > 0);
        if unreported {
            let input = t.context_used.unwrap_or_else(|| estimate_tokens(&t.prompt));
            let chars = if t.reported {
                t.chars_since_usage
            } else {
                t.output_chars
            };
            let usage = TokenUsage::estimated(input, (chars as u64).div_ceil(4));
            self.pending.push_back(Step::Event(AgentEvent::Usage { usage }));
        }
        self.terminals.kill_all();
        self.prompt_id = None;
        self.cancel_deadline = None;
        self.pending.push_back(Step::End { stop, killed });
    }

    fn poll_usage(&mut self) {
        let Some(tail) = self.usage.as_mut() else {
            return;
        };
        // A step Kimi Code aborted is recorded with zero usage: that is "not reported", not "free".
        for usage in tail.poll().into_iter().filter(|u| u.total() > 0) {
            self.reported(usage);
        }
    }

    /// Tokens the agent reported for a step of the running turn.
    fn reported(&mut self, usage: TokenUsage) {
        self.turn.reported = true;
        self.turn.chars_since_usage = 0;
        self.turn.steps += usage;
        self.pending.push_back(Step::Event(AgentEvent::Usage { usage }));
    }

    fn in_turn(&self) -> bool {
        self.prompt_id.is_some() || self.turn.ending.is_some()
    }

    fn event(&mut self, event: AgentEvent) {
        if self.in_turn() {
            self.pending.push_back(Step::Event(event));
        }
    }

    fn warn(&mut self, message: String) {
        if let Some(event) = self.warnings.event(message) {
            self.event(event);
        }
    }

    /// Handle one incoming item; responses are handed back to the caller.
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
            Incoming::Message(Message::Notification { method, params }) => {
                if method == "session/update" {
                    self.on_update(&params);
                } else if !is_known_extension(&method) {
                    self.conn.noise().unknown.fetch_add(1, Relaxed);
                }
            }
            Incoming::Message(Message::Request { id, method, params }) => {
                self.on_request(id, &method, &params)?;
            }
        }
        Ok(None)
    }

    fn on_update(&mut self, params: &Value) {
        let Some(update) = params.get("update") else {
            return;
        };
        // A late update of a session this process served before (see `renew_session`), of a session
        // it never opened for us, or naming none: nobody's turn, never the current session's.
        if !of_session(params, self.info.session_id.as_deref()) {
            self.conn.noise().unknown.fetch_add(1, Relaxed);
            return;
        }
        let text = || {
            update
                .pointer("/content/text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        // Step usage (Qwen Code's `_meta.usage`), unless Kimi Code's records are the source.
        if self.usage.is_none()
            && self.in_turn()
            && let Some(step) = usage::of_update(update)
        {
            self.reported(step);
        }
        match update.get("sessionUpdate").and_then(Value::as_str) {
            Some("agent_message_chunk") => {
                let text = text();
                self.count_output(text.len());
                self.answered(!text.is_empty());
                self.event(AgentEvent::Text { text });
            }
            Some("agent_thought_chunk") => {
                let text = text();
                self.count_output(text.len());
                self.answered(!text.is_empty());
                self.event(AgentEvent::Thought { text });
            }
            Some(kind @ ("tool_call" | "tool_call_update")) => {
                // A new call after a refusal: the model went on.
                self.answered(kind == "tool_call");
                let terminals = &self.terminals;
                let events = self.calls.update(update, |t| terminals.output_text(t));
                for e in events {
                    self.event(e);
                }
            }
            Some("usage_update") => {
                self.turn.context_used = update.get("used").and_then(Value::as_u64);
            }
            _ => {}
        }
    }

    /// The agent said or started something: the refusals before it were seen.
    fn answered(&mut self, yes: bool) {
        if yes {
            self.turn.unanswered.clear();
        }
    }

    fn count_output(&mut self, chars: usize) {
        self.turn.output_chars += chars;
        self.turn.chars_since_usage += chars;
    }

    fn on_request(&mut self, id: Value, method: &str, params: &Value) -> Result<(), AgentError> {
        if let Some(reason) = foreign_session(method, params, self.info.session_id.as_deref()) {
            let target = params
                .get("sessionId")
                .map(|v| v.as_str().map_or_else(|| v.to_string(), |s| bounded(s, 100)))
                .unwrap_or_default();
            // Recorded, but not a refusal the current session's agent has to react to.
            self.event(AgentEvent::Denied(Denial {
                tool: method.to_owned(),
                target,
                reason: reason.clone(),
            }));
            return self.conn.reply_error(&id, fs::DENIED, &reason);
        }
        let cancelled = || Err((fs::DENIED, "the turn was cancelled".to_owned()));
        let cancelling = self.cancel_deadline.is_some();
        let answer = match method {
            // ACP: once a turn is cancelled, pending and new permission requests get `cancelled`.
            "session/request_permission" if cancelling => Ok(json!({"outcome": {"outcome": "cancelled"}})),
            "fs/write_text_file" | "terminal/create" if cancelling => cancelled(),
            "session/request_permission" => Ok(self.permission(params)),
            "fs/read_text_file" => fs::read(&self.policy, params),
            "fs/write_text_file" => fs::write(&self.policy, params),
            "terminal/create" => self.terminals.create(&self.policy, params),
            "terminal/output" => self.terminals.output(params),
            "terminal/kill" => self.terminals.kill(params),
            "terminal/release" => self.terminals.release(params),
            "terminal/wait_for_exit" => return self.wait_for_exit(id, params),
            _ => {
                if !is_known_extension(method) {
                    self.conn.noise().unknown.fetch_add(1, Relaxed);
                }
                Err((
                    METHOD_NOT_FOUND,
                    format!("git-omk does not serve `{}`", bounded(method, 100)),
                ))
            }
        };
        match answer {
            Ok(result) => self.conn.reply(&id, result),
            Err((code, message)) => {
                if code == fs::DENIED {
                    let target = params
                        .get("path")
                        .or_else(|| params.get("command"))
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .unwrap_or_default();
                    self.denied(Denial {
                        tool: method.to_owned(),
                        target,
                        reason: message.clone(),
                    });
                }
                self.conn.reply_error(&id, code, &message)
            }
        }
    }

    fn wait_for_exit(&mut self, id: Value, params: &Value) -> Result<(), AgentError> {
        match self.terminals.exit_watch(params) {
            Ok(watch) => {
                if let Some(sender) = self.conn.sender() {
                    tokio::spawn(async move {
                        let result = terminal::wait_for_exit(watch).await;
                        let _ = sender.send(jsonrpc::result(&id, result)).await;
                    });
                }
                Ok(())
            }
            Err((code, message)) => self.conn.reply_error(&id, code, &message),
        }
    }

    /// Answer a permission request by the kind of the tool call and the policy.
    fn permission(&mut self, params: &Value) -> Value {
        let tool = params.get("toolCall").cloned().unwrap_or(Value::Null);
        let (state, announced) = self.calls.permission(&tool);
        if let Some(call) = announced {
            self.event(call);
        }
        let (verdict, target) = judge(&self.policy, &state);
        let options = params
            .get("options")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Verdict::Deny(reason) = &verdict {
            self.denied(Denial {
                tool: state.name.clone(),
                target,
                reason: reason.clone(),
            });
        }
        pick_option(&options, verdict.is_allowed())
    }

    /// The policy refused something: an event, and a refusal the agent has yet to react to.
    fn denied(&mut self, denial: Denial) {
        if self.in_turn() {
            self.turn.unanswered.push(denial.clone());
        }
        self.event(AgentEvent::Denied(denial));
    }
}

impl Engine for AcpEngine {
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
        let (now, before) = (self.conn.noise().counts(), self.noise_before);
        NoiseCounts {
            malformed: now.malformed.saturating_sub(before.malformed),
            too_long: now.too_long.saturating_sub(before.too_long),
            unknown: now.unknown.saturating_sub(before.unknown),
        }
    }

    fn renewable(&self) -> bool {
        self.info.engine == EngineKind::KimiAcp
    }

    fn renew(
        &mut self,
        policy: Arc<Policy>,
        confined: Confined,
        env: Vec<(OsString, OsString)>,
    ) -> BoxFuture<'_, Result<(), AgentError>> {
        Box::pin(self.renew_session(policy, confined, env))
    }

    fn unanswered_refusals(&mut self) -> Vec<Denial> {
        std::mem::take(&mut self.unanswered)
    }

    fn shutdown(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            self.terminals.kill_all();
            self.conn.shutdown(Duration::from_secs(2)).await;
        })
    }
}

fn usage_interval() -> Interval {
    let mut tick = interval(USAGE_POLL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick
}

/// Whether `method` is a vendor extension git-omk knows and refuses without counting it as noise:
/// ACP's own extension methods (named with a leading `_`) and [`KNOWN_EXTENSIONS`].
fn is_known_extension(method: &str) -> bool {
    method.starts_with('_') || KNOWN_EXTENSIONS.contains(&method)
}

/// The permission answer: `allow_once` when allowed (never `allow_always`), else a rejection.
fn pick_option(options: &[Value], allow: bool) -> Value {
    let find = |kind: &str| {
        options
            .iter()
            .find(|o| o.get("kind").and_then(Value::as_str) == Some(kind))
            .and_then(|o| o.get("optionId").cloned())
    };
    let choice = allow
        .then(|| find("allow_once"))
        .flatten()
        .or_else(|| find("reject_once"))
        .or_else(|| find("reject_always"));
    match choice {
        Some(option) => json!({"outcome": {"outcome": "selected", "optionId": option}}),
        None => json!({"outcome": {"outcome": "cancelled"}}),
    }
}

/// The model's display name from a session's `configOptions`.
fn model_name(result: &Value) -> Option<String> {
    let options = result.get("configOptions")?.as_array()?;
    let model = options
        .iter()
        .find(|o| o.get("category").and_then(Value::as_str) == Some("model"))?;
    let current = model.get("currentValue")?;
    let named = model
        .get("options")
        .and_then(Value::as_array)
        .and_then(|opts| opts.iter().find(|o| o.get("value") == Some(current)))
        .and_then(|o| o.get("name"))
        .and_then(Value::as_str);
    named.or_else(|| current.as_str()).map(str::to_owned)
}

/// The requests an agent makes on behalf of one session (ACP: each names it in `sessionId`).
const SESSION_REQUESTS: [&str; 8] = [
    "session/request_permission",
    "fs/read_text_file",
    "fs/write_text_file",
    "terminal/create",
    "terminal/output",
    "terminal/kill",
    "terminal/release",
    "terminal/wait_for_exit",
];

/// Why a request of the agent is refused because it is not for the current session (`current`; none
/// while a session is closed or opened), if it is: an earlier session in the same process (a
/// reviewer hosted by a task's agent) must not act under the later session's policy.
fn foreign_session(method: &str, params: &Value, current: Option<&str>) -> Option<String> {
    if !SESSION_REQUESTS.contains(&method) {
        return None;
    }
    let named = params.get("sessionId").and_then(Value::as_str);
    match (named, current) {
        (Some(named), Some(current)) if named == current => None,
        (Some(named), _) => {
            let named = bounded(named, 100);
            Some(format!(
                "`{method}` is for session `{named}`, which is not this session"
            ))
        }
        (None, _) => Some(format!("`{method}` names no session")),
    }
}

/// Whether a `session/update` notification (`params`) is for the `current` session: it names it.
/// ACP requires the session id in every update; an update naming another session (a closed one, in a
/// process that served several) or none cannot be the current session's.
fn of_session(params: &Value, current: Option<&str>) -> bool {
    let named = params.get("sessionId").and_then(Value::as_str);
    named.is_some() && named == current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_updates_naming_the_current_session_are_its_own() {
        let update = json!({"sessionUpdate": "agent_message_chunk"});
        let cases: [(Value, Option<&str>, bool); 6] = [
            (json!({"sessionId": "s2", "update": update}), Some("s2"), true),
            (json!({"sessionId": "s1", "update": update}), Some("s2"), false),
            (json!({"update": update}), Some("s2"), false),
            (json!({"sessionId": 2, "update": update}), Some("2"), false),
            (json!({"sessionId": "s1", "update": update}), None, false),
            (json!({"update": update}), None, false),
        ];
        for (params, current, own) in cases {
            assert_eq!(of_session(&params, current), own, "{params} {current:?}");
        }
    }

    #[test]
    fn requests_of_another_session_are_refused() {
        let cases: [(&str, Value, Option<&str>, bool); 8] = [
            (
                "fs/read_text_file",
                json!({"sessionId": "s2", "path": "/a"}),
                Some("s2"),
                false,
            ),
            (
                "fs/read_text_file",
                json!({"sessionId": "s1", "path": "/a"}),
                Some("s2"),
                true,
            ),
            (
                "terminal/create",
                json!({"sessionId": "s1", "command": "ls"}),
                Some("s2"),
                true,
            ),
            (
                "terminal/output",
                json!({"sessionId": "s1", "terminalId": "term-1"}),
                Some("s2"),
                true,
            ),
            (
                "session/request_permission",
                json!({"sessionId": "s1"}),
                None,
                true,
            ),
            ("fs/write_text_file", json!({"path": "/a"}), Some("s2"), true),
            (
                "terminal/wait_for_exit",
                json!({"sessionId": 7}),
                Some("s2"),
                true,
            ),
            ("_zed/custom", json!({"sessionId": "s1"}), Some("s2"), false),
        ];
        for (method, params, current, refused) in cases {
            assert_eq!(
                foreign_session(method, &params, current).is_some(),
                refused,
                "{method} {params} {current:?}"
            );
        }
    }

    #[test]
    fn permissions_never_allow_always() {
        let options = vec![
            json!({"optionId": "approve_once", "kind": "allow_once"}),
            json!({"optionId": "approve_always", "kind": "allow_always"}),
            json!({"optionId": "reject", "kind": "reject_once"}),
        ];
        assert_eq!(pick_option(&options, true)["outcome"]["optionId"], "approve_once");
        assert_eq!(pick_option(&options, false)["outcome"]["optionId"], "reject");
        let only_always = vec![json!({"optionId": "always", "kind": "allow_always"})];
        assert_eq!(pick_option(&only_always, true)["outcome"]["outcome"], "cancelled");
    }

    #[test]
    fn vendor_extensions_are_known_by_name() {
        assert!(is_known_extension("craft/drainMidTurnQueue"));
        assert!(is_known_extension("_zed/custom"));
        assert!(!is_known_extension("craft/other"));
        assert!(!is_known_extension("session/unknown"));
    }

    #[test]
    fn the_model_name_comes_from_config_options() {
        let result = json!({"configOptions": [{"category": "model", "currentValue": "__env__", "options": [{"value": "__env__", "name": "fake-model"}]}]});
        assert_eq!(model_name(&result).as_deref(), Some("fake-model"));
    }
}
