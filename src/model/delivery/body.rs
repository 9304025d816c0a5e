//! The pull request text: title and body rendered from the proof facts (DESIGN §9).
//!
//! Owns the layout of the PR body: summary, proof verdict with a link to the proof commit, gates table
//! before/after, tasks, changed files, known gaps, decisions, what is missing, and the exact commands to
//! fetch and verify the goal. Everything shown comes from `ProofFacts`; nothing is inferred. Pure.

use std::fmt::Write as _;

use super::facts::{ProofFacts, TaskRow};
use super::markdown::{cell, code, short, truncate_to};

/// GitHub refuses bodies over 65 536 characters; stay well below.
pub const MAX_BODY_CHARS: usize = 60_000;
/// Most rows of one table before the rest is summarised.
const MAX_ROWS: usize = 100;
/// Most items of one bullet list before the rest is summarised.
const MAX_ITEMS: usize = 40;

/// A hidden marker that identifies a body written by git-omk.
pub const BODY_MARKER: &str = "<!-- git-omk:pr-body -->";

/// Where the goal lives, for links and commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrContext<'a> {
    /// The proof facts.
    pub facts: &'a ProofFacts,
    /// The goal ref (`refs/omk/goals/<id>`).
    pub goal_ref: &'a str,
    /// The repository's web address (`html_url`); `None` when unknown (dry run without a guess).
    pub html_url: Option<&'a str>,
    /// The address `git fetch` uses (`clone_url`), or the remote name when unknown.
    pub fetch_from: &'a str,
    /// The commit the PR delivers (the integration branch tip), when known.
    pub head: Option<&'a str>,
    /// The slice PRs it integrates, one line each (`--slice-prs`; empty otherwise).
    pub slices: &'a [String],
}

/// The PR title: the goal's title.
pub fn pr_title(facts: &ProofFacts) -> String {
    let title = facts.title.trim();
    if title.is_empty() {
        format!("git-omk goal {}", facts.goal_id)
    } else {
        title.to_owned()
    }
}

/// `<html_url>/commit/<sha>`.
pub fn commit_url(html_url: &str, sha: &str) -> String {
    format!("{}/commit/{sha}", html_url.trim_end_matches('/'))
}

/// The whole PR body.
pub fn pr_body(ctx: &PrContext<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{BODY_MARKER}");
    summary(&mut out, ctx);
    verdict(&mut out, ctx);
    gates(&mut out, ctx.facts);
    if !ctx.facts.tests.is_empty() {
        bullets(&mut out, "Tests", &ctx.facts.tests, "");
    }
    tasks(&mut out, &ctx.facts.tasks);
    if !ctx.slices.is_empty() {
        bullets(&mut out, "Slice PRs", ctx.slices, "");
    }
    changed_files(&mut out, ctx.facts);
    bullets(&mut out, "Known gaps", &ctx.facts.gaps, "none recorded");
    bullets(&mut out, "Decisions", &ctx.facts.decisions, "none recorded");
    if !ctx.facts.missing.is_empty() {
        bullets(&mut out, "Missing evidence", &ctx.facts.missing, "");
    }
    let tail = verify_commands(ctx);
    let mut out = truncate_to(out, MAX_BODY_CHARS.saturating_sub(tail.chars().count()));
    out.push_str(&tail);
    out
}

fn summary(out: &mut String, ctx: &PrContext<'_>) {
    let _ = writeln!(out, "## Summary\n\n{}\n", ctx.facts.summary.trim());
}

/// The proof line: status, proof commit link, proven commit, and a warning when the head differs.
pub fn proof_line(ctx: &PrContext<'_>) -> String {
    let f = ctx.facts;
    let mut line = format!("**Proof:** {}", code(f.status.as_str()));
    match (&f.proof_commit, ctx.html_url) {
        (Some(sha), Some(html)) => {
            let _ = write!(
                line,
                " · proof commit [{}]({})",
                code(&short(sha)),
                commit_url(html, sha)
            );
        }
        (Some(sha), None) => {
            let _ = write!(line, " · proof commit {}", code(&short(sha)));
        }
        (None, _) => line.push_str(" · proof commit: _missing (no proof is recorded yet)_"),
    }
    match &f.proven_commit {
        Some(sha) => {
            let _ = write!(line, " · proven commit {}", code(&short(sha)));
        }
        None => line.push_str(" · proven commit: _missing_"),
    }
    line
}

