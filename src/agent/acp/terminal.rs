//! ACP `terminal/*`, served by git-omk: the agent's shell commands run here, under the policy, each in
//! its own process group that git-omk kills on cancel, at the end of the turn and on drop.
//!
//! Owns starting checked commands, their bounded output (the oldest bytes are dropped first, as ACP
//! asks), their exit status, and killing them. The policy decides which commands may run.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use super::fs::DENIED;
use crate::model::policy::{Policy, Verdict};
use crate::process::{GroupSpec, kill_group};
use crate::sandbox::Confined;

/// Terminals alive at once.
const MAX_TERMINALS: usize = 32;
/// Output kept when the agent names no limit.
const DEFAULT_OUTPUT_LIMIT: usize = 1 << 20;
/// Largest output limit honoured.
const MAX_OUTPUT_LIMIT: usize = 16 << 20;

/// How a terminal's command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitInfo {
    /// Exit code, if it exited.
    pub code: Option<i32>,
    /// Signal name, if it was killed.
    pub signal: Option<String>,
}

impl ExitInfo {
    fn to_json(&self) -> Value {
        json!({"exitCode": self.code, "signal": self.signal})
    }
}

#[derive(Debug)]
struct Output {
    bytes: Vec<u8>,
    limit: usize,
    truncated: bool,
}

impl Output {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > self.limit {
            let mut cut = self.bytes.len() - self.limit;
            while cut < self.bytes.len() && (self.bytes[cut] & 0xC0) == 0x80 {
                cut += 1;
            }
            self.bytes.drain(..cut);
            self.truncated = true;
        }
    }
}

#[derive(Debug)]
struct Terminal {
    pgid: i32,
    output: Arc<Mutex<Output>>,
    exit: watch::Receiver<Option<ExitInfo>>,
}

impl Terminal {
    fn text(&self) -> (String, bool) {
        self.output
            .lock()
            .map(|o| (String::from_utf8_lossy(&o.bytes).into_owned(), o.truncated))
            .unwrap_or_default()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        kill_group(self.pgid);
    }
}

/// Released terminals whose last output is kept for the tool result.
const KEPT_OUTPUTS: usize = 16;

/// The terminals of one session.
#[derive(Debug)]
pub struct Terminals {
    next: u64,
    live: HashMap<String, Terminal>,
    released: VecDeque<(String, String)>,
    env: Vec<(OsString, OsString)>,
    confined: Confined,
}

/// A refused or failed terminal request: code and message.
pub type TermError = (i64, String);

impl Terminals {
    /// No terminals yet; commands get `env` on top of the inherited environment and run `confined`
    /// (in the agent's sandbox scope, without the engine's state directories: see
    /// [`commands_scope`]).
    pub fn new(env: Vec<(OsString, OsString)>, confined: Confined) -> Terminals {
        Terminals {
            next: 0,
            live: HashMap::new(),
            released: VecDeque::new(),
            env,
            confined: commands_scope(confined),
        }
    }

    /// The terminals of the next session of the same agent process: every live one is killed, and
    /// ids keep counting (a late request of the earlier session can never name a new terminal).
    pub fn renew(&mut self, env: Vec<(OsString, OsString)>, confined: Confined) {
        self.kill_all();
        self.released.clear();
        self.env = env;
        self.confined = commands_scope(confined);
    }

    /// How many terminals are alive.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether no terminal is alive.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// `terminal/create {command, args, env, cwd, outputByteLimit}` → `{terminalId}`.
    pub fn create(&mut self, policy: &Policy, params: &Value) -> Result<Value, TermError> {
        let command = str_param(params, "command")?;
        let args: Vec<String> = params
            .get("args")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let cwd = params
            .get("cwd")
            .and_then(Value::as_str)
            .map_or_else(|| policy.work_dir().to_owned(), |c| policy.work_dir().join(c));
        let script = script_of(&command, &args);
        if let Verdict::Deny(reason) = policy.check_command(&script, Some(&cwd)) {
            return Err((DENIED, format!("command refused by git-omk policy: {reason}")));
        }
        if self.live.len() >= MAX_TERMINALS {
            return Err((
                DENIED,
                format!("at most {MAX_TERMINALS} terminals may be open at once"),
            ));
        }
        let limit = params
            .get("outputByteLimit")
            .and_then(Value::as_u64)
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(DEFAULT_OUTPUT_LIMIT)
            .min(MAX_OUTPUT_LIMIT);
        let id = self.start(command, args, cwd, env_param(params), limit)?;
        Ok(json!({ "terminalId": id }))
    }

