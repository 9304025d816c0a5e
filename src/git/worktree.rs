//! Task worktrees: created outside the user's work tree on the task's branch, committed with git-omk
//! trailers, snapshotted when interrupted, and removed only when their commits are safe.
//!
//! Uses the git CLI (gix cannot create worktrees) so the user's configuration applies. Hooks never run
//! (`process::git`; commits are also made with `--no-verify`): the project's checks run as gates, not as
//! side effects of recording agent work. Everything done inside a worktree goes through its
//! [`Checkout`], found from the shared git directory, never through the worktree's own `.git` file.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use super::checkout::Checkout;
use super::run::{GitError, git};
use crate::clock::random_bytes;
use crate::model::backoff::Backoff;

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

/// Make sure a worktree for `branch` exists at `path` in the repository whose work tree is `repo_dir`
/// and shared git directory `common_dir`: reuse it when it is already there, check the branch out when
/// it exists, otherwise create the branch at `start`. Returns the checkout, located from `common_dir`.
///
/// The common case (a new task) is one `git worktree add -b`. When that fails — the branch exists (a
/// retried or resumed task), a stale registration is in the way, or a concurrent `worktree add` of a
/// sibling task raced it — stale registrations are pruned and the right form is tried once more.
pub fn ensure(
    repo_dir: &Path,
    common_dir: &Path,
    path: &Path,
    branch: &str,
    start: &str,
) -> Result<Checkout, GitError> {
    if let Ok(checkout) = Checkout::locate(common_dir, path)
        && checkout.check_pointer().is_ok()
        && checkout
            .git(&["symbolic-ref", "--short", "HEAD"])
            .is_ok_and(|b| b == branch)
    {
        return Ok(checkout);
    }
    create_parent(path)?;
    let _turn = registering();
    let target = path.to_string_lossy();
    let new_branch = ["worktree", "add", "--quiet", "-b", branch, &target, start];
    if !path.exists() && git(repo_dir, &new_branch).is_ok() {
        return Checkout::locate(common_dir, path);
    }
    retried(|| {
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
            git(repo_dir, &["worktree", "add", "--quiet", &target, branch])
        } else {
            git(repo_dir, &new_branch)
        }
    })?;
    Checkout::locate(common_dir, path)
}

/// `git worktree add` reads every other registration under `worktrees/` and fails on one that a
/// concurrent add has only half written ("failed to read …/commondir"). Within this process the
/// worktree registrations take turns under this lock; against another process (another goal's
/// controller in the same repository) [`retried`] tries again.
static REGISTRATIONS: Mutex<()> = Mutex::new(());

/// This process's turn to add or remove worktree registrations.
fn registering() -> MutexGuard<'static, ()> {
    REGISTRATIONS.lock().unwrap_or_else(PoisonError::into_inner)
}

fn retried<T>(mut register: impl FnMut() -> Result<T, GitError>) -> Result<T, GitError> {
    let mut backoff = Backoff::worktree_registrations();
    loop {
        match register() {
            Ok(done) => return Ok(done),
            Err(e) => match backoff.next_delay(random_bytes::<1>()[0]) {
                Some(wait) => std::thread::sleep(wait),
                None => return Err(e),
            },
        }
    }
}

fn create_parent(path: &Path) -> Result<(), GitError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| GitError::Spawn {
            args: format!("mkdir {}", parent.display()),
            source,
        })?;
    }
    Ok(())
}

