//! The `exec:<cmd>` engine: any command that edits the work dir and exits. One run per turn, no
//! streaming protocol: its output lines become text events, its exit status the stop reason, and the
//! after-turn diff check is the only policy it gets (DESIGN §4).
//!
//! Owns running `sh -c <cmd>` in the worktree with the prompt on stdin (and in `OMK_PROMPT` when
//! short), confined by the sandbox, in its own process group killed on cancel.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::PathBuf;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::conn::NoiseCounts;
use super::engine::{BoxFuture, CancelWatch, Engine, MAX_TEXT, Step};
use super::error::AgentError;
use super::event::{AgentEvent, EngineKind, SessionInfo, StopReason};
use super::jsonrpc::{Frame, LineReader};
use crate::process::{GroupChild, GroupSpec};
use crate::sandbox::Confined;

/// Longest prompt also passed in the environment.
const MAX_ENV_PROMPT: usize = 64 * 1024;

/// A session of an `exec:` command.
pub struct ExecEngine {
    command: String,
    work_dir: PathBuf,
    env: Vec<(OsString, OsString)>,
    confined: Confined,
    info: SessionInfo,
    running: Option<(GroupChild, mpsc::Receiver<String>)>,
    pending: VecDeque<Step>,
}

impl ExecEngine {
    /// A session that runs `command` in `work_dir` for each prompt, `confined`.
    pub fn new(
        command: String,
        work_dir: PathBuf,
        env: Vec<(OsString, OsString)>,
        confined: Confined,
    ) -> ExecEngine {
        ExecEngine {
            info: SessionInfo {
                engine: EngineKind::Exec,
                agent: None,
                version: None,
                protocol: "exec".to_owned(),
                program: command.clone(),
                session_id: None,
                model: None,
            },
            command,
            work_dir,
            env,
            confined,
            running: None,
            pending: VecDeque::new(),
        }
    }

    async fn begin_turn(&mut self, prompt: &str) -> Result<(), AgentError> {
        let mut env = self.env.clone();
        env.push(("OMK_WORK_DIR".into(), self.work_dir.clone().into()));
        if prompt.len() <= MAX_ENV_PROMPT {
            env.push(("OMK_PROMPT".into(), prompt.into()));
        }
        let spec = GroupSpec {
            program: "sh".into(),
            args: vec!["-c".into(), self.command.clone().into()],
            cwd: self.work_dir.clone(),
            env,
            stdin: true,
        };
        let mut child = self.confined.spawn(&spec).map_err(|source| AgentError::Spawn {
            program: self.command.clone(),
            source,
        })?;
        if let Some(mut stdin) = child.take_stdin() {
            let prompt = prompt.to_owned();
            tokio::spawn(async move {
                let _ = stdin.write_all(prompt.as_bytes()).await;
            });
        }
        let (tx, rx) = mpsc::channel(256);
        if let Some(out) = child.take_stdout() {
            tokio::spawn(forward_lines(
                LineReader::new(BufReader::new(out), MAX_TEXT),
                tx.clone(),
            ));
        }
        if let Some(err) = child.take_stderr() {
            tokio::spawn(forward_lines(LineReader::new(BufReader::new(err), MAX_TEXT), tx));
        }
        self.running = Some((child, rx));
        Ok(())
    }

    async fn next_step(&mut self, cancel: &mut CancelWatch) -> Result<Step, AgentError> {
        if let Some(step) = self.pending.pop_front() {
            return Ok(step);
        }
        let Some((child, lines)) = self.running.as_mut() else {
            let message = "no turn is running".to_owned();
            return Ok(Step::End {
                stop: StopReason::Failed { message },
                killed: false,
            });
        };
        tokio::select! {
            biased;
            _ = cancel.requested() => {
                child.kill();
                let _ = child.wait().await;
                self.running = None;
                Ok(Step::End { stop: StopReason::Cancelled, killed: false })
            }
            line = lines.recv() => match line {
                Some(text) => Ok(Step::Event(AgentEvent::Text { text })),
                None => self.finish().await,
            },
            _ = child.wait() => self.finish().await,
        }
    }

    /// The command exited: stop what it left running, collect its last output, report its status.
    async fn finish(&mut self) -> Result<Step, AgentError> {
        let Some((mut child, mut lines)) = self.running.take() else {
            let message = "no turn is running".to_owned();
            return Ok(Step::End {
                stop: StopReason::Failed { message },
                killed: false,
            });
        };
        let status = child.wait().await;
        child.kill();
        let drain = async {
            while let Some(text) = lines.recv().await {
                self.pending.push_back(Step::Event(AgentEvent::Text { text }));
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
        let stop = match status {
            Ok(s) if s.success() => StopReason::Finished,
            Ok(s) => StopReason::Failed {
                message: format!("`{}` ended with {s}", self.command),
            },
            Err(e) => StopReason::Failed {
                message: format!("`{}`: {e}", self.command),
            },
        };
        self.pending.push_back(Step::End { stop, killed: false });
        Ok(self.pending.pop_front().expect("an end step was just queued"))
    }
}

async fn forward_lines<R>(mut reader: LineReader<R>, tx: mpsc::Sender<String>)
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    loop {
        let text = match reader.next().await {
            Ok(Frame::Line(line)) => format!("{}\n", String::from_utf8_lossy(&line)),
            Ok(Frame::TooLong { len }) => format!("[a line of {len} bytes was left out]\n"),
            Ok(Frame::Eof) | Err(_) => return,
        };
        if tx.send(text).await.is_err() {
            return;
        }
    }
}

impl Engine for ExecEngine {
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
        self.running.as_ref().map(|(child, _)| child.pgid())
    }

    fn noise(&self) -> NoiseCounts {
        NoiseCounts::default()
    }

    fn shutdown(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if let Some((mut child, _)) = self.running.take() {
                child.kill();
                let _ = child.wait().await;
            }
        })
    }
}
