//! The test harness as protected evidence (DESIGN §6, "Evidence the agent cannot forge"): which files
//! decide how tests run or how their outcomes are reported, what a change did to them, how to put the
//! base's version back (SWE-bench style), and whether the result's gates said something different
//! once it was.
//!
//! Pure: paths, contents and gate commands in, values out. Never reads the repository, never runs
//! anything; `ops::harness` reads the trees and runs the restored gates.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::gate::compare::GateObservation;
use super::gate::{Outcome, TestOutcome};
use super::goal::GateRun;
use super::ids::CommitId;
use super::review::{Finding, Severity};

/// Why a file belongs to the test harness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HarnessRule {
    /// `conftest.py`, anywhere: pytest hooks and fixtures can rewrite any outcome.
    Conftest,
    /// `pytest.ini`, `.pytest.ini`, `pytest.toml`: pytest's options (`addopts`, `--deselect`, `-k`).
    PytestConfig,
    /// The `[tool.pytest…]` tables (and pytest plugin entry points) of `pyproject.toml`.
    PyprojectPytest,
    /// The `[tool:pytest]` section of `setup.cfg`.
    SetupCfgPytest,
    /// The `[pytest]`, `[tox]` and `[testenv…]` sections of `tox.ini`.
    ToxSections,
    /// `jest.config.*`, `vitest.config.*`, `vitest.workspace.*`, `vite.config.*`.
    JsRunnerConfig,
    /// The `test`/`pretest`/`posttest` scripts, the scripts a gate runs, and the `jest` key of
    /// `package.json`.
    PackageJsonTest,
    /// `.cargo/config.toml` (or `.cargo/config`): flags, aliases and environment of every cargo run.
    CargoConfig,
    /// `build.rs`: runs before every build of its crate, tests included.
    BuildScript,
    /// A file a gate's command runs: the makefile of a `make` gate, a script named in the command.
    GateFile,
    /// Anything under `.omk/`: the gates themselves.
    OmkConfig,
}

impl HarnessRule {
    /// What the file decides, in words.
    pub fn describe(self) -> &'static str {
        match self {
            HarnessRule::Conftest => "pytest hooks and fixtures (conftest.py)",
            HarnessRule::PytestConfig => "pytest's configuration",
            HarnessRule::PyprojectPytest => "the pytest tables of pyproject.toml",
            HarnessRule::SetupCfgPytest => "the pytest section of setup.cfg",
            HarnessRule::ToxSections => "the pytest and test environment sections of tox.ini",
            HarnessRule::JsRunnerConfig => "the JavaScript test runner's configuration",
            HarnessRule::PackageJsonTest => "the test scripts or jest settings of package.json",
            HarnessRule::CargoConfig => "cargo's configuration (.cargo/config.toml)",
            HarnessRule::BuildScript => "a cargo build script (build.rs)",
            HarnessRule::GateFile => "a file a gate's command runs",
            HarnessRule::OmkConfig => "git-omk's gate configuration (.omk/)",
        }
    }
}

/// How a file changed between base and result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChange {
    /// New in the result.
    Added,
    /// In both, different.
    Modified,
    /// Gone from the result.
    Deleted,
}

impl FileChange {
    /// `added`, `changed`, `deleted`.
    pub fn verb(self) -> &'static str {
        match self {
            FileChange::Added => "added",
            FileChange::Modified => "changed",
            FileChange::Deleted => "deleted",
        }
    }
}

/// A change to a harness file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarnessChange {
    /// Repository-relative path.
    pub path: String,
    /// How the file changed.
    pub change: FileChange,
    /// Why it is part of the harness.
    pub rule: HarnessRule,
    /// The changed lines of the part that matters (the whole file, or its test sections), bounded.
    pub diff: String,
}

/// One changed file as the caller read it from the base and result trees (`None`: absent on that
/// side, or too large to read).
#[derive(Clone, Copy, Debug)]
pub struct ChangedText<'a> {
    /// Repository-relative path.
    pub path: &'a str,
    /// Contents on the base.
    pub old: Option<&'a [u8]>,
    /// Contents on the result.
    pub new: Option<&'a [u8]>,
}

