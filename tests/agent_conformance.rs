//! Conformance of the agent layer against the REAL agents: the same scenarios run against kimi-cli
//! 1.51.0 (Wire), Kimi Code 2.1.0 (ACP) and Qwen Code 0.24.4 (ACP), driven by the project's scripted
//! model server, in real git repositories. The scenarios:
//! - one turn writes a file, edits another, runs a shell command and answers; each step's usage equals
//!   what the model reported; the transcript shows every call with its input, every result, the usage;
//! - forbidden writes are refused by the task's policy — an absolute path outside, a `../` escape, the
//!   user's checkout (the session runs in a linked worktree of it), a file outside the write set — and
//!   so are a `git push` and reading a credential (`cat ~/.ssh/id_rsa`, a command Qwen Code would run
//!   without asking were it not for git-omk's defaults layer); an agent that ends its turn on a
//!   refusal (Qwen Code) is told what was refused and why in its next prompt;
//! - cancel mid-tool with no orphan, then the same session goes on; cancel while the model streams;
//! - a turn crossing a token budget is cancelled on its usage;
//! - a session resumes in a new process with its history (pause and resume);
//! - a read-only session changes nothing; the engine reports its kind and version.
//!
//! Scenarios share one session where that is honest (one turn, several steps) to keep the agents'
//! start-ups, the slow part, few. Agents come from `scripts/install-agents.sh` (`OMK_TEST_KIMI_WIRE`,
//! `OMK_TEST_KIMI_ACP`, `OMK_TEST_QWEN`); a missing agent fails on CI and is skipped loudly elsewhere.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn agents, read /proc and their environment

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use git_omk::agent::{AgentEvent, EngineKind, Session, SessionConfig, StopReason, TurnOutcome};
use git_omk::model::ids::TaskId;
use git_omk::model::policy::Policy;
use git_omk::model::usage::{Price, PriceTable, TokenUsage};
use git_omk::model::writeset::PathPattern;
use git_omk::process;
use serde_json::Value;
use support::agents::{Agent, AgentHome, installed};
use support::git_repo::TestRepo;
use support::model_server::{ModelServer, Turn};

/// Everything one scenario needs: the agent, a repository, isolated agent state, the model.
struct Case {
    kind: Agent,
    program: PathBuf,
    repo: TestRepo,
    /// The session's work dir: the repository itself, or a linked worktree of it.
    work: PathBuf,
    home: AgentHome,
    server: ModelServer,
}

impl Case {
    /// A case for `kind` answering with the turns `script` makes for the work dir; `None` when the
    /// agent is not installed (local only).
    fn new(kind: Agent, script: impl FnOnce(&Path) -> Vec<Turn>) -> Option<Case> {
        Case::build(kind, false, script)
    }

    /// Like [`Case::new`], with the session in a linked worktree of the repository (which then plays
    /// the user's checkout), as git-omk runs task agents.
    fn in_worktree(kind: Agent, script: impl FnOnce(&Path) -> Vec<Turn>) -> Option<Case> {
        Case::build(kind, true, script)
    }

    fn build(kind: Agent, worktree: bool, script: impl FnOnce(&Path) -> Vec<Turn>) -> Option<Case> {
        let program = installed(kind)?;
        let repo = TestRepo::with_files(&[
            ("README.md", "# demo\n"),
            ("src/lib.rs", "pub fn answer() -> u32 { 41 }\n"),
        ]);
        let work = if worktree {
            let wt = repo.path.parent().expect("the repo has a parent").join("task");
            repo.git(&["worktree", "add", "-q", "-b", "task", &wt.display().to_string()]);
            wt.canonicalize().expect("the worktree exists")
        } else {
            repo.path.clone()
        };
        let server = ModelServer::start(script(&work));
        Some(Case {
            kind,
            program,
            repo,
            work,
            home: AgentHome::new(),
            server,
        })
    }

    /// A directory outside the work dir that the agent sees: in its `HOME`, which stays visible
    /// (read-only) inside the sandbox. Next to the repository it would be in the system's temporary
    /// directory, which the sandbox empties, and kimi-cli refuses a write under a directory it
    /// cannot see itself, before git-omk is asked.
    fn outside(&self) -> PathBuf {
        let dir = self.home.home().join("outside");
        std::fs::create_dir_all(&dir).expect("outside dir");
        dir.canonicalize().expect("outside dir")
    }

