//! The text git-omk sends to a task's agent: the task brief with its constraints, and the feedback of a
//! failed attempt. Pure.

use std::fmt::Write as _;

use super::task::Task;
use super::writeset::PathPattern;

/// The first prompt of a task's session.
pub fn task_brief(goal_text: &str, task: &Task, checks: &[String]) -> String {
    let mut out = format!(
        "You are working on one task of a larger goal, in a git worktree of the project.\n\nGoal: {goal_text}\n\nYour task ({}): {}\n{}\n\nAcceptance criteria:\n",
        task.id, task.title, task.description
    );
    for a in &task.acceptance {
        let _ = writeln!(out, "- {a}");
    }
    out.push_str("\nRules:\n");
    let _ = writeln!(
        out,
        "- Change only files matching: {}. Writes anywhere else are refused and fail the attempt.",
        task.write_set
            .iter()
            .map(PathPattern::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push_str(
        "- Do not commit, push, or change git history or configuration: git-omk records your work.\n",
    );
    out.push_str("- Never touch credentials, .git or .omk.\n");
    if !checks.is_empty() {
        out.push_str("- The project's checks, which will judge your change:\n");
        for c in checks {
            let _ = writeln!(out, "  - `{c}`");
        }
    }
    out.push_str("\nWhen you are done, reply with a short summary of what you changed and why.\n");
    out
}

/// The prompt of a retry: what failed, and what to do.
pub fn retry(evidence: &str) -> String {
    format!(
        "Your previous attempt did not pass review by git-omk:\n\n{evidence}\n\nFix this within the same rules \
         (only the allowed files; no git commands that change history), then reply with a short summary."
    )
}

/// The prompt after an interruption (pause, crash): continue from the worktree as it is.
pub fn resume_after_interruption(reason: &str) -> String {
    format!(
        "Your previous turn was interrupted ({reason}). The worktree holds everything you did so far. \
         Continue the task from there, then reply with a short summary."
    )
}
