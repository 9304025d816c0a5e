//! `goal status --json`: where a goal stands, its task counts, the controller lease and the last event
//! (the lease and last event views are shared with `goal show -f json`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{BudgetView, GoalStatusView, Location, PhaseView};
use crate::model::goal::LastEvent;
use crate::model::ids::EventId;
use crate::model::lease::Lease;
use crate::model::snapshot::Snapshot;
use crate::model::task::TaskStatus;

/// Task counts per status.
#[derive(Serialize, Default)]
pub struct TaskCounts {
    /// All tasks.
    pub total: usize,
    /// Per status.
    pub pending: usize,
    /// Per status.
    pub running: usize,
    /// Per status.
    pub done: usize,
    /// Per status.
    pub failed: usize,
    /// Per status.
    pub blocked: usize,
    /// Per status.
    pub cancelled: usize,
}

impl TaskCounts {
    /// Count a snapshot's tasks.
    pub fn of(snapshot: &Snapshot) -> TaskCounts {
        let g = &snapshot.tasks;
        TaskCounts {
            total: g.tasks.len(),
            pending: g.count(TaskStatus::Pending),
            running: g.count(TaskStatus::Running),
            done: g.count(TaskStatus::Done),
            failed: g.count(TaskStatus::Failed),
            blocked: g.count(TaskStatus::Blocked),
            cancelled: g.count(TaskStatus::Cancelled),
        }
    }
}

/// `goal status --json`.
#[derive(Serialize)]
pub struct StatusView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// Title.
    pub title: &'a str,
    /// Status.
    pub status: GoalStatusView,
    /// Phase.
    pub phase: PhaseView,
    /// Tasks per status.
    pub tasks: TaskCounts,
    /// Ids of running tasks (each has one agent).
    pub running_tasks: Vec<&'a str>,
    /// Budget.
    pub budget: BudgetView,
    /// The controller lease.
    pub lease: Option<LeaseView<'a>>,
    /// The last event.
    pub last_event: Option<LastEventView<'a>>,
    /// Tip commit.
    pub tip: String,
}

/// A controller's lease (in `goal status --json` and `goal show -f json`).
#[derive(Serialize)]
pub struct LeaseView<'a> {
    /// Host name of the holder.
    pub host: &'a str,
    /// Process id of the holder.
    pub pid: u32,
    /// When the holder started.
    pub started_at: DateTime<Utc>,
    /// When the claim lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl<'a> LeaseView<'a> {
    /// Of the model's lease.
    pub fn of(lease: &'a Lease) -> LeaseView<'a> {
        LeaseView {
            host: &lease.host,
            pid: lease.pid,
            started_at: lease.started_at,
            expires_at: lease.expires_at,
        }
    }
}

/// The last event applied to a goal (in `goal status --json` and `goal show -f json`).
#[derive(Serialize)]
pub struct LastEventView<'a> {
    /// Event id.
    pub id: &'a EventId,
    /// Event kind.
    pub kind: &'a str,
    /// When.
    pub at: DateTime<Utc>,
    /// One-line summary.
    pub summary: &'a str,
}

impl<'a> LastEventView<'a> {
    /// Of the model's record of the last event.
    pub fn of(last: &'a LastEvent) -> LastEventView<'a> {
        LastEventView {
            id: &last.id,
            kind: &last.kind,
            at: last.at,
            summary: &last.summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lease and the last event are the views', field by field.
    #[test]
    fn the_lease_and_last_event_views_name_their_own_fields_in_order() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let lease = Lease {
            host: "build-1".into(),
            pid: 42,
            started_at: at,
            expires_at: at,
        };
        assert_eq!(
            serde_json::to_string(&LeaseView::of(&lease)).unwrap(),
            r#"{"host":"build-1","pid":42,"started_at":"2026-11-22T10:00:00Z","expires_at":"2026-11-22T10:00:00Z"}"#
        );
        let last = LastEvent {
            id: EventId::from_random([7; 10]),
            kind: "paused".into(),
            at,
            summary: "paused".into(),
        };
        let json = serde_json::to_string(&LastEventView::of(&last)).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"id":"{}","kind":"paused","at":"2026-11-22T10:00:00Z","summary":"paused"}}"#,
                last.id
            )
        );
    }
}
