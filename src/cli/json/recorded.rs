//! The output of commands that record something (`plan`, `run`, `pause`, `archive`, …): the commit
//! written, where the goal stands after it and its task graph.

use serde::Serialize;

use super::{GoalKindView, GoalStatusView, Location, PhaseView, TaskView};

/// Output of commands that record something on several goals (`archive`, `unarchive`).
#[derive(Serialize)]
pub struct RecordedList<'a> {
    /// One entry per goal, in the order given.
    pub goals: Vec<RecordedView<'a>>,
}

/// Output of commands that record something (`plan`, `run`, `pause`, …).
#[derive(Serialize)]
pub struct RecordedView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// The commit written.
    pub commit: String,
    /// Status after it.
    pub status: GoalStatusView,
    /// Phase after it.
    pub phase: PhaseView,
    /// Title.
    pub title: &'a str,
    /// Goal kind.
    pub kind: Option<GoalKindView>,
    /// Kinds of the events recorded.
    pub events: Vec<&'a str>,
    /// Questions for a human (blocked goals).
    pub questions: Vec<&'a str>,
    /// The task graph, each task as its own view.
    pub tasks: Vec<TaskView<'a>>,
}
