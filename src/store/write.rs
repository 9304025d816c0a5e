//! Writing goal commits: one commit per recorded step, compare-and-swap on the goal ref (DESIGN §2).
//!
//! Objects are written first (harmless if the ref update then loses a race: they are unreachable and
//! git's gc prunes them); the ref moves only if it still points where the writer read it. The caller
//! re-reads and retries on `StoreError::Conflict`.

use chrono::{DateTime, Utc};
use gix::ObjectId;
use gix::bstr::BString;
use gix::objs::tree::EntryKind;
use gix::refs::Target;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

use super::codec::{commit_message, snapshot_files};
use super::swap::Swap;
use super::{GixContext, GoalRef, Store, StoreError};
use crate::model::event::Event;
use crate::model::snapshot::Snapshot;

/// The identity used when the user configured none.
pub const FALLBACK_NAME: &str = "git-omk";
/// The e-mail used when the user configured none.
pub const FALLBACK_EMAIL: &str = "omk@localhost";

/// One step to record.
pub struct Record<'a> {
    /// Which goal (always a local ref: fetched goals are only written by sync).
    pub goal: GoalRef,
    /// The tip this step was decided on; `None` creates the goal.
    pub expected: Option<ObjectId>,
    /// The state after the step.
    pub snapshot: &'a Snapshot,
    /// The events of the step.
    pub events: &'a [Event],
    /// Extra files (gate evidence, transcripts), repository-relative paths inside the goal tree.
    pub attachments: Vec<(String, Vec<u8>)>,
    /// Code commits this step attests; they become extra parents named by `Omk-Proves`.
    pub proves: Vec<ObjectId>,
    /// A second goal parent (merges), whose tree's attachments are carried over too.
    pub merge_parent: Option<ObjectId>,
    /// Commit time.
    pub at: DateTime<Utc>,
}

/// An attachment path that would escape the goal tree or clash with snapshot files.
fn valid_attachment(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.eq_ignore_ascii_case(".git"))
        && !super::layout::SNAPSHOT_FILES.contains(&path)
}

impl Store {
    /// Write the step's objects and move the goal ref from `expected` to the new commit.
    pub fn record(&self, rec: Record<'_>) -> Result<ObjectId, StoreError> {
        let (goal, expected) = (rec.goal.clone(), rec.expected);
        let (id, message) = self.write_step(rec)?;
        self.move_ref(&goal, expected, id, &message)?;
        Ok(id)
    }

    /// Write the step's objects (tree and commit) without moving the ref; returns the commit and its
    /// message. [`Store::move_ref`] publishes it.
    pub fn write_step(&self, rec: Record<'_>) -> Result<(ObjectId, String), StoreError> {
        let tree = self.write_tree(&rec)?;
        let mut parents: Vec<ObjectId> = rec.expected.into_iter().chain(rec.merge_parent).collect();
        parents.extend(
            rec.proves
                .iter()
                .filter(|p| !parents.contains(p))
                .copied()
                .collect::<Vec<_>>(),
        );
        let message = commit_message(rec.snapshot, rec.events, &rec.proves, rec.merge_parent.is_some());
        let signature = self.signature(rec.at);
        let commit = gix::objs::Commit {
            tree,
            parents: parents.into(),
            author: signature.clone(),
            committer: signature,
            encoding: None,
            message: message.clone().into(),
            extra_headers: Vec::new(),
        };
        let id = self
            .repo
            .write_object(&commit)
            .ctx(|| format!("writing a commit of goal {}", rec.goal))?
            .detach();
        Ok((id, message))
    }

    fn write_tree(&self, rec: &Record<'_>) -> Result<ObjectId, StoreError> {
        let start = match rec.expected {
            Some(parent) => self.commit_tree(parent)?.id,
            None => ObjectId::empty_tree(self.repo.object_hash()),
        };
        let mut editor = self
            .repo
            .edit_tree(start)
            .ctx(|| "starting a goal tree".to_owned())?;
        if let Some(other) = rec.merge_parent {
            self.carry_attachments(&mut editor, other)?;
        }
        let files = snapshot_files(rec.snapshot, rec.events);
        let attachments = rec
            .attachments
            .iter()
            .filter(|(p, _)| valid_attachment(p))
            .map(|(p, b)| (p.as_str(), b));
        for (path, bytes) in files.iter().map(|(p, b)| (*p, b)).chain(attachments) {
            if self.unchanged(&editor, path, bytes)? {
                continue;
            }
            let blob = self.repo.write_blob(bytes).ctx(|| format!("writing {path}"))?;
            editor
                .upsert(path, EntryKind::Blob, blob)
                .ctx(|| format!("placing {path}"))?;
        }
        Ok(editor
            .write()
            .ctx(|| "writing the goal tree".to_owned())?
            .detach())
    }

