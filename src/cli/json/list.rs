//! `goal list --json`: one entry per goal copy, with how remote copies relate to it.

use serde::Serialize;

use super::{GoalStatusView, Location, PhaseView};
use crate::ops::query::{GoalRow, Relation};

/// `goal list --json`.
#[derive(Serialize)]
pub struct ListView {
    /// Goals, newest first.
    pub goals: Vec<ListItem>,
}

/// One listed goal.
#[derive(Serialize)]
pub struct ListItem {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// Tip commit.
    pub tip: String,
    /// Status (null when unreadable).
    pub status: Option<GoalStatusView>,
    /// Phase.
    pub phase: Option<PhaseView>,
    /// Title.
    pub title: String,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last update (tip commit time).
    pub updated_at: String,
    /// Other copies on remotes.
    pub remotes: Vec<RemoteCopy>,
    /// Why the goal cannot be read, if so.
    pub problem: Option<String>,
    /// Archived (shown by `list --all` only); absent when not.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
}

/// A copy of a goal on a remote.
#[derive(Serialize)]
pub struct RemoteCopy {
    /// Remote name.
    pub remote: String,
    /// Relation to the listed copy: `same`, `ahead`, `behind`, `diverged` or `remote_only`.
    pub relation: &'static str,
}

/// How a remote copy's relation is named in JSON.
fn relation_name(relation: Relation) -> &'static str {
    match relation {
        Relation::Same => "same",
        Relation::Ahead => "ahead",
        Relation::Behind => "behind",
        Relation::Diverged => "diverged",
        Relation::RemoteOnly => "remote_only",
    }
}

impl ListItem {
    /// From a listed row.
    pub fn of(row: &GoalRow) -> ListItem {
        let m = &row.entry.message;
        ListItem {
            location: Location::of(&row.entry.goal),
            tip: row.entry.tip.to_string(),
            status: m.status.map(GoalStatusView::of),
            phase: m.phase.map(PhaseView::of),
            title: m.title.clone(),
            created_at: m.created.map(|c| c.to_rfc3339()),
            updated_at: row.entry.updated.to_rfc3339(),
            remotes: row
                .remotes
                .iter()
                .map(|(remote, relation)| RemoteCopy {
                    remote: remote.clone(),
                    relation: relation_name(*relation),
                })
                .collect(),
            problem: row.entry.problem.clone(),
            archived: m.archived,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A remote copy's relation is named by the view (as `goal list --json` has always named it).
    #[test]
    fn relations_are_named_by_the_view() {
        let names = [
            Relation::Same,
            Relation::Ahead,
            Relation::Behind,
            Relation::Diverged,
            Relation::RemoteOnly,
        ]
        .map(relation_name);
        assert_eq!(names, ["same", "ahead", "behind", "diverged", "remote_only"]);
    }
}