/// Stage everything in the worktree and commit it with `message`; `None` when there was nothing to
/// commit. `fallback_identity` supplies an identity when the user has none.
pub fn commit_all(
    worktree: &Checkout,
    message: &str,
    fallback_identity: bool,
) -> Result<Option<String>, GitError> {
    worktree.git(&["add", "--all"])?;
    let staged = worktree.git_output(&["diff", "--cached", "--quiet"], &[])?;
    if staged.status.success() {
        return Ok(None);
    }
    let env: &[(&str, &str)] = if fallback_identity {
        &FALLBACK_IDENTITY
    } else {
        &[]
    };
    worktree.git_env(
        &["commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message],
        env,
    )?;
    worktree.git(&["rev-parse", "HEAD"]).map(Some)
}

/// The commit checked out in a worktree.
pub fn head(worktree: &Checkout) -> Result<String, GitError> {
    worktree.git(&["rev-parse", "HEAD"])
}

/// Paths changed in the worktree relative to `since` (committed or not), repository-relative.
pub fn changed_paths(worktree: &Checkout, since: &str) -> Result<Vec<String>, GitError> {
    worktree.git(&["add", "--all", "--intent-to-add"])?;
    let out = worktree.git(&["diff", "--name-only", "--no-renames", since])?;
    Ok(out.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect())
}

/// A worktree's HEAD and whether it holds changes `commit_all` would commit (tracked or untracked, not
/// ignored), read with one `git status`.
pub fn state(worktree: &Checkout) -> Result<(String, bool), GitError> {
    let out = worktree.git(&["status", "--porcelain=v2", "--branch", "--untracked-files=all"])?;
    let head = out
        .lines()
        .find_map(|l| l.strip_prefix("# branch.oid "))
        .filter(|oid| oid.len() >= 40 && oid.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    let dirty = out.lines().any(|l| !l.starts_with('#'));
    match head {
        Some(head) => Ok((head, dirty)),
        None => Ok((worktree.git(&["rev-parse", "HEAD"])?, dirty)),
    }
}

/// Remove a worktree whose work is safe. Refuses (git refuses) when it has uncommitted changes.
pub fn remove(repo_dir: &Path, path: &Path) -> Result<(), GitError> {
    let _turn = registering();
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
pub fn discard(worktree: &Checkout, start: &str, paths: &[String]) -> Result<(), GitError> {
    for path in paths {
        let existed = worktree
            .git(&["cat-file", "-e", &format!("{start}:{path}")])
            .is_ok();
        if existed {
            worktree.git(&["checkout", start, "--", path])?;
        } else {
            let _ = worktree.git(&["rm", "-q", "--cached", "--ignore-unmatch", "--", path]);
            let full = worktree.path().join(path);
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
/// same commit is reused. Returns the checkout, located from `common_dir`.
pub fn ensure_detached(
    repo_dir: &Path,
    common_dir: &Path,
    path: &Path,
    commit: &str,
) -> Result<Checkout, GitError> {
    if let Ok(checkout) = Checkout::locate(common_dir, path)
        && checkout.check_pointer().is_ok()
        && head(&checkout).is_ok_and(|h| h == commit)
    {
        return Ok(checkout);
    }
    let _turn = registering();
    if path.exists() {
        let _ = git(
            repo_dir,
            &["worktree", "remove", "--force", &path.to_string_lossy()],
        );
        let _ = std::fs::remove_dir_all(path);
    }
    create_parent(path)?;
    retried(|| {
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
    })?;
    Checkout::locate(common_dir, path)
}

/// Remove a detached checkout made for gates (it holds no work, only a checkout and build output).
pub fn remove_checkout(repo_dir: &Path, path: &Path) -> Result<(), GitError> {
    let _turn = registering();
    git(
        repo_dir,
        &["worktree", "remove", "--force", &path.to_string_lossy()],
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::checkout::tests::repo_in;

    /// Sibling tasks start side by side: every one of them gets its worktree on its branch, although
    /// `git worktree add` reads the other registrations while they are half written.
    #[test]
    fn worktrees_added_side_by_side_are_all_created() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = repo_in(tmp.path());
        let start = git(&repo, &["rev-parse", "HEAD"]).unwrap();
        let common = repo.join(".git");
        for round in 0..4 {
            let threads: Vec<_> = (0..8)
                .map(|i| {
                    let (repo, common, start) = (repo.clone(), common.clone(), start.clone());
                    let path = tmp.path().join(format!("wt-{round}-{i}"));
                    std::thread::spawn(move || {
                        let branch = format!("task-{round}-{i}");
                        ensure(&repo, &common, &path, &branch, &start)
                            .map(|c| c.git(&["symbolic-ref", "--short", "HEAD"]))
                            .map_err(|e| e.to_string())
                    })
                })
                .collect();
            for (i, thread) in threads.into_iter().enumerate() {
                let head = thread.join().unwrap();
                assert_eq!(
                    head.map(|h| h.ok()),
                    Ok(Some(format!("task-{round}-{i}"))),
                    "round {round}, worktree {i}"
                );
            }
        }
    }
}
