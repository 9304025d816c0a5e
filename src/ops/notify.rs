//! `omk.notify`: when a driven goal stops `ready`, `not_ready`, `failed`, `blocked_on_human` or
//! `needs_more_budget`, the configured command runs (`sh -c`, in the repository, outside any sandbox:
//! it is the user's own command, like a git hook), with the event as JSON on stdin and `OMK_GOAL`,
//! `OMK_STATUS` in its environment, for at most [`TIMEOUT`]. Its failure is returned for the caller to
//! record; it never changes the goal's status.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::model::snapshot::Snapshot;
use crate::model::status::GoalStatus;
use crate::process::{GroupSpec, spawn_group};

/// Longest a notifier may run.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The event a notifier reads on stdin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Version of this shape.
    pub schema_version: u32,
    /// Always `goal_stopped`.
    pub event: &'static str,
    /// The goal id.
    pub goal: String,
    /// Its title.
    pub title: String,
    /// The status it stopped in, as the notifier's own word (this payload is a contract of its own,
    /// so renaming a model variant cannot change it: [`status_word`]).
    pub status: &'static str,
    /// Why, when the controller said.
    pub reason: Option<String>,
    /// The repository's work tree.
    pub repository: String,
}

/// The statuses that notify.
pub fn notifies(status: GoalStatus) -> bool {
    matches!(
        status,
        GoalStatus::Ready
            | GoalStatus::NotReady
            | GoalStatus::Failed
            | GoalStatus::BlockedOnHuman
            | GoalStatus::NeedsMoreBudget
    )
}

/// The word a notifier reads for `status` (in the payload and in `OMK_STATUS`), named one by one.
pub fn status_word(status: GoalStatus) -> &'static str {
    match status {
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

/// The notification of `snapshot`'s goal, stopped in its current status.
pub fn notification(snapshot: &Snapshot, repository: &Path) -> Notification {
    let goal = &snapshot.goal;
    Notification {
        schema_version: 1,
        event: "goal_stopped",
        goal: goal.id().to_string(),
        title: goal.title().to_owned(),
        status: status_word(goal.status()),
        reason: goal.stop_reason().map(str::to_owned),
        repository: repository.display().to_string(),
    }
}

/// Run `command` with `event` on stdin in `dir`; `Err` says how it failed (could not start, exit
/// status with the end of its stderr, or timed out and killed). The user's own command, run in their
/// checkout like one of their git hooks: neither an agent's nor a gate's, so it is not confined.
#[allow(clippy::disallowed_methods)]
pub async fn run_notifier(command: &str, dir: &Path, event: &Notification) -> Result<(), String> {
    let json = serde_json::to_vec(event).map_err(|e| e.to_string())?;
    let spec = GroupSpec {
        program: "sh".into(),
        args: vec!["-c".into(), command.into()],
        cwd: dir.to_path_buf(),
        env: vec![
            (OsString::from("OMK_GOAL"), OsString::from(&event.goal)),
            (OsString::from("OMK_STATUS"), OsString::from(event.status)),
        ],
        stdin: true,
    };
    let mut child = spawn_group(&spec).map_err(|e| format!("omk.notify `{command}` did not start: {e}"))?;
    if let Some(mut stdin) = child.take_stdin() {
        let _ = stdin.write_all(&json).await;
    }
    let mut stderr = child.take_stderr();
    let mut stdout = child.take_stdout();
    let finished = tokio::time::timeout(TIMEOUT, async {
        let mut err = Vec::new();
        let mut out = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(64 * 1024).read_to_end(&mut err).await;
        }
        if let Some(s) = stdout.as_mut() {
            let _ = s.take(64 * 1024).read_to_end(&mut out).await;
        }
        (child.wait().await, err)
    })
    .await;
    match finished {
        Err(_) => {
            child.kill();
            Err(format!(
                "omk.notify `{command}` ran longer than {}s and was stopped",
                TIMEOUT.as_secs()
            ))
        }
        Ok((Err(e), _)) => Err(format!("omk.notify `{command}`: {e}")),
        Ok((Ok(status), _)) if status.success() => Ok(()),
        Ok((Ok(status), err)) => {
            let err = String::from_utf8_lossy(&err);
            let tail: Vec<&str> = err.lines().rev().take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(format!(
                "omk.notify `{command}` failed ({status}): {}",
                tail.join(" / ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::proof::tests::Goal;

    /// The notifier's words are the ones the model's statuses print as today, every one of them.
    #[test]
    fn status_words_are_the_statuses_printed_names() {
        for status in GoalStatus::ALL {
            let model = serde_json::to_value(status).expect("a status serialises");
            assert_eq!(model.as_str(), Some(status_word(status)), "{status:?}");
        }
    }

    /// The payload a notifier reads on stdin is a contract: pinned whole.
    #[test]
    fn the_notification_payload_is_pinned() {
        let mut goal = Goal::evidenced();
        goal.record_proof();
        assert!(notifies(goal.snapshot.goal.status()));
        let payload = notification(&goal.snapshot, Path::new("/home/user/calc"));
        let json = serde_json::to_string_pretty(&payload).expect("a notification serialises");
        insta::assert_snapshot!("notify_payload_ready", json);
    }
}
