//! What happens to a task after an attempt: done, another attempt, or stop (DESIGN §3.4).
//!
//! Owns the retry limit and the no-progress cutoff: two failed attempts in a row that leave the same tree
//! stop the task instead of burning budget in a loop. Pure.

use super::task::{AttemptOutcome, Task, TaskStatus};

/// The task's status after its latest attempt ended with `outcome` and left `tree` (the tree of the
/// task branch after the attempt, if it committed anything). `task.attempts` still shows that attempt as
/// running (its last element); the returned note says why a task stops.
pub fn after_attempt(
    task: &Task,
    outcome: &AttemptOutcome,
    tree: Option<&str>,
) -> (TaskStatus, Option<String>) {
    match outcome {
        AttemptOutcome::Succeeded => (TaskStatus::Done, None),
        AttemptOutcome::Running => (TaskStatus::Running, None),
        AttemptOutcome::Interrupted { .. } => (TaskStatus::Pending, None),
        AttemptOutcome::Failed { .. } => after_failure(task, tree),
    }
}

fn after_failure(task: &Task, tree: Option<&str>) -> (TaskStatus, Option<String>) {
    let counted = task
        .attempts
        .iter()
        .filter(|a| !matches!(a.outcome, AttemptOutcome::Interrupted { .. }))
        .count();
    let finished = counted as u32;
    if finished >= task.retry_limit {
        return (
            TaskStatus::Failed,
            Some(format!("failed {finished} attempt(s), the retry limit")),
        );
    }
    let previous_failed_tree = task
        .attempts
        .iter()
        .rev()
        .find(|a| matches!(a.outcome, AttemptOutcome::Failed { .. }))
        .and_then(|a| a.tree.as_deref());
    if let (Some(now), Some(before)) = (tree, previous_failed_tree)
        && now == before
    {
        return (
            TaskStatus::Failed,
            Some("no progress: the last two failed attempts left the same tree".to_owned()),
        );
    }
    (TaskStatus::Pending, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::graph::tests::task;
    use crate::model::task::Attempt;
    use chrono::{TimeZone, Utc};

    fn attempt(n: u32, outcome: AttemptOutcome, tree: Option<&str>) -> Attempt {
        Attempt {
            number: n,
            started_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            ended_at: None,
            session_id: None,
            tokens: 0,
            commit: None,
            start_commit: None,
            tree: tree.map(str::to_owned),
            outcome,
        }
    }

    fn failed() -> AttemptOutcome {
        AttemptOutcome::Failed {
            evidence: "gate unit failed".into(),
        }
    }

    #[test]
    fn retries_until_the_limit() {
        let mut t = task("a", &[], &["x"]);
        t.retry_limit = 3;
        t.attempts = vec![attempt(1, AttemptOutcome::Running, None)];
        assert_eq!(after_attempt(&t, &failed(), Some("t1")).0, TaskStatus::Pending);
        t.attempts = vec![
            attempt(1, failed(), Some("t1")),
            attempt(2, AttemptOutcome::Running, None),
        ];
        assert_eq!(after_attempt(&t, &failed(), Some("t2")).0, TaskStatus::Pending);
        t.attempts.pop();
        t.attempts.push(attempt(2, failed(), Some("t2")));
        t.attempts.push(attempt(3, AttemptOutcome::Running, None));
        let (status, why) = after_attempt(&t, &failed(), Some("t3"));
        assert_eq!(status, TaskStatus::Failed);
        assert!(why.unwrap().contains("retry limit"));
    }

    #[test]
    fn the_same_tree_twice_is_no_progress() {
        let mut t = task("a", &[], &["x"]);
        t.retry_limit = 5;
        t.attempts = vec![
            attempt(1, failed(), Some("same")),
            attempt(2, AttemptOutcome::Running, None),
        ];
        let (status, why) = after_attempt(&t, &failed(), Some("same"));
        assert_eq!(status, TaskStatus::Failed);
        assert!(why.unwrap().contains("no progress"));
    }

    #[test]
    fn interruptions_do_not_count_and_success_is_done() {
        let mut t = task("a", &[], &["x"]);
        t.retry_limit = 1;
        let interrupted = AttemptOutcome::Interrupted {
            reason: "paused".into(),
        };
        t.attempts = vec![
            attempt(1, interrupted.clone(), None),
            attempt(2, AttemptOutcome::Running, None),
        ];
        assert_eq!(after_attempt(&t, &interrupted, None).0, TaskStatus::Pending);
        assert_eq!(
            after_attempt(&t, &AttemptOutcome::Succeeded, Some("x")).0,
            TaskStatus::Done
        );
    }
}
