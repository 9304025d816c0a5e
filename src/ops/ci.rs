//! `ci install` and `ci verify-pr`: GitHub Actions for users' repositories (DESIGN §9).
//!
//! `install` writes the workflows git-omk ships into the repository's work tree for review, and never
//! overwrites a file someone changed unless told to (then nothing is written at all). `verify_pr` is the
//! step the `omk-verify` workflow runs on a goal's pull request: it finds the goal the head branch names,
//! runs `goal verify` on it when the head is the proven commit, and publishes the "git-omk proof" check
//! run with the verdict. Decisions are `model::ci`'s; this module reads, writes and calls.

use std::path::{Path, PathBuf};

use super::deliver::{Connector, DeliveryError, proof_commit};
use super::verify::{VerifyReport, verify};
use super::{Context, OpsError};
use crate::forge::NewCheckRun;
use crate::model::ci::{
    self, CHECK_NAME, FileAction, ProofCheck, ProofCheckInput, PullRequestEvent, Rerun, Workflow,
};
use crate::model::ids::GoalId;
use crate::settings;

/// What `ci install` was asked.
#[derive(Clone, Copy, Debug, Default)]
pub struct InstallRequest {
    /// The `omk-verify` workflow.
    pub verify: bool,
    /// The `omk-run` workflow.
    pub run: bool,
    /// Overwrite files that differ.
    pub force: bool,
}

/// What `ci install` did.
#[derive(Clone, Debug)]
pub struct InstallReport {
    /// The work tree written into.
    pub root: PathBuf,
    /// Each workflow and what happened to its file.
    pub files: Vec<(Workflow, FileAction)>,
}

/// Write the selected workflows into the work tree of the repository at `ctx`. A file that exists with
/// other content is refused (nothing at all is written) unless `force`.
pub fn install(ctx: &Context, req: InstallRequest) -> Result<InstallReport, OpsError> {
    let root = ctx
        .store
        .workdir()
        .ok_or_else(|| {
            OpsError::Usage("this repository has no work tree to write the workflows into".into())
        })?
        .to_path_buf();
    let mut files = Vec::new();
    for workflow in ci::selected(req.verify, req.run) {
        let existing = read_existing(&root.join(workflow.path))?;
        files.push((workflow, ci::plan_file(&workflow, existing.as_deref(), req.force)));
    }
    let refused: Vec<&str> = files
        .iter()
        .filter(|(_, a)| *a == FileAction::Refuse)
        .map(|(w, _)| w.path)
        .collect();
    if !refused.is_empty() {
        return Err(OpsError::Usage(format!(
            "{} already exists with other content (changed by someone): nothing was written; review the difference, then run again with --force to replace it",
            refused.join(" and ")
        )));
    }
    for (workflow, action) in &files {
        if matches!(action, FileAction::Create | FileAction::Replace) {
            write_file(&root.join(workflow.path), workflow.text.as_bytes())?;
        }
    }
    Ok(InstallReport { root, files })
}

fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, OpsError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(OpsError::infrastructure(
            format!("cannot read {}", path.display()),
            e,
        )),
    }
}

/// Write through a temporary file and a rename, so a file is never left half written.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OpsError> {
    let fail = |e: std::io::Error| OpsError::infrastructure(format!("cannot write {}", path.display()), e);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension("yml.tmp");
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// What `ci verify-pr` was asked; what is not given comes from the `pull_request` event of the workflow
/// run (`$GITHUB_EVENT_PATH`).
#[derive(Clone, Debug, Default)]
pub struct VerifyPrRequest {
    /// The PR's head branch (`omk/<goal>/integration`).
    pub head_ref: Option<String>,
    /// The PR's head commit.
    pub head_sha: Option<String>,
}

/// What `ci verify-pr` found and published.
#[derive(Clone, Debug)]
pub struct VerifyPrReport {
    /// The goal the head branch names.
    pub goal: GoalId,
    /// The head commit the check run is about.
    pub head_sha: String,
    /// The check run published.
    pub check: ProofCheck,
    /// Its id on the forge.
    pub check_run_id: u64,
    /// The fresh verification, when the gates ran.
    pub verify: Option<VerifyReport>,
}

