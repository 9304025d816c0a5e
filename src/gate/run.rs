//! Running one gate in a directory (DESIGN §6): its own process group, stdin closed, a timeout that
//! kills the whole group, stdout and stderr captured together with bounded memory, and its output
//! parsed while it streams.
//!
//! Async (tokio): a controller runs gates of several worktrees at once, and a gate mostly waits on its
//! child. Owns the capture limits and the raw facts of a run; the verdict is `model::gate::verdict`.
//! Spawns only through `process::spawn_group`. Must not touch the goal store.

use std::collections::VecDeque;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus as ProcessExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::ffi::OsString;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::config::{Gate, GateCommand};
use crate::clock::monotonic;
use crate::model::gate::{
    ExitStatus, OutputParser, ParsedOutput, RunFacts, RunnerKind, SpawnErrorKind, Verdict, pytest_addopts,
    verdict,
};
use crate::process::{GroupChild, GroupSpec, spawn_group};
use crate::settings;

/// How much of a gate's output is kept, and how long the end of a run may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureLimits {
    /// The first bytes of output kept in the log.
    pub log_head_bytes: usize,
    /// The last bytes of output kept in the log (after an omission marker when the output was longer).
    pub log_tail_bytes: usize,
    /// The end of the output quoted in the evidence JSON.
    pub output_tail_bytes: usize,
    /// Longer lines are cut before parsing (the log keeps what the head/tail windows keep).
    pub max_line_bytes: usize,
    /// After SIGTERM on timeout, how long the group may take before SIGKILL.
    pub kill_grace: Duration,
    /// After the gate ended, how long to wait for its output pipes to close.
    pub drain: Duration,
}

impl Default for CaptureLimits {
    fn default() -> Self {
        CaptureLimits {
            log_head_bytes: 3 * 1024 * 1024,
            log_tail_bytes: 1024 * 1024,
            output_tail_bytes: 16 * 1024,
            max_line_bytes: 64 * 1024,
            kill_grace: Duration::from_secs(3),
            drain: Duration::from_secs(5),
        }
    }
}

/// Everything one run produced.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The raw facts the verdict is computed from.
    pub facts: RunFacts,
    /// The verdict.
    pub verdict: Verdict,
    /// Counts, tests and metrics read from the output.
    pub parsed: ParsedOutput,
    /// Wall time of the run.
    pub duration: Duration,
    /// The captured log (bounded; an omission marker where output was dropped).
    pub log: Vec<u8>,
    /// Bytes of output the gate produced in total.
    pub output_bytes: u64,
    /// Whether output was dropped from the log.
    pub log_truncated: bool,
    /// The end of the output, for the evidence JSON.
    pub output_tail: String,
}

