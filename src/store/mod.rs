//! The goal store: goals as commit chains under `refs/omk/goals/`, read and written in-process with gix
//! (DESIGN §2).
//!
//! Owns repository discovery (with `git -c` configuration) and its refusals (bare, reftable, SHA-256), the commit identity, compare-and-swap
//! ref updates, listing from ref tips and commit messages, history walks that skip `Omk-Proves` parents,
//! and merges of two tips. It never touches the user's work tree, index, HEAD or branches, and it never
//! decides goal state: callers pass the snapshot to record.

pub mod base;
pub mod codec;
pub mod files;
pub mod history;
pub mod layout;
pub mod listing;
pub mod live;
pub mod merge;
pub mod names;
pub mod read;
mod swap;
pub mod tree;
pub mod write;

use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::model::ids::GoalId;
use crate::settings::{self, SettingError};
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
    /// SHA-256 repositories are not supported yet.
    #[error(
        "this repository uses SHA-256 object ids (extensions.objectFormat = sha256), which git omk does not support yet: use a SHA-1 repository"
    )]
    Sha256,
    /// A configuration given on git's command line is unreadable.
    #[error(transparent)]
    Setting(#[from] SettingError),
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

/// How to open repositories: with the configuration given on git's command line (`git -c`).
fn open_options() -> Result<gix::sec::trust::Mapping<gix::open::Options>, StoreError> {
    let overrides = settings::git_config_parameters()?;
    let mut options: gix::sec::trust::Mapping<gix::open::Options> = Default::default();
    options.full = options.full.cli_overrides(overrides.clone());
    options.reduced = options.reduced.cli_overrides(overrides);
    Ok(options)
}

/// Why no repository could be opened at `dir`: a SHA-256 repository (which gix without its `sha256`
/// feature cannot open) is named as such; anything else is "not a repository".
fn refusal(dir: &Path) -> StoreError {
    let found = gix::discover::upwards(dir)
        .ok()
        .map(|(path, _)| path.into_repository_and_work_tree_directories().0);
    let sha256 = found
        .and_then(|git_dir| {
            gix::config::File::from_path_no_includes(git_dir.join("config"), gix::config::Source::Local).ok()
        })
        .and_then(|config| {
            config
                .string("extensions.objectFormat")
                .map(|v| v.eq_ignore_ascii_case(b"sha256"))
        })
        .unwrap_or(false);
    if sha256 {
        StoreError::Sha256
    } else {
        StoreError::NotARepository(dir.to_path_buf())
    }
}

/// A repository opened as a goal store.
pub struct Store {
    repo: gix::Repository,
}

impl Store {
    /// Discover the repository containing `dir` (any directory of it, including linked worktrees).
    /// The configuration given with `git -c` (and `GIT_CONFIG_COUNT`) applies, as in git.
    pub fn discover(dir: &Path) -> Result<Store, StoreError> {
        let repo = gix::ThreadSafeRepository::discover_opts(dir, Default::default(), open_options()?)
            .map_err(|_| refusal(dir))?;
        Store::from_repo(repo.into())
    }

    /// Open the repository whose git directory is `git_dir` (as `GIT_DIR` names it), with `work_tree`
    /// as its work tree when given (`GIT_WORK_TREE`), else the one its configuration implies.
    pub fn open(git_dir: &Path, work_tree: Option<&Path>) -> Result<Store, StoreError> {
        let not_a_repo = || StoreError::NotARepository(git_dir.to_path_buf());
        let options = open_options()?.full;
        let mut repo = gix::open_opts(git_dir, options).map_err(|_| match refusal(git_dir) {
            StoreError::Sha256 => StoreError::Sha256,
            _ => not_a_repo(),
        })?;
        if let Some(work_tree) = work_tree {
            repo.set_workdir(Some(work_tree.to_path_buf()))
                .map_err(|_| StoreError::NotARepository(work_tree.to_path_buf()))?;
        }
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
