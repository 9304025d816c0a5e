//! One attempt at a task: prepare its worktree, run an agent turn under the task's policy (cancelled on
//! pause, budget or timeout), drop changes outside the write set, commit the rest on the task branch,
//! run the task's gates, and judge the result against the baseline.
//!
//! Returns a value; the driver records it. Never writes the goal.

use std::cell::Cell;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gix::ObjectId;
use tokio::sync::watch;

use super::{Context, integrity, preflight};
use crate::agent::transcript::Entry;
use crate::agent::{AgentError, AgentEvent, Launch, Session, SessionConfig, StopReason, TurnOutcome};
use crate::clock::Clock;
use crate::gate::{self, ExecOptions, GateReport, PlanOptions};
use crate::git::integrate::tree_of;
use crate::git::run::GitError;
use crate::git::worktree::{self, Checkout};
use crate::model::gate::compare::GateObservation;
use crate::model::ids::{CommitId, GoalId, TaskId, TreeId};
use crate::model::options::{AgentSpec, Role};
use crate::model::policy::Policy;
use crate::model::preflight::{InfraStop, infrastructure_stop};
use crate::model::retry::judge_attempt;
use crate::model::sandbox::Breach;
use crate::model::task::{AttemptOutcome, Task};
use crate::model::usage::{Cost, PriceTable, TokenUsage, cost};
use crate::store::live::Spool;

/// Everything one attempt needs, decided by the driver.
pub struct AttemptSpec {
    /// The goal.
    pub goal: GoalId,
    /// The task as recorded.
    pub task: Task,
    /// Attempt number.
    pub attempt: u32,
    /// The task's worktree.
    pub worktree: PathBuf,
    /// The task branch.
    pub branch: String,
    /// Where the branch starts when it does not exist yet.
    pub start_commit: CommitId,
    /// The prompt of this attempt.
    pub prompt: String,
    /// Gate results on the base, to judge against.
    pub baseline: Vec<GateObservation>,
    /// The agent.
    pub agent: AgentSpec,
    /// How to launch it.
    pub launch: Launch,
    /// Longest turn.
    pub turn_timeout: Duration,
    /// Commit with git-omk's identity (the user has none).
    pub fallback_identity: bool,
    /// The goal tip, for reusing gate evidence.
    pub goal_tip: ObjectId,
    /// Prices, for the session record.
    pub prices: PriceTable,
}

/// What an attempt produced.
pub struct AttemptResult {
    /// The task.
    pub task: TaskId,
    /// Attempt number.
    pub attempt: u32,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// The task branch's commit after the attempt.
    pub commit: Option<CommitId>,
    /// Its tree.
    pub tree: Option<TreeId>,
    /// Tokens of the attempt.
    pub usage: TokenUsage,
    /// Their cost.
    pub cost: Cost,
    /// The engine session id.
    pub session_id: Option<String>,
    /// Goal-tree files (session record, transcript, gate evidence).
    pub attachments: Vec<(String, Vec<u8>)>,
    /// The live session, kept for the next attempt.
    pub session: Option<Session>,
    /// The agent's final answer (where it may propose follow-up tasks).
    pub answer: String,
    /// The infrastructure failure that interrupted the attempt (its agent or a gate's tool is
    /// missing): the goal stops on it, and the attempt is not counted as the agent's failure.
    pub infrastructure: Option<InfraStop>,
}

/// Tokens the whole goal may still spend, shared by the attempts running in this process.
#[derive(Debug)]
pub struct TokenBudget {
    left: Cell<Option<u64>>,
    exhausted: Cell<bool>,
}

impl TokenBudget {
    /// A budget with `left` tokens (`None`: unlimited).
    pub fn new(left: Option<u64>) -> TokenBudget {
        TokenBudget {
            left: Cell::new(left),
            exhausted: Cell::new(false),
        }
    }

