//! `goal proof -f json` and `goal verify --json`: the readiness verdict as its own view (every reason
//! mapped by name), next to the stored `proof.json` record, which is embedded as stored on purpose
//! (docs/decisions.md).

use serde::Serialize;

use super::{GateRunView, GoalStatusView, Location, TestOutcomeView};
use crate::model::gate::identity::RemovedTest;
use crate::model::proof::{NotReadyReason, Proof, Readiness};
use crate::ops::verify::VerifyReport as GoalVerifyReport;

/// `goal proof -f json`.
#[derive(Serialize)]
pub struct ProofView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// Whether a proof was recorded (false: the verdict is computed now from the evidence so far).
    pub recorded: bool,
    /// The goal commit that recorded the proof (what PRs link to).
    pub proof_commit: Option<String>,
    /// The verdict now (a human decision or a delivery recorded after the proof counts).
    pub readiness: ReadinessView<'a>,
    /// The recorded proof (`proof.json`, see docs/proof.md).
    pub proof: Option<&'a Proof>,
}

/// The readiness verdict in `goal proof -f json`: its own type, built field by field, so a change to
/// the model's verdict (shared with the stored `proof.json`) does not change this document by itself.
#[derive(Serialize)]
pub struct ReadinessView<'a> {
    /// `ready` or `not_ready`.
    pub status: GoalStatusView,
    /// Why not (empty when ready), in the model's order.
    pub reasons: Vec<NotReadyReasonView<'a>>,
}

