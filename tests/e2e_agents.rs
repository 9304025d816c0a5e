//! The whole loop with the REAL agents: `git omk goal run --until-ready` drives kimi-cli 1.51.0 (Wire),
//! Kimi Code 2.1.0 (ACP) and Qwen Code 0.24.4 (ACP), each answering from the project's scripted model
//! server, on a Python fixture repository with failing pytest tests. These scenarios run for all three:
//! - two slices fixing two files run concurrently, integrate, and end `ready`, the fix proven by a test
//!   that fails on the base and passes on the result, the user's branch untouched, the goal's tokens
//!   exactly what the agents reported, every recorded tool call with its input;
//! - an agent that first tries a write outside its worktree learns why it was refused — as the tool's
//!   result (both Kimi generations, which go on), or in the retry's prompt (Qwen Code, which ends its
//!   turn on a refusal) — then fixes the bug: `ready`, the refusal recorded, nothing written outside;
//! - an agent whose edits never fix the test ends `not_ready` within its retry limit;
//! - a token budget crossed during a turn ends `needs_more_budget`; `budget-add` and `resume` finish it;
//! - `cancel` from another terminal during a long tool call: exit 5, no process left behind.
//!
//! Two more lifecycles run with one generation each: a high finding from the real reviewer (after a
//! repair round) blocks `ready` until `accept`; `pause` during a tool call with two agents running,
//! then `resume` to `ready`.
//!
//! The model routes by conversation (two agents talk to it at once, reviewer sessions come after): each
//! task's brief names its task, each prompt's model calls are counted from its user message.
//!
//! Agents come from `scripts/install-agents.sh` (`OMK_TEST_KIMI_WIRE`, `OMK_TEST_KIMI_ACP`,
//! `OMK_TEST_QWEN`), pytest from
//! `scripts/install-pytest.sh`; missing tools fail on CI and are skipped loudly elsewhere.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::agents::{API_KEY, Agent, AgentHome, installed};
use support::emulator::{Emulator, Remote, TOKEN};
use support::follow::Follow;
use support::git_repo::TestRepo;
use support::http::Front;
use support::model_server::{ModelServer, Route, Turn};
use support::omk::{json as json_of, until_ready};
use support::scenario::{ADD, ADD_TASK, BOTH, FIX_ADD, FIX_UPPER, UPPER_TASK, reviewer_route, small};
use support::tools::{path_with, pytest_bin};

/// What every retry prompt says.
const RETRY: &str = "did not pass review by git-omk";
/// What only the correctness reviewer's prompt says.
const CORRECTNESS_REVIEWER: &str = "You are the reviewer for git-omk";
/// What git-omk says when a review answer was unusable.
const REVIEW_REPAIR: &str = "Your answer could not be used";
/// What a prompt says after the agent ended its turn on a refusal.
const REFUSAL_NOTE: &str = "git-omk refused";

/// What the fix task of the first review round is told (its task line).
const REVIEW_TASK: &str = "): Address review comments on calc.py";
/// The shell command that does what the two review comments ask.
const FIX_REVIEW: &str = "sed -i 's/^def add(a, b):$/# The sum of a and b.\\ndef add(a, b):/' calc.py && printf '\\n\\ndef mul2(a, b):\\n    return a * b\\n' >> calc.py && grep -n 'def \\|#' calc.py";

/// One end-to-end case: a real agent, the fixture repository, the scripted model.
struct Case {
    kind: Agent,
    repo: TestRepo,
    agent_home: AgentHome,
    server: ModelServer,
    env: Vec<(String, String)>,
}

impl Case {
    /// A case for `kind` answering with `routes`; `None` when a tool is missing (local only).
    fn new(kind: Agent, routes: Vec<Route>) -> Option<Case> {
        let program = installed(kind)?;
        let bin = pytest_bin()?;
        let repo = TestRepo::with_files(&[
            (
                "calc.py",
                "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n",
            ),
            ("strings.py", "def upper(s):\n    return s.lower()\n"),
            (
                "test_calc.py",
                "from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n",
            ),
            (
                "test_strings.py",
                "from strings import upper\n\n\ndef test_upper():\n    assert upper('a') == 'A'\n",
            ),
            ("pytest.ini", "[pytest]\n"),
            ("README.md", "# calc\n\nSmall helpers.\n"),
        ]);
        let server = ModelServer::routed(routes);
        let agent_home = AgentHome::new();
        let launch = agent_home.launch(kind, &program, &server);
        let mut env = vec![
            ("PATH".to_owned(), path_with(&bin)),
            (
                "OMK_WORKTREE_ROOT".to_owned(),
                repo.home.join("worktrees").display().to_string(),
            ),
            (kind.program_var().to_owned(), program.display().to_string()),
            ("OMK_AGENT_ARGS".to_owned(), json!(launch.extra_args).to_string()),
            // A hang guard only: scripted turns take seconds.
            ("OMK_TURN_TIMEOUT".to_owned(), "5m".to_owned()),
        ];
        // The agent inherits git-omk's environment; git-omk's own HOME stays the hermetic one.
        env.extend(launch.env.into_iter().filter(|(k, _)| k != "HOME"));
        Some(Case {
            kind,
            repo,
            agent_home,
            server,
            env,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        support::omk::command(&self.repo, &self.env, args, &[])
    }

    fn omk(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("git-omk runs")
    }

    /// `goal run GOAL --until-ready` with this case's agent and the heuristic planner.
    fn run(&self, goal: &str, extra: &[&str]) -> Output {
        let agent = self.kind.spec().to_string();
        let mut args = until_ready(goal, &agent, &["--json"]);
        args.extend_from_slice(extra);
        self.omk(&args)
    }

    fn show(&self) -> Value {
        json_of(&self.omk(&["goal", "show", "-f", "json"]))
    }

    fn proof(&self) -> Value {
        json_of(&self.omk(&["goal", "proof", "--json"]))
    }

    /// The recorded `proof.json` of goal `id`.
    fn proof_file(&self, id: &str) -> Value {
        let text = self
            .repo
            .git(&["show", &format!("refs/omk/goals/{id}:proof.json")]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("proof.json ({e}): {text}"))
    }

    fn worktrees(&self) -> Vec<String> {
        self.repo.linked_worktrees()
    }

    /// The requests route `index` answered.
    fn answered_by(&self, index: usize) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.route == Some(index))
            .count()
    }

