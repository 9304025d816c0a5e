//! Readiness and proof tests: every way `ready` must be refused, each on a goal built from events, and
//! the fully evidenced goal that is ready (so each refusal is caused by the one piece of evidence the
//! test takes away).

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::model::delivery::record::PrOpened;
use crate::model::event::{Actor, ActorKind, AttemptReport, BaseRef, Event, EventBody, GoalCreated};
use crate::model::gate::compare::{GateObservation, ObservedMetric};
use crate::model::gate::{FailReason, Outcome, RemovedTest, RunnerKind, TestOutcome, TestResult};
use crate::model::graph::TaskGraph;
use crate::model::graph::tests::task;
use crate::model::harness::HarnessCheck;
use crate::model::ids::{EventId, GoalId, TaskId, fake};
use crate::model::lease::Lease;
use crate::model::options::RunOptions;
use crate::model::oracle::BaseRun;
use crate::model::plan::{Oracle, OracleCheck, PlanArtifacts, PlannerInfo};
use crate::model::review::{Review, Severity};
use crate::model::status::GoalKind;

/// The base commit of every test goal.
pub(crate) const BASE: &str = "ba5e000000000000000000000000000000000000";
/// The integrated result of every test goal.
pub(crate) const RESULT: &str = "2e5017000000000000000000000000000000000a";

/// A goal built event by event, one second apart.
pub(crate) struct Goal {
    /// The state so far.
    pub(crate) snapshot: Snapshot,
    n: u32,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .single()
        .expect("a valid time")
}

/// The oracle the planner gives each kind (see `planner::oracle_for`).
pub(crate) fn oracle_of(kind: GoalKind) -> Vec<OracleCheck> {
    match kind {
        GoalKind::Docs => vec![OracleCheck::DocsGatePasses, OracleCheck::NoRegression],
        GoalKind::Audit => vec![OracleCheck::FindingsReported],
        GoalKind::Bugfix => vec![
            OracleCheck::RequiredGatesPass,
            OracleCheck::NoRegression,
            OracleCheck::FailToPass,
        ],
        GoalKind::Performance => vec![
            OracleCheck::RequiredGatesPass,
            OracleCheck::NoRegression,
            OracleCheck::BenchmarkImproves {
                min_improvement_pct: 10,
            },
        ],
        _ => vec![OracleCheck::RequiredGatesPass, OracleCheck::NoRegression],
    }
}

/// A gate observation without tests or metrics.
pub(crate) fn gate(name: &str, required: bool, outcome: Outcome) -> GateObservation {
    GateObservation {
        name: name.to_owned(),
        required,
        outcome,
        reason: (!outcome.passed()).then_some(FailReason::ExitCode { code: 1 }),
        tests: Vec::new(),
        runner: RunnerKind::Generic,
        metrics: Vec::new(),
    }
}

/// A cargo gate with named tests.
pub(crate) fn tested(outcome: Outcome, tests: &[(&str, TestOutcome)]) -> GateObservation {
    GateObservation {
        runner: RunnerKind::Cargo,
        tests: tests
            .iter()
            .map(|(id, o)| TestResult {
                id: (*id).to_owned(),
                outcome: *o,
            })
            .collect(),
        ..gate("test", true, outcome)
    }
}

/// A passing benchmark gate reporting `seconds` for metric `parse`.
pub(crate) fn bench(seconds: f64) -> GateObservation {
    GateObservation {
        runner: RunnerKind::Benchmark,
        metrics: vec![ObservedMetric {
            name: "parse".into(),
            milli: (seconds * 1000.0).round() as i64,
            unit: Some("s".into()),
        }],
        ..gate("bench", false, Outcome::Passed)
    }
}

/// A gate run on `commit`.
pub(crate) fn run(commit: &str, gates: Vec<GateObservation>) -> GateRun {
    let evidence = gates
        .iter()
        .map(|g| format!("gates/{commit}-tree/{}.json", g.name))
        .collect();
    GateRun {
        commit: fake::commit(commit),
        tree: fake::tree(&format!("{commit}-tree")),
        config_hash: "cfg".into(),
        gates,
        evidence,
    }
}

/// A high-severity finding by the reviewer.
pub(crate) fn high(message: &str) -> Finding {
    Finding {
        source: "reviewer".into(),
        severity: Severity::High,
        file: "src/a.rs".into(),
        line: Some(7),
        message: message.into(),
    }
}

impl Goal {
    /// Created, classified as `kind`, planned with one task `a` and its kind's oracle.
    pub(crate) fn planned(kind: GoalKind) -> Goal {
        let id = GoalId::parse("20261122-100000-aaaaaaaa").expect("a valid goal id");
        let created = EventBody::GoalCreated(GoalCreated {
            text: "Make it right".into(),
            base: BaseRef {
                rev: "HEAD".into(),
                commit: fake::commit(BASE),
            },
            options: RunOptions::default(),
            nonce: "n".into(),
        });
        let mut g = Goal {
            snapshot: Snapshot::genesis(&id, &event(0, created)).expect("a creation event"),
            n: 1,
        };
        g.apply(EventBody::IntakeCompleted {
            kind,
            title: "Make it right".into(),
            questions: Vec::new(),
        });
        let plan = PlanArtifacts {
            brief: String::new(),
            technical_plan: String::new(),
            test_spec: String::new(),
            oracle: Oracle {
                kind,
                checks: oracle_of(kind),
            },
            relevant_files: Vec::new(),
            planner: PlannerInfo::Heuristic {
                reason: "test".into(),
            },
        };
        let tasks = TaskGraph::new(vec![task("a", &[], &["src/**"])]).expect("a valid graph");
        g.apply(EventBody::PlanRecorded { plan, tasks });
        g
    }

    /// Planned, baseline recorded on the base, task `a` done and integrated as [`RESULT`]; no
    /// verification, no review.
    pub(crate) fn integrated(kind: GoalKind, baseline: Vec<GateObservation>) -> Goal {
        let mut g = Goal::planned(kind);
        g.apply(EventBody::IntegrationStarted {
            branch: "omk/g/integration".into(),
            commit: fake::commit(BASE),
        });
        g.apply(EventBody::BaselineRecorded(run(BASE, baseline)));
        let a = TaskId::parse("a").expect("a valid task id");
        g.apply(EventBody::TaskDispatched {
            task: a.clone(),
            attempt: 1,
            branch: "omk/g/a".into(),
            start_commit: fake::commit(BASE),
        });
        g.apply(EventBody::AttemptFinished(AttemptReport {
            task: a.clone(),
            attempt: 1,
            outcome: AttemptOutcome::Succeeded,
            commit: Some(fake::commit("attempt1")),
            tree: Some(fake::tree("attempt1-tree")),
            tokens: 1200,
            session_id: Some("s1".into()),
            next: TaskStatus::Done,
            note: None,
        }));
        g.apply(EventBody::TaskIntegrated {
            task: a,
            commit: fake::commit(RESULT),
        });
        g
    }

