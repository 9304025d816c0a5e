//! The fail-closed verdict of one gate run (DESIGN §6): one pure function from the raw facts of a run
//! (spawn error, exit status, timeout, parsed counts and metrics, runner kind) to passed / failed /
//! failed_infra with a machine-readable reason.
//!
//! A run passes only when everything that should be true was observed; anything missing or unknown is
//! a failure. Must not look at gate names or output text: parsing happens before, in `counts`.

use serde::{Deserialize, Serialize};

use super::{RunnerKind, TestCounts};

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal(i32),
}

/// Why a gate's command could not be started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpawnErrorKind {
    /// The program does not exist (ENOENT).
    NotFound,
    /// The program exists but may not be executed (EACCES).
    PermissionDenied,
    /// Anything else (the work directory is missing, out of resources…).
    Other,
}

/// The raw facts of one run, as observed by the runner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFacts {
    /// The gate's runner kind.
    pub runner: RunnerKind,
    /// Set when the command could not be started at all.
    pub spawn_error: Option<SpawnErrorKind>,
    /// How the process ended (`None` when it never started or its status was lost).
    pub exit: Option<ExitStatus>,
    /// The gate's timeout expired and its process group was killed.
    pub timed_out: bool,
    /// Test counts parsed from the output, when the runner printed them.
    pub counts: Option<TestCounts>,
    /// How many benchmark metrics the output carried.
    pub metrics: usize,
}

/// The verdict class. Both failure classes are failures; `failed_infra` says the run could not judge
/// the code (it did not run properly), `failed` says the code was judged and found wanting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every required fact was observed and all were good.
    Passed,
    /// The code was judged and failed.
    Failed,
    /// The run itself failed (timeout, missing command, unreadable output…). Also a failure.
    FailedInfra,
}

impl Outcome {
    /// Only `passed` passes.
    pub fn passed(self) -> bool {
        self == Outcome::Passed
    }

    /// The spelling used in evidence and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::FailedInfra => "failed_infra",
        }
    }
}

/// Why a run did not pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FailReason {
    /// The command could not be found (spawn ENOENT, or a shell's exit code 127).
    CommandNotFound,
    /// The command was found but is not executable (spawn EACCES, or a shell's exit code 126).
    NotExecutable,
    /// The command could not be started for another reason.
    SpawnFailed,
    /// The timeout expired; the whole process group was killed.
    TimedOut,
    /// The process was killed by a signal it did not ask for.
    KilledBySignal {
        /// The signal number.
        signal: i32,
    },
    /// No exit status was observed.
    NoExitStatus,
    /// A known test runner executed zero tests.
    NoTests,
    /// The command exited with a non-zero code.
    ExitCode {
        /// The code.
        code: i32,
    },
    /// A known test runner's output carried no readable counts.
    CountsUnparseable,
    /// The runner reported failed tests although it exited with 0.
    TestsFailed {
        /// How many failed.
        failed: u64,
    },
    /// A benchmark printed no metric.
    MetricsMissing,
}

impl FailReason {
    /// Whether this reason means the run could not judge the code.
    pub fn is_infra(self) -> bool {
        !matches!(
            self,
            FailReason::NoTests | FailReason::ExitCode { .. } | FailReason::TestsFailed { .. }
        )
    }

    /// One line for people.
    pub fn describe(self) -> String {
        match self {
            FailReason::CommandNotFound => "command not found".to_owned(),
            FailReason::NotExecutable => "command is not executable".to_owned(),
            FailReason::SpawnFailed => "the command could not be started".to_owned(),
            FailReason::TimedOut => "timed out: the gate's process group was killed".to_owned(),
            FailReason::KilledBySignal { signal } => format!("killed by signal {signal}"),
            FailReason::NoExitStatus => "no exit status was observed".to_owned(),
            FailReason::NoTests => "the test runner executed zero tests".to_owned(),
            FailReason::ExitCode { code } => format!("exited with code {code}"),
            FailReason::CountsUnparseable => {
                "the test runner's output has no readable test counts".to_owned()
            }
            FailReason::TestsFailed { failed } => format!("{failed} test(s) failed"),
            FailReason::MetricsMissing => "the benchmark printed no omk-metric line".to_owned(),
        }
    }
}

