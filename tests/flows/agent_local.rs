//! The agent layer against agents that need no model: a hostile fake agent (malformed JSON-RPC, a
//! 10 MB line, unknown methods, floods, dying, silence, ignoring cancel) speaking ACP and Wire, and the
//! `exec:` engine (writes checked after the turn, failures, cancel without orphans). Also: agents never
//! inherit git-omk's secrets, and stored transcripts are redacted.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn processes, read /proc and their environment

use crate::support;

use std::path::PathBuf;
use std::time::Duration;

use git_omk::agent::{AgentError, AgentEvent, Limits, Session, SessionConfig, StopReason};
use git_omk::model::ids::TaskId;
use git_omk::model::options::AgentSpec;
use git_omk::model::policy::Policy;
use git_omk::model::redact::REDACTED;
use git_omk::model::sandbox::{SandboxMode, SandboxSettings};
use git_omk::model::usage::PriceTable;
use git_omk::model::writeset::PathPattern;
use git_omk::process;
use git_omk::sandbox::Sandbox;
use support::git_repo::TestRepo;

fn hostile() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/agents/hostile_agent.py")
}

fn repo() -> TestRepo {
    TestRepo::with_files(&[("README.md", "# demo\n")])
}

fn config(repo: &TestRepo, agent: AgentSpec, write_set: &[&str]) -> SessionConfig {
    let set = write_set.iter().map(|p| PathPattern::parse(p).unwrap()).collect();
    SessionConfig::new(agent, Policy::task(&repo.path, set).unwrap())
}

/// A hostile ACP agent (`acp:python3 …`) or Wire agent (the script run as `kimi --wire …`).
fn hostile_config(repo: &TestRepo, wire: bool, mode: &str) -> SessionConfig {
    let mut config = if wire {
        let mut c = config(repo, AgentSpec::KimiWire, &["**"]);
        c.launch.program = Some(hostile());
        c.launch.extra_args = vec!["--mode".into(), mode.into()];
        c
    } else {
        let command = format!("python3 {} --mode {mode}", hostile().display());
        config(repo, AgentSpec::Acp(command), &["**"])
    };
    config.limits = Limits {
        max_line: 1 << 20,
        start_timeout: Duration::from_secs(30),
        cancel_grace: Duration::from_millis(500),
        ..Limits::default()
    };
    config
}

