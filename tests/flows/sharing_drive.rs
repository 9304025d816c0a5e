//! A goal driven across machines end to end (DESIGN §8): machine A runs part of a goal with the `exec`
//! agent and real pytest gates, machine B fetches, verifies and finishes it; a controller running on A
//! keeps B from driving the goal until A pauses it. Real clones of a bare remote.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read the clock

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::machines::{Machine, World};
use support::omk::{json, task, write_executable};
use support::scenario::TWO_BUGS;
use support::tools::{path_with, pytest_bin};

const AGENT: &str = r##"#!/bin/sh
# A scripted coding agent: fixes what its task line names; hangs when AGENT_MODE=hang; finds nothing
# when asked to review.
case "$OMK_PROMPT" in
  *"reviewer for git-omk"*) printf '```json\n{"findings": []}\n```\n'; exit 0 ;;
esac
task=$(printf '%s\n' "$OMK_PROMPT" | grep '^Your task' || true)
if [ "$AGENT_MODE" = hang ]; then sleep 300 & echo $! >> "$AGENT_PIDS"; wait; exit 0; fi
case "$task" in
  *add*) sed -i 's/return a - b/return a + b/' calc.py ;;
  *upper*) sed -i 's/return s.lower()/return s.upper()/' strings.py ;;
esac
"##;

/// Two waves: the second task depends on the first.
const TWO_WAVES: &str = "Fix add in calc.py, then fix upper in strings.py";

struct Setup {
    world: World,
    a: Machine,
    agent: String,
}

fn setup() -> Option<Setup> {
    let bin = pytest_bin()?;
    let (world, mut a) = World::new(TWO_BUGS);
    let script = world.root().join("agent.sh");
    write_executable(&script, AGENT);
    a.env = env(&world, &bin);
    Some(Setup {
        agent: format!("exec:{}", script.display()),
        world,
        a,
    })
}

fn env(world: &World, bin: &Path) -> Vec<(String, String)> {
    vec![
        ("PATH".to_owned(), path_with(bin)),
        (
            "AGENT_PIDS".to_owned(),
            world.root().join("agent.pids").display().to_string(),
        ),
    ]
}

fn machine(s: &Setup, host: &str) -> Machine {
    let mut m = s.world.clone(host);
    m.env = s.a.env.clone();
    m
}

fn plan(s: &Setup, text: &str) -> String {
    let v = s.a.json(&[
        "goal",
        "run",
        text,
        "--no-llm-planner",
        "--agent",
        &s.agent,
        "--json",
    ]);
    v["id"].as_str().unwrap().to_owned()
}

fn kill_agents(world: &World) {
    let pids = std::fs::read_to_string(world.root().join("agent.pids")).unwrap_or_default();
    for pid in pids.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
}

/// A runs the first wave and shares the goal; B fetches it with plain git, verifies it, takes it over
/// with sync and finishes it; A gets the ready goal and the proven code back.
#[test]
fn a_goal_started_on_one_machine_is_verified_and_finished_on_another() {
    let Some(s) = setup() else { return };
    let id = plan(&s, TWO_WAVES);
    let wave = s.a.json(&["goal", "execute", &id, "--json"]);
    assert_eq!(wave["status"], "running", "{wave}");
    let after_one = s.a.show(&id);
    assert_eq!(task(&after_one, "t1")["status"], "done");
    assert_eq!(task(&after_one, "t2")["status"], "pending");
    assert_eq!(after_one["goal"]["lease"], Value::Null, "A released its lease");
    s.a.sync();

    let b = machine(&s, "machine-b");
    b.ok(&["remote", "setup"]);
    b.git(&["fetch", "-q"]);
    let list = b.json(&["goal", "list", "--json"]);
    assert_eq!(list["goals"][0]["remote"], "origin");
    b.verify(&id);
    let proof = b.omk(&["goal", "proof", &id, "-f", "json"]);
    assert_eq!(proof.status.code(), Some(1), "not ready yet");
    assert_eq!(json(&proof)["remote"], "origin");

    b.sync();
    let done = b.json(&["goal", "execute", &id, "--json"]);
    assert_eq!(done["status"], "ready", "{done}");
    assert_eq!(b.controllers_started(&id), vec!["machine-a", "machine-b"]);
    b.sync();

    let back = s.a.sync();
    assert_eq!(back["changed"][0]["local"], "fast_forwarded");
    assert_eq!(s.a.show(&id), b.show(&id));
    assert_eq!(s.a.show(&id)["goal"]["status"], "ready");
    s.a.verify(&id);
    s.a.ok(&["goal", "proof", &id]);
    let integrated = s.a.show(&id)["goal"]["integration"]["commit"]
        .as_str()
        .unwrap()
        .to_owned();
    let proven = s.a.git(&["show", &format!("{integrated}:strings.py")]);
    assert!(proven.contains("s.upper()"), "A has B's proven code: {proven}");
}

/// A controller driving the goal on A holds a live lease: B is refused with the holder and expiry. A
/// pauses (its controller stops and releases the lease), syncs; B resumes and finishes the goal.
#[test]
fn a_controller_running_on_one_machine_blocks_another_until_it_stops() {
    let Some(s) = setup() else { return };
    let id = plan(&s, "Fix add in calc.py and fix upper in strings.py");
    let mut hang = s.a.command(&["goal", "execute", &id]);
    hang.env("AGENT_MODE", "hang")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = hang.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while task(&s.a.show(&id), "t1")["status"] != "running" {
        assert!(Instant::now() < deadline, "timed out waiting for the agent");
        std::thread::sleep(Duration::from_millis(100));
    }
    s.a.sync();
    let b = machine(&s, "machine-b");
    b.sync();
    let lease = b.show(&id)["goal"]["lease"].clone();
    assert_eq!(lease["host"], "machine-a");
    let refused = b.omk(&["goal", "execute", &id]);
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("machine-a"), "{message}");
    let until = chrono::DateTime::parse_from_rfc3339(lease["expires_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
        .to_rfc3339();
    assert!(message.contains(&until), "names the expiry {until}: {message}");

    s.a.ok(&["goal", "pause", &id]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "paused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    kill_agents(&s.world);
    s.a.sync();
    b.sync();
    assert_eq!(b.show(&id)["goal"]["lease"], Value::Null);
    let resumed = b.json(&["goal", "resume", &id, "--json"]);
    assert_eq!(resumed["status"], "ready", "{resumed}");
    assert_eq!(b.controllers_started(&id), vec!["machine-a", "machine-b"]);
    b.sync();
    s.a.sync();
    assert_eq!(s.a.show(&id)["goal"]["status"], "ready");
    s.a.verify(&id);
}