    /// Spend `tokens`; false once the budget is crossed.
    pub fn spend(&self, tokens: u64) -> bool {
        if let Some(left) = self.left.get() {
            let rest = left.saturating_sub(tokens);
            self.left.set(Some(rest));
            if tokens >= left {
                self.exhausted.set(true);
            }
        }
        !self.exhausted.get()
    }

    /// Whether some attempt crossed the budget.
    pub fn is_exhausted(&self) -> bool {
        self.exhausted.get()
    }
}

/// Why a running attempt should stop (`None` while it should go on).
pub type CancelReason = watch::Receiver<Option<String>>;

/// Run one attempt. Infrastructure problems become a failed attempt with the evidence.
pub async fn run_attempt(
    ctx: &Context,
    spec: AttemptSpec,
    session: Option<Session>,
    cancel: CancelReason,
    budget: Rc<TokenBudget>,
) -> AttemptResult {
    let mut result = AttemptResult {
        task: spec.task.id.clone(),
        attempt: spec.attempt,
        outcome: AttemptOutcome::Running,
        commit: None,
        tree: None,
        usage: TokenUsage::default(),
        cost: Cost::default(),
        session_id: None,
        attachments: Vec::new(),
        session: None,
        answer: String::new(),
        infrastructure: None,
    };
    match attempt(ctx, &spec, session, cancel, &budget, &mut result).await {
        Ok(outcome) => result.outcome = outcome,
        Err(evidence) => result.outcome = AttemptOutcome::Failed { evidence },
    }
    result
}

async fn attempt(
    ctx: &Context,
    spec: &AttemptSpec,
    session: Option<Session>,
    mut cancel: CancelReason,
    budget: &TokenBudget,
    result: &mut AttemptResult,
) -> Result<AttemptOutcome, String> {
    let repo_dir = repo_dir(ctx)?;
    let began = ctx.clock.now();
    let (checkout, start) = match prepare_worktree(&repo_dir, ctx.store.common_dir(), spec).await {
        Ok(prepared) => prepared,
        Err(problem) => {
            // The machine failed, not the agent: nothing ran.
            let stop = infrastructure_stop(&problem);
            let reason = stop.reason.clone();
            result.infrastructure = Some(stop);
            return Ok(AttemptOutcome::Interrupted { reason });
        }
    };
    timing(spec.task.id.as_str(), "worktree", began, ctx.clock.now());
    let began = ctx.clock.now();
    let mut session = match session {
        Some(s) => s,
        None => match start_session(spec, &checkout).await {
            Ok(session) => session,
            Err(evidence) => {
                return match agent_gone(ctx, spec, result) {
                    Some(reason) => Ok(AttemptOutcome::Interrupted { reason }),
                    None => Err(evidence),
                };
            }
        },
    };
    result.session_id = session.info().session_id.clone();
    let watch = ctx.sandbox().is_off().then(|| integrity::facts(ctx));
    let mut live = Spool::create(
        ctx.store.common_dir(),
        &spec.goal,
        &spec.task.id,
        spec.attempt,
        &spec.launch.known_secrets,
    );
    let turn = run_turn(&mut session, spec, &mut cancel, budget, &mut live).await;
    timing(spec.task.id.as_str(), "agent", began, ctx.clock.now());
    result
        .attachments
        .extend(session.attempt_files(&spec.task.id, spec.attempt, &spec.prices));
    let model = session.info().model.clone().or_else(|| spec.launch.model.clone());
    let (mut turn, interrupted) = match turn {
        Ok(t) => t,
        Err(e) => {
            session.shutdown().await;
            return Err(format!("the agent failed: {e}"));
        }
    };
    result.usage = turn.usage;
    result.answer = turn.text.clone();
    result.cost = cost(&spec.prices, model.as_deref(), &turn.usage);
    if let Some(before) = &watch {
        turn.breaches.extend(integrity::breaches(ctx, before));
        if turn
            .breaches
            .iter()
            .any(|b| matches!(b, Breach::RepositoryChanged { .. }))
        {
            // Unconfined, the agent changed the user's repository: commit nothing there, stop it.
            session.shutdown().await;
            return Err(turn.violation_evidence().unwrap_or_default());
        }
    }
    let violations: Vec<String> = turn.violations.iter().map(|v| v.path.clone()).collect();
    let evidence_of_violations = turn.violation_evidence();
    result.session = (!turn.agent_killed).then_some(session);
    let (commit, changed) = record_work(&checkout, &start, spec, &violations, interrupted.is_some()).await?;
    let tree = tree_of(&repo_dir, &commit).map_err(|e| e.to_string())?;
    result.tree = Some(TreeId::parse(&tree).map_err(|e| e.to_string())?);
    result.commit = Some(CommitId::parse(&commit).map_err(|e| e.to_string())?);
    if let Some(reason) = interrupted {
        return Ok(AttemptOutcome::Interrupted { reason });
    }
    if let Some(evidence) = evidence_of_violations {
        return Ok(AttemptOutcome::Failed { evidence });
    }
    if let StopReason::Failed { message } = &turn.stop {
        return Ok(AttemptOutcome::Failed {
            evidence: format!("the agent's turn failed: {message}"),
        });
    }
    judge(ctx, spec, &commit, changed, result).await
}

