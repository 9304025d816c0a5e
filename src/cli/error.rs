//! Errors as people see them, and the exit codes of DESIGN §1.

use super::deliver::delivery_exit_code;
use crate::ops::OpsError;
use crate::store::StoreError;

/// Exit code: usage or invalid input.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: infrastructure failure.
pub const EXIT_FAILED: i32 = 6;
/// Exit code: internal error.
pub const EXIT_INTERNAL: i32 = 70;

/// An error of the command line layer.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From a use case.
    #[error(transparent)]
    Ops(#[from] OpsError),
    /// Bad input caught by the CLI itself.
    #[error("{0}")]
    Usage(String),
    /// Writing output or reading input failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Io(_) => EXIT_FAILED,
            CliError::Ops(e) => match e {
                OpsError::Usage(_)
                | OpsError::Refused(_)
                | OpsError::Resolve(_)
                | OpsError::Setting(_)
                | OpsError::BadId { .. } => EXIT_USAGE,
                OpsError::Contended(_)
                | OpsError::Git(_)
                | OpsError::Infrastructure { .. }
                | OpsError::BranchRewritten { .. } => EXIT_FAILED,
                OpsError::Delivery(d) => delivery_exit_code(d),
                OpsError::Store(s) => match s {
                    StoreError::NotARepository(_)
                    | StoreError::Bare(_)
                    | StoreError::Reftable
                    | StoreError::Sha256
                    | StoreError::Setting(_)
                    | StoreError::NotFound(_)
                    | StoreError::Corrupt { .. } => EXIT_USAGE,
                    StoreError::Git { .. } | StoreError::Conflict { .. } | StoreError::BadRefName(_) => {
                        EXIT_FAILED
                    }
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::run::GitError;
    use crate::ops::context::oid;

    fn code(e: OpsError) -> i32 {
        CliError::Ops(e).exit_code()
    }

    #[test]
    fn a_recorded_id_that_is_not_one_is_bad_input_and_keeps_its_cause() {
        let e = oid("not-a-commit").expect_err("not hex");
        assert!(e.to_string().contains("`not-a-commit` is not a commit id"), "{e}");
        assert!(std::error::Error::source(&e).is_some(), "the parse error is kept");
        assert_eq!(code(e), EXIT_USAGE);
    }

    #[test]
    fn failures_of_the_machine_keep_their_cause_and_exit_6() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = OpsError::infrastructure("cannot write .github/workflows/omk.yml", io);
        assert_eq!(e.to_string(), "cannot write .github/workflows/omk.yml: denied");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(code(e), EXIT_FAILED);
        let git = GitError::Failed {
            args: "worktree add".into(),
            code: Some(128),
            stderr: "fatal: already exists".into(),
        };
        assert_eq!(code(OpsError::Git(git)), EXIT_FAILED);
        let rewritten = OpsError::BranchRewritten {
            branch: "omk/g/integration".into(),
            actual: "b".repeat(40),
            recorded: "a".repeat(40),
        };
        assert!(rewritten.to_string().contains("restore it with `git update-ref"));
        assert_eq!(code(rewritten), EXIT_FAILED);
    }
}
