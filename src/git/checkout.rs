//! A checkout git-omk works in (a task worktree, a gate or review checkout), addressed without trusting
//! it: its git directory is found from the repository's shared git directory, never from the `.git`
//! file inside the checkout, which whatever runs there could rewrite to point git-omk at the user's
//! repository.
//!
//! Owns locating a linked worktree's administrative directory (`<common>/worktrees/<id>`, whose `gitdir`
//! file names the checkout's `.git`), running git on the checkout with `--git-dir` and `--work-tree`
//! given explicitly, and checking (and repairing) the `.git` pointer. Must not decide what to commit.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::run::{GitError, checked};
use crate::process;

/// A checkout and the git directory that belongs to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    work_tree: PathBuf,
    git_dir: PathBuf,
}

/// What is wrong with a checkout's `.git` pointer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the .git pointer of {work_tree} was changed: {found} (git omk expects `{expected}`)")]
pub struct PointerChanged {
    /// The checkout.
    pub work_tree: String,
    /// What it should say.
    pub expected: String,
    /// What was found instead.
    pub found: String,
}

impl Checkout {
    /// The checkout at `work_tree` of the repository whose shared git directory is `common_dir`: its
    /// main work tree, or the linked worktree that the shared directory registers at that path.
    pub fn locate(common_dir: &Path, work_tree: &Path) -> Result<Checkout, GitError> {
        let not_found = |reason: String| GitError::Checkout {
            path: work_tree.display().to_string(),
            reason,
        };
        let common = common_dir
            .canonicalize()
            .map_err(|e| not_found(format!("the git directory {}: {e}", common_dir.display())))?;
        let work = work_tree.canonicalize().map_err(|e| not_found(e.to_string()))?;
        let dot_git = work.join(".git");
        if dot_git.canonicalize().is_ok_and(|p| p == common) {
            return Ok(Checkout {
                work_tree: work,
                git_dir: common,
            });
        }
        let admin = admin_dir(&common, &dot_git)
            .ok_or_else(|| not_found(format!("no worktree of {} is registered there", common.display())))?;
        Ok(Checkout {
            work_tree: work,
            git_dir: admin,
        })
    }

    /// The checkout containing `dir`, as git finds it from there (through the `.git` it meets). Only
    /// for a directory nothing untrusted has run in yet (a work directory handed to a session without
    /// its repository); git-omk's controller always uses [`Checkout::locate`].
    pub fn discover(dir: &Path) -> Result<Checkout, GitError> {
        let args = ["rev-parse", "--show-toplevel", "--absolute-git-dir"];
        let out = process::output(process::git(dir).args(args)).map_err(|source| GitError::Spawn {
            args: args.join(" "),
            source,
        })?;
        let text = checked(&args, out)?;
        let mut lines = text.lines();
        let (Some(top), Some(git_dir)) = (lines.next(), lines.next()) else {
            return Err(GitError::Checkout {
                path: dir.display().to_string(),
                reason: "git did not name its work tree and git directory".to_owned(),
            });
        };
        let canonical = |p: &str| Path::new(p).canonicalize().unwrap_or_else(|_| PathBuf::from(p));
        Ok(Checkout {
            work_tree: canonical(top),
            git_dir: canonical(git_dir),
        })
    }

    /// The checkout's directory.
    pub fn path(&self) -> &Path {
        &self.work_tree
    }

    /// Its git directory (a linked worktree's administrative directory, or the repository's own).
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The repository's shared git directory: a linked worktree's administrative directory sits in
    /// its `worktrees/` (git makes it so).
    pub fn common_dir(&self) -> PathBuf {
        if self.is_linked()
            && let Some(common) = self.git_dir.parent().and_then(Path::parent)
        {
            return common.to_path_buf();
        }
        self.git_dir.clone()
    }

    /// Whether this is a linked worktree (its `.git` is a pointer file) rather than a main work tree.
    fn is_linked(&self) -> bool {
        self.git_dir != self.work_tree.join(".git")
    }

    /// `git args…` on this checkout; its output whatever the exit code.
    pub fn git_output(&self, args: &[&str], env: &[(&str, &str)]) -> Result<Output, GitError> {
        let mut cmd = process::git(&self.work_tree);
        cmd.arg(format!("--git-dir={}", self.git_dir.display()))
            .arg(format!("--work-tree={}", self.work_tree.display()))
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        process::output(&mut cmd).map_err(|source| GitError::Spawn {
            args: args.join(" "),
            source,
        })
    }

    /// `git args…` on this checkout; fails unless it exits 0; returns trimmed stdout.
    pub fn git(&self, args: &[&str]) -> Result<String, GitError> {
        self.git_env(args, &[])
    }

    /// Like [`Checkout::git`] with extra environment.
    pub fn git_env(&self, args: &[&str], env: &[(&str, &str)]) -> Result<String, GitError> {
        checked(args, self.git_output(args, env)?)
    }

    /// The `.git` entry git wrote into the checkout, as it should still be.
    fn expected_pointer(&self) -> String {
        format!("gitdir: {}", self.git_dir.display())
    }