/// Create the worktree of the attempt `spec` and start its agent session there, before the attempt
/// is dispatched (while the base's gates run); `None` when either fails (the attempt then tries
/// again, and records why).
pub async fn start_early(ctx: &Context, spec: &AttemptSpec) -> Option<Session> {
    let repo_dir = repo_dir(ctx).ok()?;
    let began = ctx.clock.now();
    let (checkout, _) = prepare_worktree(&repo_dir, ctx.store.common_dir(), spec)
        .await
        .ok()?;
    timing(spec.task.id.as_str(), "worktree", began, ctx.clock.now());
    let work = start_session(spec, &checkout);
    let started = timed(ctx.clock.as_ref(), spec.task.id.as_str(), "agent-start", work).await;
    match started {
        Ok(session) => Some(session),
        Err(e) => {
            tracing::debug!(task = spec.task.id.as_str(), "agent not started early: {e}");
            None
        }
    }
}

/// A `debug` event on target `omk::timing` with when a step of an attempt (`subject`: the task) or of the
/// controller loop (the goal) started and how long it took (microseconds), for the controller
/// benchmark (`OMK_LOG=omk::timing=debug`).
pub(super) fn timing(subject: &str, step: &'static str, from: DateTime<Utc>, to: DateTime<Utc>) {
    tracing::debug!(
        target: "omk::timing",
        subject,
        step,
        start_us = from.timestamp_micros(),
        micros = (to - from).num_microseconds().unwrap_or(i64::MAX)
    );
}

/// Run `work` and log its timing (see [`timing`]).
pub(super) async fn timed<T>(
    clock: &dyn Clock,
    subject: &str,
    step: &'static str,
    work: impl Future<Output = T>,
) -> T {
    let began = clock.now();
    let out = work.await;
    timing(subject, step, began, clock.now());
    out
}

fn repo_dir(ctx: &Context) -> Result<PathBuf, String> {
    ctx.store
        .workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| "the repository has no work tree".to_owned())
}

/// Create or reuse the worktree; returns it and the commit the attempt starts from.
async fn prepare_worktree(
    repo_dir: &Path,
    common_dir: &Path,
    spec: &AttemptSpec,
) -> Result<(Checkout, String), String> {
    let (repo_dir, common_dir, path, branch, start) = (
        repo_dir.to_path_buf(),
        common_dir.to_path_buf(),
        spec.worktree.clone(),
        spec.branch.clone(),
        spec.start_commit.to_string(),
    );
    tokio::task::spawn_blocking(move || {
        let checkout = worktree::ensure(&repo_dir, &common_dir, &path, &branch, &start)?;
        let head = worktree::head(&checkout)?;
        Ok::<_, GitError>((checkout, head))
    })
    .await
    .map_err(|e| format!("preparing the worktree: {e}"))?
    .map_err(|e| format!("preparing the worktree: {e}"))
}

