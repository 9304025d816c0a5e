//! Reading test runners' output: test counts, per-test results and benchmark metrics (DESIGN §6).
//!
//! Owns one line-by-line parser per runner kind (cargo test, pytest, go test, Jest, Vitest, Node's test
//! runner) so a gate's output can be parsed while it streams, without ever holding the whole log. Only
//! a runner's structural lines are read (`test result:`, pytest's final summary, `--- PASS:`…); when
//! they are absent the counts are `None` and the verdict fails closed. Pure: lines in, values out.

use std::collections::{HashMap, VecDeque};

use super::{Metric, RunnerKind, TestCounts, TestOutcome, TestResult};

mod js;

use js::{JestState, VitestState, agrees, jest_line, vitest_line};

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
    /// `jest --verbose`, `vitest --reporter=verbose`, Node's TAP or spec output), in first-seen order,
    /// one per id (the last report wins).
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
    Cargo(CargoState),
    Pytest {
        summary: Option<TestCounts>,
        section: PytestSection,
    },
    Go(GoState),
    Jest(JestState),
    Vitest(VitestState),
    Node(NodeState),
    Uncounted,
}

/// cargo announces each test binary on stderr (`Running unittests src/lib.rs (…)`, `Doc-tests calc`)
/// and the binary prints its results on stdout (`running 2 tests` … `test result:`). The two pipes are
/// read concurrently, so their lines interleave in no fixed order; each stream keeps its own order,
/// so the n-th announced binary is paired with the n-th block of results.
#[derive(Debug, Default)]
struct CargoState {
    sum: Option<TestCounts>,
    /// Announced test binaries (`src/lib.rs`, `tests/it.rs`, `doctest`) not yet paired with results.
    targets: VecDeque<String>,
    /// Finished blocks of results not yet paired with their binary.
    blocks: VecDeque<Vec<(String, TestOutcome)>>,
    /// The block being read.
    current: Option<Vec<(String, TestOutcome)>>,
    /// Inside a `failures:` section: captured test output, never results.
    in_failures: bool,
}

/// Where in pytest's output a line is: only progress lines (`-v`) and the short summary (`-rA`) carry
/// results; the report sections between them quote test output, which a test controls.
#[derive(Debug, Default, PartialEq, Eq)]
enum PytestSection {
    #[default]
    Progress,
    Report,
    ShortSummary,
}

#[derive(Debug, Default)]
struct NodeState {
    current: NodeSummary,
    last: Option<TestCounts>,
    /// After the spec reporter's `failing tests:` recap, which repeats failures.
    in_recap: bool,
    /// The reporter, fixed by the first result line: lines of the other format are test output.
    format: Option<NodeFormat>,
    /// Top-level test names seen (a name seen again, from another file, is numbered).
    seen: HashMap<String, u32>,
}

