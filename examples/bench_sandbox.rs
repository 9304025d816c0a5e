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

/// The median of the per-turn differences (confined − unconfined, turn `i` against turn `i`): the
/// two sessions run the same turn with the same history right after each other, so what the machine
/// and the growing conversation add cancels out. In milliseconds, signed.
fn paired_overhead(confined: &[Duration], unconfined: &[Duration]) -> f64 {
    let mut diffs: Vec<f64> = confined
        .iter()
        .zip(unconfined)
        .map(|(c, u)| c.as_secs_f64() - u.as_secs_f64())
        .collect();
    diffs.sort_by(f64::total_cmp);
    diffs.get(diffs.len() / 2).map_or(0.0, |d| d * 1000.0)
}

/// `diff_ms` and its share of `base`, signed.
fn share(diff_ms: f64, base: Duration) -> String {
    format!(
        "{diff_ms:+.1} ms ({:+.1} %)",
        diff_ms / (base.as_secs_f64() * 10.0)
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

/// CPU time (user + system) used so far by the agent's processes (the tree under its process group's
/// leader: bubblewrap and everything inside when confined) and by this benchmark with the children
/// it reaped (git-omk's own work, ACP terminals, the in-process model server). Ticks of `/proc`, so
/// only sums over many turns mean anything.
fn cpu_now(omk: &Omk) -> Duration {
    let tree = omk
        .session
        .process_group()
        .and_then(|g| u32::try_from(g).ok())
        .map_or(0, tree_ticks);
    ticks(tree + stat_ticks("self").unwrap_or(0))
}

/// `/proc` counts CPU time in ticks of USER_HZ, 100 per second on Linux.
fn ticks(n: u64) -> Duration {
    Duration::from_millis(n * 10)
}

/// utime + stime + cutime + cstime of `/proc/<pid>/stat`.
fn stat_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(
        rest.split_whitespace()
            .skip(11)
            .take(4)
            .filter_map(|f| f.parse::<u64>().ok())
            .sum(),
    )
}

/// The CPU ticks of `leader` and its live descendants (each with the children it reaped).
fn tree_ticks(leader: u32) -> u64 {
    let all = git_omk::process::processes();
    let mut found = vec![leader];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|p| p.ppid == parent).map(|p| p.pid));
        i += 1;
    }
    found.iter().filter_map(|p| stat_ticks(&p.to_string())).sum()
}

/// One scripted turn: (wall time, CPU time of the agent and git-omk).
async fn turn(omk: &mut Omk, i: usize) -> (Duration, Duration) {
    let cpu = cpu_now(omk);
    let t = Instant::now();
    let mut turn = omk
        .session
        .prompt(&format!("work on f{i}.txt"))
        .await
        .expect("turn");
    while turn.next_event().await.expect("event").is_some() {}
    let outcome = turn.finish().await.expect("turn");
    assert_eq!(outcome.stop, StopReason::Finished, "{:?}", outcome);
    let wall = t.elapsed();
    (wall, cpu_now(omk).saturating_sub(cpu))
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
    let (mut cpu_in, mut cpu_out) = (Duration::ZERO, Duration::ZERO);
    for i in 0..turns {
        // Alternate which goes first, so neither always runs beside the other's after-turn work.
        let confined_first = i % 2 == 0;
        for confined_now in [confined_first, !confined_first] {
            let (omk, times, cpu) = match confined_now {
                true => (&mut confined, &mut turns_in, &mut cpu_in),
                false => (&mut unconfined, &mut turns_out, &mut cpu_out),
            };
            let (wall, used) = turn(omk, i).await;
            times.push(wall);
            *cpu += used;
        }
    }
    let (start_in, start_out) = (median(inside), median(outside));
    let paired = paired_overhead(&turns_in, &turns_out);
    let (turn_in, turn_out) = (median(turns_in), median(turns_out));
    let per_turn = |cpu: Duration| cpu / u32::try_from(turns.max(1)).unwrap_or(u32::MAX);
    let (cpu_in, cpu_out) = (per_turn(cpu_in), per_turn(cpu_out));
    println!(
        "| {kind:?} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        ms(start_out),
        ms(start_in),
        overhead(start_out, start_in),
        ms(turn_out),
        ms(turn_in),
        share(paired, turn_out),
        ms(cpu_out),
        ms(cpu_in),
        overhead(cpu_out, cpu_in),
    );
    confined.session.shutdown().await;
    unconfined.session.shutdown().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let turns: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let starts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3).max(1);
    // Engines to measure (`KimiWire`, `KimiAcp`, `Qwen`; default: all installed).
    let only: Vec<String> = args.collect();
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
        "| engine | session start, unconfined (median of {starts}) | confined | overhead | scripted turn, unconfined (median of {turns}) | confined | overhead (median of paired differences) | CPU per turn, unconfined (mean) | confined | overhead |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let chosen = Agent::ALL
        .into_iter()
        .filter(|kind| only.is_empty() || only.contains(&format!("{kind:?}")));
    for kind in chosen {
        if let Some(program) = agents::installed(kind) {
            engine(kind, &program, turns, starts).await;
        }
    }
}