async fn start_session(spec: &AttemptSpec, checkout: &Checkout) -> Result<Session, String> {
    let policy = Policy::task(&spec.worktree, spec.task.write_set.clone()).map_err(|e| e.to_string())?;
    let mut config = SessionConfig::new(spec.agent.clone(), policy);
    config.checkout = Some(checkout.clone());
    config.resume = spec.task.session_id.clone();
    config.launch = spec.launch.clone().for_role(Role::Task, Some(&spec.task.id));
    match Session::start(config.clone()).await {
        Ok(s) => Ok(s),
        Err(first) if config.resume.is_some() => {
            // The stored session could not be resumed (another machine, expired): start afresh.
            config.resume = None;
            Session::start(config)
                .await
                .map_err(|e| format!("the agent could not start: {e} (resume failed first: {first})"))
        }
        Err(e) => Err(format!("the agent could not start: {e}")),
    }
}

/// When the agent could not start because its program is gone: records the stop in `result` and
/// returns why (the attempt then ends interrupted, not failed).
fn agent_gone(ctx: &Context, spec: &AttemptSpec, result: &mut AttemptResult) -> Option<String> {
    let stop = preflight::agent_blocker(ctx, Role::Task, &spec.agent)?;
    let reason = stop.reason.clone();
    result.infrastructure = Some(stop);
    Some(reason)
}

/// Run the turn, cancelling it on a cancel request, on crossing the token budget, or on timeout, and
/// publish what the agent does on the `live` spool as it happens. Returns the outcome and, if it was
/// interrupted, why.
async fn run_turn(
    session: &mut Session,
    spec: &AttemptSpec,
    cancel: &mut CancelReason,
    budget: &TokenBudget,
    live: &mut Spool,
) -> Result<(TurnOutcome, Option<String>), AgentError> {
    let turn = followed_turn(session, spec, cancel, budget, live).await;
    match &turn {
        Ok((outcome, _)) => live.entry(&Entry::TurnEnd {
            turn: outcome.number,
            stop: outcome.stop.clone(),
            usage: outcome.usage,
        }),
        Err(_) => live.flush(),
    }
    turn
}

async fn followed_turn(
    session: &mut Session,
    spec: &AttemptSpec,
    cancel: &mut CancelReason,
    budget: &TokenBudget,
    live: &mut Spool,
) -> Result<(TurnOutcome, Option<String>), AgentError> {
    let mut turn = session.prompt(&spec.prompt).await?;
    let number = turn.number();
    live.entry(&Entry::Prompt {
        turn: number,
        text: spec.prompt.clone(),
    });
    let deadline = tokio::time::sleep(spec.turn_timeout);
    tokio::pin!(deadline);
    let mut interrupted: Option<String> = cancel.borrow().clone();
    if interrupted.is_some() {
        turn.cancel();
    }
    loop {
        tokio::select! {
            event = turn.next_event() => match event? {
                None => break,
                Some(event) => {
                    live.event(number, &event);
                    if let AgentEvent::Usage { usage } = &event
                        && !budget.spend(usage.total())
                        && interrupted.is_none()
                    {
                        interrupted = Some("the token budget is exhausted".to_owned());
                        turn.cancel();
                    }
                }
            },
            changed = cancel.changed(), if interrupted.is_none() => {
                let reason = if changed.is_ok() { cancel.borrow().clone() } else { Some("the controller stopped".to_owned()) };
                if let Some(reason) = reason {
                    interrupted = Some(reason);
                    turn.cancel();
                }
            }
            () = &mut deadline, if interrupted.is_none() => {
                turn.cancel();
                let outcome = turn.finish().await?;
                return Ok((with_timeout(outcome, spec.turn_timeout), None));
            }
        }
    }
    Ok((turn.finish().await?, interrupted))
}

