//! `goal answer`: a human's answer to the intake questions of a goal blocked on them, recorded on the
//! same goal in one goal transaction. Intake runs again on the goal's text with every answer so far;
//! when it asks nothing more the heuristic plan is recorded in the same commit and the goal is
//! `planned` again (a planner agent refines the plan when the goal is driven).

use super::control::Controlled;
use super::plan::intake_events;
use super::{Context, OpsError};
use crate::model::control::answerable;
use crate::model::event::EventBody;
use crate::model::intake::intake_answered;
use crate::model::text::{MAX_GOAL_BYTES, normalise};

/// Record `answer` on the goal `query` names and plan it again.
pub fn answer(ctx: &Context, query: Option<&str>, answer: &str) -> Result<Controlled, OpsError> {
    let answer = normalise("answer", answer, MAX_GOAL_BYTES).map_err(|e| OpsError::Usage(e.to_string()))?;
    let goal = ctx.resolve_local(query)?;
    let done = ctx.transaction(&goal).commit_blocking(|draft| {
        answerable(draft.snapshot())?;
        let base = draft.snapshot().goal.base.commit.object_id();
        let files = ctx.store.files_at(base)?;
        draft.record(EventBody::QuestionsAnswered {
            answer: answer.clone(),
        });
        let state = &draft.snapshot().goal;
        let found = intake_answered(&state.text, &state.answers, &files);
        let text = state.text.clone();
        let planned = intake_events((&text, &state.brief_text()), &found, &files, &state.options)?;
        draft.record_all(planned);
        Ok(())
    })?;
    Ok(Controlled {
        goal,
        commit: done.tip,
        snapshot: done.snapshot,
        events: done.events,
    })
}
