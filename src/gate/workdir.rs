//! Checking the work directory a gate runs in: which commit it has checked out and which tracked
//! files differ from it (`git status`, so the index, filters and the file system are read the way git
//! reads them).
//!
//! Untracked files are not inspected: build outputs (`target/`, `node_modules/`, a generated
//! `Cargo.lock`) are expected there. The caller commits everything an agent wrote before gating.

use std::path::Path;

use super::GateError;
use crate::git::checkout::Checkout;

/// What the work directory holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkdirState {
    /// The checked-out commit (hex), if any.
    pub head: Option<String>,
    /// Tracked paths that differ from it (staged, unstaged or unmerged).
    pub modified: Vec<String>,
}

/// Inspect `dir`, a checkout of the repository whose shared git directory is `common_dir` (found from
/// there, never through the checkout's own `.git` file).
pub fn inspect(common_dir: &Path, dir: &Path) -> Result<WorkdirState, GateError> {
    let fail = |reason: String| GateError::Workdir {
        dir: dir.to_path_buf(),
        reason,
    };
    if !dir.is_dir() {
        return Err(fail("it is not a directory".to_owned()));
    }
    let checkout = Checkout::locate(common_dir, dir).map_err(|e| fail(e.to_string()))?;
    let args = [
        "status",
        "--porcelain=v2",
        "--branch",
        "-z",
        "--untracked-files=no",
        "--no-renames",
        "--ignore-submodules=none",
    ];
    let out = checkout
        .git_output(&args, &[("GIT_OPTIONAL_LOCKS", "0")])
        .map_err(|e| fail(format!("git status could not run: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(fail(format!("git status failed: {}", stderr.trim())));
    }
    Ok(parse_status(&out.stdout))
}

/// Parse `git status --porcelain=v2 --branch -z` (without renames).
pub fn parse_status(bytes: &[u8]) -> WorkdirState {
    let mut state = WorkdirState::default();
    for record in bytes.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let record = String::from_utf8_lossy(record);
        if let Some(oid) = record.strip_prefix("# branch.oid ") {
            state.head = (oid != "(initial)").then(|| oid.to_owned());
            continue;
        }
        let fields = match record.as_bytes().first() {
            Some(b'1') => 9,
            Some(b'u') => 11,
            _ => continue,
        };
        if let Some(path) = record.splitn(fields, ' ').nth(fields - 1) {
            state.modified.push(path.to_owned());
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_records_are_parsed() {
        let head = "0123456789abcdef0123456789abcdef01234567";
        let text = format!(
            "# branch.oid {head}\0# branch.head main\0\
             1 .M N... 100644 100644 100644 aaaa bbbb src/a file.rs\0\
             u UU N... 100644 100644 100644 100644 aaaa bbbb cccc conflict.txt\0"
        );
        let state = parse_status(text.as_bytes());
        assert_eq!(state.head.as_deref(), Some(head));
        assert_eq!(state.modified, ["src/a file.rs", "conflict.txt"]);
        let empty = parse_status(b"# branch.oid (initial)\0# branch.head main\0");
        assert_eq!(empty, WorkdirState::default());
    }
}
