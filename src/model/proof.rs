//! Readiness: the one pure function that decides whether evidence supports `ready` (DESIGN §7).
//!
//! `ready` is impossible while a task is not done and integrated, gate evidence for the integrated
//! result is missing or stale, a required gate fails, a required gate that passed on the base regressed,
//! there are no gates at all, questions are open, or a human rejected the result. Pure.

pub mod delivery;

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::budget::{Limits, Usage};
use super::gate::compare::{GateChange, GateObservation, compare, fail_to_pass};
use super::gate::identity::{RemovedTest, compare_tests};
use super::gate::verdict::Outcome;
use super::goal::{Blocker, GateRun, HumanDecision, Verdict};
use super::harness::{HarnessChange, HarnessCheck, HarnessDifference, differences};
use super::oracle::{CheckResult, Evidence, evaluate};
use super::planner::describe_check;
use super::review::Finding;
use super::sandbox;
use super::snapshot::Snapshot;
use super::status::GoalStatus;
use super::task::{AttemptOutcome, Task, TaskStatus};
use super::writeset::set_matches;
use delivery::{DeliveryRecord, delivery_record};

/// One reason a goal is not ready.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "code")]
pub enum NotReadyReason {
    /// The goal has not been executed; there is no result to judge.
    NoResult,
    /// A task did not finish, or its result is not integrated.
    TaskNotDone {
        /// The task.
        task: String,
        /// Its status.
        status: String,
        /// Why, when known.
        note: Option<String>,
    },
    /// No gate evidence exists for the result.
    MissingGateEvidence,
    /// The gates ran on another commit than the integrated result.
    StaleGateEvidence {
        /// The commit the gates tested.
        tested: String,
        /// The integrated result.
        result: String,
    },
    /// Neither `.omk/gates.toml` nor detection gave any gate: nothing can prove the result.
    NoGates,
    /// A required gate fails on the result.
    RequiredGateFailed {
        /// The gate.
        gate: String,
        /// Why.
        reason: String,
    },
    /// A required gate that passed on the base fails on (or vanished from) the result.
    Regression {
        /// The gate.
        gate: String,
    },
    /// Tests that ran on the base do not run as well on the result: deleted, renamed, deselected,
    /// filtered out, newly skipped or expected to fail. A human `accept` after the review clears it.
    TestsRemoved {
        /// The gate they ran in.
        gate: String,
        /// The tests, with what they did on each side.
        tests: Vec<RemovedTest>,
    },
    /// The result's test harness files were not compared with the base's.
    MissingHarnessCheck,
    /// With the base's test harness files restored, the result's gates say something else than with
    /// the result's own: the evidence cannot be trusted. No human decision clears it.
    HarnessChanged {
        /// The gate (empty when the restored run could not be made).
        gate: String,
        /// What differs.
        detail: String,
    },
    /// An oracle check of the goal's kind fails.
    OracleFailed {
        /// The check, in words.
        check: String,
        /// What the evidence showed.
        detail: String,
    },
    /// No review is recorded for the result (or it reviewed another commit).
    MissingReview,
    /// A reviewer session gave no usable answer: its findings are missing.
    ReviewGap {
        /// Which reviewer and why.
        detail: String,
    },
    /// A high-severity finding is open (no human accepted it after the review).
    BlockingFinding {
        /// Who found it.
        source: String,
        /// Where.
        file: String,
        /// Line, when known.
        line: Option<u32>,
        /// What.
        message: String,
    },
    /// The pull request's head is not the proven commit.
    DeliveredDiffers {
        /// The PR head.
        delivered: String,
        /// The proven commit.
        proven: String,
    },
    /// The goal has unanswered questions.
    OpenQuestions,
    /// A human rejected the result.
    RejectedByHuman {
        /// Their reason.
        reason: String,
    },
}

/// The readiness verdict and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: GoalStatus,
    /// Empty when ready.
    pub reasons: Vec<NotReadyReason>,
}

/// Judge the recorded evidence of a goal.
pub fn readiness(snapshot: &Snapshot) -> Readiness {
    let mut reasons = blocker_reasons(snapshot);
    reasons.extend(task_reasons(snapshot));
    reasons.extend(gate_reasons(snapshot));
    reasons.extend(oracle_reasons(snapshot));
    reasons.extend(review_reasons(snapshot));
    reasons.extend(delivery_reasons(snapshot));
    let status = if reasons.is_empty() {
        GoalStatus::Ready
    } else {
        GoalStatus::NotReady
    };
    Readiness { status, reasons }
}

