//! ACP `fs/read_text_file` and `fs/write_text_file`, served by git-omk under the policy: a hard block,
//! whatever mode the agent is in.
//!
//! Owns resolving the requested path (symbolic links included: a link inside the worktree pointing
//! outside is judged by where it points), the size bounds, and the file I/O: inside the worktree
//! through `sandbox::beneath`, which never follows a link (so none swapped in after the check can
//! redirect it). The policy decides.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::model::policy::{Policy, Verdict};
use crate::sandbox::beneath;

/// Largest file served or written through ACP.
pub const MAX_FILE: u64 = 16 << 20;

/// ACP: resource not found.
const NOT_FOUND: i64 = -32002;
/// Refusal by policy (a server error code, with the reason as message for the model).
pub const DENIED: i64 = -32000;

/// A refused or failed file request: code and message for the JSON-RPC error.
pub type FsError = (i64, String);

fn param_path(params: &Value, policy: &Policy) -> Result<PathBuf, FsError> {
    let path = params
        .get("path")
        .and_then(Value::as_str)
        .ok_or((super::INVALID_PARAMS, "`path` is missing".to_owned()))?;
    Ok(policy.work_dir().join(path))
}

fn denied(reason: String) -> FsError {
    (DENIED, format!("denied by git-omk policy: {reason}"))
}

/// The real path of `path`: its own target if it exists, else its nearest existing ancestor's real
/// path joined with the rest.
fn real_path(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let mut missing = Vec::new();
    let mut cur = path.to_owned();
    while let Some(parent) = cur.parent().map(Path::to_owned) {
        if let Some(name) = cur.file_name() {
            missing.push(name.to_owned());
        }
        if let Ok(real) = parent.canonicalize() {
            return missing.iter().rev().fold(real, |acc, n| acc.join(n));
        }
        cur = parent;
    }
    path.to_owned()
}

/// `fs/read_text_file {path, line?, limit?}` → `{content}`.
pub fn read(policy: &Policy, params: &Value) -> Result<Value, FsError> {
    let path = param_path(params, policy)?;
    for candidate in [path.clone(), real_path(&path)] {
        if let Verdict::Deny(reason) = policy.check_read(&candidate) {
            return Err(denied(reason));
        }
    }
    let bytes = match path.strip_prefix(policy.work_dir()) {
        Ok(inside) => beneath::read(policy.work_dir(), inside, MAX_FILE),
        Err(_) => read_declared(&path),
    }
    .map_err(|e| io_error(&path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let line = params.get("line").and_then(Value::as_u64).unwrap_or(1).max(1);
    let limit = params.get("limit").and_then(Value::as_u64);
    let content = select_lines(&text, line, limit);
    Ok(json!({ "content": content }))
}

/// Lines `line..line+limit` (1-based) of `text`, newlines kept.
fn select_lines(text: &str, line: u64, limit: Option<u64>) -> String {
    if line == 1 && limit.is_none() {
        return text.to_owned();
    }
    let skip = usize::try_from(line - 1).unwrap_or(usize::MAX);
    let take = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    text.split_inclusive('\n').skip(skip).take(take).collect()
}

/// `fs/write_text_file {path, content}` → `{}`.
pub fn write(policy: &Policy, params: &Value) -> Result<Value, FsError> {
    let path = param_path(params, policy)?;
    let content = params
        .get("content")
        .and_then(Value::as_str)
        .ok_or((super::INVALID_PARAMS, "`content` is missing".to_owned()))?;
    if content.len() as u64 > MAX_FILE {
        return Err((DENIED, format!("content larger than {MAX_FILE} bytes")));
    }
    for candidate in [path.clone(), real_path(&path)] {
        if let Verdict::Deny(reason) = policy.check_write(&candidate) {
            return Err(denied(reason));
        }
    }
    // Opened inside the work directory without following links: a link swapped in after the check
    // cannot redirect the write.
    let inside = path
        .strip_prefix(policy.work_dir())
        .map_err(|_| denied(format!("{} is outside the worktree", path.display())))?;
    beneath::write(policy.work_dir(), inside, content.as_bytes()).map_err(|e| io_error(&path, e))?;
    Ok(json!({}))
}

/// A file the policy lets the agent read outside its worktree (a declared read path), bounded.
fn read_declared(path: &Path) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if meta.len() > MAX_FILE {
        return Err(std::io::Error::new(
            ErrorKind::InvalidData,
            format!("{} is larger than {MAX_FILE} bytes", path.display()),
        ));
    }
    std::fs::read(path)
}

fn io_error(path: &Path, e: std::io::Error) -> FsError {
    if e.kind() == ErrorKind::NotFound {
        (NOT_FOUND, format!("Resource not found: {}", path.display()))
    } else if matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::InvalidData) {
        denied(e.to_string())
    } else {
        (super::INTERNAL_ERROR, format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::writeset::PathPattern;

    #[test]
    fn line_selection_is_one_based() {
        assert_eq!(select_lines("a\nb\nc\n", 2, Some(1)), "b\n");
        assert_eq!(select_lines("a\nb\nc", 2, None), "b\nc");
        assert_eq!(select_lines("a\n", 5, None), "");
    }

    #[test]
    fn symlinks_are_judged_by_their_target() {
        let outside = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let work_dir = work.path().canonicalize().unwrap();
        std::os::unix::fs::symlink(outside.path(), work_dir.join("link")).unwrap();
        let policy = Policy::task(&work_dir, vec![PathPattern::parse("**").unwrap()]).unwrap();
        let err = write(
            &policy,
            &json!({"path": work_dir.join("link/evil.txt"), "content": "x"}),
        )
        .unwrap_err();
        assert_eq!(err.0, DENIED, "{err:?}");
        assert!(!outside.path().join("evil.txt").exists());
        write(
            &policy,
            &json!({"path": work_dir.join("sub/ok.txt"), "content": "fine"}),
        )
        .unwrap();
        let back = read(&policy, &json!({"path": work_dir.join("sub/ok.txt")})).unwrap();
        assert_eq!(back["content"], "fine");
        let missing = read(&policy, &json!({"path": work_dir.join("nope")})).unwrap_err();
        assert_eq!(missing.0, NOT_FOUND);
    }
}
