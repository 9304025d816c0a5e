//! One agent process and the JSON-RPC stream to it.
//!
//! Owns the process group of the agent (started confined, see [`crate::sandbox`]), a reader task that frames
//! and classifies stdout into a bounded channel, a writer task fed by a bounded channel, and a bounded
//! tail of stderr for error messages. Hostile output is counted and reported, never fatal: only the
//! end of the stream ends the connection. Must not know any protocol's methods.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::error::AgentError;
use super::jsonrpc::{self, Frame, LineReader, Message};
use crate::process::{GroupChild, GroupSpec};
use crate::sandbox::Confined;

/// Messages buffered between the reader task and the engine; a full channel stops reading (the agent
/// then blocks on its stdout), which bounds memory under a flood.
const INCOMING_CAPACITY: usize = 256;
/// Outgoing messages buffered for the writer task. Sending never waits (so handling a message is
/// never interrupted half-way): an agent that stops reading its input until this fills up is broken.
const OUTGOING_CAPACITY: usize = 1024;
/// Bytes of the agent's stderr kept for error messages.
const STDERR_TAIL: usize = 8 * 1024;

/// What the reader task delivers.
#[derive(Debug)]
pub enum Incoming {
    /// A well-formed message.
    Message(Message),
    /// A line that is not JSON-RPC.
    Malformed(String),
    /// A line over the length limit, discarded.
    TooLong(usize),
}

/// Counters of protocol noise, for the session record and for tests of hostile agents.
#[derive(Debug, Default)]
pub struct Noise {
    /// Lines that were not JSON-RPC.
    pub malformed: AtomicU64,
    /// Lines over the length limit.
    pub too_long: AtomicU64,
    /// Notifications, requests or responses nobody expected.
    pub unknown: AtomicU64,
}

/// A snapshot of [`Noise`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NoiseCounts {
    /// Lines that were not JSON-RPC.
    pub malformed: u64,
    /// Lines over the length limit.
    pub too_long: u64,
    /// Messages nobody expected.
    pub unknown: u64,
}

impl Noise {
    /// Current counts.
    pub fn counts(&self) -> NoiseCounts {
        NoiseCounts {
            malformed: self.malformed.load(Ordering::Relaxed),
            too_long: self.too_long.load(Ordering::Relaxed),
            unknown: self.unknown.load(Ordering::Relaxed),
        }
    }
}

/// A running agent and its message streams.
#[derive(Debug)]
pub struct Connection {
    child: GroupChild,
    incoming: mpsc::Receiver<Incoming>,
    outgoing: Option<mpsc::Sender<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    noise: Arc<Noise>,
    tasks: Vec<JoinHandle<()>>,
    closed: bool,
}

impl Connection {
    /// Start the agent, `confined`.
    pub fn spawn(spec: &GroupSpec, confined: &Confined, max_line: usize) -> Result<Connection, AgentError> {
        let mut child = confined.spawn(spec).map_err(|e| AgentError::Spawn {
            program: spec.program.to_string_lossy().into_owned(),
            source: e,
        })?;
        let stdout = child
            .take_stdout()
            .ok_or(AgentError::Protocol("agent stdout missing".into()))?;
        let stdin = child
            .take_stdin()
            .ok_or(AgentError::Protocol("agent stdin missing".into()))?;
        let stderr_pipe = child
            .take_stderr()
            .ok_or(AgentError::Protocol("agent stderr missing".into()))?;
        let (in_tx, incoming) = mpsc::channel(INCOMING_CAPACITY);
        let (outgoing, out_rx) = mpsc::channel(OUTGOING_CAPACITY);
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let noise = Arc::new(Noise::default());
        let tasks = vec![
            tokio::spawn(read_loop(
                LineReader::new(BufReader::new(stdout), max_line),
                in_tx,
            )),
            tokio::spawn(write_loop(stdin, out_rx)),
            tokio::spawn(stderr_loop(stderr_pipe, stderr.clone())),
        ];
        Ok(Connection {
            child,
            incoming,
            outgoing: Some(outgoing),
            stderr,
            noise,
            tasks,
            closed: false,
        })
    }