/// The oracle checks of the goal's plan, evaluated on the recorded evidence.
pub fn oracle_results(snapshot: &Snapshot) -> Vec<CheckResult> {
    let Some(plan) = &snapshot.plan else {
        return Vec::new();
    };
    let goal = &snapshot.goal;
    let evidence = Evidence {
        baseline: goal.baseline.as_ref(),
        result: goal.verification.as_ref(),
        base_run: goal.base_run.as_ref(),
        review: goal.review.as_ref(),
    };
    evaluate(&plan.oracle, &evidence)
}

fn oracle_reasons(snapshot: &Snapshot) -> Vec<NotReadyReason> {
    if snapshot.goal.verification.is_none() {
        return Vec::new();
    }
    oracle_results(snapshot)
        .into_iter()
        .filter(|c| !c.passed)
        .map(|c| NotReadyReason::OracleFailed {
            check: describe_check(&c.check),
            detail: c.detail,
        })
        .collect()
}

/// Whether the last human verdict at or after `at` that applies to `finding` is an acceptance (it
/// overrides blocking findings recorded by then). A rejection or a goal-wide acceptance applies to
/// everything; an acceptance limited to a task (`goal accept --task`) only to a finding in a file of that
/// task's write set. Without a finding only goal-wide verdicts count.
fn accepted_after(snapshot: &Snapshot, at: DateTime<Utc>, finding: Option<&Finding>) -> bool {
    let last = snapshot
        .goal
        .human_decisions
        .iter()
        .rfind(|h| h.at >= at && verdict_applies(snapshot, h, finding));
    last.is_some_and(|h| h.verdict == Verdict::Accept)
}

fn verdict_applies(snapshot: &Snapshot, decision: &HumanDecision, finding: Option<&Finding>) -> bool {
    let Some(task) = &decision.task else {
        return true;
    };
    let Some(finding) = finding else {
        return false;
    };
    snapshot
        .tasks
        .tasks
        .iter()
        .any(|t| t.id == *task && set_matches(&t.write_set, &finding.file))
}

fn review_reasons(snapshot: &Snapshot) -> Vec<NotReadyReason> {
    let goal = &snapshot.goal;
    let Some(result) = goal.integration.as_ref().map(|i| i.commit) else {
        return Vec::new();
    };
    if goal.verification.is_none() {
        return Vec::new();
    }
    let review = match &goal.review {
        Some(r) if r.commit == result => r,
        _ => return vec![NotReadyReason::MissingReview],
    };
    let mut reasons: Vec<NotReadyReason> = review
        .gaps
        .iter()
        .map(|g| NotReadyReason::ReviewGap { detail: g.clone() })
        .collect();
    reasons.extend(
        review
            .blocking()
            .filter(|f| !accepted_after(snapshot, review.at, Some(f)))
            .map(|f| NotReadyReason::BlockingFinding {
                source: f.source.clone(),
                file: f.file.clone(),
                line: f.line,
                message: f.message.clone(),
            }),
    );
    reasons
}

fn delivery_reasons(snapshot: &Snapshot) -> Vec<NotReadyReason> {
    let goal = &snapshot.goal;
    match (&goal.delivery.pr, &goal.integration, &goal.delivery.pr_head) {
        (Some(_), Some(i), Some(head)) if *head != i.commit.to_string() => {
            vec![NotReadyReason::DeliveredDiffers {
                delivered: head.clone(),
                proven: i.commit.to_string(),
            }]
        }
        _ => Vec::new(),
    }
}

fn blocker_reasons(snapshot: &Snapshot) -> Vec<NotReadyReason> {
    snapshot
        .goal
        .blockers
        .iter()
        .map(|b| match b {
            Blocker::Questions { .. } | Blocker::ReviewQuestions { .. } => NotReadyReason::OpenQuestions,
            Blocker::Rejected { reason } => NotReadyReason::RejectedByHuman {
                reason: reason.clone(),
            },
        })
        .collect()
}

