//! The live spool: what running agents say and do, published as it happens so `goal watch` in another
//! process of the same machine can follow it (goal commits record a transcript only when an attempt
//! ends).
//!
//! Owns the spool's place and format: `<git common dir>/omk/live/<goal>/<task>.<attempt>.jsonl`, one
//! JSON object per line (`task`, `attempt` and a transcript entry: `kind`, `turn`, …), appended by the
//! controller and read by watchers. It lives outside refs and objects, in the git directory that the
//! sandbox mounts read-only for agents, so a confined agent cannot write it; it is never evidence (the
//! committed transcript is), holds at most [`MAX_SPOOL_BYTES`] per attempt, and is removed when the
//! controller stops ([`LiveDir`]). Writing it never fails a goal: a spool that cannot be written is
//! logged and left out.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::agent::AgentEvent;
use crate::agent::transcript::{Entry, redact_value};
use crate::model::ids::{GoalId, TaskId};

/// Most bytes one attempt's spool holds; past it one `truncated` line says so and the rest is left out
/// (the committed transcript keeps it).
pub const MAX_SPOOL_BYTES: u64 = 4 << 20;

/// Streamed text is published by whole lines; a line longer than this is published in pieces.
const MAX_PENDING_TEXT: usize = 4096;

/// The spool directory of `goal`.
pub fn live_dir(common_dir: &Path, goal: &GoalId) -> PathBuf {
    common_dir.join("omk").join("live").join(goal.as_str())
}

/// The spool directory of a goal while its controller runs: emptied when claimed (a crashed controller
/// may have left one) and removed when dropped.
#[derive(Debug)]
pub struct LiveDir {
    path: PathBuf,
}

impl LiveDir {
    /// Claim the spool directory of `goal` for the controller that now holds its lease.
    pub fn claim(common_dir: &Path, goal: &GoalId) -> LiveDir {
        let path = live_dir(common_dir, goal);
        remove(&path);
        LiveDir { path }
    }
}

impl Drop for LiveDir {
    fn drop(&mut self) {
        remove(&self.path);
    }
}

fn remove(path: &Path) {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            tracing::warn!("removing the live spool {}: {e}", path.display());
        }
        _ => {}
    }
}

/// The writer of one attempt's spool.
#[derive(Debug)]
pub struct Spool {
    file: Option<File>,
    task: TaskId,
    attempt: u32,
    known_secrets: Vec<String>,
    written: u64,
    /// Streamed text not yet published: (turn, thought?, text).
    pending: Option<(u32, bool, String)>,
}

impl Spool {
    /// Create the spool of `task`'s attempt `attempt` of `goal` (secrets in `known_secrets` are
    /// redacted verbatim, like in transcripts). When it cannot be created, the returned spool writes
    /// nothing.
    pub fn create(
        common_dir: &Path,
        goal: &GoalId,
        task: &TaskId,
        attempt: u32,
        known_secrets: &[String],
    ) -> Spool {
        let dir = live_dir(common_dir, goal);
        let path = dir.join(format!("{task}.{attempt}.jsonl"));
        let file = fs::create_dir_all(&dir)
            .and_then(|()| {
                OpenOptions::new()
                    .create(true)
                    .truncate(true)
                    .write(true)
                    .open(&path)
            })
            .map_err(|e| tracing::warn!("no live output for `goal watch`: {}: {e}", path.display()))
            .ok();
        Spool {
            file,
            task: task.clone(),
            attempt,
            known_secrets: known_secrets.to_vec(),
            written: 0,
            pending: None,
        }
    }

    /// Publish what the agent did in turn `turn`. Streamed text is published by whole lines (and
    /// before anything else the agent does).
    pub fn event(&mut self, turn: u32, event: &AgentEvent) {
        let (thought, text) = match event {
            AgentEvent::Text { text } => (false, text),
            AgentEvent::Thought { text } => (true, text),
            _ => return self.entry(&Entry::from_event(turn, event)),
        };
        match self.pending.as_mut() {
            Some((t, th, buf)) if *t == turn && *th == thought => buf.push_str(text),
            _ => self.restart_text(turn, thought, text),
        }
        self.publish_lines();
    }

