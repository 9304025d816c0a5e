//! Kimi Code's exact per-step token usage: ACP only reports context occupancy, but Kimi Code appends
//! `{"type":"usage.record","usage":{inputOther,output,inputCacheRead,inputCacheCreation}}` lines to
//! `$KIMI_CODE_HOME/sessions/<workspace>/<session>/agents/<agent>/wire.jsonl` as each step ends.
//!
//! Owns finding those files and reading only the lines appended since the last look. Must not block
//! for long: it reads what is there and returns.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::usage::TokenUsage;

/// Longest usage line read (records are small; other lines may be huge and are skipped unread).
const MAX_RECORD_LINE: usize = 64 * 1024;

/// Follows the usage records of one Kimi Code session.
#[derive(Debug)]
pub struct UsageTail {
    home: PathBuf,
    session_id: String,
    session_dir: Option<PathBuf>,
    offsets: HashMap<PathBuf, u64>,
}

impl UsageTail {
    /// Follow session `session_id` under Kimi Code's data directory `home`.
    pub fn new(home: PathBuf, session_id: String) -> UsageTail {
        UsageTail {
            home,
            session_id,
            session_dir: None,
            offsets: HashMap::new(),
        }
    }

    /// Usage records appended since the last call.
    pub fn poll(&mut self) -> Vec<TokenUsage> {
        let Some(dir) = self.session_dir() else {
            return Vec::new();
        };
        let Ok(agents) = std::fs::read_dir(dir.join("agents")) else {
            return Vec::new();
        };
        let files: Vec<PathBuf> = agents
            .filter_map(|e| Some(e.ok()?.path().join("wire.jsonl")))
            .filter(|p| p.is_file())
            .collect();
        let mut found = Vec::new();
        for file in files {
            let offset = self.offsets.get(&file).copied().unwrap_or(0);
            let (records, next) = read_records(&file, offset);
            found.extend(records);
            self.offsets.insert(file, next);
        }
        found
    }

    fn session_dir(&mut self) -> Option<PathBuf> {
        if self.session_dir.is_none() {
            let sessions = std::fs::read_dir(self.home.join("sessions")).ok()?;
            self.session_dir = sessions
                .filter_map(|e| Some(e.ok()?.path().join(&self.session_id)))
                .find(|p| p.is_dir());
        }
        self.session_dir.clone()
    }
}

/// Usage records in `file` from byte `offset` on, and the offset after the last complete line.
fn read_records(file: &Path, offset: u64) -> (Vec<TokenUsage>, u64) {
    let Ok(mut f) = File::open(file) else {
        return (Vec::new(), offset);
    };
    if f.seek(SeekFrom::Start(offset)).is_err() {
        return (Vec::new(), offset);
    }
    let mut reader = BufReader::new(f);
    let mut records = Vec::new();
    let mut pos = offset;
    loop {
        let (line, complete, len) = read_line_bounded(&mut reader);
        if !complete {
            return (records, pos);
        }
        pos += len;
        if let Some(usage) = line.and_then(|l| parse_record(&l)) {
            records.push(usage);
        }
    }
}

/// One line: its bytes (when short enough to matter), whether it ended with a newline, its length.
fn read_line_bounded(reader: &mut impl BufRead) -> (Option<Vec<u8>>, bool, u64) {
    let mut kept = Vec::new();
    let mut len = 0u64;
    loop {
        let Ok(buf) = reader.fill_buf() else {
            return (None, false, len);
        };
        if buf.is_empty() {
            return (None, false, len);
        }
        let newline = buf.iter().position(|b| *b == b'\n');
        let take = newline.map_or(buf.len(), |n| n + 1);
        if kept.len() + take <= MAX_RECORD_LINE + 1 {
            kept.extend_from_slice(&buf[..take]);
        } else {
            kept.clear();
            kept.shrink_to_fit();
        }
        len += take as u64;
        reader.consume(take);
        if newline.is_some() {
            let keep = len <= MAX_RECORD_LINE as u64 + 1;
            return (keep.then_some(kept), true, len);
        }
    }
}

fn parse_record(line: &[u8]) -> Option<TokenUsage> {
    if !line.windows(12).any(|w| w == b"usage.record") {
        return None;
    }
    let v: Value = serde_json::from_slice(line).ok()?;
    if v.get("type")?.as_str()? != "usage.record" {
        return None;
    }
    let u = v.get("usage")?;
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let (other, read, creation) = (n("inputOther"), n("inputCacheRead"), n("inputCacheCreation"));
    Some(TokenUsage {
        input: other + read + creation,
        output: n("output"),
        cache_read: read,
        cache_creation: creation,
        estimated: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn appended_records_are_read_once() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("sessions/wd_x/session_1/agents/main");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("wire.jsonl");
        let mut f = File::create(&file).unwrap();
        writeln!(f, r#"{{"type":"llm.request","body":"{}"}}"#, "x".repeat(200_000)).unwrap();
        writeln!(
            f,
            r#"{{"type":"usage.record","usage":{{"inputOther":400,"output":50,"inputCacheRead":600,"inputCacheCreation":0}}}}"#
        )
        .unwrap();
        write!(f, r#"{{"type":"usage.record","usage":{{"inputOther":1"#).unwrap();
        f.flush().unwrap();
        let mut tail = UsageTail::new(home.path().to_owned(), "session_1".into());
        let first = tail.poll();
        assert_eq!(
            first,
            vec![TokenUsage {
                input: 1000,
                output: 50,
                cache_read: 600,
                ..TokenUsage::default()
            }]
        );
        writeln!(f, r#","output":2}}}}"#).unwrap();
        f.flush().unwrap();
        let second = tail.poll();
        assert_eq!(
            second,
            vec![TokenUsage::reported(1, 2)],
            "the completed line, once"
        );
        assert!(tail.poll().is_empty());
    }
}
