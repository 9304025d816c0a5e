//! Writing the repository's git configuration with `git config --local` (reading it is `settings`'
//! job). Used by `remote setup` to add and remove exact values of multi-valued keys.
//!
//! Must not decide which values to write.

use std::path::Path;

use super::run::{GitError, git, git_output};

/// Add `value` to the multi-valued `key` of the repository's own configuration.
pub fn add_value(dir: &Path, key: &str, value: &str) -> Result<(), GitError> {
    git(dir, &["config", "--local", "--add", key, value]).map(drop)
}

/// Remove every line of `key` whose value is exactly `value`; removing a value that is not there is not
/// an error. git drops the section when it becomes empty.
pub fn remove_value(dir: &Path, key: &str, value: &str) -> Result<(), GitError> {
    let args = ["config", "--local", "--unset-all", "--fixed-value", key, value];
    let out = git_output(dir, &args, &[])?;
    match out.status.code() {
        Some(0) | Some(5) => Ok(()),
        code => Err(GitError::Failed {
            args: args.join(" "),
            code,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        }),
    }
}