    /// Every token the model reported is counted in the goal's usage, and nothing is estimated.
    fn assert_usage_counted(&self) {
        let reported: u64 = self
            .server
            .requests()
            .iter()
            .filter_map(|r| r.usage)
            .map(|u| u.prompt + u.completion)
            .sum();
        let usage = &self.show()["goal"]["usage"];
        assert_eq!(
            usage["tokens"].as_u64(),
            Some(reported),
            "{:?}: {usage}",
            self.kind
        );
        assert_eq!(usage["tokens_estimated"], 0, "{:?}: {usage}", self.kind);
    }

    /// Every tool call in every recorded transcript shows the input it was called with, and no step's
    /// usage was estimated.
    fn assert_tool_calls_show_their_input(&self, goal_ref: &str, files: &str) {
        let mut calls = 0;
        for path in files.lines().filter(|p| p.ends_with("transcript.jsonl")) {
            let text = self.repo.git(&["show", &format!("{goal_ref}:{path}")]);
            for line in text.lines() {
                let entry: Value = serde_json::from_str(line).expect("a transcript line");
                match entry["kind"].as_str() {
                    Some("tool_call") => {
                        calls += 1;
                        let input = &entry["input"];
                        assert!(
                            input.as_object().is_some_and(|o| !o.is_empty()),
                            "{:?}: {path}: a tool call without its input: {line}",
                            self.kind
                        );
                    }
                    Some("usage") => assert_eq!(entry["usage"]["estimated"], 0, "{path}: {line}"),
                    _ => {}
                }
            }
        }
        assert!(
            calls >= 2,
            "{:?}: the fixing commands are recorded: {files}",
            self.kind
        );
    }

    /// The model saw only what the routes expected, and every request matched a route.
    fn assert_model_satisfied(&self) {
        let mismatches = self.server.mismatches();
        assert!(
            mismatches.is_empty(),
            "{:?}: unexpected model requests: {mismatches:#?}",
            self.kind
        );
    }

    /// No process that git-omk started for this case outlives it: every agent (and every command an
    /// agent ran) carries the case's agent state directory in its environment.
    fn assert_no_agent_left(&self) {
        let left = self.processes("");
        assert!(
            left.is_empty(),
            "{:?}: processes outlived git-omk: {left:#?}",
            self.kind
        );
    }

    /// Live processes started for this case (see [`Case::assert_no_agent_left`]) whose command line
    /// contains `needle`.
    fn processes(&self, needle: &str) -> Vec<String> {
        let home = self.agent_home.home();
        let marker = home.parent().expect("the agent home has a parent");
        let marker = marker.display().to_string();
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
            .filter(|e| {
                let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                let zombie = stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z');
                let environ = std::fs::read(e.path().join("environ")).unwrap_or_default();
                !zombie && String::from_utf8_lossy(&environ).contains(marker.as_str())
            })
            .map(|e| {
                let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                format!(
                    "{:?}: {}",
                    e.file_name(),
                    String::from_utf8_lossy(&cmd).replace('\0', " ")
                )
            })
            .filter(|line| line.contains(needle))
            .collect()
    }

    /// What to show when an assertion fails: git-omk's output and the goal.
    fn context(&self, out: &Output) -> String {
        format!(
            "{:?}\nexit: {:?}\nstdout: {}\nstderr: {}\nmodel mismatches: {:#?}\nshow: {}",
            self.kind,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            tail(&String::from_utf8_lossy(&out.stderr)),
            self.server.mismatches(),
            String::from_utf8_lossy(&self.omk(&["goal", "show", "-f", "json"]).stdout),
        )
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

fn task<'a>(show: &'a Value, title_part: &str) -> &'a Value {
    show["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["title"].as_str().is_some_and(|s| s.contains(title_part)))
        .unwrap_or_else(|| panic!("no task titled like {title_part:?}: {show}"))
}

/// A task whose first model call runs `command`, and whose second (after the tool result, which must
/// contain `seen`) ends the prompt.
fn fixing_task(kind: Agent, task: &str, command: &str, seen: &str) -> Vec<Route> {
    vec![
        Route::when(task).step(0).reply(small(kind.shell(command))),
        Route::when(task).step(1).reply(small(
            Turn::text("Fixed it; the test passes now.").expect_last(seen),
        )),
    ]
}

/// Run `scenario` for each engine, each in its own test.
macro_rules! all_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn kimi_wire() {
                super::$name(super::Agent::KimiWire);
            }
            #[test]
            fn kimi_acp() {
                super::$name(super::Agent::KimiAcp);
            }
            #[test]
            fn qwen() {
                super::$name(super::Agent::Qwen);
            }
        }
    )*};
}

