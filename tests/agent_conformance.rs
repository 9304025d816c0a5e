//! Conformance of the agent layer against the REAL agents: the same scenarios run against kimi-cli
//! 1.51.0 (Wire) and Kimi Code 2.1.0 (ACP), driven by the project's scripted model server, in real git
//! repositories. The scenarios: write inside the write set; a write outside it is refused and the file
//! untouched; edit an existing file; run a shell command; a refused shell command; cancel mid-tool with
//! no orphan; cancel while the model streams; per-turn usage equals what the model reported; resume a
//! session in a new process with its history.
//!
//! Agents come from `scripts/install-agents.sh` (`OMK_TEST_KIMI_WIRE`, `OMK_TEST_KIMI_ACP`); a missing
//! agent fails on CI and is skipped loudly elsewhere.

#![allow(clippy::disallowed_methods)] // tests spawn agents, read /proc and their environment

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use git_omk::agent::{AgentEvent, EngineKind, Session, SessionConfig, StopReason, TurnOutcome};
use git_omk::model::policy::Policy;
use git_omk::model::usage::{Price, PriceTable};
use git_omk::model::writeset::PathPattern;
use git_omk::process;
use support::agents::{Agent, AgentHome, installed};
use support::git_repo::TestRepo;
use support::model_server::{ModelServer, Turn};

/// Everything one scenario needs: the agent, a repository, isolated agent state, the model.
struct Case {
    kind: Agent,
    program: PathBuf,
    repo: TestRepo,
    home: AgentHome,
    server: ModelServer,
}

impl Case {
    /// A case for `kind` answering with the turns `script` makes for the work dir; `None` when the
    /// agent is not installed (local only).
    fn new(kind: Agent, script: impl FnOnce(&Path) -> Vec<Turn>) -> Option<Case> {
        let program = installed(kind)?;
        let repo = TestRepo::with_files(&[
            ("README.md", "# demo\n"),
            ("src/lib.rs", "pub fn answer() -> u32 { 41 }\n"),
        ]);
        let server = ModelServer::start(script(&repo.path));
        Some(Case {
            kind,
            program,
            repo,
            home: AgentHome::new(),
            server,
        })
    }

    /// A directory next to the repository, outside the worktree.
    fn outside(&self) -> PathBuf {
        let dir = self
            .repo
            .path
            .parent()
            .expect("the repo has a parent")
            .join("outside");
        std::fs::create_dir_all(&dir).expect("outside dir");
        dir
    }

    fn config(&self, write_set: &[&str]) -> SessionConfig {
        let set = write_set
            .iter()
            .map(|p| PathPattern::parse(p).expect("valid pattern"))
            .collect();
        let policy = Policy::task(&self.repo.path, set).expect("absolute work dir");
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
        std::fs::read_to_string(self.repo.path.join(path)).ok()
    }

    fn assert_model_saw_what_it_expected(&self) {
        let mismatches = self.server.mismatches();
        assert!(
            mismatches.is_empty(),
            "{:?}: the model saw unexpected requests: {mismatches:#?}",
            self.kind
        );
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

fn tool_results(events: &[AgentEvent]) -> Vec<(bool, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolResult { ok, output, .. } => Some((*ok, output.clone())),
            _ => None,
        })
        .collect()
}

/// Run `scenario` for both engines, each in its own test.
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
        }
    )*};
}

async fn within_limit(scenario: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(180), scenario)
        .await
        .expect("the scenario finished within three minutes");
}

conformance!(
    write_inside_the_write_set,
    write_outside_is_refused,
    edit_an_existing_file,
    run_a_shell_command,
    refused_shell_command,
    cancel_mid_tool_leaves_no_orphan,
    cancel_while_the_model_streams,
    usage_per_turn_matches_the_model,
    resume_in_a_new_process,
    kimi_detects_the_installed_generation,
    read_only_session_changes_nothing,
    a_turn_crossing_a_budget_is_cancelled_on_its_usage,
);

