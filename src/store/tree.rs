//! Reading a code commit's tree without a checkout: the tree id, one path's file, one directory's
//! entries. Used to take checked-in project configuration (`.omk/gates.toml`) from the exact commit
//! being tested, never from a work directory (DESIGN §11, invariant 4).
//!
//! Unlike the goal-tree helpers these never turn a read error into "absent": a missing file and an
//! unreadable one are different answers.

use std::collections::BTreeMap;

use gix::ObjectId;
use gix::objs::tree::EntryMode;

use super::{GixContext, Store, StoreError};

/// One path whose blob differs between two trees (content or mode); `None` on the side it is absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeChange {
    /// Repository-relative path.
    pub path: String,
    /// The blob on the old side.
    pub old: Option<ObjectId>,
    /// The blob on the new side.
    pub new: Option<ObjectId>,
}

/// What a path names in a commit's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreePath {
    /// Nothing at that path.
    Missing,
    /// A regular (possibly executable) file and its bytes.
    File(Vec<u8>),
    /// A directory, symbolic link or submodule.
    Other(TreeEntryKind),
}

/// The kind of a tree entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TreeEntryKind {
    /// A regular or executable file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Link,
    /// A submodule (a commit).
    Submodule,
}

impl TreeEntryKind {
    fn of(mode: gix::objs::tree::EntryMode) -> TreeEntryKind {
        if mode.is_tree() {
            TreeEntryKind::Directory
        } else if mode.is_link() {
            TreeEntryKind::Link
        } else if mode.is_commit() {
            TreeEntryKind::Submodule
        } else {
            TreeEntryKind::File
        }
    }
}

impl Store {
    /// The id of `commit`'s root tree.
    pub fn tree_id(&self, commit: ObjectId) -> Result<ObjectId, StoreError> {
        Ok(self.commit_tree(commit)?.id)
    }

    /// What `path` (slash-separated, relative to the root) is in `commit`'s tree.
    pub fn path_at(&self, commit: ObjectId, path: &str) -> Result<TreePath, StoreError> {
        let tree = self.commit_tree(commit)?;
        let entry = tree
            .lookup_entry(path.split('/').map(str::as_bytes))
            .ctx(|| format!("looking up {path} in {commit}"))?;
        let Some(entry) = entry else {
            return Ok(TreePath::Missing);
        };
        match TreeEntryKind::of(entry.mode()) {
            TreeEntryKind::File => {
                let mut object = entry.object().ctx(|| format!("reading {path} in {commit}"))?;
                Ok(TreePath::File(std::mem::take(&mut object.data)))
            }
            other => Ok(TreePath::Other(other)),
        }
    }

    /// The entries of directory `dir` (`""` for the root) in `commit`'s tree, sorted by name; `None`
    /// when `dir` is not a directory there.
    pub fn dir_at(
        &self,
        commit: ObjectId,
        dir: &str,
    ) -> Result<Option<Vec<(String, TreeEntryKind)>>, StoreError> {
        let root = self.commit_tree(commit)?;
        let tree = if dir.is_empty() {
            root
        } else {
            let entry = root
                .lookup_entry(dir.split('/').map(str::as_bytes))
                .ctx(|| format!("looking up {dir} in {commit}"))?;
            match entry {
                Some(e) if e.mode().is_tree() => e
                    .object()
                    .ctx(|| format!("reading {dir} in {commit}"))?
                    .into_tree(),
                _ => return Ok(None),
            }
        };
        let mut entries = Vec::new();
        for entry in tree.iter() {
            let entry = entry.ctx(|| format!("listing {dir} in {commit}"))?;
            entries.push((entry.filename().to_string(), TreeEntryKind::of(entry.mode())));
        }
        entries.sort();
        Ok(Some(entries))
    }

    /// The files (blobs and symbolic links) that differ between the trees of `old` and `new`, sorted by
    /// path. Submodules are not descended into.
    pub fn diff_trees(&self, old: ObjectId, new: ObjectId) -> Result<Vec<TreeChange>, StoreError> {
        let before = self.blobs_of(old)?;
        let mut after = self.blobs_of(new)?;
        let mut changes = Vec::new();
        for (path, old_entry) in before {
            match after.remove(&path) {
                Some(new_entry) if new_entry == old_entry => {}
                new_entry => changes.push(TreeChange {
                    path,
                    old: Some(old_entry.0),
                    new: new_entry.map(|e| e.0),
                }),
            }
        }
        changes.extend(after.into_iter().map(|(path, entry)| TreeChange {
            path,
            old: None,
            new: Some(entry.0),
        }));
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(changes)
    }

    /// A blob's size, and its contents when the size is at most `max_bytes`.
    pub fn blob_bounded(&self, id: ObjectId, max_bytes: u64) -> Result<(u64, Option<Vec<u8>>), StoreError> {
        let size = self
            .repo
            .find_header(id)
            .ctx(|| format!("reading blob {id}"))?
            .size();
        if size > max_bytes {
            return Ok((size, None));
        }
        let mut object = self.repo.find_object(id).ctx(|| format!("reading blob {id}"))?;
        Ok((size, Some(std::mem::take(&mut object.data))))
    }

    fn blobs_of(&self, commit: ObjectId) -> Result<BTreeMap<String, (ObjectId, EntryMode)>, StoreError> {
        let tree = self.commit_tree(commit)?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .ctx(|| format!("listing the files of {commit}"))?;
        Ok(recorder
            .records
            .into_iter()
            .filter(|e| e.mode.is_blob() || e.mode.is_link())
            .map(|e| (e.filepath.to_string(), (e.oid, e.mode)))
            .collect())
    }
}
