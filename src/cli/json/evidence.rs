//! The evidence parts of the JSON output: gate runs (the goal's `baseline` and `verification`, the fresh
//! run of `goal verify --json`), the result's tests run on the base code (`base_run`), the test harness
//! check (`harness`) and the review (`review`).
//!
//! Each is its own view, built field by field from the model's evidence, every enum variant mapped by
//! name (no wildcard). Must not serialise a model type.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::gate::compare::ObservedMetric;
use crate::model::gate::{FailReason, GateObservation, Outcome, RunnerKind, TestOutcome, TestResult};
use crate::model::goal::GateRun;
use crate::model::harness::{FileChange, HarnessChange, HarnessCheck, HarnessRule};
use crate::model::ids::{CommitId, TreeId};
use crate::model::oracle::BaseRun;
use crate::model::review::{Finding, Review, Severity};

/// The gates run on one tree.
#[derive(Serialize)]
pub struct GateRunView<'a> {
    /// The commit tested.
    pub commit: &'a CommitId,
    /// Its tree.
    pub tree: &'a TreeId,
    /// Hash of the effective gate configuration.
    pub config_hash: &'a str,
    /// One observation per gate.
    pub gates: Vec<GateView<'a>>,
    /// Paths of the evidence files in the goal tree.
    pub evidence: &'a [String],
}

impl<'a> GateRunView<'a> {
    /// Of the model's gate run.
    pub fn of(r: &'a GateRun) -> GateRunView<'a> {
        GateRunView {
            commit: &r.commit,
            tree: &r.tree,
            config_hash: &r.config_hash,
            gates: r.gates.iter().map(GateView::of).collect(),
            evidence: &r.evidence,
        }
    }
}

/// What one gate showed.
#[derive(Serialize)]
pub struct GateView<'a> {
    /// The gate's name.
    pub name: &'a str,
    /// Whether it is required on this tree.
    pub required: bool,
    /// The verdict.
    pub outcome: OutcomeView,
    /// Why it did not pass; absent when it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailReasonView>,
    /// Per-test results; absent when the runner names none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestResultView<'a>>,
    /// How the output was read.
    pub runner: RunnerKindView,
    /// Figures a benchmark printed; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricView<'a>>,
}

impl<'a> GateView<'a> {
    /// Of the model's observation.
    pub fn of(g: &'a GateObservation) -> GateView<'a> {
        GateView {
            name: &g.name,
            required: g.required,
            outcome: OutcomeView::of(g.outcome),
            reason: g.reason.map(FailReasonView::of),
            tests: g.tests.iter().map(TestResultView::of).collect(),
            runner: RunnerKindView::of(g.runner),
            metrics: g.metrics.iter().map(MetricView::of).collect(),
        }
    }
}

/// A gate's verdict.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeView {
    /// Passed.
    Passed,
    /// The code was judged and failed.
    Failed,
    /// The run itself failed.
    FailedInfra,
}

impl OutcomeView {
    /// Of the model's outcome (every variant by name, no wildcard).
    pub fn of(o: Outcome) -> OutcomeView {
        match o {
            Outcome::Passed => OutcomeView::Passed,
            Outcome::Failed => OutcomeView::Failed,
            Outcome::FailedInfra => OutcomeView::FailedInfra,
        }
    }
}

/// Why a gate did not pass, tagged by `kind`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FailReasonView {
    /// The command could not be found.
    CommandNotFound,
    /// The command is not executable.
    NotExecutable,
    /// The command could not be started.
    SpawnFailed,
    /// The timeout expired.
    TimedOut,
    /// Killed by a signal.
    KilledBySignal {
        /// The signal number.
        signal: i32,
    },
    /// No exit status was observed.
    NoExitStatus,
    /// A known test runner executed zero tests.
    NoTests,
    /// A non-zero exit code.
    ExitCode {
        /// The code.
        code: i32,
    },
    /// No readable test counts.
    CountsUnparseable,
    /// Failed tests although the exit code was 0.
    TestsFailed {
        /// How many failed.
        failed: u64,
    },
    /// A benchmark printed no metric.
    MetricsMissing,
}

