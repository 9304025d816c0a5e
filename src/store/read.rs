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
        if snapshot.goal.id() != goal.id() {
            let source = codec::CodecError::Invalid {
                path: "goal.json".to_owned(),
                reason: format!("it describes goal {}, not {}", snapshot.goal.id(), goal.id()),
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
        message_of(&self.repo, commit)
    }
}

/// Parse a commit's message and committer time, decoding the commit once.
fn message_of(
    repo: &gix::Repository,
    commit: ObjectId,
) -> Result<(CommitMessage, DateTime<Utc>), StoreError> {
    read_message(repo, commit, codec::parse_message)
}

/// Parse a commit's message with `parse`, and its committer time, decoding the commit once.
fn read_message(
    repo: &gix::Repository,
    commit: ObjectId,
    parse: fn(&str) -> CommitMessage,
) -> Result<(CommitMessage, DateTime<Utc>), StoreError> {
    let c = repo
        .find_commit(commit)
        .ctx(|| format!("reading commit {commit}"))?;
    let decoded = c.decode().ctx(|| format!("decoding commit {commit}"))?;
    let bytes: &[u8] = decoded.message;
    let message = match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(_) => parse(&String::from_utf8_lossy(bytes)),
    };
    let seconds = decoded.time().map(|t| t.seconds).unwrap_or_default();
    Ok((message, DateTime::from_timestamp(seconds, 0).unwrap_or_default()))
}

/// The list row of one goal copy, read from its tip's commit message alone; a tip that cannot be read
/// gives a row with `problem` set, so one bad goal never hides the others.
pub(super) fn list_row(repo: &gix::Repository, goal: GoalRef, tip: ObjectId) -> ListEntry {
    match summary_of(repo, tip) {
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
    }
}

/// The summary of a commit's message (`codec::parse_summary`) and its committer time, read from the raw
/// commit without decoding its signatures.
fn summary_of(
    repo: &gix::Repository,
    commit: ObjectId,
) -> Result<(CommitMessage, DateTime<Utc>), StoreError> {
    let object = repo
        .find_object(commit)
        .ctx(|| format!("reading commit {commit}"))?;
    let (seconds, bytes) = (object.kind == gix::object::Kind::Commit)
        .then(|| codec::split_commit(&object.data))
        .flatten()
        .ok_or_else(|| StoreError::Git {
            context: format!("reading commit {commit}"),
            source: gix::Error::from_error(std::io::Error::other("not a commit")),
        })?;
    let message = match std::str::from_utf8(bytes) {
        Ok(text) => codec::parse_summary(text),
        Err(_) => codec::parse_summary(&String::from_utf8_lossy(bytes)),
    };
    Ok((message, DateTime::from_timestamp(seconds, 0).unwrap_or_default()))
}

/// Newest goal first: by id (creation second), then by the full-precision creation time, then local
/// before fetched copies of the same goal.
pub fn newest_first(a: &ListEntry, b: &ListEntry) -> std::cmp::Ordering {
    fn second(e: &ListEntry) -> &str {
        &e.goal.id().as_str()[..15]
    }
    second(b)
        .cmp(second(a))
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
