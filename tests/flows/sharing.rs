//! Sharing goals across machines with plain git (DESIGN §8), on real clones of a bare remote (and one
//! served by `git daemon` on 127.0.0.1): `remote setup` and its exact undo, plain `git fetch`/`git push`
//! of goals, read commands on fetched goals, `sync` (fast-forward, union merges, leased pushes, bounded
//! retries, refs only moving forward, ten concurrent syncs), and controller leases across machines.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read the clock

use crate::support;

use std::collections::BTreeSet;
use std::process::Command;

use chrono::{Duration, Utc};
use git_omk::model::event::EventBody;
use git_omk::model::lease::Lease;
use git_omk::ops::Context;
use git_omk::store::GoalRef;
use serde_json::Value;
use support::git_repo::git_command;
use support::machines::{Daemon, Machine, World};
use support::omk::{json, listed_ids, write_executable};

const FILES: &[(&str, &str)] = &[
    ("calc.py", "def add(a, b):\n    return a - b\n"),
    ("README.md", "# calc\n"),
];

const FIX: &str = "Fix add in calc.py";

fn config_all(m: &Machine, key: &str) -> Vec<String> {
    let out = git_command(&m.home, &m.path)
        .args(["config", "--get-all", key])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn goal_ref(id: &str) -> String {
    format!("refs/omk/goals/{id}")
}

#[test]
fn remote_setup_is_idempotent_and_undo_removes_exactly_what_it_added() {
    let (_world, a) = World::new(FILES);
    a.git(&[
        "config",
        "--add",
        "remote.origin.fetch",
        "+refs/notes/*:refs/notes/*",
    ]);
    let before_state = a.user_state();
    let config_before = std::fs::read_to_string(a.path.join(".git/config")).unwrap();

    let first = a.json(&["remote", "setup", "--json"]);
    assert_eq!(first["remote"], "origin");
    let added: Vec<(&str, &str)> = first["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap(), r["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        added,
        vec![
            (
                "remote.origin.fetch",
                "+refs/omk/goals/*:refs/omk/remotes/origin/goals/*"
            ),
            ("remote.origin.push", "HEAD"),
            ("remote.origin.push", "refs/omk/goals/*:refs/omk/goals/*"),
        ]
    );
    assert!(
        !added
            .iter()
            .any(|(_, v)| v.starts_with("+refs/omk/goals/*:refs/omk/goals"))
    );
    let fetch_after_first = config_all(&a, "remote.origin.fetch");

    let second = a.json(&["remote", "setup", "--json"]);
    assert_eq!(
        second["added"],
        Value::Array(vec![]),
        "running it twice adds nothing"
    );
    assert_eq!(second["present"].as_array().unwrap().len(), 3);
    assert_eq!(config_all(&a, "remote.origin.fetch"), fetch_after_first);
    assert_eq!(config_all(&a, "remote.origin.push").len(), 2);

    // Something the user adds afterwards survives the undo.
    a.git(&[
        "config",
        "--add",
        "remote.origin.push",
        "refs/heads/main:refs/heads/main",
    ]);
    let undo = a.json(&["remote", "setup", "--undo", "--json"]);
    assert_eq!(undo["removed"].as_array().unwrap().len(), 3);
    assert_eq!(
        config_all(&a, "remote.origin.fetch"),
        vec![
            "+refs/heads/*:refs/remotes/origin/*".to_owned(),
            "+refs/notes/*:refs/notes/*".to_owned()
        ]
    );
    assert_eq!(
        config_all(&a, "remote.origin.push"),
        vec!["refs/heads/main:refs/heads/main".to_owned()]
    );
    a.git(&["config", "--unset", "remote.origin.push"]);
    assert_eq!(
        std::fs::read_to_string(a.path.join(".git/config")).unwrap(),
        config_before,
        "the configuration is back to what it was"
    );
    let again = a.json(&["remote", "setup", "--undo", "--json"]);
    assert_eq!(again["removed"], Value::Array(vec![]));
    assert_eq!(a.user_state(), before_state, "nothing in the work tree changed");
    assert!(a.goals().is_empty(), "no goal ref was written");
}

#[test]
fn remote_setup_leaves_values_the_user_had_and_can_configure_fetch_only() {
    let (_world, a) = World::new(FILES);
    let mine = "+refs/omk/goals/*:refs/omk/remotes/origin/goals/*";
    a.git(&["config", "--add", "remote.origin.fetch", mine]);
    let out = a.json(&["remote", "setup", "--fetch-only", "--json"]);
    assert_eq!(out["added"], Value::Array(vec![]));
    assert_eq!(out["present"][0]["value"], mine);
    assert!(
        config_all(&a, "remote.origin.push").is_empty(),
        "no push refspec with --fetch-only"
    );
    a.ok(&["remote", "setup", "--undo"]);
    assert!(
        config_all(&a, "remote.origin.fetch").contains(&mine.to_owned()),
        "undo never removes a value setup did not add"
    );
    let text = a.ok(&["remote", "setup", "--undo"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("nothing to undo"));
}

#[test]
fn remote_setup_picks_the_upstream_remote_and_rejects_unknown_ones() {
    let (world, a) = World::new(FILES);
    let url = world.remote.display().to_string();
    a.git(&["remote", "add", "upstream", &url]);
    a.git(&["fetch", "-q", "upstream"]);
    a.git(&["branch", "-q", "--set-upstream-to", "upstream/main"]);
    assert_eq!(a.json(&["remote", "setup", "--json"])["remote"], "upstream");
    a.git(&["checkout", "-q", "--detach"]);
    assert_eq!(a.json(&["remote", "setup", "--json"])["remote"], "origin");

    let unknown = a.omk(&["remote", "setup", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("remote `nope` does not exist (configured remotes: origin, upstream)"),
        "{}",
        stderr(&unknown)
    );
    let sync = a.omk(&["sync", "nope"]);
    assert_eq!(sync.status.code(), Some(2));
    assert!(stderr(&sync).contains("remote `nope` does not exist"));

    a.git(&["remote", "remove", "origin"]);
    a.git(&["remote", "remove", "upstream"]);
    let none = a.omk(&["remote", "setup"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("has no remotes"), "{}", stderr(&none));
}

/// After `remote setup`, plain `git push` sends goals and plain `git fetch` brings them; the read
/// commands work on the fetched copy; control commands point to `sync`.
#[test]
fn plain_git_fetch_brings_goals_and_read_commands_work_on_them() {
    let (world, a) = World::new(FILES);
    a.ok(&["remote", "setup"]);
    let id = a.plan(FIX);
    a.git(&["push", "-q"]);
    assert_eq!(
        world.remote_goals().get(&goal_ref(&id)),
        a.goals().get(&goal_ref(&id))
    );

    let b = world.clone("machine-b");
    let state = b.user_state();
    b.ok(&["remote", "setup"]);
    b.git(&["fetch", "-q"]);
    assert!(b.goals().is_empty(), "fetching creates no local goal");
    let list = b.json(&["goal", "list", "--json"]);
    let row = &list["goals"][0];
    assert_eq!(row["id"], id.as_str());
    assert_eq!(row["remote"], "origin");
    assert_eq!(row["remotes"][0]["relation"], "remote_only");
    let text = String::from_utf8_lossy(&b.ok(&["goal", "list"]).stdout).into_owned();
    assert!(text.contains(&format!("origin/{id}")), "{text}");

    assert_eq!(b.show(&id)["goal"]["title"], "Fix add in calc.py");
    assert_eq!(b.show(&id)["remote"], "origin");
    b.ok(&["goal", "status", &id]);
    let proof = b.omk(&["goal", "proof", &id, "-f", "json"]);
    assert_eq!(proof.status.code(), Some(1), "not ready yet: exit 1");
    assert_eq!(json(&proof)["remote"], "origin");
    b.verify(&id);
    assert_eq!(b.event_ids(&id), a.event_ids(&id));

    let pause = b.omk(&["goal", "pause", &id]);
    assert_eq!(pause.status.code(), Some(2));
    assert!(
        stderr(&pause).contains("git omk sync origin"),
        "{}",
        stderr(&pause)
    );
    assert_eq!(b.user_state(), state, "nothing in the work tree changed");
}

/// A and B both change the same goal while apart; after syncing, both have every event of both sides
/// and the same tip and snapshot.
#[test]
fn both_machines_update_one_goal_apart_and_end_with_every_event() {
    let (world, a) = World::new(FILES);
    world.watch_remote();
    let id = a.plan(FIX);
    a.sync();
    let b = world.clone("machine-b");
    let created = b.sync();
    assert_eq!(created["changed"][0]["local"], "created");

    a.ok(&["goal", "pause", &id, "--reason", "lunch"]);
    a.ok(&["goal", "budget-add", &id, "--time", "1h"]);
    b.ok(&["goal", "budget-add", &id, "--time", "30m"]);
    b.ok(&["goal", "cancel", &id, "--reason", "not needed"]);
    let mut expected: BTreeSet<String> = a.event_ids(&id).into_iter().collect();
    expected.extend(b.event_ids(&id));

    let (a_before, b_before) = (a.goals(), b.goals());
    let pushed = a.sync();
    assert_eq!(pushed["changed"][0]["pushed"], "updated");
    let merged = b.sync();
    assert_eq!(merged["changed"][0]["local"], "merged");
    assert_eq!(merged["changed"][0]["pushed"], "updated");
    let forwarded = a.sync();
    assert_eq!(forwarded["changed"][0]["local"], "fast_forwarded");
    a.assert_moved_forward_since(&a_before);
    b.assert_moved_forward_since(&b_before);
    world.assert_remote_only_moved_forward();

    for m in [&a, &b] {
        let ids: BTreeSet<String> = m.event_ids(&id).into_iter().collect();
        assert_eq!(ids, expected, "{} has every event of both sides, once", m.host);
        assert_eq!(m.event_ids(&id).len(), expected.len());
        m.verify(&id);
    }
    assert_eq!(a.goals(), b.goals(), "same tip");
    assert_eq!(a.show(&id), b.show(&id), "same snapshot");
    let goal = &a.show(&id)["goal"];
    assert_eq!(goal["status"], "cancelled", "B cancelled last");
    assert_eq!(
        goal["limits"]["time_secs"],
        8 * 3600 + 3600 + 1800,
        "both additions count"
    );
    let tip = &a.goals()[&goal_ref(&id)];
    let message = a.git(&["log", "-1", "--format=%B", tip]);
    assert!(message.contains("Omk-Merge: union"), "{message}");
    let list = a.json(&["goal", "list", "--json"]);
    assert_eq!(list["goals"][0]["remotes"][0]["relation"], "same");
    let again = a.sync();
    assert_eq!(again["changed"], Value::Array(vec![]), "nothing left to do");
}

/// Ids `goal list --json` shows (with `--all`: archived goals too).
fn listed(m: &Machine, all: bool) -> Vec<String> {
    let mut args = vec!["goal", "list", "--json"];
    if all {
        args.push("--all");
    }
    listed_ids(&m.json(&args))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_archive_travels_by_sync_and_so_does_its_undo() {
    let (world, a) = World::new(FILES);
    // Finished: blocked on a human (its questions), exit 3.
    let blocked = a.omk(&["goal", "plan", "--json", "Make it better"]);
    assert_eq!(blocked.status.code(), Some(3), "{}", stderr(&blocked));
    let done = json(&blocked)["id"].as_str().unwrap().to_owned();
    let kept = a.plan(FIX);
    a.sync();
    let b = world.clone("machine-b");
    b.sync();
    assert_eq!(listed(&b, false), vec![kept.clone(), done.clone()]);

    // Only finished goals can be archived; one bad name archives nothing.
    let refused = a.omk(&["goal", "archive", &done, &kept]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("only finished goals"),
        "{}",
        stderr(&refused)
    );
    let unknown = a.omk(&["goal", "archive", &done, "20991231-nosuchgoal"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", stderr(&unknown));
    assert_eq!(a.goals(), b.goals(), "nothing was written");

    let archived = a.json(&["goal", "archive", &done, "--json"]);
    assert_eq!(archived["goals"][0]["events"][0], "archived");
    assert_eq!(listed(&a, false), vec![kept.clone()]);
    assert_eq!(listed(&a, true), vec![kept.clone(), done.clone()]);
    let tip = &a.goals()[&goal_ref(&done)];
    let message = a.git(&["log", "-1", "--format=%B", tip]);
    assert!(message.contains("Omk-Archived: yes"), "{message}");
    let again = a.omk(&["goal", "archive", &done]);
    assert_eq!(again.status.code(), Some(2), "already archived");

    // Machine B, meanwhile, recorded something on the same goal: sync merges both, still archived.
    b.ok(&["goal", "budget-add", &done, "--time", "1h"]);
    a.sync();
    let merged = b.sync();
    assert_eq!(merged["changed"][0]["local"], "merged", "{merged}");
    a.sync();
    for m in [&a, &b] {
        assert_eq!(listed(m, false), vec![kept.clone()], "{} hides it", m.host);
        assert_eq!(m.show(&done)["goal"]["archived"], true, "{}", m.host);
        let text = String::from_utf8_lossy(&m.ok(&["goal", "list", "--all"]).stdout).into_owned();
        assert!(text.contains("(archived)"), "{}: {text}", m.host);
        m.verify(&done);
    }

    // Unarchived on B, listed again on A after a sync.
    b.ok(&["goal", "unarchive", &done]);
    b.sync();
    a.sync();
    assert_eq!(listed(&a, false), vec![kept.clone(), done.clone()]);
    assert!(a.show(&done)["goal"].get("archived").is_none());
    let not_archived = a.omk(&["goal", "unarchive", &done]);
    assert_eq!(not_archived.status.code(), Some(2), "{}", stderr(&not_archived));
}

/// Sync creates goals only the remote has, fast-forwards goals that are behind, pushes goals only this
/// machine has, and leaves everything else alone.
#[test]
fn sync_creates_fast_forwards_and_pushes_per_goal() {
    let (world, a) = World::new(FILES);
    let first = a.plan(FIX);
    let b = world.clone("machine-b");
    assert_eq!(a.sync()["changed"][0]["pushed"], "created");
    let second = b.plan("Document add in README.md");
    let out = b.sync();
    let changed = out["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 2);
    let by_id = |id: &str| changed.iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(by_id(&first)["local"], "created");
    assert_eq!(by_id(&first)["pushed"], Value::Null);
    assert_eq!(by_id(&second)["pushed"], "created");
    assert_eq!(out["goals"], 2);

    b.ok(&["goal", "pause", &first]);
    b.sync();
    let pulled = a.sync();
    let changed = pulled["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 2);
    let find = |id: &str| changed.iter().find(|c| c["id"] == id).unwrap().clone();
    assert_eq!(find(&first)["local"], "fast_forwarded");
    assert_eq!(find(&second)["local"], "created");
    assert_eq!(a.goals(), b.goals());
    assert_eq!(a.goals(), world.remote_goals());
    // The created copy is a real local goal: it can be controlled here.
    a.ok(&["goal", "pause", &second]);
    let text = String::from_utf8_lossy(&a.ok(&["sync"]).stdout).into_owned();
    assert!(text.contains("1 pushed"), "{text}");
}

/// A push rejected because the remote moved is retried after fetching and merging again; the remote
/// ref is never rewritten.
#[test]
fn a_goal_pushed_by_plain_git_meanwhile_is_merged_not_overwritten() {
    let (world, a) = World::new(FILES);
    world.watch_remote();
    a.ok(&["remote", "setup"]);
    let id = a.plan(FIX);
    a.sync();
    let b = world.clone("machine-b");
    b.ok(&["remote", "setup"]);
    b.sync();
    b.ok(&["goal", "budget-add", &id, "--tokens", "100"]);
    let b_event = b.last_event_id(&id);
    b.git(&["push", "-q"]);
    // A has not fetched: its remote-tracking ref is stale. A plain push is refused, not forced...
    a.ok(&["goal", "pause", &id]);
    let a_event = a.last_event_id(&id);
    let push = git_command(&a.home, &a.path)
        .args(["push", "origin"])
        .output()
        .unwrap();
    assert!(
        !push.status.success(),
        "a diverged goal is rejected by plain git push"
    );
    // ...and sync merges it.
    a.sync();
    let ids = a.event_ids(&id);
    assert!(ids.contains(&a_event) && ids.contains(&b_event));
    b.sync();
    assert_eq!(a.show(&id), b.show(&id));
    world.assert_remote_only_moved_forward();
}

/// Ten machines each change the shared goal and create one of their own, then all sync at the same
/// moment into one remote: nothing is lost and every remote update is a fast-forward.
#[test]
fn ten_concurrent_syncs_lose_nothing() {
    let (world, a) = World::new(FILES);
    world.watch_remote();
    let id = a.plan(FIX);
    a.sync();
    let machines: Vec<Machine> = (0..10).map(|i| world.clone(&format!("machine-{i}"))).collect();
    let mut expected_events = Vec::new();
    let mut own_goals = Vec::new();
    for (i, m) in machines.iter().enumerate() {
        m.sync();
        m.ok(&["goal", "budget-add", &id, "--time", &format!("{}m", i + 1)]);
        expected_events.push(m.last_event_id(&id));
        own_goals.push(m.plan(&format!("Fix add in calc.py variant {i}")));
    }
    let children: Vec<_> = machines.iter().map(|m| m.spawn(&["sync", "--json"])).collect();
    for (m, child) in machines.iter().zip(children) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}: sync exited {:?}: {}{}",
            m.host,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
    }
    a.sync();
    let ids = a.event_ids(&id);
    for e in &expected_events {
        assert!(ids.contains(e), "event {e} is in the final history");
    }
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no event twice");
    a.verify(&id);
    let remote = world.remote_goals();
    for g in own_goals.iter().chain([&id]) {
        assert!(remote.contains_key(&goal_ref(g)), "goal {g} reached the remote");
        assert!(a.goals().contains_key(&goal_ref(g)), "goal {g} reached machine-a");
    }
    assert_eq!(remote.len(), 11);
    let added: u64 = (1..=10).map(|m| m * 60).sum();
    assert_eq!(a.show(&id)["goal"]["limits"]["time_secs"], 8 * 3600 + added);
    world.assert_remote_only_moved_forward();
    for m in &machines {
        m.sync();
        assert_eq!(m.goals(), a.goals(), "{} converges", m.host);
    }
}

/// The same flow against a remote served by `git daemon` on 127.0.0.1.
#[test]
fn sync_through_git_daemon() {
    let (world, a) = World::new(FILES);
    let daemon = Daemon::start(world.root(), &a.home);
    let url = daemon.url("remote.git");
    a.git(&["remote", "set-url", "origin", &url]);
    let id = a.plan(FIX);
    assert_eq!(a.sync()["changed"][0]["pushed"], "created");
    let b = world.clone_from("machine-b", &url);
    b.ok(&["remote", "setup"]);
    b.git(&["fetch", "-q"]);
    b.verify(&id);
    b.sync();
    b.ok(&["goal", "pause", &id, "--reason", "over git://"]);
    a.ok(&["goal", "budget-add", &id, "--time", "2h"]);
    assert_eq!(b.sync()["changed"][0]["pushed"], "updated");
    assert_eq!(a.sync()["changed"][0]["local"], "merged");
    b.sync();
    assert_eq!(a.show(&id), b.show(&id));
    assert_eq!(a.show(&id)["goal"]["status"], "paused");
    drop(daemon);
}

/// Record a controller lease on `goal` in `m`'s repository directly through the goal transaction, as a controller
/// on `host` would.
fn record_lease(m: &Machine, goal: &str, lease: Lease) {
    let ctx = Context::open(&m.path).unwrap();
    let goal = ctx.resolve_local(Some(goal)).unwrap();
    ctx.transaction(&goal)
        .commit_blocking(|draft| {
            draft.record(EventBody::ControllerStarted {
                lease: lease.clone(),
                took_over: None,
            });
            Ok(())
        })
        .unwrap();
}

fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn exec_agent(world: &World) -> String {
    let path = world.root().join("agent.sh");
    write_executable(&path, "#!/bin/sh\nexit 0\n");
    format!("exec:{}", path.display())
}

fn plan_with_agent(m: &Machine, agent: &str) -> String {
    let v = m.json(&["goal", "run", FIX, "--no-llm-planner", "--agent", agent, "--json"]);
    v["id"].as_str().unwrap().to_owned()
}

/// A live lease of machine A keeps machine B from driving the synced goal, with the holder and expiry
/// in the message; after A releases it (its controller is gone) and syncs, B takes the goal.
#[test]
fn a_live_lease_of_another_machine_blocks_until_released() {
    let (world, a) = World::new(FILES);
    let agent = exec_agent(&world);
    let id = plan_with_agent(&a, &agent);
    let lease = Lease::new("machine-a", dead_pid(), Utc::now());
    let until = lease.expires_at.to_rfc3339();
    record_lease(&a, &id, lease);
    a.sync();
    let b = world.clone("machine-b");
    b.sync();

    let refused = b.omk(&["goal", "execute", &id]);
    assert_eq!(refused.status.code(), Some(2));
    let message = stderr(&refused);
    assert!(message.contains("machine-a"), "{message}");
    assert!(message.contains(&until), "names the expiry: {message}");
    let release = b.omk(&["goal", "release", &id]);
    assert_eq!(release.status.code(), Some(2), "B cannot release A's live lease");
    assert!(
        stderr(&release).contains("another machine"),
        "{}",
        stderr(&release)
    );

    let released = a.json(&["goal", "release", &id, "--json"]);
    assert_eq!(released["released"]["host"], "machine-a");
    assert_eq!(a.show(&id)["goal"]["lease"], Value::Null);
    a.sync();
    b.sync();
    let decisions = b.show(&id)["decisions"].clone();
    assert!(
        decisions.as_array().unwrap().iter().any(|d| d["chosen"]
            .as_str()
            .unwrap()
            .starts_with("release the lease of machine-a")),
        "{decisions}"
    );
    let _ = b.omk(&["goal", "execute", &id]);
    assert_eq!(b.controllers_started(&id), vec!["machine-a", "machine-b"]);
    assert_eq!(
        b.show(&id)["goal"]["lease"],
        Value::Null,
        "B's controller released its lease"
    );
}

/// An expired lease of another machine is taken over, and the takeover is recorded as a decision.
#[test]
fn an_expired_lease_of_another_machine_is_taken_over_as_a_decision() {
    let (world, a) = World::new(FILES);
    let agent = exec_agent(&world);
    let id = plan_with_agent(&a, &agent);
    let now = Utc::now();
    record_lease(
        &a,
        &id,
        Lease {
            host: "machine-a".into(),
            pid: 4242,
            started_at: now - Duration::seconds(300),
            expires_at: now - Duration::seconds(200),
        },
    );
    a.sync();
    let b = world.clone("machine-b");
    b.sync();
    let _ = b.omk(&["goal", "execute", &id]);
    assert_eq!(b.controllers_started(&id), vec!["machine-a", "machine-b"]);
    let show = b.show(&id);
    let takeover = show["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["chosen"] == "take over from machine-a pid 4242")
        .cloned()
        .unwrap_or_else(|| panic!("a takeover decision: {}", show["decisions"]));
    assert!(takeover["why"].as_str().unwrap().contains("expired"));
}

/// A lease of this host whose controller died can be released here; with no lease there is nothing to
/// do; a goal only fetched cannot be released before syncing.
#[test]
fn release_frees_a_dead_local_lease_and_explains_other_cases() {
    let (world, a) = World::new(FILES);
    let id = a.plan(FIX);
    let none = a.ok(&["goal", "release", &id]);
    assert!(String::from_utf8_lossy(&none.stdout).contains("nothing to release"));
    let me = std::process::id();
    record_lease(&a, &id, Lease::new("machine-a", me, Utc::now()));
    let alive = a.omk(&["goal", "release", &id]);
    assert_eq!(
        alive.status.code(),
        Some(2),
        "the holder is a live process on this host"
    );
    assert!(stderr(&alive).contains("still running"), "{}", stderr(&alive));
    record_lease(&a, &id, Lease::new("machine-a", dead_pid(), Utc::now()));
    let released = a.json(&["goal", "release", &id, "--json"]);
    assert!(released["commit"].is_string());
    a.verify(&id);

    a.ok(&["remote", "setup"]);
    a.git(&["push", "-q"]);
    let b = world.clone("machine-b");
    b.ok(&["remote", "setup"]);
    b.git(&["fetch", "-q"]);
    let fetched_only = b.omk(&["goal", "release", &id]);
    assert_eq!(fetched_only.status.code(), Some(2));
    assert!(stderr(&fetched_only).contains("sync"));
}

/// Write a goal commit on top of `parent` recording `bodies` at `secs` seconds after the parent's last
/// event, without moving the ref.
fn commit_on(
    ctx: &Context,
    goal: &GoalRef,
    parent: gix::ObjectId,
    bodies: Vec<EventBody>,
    secs: i64,
    proves: Vec<gix::ObjectId>,
) -> gix::ObjectId {
    let mut snapshot = ctx.store.snapshot_at(goal, parent).unwrap();
    let at = snapshot.goal.updated_at() + Duration::seconds(secs);
    let events: Vec<git_omk::model::event::Event> = bodies
        .into_iter()
        .map(|b| {
            let mut e = ctx.event(b);
            e.at = at;
            e
        })
        .collect();
    for e in &events {
        snapshot.apply(e);
    }
    let record = git_omk::store::write::Record {
        goal: goal.clone(),
        expected: Some(parent),
        snapshot: &snapshot,
        events: &events,
        attachments: Vec::new(),
        proves,
        merge_parent: None,
        at,
    };
    ctx.store.write_step(record).unwrap().0
}

/// Point the goal ref at `to` (test set-up only: sync never moves a ref backwards).
fn point(ctx: &Context, goal: &GoalRef, to: gix::ObjectId) {
    let current = ctx.store.tip(goal).unwrap();
    ctx.store.move_ref(goal, current, to, "test").unwrap();
}

fn merged(outcome: git_omk::store::merge::MergeOutcome) -> gix::ObjectId {
    match outcome {
        git_omk::store::merge::MergeOutcome::Merged(m) => m,
        other => panic!("expected a merge commit, got {other:?}"),
    }
}

/// Two machines each merged the other's tip (criss-cross); merging those merges must give the snapshot
/// both already have, whatever merge base git would pick, and `replay --verify` agrees.
#[test]
fn criss_cross_merges_reduce_to_one_base() {
    let (_world, a) = World::new(FILES);
    let id = a.plan(FIX);
    let ctx = Context::open(&a.path).unwrap();
    let goal = GoalRef::Local(git_omk::model::ids::GoalId::parse(&id).unwrap());
    let base = ctx.store.tip(&goal).unwrap().unwrap();
    // Paused then resumed is `planned`; resumed then paused would be `paused`: order matters.
    let y = commit_on(
        &ctx,
        &goal,
        base,
        vec![EventBody::Paused { reason: None }],
        1,
        vec![],
    );
    let x = commit_on(&ctx, &goal, base, vec![EventBody::Resumed {}], 2, vec![]);
    point(&ctx, &goal, x);
    let m1 = merged(ctx.store.merge_into(&goal, x, y, Utc::now()).unwrap());
    point(&ctx, &goal, y);
    let m2 = merged(ctx.store.merge_into(&goal, y, x, Utc::now()).unwrap());
    let s1 = ctx.store.snapshot_at(&goal, m1).unwrap();
    assert_eq!(s1, ctx.store.snapshot_at(&goal, m2).unwrap());
    assert_eq!(s1.goal.status().as_str(), "planned");

    let mut bases = ctx.store.goal_merge_bases(m1, m2).unwrap();
    bases.sort();
    let mut both = vec![x, y];
    both.sort();
    assert_eq!(bases, both, "a criss-cross: two best common ancestors");
    assert_eq!(ctx.store.goal_merge_base(m1, m2).unwrap(), Some(base));
    assert_eq!(ctx.store.goal_merge_base(m2, m1).unwrap(), Some(base));

    point(&ctx, &goal, m1);
    let m3 = merged(ctx.store.merge_into(&goal, m1, m2, Utc::now()).unwrap());
    assert_eq!(ctx.store.snapshot_at(&goal, m3).unwrap(), s1);
    let report = git_omk::ops::replay::verify(&ctx, &goal).unwrap();
    assert!(report.divergence.is_none(), "{report:?}");
}

/// Both sides proved the same code commit after they diverged: that commit is a common ancestor too,
/// but the merge is based on the goal commit.
#[test]
fn a_code_commit_both_sides_prove_is_not_a_merge_base() {
    let (_world, a) = World::new(FILES);
    let id = a.plan(FIX);
    let ctx = Context::open(&a.path).unwrap();
    let goal = GoalRef::Local(git_omk::model::ids::GoalId::parse(&id).unwrap());
    let base = ctx.store.tip(&goal).unwrap().unwrap();
    let code = gix::ObjectId::from_hex(a.git(&["rev-parse", "HEAD"]).as_bytes()).unwrap();
    let x = commit_on(
        &ctx,
        &goal,
        base,
        vec![EventBody::Paused { reason: None }],
        1,
        vec![code],
    );
    let y = commit_on(&ctx, &goal, base, vec![EventBody::Resumed {}], 2, vec![code]);
    assert_eq!(ctx.store.goal_merge_bases(x, y).unwrap(), vec![base]);
    point(&ctx, &goal, x);
    let m = merged(ctx.store.merge_into(&goal, x, y, Utc::now()).unwrap());
    assert!(
        ctx.store.entry(m).unwrap().goal_parents.len() == 2,
        "a merge of the two goal commits"
    );
    assert!(
        git_omk::ops::replay::verify(&ctx, &goal)
            .unwrap()
            .divergence
            .is_none()
    );
}

/// An unreachable remote fails the sync (exit 6) and changes nothing; a push the remote's hook declines
/// is reported at once, not retried.
#[test]
fn sync_failures_are_reported_and_change_nothing() {
    let (world, a) = World::new(FILES);
    let id = a.plan(FIX);
    let before = a.goals();
    let missing = world.root().join("nowhere.git").display().to_string();
    a.git(&["remote", "add", "gone", &missing]);
    let out = a.omk(&["sync", "gone"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        stderr(&out).contains("git fetch from `gone` failed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(a.goals(), before);

    let hook = world.remote.join("hooks/pre-receive");
    write_executable(&hook, "#!/bin/sh\necho 'goals are frozen' >&2\nexit 1\n");
    let declined = a.omk(&["sync", "--json"]);
    assert_eq!(declined.status.code(), Some(6));
    let report = json(&declined);
    assert_eq!(report["rounds"], 1, "a declined push is not retried");
    let error = report["push_error"].as_str().unwrap();
    assert!(
        error.contains("declined") && error.contains("goals are frozen"),
        "{error}"
    );
    assert!(world.remote_goals().is_empty());
    assert_eq!(a.goals(), before, "the local goal is untouched");
    std::fs::remove_file(&hook).unwrap();
    assert_eq!(a.sync()["changed"][0]["id"], id.as_str());
}

/// A remote goal with the same id but an unrelated history is reported and left alone; the other goals
/// still sync.
#[test]
fn an_unrelated_history_under_the_same_id_is_a_problem_not_a_merge() {
    let (world, a) = World::new(FILES);
    let id = a.plan(FIX);
    let other = a.plan("Document add in README.md");
    let tip = a.goals()[&goal_ref(&id)].clone();
    let tree = a.git(&["rev-parse", &format!("{tip}^{{tree}}")]);
    let message = a.git(&["log", "-1", "--format=%B", &tip]);
    let message = message.replacen("\n\n", "\n\nA copy made elsewhere.\n\n", 1);
    let forged = a.git(&["commit-tree", &tree, "-m", &message]);
    assert_ne!(forged, tip);
    let refspec = format!("{forged}:{}", goal_ref(&id));
    a.git(&["push", "-q", "origin", &refspec]);
    let out = a.omk(&["sync", "--json"]);
    assert_eq!(out.status.code(), Some(6));
    let report = json(&out);
    assert_eq!(report["problems"][0]["id"], id.as_str());
    assert!(
        report["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("share no commit"),
        "{report}"
    );
    assert_eq!(a.goals()[&goal_ref(&id)], tip, "the local goal is untouched");
    assert_eq!(
        world.remote_goals()[&goal_ref(&id)],
        forged,
        "the remote goal is untouched"
    );
    assert_eq!(
        world.remote_goals().get(&goal_ref(&other)),
        a.goals().get(&goal_ref(&other)),
        "the other goal was pushed"
    );
}

/// A code commit written in the same second as everything else, with the given parent.
fn code_commit(m: &Machine, parent: &str, message: &str, date: &str) -> gix::ObjectId {
    let tree = m.git(&["rev-parse", &format!("{parent}^{{tree}}")]);
    let out = git_command(&m.home, &m.path)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .args(["commit-tree", &tree, "-p", parent, "-m", message])
        .output()
        .unwrap();
    assert!(out.status.success());
    gix::ObjectId::from_hex(String::from_utf8_lossy(&out.stdout).trim().as_bytes()).unwrap()
}

/// Goal commits proving code commits, all within one second (as a fast controller writes them): whether
/// one tip contains another and the merge base come from the goal history, so an older proven code
/// commit is never taken for a best common ancestor.
#[test]
fn ancestry_ignores_proven_code_commits_within_one_second() {
    let (_world, a) = World::new(FILES);
    let id = a.plan(FIX);
    let ctx = Context::open(&a.path).unwrap();
    let goal = GoalRef::Local(git_omk::model::ids::GoalId::parse(&id).unwrap());
    let g0 = ctx.store.tip(&goal).unwrap().unwrap();
    let second = ctx.store.commit_message(g0).unwrap().1.timestamp();
    let date = format!("@{second} +0000");
    let head = a.git(&["rev-parse", "HEAD"]);
    // theirs → g1 → c1 (proven); the tip reaches c1 again through c2, proven a second later.
    let c1 = code_commit(&a, &head, "task one", &date);
    let g1 = commit_on(
        &ctx,
        &goal,
        g0,
        vec![EventBody::Paused { reason: None }],
        0,
        vec![c1],
    );
    let theirs = commit_on(&ctx, &goal, g1, vec![EventBody::Resumed {}], 0, vec![]);
    let x1 = commit_on(
        &ctx,
        &goal,
        theirs,
        vec![EventBody::Paused { reason: None }],
        0,
        vec![],
    );
    let x2 = commit_on(&ctx, &goal, x1, vec![EventBody::Resumed {}], 0, vec![]);
    let c2 = code_commit(&a, &c1.to_string(), "task two", &date);
    let y1 = commit_on(
        &ctx,
        &goal,
        x2,
        vec![EventBody::Paused { reason: None }],
        1,
        vec![c2],
    );
    let y2 = commit_on(&ctx, &goal, y1, vec![EventBody::Resumed {}], 0, vec![]);
    let g3 = commit_on(
        &ctx,
        &goal,
        y2,
        vec![EventBody::Paused { reason: None }],
        0,
        vec![],
    );
    let g2 = theirs;
    // gix 0.90 answers [c1, theirs] here: c1 is an ancestor of theirs, so not a best common ancestor.
    assert!(ctx.store.goal_contains(g3, g2).unwrap());
    assert!(!ctx.store.goal_contains(g2, g3).unwrap());
    assert_eq!(ctx.store.goal_merge_bases(g3, g2).unwrap(), vec![g2]);
    point(&ctx, &goal, g3);
    assert_eq!(
        ctx.store.merge_into(&goal, g3, g2, Utc::now()).unwrap(),
        git_omk::store::merge::MergeOutcome::UpToDate
    );
    let fetched = GoalRef::Remote {
        remote: "origin".into(),
        id: goal.id().clone(),
    };
    ctx.store.move_ref(&fetched, None, g2, "test").unwrap();
    let rows = ctx.list(None).unwrap();
    let relation = rows[0].remotes[0].1;
    assert_eq!(relation, git_omk::ops::query::Relation::Ahead);
}
