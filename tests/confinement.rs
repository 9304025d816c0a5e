//! Hostile tests of the walls around agents and gates, end to end with the `exec` agent (a shell script
//! standing in for a coding agent that turned hostile), real git repositories and real pytest gates.
//!
//! Two layers are tested: git-omk's own git calls (no hooks, no fsmonitor, no inherited `GIT_DIR`, a
//! worktree's `.git` pointer never followed), which must hold even for an agent running unconfined;
//! and the kernel sandbox every agent and gate runs in by default.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::git_repo::{TestRepo, hermetic};
use support::hostile::Fingerprint;
use support::tools::{path_with, pytest_bin};

/// A coding agent that fixes `add`, after trying what `HOSTILE` (space-separated words) names.
const AGENT: &str = r##"#!/bin/sh
case "$OMK_PROMPT" in
  *"reviewer for git-omk"*) printf '```json\n{"findings": []}\n```\n'; exit 0 ;;
esac
common="$(git rev-parse --path-format=absolute --git-common-dir)"
for what in $HOSTILE; do
  case "$what" in
    hooks)
      for h in post-checkout pre-commit post-commit reference-transaction post-index-change pre-auto-gc; do
        printf '#!/bin/sh\necho "hook $0" >> "%s"\n' "$MARKS" > "$common/hooks/$h"
        chmod +x "$common/hooks/$h"
      done ;;
    fsmonitor) git config core.fsmonitor "echo fsmonitor >> '$MARKS'; false" ;;
    pointer) printf 'gitdir: %s\n' "$common" > .git ;;
    env)
      found="$(env | grep -E '^GIT_(DIR|WORK_TREE|INDEX_FILE|COMMON_DIR|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|NAMESPACE)=')"
      [ -n "$found" ] && { echo "inherited: $found"; exit 3; } ;;
  esac
done
sed -i 's/return a - b/return a + b/' calc.py
"##;

/// A repository whose `add` is broken (caught by a pytest test), and the agent.
struct Fixture {
    repo: TestRepo,
    agent: PathBuf,
    env: Vec<(String, String)>,
}

impl Fixture {
    fn new() -> Option<Fixture> {
        let bin = pytest_bin()?;
        let repo = TestRepo::with_files(&[
            ("calc.py", "def add(a, b):\n    return a - b\n"),
            (
                "test_calc.py",
                "import os\nfrom calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_no_git_location_is_inherited():\n    assert not [k for k in os.environ if k in ('GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE')]\n",
            ),
            ("pytest.ini", "[pytest]\n"),
        ]);
        let agent = repo.home.join("agent.sh");
        std::fs::write(&agent, AGENT).unwrap();
        std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let env = vec![
            ("PATH".to_owned(), path_with(&bin)),
            (
                "OMK_WORKTREE_ROOT".to_owned(),
                repo.home.join("worktrees").display().to_string(),
            ),
            ("MARKS".to_owned(), repo.home.join("marks").display().to_string()),
        ];
        Some(Fixture { repo, agent, env })
    }