    /// A feature goal with every piece of evidence: baseline and result gates green, a clean review.
    pub(crate) fn evidenced() -> Goal {
        let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
        g.verify(vec![gate("test", true, Outcome::Passed)]);
        g.review(Vec::new());
        g
    }

    /// Record one event, a second after the previous one.
    pub(crate) fn apply(&mut self, body: EventBody) {
        self.snapshot.apply(&event(self.n, body));
        self.n += 1;
    }

    /// The time the next event will carry.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        start() + Duration::seconds(i64::from(self.n))
    }

    /// Gates ran on the integrated result, whose test harness files are the base's.
    pub(crate) fn verify(&mut self, gates: Vec<GateObservation>) {
        self.apply(EventBody::VerificationRecorded(run(RESULT, gates)));
        self.apply(EventBody::HarnessChecked(HarnessCheck {
            result: fake::commit(RESULT),
            changes: Vec::new(),
            restored: None,
            error: None,
        }));
    }

    /// The result was reviewed.
    pub(crate) fn review(&mut self, findings: Vec<Finding>) {
        let at = self.now();
        self.apply(EventBody::ReviewRecorded(Review {
            commit: fake::commit(RESULT),
            findings,
            gaps: Vec::new(),
            at,
        }));
    }

    /// A pull request was opened with its head at `head`.
    pub(crate) fn deliver(&mut self, head: &str) {
        self.apply(EventBody::PrOpened(PrOpened {
            number: 7,
            url: "https://example.com/o/r/pull/7".into(),
            head: "omk/g/integration".into(),
            head_sha: head.into(),
            base: "main".into(),
            draft: false,
            created: true,
            proof_commit: None,
            task: None,
            merged: false,
        }));
    }

    /// The proof of the goal as it stands, recorded.
    pub(crate) fn record_proof(&mut self) -> Proof {
        let proof = prove(&self.snapshot, changed());
        self.apply(EventBody::ProofRecorded(Box::new(proof.clone())));
        proof
    }

    pub(crate) fn readiness(&self) -> Readiness {
        readiness(&self.snapshot)
    }
}

fn event(n: u32, body: EventBody) -> Event {
    let human = matches!(body, EventBody::Accepted { .. } | EventBody::Rejected { .. });
    Event {
        id: EventId::parse(&format!("e{n:04}")).expect("a valid event id"),
        at: start() + Duration::seconds(i64::from(n)),
        actor: Actor {
            kind: if human {
                ActorKind::Human
            } else {
                ActorKind::Controller
            },
            name: if human {
                "Ada <ada@example.com>"
            } else {
                "controller"
            }
            .into(),
            host: "h".into(),
        },
        body,
    }
}

/// Diff statistics of the test result.
pub(crate) fn changed() -> Vec<FileStat> {
    vec![
        FileStat {
            path: "src/a.rs".into(),
            added: Some(12),
            removed: Some(3),
        },
        FileStat {
            path: "assets/logo.png".into(),
            added: None,
            removed: None,
        },
    ]
}

fn assert_ready(r: &Readiness) {
    assert_eq!(r.reasons, Vec::<NotReadyReason>::new());
    assert_eq!(r.status, GoalStatus::Ready);
}

fn assert_not_ready(g: &Goal, expected: &NotReadyReason) {
    let r = g.readiness();
    assert_eq!(r.status, GoalStatus::NotReady, "{:?}", r.reasons);
    assert!(
        r.reasons.contains(expected),
        "expected {expected:?} among {:?}",
        r.reasons
    );
}

fn oracle_failed(r: &Readiness, check: &OracleCheck) -> bool {
    let wanted = describe_check(check);
    r.reasons
        .iter()
        .any(|x| matches!(x, NotReadyReason::OracleFailed { check, .. } if *check == wanted))
}

#[test]
fn a_fully_evidenced_goal_is_ready() {
    let g = Goal::evidenced();
    let r = g.readiness();
    assert_ready(&r);
    assert_eq!(r.status, GoalStatus::Ready);
}

#[test]
fn a_failing_required_gate_refuses_ready_and_is_named() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Failed)]);
    g.verify(vec![
        gate("test", true, Outcome::Failed),
        gate("lint", true, Outcome::Passed),
    ]);
    g.review(Vec::new());
    assert_not_ready(
        &g,
        &NotReadyReason::RequiredGateFailed {
            gate: "test".into(),
            reason: FailReason::ExitCode { code: 1 }.describe(),
        },
    );
    let r = g.readiness();
    assert!(oracle_failed(&r, &OracleCheck::RequiredGatesPass));
    assert!(
        !r.reasons.iter().any(|x| x.describe().contains("lint")),
        "the passing gate is not blamed: {:?}",
        r.reasons
    );
}

#[test]
fn a_failing_optional_gate_is_a_gap_not_a_refusal() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    g.verify(vec![
        gate("test", true, Outcome::Passed),
        gate("style", false, Outcome::Failed),
    ]);
    g.review(Vec::new());
    assert_eq!(g.readiness().status, GoalStatus::Ready);
    let proof = prove(&g.snapshot, changed());
    assert_eq!(proof.gaps, ["optional gate style fails on the result"]);
}

#[test]
fn an_infrastructure_failure_of_a_required_gate_refuses_ready() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    let mut timed_out = gate("test", true, Outcome::FailedInfra);
    timed_out.reason = Some(FailReason::TimedOut);
    g.verify(vec![timed_out]);
    g.review(Vec::new());
    assert_not_ready(
        &g,
        &NotReadyReason::RequiredGateFailed {
            gate: "test".into(),
            reason: FailReason::TimedOut.describe(),
        },
    );
}

#[test]
fn no_verification_run_is_missing_evidence() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    g.review(Vec::new());
    let r = g.readiness();
    assert_eq!(r.status, GoalStatus::NotReady);
    assert_eq!(r.reasons, [NotReadyReason::MissingGateEvidence]);
}

#[test]
fn evidence_for_another_tree_than_the_result_is_stale() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    g.apply(EventBody::VerificationRecorded(run(
        "older000",
        vec![gate("test", true, Outcome::Passed)],
    )));
    g.review(Vec::new());
    assert_not_ready(
        &g,
        &NotReadyReason::StaleGateEvidence {
            tested: fake::commit("older000").to_string(),
            result: RESULT.into(),
        },
    );
}

