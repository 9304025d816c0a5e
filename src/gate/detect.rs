//! Gate detection for trees without `.omk/gates.toml` (DESIGN §6, docs/gates.md): Cargo,
//! npm/pnpm/yarn, Python/pytest, Go, and Make as a last resort.
//!
//! Owns the detection rules. Detection looks only at the root of the tested tree (and the direct
//! children of `tests/` and `test/`), as read from the commit, never from a work directory. The rules
//! are a pure function of [`TreeSample`]; [`sample`] reads that sample from the store.

use std::collections::BTreeMap;

use gix::ObjectId;
use serde::{Deserialize, Serialize};

use super::config::{DEFAULT_TIMEOUT, Gate, GateCommand, GateName};
use crate::model::gate::{RunnerKind, npm_naming_args};
use crate::store::tree::{TreeEntryKind, TreePath};
use crate::store::{Store, StoreError};

/// Which rule found a gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// `Cargo.toml` at the root.
    Cargo,
    /// `package.json` with a `test` script; npm unless another lockfile says otherwise.
    Npm,
    /// `package.json` with `pnpm-lock.yaml`.
    Pnpm,
    /// `package.json` with `yarn.lock`.
    Yarn,
    /// pytest configuration or test files.
    Pytest,
    /// `go.mod` at the root.
    Go,
    /// A `test:` target in the root Makefile.
    Make,
}

/// A detected gate and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    /// The gate.
    pub gate: Gate,
    /// The rule.
    pub detector: Detector,
    /// What in the tree triggered it (`Cargo.toml at the root`).
    pub because: String,
}

/// The few facts of a tree that detection reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeSample {
    /// Names of the files at the root.
    pub root_files: Vec<String>,
    /// Names of the directories at the root.
    pub root_dirs: Vec<String>,
    /// Contents of the root files detection reads (`package.json`, `pyproject.toml`, Makefiles…).
    pub contents: BTreeMap<String, String>,
    /// File names directly inside `tests/` and `test/`.
    pub test_dir_files: Vec<String>,
}

/// Root files whose contents detection reads.
const READ_FILES: [&str; 7] = [
    "package.json",
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "GNUmakefile",
    "makefile",
    "Makefile",
];

