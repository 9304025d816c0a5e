//! Files git-omk reads and writes itself on an agent's behalf (ACP `fs/read_text_file` and
//! `fs/write_text_file`), outside any sandbox: opened inside the work directory one component at a
//! time, never following a symbolic link. Checking a path and then opening it would leave a window in
//! which a program of the agent swaps a directory for a link to somewhere else; opening each
//! component relative to the previous one with `O_NOFOLLOW` leaves none.
//!
//! Owns only the file system walk; the policy decides what may be read or written.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::{Mode, mkdirat};

/// Write `content` to `relative` (a path inside `root`), creating missing directories; refused when
/// any component is a symbolic link or `..`.
pub fn write(root: &Path, relative: &Path, content: &[u8]) -> io::Result<()> {
    let (dir, name) = parent_dir(root, relative, true)?;
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(&dir, name, flags, Mode::from_bits_truncate(0o666)).map_err(|e| refused(e, relative))?;
    File::from(fd).write_all(content)
}

/// Read at most `max` bytes of `relative` (a path inside `root`); refused when any component is a
/// symbolic link or `..`.
pub fn read(root: &Path, relative: &Path, max: u64) -> io::Result<Vec<u8>> {
    let (dir, name) = parent_dir(root, relative, false)?;
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(&dir, name, flags, Mode::empty()).map_err(|e| refused(e, relative))?;
    let mut bytes = Vec::new();
    File::from(fd)
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is larger than {max} bytes", relative.display()),
        ));
    }
    Ok(bytes)
}

/// The directory holding `relative`'s last component, opened component by component from `root`
/// (creating missing ones when `create`), and that last component.
fn parent_dir<'p>(root: &Path, relative: &'p Path, create: bool) -> io::Result<(OwnedFd, &'p OsStr)> {
    let mut names = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(name) => names.push(name),
            Component::CurDir => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{} leaves the work directory", relative.display()),
                ));
            }
        }
    }
    let (last, dirs) = names
        .split_last()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "an empty path"))?;
    let dir_flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut dir: OwnedFd = File::open(root)?.into();
    for name in dirs {
        dir = match openat(&dir, *name, dir_flags, Mode::empty()) {
            Err(Errno::ENOENT) if create => {
                mkdirat(&dir, *name, Mode::from_bits_truncate(0o777)).or_else(|e| match e {
                    Errno::EEXIST => Ok(()),
                    e => Err(refused(e, relative)),
                })?;
                openat(&dir, *name, dir_flags, Mode::empty()).map_err(|e| refused(e, relative))?
            }
            other => other.map_err(|e| refused(e, relative))?,
        };
    }
    Ok((dir, last))
}

/// An error of the walk, saying so when a symbolic link was in the way.
fn refused(errno: Errno, path: &Path) -> io::Error {
    match errno {
        Errno::ELOOP | Errno::ENOTDIR => io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{}: git omk does not follow symbolic links for an agent",
                path.display()
            ),
        ),
        other => io::Error::from(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_and_read_inside_without_following_links() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        write(root.path(), Path::new("a/b/c.txt"), b"hello").unwrap();
        assert_eq!(read(root.path(), Path::new("a/b/c.txt"), 100).unwrap(), b"hello");
        assert!(
            read(root.path(), Path::new("a/b/c.txt"), 3).is_err(),
            "size bound"
        );
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let err = write(root.path(), Path::new("link/evil.txt"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
        assert!(!outside.path().join("evil.txt").exists());
        assert!(read(root.path(), Path::new("link/secret"), 100).is_err());
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("file-link")).unwrap();
        assert!(read(root.path(), Path::new("file-link"), 100).is_err());
        assert!(write(root.path(), Path::new("file-link"), b"x").is_err());
        assert_eq!(
            std::fs::read_to_string(outside.path().join("secret")).unwrap(),
            "s"
        );
        assert!(write(root.path(), Path::new("../escape"), b"x").is_err());
    }
}