all_engines!(
    two_slices_run_concurrently_and_end_ready,
    a_refused_write_is_stated_to_the_agent_which_then_fixes,
    a_gate_that_keeps_failing_ends_not_ready,
    a_budget_crossed_mid_turn_stops_then_budget_add_finishes,
    cancel_during_a_tool_call_leaves_no_process,
);

// Two more whole lifecycles, one engine each to keep the binary's wall time down (the review and the
// interruption paths they use are covered for every engine above).
mod a_high_review_finding_blocks_ready_until_accepted {
    #[test]
    fn kimi_wire() {
        super::a_high_review_finding_blocks_ready_until_accepted(super::Agent::KimiWire);
    }
}

mod a_review_on_the_pr_is_fixed_by_the_agent_pushed_and_answered {
    #[test]
    fn kimi_acp() {
        super::a_review_on_the_pr_is_fixed_by_the_agent_pushed_and_answered(super::Agent::KimiAcp);
    }
}

mod goal_watch_follows_the_agent_while_it_runs {
    #[test]
    fn kimi_acp() {
        super::goal_watch_follows_the_agent_while_it_runs(super::Agent::KimiAcp);
    }
}

// Kimi Code serves several sessions in one process: its finished task's agent hosts the reviewer,
// also when it is chosen as `--agent kimi` (the installed generation).
mod a_reviewer_in_the_task_agents_process_reads_only {
    #[test]
    fn kimi_acp() {
        super::a_reviewer_in_the_task_agents_process_reads_only(super::Agent::KimiAcp, None);
    }

    #[test]
    fn kimi_found_to_be_kimi_code() {
        super::a_reviewer_in_the_task_agents_process_reads_only(super::Agent::KimiAcp, Some("kimi"));
    }
}

mod pause_during_a_tool_call_then_resume_finishes {
    #[test]
    fn kimi_acp() {
        super::pause_during_a_tool_call_then_resume_finishes(super::Agent::KimiAcp);
    }
}

