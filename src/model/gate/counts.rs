//! Reading test runners' output: test counts, per-test results and benchmark metrics (DESIGN §6).
//!
//! Owns one line-by-line parser per runner kind (cargo test, pytest, go test, Jest, Vitest, Node's test
//! runner) so a gate's output can be parsed while it streams, without ever holding the whole log. Only
//! a runner's structural lines are read (`test result:`, pytest's final summary, `--- PASS:`…); when
//! they are absent the counts are `None` and the verdict fails closed. Pure: lines in, values out.

use std::collections::HashMap;

use super::{Metric, RunnerKind, TestCounts, TestOutcome, TestResult};

/// At most this many per-test results are kept; the rest are dropped (`tests_truncated`).
pub const MAX_TESTS: usize = 20_000;
/// At most this many metrics are kept.
pub const MAX_METRICS: usize = 1_000;
/// The prefix of a benchmark metric line: `omk-metric: <name> <value> [<unit>]`.
pub const METRIC_PREFIX: &str = "omk-metric:";

/// What a run's output said.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedOutput {
    /// Test counts, when the runner printed readable ones.
    pub counts: Option<TestCounts>,
    /// Per-test results, when the runner names its tests (cargo test, pytest `-rA`/`-v`, `go test -v`,
    /// Node's TAP or spec output), in first-seen order, one per id (the last report wins).
    pub tests: Vec<TestResult>,
    /// More than [`MAX_TESTS`] tests were reported.
    pub tests_truncated: bool,
    /// Benchmark metrics (`omk-metric:` lines), any runner.
    pub metrics: Vec<Metric>,
}

/// Parse a whole output at once.
pub fn parse_output(runner: RunnerKind, text: &str) -> ParsedOutput {
    let mut parser = OutputParser::new(runner);
    for line in text.lines() {
        parser.line(line);
    }
    parser.finish()
}

/// A streaming parser: feed it lines (of stdout and stderr, in arrival order), then `finish`.
#[derive(Debug)]
pub struct OutputParser {
    state: State,
    tests: Vec<TestResult>,
    index: HashMap<String, usize>,
    tests_truncated: bool,
    metrics: Vec<Metric>,
}

#[derive(Debug)]
enum State {
    Cargo {
        sum: Option<TestCounts>,
        target: String,
    },
    Pytest {
        summary: Option<TestCounts>,
        in_short_summary: bool,
    },
    Go(GoState),
    Jest(Option<TestCounts>),
    Vitest(Option<TestCounts>),
    Node {
        current: NodeSummary,
        last: Option<TestCounts>,
    },
    Uncounted,
}

#[derive(Debug, Default)]
struct GoState {
    verbose: Option<TestCounts>,
    saw_run: bool,
    tested_package: bool,
    untested_package: bool,
    pending: Vec<(String, TestOutcome)>,
}

#[derive(Debug, Default)]
struct NodeSummary {
    pass: Option<u64>,
    fail: Option<u64>,
    cancelled: u64,
    skipped: u64,
}

impl OutputParser {
    /// A parser for `runner`'s output.
    pub fn new(runner: RunnerKind) -> OutputParser {
        let state = match runner {
            RunnerKind::Cargo => State::Cargo {
                sum: None,
                target: String::new(),
            },
            RunnerKind::Pytest => State::Pytest {
                summary: None,
                in_short_summary: false,
            },
            RunnerKind::Go => State::Go(GoState::default()),
            RunnerKind::Jest => State::Jest(None),
            RunnerKind::Vitest => State::Vitest(None),
            RunnerKind::Node => State::Node {
                current: NodeSummary::default(),
                last: None,
            },
            RunnerKind::Benchmark | RunnerKind::Docs | RunnerKind::Generic => State::Uncounted,
        };
        OutputParser {
            state,
            tests: Vec::new(),
            index: HashMap::new(),
            tests_truncated: false,
            metrics: Vec::new(),
        }
    }

    /// Feed one line (without its line break; ANSI colours and carriage-return redraws are handled).
    pub fn line(&mut self, raw: &str) {
        let cleaned = clean_line(raw);
        let line = cleaned.as_str();
        if let Some(metric) = metric_line(line) {
            if self.metrics.len() < MAX_METRICS {
                self.metrics.push(metric);
            }
            return;
        }
        let mut found: Vec<(String, TestOutcome)> = Vec::new();
        match &mut self.state {
            State::Cargo { sum, target } => cargo_line(line, sum, target, &mut found),
            State::Pytest {
                summary,
                in_short_summary,
            } => pytest_line(line, summary, in_short_summary, &mut found),
            State::Go(go) => go_line(line, go, &mut found),
            State::Jest(counts) => jest_line(line, counts),
            State::Vitest(counts) => vitest_line(line, counts),
            State::Node { current, last } => node_line(line, current, last, &mut found),
            State::Uncounted => {}
        }
        for (id, outcome) in found {
            self.record(id, outcome);
        }
    }

