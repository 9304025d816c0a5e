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