#[test]
fn a_result_integrated_after_verification_makes_the_evidence_stale() {
    let mut g = Goal::evidenced();
    g.apply(EventBody::TaskIntegrated {
        task: TaskId::parse("a").expect("a valid task id"),
        commit: fake::commit("newer000"),
    });
    let r = g.readiness();
    assert_eq!(r.status, GoalStatus::NotReady);
    assert!(r.reasons.contains(&NotReadyReason::StaleGateEvidence {
        tested: RESULT.into(),
        result: fake::commit("newer000").to_string(),
    }));
    assert!(
        r.reasons.contains(&NotReadyReason::MissingReview),
        "the review was of the older result: {:?}",
        r.reasons
    );
}

#[test]
fn no_gates_at_all_is_missing_evidence() {
    let mut g = Goal::integrated(GoalKind::Feature, Vec::new());
    g.verify(Vec::new());
    g.review(Vec::new());
    assert_not_ready(&g, &NotReadyReason::NoGates);
    assert!(oracle_failed(&g.readiness(), &OracleCheck::RequiredGatesPass));
}

#[test]
fn no_task_run_is_no_result() {
    let g = Goal::planned(GoalKind::Feature);
    assert_not_ready(&g, &NotReadyReason::NoResult);
}

#[test]
fn a_task_not_integrated_refuses_ready() {
    let mut g = Goal::evidenced();
    let a = TaskId::parse("a").expect("a valid task id");
    if let Some(t) = g.snapshot.tasks.get_mut(&a) {
        t.integrated = None;
    }
    assert_not_ready(
        &g,
        &NotReadyReason::TaskNotDone {
            task: "a".into(),
            status: "done, not integrated".into(),
            note: None,
        },
    );
}

#[test]
fn a_regression_refuses_ready() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    g.verify(vec![gate("test", true, Outcome::Failed)]);
    g.review(Vec::new());
    assert_not_ready(&g, &NotReadyReason::Regression { gate: "test".into() });
    assert!(oracle_failed(&g.readiness(), &OracleCheck::NoRegression));
}

#[test]
fn a_regression_hidden_by_making_the_gate_optional_still_refuses_ready() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    g.verify(vec![
        gate("test", false, Outcome::Failed),
        gate("other", true, Outcome::Passed),
    ]);
    g.review(Vec::new());
    let r = g.readiness();
    assert!(
        !r.reasons
            .iter()
            .any(|x| matches!(x, NotReadyReason::RequiredGateFailed { .. })),
        "the gate is optional on the result: {:?}",
        r.reasons
    );
    assert_not_ready(&g, &NotReadyReason::Regression { gate: "test".into() });
}

#[test]
fn a_required_gate_removed_from_the_result_is_a_regression() {
    let mut g = Goal::integrated(
        GoalKind::Feature,
        vec![
            gate("test", true, Outcome::Passed),
            gate("lint", true, Outcome::Passed),
        ],
    );
    g.verify(vec![gate("lint", true, Outcome::Passed)]);
    g.review(Vec::new());
    assert_not_ready(&g, &NotReadyReason::Regression { gate: "test".into() });
}

/// A feature goal whose base ran `base` tests and whose result ran `result` tests (gate `test`, green
/// on both sides), reviewed.
fn with_tests(base: &[(&str, TestOutcome)], result: &[(&str, TestOutcome)]) -> Goal {
    let mut g = Goal::integrated(GoalKind::Feature, vec![tested(Outcome::Passed, base)]);
    g.verify(vec![tested(Outcome::Passed, result)]);
    g.review(Vec::new());
    g
}

fn removed(id: &str, base: TestOutcome, result: Option<TestOutcome>) -> RemovedTest {
    RemovedTest {
        id: id.into(),
        base,
        result,
    }
}

#[test]
fn a_passing_test_deleted_on_the_result_refuses_ready() {
    use TestOutcome::Passed;
    let g = with_tests(&[("t::add", Passed), ("t::sub", Passed)], &[("t::add", Passed)]);
    assert_not_ready(
        &g,
        &NotReadyReason::TestsRemoved {
            gate: "test".into(),
            tests: vec![removed("t::sub", Passed, None)],
        },
    );
    assert_eq!(g.readiness().reasons.len(), 1, "{:?}", g.readiness().reasons);
}

#[test]
fn a_test_newly_skipped_or_expected_to_fail_refuses_ready() {
    use TestOutcome::{Passed, Skipped, Xfail};
    let g = with_tests(
        &[("t::add", Passed), ("t::sub", Passed)],
        &[("t::add", Skipped), ("t::sub", Xfail)],
    );
    assert_not_ready(
        &g,
        &NotReadyReason::TestsRemoved {
            gate: "test".into(),
            tests: vec![
                removed("t::add", Passed, Some(Skipped)),
                removed("t::sub", Passed, Some(Xfail)),
            ],
        },
    );
}

#[test]
fn a_test_that_was_already_skipped_on_the_base_may_stay_skipped_or_go() {
    use TestOutcome::{Passed, Skipped, Xfail};
    let g = with_tests(
        &[("t::add", Passed), ("t::later", Skipped), ("t::known", Xfail)],
        &[("t::add", Passed)],
    );
    assert_ready(&g.readiness());
}

#[test]
fn a_renamed_test_is_a_removed_test() {
    use TestOutcome::Passed;
    let g = with_tests(&[("t::add", Passed)], &[("t::add_numbers", Passed)]);
    assert_not_ready(
        &g,
        &NotReadyReason::TestsRemoved {
            gate: "test".into(),
            tests: vec![removed("t::add", Passed, None)],
        },
    );
}

#[test]
fn a_gate_removed_from_the_result_takes_its_tests_with_it() {
    use TestOutcome::Failed;
    let mut g = Goal::integrated(
        GoalKind::Feature,
        vec![
            gate("lint", true, Outcome::Passed),
            tested(Outcome::Failed, &[("t::red", Failed)]),
        ],
    );
    g.verify(vec![gate("lint", true, Outcome::Passed)]);
    g.review(Vec::new());
    assert_not_ready(
        &g,
        &NotReadyReason::TestsRemoved {
            gate: "test".into(),
            tests: vec![removed("t::red", Failed, None)],
        },
    );
}

#[test]
fn removed_tests_of_an_optional_gate_do_not_refuse_ready() {
    use TestOutcome::Passed;
    let mut optional = tested(Outcome::Passed, &[("t::slow", Passed)]);
    optional.name = "slow".into();
    optional.required = false;
    let mut g = Goal::integrated(
        GoalKind::Feature,
        vec![gate("test", true, Outcome::Passed), optional],
    );
    g.verify(vec![gate("test", true, Outcome::Passed)]);
    g.review(Vec::new());
    assert_ready(&g.readiness());
}

