//! Harness tests: which files are the harness, what of a sectioned file counts, restoring the base's
//! version, and when the restored run disagrees.

use super::*;
use crate::model::gate::{RunnerKind, TestResult};
use crate::model::ids::fake;

fn words(command: &str) -> Vec<String> {
    command.split_whitespace().map(str::to_owned).collect()
}

fn gates(commands: &[&str]) -> GateFiles {
    GateFiles::from_commands(&commands.iter().map(|c| words(c)).collect::<Vec<_>>())
}

fn change<'a>(path: &'a str, old: Option<&'a str>, new: Option<&'a str>) -> ChangedText<'a> {
    ChangedText {
        path,
        old: old.map(str::as_bytes),
        new: new.map(str::as_bytes),
    }
}

fn rule_of(path: &str, old: Option<&str>, new: Option<&str>, g: &GateFiles) -> Option<HarnessRule> {
    harness_changes(&[change(path, old, new)], g)
        .first()
        .map(|c| c.rule)
}

#[test]
fn harness_files_by_path() {
    use HarnessRule::*;
    let make = gates(&["python3 -m pytest -rA", "make test", "sh -c ./scripts/check.sh"]);
    let cases: [(&str, Option<HarnessRule>); 18] = [
        ("conftest.py", Some(Conftest)),
        ("tests/unit/conftest.py", Some(Conftest)),
        ("pytest.ini", Some(PytestConfig)),
        ("sub/.pytest.ini", Some(PytestConfig)),
        ("jest.config.js", Some(JsRunnerConfig)),
        ("web/vitest.config.ts", Some(JsRunnerConfig)),
        ("vite.config.mjs", Some(JsRunnerConfig)),
        (".cargo/config.toml", Some(CargoConfig)),
        ("crates/a/.cargo/config", Some(CargoConfig)),
        ("build.rs", Some(BuildScript)),
        ("crates/a/build.rs", Some(BuildScript)),
        (".omk/gates.toml", Some(OmkConfig)),
        ("Makefile", Some(GateFile)),
        ("scripts/check.sh", Some(GateFile)),
        ("calc.py", None),
        ("tests/test_calc.py", None),
        ("docs/conftest.md", None),
        ("src/build.rs.bak", None),
    ];
    for (path, expected) in cases {
        assert_eq!(rule_of(path, Some("a"), Some("b"), &make), expected, "{path}");
    }
    let no_make = gates(&["cargo test"]);
    assert_eq!(
        rule_of("Makefile", Some("a"), Some("b"), &no_make),
        None,
        "no gate runs make"
    );
    assert!(may_be_harness("pyproject.toml", &no_make));
    assert!(!may_be_harness("src/lib.rs", &no_make));
}

#[test]
fn added_modified_and_deleted_harness_files_carry_their_diff() {
    let g = GateFiles::default();
    let hook = "def pytest_runtest_makereport(item, call):\n    pass\n";
    let added = harness_changes(&[change("conftest.py", None, Some(hook))], &g);
    assert_eq!(added[0].change, FileChange::Added);
    assert_eq!(
        added[0].diff,
        "@@ line 1 @@\n+def pytest_runtest_makereport(item, call):\n+    pass\n"
    );
    let deleted = harness_changes(&[change("pytest.ini", Some("[pytest]\n"), None)], &g);
    assert_eq!(deleted[0].change, FileChange::Deleted);
    assert_eq!(deleted[0].diff, "@@ line 1 @@\n-[pytest]\n");
}

