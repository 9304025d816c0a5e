//! Reading goals: snapshots at a commit, a commit's events, and the goal list from ref tips and commit
//! messages alone.

use chrono::{DateTime, Utc};
use gix::ObjectId;

use super::codec::{self, CommitMessage};
use super::layout::EVENTS_FILE;
use super::{GixContext, GoalRef, Store, StoreError};
use crate::model::event::Event;
use crate::model::goal::SCHEMA_VERSION;
use crate::model::snapshot::Snapshot;

/// A goal read at its tip.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Which goal.
    pub goal: GoalRef,
    /// The commit read.
    pub tip: ObjectId,
    /// Its snapshot.
    pub snapshot: Snapshot,
}

/// One row of `goal list`, read from the ref tip's commit message only.
#[derive(Clone, Debug)]
pub struct ListEntry {
    /// Which goal.
    pub goal: GoalRef,
    /// Its tip.
    pub tip: ObjectId,
    /// The parsed commit message.
    pub message: CommitMessage,
    /// Commit time of the tip (last update).
    pub updated: DateTime<Utc>,
    /// Set when the tip cannot be read as a goal commit.
    pub problem: Option<String>,
}

impl Store {
    /// Load a goal at its tip.
    pub fn load(&self, goal: &GoalRef) -> Result<Loaded, StoreError> {
        let tip = self
            .tip(goal)?
            .ok_or_else(|| StoreError::NotFound(goal.clone()))?;
        let snapshot = self.snapshot_at(goal, tip)?;
        Ok(Loaded {
            goal: goal.clone(),
            tip,
            snapshot,
        })
    }

    /// The snapshot recorded by `commit`.
    pub fn snapshot_at(&self, goal: &GoalRef, commit: ObjectId) -> Result<Snapshot, StoreError> {
        let tree = self.commit_tree(commit)?;
        let read = |path: &str| self.blob_in(&tree, path);
        let snapshot = codec::decode_snapshot(&read).map_err(|source| StoreError::Corrupt {
            goal: goal.clone(),
            commit,
            source,
        })?;
        if &snapshot.goal.id != goal.id() {
            let source = codec::CodecError::Invalid {
                path: "goal.json".to_owned(),
                reason: format!("it describes goal {}, not {}", snapshot.goal.id, goal.id()),
            };
            return Err(StoreError::Corrupt {
                goal: goal.clone(),
                commit,
                source,
            });
        }
        Ok(snapshot)
    }

    /// The events `commit` recorded (not its ancestors').
    pub fn events_at(&self, goal: &GoalRef, commit: ObjectId) -> Result<Vec<Event>, StoreError> {
        let tree = self.commit_tree(commit)?;
        let bytes = self.blob_in(&tree, EVENTS_FILE).unwrap_or_default();
        codec::decode_events(&bytes).map_err(|source| StoreError::Corrupt {
            goal: goal.clone(),
            commit,
            source,
        })
    }

    /// A file of the goal tree at `commit` (attachments included), if present.
    pub fn file_at(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tree = self.commit_tree(commit)?;
        Ok(self.blob_in(&tree, path))
    }

    pub(crate) fn commit_tree(&self, commit: ObjectId) -> Result<gix::Tree<'_>, StoreError> {
        let c = self
            .repo
            .find_commit(commit)
            .ctx(|| format!("reading commit {commit}"))?;
        c.tree().ctx(|| format!("reading the tree of {commit}"))
    }

    fn blob_in(&self, tree: &gix::Tree<'_>, path: &str) -> Option<Vec<u8>> {
        let entry = tree.lookup_entry_by_path(path).ok()??;
        let mut object = entry.object().ok()?;
        (object.kind == gix::object::Kind::Blob).then(|| std::mem::take(&mut object.data))
    }

    /// Parse a commit's message and time.
    pub fn commit_message(&self, commit: ObjectId) -> Result<(CommitMessage, DateTime<Utc>), StoreError> {
        let c = self
            .repo
            .find_commit(commit)
            .ctx(|| format!("reading commit {commit}"))?;
        let message = c.message_raw_sloppy().to_string();
        let seconds = c.time().map(|t| t.seconds).unwrap_or_default();
        let time = DateTime::from_timestamp(seconds, 0).unwrap_or_default();
        Ok((codec::parse_message(&message), time))
    }

    /// Every goal (local and fetched) from ref tips and commit messages, newest first. A goal whose tip
    /// cannot be read is listed with `problem` set, so one bad goal never hides the others.
    pub fn list(&self) -> Result<Vec<ListEntry>, StoreError> {
        let mut entries: Vec<ListEntry> = self
            .goal_refs()?
            .into_iter()
            .map(|(goal, tip)| match self.commit_message(tip) {
                Ok((message, updated)) => {
                    let problem = list_problem(&goal, &message);
                    ListEntry {
                        goal,
                        tip,
                        message,
                        updated,
                        problem,
                    }
                }
                Err(e) => ListEntry {
                    goal,
                    tip,
                    message: CommitMessage::default(),
                    updated: DateTime::default(),
                    problem: Some(e.to_string()),
                },
            })
            .collect();
        entries.sort_by(newest_first);
        Ok(entries)
    }
}

/// Newest goal first: by id (creation second), then by the full-precision creation time, then local
/// before fetched copies of the same goal.
fn newest_first(a: &ListEntry, b: &ListEntry) -> std::cmp::Ordering {
    let second = |e: &ListEntry| e.goal.id().as_str()[..15].to_owned();
    second(b)
        .cmp(&second(a))
        .then_with(|| b.message.created.cmp(&a.message.created))
        .then_with(|| b.goal.id().cmp(a.goal.id()))
        .then_with(|| a.goal.cmp(&b.goal))
}

fn list_problem(goal: &GoalRef, message: &CommitMessage) -> Option<String> {
    let supported = SCHEMA_VERSION;
    match (message.schema, message.goal.as_deref(), message.status) {
        (None, _, _) | (_, None, _) => {
            Some("the tip is not a goal commit (no Omk-Schema/Omk-Goal trailers)".to_owned())
        }
        (Some(v), _, _) if v > supported => Some(format!(
            "schema version {v} is newer than this git-omk ({supported}): upgrade git-omk"
        )),
        (_, Some(id), _) if id != goal.id().as_str() => Some(format!("the tip belongs to goal {id}")),
        (_, _, None) => Some("the commit subject carries no known status".to_owned()),
        _ => None,
    }
}
