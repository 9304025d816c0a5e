//! What hostile tests compare: a byte-level fingerprint of the user's checkout and repository (HEAD,
//! branch, index, status, config, hooks, every ref), read without running any hook or fsmonitor a
//! hostile agent may have planted.

#![allow(dead_code)]
#![allow(clippy::disallowed_methods)] // tests spawn git

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::git_repo::hermetic;

/// The user's repository as a hostile agent must leave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// `.git/HEAD`, byte for byte.
    pub head_file: Vec<u8>,
    /// The commit HEAD resolves to.
    pub head: String,
    /// `.git/index`, byte for byte.
    pub index: Vec<u8>,
    /// `.git/config`, byte for byte.
    pub config: Vec<u8>,
    /// Every file under `.git/hooks` with its content.
    pub hooks: BTreeMap<String, Vec<u8>>,
    /// `git status --porcelain --ignored` (hooks and fsmonitor off).
    pub status: String,
    /// Every ref with its target (`refs/omk/…` included).
    pub refs: String,
}

/// Git in `dir` that runs no hook and no fsmonitor, whatever the repository's configuration says.
fn safe_git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    hermetic(&mut cmd, home);
    let out = cmd
        .current_dir(dir)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args(["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Fingerprint {
    /// The fingerprint of the repository whose work tree is `work` (with `.git` inside).
    pub fn of(work: &Path, home: &Path) -> Fingerprint {
        let git_dir = work.join(".git");
        let mut hooks = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(git_dir.join("hooks")) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                hooks.insert(name, std::fs::read(entry.path()).unwrap_or_default());
            }
        }
        Fingerprint {
            head_file: std::fs::read(git_dir.join("HEAD")).unwrap_or_default(),
            head: safe_git(work, home, &["rev-parse", "HEAD"]),
            index: std::fs::read(git_dir.join("index")).unwrap_or_default(),
            config: std::fs::read(git_dir.join("config")).unwrap_or_default(),
            hooks,
            status: safe_git(work, home, &["status", "--porcelain", "--ignored"]),
            refs: safe_git(work, home, &["for-each-ref", "--format=%(refname) %(objectname)"]),
        }
    }

    /// The refs under `refs/omk/`, as `name target` lines.
    pub fn goal_refs(&self) -> Vec<&str> {
        self.refs.lines().filter(|l| l.starts_with("refs/omk/")).collect()
    }
}
