//! `goal replay`: the timeline from the goal's history, and `--verify`: re-derive every snapshot from the
//! events and report the first divergence from what was recorded.

use std::collections::HashMap;

use gix::ObjectId;

use super::{Context, OpsError};
use crate::model::event::Event;
use crate::model::snapshot::{Snapshot, merge_logs};
use crate::store::GoalRef;
use crate::store::codec::snapshot_files;
use crate::store::history::HistoryEntry;
use crate::store::layout::{EVENTS_FILE, SNAPSHOT_FILES};

/// One line of a timeline.
#[derive(Clone, Debug)]
pub struct TimelineEntry {
    /// The commit that recorded the event.
    pub commit: ObjectId,
    /// The event.
    pub event: Event,
}

/// The first place where a recorded snapshot differs from the one derived from the events.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Divergence {
    /// The goal commit.
    pub commit: String,
    /// The file.
    pub file: String,
    /// First differing line (1-based) of the pretty-printed files.
    pub line: usize,
    /// That line as derived from the events.
    pub derived: String,
    /// That line as recorded.
    pub recorded: String,
}

/// The result of `replay --verify`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct VerifyReport {
    /// Goal commits checked.
    pub commits: usize,
    /// Events replayed.
    pub events: usize,
    /// The first divergence, if any.
    pub divergence: Option<Divergence>,
}

/// The goal's events in recorded order.
pub fn timeline(ctx: &Context, goal: &GoalRef) -> Result<Vec<TimelineEntry>, OpsError> {
    Ok(ctx
        .store
        .events(goal)?
        .into_iter()
        .map(|(commit, event)| TimelineEntry { commit, event })
        .collect())
}

/// Re-derive every snapshot of the goal from its events, oldest first, and compare with the recorded one.
pub fn verify(ctx: &Context, goal: &GoalRef) -> Result<VerifyReport, OpsError> {
    let history = ctx.store.history(goal)?;
    let mut derived: HashMap<ObjectId, Snapshot> = HashMap::new();
    let mut events_seen = 0;
    for entry in &history {
        let events = ctx.store.events_at(goal, entry.commit)?;
        events_seen += events.len();
        let snapshot = derive(ctx, goal, entry, &events, &derived)?;
        if let Some(divergence) = compare(ctx, entry.commit, &snapshot)? {
            return Ok(VerifyReport {
                commits: derived.len() + 1,
                events: events_seen,
                divergence: Some(divergence),
            });
        }
        derived.insert(entry.commit, snapshot);
    }
    Ok(VerifyReport {
        commits: history.len(),
        events: events_seen,
        divergence: None,
    })
}

fn derive(
    ctx: &Context,
    goal: &GoalRef,
    entry: &HistoryEntry,
    events: &[Event],
    derived: &HashMap<ObjectId, Snapshot>,
) -> Result<Snapshot, OpsError> {
    let invalid = |why: String| OpsError::Usage(format!("goal {goal}: commit {}: {why}", entry.commit));
    let mut snapshot = match entry.goal_parents.as_slice() {
        [] => return Snapshot::replay(goal.id(), events).map_err(|e| invalid(e.to_string())),
        [parent] => derived
            .get(parent)
            .cloned()
            .ok_or_else(|| invalid(format!("parent {parent} was not derived")))?,
        [ours, theirs] => {
            let base = ctx
                .store
                .goal_merge_base(*ours, *theirs)?
                .ok_or_else(|| invalid("merge of unrelated histories".to_owned()))?;
            let base_snapshot = derived
                .get(&base)
                .ok_or_else(|| invalid(format!("merge base {base} was not derived")))?;
            let our_events = ctx.store.exclusive_events(goal, *ours, Some(base))?;
            let their_events = ctx.store.exclusive_events(goal, *theirs, Some(base))?;
            merge_logs(base_snapshot, &our_events, &their_events)
        }
        more => {
            return Err(invalid(format!(
                "{} goal parents; at most two are written",
                more.len()
            )));
        }
    };
    for event in events {
        snapshot.apply(event);
    }
    Ok(snapshot)
}

fn compare(ctx: &Context, commit: ObjectId, derived: &Snapshot) -> Result<Option<Divergence>, OpsError> {
    let expected: HashMap<&str, Vec<u8>> = snapshot_files(derived, &[]).into_iter().collect();
    for file in SNAPSHOT_FILES.iter().filter(|f| **f != EVENTS_FILE) {
        let recorded = ctx.store.file_at(commit, file)?;
        let want = expected.get(file).map(|b| canonical(file, b));
        let got = recorded.as_deref().map(|b| canonical(file, b));
        if want != got {
            return Ok(Some(first_difference(
                commit,
                file,
                want.unwrap_or_default(),
                got.unwrap_or_default(),
            )));
        }
    }
    Ok(None)
}

/// Files compared by meaning: JSON re-serialised, JSON lines each re-serialised, text as is.
fn canonical(file: &str, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let pretty = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
    };
    if file.ends_with(".jsonl") {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| pretty(l).unwrap_or_else(|| l.to_owned()))
            .collect::<Vec<_>>()
            .join("\n")
    } else if file.ends_with(".json") {
        pretty(&text).unwrap_or_else(|| text.into_owned())
    } else {
        text.into_owned()
    }
}

fn first_difference(commit: ObjectId, file: &str, derived: String, recorded: String) -> Divergence {
    let (d, r): (Vec<&str>, Vec<&str>) = (derived.lines().collect(), recorded.lines().collect());
    let line = (0..d.len().max(r.len()))
        .find(|i| d.get(*i) != r.get(*i))
        .unwrap_or(0);
    let at = |v: &[&str]| {
        v.get(line)
            .map_or_else(|| "(missing)".to_owned(), |s| (*s).to_owned())
    };
    Divergence {
        commit: commit.to_string(),
        file: file.to_owned(),
        line: line + 1,
        derived: at(&d),
        recorded: at(&r),
    }
}
