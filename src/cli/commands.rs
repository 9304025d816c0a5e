//! Thin commands: arguments → options → one `ops` call → render. No decisions here.

use std::io::Read;
use std::path::Path;

use super::args::{
    AcceptArgs, AnswerArgs, ArchiveArgs, BudgetAddArgs, ControlArgs, Format, GoalCommand, PlanArgs,
    RejectArgs, ReplayArgs, ResumeArgs, RunArgs, ShowArgs, StatusArgs,
};
use super::deliver;
use super::drive;
use super::error::CliError;
use super::json::{
    self, BudgetDoc, BudgetView, DecisionView, GoalKindView, GoalStatusView, GoalView, LastEventView,
    LeaseView, Location, PhaseView, PlanView, ProofView, ReadinessView, RecordedView, ReplayItem, ReplayView,
    ShowView, StatusView, TaskSpend, TaskView, VerifyGoalView, VerifyView,
};
use super::render::emit;
use super::sharing;
use super::text;
use crate::model::budget::BudgetAddition;
use crate::model::control::ControlRequest;
use crate::model::goal::Blocker;
use crate::model::options::{RoleAgents, RunOptions};
use crate::model::proof::readiness;
use crate::model::snapshot::Snapshot;
use crate::model::status::GoalStatus;
use crate::model::task::TaskStatus;
use crate::model::text::{MAX_GOAL_BYTES, MAX_NOTE_BYTES, normalise};
use crate::ops::Context;
use crate::ops::answer::answer as answer_questions;
use crate::ops::control::{Controlled, archive as archive_goals, control};
use crate::ops::deliver::proof_commit;
use crate::ops::gc as ops_gc;
use crate::ops::plan::{PlanRequest, create};
use crate::ops::replay;
use crate::ops::review_goal::review_goal;
use crate::ops::runtime::block_on;
use crate::ops::verify as ops_verify;
use crate::store::GoalRef;

/// Run one `goal` subcommand in `dir`; returns the exit code.
pub fn goal(dir: &Path, command: GoalCommand, verbose: bool) -> Result<i32, CliError> {
    match command {
        GoalCommand::Run(args) => run(dir, args, verbose),
        GoalCommand::Plan(args) => plan(dir, args),
        GoalCommand::List(args) => super::list::list(dir, args),
        GoalCommand::Status(args) => status(dir, args),
        GoalCommand::Show(args) => show(dir, args),
        GoalCommand::Proof(args) => proof(dir, args),
        GoalCommand::Verify(args) => verify(dir, args),
        GoalCommand::Review(args) => review(dir, args),
        GoalCommand::Replay(args) => replay(dir, args),
        GoalCommand::Budget(args) => budget(dir, args),
        GoalCommand::BudgetAdd(args) => budget_add(dir, args),
        GoalCommand::Pause(args) => simple(dir, args, |reason| ControlRequest::Pause { reason }, "paused"),
        GoalCommand::Resume(args) => resume(dir, args, verbose),
        GoalCommand::Execute(args) => execute(dir, args, verbose),
        GoalCommand::Cancel(args) => {
            simple(dir, args, |reason| ControlRequest::Cancel { reason }, "cancelled")
        }
        GoalCommand::Answer(args) => answer(dir, args),
        GoalCommand::Log(args) => super::log::log(dir, args),
        GoalCommand::Accept(args) => accept(dir, args),
        GoalCommand::Reject(args) => reject(dir, args),
        GoalCommand::OpenPr(args) => deliver::open_pr(dir, args),
        GoalCommand::Merge(args) => deliver::merge(dir, args),
        GoalCommand::AddressReviews(args) => deliver::address_reviews(dir, args, verbose),
        GoalCommand::Release(args) => sharing::release(dir, args),
        GoalCommand::Archive(args) => archive(dir, args, true),
        GoalCommand::Unarchive(args) => archive(dir, args, false),
        GoalCommand::Watch(args) => super::watch::watch(dir, args),
    }
}

fn run(dir: &Path, args: RunArgs, verbose: bool) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let defaults = configured_options(&ctx);
    let flags = RoleAgents {
        all: None,
        task: args.agent,
        planner: args.planner_agent,
        reviewer: args.reviewer_agent,
    };
    let max_agents = args.max_agents.unwrap_or(defaults.max_agents);
    let mut limits = defaults.limits;
    limits.time_secs = args.budget_time.map(|d| d.as_secs().max(1)).or(limits.time_secs);
    limits.tokens = args.budget_tokens;
    limits.usd_micros = args.budget_usd;
    let options = RunOptions {
        limits,
        max_agents,
        agent: defaults.agent,
        planner_agent: None,
        reviewer_agent: None,
        delivery: args.policy.unwrap_or(defaults.delivery),
        merge: args.merge_policy.unwrap_or(defaults.merge),
        llm_planner: !args.no_llm_planner,
        planner_token_budget: args.planner_token_budget,
        until_ready: args.until_ready,
        slice_prs: args.slice_prs || defaults.slice_prs,
    }
    .with_agents(flags, &ctx.settings.agents);
    if args.until_ready {
        let text = goal_text(&args.plan.goal)?;
        let request = PlanRequest {
            text,
            options,
            base_rev: args.plan.base,
        };
        return drive::run_until_ready(ctx, request, verbose, args.plan.json);
    }
    plan_with(&ctx, args.plan, options)
}