fn two_slices_run_concurrently_and_end_ready(kind: Agent) {
    let mut routes = fixing_task(kind, ADD_TASK, FIX_ADD, "return a + b");
    routes.extend(fixing_task(kind, UPPER_TASK, FIX_UPPER, "return s.upper()"));
    routes.push(reviewer_route());
    let Some(case) = Case::new(kind, routes) else {
        return;
    };
    let before = case.repo.user_state();
    let out = case.run(BOTH, &["--max-agents", "2"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "ready exits 0: {}",
        case.context(&out)
    );
    let result = json_of(&out);
    assert_eq!(result["status"], "ready", "{}", case.context(&out));
    assert_eq!(
        case.repo.user_state(),
        before,
        "the user's branch, HEAD and work tree are untouched"
    );

    let branch = result["integration"]["branch"]
        .as_str()
        .expect("integration branch");
    let id = result["id"].as_str().expect("goal id");
    assert_eq!(branch, format!("omk/{id}/integration"));
    let file = |rev: &str, path: &str| case.repo.git(&["show", &format!("{rev}:{path}")]);
    assert!(file(branch, "calc.py").contains("return a + b"));
    assert!(file(branch, "strings.py").contains("return s.upper()"));
    assert!(
        file("HEAD", "calc.py").contains("return a - b"),
        "the user's branch still has the bug"
    );

    let show = case.show();
    let (add, upper) = (task(&show, "add"), task(&show, "upper"));
    for t in [add, upper] {
        assert_eq!(t["status"], "done", "{t}");
        assert_eq!(t["attempts"].as_array().map(Vec::len), Some(1), "{t}");
    }
    let (a, b) = (&add["attempts"][0], &upper["attempts"][0]);
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("rfc3339");
    assert!(
        at(&a["started_at"]) < at(&b["ended_at"]) && at(&b["started_at"]) < at(&a["ended_at"]),
        "the slices ran concurrently: {a} {b}"
    );

    let proof = case.proof();
    assert_eq!(proof["readiness"]["status"], "ready", "{proof}");
    let proof = case.proof_file(id);
    assert_eq!(proof["status"], "ready", "{proof}");
    let oracle = proof["oracle"].as_array().expect("oracle checks");
    let fail_to_pass = oracle
        .iter()
        .find(|c| c["check"]["check"] == "fail_to_pass")
        .unwrap_or_else(|| panic!("a bugfix goal has a fail-to-pass check: {proof}"));
    assert_eq!(fail_to_pass["passed"], true, "{fail_to_pass}");
    assert!(
        fail_to_pass["detail"]
            .as_str()
            .is_some_and(|d| d.contains("test_add") && d.contains("test_upper")),
        "the proof names the tests that failed on the base: {fail_to_pass}"
    );

    // Both tasks went through the tool-call → tool-result loop, and both reviewers answered.
    for route in 0..4 {
        assert!(case.answered_by(route) >= 1, "route {route} was used");
    }
    assert!(
        case.answered_by(4) >= 2,
        "the reviewer and the security reviewer ran"
    );
    case.assert_model_satisfied();
    case.assert_no_agent_left();
    case.assert_usage_counted();
    assert!(
        case.worktrees().is_empty(),
        "worktrees removed: {:?}",
        case.worktrees()
    );
    let history = case.repo.git(&["log", "--format=%B", branch]);
    for trailer in [
        format!("Omk-Goal: {id}"),
        "Omk-Task: t1-fix-add-calc-py".to_owned(),
        "Omk-Task: t2-fix-upper-strings-py".to_owned(),
    ] {
        assert!(
            history.contains(&trailer),
            "{trailer} on the integration branch: {history}"
        );
    }
    let replay = case.omk(&["goal", "replay", id, "--verify", "--json"]);
    assert!(
        replay.status.success(),
        "every snapshot matches its events: {}",
        case.context(&replay)
    );
    // The proof still holds when the gates run again on the proven tree (no agent is involved).
    let verified = case.omk(&["goal", "verify", id, "--json"]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "the proof holds: {}",
        case.context(&verified)
    );
    assert_eq!(json_of(&verified)["holds"], true);
    let goal_ref = format!("refs/omk/goals/{id}");
    let recorded = case.repo.git(&["ls-tree", "-r", "--name-only", &goal_ref]);
    assert!(
        recorded.contains("agents/t1-fix-add-calc-py/1/transcript.jsonl"),
        "the agent's transcript is recorded: {recorded}"
    );
    case.assert_tool_calls_show_their_input(&goal_ref, &recorded);
    let leaks = case.repo.git_output(&["grep", "-l", API_KEY, &goal_ref]);
    assert_eq!(
        leaks.status.code(),
        Some(1),
        "the goal records the agent's API key: {}",
        String::from_utf8_lossy(&leaks.stdout)
    );
}

/// The reviewer's session, opened in the process of the task's agent (which could write the task's
/// worktree), is as read-only as one in a process of its own: its shell write and its file write are
/// refused, recorded, and change nothing. `agent` is what `--agent` says (`kind`'s own name unless
/// given); the correctness reviewer is never started in a process of its own.
fn a_reviewer_in_the_task_agents_process_reads_only(kind: Agent, agent: Option<&str>) {
    let mut routes = vec![
        Route::when(CORRECTNESS_REVIEWER)
            .step(0)
            .reply(small(kind.shell("echo pwned >> calc.py; echo pwned > pwned.txt"))),
        Route::when(CORRECTNESS_REVIEWER).step(1).reply(small(kind.write(
            Path::new("/"),
            "calc.py",
            "pwned\n",
        ))),
        Route::when(CORRECTNESS_REVIEWER).step(2).reply(small(Turn::text(
            "Nothing to report.\n```json\n{\"findings\": []}\n```",
        ))),
        reviewer_route(),
    ];
    routes.extend(fixing_task(kind, ADD_TASK, FIX_ADD, "return a + b"));
    routes.extend(fixing_task(kind, UPPER_TASK, FIX_UPPER, "return s.upper()"));
    let Some(case) = Case::new(kind, routes) else {
        return;
    };
    let agent = agent.map_or_else(|| case.kind.spec().to_string(), str::to_owned);
    let args = until_ready(BOTH, &agent, &["--json"]);
    let out = case
        .command(&args)
        .env("OMK_LOG", "git_omk::ops::review=debug,omk::timing=debug")
        .output()
        .expect("git-omk runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "ready exits 0: {}",
        case.context(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the reviewer session runs in the task agent's process"),
        "no second agent process for the reviewer: {stderr}"
    );
    let started = |role: &str| {
        let (subject, step) = (format!("subject=\"{role}\""), "step=\"agent-start\"");
        stderr
            .lines()
            .filter(|l| l.contains(&subject) && l.contains(step))
            .count()
    };
    assert_eq!(
        started("reviewer"),
        0,
        "the hosted reviewer never starts an agent: {stderr}"
    );
    assert_eq!(started("security-reviewer"), 1, "{stderr}");
    let id = json_of(&out)["id"].as_str().expect("goal id").to_owned();
    let goal_ref = format!("refs/omk/goals/{id}");
    let transcript = case
        .repo
        .git(&["show", &format!("{goal_ref}:agents/reviewer/1/transcript.jsonl")]);
    let denied = transcript
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .any(|e| e["kind"] == "denied" && e["target"].as_str().is_some_and(|t| t.contains("calc.py")));
    assert!(
        denied,
        "the reviewer's write is refused and recorded: {transcript}"
    );
    let branch = format!("omk/{id}/integration");
    let calc = case.repo.git(&["show", &format!("{branch}:calc.py")]);
    assert!(calc.contains("return a + b") && !calc.contains("pwned"), "{calc}");
    let shown = case
        .command(&["goal", "show", &id, "-f", "json"])
        .output()
        .expect("show");
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&shown.stdout).contains("hosted_reviewer"),
        "the task's worktree is as the task left it: {}",
        String::from_utf8_lossy(&shown.stdout)
    );
    assert_eq!(case.answered_by(2), 1, "the reviewer answered after the refusals");
    case.assert_model_satisfied();
    case.assert_no_agent_left();
}