/// Run the verify step: find the goal, verify it on the head, publish the check run.
pub fn verify_pr(
    ctx: &Context,
    req: VerifyPrRequest,
    connect: &Connector<'_>,
) -> Result<VerifyPrReport, OpsError> {
    let event = pull_request(req)?;
    let goal = ci::goal_of_head_ref(&event.head_ref).ok_or_else(|| {
        OpsError::Usage(format!(
            "`{}` is not the integration branch of a goal (omk/<goal>/integration): nothing to verify",
            event.head_ref
        ))
    })?;
    if !ci::is_commit_id(&event.head_sha) {
        return Err(OpsError::Usage(format!(
            "`{}` is not a full commit id",
            event.head_sha
        )));
    }
    let (input, verified) = examine(ctx, &goal, &event.head_sha)?;
    let check = ci::proof_check(&input);
    let conn = connect(ctx).map_err(OpsError::from)?;
    let run = NewCheckRun {
        name: CHECK_NAME,
        head_sha: &event.head_sha,
        conclusion: check.conclusion.as_str(),
        title: &check.title,
        summary: &check.summary,
    };
    let check_run_id = conn
        .forge
        .create_check_run(&run)
        .map_err(|e| OpsError::from(DeliveryError::from(e)))?;
    Ok(VerifyPrReport {
        goal,
        head_sha: event.head_sha,
        check,
        check_run_id,
        verify: verified,
    })
}

/// The head branch and commit: the request's, else the workflow run's event.
fn pull_request(req: VerifyPrRequest) -> Result<PullRequestEvent, OpsError> {
    if let (Some(head_ref), Some(head_sha)) = (&req.head_ref, &req.head_sha) {
        return Ok(PullRequestEvent {
            number: 0,
            head_ref: head_ref.clone(),
            head_sha: head_sha.clone(),
        });
    }
    let Some(path) = settings::env("GITHUB_EVENT_PATH") else {
        return Err(OpsError::Usage(
            "give --head-ref and --head-sha, or run this in a pull_request workflow (GITHUB_EVENT_PATH)"
                .into(),
        ));
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| OpsError::Usage(format!("cannot read the workflow event {path}: {e}")))?;
    let mut event = ci::parse_pull_request_event(&text).map_err(OpsError::Usage)?;
    if let Some(head_ref) = req.head_ref {
        event.head_ref = head_ref;
    }
    if let Some(head_sha) = req.head_sha {
        event.head_sha = head_sha;
    }
    Ok(event)
}

/// What is known about the goal's proof on `head`; the gates run again only when `head` is the
/// proven commit (anything else fails without spending runner time).
fn examine(
    ctx: &Context,
    goal: &GoalId,
    head: &str,
) -> Result<(ProofCheckInput, Option<VerifyReport>), OpsError> {
    let mut input = ProofCheckInput {
        goal: goal.to_string(),
        head_sha: head.to_owned(),
        proven: None,
        proof_commit: None,
        rerun: None,
        problem: None,
    };
    let found = match ctx.resolve(Some(goal.as_str())) {
        Ok(found) => found,
        Err(OpsError::Resolve(e)) => {
            input.problem = Some(format!(
                "goal {goal} is not in this repository ({e}): fetch the goals first (`git omk remote setup origin && git fetch origin`)"
            ));
            return Ok((input, None));
        }
        Err(e) => return Err(e),
    };
    let snapshot = ctx.load(&found)?.snapshot;
    input.proven = snapshot
        .proof
        .as_ref()
        .and_then(|p| p.result.as_ref())
        .map(|r| r.commit.clone());
    input.proof_commit = proof_commit(ctx, &found)?.map(|c| c.to_string());
    if input.proven.as_deref() != Some(head) {
        return Ok((input, None));
    }
    match verify(ctx, Some(goal.as_str())) {
        Ok(report) => {
            input.rerun = Some(rerun_of(&report));
            Ok((input, Some(report)))
        }
        Err(OpsError::Usage(problem)) => {
            input.problem = Some(problem);
            Ok((input, None))
        }
        Err(e) => Err(e),
    }
}

fn rerun_of(report: &VerifyReport) -> Rerun {
    Rerun {
        status: report.proof.status.as_str().to_owned(),
        reasons: report.proof.reasons.iter().map(|r| r.describe()).collect(),
        gates: report
            .run
            .gates
            .iter()
            .map(|g| (g.name.clone(), g.required, g.outcome.passed()))
            .collect(),
    }
}