fn task_reasons(snapshot: &Snapshot) -> Vec<NotReadyReason> {
    let tasks = &snapshot.tasks.tasks;
    // Without an integration branch there is no integrated result the evidence could be checked against.
    let no_integration = snapshot.goal.integration.is_none();
    if no_integration || tasks.is_empty() || tasks.iter().all(|t| t.attempts.is_empty()) {
        return vec![NotReadyReason::NoResult];
    }
    tasks
        .iter()
        .filter(|t| t.status != TaskStatus::Done || t.integrated.is_none())
        .map(|t| NotReadyReason::TaskNotDone {
            task: t.id.to_string(),
            status: if t.status == TaskStatus::Done {
                "done, not integrated".to_owned()
            } else {
                t.status.as_str().to_owned()
            },
            note: t.note.clone(),
        })
        .collect()
}

fn gate_reasons(snapshot: &Snapshot) -> Vec<NotReadyReason> {
    let goal = &snapshot.goal;
    let Some(result) = &goal.verification else {
        return vec![NotReadyReason::MissingGateEvidence];
    };
    let mut reasons = Vec::new();
    if let Some(integration) = &goal.integration
        && integration.commit != result.commit
    {
        reasons.push(NotReadyReason::StaleGateEvidence {
            tested: result.commit.to_string(),
            result: integration.commit.to_string(),
        });
    }
    if result.gates.is_empty() {
        reasons.push(NotReadyReason::NoGates);
    }
    reasons.extend(failed_required(result));
    if let Some(base) = &goal.baseline {
        let comparison = compare(&base.gates, &result.gates);
        reasons.extend(
            comparison
                .blocking()
                .map(|c| NotReadyReason::Regression { gate: c.name.clone() }),
        );
        if !review_accepted(snapshot) {
            reasons.extend(removed_tests(snapshot, base, result));
        }
    }
    reasons.extend(harness_reasons(goal.harness.as_ref(), result));
    reasons
}

/// The result's harness must have been checked, and the restored run must agree with the result's.
fn harness_reasons(check: Option<&HarnessCheck>, result: &GateRun) -> Vec<NotReadyReason> {
    match check {
        Some(check) if check.result == result.commit => differences(result, check)
            .into_iter()
            .map(|d| NotReadyReason::HarnessChanged {
                gate: d.gate,
                detail: d.detail,
            })
            .collect(),
        _ => vec![NotReadyReason::MissingHarnessCheck],
    }
}

/// Per gate required on either side, the tests that ran on the base and do not run as well on the
/// result (a gate gone from the result takes all its tests with it), except those the plan says a
/// task removes.
fn removed_tests(snapshot: &Snapshot, base: &GateRun, result: &GateRun) -> Vec<NotReadyReason> {
    base.gates
        .iter()
        .filter_map(|b| {
            let r = result.gates.iter().find(|r| r.name == b.name);
            let required = b.required || r.is_some_and(|r| r.required);
            let mut tests = compare_tests(&b.tests, r.map(|r| r.tests.as_slice())).removed;
            tests.retain(|t| !planned_removal(snapshot, &t.id));
            (required && !tests.is_empty()).then(|| NotReadyReason::TestsRemoved {
                gate: b.name.clone(),
                tests,
            })
        })
        .collect()
}

/// Whether a task of the plan says it removes the test `id` (by id, or by the name after its last
/// `::`).
fn planned_removal(snapshot: &Snapshot, id: &str) -> bool {
    snapshot.tasks.tasks.iter().any(|t| {
        t.removes_tests.iter().any(|r| {
            id == r
                || id
                    .strip_suffix(r.as_str())
                    .is_some_and(|head| head.ends_with("::"))
        })
    })
}

/// A human accepted the result after its review (the review of the current result).
fn review_accepted(snapshot: &Snapshot) -> bool {
    let goal = &snapshot.goal;
    match (&goal.review, &goal.integration) {
        (Some(r), Some(i)) if r.commit == i.commit => accepted_after(snapshot, r.at, None),
        _ => false,
    }
}