#[test]
fn only_the_test_sections_of_pyproject_setup_cfg_and_tox_count() {
    let g = GateFiles::default();
    let before =
        "[project]\nname = \"calc\"\ndependencies = []\n\n[tool.pytest.ini_options]\naddopts = \"-q\"\n";
    let new_dependency = before.replace("dependencies = []", "dependencies = [\"attrs\"]");
    assert_eq!(
        rule_of("pyproject.toml", Some(before), Some(&new_dependency), &g),
        None
    );
    let deselect = before.replace("-q", "-q --deselect tests/test_calc.py::test_add");
    let c = harness_changes(&[change("pyproject.toml", Some(before), Some(&deselect))], &g);
    assert_eq!(c[0].rule, HarnessRule::PyprojectPytest);
    assert!(
        c[0].diff
            .contains("+addopts = \"-q --deselect tests/test_calc.py::test_add\""),
        "{}",
        c[0].diff
    );
    assert!(!c[0].diff.contains("dependencies"), "{}", c[0].diff);

    let cfg = "[metadata]\nname = calc\n";
    let with_pytest = format!("{cfg}[tool:pytest]\naddopts = -k 'not add'\n");
    assert_eq!(
        rule_of("setup.cfg", Some(cfg), Some(&with_pytest), &g),
        Some(HarnessRule::SetupCfgPytest)
    );
    let tox = "[tox]\nenvlist = py3\n[testenv]\ncommands = pytest\n[flake8]\nmax-line-length = 80\n";
    let lint_only = tox.replace("80", "100");
    assert_eq!(rule_of("tox.ini", Some(tox), Some(&lint_only), &g), None);
    let filtered = tox.replace("commands = pytest", "commands = pytest -k 'not add'");
    assert_eq!(
        rule_of("tox.ini", Some(tox), Some(&filtered), &g),
        Some(HarnessRule::ToxSections)
    );
}

#[test]
fn only_the_test_scripts_and_jest_key_of_package_json_count() {
    let g = gates(&["npm ci", "npm run test:unit"]);
    let before = r#"{"name": "x", "scripts": {"test": "node --test", "test:unit": "node --test test/unit", "build": "tsc"}, "dependencies": {}}"#;
    let cases = [
        (
            before.replace("\"dependencies\": {}", "\"dependencies\": {\"a\": \"1\"}"),
            None,
        ),
        (before.replace("tsc", "tsc -p ."), None),
        (
            before.replace("\"node --test\"", "\"node --test --test-name-pattern=sub\""),
            Some(HarnessRule::PackageJsonTest),
        ),
        (
            before.replace("test/unit\"", "test/unit --test-skip-pattern=add\""),
            Some(HarnessRule::PackageJsonTest),
        ),
        (
            before.replace("\"build\"", "\"pretest:unit\": \"exit 0\", \"build\""),
            Some(HarnessRule::PackageJsonTest),
        ),
        (
            before.replace(
                "\"name\": \"x\"",
                "\"name\": \"x\", \"jest\": {\"testPathIgnorePatterns\": [\"add\"]}",
            ),
            Some(HarnessRule::PackageJsonTest),
        ),
        ("{ not json".to_owned(), Some(HarnessRule::PackageJsonTest)),
    ];
    for (after, expected) in cases {
        assert_eq!(
            rule_of("package.json", Some(before), Some(&after), &g),
            expected,
            "{after}"
        );
    }
}

#[test]
fn restoring_puts_back_the_base_harness_and_keeps_the_rest_of_the_change() {
    let g = gates(&["npm test"]);
    let restore_of = |path: &str, old: Option<&str>, new: Option<&str>| -> Option<String> {
        let c = harness_changes(&[change(path, old, new)], &g).remove(0);
        restore(&c, old.map(str::as_bytes), new.map(str::as_bytes), &g).map(|b| String::from_utf8(b).unwrap())
    };
    assert_eq!(
        restore_of("conftest.py", None, Some("hook\n")),
        None,
        "a new conftest.py is removed"
    );
    assert_eq!(
        restore_of("tests/conftest.py", Some("fixture\n"), Some("hook\n")).as_deref(),
        Some("fixture\n")
    );
    assert_eq!(
        restore_of("pytest.ini", Some("[pytest]\n"), None).as_deref(),
        Some("[pytest]\n")
    );

    let before = "[project]\ndependencies = []\n\n[tool.pytest.ini_options]\naddopts = \"-q\"\n";
    let after =
        "[project]\ndependencies = [\"attrs\"]\n\n[tool.pytest.ini_options]\naddopts = \"-q -k 'not add'\"\n";
    let restored = restore_of("pyproject.toml", Some(before), Some(after)).unwrap();
    assert!(restored.contains("dependencies = [\"attrs\"]"), "{restored}");
    assert!(
        restored.contains("addopts = \"-q\"\n") && !restored.contains("not add"),
        "{restored}"
    );

    let before = r#"{"scripts": {"test": "node --test"}, "dependencies": {}}"#;
    let after = r#"{"scripts": {"test": "node --test --test-skip-pattern=add", "lint": "x"}, "dependencies": {"a": "1"}}"#;
    let restored: serde_json::Value =
        serde_json::from_str(&restore_of("package.json", Some(before), Some(after)).unwrap()).unwrap();
    assert_eq!(restored["scripts"]["test"], "node --test");
    assert_eq!(restored["scripts"]["lint"], "x");
    assert_eq!(restored["dependencies"]["a"], "1");
}