#[test]
fn a_test_the_plan_says_a_task_removes_does_not_refuse_ready() {
    use TestOutcome::Passed;
    let mut g = with_tests(
        &[
            ("tests/test_calc.py::test_add", Passed),
            ("tests/test_calc.py::test_add_zero", Passed),
        ],
        &[("tests/test_calc.py::test_add", Passed)],
    );
    assert_eq!(g.readiness().status, GoalStatus::NotReady);
    g.snapshot.tasks.tasks[0].removes_tests = vec!["test_add_zero".into()];
    assert_ready(&g.readiness());
    g.snapshot.tasks.tasks[0].removes_tests = vec!["add_zero".into()];
    assert_eq!(
        g.readiness().status,
        GoalStatus::NotReady,
        "a name matches an id's last part, never a fragment of it"
    );
}

#[test]
fn a_human_accept_after_the_review_clears_removed_tests_and_one_before_does_not() {
    use TestOutcome::Passed;
    let mut g = Goal::integrated(
        GoalKind::Feature,
        vec![tested(
            Outcome::Passed,
            &[("t::add", Passed), ("t::zero", Passed)],
        )],
    );
    g.verify(vec![tested(Outcome::Passed, &[("t::add", Passed)])]);
    g.apply(EventBody::Accepted {
        summary: "too early".into(),
        task: None,
    });
    g.review(Vec::new());
    assert_eq!(g.readiness().status, GoalStatus::NotReady);
    g.apply(EventBody::Accepted {
        summary: "test_add_zero duplicated test_add".into(),
        task: None,
    });
    assert_ready(&g.readiness());
}

#[test]
fn a_task_accept_clears_only_the_findings_in_that_task_s_write_set() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    g.snapshot.tasks.tasks.push(task("b", &[], &["lib/**"]));
    g.verify(vec![gate("test", true, Outcome::Passed)]);
    let mut in_b = high("unchecked input");
    in_b.file = "lib/b.rs".into();
    g.review(vec![high("panics on empty input"), in_b]);
    g.apply(EventBody::Accepted {
        summary: "a's panic is documented".into(),
        task: Some(TaskId::parse("a").expect("a valid task id")),
    });
    let open = blocking_files(&g);
    assert_eq!(open, vec!["lib/b.rs"], "only b's finding is left");
    let accepted: Vec<bool> = g.record_proof().findings.iter().map(|f| f.accepted).collect();
    assert_eq!(accepted, vec![true, false]);
    g.apply(EventBody::Rejected { reason: "no".into() });
    g.apply(EventBody::Accepted {
        summary: "b too".into(),
        task: Some(TaskId::parse("b").expect("a valid task id")),
    });
    let open = blocking_files(&g);
    assert_eq!(
        open,
        vec!["src/a.rs"],
        "the later reject applies to a's finding again"
    );
}

/// The files of the open blocking findings.
fn blocking_files(g: &Goal) -> Vec<String> {
    g.readiness()
        .reasons
        .into_iter()
        .filter_map(|r| match r {
            NotReadyReason::BlockingFinding { file, .. } => Some(file),
            _ => None,
        })
        .collect()
}

/// A conftest.py the result added, as `model::harness` reports it.
fn conftest_added() -> Vec<crate::model::harness::HarnessChange> {
    use crate::model::harness::{ChangedText, GateFiles, harness_changes};
    let hook = ChangedText {
        path: "conftest.py",
        old: None,
        new: Some(b"def pytest_runtest_makereport(item, call): ...\n"),
    };
    harness_changes(&[hook], &GateFiles::default())
}

/// A feature goal whose result changed conftest.py; the restored run saw `restored` and the result's
/// own gates `result`; reviewed with the harness finding.
fn harness_goal(result: Vec<GateObservation>, restored: Option<Vec<GateObservation>>) -> Goal {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    g.apply(EventBody::VerificationRecorded(run(RESULT, result)));
    let changes = conftest_added();
    g.apply(EventBody::HarnessChecked(HarnessCheck {
        result: fake::commit(RESULT),
        error: restored
            .is_none()
            .then(|| "conftest.py is not a directory".to_owned()),
        restored: restored.map(|gates| run("restored", gates)),
        changes: changes.clone(),
    }));
    g.review(changes.iter().map(crate::model::harness::finding).collect());
    g
}

#[test]
fn a_verification_without_a_harness_check_is_missing_evidence() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    g.apply(EventBody::VerificationRecorded(run(
        RESULT,
        vec![gate("test", true, Outcome::Passed)],
    )));
    g.review(Vec::new());
    assert_not_ready(&g, &NotReadyReason::MissingHarnessCheck);
    g.apply(EventBody::HarnessChecked(HarnessCheck {
        result: fake::commit("older000"),
        changes: Vec::new(),
        restored: None,
        error: None,
    }));
    assert_not_ready(&g, &NotReadyReason::MissingHarnessCheck);
}

#[test]
fn a_harness_change_whose_restored_run_agrees_is_a_high_finding_an_accept_clears() {
    let gates = vec![gate("test", true, Outcome::Passed)];
    let mut g = harness_goal(gates.clone(), Some(gates));
    let r = g.readiness();
    assert_eq!(r.reasons.len(), 1, "{:?}", r.reasons);
    assert!(
        matches!(&r.reasons[0], NotReadyReason::BlockingFinding { source, file, message, .. }
            if source == "scanner:test-harness" && file == "conftest.py" && message.contains("+def pytest_runtest_makereport")),
        "{:?}",
        r.reasons
    );
    g.apply(EventBody::Accepted {
        summary: "the new fixture is harmless".into(),
        task: None,
    });
    assert_ready(&g.readiness());
}

#[test]
fn a_restored_run_that_disagrees_refuses_ready_whatever_a_human_accepts() {
    use TestOutcome::{Failed, Passed};
    let hooked = vec![tested(Outcome::Passed, &[("t::add", Passed)])];
    let honest = vec![tested(Outcome::Failed, &[("t::add", Failed)])];
    let mut g = harness_goal(hooked, Some(honest));
    let expected = NotReadyReason::HarnessChanged {
        gate: "test".into(),
        detail: "fails with the base's harness, passes with the result's".into(),
    };
    assert_not_ready(&g, &expected);
    g.apply(EventBody::Accepted {
        summary: "looks fine to me".into(),
        task: None,
    });
    let r = g.readiness();
    assert_eq!(r.reasons, vec![expected], "only the harness reason is left");
}

#[test]
fn a_restored_run_that_could_not_be_made_refuses_ready() {
    let mut g = harness_goal(vec![gate("test", true, Outcome::Passed)], None);
    g.apply(EventBody::Accepted {
        summary: "ok".into(),
        task: None,
    });
    let r = g.readiness();
    assert!(
        matches!(&r.reasons[..], [NotReadyReason::HarnessChanged { gate, detail }]
            if gate.is_empty() && detail.contains("conftest.py is not a directory")),
        "{:?}",
        r.reasons
    );
}

