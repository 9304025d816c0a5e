//! `goal replay -f json` and `goal replay --verify -f json`: the recorded events, each embedded as its
//! stored `events.jsonl` line on purpose (docs/decisions.md), and the replay check as its own view.

use serde::Serialize;

use super::Location;
use crate::model::event::Event;
use crate::ops::replay::{TimelineEntry, VerifyReport};

/// `goal replay -f json`.
#[derive(Serialize)]
pub struct ReplayView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// Events in recorded order.
    pub events: Vec<ReplayItem<'a>>,
}

/// One replayed event.
#[derive(Serialize)]
pub struct ReplayItem<'a> {
    /// The commit that recorded it.
    pub commit: String,
    /// The event.
    pub event: &'a Event,
}

impl<'a> ReplayItem<'a> {
    /// Of a timeline entry.
    pub fn of(e: &'a TimelineEntry) -> ReplayItem<'a> {
        ReplayItem {
            commit: e.commit.to_string(),
            event: &e.event,
        }
    }
}

/// `goal replay --verify -f json`.
#[derive(Serialize)]
pub struct VerifyView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// No divergence.
    pub ok: bool,
    /// Goal commits checked.
    pub commits: usize,
    /// Events replayed.
    pub events: usize,
    /// The first divergence, if any.
    pub divergence: Option<DivergenceView<'a>>,
}

impl<'a> VerifyView<'a> {
    /// Of a replay check of the goal at `location`.
    pub fn of(location: Location, report: &'a VerifyReport) -> VerifyView<'a> {
        VerifyView {
            location,
            ok: report.divergence.is_none(),
            commits: report.commits,
            events: report.events,
            divergence: report.divergence.as_ref().map(|d| DivergenceView {
                commit: &d.commit,
                file: &d.file,
                line: d.line,
                derived: &d.derived,
                recorded: &d.recorded,
            }),
        }
    }
}

/// Where a recorded snapshot first differs from the one derived from the events.
#[derive(Serialize)]
pub struct DivergenceView<'a> {
    /// The goal commit.
    pub commit: &'a str,
    /// The file.
    pub file: &'a str,
    /// First differing line (1-based).
    pub line: usize,
    /// That line as derived from the events.
    pub derived: &'a str,
    /// That line as recorded.
    pub recorded: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The replay check is the view's, field by field.
    #[test]
    fn the_replay_check_view_names_its_own_fields_in_order() {
        let report = VerifyReport {
            commits: 3,
            events: 5,
            divergence: Some(crate::ops::replay::Divergence {
                commit: "c".into(),
                file: "goal.json".into(),
                line: 4,
                derived: "a".into(),
                recorded: "b".into(),
            }),
        };
        let location = Location {
            id: "g".into(),
            ref_name: "r".into(),
            remote: None,
        };
        let json = serde_json::to_string(&VerifyView::of(location, &report)).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"id":"g","ref":"r","remote":null,"ok":false,"commits":3,"events":5,"#,
                r#""divergence":{"commit":"c","file":"goal.json","line":4,"derived":"a","recorded":"b"}}"#
            )
        );
    }
}