    /// The next thing the agent said, or `None` once its stdout is closed. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Incoming> {
        if self.closed {
            return None;
        }
        let next = self.incoming.recv().await;
        if next.is_none() {
            self.closed = true;
        }
        next
    }

    /// Queue an encoded message for the agent, without waiting.
    pub fn send(&self, bytes: Vec<u8>) -> Result<(), AgentError> {
        let sender = self
            .outgoing
            .as_ref()
            .ok_or_else(|| AgentError::Protocol("the agent's stdin is closed".into()))?;
        sender.try_send(bytes).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => AgentError::Protocol(format!(
                "the agent stopped reading its input ({OUTGOING_CAPACITY} messages queued)"
            )),
            mpsc::error::TrySendError::Closed(_) => {
                AgentError::Protocol("the agent's stdin is closed".into())
            }
        })
    }

    /// A sender that other tasks (answers to long requests) can use.
    pub fn sender(&self) -> Option<mpsc::Sender<Vec<u8>>> {
        self.outgoing.clone()
    }

    /// Answer a request.
    pub fn reply(&self, id: &Value, result: Value) -> Result<(), AgentError> {
        self.send(jsonrpc::result(id, result))
    }

    /// Refuse a request.
    pub fn reply_error(&self, id: &Value, code: i64, message: &str) -> Result<(), AgentError> {
        self.send(jsonrpc::error(id, code, message))
    }

    /// The noise counters.
    pub fn noise(&self) -> &Noise {
        &self.noise
    }

    /// The process group id of the agent.
    pub fn pgid(&self) -> i32 {
        self.child.pgid()
    }

    /// The last bytes the agent wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&tail).trim().to_owned()
    }

    /// The error to report when the agent's stream ended unexpectedly.
    pub async fn exited(&mut self, during: &str) -> AgentError {
        let status = tokio::time::timeout(std::time::Duration::from_secs(2), self.child.wait())
            .await
            .ok()
            .and_then(Result::ok);
        AgentError::Exited {
            during: during.to_owned(),
            status: status.map_or_else(|| "still running, stdout closed".to_owned(), |s| s.to_string()),
            stderr: self.stderr_tail(),
        }
    }

    /// Kill the whole process group now.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Close stdin, give the agent `grace` to exit, then kill its group.
    pub async fn shutdown(mut self, grace: std::time::Duration) {
        self.outgoing = None;
        let _ = tokio::time::timeout(grace, self.child.wait()).await;
        self.child.terminate(std::time::Duration::from_millis(200)).await;
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn read_loop<R>(mut reader: LineReader<R>, tx: mpsc::Sender<Incoming>)
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    loop {
        let item = match reader.next().await {
            Ok(Frame::Line(line)) if line.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(Frame::Line(line)) => match jsonrpc::parse(&line) {
                Ok(message) => Incoming::Message(message),
                Err(e) => Incoming::Malformed(e.to_string()),
            },
            Ok(Frame::TooLong { len }) => Incoming::TooLong(len),
            Ok(Frame::Eof) | Err(_) => return,
        };
        if tx.send(item).await.is_err() {
            return;
        }
    }
}

async fn write_loop(mut stdin: tokio::process::ChildStdin, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(bytes) = rx.recv().await {
        if stdin.write_all(&bytes).await.is_err() || stdin.flush().await.is_err() {
            return;
        }
    }
}

async fn stderr_loop(mut pipe: tokio::process::ChildStderr, tail: Arc<Mutex<Vec<u8>>>) {
    let mut chunk = vec![0u8; 4096];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if let Ok(mut buf) = tail.lock() {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() > STDERR_TAIL {
                        let cut = buf.len() - STDERR_TAIL;
                        buf.drain(..cut);
                    }
                }
            }
        }
    }
}
