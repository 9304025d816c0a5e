//! `git omk remote setup`, `git omk sync` and `git omk goal release`: arguments → one `ops` call →
//! render (DESIGN §8). No decisions here.

use std::fmt::Write as _;
use std::path::Path;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::error::{CliError, EXIT_FAILED};
use super::json::{self, GoalStatusView, LeaseView, LocalChangeView, Location, RefspecKindView};
use super::render::{emit, short};
use crate::git::push::RefOutcome;
use crate::model::sharing::Refspec;
use crate::ops::Context;
use crate::ops::release::{Released, release as release_lease};
use crate::ops::remote::{SetupReport, SetupRequest, config_key, setup};
use crate::ops::sync::{LocalChange, SyncReport, SyncRequest, sync as sync_goals};
use crate::store::GoalRef;

/// `git omk remote …`
#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Configure a remote so plain `git fetch` brings goals and `git push` sends them (never forced).
    Setup(RemoteSetupArgs),
}

/// `remote setup`.
#[derive(Debug, Args)]
pub struct RemoteSetupArgs {
    /// The remote (default: the upstream remote of the current branch, else origin).
    #[arg(value_name = "REMOTE")]
    pub remote: Option<String>,
    /// Remove exactly the refspecs an earlier setup added.
    #[arg(long)]
    pub undo: bool,
    /// Configure fetching only; leave the remote's push refspecs alone.
    #[arg(long, conflicts_with = "undo")]
    pub fetch_only: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The remote (default: the upstream remote of the current branch, else origin).
    #[arg(value_name = "REMOTE")]
    pub remote: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `goal release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL")]
    pub goal: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run one `remote` subcommand in `dir`.
pub fn remote(dir: &Path, command: RemoteCommand) -> Result<i32, CliError> {
    let RemoteCommand::Setup(args) = command;
    let ctx = Context::open(dir)?;
    let request = SetupRequest {
        remote: args.remote,
        undo: args.undo,
        fetch_only: args.fetch_only,
    };
    let report = setup(&ctx, &request)?;
    let out = if args.json {
        json::document(&SetupView::of(&report))
    } else {
        setup_text(&report)
    };
    emit(&out)?;
    Ok(0)
}

/// `git omk sync`: 0 when everything was synced, 6 when a goal or the push failed.
pub fn sync(dir: &Path, args: SyncArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let report = sync_goals(&ctx, &SyncRequest { remote: args.remote })?;
    let out = if args.json {
        json::document(&SyncView::of(&report))
    } else {
        sync_text(&report)
    };
    emit(&out)?;
    let failed = !report.problems.is_empty() || report.push_error.is_some();
    Ok(if failed { EXIT_FAILED } else { 0 })
}

/// `git omk goal release`.
pub fn release(dir: &Path, args: ReleaseArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let released = release_lease(&ctx, args.goal.as_deref())?;
    let out = if args.json {
        json::document(&ReleaseView::of(&released))
    } else {
        release_text(&released)
    };
    emit(&out)?;
    Ok(0)
}

fn setup_text(r: &SetupReport) -> String {
    let mut out = String::new();
    let line = |out: &mut String, verb: &str, refspec: &Refspec| {
        let key = config_key(&r.remote, refspec.kind);
        let _ = writeln!(out, "{verb} {key} {}\n    {}", refspec.value, refspec.why);
    };
    for refspec in &r.added {
        line(&mut out, "added  ", refspec);
    }
    for refspec in &r.present {
        line(&mut out, "present", refspec);
    }
    for refspec in &r.removed {
        line(&mut out, "removed", refspec);
    }
    let summary = match (r.undo, r.added.is_empty(), r.removed.is_empty()) {
        (true, _, true) => format!("remote {}: nothing to undo", r.remote),
        (true, _, false) => format!("remote {}: removed what `git omk remote setup` added", r.remote),
        (false, true, _) => format!("remote {}: already set up; nothing changed", r.remote),
        (false, false, _) => format!(
            "remote {}: set up; `git fetch {0}` now brings goals (undo with `git omk remote setup --undo {0}`)",
            r.remote
        ),
    };
    let _ = writeln!(out, "{summary}");
    out
}

fn sync_text(r: &SyncReport) -> String {
    let mut out = String::new();
    for g in &r.changed {
        let mut what: Vec<&str> = Vec::new();
        what.extend(g.local.map(local_text));
        what.extend(g.pushed.as_ref().map(pushed_text));
        let status = g.status.map_or("?", |s| s.as_str());
        let _ = writeln!(
            out,
            "{}  {:<24} {} · {status} · {}",
            g.id,
            what.join(", "),
            short(g.tip),
            g.title
        );
    }
    for p in &r.problems {
        let _ = writeln!(out, "{}  not synced: {}", p.id, p.message);
    }
    let count = |f: &dyn Fn(&LocalChange) -> bool| {
        r.changed
            .iter()
            .filter(|g| g.local.as_ref().is_some_and(f))
            .count()
    };
    let pushed = r.changed.iter().filter(|g| g.pushed.is_some()).count();
    let _ = writeln!(
        out,
        "{}: {} goal(s): {} new here, {} fast-forwarded, {} merged, {} pushed ({} round(s))",
        r.remote,
        r.goals,
        count(&|c| *c == LocalChange::Created),
        count(&|c| *c == LocalChange::FastForwarded),
        count(&|c| *c == LocalChange::Merged),
        pushed,
        r.rounds
    );
    if let Some(e) = &r.push_error {
        let _ = writeln!(
            out,
            "push failed: {e}\nlocal goals are up to date with what was fetched; nothing was forced: run `git omk sync {}` again",
            r.remote
        );
    }
    out
}

fn local_text(c: LocalChange) -> &'static str {
    match c {
        LocalChange::Created => "new here",
        LocalChange::FastForwarded => "fast-forwarded",
        LocalChange::Merged => "merged",
    }
}

fn pushed_text(o: &RefOutcome) -> &'static str {
    match o {
        RefOutcome::Created => "pushed (new)",
        RefOutcome::Updated => "pushed",
        RefOutcome::UpToDate => "up to date",
    }
}

fn release_text(r: &Released) -> String {
    match (&r.lease, &r.commit) {
        (Some(lease), Some(commit)) => format!(
            "released goal {}: the lease of {} pid {} is free; any machine can drive the goal now (sync to share it)\n  commit {}\n",
            r.goal,
            lease.host,
            lease.pid,
            short(commit)
        ),
        _ => format!(
            "goal {}: no controller holds a lease; nothing to release\n",
            r.goal
        ),
    }
}

/// `remote setup --json`.
#[derive(Serialize)]
struct SetupView<'a> {
    remote: &'a str,
    undo: bool,
    added: Vec<RefspecView<'a>>,
    removed: Vec<RefspecView<'a>>,
    present: Vec<RefspecView<'a>>,
}

/// One refspec in `remote setup --json`.
#[derive(Serialize)]
struct RefspecView<'a> {
    key: String,
    kind: RefspecKindView,
    value: &'a str,
    why: &'a str,
}

impl<'a> SetupView<'a> {
    fn of(r: &'a SetupReport) -> SetupView<'a> {
        let views = |list: &'a [Refspec]| {
            list.iter()
                .map(|s| RefspecView {
                    key: config_key(&r.remote, s.kind),
                    kind: RefspecKindView::of(s.kind),
                    value: &s.value,
                    why: &s.why,
                })
                .collect()
        };
        SetupView {
            remote: &r.remote,
            undo: r.undo,
            added: views(&r.added),
            removed: views(&r.removed),
            present: views(&r.present),
        }
    }
}

/// `sync --json`.
#[derive(Serialize)]
struct SyncView<'a> {
    remote: &'a str,
    rounds: u32,
    goals: usize,
    changed: Vec<SyncItem<'a>>,
    problems: Vec<ProblemView<'a>>,
    push_error: Option<&'a str>,
}

/// One goal in `sync --json`.
#[derive(Serialize)]
struct SyncItem<'a> {
    #[serde(flatten)]
    location: Location,
    local: Option<LocalChangeView>,
    pushed: Option<&'static str>,
    tip: String,
    status: Option<GoalStatusView>,
    title: &'a str,
}

/// A goal sync could not reconcile.
#[derive(Serialize)]
struct ProblemView<'a> {
    id: String,
    message: &'a str,
}

impl<'a> SyncView<'a> {
    fn of(r: &'a SyncReport) -> SyncView<'a> {
        SyncView {
            remote: &r.remote,
            rounds: r.rounds,
            goals: r.goals,
            changed: r
                .changed
                .iter()
                .map(|g| SyncItem {
                    location: Location::of(&GoalRef::Local(g.id.clone())),
                    local: g.local.map(LocalChangeView::of),
                    pushed: g.pushed.as_ref().map(|o| match o {
                        RefOutcome::Created => "created",
                        RefOutcome::Updated => "updated",
                        RefOutcome::UpToDate => "up_to_date",
                    }),
                    tip: g.tip.to_string(),
                    status: g.status.map(GoalStatusView::of),
                    title: &g.title,
                })
                .collect(),
            problems: r
                .problems
                .iter()
                .map(|p| ProblemView {
                    id: p.id.to_string(),
                    message: &p.message,
                })
                .collect(),
            push_error: r.push_error.as_deref(),
        }
    }
}

/// `goal release --json`.
#[derive(Serialize)]
struct ReleaseView<'a> {
    #[serde(flatten)]
    location: Location,
    released: Option<LeaseView<'a>>,
    commit: Option<String>,
}

impl<'a> ReleaseView<'a> {
    fn of(r: &'a Released) -> ReleaseView<'a> {
        ReleaseView {
            location: Location::of(&r.goal),
            released: r.lease.as_ref().map(LeaseView::of),
            commit: r.commit.map(|c| c.to_string()),
        }
    }
}