    fn config(&self, write_set: &[&str]) -> SessionConfig {
        let set = write_set
            .iter()
            .map(|p| PathPattern::parse(p).expect("valid pattern"))
            .collect();
        let policy = Policy::task(&self.work, set).expect("absolute work dir");
        let mut config = SessionConfig::new(self.kind.spec(), policy);
        config.launch = self.home.launch(self.kind, &self.program, &self.server);
        config
    }

    async fn start(&self, write_set: &[&str]) -> Session {
        Session::start(self.config(write_set))
            .await
            .expect("the agent starts")
    }

    fn file(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.work.join(path)).ok()
    }

    fn assert_model_saw_what_it_expected(&self) {
        let mismatches = self.server.mismatches();
        assert!(
            mismatches.is_empty(),
            "{:?}: the model saw unexpected requests: {mismatches:#?}",
            self.kind
        );
    }

    /// The text of the last user message of each model request.
    fn last_user_messages(&self) -> Vec<String> {
        self.server
            .requests()
            .iter()
            .map(|r| {
                let messages = r.body["messages"].as_array().cloned().unwrap_or_default();
                messages
                    .iter()
                    .rev()
                    .find(|m| m["role"] == "user")
                    .map(|m| m["content"].to_string())
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// Run a prompt to its end, collecting the events.
async fn run(session: &mut Session, prompt: &str) -> (Vec<AgentEvent>, TurnOutcome) {
    let mut turn = session.prompt(prompt).await.expect("the prompt is sent");
    let mut events = Vec::new();
    while let Some(event) = turn.next_event().await.expect("the turn runs") {
        events.push(event);
    }
    (events, turn.finish().await.expect("the turn finishes"))
}

/// Run a prompt, then — while the agent ended its turn on refusals it never reacted to (Qwen Code
/// does after each rejected permission) — prompt "Go on." (the session puts the refusals first), as a
/// retry does. Returns every event and every turn's outcome.
async fn run_through_refusals(
    kind: Agent,
    session: &mut Session,
    prompt: &str,
) -> (Vec<AgentEvent>, Vec<TurnOutcome>) {
    let (mut events, first) = run(session, prompt).await;
    let mut outcomes = vec![first];
    while let Some(last) = outcomes.last().filter(|o| !o.unanswered_refusals.is_empty()) {
        assert!(
            kind.ends_turn_on_refusal(),
            "{kind:?} went on after its refusals, yet some were unanswered: {last:?}"
        );
        assert!(
            outcomes.len() < 10,
            "the agent keeps ending its turns on refusals"
        );
        let (more, outcome) = run(session, "Go on.").await;
        events.extend(more);
        outcomes.push(outcome);
    }
    (events, outcomes)
}

fn tool_results(events: &[AgentEvent]) -> Vec<(bool, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolResult { ok, output, .. } => Some((*ok, output.clone())),
            _ => None,
        })
        .collect()
}

/// Run `scenario` for each engine, each in its own test.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn kimi_wire() {
                within_limit(super::$name(Agent::KimiWire)).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn kimi_acp() {
                within_limit(super::$name(Agent::KimiAcp)).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn qwen() {
                within_limit(super::$name(Agent::Qwen)).await;
            }
        }
    )*};
}

async fn within_limit(scenario: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(180), scenario)
        .await
        .expect("the scenario finished within three minutes");
}

conformance!(
    a_turn_writes_edits_runs_a_command_and_answers,
    forbidden_writes_are_refused_by_the_policy,
    cancel_mid_tool_leaves_no_orphan,
    cancel_while_the_model_streams,
    resume_in_a_new_process,
    the_engine_reports_itself,
    read_only_session_changes_nothing,
    a_turn_crossing_a_budget_is_cancelled_on_its_usage,
);

