//! Infrastructure failures end to end with a REAL agent (Kimi Code 2.1.0 over ACP, answering from the
//! project's scripted model server) on a Python project whose gate is pytest:
//! - no agent installed: `goal run --until-ready` exits 6 naming the install command, records the goal
//!   `failed` with zero attempts and no worktree; `resume` without the agent changes nothing; after
//!   installing it, `resume` ends `ready`;
//! - no pytest: the base gate run (the preflight) cannot run, so the goal stops `failed` (exit 6)
//!   naming pytest and how to install it, before any attempt; after installing, `resume` ends `ready`;
//! - pytest disappears mid-goal (between the baseline and the task's gates): the attempt is recorded
//!   interrupted, never failed, the goal stops `failed` naming pytest, the lease is released; `resume`
//!   after the fix ends `ready`;
//! - the agent's program disappears between two tasks: the second task is not dispatched, the goal
//!   stops `failed` naming the agent's fix; `resume` after reinstalling ends `ready`;
//! - git cannot create a checkout (the worktree root is a file): the controller's failure is recorded
//!   (`failed`, lease released, exit 6) instead of leaving the goal `running`; `resume` ends `ready`.
//!
//! Slow (real agents): its own binary. The agent comes from `scripts/install-agents.sh`, pytest from
//! `scripts/install-pytest.sh`; missing ones fail on CI and are skipped loudly elsewhere.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read their environment

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use support::agents::{Agent, AgentHome, installed};
use support::git_repo::TestRepo;
use support::model_server::{ModelServer, Route, Turn};
use support::omk::{until_ready, write_executable};
use support::scenario::{ADD, ADD_TASK, BOTH, FIX_ADD, FIX_UPPER, UPPER_TASK, reviewer_route, small};
use support::tools::{path_with, pytest_bin};

const KIND: Agent = Agent::KimiAcp;

/// The fixture, the real agent, the scripted model, and the tools each command may see.
struct Case {
    repo: TestRepo,
    _agent_home: AgentHome,
    server: ModelServer,
    /// The agent's launcher.
    program: PathBuf,
    /// pytest's virtual environment.
    pytest: PathBuf,
    /// A directory the sandbox lets gates and agents write (instrumented tools keep state there).
    state: PathBuf,
    env: Vec<(String, String)>,
}

impl Case {
    /// A case whose goal is `goal` ([`ADD`] or [`BOTH`]: the bug of `upper` exists only for the
    /// latter), answered by `routes`.
    fn new(goal: &str, routes: Vec<Route>) -> Option<Case> {
        let program = installed(KIND)?;
        let pytest = pytest_bin()?;
        let upper = if goal == BOTH { "s.lower()" } else { "s.upper()" };
        let strings = format!("def upper(s):\n    return {upper}\n");
        let repo = TestRepo::with_files(&[
            ("calc.py", "def add(a, b):\n    return a - b\n"),
            ("strings.py", strings.as_str()),
            (
                "test_calc.py",
                "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
            ),
            (
                "test_strings.py",
                "from strings import upper\n\n\ndef test_upper():\n    assert upper('a') == 'A'\n",
            ),
            ("pytest.ini", "[pytest]\n"),
        ]);
        let server = ModelServer::routed(routes);
        let agent_home = AgentHome::new();
        let launch = agent_home.launch(KIND, &program, &server);
        let state = repo.home.join("state");
        std::fs::create_dir_all(&state).unwrap();
        let mut env = vec![
            (
                "OMK_WORKTREE_ROOT".to_owned(),
                repo.home.join("worktrees").display().to_string(),
            ),
            ("OMK_AGENT_ARGS".to_owned(), json!(launch.extra_args).to_string()),
            ("OMK_TURN_TIMEOUT".to_owned(), "5m".to_owned()),
            ("OMK_SANDBOX_ALLOW_WRITE".to_owned(), state.display().to_string()),
        ];
        env.extend(launch.env.into_iter().filter(|(k, _)| k != "HOME"));
        Some(Case {
            repo,
            _agent_home: agent_home,
            server,
            program,
            pytest,
            state,
            env,
        })
    }

