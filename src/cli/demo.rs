//! `git omk demo`: a whole goal on a throwaway sample repository, to `ready`: plan, worktree, agent,
//! gates before and after, review, proof, the pull request rendered as a dry run, and `goal verify`;
//! then where the repository is and what to try next. `--serve-stand-in` is the stand-in agent's own
//! entry point (hidden: the demo runs it as an `exec:` agent).

use std::path::Path;

use super::args::{DemoArgs, OpenPrArgs, PrFormat, StatusArgs};
use super::commands::verify;
use super::deliver::open_pr;
use super::drive::run_until_ready;
use super::error::CliError;
use super::render::{emit, note};
use crate::git::run::git;
use crate::model::demo::GOAL;
use crate::model::options::RunOptions;
use crate::ops::Context;
use crate::ops::demo::{DemoAgent, choose_agent, create_sample, serve_stand_in};
use crate::ops::plan::PlanRequest;
use crate::settings;

/// Run the demo (or, with `--serve-stand-in`, one turn of the stand-in agent in `dir`).
pub fn demo(dir: &Path, args: DemoArgs, verbose: bool) -> Result<i32, CliError> {
    if args.serve_stand_in {
        let role = settings::env("OMK_ROLE");
        emit(&serve_stand_in(role.as_deref(), dir)?)?;
        return Ok(0);
    }
    let agent = choose_agent(args.agent, args.stand_in)?;
    let repo = create_sample(args.dir.as_deref())?;
    note(&format!(
        "git omk demo: a sample repository at {}\ngit omk demo: the agent: {}\n",
        repo.display(),
        agent.why
    ));
    remember_agent(&repo, &agent)?;
    let ctx = Context::open(&repo)?;
    let request = PlanRequest {
        text: GOAL.to_owned(),
        options: RunOptions {
            max_agents: 1,
            agent: agent.spec.clone(),
            until_ready: true,
            ..RunOptions::default()
        },
        base_rev: "HEAD".to_owned(),
    };
    emit(&format!("== git omk goal run \"{GOAL}\" --until-ready\n"))?;
    let code = run_until_ready(ctx, request, verbose, false)?;
    emit("\n== git omk goal open-pr --dry-run (the pull request git-omk would open)\n")?;
    open_pr(&repo, pr_dry_run())?;
    emit("\n== git omk goal verify (the gates again on the proven tree)\n")?;
    verify(
        &repo,
        StatusArgs {
            goal: None,
            json: false,
        },
    )?;
    emit(&next_steps(&repo, &agent))?;
    Ok(code)
}

/// The demo repository's `omk.agent`, so the commands it suggests use the same agent.
fn remember_agent(repo: &Path, agent: &DemoAgent) -> Result<(), CliError> {
    let spec = agent.spec.to_string();
    git(repo, &["config", "omk.agent", &spec]).map_err(|e| {
        CliError::Ops(crate::ops::OpsError::infrastructure(
            "setting omk.agent in the demo repository",
            e,
        ))
    })?;
    Ok(())
}

fn pr_dry_run() -> OpenPrArgs {
    OpenPrArgs {
        goal: None,
        dry_run: true,
        draft: false,
        base: None,
        slice_prs: false,
        format: PrFormat::Markdown,
        json: false,
    }
}

fn next_steps(repo: &Path, agent: &DemoAgent) -> String {
    let who = if agent.stand_in {
        "This run used git-omk's stand-in agent, not an AI model: it applied the sample's known fix. With \
         Kimi installed and configured, `git omk demo` uses it (or give --agent)."
            .to_owned()
    } else {
        format!("This run used {}.", agent.why)
    };
    format!(
        "\n== next\n{who}\nThe demo repository: {dir}\n  cd {dir}\n  git omk goal show            \
         # the whole goal: plan, tasks, attempts, gates, review\n  git omk goal proof -f md      \
         # the proof, as the PR links it\n  git omk goal replay           # the timeline from the goal's \
         history\n  git log --oneline --glob='refs/omk/goals/*'  # the goal is plain \
         git\n",
        dir = repo.display()
    )
}