fn resume(dir: &Path, args: ResumeArgs, verbose: bool) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    if args.auto {
        return drive::resume_auto(ctx, verbose, args.json);
    }
    if args.no_run {
        let done = control(&ctx, args.goal.as_deref(), ControlRequest::Resume)?;
        return report(&done, args.json, "resumed");
    }
    drive::resume(ctx, args.goal.as_deref(), verbose, args.json)
}

fn execute(dir: &Path, args: StatusArgs, verbose: bool) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    drive::execute(ctx, args.goal.as_deref(), verbose, args.json)
}

fn plan(dir: &Path, args: PlanArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let options = configured_options(&ctx);
    plan_with(&ctx, args, options)
}

/// The options of a goal when the command line gives none: the configured ones (`omk.agent…`,
/// `omk.maxAgents`), else the defaults.
fn configured_options(ctx: &Context) -> RunOptions {
    let defaults = RunOptions::default();
    RunOptions {
        max_agents: ctx.settings.max_agents.unwrap_or(defaults.max_agents),
        slice_prs: ctx.settings.slice_prs,
        ..defaults
    }
    .with_agents(RoleAgents::default(), &ctx.settings.agents)
}

fn plan_with(ctx: &Context, args: PlanArgs, options: RunOptions) -> Result<i32, CliError> {
    let text = goal_text(&args.goal)?;
    let created = create(
        ctx,
        PlanRequest {
            text,
            options,
            base_rev: args.base,
        },
    )?;
    let commit = created.commit.to_string();
    let out = if args.json {
        json::document(&recorded_view(&created.goal, &commit, &created.snapshot))
    } else {
        text::planned(&created.goal, &commit, &created.snapshot)
    };
    emit(&out)?;
    Ok(created.snapshot.goal.status().exit_code())
}

/// The goal text: the argument, or stdin for `-` (read bounded, so a huge input cannot exhaust memory).
fn goal_text(arg: &str) -> Result<String, CliError> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_GOAL_BYTES as u64 + 1)
        .read_to_end(&mut buf)?;
    if buf.len() > MAX_GOAL_BYTES {
        return Err(CliError::Usage(format!(
            "the goal read from stdin is longer than {MAX_GOAL_BYTES} bytes: put the details in a file in the \
             repository and refer to it"
        )));
    }
    String::from_utf8(buf)
        .map_err(|_| CliError::Usage("the goal read from stdin is not UTF-8 text".to_owned()))
}

fn recorded_view<'a>(goal: &GoalRef, commit: &str, snapshot: &'a Snapshot) -> RecordedView<'a> {
    recorded_view_with(goal, commit, snapshot, Vec::new())
}

fn recorded_view_with<'a>(
    goal: &GoalRef,
    commit: &str,
    snapshot: &'a Snapshot,
    events: Vec<&'a str>,
) -> RecordedView<'a> {
    let g = &snapshot.goal;
    let questions = g
        .blockers()
        .iter()
        .flat_map(|b| match b {
            Blocker::Questions { questions } | Blocker::ReviewQuestions { questions } => {
                questions.iter().map(String::as_str).collect()
            }
            Blocker::Rejected { .. } => Vec::new(),
        })
        .collect();
    RecordedView {
        location: Location::of(goal),
        commit: commit.to_owned(),
        status: GoalStatusView::of(g.status()),
        phase: PhaseView::of(g.phase()),
        title: g.title(),
        kind: g.kind().map(GoalKindView::of),
        events,
        questions,
        tasks: snapshot.tasks.tasks.iter().map(TaskView::of).collect(),
    }
}

