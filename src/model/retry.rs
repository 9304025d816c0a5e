//! Whether an attempt succeeded, and what happens to its task next: done, another attempt, or stop
//! (DESIGN §3.4).
//!
//! Owns the attempt verdict (against the baseline, from gate evidence only), the retry limit and the
//! no-progress cutoff: two failed attempts in a row that leave the same tree stop the task instead of
//! burning budget in a loop. Pure.

use super::gate::compare::{Change, GateObservation, compare, fail_to_pass};
use super::ids::TreeId;
use super::task::{AttemptOutcome, Task, TaskKind, TaskStatus};

/// The task's status after its latest attempt ended with `outcome` and left `tree` (the tree of the
/// task branch after the attempt, if it committed anything). `task.attempts` still shows that attempt as
/// running (its last element); the returned note says why a task stops.
pub fn after_attempt(
    task: &Task,
    outcome: &AttemptOutcome,
    tree: Option<TreeId>,
) -> (TaskStatus, Option<String>) {
    match outcome {
        AttemptOutcome::Succeeded => (TaskStatus::Done, None),
        AttemptOutcome::Running => (TaskStatus::Running, None),
        AttemptOutcome::Interrupted { .. } => (TaskStatus::Pending, None),
        AttemptOutcome::Failed { .. } => after_failure(task, tree),
    }
}

fn after_failure(task: &Task, tree: Option<TreeId>) -> (TaskStatus, Option<String>) {
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
        .and_then(|a| a.tree);
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

/// Judge an attempt's result against the baseline (pure). `Ok` means the attempt succeeded; `Err`
/// carries the evidence the next attempt's prompt will show. A task is not required to make every gate
/// pass (another task may be fixing the rest); the integrated result is held to that at verification.
pub fn judge_attempt(
    kind: TaskKind,
    baseline: &[GateObservation],
    result: &[GateObservation],
    changed: bool,
) -> Result<(), String> {
    if !changed && kind != TaskKind::Review {
        return Err("the attempt changed no file: the task is not done".to_owned());
    }
    let comparison = compare(baseline, result);
    let mut problems: Vec<String> = comparison
        .blocking()
        .map(|c| format!("required gate `{}` passed on the base and fails now", c.name))
        .collect();
    problems.extend(
        comparison
            .with(Change::Added)
            .filter(|c| c.required && c.result.is_some_and(|o| !o.passed()))
            .map(|c| format!("new required gate `{}` fails", c.name)),
    );
    let mut improved = false;
    for r in result {
        let Some(b) = baseline.iter().find(|b| b.name == r.name) else {
            continue;
        };
        let f2p = fail_to_pass(b, r);
        if !f2p.broken_tests.is_empty() {
            problems.push(format!(
                "gate `{}`: tests that passed on the base fail now: {}",
                r.name,
                f2p.broken_tests.join(", ")
            ));
        }
        improved |= f2p.gate_fixed || !f2p.fixed_tests.is_empty() || !f2p.new_passing.is_empty();
    }
    if kind == TaskKind::Fix && !improved && problems.is_empty() {
        problems.push(
            "nothing that failed on the base passes now and no new test passes: add a test that reproduces the problem and make it pass"
                .to_owned(),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::graph::tests::task;
    use crate::model::ids::fake;
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
            tree: tree.map(fake::tree),
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
        assert_eq!(
            after_attempt(&t, &failed(), Some(fake::tree("t1"))).0,
            TaskStatus::Pending
        );
        t.attempts = vec![
            attempt(1, failed(), Some("t1")),
            attempt(2, AttemptOutcome::Running, None),
        ];
        assert_eq!(
            after_attempt(&t, &failed(), Some(fake::tree("t2"))).0,
            TaskStatus::Pending
        );
        t.attempts.pop();
        t.attempts.push(attempt(2, failed(), Some("t2")));
        t.attempts.push(attempt(3, AttemptOutcome::Running, None));
        let (status, why) = after_attempt(&t, &failed(), Some(fake::tree("t3")));
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
        let (status, why) = after_attempt(&t, &failed(), Some(fake::tree("same")));
        assert_eq!(status, TaskStatus::Failed);
        assert!(why.unwrap().contains("no progress"));
    }

    fn obs(outcome: crate::model::gate::Outcome, tests: &[(&str, bool)]) -> GateObservation {
        use crate::model::gate::{TestOutcome, TestResult};
        GateObservation {
            name: "test".into(),
            required: true,
            outcome,
            reason: None,
            tests: tests
                .iter()
                .map(|(id, ok)| TestResult {
                    id: (*id).into(),
                    outcome: if *ok {
                        TestOutcome::Passed
                    } else {
                        TestOutcome::Failed
                    },
                })
                .collect(),
            runner: Default::default(),
            metrics: vec![],
        }
    }

    #[test]
    fn attempts_are_judged_against_the_baseline() {
        use crate::model::gate::Outcome::{Failed, Passed};
        let base = [obs(Failed, &[("a", false), ("b", false), ("c", true)])];
        let one_fixed = [obs(Failed, &[("a", true), ("b", false), ("c", true)])];
        assert!(
            judge_attempt(TaskKind::Fix, &base, &one_fixed, true).is_ok(),
            "fixing one of two failures is progress"
        );
        let nothing = [obs(Failed, &[("a", false), ("b", false), ("c", true)])];
        let err = judge_attempt(TaskKind::Fix, &base, &nothing, true).unwrap_err();
        assert!(
            err.contains("nothing that failed on the base passes now"),
            "{err}"
        );
        assert!(
            judge_attempt(TaskKind::Implement, &base, &nothing, true).is_ok(),
            "features need no fix"
        );
        let broke = [obs(Failed, &[("a", true), ("b", false), ("c", false)])];
        let err = judge_attempt(TaskKind::Fix, &base, &broke, true).unwrap_err();
        assert!(err.contains("tests that passed on the base fail now: c"), "{err}");
        let green = [obs(Passed, &[])];
        let red = [obs(Failed, &[])];
        assert!(
            judge_attempt(TaskKind::Refactor, &green, &red, true)
                .unwrap_err()
                .contains("passed on the base and fails now")
        );
        assert!(
            judge_attempt(TaskKind::Refactor, &green, &green, false)
                .unwrap_err()
                .contains("changed no file")
        );
        assert!(judge_attempt(TaskKind::Review, &green, &green, false).is_ok());
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
            after_attempt(&t, &AttemptOutcome::Succeeded, Some(fake::tree("x"))).0,
            TaskStatus::Done
        );
    }
}