    /// Publish the text held back, then hold back `text` (of another turn or kind).
    fn restart_text(&mut self, turn: u32, thought: bool, text: &str) {
        self.flush();
        self.pending = Some((turn, thought, text.to_owned()));
    }

    /// Publish `entry` (after any streamed text before it).
    pub fn entry(&mut self, entry: &Entry) {
        self.flush();
        self.write(entry);
    }

    /// Publish streamed text still held back (the end of a turn).
    pub fn flush(&mut self) {
        if let Some((turn, thought, text)) = self.pending.take().filter(|(_, _, t)| !t.is_empty()) {
            self.write(&text_entry(turn, thought, text));
        }
    }

    /// Publish the whole lines of the pending text (all of it when it grew too long).
    fn publish_lines(&mut self) {
        let Some((turn, thought, buf)) = self.pending.as_mut() else {
            return;
        };
        let cut = if buf.len() > MAX_PENDING_TEXT {
            buf.len()
        } else {
            match buf.rfind('\n') {
                Some(i) => i + 1,
                None => return,
            }
        };
        let rest = buf.split_off(cut);
        let ready = std::mem::replace(buf, rest);
        let entry = text_entry(*turn, *thought, ready);
        self.write(&entry);
    }

    fn write(&mut self, entry: &Entry) {
        let Some(file) = self.file.as_mut() else { return };
        let Some(mut line) = spool_line(&self.task, self.attempt, entry) else {
            return;
        };
        redact_value(&mut line, &self.known_secrets);
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        if self.written + bytes.len() as u64 > MAX_SPOOL_BYTES {
            let mut end = serde_json::json!({"task": self.task.as_str(), "attempt": self.attempt,
                "kind": "truncated"})
            .to_string()
            .into_bytes();
            end.push(b'\n');
            let _ = file.write_all(&end);
            self.file = None;
            return;
        }
        // One write per line, on a file opened for appending by this process only: a reader sees whole
        // lines or none of a line's bytes yet.
        if let Err(e) = file.write_all(&bytes) {
            tracing::warn!("writing the live spool: {e}");
            self.file = None;
            return;
        }
        self.written += bytes.len() as u64;
    }
}

fn text_entry(turn: u32, thought: bool, text: String) -> Entry {
    if thought {
        Entry::Thought { turn, text }
    } else {
        Entry::Text { turn, text }
    }
}

/// One spool line: the entry's fields after `task` and `attempt`.
fn spool_line(task: &TaskId, attempt: u32, entry: &Entry) -> Option<Value> {
    let Value::Object(fields) = serde_json::to_value(entry).ok()? else {
        return None;
    };
    let mut line = Map::new();
    line.insert("task".to_owned(), Value::from(task.as_str()));
    line.insert("attempt".to_owned(), Value::from(attempt));
    line.extend(fields);
    Some(Value::Object(line))
}

/// Follows a goal's spool directory: each attempt's file from where the previous read stopped. Files
/// stay open once found, so a file the controller removes is still read to its end.
#[derive(Debug)]
pub struct SpoolReader {
    dir: PathBuf,
    files: BTreeMap<String, Follow>,
}

#[derive(Debug)]
struct Follow {
    file: File,
    partial: Vec<u8>,
}

impl SpoolReader {
    /// A reader of `goal`'s spool (which may not exist yet).
    pub fn new(common_dir: &Path, goal: &GoalId) -> SpoolReader {
        SpoolReader {
            dir: live_dir(common_dir, goal),
            files: BTreeMap::new(),
        }
    }

