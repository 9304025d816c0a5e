//! Encoding of snapshots as goal-tree files and of goal commits' messages (DESIGN §2).
//!
//! Owns the byte format: pretty JSON for `goal.json`/`tasks.json`/`plan/*.json`, one compact JSON object
//! per line for `*.jsonl`, Markdown for plan documents, and the commit message with its `Omk-*`
//! trailers. Decoding checks the schema version before anything else.

use chrono::{DateTime, Utc};
use gix::ObjectId;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::layout::{
    BRIEF_FILE, DECISIONS_FILE, EVENTS_FILE, GOAL_FILE, ORACLE_FILE, PLAN_META_FILE, PROOF_FILE,
    PROOF_MD_FILE, TASKS_FILE, TECHNICAL_PLAN_FILE, TEST_SPEC_FILE,
};
use crate::model::decision::Decision;
use crate::model::event::Event;
use crate::model::goal::{GoalState, SCHEMA_VERSION};
use crate::model::graph::TaskGraph;
use crate::model::plan::{Oracle, PlanArtifacts, PlannerInfo, RelevantFile};
use crate::model::proof_md;
use crate::model::snapshot::Snapshot;
use crate::model::status::{GoalStatus, Phase};

/// A file of a goal tree that could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// A required file is missing.
    #[error("`{0}` is missing")]
    Missing(&'static str),
    /// A file is not what its name says.
    #[error("`{path}` is not valid: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What the decoder said.
        reason: String,
    },
    /// Written by a newer git-omk.
    #[error(
        "it uses schema version {found}, and this git-omk understands up to {SCHEMA_VERSION}: upgrade git-omk to read it"
    )]
    NewerSchema {
        /// The version found.
        found: u32,
    },
}

/// `plan/plan.json`.
#[derive(Serialize, Deserialize)]
struct PlanMeta {
    planner: PlannerInfo,
    relevant_files: Vec<RelevantFile>,
}

/// The files that hold `snapshot` and the events this commit records.
pub fn snapshot_files(snapshot: &Snapshot, events: &[Event]) -> Vec<(&'static str, Vec<u8>)> {
    let mut files = vec![
        (GOAL_FILE, pretty(&snapshot.goal)),
        (TASKS_FILE, pretty(&snapshot.tasks)),
        (EVENTS_FILE, lines(events)),
        (DECISIONS_FILE, lines(&snapshot.decisions)),
    ];
    if let Some(proof) = &snapshot.proof {
        files.push((PROOF_FILE, pretty(proof)));
        files.push((PROOF_MD_FILE, proof_md::render(proof).into_bytes()));
    }
    if let Some(plan) = &snapshot.plan {
        files.push((BRIEF_FILE, plan.brief.clone().into_bytes()));
        files.push((TECHNICAL_PLAN_FILE, plan.technical_plan.clone().into_bytes()));
        files.push((TEST_SPEC_FILE, plan.test_spec.clone().into_bytes()));
        files.push((ORACLE_FILE, pretty(&plan.oracle)));
        let meta = PlanMeta {
            planner: plan.planner.clone(),
            relevant_files: plan.relevant_files.clone(),
        };
        files.push((PLAN_META_FILE, pretty(&meta)));
    }
    files
}

fn pretty<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).expect("model types serialise: maps have string keys");
    out.push(b'\n');
    out
}

fn lines<T: Serialize>(values: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        serde_json::to_writer(&mut out, v).expect("model types serialise: maps have string keys");
        out.push(b'\n');
    }
    out
}

