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
