//! Jest's and Vitest's output: their summary counts and, from their verbose reporters, per-test ids
//! (DESIGN §6, "Evidence the agent cannot forge").
//!
//! `jest --verbose` prints a `PASS`/`FAIL <file>` header, then one indented line per test under its
//! `describe` blocks; `vitest --reporter=verbose` (Vitest 3 and later) prints one
//! `✓ <file> > <suite> > <test>` line per test. What a test prints is interleaved with them (Jest's
//! `console.log` blocks and failure details, Vitest's `stdout |` blocks and failure recap) and is never
//! read as a result where the runner marks it; the caller also checks the ids against the runner's own
//! summary, so result lines a test prints elsewhere make the counts unreadable rather than the test
//! pass. Pure: lines in, values out.

use std::collections::HashMap;

use super::{TestCounts, TestOutcome, tally};

/// Jest: the file whose results are being read, its open `describe` blocks, and the summary.
#[derive(Debug, Default)]
pub(super) struct JestState {
    /// The `Tests:` summary, when read.
    pub(super) counts: Option<TestCounts>,
    /// The file after its `PASS`/`FAIL` header, until the first line that is not a result.
    file: Option<String>,
    /// Enclosing `describe` blocks of the next result: (indentation, title).
    blocks: Vec<(usize, String)>,
    /// Ids seen (a second test of the same name in the same block is numbered).
    seen: HashMap<String, u32>,
}

/// Vitest: whether a console block or the failure recap is being skipped, and the summary.
#[derive(Debug, Default)]
pub(super) struct VitestState {
    /// The `Tests` summary, when read.
    pub(super) counts: Option<TestCounts>,
    /// Inside a `stdout | …`/`stderr | …` block (what a test printed), until a blank line.
    in_console: bool,
    /// After the `Failed Tests` banner: error details, never results.
    in_recap: bool,
    /// Ids seen (a second test of the same name is numbered).
    seen: HashMap<String, u32>,
}

/// The same id again becomes `id #2`, `id #3`…, so every result line is one test.
fn numbered(seen: &mut HashMap<String, u32>, id: String) -> String {
    let n = seen.entry(id.clone()).or_insert(0);
    *n += 1;
    if *n == 1 { id } else { format!("{id} #{n}") }
}

// ---- Jest ---------------------------------------------------------------------------------------

/// One line of Jest's output: a file header, a `describe` title, a result, or the summary
/// (`Tests:       1 failed, 1 skipped, 1 todo, 1 passed, 4 total`; `No tests found, exiting with code 0`).
pub(super) fn jest_line(line: &str, jest: &mut JestState, found: &mut Vec<(String, TestOutcome)>) {
    if let Some(file) = jest_header(line) {
        jest.file = Some(file);
        jest.blocks.clear();
        return;
    }
    if let Some(file) = jest.file.clone() {
        if jest_entry(line, &file, jest, found) {
            return;
        }
        jest.file = None;
    }
    let trimmed = line.trim();
    if let Some(rest) = trimmed.strip_prefix("Tests:") {
        if let Some(items) = tally(rest, ", ")
            && items.iter().any(|(_, w)| *w == "total")
        {
            jest.counts = Some(js_counts(&items));
        }
    } else if trimmed.starts_with("No tests found, exiting with code") && jest.counts.is_none() {
        jest.counts = Some(TestCounts::default());
    }
}

/// `PASS t/calc.test.js`, `FAIL t/calc.test.js (5.2 s)` (a coloured ` PASS ` badge too), at the start
/// of a line: what a test logs is indented.
fn jest_header(line: &str) -> Option<String> {
    let line = line.strip_prefix(' ').unwrap_or(line);
    let rest = line
        .strip_prefix("PASS ")
        .or_else(|| line.strip_prefix("FAIL "))?;
    let rest = rest.trim();
    let file = match rest.rsplit_once(" (") {
        Some((file, time)) if time.ends_with(" s)") => file,
        _ => rest,
    };
    (!file.is_empty() && !file.contains(char::is_whitespace)).then(|| file.to_owned())
}

/// A `describe` title or a result of `file`; `false` for anything else (a blank line, failure
/// details, a console block), which ends the file's results.
fn jest_entry(line: &str, file: &str, jest: &mut JestState, found: &mut Vec<(String, TestOutcome)>) -> bool {
    let text = line.trim_start();
    let indent = line.len() - text.len();
    if text.is_empty() || indent < 2 || text.starts_with('●') || text.starts_with("console.") {
        return false;
    }
    jest.blocks.retain(|(at, _)| *at < indent);
    let Some((name, outcome)) = jest_result(text) else {
        jest.blocks.push((indent, text.to_owned()));
        return true;
    };
    let mut path: Vec<&str> = jest.blocks.iter().map(|(_, t)| t.as_str()).collect();
    path.push(name);
    let id = numbered(&mut jest.seen, format!("{file}::{}", path.join(" › ")));
    found.push((id, outcome));
    true
}