async fn write_inside_the_write_set(kind: Agent) {
    let Some(case) = Case::new(kind, |root| {
        vec![kind.write(root, "hello.txt", "Hello\n"), Turn::text("done")]
    }) else {
        return;
    };
    let mut session = case.start(&["hello.txt"]).await;
    let (events, outcome) = run(&mut session, "Create hello.txt").await;
    assert_eq!(outcome.stop, StopReason::Finished, "{events:#?}");
    assert_eq!(case.file("hello.txt").as_deref(), Some("Hello\n"));
    assert_eq!(outcome.changed, vec!["hello.txt"]);
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    assert!(outcome.denials.is_empty(), "{:?}", outcome.denials);
    assert!(tool_results(&events).iter().all(|(ok, _)| *ok), "{events:#?}");
    assert!(events.iter().any(|e| matches!(e, AgentEvent::ToolCall { .. })));
    assert!(outcome.text.contains("done"));
    case.assert_model_saw_what_it_expected();
    session.shutdown().await;
}

async fn write_outside_is_refused(kind: Agent) {
    let Some(probe) = installed(kind) else {
        return;
    };
    drop(probe);
    let repo_outside = {
        // The outside path must be known before the script; build the case in two steps.
        let case = Case::new(kind, |_| Vec::new()).expect("installed");
        let path = case.outside().join("evil.txt");
        (case, path)
    };
    let (case, evil) = repo_outside;
    let root = &case.repo.path;
    case.server.set_turns(vec![
        kind.write(root, &evil.display().to_string(), "should be refused\n"),
        kind.write(root, "README.md", "overwritten\n"),
        Turn::text("ok, I stay inside"),
    ]);
    let mut session = case.start(&["hello.txt"]).await;
    let (events, outcome) = run(&mut session, "Write the files").await;
    assert_eq!(outcome.stop, StopReason::Finished, "{events:#?}");
    assert!(!evil.exists(), "the file outside the worktree was not written");
    assert_eq!(
        case.file("README.md").as_deref(),
        Some("# demo\n"),
        "outside the write set: untouched"
    );
    assert!(outcome.changed.is_empty(), "{:?}", outcome.changed);
    assert!(outcome.violations.is_empty());
    let targets: Vec<&str> = outcome.denials.iter().map(|d| d.target.as_str()).collect();
    assert!(targets.iter().any(|t| t.ends_with("evil.txt")), "{targets:?}");
    assert!(targets.iter().any(|t| t.ends_with("README.md")), "{targets:?}");
    assert!(outcome.denials.iter().all(|d| !d.reason.is_empty()));
    let results = tool_results(&events);
    assert_eq!(results.len(), 2, "{events:#?}");
    assert!(
        results.iter().all(|(ok, _)| !ok),
        "both writes failed for the model: {results:?}"
    );
    if kind == Agent::KimiWire {
        // Wire carries the refusal's reason back to the model, which goes on with its turn.
        let requests = case.server.requests();
        let second = requests[1].body["messages"].to_string();
        assert!(second.contains("git-omk"), "the model saw the feedback: {second}");
    }
    session.shutdown().await;
}

async fn edit_an_existing_file(kind: Agent) {
    let turns = |root: &Path| vec![kind.edit(root, "src/lib.rs", "41", "42"), Turn::text("edited")];
    let Some(case) = Case::new(kind, turns) else {
        return;
    };
    let mut session = case.start(&["src/**"]).await;
    let (events, outcome) = run(&mut session, "Fix the answer").await;
    assert_eq!(outcome.stop, StopReason::Finished, "{events:#?}");
    assert_eq!(
        case.file("src/lib.rs").as_deref(),
        Some("pub fn answer() -> u32 { 42 }\n")
    );
    assert_eq!(outcome.changed, vec!["src/lib.rs"]);
    assert!(outcome.violations.is_empty() && outcome.denials.is_empty());
    session.shutdown().await;
}

async fn run_a_shell_command(kind: Agent) {
    let turns = |_: &Path| {
        vec![
            kind.shell("echo made-by-shell > out.txt && cat out.txt"),
            Turn::text("seen").expect_last("made-by-shell"),
        ]
    };
    let Some(case) = Case::new(kind, turns) else {
        return;
    };
    let mut session = case.start(&["out.txt"]).await;
    let (events, outcome) = run(&mut session, "Run it").await;
    assert_eq!(outcome.stop, StopReason::Finished, "{events:#?}");
    assert_eq!(case.file("out.txt").as_deref(), Some("made-by-shell\n"));
    assert_eq!(outcome.changed, vec!["out.txt"]);
    let results = tool_results(&events);
    assert!(
        results
            .iter()
            .any(|(ok, out)| *ok && out.contains("made-by-shell")),
        "{results:?}"
    );
    case.assert_model_saw_what_it_expected();
    session.shutdown().await;
}