fn status(dir: &Path, args: StatusArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let goal = ctx.resolve(args.goal.as_deref())?;
    let loaded = ctx.load(&goal)?;
    let s = &loaded.snapshot;
    let out = if args.json {
        json::document(&StatusView {
            location: Location::of(&goal),
            title: s.goal.title(),
            status: GoalStatusView::of(s.goal.status()),
            phase: PhaseView::of(s.goal.phase()),
            tasks: json::TaskCounts::of(s),
            running_tasks: s
                .tasks
                .tasks
                .iter()
                .filter(|t| t.status == TaskStatus::Running)
                .map(|t| t.id.as_str())
                .collect(),
            budget: BudgetView::of(&s.goal),
            lease: s.goal.lease().map(LeaseView::of),
            last_event: s.goal.last_event().map(LastEventView::of),
            tip: loaded.tip.to_string(),
        })
    } else {
        text::status(&goal, s, ctx.clock.now())
    };
    emit(&out)?;
    Ok(0)
}

fn show(dir: &Path, args: ShowArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let goal = ctx.resolve(args.goal.as_deref())?;
    let loaded = ctx.load(&goal)?;
    let (s, tip) = (&loaded.snapshot, loaded.tip.to_string());
    let out = match args.format() {
        Format::Json => json::document(&ShowView {
            location: Location::of(&goal),
            tip: tip.clone(),
            goal: GoalView::of(&s.goal),
            tasks: s.tasks.tasks.iter().map(TaskView::of).collect(),
            decisions: s.decisions.iter().map(DecisionView::of).collect(),
            plan: s.plan.as_ref().map(PlanView::of),
        }),
        Format::Md => text::show_md(&goal, &tip, s),
        Format::Text => text::show(&goal, &tip, s, ctx.clock.now()),
    };
    emit(&out)?;
    Ok(0)
}

fn proof(dir: &Path, args: ShowArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let goal = ctx.resolve(args.goal.as_deref())?;
    let loaded = ctx.load(&goal)?;
    let verdict = readiness(&loaded.snapshot);
    let recorded = loaded.snapshot.proof.as_ref();
    let commit = match recorded {
        Some(_) => proof_commit(&ctx, &goal)?.map(|c| c.to_string()),
        None => None,
    };
    let out = match (args.format(), recorded) {
        (Format::Json, _) => json::document(&ProofView {
            location: Location::of(&goal),
            recorded: recorded.is_some(),
            proof_commit: commit,
            readiness: ReadinessView::of(&verdict),
            proof: recorded,
        }),
        (Format::Md, Some(p)) => text::proof_md(&verdict, p, commit.as_deref()),
        (f, _) => text::proof(&goal, &verdict, recorded, commit.as_deref(), f == Format::Md),
    };
    emit(&out)?;
    Ok(if verdict.status == GoalStatus::Ready { 0 } else { 1 })
}

pub(super) fn verify(dir: &Path, args: StatusArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let report = ops_verify::verify(&ctx, args.goal.as_deref())?;
    let out = if args.json {
        json::document(&VerifyGoalView::of(&report))
    } else {
        text::verify_goal(&report)
    };
    emit(&out)?;
    Ok(if report.holds() { 0 } else { 1 })
}

fn review(dir: &Path, args: StatusArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let done = review_goal(&ctx, args.goal.as_deref())?;
    let commit = done.commit.to_string();
    let out = if args.json {
        let kinds = vec!["review_recorded", "usage_added", "proof_recorded"];
        json::document(&recorded_view_with(&done.goal, &commit, &done.snapshot, kinds))
    } else {
        text::recorded(&done.goal, &commit, &done.snapshot, "reviewed")
    };
    emit(&out)?;
    Ok(if done.snapshot.goal.status() == GoalStatus::Ready {
        0
    } else {
        1
    })
}

fn replay(dir: &Path, args: ReplayArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let goal = ctx.resolve(args.show.goal.as_deref())?;
    let format = args.show.format();
    if args.verify {
        let report = replay::verify(&ctx, &goal)?;
        let ok = report.divergence.is_none();
        let out = match format {
            Format::Json => json::document(&VerifyView::of(Location::of(&goal), &report)),
            _ => text::verify(&goal, &report),
        };
        emit(&out)?;
        return Ok(if ok { 0 } else { 1 });
    }
    let entries = replay::timeline(&ctx, &goal)?;
    let out = match format {
        Format::Json => json::document(&ReplayView {
            location: Location::of(&goal),
            events: entries.iter().map(ReplayItem::of).collect(),
        }),
        f => text::timeline(&goal, &entries, f == Format::Md),
    };
    emit(&out)?;
    Ok(0)
}

fn budget(dir: &Path, args: ShowArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let goal = ctx.resolve(args.goal.as_deref())?;
    let loaded = ctx.load(&goal)?;
    let s = &loaded.snapshot;
    let out = match args.format() {
        Format::Json => json::document(&BudgetDoc {
            location: Location::of(&goal),
            budget: BudgetView::of(&s.goal),
            tasks: s.tasks.tasks.iter().map(TaskSpend::of).collect(),
        }),
        f => text::budget(&goal, s, f == Format::Md),
    };
    emit(&out)?;
    Ok(0)
}