#[test]
fn gate_files_come_from_the_words_of_gate_commands() {
    let g = gates(&[
        "make -f build/ci.mk check",
        "./run-tests.sh --fast",
        "sh -c 'scripts/a.sh && /usr/bin/true'",
        "pnpm --silent lint",
        "yarn run-script e2e",
    ]);
    for path in [
        "GNUmakefile",
        "Makefile",
        "build/ci.mk",
        "run-tests.sh",
        "scripts/a.sh",
    ] {
        assert!(g.names(path), "{path}");
    }
    for absent in ["usr/bin/true", "/usr/bin/true", "--fast"] {
        assert!(!g.names(absent), "{absent}");
    }
    assert_eq!(g.scripts, ["lint", "e2e"]);
}

#[test]
fn diffs_are_bounded() {
    let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
    let new = old.replace("line 50\n", "changed\n");
    assert_eq!(short_diff(&old, &new), "@@ line 51 @@\n-line 50\n+changed\n");
    let d = short_diff("", &old);
    assert_eq!(d.lines().count(), 1 + MAX_DIFF_LINES + 1);
    assert!(d.ends_with("… 60 more line(s)\n"), "{d}");
}

fn observed(name: &str, outcome: Outcome, tests: &[(&str, TestOutcome)]) -> GateObservation {
    GateObservation {
        name: name.to_owned(),
        required: true,
        outcome,
        reason: None,
        tests: tests
            .iter()
            .map(|(id, o)| TestResult {
                id: (*id).to_owned(),
                outcome: *o,
            })
            .collect(),
        runner: RunnerKind::Pytest,
        metrics: Vec::new(),
    }
}

fn gate_run(commit: &str, gates: Vec<GateObservation>) -> GateRun {
    GateRun {
        commit: fake::commit(commit),
        tree: fake::tree(&format!("{commit}-tree")),
        config_hash: "cfg".to_owned(),
        gates,
        evidence: Vec::new(),
    }
}

fn check(restored: Option<GateRun>) -> HarnessCheck {
    HarnessCheck {
        result: fake::commit("r"),
        changes: harness_changes(
            &[change("conftest.py", None, Some("hook"))],
            &GateFiles::default(),
        ),
        restored,
        error: None,
    }
}

#[test]
fn the_restored_run_must_agree_with_the_result_gate_by_gate_and_test_by_test() {
    use TestOutcome::*;
    let result = gate_run(
        "r",
        vec![observed(
            "pytest",
            Outcome::Passed,
            &[("t::add", Passed), ("t::sub", Passed)],
        )],
    );
    let same = check(Some(gate_run("x", result.gates.clone())));
    assert_eq!(differences(&result, &same), []);
    let nothing_changed = HarnessCheck {
        changes: Vec::new(),
        ..check(None)
    };
    assert_eq!(differences(&result, &nothing_changed), []);

    // A hook turned test_add's failure into a pass: with the base's harness it fails.
    let hooked = check(Some(gate_run(
        "x",
        vec![observed(
            "pytest",
            Outcome::Failed,
            &[("t::add", Failed), ("t::sub", Passed)],
        )],
    )));
    let d = differences(&result, &hooked);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].gate, "pytest");
    assert_eq!(
        d[0].detail,
        "fails with the base's harness, passes with the result's"
    );

    // An ini option deselected t::extra: the gate passes both ways, but the tests differ.
    let deselected = check(Some(gate_run(
        "x",
        vec![observed(
            "pytest",
            Outcome::Passed,
            &[("t::add", Passed), ("t::sub", Passed), ("t::extra", Passed)],
        )],
    )));
    let d = differences(&result, &deselected);
    assert_eq!(
        d[0].detail,
        "t::extra: passed with the base's harness, absent with the result's"
    );

    let gate_gone = check(Some(gate_run(
        "x",
        vec![result.gates[0].clone(), observed("lint", Outcome::Passed, &[])],
    )));
    assert_eq!(differences(&result, &gate_gone)[0].gate, "lint");

    let failed_to_run = HarnessCheck {
        error: Some("the gates cannot be run".to_owned()),
        ..check(None)
    };
    let d = differences(&result, &failed_to_run);
    assert!(d[0].detail.contains("the gates cannot be run"), "{:?}", d);
}