fn failed_required(run: &GateRun) -> impl Iterator<Item = NotReadyReason> + '_ {
    run.gates
        .iter()
        .filter(|g| g.required && !g.outcome.passed())
        .map(|g| NotReadyReason::RequiredGateFailed {
            gate: g.name.clone(),
            reason: g
                .reason
                .map_or_else(|| g.outcome.as_str().to_owned(), |r| r.describe()),
        })
}

impl NotReadyReason {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            NotReadyReason::NoResult => "no task has run yet: there is no result to judge".to_owned(),
            NotReadyReason::TaskNotDone { task, status, note } => match note {
                Some(n) => format!("task {task} is {status}: {n}"),
                None => format!("task {task} is {status}"),
            },
            NotReadyReason::MissingGateEvidence => "no gate evidence is recorded for the result".to_owned(),
            NotReadyReason::StaleGateEvidence { tested, result } => {
                format!("the gates tested {tested}, not the result {result}")
            }
            NotReadyReason::NoGates => {
                "no gates are configured or detected, so nothing proves the result (add .omk/gates.toml)"
                    .to_owned()
            }
            NotReadyReason::RequiredGateFailed { gate, reason } => {
                format!("required gate {gate} fails: {reason}")
            }
            NotReadyReason::Regression { gate } => {
                format!("required gate {gate} passed on the base and fails on the result")
            }
            NotReadyReason::MissingHarnessCheck => {
                "the result's test harness files were not compared with the base's".to_owned()
            }
            NotReadyReason::HarnessChanged { gate, detail } if gate.is_empty() => {
                format!("the test harness changed and the evidence cannot be trusted: {detail}")
            }
            NotReadyReason::HarnessChanged { gate, detail } => format!(
                "the test harness changed and gate {gate} says something else with the base's harness files restored: {detail}"
            ),
            NotReadyReason::TestsRemoved { gate, tests } => {
                let list: Vec<String> = tests
                    .iter()
                    .take(10)
                    .map(|t| format!("{} {}", t.id, t.how()))
                    .collect();
                let more = tests.len().saturating_sub(10);
                format!(
                    "tests that ran on the base do not run on the result (gate {gate}): {}{} — a human may accept it after the review",
                    list.join("; "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )
            }
            NotReadyReason::OracleFailed { check, detail } => {
                format!("oracle check failed: {check}: {detail}")
            }
            NotReadyReason::MissingReview => "no review is recorded for the result".to_owned(),
            NotReadyReason::ReviewGap { detail } => format!("review incomplete: {detail}"),
            NotReadyReason::BlockingFinding {
                source,
                file,
                line,
                message,
            } => match line {
                Some(l) => format!("blocking finding by {source} at {file}:{l}: {message}"),
                None => format!("blocking finding by {source} in {file}: {message}"),
            },
            NotReadyReason::DeliveredDiffers { delivered, proven } => {
                format!("the pull request's head {delivered} is not the proven commit {proven}")
            }
            NotReadyReason::OpenQuestions => "the goal has unanswered questions".to_owned(),
            NotReadyReason::RejectedByHuman { reason } => format!("rejected by a human: {reason}"),
        }
    }
}

/// The version of `proof.json` this build writes (docs/proof.md). Version 2 added the per-test
/// evidence of each gate row and the test harness check; version 3 the `delivery` record.
pub const PROOF_SCHEMA_VERSION: u32 = 3;

/// A commit and its tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    /// The commit.
    pub commit: String,
    /// Its tree.
    pub tree: String,
}

/// One changed file with its line counts (`None` for binary files).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStat {
    /// Repository-relative path.
    pub path: String,
    /// Lines added.
    pub added: Option<u64>,
    /// Lines removed.
    pub removed: Option<u64>,
}

/// A gate on the base and the result, with where its evidence is and what its tests did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRow {
    /// The comparison of the gate across base and result.
    #[serde(flatten)]
    pub change: GateChange,
    /// Evidence files in the goal tree (base, result).
    pub evidence: Vec<String>,
    /// FAIL_TO_PASS: tests that failed on the base tree and pass on the result.
    #[serde(default)]
    pub fail_to_pass: Vec<String>,
    /// Tests of the result that fail on the base code (the base run: the result's test files laid over
    /// the base) and pass on the result.
    #[serde(default)]
    pub base_run_fail_to_pass: Vec<String>,
    /// PASS_TO_PASS: tests that passed on both.
    #[serde(default)]
    pub pass_to_pass: Vec<String>,
    /// Tests that passed on the base and fail on the result.
    #[serde(default)]
    pub broken: Vec<String>,
    /// Tests that ran on the base and do not run as well on the result.
    #[serde(default)]
    pub removed: Vec<RemovedTest>,
}

