//! Gates as pure data: runner kinds, test counts, per-test results, benchmark metrics, the fail-closed
//! verdict over the raw facts of a run, and the comparison of a base run with a result run (DESIGN §6).
//!
//! Owns every decision about whether a gate run passed. It never runs anything, never reads files or
//! the clock, and never matches gate names or English sentences: decisions are made on exit statuses,
//! parsed counts and structured test ids.

pub mod compare;
pub mod counts;
pub mod identity;
pub mod verdict;

use serde::{Deserialize, Serialize};

pub use compare::{
    Change, Comparison, FailToPass, FailToPassBasis, GateChange, GateObservation, compare, fail_to_pass,
};
pub use counts::{OutputParser, ParsedOutput, parse_output};
pub use identity::{RemovedTest, TestDelta, compare_tests};
pub use verdict::{ExitStatus, FailReason, Outcome, RunFacts, SpawnErrorKind, Verdict, verdict};

/// Which test runner (or kind of check) a gate runs; it decides how output is parsed and what must be
/// found in it for the gate to pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerKind {
    /// `cargo test`: sums every `test result:` line.
    Cargo,
    /// pytest: the final summary line.
    Pytest,
    /// `go test -v`: `--- PASS/FAIL/SKIP` lines and package lines.
    Go,
    /// Jest: the `Tests:` summary line.
    Jest,
    /// Vitest: the `Tests` summary line.
    Vitest,
    /// Node's built-in test runner (`node --test`): the `tests/pass/fail` summary.
    Node,
    /// A benchmark: must print at least one `omk-metric:` line.
    Benchmark,
    /// A documentation build or check: judged by its exit status.
    Docs,
    /// Anything else: judged by its exit status.
    #[default]
    Generic,
}

impl RunnerKind {
    /// Every kind, in documentation order.
    pub const ALL: [RunnerKind; 9] = [
        RunnerKind::Cargo,
        RunnerKind::Pytest,
        RunnerKind::Go,
        RunnerKind::Jest,
        RunnerKind::Vitest,
        RunnerKind::Node,
        RunnerKind::Benchmark,
        RunnerKind::Docs,
        RunnerKind::Generic,
    ];

    /// The spelling used in `gates.toml` and in evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            RunnerKind::Cargo => "cargo",
            RunnerKind::Pytest => "pytest",
            RunnerKind::Go => "go",
            RunnerKind::Jest => "jest",
            RunnerKind::Vitest => "vitest",
            RunnerKind::Node => "node",
            RunnerKind::Benchmark => "benchmark",
            RunnerKind::Docs => "docs",
            RunnerKind::Generic => "generic",
        }
    }

    /// Parse the `gates.toml` spelling.
    pub fn parse(text: &str) -> Option<RunnerKind> {
        RunnerKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// A test runner whose output must show how many tests ran: zero tests, or counts that cannot be
    /// read, fail the gate.
    pub fn requires_counts(self) -> bool {
        matches!(
            self,
            RunnerKind::Cargo
                | RunnerKind::Pytest
                | RunnerKind::Go
                | RunnerKind::Jest
                | RunnerKind::Vitest
                | RunnerKind::Node
        )
    }

    /// A benchmark must report at least one metric.
    pub fn requires_metrics(self) -> bool {
        self == RunnerKind::Benchmark
    }

    /// Guess the runner from a command's words, for gates that do not name one. Only unambiguous
    /// spellings are recognised; everything else is [`RunnerKind::Generic`].
    pub fn infer(words: &[&str]) -> RunnerKind {
        let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_owned();
        let words: Vec<String> = words.iter().map(|w| base(w)).collect();
        let has = |w: &str| words.iter().any(|x| x == w);
        let then = |a: &str, b: &str| {
            let start = words.iter().position(|w| w == a);
            start.is_some_and(|i| words[i + 1..].iter().any(|w| w == b))
        };
        if then("cargo", "test") {
            RunnerKind::Cargo
        } else if has("pytest") || has("py.test") {
            RunnerKind::Pytest
        } else if then("go", "test") {
            RunnerKind::Go
        } else if has("jest") {
            RunnerKind::Jest
        } else if has("vitest") {
            RunnerKind::Vitest
        } else if words.iter().any(|w| w == "node" || w == "nodejs") && has("--test") {
            RunnerKind::Node
        } else {
            RunnerKind::Generic
        }
    }
}

/// Arguments a detected `npm test` passes (after `--`) to the project's test script so its runner
/// names every test: Jest's and Vitest's verbose reporters. Other runners name tests already.
pub fn npm_naming_args(runner: RunnerKind) -> &'static [&'static str] {
    match runner {
        RunnerKind::Jest => &["--", "--verbose"],
        RunnerKind::Vitest => &["--", "--reporter=verbose"],
        _ => &[],
    }
}

