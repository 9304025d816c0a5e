//! Compare-and-swap of one goal ref the way git's files backend does it: lock `<ref>.lock`, read the
//! value (the loose file, else `packed-refs`), compare it with the expected one, write the lock and
//! rename it over the ref.
//!
//! gix's ref transaction also locks `packed-refs` for every update whenever a `packed-refs` file exists
//! and reads the file again afterwards: one more file created and deleted, and the whole file read, per
//! goal write. git locks `packed-refs` only to delete packed refs, and `pack-refs` removes a loose ref
//! only under that ref's own lock, so holding the ref lock is enough to compare and swap. Updates this
//! path does not cover (a reflog to append to, a ref namespace) go through gix's transaction.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use gix::ObjectId;
use gix::lock::acquire::Fail;
use gix::refs::store::WriteReflog;

use super::{GixContext, Store, StoreError};

/// What a swap did.
pub(super) enum Swap {
    /// The ref now points at the new commit.
    Done,
    /// The ref was not at the expected commit (its value then), or another writer held its lock.
    Lost(Option<ObjectId>),
    /// Not handled here: use gix's transaction.
    Unhandled,
}

impl Store {
    /// Move the ref `name` (a shared ref such as `refs/omk/goals/<id>`) from `expected` (`None`: it
    /// must not exist) to `new`.
    pub(super) fn swap_loose(
        &self,
        name: &str,
        expected: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<Swap, StoreError> {
        let refs = &self.repo.refs;
        if refs.namespace.is_some() || refs.write_reflog == WriteReflog::Always {
            return Ok(Swap::Unhandled);
        }
        let base = self.common_dir();
        let path = base.join(name);
        let lock = gix::lock::File::acquire_to_update_resource(
            &path,
            self.ref_lock_mode(),
            Some(base.join("refs")),
            0,
        );
        let mut lock = match lock {
            Ok(lock) => lock,
            Err(_) if lock_path(&path).exists() => return Ok(Swap::Lost(self.ref_tip(name)?)),
            Err(source) => return Err(source).ctx(|| format!("locking {name}")),
        };
        if refs.write_reflog == WriteReflog::Normal && base.join("logs").join(name).exists() {
            return Ok(Swap::Unhandled);
        }
        let actual = match std::fs::read(&path) {
            Ok(bytes) => match parse_loose(&bytes) {
                Loose::Object(id) => Some(id),
                Loose::Symbolic => return Ok(Swap::Lost(None)),
                Loose::Malformed => self.packed_value(name)?,
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.packed_value(name)?,
            Err(_) => return Ok(Swap::Unhandled),
        };
        if actual != expected {
            return Ok(Swap::Lost(actual));
        }
        lock.write_all(format!("{new}\n").as_bytes())
            .map_err(gix::Error::from_error)
            .ctx(|| format!("writing {name}"))?;
        lock.commit()
            .map_err(|e| gix::Error::from_error(e.error))
            .ctx(|| format!("updating {name}"))?;
        Ok(Swap::Done)
    }

    /// How long to wait for another writer's ref lock: `core.filesRefLockTimeout` as gix and git read
    /// it (milliseconds, default 100; negative: forever).
    fn ref_lock_mode(&self) -> Fail {
        let ms = self
            .repo
            .config_snapshot()
            .integer("core.filesRefLockTimeout")
            .unwrap_or(100);
        match u64::try_from(ms) {
            Ok(0) => Fail::Immediately,
            Ok(ms) => Fail::AfterDurationWithBackoff(Duration::from_millis(ms)),
            Err(_) => Fail::AfterDurationWithBackoff(Duration::from_secs(u64::MAX)),
        }
    }

    /// The value of `name` in `packed-refs`, read from the file now (under the ref's lock). Not from the
    /// ref store's cached copy: that is refreshed by the file's time and size, and another process that
    /// moved this ref and packed it again may leave both as they were (timestamps are coarse), so a cached
    /// copy could hold the value before — and a swap compared with it would overwrite the other's commit.
    fn packed_value(&self, name: &str) -> Result<Option<ObjectId>, StoreError> {
        let path = self.common_dir().join("packed-refs");
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(gix::Error::from_error(e)).ctx(|| "reading packed-refs".to_owned());
            }
        };
        let packed = gix::refs::packed::Buffer::from_bytes(&bytes, self.repo.object_hash())
            .ctx(|| "reading packed-refs".to_owned())?;
        let found = packed
            .try_find(name)
            .ctx(|| format!("looking up {name} in packed-refs"))?;
        Ok(found.map(|r| r.target()))
    }
}

/// What a loose ref file holds.
#[derive(Debug, PartialEq, Eq)]
enum Loose {
    Object(ObjectId),
    Symbolic,
    /// Neither: git and gix then read the packed value.
    Malformed,
}

fn parse_loose(bytes: &[u8]) -> Loose {
    if bytes.starts_with(b"ref:") {
        return Loose::Symbolic;
    }
    let hex = bytes.trim_ascii_end();
    match ObjectId::from_hex(hex) {
        Ok(id) => Loose::Object(id),
        Err(_) => Loose::Malformed,
    }
}

fn lock_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    name.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_ref_files_are_read_as_git_writes_them() {
        let hex = "0123456789abcdef0123456789abcdef01234567";
        let id = ObjectId::from_hex(hex.as_bytes()).unwrap();
        assert_eq!(parse_loose(format!("{hex}\n").as_bytes()), Loose::Object(id));
        assert_eq!(parse_loose(hex.as_bytes()), Loose::Object(id));
        assert_eq!(parse_loose(b"ref: refs/heads/main\n"), Loose::Symbolic);
        assert_eq!(parse_loose(b"not a ref\n"), Loose::Malformed);
        assert_eq!(parse_loose(b""), Loose::Malformed);
    }
}