/// Files and `package.json` scripts the base's gate commands run (gates run from the repository's
/// root): paths named in a command, the makefiles of `make`, the justfile of `just`, `tox.ini` of
/// `tox`, `noxfile.py` of `nox`, the scripts of `npm`/`pnpm`/`yarn`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GateFiles {
    paths: Vec<String>,
    scripts: Vec<String>,
}

impl GateFiles {
    /// Collect them from each gate's command words (an argument vector, or a shell command split on
    /// whitespace).
    pub fn from_commands(commands: &[Vec<String>]) -> GateFiles {
        let mut files = GateFiles::default();
        for words in commands {
            files.add_command(words);
        }
        files
    }

    fn add_command(&mut self, words: &[String]) {
        let words: Vec<&str> = words
            .iter()
            .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
            .collect();
        for (i, word) in words.iter().enumerate() {
            let tool = word.rsplit('/').next().unwrap_or(word);
            let implied: &[&str] = match tool {
                "make" | "gmake" => &["GNUmakefile", "makefile", "Makefile"],
                "just" => &["justfile", "Justfile", ".justfile"],
                "tox" => &["tox.ini"],
                "nox" => &["noxfile.py"],
                _ => &[],
            };
            self.paths.extend(implied.iter().map(|p| (*p).to_owned()));
            if matches!(tool, "npm" | "pnpm" | "yarn") {
                self.add_script(&words[i + 1..]);
            }
            if let Some(path) = relative_path(word) {
                self.paths.push(path);
            }
        }
    }

    /// `npm test` → `test`; `npm run test:unit` → `test:unit`; `yarn lint` → `lint`.
    fn add_script(&mut self, rest: &[&str]) {
        let mut args = rest.iter().filter(|w| !w.starts_with('-'));
        let first = args.next().copied();
        let script = match first {
            Some("run" | "run-script") => args.next().copied(),
            other => other,
        };
        if let Some(s) = script.filter(|s| !s.is_empty()) {
            self.scripts.push(s.to_owned());
        }
    }

    fn names(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p == path)
    }
}

/// A command word that names a file of the repository: relative, no option, no shell syntax.
fn relative_path(word: &str) -> Option<String> {
    let word = word.strip_prefix("--file=").unwrap_or(word);
    let word = word.strip_prefix("./").unwrap_or(word);
    let plain = !word.is_empty()
        && !word.starts_with(['-', '/', '$', '~'])
        && !word.contains(['=', '*', '?', ';', '&', '|', '<', '>', '`'])
        && !word.split('/').any(|part| part == "..");
    plain.then(|| word.trim_end_matches('/').to_owned())
}

/// The rule that makes `path` a harness file whatever changed in it, if any.
fn whole_file_rule(path: &str, gates: &GateFiles) -> Option<HarnessRule> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let js_config = [
        "jest.config.",
        "vitest.config.",
        "vitest.workspace.",
        "vite.config.",
    ];
    if path.starts_with(".omk/") {
        Some(HarnessRule::OmkConfig)
    } else if name == "conftest.py" {
        Some(HarnessRule::Conftest)
    } else if matches!(name, "pytest.ini" | ".pytest.ini" | "pytest.toml") {
        Some(HarnessRule::PytestConfig)
    } else if js_config.iter().any(|p| name.starts_with(p)) {
        Some(HarnessRule::JsRunnerConfig)
    } else if path == ".cargo/config.toml"
        || path == ".cargo/config"
        || path.ends_with("/.cargo/config.toml")
        || path.ends_with("/.cargo/config")
    {
        Some(HarnessRule::CargoConfig)
    } else if name == "build.rs" {
        Some(HarnessRule::BuildScript)
    } else if gates.names(path) {
        Some(HarnessRule::GateFile)
    } else {
        None
    }
}

/// The rule of a file only some parts of which belong to the harness.
fn section_rule(path: &str) -> Option<HarnessRule> {
    match path.rsplit('/').next().unwrap_or(path) {
        "pyproject.toml" => Some(HarnessRule::PyprojectPytest),
        "setup.cfg" => Some(HarnessRule::SetupCfgPytest),
        "tox.ini" => Some(HarnessRule::ToxSections),
        "package.json" => Some(HarnessRule::PackageJsonTest),
        _ => None,
    }
}

