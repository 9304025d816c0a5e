//! Hermetic git repositories for tests: no global or system config, a fixed identity, UTC, C locale.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// Apply the hermetic environment to a command.
pub fn hermetic(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env_remove("GIT_COMMITTER_NAME")
        .env_remove("GIT_COMMITTER_EMAIL")
        .env_remove("EMAIL")
        .env_remove("OMK_HOST")
        .env_remove("OMK_AGENT")
        .env_remove("OMK_MAX_AGENTS");
}

/// A `git` command running in `dir` with the hermetic environment of `home`.
pub fn git_command(home: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    hermetic(&mut cmd, home);
    cmd.current_dir(dir);
    cmd
}

/// On top of [`hermetic`]: every commit the command makes has this author, committer and date, so its
/// id is the same run after run (fixtures whose commits must not change).
pub fn fixed_commits(cmd: &mut Command, date: &str) {
    cmd.env("GIT_AUTHOR_NAME", "Fixture Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.org")
        .env("GIT_COMMITTER_NAME", "Fixture Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.org")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date);
}

/// A temporary repository with a work tree and one initial commit.
pub struct TestRepo {
    _dir: TempDir,
    /// The work tree.
    pub path: PathBuf,
    /// The fake home directory.
    pub home: PathBuf,
}

impl TestRepo {
    /// A repository with a few source files, committed on `main` by "Test User".
    pub fn new() -> TestRepo {
        TestRepo::with_files(&[
            (
                "src/slugify.rs",
                "pub fn slugify(s: &str) -> String { s.to_lowercase() }\n",
            ),
            ("src/http/client.rs", "pub fn get() {}\n"),
            ("tests/slugify.rs", "#[test] fn t() {}\n"),
            ("README.md", "# demo\n"),
        ])
    }

    /// A repository with these files committed.
    pub fn with_files(files: &[(&str, &str)]) -> TestRepo {
        let repo = TestRepo::empty();
        repo.write_files(files);
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "initial"]);
        repo
    }

    /// An initialised repository without commits, identity configured.
    pub fn empty() -> TestRepo {
        let repo = TestRepo::bare_identity();
        repo.git(&["config", "user.name", "Test User"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo
    }

    /// An initialised repository without commits and without any identity.
    pub fn bare_identity() -> TestRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("work");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&path).expect("work dir");
        std::fs::create_dir_all(&home).expect("home dir");
        let repo = TestRepo {
            _dir: dir,
            path,
            home,
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// Write files (creating directories) without committing.
    pub fn write_files(&self, files: &[(&str, &str)]) {
        for (name, content) in files {
            let p = self.path.join(name);
            std::fs::create_dir_all(p.parent().expect("file has a parent")).expect("mkdir");
            std::fs::write(p, content).expect("write");
        }
    }

    /// Run git in the work tree; panics on failure; returns trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.path, args)
    }

    /// Run git in the work tree and return its output whether it succeeded or not (for git commands
    /// whose exit status is the answer, such as `merge-base --is-ancestor`).
    pub fn git_output(&self, args: &[&str]) -> Output {
        self.git_command().args(args).output().expect("git runs")
    }

    /// A hermetic `git` command in the work tree, for what [`TestRepo::git`] does not cover (extra
    /// environment, stdin).
    pub fn git_command(&self) -> Command {
        git_command(&self.home, &self.path)
    }

    /// Run git in `dir`; panics on failure; returns trimmed stdout.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = git_command(&self.home, dir)
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A `git-omk` command running in the work tree with the hermetic environment.
    pub fn omk(&self) -> assert_cmd::Command {
        self.omk_in(&self.path)
    }

    /// A `git-omk` command running in `dir`.
    pub fn omk_in(&self, dir: &Path) -> assert_cmd::Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_git-omk"));
        hermetic(&mut cmd, &self.home);
        cmd.current_dir(dir);
        assert_cmd::Command::from_std(cmd)
    }

    /// `git rev-parse HEAD` and `git status --porcelain --ignored`: what must never change.
    pub fn user_state(&self) -> (String, String, String) {
        (
            self.git(&["rev-parse", "HEAD"]),
            self.git(&["status", "--porcelain", "--ignored"]),
            self.git(&["symbolic-ref", "-q", "HEAD"]),
        )
    }

    /// The linked worktrees' paths (`git worktree list`, without the main work tree).
    pub fn linked_worktrees(&self) -> Vec<String> {
        self.git(&["worktree", "list", "--porcelain"])
            .lines()
            .filter_map(|l| l.strip_prefix("worktree ").map(str::to_owned))
            .skip(1)
            .collect()
    }

    /// The goal refs (`git for-each-ref refs/omk`).
    pub fn goal_refs(&self) -> Vec<String> {
        let out = self.git(&["for-each-ref", "--format=%(refname)", "refs/omk"]);
        out.lines().map(str::to_owned).collect()
    }
}