    fn start(
        &mut self,
        command: String,
        args: Vec<String>,
        cwd: PathBuf,
        extra_env: Vec<(OsString, OsString)>,
        limit: usize,
    ) -> Result<String, TermError> {
        let spec = GroupSpec {
            program: command.clone().into(),
            args: args.into_iter().map(OsString::from).collect(),
            cwd,
            env: self.env.iter().cloned().chain(extra_env).collect(),
            stdin: false,
        };
        let mut child = self
            .confined
            .spawn(&spec)
            .map_err(|e| (DENIED, format!("cannot run `{command}`: {e}")))?;
        let output = Arc::new(Mutex::new(Output {
            bytes: Vec::new(),
            limit,
            truncated: false,
        }));
        let (exit_tx, exit) = watch::channel(None);
        let pgid = child.pgid();
        let (mut out, mut err) = (child.take_stdout(), child.take_stderr());
        let sink = output.clone();
        tokio::spawn(async move {
            tokio::join!(pump(out.as_mut(), &sink), pump(err.as_mut(), &sink));
            let status = child.wait().await.ok();
            let info = status.map_or(
                ExitInfo {
                    code: None,
                    signal: None,
                },
                exit_info,
            );
            let _ = exit_tx.send(Some(info));
        });
        self.next += 1;
        let id = format!("term-{}", self.next);
        self.live.insert(id.clone(), Terminal { pgid, output, exit });
        Ok(id)
    }

    fn get(&self, params: &Value) -> Result<&Terminal, TermError> {
        let id = str_param(params, "terminalId")?;
        self.live
            .get(&id)
            .ok_or((super::INVALID_PARAMS, format!("no terminal `{id}`")))
    }

    /// The output of terminal `id` (alive, or one of the last released), for the tool result.
    pub fn output_text(&self, id: &str) -> Option<String> {
        match self.live.get(id) {
            Some(term) => Some(term.text().0),
            None => self
                .released
                .iter()
                .find(|(t, _)| t == id)
                .map(|(_, out)| out.clone()),
        }
    }

    /// `terminal/output` → `{output, truncated, exitStatus?}`.
    pub fn output(&self, params: &Value) -> Result<Value, TermError> {
        let term = self.get(params)?;
        let (text, truncated) = term.text();
        let mut result = json!({"output": text, "truncated": truncated});
        if let Some(exit) = term.exit.borrow().as_ref() {
            result["exitStatus"] = exit.to_json();
        }
        Ok(result)
    }

    /// For `terminal/wait_for_exit`: a watch that holds the exit once known.
    pub fn exit_watch(&self, params: &Value) -> Result<watch::Receiver<Option<ExitInfo>>, TermError> {
        Ok(self.get(params)?.exit.clone())
    }

    /// `terminal/kill` → `{}` (the output stays readable).
    pub fn kill(&self, params: &Value) -> Result<Value, TermError> {
        kill_group(self.get(params)?.pgid);
        Ok(json!({}))
    }

    /// `terminal/release` → `{}`: killed if still running, then forgotten.
    pub fn release(&mut self, params: &Value) -> Result<Value, TermError> {
        let id = str_param(params, "terminalId")?;
        if let Some(term) = self.live.remove(&id) {
            if self.released.len() >= KEPT_OUTPUTS {
                self.released.pop_front();
            }
            self.released.push_back((id, term.text().0));
        }
        Ok(json!({}))
    }

    /// Kill and forget every terminal.
    pub fn kill_all(&mut self) {
        self.live.clear();
    }
}

/// The agent's scope without the engine's state directories: a command the model runs must not
/// write the agent's configuration (Kimi Code reads `mcp.json`, `AGENTS.md` and skills from its home
/// for every session, later reviewers' and the user's own included), only the agent process does.
fn commands_scope(mut confined: Confined) -> Confined {
    confined.scope.state_dirs.clear();
    confined
}

/// The answer to `terminal/wait_for_exit` once `exit` is known.
pub async fn wait_for_exit(mut exit: watch::Receiver<Option<ExitInfo>>) -> Value {
    match exit.wait_for(Option::is_some).await {
        Ok(info) => info
            .as_ref()
            .map_or(json!({"exitCode": null, "signal": null}), ExitInfo::to_json),
        Err(_) => json!({"exitCode": null, "signal": "SIGKILL"}),
    }
}