    /// The counts, tests and metrics seen.
    pub fn finish(mut self) -> ParsedOutput {
        let counts = match &mut self.state {
            State::Cargo { sum, .. } => *sum,
            State::Pytest { summary, .. } => *summary,
            State::Go(go) => {
                let pending = std::mem::take(&mut go.pending);
                let counts = go_counts(go);
                for (id, outcome) in pending {
                    self.record(id, outcome);
                }
                counts
            }
            State::Jest(counts) | State::Vitest(counts) => *counts,
            State::Node { last, .. } => *last,
            State::Uncounted => None,
        };
        ParsedOutput {
            counts,
            tests: self.tests,
            tests_truncated: self.tests_truncated,
            metrics: self.metrics,
        }
    }

    fn record(&mut self, id: String, outcome: TestOutcome) {
        if let Some(&i) = self.index.get(&id) {
            self.tests[i].outcome = outcome;
        } else if self.tests.len() < MAX_TESTS {
            self.index.insert(id.clone(), self.tests.len());
            self.tests.push(TestResult { id, outcome });
        } else {
            self.tests_truncated = true;
        }
    }
}

/// Drop ANSI escape sequences, keep what a terminal would show after the last carriage return, and
/// trim trailing whitespace.
fn clean_line(raw: &str) -> String {
    let visible = raw.trim_end_matches(['\r', '\n']);
    let visible = visible.rsplit('\r').next().unwrap_or(visible);
    let mut out = String::with_capacity(visible.len());
    let mut chars = visible.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) {
                    break;
                }
            }
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// `omk-metric: <name> <value> [<unit>]`.
fn metric_line(line: &str) -> Option<Metric> {
    let rest = line.trim_start().strip_prefix(METRIC_PREFIX)?;
    let mut words = rest.split_whitespace();
    let name = words.next()?;
    let value: f64 = words.next()?.parse().ok()?;
    let unit = words.next().map(str::to_owned);
    let name_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
    (name_ok && value.is_finite() && words.next().is_none()).then(|| Metric {
        name: name.to_owned(),
        value,
        unit,
    })
}

/// Items like `3 passed` in `sep`-separated text, as (number, first word).
fn tally<'a>(text: &'a str, sep: &str) -> Option<Vec<(u64, &'a str)>> {
    text.split(sep)
        .map(|item| {
            let mut words = item.split_whitespace();
            let n = words.next()?.parse::<u64>().ok()?;
            let word = words.next()?;
            Some((n, word))
        })
        .collect()
}

// ---- cargo test ---------------------------------------------------------------------------------

fn cargo_line(
    line: &str,
    sum: &mut Option<TestCounts>,
    target: &mut String,
    found: &mut Vec<(String, TestOutcome)>,
) {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix("Running ") {
        let name = rest.split(" (").next().unwrap_or(rest);
        *target = name.strip_prefix("unittests ").unwrap_or(name).to_owned();
    } else if trimmed.starts_with("Doc-tests ") {
        *target = "doctest".to_owned();
    } else if let Some(rest) = line.strip_prefix("test result: ") {
        if let Some(counts) = cargo_result(rest) {
            sum.get_or_insert_with(TestCounts::default).add(counts);
        }
    } else if let Some((name, outcome)) = cargo_test(line) {
        let id = if target.is_empty() {
            name.to_owned()
        } else {
            format!("{target}::{name}")
        };
        found.push((id, outcome));
    }
}

/// `ok. 1 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s`.
fn cargo_result(rest: &str) -> Option<TestCounts> {
    let (_, items) = rest.split_once(". ")?;
    let mut counts = TestCounts::default();
    let (mut passed, mut failed) = (false, false);
    for item in items.split(';') {
        let mut words = item.split_whitespace();
        let (Some(n), Some(word)) = (words.next().and_then(|w| w.parse::<u64>().ok()), words.next()) else {
            continue;
        };
        match word {
            "passed" => (counts.passed, passed) = (n, true),
            "failed" => (counts.failed, failed) = (n, true),
            "ignored" => counts.skipped += n,
            _ => {}
        }
    }
    (passed && failed).then_some(counts)
}

/// `test tests::it_works ... ok`.
fn cargo_test(line: &str) -> Option<(&str, TestOutcome)> {
    let rest = line.strip_prefix("test ")?;
    let (name, status) = rest.rsplit_once(" ... ")?;
    let outcome = if status == "ok" {
        TestOutcome::Passed
    } else if status == "FAILED" {
        TestOutcome::Failed
    } else if status.starts_with("ignored") {
        TestOutcome::Skipped
    } else {
        return None;
    };
    Some((name, outcome))
}

