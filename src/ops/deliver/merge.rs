//! `goal merge`: apply the goal's merge policy. `disabled` does nothing; `manual` records
//! `blocked_on_human` with the exact command; `gated` reads the PR, its head's checks and the base's
//! requirements (never changing them), and merges with the proven sha as guard only when the gate allows.

use gix::ObjectId;

use super::{Connector, DeliveryError, facts_for, failed};
use crate::forge::target;
use crate::forge::{Forge, MergeOutcome};
use crate::model::ci;
use crate::model::delivery::facts::ProofFacts;
use crate::model::delivery::merge::{
    BaseRequirements, CheckView, MergeBlocker, MergeDecision, PullView, decide, gated,
};
use crate::model::delivery::record::{DeliveryStage, MergeAwaitingHuman, MergeRecorded};
use crate::model::event::EventBody;
use crate::model::options::MergePolicy;
use crate::ops::{Context, OpsError};
use crate::settings;
use crate::store::GoalRef;

/// What `merge` was asked.
#[derive(Clone, Debug, Default)]
pub struct MergeRequest {
    /// Goal id or prefix (`None`: latest).
    pub goal: Option<String>,
    /// The proof facts; `None` derives them from the snapshot.
    pub facts: Option<ProofFacts>,
}

/// What `merge` decided and did.
#[derive(Clone, Debug)]
pub struct MergeReport {
    /// The goal.
    pub goal: GoalRef,
    /// Its merge policy.
    pub policy: MergePolicy,
    /// The decision (after the forge's own answer, for a gated merge).
    pub decision: MergeDecision,
    /// For a merge done now: the merge commit, if GitHub reported it.
    pub merged_now: bool,
    /// The PR as read, for gated merges.
    pub pull: Option<PullView>,
    /// The checks read on its head.
    pub checks: Vec<CheckView>,
    /// The base's requirements as read.
    pub requirements: Option<BaseRequirements>,
    /// The goal commit that recorded the outcome, if any.
    pub recorded: Option<ObjectId>,
}

/// Run `merge`; `connect` reaches the forge (only a gated merge with a PR uses it).
pub fn merge(ctx: &Context, req: MergeRequest, connect: &Connector<'_>) -> Result<MergeReport, OpsError> {
    let goal = ctx.resolve_local(req.goal.as_deref())?;
    let loaded = ctx.load(&goal)?;
    let snapshot = &loaded.snapshot;
    let facts = facts_for(ctx, &goal, snapshot, req.facts)?;
    let policy = snapshot.goal.options().merge;
    let pr = snapshot.goal.delivery().pr.as_ref().map(|p| p.number);
    let mut report = MergeReport {
        goal: goal.clone(),
        policy,
        decision: MergeDecision::Disabled,
        merged_now: false,
        pull: None,
        checks: Vec::new(),
        requirements: None,
        recorded: None,
    };
    match (policy, pr) {
        (MergePolicy::Disabled, _) => Ok(report),
        (MergePolicy::Manual, _) => {
            let repo = target::resolve(&settings::github(ctx.store.repo()))
                .ok()
                .map(|t| t.repo.to_string());
            report.decision = decide(policy, &facts, pr, repo.as_deref(), None);
            report.recorded = record_awaiting(ctx, &goal, pr, &report.decision)?;
            Ok(report)
        }
        (MergePolicy::Gated, None) => {
            report.decision = MergeDecision::Refuse {
                missing: vec![MergeBlocker::NoPullRequest],
            };
            Ok(report)
        }
        (MergePolicy::Gated, Some(number)) => {
            let conn = connect(ctx).map_err(|e| failed(ctx, &goal, DeliveryStage::Connect, e))?;
            let also_required = checks_the_tree_asks_for(ctx, &facts);
            gated_merge(conn.forge.as_ref(), number, &facts, &also_required, &mut report)
                .map_err(|e| failed(ctx, &goal, DeliveryStage::Merge, e))?;
            report.recorded = record_merge(ctx, &goal, &report)?;
            Ok(report)
        }
    }
}