async fn a_turn_writes_edits_runs_a_command_and_answers(kind: Agent) {
    let script = |root: &Path| {
        vec![
            kind.write(root, "hello.txt", "Hello\n").usage(1000, 50, 600),
            kind.read(root, "src/lib.rs").usage(1050, 10, 0),
            kind.edit(root, "src/lib.rs", "41", "42").usage(1100, 20, 0),
            kind.shell("echo made-by-shell > out.txt && cat out.txt")
                .usage(1200, 30, 0),
            Turn::text("done").expect_last("made-by-shell").usage(1300, 10, 0),
        ]
    };
    let Some(case) = Case::new(kind, script) else {
        return;
    };
    let mut config = case.config(&["hello.txt", "src/**", "out.txt"]);
    config.launch.model = Some("fake-model".into());
    let mut session = Session::start(config).await.expect("the agent starts");
    let (events, outcome) = run(&mut session, "Write, fix, run, then answer").await;
    assert_eq!(outcome.stop, StopReason::Finished, "{events:#?}");
    assert_eq!(case.file("hello.txt").as_deref(), Some("Hello\n"));
    assert_eq!(
        case.file("src/lib.rs").as_deref(),
        Some("pub fn answer() -> u32 { 42 }\n"),
        "{events:#?}"
    );
    assert_eq!(case.file("out.txt").as_deref(), Some("made-by-shell\n"));
    let mut changed = outcome.changed.clone();
    changed.sort();
    assert_eq!(changed, ["hello.txt", "out.txt", "src/lib.rs"]);
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    assert!(outcome.denials.is_empty(), "{:?}", outcome.denials);
    let results = tool_results(&events);
    assert_eq!(results.len(), 4, "{events:#?}");
    assert!(results.iter().all(|(ok, _)| *ok), "{results:?}");
    assert!(
        results.iter().any(|(_, out)| out.contains("made-by-shell")),
        "{results:?}"
    );
    assert!(outcome.text.contains("done"));
    case.assert_model_saw_what_it_expected();

    // Usage: one event per LLM step, exactly what the model reported, nothing estimated.
    let steps: Vec<TokenUsage> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Usage { usage } => Some(*usage),
            _ => None,
        })
        .collect();
    assert_eq!(steps.len(), 5, "one usage event per LLM step: {steps:?}");
    let reported: Vec<_> = case.server.requests().iter().filter_map(|r| r.usage).collect();
    let prompt: u64 = reported.iter().map(|u| u.prompt).sum();
    let completion: u64 = reported.iter().map(|u| u.completion).sum();
    assert_eq!((prompt, completion), (5650, 120));
    assert_eq!(
        outcome.usage,
        TokenUsage {
            cache_read: 600,
            ..TokenUsage::reported(prompt, completion)
        }
    );
    let mut prices = PriceTable::default();
    prices.insert(
        "fake-model",
        Price {
            input_micros_per_mtok: 1_000_000,
            output_micros_per_mtok: 2_000_000,
        },
    );
    let record = session.record(&prices);
    assert_eq!(record.usage, outcome.usage);
    assert_eq!(
        record.cost.usd.0,
        5650 + 240,
        "5650 input tokens at $1/M, 120 output at $2/M"
    );
    let unpriced = session.record(&PriceTable::default());
    assert_eq!(
        unpriced.cost.unpriced_tokens, 5770,
        "an unknown price is flagged, never free"
    );
    assert_transcript_is_complete(kind, &mut session);
    session.shutdown().await;
}

/// The recorded transcript has the prompt, every tool call with the input it was called with, every
/// result, every step's usage, the answer and the turn's end.
fn assert_transcript_is_complete(kind: Agent, session: &mut Session) {
    let task = TaskId::parse("t1").expect("a task id");
    let files = session.attempt_files(&task, 1, &PriceTable::default());
    let transcript = files
        .iter()
        .find(|(path, _)| path.ends_with("transcript.jsonl"))
        .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
        .expect("a transcript");
    let lines: Vec<Value> = transcript
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let of = |kind: &str| -> Vec<&Value> { lines.iter().filter(|l| l["kind"] == kind).collect() };
    assert_eq!(of("prompt").len(), 1, "{transcript}");
    let calls = of("tool_call");
    assert_eq!(calls.len(), 4, "{kind:?}: {transcript}");
    let inputs: Vec<String> = calls.iter().map(|c| c["input"].to_string()).collect();
    assert!(
        inputs[0].contains("hello.txt") && inputs[0].contains("Hello"),
        "{kind:?}: {inputs:?}"
    );
    assert!(inputs[1].contains("src/lib.rs"), "{kind:?}: {inputs:?}");
    assert!(
        inputs[2].contains("src/lib.rs") && inputs[2].contains("42"),
        "{kind:?}: {inputs:?}"
    );
    assert!(
        inputs[3].contains("echo made-by-shell > out.txt"),
        "{kind:?}: {inputs:?}"
    );
    assert_eq!(of("tool_result").len(), 4, "{transcript}");
    assert_eq!(of("usage").len(), 5, "{transcript}");
    // The answer streams in pieces; a step's usage read while it streams may stand between two of them.
    let said: String = of("text").iter().filter_map(|t| t["text"].as_str()).collect();
    assert!(said.contains("done"), "{kind:?}: {transcript}");
    let end = of("turn_end");
    assert_eq!(end.len(), 1, "{transcript}");
    assert_eq!(end[0]["usage"]["input"], 5650);
    let record = files
        .iter()
        .find(|(path, _)| path.ends_with("session.json"))
        .map(|(_, bytes)| serde_json::from_slice::<Value>(bytes).expect("session.json"))
        .expect("a session record");
    assert_eq!(record["usage"]["input"], 5650);
    assert_eq!(record["usage"]["estimated"], 0);
}