impl<'a> ReadinessView<'a> {
    /// Of the model's verdict.
    pub fn of(readiness: &'a Readiness) -> ReadinessView<'a> {
        ReadinessView {
            status: GoalStatusView::of(readiness.status),
            reasons: readiness.reasons.iter().map(NotReadyReasonView::of).collect(),
        }
    }
}

/// One reason a goal is not ready, tagged by `code` (docs/proof.md lists what each means).
#[derive(Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum NotReadyReasonView<'a> {
    /// No task has run.
    NoResult,
    /// A task did not finish, or its result is not integrated.
    TaskNotDone {
        /// The task.
        task: &'a str,
        /// Its status.
        status: &'a str,
        /// Why, when known.
        note: Option<&'a str>,
    },
    /// No gate evidence exists for the result.
    MissingGateEvidence,
    /// The gates ran on another commit than the integrated result.
    StaleGateEvidence {
        /// The commit the gates tested.
        tested: &'a str,
        /// The integrated result.
        result: &'a str,
    },
    /// No gate is configured or detected.
    NoGates,
    /// A required gate fails on the result.
    RequiredGateFailed {
        /// The gate.
        gate: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// A required gate that passed on the base fails on the result.
    Regression {
        /// The gate.
        gate: &'a str,
    },
    /// Tests that ran on the base do not run as well on the result.
    TestsRemoved {
        /// The gate they ran in.
        gate: &'a str,
        /// The tests.
        tests: Vec<RemovedTestView<'a>>,
    },
    /// The test harness files were not compared with the base's.
    MissingHarnessCheck,
    /// The gates say something else with the base's test harness files restored.
    HarnessChanged {
        /// The gate (empty when the restored run could not be made).
        gate: &'a str,
        /// What differs.
        detail: &'a str,
    },
    /// An oracle check of the goal's kind fails.
    OracleFailed {
        /// The check, in words.
        check: &'a str,
        /// What the evidence showed.
        detail: &'a str,
    },
    /// No review is recorded for the result.
    MissingReview,
    /// A reviewer session gave no usable answer.
    ReviewGap {
        /// Which reviewer and why.
        detail: &'a str,
    },
    /// A high-severity finding is open.
    BlockingFinding {
        /// Who found it.
        source: &'a str,
        /// Where.
        file: &'a str,
        /// Line, when known.
        line: Option<u32>,
        /// What.
        message: &'a str,
    },
    /// The pull request's head is not the proven commit.
    DeliveredDiffers {
        /// The PR head.
        delivered: &'a str,
        /// The proven commit.
        proven: &'a str,
    },
    /// The goal has unanswered questions.
    OpenQuestions,
    /// A human rejected the result.
    RejectedByHuman {
        /// Their reason.
        reason: &'a str,
    },
}

impl<'a> NotReadyReasonView<'a> {
    /// Of the model's reason: every variant is mapped by name (no wildcard), so a new reason in the
    /// model does not compile until it is named here.
    pub fn of(reason: &'a NotReadyReason) -> NotReadyReasonView<'a> {
        use NotReadyReason as R;
        use NotReadyReasonView as V;
        match reason {
            R::NoResult => V::NoResult,
            R::TaskNotDone { task, status, note } => V::TaskNotDone {
                task,
                status,
                note: note.as_deref(),
            },
            R::MissingGateEvidence => V::MissingGateEvidence,
            R::StaleGateEvidence { tested, result } => V::StaleGateEvidence { tested, result },
            R::NoGates => V::NoGates,
            R::RequiredGateFailed { gate, reason } => V::RequiredGateFailed { gate, reason },
            R::Regression { gate } => V::Regression { gate },
            R::TestsRemoved { gate, tests } => V::TestsRemoved {
                gate,
                tests: tests.iter().map(RemovedTestView::of).collect(),
            },
            R::MissingHarnessCheck => V::MissingHarnessCheck,
            R::HarnessChanged { gate, detail } => V::HarnessChanged { gate, detail },
            R::OracleFailed { check, detail } => V::OracleFailed { check, detail },
            R::MissingReview => V::MissingReview,
            R::ReviewGap { detail } => V::ReviewGap { detail },
            R::BlockingFinding {
                source,
                file,
                line,
                message,
            } => V::BlockingFinding {
                source,
                file,
                line: *line,
                message,
            },
            R::DeliveredDiffers { delivered, proven } => V::DeliveredDiffers { delivered, proven },
            R::OpenQuestions => V::OpenQuestions,
            R::RejectedByHuman { reason } => V::RejectedByHuman { reason },
        }
    }
}

/// A test that ran on the base and does not run as well on the result.
#[derive(Serialize)]
pub struct RemovedTestView<'a> {
    /// The runner's id of the test.
    pub id: &'a str,
    /// What it did on the base: `passed`, `failed`, `skipped`, `xfail` or `error`.
    pub base: TestOutcomeView,
    /// What it did on the result (same words), `null` when it did not appear at all.
    pub result: Option<TestOutcomeView>,
}

impl<'a> RemovedTestView<'a> {
    /// Of the model's removed test.
    pub fn of(test: &'a RemovedTest) -> RemovedTestView<'a> {
        RemovedTestView {
            id: &test.id,
            base: TestOutcomeView::of(test.base),
            result: test.result.map(TestOutcomeView::of),
        }
    }
}

/// `goal verify --json`.
#[derive(Serialize)]
pub struct VerifyGoalView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// Whether the proof holds.
    pub holds: bool,
    /// The commit whose gates ran.
    pub commit: String,
    /// Whether that is the proven commit.
    pub proven: bool,
    /// The recorded proof's status before this run.
    pub previous_status: Option<GoalStatusView>,
    /// The proof recomputed with the fresh evidence.
    pub proof: &'a Proof,
    /// The fresh gate run.
    pub gates: GateRunView<'a>,
    /// The goal commit that recorded it, or `null`.
    pub recorded: Option<String>,
    /// Why nothing was recorded.
    pub not_recorded: Option<&'a str>,
}

impl<'a> VerifyGoalView<'a> {
    /// Of a verify report.
    pub fn of(r: &'a GoalVerifyReport) -> VerifyGoalView<'a> {
        VerifyGoalView {
            location: Location::of(&r.goal),
            holds: r.holds(),
            commit: r.commit.to_string(),
            proven: r.proven,
            previous_status: r.previous.map(GoalStatusView::of),
            proof: &r.proof,
            gates: GateRunView::of(&r.run),
            recorded: r.recorded.map(|c| c.to_string()),
            not_recorded: r.not_recorded.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::status::GoalStatus;

    /// One sample of every reason the model has, with the JSON `goal proof -f json` has always printed
    /// for it. The exhaustive match makes a new model reason fail to compile here until it has a sample.
    fn every_reason() -> Vec<(NotReadyReason, &'static str)> {
        use crate::model::gate::TestOutcome;
        let samples = vec![
            (NotReadyReason::NoResult, r#"{"code":"no_result"}"#),
            (
                NotReadyReason::TaskNotDone {
                    task: "t1".into(),
                    status: "failed".into(),
                    note: Some("gave up".into()),
                },
                r#"{"code":"task_not_done","task":"t1","status":"failed","note":"gave up"}"#,
            ),
            (
                NotReadyReason::TaskNotDone {
                    task: "t2".into(),
                    status: "pending".into(),
                    note: None,
                },
                r#"{"code":"task_not_done","task":"t2","status":"pending","note":null}"#,
            ),
            (
                NotReadyReason::MissingGateEvidence,
                r#"{"code":"missing_gate_evidence"}"#,
            ),
            (
                NotReadyReason::StaleGateEvidence {
                    tested: "aa".into(),
                    result: "bb".into(),
                },
                r#"{"code":"stale_gate_evidence","tested":"aa","result":"bb"}"#,
            ),
            (NotReadyReason::NoGates, r#"{"code":"no_gates"}"#),
            (
                NotReadyReason::RequiredGateFailed {
                    gate: "test".into(),
                    reason: "exit 1".into(),
                },
                r#"{"code":"required_gate_failed","gate":"test","reason":"exit 1"}"#,
            ),
            (
                NotReadyReason::Regression { gate: "lint".into() },
                r#"{"code":"regression","gate":"lint"}"#,
            ),
            (
                NotReadyReason::TestsRemoved {
                    gate: "test".into(),
                    tests: vec![
                        RemovedTest {
                            id: "a::gone".into(),
                            base: TestOutcome::Passed,
                            result: None,
                        },
                        RemovedTest {
                            id: "a::skipped".into(),
                            base: TestOutcome::Failed,
                            result: Some(TestOutcome::Skipped),
                        },
                        RemovedTest {
                            id: "a::xfail".into(),
                            base: TestOutcome::Error,
                            result: Some(TestOutcome::Xfail),
                        },
                    ],
                },
                concat!(
                    r#"{"code":"tests_removed","gate":"test","tests":["#,
                    r#"{"id":"a::gone","base":"passed","result":null},"#,
                    r#"{"id":"a::skipped","base":"failed","result":"skipped"},"#,
                    r#"{"id":"a::xfail","base":"error","result":"xfail"}]}"#
                ),
            ),
            (
                NotReadyReason::MissingHarnessCheck,
                r#"{"code":"missing_harness_check"}"#,
            ),
            (
                NotReadyReason::HarnessChanged {
                    gate: "test".into(),
                    detail: "differs".into(),
                },
                r#"{"code":"harness_changed","gate":"test","detail":"differs"}"#,
            ),
            (
                NotReadyReason::OracleFailed {
                    check: "fail to pass".into(),
                    detail: "none".into(),
                },
                r#"{"code":"oracle_failed","check":"fail to pass","detail":"none"}"#,
            ),
            (NotReadyReason::MissingReview, r#"{"code":"missing_review"}"#),
            (
                NotReadyReason::ReviewGap {
                    detail: "no answer".into(),
                },
                r#"{"code":"review_gap","detail":"no answer"}"#,
            ),
            (
                NotReadyReason::BlockingFinding {
                    source: "claude".into(),
                    file: "src/a.rs".into(),
                    line: Some(7),
                    message: "bad".into(),
                },
                r#"{"code":"blocking_finding","source":"claude","file":"src/a.rs","line":7,"message":"bad"}"#,
            ),
            (
                NotReadyReason::BlockingFinding {
                    source: "kimi".into(),
                    file: "b.rs".into(),
                    line: None,
                    message: "m".into(),
                },
                r#"{"code":"blocking_finding","source":"kimi","file":"b.rs","line":null,"message":"m"}"#,
            ),
            (
                NotReadyReason::DeliveredDiffers {
                    delivered: "cc".into(),
                    proven: "dd".into(),
                },
                r#"{"code":"delivered_differs","delivered":"cc","proven":"dd"}"#,
            ),
            (NotReadyReason::OpenQuestions, r#"{"code":"open_questions"}"#),
            (
                NotReadyReason::RejectedByHuman { reason: "no".into() },
                r#"{"code":"rejected_by_human","reason":"no"}"#,
            ),
        ];
        let covered: std::collections::BTreeSet<u8> = samples.iter().map(|(r, _)| variant(r)).collect();
        assert_eq!(covered.len(), 17, "a sample for every reason");
        samples
    }

    /// A distinct number per model reason (exhaustive: a new reason must be added to the samples).
    fn variant(reason: &NotReadyReason) -> u8 {
        match reason {
            NotReadyReason::NoResult => 0,
            NotReadyReason::TaskNotDone { .. } => 1,
            NotReadyReason::MissingGateEvidence => 2,
            NotReadyReason::StaleGateEvidence { .. } => 3,
            NotReadyReason::NoGates => 4,
            NotReadyReason::RequiredGateFailed { .. } => 5,
            NotReadyReason::Regression { .. } => 6,
            NotReadyReason::TestsRemoved { .. } => 7,
            NotReadyReason::MissingHarnessCheck => 8,
            NotReadyReason::HarnessChanged { .. } => 9,
            NotReadyReason::OracleFailed { .. } => 10,
            NotReadyReason::MissingReview => 11,
            NotReadyReason::ReviewGap { .. } => 12,
            NotReadyReason::BlockingFinding { .. } => 13,
            NotReadyReason::DeliveredDiffers { .. } => 14,
            NotReadyReason::OpenQuestions => 15,
            NotReadyReason::RejectedByHuman { .. } => 16,
        }
    }

    /// Every reason prints as the view pins it, and as the model's own serialisation (shared with
    /// `proof.json`) printed it before the view existed: the output is unchanged.
    #[test]
    fn every_not_ready_reason_prints_as_before() {
        for (reason, expected) in every_reason() {
            let view = serde_json::to_string(&NotReadyReasonView::of(&reason)).unwrap();
            assert_eq!(view, expected);
            assert_eq!(serde_json::to_string(&reason).unwrap(), expected);
        }
    }

    /// The verdict, ready and not ready, prints as the model's did.
    #[test]
    fn the_readiness_view_prints_as_the_model_did() {
        let ready = Readiness {
            status: GoalStatus::Ready,
            reasons: Vec::new(),
        };
        let not_ready = Readiness {
            status: GoalStatus::NotReady,
            reasons: every_reason().into_iter().map(|(r, _)| r).collect(),
        };
        assert_eq!(
            serde_json::to_string(&ReadinessView::of(&ready)).unwrap(),
            r#"{"status":"ready","reasons":[]}"#
        );
        for verdict in [ready, not_ready] {
            let view = serde_json::to_string_pretty(&ReadinessView::of(&verdict)).unwrap();
            assert_eq!(view, serde_json::to_string_pretty(&verdict).unwrap());
        }
    }
}
