//! The verification wall's machinery (DESIGN §6): which gates a tree has, running them in a work
//! directory, the evidence of each run, and the cache of evidence keyed by tree.
//!
//! Two steps, so the async part holds no repository handle and can run for several worktrees at once:
//! [`plan`] (blocking, reads the store: gate configuration from the tested commit's own tree — never
//! from a work directory or a fetched goal — and reusable evidence from the goal) then [`execute`]
//! (async: runs what is not cached). The [`GateReport`] hands back goal-tree attachments; `ops`
//! records them. Verdicts and comparisons are pure, in `model::gate`.

pub mod cache;
pub mod config;
pub mod detect;
pub mod evidence;
pub mod run;
pub mod workdir;

use std::path::{Path, PathBuf};

use gix::ObjectId;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::model::gate::{GateObservation, Outcome};
use crate::model::goal::GateRun;
use crate::model::ids::{CommitId, TreeId};
use crate::sandbox::{Confined, Sandbox, Scope};
use crate::store::tree::{TreeEntryKind, TreePath};
use crate::store::{Store, StoreError};
use config::{CONFIG_PATH, ConfigError, Gate, GateName, config_hash, parse_config};
use evidence::{Evidence, GateOrigin, RunContext, redacted_log};
use run::{CaptureLimits, run_gate};

/// Everything that can stop gates from being planned. (A failing gate is an outcome, not an error.)
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// Reading the repository failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tested commit's `.omk/gates.toml` is invalid.
    #[error(
        "{source} (commit {commit}); fix the file in a new commit: git omk never falls back to detection"
    )]
    Config {
        /// The tested commit.
        commit: ObjectId,
        /// What is wrong.
        #[source]
        source: ConfigError,
    },
    /// `.omk/gates.toml` is not a regular file.
    #[error("{CONFIG_PATH} in commit {commit} is a {kind}, not a file")]
    ConfigNotAFile {
        /// The tested commit.
        commit: ObjectId,
        /// What it is.
        kind: String,
    },
    /// The work directory is not a checkout of the tested commit.
    #[error("{dir} is at {found}, not at the tested commit {expected}: check out the commit first")]
    WrongCommit {
        /// The work directory.
        dir: PathBuf,
        /// The tested commit.
        expected: ObjectId,
        /// What HEAD is.
        found: String,
    },
    /// Tracked files of the work directory differ from the tested commit.
    #[error(
        "{dir} has uncommitted changes to tracked files ({}): commit them first, or the evidence would not describe the tested tree",
        .paths.join(", ")
    )]
    ModifiedWorkdir {
        /// The work directory.
        dir: PathBuf,
        /// Some of the modified paths.
        paths: Vec<String>,
    },
    /// The work directory could not be inspected.
    #[error("cannot inspect the work directory {dir}: {reason}")]
    Workdir {
        /// The work directory.
        dir: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Where a tree's gates came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateSource {
    /// The tree's `.omk/gates.toml`.
    Config,
    /// Detection (the tree has no `.omk/gates.toml`).
    Detected,
}

/// A gate and its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefinedGate {
    /// The gate.
    pub gate: Gate,
    /// Where it came from.
    pub origin: GateOrigin,
}

/// The effective gates of one commit's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateSet {
    /// The commit.
    pub commit: ObjectId,
    /// Its tree.
    pub tree: ObjectId,
    /// Config file or detection.
    pub source: GateSource,
    /// The gates, in run order (may be empty when nothing was detected).
    pub gates: Vec<DefinedGate>,
    /// [`config_hash`] of the gates.
    pub config_hash: String,
}

