//! Running git-omk the way the test binaries do: a command with the hermetic environment plus a
//! fixture's variables, its JSON output, and the check every recorded goal history must pass.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use super::git_repo::{TestRepo, hermetic};

/// `program` (git-omk, or a tool run beside it) in `dir`, hermetic for `home` (see [`hermetic`]), with a
/// fixture's `env` set, then `extra`.
pub fn command_in(
    program: &Path,
    home: &Path,
    dir: &Path,
    env: &[(String, String)],
    extra: &[(&str, &str)],
) -> Command {
    let mut cmd = Command::new(program);
    hermetic(&mut cmd, home);
    cmd.current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

/// git-omk with `args` in `repo`'s work tree, hermetic, with a fixture's `env` set, then `extra`.
pub fn command(repo: &TestRepo, env: &[(String, String)], args: &[&str], extra: &[(&str, &str)]) -> Command {
    let program = Path::new(env!("CARGO_BIN_EXE_git-omk"));
    let mut cmd = command_in(program, &repo.home, &repo.path, env, extra);
    cmd.args(args);
    cmd
}

/// Write an executable script (mode 0755) at `path`: an `exec:` agent, a hook, a fake tool.
pub fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write the script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("make it executable");
}

/// The arguments of `goal run GOAL --until-ready --no-llm-planner --agent AGENT`, then `more`.
pub fn until_ready<'a>(goal: &'a str, agent: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "goal",
        "run",
        goal,
        "--until-ready",
        "--no-llm-planner",
        "--agent",
        agent,
    ];
    args.extend_from_slice(more);
    args
}

/// Parse a command's stdout as JSON (panicking with its stdout and stderr when it is not).
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Parse JSON a command printed, read from its stdout bytes.
pub fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

/// git-omk with `args` in `repo`'s work tree (hermetic), which must exit 0; its JSON output.
pub fn ok_json(repo: &TestRepo, args: &[&str]) -> Value {
    let out = repo.omk().args(args).output().expect("git-omk runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    json(&out)
}

/// Plan `text` with `goal plan --json` in `repo` (which must succeed); the new goal's id.
pub fn plan(repo: &TestRepo, text: &str) -> String {
    goal_id(&ok_json(repo, &["goal", "plan", "--json", text]))
}

/// The `id` of what `goal plan --json` or `goal run --json` printed.
pub fn goal_id(printed: &Value) -> String {
    printed["id"].as_str().expect("a goal id").to_owned()
}

/// The goal ids of `goal list --json` output, in its order.
pub fn listed_ids(listed: &Value) -> Vec<&str> {
    listed["goals"]
        .as_array()
        .expect("list has goals")
        .iter()
        .map(|g| g["id"].as_str().expect("a goal id"))
        .collect()
}

/// The task of `goal show -f json` output whose id starts with `prefix`.
pub fn task<'a>(show: &'a Value, prefix: &str) -> &'a Value {
    show["tasks"]
        .as_array()
        .expect("show lists tasks")
        .iter()
        .find(|t| t["id"].as_str().expect("a task id").starts_with(prefix))
        .unwrap_or_else(|| panic!("no task {prefix}…"))
}

/// The codes of the reasons a proof (`goal proof --json`) gives for its readiness.
pub fn readiness_codes(proof: &Value) -> Vec<&str> {
    proof["readiness"]["reasons"]
        .as_array()
        .expect("readiness reasons")
        .iter()
        .map(|r| r["code"].as_str().expect("a reason code"))
        .collect()
}

/// The recorded history of the latest goal holds: `goal replay --verify` re-derives every snapshot, and
/// no event is recorded twice. `omk` runs git-omk in the goal's repository with the arguments given.
pub fn verify_history(omk: impl Fn(&[&str]) -> Output) {
    let out = omk(&["goal", "replay", "--verify", "--json"]);
    assert!(
        out.status.success(),
        "replay --verify: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let replay = json(&omk(&["goal", "replay", "-f", "json"]));
    let ids: Vec<&str> = replay["events"]
        .as_array()
        .expect("replay lists events")
        .iter()
        .map(|e| e["event"]["id"].as_str().expect("an event id"))
        .collect();
    let unique: BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no event is recorded twice");
}