/// Read the sample of `commit`'s tree.
pub fn sample(store: &Store, commit: ObjectId) -> Result<TreeSample, StoreError> {
    let mut sample = TreeSample::default();
    for (name, kind) in store.dir_at(commit, "")?.unwrap_or_default() {
        match kind {
            TreeEntryKind::File => sample.root_files.push(name),
            TreeEntryKind::Directory => sample.root_dirs.push(name),
            TreeEntryKind::Link | TreeEntryKind::Submodule => {}
        }
    }
    for name in READ_FILES {
        if sample.root_files.iter().any(|f| f == name)
            && let TreePath::File(bytes) = store.path_at(commit, name)?
        {
            sample
                .contents
                .insert(name.to_owned(), String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    for dir in ["tests", "test"] {
        for (name, kind) in store.dir_at(commit, dir)?.unwrap_or_default() {
            if kind == TreeEntryKind::File {
                sample.test_dir_files.push(name);
            }
        }
    }
    Ok(sample)
}

/// Detect gates, in a fixed order: Cargo, Node, Python, Go; Make only when nothing else was found
/// (a Makefile's `test` target usually wraps one of the others).
pub fn detect(tree: &TreeSample) -> Vec<Detected> {
    let mut found = Vec::new();
    found.extend(cargo(tree));
    found.extend(node(tree));
    found.extend(pytest(tree));
    found.extend(go(tree));
    if found.is_empty() {
        found.extend(make(tree));
    }
    found
}

fn has_file(tree: &TreeSample, name: &str) -> bool {
    tree.root_files.iter().any(|f| f == name)
}

fn gate(name: &str, argv: &[&str], runner: RunnerKind, required: bool) -> Gate {
    Gate {
        name: GateName::parse(name).expect("detector gate names are valid because they are constants"),
        command: GateCommand::Exec(argv.iter().map(|a| (*a).to_owned()).collect()),
        runner,
        required,
        timeout_secs: DEFAULT_TIMEOUT.as_secs(),
        env: BTreeMap::new(),
    }
}

fn cargo(tree: &TreeSample) -> Vec<Detected> {
    if !has_file(tree, "Cargo.toml") {
        return Vec::new();
    }
    let because = "Cargo.toml at the root".to_owned();
    let test = gate("cargo-test", &["cargo", "test"], RunnerKind::Cargo, true);
    let clippy_argv = ["cargo", "clippy", "--all-targets", "--", "-D", "warnings"];
    let clippy = gate("cargo-clippy", &clippy_argv, RunnerKind::Generic, false);
    [test, clippy]
        .into_iter()
        .map(|gate| Detected {
            gate,
            detector: Detector::Cargo,
            because: because.clone(),
        })
        .collect()
}

fn node(tree: &TreeSample) -> Vec<Detected> {
    let Some(manifest) = tree.contents.get("package.json") else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(manifest) else {
        return Vec::new();
    };
    let Some(script) = json["scripts"]["test"].as_str() else {
        return Vec::new();
    };
    let (detector, tool, lockfile) = if has_file(tree, "pnpm-lock.yaml") {
        (Detector::Pnpm, "pnpm", Some("pnpm-lock.yaml"))
    } else if has_file(tree, "yarn.lock") {
        (Detector::Yarn, "yarn", Some("yarn.lock"))
    } else if has_file(tree, "package-lock.json") {
        (Detector::Npm, "npm", Some("package-lock.json"))
    } else if has_file(tree, "npm-shrinkwrap.json") {
        (Detector::Npm, "npm", Some("npm-shrinkwrap.json"))
    } else {
        (Detector::Npm, "npm", None)
    };
    let lock_note = lockfile.map(|l| format!(" and {l}")).unwrap_or_default();
    let because = format!("package.json with a test script{lock_note} at the root");
    let mut found = Vec::new();
    let has_deps = ["dependencies", "devDependencies", "optionalDependencies"]
        .iter()
        .any(|k| json[*k].as_object().is_some_and(|m| !m.is_empty()));
    if has_deps {
        let install: &[&str] = match (tool, lockfile.is_some()) {
            ("npm", true) => &["npm", "ci"],
            ("npm", false) => &["npm", "install"],
            _ => &[tool, "install", "--frozen-lockfile"],
        };
        let name = format!("{tool}-install");
        found.push(Detected {
            gate: gate(&name, install, RunnerKind::Generic, true),
            detector,
            because: because.clone(),
        });
    }
    let words: Vec<&str> = script.split_whitespace().collect();
    let runner = RunnerKind::infer(&words);
    let mut argv = vec![tool, "test"];
    if tool == "npm" {
        argv.extend(npm_naming_args(runner));
    }
    let name = format!("{tool}-test");
    found.push(Detected {
        gate: gate(&name, &argv, runner, true),
        detector,
        because,
    });
    found
}

fn pytest(tree: &TreeSample) -> Vec<Detected> {
    let because = pytest_marker(tree);
    let Some(because) = because else {
        return Vec::new();
    };
    let argv = ["python3", "-m", "pytest", "-rA", "-p", "no:cacheprovider"];
    let mut test = gate("pytest", &argv, RunnerKind::Pytest, true);
    test.env
        .insert("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned());
    vec![Detected {
        gate: test,
        detector: Detector::Pytest,
        because,
    }]
}

fn pytest_marker(tree: &TreeSample) -> Option<String> {
    let contains = |file: &str, needle: &str| tree.contents.get(file).is_some_and(|t| t.contains(needle));
    if has_file(tree, "pytest.ini") {
        Some("pytest.ini at the root".to_owned())
    } else if contains("pyproject.toml", "pytest") {
        Some("pyproject.toml mentions pytest".to_owned())
    } else if contains("setup.cfg", "[tool:pytest]") {
        Some("setup.cfg has a [tool:pytest] section".to_owned())
    } else if contains("tox.ini", "[pytest]") {
        Some("tox.ini has a [pytest] section".to_owned())
    } else if has_file(tree, "conftest.py") {
        Some("conftest.py at the root".to_owned())
    } else {
        let test_file = tree
            .test_dir_files
            .iter()
            .find(|f| f.ends_with(".py") && (f.starts_with("test_") || f.ends_with("_test.py")));
        test_file.map(|f| format!("Python test file {f} in a tests directory"))
    }
}

fn go(tree: &TreeSample) -> Vec<Detected> {
    if !has_file(tree, "go.mod") {
        return Vec::new();
    }
    vec![Detected {
        gate: gate("go-test", &["go", "test", "-v", "./..."], RunnerKind::Go, true),
        detector: Detector::Go,
        because: "go.mod at the root".to_owned(),
    }]
}

fn make(tree: &TreeSample) -> Vec<Detected> {
    let makefile = ["GNUmakefile", "makefile", "Makefile"]
        .into_iter()
        .find(|name| tree.contents.get(*name).is_some_and(|t| has_test_target(t)));
    let Some(makefile) = makefile else {
        return Vec::new();
    };
    vec![Detected {
        gate: gate("make-test", &["make", "test"], RunnerKind::Generic, true),
        detector: Detector::Make,
        because: format!("{makefile} with a test target at the root"),
    }]
}

/// A rule line `test:` / `test ::` / `check test: deps` naming the target `test`.
fn has_test_target(makefile: &str) -> bool {
    makefile.lines().any(|line| {
        if line.starts_with(['\t', ' ', '#', '.']) {
            return false;
        }
        let Some((targets, _)) = line.split_once(':') else {
            return false;
        };
        !targets.contains('=') && targets.split_whitespace().any(|t| t == "test")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> TreeSample {
        let mut t = TreeSample::default();
        for (path, text) in files {
            match path.split_once('/') {
                Some((dir, name)) => {
                    if !t.root_dirs.iter().any(|d| d == dir) {
                        t.root_dirs.push(dir.to_owned());
                    }
                    if dir == "tests" || dir == "test" {
                        t.test_dir_files.push(name.to_owned());
                    }
                }
                None => {
                    t.root_files.push((*path).to_owned());
                    if READ_FILES.contains(path) {
                        t.contents.insert((*path).to_owned(), (*text).to_owned());
                    }
                }
            }
        }
        t
    }

    fn found(t: &TreeSample) -> Vec<(String, String, RunnerKind, bool, Detector)> {
        detect(t)
            .into_iter()
            .map(|d| {
                (
                    d.gate.name.to_string(),
                    d.gate.command.display(),
                    d.gate.runner,
                    d.gate.required,
                    d.detector,
                )
            })
            .collect()
    }

    fn row(
        name: &str,
        cmd: &str,
        runner: RunnerKind,
        required: bool,
        d: Detector,
    ) -> (String, String, RunnerKind, bool, Detector) {
        (name.to_owned(), cmd.to_owned(), runner, required, d)
    }

    #[test]
    fn cargo_projects_get_tests_and_optional_clippy() {
        let t = tree(&[("Cargo.toml", ""), ("Makefile", "test:\n\tcargo test\n")]);
        assert_eq!(
            found(&t),
            vec![
                row(
                    "cargo-test",
                    "cargo test",
                    RunnerKind::Cargo,
                    true,
                    Detector::Cargo
                ),
                row(
                    "cargo-clippy",
                    "cargo clippy --all-targets -- -D warnings",
                    RunnerKind::Generic,
                    false,
                    Detector::Cargo
                ),
            ]
        );
    }

    #[test]
    fn the_lockfile_decides_the_node_tool() {
        let pkg = r#"{"scripts":{"test":"jest --ci"},"devDependencies":{"jest":"29"}}"#;
        let cases = [
            (
                "pnpm-lock.yaml",
                "pnpm install --frozen-lockfile",
                "pnpm test",
                Detector::Pnpm,
            ),
            (
                "yarn.lock",
                "yarn install --frozen-lockfile",
                "yarn test",
                Detector::Yarn,
            ),
            (
                "package-lock.json",
                "npm ci",
                "npm test -- --verbose",
                Detector::Npm,
            ),
            ("README.md", "npm install", "npm test -- --verbose", Detector::Npm),
        ];
        for (lock, install, test, detector) in cases {
            let got = found(&tree(&[("package.json", pkg), (lock, "")]));
            let tool = test.split(' ').next().unwrap();
            assert_eq!(
                got,
                vec![
                    row(
                        &format!("{tool}-install"),
                        install,
                        RunnerKind::Generic,
                        true,
                        detector
                    ),
                    row(&format!("{tool}-test"), test, RunnerKind::Jest, true, detector),
                ],
                "{lock}"
            );
        }
    }

    #[test]
    fn node_without_dependencies_or_test_script() {
        let plain = tree(&[("package.json", r#"{"scripts":{"test":"node --test"}}"#)]);
        assert_eq!(
            found(&plain),
            vec![row("npm-test", "npm test", RunnerKind::Node, true, Detector::Npm)]
        );
        let vitest = tree(&[("package.json", r#"{"scripts":{"test":"vitest run"}}"#)]);
        assert_eq!(
            found(&vitest),
            vec![row(
                "npm-test",
                "npm test -- --reporter=verbose",
                RunnerKind::Vitest,
                true,
                Detector::Npm
            )],
            "npm passes the reporter that names every test to the script"
        );
        let none = tree(&[("package.json", r#"{"scripts":{"build":"tsc"}}"#)]);
        assert!(found(&none).is_empty());
        let broken = tree(&[("package.json", "{not json")]);
        assert!(found(&broken).is_empty());
    }

    #[test]
    fn python_markers() {
        let cases: [(&[(&str, &str)], bool); 9] = [
            (&[("pytest.ini", "")], true),
            (&[("pyproject.toml", "[tool.pytest.ini_options]\n")], true),
            (&[("pyproject.toml", "[project]\nname='x'\n")], false),
            (&[("setup.cfg", "[tool:pytest]\n")], true),
            (&[("tox.ini", "[pytest]\n")], true),
            (&[("conftest.py", "")], true),
            (&[("tests/test_slug.py", "")], true),
            (&[("test/slug_test.py", "")], true),
            (&[("tests/helpers.py", ""), ("setup.py", "")], false),
        ];
        for (files, expected) in cases {
            let got = found(&tree(files));
            assert_eq!(!got.is_empty(), expected, "{files:?}");
            if expected {
                assert_eq!(
                    got,
                    vec![row(
                        "pytest",
                        "python3 -m pytest -rA -p no:cacheprovider",
                        RunnerKind::Pytest,
                        true,
                        Detector::Pytest
                    )]
                );
            }
        }
    }

    #[test]
    fn go_and_make() {
        assert_eq!(
            found(&tree(&[("go.mod", "module x\n")])),
            vec![row(
                "go-test",
                "go test -v ./...",
                RunnerKind::Go,
                true,
                Detector::Go
            )]
        );
        assert_eq!(
            found(&tree(&[(
                "Makefile",
                "all: build\n\ntest: build\n\t./run-tests\n"
            )])),
            vec![row(
                "make-test",
                "make test",
                RunnerKind::Generic,
                true,
                Detector::Make
            )]
        );
        for makefile in [
            "testing:\n\tx\n",
            "TEST = 1\n",
            "\ttest: x\n",
            ".PHONY: test\n",
            "x := test: y\n",
        ] {
            assert!(found(&tree(&[("Makefile", makefile)])).is_empty(), "{makefile:?}");
        }
        assert!(found(&tree(&[("README.md", "")])).is_empty());
    }

    #[test]
    fn every_detection_says_why() {
        let t = tree(&[("Cargo.toml", ""), ("go.mod", ""), ("pytest.ini", "")]);
        let detected = detect(&t);
        assert_eq!(detected.len(), 4);
        assert!(detected.iter().all(|d| !d.because.is_empty()));
        assert_eq!(detected[3].because, "go.mod at the root");
    }
}
