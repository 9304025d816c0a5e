//! The goal store on real repositories: compare-and-swap, proven code kept reachable, history walks that
//! skip `Omk-Proves` parents, and merges of diverged tips whatever side merges.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read the clock

use crate::support;

use git_omk::model::budget::BudgetAddition;
use git_omk::model::control::{ControlRequest, decide};
use git_omk::model::event::Event;
use git_omk::model::snapshot::Snapshot;
use git_omk::ops::Context;
use git_omk::ops::replay;
use git_omk::store::merge::MergeOutcome;
use git_omk::store::write::Record;
use git_omk::store::{GoalRef, StoreError};
use gix::ObjectId;
use support::git_repo::TestRepo;
use support::omk::plan;

fn planned(repo: &TestRepo) -> GoalRef {
    let id = plan(repo, "Fix the off-by-one in slugify");
    GoalRef::Local(git_omk::model::ids::GoalId::parse(&id).unwrap())
}

/// Decide `request` on the snapshot at `tip` and record it on `goal` expecting `tip`.
fn step(
    ctx: &Context,
    goal: &GoalRef,
    tip: ObjectId,
    request: ControlRequest,
    proves: Vec<ObjectId>,
) -> Result<ObjectId, StoreError> {
    let mut snapshot = ctx.store.snapshot_at(goal, tip).unwrap();
    let events: Vec<Event> = decide(&snapshot, request)
        .unwrap()
        .into_iter()
        .map(|b| ctx.event(b))
        .collect();
    for e in &events {
        snapshot.apply(e);
    }
    ctx.store.record(Record {
        goal: goal.clone(),
        expected: Some(tip),
        snapshot: &snapshot,
        events: &events,
        attachments: vec![("gates/abc/unit.log".to_owned(), b"ok\n".to_vec())],
        proves,
        merge_parent: None,
        at: ctx.clock.now(),
    })
}

fn add_time(secs: u64) -> ControlRequest {
    ControlRequest::BudgetAdd(
        BudgetAddition::new(Some(std::time::Duration::from_secs(secs)), None, None).unwrap(),
    )
}

fn open(repo: &TestRepo) -> Context {
    Context::open(&repo.path).unwrap()
}

