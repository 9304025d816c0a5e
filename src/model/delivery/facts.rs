//! What delivery needs to know about a goal's proof: a small, explicit input filled from the proof
//! (or, until the proof carries everything, from the goal snapshot with the gaps named).
//!
//! Owns the input shape and the derivation from a snapshot. It never assumes readiness: whatever the
//! snapshot cannot tell is listed in `missing`, and readiness comes only from `proof::readiness`. Pure.

use serde::{Deserialize, Serialize};

use crate::model::gate::compare::GateObservation;
use crate::model::gate::verdict::Outcome;
use crate::model::goal::GateRun;
use crate::model::proof::{Proof, Readiness, test_lines};
use crate::model::snapshot::Snapshot;
use crate::model::status::GoalStatus;

/// The outcome of one gate on one tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateResult {
    /// It passed.
    Passed,
    /// It failed (including timeouts and infrastructure failures: fail closed).
    Failed,
    /// It was not run on that tree.
    NotRun,
}

impl GateResult {
    /// The word shown in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            GateResult::Passed => "pass",
            GateResult::Failed => "FAIL",
            GateResult::NotRun => "not run",
        }
    }
}

/// One row of the gates table: a gate on the base tree and on the result tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRow {
    /// Gate name.
    pub name: String,
    /// Whether it is required for `ready`.
    pub required: bool,
    /// On the base tree.
    pub before: GateResult,
    /// On the result tree.
    pub after: GateResult,
}

/// One task as the PR shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRow {
    /// Task id.
    pub id: String,
    /// One line.
    pub title: String,
    /// Its status name.
    pub status: String,
    /// How many attempts it took.
    pub attempts: usize,
}

/// One changed file with its diff stat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedFile {
    /// Repository-relative path.
    pub path: String,
    /// Lines added (`None`: unknown, or a binary file).
    pub additions: Option<u64>,
    /// Lines deleted (`None`: unknown, or a binary file).
    pub deletions: Option<u64>,
}

/// Everything delivery reads from a goal's proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofFacts {
    /// The goal id.
    pub goal_id: String,
    /// One-line title (the PR title).
    pub title: String,
    /// The goal text (the PR summary).
    pub summary: String,
    /// The proof's verdict: only `ready` lets a gated merge go ahead.
    pub status: GoalStatus,
    /// Why it is not ready (empty when ready).
    pub reasons: Vec<String>,
    /// The goal commit that recorded the proof (what the PR links to).
    pub proof_commit: Option<String>,
    /// The code commit the proof covers (the only head a gated merge accepts).
    pub proven_commit: Option<String>,
    /// The tree of the proven commit.
    pub proven_tree: Option<String>,
    /// The commit the goal started from.
    pub base_commit: String,
    /// Gates before/after.
    pub gates: Vec<GateRow>,
    /// What the tests did, by id, in words (`test_add: failed on the base, passes now`, `removed:
    /// test_add_zero: …`), and the test harness check; empty without a proof.
    #[serde(default)]
    pub tests: Vec<String>,
    /// Tasks and how they ended.
    pub tasks: Vec<TaskRow>,
    /// Changed files with diff stats.
    pub changed_files: Vec<ChangedFile>,
    /// What the proof says is not covered.
    pub gaps: Vec<String>,
    /// Decisions, one line each.
    pub decisions: Vec<String>,
    /// Inputs the proof did not provide; each is shown as missing, never guessed.
    pub missing: Vec<String>,
}

/// What `from_snapshot` cannot know until a proof is recorded.
pub const NO_PROOF_COMMIT: &str = "proof commit (no proof is recorded for this goal yet)";
/// Without verification evidence there is no proven commit.
pub const NO_VERIFICATION: &str =
    "proven commit and gate evidence on the result (the result was not verified)";
/// Changed files are not in the snapshot; ops may fill the paths from the trees.
pub const NO_CHANGED_FILES: &str = "changed files with diff stats";
/// Paths known, line counts not.
pub const NO_DIFF_STATS: &str = "diff stats (lines added and removed per file)";

