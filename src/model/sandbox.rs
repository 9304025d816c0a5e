//! The walls around agents and gates, as pure decisions: what a process started for an agent or a
//! gate may write, what it may not see, and what, seen after a turn, counts as an attempt to get out.
//!
//! The mechanism that enforces the confinement (a kernel sandbox) lives in `crate::sandbox`; the checks
//! that gather the facts after a turn live at the edges. Nothing here performs I/O.

use serde::{Deserialize, Serialize};

/// Something a turn did, or tried, that the walls exist to stop. Any breach fails the attempt, with
/// [`Breach::evidence`] recorded and given to the next attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Breach {
    /// The sandbox refused something a program of the agent tried (the line that says so).
    SandboxRefused {
        /// The refusal, as the program reported it.
        evidence: String,
    },
    /// The checkout's `.git` pointer no longer names its git directory (it was put back).
    PointerChanged {
        /// What it said instead.
        found: String,
    },
    /// Something of the user's repository changed during the turn (only possible unconfined).
    RepositoryChanged {
        /// What changed.
        what: String,
    },
}

impl Breach {
    /// One line for the attempt's evidence.
    pub fn evidence(&self) -> String {
        match self {
            Breach::SandboxRefused { evidence } => {
                format!("the sandbox refused an access outside the worktree: {evidence}")
            }
            Breach::PointerChanged { found } => format!(
                "the worktree's .git pointer was rewritten ({found}); git omk restored it and never follows it"
            ),
            Breach::RepositoryChanged { what } => {
                format!("the user's repository changed while the agent ran: {what}")
            }
        }
    }
}
