//! `goal plan` / `goal run` (without `--until-ready`): create a goal, run intake and the heuristic
//! planner, and record it all as the goal's first commit. Unless `--no-llm-planner`, that plan is
//! provisional: the controller's planning step (`planning`) asks a planner agent for a better one.

use gix::ObjectId;

use super::transaction::create_goal;
use super::{Context, OpsError};
use crate::clock::random_from;
use crate::model::decision::DecisionDraft;
use crate::model::event::{BaseRef, Event, EventBody, GoalCreated};
use crate::model::ids::{CommitId, GoalId};
use crate::model::intake::{Intake, intake};
use crate::model::options::RunOptions;
use crate::model::planner;
use crate::model::snapshot::Snapshot;
use crate::model::text::{MAX_GOAL_BYTES, normalise, title_of};
use crate::store::GoalRef;

/// What to plan.
#[derive(Clone, Debug)]
pub struct PlanRequest {
    /// The goal as typed.
    pub text: String,
    /// Validated options.
    pub options: RunOptions,
    /// The base revision (`HEAD` by default).
    pub base_rev: String,
}

/// A newly created goal.
#[derive(Clone, Debug)]
pub struct Created {
    /// Its ref.
    pub goal: GoalRef,
    /// Its first commit.
    pub commit: ObjectId,
    /// Its state.
    pub snapshot: Snapshot,
}

/// Create and plan a goal. Nothing is written unless every input is valid (a missing agent is found
/// after: the goal records it, see `execute::run_until_ready`).
pub fn create(ctx: &Context, req: PlanRequest) -> Result<Created, OpsError> {
    let text = normalise("goal", &req.text, MAX_GOAL_BYTES).map_err(|e| OpsError::Usage(e.to_string()))?;
    let base = resolve_base(ctx, &req.base_rev)?;
    let files = ctx.store.files_at(base)?;
    let creation = ctx.event(EventBody::GoalCreated(GoalCreated {
        text: text.clone(),
        base: BaseRef {
            rev: req.base_rev.clone(),
            commit: CommitId::from(base),
        },
        options: req.options.clone(),
        nonce: hex(&random_from::<8>(ctx.clock.as_ref())),
    }));
    let id = goal_id(&creation)?;
    let found = intake(&text, &files);
    let mut events = vec![creation];
    let bodies = intake_events((&text, &text), &found, &files, &req.options)?;
    events.extend(bodies.into_iter().map(|b| ctx.event(b)));
    let snapshot = Snapshot::replay(&id, &events).map_err(|e| OpsError::Usage(e.to_string()))?;
    let goal = GoalRef::Local(id);
    let commit = create_goal(ctx, &goal, &snapshot, &events)?;
    Ok(Created {
        goal,
        commit,
        snapshot,
    })
}

fn resolve_base(ctx: &Context, rev: &str) -> Result<ObjectId, OpsError> {
    if ctx.store.repo().head_id().is_err() && rev == "HEAD" {
        return Err(OpsError::Usage(
            "this repository has no commits yet: commit something first, the goal starts from a commit"
                .to_owned(),
        ));
    }
    ctx.store.resolve_commit(rev)?.ok_or_else(|| {
        OpsError::Usage(format!(
            "--base `{rev}` is not a commit of this repository: give a branch, tag or commit id"
        ))
    })
}

fn goal_id(creation: &Event) -> Result<GoalId, OpsError> {
    let bytes = serde_json::to_vec(creation).map_err(|e| OpsError::Usage(e.to_string()))?;
    let digest = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::object::Kind::Blob, &bytes)
        .map_err(|e| OpsError::Usage(format!("hashing the creation event: {e}")))?;
    GoalId::new(creation.at, &digest.to_string()).map_err(|e| OpsError::Usage(e.to_string()))
}

/// The events of intake (and, when it asks nothing, of the heuristic plan) for the goal `found` reads:
/// `(text, brief)` are its text (which titles it) and what the plan's brief quotes (the text with any
/// answers).
pub(super) fn intake_events(
    (text, brief): (&str, &str),
    found: &Intake,
    files: &[String],
    options: &RunOptions,
) -> Result<Vec<EventBody>, OpsError> {
    let title = title_of(text);
    let mut events = vec![EventBody::IntakeCompleted {
        kind: found.kind,
        title,
        questions: found.questions.clone(),
    }];
    if !found.questions.is_empty() {
        let decision = DecisionDraft::new(
            "intake",
            "blocked_on_human",
            "success of the goal is not testable as written: a human must answer the questions",
        )
        .with_evidence(found.questions.iter().cloned());
        events.push(EventBody::DecisionRecorded(decision));
        return Ok(events);
    }
    let reason = if options.llm_planner {
        PROVISIONAL
    } else {
        "forced by --no-llm-planner"
    };
    let out = planner::plan(brief, found, files, reason)
        .map_err(|e| OpsError::Usage(format!("the plan is invalid: {e}")))?;
    events.push(EventBody::PlanRecorded {
        plan: out.artifacts,
        tasks: out.tasks,
    });
    events.extend(out.decisions.into_iter().map(EventBody::DecisionRecorded));
    Ok(events)
}

/// Why a goal planned with an agent planner starts with the heuristic plan.
pub const PROVISIONAL: &str = "provisional: a planner agent replaces this plan when the goal is driven (it stays if the agent's plan is unusable)";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