fn verdict(out: &mut String, ctx: &PrContext<'_>) {
    let f = ctx.facts;
    let _ = writeln!(out, "{}\n", proof_line(ctx));
    if let (Some(head), Some(proven)) = (ctx.head, &f.proven_commit)
        && head != proven
    {
        let _ = writeln!(
            out,
            "> **Warning:** this PR delivers {} but the proof covers {}: the proof does not hold for this head.\n",
            code(&short(head)),
            code(&short(proven))
        );
    }
    if !f.reasons.is_empty() {
        let _ = writeln!(out, "Not ready because:\n");
        for reason in f.reasons.iter().take(MAX_ITEMS) {
            let _ = writeln!(out, "- {}", reason.trim());
        }
        out.push('\n');
    }
}

fn gates(out: &mut String, f: &ProofFacts) {
    let _ = writeln!(out, "## Gates\n");
    if f.gates.is_empty() {
        let _ = writeln!(out, "_Missing: no gate evidence is recorded._\n");
        return;
    }
    let _ = writeln!(out, "| gate | required | before | after |\n|---|---|---|---|");
    for g in f.gates.iter().take(MAX_ROWS) {
        let required = if g.required { "yes" } else { "no" };
        let _ = writeln!(
            out,
            "| {} | {required} | {} | {} |",
            cell(&g.name),
            g.before.as_str(),
            g.after.as_str()
        );
    }
    more(out, f.gates.len(), MAX_ROWS, "gates");
}

fn tasks(out: &mut String, tasks: &[TaskRow]) {
    let _ = writeln!(out, "## Tasks\n");
    if tasks.is_empty() {
        let _ = writeln!(out, "_No tasks are recorded._\n");
        return;
    }
    let _ = writeln!(out, "| task | title | status | attempts |\n|---|---|---|---|");
    for t in tasks.iter().take(MAX_ROWS) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            code(&t.id),
            cell(&t.title),
            t.status,
            t.attempts
        );
    }
    more(out, tasks.len(), MAX_ROWS, "tasks");
}

fn changed_files(out: &mut String, f: &ProofFacts) {
    let _ = writeln!(out, "## Changed files\n");
    if f.changed_files.is_empty() {
        let _ = writeln!(out, "_Missing: no diff stat is recorded._\n");
        return;
    }
    let _ = writeln!(out, "| file | + | - |\n|---|---:|---:|");
    let stat = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
    for c in f.changed_files.iter().take(MAX_ROWS) {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            code(&c.path),
            stat(c.additions),
            stat(c.deletions)
        );
    }
    more(out, f.changed_files.len(), MAX_ROWS, "files");
}

fn bullets(out: &mut String, heading: &str, items: &[String], empty: &str) {
    let _ = writeln!(out, "## {heading}\n");
    if items.is_empty() {
        let _ = writeln!(out, "_{empty}_\n");
        return;
    }
    for item in items.iter().take(MAX_ITEMS) {
        let _ = writeln!(out, "- {}", cell(item));
    }
    if items.len() > MAX_ITEMS {
        let _ = writeln!(out, "- … and {} more", items.len() - MAX_ITEMS);
    }
    out.push('\n');
}

fn more(out: &mut String, total: usize, shown: usize, what: &str) {
    if total > shown {
        let _ = writeln!(out, "\n_… and {} more {what}._", total - shown);
    }
    out.push('\n');
}

/// The exact commands that fetch the goal and re-run its gates on the proven tree.
pub fn fetch_and_verify(goal_ref: &str, goal_id: &str, fetch_from: &str) -> [String; 2] {
    [
        format!("git fetch {fetch_from} '{goal_ref}:{goal_ref}'"),
        format!("git omk goal verify {goal_id}"),
    ]
}