/// What [`forbidden_writes_are_refused_by_the_policy`] tries, in order, as the refusals name it.
const REFUSED: [&str; 6] = [
    "evil.txt",
    "escape.txt",
    "injected.txt",
    "notes.txt",
    "git push",
    "id_rsa",
];

async fn forbidden_writes_are_refused_by_the_policy(kind: Agent) {
    // The paths must be known before the script: build the case first, then script the model.
    let Some(case) = Case::in_worktree(kind, |_| Vec::new()) else {
        return;
    };
    let evil = case.outside().join("evil.txt");
    let checkout = case
        .repo
        .path
        .canonicalize()
        .expect("the checkout")
        .join("injected.txt");
    let root = &case.work;
    case.server.set_turns(vec![
        kind.write(root, &evil.display().to_string(), "absolute, outside\n"),
        kind.write(
            root,
            &format!("{}/../escape.txt", root.display()),
            "escape by ..\n",
        ),
        kind.write(
            root,
            &checkout.display().to_string(),
            "into the user's checkout\n",
        ),
        kind.write(root, "notes.txt", "outside the write set\n"),
        kind.shell("git push origin main"),
        kind.shell("cat ~/.ssh/id_rsa"),
        Turn::text("ok, I stay inside"),
    ]);
    let mut session = case.start(&["hello.txt"]).await;
    let (events, outcomes) = run_through_refusals(kind, &mut session, "Write the files").await;
    let last = outcomes.last().expect("a turn");
    assert_eq!(last.stop, StopReason::Finished, "{events:#?}");
    assert!(last.text.contains("I stay inside"), "{outcomes:#?}");
    for path in [&evil, &checkout] {
        assert!(!path.exists(), "{kind:?}: {} was written", path.display());
    }
    let escaped = case.repo.path.parent().expect("a parent").join("escape.txt");
    assert!(!escaped.exists(), "{kind:?}: the ../ escape was written");
    assert!(
        case.file("notes.txt").is_none(),
        "outside the write set: not written"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| o.changed.is_empty() && o.violations.is_empty()),
        "{outcomes:#?}"
    );
    let denials: Vec<_> = outcomes.iter().flat_map(|o| o.denials.clone()).collect();
    let refused = |needle: &str| {
        denials
            .iter()
            .any(|d| d.target.contains(needle) && !d.reason.is_empty())
    };
    for needle in REFUSED {
        assert!(
            refused(needle),
            "{kind:?}: {needle} was not refused: {denials:#?}"
        );
    }
    let results = tool_results(&events);
    assert_eq!(results.len(), REFUSED.len(), "{events:#?}");
    assert!(
        results.iter().all(|(ok, _)| !ok),
        "every refused call failed: {results:?}"
    );
    // The model learned why: Wire carries the reason as the tool's result; Qwen Code ends its turn
    // on each refusal, and the next prompt states what was refused and why.
    let asked = case.last_user_messages();
    match kind {
        Agent::Qwen => {
            assert_eq!(
                outcomes.len(),
                REFUSED.len() + 1,
                "one turn per refusal, then the answer: {outcomes:#?}"
            );
            for (refusal, next) in REFUSED.iter().zip(&asked[1..]) {
                assert!(
                    next.contains("git-omk refused") && next.contains(refusal),
                    "the prompt after refusing {refusal} says so: {next}"
                );
            }
        }
        Agent::KimiWire => {
            assert_eq!(outcomes.len(), 1);
            let second = case.server.requests()[1].body["messages"].to_string();
            assert!(second.contains("git-omk"), "the model saw the feedback: {second}");
        }
        Agent::KimiAcp => assert_eq!(outcomes.len(), 1, "Kimi Code goes on after a refusal"),
    }
    case.assert_model_saw_what_it_expected();
    session.shutdown().await;
}

/// Processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    process::processes()
        .into_iter()
        .filter(|p| !p.zombie)
        .filter(|p| process::command_line(p.pid).is_some_and(|c| c.contains(marker)))
        .map(|p| p.pid)
        .collect()
}