/// The gates of `commit`, from its own checked-in `.omk/gates.toml`, or detected from its tree when it
/// has none. An invalid file is an error, never a reason to detect.
pub fn load_gates(store: &Store, commit: ObjectId) -> Result<GateSet, GateError> {
    let tree = store.tree_id(commit)?;
    let (source, gates) = match store.path_at(commit, CONFIG_PATH)? {
        TreePath::File(bytes) => {
            let text = String::from_utf8(bytes).map_err(|e| GateError::Config {
                commit,
                source: ConfigError {
                    line: 1,
                    column: 1,
                    message: format!("the file is not UTF-8 ({e})"),
                },
            })?;
            let gates = parse_config(&text).map_err(|source| GateError::Config { commit, source })?;
            let defined = gates
                .into_iter()
                .map(|gate| DefinedGate {
                    gate,
                    origin: GateOrigin::Config,
                })
                .collect();
            (GateSource::Config, defined)
        }
        TreePath::Other(kind) => {
            let kind = match kind {
                TreeEntryKind::Directory => "directory",
                TreeEntryKind::Link => "symbolic link",
                TreeEntryKind::Submodule => "submodule",
                TreeEntryKind::File => "file",
            };
            return Err(GateError::ConfigNotAFile {
                commit,
                kind: kind.to_owned(),
            });
        }
        TreePath::Missing => (GateSource::Detected, detected_gates(store, commit)?),
    };
    let plain: Vec<Gate> = gates.iter().map(|d| d.gate.clone()).collect();
    Ok(GateSet {
        commit,
        tree,
        source,
        config_hash: config_hash(&plain),
        gates,
    })
}

fn detected_gates(store: &Store, commit: ObjectId) -> Result<Vec<DefinedGate>, StoreError> {
    let sample = detect::sample(store, commit)?;
    Ok(detect::detect(&sample)
        .into_iter()
        .map(|d| DefinedGate {
            gate: d.gate,
            origin: GateOrigin::Detected {
                detector: d.detector,
                because: d.because,
            },
        })
        .collect())
}

/// How to plan a run.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// The goal whose recorded evidence may be reused (its tip commit).
    pub goal_tip: Option<ObjectId>,
    /// Run every gate even when evidence could be reused (`verify`).
    pub force: bool,
    /// Accept a work directory whose tracked files differ from the commit; the evidence then lists
    /// them and is never reused.
    pub allow_modified_workdir: bool,
}

/// One gate of a plan: run it, or reuse its evidence.
#[derive(Clone, Debug)]
pub struct PlannedGate {
    /// The gate and its origin.
    pub defined: DefinedGate,
    /// Reusable evidence, when the cache has it.
    pub cached: Option<Evidence>,
}

/// What [`execute`] will do.
#[derive(Clone, Debug)]
pub struct GatePlan {
    /// The tested commit, its tree, source and config hash.
    pub commit: ObjectId,
    /// Its tree.
    pub tree: ObjectId,
    /// Config file or detection.
    pub source: GateSource,
    /// Hash of the effective gate list.
    pub config_hash: String,
    /// The work directory (a checkout of `commit`).
    pub workdir: PathBuf,
    /// The repository's git directory, read-only to gates even when it sits in the work directory.
    pub git_dir: PathBuf,
    /// Tracked files that differ from the commit there (empty unless allowed).
    pub workdir_modified: Vec<String>,
    /// The gates in run order.
    pub gates: Vec<PlannedGate>,
}

/// Plan the gates of `commit` in `workdir` (which must be a checkout of `commit`).
pub fn plan(
    store: &Store,
    commit: ObjectId,
    workdir: &Path,
    options: &PlanOptions,
) -> Result<GatePlan, GateError> {
    let state = workdir::inspect(store.common_dir(), workdir)?;
    if state.head.as_deref() != Some(commit.to_string().as_str()) {
        return Err(GateError::WrongCommit {
            dir: workdir.to_path_buf(),
            expected: commit,
            found: state.head.unwrap_or_else(|| "no commit".to_owned()),
        });
    }
    if !state.modified.is_empty() && !options.allow_modified_workdir {
        return Err(GateError::ModifiedWorkdir {
            dir: workdir.to_path_buf(),
            paths: state.modified.into_iter().take(10).collect(),
        });
    }
    let set = load_gates(store, commit)?;
    let mut gates = Vec::with_capacity(set.gates.len());
    for defined in set.gates {
        let cached = match options.goal_tip {
            Some(tip) if !options.force => {
                cache::lookup(store, tip, set.tree, &defined.gate.name, &set.config_hash)?
            }
            _ => None,
        };
        gates.push(PlannedGate { defined, cached });
    }
    Ok(GatePlan {
        commit: set.commit,
        tree: set.tree,
        source: set.source,
        config_hash: set.config_hash,
        workdir: workdir.to_path_buf(),
        git_dir: store.common_dir().to_path_buf(),
        workdir_modified: state.modified,
        gates,
    })
}

