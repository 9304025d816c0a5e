//! Goal statuses, phases and kinds: the vocabulary of the lifecycle (DESIGN §3).
//!
//! Owns the names (as written in JSON and commit subjects) and the exit code each status maps to.
//! Transitions between statuses are decided in `evolve` and `control`, never here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a goal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalStatus {
    /// Planned, not executing.
    Planned,
    /// A controller is (or was last seen) driving it.
    Running,
    /// Paused by a human; `resume` continues it.
    Paused,
    /// The proof says ready.
    Ready,
    /// Finished, but the evidence does not support ready.
    NotReady,
    /// Needs an answer or decision from a human.
    BlockedOnHuman,
    /// A budget is exhausted; `budget-add` continues it.
    NeedsMoreBudget,
    /// Infrastructure failure.
    Failed,
    /// Cancelled by a human.
    Cancelled,
}

impl GoalStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [GoalStatus; 9] = [
        GoalStatus::Planned,
        GoalStatus::Running,
        GoalStatus::Paused,
        GoalStatus::Ready,
        GoalStatus::NotReady,
        GoalStatus::BlockedOnHuman,
        GoalStatus::NeedsMoreBudget,
        GoalStatus::Failed,
        GoalStatus::Cancelled,
    ];

    /// The name used in JSON, commit subjects and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            GoalStatus::Planned => "planned",
            GoalStatus::Running => "running",
            GoalStatus::Paused => "paused",
            GoalStatus::Ready => "ready",
            GoalStatus::NotReady => "not_ready",
            GoalStatus::BlockedOnHuman => "blocked_on_human",
            GoalStatus::NeedsMoreBudget => "needs_more_budget",
            GoalStatus::Failed => "failed",
            GoalStatus::Cancelled => "cancelled",
        }
    }

    /// Active statuses: planned, running, paused.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            GoalStatus::Planned | GoalStatus::Running | GoalStatus::Paused
        )
    }

    /// Terminal statuses (until resumed or budget-added).
    pub fn is_terminal(self) -> bool {
        !self.is_active()
    }

    /// The process exit code a command that ends in this status reports (DESIGN §1).
    pub fn exit_code(self) -> i32 {
        match self {
            GoalStatus::Ready | GoalStatus::Planned | GoalStatus::Running => 0,
            GoalStatus::NotReady => 1,
            GoalStatus::BlockedOnHuman => 3,
            GoalStatus::NeedsMoreBudget => 4,
            GoalStatus::Cancelled | GoalStatus::Paused => 5,
            GoalStatus::Failed => 6,
        }
    }
}

impl fmt::Display for GoalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a known status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`")]
pub struct UnknownName(pub String);

impl FromStr for GoalStatus {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GoalStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// The phase of the lifecycle a goal is in (or last was in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading and classifying the goal text.
    Intake,
    /// Producing the plan and task graph.
    Planning,
    /// Gates on the base commit.
    Baseline,
    /// Agents working on tasks.
    Execution,
    /// Merging task branches.
    Integration,
    /// Gates on the integrated tree.
    Verification,
    /// Review and security review.
    Review,
    /// Computing the proof.
    Proof,
    /// Pull request and merge.
    Delivery,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 9] = [
        Phase::Intake,
        Phase::Planning,
        Phase::Baseline,
        Phase::Execution,
        Phase::Integration,
        Phase::Verification,
        Phase::Review,
        Phase::Proof,
        Phase::Delivery,
    ];

    /// The name used in JSON and trailers.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Intake => "intake",
            Phase::Planning => "planning",
            Phase::Baseline => "baseline",
            Phase::Execution => "execution",
            Phase::Integration => "integration",
            Phase::Verification => "verification",
            Phase::Review => "review",
            Phase::Proof => "proof",
            Phase::Delivery => "delivery",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phase::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// What kind of change a goal asks for; it selects the oracle (DESIGN §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalKind {
    /// New behaviour.
    Feature,
    /// Wrong behaviour made right.
    Bugfix,
    /// Structure changes, behaviour stays.
    Refactor,
    /// Faster or smaller, measured.
    Performance,
    /// Documentation.
    Docs,
    /// Reimplementation or port.
    Rewrite,
    /// Findings, not code changes.
    Audit,
    /// Parts of different kinds.
    Mixed,
}

impl GoalKind {
    /// Every kind.
    pub const ALL: [GoalKind; 8] = [
        GoalKind::Feature,
        GoalKind::Bugfix,
        GoalKind::Refactor,
        GoalKind::Performance,
        GoalKind::Docs,
        GoalKind::Rewrite,
        GoalKind::Audit,
        GoalKind::Mixed,
    ];

    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            GoalKind::Feature => "feature",
            GoalKind::Bugfix => "bugfix",
            GoalKind::Refactor => "refactor",
            GoalKind::Performance => "performance",
            GoalKind::Docs => "docs",
            GoalKind::Rewrite => "rewrite",
            GoalKind::Audit => "audit",
            GoalKind::Mixed => "mixed",
        }
    }
}

impl fmt::Display for GoalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in GoalStatus::ALL {
            assert_eq!(s.as_str().parse::<GoalStatus>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
        for p in Phase::ALL {
            assert_eq!(p.as_str().parse::<Phase>().unwrap(), p);
        }
        assert!("done".parse::<GoalStatus>().is_err());
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(GoalStatus::Ready.exit_code(), 0);
        assert_eq!(GoalStatus::NotReady.exit_code(), 1);
        assert_eq!(GoalStatus::BlockedOnHuman.exit_code(), 3);
        assert_eq!(GoalStatus::NeedsMoreBudget.exit_code(), 4);
        assert_eq!(GoalStatus::Cancelled.exit_code(), 5);
        assert_eq!(GoalStatus::Paused.exit_code(), 5);
        assert_eq!(GoalStatus::Failed.exit_code(), 6);
    }
}
