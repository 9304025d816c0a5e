//! Writers racing on one goal. Twenty processes racing `pause`, `resume` and `budget-add`: every
//! command that reports success is exactly one commit in the goal's history, and nothing is lost. And a
//! property: any interleaving of writers through the goal transaction yields the history of some serial
//! order, each decision made on the state it was recorded on.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read the clock

use crate::support;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use git_omk::model::budget::BudgetAddition;
use git_omk::model::control::{ControlRequest, decide};
use git_omk::model::options::RunOptions;
use git_omk::model::snapshot::Snapshot;
use git_omk::ops::plan::{PlanRequest, create};
use git_omk::ops::transaction::{Draft, Prepared};
use git_omk::ops::{Context, OpsError, replay};
use git_omk::store::GoalRef;
use gix::ObjectId;
use proptest::prelude::*;
use serde_json::Value;
use support::git_repo::TestRepo;

#[test]
fn twenty_racing_processes_lose_no_update() {
    let repo = TestRepo::new();
    let id = support::omk::plan(&repo, "Fix the off-by-one in slugify");
    let children: Vec<(&str, std::process::Child)> = (0..20)
        .map(|i| {
            let args: &[&str] = match i % 3 {
                0 => &["goal", "pause", "--json"],
                1 => &["goal", "resume", "--no-run", "--json"],
                _ => &["goal", "budget-add", "--time", "1m", "--json"],
            };
            let child = support::omk::command(&repo, &[], args, &[])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (args[1], child)
        })
        .collect();
    let mut committed = BTreeSet::new();
    let mut added = 0;
    for (verb, child) in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {
                let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                assert!(
                    committed.insert(v["commit"].as_str().unwrap().to_owned()),
                    "two successes, one commit"
                );
                if verb == "budget-add" {
                    added += 1;
                }
            }
            Some(2) => assert!(
                stderr.contains("already paused") || stderr.contains("not paused"),
                "{verb}: {stderr}"
            ),
            other => panic!("{verb} exited {other:?}: {stderr}"),
        }
    }
    assert_eq!(added, 6, "budget-add is always allowed, so all six succeed");
    let ref_name = format!("refs/omk/goals/{id}");
    let history: BTreeSet<String> = repo
        .git(&["rev-list", &ref_name])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        history.len(),
        committed.len() + 1,
        "one commit per success, plus the creation"
    );
    assert!(
        committed.is_subset(&history),
        "every reported commit is in the history"
    );
    let budget: Value = serde_json::from_slice(
        &repo
            .omk()
            .args(["goal", "budget", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        budget["limits"]["time_secs"],
        8 * 3600 + 60 * added,
        "no budget-add was lost"
    );
    let verify = repo.omk().args(["goal", "replay", "--verify"]).output().unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// Where one writer of the property test stands.
enum Writer<'c> {
    /// About to read the tip and decide.
    Reading,
    /// Decided, its commit written, its ref update not yet attempted.
    Decided(Box<Prepared<'c, ()>>),
    /// Recorded as this commit.
    Recorded(ObjectId),
    /// Refused on the state at this tip.
    Refused(ObjectId),
}

fn request(kind: u8) -> ControlRequest {
    match kind % 4 {
        0 => ControlRequest::Pause { reason: None },
        1 => ControlRequest::Resume,
        2 => ControlRequest::Cancel { reason: None },
        _ => {
            ControlRequest::BudgetAdd(BudgetAddition::new(Some(Duration::from_secs(60)), None, None).unwrap())
        }
    }
}

/// Move `writer` one half-step: read and decide (writing its commit), or publish.
fn advance<'c>(ctx: &'c Context, goal: &GoalRef, req: &ControlRequest, writer: &mut Writer<'c>) {
    let mut decision = |draft: &mut Draft<'c>| -> Result<(), OpsError> {
        draft.record_all(decide(draft.snapshot(), req.clone())?);
        Ok(())
    };
    *writer = match std::mem::replace(writer, Writer::Reading) {
        Writer::Reading => {
            let base = ctx.load(goal).unwrap();
            let tip = base.tip;
            match ctx.transaction(goal).prepare(base, &mut decision) {
                Ok(prepared) => Writer::Decided(Box::new(prepared)),
                Err(OpsError::Refused(_)) => Writer::Refused(tip),
                Err(e) => panic!("{e}"),
            }
        }
        Writer::Decided(prepared) => match prepared.publish().unwrap() {
            Some(done) => Writer::Recorded(done.tip),
            None => Writer::Reading,
        },
        done => done,
    };
}

