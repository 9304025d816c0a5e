//! The change under review, read from the goal's base and result commits: every path whose blob
//! differs, with bounded contents, as plain data for the scanners.
//!
//! Reads the repository through the store; never a work directory (an agent could have left files
//! there that are not part of the result).

use gix::ObjectId;

use super::scanners::{ChangeKind, ChangedFile};
use crate::store::{Store, StoreError};

/// Contents larger than this are not read; the scanners still see their size.
pub const MAX_READ_BYTES: u64 = 32 * 1024 * 1024;

/// The files that differ between the trees of `base` and `result`, sorted by path.
pub fn between(store: &Store, base: ObjectId, result: ObjectId) -> Result<Vec<ChangedFile>, StoreError> {
    let mut files = Vec::new();
    for change in store.diff_trees(base, result)? {
        let old = match change.old {
            Some(id) => store.blob_bounded(id, MAX_READ_BYTES)?.1,
            None => None,
        };
        let (new_size, new) = match change.new {
            Some(id) => store.blob_bounded(id, MAX_READ_BYTES)?,
            None => (0, None),
        };
        let kind = match (change.old, change.new) {
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Deleted,
            _ => ChangeKind::Modified,
        };
        files.push(ChangedFile {
            path: change.path,
            kind,
            old,
            new,
            new_size,
        });
    }
    Ok(files)
}