#[test]
fn the_proof_lists_each_gate_s_tests_by_id_and_says_it_in_words() {
    use TestOutcome::{Failed, Passed};
    let mut g = Goal::integrated(
        GoalKind::Bugfix,
        vec![tested(
            Outcome::Failed,
            &[("t::add", Failed), ("t::sub", Passed), ("t::add_zero", Passed)],
        )],
    );
    g.verify(vec![tested(
        Outcome::Passed,
        &[("t::add", Passed), ("t::sub", Passed)],
    )]);
    g.review(Vec::new());
    let proof = prove(&g.snapshot, changed());
    let row = &proof.gates[0];
    assert_eq!(row.fail_to_pass, ["t::add"]);
    assert_eq!(row.pass_to_pass, ["t::sub"]);
    assert_eq!(row.removed, [removed("t::add_zero", Passed, None)]);
    assert!(row.broken.is_empty() && row.base_run_fail_to_pass.is_empty());
    let lines = test_lines(&proof);
    assert_eq!(
        lines,
        [
            "t::add: failed on the base, passes now",
            "removed: t::add_zero: did not run (deleted, renamed, deselected or filtered out)",
            "1 test(s) of gate test passed on the base and pass now",
            "test harness: unchanged",
        ]
    );
    let json = serde_json::to_value(&proof).expect("serialisable");
    assert_eq!(json["schema_version"], PROOF_SCHEMA_VERSION);
    assert_eq!(json["gates"][0]["fail_to_pass"][0], "t::add");
    assert_eq!(json["gates"][0]["removed"][0]["id"], "t::add_zero");
    assert_eq!(json["gates"][0]["removed"][0]["result"], serde_json::Value::Null);
    assert_eq!(json["harness"]["changes"], serde_json::json!([]));
    let md = crate::model::proof_md::render(&proof);
    assert!(
        md.contains("## Tests\n\n- t::add: failed on the base, passes now\n"),
        "{md}"
    );
    assert!(md.contains("- removed: t::add_zero: did not run"), "{md}");
}

#[test]
fn the_proof_shows_the_harness_diff_and_what_the_restored_run_said() {
    use TestOutcome::{Failed, Passed};
    let hooked = vec![tested(Outcome::Passed, &[("t::add", Passed)])];
    let honest = vec![tested(Outcome::Failed, &[("t::add", Failed)])];
    let g = harness_goal(hooked, Some(honest));
    let proof = prove(&g.snapshot, changed());
    let h = proof.harness.as_ref().expect("a harness check");
    assert_eq!(h.changes[0].path, "conftest.py");
    assert_eq!(
        h.restored_run.as_ref().map(|r| r.commit.clone()),
        Some(fake::commit("restored").to_string())
    );
    assert_eq!(h.differences.len(), 1);
    let md = crate::model::proof_md::render(&proof);
    assert!(
        md.contains("## Test harness\n\n- `conftest.py` added: pytest hooks and fixtures (conftest.py)\n\n```diff\n@@ line 1 @@\n+def pytest_runtest_makereport"),
        "{md}"
    );
    assert!(
        md.contains("gate test: fails with the base's harness, passes with the result's"),
        "{md}"
    );
    assert!(
        test_lines(&proof).contains(
            &"test harness added: conftest.py (pytest hooks and fixtures (conftest.py))".to_owned()
        ),
        "{:?}",
        test_lines(&proof)
    );
}

#[test]
fn a_version_1_proof_reads_back() {
    let mut v1 = serde_json::to_value(prove(&Goal::evidenced().snapshot, changed())).expect("json");
    v1["schema_version"] = 1.into();
    let object = v1.as_object_mut().expect("an object");
    object.remove("harness");
    for row in object["gates"].as_array_mut().expect("rows") {
        let row = row.as_object_mut().expect("a row");
        for key in [
            "fail_to_pass",
            "base_run_fail_to_pass",
            "pass_to_pass",
            "broken",
            "removed",
        ] {
            row.remove(key);
        }
    }
    let back: Proof = serde_json::from_value(v1).expect("a version 1 proof reads");
    assert_eq!(back.harness, None);
    assert!(back.gates[0].fail_to_pass.is_empty());
}

fn bugfix(base_run: Vec<GateObservation>) -> Goal {
    use TestOutcome::Passed;
    let mut g = Goal::integrated(
        GoalKind::Bugfix,
        vec![tested(Outcome::Passed, &[("t::old", Passed)])],
    );
    g.verify(vec![tested(
        Outcome::Passed,
        &[("t::old", Passed), ("t::bug", Passed)],
    )]);
    g.apply(EventBody::BaseRunRecorded(BaseRun {
        commit: fake::commit("overlay0"),
        result: fake::commit(RESULT),
        overlaid: vec!["tests/bug.rs".into()],
        gates: base_run,
    }));
    g.review(Vec::new());
    g
}

#[test]
fn a_bugfix_whose_new_test_passes_on_the_base_is_not_ready() {
    use TestOutcome::Passed;
    let g = bugfix(vec![tested(
        Outcome::Passed,
        &[("t::old", Passed), ("t::bug", Passed)],
    )]);
    let r = g.readiness();
    assert_eq!(r.status, GoalStatus::NotReady);
    assert!(oracle_failed(&r, &OracleCheck::FailToPass), "{:?}", r.reasons);
    assert_eq!(r.reasons.len(), 1, "only the oracle fails: {:?}", r.reasons);
}

#[test]
fn a_bugfix_without_a_base_run_is_not_ready() {
    use TestOutcome::Passed;
    let mut g = Goal::integrated(
        GoalKind::Bugfix,
        vec![tested(Outcome::Passed, &[("t::old", Passed)])],
    );
    g.verify(vec![tested(
        Outcome::Passed,
        &[("t::old", Passed), ("t::bug", Passed)],
    )]);
    g.review(Vec::new());
    assert!(oracle_failed(&g.readiness(), &OracleCheck::FailToPass));
}

#[test]
fn a_bugfix_whose_new_test_fails_on_the_base_and_passes_on_the_result_is_ready() {
    use TestOutcome::{Failed, Passed};
    let g = bugfix(vec![tested(
        Outcome::Failed,
        &[("t::old", Passed), ("t::bug", Failed)],
    )]);
    let r = g.readiness();
    assert_ready(&r);
    let proof = prove(&g.snapshot, changed());
    let f2p = proof
        .oracle
        .iter()
        .find(|c| c.check == OracleCheck::FailToPass)
        .expect("the bugfix oracle has fail-to-pass");
    assert!(f2p.passed);
    assert!(f2p.detail.contains("t::bug"), "{}", f2p.detail);
}