fn finished(writer: &Writer<'_>) -> bool {
    matches!(writer, Writer::Recorded(_) | Writer::Refused(_))
}

/// The kinds of the events `decide` gives for `req` on `snapshot`, or `None` when it refuses.
fn decided_kinds(snapshot: &Snapshot, req: &ControlRequest) -> Option<Vec<String>> {
    let bodies = decide(snapshot, req.clone()).ok()?;
    Some(bodies.iter().map(|b| b.kind_name().to_owned()).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_of_writers_is_a_serial_order(
        kinds in prop::collection::vec(any::<u8>(), 2..6),
        schedule in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        let repo = TestRepo::new();
        let ctx = Context::open(&repo.path).unwrap();
        let created = create(&ctx, PlanRequest {
            text: "Fix the off-by-one in slugify".to_owned(),
            options: RunOptions { llm_planner: false, ..RunOptions::default() },
            base_rev: "HEAD".to_owned(),
        }).unwrap();
        let goal = created.goal.clone();
        let requests: Vec<ControlRequest> = kinds.iter().map(|k| request(*k)).collect();
        let mut writers: Vec<Writer<'_>> = requests.iter().map(|_| Writer::Reading).collect();
        let mut order = Vec::new();
        let mut turns = schedule.into_iter();
        while !writers.iter().all(finished) {
            let open: Vec<usize> = (0..writers.len()).filter(|i| !finished(&writers[*i])).collect();
            let i = open[turns.next().unwrap_or(0) % open.len()];
            advance(&ctx, &goal, &requests[i], &mut writers[i]);
            if let Writer::Recorded(commit) = writers[i] {
                order.push((i, commit));
            }
        }

        // The history is the recorded writers in the order they won, one commit each.
        let history = ctx.store.history(&goal).unwrap();
        let commits: Vec<ObjectId> = history.iter().skip(1).map(|e| e.commit).collect();
        prop_assert_eq!(&commits, &order.iter().map(|(_, c)| *c).collect::<Vec<_>>());
        // Each recorded decision is what deciding on its parent gives.
        for (entry, (i, _)) in history.iter().skip(1).zip(&order) {
            let parent = ctx.store.snapshot_at(&goal, entry.goal_parents[0]).unwrap();
            let recorded: Vec<String> = ctx.store.events_at(&goal, entry.commit).unwrap()
                .iter().map(|e| e.body.kind_name().to_owned()).collect();
            prop_assert_eq!(Some(recorded), decided_kinds(&parent, &requests[*i]));
        }
        // Each refusal was decided on a state in that history, which does refuse it.
        for (writer, req) in writers.iter().zip(&requests) {
            if let Writer::Refused(tip) = writer {
                prop_assert!(history.iter().any(|e| e.commit == *tip));
                let snapshot = ctx.store.snapshot_at(&goal, *tip).unwrap();
                prop_assert_eq!(decided_kinds(&snapshot, req), None);
            }
        }
        // Every snapshot is its parent with its events applied, and no budget added was lost.
        prop_assert!(replay::verify(&ctx, &goal).unwrap().divergence.is_none());
        let added = order.iter().filter(|(i, _)| matches!(requests[*i], ControlRequest::BudgetAdd(_))).count();
        let loaded = ctx.load(&goal).unwrap();
        let limits = loaded.snapshot.goal.limits();
        prop_assert_eq!(limits.time_secs, created.snapshot.goal.limits().time_secs.map(|t| t + 60 * added as u64));
    }
}