/// A verdict: the outcome and, unless passed, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Passed, failed or failed_infra.
    pub outcome: Outcome,
    /// Set unless passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailReason>,
}

impl Verdict {
    fn pass() -> Verdict {
        Verdict {
            outcome: Outcome::Passed,
            reason: None,
        }
    }

    fn fail(reason: FailReason) -> Verdict {
        let outcome = if reason.is_infra() {
            Outcome::FailedInfra
        } else {
            Outcome::Failed
        };
        Verdict {
            outcome,
            reason: Some(reason),
        }
    }
}

/// Shell convention: the command was not found.
const EXIT_NOT_FOUND: i32 = 127;
/// Shell convention: the command was found but could not be executed.
const EXIT_NOT_EXECUTABLE: i32 = 126;

/// Judge one run. Fail closed: a run passes only when it started, ended by itself with code 0, and —
/// for a known test runner — reported at least one executed test and no failed one (for a benchmark:
/// at least one metric).
pub fn verdict(facts: &RunFacts) -> Verdict {
    if let Some(kind) = facts.spawn_error {
        return Verdict::fail(match kind {
            SpawnErrorKind::NotFound => FailReason::CommandNotFound,
            SpawnErrorKind::PermissionDenied => FailReason::NotExecutable,
            SpawnErrorKind::Other => FailReason::SpawnFailed,
        });
    }
    if facts.timed_out {
        return Verdict::fail(FailReason::TimedOut);
    }
    let code = match facts.exit {
        None => return Verdict::fail(FailReason::NoExitStatus),
        Some(ExitStatus::Signal(signal)) => return Verdict::fail(FailReason::KilledBySignal { signal }),
        Some(ExitStatus::Code(code)) => code,
    };
    match code {
        EXIT_NOT_FOUND => return Verdict::fail(FailReason::CommandNotFound),
        EXIT_NOT_EXECUTABLE => return Verdict::fail(FailReason::NotExecutable),
        _ => {}
    }
    let counted = facts.runner.requires_counts();
    if counted && facts.counts.is_some_and(|c| c.executed() == 0) {
        return Verdict::fail(FailReason::NoTests);
    }
    if code != 0 {
        return Verdict::fail(FailReason::ExitCode { code });
    }
    judge_output(facts)
}