impl FailReasonView {
    /// Of the model's reason (every variant by name, no wildcard).
    pub fn of(r: FailReason) -> FailReasonView {
        match r {
            FailReason::CommandNotFound => FailReasonView::CommandNotFound,
            FailReason::NotExecutable => FailReasonView::NotExecutable,
            FailReason::SpawnFailed => FailReasonView::SpawnFailed,
            FailReason::TimedOut => FailReasonView::TimedOut,
            FailReason::KilledBySignal { signal } => FailReasonView::KilledBySignal { signal },
            FailReason::NoExitStatus => FailReasonView::NoExitStatus,
            FailReason::NoTests => FailReasonView::NoTests,
            FailReason::ExitCode { code } => FailReasonView::ExitCode { code },
            FailReason::CountsUnparseable => FailReasonView::CountsUnparseable,
            FailReason::TestsFailed { failed } => FailReasonView::TestsFailed { failed },
            FailReason::MetricsMissing => FailReasonView::MetricsMissing,
        }
    }
}

/// One test's result: `{id, outcome}`.
#[derive(Serialize)]
pub struct TestResultView<'a> {
    /// The runner's id of the test.
    pub id: &'a str,
    /// What happened.
    pub outcome: TestOutcomeView,
}

impl<'a> TestResultView<'a> {
    /// Of the model's result.
    pub fn of(t: &'a TestResult) -> TestResultView<'a> {
        TestResultView {
            id: &t.id,
            outcome: TestOutcomeView::of(t.outcome),
        }
    }
}

/// What happened to one test.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcomeView {
    /// It passed.
    Passed,
    /// It failed.
    Failed,
    /// It did not run.
    Skipped,
    /// It failed as expected.
    Xfail,
    /// It could not run.
    Error,
}

impl TestOutcomeView {
    /// Of the model's outcome (every variant by name, no wildcard).
    pub fn of(o: TestOutcome) -> TestOutcomeView {
        match o {
            TestOutcome::Passed => TestOutcomeView::Passed,
            TestOutcome::Failed => TestOutcomeView::Failed,
            TestOutcome::Skipped => TestOutcomeView::Skipped,
            TestOutcome::Xfail => TestOutcomeView::Xfail,
            TestOutcome::Error => TestOutcomeView::Error,
        }
    }
}

/// Which runner's output a gate's was read as.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerKindView {
    /// `cargo test`.
    Cargo,
    /// pytest.
    Pytest,
    /// `go test`.
    Go,
    /// Jest.
    Jest,
    /// Vitest.
    Vitest,
    /// `node --test`.
    Node,
    /// A benchmark.
    Benchmark,
    /// A documentation build.
    Docs,
    /// Anything else.
    Generic,
}

impl RunnerKindView {
    /// Of the model's runner kind (every variant by name, no wildcard).
    pub fn of(k: RunnerKind) -> RunnerKindView {
        match k {
            RunnerKind::Cargo => RunnerKindView::Cargo,
            RunnerKind::Pytest => RunnerKindView::Pytest,
            RunnerKind::Go => RunnerKindView::Go,
            RunnerKind::Jest => RunnerKindView::Jest,
            RunnerKind::Vitest => RunnerKindView::Vitest,
            RunnerKind::Node => RunnerKindView::Node,
            RunnerKind::Benchmark => RunnerKindView::Benchmark,
            RunnerKind::Docs => RunnerKindView::Docs,
            RunnerKind::Generic => RunnerKindView::Generic,
        }
    }
}

/// A benchmark figure in thousandths: `{name, milli, unit?}`.
#[derive(Serialize)]
pub struct MetricView<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its value × 1000, rounded.
    pub milli: i64,
    /// Its unit; absent when none was printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<&'a str>,
}