#[test]
fn a_base_run_of_another_result_is_not_fail_to_pass_evidence() {
    use TestOutcome::{Failed, Passed};
    let mut g = bugfix(vec![tested(
        Outcome::Failed,
        &[("t::old", Passed), ("t::bug", Failed)],
    )]);
    if let Some(r) = g.snapshot.goal.base_run.as_mut() {
        r.result = fake::commit("older000");
    }
    assert!(oracle_failed(&g.readiness(), &OracleCheck::FailToPass));
}

fn performance(before: f64, after: f64) -> Goal {
    let mut g = Goal::integrated(
        GoalKind::Performance,
        vec![gate("test", true, Outcome::Passed), bench(before)],
    );
    g.verify(vec![gate("test", true, Outcome::Passed), bench(after)]);
    g.review(Vec::new());
    g
}

#[test]
fn a_performance_goal_that_meets_its_threshold_is_ready() {
    let g = performance(2.0, 1.5);
    assert_ready(&g.readiness());
    let proof = prove(&g.snapshot, changed());
    let check = proof
        .oracle
        .iter()
        .find(|c| matches!(c.check, OracleCheck::BenchmarkImproves { .. }))
        .expect("the performance oracle has a benchmark check");
    assert!(check.detail.contains("2 → 1.5"), "{}", check.detail);
}

#[test]
fn a_performance_goal_below_its_threshold_is_not_ready() {
    let g = performance(2.0, 1.9);
    let check = OracleCheck::BenchmarkImproves {
        min_improvement_pct: 10,
    };
    assert!(oracle_failed(&g.readiness(), &check));
}

#[test]
fn a_performance_goal_without_a_benchmark_before_and_after_is_not_ready() {
    let mut g = Goal::integrated(GoalKind::Performance, vec![gate("test", true, Outcome::Passed)]);
    g.verify(vec![gate("test", true, Outcome::Passed), bench(1.0)]);
    g.review(Vec::new());
    let check = OracleCheck::BenchmarkImproves {
        min_improvement_pct: 10,
    };
    assert!(oracle_failed(&g.readiness(), &check));
}

fn docs(gate_runner: RunnerKind, outcome: Outcome) -> Goal {
    let docs_gate = |o| GateObservation {
        runner: gate_runner,
        ..gate("build", false, o)
    };
    let mut g = Goal::integrated(
        GoalKind::Docs,
        vec![gate("test", true, Outcome::Passed), docs_gate(Outcome::Passed)],
    );
    g.verify(vec![gate("test", true, Outcome::Passed), docs_gate(outcome)]);
    g.review(Vec::new());
    g
}

#[test]
fn a_docs_goal_with_its_docs_gate_passing_is_ready() {
    assert_ready(&docs(RunnerKind::Docs, Outcome::Passed).readiness());
}

#[test]
fn a_docs_goal_needs_its_docs_gate() {
    let failing = docs(RunnerKind::Docs, Outcome::Failed);
    assert!(oracle_failed(&failing.readiness(), &OracleCheck::DocsGatePasses));
    let missing = docs(RunnerKind::Generic, Outcome::Passed);
    assert!(
        oracle_failed(&missing.readiness(), &OracleCheck::DocsGatePasses),
        "a gate is a docs gate by its runner, not its name"
    );
}

#[test]
fn a_missing_review_refuses_ready() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    g.verify(vec![gate("test", true, Outcome::Passed)]);
    assert_eq!(g.readiness().reasons, [NotReadyReason::MissingReview]);
}

#[test]
fn a_review_gap_refuses_ready() {
    let mut g = Goal::evidenced();
    let at = g.now();
    g.apply(EventBody::ReviewRecorded(Review {
        commit: fake::commit(RESULT),
        findings: Vec::new(),
        gaps: vec!["security-reviewer gave no answer".into()],
        at,
    }));
    assert_not_ready(
        &g,
        &NotReadyReason::ReviewGap {
            detail: "security-reviewer gave no answer".into(),
        },
    );
}

#[test]
fn an_open_high_finding_refuses_ready_and_is_named() {
    let mut g = Goal::evidenced();
    let mut medium = high("style");
    medium.severity = Severity::Medium;
    g.review(vec![high("unchecked index"), medium]);
    let r = g.readiness();
    assert_eq!(
        r.reasons,
        [NotReadyReason::BlockingFinding {
            source: "reviewer".into(),
            file: "src/a.rs".into(),
            line: Some(7),
            message: "unchecked index".into(),
        }],
        "only the high finding blocks"
    );
}

#[test]
fn an_acceptance_after_the_review_makes_it_ready() {
    let mut g = Goal::evidenced();
    g.review(vec![high("unchecked index")]);
    g.apply(EventBody::Accepted {
        summary: "the index is checked by the caller".into(),
        task: None,
    });
    assert_ready(&g.readiness());
    let proof = prove(&g.snapshot, changed());
    assert!(proof.findings.iter().all(|f| f.accepted));
    assert_eq!(proof.human_decisions.len(), 1);
    assert_eq!(proof.human_decisions[0].by, "Ada <ada@example.com>");
}

#[test]
fn an_acceptance_before_the_review_does_not_clear_its_findings() {
    let mut g = Goal::evidenced();
    g.apply(EventBody::Accepted {
        summary: "looks fine".into(),
        task: None,
    });
    g.review(vec![high("unchecked index")]);
    let r = g.readiness();
    assert_eq!(r.status, GoalStatus::NotReady);
    assert!(matches!(
        r.reasons.as_slice(),
        [NotReadyReason::BlockingFinding { message, .. }] if message == "unchecked index"
    ));
    let proof = prove(&g.snapshot, changed());
    assert!(proof.findings.iter().all(|f| !f.accepted));
}

#[test]
fn a_rejection_after_an_acceptance_reopens_the_findings() {
    let mut g = Goal::evidenced();
    g.review(vec![high("unchecked index")]);
    g.apply(EventBody::Accepted {
        summary: "ok".into(),
        task: None,
    });
    g.apply(EventBody::Rejected {
        reason: "on second thought".into(),
    });
    let r = g.readiness();
    assert!(r.reasons.contains(&NotReadyReason::RejectedByHuman {
        reason: "on second thought".into()
    }));
    assert!(
        r.reasons
            .iter()
            .any(|x| matches!(x, NotReadyReason::BlockingFinding { .. }))
    );
}