/// What git-omk adds to `PYTEST_ADDOPTS` for every pytest gate: `-rA` names every test in the short
/// summary, `-v` names skipped ones too (the summary gives only their location).
pub const PYTEST_NAMING_OPTIONS: &str = "-rA -v";

/// `PYTEST_ADDOPTS` for a pytest gate, given the value the gate's environment would otherwise have:
/// the naming options first, so options of the project's own still win where they conflict.
pub fn pytest_addopts(existing: Option<&str>) -> String {
    match existing.map(str::trim).filter(|v| !v.is_empty()) {
        Some(theirs) => format!("{PYTEST_NAMING_OPTIONS} {theirs}"),
        None => PYTEST_NAMING_OPTIONS.to_owned(),
    }
}

/// How many tests a run executed, as its runner reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCounts {
    /// Tests that passed (pytest's `xpassed` included).
    pub passed: u64,
    /// Tests that failed or errored (cancelled ones included).
    pub failed: u64,
    /// Tests that were not executed: skipped, ignored, todo, expected failures.
    pub skipped: u64,
}

impl TestCounts {
    /// Tests that actually ran (passed or failed).
    pub fn executed(&self) -> u64 {
        self.passed + self.failed
    }

    /// Add another report (several test binaries, several packages).
    pub fn add(&mut self, other: TestCounts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// What happened to one test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    /// It ran and passed (pytest's unexpected pass, `XPASS`, included).
    Passed,
    /// It ran and failed.
    Failed,
    /// It did not run: skipped, ignored (`#[ignore]`), `.skip`, `todo`.
    Skipped,
    /// It ran, failed, and was expected to (pytest's `xfail`): its failure says nothing about the code.
    Xfail,
    /// It could not run: an error in its setup or teardown, or collecting its file failed.
    Error,
}

impl TestOutcome {
    /// The spelling used in evidence and proofs.
    pub fn as_str(self) -> &'static str {
        match self {
            TestOutcome::Passed => "passed",
            TestOutcome::Failed => "failed",
            TestOutcome::Skipped => "skipped",
            TestOutcome::Xfail => "xfail",
            TestOutcome::Error => "error",
        }
    }

    /// The test ran and its outcome judges the code: it passed, failed or errored. A skipped or
    /// expected-to-fail test did not judge anything.
    pub fn ran(self) -> bool {
        matches!(
            self,
            TestOutcome::Passed | TestOutcome::Failed | TestOutcome::Error
        )
    }

    /// It failed or errored.
    pub fn failed(self) -> bool {
        matches!(self, TestOutcome::Failed | TestOutcome::Error)
    }
}

/// One test's result, keyed by the runner's own id (`tests/test_x.py::test_y`,
/// `tests/it.rs::name`, `example.com/pkg/TestX`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TestResult {
    /// The runner's id of the test.
    pub id: String,
    /// What happened.
    pub outcome: TestOutcome,
}

/// A figure a benchmark printed as `omk-metric: <name> <value> [<unit>]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Its name (letters, digits, `._-/`).
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Its unit, when printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runner_spellings_round_trip() {
        for kind in RunnerKind::ALL {
            assert_eq!(RunnerKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(RunnerKind::parse("mocha"), None);
    }

    #[test]
    fn runners_are_inferred_only_from_unambiguous_commands() {
        let cases: [(&str, RunnerKind); 12] = [
            ("cargo test --workspace", RunnerKind::Cargo),
            ("cargo +nightly test", RunnerKind::Cargo),
            ("python3 -m pytest -rA", RunnerKind::Pytest),
            ("/usr/bin/pytest tests", RunnerKind::Pytest),
            ("go test -v ./...", RunnerKind::Go),
            ("npx jest --ci", RunnerKind::Jest),
            ("npx vitest run", RunnerKind::Vitest),
            ("node --test", RunnerKind::Node),
            ("npm test", RunnerKind::Generic),
            ("make test", RunnerKind::Generic),
            ("cargo clippy -- -D warnings", RunnerKind::Generic),
            ("node build.js", RunnerKind::Generic),
        ];
        for (command, expected) in cases {
            let words: Vec<&str> = command.split_whitespace().collect();
            assert_eq!(RunnerKind::infer(&words), expected, "{command}");
        }
    }

    #[test]
    fn pytest_gates_name_their_tests_and_keep_the_project_options() {
        assert_eq!(pytest_addopts(None), "-rA -v");
        assert_eq!(pytest_addopts(Some(" ")), "-rA -v");
        assert_eq!(pytest_addopts(Some("-x --tb=short")), "-rA -v -x --tb=short");
    }

    #[test]
    fn only_test_runners_require_counts() {
        let counted: Vec<RunnerKind> = RunnerKind::ALL
            .into_iter()
            .filter(|k| k.requires_counts())
            .collect();
        assert_eq!(counted.len(), 6);
        assert!(!RunnerKind::Generic.requires_counts());
        assert!(RunnerKind::Benchmark.requires_metrics());
        assert!(!RunnerKind::Docs.requires_metrics());
    }
}
