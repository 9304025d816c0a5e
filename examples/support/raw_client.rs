//! The least any client pays to drive an agent, for benchmarks: spawn it, speak just enough of its
//! protocol (Wire or ACP), approve every request, serve files without checks, offer no terminals and
//! check nothing after a turn. Benchmarks print git-omk's figures beside this client's.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use git_omk::agent::Launch;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::agents::Agent;

/// A running agent driven by the minimal client.
pub struct Raw {
    /// Time from spawning the agent to a ready session (`initialize`, and `session/new` for ACP).
    pub start: Duration,
    /// The agent process (killed when dropped).
    pub child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    kind: Agent,
    next: u64,
    session: String,
}

impl Raw {
    /// Spawn `program` as engine `kind` in `work` with `launch`'s arguments and environment, and open
    /// a session.
    pub async fn start(kind: Agent, program: &Path, work: &Path, launch: &Launch) -> Raw {
        let mut cmd = tokio::process::Command::new(program);
        match kind {
            Agent::KimiWire => {
                cmd.args(["--wire", "--work-dir"])
                    .arg(work)
                    .args(["--session", "bench-raw"]);
                cmd.args(&launch.extra_args);
            }
            Agent::KimiAcp => {
                cmd.arg("acp");
            }
            Agent::Qwen => {
                cmd.args(git_omk::agent::qwen::ARGS);
            }
        }
        cmd.envs(launch.env.iter().map(|(k, v)| (k, v)))
            .current_dir(work)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let t = Instant::now();
        let mut child = cmd.spawn().expect("spawn");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut raw = Raw {
            start: Duration::ZERO,
            child,
            stdin,
            lines,
            kind,
            next: 0,
            session: String::new(),
        };
        match kind {
            Agent::KimiWire => {
                raw.call(
                    "initialize",
                    json!({"protocol_version": "1.10", "client": {"name": "raw", "version": "0"}}),
                )
                .await;
            }
            Agent::KimiAcp | Agent::Qwen => {
                let caps = json!({"fs": {"readTextFile": true, "writeTextFile": true}, "terminal": false});
                raw.call(
                    "initialize",
                    json!({"protocolVersion": 1, "clientCapabilities": caps}),
                )
                .await;
                let new = raw
                    .call("session/new", json!({"cwd": work, "mcpServers": []}))
                    .await;
                raw.session = new["sessionId"].as_str().unwrap_or("").to_owned();
            }
        }
        raw.start = t.elapsed();
        raw
    }

    /// One prompt, served until the agent answers it; how long it took.
    pub async fn prompt(&mut self, text: &str) -> Duration {
        let t = Instant::now();
        match self.kind {
            Agent::KimiWire => self.call("prompt", json!({"user_input": text})).await,
            Agent::KimiAcp | Agent::Qwen => {
                let params = json!({"sessionId": self.session, "prompt": [{"type": "text", "text": text}]});
                self.call("session/prompt", params).await
            }
        };
        t.elapsed()
    }

    async fn send(&mut self, v: Value) {
        let mut line = v.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.expect("write");
    }

    fn id(&mut self) -> Value {
        self.next += 1;
        match self.kind {
            Agent::KimiWire => json!(format!("r{}", self.next)),
            Agent::KimiAcp | Agent::Qwen => json!(self.next),
        }
    }

    /// Send a request and serve the agent until its answer.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.id();
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let line = self.lines.next_line().await.expect("read").expect("agent alive");
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if msg.get("method").is_none() && msg.get("id") == Some(&id) {
                return msg.get("result").cloned().unwrap_or(Value::Null);
            }
            if let (Some(rid), Some(m)) = (msg.get("id").cloned(), msg.get("method").and_then(Value::as_str))
            {
                let answer = answer(m, &msg["params"]);
                self.send(json!({"jsonrpc": "2.0", "id": rid, "result": answer}))
                    .await;
            }
        }
    }
}

/// Approve everything; serve files without any check.
fn answer(method: &str, params: &Value) -> Value {
    match method {
        "request" => json!({"request_id": params["payload"]["id"], "response": "approve"}),
        "session/request_permission" => {
            let options = params["options"].as_array().cloned().unwrap_or_default();
            let once = options
                .iter()
                .find(|o| o["kind"] == "allow_once")
                .map_or(json!("approve_once"), |o| o["optionId"].clone());
            json!({"outcome": {"outcome": "selected", "optionId": once}})
        }
        "fs/read_text_file" => {
            json!({"content": std::fs::read_to_string(params["path"].as_str().unwrap_or("")).unwrap_or_default()})
        }
        "fs/write_text_file" => {
            let _ = std::fs::write(
                params["path"].as_str().unwrap_or(""),
                params["content"].as_str().unwrap_or(""),
            );
            json!({})
        }
        _ => json!({}),
    }
}
