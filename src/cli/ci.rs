//! `git omk ci install` and `git omk ci verify-pr`: arguments → one `ops::ci` call → render.

use std::fmt::Write as _;
use std::path::Path;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::error::CliError;
use super::json::{self, ConclusionView, FileActionView};
use super::render::emit;
use crate::model::ci::{CHECK_NAME, Conclusion, FileAction};
use crate::model::status::GoalStatus;
use crate::ops::Context;
use crate::ops::ci::{InstallReport, InstallRequest, VerifyPrReport, VerifyPrRequest, install, verify_pr};
use crate::ops::deliver;

/// `git omk ci …`
#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Write the GitHub workflows that re-verify proofs on pull requests (omk-verify) and run goals on
    /// runners (omk-run) into this repository, for review (both unless --verify or --run).
    Install(InstallArgs),
    /// The step of the omk-verify workflow: verify the goal a pull request names on its head and publish
    /// the "git-omk proof" check run (exit 0 when the proof holds, 1 when not).
    VerifyPr(VerifyPrArgs),
}

/// `ci install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The omk-verify workflow.
    #[arg(long)]
    pub verify: bool,
    /// The omk-run workflow.
    #[arg(long)]
    pub run: bool,
    /// Replace a workflow file that differs from git-omk's.
    #[arg(long)]
    pub force: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `ci verify-pr`.
#[derive(Debug, Args)]
pub struct VerifyPrArgs {
    /// The pull request's head branch (default: from the workflow's event, GITHUB_EVENT_PATH).
    #[arg(long, value_name = "BRANCH")]
    pub head_ref: Option<String>,
    /// The pull request's head commit (default: from the workflow's event).
    #[arg(long, value_name = "SHA")]
    pub head_sha: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run one `ci` subcommand in `dir`.
pub fn ci(dir: &Path, command: CiCommand) -> Result<i32, CliError> {
    match command {
        CiCommand::Install(args) => install_command(dir, args),
        CiCommand::VerifyPr(args) => verify_pr_command(dir, args),
    }
}

fn install_command(dir: &Path, args: InstallArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let request = InstallRequest {
        verify: args.verify,
        run: args.run,
        force: args.force,
    };
    let report = install(&ctx, request)?;
    let out = if args.json {
        json::document(&InstallView::of(&report))
    } else {
        install_text(&report)
    };
    emit(&out)?;
    Ok(0)
}

fn action_word(action: FileAction) -> &'static str {
    match action {
        FileAction::Create => "written",
        FileAction::Unchanged => "unchanged",
        FileAction::Replace => "replaced",
        FileAction::Refuse => "refused",
    }
}

fn install_text(report: &InstallReport) -> String {
    let mut out = String::new();
    for (workflow, action) in &report.files {
        let _ = writeln!(out, "{}: {}", workflow.path, action_word(*action));
    }
    if report.files.iter().any(|(w, _)| w.name == "verify") {
        let _ = writeln!(
            out,
            "\nReview and commit the files. omk-verify publishes the check run \"{CHECK_NAME}\" on every goal's pull request: require it in branch protection; `git omk goal merge` under --merge-policy gated waits for it."
        );
    }
    if report.files.iter().any(|(w, _)| w.name == "run") {
        let _ = writeln!(
            out,
            "omk-run needs the secret KIMI_API_KEY and the variables KIMI_BASE_URL and KIMI_MODEL (and OMK_GITHUB_TOKEN so its PRs start other workflows); see the file's header."
        );
    }
    out
}

/// `ci install --json`.
#[derive(Serialize)]
struct InstallView<'a> {
    root: String,
    files: Vec<InstalledFile<'a>>,
}

#[derive(Serialize)]
struct InstalledFile<'a> {
    workflow: &'a str,
    path: &'a str,
    action: FileActionView,
}

impl<'a> InstallView<'a> {
    fn of(report: &'a InstallReport) -> InstallView<'a> {
        InstallView {
            root: report.root.display().to_string(),
            files: report
                .files
                .iter()
                .map(|(w, a)| InstalledFile {
                    workflow: w.name,
                    path: w.path,
                    action: FileActionView::of(*a),
                })
                .collect(),
        }
    }
}

fn verify_pr_command(dir: &Path, args: VerifyPrArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let request = VerifyPrRequest {
        head_ref: args.head_ref,
        head_sha: args.head_sha,
    };
    let report = verify_pr(&ctx, request, &deliver::connect_in_actions)?;
    let out = if args.json {
        json::document(&VerifyPrView::of(&report))
    } else {
        format!(
            "{}: {} ({})\n\n{}",
            CHECK_NAME,
            report.check.conclusion.as_str(),
            report.check.title,
            report.check.summary
        )
    };
    emit(&out)?;
    Ok(match report.check.conclusion {
        Conclusion::Success => 0,
        Conclusion::Failure => GoalStatus::NotReady.exit_code(),
    })
}

/// `ci verify-pr --json`.
#[derive(Serialize)]
struct VerifyPrView<'a> {
    goal: String,
    head_sha: &'a str,
    check_run: CheckRunView<'a>,
    verified: bool,
}

#[derive(Serialize)]
struct CheckRunView<'a> {
    id: u64,
    name: &'static str,
    conclusion: ConclusionView,
    title: &'a str,
    summary: &'a str,
}

impl<'a> VerifyPrView<'a> {
    fn of(report: &'a VerifyPrReport) -> VerifyPrView<'a> {
        VerifyPrView {
            goal: report.goal.to_string(),
            head_sha: &report.head_sha,
            check_run: CheckRunView {
                id: report.check_run_id,
                name: CHECK_NAME,
                conclusion: ConclusionView::of(report.check.conclusion),
                title: &report.check.title,
                summary: &report.check.summary,
            },
            verified: report.verify.is_some(),
        }
    }
}
