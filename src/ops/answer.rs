//! `goal answer`: a human's answer to the intake questions of a goal blocked on them, recorded on the
//! same goal. Intake runs again on the goal's text with every answer so far; when it asks nothing more
//! the heuristic plan is recorded in the same commit and the goal is `planned` again (a planner agent
//! refines the plan when the goal is driven). Writes only that one commit.

use gix::ObjectId;

use super::control::Controlled;
use super::plan::intake_events;
use super::{Context, OpsError};
use crate::model::control::answerable;
use crate::model::event::{Event, EventBody};
use crate::model::intake::intake_answered;
use crate::model::snapshot::Snapshot;
use crate::model::text::{MAX_GOAL_BYTES, normalise};
use crate::store::GoalRef;
use crate::store::write::Record;

/// Record `answer` on the goal `query` names and plan it again.
pub fn answer(ctx: &Context, query: Option<&str>, answer: &str) -> Result<Controlled, OpsError> {
    let answer = normalise("answer", answer, MAX_GOAL_BYTES).map_err(|e| OpsError::Usage(e.to_string()))?;
    let goal = ctx.resolve_local(query)?;
    let done = ctx.retrying(goal.id().as_str(), || {
        let loaded = ctx.load(&goal)?;
        answerable(&loaded.snapshot)?;
        let state = &loaded.snapshot.goal;
        let base = ObjectId::from_hex(state.base.commit.as_bytes())
            .map_err(|e| OpsError::Infrastructure(format!("the goal's base commit: {e}")))?;
        let files = ctx.store.files_at(base)?;
        let mut answers = state.answers.clone();
        answers.push(answer.clone());
        let found = intake_answered(&state.text, &answers, &files);
        let mut events = vec![ctx.event(EventBody::QuestionsAnswered {
            answer: answer.clone(),
        })];
        let mut snapshot = loaded.snapshot.clone();
        snapshot.apply(&events[0]);
        let brief = snapshot.goal.brief_text();
        let planned = intake_events(ctx, (&state.text, &brief), &found, &files, &state.options)?;
        for event in &planned {
            snapshot.apply(event);
        }
        events.extend(planned);
        record(ctx, &goal, loaded.tip, snapshot, events)
    })?;
    ctx.maintain();
    Ok(done)
}

fn record(
    ctx: &Context,
    goal: &GoalRef,
    tip: ObjectId,
    snapshot: Snapshot,
    events: Vec<Event>,
) -> Result<Controlled, OpsError> {
    let commit = ctx.store.record(Record {
        goal: goal.clone(),
        expected: Some(tip),
        snapshot: &snapshot,
        events: &events,
        attachments: Vec::new(),
        proves: Vec::new(),
        merge_parent: None,
        at: ctx.clock.now(),
    })?;
    Ok(Controlled {
        goal: goal.clone(),
        commit,
        snapshot,
        events,
    })
}