async fn noisy_agent_is_survived(wire: bool) {
    let repo = repo();
    let mut session = Session::start(hostile_config(&repo, wire, "noisy"))
        .await
        .expect("starts despite noise");
    assert_eq!(session.info().agent.as_deref(), Some("Hostile"));
    let mut turn = session.prompt("hello").await.unwrap();
    let mut warnings = 0;
    while let Some(event) = turn.next_event().await.expect("the noise is not fatal") {
        if matches!(event, AgentEvent::Warning { .. }) {
            warnings += 1;
        }
    }
    let outcome = turn.finish().await.unwrap();
    assert_eq!(outcome.stop, StopReason::Finished);
    assert_eq!(outcome.text, "Hello world");
    assert!(warnings <= 20, "warnings are rate-limited: {warnings}");
    let noise = session.record(&PriceTable::default()).noise;
    assert!(noise.malformed >= 8, "{noise:?}");
    assert!(noise.too_long >= 2, "the 10 MB lines were discarded: {noise:?}");
    assert!(noise.unknown >= 4000, "{noise:?}");
    // The agent's unknown request was answered: the session still works.
    let (_, again) = (0, session.run("again").await.unwrap());
    assert_eq!(again.stop, StopReason::Finished);
    session.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noisy_acp_agent_is_survived() {
    noisy_agent_is_survived(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noisy_wire_agent_is_survived() {
    noisy_agent_is_survived(true).await;
}

#[tokio::test]
async fn an_agent_that_dies_is_a_clear_error() {
    for wire in [false, true] {
        let repo = repo();
        let mut session = Session::start(hostile_config(&repo, wire, "dies")).await.unwrap();
        let err = session.run("go").await.expect_err("the agent died");
        let text = err.to_string();
        assert!(matches!(err, AgentError::Exited { .. }), "{err:?}");
        assert!(
            text.contains("boom, fatal error"),
            "stderr is in the message: {text}"
        );
        assert!(text.contains('3'), "the exit status is in the message: {text}");
    }
}

#[tokio::test]
async fn a_silent_agent_times_out() {
    let repo = repo();
    let mut config = hostile_config(&repo, false, "silent");
    config.limits.start_timeout = Duration::from_millis(700);
    let err = Session::start(config).await.expect_err("no answer");
    assert!(
        matches!(err, AgentError::Timeout { ref what, .. } if what == "initialize"),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_agent_ignoring_cancel_is_killed() {
    for (wire, mode) in [
        (false, "ignores-cancel"),
        (true, "ignores-cancel"),
        (false, "no-newline"),
    ] {
        let repo = repo();
        let mut session = Session::start(hostile_config(&repo, wire, mode)).await.unwrap();
        let pgid = session.process_group().expect("the agent runs");
        let turn = session.prompt("go").await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        turn.cancel();
        let outcome = turn.finish().await.expect("the turn ends");
        assert_eq!(outcome.stop, StopReason::Cancelled, "{mode}");
        assert!(outcome.agent_killed, "{mode}");
        assert!(
            session.run("again").await.is_err(),
            "a killed session refuses new turns"
        );
        wait_until_gone(pgid).await;
        assert!(
            process::group_members(pgid).is_empty(),
            "the killed agent's group is gone ({mode})"
        );
    }
}

async fn wait_until_gone(pgid: i32) {
    for _ in 0..100 {
        if process::group_members(pgid).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn exec_writes_are_checked_after_the_turn() {
    let repo = repo();
    let command = "printf 'hi\\n' > hello.txt; echo done; echo extra >> README.md".to_owned();
    let mut session = Session::start(config(&repo, AgentSpec::Exec(command), &["hello.txt"]))
        .await
        .unwrap();
    let mut turn = session.prompt("make hello").await.unwrap();
    let mut text = String::new();
    while let Some(event) = turn.next_event().await.unwrap() {
        if let AgentEvent::Text { text: t } = event {
            text.push_str(&t);
        }
    }
    let outcome = turn.finish().await.unwrap();
    assert_eq!(outcome.stop, StopReason::Finished);
    assert_eq!(text, "done\n");
    assert_eq!(outcome.changed, vec!["README.md", "hello.txt"]);
    assert_eq!(outcome.violations.len(), 1);
    assert_eq!(outcome.violations[0].path, "README.md");
    assert!(outcome.violation_evidence().unwrap().contains("README.md"));
    assert_eq!(outcome.usage.total(), 0, "no model, no tokens");
}

#[tokio::test]
async fn exec_protected_paths_head_moves_and_failures() {
    for sandbox in [SandboxMode::Auto, SandboxMode::Off] {
        protected_paths_head_moves_and_failures(sandbox).await;
    }
}

/// Confined, the agent's commit is refused (the git directory is read-only) and the refusal is a
/// breach; unconfined, the commit goes through and moving HEAD is a violation.
async fn protected_paths_head_moves_and_failures(mode: SandboxMode) {
    let repo = repo();
    let command = "mkdir -p .omk && echo x > .omk/gates.toml && git commit -qam sneaky --allow-empty; exit 4";
    let mut config = config(&repo, AgentSpec::Exec(command.into()), &["**"]);
    config.launch.sandbox = Sandbox::new(SandboxSettings {
        mode,
        ..SandboxSettings::default()
    });
    config.launch.env = vec![
        ("GIT_AUTHOR_NAME".into(), "a".into()),
        ("GIT_AUTHOR_EMAIL".into(), "a@x".into()),
        ("GIT_COMMITTER_NAME".into(), "a".into()),
        ("GIT_COMMITTER_EMAIL".into(), "a@x".into()),
    ];
    let mut session = Session::start(config).await.unwrap();
    let outcome = session.run("do it").await.unwrap();
    assert!(
        matches!(&outcome.stop, StopReason::Failed { message } if message.contains('4')),
        "{:?}",
        outcome.stop
    );
    let paths: Vec<&str> = outcome.violations.iter().map(|v| v.path.as_str()).collect();
    assert!(paths.contains(&".omk/gates.toml"), "{paths:?}");
    if mode == SandboxMode::Off {
        assert!(paths.contains(&"HEAD"), "the agent moved HEAD: {paths:?}");
    } else {
        assert!(!paths.contains(&"HEAD"), "the commit was refused: {paths:?}");
        assert!(
            outcome
                .violation_evidence()
                .unwrap()
                .contains("Read-only file system"),
            "{:?}",
            outcome.breaches
        );
    }
}

#[tokio::test]
async fn exec_in_a_read_only_session_may_change_nothing() {
    let repo = repo();
    let mut config = config(&repo, AgentSpec::Exec("touch notes.txt".into()), &[]);
    config.policy = Policy::read_only(&repo.path).unwrap();
    let mut session = Session::start(config).await.unwrap();
    let outcome = session.run("look").await.unwrap();
    assert!(
        !repo.path.join("notes.txt").exists(),
        "the sandbox refused the write"
    );
    assert!(outcome.violations.is_empty());
    assert!(
        outcome
            .violation_evidence()
            .unwrap()
            .contains("Read-only file system"),
        "the refusal fails the attempt: {:?}",
        outcome.breaches
    );
}

#[tokio::test]
async fn exec_cancel_leaves_no_orphan() {
    let repo = repo();
    let marker = format!("sleep 300.{}", std::process::id());
    let command = format!("{marker} & {marker} & wait");
    let mut session = Session::start(config(&repo, AgentSpec::Exec(command), &["**"]))
        .await
        .unwrap();
    let turn = session.prompt("wait").await.unwrap();
    let sleeps = || running(|c| c.starts_with(&marker));
    for _ in 0..100 {
        if sleeps() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sleeps(), 2, "both sleeps run");
    turn.cancel();
    let outcome = turn.finish().await.unwrap();
    assert_eq!(outcome.stop, StopReason::Cancelled);
    for _ in 0..100 {
        if count(&marker) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count(&marker), 0, "no process of the group survives");
}

/// Processes (the shell, the sleeps, the sandbox around them) whose command line names `marker`.
fn count(marker: &str) -> usize {
    running(|c| c.contains(marker))
}

fn running(matches: impl Fn(&str) -> bool) -> usize {
    process::processes()
        .into_iter()
        .filter(|p| !p.zombie && process::command_line(p.pid).is_some_and(|c| matches(&c)))
        .count()
}

#[tokio::test]
async fn stored_transcripts_are_redacted() {
    let repo = repo();
    let command = "echo 'token ghp_abcdefghijklmnopqrstuvwxyz0123456789'; echo 'password=hunter2'; \
                   echo 'the value s3cr3t-value-123'";
    let mut config = config(&repo, AgentSpec::Exec(command.into()), &["**"]);
    config.launch.known_secrets = vec!["s3cr3t-value-123".into()];
    let mut session = Session::start(config).await.unwrap();
    session.run("leak things").await.unwrap();
    let task = TaskId::parse("t1").unwrap();
    let files = session.attempt_files(&task, 2, &PriceTable::default());
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        vec!["agents/t1/2/session.json", "agents/t1/2/transcript.jsonl"]
    );
    let transcript = String::from_utf8(files[1].1.clone()).unwrap();
    for secret in [
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "hunter2",
        "s3cr3t-value-123",
    ] {
        assert!(!transcript.contains(secret), "{secret} leaked: {transcript}");
    }
    assert_eq!(transcript.matches(REDACTED).count(), 3, "{transcript}");
    let record: serde_json::Value = serde_json::from_slice(&files[0].1).unwrap();
    assert_eq!(record["engine"], "exec");
    assert_eq!(record["schema_version"], 1);
    assert_eq!(record["turns"].as_array().unwrap().len(), 1);
    let again = session.attempt_files(&task, 3, &PriceTable::default());
    assert!(
        again[1].1.is_empty(),
        "each attempt gets the turns since the previous one"
    );
}

/// Runs in a child process of this test binary with secrets in its environment (see below).
#[tokio::test]
async fn inner_agent_environment_dump() {
    let Some(out) = std::env::var_os("OMK_TEST_ENV_DUMP") else {
        return; // only meaningful inside `agents_never_inherit_git_omk_secrets`
    };
    let repo = repo();
    let out = PathBuf::from(out);
    let command = format!("env > '{}'", out.display());
    let mut config = config(&repo, AgentSpec::Exec(command), &["**"]);
    config.launch.sandbox = Sandbox::new(SandboxSettings {
        allow_write: out.parent().into_iter().map(PathBuf::from).collect(),
        ..SandboxSettings::default()
    });
    config.launch.env = vec![
        ("GITHUB_TOKEN".into(), "from-launch".into()),
        ("KEEP_ME".into(), "yes".into()),
    ];
    let mut session = Session::start(config).await.unwrap();
    session.run("dump").await.unwrap();
}

#[test]
fn agents_never_inherit_git_omk_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("env.txt");
    // libtest names a test by its module path inside the test binary, without the binary's name.
    let inner = match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::inner_agent_environment_dump"),
        None => "inner_agent_environment_dump".to_owned(),
    };
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", inner.as_str(), "--test-threads=1"])
        .env("OMK_TEST_ENV_DUMP", &dump)
        .env("GH_TOKEN", "ghp_secret_from_parent")
        .env("SSH_AUTH_SOCK", "/nonexistent/agent.sock")
        .env("OMK_GITHUB_TOKEN", "omk-secret")
        .env("KIMI_API_KEY", "the-users-own-kimi-key")
        .status()
        .unwrap();
    assert!(status.success());
    let env = std::fs::read_to_string(&dump).expect("the agent dumped its environment");
    assert!(!env.contains("GH_TOKEN="), "{env}");
    assert!(!env.contains("OMK_GITHUB_TOKEN="), "{env}");
    assert!(
        !env.contains("GITHUB_TOKEN="),
        "not even when the launch names it: {env}"
    );
    assert!(
        env.contains("KIMI_API_KEY=the-users-own-kimi-key"),
        "the user's agent credentials pass"
    );
    assert!(env.contains("KEEP_ME=yes"));
    assert!(!env.contains("SSH_AUTH_SOCK="), "{env}");
    let tmp = env
        .lines()
        .find_map(|l| l.strip_prefix("TMPDIR="))
        .expect("a private TMPDIR");
    assert!(tmp.contains("omk-sandbox-"), "{tmp}");
    assert!(
        !std::path::Path::new(tmp).exists(),
        "the private TMPDIR is removed with the agent"
    );
}

#[test]
fn prices_come_from_git_config() {
    let repo = repo();
    repo.git(&["config", "omk.price.kimi-k2.input", "0.60"]);
    repo.git(&["config", "omk.price.kimi-k2.output", "2.5"]);
    repo.git(&["config", "omk.price.gpt-4.1.input", "0"]);
    repo.git(&["config", "omk.price.gpt-4.1.output", "0"]);
    let table = git_omk::settings::price_table(&gix::open(&repo.path).unwrap()).unwrap();
    let price = table.get("kimi-k2").expect("configured");
    assert_eq!(
        (price.input_micros_per_mtok, price.output_micros_per_mtok),
        (600_000, 2_500_000)
    );
    assert!(
        table.get("gpt-4.1").is_some(),
        "dotted model names and free models"
    );
    assert!(table.get("other").is_none());
    repo.git(&["config", "omk.price.half.input", "1"]);
    let err = git_omk::settings::price_table(&gix::open(&repo.path).unwrap()).unwrap_err();
    assert_eq!(
        err.key, "omk.price.half.output",
        "a half-priced model is an error"
    );
    repo.git(&["config", "--unset", "omk.price.half.input"]);
    assert!(
        git_omk::settings::price_table(&gix::open(&repo.path).unwrap()).is_ok(),
        "an emptied section is ignored"
    );
    repo.git(&["config", "omk.price.bad.input", "-1"]);
    repo.git(&["config", "omk.price.bad.output", "1"]);
    let err = git_omk::settings::price_table(&gix::open(&repo.path).unwrap()).unwrap_err();
    assert_eq!(err.key, "omk.price.bad.input");
}

/// A request an ACP agent makes for a session that is not the current one (an earlier session of the
/// same process) is refused and recorded; the current session's request is served.
#[tokio::test]
async fn a_request_for_another_session_is_refused() {
    let repo = repo();
    let mut session = Session::start(hostile_config(&repo, false, "foreign-session"))
        .await
        .expect("the agent starts");
    let mut turn = session.prompt("read").await.unwrap();
    let mut denied = Vec::new();
    while let Some(event) = turn.next_event().await.unwrap() {
        if let AgentEvent::Denied(denial) = event {
            denied.push(denial);
        }
    }
    let outcome = turn.finish().await.unwrap();
    assert_eq!(outcome.text, "foreign: refused; own: # demo\n");
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(
        (denied[0].tool.as_str(), denied[0].target.as_str()),
        ("fs/read_text_file", "s-old")
    );
    assert!(denied[0].reason.contains("not this session"), "{denied:?}");
    session.shutdown().await;
}

/// `session/update` notifications of a closed session, of a session the agent never opened for us,
/// or naming none never reach the current session: not its events, its answer, nor its transcript.
/// They are counted as noise in the session record.
#[tokio::test]
async fn updates_of_another_session_never_reach_the_current_one() {
    let repo = repo();
    let mut session = Session::start(hostile_config(&repo, false, "foreign-updates"))
        .await
        .expect("the agent starts");
    let mut turn = session.prompt("talk").await.unwrap();
    let mut events = Vec::new();
    while let Some(event) = turn.next_event().await.unwrap() {
        events.push(format!("{event:?}"));
    }
    let outcome = turn.finish().await.unwrap();
    assert_eq!(outcome.text, "own words only");
    assert!(events.iter().all(|e| !e.contains("LEAK")), "{events:?}");
    let task = TaskId::parse("t1").unwrap();
    let files = session.attempt_files(&task, 1, &PriceTable::default());
    let transcript = String::from_utf8(files[1].1.clone()).unwrap();
    assert!(transcript.contains("own words only"), "{transcript}");
    assert!(!transcript.contains("LEAK"), "{transcript}");
    let record: serde_json::Value = serde_json::from_slice(&files[0].1).unwrap();
    assert_eq!(record["noise"]["unknown"], 9, "{record}");
    session.shutdown().await;
}