fn a_high_review_finding_blocks_ready_until_accepted(kind: Agent) {
    let mut routes = fixing_task(kind, ADD_TASK, FIX_ADD, "return a + b");
    routes.extend(fixing_task(kind, UPPER_TASK, FIX_UPPER, "return s.upper()"));
    routes.extend([
        // The correctness reviewer first answers in prose (unusable), then, asked again, with a high
        // finding; the security reviewer finds nothing.
        Route::when(CORRECTNESS_REVIEWER)
            .last_user(REVIEW_REPAIR)
            .reply(small(Turn::text(
                "```json\n{\"findings\": [{\"severity\": \"high\", \"file\": \"calc.py\", \"line\": 2, \"message\": \"add no longer rejects strings\"}]}\n```",
            ))),
        Route::when(CORRECTNESS_REVIEWER).reply(small(Turn::text("This looks risky to me."))),
        reviewer_route(),
    ]);
    let Some(case) = Case::new(kind, routes) else {
        return;
    };
    let out = case.run(BOTH, &["--max-agents", "2"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "not_ready exits 1: {}",
        case.context(&out)
    );
    let id = json_of(&out)["id"].as_str().expect("goal id").to_owned();
    let proof = case.proof();
    let reasons = proof["readiness"]["reasons"].as_array().expect("reasons");
    assert_eq!(reasons.len(), 1, "only the finding blocks: {proof}");
    assert_eq!(reasons[0]["code"], "blocking_finding", "{proof}");
    assert_eq!(reasons[0]["source"], "reviewer");
    assert_eq!(reasons[0]["file"], "calc.py");
    assert_eq!(reasons[0]["line"], 2);
    assert_eq!(case.answered_by(4), 1, "one repair round");

    let accepted = case.omk(&["goal", "accept", &id, "--summary", "strings were never supported"]);
    assert!(accepted.status.success(), "{}", case.context(&accepted));
    let proof = case.omk(&["goal", "proof", &id, "--json"]);
    assert_eq!(proof.status.code(), Some(0), "{}", case.context(&proof));
    assert_eq!(json_of(&proof)["readiness"]["status"], "ready");
    case.assert_model_satisfied();
    case.assert_no_agent_left();
}

fn cancel_during_a_tool_call_leaves_no_process(kind: Agent) {
    let marker = "sleep 171";
    // Not starting with `sleep`: Qwen Code refuses `sleep N; …` itself.
    let routes = vec![
        Route::when(ADD_TASK)
            .step(0)
            .reply(small(kind.shell(&format!("echo go; {marker}; echo woke")))),
        Route::when(ADD_TASK).step(1).reply(small(Turn::text("Done."))),
    ];
    let Some(case) = Case::new(kind, routes) else {
        return;
    };
    let agent = kind.spec().to_string();
    let child = case
        .command(&until_ready(ADD, &agent, &[]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git-omk starts");
    // A hang guard only: wait until the agent runs the long command.
    let deadline = Instant::now() + Duration::from_secs(120);
    while case.processes(marker).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{kind:?}: the agent never ran {marker:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let cancel = case.omk(&["goal", "cancel"]);
    assert!(cancel.status.success(), "{}", case.context(&cancel));
    let out = child.wait_with_output().expect("git-omk ends");
    assert_eq!(
        out.status.code(),
        Some(5),
        "cancelled exits 5: {}",
        case.context(&out)
    );
    assert_eq!(case.show()["goal"]["status"], "cancelled");
    case.assert_no_agent_left();
}

fn pause_during_a_tool_call_then_resume_finishes(kind: Agent) {
    let marker = "sleep 172";
    let mut routes = vec![
        Route::when(ADD_TASK)
            .step(0)
            .times(1)
            .reply(small(kind.shell(&format!("echo go; {marker}; echo woke")))),
    ];
    routes.extend(fixing_task(kind, ADD_TASK, FIX_ADD, "return a + b"));
    routes.extend(fixing_task(kind, UPPER_TASK, FIX_UPPER, "return s.upper()"));
    routes.push(reviewer_route());
    let Some(case) = Case::new(kind, routes) else {
        return;
    };
    let agent = kind.spec().to_string();
    let child = case
        .command(&[
            "goal",
            "run",
            BOTH,
            "--until-ready",
            "--no-llm-planner",
            "--max-agents",
            "2",
            "--agent",
            &agent,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git-omk starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    while case.processes(marker).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{kind:?}: the agent never ran {marker:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pause = case.omk(&["goal", "pause"]);
    assert!(pause.status.success(), "{}", case.context(&pause));
    let out = child.wait_with_output().expect("git-omk ends");
    assert_eq!(
        out.status.code(),
        Some(5),
        "paused exits 5: {}",
        case.context(&out)
    );
    let show = case.show();
    assert_eq!(show["goal"]["status"], "paused", "{show}");
    assert_eq!(task(&show, "add")["attempts"][0]["outcome"], "interrupted");
    case.assert_no_agent_left();

    let resumed = case.omk(&["goal", "resume", "--json"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", case.context(&resumed));
    let result = json_of(&resumed);
    assert_eq!(result["status"], "ready");
    let branch = result["integration"]["branch"]
        .as_str()
        .expect("integration branch");
    let file = |path: &str| case.repo.git(&["show", &format!("{branch}:{path}")]);
    assert!(file("calc.py").contains("return a + b"));
    assert!(file("strings.py").contains("return s.upper()"));
    case.assert_model_satisfied();
    case.assert_no_agent_left();
}

fn a_refused_write_is_stated_to_the_agent_which_then_fixes(kind: Agent) {
    // An absolute path outside every worktree: the task's policy refuses it, whatever the agent. Not
    // in the system's temporary directory, which is empty inside the sandbox: there kimi-cli finds no
    // parent directory and never asks.
    let outside = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temp dir");
    let evil = outside.path().join("evil.txt");
    let evil_path = evil.display().to_string();
    let fix = || small(kind.shell(FIX_ADD));
    let fixed = || small(Turn::text("Fixed add.").expect_last("return a + b"));
    let mut routes = vec![
        // Qwen Code ends its turn on the refusal: the retry's prompt states what was refused and why.
        Route::when(ADD_TASK)
            .last_user(REFUSAL_NOTE)
            .step(0)
            .reply(fix().expect_last("evil.txt")),
        Route::when(ADD_TASK)
            .last_user(REFUSAL_NOTE)
            .step(1)
            .reply(fixed()),
        Route::when(ADD_TASK)
            .step(0)
            .reply(small(kind.write(Path::new("/"), &evil_path, "refused\n"))),
        // Both Kimi generations go on in the same turn, the refusal as the tool's result.
        Route::when(ADD_TASK).step(1).reply(fix()),
        Route::when(ADD_TASK).step(2).reply(fixed()),
    ];
    // The other slice, so that the goal's gate can pass.
    routes.extend(fixing_task(kind, UPPER_TASK, FIX_UPPER, "return s.upper()"));
    routes.push(reviewer_route());
    let Some(case) = Case::new(kind, routes) else {
        return;
    };
    let out = case.run(BOTH, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "ready exits 0: {}",
        case.context(&out)
    );
    assert!(!evil.exists(), "{kind:?}: the refused write happened");
    let show = case.show();
    let add = task(&show, "add");
    assert_eq!(add["status"], "done", "{add}");
    let attempts = add["attempts"].as_array().map(Vec::len);
    let requests = case.server.requests();
    let answered = |route: usize| requests.iter().filter(move |r| r.route == Some(route));
    if kind.ends_turn_on_refusal() {
        assert_eq!(attempts, Some(2), "the refusal ended the first attempt: {add}");
        assert_eq!(case.answered_by(0), 1, "the retry stated the refusal");
        let retry = answered(0).next().expect("the retry").body["messages"].to_string();
        assert!(retry.contains(&evil_path), "the retry names the target: {retry}");
        assert!(retry.contains("outside the task's worktree"), "and why: {retry}");
    } else {
        assert_eq!(attempts, Some(1), "the agent went on after the refusal: {add}");
        assert_eq!(case.answered_by(0), 0);
        assert_eq!(case.answered_by(3), 1, "the agent fixed after the refusal");
        let after = answered(3).next().expect("a step after the refusal").body["messages"].to_string();
        assert!(after.contains("git-omk"), "the model saw who refused it: {after}");
    }
    let id = json_of(&out)["id"].as_str().expect("goal id").to_owned();
    let goal_ref = format!("refs/omk/goals/{id}");
    let transcript = case.repo.git(&[
        "show",
        &format!("{goal_ref}:agents/t1-fix-add-calc-py/1/transcript.jsonl"),
    ]);
    let denied = transcript
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .any(|e| e["kind"] == "denied" && e["target"].as_str().is_some_and(|t| t.contains("evil.txt")));
    assert!(denied, "{kind:?}: the refusal is recorded: {transcript}");
    case.assert_model_satisfied();
    case.assert_no_agent_left();
    case.assert_usage_counted();
}

fn a_gate_that_keeps_failing_ends_not_ready(kind: Agent) {
    // Every prompt (the brief, then each retry) gets an edit that leaves the bug in place.
    let wrong = || small(kind.shell("echo '# looked at add' >> calc.py"));
    let routes = vec![
        Route::when(ADD_TASK)
            .last_user(RETRY)
            .step(0)
            .reply(wrong().expect_last("FAILED test_calc.py::test_add")),
        Route::when(ADD_TASK).step(0).reply(wrong()),
        Route::when(ADD_TASK)
            .step(1)
            .reply(small(Turn::text("Fixed add."))),
        reviewer_route(),
    ];
    let Some(case) = Case::new(kind, routes) else {
        return;
    };
    let before = case.repo.user_state();
    let out = case.run(ADD, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "not_ready exits 1: {}",
        case.context(&out)
    );
    assert_eq!(json_of(&out)["status"], "not_ready");
    let show = case.show();
    let add = task(&show, "add");
    assert_eq!(add["status"], "failed", "{add}");
    let attempts = add["attempts"].as_array().expect("attempts");
    let limit = add["retry_limit"].as_u64().expect("a retry limit") as usize;
    assert_eq!(attempts.len(), limit, "every allowed attempt, no more: {add}");
    assert!(attempts.iter().all(|a| a["outcome"] == "failed"), "{add}");
    assert!(
        attempts
            .iter()
            .all(|a| a["session_id"].is_string() && a["session_id"] == attempts[0]["session_id"]),
        "retries continue the same agent session: {add}"
    );
    assert_eq!(
        case.answered_by(0),
        limit - 1,
        "each retry prompt carried the failing test back to the agent"
    );
    let proof = case.proof();
    assert_eq!(proof["readiness"]["status"], "not_ready", "{proof}");
    let reasons = proof["readiness"]["reasons"].as_array().expect("reasons");
    assert!(
        reasons
            .iter()
            .any(|r| r["code"] == "task_not_done" && r["task"] == "t1-fix-add-calc-py"),
        "the proof names the failed task: {proof}"
    );
    assert_eq!(case.repo.user_state(), before);
    case.assert_model_satisfied();
    case.assert_no_agent_left();
    case.assert_usage_counted();
}

fn a_budget_crossed_mid_turn_stops_then_budget_add_finishes(kind: Agent) {
    let mut routes = vec![
        // The first model call of the `add` task reports more tokens than the whole budget.
        Route::when(ADD_TASK)
            .step(0)
            .times(1)
            .reply(kind.shell(FIX_ADD).usage(50_000, 10, 0)),
        Route::when(ADD_TASK).step(0).reply(small(kind.shell(FIX_ADD))),
        // Slow enough that git-omk cancels the turn while the model is still answering.
        Route::when(ADD_TASK)
            .step(1)
            .reply(small(Turn::text("Fixed add.")).delay(Duration::from_secs(3))),
    ];
    routes.extend(fixing_task(kind, UPPER_TASK, FIX_UPPER, "return s.upper()"));
    routes.push(reviewer_route());
    let Some(case) = Case::new(kind, routes) else {
        return;
    };
    let before = case.repo.user_state();
    let out = case.run(BOTH, &["--max-agents", "2", "--budget-tokens", "20000"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "needs_more_budget exits 4: {}",
        case.context(&out)
    );
    let show = case.show();
    let goal = &show["goal"];
    assert_eq!(goal["status"], "needs_more_budget", "{show}");
    assert!(
        goal["stop_reason"]
            .as_str()
            .is_some_and(|r| r.contains("token") && r.contains("budget is exhausted")),
        "{goal}"
    );
    assert!(
        goal["usage"]["tokens"].as_u64() > goal["limits"]["tokens"].as_u64(),
        "{goal}"
    );
    let add = task(&show, "add");
    assert_eq!(add["attempts"][0]["outcome"], "interrupted", "{add}");
    assert_eq!(case.answered_by(0), 1, "the expensive answer was served once");
    let id = goal["id"].as_str().expect("goal id").to_owned();

    let added = case.omk(&["goal", "budget-add", &id, "--tokens", "1000000"]);
    assert!(added.status.success(), "{}", case.context(&added));
    let resumed = case.omk(&["goal", "resume", &id, "--json"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", case.context(&resumed));
    assert_eq!(json_of(&resumed)["status"], "ready");
    let branch = format!("omk/{id}/integration");
    let file = |path: &str| case.repo.git(&["show", &format!("{branch}:{path}")]);
    assert!(file("calc.py").contains("return a + b"));
    assert!(file("strings.py").contains("return s.upper()"));
    let show = case.show();
    let add = task(&show, "add");
    assert_eq!(add["status"], "done", "{add}");
    let attempts = add["attempts"].as_array().expect("attempts");
    assert!(
        attempts.len() >= 2
            && attempts[0]["session_id"].is_string()
            && attempts
                .iter()
                .all(|a| a["session_id"] == attempts[0]["session_id"]),
        "the interrupted agent session was resumed in the new process: {add}"
    );
    assert_eq!(case.repo.user_state(), before);
    case.assert_model_satisfied();
    case.assert_no_agent_left();
}

/// The review/fix loop with a real agent: a goal delivered as a draft PR gets a `CHANGES_REQUESTED`
/// review with two inline comments; `address-reviews` has the agent fix both, proves the new result
/// `ready`, pushes it, updates the PR body and the sticky comment, and answers both comments in their
/// threads; a second run changes nothing.
fn a_review_on_the_pr_is_fixed_by_the_agent_pushed_and_answered(kind: Agent) {
    let mut routes = fixing_task(kind, REVIEW_TASK, FIX_REVIEW, "def mul2");
    routes.extend(fixing_task(kind, ADD_TASK, FIX_ADD, "return a + b"));
    routes.extend(fixing_task(kind, UPPER_TASK, FIX_UPPER, "return s.upper()"));
    routes.push(reviewer_route());
    let Some(mut case) = Case::new(kind, routes) else {
        return;
    };
    let Some(emulator) = Emulator::start() else {
        return;
    };
    let front = Front::start(Some(emulator.addr));
    let remote = Remote::mirroring(&emulator, &case.repo.home);
    let remote_path = remote.path.display().to_string();
    case.repo.git(&["remote", "add", "origin", &remote_path]);
    case.repo.git(&["config", "omk.github.repo", "omk-bot/demo"]);
    case.repo.git(&["config", "omk.github.apiUrl", &front.url()]);
    case.repo.git(&["push", "-q", "origin", "main"]);
    case.env.push(("GH_TOKEN".to_owned(), TOKEN.to_owned()));

    let out = case.run(BOTH, &["--max-agents", "2", "--policy", "draft-pr"]);
    assert_eq!(out.status.code(), Some(0), "{}", case.context(&out));
    let doc = json_of(&out);
    let number = doc["delivery"]["pr"]["number"].as_u64().expect("a PR");
    let comments = emulator.request_changes(number, "calc.py");
    assert_eq!(comments.len(), 2);
    emulator.bridge_replies(&front);

    let out = case.omk(&["goal", "address-reviews", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", case.context(&out));
    let report = json_of(&out);
    assert_eq!(report["status"], "ready", "{report}");
    let show = case.show();
    let head = show["goal"]["integration"]["commit"]
        .as_str()
        .expect("the result")
        .to_owned();
    let calc = case.repo.git(&["show", &format!("{head}:calc.py")]);
    assert!(
        calc.contains("# The sum of a and b.") && calc.contains("def mul2"),
        "the agent made both changes: {calc}"
    );
    let fix = task(&show, "Address review comments on calc.py");
    assert_eq!(fix["status"], "done", "{fix}");
    let branch = doc["delivery"]["branch"].as_str().expect("branch");
    let (_, pushed) = emulator.get(&emulator.repo_path(&format!("/branches/{branch}")));
    assert_eq!(pushed["commit"]["sha"], head.as_str(), "the new head was pushed");
    let proof = case.proof();
    assert_eq!(proof["readiness"]["status"], "ready", "{proof}");
    let proof_commit = proof["proof_commit"].as_str().expect("proof commit");
    let body = emulator.pull(number)["body"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        body.contains("**Proof:** `ready`") && body.contains(proof_commit),
        "{body}"
    );
    let sticky = emulator.proof_summaries(number);
    assert_eq!(sticky.len(), 1, "one sticky comment");
    assert!(
        sticky[0]["body"].as_str().is_some_and(|b| b.contains(&head[..7])),
        "the sticky comment shows the new head: {}",
        sticky[0]
    );
    for id in &comments {
        let replies = emulator.replies_to(number, *id);
        assert_eq!(replies.len(), 1, "one reply to {id}");
        let text = replies[0]["body"].as_str().unwrap_or_default();
        assert!(text.contains(&format!("/commit/{head}")), "{text}");
    }

    let goal_ref = format!("refs/omk/goals/{}", doc["id"].as_str().expect("goal id"));
    let tip = case.repo.git(&["rev-parse", &goal_ref]);
    let threads = emulator.review_comments(number).len();
    let again = case.omk(&["goal", "address-reviews"]);
    assert_eq!(again.status.code(), Some(0), "{}", case.context(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing new"));
    assert_eq!(case.repo.git(&["rev-parse", &goal_ref]), tip, "nothing recorded");
    assert_eq!(emulator.review_comments(number).len(), threads);
    case.assert_model_satisfied();
    case.assert_no_agent_left();
}

/// `goal watch` in a second process prints the real agent's text and its tool call while the call
/// waits for a marker file the test creates only after seeing them; it then follows the goal to its
/// end and exits with the run's status code; `goal log` shows the same afterwards.
fn goal_watch_follows_the_agent_while_it_runs(kind: Agent) {
    // The marker is named through the environment: the policy refuses a path outside the worktree
    // written out, and cannot check one that an expansion names (reading it is harmless).
    let command = format!("while [ ! -e \"$WATCH_MARKER\" ]; do sleep 0.2; done; {FIX_ADD}");
    let tool = match kind {
        Agent::KimiWire => ("Shell", json!({"command": command})),
        Agent::KimiAcp => ("Bash", json!({"command": command})),
        Agent::Qwen => (
            "run_shell_command",
            json!({"command": command, "is_background": false}),
        ),
    };
    let routes = vec![
        Route::when(ADD_TASK).step(0).reply(small(
            Turn::text("Watch me: I wait for the marker, then fix add.\n").tool_call(tool.0, tool.1),
        )),
        Route::when(ADD_TASK).step(1).reply(small(
            Turn::text("Fixed it; the test passes now.").expect_last("return a + b"),
        )),
        reviewer_route(),
    ];
    let Some(case) = Case::new(kind, routes) else {
        return;
    };
    let marker = case.repo.home.join("watch-marker");
    let agent = kind.spec().to_string();
    let run = case
        .command(&until_ready(ADD, &agent, &[]))
        .env("WATCH_MARKER", &marker)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git-omk starts");
    // A hang guard only: start watching once a controller drives the goal.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = case.omk(&["goal", "status", "--json"]);
        if out.status.success() && !json_of(&out)["lease"].is_null() {
            break;
        }
        assert!(Instant::now() < deadline, "{kind:?}: no controller started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut watch = case
        .command(&["goal", "watch"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("git-omk starts");
    let mut lines = Follow::stdout_of(&mut watch);
    let guard = Duration::from_secs(180);
    assert!(lines.until("WATCH_MARKER", guard), "{kind:?}: {}", lines.text());
    let seen = lines.text();
    assert!(
        seen.contains("[t1 #1] agent: Watch me: I wait for the marker, then fix add."),
        "{kind:?}: {seen}"
    );
    assert!(seen.contains("[t1 #1] → "), "{kind:?}: the tool call: {seen}");
    // Only now can the agent's command go on.
    std::fs::write(&marker, "").unwrap();
    let out = run.wait_with_output().expect("git-omk ends");
    // `add` is fixed, but the fixture's other bug (`upper`) keeps the pytest gate red: not_ready, 1.
    assert_eq!(out.status.code(), Some(1), "{}", case.context(&out));
    lines.rest(guard);
    let status = watch.wait().expect("watch ends");
    assert_eq!(status.code(), out.status.code(), "{kind:?}: {}", lines.text());
    let text = lines.text();
    for needle in [
        "agent: Fixed it; the test passes now.",
        "proof: not_ready",
        " is not_ready",
    ] {
        assert!(text.contains(needle), "{kind:?}: `{needle}` in\n{text}");
    }
    let log = case.omk(&["goal", "log"]);
    let log = String::from_utf8_lossy(&log.stdout).into_owned();
    for needle in [
        "Watch me: I wait for the marker, then fix add.",
        "WATCH_MARKER",
        "Fixed it",
    ] {
        assert!(log.contains(needle), "{kind:?}: `{needle}` in\n{log}");
    }
    case.assert_model_satisfied();
    case.assert_no_agent_left();
}