/// Decode a snapshot through `read`, which returns a file's bytes by path (or `None`).
pub fn decode_snapshot(read: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<Snapshot, CodecError> {
    let goal_bytes = read(GOAL_FILE).ok_or(CodecError::Missing(GOAL_FILE))?;
    check_schema(&goal_bytes)?;
    let goal: GoalState = json(GOAL_FILE, &goal_bytes)?;
    let tasks: TaskGraph = json(
        TASKS_FILE,
        &read(TASKS_FILE).ok_or(CodecError::Missing(TASKS_FILE))?,
    )?;
    let decisions: Vec<Decision> = decode_lines(DECISIONS_FILE, &read(DECISIONS_FILE).unwrap_or_default())?;
    let plan = match read(ORACLE_FILE) {
        None => None,
        Some(oracle) => Some(decode_plan(read, &oracle)?),
    };
    let proof = match read(PROOF_FILE) {
        None => None,
        Some(bytes) => Some(json(PROOF_FILE, &bytes)?),
    };
    Ok(Snapshot {
        goal,
        tasks,
        decisions,
        plan,
        proof,
    })
}

fn decode_plan(read: &dyn Fn(&str) -> Option<Vec<u8>>, oracle: &[u8]) -> Result<PlanArtifacts, CodecError> {
    let text = |path: &'static str| -> Result<String, CodecError> {
        let bytes = read(path).ok_or(CodecError::Missing(path))?;
        String::from_utf8(bytes).map_err(|e| invalid(path, e))
    };
    let oracle: Oracle = json(ORACLE_FILE, oracle)?;
    let meta: PlanMeta = json(
        PLAN_META_FILE,
        &read(PLAN_META_FILE).ok_or(CodecError::Missing(PLAN_META_FILE))?,
    )?;
    Ok(PlanArtifacts {
        brief: text(BRIEF_FILE)?,
        technical_plan: text(TECHNICAL_PLAN_FILE)?,
        test_spec: text(TEST_SPEC_FILE)?,
        oracle,
        relevant_files: meta.relevant_files,
        planner: meta.planner,
    })
}

fn check_schema(goal_bytes: &[u8]) -> Result<(), CodecError> {
    #[derive(Deserialize)]
    struct Versioned {
        schema_version: u32,
    }
    let v: Versioned = json(GOAL_FILE, goal_bytes)?;
    if v.schema_version > SCHEMA_VERSION {
        return Err(CodecError::NewerSchema {
            found: v.schema_version,
        });
    }
    Ok(())
}

fn json<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T, CodecError> {
    serde_json::from_slice(bytes).map_err(|e| invalid(path, e))
}

fn invalid(path: &str, e: impl std::fmt::Display) -> CodecError {
    CodecError::Invalid {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Decode a `*.jsonl` file.
pub fn decode_lines<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<Vec<T>, CodecError> {
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(i, line)| {
            serde_json::from_slice(line).map_err(|e| invalid(&format!("{path} line {}", i + 1), e))
        })
        .collect()
}

/// Decode this commit's events.
pub fn decode_events(bytes: &[u8]) -> Result<Vec<Event>, CodecError> {
    decode_lines(EVENTS_FILE, bytes)
}

/// What a goal commit's message says, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitMessage {
    /// Status from the subject.
    pub status: Option<GoalStatus>,
    /// Title from the subject.
    pub title: String,
    /// `Omk-Schema`.
    pub schema: Option<u32>,
    /// `Omk-Goal`.
    pub goal: Option<String>,
    /// `Omk-Phase`.
    pub phase: Option<Phase>,
    /// `Omk-Created`.
    pub created: Option<DateTime<Utc>>,
    /// `Omk-Event`, in order.
    pub events: Vec<String>,
    /// `Omk-Proves`.
    pub proves: Vec<ObjectId>,
    /// `Omk-Merge` present.
    pub merge: bool,
    /// `Omk-Archived` present: the goal is archived (hidden from `goal list`).
    pub archived: bool,
}

/// Build the message of a goal commit.
pub fn commit_message(snapshot: &Snapshot, events: &[Event], proves: &[ObjectId], merge: bool) -> String {
    let goal = &snapshot.goal;
    let mut msg = format!("{}: {}\n\n", goal.status(), goal.title());
    if merge {
        msg.push_str("Merge of two histories of this goal; events are the union of both sides.\n\n");
    }
    for e in events.iter().take(20) {
        msg.push_str(&format!(
            "- {}\n",
            e.body.summary().lines().next().unwrap_or_default()
        ));
    }
    if events.len() > 20 {
        msg.push_str(&format!("- … and {} more event(s)\n", events.len() - 20));
    }
    if !events.is_empty() {
        msg.push('\n');
    }
    msg.push_str(&format!(
        "Omk-Schema: {SCHEMA_VERSION}\nOmk-Goal: {}\n",
        goal.id()
    ));
    msg.push_str(&format!(
        "Omk-Phase: {}\nOmk-Created: {}\n",
        goal.phase(),
        goal.created_at().to_rfc3339()
    ));
    for e in events {
        msg.push_str(&format!("Omk-Event: {}\n", e.body.kind_name()));
    }
    for p in proves {
        msg.push_str(&format!("Omk-Proves: {p}\n"));
    }
    if merge {
        msg.push_str("Omk-Merge: union\n");
    }
    if goal.archived() {
        msg.push_str("Omk-Archived: yes\n");
    }
    msg
}