    /// The lines written since the previous call, file by file (attempt files in name order), each a
    /// JSON object; unreadable lines are left out.
    pub fn read(&mut self) -> Vec<Value> {
        self.discover();
        let mut out = Vec::new();
        for follow in self.files.values_mut() {
            let mut bytes = std::mem::take(&mut follow.partial);
            if let Err(e) = follow.file.read_to_end(&mut bytes) {
                tracing::warn!("reading the live spool: {e}");
            }
            let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            follow.partial = bytes.split_off(complete);
            out.extend(
                bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
                    .filter(Value::is_object),
            );
        }
        out
    }

    fn discover(&mut self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".jsonl") || self.files.contains_key(&name) {
                continue;
            }
            if let Ok(file) = File::open(entry.path()) {
                let follow = Follow {
                    file,
                    partial: Vec::new(),
                };
                self.files.insert(name, follow);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (GoalId, TaskId) {
        (
            GoalId::parse("20261205-120000-aaaaaaaa").unwrap(),
            TaskId::parse("t1-fix").unwrap(),
        )
    }

    fn text(t: &str) -> AgentEvent {
        AgentEvent::Text { text: t.into() }
    }

    #[test]
    fn text_is_published_by_lines_and_before_the_next_tool_call() {
        let dir = tempfile::tempdir().unwrap();
        let (goal, task) = ids();
        let mut spool = Spool::create(dir.path(), &goal, &task, 1, &[]);
        let mut reader = SpoolReader::new(dir.path(), &goal);
        spool.event(1, &text("waiting for "));
        assert!(reader.read().is_empty(), "half a line is held back");
        spool.event(1, &text("the marker\nand "));
        let lines = reader.read();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["task"], "t1-fix");
        assert_eq!(lines[0]["attempt"], 1);
        assert_eq!(lines[0]["kind"], "text");
        assert_eq!(lines[0]["text"], "waiting for the marker\n");
        let call = AgentEvent::ToolCall {
            id: "c1".into(),
            name: "Bash".into(),
            input: serde_json::json!({"command": "ls"}),
        };
        spool.event(1, &call);
        let lines = reader.read();
        let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["text", "tool_call"]);
        assert_eq!(lines[0]["text"], "and ");
    }

    #[test]
    fn secrets_are_redacted_the_size_is_bounded_and_a_removed_spool_is_read_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let (goal, task) = ids();
        let live = LiveDir::claim(dir.path(), &goal);
        let mut spool = Spool::create(dir.path(), &goal, &task, 2, &["hunter2hunter2".to_owned()]);
        let mut reader = SpoolReader::new(dir.path(), &goal);
        spool.event(1, &text("the password is hunter2hunter2\n"));
        assert!(reader.read().len() == 1);
        let big = "x".repeat(3000) + "\n";
        for _ in 0..(MAX_SPOOL_BYTES / 3000 + 10) {
            spool.event(1, &text(&big));
        }
        drop(live);
        assert!(
            !live_dir(dir.path(), &goal).exists(),
            "removed when the controller stops"
        );
        let lines = reader.read();
        assert_eq!(lines.last().unwrap()["kind"], "truncated");
        let total: usize = lines.iter().map(|l| l.to_string().len()).sum();
        assert!(total as u64 <= MAX_SPOOL_BYTES, "{total}");
        let file = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(file, 1, "only the omk directory is left");
        let first = SpoolReader::new(dir.path(), &goal).read();
        assert!(first.is_empty());
    }

    #[test]
    fn redaction_covers_the_published_text() {
        let dir = tempfile::tempdir().unwrap();
        let (goal, task) = ids();
        let mut spool = Spool::create(dir.path(), &goal, &task, 1, &["hunter2hunter2".to_owned()]);
        spool.event(1, &text("the password is hunter2hunter2\n"));
        let lines = SpoolReader::new(dir.path(), &goal).read();
        assert!(!lines[0].to_string().contains("hunter2hunter2"), "{}", lines[0]);
    }
}