/// `✓ adds (2 ms)`, `✕ fails`, `○ skipped later`, `✎ todo soon` (Windows: `√`, `×`).
fn jest_result(text: &str) -> Option<(&str, TestOutcome)> {
    let (outcome, rest) = if let Some(rest) = text.strip_prefix("✓ ").or_else(|| text.strip_prefix("√ "))
    {
        (TestOutcome::Passed, rest)
    } else if let Some(rest) = text.strip_prefix("✕ ").or_else(|| text.strip_prefix("× ")) {
        (TestOutcome::Failed, rest)
    } else if let Some(rest) = text.strip_prefix("○ ") {
        (
            TestOutcome::Skipped,
            rest.strip_prefix("skipped ").unwrap_or(rest),
        )
    } else {
        let rest = text.strip_prefix("✎ ")?;
        (TestOutcome::Skipped, rest.strip_prefix("todo ").unwrap_or(rest))
    };
    let name = match (outcome, rest.rsplit_once(" (")) {
        (TestOutcome::Passed | TestOutcome::Failed, Some((name, time)))
            if time.ends_with(" ms)") || time.ends_with(" s)") =>
        {
            name
        }
        _ => rest,
    };
    Some((name, outcome))
}

// ---- Vitest -------------------------------------------------------------------------------------

/// One line of Vitest's output: a result, a console block, the failure recap, or the summary
/// (`Tests  1 failed | 1 passed | 1 skipped | 1 todo (4)`; `No test files found, exiting with code 1`).
pub(super) fn vitest_line(line: &str, vitest: &mut VitestState, found: &mut Vec<(String, TestOutcome)>) {
    if vitest.in_console {
        vitest.in_console = !line.is_empty();
        return;
    }
    if line.starts_with("stdout | ") || line.starts_with("stderr | ") {
        vitest.in_console = true;
        return;
    }
    let trimmed = line.trim();
    if trimmed.starts_with('⎯') && trimmed.contains(" Failed Tests ") {
        vitest.in_recap = true;
        return;
    }
    if !vitest.in_recap
        && let Some((id, outcome)) = vitest_result(line)
    {
        found.push((numbered(&mut vitest.seen, id), outcome));
        return;
    }
    if let Some(rest) = trimmed.strip_prefix("Tests ") {
        let items = rest.trim();
        let items = match items.rfind(" (") {
            Some(i) if items.ends_with(')') => &items[..i],
            _ => items,
        };
        if let Some(items) = tally(items, " | ") {
            vitest.counts = Some(js_counts(&items));
        }
    } else if trimmed.starts_with("No test files found, exiting with code") && vitest.counts.is_none() {
        vitest.counts = Some(TestCounts::default());
    }
}

/// ` ✓ t/calc.test.js > calc > adds 1ms`, ` × … 2ms`, ` ↓ …` (skipped), ` □ …` (todo): one space, a
/// mark, the file, ` > `, the test's path. Returns `t/calc.test.js::calc > adds`.
fn vitest_result(line: &str) -> Option<(String, TestOutcome)> {
    let text = line.strip_prefix(' ')?;
    let mut chars = text.chars();
    let outcome = match chars.next()? {
        '✓' => TestOutcome::Passed,
        '×' => TestOutcome::Failed,
        '↓' | '□' => TestOutcome::Skipped,
        _ => return None,
    };
    let rest = chars.as_str().strip_prefix(' ')?;
    let (file, path) = rest.split_once(" > ")?;
    if file.is_empty() || file.contains(char::is_whitespace) {
        return None;
    }
    let path = match (outcome, path.rsplit_once(' ')) {
        (TestOutcome::Passed | TestOutcome::Failed, Some((name, time))) if is_duration(time) => name,
        _ => path,
    };
    Some((format!("{file}::{path}"), outcome))
}

/// `13ms`, `1.20s`.
fn is_duration(word: &str) -> bool {
    let number = word.strip_suffix("ms").or_else(|| word.strip_suffix('s'));
    number.is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// Counts from summary items; `todo` and `pending` are not executed (skipped).
pub(super) fn js_counts(items: &[(u64, &str)]) -> TestCounts {
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

/// Whether per-test `outcomes` agree with the runner's `counts` (every reported test is one id; no
/// ids at all means the reporter did not name tests). A disagreement means a test printed result
/// lines of its own.
pub(super) fn agrees(counts: &TestCounts, outcomes: impl Iterator<Item = TestOutcome>) -> bool {
    let mut named = TestCounts::default();
    let mut any = false;
    for outcome in outcomes {
        any = true;
        match outcome {
            TestOutcome::Passed => named.passed += 1,
            TestOutcome::Failed | TestOutcome::Error => named.failed += 1,
            TestOutcome::Skipped | TestOutcome::Xfail => named.skipped += 1,
        }
    }
    !any || named == *counts
}
