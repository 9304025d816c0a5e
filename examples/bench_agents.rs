//! Benchmark (not a test): git-omk's own overhead per agent session start and per agent turn, next to
//! the agent's own start-up time, for the real agents (both Kimi generations, Qwen Code) against the
//! scripted model server.
//!
//! For each engine it measures, with the same agent, model script and repository:
//! - `raw`: a minimal client written here (spawn, JSON-RPC, approve everything, serve files without a
//!   policy, no diff check): what driving the agent costs at least;
//! - `omk`: `git_omk::agent::Session` (policy, served files, events, transcript, diff check).
//!
//! Run: `scripts/bench-agents.sh` (installs the agents, builds in release mode). Figures go to
//! docs/performance.md.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // benchmarks print figures
#![allow(clippy::disallowed_methods)] // a benchmark spawns processes, reads the clock and its environment

#[path = "../tests/support/model_server.rs"]
mod model_server;

#[path = "../tests/support/agents.rs"]
mod agents;

#[path = "support/raw_client.rs"]
mod raw_client;

#[path = "support/scenario.rs"]
mod scenario;

use std::path::Path;
use std::time::{Duration, Instant};

use agents::{Agent, AgentHome};
use git_omk::agent::{Session, SessionConfig, StopReason};
use git_omk::model::policy::Policy;
use git_omk::model::writeset::PathPattern;
use model_server::ModelServer;
use scenario::{median, ms, repo, script};

/// A git-omk session and what it needs alive.
struct Omk {
    session: Session,
    _server: ModelServer,
    _home: AgentHome,
    _repo: tempfile::TempDir,
    start: Duration,
}

async fn omk_start(kind: Agent, program: &Path, turns: usize) -> Omk {
    let (dir, work) = repo();
    let server = ModelServer::start(script(kind, &work, turns));
    let home = AgentHome::new();
    let policy = Policy::task(&work, vec![PathPattern::parse("**").expect("pattern")]).expect("policy");
    let mut config = SessionConfig::new(kind.spec(), policy);
    config.launch = home.launch(kind, program, &server);
    let t = Instant::now();
    let session = Session::start(config).await.expect("session starts");
    Omk {
        session,
        _server: server,
        _home: home,
        _repo: dir,
        start: t.elapsed(),
    }
}

/// One git-omk turn: (whole turn, of which the after-turn diff check).
async fn omk_turn(omk: &mut Omk, i: usize) -> (Duration, Duration) {
    let t = Instant::now();
    let mut turn = omk
        .session
        .prompt(&format!("work on f{i}.txt"))
        .await
        .expect("turn");
    while turn.next_event().await.expect("event").is_some() {}
    let events_done = t.elapsed();
    let outcome = turn.finish().await.expect("turn");
    assert_eq!(outcome.stop, StopReason::Finished);
    (t.elapsed(), t.elapsed() - events_done)
}

/// The minimal client with what it needs alive.
struct Raw {
    client: raw_client::Raw,
    _server: ModelServer,
    _home: AgentHome,
    _repo: tempfile::TempDir,
}

async fn raw_start(kind: Agent, program: &Path, turns: usize) -> Raw {
    let (dir, work) = repo();
    let server = ModelServer::start(script(kind, &work, turns));
    let home = AgentHome::new();
    let launch = home.launch(kind, program, &server);
    Raw {
        client: raw_client::Raw::start(kind, program, &work, &launch).await,
        _server: server,
        _home: home,
        _repo: dir,
    }
}

async fn raw_turn(raw: &mut Raw, i: usize) -> Duration {
    raw.client.prompt(&format!("work on f{i}.txt")).await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let turns: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    println!(
        "| engine | agent start-up (raw client) | git-omk session start | scripted turn, raw (median of {turns}) | scripted turn, git-omk | overhead per turn | of which the diff check |"
    );
    println!("|---|---|---|---|---|---|---|");
    for kind in Agent::ALL {
        let Some(program) = agents::installed(kind) else {
            continue;
        };
        // Warm the caches (Python bytecode, Node compile cache) once.
        let mut warm = raw_start(kind, &program, 1).await;
        raw_turn(&mut warm, 0).await;
        drop(warm);
        let mut raw = raw_start(kind, &program, turns).await;
        let mut omk = omk_start(kind, &program, turns).await;
        let (mut raw_times, mut omk_times, mut checks) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..turns {
            raw_times.push(raw_turn(&mut raw, i).await);
            let (whole, check) = omk_turn(&mut omk, i).await;
            omk_times.push(whole);
            checks.push(check);
        }
        let (raw_turn, omk_turn) = (median(raw_times), median(omk_times));
        let overhead = omk_turn.saturating_sub(raw_turn);
        let share = 100.0 * overhead.as_secs_f64() / raw_turn.as_secs_f64();
        println!(
            "| {kind:?} | {} | {} | {} | {} | {} ({share:.1} %) | {} |",
            ms(raw.client.start),
            ms(omk.start),
            ms(raw_turn),
            ms(omk_turn),
            ms(overhead),
            ms(median(checks))
        );
        let _ = raw.client.child.kill().await;
        omk.session.shutdown().await;
    }
}
