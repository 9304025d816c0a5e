//! Integration: merging a task branch into the goal's integration branch without a work tree
//! (`git merge-tree --write-tree`), moving the branch with compare-and-swap.

use std::path::Path;

use super::run::{GitError, git, git_env, git_output, is_ancestor, update_branch};
use super::worktree::FALLBACK_IDENTITY;

/// What merging a task into the integration branch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Merged {
    /// The task commit was already part of the integration branch.
    AlreadyIn(String),
    /// The branch moved forward to the task commit.
    FastForward(String),
    /// A merge commit was written.
    Merge(String),
    /// The two sides conflict in these paths; nothing changed.
    Conflict(Vec<String>),
}

impl Merged {
    /// The integration tip after the merge, unless it conflicted.
    pub fn tip(&self) -> Option<&str> {
        match self {
            Merged::AlreadyIn(c) | Merged::FastForward(c) | Merged::Merge(c) => Some(c),
            Merged::Conflict(_) => None,
        }
    }
}

/// Merge `task_commit` into `branch`, which must currently be at `tip`.
pub fn merge_task(
    repo_dir: &Path,
    branch: &str,
    tip: &str,
    task_commit: &str,
    message: &str,
    fallback_identity: bool,
) -> Result<Merged, GitError> {
    if is_ancestor(repo_dir, task_commit, tip)? {
        return Ok(Merged::AlreadyIn(tip.to_owned()));
    }
    if is_ancestor(repo_dir, tip, task_commit)? {
        update_branch(repo_dir, branch, task_commit, Some(tip))?;
        return Ok(Merged::FastForward(task_commit.to_owned()));
    }
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
            update_branch(repo_dir, branch, &commit, Some(tip))?;
            Ok(Merged::Merge(commit))
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