#[test]
fn a_delivered_head_other_than_the_proven_commit_refuses_ready() {
    let mut g = Goal::evidenced();
    g.record_proof();
    g.deliver("pushed00");
    assert_not_ready(
        &g,
        &NotReadyReason::DeliveredDiffers {
            delivered: "pushed00".into(),
            proven: RESULT.into(),
        },
    );
}

#[test]
fn a_delivered_head_that_is_the_proven_commit_stays_ready() {
    let mut g = Goal::evidenced();
    g.record_proof();
    g.deliver(RESULT);
    assert_ready(&g.readiness());
}

#[test]
fn a_rejected_goal_is_not_ready() {
    let mut g = Goal::evidenced();
    g.apply(EventBody::Rejected {
        reason: "wrong approach".into(),
    });
    let r = g.readiness();
    assert_eq!(
        r.reasons,
        [NotReadyReason::RejectedByHuman {
            reason: "wrong approach".into()
        }]
    );
}

#[test]
fn open_questions_refuse_ready() {
    let mut g = Goal::evidenced();
    g.apply(EventBody::IntakeCompleted {
        kind: GoalKind::Feature,
        title: "Make it right".into(),
        questions: vec!["which endpoint?".into()],
    });
    assert_not_ready(&g, &NotReadyReason::OpenQuestions);
}

#[test]
fn every_reason_describes_the_evidence_it_names() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("unit", true, Outcome::Passed)]);
    g.verify(vec![gate("unit", true, Outcome::Failed)]);
    g.review(vec![high("leaks a token")]);
    let lines: Vec<String> = g.readiness().reasons.iter().map(|r| r.describe()).collect();
    let all = lines.join("\n");
    assert!(all.contains("required gate unit fails: "), "{all}");
    assert!(all.contains("required gate unit passed on the base"), "{all}");
    assert!(all.contains("src/a.rs:7: leaks a token"), "{all}");
}

#[test]
fn prove_is_deterministic_and_versioned() {
    let mut g = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    g.verify(vec![
        gate("test", true, Outcome::Passed),
        gate("style", false, Outcome::Failed),
    ]);
    g.review(vec![high("unchecked index")]);
    let a = serde_json::to_string_pretty(&prove(&g.snapshot, changed())).expect("serialisable");
    let b = serde_json::to_string_pretty(&prove(&g.snapshot.clone(), changed())).expect("serialisable");
    assert_eq!(a, b);
    let value: serde_json::Value = serde_json::from_str(&a).expect("valid JSON");
    assert_eq!(value["schema_version"], PROOF_SCHEMA_VERSION);
    assert_eq!(value["status"], "not_ready");
    assert_eq!(value["reasons"][0]["code"], "blocking_finding");
    let back: Proof = serde_json::from_str(&a).expect("proof.json reads back");
    assert_eq!(back, prove(&g.snapshot, changed()));
}

#[test]
fn the_proof_carries_its_evidence() {
    let g = Goal::evidenced();
    let proof = prove(&g.snapshot, changed());
    assert_eq!(proof.status, GoalStatus::Ready);
    assert_eq!(proof.base.commit, BASE);
    let tree_of = |commit: &str| fake::tree(&format!("{commit}-tree")).to_string();
    assert_eq!(proof.base.tree, tree_of(BASE));
    let result = proof.result.as_ref().expect("a result");
    assert_eq!(
        (result.commit.as_str(), result.tree.as_str()),
        (RESULT, tree_of(RESULT).as_str())
    );
    assert_eq!(proof.gates.len(), 1);
    assert_eq!(
        proof.gates[0].evidence,
        [
            format!("gates/{BASE}-tree/test.json"),
            format!("gates/{RESULT}-tree/test.json")
        ]
    );
    assert_eq!(proof.tasks[0].attempts[0].outcome, "succeeded");
    assert_eq!(proof.tasks[0].attempts[0].tokens, 1200);
    assert_eq!(proof.changed_files, changed());
    assert_eq!(proof.oracle.len(), 2);
    assert!(proof.oracle.iter().all(|c| c.passed));
}

#[test]
fn recording_the_proof_sets_the_goal_status() {
    let mut g = Goal::evidenced();
    g.record_proof();
    assert_eq!(g.snapshot.goal.status, GoalStatus::Ready);
    let mut h = Goal::integrated(GoalKind::Feature, vec![gate("test", true, Outcome::Passed)]);
    h.record_proof();
    assert_eq!(h.snapshot.goal.status, GoalStatus::NotReady);
    assert!(
        h.snapshot
            .goal
            .stop_reason
            .as_deref()
            .is_some_and(|r| r.contains("no gate evidence")),
        "{:?}",
        h.snapshot.goal.stop_reason
    );
}

#[test]
fn after_verdict_follows_accept_and_reject() {
    let mut g = Goal::evidenced();
    assert_eq!(after_verdict(&g.snapshot), None, "no proof is recorded yet");
    g.review(vec![high("unchecked index")]);
    assert_eq!(g.record_proof().status, GoalStatus::NotReady);
    g.apply(EventBody::Accepted {
        summary: "checked by hand".into(),
        task: None,
    });
    let accepted = after_verdict(&g.snapshot).expect("a concluded goal with a proof");
    assert_eq!(accepted.status, GoalStatus::Ready);
    assert_eq!(
        accepted.changed_files,
        changed(),
        "the recorded diff stats are kept"
    );
    g.apply(EventBody::ProofRecorded(Box::new(accepted)));
    assert_eq!(g.snapshot.goal.status, GoalStatus::Ready);
    g.apply(EventBody::Rejected {
        reason: "breaks the API".into(),
    });
    let rejected = after_verdict(&g.snapshot).expect("a concluded goal with a proof");
    assert_eq!(rejected.status, GoalStatus::NotReady);
    assert!(rejected.reasons.contains(&NotReadyReason::RejectedByHuman {
        reason: "breaks the API".into()
    }));
    assert_eq!(rejected.human_decisions.len(), 2);
}

#[test]
fn after_verdict_leaves_a_running_goal_alone() {
    let mut g = Goal::evidenced();
    g.record_proof();
    g.apply(EventBody::Resumed {});
    g.apply(EventBody::ControllerStarted {
        lease: Lease::new("h", 1, g.now() + Duration::seconds(60)),
        took_over: None,
    });
    assert_eq!(g.snapshot.goal.status, GoalStatus::Running);
    assert_eq!(after_verdict(&g.snapshot), None);
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Passed),
        Just(Outcome::Failed),
        Just(Outcome::FailedInfra)
    ]
}

/// Per gate: on the base (required, outcome) and on the result (required, outcome), either may be
/// absent.
type GateCase = (Option<(bool, Outcome)>, Option<(bool, Outcome)>);

fn gate_cases() -> impl Strategy<Value = Vec<GateCase>> {
    let side = || proptest::option::of((any::<bool>(), outcome()));
    proptest::collection::vec((side(), side()), 0..6)
}