fn verify_commands(ctx: &PrContext<'_>) -> String {
    let mut out = String::new();
    let id = &ctx.facts.goal_id;
    let [fetch, verify] = fetch_and_verify(ctx.goal_ref, id, ctx.fetch_from);
    let _ = writeln!(
        out,
        "## Verify it yourself\n\nFetch the goal (its history, evidence and the proven code) and re-run its gates \
         on the proven tree:\n\n```sh\n{fetch}\n{verify}\n```\n\nOr let every `git fetch` bring goals:\n\n```sh\n\
         git omk remote setup origin\ngit fetch origin\n{verify}\n```\n"
    );
    let _ = writeln!(out, "---\n_Delivered by git-omk from goal {}._", code(id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::delivery::facts::{ChangedFile, GateResult, GateRow};
    use crate::model::status::GoalStatus;

    pub(crate) fn ready_facts() -> ProofFacts {
        ProofFacts {
            goal_id: "20261122-031142-3fa9c01b".into(),
            title: "Fix the off-by-one in slugify".into(),
            summary: "Fix the off-by-one in slugify".into(),
            status: GoalStatus::Ready,
            reasons: vec![],
            proof_commit: Some("a".repeat(40)),
            proven_commit: Some("b".repeat(40)),
            proven_tree: Some("c".repeat(40)),
            base_commit: "d".repeat(40),
            tests: vec!["tests/test_calc.py::test_add: failed on the base, passes now".into(), "removed: tests/test_calc.py::test_add_zero: did not run (deleted, renamed, deselected or filtered out)".into()],
            gates: vec![GateRow {
                name: "cargo test".into(),
                required: true,
                before: GateResult::Failed,
                after: GateResult::Passed,
            }],
            tasks: vec![TaskRow {
                id: "fix-slugify".into(),
                title: "Fix | the bug".into(),
                status: "done".into(),
                attempts: 2,
            }],
            changed_files: vec![ChangedFile {
                path: "src/slugify.rs".into(),
                additions: Some(3),
                deletions: Some(1),
            }],
            gaps: vec!["no benchmark".into()],
            decisions: vec!["planning: heuristic planner (no LLM)".into()],
            missing: vec![],
        }
    }

    fn ctx(f: &ProofFacts, head: Option<&'static str>) -> String {
        pr_body(&PrContext {
            facts: f,
            goal_ref: "refs/omk/goals/20261122-031142-3fa9c01b",
            html_url: Some("https://github.com/o/r/"),
            fetch_from: "https://github.com/o/r.git",
            head,
            slices: &[],
        })
    }

    #[test]
    fn body_has_every_section_and_the_proof_link() {
        let f = ready_facts();
        let body = ctx(&f, None);
        for section in [
            "## Summary",
            "## Gates",
            "## Tests",
            "## Tasks",
            "## Changed files",
            "## Known gaps",
            "## Decisions",
            "## Verify it yourself",
        ] {
            assert!(body.contains(section), "{section} missing in\n{body}");
        }
        let link = format!("https://github.com/o/r/commit/{}", "a".repeat(40));
        assert!(body.contains(&link), "{body}");
        assert!(body.contains("| cargo test | yes | FAIL | pass |"), "{body}");
        assert!(body.contains("Fix \\| the bug"), "pipes are escaped: {body}");
        assert!(
            body.contains("- tests/test_calc.py::test_add: failed on the base, passes now\n"),
            "the tests in words: {body}"
        );
        assert!(
            body.contains("- removed: tests/test_calc.py::test_add_zero: "),
            "{body}"
        );
        assert!(body.contains(
            "git fetch https://github.com/o/r.git 'refs/omk/goals/20261122-031142-3fa9c01b:refs/omk/goals/20261122-031142-3fa9c01b'"
        ));
        assert!(body.contains("git omk goal verify 20261122-031142-3fa9c01b"));
        assert!(!body.contains("Missing evidence"));
        assert!(body.starts_with(BODY_MARKER));
    }

    #[test]
    fn missing_inputs_are_named_never_guessed() {
        let mut f = ready_facts();
        f.status = GoalStatus::NotReady;
        f.reasons = vec!["no gate evidence is recorded for the result".into()];
        f.proof_commit = None;
        f.proven_commit = None;
        f.gates.clear();
        f.changed_files.clear();
        f.missing = vec!["proof commit".into()];
        let body = ctx(&f, Some("eeee"));
        assert!(body.contains("`not_ready`"));
        assert!(body.contains("proof commit: _missing"));
        assert!(body.contains("_Missing: no gate evidence is recorded._"));
        assert!(body.contains("## Missing evidence"));
        assert!(body.contains("Not ready because:"));
        assert!(!body.contains("/commit/"), "no link without a proof commit");
    }

    #[test]
    fn a_head_other_than_the_proven_commit_is_flagged() {
        let f = ready_facts();
        let body = ctx(&f, Some("ffffffffffffffffffff"));
        assert!(body.contains("the proof does not hold for this head"), "{body}");
        let proven = "b".repeat(40);
        let same = pr_body(&PrContext {
            facts: &f,
            goal_ref: "refs/omk/goals/x",
            html_url: None,
            fetch_from: "origin",
            head: Some(&proven),
            slices: &[],
        });
        assert!(!same.contains("does not hold"));
    }

    #[test]
    fn huge_inputs_stay_under_the_github_limit() {
        let mut f = ready_facts();
        f.summary = "word ".repeat(20_000);
        f.changed_files = (0..5000)
            .map(|i| ChangedFile {
                path: format!("src/file{i}.rs"),
                additions: Some(1),
                deletions: None,
            })
            .collect();
        let body = ctx(&f, None);
        assert!(body.chars().count() <= MAX_BODY_CHARS, "{}", body.len());
        assert!(body.contains("truncated"));
        assert!(
            body.contains("git omk goal verify"),
            "the commands survive truncation"
        );
    }
}