/// Checks the delivered tree itself requires: "git-omk proof" when it carries the `omk-verify`
/// workflow (that workflow will report on the PR, so a gated merge waits for it).
fn checks_the_tree_asks_for(ctx: &Context, facts: &ProofFacts) -> Vec<String> {
    let Some(proven) = facts
        .proven_commit
        .as_deref()
        .and_then(|c| ObjectId::from_hex(c.as_bytes()).ok())
    else {
        return Vec::new();
    };
    match ctx.store.file_at(proven, ci::VERIFY_PATH) {
        Ok(Some(_)) => vec![ci::CHECK_NAME.to_owned()],
        Ok(None) => Vec::new(),
        Err(e) => {
            tracing::warn!("cannot read {} of {proven}: {e}", ci::VERIFY_PATH);
            Vec::new()
        }
    }
}

/// Read, decide, and merge with the sha guard when allowed.
fn gated_merge(
    forge: &dyn Forge,
    number: u64,
    facts: &ProofFacts,
    also_required: &[String],
    report: &mut MergeReport,
) -> Result<(), DeliveryError> {
    let pull = forge.pull(number)?.view;
    let checks = forge.checks(&pull.head_sha)?;
    let mut requirements = forge.base_requirements(&pull.base_ref)?;
    for name in also_required {
        if !requirements.required_checks.contains(name) {
            requirements.required_checks.push(name.clone());
        }
    }
    let mut decision = gated(facts, Some(&pull), &checks, &requirements);
    if let MergeDecision::Merge { sha } = &decision {
        let title = format!("Merge goal {} (#{number}): {}", facts.goal_id, facts.title);
        decision = match forge.merge(number, sha, &title)? {
            MergeOutcome::Merged { sha } => {
                report.merged_now = true;
                MergeDecision::AlreadyMerged { merge_commit: sha }
            }
            MergeOutcome::Refused { message } => MergeDecision::Refuse {
                missing: vec![MergeBlocker::ForgeRefused { message }],
            },
        };
    }
    report.decision = decision;
    report.pull = Some(pull);
    report.checks = checks;
    report.requirements = Some(requirements);
    Ok(())
}

fn record_awaiting(
    ctx: &Context,
    goal: &GoalRef,
    pr: Option<u64>,
    decision: &MergeDecision,
) -> Result<Option<ObjectId>, OpsError> {
    let MergeDecision::Manual { command } = decision else {
        return Ok(None);
    };
    let done = ctx.transaction(goal).commit_blocking(|draft| {
        let d = &draft.snapshot().goal.delivery();
        let same = d
            .awaiting_human
            .as_ref()
            .is_some_and(|a| a.command == *command && a.number == pr);
        if d.merged.is_none() && !same {
            draft.record(EventBody::MergeAwaitingHuman(MergeAwaitingHuman {
                number: pr,
                command: command.clone(),
            }));
        }
        Ok(())
    })?;
    Ok(done.recorded().then_some(done.tip))
}

fn record_merge(ctx: &Context, goal: &GoalRef, report: &MergeReport) -> Result<Option<ObjectId>, OpsError> {
    let (MergeDecision::AlreadyMerged { merge_commit }, Some(pull)) = (&report.decision, &report.pull) else {
        return Ok(None);
    };
    let by = if report.merged_now { "gated" } else { "external" };
    let done = ctx.transaction(goal).commit_blocking(|draft| {
        if draft.snapshot().goal.delivery().merged.is_none() {
            draft.record(EventBody::MergeRecorded(MergeRecorded {
                number: pull.number,
                head_sha: pull.head_sha.clone(),
                merge_commit: merge_commit.clone(),
                by: by.to_owned(),
                policy: Some(report.policy),
                checks: report.checks.clone(),
            }));
        }
        Ok(())
    })?;
    Ok(done.recorded().then_some(done.tip))
}