/// The test harness check in the proof: what changed, and the result's gates with the base's harness
/// files restored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarnessRecord {
    /// The harness files the result changed, with their diffs (empty: none).
    pub changes: Vec<HarnessChange>,
    /// The restored run (`None` when nothing changed, or it could not be made).
    pub restored_run: Option<RestoredRun>,
    /// Why the restored run could not be made.
    pub error: Option<String>,
    /// How the restored run disagrees with the result's own (each one refuses `ready`).
    pub differences: Vec<HarnessDifference>,
}

/// The result's gates run with the base's harness files restored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoredRun {
    /// The commit tested: the result with the base's harness files.
    pub commit: String,
    /// Its tree.
    pub tree: String,
    /// Each gate's verdict there.
    pub gates: Vec<RestoredGate>,
    /// Evidence files in the goal tree.
    pub evidence: Vec<String>,
}

/// One gate of the restored run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoredGate {
    /// The gate.
    pub name: String,
    /// Required there.
    pub required: bool,
    /// Its verdict.
    pub outcome: Outcome,
}

/// What a task did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its final status.
    pub status: String,
    /// Why it stopped, when it did not finish.
    pub note: Option<String>,
    /// Its attempts: number, outcome, commit, tokens.
    pub attempts: Vec<AttemptRecord>,
}

/// One attempt, in the proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// Attempt number.
    pub number: u32,
    /// `succeeded`, `failed`, `interrupted`.
    pub outcome: String,
    /// Failure evidence or interruption reason.
    pub detail: Option<String>,
    /// The commit it left.
    pub commit: Option<String>,
    /// Tokens spent.
    pub tokens: u64,
}

/// A review finding and whether a human accepted it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRecord {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// Accepted by a human integrator after the review.
    pub accepted: bool,
}

/// The proof of a goal (DESIGN §7): everything that decides readiness, in one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// Schema of this record.
    pub schema_version: u32,
    /// The goal.
    pub goal: String,
    /// Its title.
    pub title: String,
    /// `ready` or `not_ready`.
    pub status: GoalStatus,
    /// Why not ready (empty when ready).
    pub reasons: Vec<NotReadyReason>,
    /// The base commit and tree.
    pub base: Tree,
    /// The proven result: the integration commit and tree the gates tested.
    pub result: Option<Tree>,
    /// Gates on the base and the result.
    pub gates: Vec<GateRow>,
    /// The test harness check of the result (`None` when none is recorded).
    #[serde(default)]
    pub harness: Option<HarnessRecord>,
    /// The oracle checks of the goal's kind.
    pub oracle: Vec<CheckResult>,
    /// Tasks with their attempts.
    pub tasks: Vec<TaskRecord>,
    /// Files the result changes.
    pub changed_files: Vec<FileStat>,
    /// Review and security-review findings.
    pub findings: Vec<FindingRecord>,
    /// Budget limits.
    pub limits: Limits,
    /// What was spent.
    pub usage: Usage,
    /// What the proof does not cover.
    pub gaps: Vec<String>,
    /// Human accept/reject decisions.
    pub human_decisions: Vec<HumanDecision>,
    /// The pull requests, review feedback, merge decisions and final baseline (empty before delivery;
    /// absent from proofs older than schema 3).
    #[serde(default)]
    pub delivery: DeliveryRecord,
}

/// The proof recomputed after a human `accept`/`reject` on a concluded goal, so the recorded proof and
/// the goal's status follow the decision (`None` when no proof is recorded or the goal has not
/// concluded). The changed files are the recorded proof's.
pub fn after_verdict(snapshot: &Snapshot) -> Option<Proof> {
    let recorded = snapshot.proof.as_ref()?;
    if !matches!(snapshot.goal.status, GoalStatus::Ready | GoalStatus::NotReady) {
        return None;
    }
    Some(prove(snapshot, recorded.changed_files.clone()))
}

