//! The GitHub workflows git-omk ships for users' repositories (`git omk ci install`) and the decisions
//! of the step they run on pull requests (`git omk ci verify-pr`): which files to write, which goal a
//! pull request names, and the "git-omk proof" check run that says whether its proof still holds.
//!
//! The workflow files are this project's own `.github/workflows/omk-*.yml`, embedded at build time, so
//! what is checked by actionlint here is exactly what users get. Pure: no I/O.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::delivery::markdown::{cell, short};
use super::ids::GoalId;

/// The name of the check run the verify step publishes (and a gated merge waits for).
pub const CHECK_NAME: &str = "git-omk proof";

/// Where the verify workflow lives in a repository: its presence in the delivered tree makes a gated
/// merge wait for [`CHECK_NAME`].
pub const VERIFY_PATH: &str = ".github/workflows/omk-verify.yml";

/// Where the run workflow lives in a repository.
pub const RUN_PATH: &str = ".github/workflows/omk-run.yml";

/// One workflow file git-omk can install.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workflow {
    /// Short name (`verify`, `run`).
    pub name: &'static str,
    /// Path in the repository.
    pub path: &'static str,
    /// The file's text.
    pub text: &'static str,
}

/// The `omk-verify` workflow: re-verifies a goal's proof on pull requests and publishes the check run.
pub const VERIFY: Workflow = Workflow {
    name: "verify",
    path: VERIFY_PATH,
    text: include_str!("../../.github/workflows/omk-verify.yml"),
};

/// The `omk-run` workflow: runs a goal on a runner (workflow_dispatch).
pub const RUN: Workflow = Workflow {
    name: "run",
    path: RUN_PATH,
    text: include_str!("../../.github/workflows/omk-run.yml"),
};

/// The workflows asked for: `--verify`, `--run`, or both when neither is given.
pub fn selected(verify: bool, run: bool) -> Vec<Workflow> {
    match (verify, run) {
        (true, false) => vec![VERIFY],
        (false, true) => vec![RUN],
        _ => vec![VERIFY, RUN],
    }
}

/// What `ci install` does with one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileAction {
    /// It does not exist: write it.
    Create,
    /// It already says exactly this.
    Unchanged,
    /// It differs and `--force` was given: overwrite it.
    Replace,
    /// It differs (someone changed it): leave it, and write nothing at all.
    Refuse,
}

/// Decide what to do with `workflow` given the file's current bytes (`None`: no such file).
pub fn plan_file(workflow: &Workflow, existing: Option<&[u8]>, force: bool) -> FileAction {
    match existing {
        None => FileAction::Create,
        Some(bytes) if bytes == workflow.text.as_bytes() => FileAction::Unchanged,
        Some(_) if force => FileAction::Replace,
        Some(_) => FileAction::Refuse,
    }
}

/// The goal a pull request's head branch names: `omk/<goal>/integration`.
pub fn goal_of_head_ref(head_ref: &str) -> Option<GoalId> {
    let head_ref = head_ref.trim();
    let head_ref = head_ref.strip_prefix("refs/heads/").unwrap_or(head_ref);
    let id = head_ref.strip_prefix("omk/")?.strip_suffix("/integration")?;
    GoalId::parse(id).ok()
}

/// What the verify step reads of a `pull_request` event (`$GITHUB_EVENT_PATH`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequestEvent {
    /// The PR number.
    pub number: u64,
    /// Its head branch.
    pub head_ref: String,
    /// Its head commit.
    pub head_sha: String,
}

/// Read a GitHub `pull_request` (or `pull_request_review`) event payload.
pub fn parse_pull_request_event(json: &str) -> Result<PullRequestEvent, String> {
    #[derive(Deserialize)]
    struct Event {
        pull_request: Option<Pull>,
    }
    #[derive(Deserialize)]
    struct Pull {
        number: u64,
        head: Head,
    }
    #[derive(Deserialize)]
    struct Head {
        #[serde(rename = "ref")]
        ref_name: String,
        sha: String,
    }
    let event: Event = serde_json::from_str(json).map_err(|e| format!("not a GitHub event payload: {e}"))?;
    let pull = event
        .pull_request
        .ok_or_else(|| "the event is not about a pull request".to_owned())?;
    Ok(PullRequestEvent {
        number: pull.number,
        head_ref: pull.head.ref_name,
        head_sha: pull.head.sha,
    })
}

