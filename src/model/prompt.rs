//! The text git-omk sends to agents: the planner's prompt, the task brief with its constraints (and how
//! to propose follow-ups), the feedback of a failed attempt, and the reviewers' prompts. Pure.

use std::fmt::Write as _;

use super::status::GoalKind;
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
    out.push_str(FOLLOW_UPS);
    out
}

const FOLLOW_UPS: &str = "If the goal needs more work outside your task (outside your allowed files), do not do it: \
propose it as at most 3 follow-up tasks at the end of your reply, as one JSON block:\n```json\n\
{\"follow_ups\": [{\"id\": \"short-id\", \"title\": \"one line\", \"description\": \"what to do\", \
\"write_set\": [\"path/glob\"], \"acceptance\": [\"how to tell it is done\"]}]}\n```\n\
git-omk validates and records each proposal before it runs; leave the block out when there is nothing to add.\n";

/// What the planner agent is told about the goal.
pub struct PlanningBrief<'a> {
    /// The goal text.
    pub goal_text: &'a str,
    /// Intake's kind and parts (`"text" (kind)`).
    pub kind: GoalKind,
    /// The parts intake found, in words.
    pub parts: Vec<String>,
    /// Files the heuristic found relevant (`path (matched: …)`).
    pub relevant: Vec<String>,
    /// The repository's files (bounded by the caller) and how many there are in all.
    pub files: &'a [String],
    /// How many files the repository has.
    pub file_count: usize,
}

/// The prompt of the planner session.
pub fn planning(brief: &PlanningBrief<'_>) -> String {
    let mut out = format!(
        "You are the planner for git-omk. Do not modify any file; only read the repository in the work directory.\n\n\
         Goal: {}\n\nIntake classified it as {} with these parts:\n",
        brief.goal_text, brief.kind
    );
    for p in &brief.parts {
        let _ = writeln!(out, "- {p}");
    }
    out.push_str("\nFiles a quick search found relevant:\n");
    if brief.relevant.is_empty() {
        out.push_str("- none; look for the code yourself\n");
    }
    for r in &brief.relevant {
        let _ = writeln!(out, "- {r}");
    }
    let _ = writeln!(out, "\nThe repository's files ({} in all):", brief.file_count);
    for f in brief.files {
        let _ = writeln!(out, "- {f}");
    }
    if brief.files.len() < brief.file_count {
        out.push_str("- … (list the rest with the tools you have)\n");
    }
    out.push_str(PLAN_RULES);
    out
}

const PLAN_RULES: &str = "\nSplit the goal into tasks. Each task is done by one coding agent in its own git worktree and \
may write only the files its write_set matches. Rules:\n\
- ids: lowercase letters, digits and '-', unique, at most 48 characters; at most 64 tasks;\n\
- write_set and read_set: globs relative to the repository root (no absolute paths, no '..', never .git);\n\
- tasks whose write sets may overlap must be ordered: one depends on the other (directly or through others);\n\
- depends_on names tasks of this plan; no cycles;\n\
- every task has a one-line title and at least one acceptance criterion that a test or check can confirm;\n\
- kind is one of implement, fix, test, refactor, docs, review;\n\
- removes_tests (optional): only when the goal asks to delete tests, the ids or names of the tests the task deletes; \
any other test that ran before and does not run after refuses ready.\n\n\
Reply with the plan as one JSON block, and nothing after it:\n```json\n\
{\"brief\": \"what the goal asks and how it will be done\", \"technical_plan\": \"the approach, file by file\", \
\"test_spec\": \"which tests show it works\", \"relevant_files\": [\"path/in/repo\"], \"tasks\": [{\"id\": \"fix-add\", \
\"title\": \"Fix add\", \"description\": \"what to do\", \"kind\": \"fix\", \"depends_on\": [], \
\"write_set\": [\"src/calc.py\", \"tests/test_calc.py\"], \"acceptance\": [\"test_add passes\"]}]}\n```\n";