/// Compute the proof of `snapshot`. `changed_files` (diff statistics between base and result) is the
/// only input that is not recorded in the goal itself.
pub fn prove(snapshot: &Snapshot, changed_files: Vec<FileStat>) -> Proof {
    let goal = &snapshot.goal;
    let verdict = readiness(snapshot);
    let result = goal.verification.as_ref().map(|v| Tree {
        commit: v.commit.to_string(),
        tree: v.tree.to_string(),
    });
    // No baseline: the base tree is recorded as "" (proof.json keeps its text form, docs/proof.md).
    let base_tree = goal
        .baseline
        .as_ref()
        .map(|b| b.tree.to_string())
        .unwrap_or_default();
    Proof {
        schema_version: PROOF_SCHEMA_VERSION,
        goal: goal.id.to_string(),
        title: goal.title.clone(),
        status: verdict.status,
        reasons: verdict.reasons,
        base: Tree {
            commit: goal.base.commit.to_string(),
            tree: base_tree,
        },
        result,
        gates: gate_rows(snapshot),
        harness: harness_record(snapshot),
        oracle: oracle_results(snapshot),
        tasks: snapshot.tasks.tasks.iter().map(task_record).collect(),
        changed_files,
        findings: finding_records(snapshot),
        limits: goal.limits,
        usage: goal.usage,
        gaps: gaps(snapshot),
        human_decisions: goal.human_decisions.clone(),
        delivery: delivery_record(snapshot),
    }
}

fn gate_rows(snapshot: &Snapshot) -> Vec<GateRow> {
    let goal = &snapshot.goal;
    let base = goal
        .baseline
        .as_ref()
        .map(|b| b.gates.clone())
        .unwrap_or_default();
    let result = goal
        .verification
        .as_ref()
        .map(|v| v.gates.clone())
        .unwrap_or_default();
    let evidence_of = |run: Option<&GateRun>, name: &str| -> Option<String> {
        run?.evidence
            .iter()
            .find(|p| p.rsplit('/').next().is_some_and(|f| f == format!("{name}.json")))
            .cloned()
    };
    let base_run = match (&goal.base_run, &goal.verification) {
        (Some(b), Some(v)) if b.result == v.commit => b.gates.as_slice(),
        _ => &[],
    };
    let find = |gates: &[GateObservation], name: &str| gates.iter().find(|g| g.name == name).cloned();
    compare(&base, &result)
        .gates
        .into_iter()
        .map(|change| {
            let evidence = [goal.baseline.as_ref(), goal.verification.as_ref()]
                .into_iter()
                .filter_map(|run| evidence_of(run, &change.name))
                .collect();
            let (b, r) = (find(&base, &change.name), find(&result, &change.name));
            let tests = compare_tests(
                b.as_ref().map_or(&[], |g| g.tests.as_slice()),
                r.as_ref().map(|g| g.tests.as_slice()),
            );
            let base_run_fail_to_pass = match (find(base_run, &change.name), &r) {
                (Some(on_base), Some(r)) => fail_to_pass(&on_base, r).fixed_tests,
                _ => Vec::new(),
            };
            GateRow {
                change,
                evidence,
                fail_to_pass: tests.fail_to_pass,
                base_run_fail_to_pass,
                pass_to_pass: tests.pass_to_pass,
                broken: tests.broken,
                removed: tests.removed,
            }
        })
        .collect()
}

fn harness_record(snapshot: &Snapshot) -> Option<HarnessRecord> {
    let check = snapshot.goal.harness.as_ref()?;
    let differences = match &snapshot.goal.verification {
        Some(v) if v.commit == check.result => differences(v, check),
        _ => Vec::new(),
    };
    let restored_run = check.restored.as_ref().map(|run| RestoredRun {
        commit: run.commit.to_string(),
        tree: run.tree.to_string(),
        gates: run
            .gates
            .iter()
            .map(|g| RestoredGate {
                name: g.name.clone(),
                required: g.required,
                outcome: g.outcome,
            })
            .collect(),
        evidence: run.evidence.clone(),
    });
    Some(HarnessRecord {
        changes: check.changes.clone(),
        restored_run,
        error: check.error.clone(),
        differences,
    })
}

