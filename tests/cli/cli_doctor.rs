//! `git omk doctor` end to end: agents found with engine, version and protocol; what is missing with
//! the install hint; configuration problems; JSON; exit 0 when goals can run, 1 when a required piece
//! is missing or the configuration is invalid, 2 for bad input. And the commands that would start a
//! missing agent (`run --until-ready`, `resume`, `execute`): exit 6 with the same hint; `run` records
//! the goal stopped `failed` (to resume once installed), `resume` and `execute` write nothing.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git-omk and read their environment

use crate::support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::agents::{Agent, installed};
use support::git_repo::TestRepo;
use support::omk::until_ready;

/// A PATH with git and, optionally, one more directory.
fn path_with(extra: Option<&Path>) -> String {
    let git = support::agents::which_git();
    let mut dirs: Vec<PathBuf> = extra.map(Path::to_owned).into_iter().collect();
    dirs.push(git.parent().expect("git has a directory").to_owned());
    std::env::join_paths(dirs).unwrap().into_string().unwrap()
}

/// The sandbox's program, found on the whole `PATH`: the commands below run with a `PATH` that
/// holds little more than git, and a healthy machine has a sandbox.
fn bwrap() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("bwrap"))
        .find(|p| p.is_file())
        .expect("bubblewrap is installed (scripts/install-sandbox.sh)")
}

/// `doctor --json`; its exit code is 1 exactly when something required is missing or a problem is
/// reported, else 0.
fn doctor_json(repo: &TestRepo, path: &str) -> Value {
    let out = repo
        .omk()
        .args(["doctor", "--json"])
        .env("PATH", path)
        .env("OMK_BWRAP", bwrap())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unhealthy = report["missing"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["required"] == true)
        || !report["problems"].as_array().unwrap().is_empty();
    assert_eq!(
        out.status.code(),
        Some(if unhealthy { 1 } else { 0 }),
        "{report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

#[test]
fn missing_agents_are_reported_with_the_install_hint() {
    let repo = TestRepo::new();
    let report = doctor_json(&repo, &path_with(None));
    assert_eq!(report["schema_version"], 1);
    assert!(report["git"].as_str().unwrap().starts_with("git version"));
    assert_eq!(report["agents"].as_array().unwrap().len(), 0);
    let missing = report["missing"].as_array().unwrap();
    let kimi = missing
        .iter()
        .find(|m| m["what"] == "kimi")
        .expect("kimi is missing");
    assert!(kimi["hint"].as_str().unwrap().contains("@moonshot-ai/kimi-code"));
    assert_eq!(kimi["required"], true);
    let token = missing.iter().find(|m| m["what"] == "GitHub token").unwrap();
    assert_eq!(token["required"], false, "a token is needed only for PR delivery");
    let text = repo
        .omk()
        .arg("doctor")
        .env("PATH", path_with(None))
        .env("OMK_BWRAP", bwrap())
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(1), "the configured agent is required");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("missing   kimi:"), "{text}");
    assert!(text.contains("missing   GitHub token (optional):"), "{text}");
    assert!(!text.contains("ok        everything"), "{text}");
}

#[test]
fn installed_agents_are_found_with_their_versions() {
    for kind in Agent::ALL {
        let Some(program) = installed(kind) else {
            continue;
        };
        let repo = TestRepo::new();
        let report = doctor_json(&repo, &path_with(program.parent()));
        let agents = report["agents"].as_array().unwrap();
        assert_eq!(agents.len(), 1, "{report}");
        let (spec, engine, version, protocol) = match kind {
            Agent::KimiWire => ("kimi", "kimi-wire", "1.51.0", "wire/1.10"),
            Agent::KimiAcp => ("kimi", "kimi-acp", "2.1.0", "acp/1"),
            Agent::Qwen => ("qwen", "qwen", "0.24.4", "acp/1"),
        };
        assert_eq!(agents[0]["spec"], spec);
        assert_eq!(agents[0]["engine"], engine);
        assert_eq!(agents[0]["version"], version);
        assert_eq!(agents[0]["protocol"], protocol);
        let missing = report["missing"].as_array().unwrap();
        if kind == Agent::Qwen {
            // The configured agent is still the default, `kimi`.
            assert!(missing.iter().any(|m| m["what"] == "kimi"), "{report}");
        } else {
            assert!(!missing.iter().any(|m| m["what"] == "kimi"), "{report}");
            let out = repo
                .omk()
                .arg("doctor")
                .env("PATH", path_with(program.parent()))
                .env("OMK_BWRAP", bwrap())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "kimi found: healthy");
            assert!(String::from_utf8_lossy(&out.stdout).contains("ok        everything"));
        }
    }
}