impl<'a> MetricView<'a> {
    /// Of the model's metric.
    pub fn of(m: &'a ObservedMetric) -> MetricView<'a> {
        MetricView {
            name: &m.name,
            milli: m.milli,
            unit: m.unit.as_deref(),
        }
    }
}

/// The result's test files run against the base code.
#[derive(Serialize)]
pub struct BaseRunView<'a> {
    /// The commit run.
    pub commit: &'a CommitId,
    /// The result commit the tests came from.
    pub result: &'a CommitId,
    /// The test files laid over the base.
    pub overlaid: &'a [String],
    /// What the gates saw.
    pub gates: Vec<GateView<'a>>,
}

impl<'a> BaseRunView<'a> {
    /// Of the model's base run.
    pub fn of(b: &'a BaseRun) -> BaseRunView<'a> {
        BaseRunView {
            commit: &b.commit,
            result: &b.result,
            overlaid: &b.overlaid,
            gates: b.gates.iter().map(GateView::of).collect(),
        }
    }
}

/// The result tested again with the base's test harness files restored.
#[derive(Serialize)]
pub struct HarnessCheckView<'a> {
    /// The result commit.
    pub result: &'a CommitId,
    /// The harness files the result changed.
    pub changes: Vec<HarnessChangeView<'a>>,
    /// The restored run; absent when none was needed or it could not be made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored: Option<GateRunView<'a>>,
    /// Why the restored run could not be made; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

impl<'a> HarnessCheckView<'a> {
    /// Of the model's check.
    pub fn of(h: &'a HarnessCheck) -> HarnessCheckView<'a> {
        HarnessCheckView {
            result: &h.result,
            changes: h.changes.iter().map(HarnessChangeView::of).collect(),
            restored: h.restored.as_ref().map(GateRunView::of),
            error: h.error.as_deref(),
        }
    }
}

/// A change to a harness file.
#[derive(Serialize)]
pub struct HarnessChangeView<'a> {
    /// Repository-relative path.
    pub path: &'a str,
    /// How it changed.
    pub change: FileChangeView,
    /// Why it is part of the harness.
    pub rule: HarnessRuleView,
    /// The changed lines that matter, bounded.
    pub diff: &'a str,
}

impl<'a> HarnessChangeView<'a> {
    /// Of the model's change.
    pub fn of(c: &'a HarnessChange) -> HarnessChangeView<'a> {
        HarnessChangeView {
            path: &c.path,
            change: FileChangeView::of(c.change),
            rule: HarnessRuleView::of(c.rule),
            diff: &c.diff,
        }
    }
}

/// How a file changed between base and result.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChangeView {
    /// New in the result.
    Added,
    /// In both, different.
    Modified,
    /// Gone from the result.
    Deleted,
}

impl FileChangeView {
    /// Of the model's change (every variant by name, no wildcard).
    pub fn of(c: FileChange) -> FileChangeView {
        match c {
            FileChange::Added => FileChangeView::Added,
            FileChange::Modified => FileChangeView::Modified,
            FileChange::Deleted => FileChangeView::Deleted,
        }
    }
}

/// Why a file belongs to the test harness.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HarnessRuleView {
    /// `conftest.py`.
    Conftest,
    /// pytest's own configuration files.
    PytestConfig,
    /// The pytest tables of `pyproject.toml`.
    PyprojectPytest,
    /// The pytest section of `setup.cfg`.
    SetupCfgPytest,
    /// The pytest and test environment sections of `tox.ini`.
    ToxSections,
    /// A JavaScript test runner's configuration.
    JsRunnerConfig,
    /// The test scripts or jest settings of `package.json`.
    PackageJsonTest,
    /// `.cargo/config.toml`.
    CargoConfig,
    /// `build.rs`.
    BuildScript,
    /// A file a gate's command runs.
    GateFile,
    /// Anything under `.omk/`.
    OmkConfig,
}