fn with_timeout(mut outcome: TurnOutcome, limit: Duration) -> TurnOutcome {
    outcome.stop = StopReason::Failed {
        message: format!("the turn took longer than {}s and was cancelled", limit.as_secs()),
    };
    outcome
}

/// Drop changes outside the write set, commit the rest; returns the branch tip and whether the attempt
/// changed anything relative to where the task branch started.
async fn record_work(
    worktree: &Checkout,
    start: &str,
    spec: &AttemptSpec,
    violations: &[String],
    interrupted: bool,
) -> Result<(String, bool), String> {
    let (checkout, start, violations) = (worktree.clone(), start.to_owned(), violations.to_vec());
    let message = format!(
        "omk: {} (attempt {}{})\n\nOmk-Goal: {}\nOmk-Task: {}\nOmk-Attempt: {}\n",
        spec.task.title,
        spec.attempt,
        if interrupted { ", interrupted" } else { "" },
        spec.goal,
        spec.task.id,
        spec.attempt
    );
    let (fallback, first) = (spec.fallback_identity, spec.start_commit.to_string());
    tokio::task::spawn_blocking(move || {
        worktree::discard(&checkout, &start, &violations)?;
        worktree::commit_all(&checkout, &message, fallback)?;
        let tip = worktree::head(&checkout)?;
        Ok::<_, GitError>((tip.clone(), tip != first))
    })
    .await
    .map_err(|e| format!("recording the work: {e}"))?
    .map_err(|e| format!("recording the work: {e}"))
}

/// Run the task's gates on its commit and judge the attempt against the baseline.
async fn judge(
    ctx: &Context,
    spec: &AttemptSpec,
    commit: &str,
    changed: bool,
    result: &mut AttemptResult,
) -> Result<AttemptOutcome, String> {
    let report = run_gates(ctx, spec, commit).await?;
    if let Some(stop) = preflight::gate_blocker(&format!("task {}", spec.task.id), &report) {
        // The gates could not judge the work: not the agent's failure, and no evidence to reuse.
        let reason = stop.reason.clone();
        result.infrastructure = Some(stop);
        return Ok(AttemptOutcome::Interrupted { reason });
    }
    result.attachments.extend(report.attachments());
    let observations = report.observations();
    Ok(
        match judge_attempt(spec.task.kind, &spec.baseline, &observations, changed) {
            Ok(()) => AttemptOutcome::Succeeded,
            Err(problems) => AttemptOutcome::Failed {
                evidence: with_gate_output(&problems, &report),
            },
        },
    )
}

async fn run_gates(ctx: &Context, spec: &AttemptSpec, commit: &str) -> Result<GateReport, String> {
    let id = ObjectId::from_hex(commit.as_bytes()).map_err(|e| e.to_string())?;
    let options = PlanOptions {
        goal_tip: Some(spec.goal_tip),
        ..PlanOptions::default()
    };
    let plan = gate::plan(&ctx.store, id, &spec.worktree, &options)
        .map_err(|e| format!("planning the gates: {e}"))?;
    let exec = ExecOptions {
        known_secrets: spec.launch.known_secrets.clone(),
        sandbox: ctx.sandbox(),
        ..ExecOptions::default()
    };
    Ok(gate::execute(&plan, &exec, ctx.clock.as_ref()).await)
}

/// The problems, followed by the output tail of each failing gate (bounded), for the agent to act on.
fn with_gate_output(problems: &str, report: &GateReport) -> String {
    let mut out = problems.to_owned();
    for r in report.results.iter().filter(|r| !r.evidence.outcome.passed()) {
        let tail: String = r
            .evidence
            .output_tail
            .chars()
            .rev()
            .take(3000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        out.push_str(&format!(
            "\n\nGate `{}` ({}) output, last lines:\n{tail}",
            r.evidence.gate.as_str(),
            r.evidence.command
        ));
    }
    out
}