/// Whether `path` could be a harness file, by its path alone (the caller then reads its contents).
pub fn may_be_harness(path: &str, gates: &GateFiles) -> bool {
    whole_file_rule(path, gates).is_some() || section_rule(path).is_some()
}

/// The harness changes among `changes` (sorted by path as given).
pub fn harness_changes(changes: &[ChangedText<'_>], gates: &GateFiles) -> Vec<HarnessChange> {
    changes.iter().filter_map(|c| classify(c, gates)).collect()
}

fn classify(c: &ChangedText<'_>, gates: &GateFiles) -> Option<HarnessChange> {
    let change = match (c.old, c.new) {
        (None, _) => FileChange::Added,
        (_, None) => FileChange::Deleted,
        _ => FileChange::Modified,
    };
    if let Some(rule) = whole_file_rule(c.path, gates) {
        return Some(HarnessChange {
            path: c.path.to_owned(),
            change,
            rule,
            diff: short_diff(&text_of(c.old), &text_of(c.new)),
        });
    }
    let rule = section_rule(c.path)?;
    let (old, new) = (harness_part(rule, c.old, gates), harness_part(rule, c.new, gates));
    (old != new).then(|| HarnessChange {
        path: c.path.to_owned(),
        change,
        rule,
        diff: short_diff(&old, &new),
    })
}

fn text_of(bytes: Option<&[u8]>) -> String {
    bytes
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// The part of a sectioned file that belongs to the harness, as text (a file that cannot be read as
/// its format is harness as a whole).
fn harness_part(rule: HarnessRule, bytes: Option<&[u8]>, gates: &GateFiles) -> String {
    let text = text_of(bytes);
    if rule == HarnessRule::PackageJsonTest {
        return match package_parts(&text, gates) {
            Some(parts) => parts.iter().map(|(k, v)| format!("{k}: {v}\n")).collect(),
            None => text,
        };
    }
    sections(&text)
        .into_iter()
        .filter(|s| s.name.as_deref().is_some_and(|n| harness_section(rule, n)))
        .map(|s| s.text)
        .collect()
}

fn harness_section(rule: HarnessRule, name: &str) -> bool {
    match rule {
        HarnessRule::PyprojectPytest => {
            name.starts_with("tool.pytest")
                || name == "project.entry-points.pytest11"
                || name == "project.entry-points.\"pytest11\""
        }
        HarnessRule::SetupCfgPytest => name == "tool:pytest" || name == "pytest",
        HarnessRule::ToxSections => name == "pytest" || name == "tox" || name.starts_with("testenv"),
        _ => false,
    }
}

/// An INI or TOML section: its header's name (`None` before the first header) and its lines.
struct Section {
    name: Option<String>,
    text: String,
}

fn sections(text: &str) -> Vec<Section> {
    let mut out = vec![Section {
        name: None,
        text: String::new(),
    }];
    for line in text.split_inclusive('\n') {
        if let Some(name) = header(line) {
            out.push(Section {
                name: Some(name),
                text: String::new(),
            });
        }
        if let Some(last) = out.last_mut() {
            last.text.push_str(line);
        }
    }
    out
}

/// `[tool.pytest.ini_options]` → `tool.pytest.ini_options`; `[[tool.x]]` → `tool.x`.
fn header(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?;
    let end = inner.find(']')?;
    let name = inner[..end].trim_start_matches('[').trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The harness keys of a `package.json`: each test script and script a gate runs, and `jest`, as
/// canonical JSON text (`None` when the file is not a JSON object).
fn package_parts(text: &str, gates: &GateFiles) -> Option<BTreeMap<String, String>> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = value.as_object()?;
    let mut parts = BTreeMap::new();
    let scripts = object.get("scripts").and_then(|s| s.as_object());
    for name in package_scripts(gates) {
        if let Some(v) = scripts.and_then(|s| s.get(&name)) {
            parts.insert(format!("scripts.{name}"), v.to_string());
        }
    }
    if let Some(v) = object.get("jest") {
        parts.insert("jest".to_owned(), v.to_string());
    }
    Some(parts)
}

fn package_scripts(gates: &GateFiles) -> Vec<String> {
    let mut names: Vec<String> = ["test", "pretest", "posttest"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for s in &gates.scripts {
        names.extend([s.clone(), format!("pre{s}"), format!("post{s}")]);
    }
    names.sort();
    names.dedup();
    names
}

/// The result's file with the base's harness put back: `Some(contents)` to write, `None` to delete
/// (the file is new, or a whole-file harness file the base did not have). Only the harness parts of a
/// sectioned file are restored; the rest of the result's changes stay.
pub fn restore(
    change: &HarnessChange,
    old: Option<&[u8]>,
    new: Option<&[u8]>,
    gates: &GateFiles,
) -> Option<Vec<u8>> {
    if section_rule(&change.path).is_none() || whole_file_rule(&change.path, gates).is_some() {
        return old.map(<[u8]>::to_vec);
    }
    let (Some(old_bytes), Some(new_bytes)) = (old, new) else {
        return old.map(<[u8]>::to_vec);
    };
    let (old_text, new_text) = (text_of(Some(old_bytes)), text_of(Some(new_bytes)));
    let restored = if change.rule == HarnessRule::PackageJsonTest {
        restore_package(&old_text, &new_text, gates)
    } else {
        Some(restore_sections(change.rule, &old_text, &new_text))
    };
    Some(restored.map_or_else(|| old_bytes.to_vec(), String::into_bytes))
}

/// The result's sections minus its harness sections, then the base's harness sections.
fn restore_sections(rule: HarnessRule, old: &str, new: &str) -> String {
    let is_harness = |s: &Section| s.name.as_deref().is_some_and(|n| harness_section(rule, n));
    let mut out: String = sections(new)
        .into_iter()
        .filter(|s| !is_harness(s))
        .map(|s| s.text)
        .collect();
    for s in sections(old).into_iter().filter(is_harness) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&s.text);
    }
    out
}

/// The result's `package.json` with the base's test scripts and `jest` key (`None`: either side is
/// not a JSON object, so the base's file is restored whole).
fn restore_package(old: &str, new: &str, gates: &GateFiles) -> Option<String> {
    let old: serde_json::Value = serde_json::from_str(old).ok()?;
    let mut new: serde_json::Value = serde_json::from_str(new).ok()?;
    let (old, target) = (old.as_object()?, new.as_object_mut()?);
    match old.get("jest") {
        Some(v) => target.insert("jest".to_owned(), v.clone()),
        None => target.remove("jest"),
    };
    let old_scripts = old
        .get("scripts")
        .and_then(|s| s.as_object())
        .cloned()
        .unwrap_or_default();
    let scripts = target
        .entry("scripts")
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()))
        .as_object_mut()?;
    for name in package_scripts(gates) {
        match old_scripts.get(&name) {
            Some(v) => scripts.insert(name, v.clone()),
            None => scripts.remove(&name),
        };
    }
    let mut text = serde_json::to_string_pretty(&new).ok()?;
    text.push('\n');
    Some(text)
}