    /// Check that the checkout's `.git` still names this checkout's git directory (a linked worktree's
    /// pointer file, byte for byte as git wrote it; a main work tree's `.git` directory). A changed
    /// pointer is what a program running in the checkout would do to make git commands — the user's
    /// and the agent's — act on another repository.
    pub fn check_pointer(&self) -> Result<(), PointerChanged> {
        let dot_git = self.work_tree.join(".git");
        let changed = |found: String| PointerChanged {
            work_tree: self.work_tree.display().to_string(),
            expected: if self.is_linked() {
                self.expected_pointer()
            } else {
                "a .git directory".to_owned()
            },
            found,
        };
        let meta =
            std::fs::symlink_metadata(&dot_git).map_err(|e| changed(format!("cannot read it: {e}")))?;
        if !self.is_linked() {
            return if meta.is_dir() {
                Ok(())
            } else {
                Err(changed("not a directory".to_owned()))
            };
        }
        if !meta.is_file() {
            return Err(changed("not a regular file".to_owned()));
        }
        let text = std::fs::read_to_string(&dot_git).map_err(|e| changed(format!("unreadable: {e}")))?;
        let actual = text.strip_suffix('\n').unwrap_or(&text);
        if self.pointer_matches(actual) {
            Ok(())
        } else {
            Err(changed(format!(
                "`{}`",
                actual.chars().take(300).collect::<String>()
            )))
        }
    }

    /// Whether `text` (a pointer file's content) names this checkout's git directory, as git writes it
    /// (absolute) or with `worktree.useRelativePaths` (relative to the checkout).
    fn pointer_matches(&self, text: &str) -> bool {
        let Some(target) = text.strip_prefix("gitdir: ") else {
            return false;
        };
        target == self.git_dir.as_os_str()
            || self
                .work_tree
                .join(target)
                .canonicalize()
                .is_ok_and(|p| p == self.git_dir)
    }

    /// Write the pointer back as git wrote it (after [`Checkout::check_pointer`] found it changed), so
    /// the checkout is usable again; only the checkout itself is touched.
    pub fn restore_pointer(&self) -> std::io::Result<()> {
        if !self.is_linked() {
            return Ok(());
        }
        let dot_git = self.work_tree.join(".git");
        if std::fs::symlink_metadata(&dot_git).is_ok_and(|m| m.is_dir()) {
            std::fs::remove_dir_all(&dot_git)?;
        } else if std::fs::symlink_metadata(&dot_git).is_ok() {
            std::fs::remove_file(&dot_git)?;
        }
        std::fs::write(&dot_git, format!("{}\n", self.expected_pointer()))
    }
}

/// The administrative directory under `<common>/worktrees/` whose `gitdir` file names `dot_git`. Git
/// names it after the checkout's directory (with a number when taken), so that name is tried first.
fn admin_dir(common: &Path, dot_git: &Path) -> Option<PathBuf> {
    let root = common.join("worktrees");
    let names_it = |admin: &Path| {
        let Ok(text) = std::fs::read_to_string(admin.join("gitdir")) else {
            return false;
        };
        let named = Path::new(text.trim_end_matches('\n'));
        let named = if named.is_absolute() {
            named.to_path_buf()
        } else {
            admin.join(named)
        };
        named == dot_git || named.canonicalize().is_ok_and(|p| p == dot_git)
    };
    let guess = dot_git
        .parent()
        .and_then(Path::file_name)
        .map(|name| root.join(name));
    if let Some(guess) = guess.filter(|g| names_it(g)) {
        return Some(guess);
    }
    std::fs::read_dir(&root)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|admin| names_it(admin))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Run git in `dir`; the test fails with git's stderr when it does.
    pub(crate) fn run(dir: &Path, args: &[&str]) {
        let out = process::output(process::git(dir).args(args)).unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A repository at `<tmp>/repo` on `main` with one empty commit.
    pub(crate) fn repo_in(tmp: &Path) -> PathBuf {
        let repo = tmp.join("repo");
        std::fs::create_dir(&repo).unwrap();
        run(&repo, &["init", "-q", "-b", "main"]);
        run(
            &repo,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "c",
            ],
        );
        repo
    }

    fn repo_with_worktree() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let repo = repo_in(tmp.path());
        let wt = tmp.path().join("wt");
        run(
            &repo,
            &["worktree", "add", "-q", "-b", "task", wt.to_str().unwrap()],
        );
        (tmp, repo, wt)
    }

    #[test]
    fn a_linked_worktree_is_found_from_the_shared_git_directory() {
        let (_tmp, repo, wt) = repo_with_worktree();
        let checkout = Checkout::locate(&repo.join(".git"), &wt).unwrap();
        assert!(checkout.git_dir().ends_with(".git/worktrees/wt"));
        assert_eq!(
            checkout.git(&["symbolic-ref", "--short", "HEAD"]).unwrap(),
            "task"
        );
        assert!(checkout.check_pointer().is_ok());
        let main = Checkout::locate(&repo.join(".git"), &repo).unwrap();
        assert_eq!(main.git(&["symbolic-ref", "--short", "HEAD"]).unwrap(), "main");
        assert!(main.check_pointer().is_ok());
        assert!(Checkout::locate(&repo.join(".git"), _tmp.path()).is_err());
    }

    #[test]
    fn a_rewritten_pointer_is_ignored_detected_and_restored() {
        let (_tmp, repo, wt) = repo_with_worktree();
        let checkout = Checkout::locate(&repo.join(".git"), &wt).unwrap();
        std::fs::write(
            wt.join(".git"),
            format!("gitdir: {}\n", repo.join(".git").display()),
        )
        .unwrap();
        let again = Checkout::locate(&repo.join(".git"), &wt).unwrap();
        assert_eq!(again, checkout, "the pointer is not what locates the checkout");
        assert_eq!(
            checkout.git(&["symbolic-ref", "--short", "HEAD"]).unwrap(),
            "task"
        );
        let err = checkout.check_pointer().unwrap_err();
        assert!(err.found.contains(".git"), "{err}");
        checkout.restore_pointer().unwrap();
        assert!(checkout.check_pointer().is_ok());
        assert_eq!(Checkout::discover(&wt.join(".")).unwrap(), checkout);
    }
}
