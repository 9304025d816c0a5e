//! `goal verify`: run the gates again, forced, on the goal's proven tree (or its current result when
//! no proof is recorded yet) and say whether the proof still holds (DESIGN §1, §7, §8).
//!
//! The gates come from the checked-in configuration of the commit being tested, never from the goal.
//! For a local goal that has concluded, the new gate run and the proof recomputed from it are recorded
//! (one goal transaction, decided on the current tip). A fetched goal, or one whose controller is still
//! working, is only reported on: nothing is written.

use std::path::Path;

use gix::ObjectId;

use super::context::commit_id;
use super::drive::changed_files;
use super::harness;
use super::runtime::block_on;
use super::worktrees::check_dir;
use super::{Context, OpsError};
use crate::gate::{self, ExecOptions, GateReport, PlanOptions};
use crate::git::worktree;
use crate::model::event::EventBody;
use crate::model::goal::GateRun;
use crate::model::harness::HarnessCheck;
use crate::model::ids::CommitId;
use crate::model::proof::{Proof, prove};
use crate::model::snapshot::Snapshot;
use crate::model::status::GoalStatus;
use crate::settings;
use crate::store::GoalRef;

/// Goal-tree files to record with a step: path and bytes.
type Attachments = Vec<(String, Vec<u8>)>;

/// What `verify` found.
#[derive(Clone, Debug)]
pub struct VerifyReport {
    /// The goal.
    pub goal: GoalRef,
    /// The commit whose gates ran.
    pub commit: CommitId,
    /// Whether that commit is the one the recorded proof proves.
    pub proven: bool,
    /// The fresh gate run.
    pub run: GateRun,
    /// The proof recomputed with the fresh run.
    pub proof: Proof,
    /// The proof recorded before this command (`None`: none was).
    pub previous: Option<GoalStatus>,
    /// The goal commit that recorded the fresh run and proof (`None`: reported only).
    pub recorded: Option<ObjectId>,
    /// Why nothing was recorded, when nothing was.
    pub not_recorded: Option<String>,
}

impl VerifyReport {
    /// The proof holds: it says `ready` on the proven tree with the fresh evidence.
    pub fn holds(&self) -> bool {
        self.proven && self.proof.status == GoalStatus::Ready
    }
}

/// Run `goal verify`.
pub fn verify(ctx: &Context, query: Option<&str>) -> Result<VerifyReport, OpsError> {
    ctx.check_sandbox()?;
    let goal = ctx.resolve(query)?;
    let loaded = ctx.load(&goal)?;
    let snapshot = &loaded.snapshot;
    let (commit, proven) = target(snapshot)?;
    let id = commit.object_id();
    if !ctx.store.repo().has_object(id) {
        return Err(OpsError::Usage(format!(
            "commit {commit} of goal {} is not in this repository: fetch the goal again (its proven commits travel with it) and retry",
            goal.id()
        )));
    }
    let repo_dir = repo_dir(ctx)?;
    let (report, mut attachments) = run_gates(ctx, snapshot, &repo_dir, commit)?;
    let run = report.gate_run(commit);
    let (harness, more, restored) = check_harness(ctx, snapshot, &repo_dir, commit)?;
    attachments.extend(more);
    let fresh = Fresh {
        run: &run,
        harness: &harness,
    };
    let proof = recompute(snapshot, &repo_dir, &fresh);
    let proves = std::iter::once(id).chain(restored).collect();
    let (recorded, not_recorded) = match why_not_recorded(&goal, snapshot, proven) {
        None => record(ctx, &goal, &repo_dir, &fresh, attachments, proves)?,
        Some(why) => (None, Some(why)),
    };
    Ok(VerifyReport {
        goal,
        commit,
        proven,
        run,
        proof,
        previous: snapshot.proof.as_ref().map(|p| p.status),
        recorded,
        not_recorded,
    })
}

/// The commit to verify: the proven one, else the integrated result; whether it is the proven one.
fn target(snapshot: &Snapshot) -> Result<(CommitId, bool), OpsError> {
    if let Some(result) = snapshot.proof.as_ref().and_then(|p| p.result.as_ref()) {
        return Ok((commit_id(&result.commit)?, true));
    }
    match snapshot.goal.integration.as_ref() {
        Some(i) if i.commit != snapshot.goal.base.commit => Ok((i.commit, false)),
        _ => Err(OpsError::Usage(format!(
            "goal {} has no result to verify yet: run it first (`git omk goal resume {}`)",
            snapshot.goal.id, snapshot.goal.id
        ))),
    }
}

fn repo_dir(ctx: &Context) -> Result<std::path::PathBuf, OpsError> {
    ctx.store
        .workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| OpsError::Usage("the repository has no work tree".to_owned()))
}