/// The repair prompt after an unusable plan.
pub fn planning_repair(problems: &[String]) -> String {
    let mut out = String::from("Your plan could not be used:\n");
    for p in problems {
        let _ = writeln!(out, "- {p}");
    }
    out.push_str("Reply again with only the corrected JSON block (same shape: brief, technical_plan, test_spec, relevant_files, tasks).\n");
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

/// At most this many lines of test evidence are shown to a reviewer.
const MAX_EVIDENCE_LINES: usize = 60;
/// At most this many characters of one line of test evidence (test ids come from the agent's tests).
const MAX_EVIDENCE_LINE: usize = 300;

/// The prompt of a reviewer session over `diff` (bounded by the caller), with `evidence`: what git-omk
/// measured by running the gates on the base and on the result, one line each (which tests failed on
/// the base and pass now, which disappeared or broke, what the test harness check found).
pub fn review(role: ReviewRole, goal_text: &str, diff: &str, evidence: &[String]) -> String {
    let focus = match role {
        ReviewRole::Reviewer => {
            "Review it for correctness: does it do what the goal asks, does it break anything, are there bugs, missing tests or error handling gaps?\n\n\
             Check the tests explicitly, as a coding agent under pressure may game them instead of fixing the code:\n\
             - Were tests weakened (looser assertions, expected values changed to match the code), removed, renamed, skipped, \
             marked as expected failures, or filtered out (deselect, -k, --skip, #[ignore], .skip, t.Skip)?\n\
             - Were tests made to pass without fixing the behaviour: a hook, fixture, mock or configuration (conftest.py, \
             pytest.ini, package.json scripts, build.rs, .cargo/config.toml, a Makefile) that changes how tests run or how \
             their outcomes are reported, or code that detects it is under test?\n\
             - Do the new or changed tests exercise what the goal asks for, or something unrelated?\n\
             Any of these is a \"high\" finding: name the test or file and what was done to it."
        }
        ReviewRole::SecurityReviewer => {
            "Review it for security: injection, unsafe input handling, secrets or credentials, dangerous file or network access, weakened checks, risky dependencies or CI changes."
        }
    };
    let measured = measured_section(evidence);
    format!(
        "You are the {} for git-omk. Do not modify any file; only read.\n\nGoal: {goal_text}\n\nThe change (a git diff \
         from the base to the result):\n\n{diff}\n\n{measured}{focus}\n\nReply with your findings as one JSON block, and nothing \
         after it:\n```json\n{{\"findings\": [{{\"severity\": \"high|medium|low|info\", \"file\": \"path/in/repo\", \
         \"line\": 12, \"message\": \"what is wrong and why\"}}]}}\n```\nUse \"high\" only for a defect that makes the \
         change wrong or unsafe to merge. An empty list means you found nothing.\n",
        role.as_str()
    )
}

/// The test evidence as a prompt section (empty without evidence), bounded in lines and line length.
fn measured_section(evidence: &[String]) -> String {
    if evidence.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "What git-omk measured by running the project's gates on the base and on the result (tests by id; \
         a removed, renamed, skipped or deselected test and a changed test harness are listed here even when the \
         diff hides them):\n",
    );
    for line in evidence.iter().take(MAX_EVIDENCE_LINES) {
        let shown: String = line.chars().take(MAX_EVIDENCE_LINE).collect();
        let _ = writeln!(out, "- {}", shown.replace('\n', " "));
    }
    if evidence.len() > MAX_EVIDENCE_LINES {
        let _ = writeln!(out, "- … and {} more", evidence.len() - MAX_EVIDENCE_LINES);
    }
    out.push('\n');
    out
}

/// The repair prompt after an unusable review answer.
pub fn review_repair(problem: &str) -> String {
    format!(
        "Your answer could not be used: {problem}. Reply again with only the JSON block:\n```json\n{{\"findings\": []}}\n```\n\
         with one entry per finding (severity, file, line, message)."
    )
}

#[cfg(test)]
mod review_tests {
    use super::*;

    #[test]
    fn the_reviewer_is_asked_whether_tests_were_gamed_and_to_call_it_high() {
        let prompt = review(ReviewRole::Reviewer, "Fix add", "diff", &[]);
        for needle in [
            "weakened",
            "removed",
            "skipped",
            "made to pass without fixing the behaviour",
            "conftest.py",
            "exercise what the goal asks for",
            "Any of these is a \"high\" finding",
        ] {
            assert!(prompt.contains(needle), "{needle}: {prompt}");
        }
        assert!(!prompt.contains("What git-omk measured"), "{prompt}");
    }

    #[test]
    fn the_reviewer_sees_the_measured_test_evidence_bounded() {
        let evidence = vec![
            "removed: tests/test_calc.py::test_add: deleted, renamed or deselected".to_owned(),
            "test harness added: conftest.py (pytest hooks and fixtures (conftest.py))".to_owned(),
            format!("broken: {}\nforged line", "x".repeat(1000)),
        ];
        let prompt = review(ReviewRole::Reviewer, "Fix add", "diff", &evidence);
        assert!(prompt.contains("What git-omk measured"), "{prompt}");
        assert!(
            prompt.contains("- removed: tests/test_calc.py::test_add: deleted, renamed or deselected\n"),
            "{prompt}"
        );
        assert!(prompt.contains("- test harness added: conftest.py"), "{prompt}");
        assert!(!prompt.contains(&"x".repeat(400)), "one line is bounded");
        assert!(!prompt.contains("\nforged line"), "one line stays one line");
        let many: Vec<String> = (0..100).map(|i| format!("removed: t{i}")).collect();
        let prompt = review(ReviewRole::Reviewer, "Fix add", "diff", &many);
        assert!(prompt.contains("- removed: t59\n") && !prompt.contains("- removed: t60\n"));
        assert!(prompt.contains("… and 40 more"), "{prompt}");
    }
}