impl HarnessRuleView {
    /// Of the model's rule (every variant by name, no wildcard).
    pub fn of(r: HarnessRule) -> HarnessRuleView {
        match r {
            HarnessRule::Conftest => HarnessRuleView::Conftest,
            HarnessRule::PytestConfig => HarnessRuleView::PytestConfig,
            HarnessRule::PyprojectPytest => HarnessRuleView::PyprojectPytest,
            HarnessRule::SetupCfgPytest => HarnessRuleView::SetupCfgPytest,
            HarnessRule::ToxSections => HarnessRuleView::ToxSections,
            HarnessRule::JsRunnerConfig => HarnessRuleView::JsRunnerConfig,
            HarnessRule::PackageJsonTest => HarnessRuleView::PackageJsonTest,
            HarnessRule::CargoConfig => HarnessRuleView::CargoConfig,
            HarnessRule::BuildScript => HarnessRuleView::BuildScript,
            HarnessRule::GateFile => HarnessRuleView::GateFile,
            HarnessRule::OmkConfig => HarnessRuleView::OmkConfig,
        }
    }
}

/// The review of one result.
#[derive(Serialize)]
pub struct ReviewRecordView<'a> {
    /// The commit reviewed.
    pub commit: &'a CommitId,
    /// Everything found.
    pub findings: Vec<FindingView<'a>>,
    /// Reviewer sessions that gave no usable answer.
    pub gaps: &'a [String],
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

impl<'a> ReviewRecordView<'a> {
    /// Of the model's review.
    pub fn of(r: &'a Review) -> ReviewRecordView<'a> {
        ReviewRecordView {
            commit: &r.commit,
            findings: r.findings.iter().map(FindingView::of).collect(),
            gaps: &r.gaps,
            at: r.at,
        }
    }
}

/// One finding about the result.
#[derive(Serialize)]
pub struct FindingView<'a> {
    /// Who found it.
    pub source: &'a str,
    /// How serious.
    pub severity: SeverityView,
    /// The path.
    pub file: &'a str,
    /// 1-based line; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// What it is.
    pub message: &'a str,
}

impl<'a> FindingView<'a> {
    /// Of the model's finding.
    pub fn of(f: &'a Finding) -> FindingView<'a> {
        FindingView {
            source: &f.source,
            severity: SeverityView::of(f.severity),
            file: &f.file,
            line: f.line,
            message: &f.message,
        }
    }
}

/// How serious a finding is.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeverityView {
    /// For the record.
    Info,
    /// Worth a glance.
    Low,
    /// Needs a look.
    Medium,
    /// Blocks `ready`.
    High,
}

