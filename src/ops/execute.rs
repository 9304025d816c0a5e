//! Driving goals from the command line: `run --until-ready` (create, plan, drive), `execute` (one wave),
//! `resume` (reopen if needed, then drive) and `resume --auto` (every goal of this repository whose
//! controller died on this host).

use std::rc::Rc;

use super::control::{Controlled, control};
use super::drive::{Mode, Observer, drive};
use super::plan::{PlanRequest, create};
use super::runtime::block_on;
use super::{Context, OpsError, preflight};
use crate::model::control::{ControlRequest, decide};
use crate::model::event::EventBody;
use crate::model::options::RunOptions;
use crate::model::preflight::InfraStop;
use crate::model::status::GoalStatus;
use crate::process;
use crate::store::GoalRef;

/// Create a goal and drive it to a terminal status.
pub fn run_until_ready(
    ctx: Context,
    request: PlanRequest,
    observer: Observer<'_>,
) -> Result<(GoalRef, GoalStatus), OpsError> {
    ctx.check_sandbox()?;
    let created = create(&ctx, request)?;
    observer(&created.snapshot, &[]);
    if created.snapshot.goal.status() != GoalStatus::Planned {
        return Ok((created.goal, created.snapshot.goal.status()));
    }
    let goal = created.goal.clone();
    if let Some(stop) = preflight::agents_blocker(&ctx, created.snapshot.goal.options()) {
        let stopped = stop_without_agent(&ctx, &goal, stop)?;
        observer(&stopped.snapshot, &stopped.events);
        return Ok((goal, stopped.snapshot.goal.status()));
    }
    let status = block_on(drive(Rc::new(ctx), goal.clone(), Mode::UntilDone, observer))?;
    Ok((goal, status))
}

/// Run one wave of an existing goal.
pub fn execute(
    ctx: Context,
    query: Option<&str>,
    observer: Observer<'_>,
) -> Result<(GoalRef, GoalStatus), OpsError> {
    let goal = ctx.resolve_local(query)?;
    ensure_agents(&ctx, ctx.load(&goal)?.snapshot.goal.options())?;
    let status = block_on(drive(Rc::new(ctx), goal.clone(), Mode::OneWave, observer))?;
    Ok((goal, status))
}

/// Resume a goal: reopen it when it is paused or stopped, then drive it to a terminal status.
pub fn resume(
    ctx: Context,
    query: Option<&str>,
    observer: Observer<'_>,
) -> Result<(GoalRef, GoalStatus), OpsError> {
    ctx.check_sandbox()?;
    let goal = ctx.resolve_local(query)?;
    let snapshot = ctx.load(&goal)?.snapshot;
    let status = snapshot.goal.status();
    let reopen = !matches!(status, GoalStatus::Planned | GoalStatus::Running);
    // A goal that cannot be reopened says why (bad input) before a missing agent is looked for.
    if !reopen || decide(&snapshot, ControlRequest::Resume).is_ok() {
        ensure_agents(&ctx, snapshot.goal.options())?;
    }
    if reopen {
        match control(&ctx, Some(goal.id().as_str()), ControlRequest::Resume) {
            Ok(reopened) => observer(&reopened.snapshot, &reopened.events),
            // Another `resume` reopened it first: driving it is decided (and refused while that one
            // holds the lease) below.
            Err(OpsError::Refused(_)) if reopened_meanwhile(&ctx, &goal)? => {}
            Err(e) => return Err(e),
        }
    }
    let status = block_on(drive(Rc::new(ctx), goal.clone(), Mode::UntilDone, observer))?;
    Ok((goal, status))
}

/// The goal's agents (of every role) must be installed before a goal is reopened or driven: a missing
/// one fails the command (exit 6) with how to install it, and nothing is written.
pub(super) fn ensure_agents(ctx: &Context, options: &RunOptions) -> Result<(), OpsError> {
    match preflight::missing_agent(ctx, options) {
        None => Ok(()),
        Some((who, error)) => Err(OpsError::infrastructure(format!("{who} cannot start"), error)),
    }
}

/// Record that a goal created to be driven cannot start its agent: the `preflight` decision and the
/// stop (`failed`, exit 6) naming the fix. No worktree, no attempt; `resume` continues once the agent
/// is installed.
fn stop_without_agent(ctx: &Context, goal: &GoalRef, stop: InfraStop) -> Result<Controlled, OpsError> {
    let done = ctx.transaction(goal).by_controller().commit_blocking(|draft| {
        draft.record(EventBody::DecisionRecorded(stop.decision.clone()));
        draft.record(EventBody::GoalStopped {
            status: GoalStatus::Failed,
            reason: stop.reason.clone(),
        });
        Ok(())
    })?;
    Ok(Controlled {
        goal: goal.clone(),
        commit: done.tip,
        snapshot: done.snapshot,
        events: done.events,
    })
}

/// Whether the goal is planned or running now (reopened by someone else).
fn reopened_meanwhile(ctx: &Context, goal: &GoalRef) -> Result<bool, OpsError> {
    let status = ctx.load(goal)?.snapshot.goal.status();
    Ok(matches!(status, GoalStatus::Planned | GoalStatus::Running))
}

/// Goals of this repository that a controller on this host was driving and that died: running, with a
/// lease held by this host's process that no longer exists (or no lease at all).
pub fn orphaned(ctx: &Context) -> Result<Vec<GoalRef>, OpsError> {
    let mut found = Vec::new();
    for row in ctx.list(Some(GoalStatus::Running))? {
        if row.entry.goal.remote().is_some() {
            continue;
        }
        let snapshot = ctx.load(&row.entry.goal)?.snapshot;
        let dead = match &snapshot.goal.lease() {
            None => true,
            Some(l) => l.host == ctx.actor.host && !process::pid_alive(l.pid),
        };
        if dead {
            found.push(row.entry.goal);
        }
    }
    Ok(found)
}

/// Resume every orphaned goal of this repository, one after the other.
pub fn resume_auto(ctx: Context, observer: Observer<'_>) -> Result<Vec<(GoalRef, GoalStatus)>, OpsError> {
    let goals = orphaned(&ctx)?;
    for goal in &goals {
        ensure_agents(&ctx, ctx.load(goal)?.snapshot.goal.options())?;
    }
    let ctx = Rc::new(ctx);
    let mut done = Vec::new();
    for goal in goals {
        let status = block_on(drive(ctx.clone(), goal.clone(), Mode::UntilDone, observer))?;
        done.push((goal, status));
    }
    Ok(done)
}