    /// Whether the tree being edited already holds `bytes` as the file `path` (most files of a step
    /// are: they need neither a write nor a look-up in the object database).
    fn unchanged(
        &self,
        editor: &gix::object::tree::Editor<'_>,
        path: &str,
        bytes: &[u8],
    ) -> Result<bool, StoreError> {
        let Some(entry) = editor.get(path) else {
            return Ok(false);
        };
        if entry.mode().kind() != EntryKind::Blob {
            return Ok(false);
        }
        let id = gix::objs::compute_hash(self.repo.object_hash(), gix::object::Kind::Blob, bytes)
            .ctx(|| format!("hashing {path}"))?;
        Ok(entry.id() == id)
    }

    /// Copy every attachment of `other`'s tree that the tree being edited lacks.
    fn carry_attachments(
        &self,
        editor: &mut gix::object::tree::Editor<'_>,
        other: ObjectId,
    ) -> Result<(), StoreError> {
        let tree = self.commit_tree(other)?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .ctx(|| format!("reading attachments of {other}"))?;
        for entry in recorder.records.into_iter().filter(|e| e.mode.is_blob()) {
            let path = entry.filepath.to_string();
            if valid_attachment(&path) && editor.get(path.as_str()).is_none() {
                editor
                    .upsert(path.as_str(), EntryKind::Blob, entry.oid)
                    .ctx(|| format!("carrying {path}"))?;
            }
        }
        Ok(())
    }

    /// The user's committer identity, or the fallback, with time `at`.
    fn signature(&self, at: DateTime<Utc>) -> gix::actor::Signature {
        let time = gix::date::Time {
            seconds: at.timestamp(),
            offset: 0,
        };
        let configured = self
            .repo
            .committer()
            .and_then(Result::ok)
            .map(|s| (BString::from(s.name), BString::from(s.email)));
        let (name, email) = configured.unwrap_or_else(|| (FALLBACK_NAME.into(), FALLBACK_EMAIL.into()));
        gix::actor::Signature { name, email, time }
    }

    /// Compare-and-swap `goal` from `expected` to `new` (under the ref's lock, as git does: see
    /// `store/swap.rs`; through gix's transaction when a reflog or namespace is involved).
    pub fn move_ref(
        &self,
        goal: &GoalRef,
        expected: Option<ObjectId>,
        new: ObjectId,
        message: &str,
    ) -> Result<(), StoreError> {
        let name = goal.ref_name();
        match self.swap_loose(&name, expected, new)? {
            Swap::Done => return Ok(()),
            Swap::Lost(actual) => {
                return Err(StoreError::Conflict {
                    goal: goal.clone(),
                    expected,
                    actual,
                });
            }
            Swap::Unhandled => {}
        }
        let previous = match expected {
            Some(old) => PreviousValue::MustExistAndMatch(Target::Object(old)),
            None => PreviousValue::MustNotExist,
        };
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: message.lines().next().unwrap_or_default().into(),
                },
                expected: previous,
                new: Target::Object(new),
            },
            name: name
                .as_str()
                .try_into()
                .map_err(|_| StoreError::BadRefName(name.clone()))?,
            deref: false,
        };
        match self.repo.edit_reference(edit) {
            Ok(_) => Ok(()),
            Err(source) => {
                let actual = self.tip(goal)?;
                if actual != expected || source.is_conflict() || lock_held(self, goal) {
                    Err(StoreError::Conflict {
                        goal: goal.clone(),
                        expected,
                        actual,
                    })
                } else {
                    Err(StoreError::Git {
                        context: format!("updating {name}"),
                        source,
                    })
                }
            }
        }
    }
}

fn lock_held(store: &Store, goal: &GoalRef) -> bool {
    store
        .common_dir()
        .join(format!("{}.lock", goal.ref_name()))
        .exists()
}