fn budget_add(dir: &Path, args: BudgetAddArgs) -> Result<i32, CliError> {
    let addition =
        BudgetAddition::new(args.time, args.tokens, args.usd).map_err(|e| CliError::Usage(e.to_string()))?;
    let ctx = Context::open(dir)?;
    let done = control(&ctx, args.goal.as_deref(), ControlRequest::BudgetAdd(addition))?;
    report(&done, args.json, "budget raised on")
}

fn simple(
    dir: &Path,
    args: ControlArgs,
    request: impl FnOnce(Option<String>) -> ControlRequest,
    verb: &str,
) -> Result<i32, CliError> {
    let reason = args
        .reason
        .as_deref()
        .map(|r| note_text("reason", r))
        .transpose()?;
    let ctx = Context::open(dir)?;
    let done = control(&ctx, args.goal.as_deref(), request(reason))?;
    report(&done, args.json, verb)
}

fn answer(dir: &Path, args: AnswerArgs) -> Result<i32, CliError> {
    let text = goal_text(&args.answer)?;
    let ctx = Context::open(dir)?;
    let done = answer_questions(&ctx, Some(&args.goal), &text)?;
    let commit = done.commit.to_string();
    let out = if args.json {
        let kinds = done.events.iter().map(|e| e.body.kind_name()).collect();
        json::document(&recorded_view_with(&done.goal, &commit, &done.snapshot, kinds))
    } else {
        text::answered(&done.goal, &commit, &done.snapshot)
    };
    emit(&out)?;
    Ok(done.snapshot.goal.status().exit_code())
}

fn accept(dir: &Path, args: AcceptArgs) -> Result<i32, CliError> {
    let summary = note_text("summary", &args.summary)?;
    let ctx = Context::open(dir)?;
    let request = ControlRequest::Accept {
        summary,
        task: args.task,
    };
    let done = control(&ctx, args.goal.as_deref(), request)?;
    report(&done, args.json, "accepted")
}

fn reject(dir: &Path, args: RejectArgs) -> Result<i32, CliError> {
    let reason = note_text("reason", &args.reason)?;
    let ctx = Context::open(dir)?;
    let done = control(&ctx, args.goal.as_deref(), ControlRequest::Reject { reason })?;
    report(&done, args.json, "rejected")
}

fn note_text(field: &'static str, raw: &str) -> Result<String, CliError> {
    normalise(field, raw, MAX_NOTE_BYTES).map_err(|e| CliError::Usage(e.to_string()))
}

/// `goal archive` / `goal unarchive`: every goal named, or none when one of them cannot be.
fn archive(dir: &Path, args: ArchiveArgs, hide: bool) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let done = archive_goals(&ctx, &args.goals, hide)?;
    let verb = if hide { "archived" } else { "unarchived" };
    let out = if args.json {
        let commits: Vec<String> = done.iter().map(|d| d.commit.to_string()).collect();
        let goals = done
            .iter()
            .zip(&commits)
            .map(|(d, commit)| {
                let kinds = d.events.iter().map(|e| e.body.kind_name()).collect();
                recorded_view_with(&d.goal, commit, &d.snapshot, kinds)
            })
            .collect();
        json::document(&json::RecordedList { goals })
    } else {
        done.iter()
            .map(|d| text::recorded(&d.goal, &d.commit.to_string(), &d.snapshot, verb))
            .collect()
    };
    emit(&out)?;
    Ok(0)
}

fn report(done: &Controlled, as_json: bool, verb: &str) -> Result<i32, CliError> {
    let commit = done.commit.to_string();
    let out = if as_json {
        let kinds = done.events.iter().map(|e| e.body.kind_name()).collect();
        json::document(&recorded_view_with(&done.goal, &commit, &done.snapshot, kinds))
    } else {
        text::recorded(&done.goal, &commit, &done.snapshot, verb)
    };
    emit(&out)?;
    Ok(0)
}

/// `git omk gc`.
pub fn gc(dir: &Path, as_json: bool) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let report = block_on(ops_gc::gc(&ctx))?;
    let out = if as_json {
        json::document(&report)
    } else {
        let mut out = format!(
            "removed {} worktree(s), deleted {} task branch(es), saved {} piece(s) of work\n",
            report.removed_worktrees.len(),
            report.deleted_branches.len(),
            report.saved.len()
        );
        for (path, why) in &report.kept_worktrees {
            out.push_str(&format!("kept {path}: {why}\n"));
        }
        out.push_str(&format!(
            "worktrees use {} bytes (quota {})\n",
            report.bytes_after, report.quota
        ));
        out
    };
    emit(&out)?;
    Ok(0)
}