async fn refused_shell_command(kind: Agent) {
    let turns = |_: &Path| vec![kind.shell("git push origin main"), Turn::text("understood")];
    let Some(case) = Case::new(kind, turns) else {
        return;
    };
    let mut session = case.start(&["**"]).await;
    let (events, outcome) = run(&mut session, "Publish it").await;
    assert_eq!(outcome.stop, StopReason::Finished, "{events:#?}");
    let denial = outcome.denials.first().expect("the push was refused");
    assert!(denial.target.contains("git push"), "{denial:?}");
    assert!(denial.reason.contains("git push"), "{denial:?}");
    assert!(tool_results(&events).iter().all(|(ok, _)| !ok), "{events:#?}");
    assert!(outcome.changed.is_empty());
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

async fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..200 {
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
    // would leave the sleep behind.
    let turns = |_: &Path| {
        vec![
            kind.shell(&format!("{marker}; echo finished")),
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

async fn usage_per_turn_matches_the_model(kind: Agent) {
    let turns = |root: &Path| {
        vec![
            kind.write(root, "hello.txt", "Hi\n").usage(1000, 50, 600),
            Turn::text("done").usage(2000, 10, 0),
        ]
    };
    let Some(case) = Case::new(kind, turns) else {
        return;
    };
    let mut config = case.config(&["hello.txt"]);
    config.launch.model = Some("fake-model".into());
    let mut session = Session::start(config).await.expect("start");
    let (events, outcome) = run(&mut session, "Write").await;
    assert_eq!(outcome.stop, StopReason::Finished);
    let steps: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Usage { usage } => Some(*usage),
            _ => None,
        })
        .collect();
    assert_eq!(steps.len(), 2, "one usage event per LLM step: {steps:?}");
    let reported: Vec<_> = case.server.requests().iter().filter_map(|r| r.usage).collect();
    let prompt: u64 = reported.iter().map(|u| u.prompt).sum();
    let completion: u64 = reported.iter().map(|u| u.completion).sum();
    assert_eq!((prompt, completion), (3000, 60));
    assert_eq!(outcome.usage.input, prompt);
    assert_eq!(outcome.usage.output, completion);
    assert_eq!(outcome.usage.cache_read, 600);
    assert!(!outcome.usage.is_estimated());
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
        3000 + 120,
        "3000 input tokens at $1/M, 60 output at $2/M"
    );
    let unpriced = session.record(&PriceTable::default());
    assert_eq!(
        unpriced.cost.unpriced_tokens, 3060,
        "an unknown price is flagged, never free"
    );
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

async fn kimi_detects_the_installed_generation(kind: Agent) {
    let Some(case) = Case::new(kind, |_| vec![Turn::text("hi")]) else {
        return;
    };
    let mut config = case.config(&["**"]);
    config.agent = git_omk::model::options::AgentSpec::Kimi;
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
    let (_, outcome) = run(&mut session, "hello").await;
    assert_eq!(outcome.stop, StopReason::Finished);
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
    let (events, outcome) = run(&mut session, "Review the repository").await;
    assert_eq!(outcome.stop, StopReason::Finished, "{events:#?}");
    assert!(case.file("notes.txt").is_none() && case.file("other.txt").is_none());
    assert!(outcome.changed.is_empty() && outcome.violations.is_empty());
    assert_eq!(outcome.denials.len(), 2, "{:?}", outcome.denials);
    assert!(
        outcome.denials.iter().all(|d| d.reason.contains("read-only")),
        "{:?}",
        outcome.denials
    );
    let results = tool_results(&events);
    let printed = |out: &String| out.contains("# demo") && !out.contains("cat README");
    assert!(
        results.iter().any(|(ok, out)| *ok && printed(out)),
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