impl SeverityView {
    /// Of the model's severity (every variant by name, no wildcard).
    pub fn of(s: Severity) -> SeverityView {
        match s {
            Severity::Info => SeverityView::Info,
            Severity::Low => SeverityView::Low,
            Severity::Medium => SeverityView::Medium,
            Severity::High => SeverityView::High,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::fake;

    /// Each model value and its view serialise to the same JSON.
    macro_rules! same {
        ($models:expr, $view:expr) => {
            for m in $models.iter() {
                let expected = serde_json::to_string(m).unwrap();
                assert_eq!(serde_json::to_string(&$view(m)).unwrap(), expected);
            }
        };
    }

    fn reasons() -> [FailReason; 11] {
        [
            FailReason::CommandNotFound,
            FailReason::NotExecutable,
            FailReason::SpawnFailed,
            FailReason::TimedOut,
            FailReason::KilledBySignal { signal: 9 },
            FailReason::NoExitStatus,
            FailReason::NoTests,
            FailReason::ExitCode { code: 2 },
            FailReason::CountsUnparseable,
            FailReason::TestsFailed { failed: 3 },
            FailReason::MetricsMissing,
        ]
    }

    /// Gates with every outcome, reason, test outcome and runner, bare and with tests and metrics.
    fn gates() -> Vec<GateObservation> {
        let outcomes = [Outcome::Passed, Outcome::Failed, Outcome::FailedInfra];
        let tests: Vec<TestResult> = [
            TestOutcome::Passed,
            TestOutcome::Failed,
            TestOutcome::Skipped,
            TestOutcome::Xfail,
            TestOutcome::Error,
        ]
        .into_iter()
        .map(|outcome| TestResult {
            id: "tests/a.py::t".into(),
            outcome,
        })
        .collect();
        let metrics = vec![
            ObservedMetric {
                name: "ms".into(),
                milli: 1500,
                unit: Some("ms".into()),
            },
            ObservedMetric {
                name: "n".into(),
                milli: -1,
                unit: None,
            },
        ];
        let reasons = reasons().map(Some);
        let mut all = Vec::new();
        for (i, runner) in RunnerKind::ALL.into_iter().enumerate() {
            let rich = i % 2 == 0;
            all.push(GateObservation {
                name: format!("gate{i}"),
                required: rich,
                outcome: outcomes[i % outcomes.len()],
                reason: reasons[i % reasons.len()],
                tests: if rich { tests.clone() } else { Vec::new() },
                runner,
                metrics: if rich { metrics.clone() } else { Vec::new() },
            });
        }
        for reason in reasons.into_iter().chain([None]) {
            all.push(GateObservation {
                name: "r".into(),
                required: true,
                outcome: Outcome::Failed,
                reason,
                tests: Vec::new(),
                runner: RunnerKind::Generic,
                metrics: Vec::new(),
            });
        }
        all
    }

    fn run(evidence: Vec<String>) -> GateRun {
        GateRun {
            commit: fake::commit("result"),
            tree: fake::tree("tree"),
            config_hash: "h".into(),
            gates: gates(),
            evidence,
        }
    }

    /// Gate runs, base runs, harness checks and reviews print as the model printed them: every variant
    /// of every enum in them, every optional key set and unset.
    #[test]
    fn the_evidence_views_print_as_the_model_did() {
        same!(
            &[run(Vec::new()), run(vec!["gates/result/test.log".into()])],
            GateRunView::of
        );
        let base_run = BaseRun {
            commit: fake::commit("over"),
            result: fake::commit("result"),
            overlaid: vec!["tests/a.py".into()],
            gates: gates(),
        };
        same!(&[base_run], BaseRunView::of);
        let rules = [
            HarnessRule::Conftest,
            HarnessRule::PytestConfig,
            HarnessRule::PyprojectPytest,
            HarnessRule::SetupCfgPytest,
            HarnessRule::ToxSections,
            HarnessRule::JsRunnerConfig,
            HarnessRule::PackageJsonTest,
            HarnessRule::CargoConfig,
            HarnessRule::BuildScript,
            HarnessRule::GateFile,
            HarnessRule::OmkConfig,
        ];
        let changes = [FileChange::Added, FileChange::Modified, FileChange::Deleted];
        let harness_changes: Vec<HarnessChange> = rules
            .into_iter()
            .zip(changes.into_iter().cycle())
            .map(|(rule, change)| HarnessChange {
                path: "conftest.py".into(),
                change,
                rule,
                diff: "+x\n-y".into(),
            })
            .collect();
        let checks = [
            HarnessCheck {
                result: fake::commit("result"),
                changes: Vec::new(),
                restored: None,
                error: None,
            },
            HarnessCheck {
                result: fake::commit("result"),
                changes: harness_changes.clone(),
                restored: Some(run(Vec::new())),
                error: None,
            },
            HarnessCheck {
                result: fake::commit("result"),
                changes: harness_changes,
                restored: None,
                error: Some("no sandbox".into()),
            },
        ];
        same!(&checks, HarnessCheckView::of);
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let findings = [Severity::Info, Severity::Low, Severity::Medium, Severity::High]
            .into_iter()
            .enumerate()
            .map(|(i, severity)| Finding {
                source: "reviewer".into(),
                severity,
                file: "src/a.rs".into(),
                line: (i % 2 == 0).then_some(7),
                message: "m".into(),
            })
            .collect();
        let reviews = [
            Review {
                commit: fake::commit("result"),
                findings: Vec::new(),
                gaps: Vec::new(),
                at,
            },
            Review {
                commit: fake::commit("result"),
                findings,
                gaps: vec!["security-reviewer: no answer".into()],
                at,
            },
        ];
        same!(&reviews, ReviewRecordView::of);
    }
}
