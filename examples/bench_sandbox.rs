//! Benchmark (not a test): what the kernel sandbox costs, beside the same work done unconfined.
//!
//! - **Process start**: one `true` started the way gate commands and ACP terminals are (confined with a
//!   gate's scope: bubblewrap, its mounts, a private `TMPDIR`) and unconfined (`process::spawn_group`),
//!   alternately, until it has exited.
//! - **Agent start-up and a scripted turn**, for each installed real agent (both Kimi generations, Qwen
//!   Code) against the scripted model server: a `git_omk::agent::Session` confined and one with the
//!   sandbox off, same agent, model script and repository shape; starts alternate, turns interleave, so
//!   both see the same machine load.
//!
//! Run: `scripts/bench-sandbox.sh [TURNS] [STARTS]`. Figures go to docs/performance.md.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // benchmarks print figures
#![allow(clippy::disallowed_methods)] // a benchmark spawns processes, reads the clock and its environment

#[path = "../tests/support/model_server.rs"]
mod model_server;

#[path = "../tests/support/agents.rs"]
mod agents;

#[path = "support/scenario.rs"]
mod scenario;

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use agents::{Agent, AgentHome};
use git_omk::agent::{Session, SessionConfig, StopReason};
use git_omk::model::policy::Policy;
use git_omk::model::sandbox::{SandboxMode, SandboxSettings};
use git_omk::model::writeset::PathPattern;
use git_omk::process::GroupSpec;
use git_omk::sandbox::{Sandbox, Scope, mechanism};
use model_server::ModelServer;
use scenario::{median, ms, repo, script};

fn sandbox(mode: SandboxMode) -> Sandbox {
    Sandbox::new(SandboxSettings {
        mode,
        ..SandboxSettings::default()
    })
}

/// `later - earlier` and its share of `earlier`, signed (noise can make it negative).
fn overhead(earlier: Duration, later: Duration) -> String {
    let diff = later.as_secs_f64() - earlier.as_secs_f64();
    format!(
        "{:+.1} ms ({:+.1} %)",
        diff * 1000.0,
        100.0 * diff / earlier.as_secs_f64()
    )
}

/// Median time to start `true` and see it exit: (confined, unconfined), alternating `n` times each.
async fn process_starts(n: usize) -> (Duration, Duration) {
    let (_dir, work) = repo();
    let truth = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("true");
    let spec = GroupSpec {
        program: OsString::from(truth),
        args: Vec::new(),
        cwd: work.clone(),
        env: Vec::new(),
        stdin: false,
    };
    let scope = Scope::gate(&work, &[work.join(".git")]);
    let (confined, unconfined) = (sandbox(SandboxMode::Auto), sandbox(SandboxMode::Off));
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for _ in 0..n {
        for (sandbox, times) in [(&confined, &mut inside), (&unconfined, &mut outside)] {
            let t = Instant::now();
            let mut child = sandbox.spawn(&spec, &scope).expect("spawn");
            let status = child.wait().await.expect("wait");
            times.push(t.elapsed());
            assert!(status.success(), "true failed");
        }
    }
    (median(inside), median(outside))
}

/// A git-omk session and what it needs alive.
struct Omk {
    session: Session,
    _server: ModelServer,
    _home: AgentHome,
    _repo: tempfile::TempDir,
    start: Duration,
}

async fn start(kind: Agent, program: &Path, turns: usize, mode: SandboxMode) -> Omk {
    let (dir, work) = repo();
    let server = ModelServer::start(script(kind, &work, turns));
    let home = AgentHome::new();
    let policy = Policy::task(&work, vec![PathPattern::parse("**").expect("pattern")]).expect("policy");
    let mut config = SessionConfig::new(kind.spec(), policy);
    config.launch = home.launch(kind, program, &server);
    config.launch.sandbox = sandbox(mode);
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

async fn turn(omk: &mut Omk, i: usize) -> Duration {
    let t = Instant::now();
    let mut turn = omk
        .session
        .prompt(&format!("work on f{i}.txt"))
        .await
        .expect("turn");
    while turn.next_event().await.expect("event").is_some() {}
    let outcome = turn.finish().await.expect("turn");
    assert_eq!(outcome.stop, StopReason::Finished, "{:?}", outcome);
    t.elapsed()
}

/// One engine: median session start over `starts` pairs, median turn over `turns` interleaved pairs.
async fn engine(kind: Agent, program: &Path, turns: usize, starts: usize) {
    // Warm the caches (Python bytecode, Node compile cache) once.
    let mut warm = start(kind, program, 1, SandboxMode::Off).await;
    turn(&mut warm, 0).await;
    warm.session.shutdown().await;
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for _ in 1..starts {
        for (mode, times) in [(SandboxMode::Auto, &mut inside), (SandboxMode::Off, &mut outside)] {
            let omk = start(kind, program, 0, mode).await;
            times.push(omk.start);
            omk.session.shutdown().await;
        }
    }
    let mut confined = start(kind, program, turns, SandboxMode::Auto).await;
    let mut unconfined = start(kind, program, turns, SandboxMode::Off).await;
    inside.push(confined.start);
    outside.push(unconfined.start);
    let (mut turns_in, mut turns_out) = (Vec::new(), Vec::new());
    for i in 0..turns {
        turns_in.push(turn(&mut confined, i).await);
        turns_out.push(turn(&mut unconfined, i).await);
    }
    let (start_in, start_out) = (median(inside), median(outside));
    let (turn_in, turn_out) = (median(turns_in), median(turns_out));
    println!(
        "| {kind:?} | {} | {} | {} | {} | {} | {} |",
        ms(start_out),
        ms(start_in),
        overhead(start_out, start_in),
        ms(turn_out),
        ms(turn_in),
        overhead(turn_out, turn_in),
    );
    confined.session.shutdown().await;
    unconfined.session.shutdown().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let turns: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let starts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3).max(1);
    let mechanism = match mechanism() {
        Ok(m) => m.name.clone(),
        Err(u) => panic!("{u}"),
    };
    println!("Sandbox: {mechanism}\n");
    let n = 100;
    let (inside, outside) = process_starts(n).await;
    println!("| process start (`true`, median of {n}) | unconfined | confined | overhead |");
    println!("|---|---:|---:|---:|");
    println!(
        "| gate command / ACP terminal | {} | {} | {} |\n",
        ms(outside),
        ms(inside),
        ms(inside.saturating_sub(outside))
    );
    println!(
        "| engine | session start, unconfined (median of {starts}) | confined | overhead | scripted turn, unconfined (median of {turns}) | confined | overhead |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for kind in Agent::ALL {
        if let Some(program) = agents::installed(kind) {
            engine(kind, &program, turns, starts).await;
        }
    }
}