// ---- pytest -------------------------------------------------------------------------------------

fn pytest_line(
    line: &str,
    summary: &mut Option<TestCounts>,
    in_short_summary: &mut bool,
    found: &mut Vec<(String, TestOutcome)>,
) {
    if line.starts_with('=') && line.contains("short test summary info") {
        *in_short_summary = true;
        return;
    }
    if let Some(counts) = pytest_summary(line) {
        *summary = Some(counts);
        *in_short_summary = false;
        return;
    }
    let test = if *in_short_summary {
        pytest_short(line)
    } else {
        pytest_verbose(line)
    };
    if let Some((id, outcome)) = test {
        found.push((id.to_owned(), outcome));
    }
}

/// `===== 1 failed, 2 passed, 1 skipped in 0.05s =====`, `2 passed in 0.00s`, `no tests ran in 0.01s`.
fn pytest_summary(line: &str) -> Option<TestCounts> {
    let body = line.trim_matches(|c: char| c == '=' || c.is_whitespace());
    let (items, duration) = body.rsplit_once(" in ")?;
    if !duration.starts_with(|c: char| c.is_ascii_digit()) || !duration.contains('s') {
        return None;
    }
    if items == "no tests ran" {
        return Some(TestCounts::default());
    }
    let mut counts = TestCounts::default();
    for (n, word) in tally(items, ", ")? {
        match word {
            "passed" | "xpassed" => counts.passed += n,
            "failed" | "error" | "errors" => counts.failed += n,
            "skipped" | "xfailed" => counts.skipped += n,
            "deselected" | "warning" | "warnings" | "rerun" | "reruns" => {}
            _ => return None,
        }
    }
    Some(counts)
}

fn pytest_status(word: &str) -> Option<TestOutcome> {
    match word {
        "PASSED" | "XPASS" => Some(TestOutcome::Passed),
        "FAILED" | "ERROR" => Some(TestOutcome::Failed),
        "SKIPPED" | "XFAIL" => Some(TestOutcome::Skipped),
        _ => None,
    }
}

/// `-rA` summary lines: `PASSED tests/test_a.py::test_ok`, `FAILED tests/test_a.py::test_bad - msg`.
fn pytest_short(line: &str) -> Option<(&str, TestOutcome)> {
    let (word, rest) = line.split_once(' ')?;
    let outcome = pytest_status(word)?;
    let id = rest.split(" - ").next().unwrap_or(rest).trim();
    (!id.is_empty() && !id.starts_with('[')).then_some((id, outcome))
}

/// `-v` lines: `tests/test_a.py::test_ok PASSED   [ 50%]`.
fn pytest_verbose(line: &str) -> Option<(&str, TestOutcome)> {
    let mut words = line.split_whitespace();
    let id = words.next()?;
    let outcome = pytest_status(words.next()?)?;
    id.contains("::").then_some((id, outcome))
}

// ---- go test ------------------------------------------------------------------------------------

fn go_line(line: &str, go: &mut GoState, found: &mut Vec<(String, TestOutcome)>) {
    if line.starts_with("=== RUN ") {
        go.saw_run = true;
        return;
    }
    if let Some((name, outcome)) = go_test(line) {
        let counts = go.verbose.get_or_insert_with(TestCounts::default);
        match outcome {
            TestOutcome::Passed => counts.passed += 1,
            TestOutcome::Failed => counts.failed += 1,
            TestOutcome::Skipped => counts.skipped += 1,
        }
        go.pending.push((name.to_owned(), outcome));
        return;
    }
    let mut words = line.split_whitespace();
    let (Some(status), Some(package)) = (words.next(), words.next()) else {
        return;
    };
    if !matches!(status, "ok" | "FAIL" | "?") || package.starts_with('[') {
        return;
    }
    let untested = line.contains("[no test files]") || line.contains("[no tests to run]");
    match (status, untested) {
        ("ok", false) => go.tested_package = true,
        (_, true) => go.untested_package = true,
        _ => {}
    }
    for (name, outcome) in go.pending.drain(..) {
        found.push((format!("{package}::{name}"), outcome));
    }
}

/// `--- PASS: TestAdd (0.00s)` at the start of a line (subtests are indented and not counted).
fn go_test(line: &str) -> Option<(&str, TestOutcome)> {
    let rest = line.strip_prefix("--- ")?;
    let (status, rest) = rest.split_once(": ")?;
    let outcome = match status {
        "PASS" => TestOutcome::Passed,
        "FAIL" => TestOutcome::Failed,
        "SKIP" => TestOutcome::Skipped,
        _ => return None,
    };
    let name = rest.split_whitespace().next()?;
    Some((name, outcome))
}

