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

/// Which review a reviewer session does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewRole {
    /// Correctness and quality.
    Reviewer,
    /// Security.
    SecurityReviewer,
}

impl ReviewRole {
    /// The role's name, also the `source` of its findings.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewRole::Reviewer => "reviewer",
            ReviewRole::SecurityReviewer => "security-reviewer",
        }
    }
}

/// The prompt of a reviewer session over `diff` (bounded by the caller).
pub fn review(role: ReviewRole, goal_text: &str, diff: &str) -> String {
    let focus = match role {
        ReviewRole::Reviewer => {
            "Review it for correctness: does it do what the goal asks, does it break anything, are there bugs, missing tests or error handling gaps?"
        }
        ReviewRole::SecurityReviewer => {
            "Review it for security: injection, unsafe input handling, secrets or credentials, dangerous file or network access, weakened checks, risky dependencies or CI changes."
        }
    };
    format!(
        "You are the {} for git-omk. Do not modify any file; only read.\n\nGoal: {goal_text}\n\nThe change (a git diff \
         from the base to the result):\n\n{diff}\n\n{focus}\n\nReply with your findings as one JSON block, and nothing \
         after it:\n```json\n{{\"findings\": [{{\"severity\": \"high|medium|low|info\", \"file\": \"path/in/repo\", \
         \"line\": 12, \"message\": \"what is wrong and why\"}}]}}\n```\nUse \"high\" only for a defect that makes the \
         change wrong or unsafe to merge. An empty list means you found nothing.\n",
        role.as_str()
    )
}

/// The repair prompt after an unusable review answer.
pub fn review_repair(problem: &str) -> String {
    format!(
        "Your answer could not be used: {problem}. Reply again with only the JSON block:\n```json\n{{\"findings\": []}}\n```\n\
         with one entry per finding (severity, file, line, message)."
    )
}
