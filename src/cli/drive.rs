//! Commands that drive a goal (`run --until-ready`, `execute`, `resume`): progress on stderr while the
//! controller works, then the outcome on stdout, and the status's exit code.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::deliver::{delivery_exit_code, merge_text};
use super::error::CliError;
use super::json::{self, DeliveryView, GoalStatusView, IntegrationView, Location, PhaseView, TaskView};
use super::progress::Progress;
use super::render::{budget_line, emit, note, short};
use crate::model::event::Event;
use crate::model::snapshot::Snapshot;
use crate::model::status::GoalStatus;
use crate::ops::deliver::{self, PolicyDelivery};
use crate::ops::drive::Observer;
use crate::ops::execute;
use crate::ops::plan::PlanRequest;
use crate::ops::{Context, OpsError};
use crate::store::GoalRef;

/// `goal run --until-ready`.
pub fn run_until_ready(
    ctx: Context,
    request: PlanRequest,
    verbose: bool,
    as_json: bool,
) -> Result<i32, CliError> {
    driven(ctx, verbose, as_json, |ctx, observe| {
        execute::run_until_ready(ctx, request, observe)
    })
}

/// `goal execute`.
pub fn execute(ctx: Context, query: Option<&str>, verbose: bool, as_json: bool) -> Result<i32, CliError> {
    driven(ctx, verbose, as_json, |ctx, observe| {
        execute::execute(ctx, query, observe)
    })
}

/// `goal resume`.
pub fn resume(ctx: Context, query: Option<&str>, verbose: bool, as_json: bool) -> Result<i32, CliError> {
    driven(ctx, verbose, as_json, |ctx, observe| {
        execute::resume(ctx, query, observe)
    })
}

/// Drive with progress on stderr, then report the recorded outcome.
fn driven(
    ctx: Context,
    verbose: bool,
    as_json: bool,
    work: impl FnOnce(Context, Observer<'_>) -> Result<(GoalRef, GoalStatus), OpsError>,
) -> Result<i32, CliError> {
    let dir = repo_dir(&ctx)?;
    let mut progress = Progress::new(verbose);
    let mut observe = |s: &Snapshot, e: &[Event]| progress.observe(s, e);
    let outcome = work(ctx, &mut observe);
    progress.finish();
    let (goal, _) = outcome?;
    let ctx = Context::open(&dir)?;
    let delivered = deliver::deliver_per_policy(&ctx, &goal, &deliver::connect);
    let code = report_with(&ctx, &goal, as_json)?;
    match delivered {
        Ok(done) => {
            delivery_notes(&done);
            Ok(code)
        }
        Err(OpsError::Delivery(e)) => {
            note(&format!("git omk: delivery failed (recorded in the goal): {e}\n"));
            Ok(delivery_exit_code(&e))
        }
        Err(e) => Err(e.into()),
    }
}

/// What delivery did, on stderr (the goal's JSON carries it too).
fn delivery_notes(done: &PolicyDelivery) {
    if let Some(pr) = done.pr.as_ref().and_then(|o| o.pr.as_ref()) {
        let verb = if pr.created { "opened" } else { "updated" };
        note(&format!("git omk: {verb} PR #{}: {}\n", pr.number, pr.url));
    }
    if let Some(m) = &done.merge {
        note(&format!("git omk: {}", merge_text(m)));
    }
}

fn repo_dir(ctx: &Context) -> Result<PathBuf, CliError> {
    ctx.store
        .workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| CliError::Usage("the repository has no work tree".to_owned()))
}

/// `goal resume --auto`: exit code of the worst outcome (0 when nothing needed resuming).
pub fn resume_auto(ctx: Context, verbose: bool, as_json: bool) -> Result<i32, CliError> {
    let dir = repo_dir(&ctx)?;
    let mut progress = Progress::new(verbose);
    let mut observe = |s: &Snapshot, e: &[Event]| progress.observe(s, e);
    let outcome = execute::resume_auto(ctx, &mut observe);
    progress.finish();
    let done = outcome?;
    let mut code = 0;
    let ctx = Context::open(&dir)?;
    for (goal, status) in &done {
        code = code.max(status.exit_code());
        report_with(&ctx, goal, as_json)?;
    }
    if done.is_empty() && !as_json {
        emit("no goal of this repository needs resuming\n")?;
    }
    Ok(code)
}

/// The outcome of a driven goal, read back from the store (what was recorded is what is reported).
fn report_with(ctx: &Context, goal: &GoalRef, as_json: bool) -> Result<i32, CliError> {
    let loaded = ctx.load(goal)?;
    let s = &loaded.snapshot;
    let out = if as_json {
        json::document(&DrivenView {
            location: Location::of(goal),
            tip: loaded.tip.to_string(),
            status: GoalStatusView::of(s.goal.status()),
            phase: PhaseView::of(s.goal.phase()),
            title: s.goal.title(),
            stop_reason: s.goal.stop_reason(),
            integration: s.goal.integration().map(IntegrationView::of),
            delivery: DeliveryView::of(s.goal.delivery()),
            tasks: s.tasks.tasks.iter().map(TaskView::of).collect(),
        })
    } else {
        text(goal, &loaded.tip.to_string(), s)
    };
    emit(&out)?;
    Ok(exit_code(s.goal.status()))
}

fn exit_code(status: GoalStatus) -> i32 {
    status.exit_code()
}

fn text(goal: &GoalRef, tip: &str, s: &Snapshot) -> String {
    let g = &s.goal;
    let mut out = format!("goal {goal}: {} · {}\n  {}\n", g.status(), g.phase(), g.title());
    if let Some(reason) = &g.stop_reason() {
        out.push_str(&format!("  {reason}\n"));
    }
    if let Some(i) = &g.integration() {
        out.push_str(&format!("  result: branch {} at {}\n", i.branch, short(i.commit)));
    }
    for t in &s.tasks.tasks {
        out.push_str(&format!(
            "  {} [{}] {} attempt(s){}\n",
            t.id,
            t.status.as_str(),
            t.attempts.len(),
            t.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default()
        ));
    }
    out.push_str(&format!(
        "  budget: {}\n  goal commit {}\n",
        budget_line(g.limits(), g.usage()),
        short(tip)
    ));
    out
}

/// JSON outcome of a driven goal.
#[derive(Serialize)]
struct DrivenView<'a> {
    #[serde(flatten)]
    location: Location,
    tip: String,
    status: GoalStatusView,
    phase: PhaseView,
    title: &'a str,
    stop_reason: Option<&'a str>,
    integration: Option<IntegrationView<'a>>,
    delivery: DeliveryView<'a>,
    tasks: Vec<TaskView<'a>>,
}