/// The checks on a run that exited with 0.
fn judge_output(facts: &RunFacts) -> Verdict {
    if facts.runner.requires_counts() {
        match facts.counts {
            None => return Verdict::fail(FailReason::CountsUnparseable),
            Some(c) if c.failed > 0 => return Verdict::fail(FailReason::TestsFailed { failed: c.failed }),
            Some(_) => {}
        }
    }
    if facts.runner.requires_metrics() && facts.metrics == 0 {
        return Verdict::fail(FailReason::MetricsMissing);
    }
    Verdict::pass()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(runner: RunnerKind) -> RunFacts {
        RunFacts {
            runner,
            spawn_error: None,
            exit: Some(ExitStatus::Code(0)),
            timed_out: false,
            counts: Some(TestCounts {
                passed: 3,
                failed: 0,
                skipped: 0,
            }),
            metrics: 0,
        }
    }

    fn counts(passed: u64, failed: u64, skipped: u64) -> Option<TestCounts> {
        Some(TestCounts {
            passed,
            failed,
            skipped,
        })
    }

    #[test]
    fn fail_closed_table() {
        use FailReason::*;
        use RunnerKind::*;
        type Case = (&'static str, RunFacts, Option<FailReason>);
        let with = |runner, f: &dyn Fn(&mut RunFacts)| {
            let mut x = facts(runner);
            f(&mut x);
            x
        };
        let cases: Vec<Case> = vec![
            ("green cargo run", facts(Cargo), None),
            (
                "generic exit 0 without counts",
                with(Generic, &|f| f.counts = None),
                None,
            ),
            (
                "non-zero exit",
                with(Cargo, &|f| f.exit = Some(ExitStatus::Code(101))),
                Some(ExitCode { code: 101 }),
            ),
            (
                "generic non-zero exit",
                with(Generic, &|f| f.exit = Some(ExitStatus::Code(2))),
                Some(ExitCode { code: 2 }),
            ),
            ("timeout", with(Pytest, &|f| f.timed_out = true), Some(TimedOut)),
            (
                "timeout beats exit 0",
                with(Generic, &|f| f.timed_out = true),
                Some(TimedOut),
            ),
            (
                "spawn ENOENT",
                with(Generic, &|f| f.spawn_error = Some(SpawnErrorKind::NotFound)),
                Some(CommandNotFound),
            ),
            (
                "spawn EACCES",
                with(Generic, &|f| {
                    f.spawn_error = Some(SpawnErrorKind::PermissionDenied)
                }),
                Some(NotExecutable),
            ),
            (
                "spawn other",
                with(Generic, &|f| f.spawn_error = Some(SpawnErrorKind::Other)),
                Some(SpawnFailed),
            ),
            (
                "shell 127",
                with(Generic, &|f| f.exit = Some(ExitStatus::Code(127))),
                Some(CommandNotFound),
            ),
            (
                "shell 126",
                with(Generic, &|f| f.exit = Some(ExitStatus::Code(126))),
                Some(NotExecutable),
            ),
            (
                "signal",
                with(Generic, &|f| f.exit = Some(ExitStatus::Signal(9))),
                Some(KilledBySignal { signal: 9 }),
            ),
            ("no status", with(Generic, &|f| f.exit = None), Some(NoExitStatus)),
            (
                "zero tests cargo",
                with(Cargo, &|f| f.counts = counts(0, 0, 0)),
                Some(NoTests),
            ),
            (
                "only skipped tests",
                with(Jest, &|f| f.counts = counts(0, 0, 4)),
                Some(NoTests),
            ),
            (
                "pytest exit 5 no tests",
                with(Pytest, &|f| {
                    f.exit = Some(ExitStatus::Code(5));
                    f.counts = counts(0, 0, 0);
                }),
                Some(NoTests),
            ),
            (
                "zero tests generic is fine",
                with(Generic, &|f| f.counts = counts(0, 0, 0)),
                None,
            ),
            (
                "counts unparseable",
                with(Go, &|f| f.counts = None),
                Some(CountsUnparseable),
            ),
            (
                "failed tests with exit 0",
                with(Vitest, &|f| f.counts = counts(2, 1, 0)),
                Some(TestsFailed { failed: 1 }),
            ),
            (
                "benchmark without metrics",
                with(Benchmark, &|f| f.counts = None),
                Some(MetricsMissing),
            ),
            (
                "benchmark with metrics",
                with(Benchmark, &|f| {
                    f.counts = None;
                    f.metrics = 2;
                }),
                None,
            ),
            ("docs exit 0", with(Docs, &|f| f.counts = None), None),
        ];
        for (name, facts, expected) in cases {
            let v = verdict(&facts);
            assert_eq!(v.reason, expected, "{name}");
            assert_eq!(v.outcome.passed(), expected.is_none(), "{name}");
        }
    }

    #[test]
    fn infra_failures_are_failures_too() {
        let v = verdict(&RunFacts {
            timed_out: true,
            ..facts(RunnerKind::Cargo)
        });
        assert_eq!(v.outcome, Outcome::FailedInfra);
        assert!(!v.outcome.passed());
        let v = verdict(&RunFacts {
            exit: Some(ExitStatus::Code(1)),
            ..facts(RunnerKind::Cargo)
        });
        assert_eq!(v.outcome, Outcome::Failed);
    }

    #[test]
    fn verdicts_serialize_with_codes() {
        let v = verdict(&RunFacts {
            exit: Some(ExitStatus::Code(3)),
            ..facts(RunnerKind::Generic)
        });
        let json = serde_json::to_value(v).unwrap();
        assert_eq!(json["outcome"], "failed");
        assert_eq!(json["reason"]["kind"], "exit_code");
        assert_eq!(json["reason"]["code"], 3);
    }
}
