//! The goal store: goals as commit chains under `refs/omk/goals/`, read and written in-process with gix
//! (DESIGN §2).
//!
//! Owns repository discovery and its refusals (bare, reftable), the commit identity, compare-and-swap
//! ref updates, listing from ref tips and commit messages, history walks that skip `Omk-Proves` parents,
//! and merges of two tips. It never touches the user's work tree, index, HEAD or branches, and it never
//! decides goal state: callers pass the snapshot to record.

pub mod base;
pub mod codec;
pub mod files;
pub mod history;
pub mod layout;
pub mod listing;
pub mod merge;
pub mod names;
pub mod read;
pub mod tree;
pub mod write;

use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::model::ids::GoalId;
use codec::CodecError;

pub use layout::GoalRef;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No repository at or above the directory.
    #[error("{0} is not inside a git repository: run git omk from a directory of your repository")]
    NotARepository(PathBuf),
    /// Bare repositories have no work tree to run agents against.
    #[error("{0} is a bare repository: git omk needs a repository with a work tree (clone it first)")]
    Bare(PathBuf),
    /// Reftable is not supported yet.
    #[error(
        "this repository stores refs in the reftable format, which git omk does not support yet: use a clone with `git clone --ref-format=files`"
    )]
    Reftable,
    /// A gix operation failed.
    #[error("{context}: {source}")]
    Git {
        /// What we were doing.
        context: String,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
    /// A goal commit could not be decoded.
    #[error("goal {goal} (commit {commit}) is unreadable: {source}")]
    Corrupt {
        /// The goal.
        goal: GoalRef,
        /// The commit.
        commit: ObjectId,
        /// What is wrong.
        #[source]
        source: CodecError,
    },
    /// A ref name that git does not accept.
    #[error("`{0}` is not a valid ref name")]
    BadRefName(String),
    /// No such goal.
    #[error("goal {0} does not exist")]
    NotFound(GoalRef),
    /// The goal ref moved since it was read (another writer won the race).
    #[error("goal {goal} changed while this command ran (expected {expected:?}, found {actual:?})")]
    Conflict {
        /// The goal.
        goal: GoalRef,
        /// The tip the writer expected.
        expected: Option<ObjectId>,
        /// The tip found.
        actual: Option<ObjectId>,
    },
}

/// Attach context to gix results.
pub(crate) trait GixContext<T> {
    /// Wrap an error with what we were doing.
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T, E: Into<gix::Error>> GixContext<T> for Result<T, E> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Git {
            context: context(),
            source: e.into(),
        })
    }
}

/// A repository opened as a goal store.
pub struct Store {
    repo: gix::Repository,
}

impl Store {
    /// Discover the repository containing `dir` (any directory of it, including linked worktrees).
    pub fn discover(dir: &Path) -> Result<Store, StoreError> {
        let repo = gix::discover(dir).map_err(|_| StoreError::NotARepository(dir.to_path_buf()))?;
        Store::from_repo(repo)
    }

    /// Use an already opened repository.
    pub fn from_repo(mut repo: gix::Repository) -> Result<Store, StoreError> {
        if repo.is_bare() {
            return Err(StoreError::Bare(repo.git_dir().to_path_buf()));
        }
        let reftable = repo
            .config_snapshot()
            .string("extensions.refStorage")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"reftable"));
        if reftable {
            return Err(StoreError::Reftable);
        }
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        Ok(Store { repo })
    }

    /// The underlying repository.
    pub fn repo(&self) -> &gix::Repository {
        &self.repo
    }

    /// The work tree of the repository (of the linked worktree when opened from one).
    pub fn workdir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The common git directory (shared by all worktrees).
    pub fn common_dir(&self) -> &Path {
        self.repo.common_dir()
    }

    /// Ids of this repository's own goals (not fetched ones), unsorted.
    pub fn local_goal_ids(&self) -> Result<Vec<GoalId>, StoreError> {
        Ok(self
            .goal_refs()?
            .into_iter()
            .filter_map(|(r, _)| match r {
                GoalRef::Local(id) => Some(id),
                GoalRef::Remote { .. } => None,
            })
            .collect())
    }

    /// Every goal ref (local and fetched) with its tip.
    pub fn goal_refs(&self) -> Result<Vec<(GoalRef, ObjectId)>, StoreError> {
        let mut out = Vec::new();
        let platform = self.repo.references().ctx(|| "reading refs".to_owned())?;
        for prefix in [layout::LOCAL_PREFIX, layout::REMOTES_PREFIX] {
            let iter = platform.prefixed(prefix).ctx(|| format!("listing {prefix}"))?;
            for reference in iter {
                let Ok(reference) = reference else { continue };
                let name = reference.name().as_bstr().to_string();
                let (Some(goal), Some(id)) = (GoalRef::from_ref_name(&name), reference.try_id()) else {
                    continue;
                };
                out.push((goal, id.detach()));
            }
        }
        Ok(out)
    }

    /// The tip of a goal ref, if it exists.
    pub fn tip(&self, goal: &GoalRef) -> Result<Option<ObjectId>, StoreError> {
        self.ref_tip(&goal.ref_name())
    }

    /// What a ref (full name) points at, if it exists.
    pub fn ref_tip(&self, name: &str) -> Result<Option<ObjectId>, StoreError> {
        let found = self
            .repo
            .try_find_reference(name)
            .ctx(|| format!("reading {name}"))?;
        Ok(found.and_then(|r| r.try_id().map(|id| id.detach())))
    }
}