/// At most this many lines of a harness diff are kept.
const MAX_DIFF_LINES: usize = 40;

/// The changed lines between `old` and `new`: common leading and trailing lines dropped, the rest as
/// `-`/`+` lines, bounded.
pub fn short_diff(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let removed = &a[prefix..a.len() - suffix];
    let added = &b[prefix..b.len() - suffix];
    let mut out = format!("@@ line {} @@\n", prefix + 1);
    let lines = removed
        .iter()
        .map(|l| format!("-{l}"))
        .chain(added.iter().map(|l| format!("+{l}")));
    let total = removed.len() + added.len();
    for line in lines.take(MAX_DIFF_LINES) {
        let _ = writeln!(out, "{line}");
    }
    if total > MAX_DIFF_LINES {
        let _ = writeln!(out, "… {} more line(s)", total - MAX_DIFF_LINES);
    }
    out
}

/// The source of harness findings.
pub const FINDING_SOURCE: &str = "scanner:test-harness";

/// The review finding a harness change is: `high`, with its diff, so a human looks at it (an `accept`
/// after the review clears it; a restored run that disagrees is refused whatever a human says).
pub fn finding(change: &HarnessChange) -> Finding {
    Finding {
        source: FINDING_SOURCE.to_owned(),
        severity: Severity::High,
        file: change.path.clone(),
        line: None,
        message: format!(
            "test harness file {} ({}): it decides how tests run or how their outcomes are reported; the result's gates also ran with the base's version restored, and a human must review the change:\n{}",
            change.change.verb(),
            change.rule.describe(),
            change.diff.trim_end()
        ),
    }
}