/// Wait until `ok` holds: a generous bound (a minute), so a loaded machine is never a failure.
async fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn unique_sleep() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("300.{:09}{}", nanos, std::process::id() % 1000)
}

async fn cancel_mid_tool_leaves_no_orphan(kind: Agent) {
    let seconds = unique_sleep();
    let marker = format!("sleep {seconds}");
    // A compound command: the shell forks `sleep` instead of exec-ing it, so killing the shell alone
    // would leave the sleep behind. (Not starting with `sleep`: Qwen Code refuses `sleep N; …` itself.)
    let turns = |_: &Path| {
        vec![
            kind.shell(&format!("echo start; {marker}; echo finished")),
            Turn::text("after cancel"),
        ]
    };
    let Some(case) = Case::new(kind, turns) else {
        return;
    };
    let mut session = case.start(&["**"]).await;
    let mut turn = session.prompt("Run the long command").await.expect("prompt");
    loop {
        tokio::select! {
            event = turn.next_event() => {
                if event.expect("the turn runs").is_none() {
                    panic!("the turn ended before the command ran");
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {
                if !processes_with(&marker).is_empty() {
                    break;
                }
            }
        }
    }
    turn.cancel();
    let outcome = turn.finish().await.expect("the cancelled turn ends");
    assert_eq!(outcome.stop, StopReason::Cancelled);
    assert!(!outcome.agent_killed, "the agent honoured the cancel");
    eventually("no process of the tool survives", || {
        processes_with(&marker).is_empty()
    })
    .await;
    // The same agent process serves the next turn.
    let (_, next) = run(&mut session, "Go on").await;
    assert_eq!(next.stop, StopReason::Finished);
    session.shutdown().await;
    assert!(processes_with(&marker).is_empty());
}

async fn cancel_while_the_model_streams(kind: Agent) {
    let long = "word ".repeat(400);
    let turns = |_: &Path| {
        vec![
            Turn::text(&long).slow_stream(400, Duration::from_millis(25)),
            Turn::text("fresh"),
        ]
    };
    let Some(case) = Case::new(kind, turns) else {
        return;
    };
    let mut session = case.start(&["**"]).await;
    let mut turn = session.prompt("Talk a lot").await.expect("prompt");
    loop {
        match turn.next_event().await.expect("the turn runs") {
            Some(AgentEvent::Text { .. }) => break,
            Some(_) => {}
            None => panic!("the turn ended before any text"),
        }
    }
    turn.cancel();
    let outcome = turn.finish().await.expect("the cancelled turn ends");
    assert_eq!(outcome.stop, StopReason::Cancelled);
    assert!(
        outcome.usage.is_estimated(),
        "the cancelled step's tokens are estimated: {:?}",
        outcome.usage
    );
    eventually("the model's stream was abandoned", || {
        case.server.requests().first().is_some_and(|r| !r.completed)
    })
    .await;
    let (_, next) = run(&mut session, "Again").await;
    assert_eq!(next.stop, StopReason::Finished);
    assert!(next.text.contains("fresh"));
    session.shutdown().await;
}

async fn resume_in_a_new_process(kind: Agent) {
    let turns = |_: &Path| {
        vec![
            Turn::text("noted"),
            Turn::text("it was PINEAPPLE").expect_any("the secret word is PINEAPPLE"),
        ]
    };
    let Some(case) = Case::new(kind, turns) else {
        return;
    };
    let mut first = case.start(&["**"]).await;
    let (_, outcome) = run(&mut first, "Remember: the secret word is PINEAPPLE").await;
    assert_eq!(outcome.stop, StopReason::Finished);
    let id = first.info().session_id.clone().expect("a session id to store");
    first.shutdown().await;
    let mut config = case.config(&["**"]);
    config.resume = Some(id.clone());
    let mut second = Session::start(config).await.expect("the session resumes");
    assert_eq!(second.info().session_id.as_deref(), Some(id.as_str()));
    let (_, outcome) = run(&mut second, "What was the word?").await;
    assert_eq!(outcome.stop, StopReason::Finished);
    assert!(outcome.text.contains("PINEAPPLE"));
    case.assert_model_saw_what_it_expected();
    let last = case.server.requests().last().expect("a request").body["messages"].to_string();
    assert!(
        last.contains("Remember: the secret word is PINEAPPLE"),
        "history was sent: {last}"
    );
    second.shutdown().await;
}

async fn the_engine_reports_itself(kind: Agent) {
    let Some(case) = Case::new(kind, |_| vec![Turn::text("hi")]) else {
        return;
    };
    let mut config = case.config(&["**"]);
    if kind != Agent::Qwen {
        // `kimi` detects the installed generation.
        config.agent = git_omk::model::options::AgentSpec::Kimi;
    }
    let mut session = Session::start(config).await.expect("start");
    let info = session.info().clone();
    let (engine, version, protocol) = match kind {
        Agent::KimiWire => (EngineKind::KimiWire, "1.51.0", "wire/1.10"),
        Agent::KimiAcp => (EngineKind::KimiAcp, "2.1.0", "acp/1"),
        Agent::Qwen => (EngineKind::Qwen, "0.24.4", "acp/1"),
    };
    assert_eq!(info.engine, engine);
    assert_eq!(info.version.as_deref(), Some(version));
    assert_eq!(info.protocol, protocol);
    assert!(info.session_id.is_some());
    if kind != Agent::KimiWire {
        assert_eq!(info.model.as_deref(), Some("fake-model"), "{info:?}");
    }
    let (_, outcome) = run(&mut session, "hello").await;
    assert_eq!(outcome.stop, StopReason::Finished);
    let record = session.record(&PriceTable::default());
    assert_eq!(record.noise, Default::default(), "no protocol noise: {record:?}");
    session.shutdown().await;
}

async fn read_only_session_changes_nothing(kind: Agent) {
    let turns = |root: &Path| {
        vec![
            kind.write(root, "notes.txt", "x\n"),
            kind.shell("touch other.txt"),
            kind.shell("cat README.md"),
            Turn::text("looked"),
        ]
    };
    let Some(case) = Case::new(kind, turns) else {
        return;
    };
    let mut config = case.config(&[]);
    config.policy = Policy::read_only(&case.repo.path).expect("policy");
    let mut session = Session::start(config).await.expect("start");
    let (events, outcomes) = run_through_refusals(kind, &mut session, "Review the repository").await;
    let last = outcomes.last().expect("a turn");
    assert_eq!(last.stop, StopReason::Finished, "{events:#?}");
    assert!(case.file("notes.txt").is_none() && case.file("other.txt").is_none());
    assert!(
        outcomes
            .iter()
            .all(|o| o.changed.is_empty() && o.violations.is_empty())
    );
    let denials: Vec<_> = outcomes.iter().flat_map(|o| o.denials.clone()).collect();
    assert_eq!(denials.len(), 2, "{denials:?}");
    assert!(
        denials.iter().all(|d| d.reason.contains("read-only")),
        "{denials:?}"
    );
    let results = tool_results(&events);
    assert!(
        results.iter().any(|(ok, out)| *ok && out.contains("# demo")),
        "reading is allowed: {results:?}"
    );
    session.shutdown().await;
}

async fn a_turn_crossing_a_budget_is_cancelled_on_its_usage(kind: Agent) {
    let turns = |_: &Path| {
        vec![
            kind.shell("echo step-one").usage(5000, 20, 0),
            kind.shell("echo step-two")
                .usage(5000, 20, 0)
                .delay(Duration::from_secs(3)),
            Turn::text("never reached"),
        ]
    };
    let Some(case) = Case::new(kind, turns) else {
        return;
    };
    let budget = 4000;
    let mut session = case.start(&["**"]).await;
    let mut turn = session
        .prompt("Work until the budget runs out")
        .await
        .expect("prompt");
    let mut cancelled_at = None;
    let mut seen = Vec::new();
    while let Some(event) = turn.next_event().await.expect("the turn runs") {
        seen.push(format!("{event:?}").chars().take(160).collect::<String>());
        if matches!(event, AgentEvent::Usage { .. })
            && turn.usage().total() > budget
            && cancelled_at.is_none()
        {
            cancelled_at = Some(turn.usage().total());
            turn.cancel();
        }
    }
    let outcome = turn.finish().await.expect("the turn ends");
    assert_eq!(
        cancelled_at,
        Some(5020),
        "cancelled on the first step's usage, while the turn ran"
    );
    let served: Vec<_> = case
        .server
        .requests()
        .iter()
        .map(|r| (r.turn, r.completed))
        .collect();
    assert_eq!(outcome.stop, StopReason::Cancelled, "{seen:#?} served {served:?}");
    assert!(case.server.served() <= 2, "the third step never ran");
    session.shutdown().await;
}