/// How to execute a plan.
#[derive(Clone, Debug, Default)]
pub struct ExecOptions {
    /// Variables for every gate, set before each gate's own (e.g. a `PATH` with the project's tools).
    pub extra_env: Vec<(String, String)>,
    /// Output capture limits.
    pub limits: CaptureLimits,
    /// Secret values to redact verbatim from evidence and logs (`settings::secret_env_values()`).
    pub known_secrets: Vec<String>,
    /// The sandbox gates run in (the work directory writable, the rest read-only).
    pub sandbox: Sandbox,
}

/// One gate's result in a report.
#[derive(Clone, Debug)]
pub struct GateResult {
    /// The evidence (fresh or reused).
    pub evidence: Evidence,
    /// True when the evidence was reused from the goal and the gate did not run.
    pub cached: bool,
    /// The full log of a fresh run, secrets redacted (absent when cached).
    pub log: Option<Vec<u8>>,
}

/// The results of every gate of a plan.
#[derive(Clone, Debug)]
pub struct GateReport {
    /// The tested commit.
    pub commit: ObjectId,
    /// Its tree.
    pub tree: ObjectId,
    /// Config file or detection.
    pub source: GateSource,
    /// Hash of the effective gate list.
    pub config_hash: String,
    /// One result per gate, in run order.
    pub results: Vec<GateResult>,
}

/// Run every gate of the plan that has no reusable evidence, one after the other, in the plan's work
/// directory.
pub async fn execute(plan: &GatePlan, options: &ExecOptions, clock: &dyn Clock) -> GateReport {
    let mut results = Vec::with_capacity(plan.gates.len());
    for planned in &plan.gates {
        results.push(execute_gate(plan, planned, options, clock).await);
    }
    GateReport {
        commit: plan.commit,
        tree: plan.tree,
        source: plan.source,
        config_hash: plan.config_hash.clone(),
        results,
    }
}

/// Run (or reuse) one gate of a plan.
pub async fn execute_gate(
    plan: &GatePlan,
    planned: &PlannedGate,
    options: &ExecOptions,
    clock: &dyn Clock,
) -> GateResult {
    if let Some(evidence) = &planned.cached {
        return GateResult {
            evidence: evidence.clone(),
            cached: true,
            log: None,
        };
    }
    let gate = &planned.defined.gate;
    let ctx = RunContext {
        commit: plan.commit,
        tree: plan.tree,
        config_hash: &plan.config_hash,
        started_at: clock.now(),
        workdir_modified: &plan.workdir_modified,
        known_secrets: &options.known_secrets,
    };
    let scope = Scope::gate(&plan.workdir, std::slice::from_ref(&plan.git_dir));
    let confined = Confined::new(options.sandbox.clone(), scope);
    let run = run_gate(
        gate,
        &plan.workdir,
        &options.extra_env,
        &options.limits,
        &confined,
    )
    .await;
    GateResult {
        evidence: Evidence::from_run(gate, &planned.defined.origin, &ctx, &run),
        cached: false,
        log: Some(redacted_log(&run.log, &options.known_secrets)),
    }
}

impl GateReport {
    /// Goal-tree attachments for the fresh runs (`gates/<tree>/<gate>.json` and `.log`); reused
    /// evidence is already recorded.
    pub fn attachments(&self) -> Vec<(String, Vec<u8>)> {
        self.results
            .iter()
            .filter_map(|r| r.log.as_ref().map(|log| r.evidence.attachments(&self.tree, log)))
            .flatten()
            .collect()
    }

    /// What comparison and oracles need, per gate.
    pub fn observations(&self) -> Vec<GateObservation> {
        self.results.iter().map(|r| r.evidence.observation()).collect()
    }

    /// The run as a goal records it: commit, tree, config hash, observations and evidence paths.
    pub fn gate_run(&self, commit: CommitId) -> GateRun {
        GateRun {
            commit,
            tree: TreeId::from(self.tree),
            config_hash: self.config_hash.clone(),
            gates: self.observations(),
            evidence: self
                .results
                .iter()
                .map(|r| evidence::evidence_path(&self.tree, &r.evidence.gate))
                .collect(),
        }
    }

    /// The result of the gate named `name`.
    pub fn get(&self, name: &GateName) -> Option<&GateResult> {
        self.results.iter().find(|r| &r.evidence.gate == name)
    }

    /// Required gates that did not pass.
    pub fn failed_required(&self) -> impl Iterator<Item = &GateResult> {
        self.results
            .iter()
            .filter(|r| r.evidence.definition.required && r.evidence.outcome != Outcome::Passed)
    }
}