/// Parse a goal commit's message (lenient: unknown trailers are ignored, missing ones are `None`).
pub fn parse_message(message: &str) -> CommitMessage {
    parse(message, true)
}

/// Split a raw commit object into its committer time (seconds) and its message, without decoding the
/// rest of the header. `None` when it has no header end or no committer line.
pub fn split_commit(raw: &[u8]) -> Option<(i64, &[u8])> {
    use gix::bstr::ByteSlice;
    // Header lines up to the first empty one (memchr per line: no substring searcher to build).
    let (mut at, mut committer) = (0, None);
    loop {
        let rest = raw.get(at..)?;
        let len = rest.find_byte(b'\n')?;
        let line = &rest[..len];
        at += len + 1;
        if line.is_empty() {
            break;
        }
        if committer.is_none() && line.starts_with(b"committer ") {
            committer = Some(line);
        }
    }
    let mut fields = committer?.rsplit(|b| *b == b' ');
    let _zone = fields.next()?;
    let seconds = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    Some((seconds, &raw[at..]))
}

/// Like [`parse_message`] without the per-event trailers (`Omk-Event`, `Omk-Proves`): what `list` needs.
pub fn parse_summary(message: &str) -> CommitMessage {
    parse(message, false)
}

fn parse(message: &str, all: bool) -> CommitMessage {
    let mut out = CommitMessage::default();
    let subject = message.split_once('\n').map_or(message, |(first, _)| first);
    match subject.split_once(':') {
        Some((status, title)) if title.starts_with(' ') => {
            out.status = status.parse().ok();
            out.title = title[1..].to_owned();
        }
        _ => out.title = subject.to_owned(),
    }
    // The trailer block is the last paragraph: walk lines backwards (memrchr) until the blank line.
    let mut lines: Vec<&str> = Vec::with_capacity(16);
    for line in message.trim_end().rsplit('\n') {
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    for line in lines.into_iter().rev() {
        match line.split_once(':') {
            Some(("Omk-Event" | "Omk-Proves", _)) if !all => {}
            Some((key, value)) => apply_trailer(&mut out, key, value.trim()),
            None => {}
        }
    }
    out
}

fn apply_trailer(out: &mut CommitMessage, key: &str, value: &str) {
    match key {
        "Omk-Schema" => out.schema = value.parse().ok(),
        "Omk-Goal" => out.goal = Some(value.to_owned()),
        "Omk-Phase" => out.phase = value.parse().ok(),
        "Omk-Created" => {
            out.created = DateTime::parse_from_rfc3339(value)
                .ok()
                .map(|d| d.with_timezone(&Utc))
        }
        "Omk-Event" => out.events.push(value.to_owned()),
        "Omk-Proves" => out.proves.extend(ObjectId::from_hex(value.as_bytes()).ok()),
        "Omk-Merge" => out.merge = true,
        "Omk-Archived" => out.archived = value == "yes",
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_commit_splits_into_committer_time_and_message() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
parent 1111111111111111111111111111111111111111\n\
author A U Thor <a@example.com> 1111111111 +0200\n\
committer C O Mitter <c@example.com> 1764912345 -0700\n\
gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\
\n\
paused: Fix it\n\nOmk-Schema: 1\n";
        assert_eq!(
            split_commit(raw),
            Some((1_764_912_345, b"paused: Fix it\n\nOmk-Schema: 1\n".as_slice()))
        );
        assert_eq!(split_commit(b"tree x\nauthor a 1 +0000\n\nmsg"), None);
        assert_eq!(split_commit(b"tree x\ncommitter c <c> 12 +0000"), None);
        assert_eq!(split_commit(b"committer c <c> soon +0000\n\nmsg"), None);
    }
}