async fn pump<R: tokio::io::AsyncRead + Unpin>(reader: Option<&mut R>, sink: &Mutex<Output>) {
    let Some(reader) = reader else {
        return;
    };
    let mut chunk = vec![0u8; 8192];
    while let Ok(n) = reader.read(&mut chunk).await {
        if n == 0 {
            return;
        }
        if let Ok(mut out) = sink.lock() {
            out.push(&chunk[..n]);
        }
    }
}

fn exit_info(status: std::process::ExitStatus) -> ExitInfo {
    use std::os::unix::process::ExitStatusExt;
    let signal = status.signal().map(|s| {
        nix::sys::signal::Signal::try_from(s)
            .map_or_else(|_| format!("signal {s}"), |sig| sig.as_str().to_owned())
    });
    ExitInfo {
        code: status.code(),
        signal,
    }
}

fn str_param(params: &Value, name: &str) -> Result<String, TermError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or((super::INVALID_PARAMS, format!("`{name}` is missing")))
}

fn env_param(params: &Value) -> Vec<(OsString, OsString)> {
    params
        .get("env")
        .and_then(Value::as_array)
        .map(|vars| {
            vars.iter()
                .filter_map(|v| Some((v.get("name")?.as_str()?.into(), v.get("value")?.as_str()?.into())))
                .collect()
        })
        .unwrap_or_default()
}

/// The command line the policy judges: the script of `sh -c SCRIPT`, else the words quoted.
fn script_of(command: &str, args: &[String]) -> String {
    let shell = command.rsplit('/').next().unwrap_or(command);
    if matches!(shell, "sh" | "bash" | "zsh" | "dash")
        && let Some(i) = args.iter().position(|a| a.starts_with('-') && a.contains('c'))
        && let Some(script) = args.get(i + 1)
    {
        return script.clone();
    }
    std::iter::once(command)
        .chain(args.iter().map(String::as_str))
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // `#[tokio::test]` builds its own runtime
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_newest_bytes() {
        let mut out = Output {
            bytes: Vec::new(),
            limit: 4,
            truncated: false,
        };
        out.push(b"ab");
        out.push("cdé".as_bytes());
        assert!(out.truncated);
        assert_eq!(String::from_utf8(out.bytes.clone()).unwrap(), "cdé");
        out.push("é".as_bytes());
        assert_eq!(
            String::from_utf8(out.bytes.clone()).unwrap(),
            "éé",
            "never half a character"
        );
    }

    #[test]
    fn scripts_are_what_the_shell_runs() {
        assert_eq!(
            script_of("/bin/bash", &["-c".into(), "cd x && ls".into()]),
            "cd x && ls"
        );
        assert_eq!(script_of("git", &["push".into(), "a b".into()]), "git push 'a b'");
    }

    #[tokio::test]
    async fn terminals_run_checked_commands_and_die_when_released() {
        let work = tempfile::tempdir().unwrap();
        let policy = Policy::task(&work.path().canonicalize().unwrap(), Vec::new()).unwrap();
        let scope = crate::sandbox::Scope::gate(work.path(), &[]);
        let confined = Confined::new(crate::sandbox::Sandbox::default(), scope);
        let mut terms = Terminals::new(Vec::new(), confined);
        let refused = terms
            .create(
                &policy,
                &json!({"command": "/bin/sh", "args": ["-c", "git push"]}),
            )
            .unwrap_err();
        assert!(refused.1.contains("git push"), "{refused:?}");
        let made = terms
            .create(
                &policy,
                &json!({"command": "/bin/sh", "args": ["-c", "echo out; echo err >&2; exit 3"]}),
            )
            .unwrap();
        let id = json!({"terminalId": made["terminalId"]});
        let exit = wait_for_exit(terms.exit_watch(&id).unwrap()).await;
        assert_eq!(exit["exitCode"], 3);
        let out = terms.output(&id).unwrap();
        assert!(out["output"].as_str().unwrap().contains("out"));
        assert!(out["output"].as_str().unwrap().contains("err"));
        assert_eq!(out["exitStatus"]["exitCode"], 3);
        let slow = terms
            .create(
                &policy,
                &json!({"command": "/bin/sh", "args": ["-c", "sleep 300"]}),
            )
            .unwrap();
        let slow_id = json!({"terminalId": slow["terminalId"]});
        let watch = terms.exit_watch(&slow_id).unwrap();
        terms.release(&slow_id).unwrap();
        let exit = wait_for_exit(watch).await;
        assert_eq!(exit["signal"], "SIGKILL");
    }
}