#[derive(Debug, Default)]
struct GoState {
    verbose: Option<TestCounts>,
    saw_run: bool,
    tested_package: bool,
    untested_package: bool,
    pending: Vec<(String, TestOutcome)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NodeFormat {
    Tap,
    Spec,
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
            RunnerKind::Cargo => State::Cargo(CargoState::default()),
            RunnerKind::Pytest => State::Pytest {
                summary: None,
                section: PytestSection::Progress,
            },
            RunnerKind::Go => State::Go(GoState::default()),
            RunnerKind::Jest => State::Jest(JestState::default()),
            RunnerKind::Vitest => State::Vitest(VitestState::default()),
            RunnerKind::Node => State::Node(NodeState::default()),
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
            State::Cargo(cargo) => cargo_line(line, cargo, &mut found),
            State::Pytest { summary, section } => pytest_line(line, summary, section, &mut found),
            State::Go(go) => go_line(line, go, &mut found),
            State::Jest(jest) => jest_line(line, jest, &mut found),
            State::Vitest(vitest) => vitest_line(line, vitest, &mut found),
            State::Node(node) => node_line(line, node, &mut found),
            State::Uncounted => {}
        }
        for (id, outcome) in found {
            self.record(id, outcome);
        }
    }

    /// The counts, tests and metrics seen.
    pub fn finish(mut self) -> ParsedOutput {
        let counts = match &mut self.state {
            State::Cargo(cargo) => {
                let mut found = Vec::new();
                cargo.finish(&mut found);
                let sum = cargo.sum;
                for (id, outcome) in found {
                    self.record(id, outcome);
                }
                sum
            }
            State::Pytest { summary, .. } => *summary,
            State::Go(go) => {
                let pending = std::mem::take(&mut go.pending);
                let counts = go_counts(go);
                for (id, outcome) in pending {
                    self.record(id, outcome);
                }
                counts
            }
            State::Jest(JestState { counts, .. }) | State::Vitest(VitestState { counts, .. }) => {
                let summary = *counts;
                self.named_like_the_summary(summary)
            }
            State::Node(node) => node.last,
            State::Uncounted => None,
        };
        ParsedOutput {
            counts,
            tests: self.tests,
            tests_truncated: self.tests_truncated,
            metrics: self.metrics,
        }
    }

    /// Jest's and Vitest's counts, unless the tests they name disagree with them: then a test printed
    /// result lines of its own, and neither the counts nor the ids can be trusted (fail closed).
    fn named_like_the_summary(&mut self, counts: Option<TestCounts>) -> Option<TestCounts> {
        let summary = counts?;
        if self.tests_truncated || agrees(&summary, self.tests.iter().map(|t| t.outcome)) {
            return Some(summary);
        }
        self.tests.clear();
        self.index.clear();
        None
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

fn cargo_line(line: &str, cargo: &mut CargoState, found: &mut Vec<(String, TestOutcome)>) {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix("Running ") {
        let name = rest.split(" (").next().unwrap_or(rest);
        let name = name.strip_prefix("unittests ").unwrap_or(name);
        cargo.targets.push_back(name.to_owned());
    } else if trimmed.starts_with("Doc-tests ") {
        cargo.targets.push_back("doctest".to_owned());
    } else if block_start(line) {
        cargo.close_block();
        cargo.current = Some(Vec::new());
    } else if let Some(rest) = line.strip_prefix("test result: ") {
        if let Some(counts) = cargo_result(rest) {
            cargo.sum.get_or_insert_with(TestCounts::default).add(counts);
        }
        cargo.current.get_or_insert_with(Vec::new);
        cargo.close_block();
    } else if line == "failures:" {
        cargo.in_failures = true;
    } else if let Some((name, outcome)) = cargo_test(line).filter(|_| !cargo.in_failures) {
        cargo
            .current
            .get_or_insert_with(Vec::new)
            .push((name.to_owned(), outcome));
    }
    cargo.pair(found);
}

/// `running 3 tests`, `running 1 test`: a test binary starts printing its results.
fn block_start(line: &str) -> bool {
    let Some((n, word)) = line.strip_prefix("running ").and_then(|r| r.split_once(' ')) else {
        return false;
    };
    n.parse::<u64>().is_ok() && (word == "tests" || word == "test")
}

impl CargoState {
    fn close_block(&mut self) {
        if let Some(block) = self.current.take() {
            self.blocks.push_back(block);
        }
        self.in_failures = false;
    }

    /// Name the results of every block whose binary is known.
    fn pair(&mut self, found: &mut Vec<(String, TestOutcome)>) {
        while !self.targets.is_empty() && !self.blocks.is_empty() {
            let (Some(target), Some(block)) = (self.targets.pop_front(), self.blocks.pop_front()) else {
                break;
            };
            emit_block(&target, block, found);
        }
    }

    /// At the end: the last block, and blocks whose binary was never announced (named without one).
    fn finish(&mut self, found: &mut Vec<(String, TestOutcome)>) {
        self.close_block();
        self.pair(found);
        for block in std::mem::take(&mut self.blocks) {
            emit_block("", block, found);
        }
    }
}

/// Ids of one binary's results: `<target>::<name>`; doctests without their line numbers
/// (`src/lib.rs - add (line 3)` → `doctest::src/lib.rs - add`), which move whenever the code above
/// changes, the second doctest of the same item, in source order, being `… #2`.
fn emit_block(target: &str, block: Vec<(String, TestOutcome)>, found: &mut Vec<(String, TestOutcome)>) {
    if target != "doctest" {
        for (name, outcome) in block {
            let id = if target.is_empty() {
                name
            } else {
                format!("{target}::{name}")
            };
            found.push((id, outcome));
        }
        return;
    }
    let mut doctests: Vec<(String, u64, TestOutcome)> = block
        .iter()
        .map(|(name, outcome)| {
            let (stable, line) = without_line_number(name);
            (stable, line, *outcome)
        })
        .collect();
    doctests.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for (name, _, outcome) in &doctests {
        let n = seen.entry(name.as_str()).or_insert(0);
        *n += 1;
        let id = if *n == 1 {
            format!("doctest::{name}")
        } else {
            format!("doctest::{name} #{n}")
        };
        found.push((id, *outcome));
    }
}

/// A doctest name without ` (line N)`, and N (0 when absent).
fn without_line_number(name: &str) -> (String, u64) {
    let Some(start) = name.find(" (line ") else {
        return (name.to_owned(), 0);
    };
    let rest = &name[start + " (line ".len()..];
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    match (rest[digits..].strip_prefix(')'), rest[..digits].parse::<u64>()) {
        (Some(after), Ok(n)) => (format!("{}{after}", &name[..start]), n),
        _ => (name.to_owned(), 0),
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
    section: &mut PytestSection,
    found: &mut Vec<(String, TestOutcome)>,
) {
    if let Some(counts) = pytest_summary(line) {
        *summary = Some(counts);
        *section = PytestSection::Progress;
        return;
    }
    if let Some(title) = pytest_header(line) {
        *section = match title {
            "short test summary info" => PytestSection::ShortSummary,
            "test session starts" => PytestSection::Progress,
            _ => PytestSection::Report,
        };
        return;
    }
    let test = match section {
        PytestSection::ShortSummary => pytest_short(line),
        PytestSection::Progress => pytest_verbose(line),
        PytestSection::Report => None,
    };
    if let Some((id, outcome)) = test {
        found.push((id.to_owned(), outcome));
    }
}

/// The title of a section header: `===== FAILURES =====` → `FAILURES`.
fn pytest_header(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("==")?.strip_suffix("==")?;
    let title = inner.trim_matches('=');
    let title = title.strip_prefix(' ')?.strip_suffix(' ')?;
    (!title.is_empty()).then_some(title.trim())
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
        "FAILED" => Some(TestOutcome::Failed),
        "ERROR" => Some(TestOutcome::Error),
        "SKIPPED" => Some(TestOutcome::Skipped),
        "XFAIL" => Some(TestOutcome::Xfail),
        _ => None,
    }
}

/// `-rA` summary lines: `PASSED tests/test_a.py::test_ok`, `FAILED tests/test_a.py::test_bad - msg`,
/// `ERROR tests/test_c.py` (collection). Skipped tests are summarised by location (`SKIPPED [1]
/// tests/test_a.py:4: reason`), without an id: `-v` names them.
fn pytest_short(line: &str) -> Option<(&str, TestOutcome)> {
    let (word, rest) = line.split_once(' ')?;
    let outcome = pytest_status(word)?;
    let id = pytest_id_before(rest, " - ").trim();
    let valid = !id.is_empty() && !id.starts_with('[') && !id.starts_with(char::is_whitespace);
    valid.then_some((id, outcome))
}

/// The id at the start of `text`, up to `sep`; a parametrized id (`test_p[a - b]`) keeps its brackets
/// whole.
fn pytest_id_before<'a>(text: &'a str, sep: &str) -> &'a str {
    let cut = text.find(sep).unwrap_or(text.len());
    let Some(open) = text[..cut].find('[') else {
        return &text[..cut];
    };
    // The first `]<sep>` after the bracket opens ends the id; without one the whole text is the id.
    let close = text[open..]
        .find(&format!("]{sep}"))
        .map_or(text.len(), |i| open + i + 1);
    &text[..close]
}