fn goal_with(cases: &[GateCase], names: impl Fn(usize) -> String) -> Goal {
    let pick = |side: fn(&GateCase) -> Option<(bool, Outcome)>| -> Vec<GateObservation> {
        cases
            .iter()
            .enumerate()
            .filter_map(|(i, c)| side(c).map(|(req, o)| gate(&names(i), req, o)))
            .collect()
    };
    let mut g = Goal::integrated(GoalKind::Feature, pick(|c| c.0));
    g.verify(pick(|c| c.1));
    g.review(Vec::new());
    g
}

fn test_outcome() -> impl Strategy<Value = TestOutcome> {
    prop_oneof![
        Just(TestOutcome::Passed),
        Just(TestOutcome::Failed),
        Just(TestOutcome::Skipped),
        Just(TestOutcome::Xfail),
        Just(TestOutcome::Error)
    ]
}

/// Per test id: its outcome on the base and on the result, either may be absent.
type TestCase = (Option<TestOutcome>, Option<TestOutcome>);

fn test_cases() -> impl Strategy<Value = Vec<TestCase>> {
    let side = || proptest::option::of(test_outcome());
    proptest::collection::vec((side(), side()), 0..8)
}

proptest! {
    /// Whatever the tests did, `ready` implies that every test that ran on the base runs on the
    /// result and does not fail there.
    #[test]
    fn ready_implies_every_test_that_ran_on_the_base_runs_on_the_result(cases in test_cases()) {
        let ids: Vec<String> = (0..cases.len()).map(|i| format!("t::{i}")).collect();
        let side = |pick: fn(&TestCase) -> Option<TestOutcome>| {
            cases.iter().zip(&ids).filter_map(|(c, id)| pick(c).map(|o| (id.as_str(), o))).collect::<Vec<_>>()
        };
        let (base, result) = (side(|c| c.0), side(|c| c.1));
        let mut g = Goal::integrated(GoalKind::Feature, vec![tested(Outcome::Passed, &base)]);
        let failing = result.iter().any(|(_, o)| o.failed());
        let outcome = if failing { Outcome::Failed } else { Outcome::Passed };
        g.verify(vec![tested(outcome, &result)]);
        g.review(Vec::new());
        if g.readiness().status == GoalStatus::Ready {
            for (b, r) in &cases {
                if b.is_some_and(|b| b.ran()) {
                    prop_assert!(r.is_some_and(|r| r.ran() && !r.failed()), "{:?} -> {:?}", b, r);
                }
            }
        }
    }

    #[test]
    fn ready_implies_every_required_gate_passed_on_the_result(cases in gate_cases()) {
        let g = goal_with(&cases, |i| format!("g{i}"));
        if g.readiness().status == GoalStatus::Ready {
            let result = g.snapshot.goal.verification.as_ref().expect("verified");
            prop_assert!(!result.gates.is_empty());
            prop_assert!(result.gates.iter().filter(|x| x.required).all(|x| x.outcome.passed()));
            for (base, res) in &cases {
                if let Some((true, Outcome::Passed)) = base {
                    prop_assert_eq!(res.map(|r| r.1), Some(Outcome::Passed), "no regression");
                }
            }
        }
    }

    #[test]
    fn readiness_does_not_depend_on_gate_names(cases in gate_cases(), salt in "[a-z]{1,8}") {
        let plain = goal_with(&cases, |i| format!("g{i}"));
        let renamed = goal_with(&cases, |i| format!("{salt}-docs-bench-{i}"));
        prop_assert_eq!(plain.readiness().status, renamed.readiness().status);
        prop_assert_eq!(plain.readiness().reasons.len(), renamed.readiness().reasons.len());
    }
}

#[test]
fn without_an_integration_branch_there_is_no_result() {
    let mut g = Goal::evidenced();
    g.snapshot.goal.integration = None;
    assert_not_ready(&g, &NotReadyReason::NoResult);
}

/// The example of docs/proof.md: a bugfix proven by a base run, an optional gate failing, a high
/// finding a human accepted after the review.
fn documented_example() -> Proof {
    use TestOutcome::{Failed, Passed};
    let mut g = bugfix(vec![tested(
        Outcome::Failed,
        &[("t::old", Passed), ("t::bug", Failed)],
    )]);
    g.verify(vec![
        tested(Outcome::Passed, &[("t::old", Passed), ("t::bug", Passed)]),
        gate("style", false, Outcome::Failed),
    ]);
    g.review(vec![high("unchecked index")]);
    g.apply(EventBody::Accepted {
        summary: "the caller checks the index".into(),
        task: None,
    });
    prove(&g.snapshot, changed())
}

#[test]
fn the_documented_example_is_ready_with_its_gap_and_accepted_finding() {
    let proof = documented_example();
    assert_eq!(proof.status, GoalStatus::Ready, "{:?}", proof.reasons);
    assert_eq!(proof.gaps, ["optional gate style fails on the result"]);
    assert!(proof.findings.iter().all(|f| f.accepted));
    let json = serde_json::to_value(&proof).expect("serialisable");
    assert_eq!(json["oracle"][2]["check"]["check"], "fail_to_pass");
    assert_eq!(json["changed_files"][1]["added"], serde_json::Value::Null);
}

#[test]
fn the_documented_not_ready_example_lists_these_reasons() {
    use TestOutcome::{Failed, Passed};
    let mut g = bugfix(vec![tested(
        Outcome::Failed,
        &[("t::old", Passed), ("t::bug", Failed)],
    )]);
    g.verify(vec![
        tested(Outcome::Failed, &[("t::old", Passed), ("t::bug", Failed)]),
        gate("style", false, Outcome::Failed),
    ]);
    g.review(vec![high("unchecked index")]);
    let proof = prove(&g.snapshot, changed());
    let reasons = serde_json::to_value(&proof.reasons).expect("serialisable");
    let expected = serde_json::json!([
        { "code": "required_gate_failed", "gate": "test", "reason": "exited with code 1" },
        { "code": "regression", "gate": "test" },
        { "code": "oracle_failed", "check": "every required gate passes on the integrated result",
          "detail": "required gate(s) failing: test" },
        { "code": "oracle_failed", "check": "no required gate that passed on the base fails on the result",
          "detail": "regressed: test" },
        { "code": "oracle_failed",
          "check": "at least one test fails on the base tree and passes on the result (run on both)",
          "detail": "no test was shown to fail on the base and pass on the result" },
        { "code": "blocking_finding", "source": "reviewer", "file": "src/a.rs", "line": 7,
          "message": "unchecked index" }
    ]);
    assert_eq!(reasons, expected);
}