/// Counts from `-v` output (`=== RUN` lines present: every test is reported); without `-v` only
/// failures are printed, so the counts are known only when every package said it has no tests.
fn go_counts(go: &GoState) -> Option<TestCounts> {
    if go.saw_run {
        return Some(go.verbose.unwrap_or_default());
    }
    let nothing_ran = go.untested_package && !go.tested_package && go.verbose.is_none();
    nothing_ran.then(TestCounts::default)
}

// ---- Jest and Vitest ----------------------------------------------------------------------------

/// `Tests:       1 failed, 1 skipped, 1 todo, 1 passed, 4 total`; `No tests found, exiting with code 0`.
fn jest_line(line: &str, counts: &mut Option<TestCounts>) {
    let trimmed = line.trim();
    if let Some(rest) = trimmed.strip_prefix("Tests:") {
        if let Some(items) = tally(rest, ", ")
            && items.iter().any(|(_, w)| *w == "total")
        {
            *counts = Some(js_counts(&items));
        }
    } else if trimmed.starts_with("No tests found, exiting with code") && counts.is_none() {
        *counts = Some(TestCounts::default());
    }
}

/// `Tests  1 failed | 1 passed | 1 skipped | 1 todo (4)`; `No test files found, exiting with code 1`.
fn vitest_line(line: &str, counts: &mut Option<TestCounts>) {
    let trimmed = line.trim();
    if let Some(rest) = trimmed.strip_prefix("Tests ") {
        let items = rest.trim();
        let items = match items.rfind(" (") {
            Some(i) if items.ends_with(')') => &items[..i],
            _ => items,
        };
        if let Some(items) = tally(items, " | ") {
            *counts = Some(js_counts(&items));
        }
    } else if trimmed.starts_with("No test files found, exiting with code") && counts.is_none() {
        *counts = Some(TestCounts::default());
    }
}

fn js_counts(items: &[(u64, &str)]) -> TestCounts {
    let mut counts = TestCounts::default();
    for &(n, word) in items {
        match word {
            "passed" => counts.passed += n,
            "failed" => counts.failed += n,
            "skipped" | "todo" | "pending" => counts.skipped += n,
            _ => {}
        }
    }
    counts
}

// ---- node --test --------------------------------------------------------------------------------

fn node_line(
    line: &str,
    current: &mut NodeSummary,
    last: &mut Option<TestCounts>,
    found: &mut Vec<(String, TestOutcome)>,
) {
    let summary = line.strip_prefix("# ").or_else(|| line.strip_prefix("ℹ "));
    if let Some((word, n)) = summary.and_then(|s| s.split_once(' '))
        && let Ok(n) = n.trim().parse::<u64>()
    {
        match word {
            "tests" => *current = NodeSummary::default(),
            "pass" => current.pass = Some(n),
            "fail" => current.fail = Some(n),
            "cancelled" => current.cancelled = n,
            "skipped" | "todo" => current.skipped += n,
            _ => {}
        }
        if let (Some(pass), Some(fail)) = (current.pass, current.fail) {
            *last = Some(TestCounts {
                passed: pass,
                failed: fail + current.cancelled,
                skipped: current.skipped,
            });
        }
        return;
    }
    if let Some(test) = node_tap(line).or_else(|| node_spec(line)) {
        found.push(test);
    }
}

/// Top-level TAP results: `ok 1 - adds`, `not ok 2 - fails`, `ok 3 - skipped # SKIP`.
fn node_tap(line: &str) -> Option<(String, TestOutcome)> {
    let (failed, rest) = match line.strip_prefix("not ok ") {
        Some(rest) => (true, rest),
        None => (false, line.strip_prefix("ok ")?),
    };
    let (number, name) = rest.split_once(" - ")?;
    number.parse::<u64>().ok()?;
    let (name, directive) = match name.split_once(" # ") {
        Some((n, d)) => (n, Some(d)),
        None => (name, None),
    };
    let skipped = directive.is_some_and(|d| {
        let d = d.to_ascii_uppercase();
        d.starts_with("SKIP") || d.starts_with("TODO")
    });
    let outcome = match (skipped, failed) {
        (true, _) => TestOutcome::Skipped,
        (false, true) => TestOutcome::Failed,
        (false, false) => TestOutcome::Passed,
    };
    Some((name.to_owned(), outcome))
}

/// Top-level spec results: `✔ adds (0.8ms)`, `✖ fails (1.1ms)`.
fn node_spec(line: &str) -> Option<(String, TestOutcome)> {
    let (outcome, rest) = if let Some(rest) = line.strip_prefix("✔ ") {
        (TestOutcome::Passed, rest)
    } else {
        (TestOutcome::Failed, line.strip_prefix("✖ ")?)
    };
    let (name, tail) = rest.rsplit_once(" (")?;
    tail.ends_with("ms)").then(|| (name.to_owned(), outcome))
}

#[cfg(test)]
mod tests;