impl ProofFacts {
    /// Facts from a goal snapshot and its readiness verdict, for goals without a recorded proof: tasks and
    /// decisions come from the snapshot, everything the proof would add is listed as missing.
    pub fn from_snapshot(snapshot: &Snapshot, readiness: &Readiness) -> ProofFacts {
        let goal = &snapshot.goal;
        let tasks = snapshot
            .tasks
            .tasks
            .iter()
            .map(|t| TaskRow {
                id: t.id.as_str().to_owned(),
                title: t.title.clone(),
                status: t.status.as_str().to_owned(),
                attempts: t.attempts.len(),
            })
            .collect();
        let decisions = snapshot
            .decisions
            .iter()
            .map(|d| format!("{}: {} ({})", d.step, d.chosen, d.why))
            .collect();
        let verified = goal.verification.as_ref();
        let mut missing = vec![NO_PROOF_COMMIT.to_owned()];
        if verified.is_none() {
            missing.push(NO_VERIFICATION.to_owned());
        }
        missing.push(NO_CHANGED_FILES.to_owned());
        ProofFacts {
            goal_id: goal.id.as_str().to_owned(),
            title: goal.title.clone(),
            summary: goal.text.clone(),
            status: readiness.status,
            reasons: readiness.reasons.iter().map(|r| r.describe()).collect(),
            proof_commit: None,
            proven_commit: verified.map(|v| v.commit.to_string()),
            proven_tree: verified.map(|v| v.tree.to_string()),
            base_commit: goal.base.commit.to_string(),
            gates: gate_rows(goal.baseline.as_ref(), verified),
            tests: Vec::new(),
            tasks,
            changed_files: Vec::new(),
            gaps: Vec::new(),
            decisions,
            missing,
        }
    }

    /// Facts from a recorded proof and the goal commit that recorded it: gates, tasks, changed files
    /// and gaps come from the proof; the verdict is `readiness` (the current one, so a human decision
    /// or a delivered head recorded after the proof counts).
    pub fn from_proof(
        snapshot: &Snapshot,
        readiness: &Readiness,
        proof: &Proof,
        proof_commit: &str,
    ) -> ProofFacts {
        let mut facts = ProofFacts::from_snapshot(snapshot, readiness);
        facts.proof_commit = Some(proof_commit.to_owned());
        facts.proven_commit = proof.result.as_ref().map(|r| r.commit.clone());
        facts.proven_tree = proof.result.as_ref().map(|r| r.tree.clone());
        facts.base_commit = proof.base.commit.clone();
        facts.gates = proof
            .gates
            .iter()
            .map(|g| GateRow {
                name: g.change.name.clone(),
                required: g.change.required,
                before: result_of(g.change.base),
                after: result_of(g.change.result),
            })
            .collect();
        facts.tests = test_lines(proof);
        facts.tasks = proof
            .tasks
            .iter()
            .map(|t| TaskRow {
                id: t.id.clone(),
                title: t.title.clone(),
                status: t.status.clone(),
                attempts: t.attempts.len(),
            })
            .collect();
        facts.changed_files = proof
            .changed_files
            .iter()
            .map(|f| ChangedFile {
                path: f.path.clone(),
                additions: f.added,
                deletions: f.removed,
            })
            .collect();
        facts.gaps = proof.gaps.clone();
        facts.missing = if facts.proven_commit.is_none() {
            vec![NO_VERIFICATION.to_owned()]
        } else {
            Vec::new()
        };
        facts
    }

    /// Fill the changed paths (from the trees of the base and the delivered head); line counts stay
    /// unknown and are listed as missing.
    pub fn with_changed_paths(mut self, paths: Vec<String>) -> ProofFacts {
        if !self.changed_files.is_empty() || paths.is_empty() {
            return self;
        }
        self.changed_files = paths
            .into_iter()
            .map(|path| ChangedFile {
                path,
                additions: None,
                deletions: None,
            })
            .collect();
        self.missing.retain(|m| m != NO_CHANGED_FILES);
        self.missing.push(NO_DIFF_STATS.to_owned());
        self
    }

    /// Whether the proof says `ready` and names the commit it proves.
    pub fn is_ready(&self) -> bool {
        self.status == GoalStatus::Ready && self.proven_commit.is_some() && self.proof_commit.is_some()
    }
}

/// A gate outcome as a table cell.
fn result_of(outcome: Option<Outcome>) -> GateResult {
    match outcome {
        Some(o) if o.passed() => GateResult::Passed,
        Some(_) => GateResult::Failed,
        None => GateResult::NotRun,
    }
}

