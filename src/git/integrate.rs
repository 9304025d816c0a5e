//! Integration: merging a task branch into the goal's integration branch without a work tree
//! (`git merge-tree --write-tree` and `git commit-tree`); the caller moves the branch.

use std::path::Path;

use super::run::{GitError, git, git_env, git_output};
use super::worktree::FALLBACK_IDENTITY;

/// What merging a task commit onto the integration tip wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Merged {
    /// The integration tip after the merge (here: a new merge commit of the tip and the task commit).
    Tip(String),
    /// The two sides conflict in these paths; nothing was written.
    Conflict(Vec<String>),
}

/// Write the merge of `task_commit` into `tip` as a commit whose first parent is `tip`, without a work
/// tree and without moving any branch (the caller moves the integration branch once, with
/// compare-and-swap, after merging every task of the step).
pub fn merge_commit(
    repo_dir: &Path,
    tip: &str,
    task_commit: &str,
    message: &str,
    fallback_identity: bool,
) -> Result<Merged, GitError> {
    let out = git_output(
        repo_dir,
        &[
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            tip,
            task_commit,
        ],
        &[],
    )?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    match out.status.code() {
        Some(0) => {
            let tree = stdout.lines().next().unwrap_or_default().trim().to_owned();
            let env: &[(&str, &str)] = if fallback_identity {
                &FALLBACK_IDENTITY
            } else {
                &[]
            };
            let commit = git_env(
                repo_dir,
                &["commit-tree", &tree, "-p", tip, "-p", task_commit, "-m", message],
                env,
            )?;
            Ok(Merged::Tip(commit))
        }
        Some(1) => Ok(Merged::Conflict(
            stdout
                .lines()
                .skip(1)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        code => Err(GitError::Failed {
            args: format!("merge-tree --write-tree {tip} {task_commit}"),
            code,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        }),
    }
}

/// The tree of a commit.
pub fn tree_of(repo_dir: &Path, commit: &str) -> Result<String, GitError> {
    git(repo_dir, &["rev-parse", &format!("{commit}^{{tree}}")])
}
