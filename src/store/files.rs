//! Listing the files of a commit's tree (what `git ls-files` shows for a clean checkout of it), bounded.

use gix::ObjectId;

use super::{GixContext, Store, StoreError};

/// At most this many paths are returned; planning on a larger repository uses the first ones.
pub const MAX_FILES: usize = 200_000;

impl Store {
    /// Resolve a revision (`HEAD`, a branch, a sha) to a commit.
    pub fn resolve_commit(&self, rev: &str) -> Result<Option<ObjectId>, StoreError> {
        let Ok(id) = self.repo.rev_parse_single(rev) else {
            return Ok(None);
        };
        let object = id.object().ctx(|| format!("reading {rev}"))?;
        match object.peel_to_kind(gix::object::Kind::Commit) {
            Ok(commit) => Ok(Some(commit.id)),
            Err(_) => Ok(None),
        }
    }

    /// The blob paths of `commit`'s tree, sorted, at most [`MAX_FILES`].
    pub fn files_at(&self, commit: ObjectId) -> Result<Vec<String>, StoreError> {
        let tree = self.commit_tree(commit)?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .ctx(|| format!("listing the files of {commit}"))?;
        let mut files: Vec<String> = recorder
            .records
            .into_iter()
            .filter(|e| e.mode.is_blob() || e.mode.is_link())
            .map(|e| e.filepath.to_string())
            .take(MAX_FILES)
            .collect();
        files.sort();
        Ok(files)
    }
}