/// `-v` progress lines: `tests/test_a.py::test_ok PASSED   [ 50%]`, `tests/test_a.py::test_p[a b]
/// SKIPPED (reason) [ 60%]`.
fn pytest_verbose(line: &str) -> Option<(&str, TestOutcome)> {
    if line.starts_with(char::is_whitespace) || line.starts_with('[') {
        return None;
    }
    for (i, _) in line.match_indices(' ') {
        let rest = &line[i + 1..];
        let end = rest.find(' ').unwrap_or(rest.len());
        let Some(outcome) = pytest_status(&rest[..end]) else {
            continue;
        };
        let after = rest[end..].trim_start();
        if after.is_empty() || after.starts_with('(') || after.starts_with('[') {
            let id = &line[..i];
            return id.contains("::").then_some((id, outcome));
        }
    }
    None
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
            TestOutcome::Failed | TestOutcome::Error => counts.failed += 1,
            TestOutcome::Skipped | TestOutcome::Xfail => counts.skipped += 1,
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

// ---- node --test --------------------------------------------------------------------------------

fn node_line(line: &str, node: &mut NodeState, found: &mut Vec<(String, TestOutcome)>) {
    let summary = line.strip_prefix("# ").or_else(|| line.strip_prefix("ℹ "));
    if let Some((word, n)) = summary.and_then(|s| s.split_once(' '))
        && let Ok(n) = n.trim().parse::<u64>()
    {
        let current = &mut node.current;
        match word {
            "tests" => *current = NodeSummary::default(),
            "pass" => current.pass = Some(n),
            "fail" => current.fail = Some(n),
            "cancelled" => current.cancelled = n,
            "skipped" | "todo" => current.skipped += n,
            _ => {}
        }
        if let (Some(pass), Some(fail)) = (current.pass, current.fail) {
            node.last = Some(TestCounts {
                passed: pass,
                failed: fail + current.cancelled,
                skipped: current.skipped,
            });
        }
        return;
    }
    if line.starts_with("✖ failing tests:") {
        node.in_recap = true;
        return;
    }
    if line == "TAP version 13" && node.format.is_none() {
        node.format = Some(NodeFormat::Tap);
        return;
    }
    let parsed = match node.format {
        Some(NodeFormat::Tap) => node_tap(line),
        Some(NodeFormat::Spec) if node.in_recap => None,
        Some(NodeFormat::Spec) => node_spec(line),
        None => {
            let tap = node_tap(line).map(|t| (NodeFormat::Tap, t));
            let first = tap.or_else(|| node_spec(line).map(|t| (NodeFormat::Spec, t)));
            first.map(|(format, t)| {
                node.format = Some(format);
                t
            })
        }
    };
    if let Some((name, outcome)) = parsed {
        let n = node.seen.entry(name.clone()).or_insert(0);
        *n += 1;
        let id = if *n == 1 { name } else { format!("{name} #{n}") };
        found.push((id, outcome));
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

/// Top-level spec results: `✔ adds (0.8ms)`, `✖ fails (1.1ms)`, `﹣ later (0.1ms) # SKIP`,
/// `✔ soon (0.1ms) # TODO`.
fn node_spec(line: &str) -> Option<(String, TestOutcome)> {
    let (mut outcome, rest) = if let Some(rest) = line.strip_prefix("✔ ") {
        (TestOutcome::Passed, rest)
    } else if let Some(rest) = line.strip_prefix("﹣ ") {
        (TestOutcome::Skipped, rest)
    } else {
        (TestOutcome::Failed, line.strip_prefix("✖ ")?)
    };
    let rest = match rest.rsplit_once(" # ") {
        Some((r, d)) if d.starts_with("SKIP") || d.starts_with("TODO") => {
            outcome = TestOutcome::Skipped;
            r
        }
        _ => rest,
    };
    let (name, tail) = rest.rsplit_once(" (")?;
    tail.ends_with("ms)").then(|| (name.to_owned(), outcome))
}

#[cfg(test)]
mod tests;
