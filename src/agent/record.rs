//! The session record stored in the goal tree: `agents/<task>/<attempt>/session.json` (engine,
//! version, session id, usage, cost, turns) next to `transcript.jsonl`.
//!
//! Owns the record's shape (versioned) and its rendering as redacted files, returned as
//! `(path, bytes)` pairs for the store's attachments. Must not write anything itself.

use serde::{Deserialize, Serialize};

use super::conn::NoiseCounts;
use super::event::{EngineKind, SessionInfo, StopReason, TurnOutcome};
use super::transcript::{Transcript, redact_value};
use crate::model::ids::TaskId;
use crate::model::policy::Violation;
use crate::model::sandbox::Breach;
use crate::model::usage::{Cost, PriceTable, TokenUsage, cost};

/// Version of the `session.json` shape.
pub const SESSION_SCHEMA_VERSION: u32 = 1;

/// One turn, summarised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnSummary {
    /// 1-based turn number.
    pub number: u32,
    /// How it ended.
    pub stop: StopReason,
    /// Its tokens.
    pub usage: TokenUsage,
    /// How many actions the policy refused.
    pub denials: usize,
    /// How many paths it changed.
    pub changed: usize,
    /// Changes the policy does not allow.
    pub violations: Vec<Violation>,
    /// Attempts to get out of the worktree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaches: Vec<Breach>,
}

impl From<&TurnOutcome> for TurnSummary {
    fn from(t: &TurnOutcome) -> TurnSummary {
        TurnSummary {
            number: t.number,
            stop: t.stop.clone(),
            usage: t.usage,
            denials: t.denials.len(),
            changed: t.changed.len(),
            violations: t.violations.clone(),
            breaches: t.breaches.clone(),
        }
    }
}

/// Everything recorded about one agent session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// [`SESSION_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The engine.
    pub engine: EngineKind,
    /// The agent's name, when it said.
    pub agent: Option<String>,
    /// The agent's version, when it said.
    pub version: Option<String>,
    /// Protocol and version.
    pub protocol: String,
    /// The program's file name (never its directory: no local paths in the goal tree).
    pub program: String,
    /// The engine's session id, to resume.
    pub session_id: Option<String>,
    /// The model, when known.
    pub model: Option<String>,
    /// The turns so far.
    pub turns: Vec<TurnSummary>,
    /// Tokens of the whole session.
    pub usage: TokenUsage,
    /// What they cost; unpriced tokens are counted, never taken as free.
    pub cost: Cost,
    /// Protocol noise the agent produced.
    pub noise: NoiseCounts,
}

impl SessionRecord {
    /// The record of a session with these facts, priced with `prices`.
    pub fn new(
        info: &SessionInfo,
        turns: Vec<TurnSummary>,
        usage: TokenUsage,
        prices: &PriceTable,
        noise: NoiseCounts,
    ) -> SessionRecord {
        let program = info
            .program
            .rsplit('/')
            .next()
            .unwrap_or(&info.program)
            .to_owned();
        SessionRecord {
            schema_version: SESSION_SCHEMA_VERSION,
            engine: info.engine,
            agent: info.agent.clone(),
            version: info.version.clone(),
            protocol: info.protocol.clone(),
            program,
            session_id: info.session_id.clone(),
            model: info.model.clone(),
            turns,
            cost: cost(prices, info.model.as_deref(), &usage),
            usage,
            noise,
        }
    }

    /// Pretty JSON with every string redacted.
    pub fn to_json(&self, known_secrets: &[String]) -> Vec<u8> {
        let mut value = serde_json::to_value(self).expect("a session record always serialises");
        redact_value(&mut value, known_secrets);
        let mut bytes = serde_json::to_vec_pretty(&value).expect("serde_json::Value always serialises");
        bytes.push(b'\n');
        bytes
    }
}

/// The goal-tree directory of one attempt's agent files.
pub fn attempt_dir(task: &TaskId, attempt: u32) -> String {
    format!("agents/{}/{attempt}", task.as_str())
}

/// `session.json` and `transcript.jsonl` of one attempt, as store attachments.
pub fn attempt_files(
    task: &TaskId,
    attempt: u32,
    record: &SessionRecord,
    transcript: &Transcript,
    known_secrets: &[String],
) -> Vec<(String, Vec<u8>)> {
    let dir = attempt_dir(task, attempt);
    vec![
        (format!("{dir}/session.json"), record.to_json(known_secrets)),
        (
            format!("{dir}/transcript.jsonl"),
            transcript.to_jsonl(known_secrets),
        ),
    ]
}
