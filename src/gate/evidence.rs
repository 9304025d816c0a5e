//! Gate evidence: the record of one gate run on one tree, and its place in the goal tree
//! (`gates/<tree-id>/<gate>.json` + `.log`, DESIGN §2 and §6; format in docs/gates.md).
//!
//! Owns the evidence schema, its rendering into goal-tree attachments, and parsing it back. Secrets
//! are redacted (`model::redact`) before anything is put into evidence. Must not run anything or write
//! to the store: `ops` records the attachments.

use chrono::{DateTime, Utc};
use gix::ObjectId;
use serde::{Deserialize, Serialize};

use super::config::{Gate, GateCommand, GateName};
use super::run::RunOutput;
use crate::model::gate::{
    ExitStatus, FailReason, GateObservation, Metric, Outcome, SpawnErrorKind, TestCounts, TestResult,
};
use crate::model::redact::redact;

use super::detect::Detector;

/// The evidence format version.
pub const EVIDENCE_SCHEMA: u32 = 1;
/// The goal-tree directory holding gate evidence.
pub const GATES_DIR: &str = "gates";

/// Where a gate came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum GateOrigin {
    /// `.omk/gates.toml` of the tested tree.
    Config,
    /// Detection (no `gates.toml` in the tested tree).
    Detected {
        /// The rule.
        detector: Detector,
        /// What triggered it.
        because: String,
    },
}

/// Where the full log is, and how much of the output it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogInfo {
    /// Path of the log in the goal tree.
    pub path: String,
    /// Bytes of output the gate produced.
    pub output_bytes: u64,
    /// Whether output was dropped from the log (an omission marker shows where).
    pub truncated: bool,
}

/// The record of one gate run on one tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// [`EVIDENCE_SCHEMA`].
    pub schema_version: u32,
    /// The gate's name.
    pub gate: GateName,
    /// The command as typed.
    pub command: String,
    /// The gate's full definition (command, runner, required, timeout, environment), secrets
    /// redacted.
    pub definition: Gate,
    /// Where the definition came from.
    pub origin: GateOrigin,
    /// The tested tree.
    pub tree: String,
    /// The commit whose tree was tested (and whose `.omk/gates.toml`, if any, defined the gate).
    pub commit: String,
    /// Hash of the effective gate list of that tree ([`super::config::config_hash`]).
    pub config_hash: String,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// How long it took.
    pub duration_ms: u64,
    /// The exit code, when the process exited by itself.
    pub exit_code: Option<i32>,
    /// How the process ended (code or signal), when it started.
    pub exit: Option<ExitStatus>,
    /// The timeout expired and the process group was killed.
    pub timed_out: bool,
    /// Why the command could not be started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawn_error: Option<SpawnErrorKind>,
    /// Test counts, when the runner printed readable ones.
    pub counts: Option<TestCounts>,
    /// Per-test results, when the runner names its tests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestResult>,
    /// More tests were reported than kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tests_truncated: bool,
    /// Benchmark metrics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// The verdict.
    pub outcome: Outcome,
    /// Why it did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailReason>,
    /// Tracked files that differed from the commit in the work directory (empty for exact evidence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workdir_modified: Vec<String>,
    /// The full log.
    pub log: LogInfo,
    /// The end of the output (secrets redacted).
    pub output_tail: String,
}

/// What a fresh run is evidence about.
#[derive(Clone, Debug)]
pub struct RunContext<'a> {
    /// The tested commit.
    pub commit: ObjectId,
    /// Its tree.
    pub tree: ObjectId,
    /// The effective gate list's hash.
    pub config_hash: &'a str,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// Tracked files modified in the work directory.
    pub workdir_modified: &'a [String],
    /// Secret values the caller knows (redacted verbatim, on top of the well-known shapes).
    pub known_secrets: &'a [String],
}

/// `gates/<tree>/<gate>.json`.
pub fn evidence_path(tree: &ObjectId, gate: &GateName) -> String {
    format!("{GATES_DIR}/{tree}/{gate}.json")
}

/// The definition as it may enter a goal: command words and environment values redacted (the config
/// hash is computed from the real definition, so redaction never changes it).
fn redacted_definition(gate: &Gate, known: &[String]) -> Gate {
    let clean = |text: &str| redact(text, known).into_owned();
    let mut gate = gate.clone();
    gate.command = match &gate.command {
        GateCommand::Shell(script) => GateCommand::Shell(clean(script)),
        GateCommand::Exec(argv) => GateCommand::Exec(argv.iter().map(|a| clean(a)).collect()),
    };
    for value in gate.env.values_mut() {
        *value = clean(value);
    }
    gate
}

/// A captured log as it may enter a goal: UTF-8 (lossy) with secrets redacted.
pub fn redacted_log(log: &[u8], known_secrets: &[String]) -> Vec<u8> {
    let text = String::from_utf8_lossy(log);
    redact(&text, known_secrets).into_owned().into_bytes()
}

/// `gates/<tree>/<gate>.log`.
pub fn log_path(tree: &ObjectId, gate: &GateName) -> String {
    format!("{GATES_DIR}/{tree}/{gate}.log")
}

impl Evidence {
    /// The evidence of a fresh run.
    pub fn from_run(gate: &Gate, origin: &GateOrigin, ctx: &RunContext<'_>, run: &RunOutput) -> Evidence {
        let exit_code = match run.facts.exit {
            Some(ExitStatus::Code(code)) => Some(code),
            _ => None,
        };
        Evidence {
            schema_version: EVIDENCE_SCHEMA,
            gate: gate.name.clone(),
            command: redact(&gate.command.display(), ctx.known_secrets).into_owned(),
            definition: redacted_definition(gate, ctx.known_secrets),
            origin: origin.clone(),
            tree: ctx.tree.to_string(),
            commit: ctx.commit.to_string(),
            config_hash: ctx.config_hash.to_owned(),
            started_at: ctx.started_at,
            duration_ms: u64::try_from(run.duration.as_millis()).unwrap_or(u64::MAX),
            exit_code,
            exit: run.facts.exit,
            timed_out: run.facts.timed_out,
            spawn_error: run.facts.spawn_error,
            counts: run.parsed.counts,
            tests: run.parsed.tests.clone(),
            tests_truncated: run.parsed.tests_truncated,
            metrics: run.parsed.metrics.clone(),
            outcome: run.verdict.outcome,
            reason: run.verdict.reason,
            workdir_modified: ctx.workdir_modified.to_vec(),
            log: LogInfo {
                path: log_path(&ctx.tree, &gate.name),
                output_bytes: run.output_bytes,
                truncated: run.log_truncated,
            },
            output_tail: redact(&run.output_tail, ctx.known_secrets).into_owned(),
        }
    }

    /// Parse evidence read back from a goal tree.
    pub fn parse(bytes: &[u8]) -> Result<Evidence, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The JSON document (pretty, newline-terminated).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self)
            .expect("evidence serializes because it holds only strings, numbers, enums and finite floats");
        out.push(b'\n');
        out
    }

    /// The goal-tree attachments of a fresh run: the JSON and the (already redacted) log.
    pub fn attachments(&self, tree: &ObjectId, log: &[u8]) -> Vec<(String, Vec<u8>)> {
        vec![
            (evidence_path(tree, &self.gate), self.to_json()),
            (log_path(tree, &self.gate), log.to_vec()),
        ]
    }

    /// What comparison and oracles need.
    pub fn observation(&self) -> GateObservation {
        GateObservation {
            name: self.gate.to_string(),
            required: self.definition.required,
            outcome: self.outcome,
            reason: self.reason,
            tests: self.tests.clone(),
        }
    }
}
