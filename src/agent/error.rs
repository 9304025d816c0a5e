//! Errors of the agent layer: the infrastructure failed (the agent could not start, died, broke the
//! protocol or did not answer). A turn that ends badly (cancelled, refused, an LLM error) is an
//! outcome, not an error.

use std::io;

use crate::model::policy::PolicyError;

/// Something went wrong with the agent process or its protocol.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The agent program could not be started.
    #[error("cannot start the agent `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: io::Error,
    },
    /// The agent's output stream ended.
    #[error("the agent exited {during} ({status}){}", stderr_suffix(.stderr))]
    Exited {
        /// What git-omk was doing.
        during: String,
        /// Exit status, as far as known.
        status: String,
        /// The end of the agent's stderr.
        stderr: String,
    },
    /// The agent did not answer in time.
    #[error("the agent did not answer {what} within {secs} s")]
    Timeout {
        /// The request.
        what: String,
        /// The limit.
        secs: u64,
    },
    /// The agent answered a request of git-omk with an error.
    #[error("the agent refused {method}: {message} (code {code})")]
    Refused {
        /// The request.
        method: String,
        /// JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The agent said something that cannot be understood at all.
    #[error("the agent broke the protocol: {0}")]
    Protocol(String),
    /// No usable agent was found.
    #[error("{0}")]
    NotFound(String),
    /// The agent cannot resume a stored session.
    #[error("the agent `{0}` cannot resume sessions")]
    ResumeUnsupported(String),
    /// The policy could not be built.
    #[error("invalid agent policy: {0}")]
    Policy(#[from] PolicyError),
    /// The work directory is unusable.
    #[error("the work directory {path}: {source}")]
    WorkDir {
        /// The directory.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// A file the agent needs could not be prepared.
    #[error("cannot prepare {what}: {source}")]
    Setup {
        /// What, and where.
        what: String,
        /// Why.
        source: io::Error,
    },
    /// The worktree's changes could not be listed after a turn.
    #[error("cannot list the worktree's changes: {0}")]
    DiffCheck(String),
    /// The agent command line could not be read.
    #[error("cannot read the agent command `{command}`: {reason}")]
    Command {
        /// The command as given.
        command: String,
        /// Why.
        reason: String,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        let tail: String = stderr
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!(": {tail}")
    }
}