/// Run every gate of `commit` (nothing reused) in a clean detached checkout, removed afterwards.
fn run_gates(
    ctx: &Context,
    snapshot: &Snapshot,
    repo_dir: &Path,
    commit: CommitId,
) -> Result<(GateReport, Attachments), OpsError> {
    let (id, hex) = (commit.object_id(), commit.to_string());
    let dir = check_dir(ctx, &snapshot.goal.id, &hex);
    worktree::ensure_detached(repo_dir, ctx.store.common_dir(), &dir, &hex)?;
    let options = PlanOptions {
        force: true,
        ..PlanOptions::default()
    };
    let planned = gate::plan(&ctx.store, id, &dir, &options);
    let report = planned.map_err(|e| OpsError::Usage(format!("the gates of {commit} cannot be run: {e}")));
    let report = report.and_then(|plan| {
        let exec = ExecOptions {
            known_secrets: settings::secret_env_values(),
            sandbox: ctx.sandbox(),
            ..ExecOptions::default()
        };
        block_on(async { Ok(gate::execute(&plan, &exec, ctx.clock.as_ref()).await) })
    });
    let _ = worktree::remove_checkout(repo_dir, &dir);
    let report = report?;
    let attachments = report.attachments();
    Ok((report, attachments))
}

/// The fresh evidence of this command: the gates of the commit and its harness check.
struct Fresh<'a> {
    run: &'a GateRun,
    harness: &'a HarnessCheck,
}

/// Compare the harness files of `commit` with the base's and, when they changed, run its gates again
/// (forced) with the base's versions restored: the check, its attachments, and the restored commit.
fn check_harness(
    ctx: &Context,
    snapshot: &Snapshot,
    repo_dir: &Path,
    commit: CommitId,
) -> Result<(HarnessCheck, Attachments, Option<ObjectId>), OpsError> {
    let diff = harness::compare(ctx, snapshot.goal.base.commit, commit)?;
    let mut check = HarnessCheck {
        result: commit,
        changes: diff.changes.clone(),
        restored: None,
        error: None,
    };
    if diff.changes.is_empty() {
        return Ok((check, Vec::new(), None));
    }
    let dir = check_dir(ctx, &snapshot.goal.id, &format!("harness-{}", commit.short()));
    let prepared = harness::prepare(ctx, &dir, commit, &diff);
    let _ = worktree::remove_checkout(repo_dir, &dir);
    let restored = match prepared? {
        Ok(restored) => restored,
        Err(why) => {
            check.error = Some(why);
            return Ok((check, Vec::new(), None));
        }
    };
    match run_gates(ctx, snapshot, repo_dir, restored) {
        Ok((report, attachments)) => {
            check.restored = Some(report.gate_run(restored));
            Ok((check, attachments, Some(restored.object_id())))
        }
        Err(OpsError::Usage(why)) => {
            check.error = Some(why);
            Ok((check, Vec::new(), None))
        }
        Err(e) => Err(e),
    }
}

/// The proof of `snapshot` with the fresh run as its verification evidence.
fn recompute(snapshot: &Snapshot, repo_dir: &Path, fresh: &Fresh<'_>) -> Proof {
    let mut next = snapshot.clone();
    next.goal.verification = Some(fresh.run.clone());
    next.goal.harness = Some(fresh.harness.clone());
    let base = next.goal.base.commit;
    prove(&next, changed_files(repo_dir, base, fresh.run.commit))
}

/// Why the fresh evidence is not recorded on this goal (`None`: it is).
fn why_not_recorded(goal: &GoalRef, snapshot: &Snapshot, proven: bool) -> Option<String> {
    if let Some(remote) = goal.remote() {
        return Some(format!(
            "a goal fetched from `{remote}` is only reported on; nothing was recorded"
        ));
    }
    let concluded = matches!(snapshot.goal.status, GoalStatus::Ready | GoalStatus::NotReady);
    if !proven || !concluded {
        return Some(format!(
            "the goal is {} and has not concluded with a proof; the result was checked, nothing was recorded",
            snapshot.goal.status
        ));
    }
    None
}

/// Record the fresh run, the harness check and the proof recomputed on the current tip (the proven
/// commit, and the restored-harness commit when there is one, are `Omk-Proves` parents), unless the goal
/// changed meanwhile so that it is no longer recorded on: then why not.
fn record(
    ctx: &Context,
    goal: &GoalRef,
    repo_dir: &Path,
    fresh: &Fresh<'_>,
    attachments: Attachments,
    proves: Vec<ObjectId>,
) -> Result<(Option<ObjectId>, Option<String>), OpsError> {
    let done = ctx.transaction(goal).commit_blocking(|draft| {
        let (commit, is_proven) = target(draft.snapshot())?;
        let proven = is_proven && commit == fresh.run.commit;
        let why_not = why_not_recorded(goal, draft.snapshot(), proven);
        if why_not.is_none() {
            let proof = recompute(draft.snapshot(), repo_dir, fresh);
            draft.record(EventBody::VerificationRecorded(fresh.run.clone()));
            draft.record(EventBody::HarnessChecked(fresh.harness.clone()));
            draft.record(EventBody::ProofRecorded(Box::new(proof)));
            draft.attach(attachments.clone());
            draft.prove(proves.iter().copied());
        }
        Ok(why_not)
    })?;
    Ok((done.recorded().then_some(done.tip), done.value))
}