/// Whether a string is a full hexadecimal commit id.
pub fn is_commit_id(sha: &str) -> bool {
    matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What the verify step found, as far as the check run tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofCheckInput {
    /// The goal.
    pub goal: String,
    /// The PR head the check is about.
    pub head_sha: String,
    /// The commit the recorded proof proves (`None`: no proof is recorded).
    pub proven: Option<String>,
    /// The goal commit that recorded the proof.
    pub proof_commit: Option<String>,
    /// The gates run again here (`None`: not run, because the head is not the proven commit or there
    /// is nothing to verify).
    pub rerun: Option<Rerun>,
    /// Why the goal could not be verified at all (not fetched, no result), if so.
    pub problem: Option<String>,
}

/// The fresh verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rerun {
    /// The proof's status with the fresh evidence (`ready`, `not_ready`).
    pub status: String,
    /// Why not ready, in words.
    pub reasons: Vec<String>,
    /// Gate name, required, passed.
    pub gates: Vec<(String, bool, bool)>,
}

/// Check run conclusions used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// The proof holds on the head.
    Success,
    /// It does not.
    Failure,
}

impl Conclusion {
    /// GitHub's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Success => "success",
            Conclusion::Failure => "failure",
        }
    }
}

/// The check run to publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProofCheck {
    /// Success only when the head is the proven commit and the proof is `ready` again here.
    pub conclusion: Conclusion,
    /// One line.
    pub title: String,
    /// Markdown.
    pub summary: String,
}

/// Decide the check run from what the verify step found.
pub fn proof_check(input: &ProofCheckInput) -> ProofCheck {
    let (conclusion, title) = verdict(input);
    ProofCheck {
        conclusion,
        title,
        summary: summary(input, conclusion),
    }
}

fn verdict(input: &ProofCheckInput) -> (Conclusion, String) {
    if let Some(problem) = &input.problem {
        return (Conclusion::Failure, format!("Not verified: {problem}"));
    }
    match (&input.proven, &input.rerun) {
        (None, _) => (
            Conclusion::Failure,
            format!("Goal {} has no recorded proof", input.goal),
        ),
        (Some(proven), _) if *proven != input.head_sha => (
            Conclusion::Failure,
            format!(
                "The head {} is not the proven commit {}",
                short(&input.head_sha),
                short(proven)
            ),
        ),
        (Some(_), Some(rerun)) if rerun.status == "ready" => (
            Conclusion::Success,
            format!("Proof holds: ready at {}", short(&input.head_sha)),
        ),
        (Some(_), Some(rerun)) => (
            Conclusion::Failure,
            format!("Proof does not hold here: {}", rerun.status),
        ),
        (Some(_), None) => (Conclusion::Failure, "The gates were not run".to_owned()),
    }
}

fn summary(input: &ProofCheckInput, conclusion: Conclusion) -> String {
    let mut out = String::new();
    let word = match conclusion {
        Conclusion::Success => "holds",
        Conclusion::Failure => "does not hold",
    };
    let _ = writeln!(
        out,
        "The proof of goal `{}` **{word}** on this head.\n",
        input.goal
    );
    let _ = writeln!(out, "- PR head: `{}`", input.head_sha);
    let proven = input.proven.as_deref().unwrap_or("none recorded");
    let _ = writeln!(out, "- proven commit: `{proven}`");
    if let Some(commit) = &input.proof_commit {
        let _ = writeln!(out, "- proof commit: `{commit}`");
    }
    if let Some(problem) = &input.problem {
        let _ = writeln!(out, "\n{problem}");
    }
    if input.proven.as_ref().is_some_and(|p| *p != input.head_sha) {
        let _ = writeln!(
            out,
            "\nThe head was changed after the goal proved its result: the proof does not cover what would be merged. Run the goal again (`git omk goal resume {}`) or verify the new head with a new goal.",
            input.goal
        );
    }
    if let Some(rerun) = &input.rerun {
        rerun_summary(&mut out, rerun);
    }
    let _ = writeln!(
        out,
        "\nVerify it yourself: `git fetch origin 'refs/omk/goals/{0}:refs/omk/goals/{0}' && git omk goal verify {0}`",
        input.goal
    );
    out
}