#[test]
fn a_configured_qwen_is_found_or_its_install_hint_given() {
    let repo = TestRepo::new();
    repo.git(&["config", "omk.agent", "qwen"]);
    let report = doctor_json(&repo, &path_with(None));
    assert_eq!(report["agent"], "qwen");
    let missing = report["missing"].as_array().unwrap();
    let qwen = missing
        .iter()
        .find(|m| m["what"] == "qwen")
        .expect("qwen is missing");
    assert!(qwen["hint"].as_str().unwrap().contains("@qwen-code/qwen-code"));
    let Some(program) = installed(Agent::Qwen) else {
        return;
    };
    // The configured program is used even when it is not on PATH.
    repo.git(&["config", "omk.qwenProgram", &program.display().to_string()]);
    let report = doctor_json(&repo, &path_with(None));
    let agents = report["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "{report}");
    assert_eq!(agents[0]["engine"], "qwen");
    assert_eq!(agents[0]["version"], "0.24.4");
    assert!(
        report["missing"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["what"] != "qwen"),
        "{report}"
    );
}

#[test]
fn configured_agents_and_problems() {
    let repo = TestRepo::new();
    repo.git(&["config", "omk.agent", "acp:no-such-agent-program --stdio"]);
    repo.git(&["config", "omk.price.fake-model.input", "cheap"]);
    let report = doctor_json(&repo, &path_with(None));
    assert_eq!(report["agent"], "acp:no-such-agent-program --stdio");
    assert!(
        report["missing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["what"] == "acp:no-such-agent-program --stdio")
    );
    let problems = report["problems"].to_string();
    assert!(problems.contains("omk.price.fake-model.input"), "{problems}");
}

#[test]
fn every_role_s_agent_is_checked_and_a_missing_one_names_its_roles() {
    let repo = TestRepo::new();
    repo.git(&["config", "omk.agent.reviewer", "exec:no-such-reviewer"]);
    let report = doctor_json(&repo, &path_with(None));
    let roles: Vec<String> = report["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r["role"].as_str().unwrap(), r["agent"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            "planner kimi",
            "task kimi",
            "reviewer exec:no-such-reviewer",
            "security-reviewer exec:no-such-reviewer"
        ]
    );
    let missing = report["missing"].as_array().unwrap();
    let reviewer = missing
        .iter()
        .find(|m| m["what"] == "exec:no-such-reviewer")
        .expect("the reviewer's agent is missing");
    assert_eq!(reviewer["required"], true);
    assert!(
        reviewer["hint"]
            .as_str()
            .unwrap()
            .ends_with("(used by: reviewer, security-reviewer)"),
        "{reviewer}"
    );
    let out = repo
        .omk()
        .arg("doctor")
        .env("PATH", path_with(None))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("role      reviewer: exec:no-such-reviewer\n"),
        "{text}"
    );
    assert!(!text.contains("role      task"), "{text}");
}

#[test]
fn bad_input_exits_2() {
    let repo = TestRepo::new();
    let out = repo.omk().args(["doctor", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `(exit code, stderr)` of `git omk args` with only git on PATH (and the sandbox named, as on a
/// healthy machine, so the missing agent is what is reported).
fn without_agents(repo: &TestRepo, args: &[&str]) -> (Option<i32>, String) {
    let out = repo
        .omk()
        .args(args)
        .env("PATH", path_with(None))
        .env("OMK_BWRAP", bwrap())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn commands_that_would_start_a_missing_agent_exit_6_with_the_fix() {
    let calc = [("calc.py", "def add(a, b):\n    return a - b\n")];
    let goal = "Fix add in calc.py";
    for (agent, fix) in [
        ("qwen", "@qwen-code/qwen-code"),
        ("kimi", "@moonshot-ai/kimi-code"),
        ("kimi-acp", "@moonshot-ai/kimi-code"),
        ("acp:no-such-agent-program --stdio", "acp:no-such-agent-program"),
    ] {
        // `run --until-ready` records the goal, stopped `failed` on the missing agent, to resume later.
        let repo = TestRepo::with_files(&calc);
        let args = until_ready(goal, agent, &[]);
        let (code, stderr) = without_agents(&repo, &args);
        assert_eq!(code, Some(6), "{agent}: {stderr}");
        assert!(stderr.contains(fix), "{agent}: names the fix: {stderr}");
        let refs = repo.git(&["for-each-ref", "--format=%(refname)", "refs/omk/goals"]);
        assert_eq!(refs.lines().count(), 1, "{agent}: the goal is recorded");
        let subject = repo.git(&["log", "-1", "--format=%s", refs.trim()]);
        assert!(subject.starts_with("failed: "), "{agent}: {subject}");
        let branches = repo.git(&["for-each-ref", "refs/heads/omk"]);
        assert_eq!(branches, "", "{agent}: nothing was driven");
    }
    // Bad input is still bad input first.
    let repo = TestRepo::with_files(&calc);
    let goals = || repo.git(&["for-each-ref", "refs/omk"]);
    let (code, _) = without_agents(&repo, &["goal", "run", " ", "--until-ready", "--agent", "qwen"]);
    assert_eq!(code, Some(2));
    assert_eq!(goals(), "", "nothing written");

    // A goal planned without running needs no agent yet; resuming or executing it does.
    let (code, stderr) = without_agents(
        &repo,
        &["goal", "run", goal, "--no-llm-planner", "--agent", "qwen"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let planned = goals();
    for command in ["resume", "execute"] {
        let (code, stderr) = without_agents(&repo, &["goal", command]);
        assert_eq!(code, Some(6), "{command}: {stderr}");
        assert!(stderr.contains("@qwen-code/qwen-code"), "{command}: {stderr}");
        assert_eq!(goals(), planned, "{command}: the goal is unchanged");
    }
    let (_, stderr) = without_agents(&repo, &["goal", "cancel"]);
    let cancelled = goals();
    assert_ne!(cancelled, planned, "cancelled: {stderr}");
    let (code, stderr) = without_agents(&repo, &["goal", "resume"]);
    assert_eq!(
        code,
        Some(6),
        "a cancelled goal is not reopened without its agent: {stderr}"
    );
    assert_eq!(goals(), cancelled);
}