/// The test evidence of a proof in words, one line each: which tests failed on the base and pass now,
/// which were removed or broke, how many stayed green, and what the harness check found.
pub fn test_lines(proof: &Proof) -> Vec<String> {
    let mut lines = Vec::new();
    for row in &proof.gates {
        let gate = &row.change.name;
        lines.extend(
            row.fail_to_pass
                .iter()
                .map(|t| format!("{t}: failed on the base, passes now")),
        );
        lines.extend(
            row.base_run_fail_to_pass
                .iter()
                .map(|t| format!("{t}: fails on the base code (the result's test), passes now")),
        );
        lines.extend(
            row.broken
                .iter()
                .map(|t| format!("broken: {t}: passed on the base, fails now")),
        );
        lines.extend(
            row.removed
                .iter()
                .map(|t| format!("removed: {}: {}", t.id, t.how())),
        );
        if !row.pass_to_pass.is_empty() {
            lines.push(format!(
                "{} test(s) of gate {gate} passed on the base and pass now",
                row.pass_to_pass.len()
            ));
        }
    }
    if let Some(h) = &proof.harness {
        lines.extend(harness_lines(h));
    }
    lines
}

fn harness_lines(h: &HarnessRecord) -> Vec<String> {
    if h.changes.is_empty() {
        return vec!["test harness: unchanged".to_owned()];
    }
    let mut lines: Vec<String> = h
        .changes
        .iter()
        .map(|c| {
            format!(
                "test harness {}: {} ({})",
                c.change.verb(),
                c.path,
                c.rule.describe()
            )
        })
        .collect();
    match (&h.restored_run, &h.error) {
        (_, Some(e)) => lines.push(format!(
            "the result could not be tested with the base's harness files: {e}"
        )),
        (Some(_), None) if h.differences.is_empty() => {
            lines.push("with the base's harness files restored, the result's gates say the same".to_owned())
        }
        _ => lines.extend(h.differences.iter().map(|d| {
            format!(
                "with the base's harness files restored, gate {}: {}",
                d.gate, d.detail
            )
        })),
    }
    lines
}

fn task_record(task: &Task) -> TaskRecord {
    TaskRecord {
        id: task.id.to_string(),
        title: task.title.clone(),
        status: task.status.as_str().to_owned(),
        note: task.note.clone(),
        attempts: task
            .attempts
            .iter()
            .map(|a| {
                let (outcome, detail) = match &a.outcome {
                    AttemptOutcome::Succeeded => ("succeeded", None),
                    AttemptOutcome::Running => ("running", None),
                    AttemptOutcome::Failed { evidence } => ("failed", Some(evidence.clone())),
                    AttemptOutcome::Interrupted { reason } => ("interrupted", Some(reason.clone())),
                };
                AttemptRecord {
                    number: a.number,
                    outcome: outcome.to_owned(),
                    detail,
                    commit: a.commit.map(|c| c.to_string()),
                    tokens: a.tokens,
                }
            })
            .collect(),
    }
}

fn finding_records(snapshot: &Snapshot) -> Vec<FindingRecord> {
    let Some(review) = &snapshot.goal.review else {
        return Vec::new();
    };
    review
        .findings
        .iter()
        .map(|f| FindingRecord {
            finding: f.clone(),
            accepted: accepted_after(snapshot, review.at, Some(f)),
        })
        .collect()
}

fn gaps(snapshot: &Snapshot) -> Vec<String> {
    let goal = &snapshot.goal;
    let mut out = Vec::new();
    if sandbox::ran_unconfined(&snapshot.decisions) {
        out.push(sandbox::UNCONFINED_GAP.to_owned());
    }
    if let Some(v) = &goal.verification {
        for g in v.gates.iter().filter(|g| !g.required && !g.outcome.passed()) {
            out.push(format!("optional gate {} fails on the result", g.name));
        }
    }
    if let Some(r) = &goal.review {
        out.extend(r.gaps.iter().cloned());
    }
    if goal.usage.tokens_estimated > 0 {
        out.push(format!(
            "{} of the tokens are estimated, not reported by the agent",
            goal.usage.tokens_estimated
        ));
    }
    if goal.usage.unpriced_tokens > 0 {
        out.push(format!(
            "{} tokens have no known price: the USD cost is incomplete",
            goal.usage.unpriced_tokens
        ));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