/// Run `gate` in `dir` with `extra_env` (caller-provided variables such as a `PATH` with test tools)
/// set before the gate's own environment.
pub async fn run_gate(
    gate: &Gate,
    dir: &Path,
    extra_env: &[(String, String)],
    limits: &CaptureLimits,
) -> RunOutput {
    let (program, args) = match &gate.command {
        GateCommand::Shell(script) => ("sh".to_owned(), vec!["-c".to_owned(), script.clone()]),
        GateCommand::Exec(argv) => match argv.split_first() {
            Some((program, args)) => (program.clone(), args.to_vec()),
            None => (String::new(), Vec::new()),
        },
    };
    let mut env: Vec<(String, String)> = extra_env.to_vec();
    env.extend(gate.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    if gate.runner == RunnerKind::Pytest {
        env.push(naming_options(&env));
    }
    let spec = GroupSpec {
        program: OsString::from(program),
        args: args.iter().map(OsString::from).collect(),
        cwd: dir.to_path_buf(),
        env: env
            .into_iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect(),
        stdin: false,
    };
    let capture = Arc::new(Mutex::new(Capture::new(gate, limits)));
    let started = monotonic();
    let (exit, timed_out, spawn_error) = match spawn_group(&spec) {
        Err(e) => (None, false, Some(spawn_error_kind(&e))),
        Ok(child) => {
            let (exit, timed_out) = supervise(child, gate.timeout(), &capture, limits).await;
            (exit, timed_out, None)
        }
    };
    let duration = started.elapsed();
    let capture = take_capture(capture, gate, limits);
    finish(gate, capture, limits, exit, timed_out, spawn_error, duration)
}

/// `PYTEST_ADDOPTS` that makes pytest name every test (`model::gate::pytest_addopts`), on top of the
/// value the gate would otherwise see (its own or the caller's, else the inherited one).
fn naming_options(env: &[(String, String)]) -> (String, String) {
    const NAME: &str = "PYTEST_ADDOPTS";
    let existing = env
        .iter()
        .rev()
        .find(|(k, _)| k == NAME)
        .map(|(_, v)| v.clone())
        .or_else(|| settings::env(NAME));
    (NAME.to_owned(), pytest_addopts(existing.as_deref()))
}

/// Wait for the child (or the timeout), kill what is left of its group, and collect its output.
async fn supervise(
    mut group: GroupChild,
    limit: Duration,
    capture: &Arc<Mutex<Capture>>,
    limits: &CaptureLimits,
) -> (Option<ExitStatus>, bool) {
    let readers: Vec<JoinHandle<()>> = [
        group
            .take_stdout()
            .map(|s| spawn_reader(s, capture.clone(), limits.max_line_bytes)),
        group
            .take_stderr()
            .map(|s| spawn_reader(s, capture.clone(), limits.max_line_bytes)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let (status, timed_out) = match timeout(limit, group.wait()).await {
        Ok(status) => (status.ok(), false),
        Err(_) => {
            // SIGTERM to the group, a grace period, then SIGKILL to whatever is left.
            group.terminate(limits.kill_grace).await;
            (group.try_wait().ok().flatten(), true)
        }
    };
    // Whatever the leader left behind (background jobs holding the pipes) dies with the group.
    group.kill();
    for reader in readers {
        let abort = reader.abort_handle();
        if timeout(limits.drain, reader).await.is_err() {
            abort.abort();
        }
    }
    (status.map(exit_status), timed_out)
}

fn exit_status(status: ProcessExitStatus) -> ExitStatus {
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitStatus::Code(code),
        (None, Some(signal)) => ExitStatus::Signal(signal),
        (None, None) => ExitStatus::Code(-1),
    }
}

fn spawn_error_kind(e: &io::Error) -> SpawnErrorKind {
    match e.kind() {
        io::ErrorKind::NotFound => SpawnErrorKind::NotFound,
        io::ErrorKind::PermissionDenied => SpawnErrorKind::PermissionDenied,
        _ => SpawnErrorKind::Other,
    }
}

fn spawn_reader<R>(stream: R, capture: Arc<Mutex<Capture>>, max_line: usize) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(read_stream(stream, capture, max_line))
}

/// Read one stream to its end: every chunk goes to the log, every complete line to the parser.
async fn read_stream<R: AsyncRead + Unpin>(mut stream: R, capture: Arc<Mutex<Capture>>, max_line: usize) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut line: Vec<u8> = Vec::new();
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut guard = capture.lock().unwrap_or_else(|p| p.into_inner());
        guard.log.push(&buf[..n]);
        for &b in &buf[..n] {
            if b == b'\n' {
                guard.line(&line);
                line.clear();
            } else if line.len() < max_line {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        capture.lock().unwrap_or_else(|p| p.into_inner()).line(&line);
    }
}

/// Output captured so far.
struct Capture {
    log: LogBuffer,
    parser: OutputParser,
}

impl Capture {
    fn new(gate: &Gate, limits: &CaptureLimits) -> Capture {
        Capture {
            log: LogBuffer::new(limits.log_head_bytes, limits.log_tail_bytes),
            parser: OutputParser::new(gate.runner),
        }
    }

    fn line(&mut self, bytes: &[u8]) {
        self.parser.line(&String::from_utf8_lossy(bytes));
    }
}

fn take_capture(capture: Arc<Mutex<Capture>>, gate: &Gate, limits: &CaptureLimits) -> Capture {
    match Arc::try_unwrap(capture) {
        Ok(mutex) => mutex.into_inner().unwrap_or_else(|p| p.into_inner()),
        // A reader that was aborted may still hold a reference for a moment: take the contents.
        Err(shared) => {
            let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *guard, Capture::new(gate, limits))
        }
    }
}

