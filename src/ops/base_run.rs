//! The bugfix oracle's second run: the result's changed test files laid over the base code, committed
//! and run through the gates, so a new test is shown to fail before the change (DESIGN §6).
//!
//! Returns the evidence; the driver records it (the commit becomes an `Omk-Proves` parent, so the
//! evidence stays reachable).

use std::path::Path;

use super::context::commit_id;
use super::{Context, OpsError};
use crate::git::run::{GitError, git};
use crate::git::worktree;
use crate::model::harness::{GateFiles, may_be_harness};
use crate::model::ids::CommitId;

/// Whether a path looks like a test file (by its directories and name, as test runners find them).
pub fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('/').collect();
    let (name, dirs) = parts.split_last().map_or(("", &[][..]), |(n, d)| (*n, d));
    dirs.iter()
        .any(|d| ["test", "tests", "spec", "__tests__"].contains(d))
        || name.starts_with("test_")
        || ["_test.", ".test.", "_spec.", ".spec.", "_tests."]
            .iter()
            .any(|p| name.contains(p))
}

/// Test files added or modified between `base` and `result`; test harness files (`tests/conftest.py`)
/// are not laid over: the base run judges the result's tests with the base's harness.
pub fn changed_tests(repo: &Path, base: &str, result: &str) -> Result<Vec<String>, GitError> {
    let out = git(
        repo,
        &[
            "diff",
            "--name-only",
            "--no-renames",
            "--diff-filter=AM",
            base,
            result,
        ],
    )?;
    Ok(out
        .lines()
        .filter(|p| is_test_path(p) && !may_be_harness(p, &GateFiles::default()))
        .map(str::to_owned)
        .collect())
}

/// Prepare the base-with-result-tests commit in `dir` (a detached checkout of `base`): returns the
/// commit and the files laid over, or `None` when the result changes no test file.
pub fn prepare(
    ctx: &Context,
    dir: &Path,
    base: CommitId,
    result: CommitId,
) -> Result<Option<(CommitId, Vec<String>)>, OpsError> {
    let repo = ctx
        .store
        .workdir()
        .ok_or_else(|| OpsError::Usage("the repository has no work tree".to_owned()))?;
    let (base, result) = (base.to_string(), result.to_string());
    let tests = changed_tests(repo, &base, &result)?;
    if tests.is_empty() {
        return Ok(None);
    }
    let checkout = worktree::ensure_detached(repo, ctx.store.common_dir(), dir, &base)?;
    let mut args = vec!["checkout", result.as_str(), "--"];
    args.extend(tests.iter().map(String::as_str));
    checkout.git(&args)?;
    let message = format!("omk: the result's tests on the base code\n\nOmk-Result: {result}\n");
    let fallback = ctx.store.repo().committer().is_none();
    worktree::commit_all(&checkout, &message, fallback)?;
    let commit = commit_id(&worktree::head(&checkout)?)?;
    Ok(Some((commit, tests)))
}

#[cfg(test)]
mod tests {
    use super::is_test_path;

    #[test]
    fn test_paths() {
        for p in [
            "tests/test_calc.py",
            "test_calc.py",
            "src/foo_test.go",
            "web/a.test.js",
            "spec/a_spec.rb",
            "pkg/__tests__/x.js",
            "tests/unit.rs",
        ] {
            assert!(is_test_path(p), "{p}");
        }
        for p in ["calc.py", "src/testing_utils.rs", "contest/main.c", "README.md"] {
            assert!(!is_test_path(p), "{p}");
        }
    }
}