/// One row per gate seen on the base or the result, in the order first seen.
fn gate_rows(baseline: Option<&GateRun>, verified: Option<&GateRun>) -> Vec<GateRow> {
    let outcome = |run: Option<&GateRun>, name: &str| {
        run.and_then(|r| r.gates.iter().find(|g| g.name == name))
            .map_or(GateResult::NotRun, |g: &GateObservation| {
                result_of(Some(g.outcome))
            })
    };
    let mut rows: Vec<GateRow> = Vec::new();
    let all = verified.into_iter().chain(baseline).flat_map(|r| r.gates.iter());
    for g in all {
        if rows.iter().any(|r| r.name == g.name) {
            continue;
        }
        rows.push(GateRow {
            name: g.name.clone(),
            required: g.required,
            before: outcome(baseline, &g.name),
            after: outcome(verified, &g.name),
        });
    }
    rows
}

/// The integration branch of a goal (DESIGN §3): `omk/<goal>/integration`.
pub fn integration_branch(goal_id: &str) -> String {
    format!("omk/{goal_id}/integration")
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::model::event::{Actor, ActorKind, BaseRef, Event, EventBody, GoalCreated};
    use crate::model::gate::verdict::Outcome;
    use crate::model::ids::{EventId, GoalId, fake};
    use crate::model::options::RunOptions;
    use crate::model::proof::readiness;

    fn snapshot() -> Snapshot {
        let created = Event {
            id: EventId::from_random([1; 10]),
            at: DateTime::parse_from_rfc3339("2026-11-22T03:11:42Z")
                .expect("valid time")
                .with_timezone(&Utc),
            actor: Actor {
                kind: ActorKind::Human,
                name: "A <a@x>".into(),
                host: "h".into(),
            },
            body: EventBody::GoalCreated(GoalCreated {
                text: "Fix it".into(),
                base: BaseRef {
                    rev: "main".into(),
                    commit: fake::commit(&"0".repeat(40)),
                },
                options: RunOptions::default(),
                nonce: "n".into(),
            }),
        };
        let id = GoalId::parse("20261122-031142-3fa9c01b").expect("valid id");
        Snapshot::genesis(&id, &created).expect("creation event")
    }

    fn run(commit: &str, gates: &[(&str, bool, Outcome)]) -> GateRun {
        GateRun {
            commit: fake::commit(commit),
            tree: fake::tree(&format!("{commit}-tree")),
            config_hash: "h".into(),
            gates: gates
                .iter()
                .map(|(name, required, outcome)| GateObservation {
                    name: (*name).into(),
                    required: *required,
                    outcome: *outcome,
                    reason: None,
                    tests: Vec::new(),
                    runner: Default::default(),
                    metrics: Vec::new(),
                })
                .collect(),
            evidence: Vec::new(),
        }
    }

    #[test]
    fn without_evidence_everything_a_proof_adds_is_missing() {
        let s = snapshot();
        let f = ProofFacts::from_snapshot(&s, &readiness(&s));
        assert_eq!(f.status, GoalStatus::NotReady);
        assert!(!f.reasons.is_empty());
        assert_eq!((f.proof_commit, f.proven_commit), (None, None));
        assert_eq!(f.missing, [NO_PROOF_COMMIT, NO_VERIFICATION, NO_CHANGED_FILES]);
    }

    #[test]
    fn gate_runs_become_before_after_rows_and_name_the_tested_commit() {
        let mut s = snapshot();
        s.goal.baseline = Some(run(
            "base",
            &[("test", true, Outcome::Failed), ("lint", false, Outcome::Passed)],
        ));
        s.goal.verification = Some(run(
            "result",
            &[
                ("test", true, Outcome::Passed),
                ("bench", true, Outcome::FailedInfra),
            ],
        ));
        let f = ProofFacts::from_snapshot(&s, &readiness(&s)).with_changed_paths(vec!["src/a.rs".into()]);
        let rows: Vec<(&str, bool, GateResult, GateResult)> = f
            .gates
            .iter()
            .map(|g| (g.name.as_str(), g.required, g.before, g.after))
            .collect();
        assert_eq!(
            rows,
            [
                ("test", true, GateResult::Failed, GateResult::Passed),
                ("bench", true, GateResult::NotRun, GateResult::Failed),
                ("lint", false, GateResult::Passed, GateResult::NotRun),
            ]
        );
        assert_eq!(f.proven_commit, Some(fake::commit("result").to_string()));
        assert_eq!(f.proven_tree, Some(fake::tree("result-tree").to_string()));
        assert!(
            f.proof_commit.is_none(),
            "no proof is recorded, so none is claimed"
        );
        assert!(!f.is_ready());
        assert_eq!(f.changed_files[0].path, "src/a.rs");
        assert_eq!(f.missing, [NO_PROOF_COMMIT, NO_DIFF_STATS]);
    }
}