/// The result tested again with the base's harness files restored (SWE-bench style).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarnessCheck {
    /// The result commit the check is about.
    pub result: CommitId,
    /// The harness files the result changed (empty: nothing to restore, no run was needed).
    pub changes: Vec<HarnessChange>,
    /// The result's gates, run on the result with the base's harness files restored (present exactly
    /// when there are changes and the run could be made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<GateRun>,
    /// Why the restored run could not be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A way the restored run disagrees with the result's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarnessDifference {
    /// The gate (empty when the restored run could not be made at all).
    pub gate: String,
    /// What differs, in words.
    pub detail: String,
}

/// How the result's gates and the restored run disagree (nothing when no harness file changed). Each
/// gate the base's harness defines must exist on the result, be required alike, pass or fail alike,
/// and report the same outcome for every test either run reports. Gates only the result defines are
/// additions, and are not compared.
pub fn differences(result: &GateRun, check: &HarnessCheck) -> Vec<HarnessDifference> {
    if check.changes.is_empty() {
        return Vec::new();
    }
    let Some(restored) = &check.restored else {
        let why = check.error.as_deref().unwrap_or("it was not run");
        return vec![HarnessDifference {
            gate: String::new(),
            detail: format!("the result could not be tested with the base's harness files: {why}"),
        }];
    };
    restored
        .gates
        .iter()
        .filter_map(|base_harness| {
            let ours = result.gates.iter().find(|g| g.name == base_harness.name);
            gate_difference(base_harness, ours).map(|detail| HarnessDifference {
                gate: base_harness.name.clone(),
                detail,
            })
        })
        .collect()
}

fn gate_difference(restored: &GateObservation, ours: Option<&GateObservation>) -> Option<String> {
    let Some(ours) = ours else {
        return Some("the result's harness no longer runs this gate".to_owned());
    };
    if restored.outcome.passed() != ours.outcome.passed() {
        return Some(format!(
            "{} with the base's harness, {} with the result's",
            outcome_word(restored.outcome),
            outcome_word(ours.outcome)
        ));
    }
    if restored.required != ours.required {
        return Some("the result's harness changed whether the gate is required".to_owned());
    }
    let theirs: BTreeMap<&str, TestOutcome> = restored
        .tests
        .iter()
        .map(|t| (t.id.as_str(), t.outcome))
        .collect();
    let mine: BTreeMap<&str, TestOutcome> = ours.tests.iter().map(|t| (t.id.as_str(), t.outcome)).collect();
    let word = |o: Option<&TestOutcome>| o.map_or("absent", |o| o.as_str());
    let differing: Vec<String> = theirs
        .keys()
        .chain(mine.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|id| theirs.get(**id) != mine.get(**id))
        .map(|id| {
            format!(
                "{id}: {} with the base's harness, {} with the result's",
                word(theirs.get(*id)),
                word(mine.get(*id))
            )
        })
        .collect();
    (!differing.is_empty()).then(|| {
        let more = differing.len().saturating_sub(5);
        let shown = differing.into_iter().take(5).collect::<Vec<_>>().join("; ");
        if more > 0 {
            format!("{shown} and {more} more")
        } else {
            shown
        }
    })
}

fn outcome_word(outcome: Outcome) -> &'static str {
    if outcome.passed() { "passes" } else { "fails" }
}

#[cfg(test)]
mod tests;