    fn marks(&self) -> String {
        std::fs::read_to_string(self.repo.home.join("marks")).unwrap_or_default()
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.repo.path, &self.repo.home)
    }

    fn command(&self, program: &Path, dir: &Path, env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(program);
        hermetic(&mut cmd, &self.repo.home);
        cmd.current_dir(dir);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn run_args(&self) -> Vec<String> {
        [
            "goal",
            "run",
            "Fix add in calc.py",
            "--until-ready",
            "--no-llm-planner",
            "--json",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain(["--agent".to_owned(), format!("exec:{}", self.agent.display())])
        .collect()
    }

    /// `git omk goal run … --until-ready` in the repository, with `env`.
    fn run(&self, env: &[(&str, &str)]) -> Output {
        self.command(Path::new(env!("CARGO_BIN_EXE_git-omk")), &self.repo.path, env)
            .args(self.run_args())
            .output()
            .unwrap()
    }

    fn show(&self) -> Value {
        let out = self
            .command(Path::new(env!("CARGO_BIN_EXE_git-omk")), &self.repo.path, &[])
            .args(["goal", "show", "-f", "json"])
            .output()
            .unwrap();
        json(&out)
    }

    /// The evidence of every attempt of the goal's first task.
    fn evidence(&self) -> Vec<String> {
        self.show()["tasks"][0]["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["evidence"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn hooks_and_fsmonitor_planted_by_an_unconfined_agent_never_run_in_git_omks_own_git_calls() {
    let Some(fx) = Fixture::new() else { return };
    let before = fx.fingerprint();
    let out = fx.run(&[("HOSTILE", "hooks fsmonitor"), ("OMK_SANDBOX", "off")]);
    assert!(out.status.code().is_some(), "{}", stderr(&out));
    assert_eq!(
        fx.marks(),
        "",
        "no planted hook or fsmonitor command ran: {}",
        stderr(&out)
    );
    let after = fx.fingerprint();
    assert_eq!(
        (&after.head_file, &after.head, &after.index, &after.status),
        (&before.head_file, &before.head, &before.index, &before.status),
        "the user's HEAD, branch, index and work tree are untouched"
    );
}

#[test]
fn a_rewritten_git_pointer_is_never_followed_and_fails_the_attempt() {
    let Some(fx) = Fixture::new() else { return };
    fx.repo.write_files(&[("staged.txt", "the user's staged work\n")]);
    fx.repo.git(&["add", "staged.txt"]);
    let before = fx.fingerprint();
    let out = fx.run(&[("HOSTILE", "pointer"), ("OMK_SANDBOX", "off")]);
    assert_eq!(out.status.code(), Some(1), "not ready: {}", stderr(&out));
    let after = fx.fingerprint();
    assert_eq!(
        (&after.head_file, &after.head, &after.index, &after.status),
        (&before.head_file, &before.head, &before.index, &before.status),
        "nothing was committed on the user's branch and their staged file is still staged"
    );
    let evidence = fx.evidence();
    assert!(!evidence.is_empty());
    for e in &evidence {
        assert!(e.contains(".git pointer was rewritten"), "{e}");
    }
    assert_eq!(
        fx.repo.git(&["show", "main:calc.py"]),
        "def add(a, b):\n    return a - b"
    );
}

#[test]
fn git_dir_given_to_git_names_the_repository_and_no_agent_or_gate_inherits_it() {
    let Some(fx) = Fixture::new() else { return };
    fx.repo.write_files(&[("staged.txt", "the user's staged work\n")]);
    fx.repo.git(&["add", "staged.txt"]);
    let elsewhere = TestRepo::new();
    let before = fx.fingerprint();
    let before_elsewhere = Fingerprint::of(&elsewhere.path, &elsewhere.home);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_git-omk")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        fx.env.iter().find(|(k, _)| k == "PATH").unwrap().1
    );
    let git_dir = format!("--git-dir={}", fx.repo.path.join(".git").display());
    let work_tree = format!("--work-tree={}", fx.repo.path.display());
    let out = fx
        .command(Path::new("git"), &elsewhere.path, &[("HOSTILE", "env")])
        .env("PATH", path)
        .args([git_dir.as_str(), work_tree.as_str(), "omk"])
        .args(fx.run_args())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "ready: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    assert_eq!(json(&out)["status"], "ready");
    let after = fx.fingerprint();
    assert_eq!(
        (&after.head_file, &after.head, &after.index, &after.status),
        (&before.head_file, &before.head, &before.index, &before.status),
        "the user's branch and index are untouched"
    );
    assert_eq!(
        after.goal_refs().len(),
        1,
        "the goal lives in the named repository"
    );
    assert_eq!(
        Fingerprint::of(&elsewhere.path, &elsewhere.home),
        before_elsewhere,
        "the repository of the current directory is not touched"
    );
}
