//! Readiness: the one pure function that decides whether evidence supports `ready` (DESIGN §7).
//!
//! `ready` is impossible while a task is not done and integrated, gate evidence for the integrated
//! result is missing or stale, a required gate fails, a required gate that passed on the base regressed,
//! there are no gates at all, questions are open, or a human rejected the result. Pure.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::budget::{Limits, Usage};
use super::gate::compare::{GateChange, compare};
use super::gate::identity::{RemovedTest, compare_tests};
use super::goal::{Blocker, GateRun, HumanDecision, Verdict};
use super::harness::{HarnessCheck, differences};
use super::oracle::{CheckResult, Evidence, evaluate};
use super::planner::describe_check;
use super::review::Finding;
use super::snapshot::Snapshot;
use super::status::GoalStatus;
use super::task::{AttemptOutcome, Task, TaskStatus};

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

/// Whether the last human verdict at or after `at` is an acceptance (it overrides blocking findings
/// recorded by then).
fn accepted_after(snapshot: &Snapshot, at: DateTime<Utc>) -> bool {
    let last = snapshot.goal.human_decisions.iter().rfind(|h| h.at >= at);
    last.is_some_and(|h| h.verdict == Verdict::Accept)
}

fn review_reasons(snapshot: &Snapshot) -> Vec<NotReadyReason> {
    let goal = &snapshot.goal;
    let Some(result) = goal.integration.as_ref().map(|i| i.commit.as_str()) else {
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
    if !accepted_after(snapshot, review.at) {
        reasons.extend(review.blocking().map(|f| NotReadyReason::BlockingFinding {
            source: f.source.clone(),
            file: f.file.clone(),
            line: f.line,
            message: f.message.clone(),
        }));
    }
    reasons
}

fn delivery_reasons(snapshot: &Snapshot) -> Vec<NotReadyReason> {
    let goal = &snapshot.goal;
    match (&goal.delivery.pr, &goal.integration, &goal.delivery.pr_head) {
        (Some(_), Some(i), Some(head)) if *head != i.commit => {
            vec![NotReadyReason::DeliveredDiffers {
                delivered: head.clone(),
                proven: i.commit.clone(),
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
            tested: result.commit.clone(),
            result: integration.commit.clone(),
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
            reasons.extend(removed_tests(base, result));
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
/// result (a gate gone from the result takes all its tests with it).
fn removed_tests(base: &GateRun, result: &GateRun) -> Vec<NotReadyReason> {
    base.gates
        .iter()
        .filter_map(|b| {
            let r = result.gates.iter().find(|r| r.name == b.name);
            let required = b.required || r.is_some_and(|r| r.required);
            let tests = compare_tests(&b.tests, r.map(|r| r.tests.as_slice())).removed;
            (required && !tests.is_empty()).then(|| NotReadyReason::TestsRemoved {
                gate: b.name.clone(),
                tests,
            })
        })
        .collect()
}

/// A human accepted the result after its review (the review of the current result).
fn review_accepted(snapshot: &Snapshot) -> bool {
    let goal = &snapshot.goal;
    match (&goal.review, &goal.integration) {
        (Some(r), Some(i)) if r.commit == i.commit => accepted_after(snapshot, r.at),
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

/// The version of `proof.json` this build writes (docs/proof.md).
pub const PROOF_SCHEMA_VERSION: u32 = 1;

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

/// A gate on the base and the result, with where its evidence is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRow {
    /// The comparison of the gate across base and result.
    #[serde(flatten)]
    pub change: GateChange,
    /// Evidence files in the goal tree (base, result).
    pub evidence: Vec<String>,
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
        commit: v.commit.clone(),
        tree: v.tree.clone(),
    });
    let base_tree = goal.baseline.as_ref().map(|b| b.tree.clone()).unwrap_or_default();
    Proof {
        schema_version: PROOF_SCHEMA_VERSION,
        goal: goal.id.to_string(),
        title: goal.title.clone(),
        status: verdict.status,
        reasons: verdict.reasons,
        base: Tree {
            commit: goal.base.commit.clone(),
            tree: base_tree,
        },
        result,
        gates: gate_rows(snapshot),
        oracle: oracle_results(snapshot),
        tasks: snapshot.tasks.tasks.iter().map(task_record).collect(),
        changed_files,
        findings: finding_records(snapshot),
        limits: goal.limits,
        usage: goal.usage,
        gaps: gaps(snapshot),
        human_decisions: goal.human_decisions.clone(),
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
    compare(&base, &result)
        .gates
        .into_iter()
        .map(|change| {
            let evidence = [goal.baseline.as_ref(), goal.verification.as_ref()]
                .into_iter()
                .filter_map(|run| evidence_of(run, &change.name))
                .collect();
            GateRow { change, evidence }
        })
        .collect()
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
                    commit: a.commit.clone(),
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
    let accepted = accepted_after(snapshot, review.at);
    review
        .findings
        .iter()
        .map(|f| FindingRecord {
            finding: f.clone(),
            accepted,
        })
        .collect()
}

fn gaps(snapshot: &Snapshot) -> Vec<String> {
    let goal = &snapshot.goal;
    let mut out = Vec::new();
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