#[test]
fn a_stale_writer_gets_a_conflict_and_changes_nothing() {
    let repo = TestRepo::new();
    let goal = planned(&repo);
    let ctx = open(&repo);
    let t0 = ctx.store.tip(&goal).unwrap().unwrap();
    let t1 = step(&ctx, &goal, t0, ControlRequest::Pause { reason: None }, vec![]).unwrap();
    let stale = step(&ctx, &goal, t0, add_time(60), vec![]);
    match stale {
        Err(StoreError::Conflict { expected, actual, .. }) => {
            assert_eq!(expected, Some(t0));
            assert_eq!(actual, Some(t1));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(ctx.store.tip(&goal).unwrap(), Some(t1));
}

#[test]
fn a_packed_goal_ref_is_swapped_under_its_own_lock_and_packed_refs_stay_untouched() {
    let repo = TestRepo::new();
    let goal = planned(&repo);
    repo.git(&["pack-refs", "--all"]);
    let git_dir = repo.path.join(".git");
    let packed = std::fs::read(git_dir.join("packed-refs")).unwrap();
    assert!(
        !git_dir.join(goal.ref_name()).exists(),
        "the goal ref is packed only"
    );
    let ctx = open(&repo);
    let t0 = ctx.store.tip(&goal).unwrap().unwrap();
    let t1 = step(&ctx, &goal, t0, ControlRequest::Pause { reason: None }, vec![]).unwrap();
    match step(&ctx, &goal, t0, add_time(60), vec![]) {
        Err(StoreError::Conflict { actual, .. }) => assert_eq!(actual, Some(t1)),
        other => panic!("a writer that read the packed tip must lose, got {other:?}"),
    }
    assert_eq!(repo.git(&["rev-parse", &goal.ref_name()]), t1.to_string());
    assert_eq!(std::fs::read(git_dir.join("packed-refs")).unwrap(), packed);
    assert!(!git_dir.join("packed-refs.lock").exists());
    assert!(!git_dir.join(format!("{}.lock", goal.ref_name())).exists());
}

/// Another process moves a packed goal ref and packs it again while this one holds `packed-refs` in
/// its cache, and the file keeps its size and time (timestamps are coarse): the swap still compares with
/// what is on disk, so the stale writer loses instead of overwriting the other's commit.
#[test]
fn a_goal_ref_packed_again_elsewhere_is_compared_with_the_file_not_a_cached_copy() {
    let repo = TestRepo::new();
    let goal = planned(&repo);
    repo.git(&["pack-refs", "--all"]);
    let packed = repo.path.join(".git").join("packed-refs");
    let ctx = open(&repo);
    let t0 = ctx.store.tip(&goal).unwrap().unwrap();
    let (size, time) = {
        let meta = std::fs::metadata(&packed).unwrap();
        (meta.len(), meta.modified().unwrap())
    };
    let elsewhere = repo.git(&[
        "commit-tree",
        &format!("{t0}^{{tree}}"),
        "-p",
        &t0.to_string(),
        "-m",
        "written on another machine",
    ]);
    let name = goal.ref_name();
    repo.git(&["update-ref", &name, &elsewhere, &t0.to_string()]);
    repo.git(&["pack-refs", "--all"]);
    std::fs::File::options()
        .write(true)
        .open(&packed)
        .unwrap()
        .set_modified(time)
        .unwrap();
    assert_eq!(std::fs::metadata(&packed).unwrap().len(), size);
    match step(&ctx, &goal, t0, ControlRequest::Pause { reason: None }, vec![]) {
        Err(StoreError::Conflict { actual, .. }) => {
            assert_eq!(actual.map(|a| a.to_string()), Some(elsewhere.clone()));
        }
        other => panic!("a writer that read the old packed tip must lose, got {other:?}"),
    }
    assert_eq!(repo.git(&["rev-parse", &name]), elsewhere);
}

#[test]
fn a_held_goal_ref_lock_is_a_lost_race_and_is_left_in_place() {
    let repo = TestRepo::new();
    let goal = planned(&repo);
    repo.git(&["config", "core.filesRefLockTimeout", "0"]);
    let lock = repo.path.join(".git").join(format!("{}.lock", goal.ref_name()));
    std::fs::write(&lock, "").unwrap();
    let ctx = open(&repo);
    let t0 = ctx.store.tip(&goal).unwrap().unwrap();
    match step(&ctx, &goal, t0, ControlRequest::Pause { reason: None }, vec![]) {
        Err(StoreError::Conflict { actual, .. }) => assert_eq!(actual, Some(t0)),
        other => panic!("another writer holds the ref: expected a conflict, got {other:?}"),
    }
    assert!(lock.exists(), "someone else's lock is not ours to remove");
    assert_eq!(ctx.store.tip(&goal).unwrap(), Some(t0));
}

#[test]
fn a_goal_ref_with_a_reflog_keeps_getting_reflog_entries() {
    let repo = TestRepo::new();
    let goal = planned(&repo);
    let name = goal.ref_name();
    let log = repo.path.join(".git/logs").join(&name);
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(&log, "").unwrap();
    let ctx = open(&repo);
    let t0 = ctx.store.tip(&goal).unwrap().unwrap();
    let t1 = step(&ctx, &goal, t0, ControlRequest::Pause { reason: None }, vec![]).unwrap();
    let log = repo.git(&["reflog", "show", "--format=%H", &name]);
    assert_eq!(log.lines().next(), Some(t1.to_string().as_str()), "reflog: {log}");
}

#[test]
fn proven_code_stays_reachable_after_its_branch_is_deleted() {
    let repo = TestRepo::new();
    let goal = planned(&repo);
    repo.git(&["checkout", "-q", "-b", "omk-task"]);
    repo.write_files(&[("src/slugify.rs", "pub fn slugify() {}\n")]);
    repo.git(&["commit", "-qam", "task work"]);
    let work = ObjectId::from_hex(repo.git(&["rev-parse", "HEAD"]).as_bytes()).unwrap();
    repo.git(&["checkout", "-q", "main"]);
    let ctx = open(&repo);
    let t0 = ctx.store.tip(&goal).unwrap().unwrap();
    let t1 = step(
        &ctx,
        &goal,
        t0,
        ControlRequest::Pause { reason: None },
        vec![work],
    )
    .unwrap();
    let message = repo.git(&["log", "-1", "--format=%B", &t1.to_string()]);
    assert!(message.contains(&format!("Omk-Proves: {work}")), "{message}");
    let parents = repo.git(&["log", "-1", "--format=%P", &t1.to_string()]);
    assert_eq!(parents, format!("{t0} {work}"));
    repo.git(&["branch", "-D", "omk-task"]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    repo.git(&["gc", "-q", "--prune=now"]);
    assert_eq!(
        repo.git(&["cat-file", "-t", &work.to_string()]),
        "commit",
        "the only copy of the work survived gc"
    );
    let history = ctx.store.history(&goal).unwrap();
    let commits: Vec<ObjectId> = history.iter().map(|e| e.commit).collect();
    assert_eq!(
        commits,
        vec![t0, t1],
        "the goal's own history skips proven code commits"
    );
    assert_eq!(history[1].proves, vec![work]);
    let attached = ctx.store.file_at(t1, "gates/abc/unit.log").unwrap();
    assert_eq!(attached.as_deref(), Some(&b"ok\n"[..]));
}

#[test]
fn diverged_tips_merge_to_the_union_of_events_whichever_side_merges() {
    let repo = TestRepo::new();
    let goal = planned(&repo);
    let ctx = open(&repo);
    let id = goal.id().clone();
    let theirs_ref = GoalRef::Remote {
        remote: "origin".into(),
        id: id.clone(),
    };
    let t0 = ctx.store.tip(&goal).unwrap().unwrap();
    repo.git(&["update-ref", &theirs_ref.ref_name(), &t0.to_string()]);
    let ours = step(
        &ctx,
        &goal,
        t0,
        ControlRequest::Pause {
            reason: Some("ours".into()),
        },
        vec![],
    )
    .unwrap();
    let theirs = step(&ctx, &theirs_ref, t0, add_time(3600), vec![]).unwrap();
    let theirs2 = step(&ctx, &theirs_ref, theirs, add_time(60), vec![]).unwrap();

    // Merge on "machine A": theirs into ours.
    let merged = match ctx
        .store
        .merge_into(&goal, ours, theirs2, ctx.clock.now())
        .unwrap()
    {
        MergeOutcome::Merged(m) => m,
        other => panic!("{other:?}"),
    };
    let a = ctx.store.snapshot_at(&goal, merged).unwrap();
    assert_eq!(a.goal.status().as_str(), "paused");
    assert_eq!(a.goal.limits().time_secs, Some(8 * 3600 + 3600 + 60));
    let base = ctx.store.snapshot_at(&goal, t0).unwrap();
    assert_eq!(
        a.goal.event_count(),
        base.goal.event_count() + 3,
        "every event of both sides, none twice"
    );
    let files = repo.git(&["ls-tree", "-r", "--name-only", &merged.to_string()]);
    assert!(
        files.contains("gates/abc/unit.log"),
        "attachments of both sides are kept"
    );

    // Merge on "machine B": ours into theirs, in the other namespace.
    let b_merge = match ctx
        .store
        .merge_into(&theirs_ref, theirs2, ours, ctx.clock.now())
        .unwrap()
    {
        MergeOutcome::Merged(m) => m,
        other => panic!("{other:?}"),
    };
    let b: Snapshot = ctx.store.snapshot_at(&theirs_ref, b_merge).unwrap();
    assert_eq!(a, b, "the merged state does not depend on which side merges");

    let report = replay::verify(&ctx, &goal).unwrap();
    assert!(report.divergence.is_none(), "{:?}", report.divergence);
    assert_eq!(report.commits, 5);

    // Fast-forward and up-to-date cases.
    assert_eq!(
        ctx.store
            .merge_into(&goal, merged, ours, ctx.clock.now())
            .unwrap(),
        MergeOutcome::UpToDate
    );
    let fresh = GoalRef::Remote {
        remote: "other".into(),
        id,
    };
    repo.git(&["update-ref", &fresh.ref_name(), &t0.to_string()]);
    assert_eq!(
        ctx.store.merge_into(&fresh, t0, merged, ctx.clock.now()).unwrap(),
        MergeOutcome::FastForward(merged)
    );
    assert_eq!(ctx.store.tip(&fresh).unwrap(), Some(merged));
}

#[test]
fn replay_verify_reports_the_first_divergence() {
    let repo = TestRepo::new();
    let goal = planned(&repo);
    let ctx = open(&repo);
    let t0 = ctx.store.tip(&goal).unwrap().unwrap();
    // A step whose recorded snapshot lies about its event: the event adds time, the snapshot does not.
    let snapshot = ctx.store.snapshot_at(&goal, t0).unwrap();
    let events = vec![ctx.event(decide(&snapshot, add_time(60)).unwrap().remove(0))];
    let lying = ctx
        .store
        .record(Record {
            goal: goal.clone(),
            expected: Some(t0),
            snapshot: &snapshot,
            events: &events,
            attachments: vec![],
            proves: vec![],
            merge_parent: None,
            at: ctx.clock.now(),
        })
        .unwrap();
    let report = replay::verify(&ctx, &goal).unwrap();
    let d = report.divergence.expect("divergence found");
    assert_eq!(d.commit, lying.to_string());
    assert_eq!(d.file, "goal.json");
    let out = repo.omk().args(["goal", "replay", "--verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("does not match its events"));
}

#[test]
fn ancestry_is_answered_in_process_like_git_merge_base_is_ancestor() {
    let repo = TestRepo::new();
    let base = repo.git(&["rev-parse", "HEAD"]);
    repo.write_files(&[("a.txt", "a\n")]);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "a"]);
    let a = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["checkout", "-q", "-b", "side", &base]);
    repo.write_files(&[("b.txt", "b\n")]);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "b"]);
    let b = repo.git(&["rev-parse", "HEAD"]);
    let unrelated = repo.git(&[
        "commit-tree",
        "-m",
        "root",
        "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    ]);
    let ctx = open(&repo);
    let id = |hex: &str| ObjectId::from_hex(hex.as_bytes()).unwrap();
    for (ancestor, descendant) in [
        (&base, &a),
        (&base, &b),
        (&a, &b),
        (&b, &a),
        (&a, &a),
        (&a, &base),
    ] {
        let git_says = repo
            .git_output(&["merge-base", "--is-ancestor", ancestor, descendant])
            .status
            .success();
        assert_eq!(
            ctx.store.is_ancestor(id(ancestor), id(descendant)).unwrap(),
            git_says,
            "{ancestor} in {descendant}"
        );
    }
    assert!(ctx.store.is_ancestor(id(&base), id(&a)).unwrap());
    assert!(!ctx.store.is_ancestor(id(&a), id(&b)).unwrap());
    assert!(
        !ctx.store.is_ancestor(id(&unrelated), id(&a)).unwrap(),
        "unrelated histories"
    );
}