fn rerun_summary(out: &mut String, rerun: &Rerun) {
    let _ = writeln!(
        out,
        "\nGates run again on the proven tree: status `{}`.\n",
        rerun.status
    );
    if !rerun.gates.is_empty() {
        let _ = writeln!(out, "| gate | required | result |\n|---|---|---|");
        for (name, required, passed) in &rerun.gates {
            let required = if *required { "yes" } else { "no" };
            let result = if *passed { "passed" } else { "failed" };
            let _ = writeln!(out, "| {} | {required} | {result} |", cell(name));
        }
    }
    for reason in &rerun.reasons {
        let _ = writeln!(out, "- {reason}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
    const OTHER: &str = "89abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_shipped_workflows_pin_this_version_and_run_the_verify_step() {
        let pin = format!("GIT_OMK_VERSION: \"{}\"", env!("CARGO_PKG_VERSION"));
        for workflow in [VERIFY, RUN] {
            assert!(workflow.text.contains(&pin), "{} pins {pin}", workflow.path);
        }
        assert!(VERIFY.text.contains("run: git omk ci verify-pr"));
        assert!(VERIFY.text.contains("checks: write"));
        assert!(RUN.text.contains("--until-ready --policy auto-pr"));
    }

    #[test]
    fn install_plans() {
        assert_eq!(plan_file(&VERIFY, None, false), FileAction::Create);
        assert_eq!(
            plan_file(&VERIFY, Some(VERIFY.text.as_bytes()), false),
            FileAction::Unchanged
        );
        assert_eq!(plan_file(&VERIFY, Some(b"edited"), false), FileAction::Refuse);
        assert_eq!(plan_file(&VERIFY, Some(b"edited"), true), FileAction::Replace);
        assert_eq!(selected(false, false), vec![VERIFY, RUN]);
        assert_eq!(selected(true, false), vec![VERIFY]);
        assert_eq!(selected(false, true), vec![RUN]);
        assert_eq!(selected(true, true), vec![VERIFY, RUN]);
    }

    #[test]
    fn head_refs_name_goals() {
        let id = "20261122-101500-3fa9c01b";
        for form in [
            format!("omk/{id}/integration"),
            format!("refs/heads/omk/{id}/integration"),
        ] {
            assert_eq!(
                goal_of_head_ref(&form).map(|g| g.to_string()),
                Some(id.to_owned())
            );
        }
        for other in [
            "main",
            "omk/x/integration",
            &format!("omk/{id}/tasks/t1"),
            &format!("omk/{id}/integration/x"),
        ] {
            assert_eq!(goal_of_head_ref(other), None, "{other}");
        }
    }

    #[test]
    fn events_are_read_for_their_pull_request() {
        let json = format!(
            r#"{{"action":"synchronize","number":7,"pull_request":{{"number":7,"head":{{"ref":"omk/x/integration","sha":"{SHA}"}},"base":{{"ref":"main"}}}}}}"#
        );
        let event = parse_pull_request_event(&json).unwrap();
        assert_eq!(
            (event.number, event.head_ref.as_str(), event.head_sha.as_str()),
            (7, "omk/x/integration", SHA)
        );
        assert!(parse_pull_request_event(r#"{"ref":"refs/heads/main"}"#).is_err());
        assert!(parse_pull_request_event("nope").is_err());
        assert!(is_commit_id(SHA) && !is_commit_id("abc") && !is_commit_id(&"g".repeat(40)));
    }

    fn input(proven: Option<&str>, rerun: Option<Rerun>) -> ProofCheckInput {
        ProofCheckInput {
            goal: "g".into(),
            head_sha: SHA.into(),
            proven: proven.map(str::to_owned),
            proof_commit: Some(OTHER.into()),
            rerun,
            problem: None,
        }
    }

    fn rerun(status: &str) -> Rerun {
        Rerun {
            status: status.into(),
            reasons: if status == "ready" {
                vec![]
            } else {
                vec!["required gate `pytest` failed".into()]
            },
            gates: vec![("pytest".into(), true, status == "ready")],
        }
    }

    #[test]
    fn the_check_succeeds_only_on_the_proven_head_with_a_ready_rerun() {
        let ok = proof_check(&input(Some(SHA), Some(rerun("ready"))));
        assert_eq!(ok.conclusion, Conclusion::Success, "{ok:?}");
        assert!(ok.summary.contains("| pytest | yes | passed |"), "{}", ok.summary);

        let moved = proof_check(&input(Some(OTHER), None));
        assert_eq!(moved.conclusion, Conclusion::Failure);
        assert!(
            moved.title.contains("is not the proven commit"),
            "{}",
            moved.title
        );
        assert!(
            moved.summary.contains("changed after the goal proved"),
            "{}",
            moved.summary
        );

        let red = proof_check(&input(Some(SHA), Some(rerun("not_ready"))));
        assert_eq!(red.conclusion, Conclusion::Failure);
        assert!(red.summary.contains("required gate `pytest` failed"));

        assert_eq!(proof_check(&input(None, None)).conclusion, Conclusion::Failure);
        let mut missing = input(Some(SHA), None);
        missing.problem = Some("goal g was not fetched".into());
        let check = proof_check(&missing);
        assert_eq!(check.conclusion, Conclusion::Failure);
        assert!(check.title.contains("was not fetched"));
    }
}