    /// `git omk args` with the agent program `agent` and `PATH` `path`.
    fn omk_with(&self, args: &[&str], agent: &Path, path: &str) -> Output {
        self.command(args, agent, path).output().expect("git-omk runs")
    }

    fn command(&self, args: &[&str], agent: &Path, path: &str) -> Command {
        let mut cmd = support::omk::command(&self.repo, &self.env, args, &[]);
        cmd.env(KIND.program_var(), agent).env("PATH", path);
        cmd
    }

    /// `git omk args` on a healthy machine: the agent installed, pytest on `PATH`.
    fn omk(&self, args: &[&str]) -> Output {
        self.omk_with(args, &self.program, &path_with(&self.pytest))
    }

    fn run_args(goal: &str) -> Vec<&str> {
        until_ready(goal, "kimi-acp", &[])
    }

    fn show(&self) -> Value {
        let out = self.omk(&["goal", "show", "-f", "json"]);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Every event the goal recorded, oldest first.
    fn events(&self) -> Vec<Value> {
        let log = self.repo.git(&[
            "log",
            "--reverse",
            "--format=%H",
            "--first-parent",
            "--glob=refs/omk/goals/*",
        ]);
        log.lines()
            .flat_map(|commit| {
                let text = self.repo.git(&["show", &format!("{commit}:events.jsonl")]);
                text.lines()
                    .map(|l| serde_json::from_str::<Value>(l).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn kinds(&self, kind: &str) -> Vec<Value> {
        self.events().into_iter().filter(|e| e["kind"] == kind).collect()
    }

    fn goal_refs(&self) -> String {
        self.repo.git(&["for-each-ref", "refs/omk"])
    }

    fn worktrees(&self) -> usize {
        self.repo.linked_worktrees().len()
    }

    /// A directory whose `python3` runs without site-packages: Python is there, pytest is not.
    fn python_without_pytest(&self) -> PathBuf {
        let dir = self.repo.home.join("no-pytest");
        std::fs::create_dir_all(&dir).unwrap();
        let real = self.pytest.join("python3");
        script(
            &dir.join("python3"),
            &format!("exec '{}' -S \"$@\"\n", real.display()),
        );
        dir
    }

    /// The tool of a failing run, for assertions' messages.
    fn context(&self, out: &Output) -> String {
        format!(
            "exit {:?}\nstdout: {}\nstderr: {}\nmodel mismatches: {:?}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.server.mismatches()
        )
    }
}

fn script(path: &Path, body: &str) {
    write_executable(path, &format!("#!/bin/sh\n{body}"));
}

/// A task whose first model call runs `command` and whose second ends the prompt.
fn fixing_task(task: &str, command: &str) -> Vec<Route> {
    vec![
        Route::when(task).step(0).reply(small(KIND.shell(command))),
        Route::when(task)
            .step(1)
            .reply(small(Turn::text("Fixed it; the test passes now."))),
    ]
}

fn attempts(show: &Value) -> Vec<Value> {
    show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["attempts"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The goal is `failed` on an infrastructure stop whose preflight decision names `tool`, and its
/// lease is released.
fn assert_infra_stop(case: &Case, tool: &str) {
    let show = case.show();
    assert_eq!(show["goal"]["status"], "failed", "{show}");
    assert!(show["goal"]["lease"].is_null(), "the lease is released: {show}");
    let decisions: Vec<Value> = case
        .kinds("decision_recorded")
        .into_iter()
        .filter(|e| e["data"]["step"] == "preflight")
        .collect();
    assert_eq!(decisions.len(), 1, "one preflight decision: {decisions:?}");
    let chosen = decisions[0]["data"]["chosen"].as_str().unwrap();
    assert!(chosen.contains(tool), "the decision names {tool}: {chosen}");
    let stopped = case.kinds("goal_stopped");
    let reason = stopped.last().unwrap()["data"]["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.starts_with("infrastructure: "), "{reason}");
    assert!(reason.contains("git omk goal resume"), "{reason}");
}

#[test]
fn without_the_agent_the_goal_stops_failed_with_no_attempt_and_resumes_to_ready_once_installed() {
    let mut routes = fixing_task(ADD_TASK, FIX_ADD);
    routes.push(reviewer_route());
    let Some(case) = Case::new(ADD, routes) else {
        return;
    };
    let missing = case.repo.home.join("not-installed").join("kimi");
    let path = path_with(&case.pytest);
    let out = case.omk_with(&Case::run_args(ADD), &missing, &path);
    assert_eq!(out.status.code(), Some(6), "{}", case.context(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("npm install -g @moonshot-ai/kimi-code"),
        "names the fix: {stderr}"
    );
    assert_infra_stop(&case, "the agent");
    let show = case.show();
    assert!(attempts(&show).is_empty(), "zero attempts: {show}");
    assert!(case.kinds("task_dispatched").is_empty());
    assert!(case.kinds("controller_started").is_empty(), "nothing was driven");
    assert_eq!(case.worktrees(), 0, "no worktree");
    assert_eq!(case.server.served(), 0, "no model call");

    // Still missing: resume says so again and writes nothing.
    let before = case.goal_refs();
    let out = case.omk_with(&["goal", "resume"], &missing, &path);
    assert_eq!(out.status.code(), Some(6), "{}", case.context(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("@moonshot-ai/kimi-code"));
    assert_eq!(case.goal_refs(), before, "nothing written");

    // Installed: resume drives the same goal to ready.
    let out = case.omk(&["goal", "resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", case.context(&out));
    let show = case.show();
    assert_eq!(show["goal"]["status"], "ready", "{show}");
    assert_eq!(attempts(&show).len(), 1, "{show}");
}

#[test]
fn without_pytest_the_base_run_stops_the_goal_naming_pytest_before_any_attempt() {
    let mut routes = fixing_task(ADD_TASK, FIX_ADD);
    routes.push(reviewer_route());
    let Some(case) = Case::new(ADD, routes) else {
        return;
    };
    let no_pytest = path_with(&case.python_without_pytest());
    let out = case.omk_with(&Case::run_args(ADD), &case.program, &no_pytest);
    assert_eq!(out.status.code(), Some(6), "{}", case.context(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gate `pytest` cannot run on the base") && stderr.contains("pip install pytest"),
        "names pytest and its fix: {stderr}"
    );
    assert_infra_stop(&case, "pytest");
    let show = case.show();
    assert!(attempts(&show).is_empty(), "zero attempts: {show}");
    assert!(case.kinds("task_dispatched").is_empty());
    assert!(
        case.kinds("baseline_recorded").is_empty(),
        "a gate that could not run is not a baseline"
    );
    assert_eq!(case.server.served(), 0, "no model call");

    let out = case.omk(&["goal", "resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", case.context(&out));
    let show = case.show();
    assert_eq!(show["goal"]["status"], "ready", "{show}");
    let baseline = case.kinds("baseline_recorded");
    assert_eq!(baseline.len(), 1);
    assert_eq!(
        baseline[0]["data"]["gates"][0]["outcome"], "failed",
        "the real red baseline"
    );
}

#[test]
fn pytest_vanishing_mid_goal_interrupts_the_attempt_without_counting_it_and_resume_finishes() {
    let mut routes = fixing_task(ADD_TASK, FIX_ADD);
    routes.push(reviewer_route());
    let Some(case) = Case::new(ADD, routes) else {
        return;
    };
    // A python3 that has pytest for its first run (the baseline) only.
    let tools = case.repo.home.join("flaky-tools");
    std::fs::create_dir_all(&tools).unwrap();
    let (flag, real) = (case.state.join("ran-once"), case.pytest.join("python3"));
    script(
        &tools.join("python3"),
        &format!(
            "if [ -e '{flag}' ]; then exec '{real}' -S \"$@\"; fi\ntouch '{flag}'\nexec '{real}' \"$@\"\n",
            flag = flag.display(),
            real = real.display()
        ),
    );
    let out = case.omk_with(&Case::run_args(ADD), &case.program, &path_with(&tools));
    assert_eq!(out.status.code(), Some(6), "{}", case.context(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pytest is not installed"),
        "{}",
        case.context(&out)
    );
    assert_infra_stop(&case, "pytest");
    let show = case.show();
    let tried = attempts(&show);
    assert_eq!(tried.len(), 1, "{show}");
    assert_eq!(
        tried[0]["outcome"], "interrupted",
        "not the agent's failure: {show}"
    );
    assert_eq!(show["tasks"][0]["status"], "pending", "{show}");

    let out = case.omk(&["goal", "resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", case.context(&out));
    let show = case.show();
    assert_eq!(show["goal"]["status"], "ready", "{show}");
    let tried = attempts(&show);
    assert_eq!(tried.last().unwrap()["outcome"], "succeeded", "{show}");
    assert!(tried.iter().all(|a| a["outcome"] != "failed"), "{show}");
}

#[test]
fn the_agent_vanishing_before_a_dispatch_stops_the_goal_without_counting_an_attempt_and_resume_finishes() {
    let mut routes = fixing_task(ADD_TASK, FIX_ADD);
    routes.extend(fixing_task(UPPER_TASK, FIX_UPPER));
    routes.push(reviewer_route());
    let Some(case) = Case::new(BOTH, routes) else {
        return;
    };
    // An agent program that uninstalls itself as the first task's agent starts (the sandbox lets it
    // write there). That agent starts while the base's gates run, so the program is gone when the
    // controller looks it up to dispatch the task.
    let once = case.state.join("kimi");
    script(
        &once,
        &format!(
            "case \"${{OMK_TASK:-}}\" in t1-*) rm -f \"$0\" ;; esac\nexec '{}' \"$@\"\n",
            case.program.display()
        ),
    );
    let mut args = Case::run_args(BOTH);
    args.extend(["--max-agents", "1"]);
    let out = case.omk_with(&args, &once, &path_with(&case.pytest));
    assert_eq!(out.status.code(), Some(6), "{}", case.context(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("@moonshot-ai/kimi-code"),
        "{}",
        case.context(&out)
    );
    assert_infra_stop(&case, "the task agent");
    let show = case.show();
    assert!(
        attempts(&show).is_empty(),
        "no task was dispatched to the missing agent, nothing counted: {show}"
    );

    let out = case.omk(&["goal", "resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", case.context(&out));
    let show = case.show();
    assert_eq!(show["goal"]["status"], "ready", "{show}");
    assert_eq!(attempts(&show).len(), 2, "{show}");
}

#[test]
fn a_machine_failure_that_stops_the_controller_is_recorded_and_resume_finishes() {
    let mut routes = fixing_task(ADD_TASK, FIX_ADD);
    routes.push(reviewer_route());
    let Some(case) = Case::new(ADD, routes) else {
        return;
    };
    // The worktree root is a file: git cannot create the checkout the base's gates run in.
    let not_a_dir = case.repo.home.join("worktree-root-file");
    std::fs::write(&not_a_dir, "").unwrap();
    let out = case
        .command(&Case::run_args(ADD), &case.program, &path_with(&case.pytest))
        .env("OMK_WORKTREE_ROOT", &not_a_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", case.context(&out));
    let show = case.show();
    assert_eq!(show["goal"]["status"], "failed", "never left running: {show}");
    assert!(show["goal"]["lease"].is_null(), "the lease is released: {show}");
    let reason = show["goal"]["stop_reason"].as_str().unwrap();
    assert!(reason.starts_with("infrastructure: "), "{reason}");
    assert!(reason.contains("git omk goal resume"), "{reason}");
    assert!(attempts(&show).is_empty(), "{show}");

    let out = case.omk(&["goal", "resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", case.context(&out));
    assert_eq!(case.show()["goal"]["status"], "ready");
}
