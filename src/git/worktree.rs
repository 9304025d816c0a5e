//! Task worktrees: created outside the user's work tree on the task's branch, committed with git-omk
//! trailers, snapshotted when interrupted, and removed only when their commits are safe.
//!
//! Uses the git CLI (gix cannot create worktrees) so the user's configuration applies. Commits are made
//! with `--no-verify`: the project's hooks run as gates, not as side effects of recording agent work.

use std::path::{Path, PathBuf};

use super::run::{GitError, git, git_env, git_output};

/// The identity used for commits when the user configured none.
pub const FALLBACK_IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "git-omk"),
    ("GIT_AUTHOR_EMAIL", "omk@localhost"),
    ("GIT_COMMITTER_NAME", "git-omk"),
    ("GIT_COMMITTER_EMAIL", "omk@localhost"),
];

/// A task's worktree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Worktree {
    /// Where it is.
    pub path: PathBuf,
    /// The branch checked out in it.
    pub branch: String,
}

/// Make sure a worktree for `branch` exists at `path`: reuse it when it is already there, check the
/// branch out when it exists, otherwise create the branch at `start`.
///
/// The common case (a new task) is one `git worktree add -b`. When that fails — the branch exists (a
/// retried or resumed task), a stale registration is in the way, or a concurrent `worktree add` of a
/// sibling task raced it — stale registrations are pruned and the right form is tried once more.
pub fn ensure(repo_dir: &Path, path: &Path, branch: &str, start: &str) -> Result<Worktree, GitError> {
    let worktree = Worktree {
        path: path.to_path_buf(),
        branch: branch.to_owned(),
    };
    if path.join(".git").exists()
        && git(path, &["symbolic-ref", "--short", "HEAD"]).is_ok_and(|b| b == branch)
    {
        return Ok(worktree);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| GitError::Spawn {
            args: format!("mkdir {}", parent.display()),
            source,
        })?;
    }
    let target = path.to_string_lossy();
    let new_branch = ["worktree", "add", "--quiet", "-b", branch, &target, start];
    if !path.exists() && git(repo_dir, &new_branch).is_ok() {
        return Ok(worktree);
    }
    let _ = git(repo_dir, &["worktree", "prune"]);
    let exists = git(
        repo_dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
    .is_ok();
    if exists {
        git(repo_dir, &["worktree", "add", "--quiet", &target, branch])?;
    } else {
        git(repo_dir, &new_branch)?;
    }
    Ok(worktree)
}

/// Stage everything in the worktree and commit it with `message`; `None` when there was nothing to
/// commit. `fallback_identity` supplies an identity when the user has none.
pub fn commit_all(
    worktree: &Path,
    message: &str,
    fallback_identity: bool,
) -> Result<Option<String>, GitError> {
    git(worktree, &["add", "--all"])?;
    let staged = git_output(worktree, &["diff", "--cached", "--quiet"], &[])?;
    if staged.status.success() {
        return Ok(None);
    }
    let env: &[(&str, &str)] = if fallback_identity {
        &FALLBACK_IDENTITY
    } else {
        &[]
    };
    git_env(
        worktree,
        &["commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message],
        env,
    )?;
    git(worktree, &["rev-parse", "HEAD"]).map(Some)
}

/// The commit checked out in a worktree.
pub fn head(worktree: &Path) -> Result<String, GitError> {
    git(worktree, &["rev-parse", "HEAD"])
}

/// Paths changed in the worktree relative to `since` (committed or not), repository-relative.
pub fn changed_paths(worktree: &Path, since: &str) -> Result<Vec<String>, GitError> {
    git(worktree, &["add", "--all", "--intent-to-add"])?;
    let out = git(worktree, &["diff", "--name-only", "--no-renames", since])?;
    Ok(out.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect())
}

/// A worktree's HEAD and whether it holds changes `commit_all` would commit (tracked or untracked, not
/// ignored), read with one `git status`.
pub fn state(worktree: &Path) -> Result<(String, bool), GitError> {
    let out = git(
        worktree,
        &["status", "--porcelain=v2", "--branch", "--untracked-files=all"],
    )?;
    let head = out
        .lines()
        .find_map(|l| l.strip_prefix("# branch.oid "))
        .filter(|oid| oid.len() >= 40 && oid.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    let dirty = out.lines().any(|l| !l.starts_with('#'));
    match head {
        Some(head) => Ok((head, dirty)),
        None => Ok((git(worktree, &["rev-parse", "HEAD"])?, dirty)),
    }
}

/// Remove a worktree whose work is safe. Refuses (git refuses) when it has uncommitted changes.
pub fn remove(repo_dir: &Path, path: &Path) -> Result<(), GitError> {
    git(repo_dir, &["worktree", "remove", &path.to_string_lossy()]).map(drop)
}

/// Worktrees registered in the repository: (path, branch) pairs.
pub fn list(repo_dir: &Path) -> Result<Vec<Worktree>, GitError> {
    let out = git(repo_dir, &["worktree", "list", "--porcelain"])?;
    let mut found = Vec::new();
    let mut path: Option<PathBuf> = None;
    for line in out.lines() {
        if let Some(p) = line.strip_prefix("worktree ") {
            path = Some(PathBuf::from(p));
        } else if let Some(b) = line.strip_prefix("branch refs/heads/")
            && let Some(p) = path.take()
        {
            found.push(Worktree {
                path: p,
                branch: b.to_owned(),
            });
        }
    }
    Ok(found)
}

/// Put `paths` back as they were at `start` (deleting those that did not exist there): used to drop
/// changes an agent made outside its write set, after recording them as evidence.
pub fn discard(worktree: &Path, start: &str, paths: &[String]) -> Result<(), GitError> {
    for path in paths {
        let existed = git(worktree, &["cat-file", "-e", &format!("{start}:{path}")]).is_ok();
        if existed {
            git(worktree, &["checkout", start, "--", path])?;
        } else {
            let _ = git(
                worktree,
                &["rm", "-q", "--cached", "--ignore-unmatch", "--", path],
            );
            let full = worktree.join(path);
            if full.is_dir() {
                let _ = std::fs::remove_dir_all(&full);
            } else {
                let _ = std::fs::remove_file(&full);
            }
        }
    }
    Ok(())
}

/// Add a detached worktree at `commit` (a clean checkout for running gates); an existing one at the
/// same commit is reused.
pub fn ensure_detached(repo_dir: &Path, path: &Path, commit: &str) -> Result<(), GitError> {
    if path.join(".git").exists() && head(path).is_ok_and(|h| h == commit) {
        return Ok(());
    }
    if path.exists() {
        let _ = git(
            repo_dir,
            &["worktree", "remove", "--force", &path.to_string_lossy()],
        );
        let _ = std::fs::remove_dir_all(path);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| GitError::Spawn {
            args: format!("mkdir {}", parent.display()),
            source,
        })?;
    }
    let _ = git(repo_dir, &["worktree", "prune"]);
    git(
        repo_dir,
        &[
            "worktree",
            "add",
            "--quiet",
            "--detach",
            &path.to_string_lossy(),
            commit,
        ],
    )
    .map(drop)
}

/// Remove a detached checkout made for gates (it holds no work, only a checkout and build output).
pub fn remove_checkout(repo_dir: &Path, path: &Path) -> Result<(), GitError> {
    git(
        repo_dir,
        &["worktree", "remove", "--force", &path.to_string_lossy()],
    )
    .map(drop)
}
