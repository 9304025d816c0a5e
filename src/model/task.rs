//! Tasks of a goal: what one agent slice must do, under which write set, and how its attempts went.
//!
//! Owns the task record (DESIGN §5). Validation of a whole graph lives in `graph`. Pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{CommitId, TaskId, TreeId};
use super::writeset::PathPattern;

/// What a task is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Build new behaviour.
    Implement,
    /// Fix wrong behaviour.
    Fix,
    /// Write or repair tests.
    Test,
    /// Restructure without behaviour change.
    Refactor,
    /// Write documentation.
    Docs,
    /// Investigate and report.
    Review,
    /// Merge results.
    Integrate,
    /// Resolve a merge conflict.
    ResolveConflict,
}

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not started.
    Pending,
    /// An agent works on it.
    Running,
    /// Finished with passing task gates.
    Done,
    /// Out of attempts or cut off for lack of progress.
    Failed,
    /// Waiting on something outside the controller.
    Blocked,
    /// Cancelled with its goal.
    Cancelled,
}

impl TaskStatus {
    /// Name as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Running => "running",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
            TaskStatus::Blocked => "blocked",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum AttemptOutcome {
    /// Still running.
    Running,
    /// Changes committed and task gates passed.
    Succeeded,
    /// Gates failed, policy violated or the agent gave up; `evidence` says which.
    Failed {
        /// What failed, for the retry feedback and the proof.
        evidence: String,
    },
    /// Stopped by pause, cancel, budget or a crash.
    Interrupted {
        /// Why.
        reason: String,
    },
}

/// One agent attempt at a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1-based attempt number.
    pub number: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Engine session id, for resuming.
    pub session_id: Option<String>,
    /// Tokens spent by the attempt.
    pub tokens: u64,
    /// Commit the attempt produced on the task branch.
    pub commit: Option<CommitId>,
    /// The commit the attempt started from.
    #[serde(default)]
    pub start_commit: Option<CommitId>,
    /// Tree of the attempt's commit (used to detect attempts that make no progress).
    #[serde(default)]
    pub tree: Option<TreeId>,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: AttemptOutcome,
}

/// One slice of a goal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Unique within the goal.
    pub id: TaskId,
    /// One line.
    pub title: String,
    /// What to do, for the agent.
    pub description: String,
    /// What for.
    pub kind: TaskKind,
    /// Where it stands.
    pub status: TaskStatus,
    /// Tasks that must be done first.
    #[serde(default)]
    pub depends_on: Vec<TaskId>,
    /// What it may read beyond its worktree defaults.
    #[serde(default)]
    pub read_set: Vec<PathPattern>,
    /// What it may write.
    pub write_set: Vec<PathPattern>,
    /// How to tell it is done.
    pub acceptance: Vec<String>,
    /// Gate names to run after each attempt (empty: all required gates).
    #[serde(default)]
    pub gates: Vec<String>,
    /// Attempts allowed.
    pub retry_limit: u32,
    /// Attempts so far.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// The task branch, once dispatched (`omk/<goal>/tasks/<task>`).
    #[serde(default)]
    pub branch: Option<String>,
    /// The engine session of the task (one session per task, reused across attempts).
    #[serde(default)]
    pub session_id: Option<String>,
    /// The integration commit that merged this task's result.
    #[serde(default)]
    pub integrated: Option<CommitId>,
    /// Why the task is blocked or failed, in words.
    #[serde(default)]
    pub note: Option<String>,
    /// Tests the plan says this task removes (ids, or names matching an id's last `::` part): their
    /// removal is a recorded planning decision, not a reason to refuse `ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removes_tests: Vec<String>,
}

impl Task {
    /// The default number of attempts a task gets.
    pub const DEFAULT_RETRY_LIMIT: u32 = 3;

    /// Whether the task will not run again (done, failed, blocked or cancelled).
    pub fn is_settled(&self) -> bool {
        !matches!(self.status, TaskStatus::Pending | TaskStatus::Running)
    }

    /// The attempt currently running, if any.
    pub fn running_attempt(&self) -> Option<&Attempt> {
        self.attempts
            .iter()
            .rev()
            .find(|a| a.outcome == AttemptOutcome::Running)
    }

    /// The commit the task's last attempt ended at when a pause, a cancel or another stop interrupted
    /// it (the task's worktree was left there); `None` when the last attempt runs, ended otherwise or
    /// recorded no commit.
    pub fn interrupted_at(&self) -> Option<CommitId> {
        let last = self.attempts.last()?;
        match last.outcome {
            AttemptOutcome::Interrupted { .. } => last.commit,
            _ => None,
        }
    }

    /// Tokens spent over all attempts.
    pub fn tokens(&self) -> u64 {
        self.attempts.iter().map(|a| a.tokens).sum()
    }
}