fn finish(
    gate: &Gate,
    capture: Capture,
    limits: &CaptureLimits,
    exit: Option<ExitStatus>,
    timed_out: bool,
    spawn_error: Option<SpawnErrorKind>,
    duration: Duration,
) -> RunOutput {
    let parsed = capture.parser.finish();
    let facts = RunFacts {
        runner: gate.runner,
        spawn_error,
        exit,
        timed_out,
        counts: parsed.counts,
        metrics: parsed.metrics.len(),
    };
    let output_bytes = capture.log.total;
    let log_truncated = capture.log.truncated();
    let log = capture.log.into_log();
    let tail_start = log.len().saturating_sub(limits.output_tail_bytes);
    let output_tail = String::from_utf8_lossy(&log[tail_start..]).into_owned();
    RunOutput {
        verdict: verdict(&facts),
        facts,
        parsed,
        duration,
        log,
        output_bytes,
        log_truncated,
        output_tail,
    }
}

/// The first `head` bytes and the last `tail` bytes of a stream.
#[derive(Debug)]
pub(crate) struct LogBuffer {
    head: Vec<u8>,
    head_cap: usize,
    tail: VecDeque<u8>,
    tail_cap: usize,
    total: u64,
}

impl LogBuffer {
    pub(crate) fn new(head_cap: usize, tail_cap: usize) -> LogBuffer {
        LogBuffer {
            head: Vec::new(),
            head_cap,
            tail: VecDeque::new(),
            tail_cap,
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.head_cap - self.head.len();
        let into_head = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..into_head]);
        bytes = &bytes[into_head..];
        if bytes.len() >= self.tail_cap {
            bytes = &bytes[bytes.len() - self.tail_cap..];
            self.tail.clear();
        }
        let overflow = (self.tail.len() + bytes.len()).saturating_sub(self.tail_cap);
        self.tail.drain(..overflow);
        self.tail.extend(bytes);
    }

    pub(crate) fn truncated(&self) -> bool {
        self.total > (self.head.len() + self.tail.len()) as u64
    }

    /// Head, then (when bytes were dropped) a marker, then tail.
    pub(crate) fn into_log(self) -> Vec<u8> {
        let omitted = self.total - (self.head.len() + self.tail.len()) as u64;
        let mut log = self.head;
        if omitted > 0 {
            log.extend_from_slice(format!("\n[git-omk: {omitted} bytes of output omitted]\n").as_bytes());
        }
        log.extend(self.tail);
        log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_head_and_tail_with_a_marker() {
        let mut log = LogBuffer::new(4, 3);
        log.push(b"abc");
        log.push(b"def");
        assert!(!log.truncated());
        log.push(b"ghijk");
        assert!(log.truncated());
        assert_eq!(log.total, 11);
        assert_eq!(
            log.into_log(),
            b"abcd\n[git-omk: 4 bytes of output omitted]\nijk".to_vec()
        );
        let mut short = LogBuffer::new(4, 3);
        short.push(b"abcdefg");
        assert_eq!(short.into_log(), b"abcdefg".to_vec());
        let mut huge = LogBuffer::new(2, 2);
        huge.push(&[b'x'; 10_000]);
        huge.push(b"yz");
        assert_eq!(
            huge.into_log(),
            b"xx\n[git-omk: 9998 bytes of output omitted]\nyz".to_vec()
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::LogBuffer;

    proptest! {
        /// The log is the whole output when it fits, and otherwise an exact prefix and suffix of it.
        #[test]
        fn the_log_is_an_exact_prefix_and_suffix(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..20),
            head in 0usize..50,
            tail in 1usize..50,
        ) {
            let all: Vec<u8> = chunks.concat();
            let mut log = LogBuffer::new(head, tail);
            for chunk in &chunks {
                log.push(chunk);
            }
            prop_assert_eq!(log.total, all.len() as u64);
            let truncated = log.truncated();
            let kept = log.into_log();
            if all.len() <= head + tail {
                prop_assert!(!truncated);
                prop_assert_eq!(kept, all);
            } else {
                prop_assert!(truncated);
                prop_assert!(kept.starts_with(&all[..head]));
                prop_assert!(kept.ends_with(&all[all.len() - tail..]));
            }
        }
    }
}
