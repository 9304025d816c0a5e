//! What the agent benchmarks share, so they measure the same thing: the scripted reference turn,
//! a one-commit repository to run it in, and how figures are summarised and printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::agents::Agent;
use super::model_server::Turn;

/// The scripted turn (the reference scenario): write a file, show it, edit it, list the directory,
/// answer — five LLM steps, two file writes, two shell commands.
pub fn script(kind: Agent, work: &Path, turns: usize) -> Vec<Turn> {
    (0..turns)
        .flat_map(|i| {
            let file = format!("f{i}.txt");
            [
                kind.write(work, &file, "Hello from the scripted model\n"),
                kind.shell(&format!("cat {file}")),
                kind.edit(work, &file, "scripted", "benchmarked"),
                kind.shell(&format!("cat {file} && ls")),
                Turn::text("done"),
            ]
        })
        .collect()
}

/// A temporary repository with one commit: (its owner, the work tree).
pub fn repo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("work");
    std::fs::create_dir_all(&path).expect("work dir");
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(&path)
            .env("GIT_AUTHOR_NAME", "b")
            .env("GIT_AUTHOR_EMAIL", "b@x")
            .env("GIT_COMMITTER_NAME", "b")
            .env("GIT_COMMITTER_EMAIL", "b@x")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    std::fs::write(path.join("README.md"), "# bench\n").expect("write");
    git(&["add", "."]);
    git(&["commit", "-qm", "init"]);
    (dir, path)
}

/// The middle of the measured durations.
pub fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// A duration in milliseconds, one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
