//! The controller loop (DESIGN §3): decide (`model::controller::next_step`, pure) → act (agents, gates,
//! git) → record (one goal transaction, through the `ledger`), until the goal reaches a terminal status,
//! is paused or cancelled, or runs out of budget.
//!
//! Everything runs on one thread (a tokio `LocalSet`): agents and gates are asynchronous child
//! processes, so one thread drives them all, and the goal store is never shared across threads.
//! Acting never changes the goal except through recorded events, so a crash at any point is recovered
//! by running this loop again on the recorded tip. The driver decides and acts; it never writes a goal
//! commit itself: every step is recorded by the ledger's transaction, which decides the step again
//! when another process changed the goal first (a step that no longer makes sense records nothing).

mod ledger;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use gix::ObjectId;
use tokio::sync::{mpsc, watch};

use super::attempt::{AttemptResult, AttemptSpec, TokenBudget, run_attempt, start_early, timing};
use super::base_run;
use super::context::{commit_id, oid, tree_id};
use super::gc::{after_goal, change_after_done, gc, over_quota};
use super::harness;
use super::integrate::{Remover, integrate_tasks};
use super::notify::{notification, notifies, run_notifier};
use super::planning::{self, Planner};
use super::preflight;
use super::review::{self, Reviewers, Warm};
use super::transaction::Draft;
use super::work_left::{Look, WorkLeft, work_left};
use super::worktrees::{check_dir, find_task_dir, integration_branch, task_branch, task_dir};
use super::{Context, OpsError};
use crate::agent::detect::KimiGeneration;
use crate::agent::session::kimi_generation;
use crate::agent::{EngineKind, Launch, Session};
use crate::gate::{self, ExecOptions, GateError, PlanOptions};
use crate::git::integrate::tree_of;
use crate::git::run::{git, update_branch};
use crate::git::worktree;
use crate::model::budget::BudgetDimension;
use crate::model::controller::hosting::{KimiFound, SpareFacts, keeps_spare, resolved, reviewers_ahead};
use crate::model::controller::{
    Next, first_wave, next_step, start, start_agents_with_baseline, warm_reviewers,
    warm_reviewers_with_first_wave,
};
use crate::model::decision::DecisionDraft;
use crate::model::event::{AttemptReport, Event, EventBody, UsageDelta};
use crate::model::follow_up;
use crate::model::gate::RunnerKind;
use crate::model::goal::GateRun;
use crate::model::harness::HarnessCheck;
use crate::model::ids::{CommitId, TaskId};
use crate::model::lease::Lease;
use crate::model::options::{AgentSpec, Role};
use crate::model::oracle::BaseRun;
use crate::model::preflight::InfraStop;
use crate::model::prompt;
use crate::model::proof::{FileStat, prove};
use crate::model::retry::after_attempt;
use crate::model::sandbox::{ran_unconfined, unconfined_decision};
use crate::model::snapshot::Snapshot;
use crate::model::status::{GoalStatus, Phase};
use crate::model::task::{AttemptOutcome, Task, TaskStatus};
use crate::model::usage::PriceTable;
use crate::model::writeset::PathPattern;
use crate::process;
use crate::settings;
use crate::store::GoalRef;
use crate::store::live::LiveDir;
use ledger::Ledger;

/// How often the loop looks for pauses, cancels and lease renewals while agents run.
const POLL: Duration = Duration::from_millis(400);

/// A task's agent session being started ahead of its dispatch.
type EarlyStart = tokio::task::JoinHandle<Option<(TaskId, Session)>>;

/// How far to drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Until a terminal status (`run --until-ready`, `resume`).
    UntilDone,
    /// One wave of tasks with its integration and gates (`goal execute`).
    OneWave,
}

/// Called after every recorded step with the new snapshot and the events recorded.
pub type Observer<'a> = &'a mut dyn FnMut(&Snapshot, &[Event]);

/// An attempt running in this process.
struct Running {
    cancel: watch::Sender<Option<String>>,
}

/// The controller of one goal.
struct Driver<'o> {
    ctx: Rc<Context>,
    ledger: Ledger<'o>,
    repo_dir: PathBuf,
    mode: Mode,
    running: BTreeMap<TaskId, Running>,
    sessions: BTreeMap<TaskId, Session>,
    results_tx: mpsc::UnboundedSender<AttemptResult>,
    results_rx: mpsc::UnboundedReceiver<AttemptResult>,
    budget: Rc<TokenBudget>,
    waves: u32,
    checks: Vec<String>,
    prices: PriceTable,
    interrupt: watch::Receiver<bool>,
    /// Background removal of integrated tasks' worktrees.
    remover: Remover,
    /// Reviewer sessions started while the last tasks run.
    warm: Option<Warm>,
    /// Finished tasks' agents kept to host the correctness reviewer (`hosting::keeps_spare`), by task.
    spares: Vec<(TaskId, Session)>,
    /// What `kimi` is here, once a probe or a session told.
    kimi: KimiFound,
    /// Tasks whose agent was kept as a spare: their worktrees are checked at the end
    /// (`flag_changes_after_done`).
    hosted: Vec<TaskId>,
}

/// Drive `goal` as far as `mode` says and return the status it ended in.
pub async fn drive(
    ctx: Rc<Context>,
    goal: GoalRef,
    mode: Mode,
    observer: Observer<'_>,
) -> Result<GoalStatus, OpsError> {
    ctx.check_sandbox()?;
    let repo_dir = ctx
        .store
        .workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| OpsError::Usage("the repository has no work tree".to_owned()))?;
    let goal_id = goal.id().clone();
    let ledger = Ledger::open(ctx.clone(), goal, observer)?;
    let prices = settings::price_table(ctx.store.repo())?;
    let (results_tx, results_rx) = mpsc::unbounded_channel();
    let mut driver = Driver {
        ctx: ctx.clone(),
        ledger,
        repo_dir: repo_dir.clone(),
        mode,
        running: BTreeMap::new(),
        sessions: BTreeMap::new(),
        results_tx,
        results_rx,
        budget: Rc::new(TokenBudget::new(None)),
        waves: 0,
        checks: Vec::new(),
        prices,
        interrupt: interrupt_on_ctrl_c(),
        remover: Remover::new(repo_dir, ctx.store.common_dir().to_path_buf()),
        warm: None,
        spares: Vec::new(),
        kimi: KimiFound::Unknown,
        hosted: Vec::new(),
    };
    driver.acquire().await?;
    // The agents' live output for `goal watch`, while this controller holds the lease.
    let _live = LiveDir::claim(ctx.store.common_dir(), &goal_id);
    let outcome = driver.run().await;
    if let Err(error) = &outcome {
        driver.record_failure(error).await;
    }
    driver.remover.settle().await;
    driver.end_sessions().await;
    if let Ok(status) = &outcome {
        driver.notify(*status).await;
    }
    outcome
}

impl Driver<'_> {
    /// Run `omk.notify` when the goal stopped in a status that notifies; a failing notifier is recorded
    /// as a decision and changes nothing else (a failure to record that is only logged).
    async fn notify(&mut self, status: GoalStatus) {
        let Some(command) = self.ctx.settings.notify.clone().filter(|_| notifies(status)) else {
            return;
        };
        let _ = self.ledger.reload();
        let event = notification(self.ledger.snapshot(), &self.repo_dir);
        let Err(failure) = run_notifier(&command, &self.repo_dir, &event).await else {
            return;
        };
        let recorded = self
            .ledger
            .record(|draft| {
                draft.record(EventBody::DecisionRecorded(
                    DecisionDraft::new("notify", "the notifier failed", failure.clone())
                        .with_evidence([format!("status {status}")]),
                ));
                Ok(())
            })
            .await;
        if let Err(e) = recorded {
            tracing::warn!("recording the notifier's failure: {e}");
        }
    }
}

impl Driver<'_> {
    /// A failure of the machine (git, a worktree, a process) stopped the controller: record the stop
    /// (`failed`, naming the failure) and release the lease, so the goal never stays `running` under a
    /// dead holder and `resume` continues once it is fixed. Best effort: when the store itself fails,
    /// the error is only logged (the lease then expires).
    async fn record_failure(&mut self, error: &OpsError) {
        let stops = matches!(
            error,
            OpsError::Git(_) | OpsError::Infrastructure { .. } | OpsError::BranchRewritten { .. }
        );
        if !stops {
            return;
        }
        let reason = format!("infrastructure: {error}; fix it, then run `git omk goal resume`");
        let host = self.ctx.actor.host.clone();
        let recorded = self
            .ledger
            .record(|draft| {
                if draft.snapshot().goal.status() == GoalStatus::Running {
                    draft.record(EventBody::GoalStopped {
                        status: GoalStatus::Failed,
                        reason: reason.clone(),
                    });
                }
                let ours = draft
                    .snapshot()
                    .goal
                    .lease()
                    .as_ref()
                    .is_some_and(|l| is_ours(l, &host));
                if ours {
                    draft.record(EventBody::ControllerStopped {
                        reason: "an infrastructure failure stopped the controller".to_owned(),
                    });
                }
                Ok(())
            })
            .await;
        if let Err(e) = recorded {
            tracing::warn!(goal = self.goal_id(), "recording the controller's failure: {e}");
        }
    }
}

/// A flag raised when the user presses Ctrl-C: the controller then pauses the goal.
fn interrupt_on_ctrl_c() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::task::spawn_local(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(true);
        }
    });
    rx
}

impl Driver<'_> {
    /// Take the goal's lease. Refused while another live controller holds it, also when that controller
    /// took it after this one read the goal: the transaction then decides again on its lease. A goal
    /// driven with the sandbox off records that decision once.
    async fn acquire(&mut self) -> Result<(), OpsError> {
        let ctx = self.ctx.clone();
        let unconfined = ctx.sandbox().is_off();
        self.ledger
            .record(|draft| {
                let now = ctx.clock.now();
                let host = ctx.actor.host.as_str();
                let ttl = ctx.settings.lease_ttl_secs;
                let me = Lease::with_ttl(host, process::own_pid(), now, ttl);
                let holder_dead = draft
                    .snapshot()
                    .goal
                    .lease()
                    .as_ref()
                    .is_some_and(|l| l.host == host && !process::pid_alive(l.pid));
                draft.record_all(start(draft.snapshot(), &me, now, holder_dead)?);
                if unconfined && !ran_unconfined(&draft.snapshot().decisions) {
                    draft.record(EventBody::DecisionRecorded(unconfined_decision()));
                }
                Ok(())
            })
            .await
    }

    async fn run(&mut self) -> Result<GoalStatus, OpsError> {
        self.keep_work_left().await?;
        loop {
            if *self.interrupt.borrow() {
                self.ledger
                    .record(|draft| {
                        if draft.snapshot().goal.status() == GoalStatus::Running {
                            draft.record(EventBody::Paused {
                                reason: Some("interrupted from the terminal (Ctrl-C)".to_owned()),
                            });
                        }
                        Ok(())
                    })
                    .await?;
            }
            let next = next_step(self.ledger.snapshot(), &self.active());
            let phase = next.phase(self.ledger.snapshot());
            self.warm_up().await;
            let (label, began) = (next.label(), self.ctx.clock.now());
            let stopped = self.step(next, phase).await?;
            timing(self.goal_id(), label, began, self.ctx.clock.now());
            if let Some(status) = stopped {
                return Ok(status);
            }
        }
    }

    /// The tasks whose attempts run in this process.
    fn active(&self) -> BTreeSet<TaskId> {
        self.running.keys().cloned().collect()
    }

    fn goal_id(&self) -> &str {
        self.ledger.snapshot().goal.id().as_str()
    }

    /// Take one step (`phase`: the phase it belongs to); the status to exit with when the loop ends
    /// here.
    async fn step(&mut self, next: Next, phase: Option<Phase>) -> Result<Option<GoalStatus>, OpsError> {
        match next {
            Next::Halt { status } => {
                self.stop_all(status.as_str()).await?;
                // Their agents stopped writing: what their worktrees hold now is what they left.
                review::shut_down_all(std::mem::take(&mut self.sessions).into_values()).await;
                self.keep_work_left().await?;
                self.release(&format!("the goal was {status}")).await?;
                return Ok(Some(status));
            }
            Next::Finished(status) => {
                self.remover.settle().await;
                self.flag_changes_after_done().await?;
                self.clean_up(status).await?;
                self.release(&format!("the goal is {status}")).await?;
                return Ok(Some(status));
            }
            Next::OutOfBudget(_) => {
                self.stop_all("the budget is exhausted").await?;
                self.out_of_budget(phase).await?;
            }
            Next::Recover(tasks) => self.recover(tasks, phase).await?,
            Next::Plan => self.plan(phase).await?,
            Next::StartIntegration => self.start_integration(phase).await?,
            Next::Baseline => self.baseline(phase).await?,
            Next::Integrate(tasks) => self.integrate(&tasks, phase).await?,
            Next::Block(list) => self.block(list, phase).await?,
            Next::Dispatch(tasks) => {
                if self.mode == Mode::OneWave && self.waves > 0 {
                    if self.running.is_empty() {
                        self.release("one wave done").await?;
                        return Ok(Some(self.ledger.snapshot().goal.status()));
                    }
                    self.wait().await?;
                } else if let Some(reason) = self.quota_problem().await {
                    self.stop(GoalStatus::Failed, reason, phase).await?;
                } else {
                    self.waves += 1;
                    self.dispatch(tasks, phase).await?;
                }
            }
            Next::Wait => self.wait().await?,
            Next::Verify => self.verify(phase).await?,
            Next::HarnessCheck => self.harness_check(phase).await?,
            Next::BaseRun => self.base_run(phase).await?,
            Next::Review => self.review(phase).await?,
            Next::Conclude => self.conclude(phase).await?,
        }
        Ok(None)
    }

    /// Stop the goal with `status` for `reason`, unless it is no longer running.
    async fn stop(
        &mut self,
        status: GoalStatus,
        reason: String,
        phase: Option<Phase>,
    ) -> Result<(), OpsError> {
        self.ledger
            .record(|draft| {
                if draft.snapshot().goal.status() == GoalStatus::Running {
                    enter(draft, phase);
                    draft.record(EventBody::GoalStopped {
                        status,
                        reason: reason.clone(),
                    });
                }
                Ok(())
            })
            .await
    }

    /// End `needs_more_budget` naming what is exhausted, as long as something still is (a budget added
    /// meanwhile lets the loop go on).
    async fn out_of_budget(&mut self, phase: Option<Phase>) -> Result<(), OpsError> {
        let active = self.active();
        self.ledger
            .record(|draft| {
                let Next::OutOfBudget(dims) = next_step(draft.snapshot(), &active) else {
                    return Ok(());
                };
                let names: Vec<&str> = dims.iter().map(|d| dimension_name(*d)).collect();
                enter(draft, phase);
                draft.record(EventBody::GoalStopped {
                    status: GoalStatus::NeedsMoreBudget,
                    reason: format!(
                        "the {} budget is exhausted; raise it with `git omk goal budget-add`",
                        names.join(" and ")
                    ),
                });
                Ok(())
            })
            .await
    }

    /// Record tasks that can never run because a dependency did not finish, as long as they still
    /// cannot.
    async fn block(&mut self, list: Vec<(TaskId, String)>, phase: Option<Phase>) -> Result<(), OpsError> {
        let active = self.active();
        let expected = Next::Block(list.clone());
        self.ledger
            .record(|draft| {
                if next_step(draft.snapshot(), &active) == expected {
                    enter(draft, phase);
                    draft.record_all(list.iter().map(|(task, reason)| EventBody::TaskBlocked {
                        task: task.clone(),
                        reason: reason.clone(),
                    }));
                }
                Ok(())
            })
            .await
    }

    /// A task whose agent was kept to host a reviewer kept its worktree until now, with that agent's
    /// process running there after the task was done. Whatever changed there since is not the task's
    /// work: it is committed on the task branch (nothing is lost), proven, and recorded as a decision
    /// naming what changed, so the clean-up finds nothing to save as the task's work left.
    async fn flag_changes_after_done(&mut self) -> Result<(), OpsError> {
        let goal = self.ledger.snapshot().goal.id().clone();
        let fallback = self.ctx.store.repo().committer().is_none();
        let mut found = Vec::new();
        for task in std::mem::take(&mut self.hosted) {
            let done = (self.ledger.snapshot().tasks.get(&task))
                .and_then(|t| t.attempts.last())
                .and_then(|a| a.commit);
            let Some(done) = done else { continue };
            let message = format!(
                "omk: changes in the worktree of {task} after it was done\n\nIts agent's process was kept to host a reviewer; this is not the task's work.\n\nOmk-Goal: {goal}\nOmk-Task: {task}\n"
            );
            let path = task_dir(&self.ctx, &goal, &task);
            let common = self.ctx.store.common_dir();
            if let Some(change) = change_after_done(common, &path, done, &message, fallback)? {
                found.push((task, change));
            }
        }
        if found.is_empty() {
            return Ok(());
        }
        let proves: Vec<ObjectId> = (found.iter())
            .map(|(_, change)| change.commit.object_id())
            .collect();
        self.ledger
            .record(|draft| {
                for (task, change) in &found {
                    let decision = DecisionDraft::new(
                        "hosted_reviewer",
                        format!("flagged a change in the worktree of {task} made after it was done"),
                        format!(
                            "the task's agent process was kept to host a read-only reviewer session; what changed is not the task's work and is not in the result: it is kept on the task branch at {}",
                            change.commit.short()
                        ),
                    )
                    .with_evidence(change.evidence.iter().cloned());
                    draft.record(EventBody::DecisionRecorded(decision));
                }
                draft.prove(proves.iter().copied());
                Ok(())
            })
            .await
    }

    /// Tasks whose last attempt a pause, a cancel or another stop interrupted: their worktrees should
    /// still hold what that attempt recorded. Whatever changed there since (a tool the agent started
    /// finishing its write, a person) is the task's work left: what still runs there is stopped, the
    /// change is committed on the task branch (`work_left`) and recorded as `work_saved` with a decision
    /// naming it, in one goal commit that proves it. Done when the controller halts and when it starts.
    async fn keep_work_left(&mut self) -> Result<(), OpsError> {
        let snapshot = self.ledger.snapshot();
        let goal = snapshot.goal.id().clone();
        let interrupted: Vec<(TaskId, CommitId, Vec<PathPattern>)> = (snapshot.tasks.tasks.iter())
            .filter_map(|t| Some((t.id.clone(), t.interrupted_at()?, t.write_set.clone())))
            .collect();
        let (fallback, tip) = (self.ctx.store.repo().committer().is_none(), self.ledger.tip());
        let mut found = Vec::new();
        for (task, stopped, write_set) in interrupted {
            let path = task_dir(&self.ctx, &goal, &task);
            if !path.exists() {
                continue;
            }
            process::kill_processes_in(&path);
            let look = Look {
                goal: &goal,
                task: &task,
                common_dir: self.ctx.store.common_dir(),
                path: &path,
                stopped,
                write_set: &write_set,
                fallback_identity: fallback,
            };
            let recorded = |commit: CommitId| Ok(self.ctx.store.is_ancestor(commit.object_id(), tip)?);
            if let Some(left) = work_left(&look, recorded)? {
                found.push((task, left));
            }
        }
        if found.is_empty() {
            return Ok(());
        }
        let proves: Vec<ObjectId> = (found.iter())
            .flat_map(|(_, left)| [left.commit.object_id(), left.tip.object_id()])
            .collect();
        self.ledger
            .record(|draft| {
                for (task, left) in &found {
                    draft.record_all(work_left_events(task, left));
                }
                draft.prove(proves.iter().copied());
                Ok(())
            })
            .await
    }

    /// Remove the goal's worktrees once its work is recorded (terminal statuses other than a failure,
    /// whose worktrees are kept for inspection until `gc`).
    async fn clean_up(&mut self, status: GoalStatus) -> Result<(), OpsError> {
        if status != GoalStatus::Failed {
            after_goal(&self.ctx, self.ledger.snapshot().goal.id()).await?;
            self.ledger.reload()?;
        }
        Ok(())
    }

    /// When the worktrees are over quota, collect garbage; a message if that is not enough.
    async fn quota_problem(&mut self) -> Option<String> {
        if !over_quota(&self.ctx) {
            return None;
        }
        self.remover.settle().await;
        let _ = gc(&self.ctx).await;
        let _ = self.ledger.reload();
        over_quota(&self.ctx).then(|| {
            format!(
                "the worktrees of this repository exceed omk.worktreeQuota ({} bytes) even after `git omk gc`; raise the quota or free space, then resume",
                self.ctx.settings.worktree_quota
            )
        })
    }

    /// Give the lease up, if this controller still holds it.
    async fn release(&mut self, reason: &str) -> Result<(), OpsError> {
        let host = self.ctx.actor.host.clone();
        self.ledger
            .record(|draft| {
                if draft
                    .snapshot()
                    .goal
                    .lease()
                    .as_ref()
                    .is_some_and(|l| is_ours(l, &host))
                {
                    draft.record(EventBody::ControllerStopped {
                        reason: reason.to_owned(),
                    });
                }
                Ok(())
            })
            .await
    }

    /// Ask the planner agent for a plan, over a clean checkout of the base, and record what became of
    /// it (its plan, or the heuristic one kept with the reason) with its usage. A planner left running by
    /// a crashed controller is stopped first.
    async fn plan(&mut self, phase: Option<Phase>) -> Result<(), OpsError> {
        let base = self.ledger.snapshot().goal.base().commit.to_string();
        let dir = check_dir(&self.ctx, self.ledger.snapshot().goal.id(), "planner");
        process::kill_processes_in(&dir);
        worktree::ensure_detached(&self.repo_dir, self.ctx.store.common_dir(), &dir, &base)?;
        let options = self.ledger.snapshot().goal.options().clone();
        let (launch, prices) = (agent_launch(&self.ctx), self.prices.clone());
        let planner = Planner {
            agent: options.agent_of(Role::Planner),
            launch: &launch,
            prices: &prices,
            timeout: self.ctx.settings.turn_timeout,
            tokens: [options.planner_token_budget, tokens_left(self.ledger.snapshot())]
                .into_iter()
                .flatten()
                .min(),
        };
        let (ctx, snapshot, checkout) = (self.ctx.clone(), self.ledger.snapshot().clone(), dir.clone());
        let outcome = self
            .interruptible(async move { planning::plan(&ctx, &snapshot, &checkout, &planner).await })
            .await?;
        let _ = worktree::remove_checkout(&self.repo_dir, &dir);
        let Some(outcome) = outcome else { return Ok(()) };
        let outcome = outcome?;
        self.ctx.fault("planning");
        let usage = UsageDelta::of_sessions(&outcome.usage, &outcome.cost);
        self.ledger
            .record(|draft| {
                enter(draft, phase);
                draft.record(EventBody::PlannerFinished(Box::new(outcome.report.clone())));
                draft.record_all(outcome.decisions.iter().cloned().map(EventBody::DecisionRecorded));
                draft.record(EventBody::UsageAdded(usage));
                draft.attach(outcome.attachments.clone());
                Ok(())
            })
            .await
    }

    /// Create (or adopt, after a crash) the integration branch at the base commit.
    async fn start_integration(&mut self, phase: Option<Phase>) -> Result<(), OpsError> {
        let branch = integration_branch(self.ledger.snapshot().goal.id());
        let base = self.ledger.snapshot().goal.base().commit.to_string();
        let existing = git(
            &self.repo_dir,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ],
        )
        .ok();
        let commit = match existing {
            Some(tip) if self.contains(&tip, &base).unwrap_or(false) => tip,
            Some(tip) => {
                return Err(OpsError::Usage(format!(
                    "branch {branch} exists at {tip}, which does not contain the goal's base {base}: rename or delete it, then resume"
                )));
            }
            None => {
                update_branch(&self.repo_dir, &branch, &base, None)?;
                base
            }
        };
        let commit = commit_id(&commit)?;
        self.ledger
            .record(|draft| {
                if draft.snapshot().goal.integration().is_none() {
                    enter(draft, phase);
                    draft.record(EventBody::IntegrationStarted {
                        branch: branch.clone(),
                        commit,
                    });
                }
                Ok(())
            })
            .await
    }

    /// Run the gates on the base commit, while the first wave's agents start (their start-up takes
    /// seconds, the base's gates often less: both are off each other's path). Not for a goal judged by
    /// a benchmark: its base is measured on a quiet machine (`start_agents_with_baseline`).
    async fn baseline(&mut self, phase: Option<Phase>) -> Result<(), OpsError> {
        let base = self.ledger.snapshot().goal.base().commit;
        let runners = gate_runners(&self.ctx, base);
        let mut early = Vec::new();
        if start_agents_with_baseline(self.ledger.snapshot(), &runners) {
            // Once, for every session that starts `kimi` (which the hosting decision needs too).
            self.find_kimi().await;
            early = self.start_first_wave();
            if self.mode == Mode::UntilDone && warm_reviewers_with_first_wave(self.ledger.snapshot()) {
                self.warm_up_now().await;
            }
        }
        let ran = self.gate_run(base).await;
        self.collect_early(early).await?;
        let Some((run, attachments)) = ran? else {
            return Ok(());
        };
        self.checks = run_commands(&self.ctx, base);
        self.record_facts(
            phase,
            vec![EventBody::BaselineRecorded(run)],
            attachments,
            Vec::new(),
        )
        .await
    }

    async fn verify(&mut self, phase: Option<Phase>) -> Result<(), OpsError> {
        let Some(integration) = self.ledger.snapshot().goal.integration().cloned() else {
            return Ok(());
        };
        let Some((run, attachments)) = self.gate_run(integration.commit).await? else {
            return Ok(());
        };
        let mut facts = vec![EventBody::VerificationRecorded(run)];
        // With the base's harness files in place, the check is done with the run (no extra step).
        let base = self.ledger.snapshot().goal.base().commit;
        if harness::compare(&self.ctx, base, integration.commit)?
            .changes
            .is_empty()
        {
            facts.push(EventBody::HarnessChecked(HarnessCheck {
                result: integration.commit,
                changes: Vec::new(),
                restored: None,
                error: None,
            }));
        }
        let proves = vec![integration.commit.object_id()];
        self.record_facts(phase, facts, attachments, proves).await
    }

    /// Record what acting established (gate runs, reviews, merges): facts hold whatever else happened
    /// meanwhile, so they are recorded on whichever tip the transaction finds.
    async fn record_facts(
        &mut self,
        phase: Option<Phase>,
        facts: Vec<EventBody>,
        attachments: Vec<(String, Vec<u8>)>,
        proves: Vec<ObjectId>,
    ) -> Result<(), OpsError> {
        self.ledger
            .record(|draft| {
                enter(draft, phase);
                draft.record_all(facts.iter().cloned());
                draft.attach(attachments.iter().cloned());
                draft.prove(proves.iter().copied());
                Ok(())
            })
            .await
    }

    /// The integrated result, the base, and a checkout directory `<what>-<result>` for work on them;
    /// `None` before integration started.
    fn result_checkout(&self, what: &str) -> Option<(CommitId, CommitId, PathBuf)> {
        let goal = &self.ledger.snapshot().goal;
        let result = goal.integration()?.commit;
        let dir = check_dir(&self.ctx, goal.id(), &format!("{what}-{}", result.short()));
        Some((result, goal.base().commit, dir))
    }

    /// Compare the result's test harness files with the base's; when they changed, run the result's
    /// gates again with the base's versions restored (the restored commit becomes an `Omk-Proves`
    /// parent, so the evidence stays reachable).
    async fn harness_check(&mut self, phase: Option<Phase>) -> Result<(), OpsError> {
        let Some((result, base, dir)) = self.result_checkout("harness") else {
            return Ok(());
        };
        let diff = harness::compare(&self.ctx, base, result)?;
        let mut check = HarnessCheck {
            result,
            changes: diff.changes.clone(),
            restored: None,
            error: None,
        };
        let (mut attachments, mut proves) = (Vec::new(), Vec::new());
        if !diff.changes.is_empty() {
            let prepared = harness::prepare(&self.ctx, &dir, result, &diff);
            let _ = worktree::remove_checkout(&self.repo_dir, &dir);
            match prepared? {
                Err(why) => check.error = Some(why),
                Ok(commit) => match self.run_gates_of(commit).await? {
                    Ok(None) => return Ok(()),
                    Ok(Some((run, files))) => {
                        check.restored = Some(run);
                        attachments = files;
                        proves.push(commit.object_id());
                    }
                    Err(e) => check.error = Some(format!("the gates cannot be run: {e}")),
                },
            }
        }
        self.record_facts(phase, vec![EventBody::HarnessChecked(check)], attachments, proves)
            .await
    }

    /// Lay the result's changed tests over the base code and run the gates there (bugfix oracle).
    async fn base_run(&mut self, phase: Option<Phase>) -> Result<(), OpsError> {
        let Some((result, base, dir)) = self.result_checkout("base-run") else {
            return Ok(());
        };
        let prepared = base_run::prepare(&self.ctx, &dir, base, result)?;
        let (run, attachments, proves) = match prepared {
            None => (
                BaseRun {
                    commit: base,
                    result,
                    overlaid: Vec::new(),
                    gates: Vec::new(),
                },
                Vec::new(),
                Vec::new(),
            ),
            Some((commit, overlaid)) => {
                let _ = worktree::remove_checkout(&self.repo_dir, &dir);
                let Some((gates, attachments)) = self.gate_run(commit).await? else {
                    return Ok(());
                };
                let proves = vec![commit.object_id()];
                (
                    BaseRun {
                        commit,
                        result,
                        overlaid,
                        gates: gates.gates,
                    },
                    attachments,
                    proves,
                )
            }
        };
        self.record_facts(phase, vec![EventBody::BaseRunRecorded(run)], attachments, proves)
            .await
    }

    /// Scanners plus reviewer and security-reviewer sessions over the integrated change, both at once:
    /// the sessions started while the last tasks ran when there are some, else started now. They are
    /// shown the recorded test evidence, so the review starts once the result's gates are done.
    async fn review(&mut self, phase: Option<Phase>) -> Result<(), OpsError> {
        let Some((result, base, _)) = self.result_checkout("review") else {
            return Ok(());
        };
        let dir = self.review_dir();
        let warm = self.warm.take();
        let (repo_dir, common_dir) = (self.repo_dir.clone(), self.ctx.store.common_dir().to_path_buf());
        let hex = result.to_string();
        let ensure = |commit: &str| -> Result<(), OpsError> {
            worktree::ensure_detached(&repo_dir, &common_dir, &dir, commit)?;
            Ok(())
        };
        if warm.is_none() {
            ensure(&hex)?;
        }
        let (ctx, reviewers) = (self.ctx.clone(), self.reviewers());
        let snapshot = self.ledger.snapshot().clone();
        let spares = std::mem::take(&mut self.spares)
            .into_iter()
            .map(|(_, session)| session)
            .collect();
        let outcome = self
            .interruptible(async {
                let started = match warm {
                    Some(warm) => match warm.ready_for(&hex).await {
                        Some(started) => Some(started),
                        None => {
                            ensure(&hex)?;
                            None
                        }
                    },
                    None => None,
                };
                review::review(&ctx, &snapshot, (base, result), &dir, &reviewers, started, spares).await
            })
            .await?;
        let _ = worktree::remove_checkout(&self.repo_dir, &dir);
        let Some(outcome) = outcome else { return Ok(()) };
        let outcome = outcome?;
        let facts = vec![
            EventBody::ReviewRecorded(outcome.review),
            EventBody::UsageAdded(UsageDelta::of_sessions(&outcome.usage, &outcome.cost)),
        ];
        self.record_facts(phase, facts, outcome.attachments, Vec::new())
            .await
    }

    /// Start the reviewer sessions while the last tasks run (until-done runs only), so the agents'
    /// start-up is off the critical path. Failing to start them early only means starting them at
    /// the review.
    async fn warm_up(&mut self) {
        let snapshot = self.ledger.snapshot();
        if self.mode == Mode::UntilDone && self.warm.is_none() && warm_reviewers(snapshot, &self.active()) {
            self.warm_up_now().await;
        }
    }

    /// Start the reviewer sessions in the background now, unless they were started already: all but
    /// the one a finished task's agent will host (`hosting::reviewers_ahead`).
    async fn warm_up_now(&mut self) {
        if self.warm.is_some() {
            return;
        }
        self.find_kimi().await;
        let snapshot = self.ledger.snapshot();
        let Some(commit) = snapshot.goal.integration().map(|i| i.commit) else {
            return;
        };
        let options = &snapshot.goal.options();
        let (task, reviewer) = (options.agent_of(Role::Task), options.agent_of(Role::Reviewer));
        let which = reviewers_ahead(task, reviewer, self.kimi);
        let reviewers = self.reviewers();
        match Warm::start(&self.ctx, self.review_dir(), &commit, &reviewers, which) {
            Ok(warm) => self.warm = Some(warm),
            Err(e) => tracing::debug!(goal = self.goal_id(), "reviewers not started early: {e}"),
        }
    }

    /// What `kimi` is here, when a role's agent is `kimi` and no probe or session told yet: one
    /// `kimi --version` probe, whose answer every later session of the goal starts with (no probe of
    /// its own). A failed probe leaves it unknown (the sessions then say why they cannot start).
    async fn find_kimi(&mut self) {
        let options = &self.ledger.snapshot().goal.options();
        let uses_kimi = options.agents().iter().any(|(spec, _)| **spec == AgentSpec::Kimi);
        if self.kimi != KimiFound::Unknown || !uses_kimi {
            return;
        }
        self.kimi = match kimi_generation(&agent_launch(&self.ctx)).await {
            Some(KimiGeneration::Acp) => KimiFound::Code,
            Some(KimiGeneration::Wire) => KimiFound::Cli,
            None => KimiFound::Unknown,
        };
    }

    /// Learn what `kimi` is from a session of the task agent, when that is `kimi` and still unknown.
    fn learn_kimi(&mut self, session: &Session) {
        let task_agent = self.ledger.snapshot().goal.options().agent_of(Role::Task);
        if self.kimi != KimiFound::Unknown || *task_agent != AgentSpec::Kimi {
            return;
        }
        self.kimi = match session.info().engine {
            EngineKind::KimiAcp => KimiFound::Code,
            EngineKind::KimiWire => KimiFound::Cli,
            _ => KimiFound::Unknown,
        };
    }

    /// End every agent session the controller still holds, all at once (tasks' sessions kept for a
    /// retry or started ahead, reviewers started ahead, spares), and remove the reviewers' checkout.
    async fn end_sessions(&mut self) {
        let sessions = std::mem::take(&mut self.sessions).into_values();
        let spares = std::mem::take(&mut self.spares).into_iter().map(|(_, s)| s);
        let warm = self.warm.take();
        let reviewers = async {
            if let Some(warm) = warm {
                warm.shutdown().await;
            }
        };
        tokio::join!(review::shut_down_all(sessions.chain(spares)), reviewers);
        let dir = self.review_dir();
        if dir.exists() {
            let _ = worktree::remove_checkout(&self.repo_dir, &dir);
        }
    }

    /// The checkout the reviewer sessions read.
    fn review_dir(&self) -> PathBuf {
        check_dir(&self.ctx, self.ledger.snapshot().goal.id(), "reviewers")
    }

    fn reviewers(&self) -> Reviewers {
        Reviewers {
            agent: resolved(
                (self.ledger.snapshot().goal.options()).agent_of(Role::Reviewer),
                self.kimi,
            ),
            launch: agent_launch(&self.ctx),
            prices: self.prices.clone(),
            timeout: self.ctx.settings.turn_timeout,
        }
    }

    /// Compute and record the proof; its status becomes the goal's. Decided again (the proof computed
    /// again) on whatever tip the transaction finds, and only while concluding is still the next step.
    async fn conclude(&mut self, phase: Option<Phase>) -> Result<(), OpsError> {
        let goal = &self.ledger.snapshot().goal;
        let base = goal.base().commit;
        let result = goal.integration().map_or(base, |i| i.commit);
        let changed = changed_files(&self.repo_dir, base, result);
        // The proven commit is an `Omk-Proves` parent of the proof commit: fetching the goal brings it.
        let proves: Vec<ObjectId> = (result != base)
            .then_some(result.object_id())
            .into_iter()
            .collect();
        let active = self.active();
        self.ledger
            .record(|draft| {
                if next_step(draft.snapshot(), &active) != Next::Conclude {
                    return Ok(());
                }
                let proof = prove(draft.snapshot(), changed.clone());
                enter(draft, phase);
                draft.record(EventBody::ProofRecorded(Box::new(proof)));
                draft.prove(proves.iter().copied());
                Ok(())
            })
            .await
    }

    /// Run the gates of `commit` in a clean detached checkout. `None` when a pause or cancel
    /// interrupted them (the caller's next step halts). An invalid gate configuration stops the goal
    /// `blocked_on_human`.
    async fn gate_run(
        &mut self,
        commit: CommitId,
    ) -> Result<Option<(GateRun, Vec<(String, Vec<u8>)>)>, OpsError> {
        match self.run_gates_of(commit).await? {
            Ok(run) => Ok(run),
            Err(e) => self.gate_config_problem(e).await.map(|()| None),
        }
    }

    /// Run the gates of `commit` in a clean detached checkout: `Ok(Err(_))` when they cannot be
    /// planned (an invalid configuration), `Ok(Ok(None))` when a pause or cancel interrupted them.
    async fn run_gates_of(
        &mut self,
        commit: CommitId,
    ) -> Result<Result<Option<(GateRun, Vec<(String, Vec<u8>)>)>, GateError>, OpsError> {
        let (id, hex) = (commit.object_id(), commit.to_string());
        let dir = check_dir(&self.ctx, self.ledger.snapshot().goal.id(), &hex);
        worktree::ensure_detached(&self.repo_dir, self.ctx.store.common_dir(), &dir, &hex)?;
        let options = PlanOptions {
            goal_tip: Some(self.ledger.tip()),
            ..PlanOptions::default()
        };
        let plan = match gate::plan(&self.ctx.store, id, &dir, &options) {
            Ok(plan) => plan,
            Err(e) => {
                let _ = worktree::remove_checkout(&self.repo_dir, &dir);
                return Ok(Err(e));
            }
        };
        let ctx = self.ctx.clone();
        let options = ExecOptions {
            known_secrets: settings::secret_env_values(),
            sandbox: self.ctx.sandbox(),
            ..ExecOptions::default()
        };
        let report = self
            .interruptible(async move { gate::execute(&plan, &options, ctx.clock.as_ref()).await })
            .await?;
        let _ = worktree::remove_checkout(&self.repo_dir, &dir);
        let what = self.tree_label(commit);
        if let Some(stop) = report.as_ref().and_then(|r| preflight::gate_blocker(&what, r)) {
            // A gate that cannot run judges nothing: its run is not recorded (nor reused), the goal
            // stops on the missing tool.
            self.stop_on_infrastructure(stop).await?;
            return Ok(Ok(None));
        }
        Ok(Ok(
            report.map(|report| (report.gate_run(commit), report.attachments()))
        ))
    }

    /// How a stop reason names the tree `commit`.
    fn tree_label(&self, commit: CommitId) -> String {
        let goal = &self.ledger.snapshot().goal;
        if goal.base().commit == commit {
            format!("the base ({})", commit.short())
        } else if goal.integration().is_some_and(|i| i.commit == commit) {
            format!("the result ({})", commit.short())
        } else {
            format!("commit {}", commit.short())
        }
    }

    /// Stop the goal `failed` on an infrastructure failure, recording what is missing (the
    /// `preflight` decision) and the fix, unless it is no longer running. Nothing is counted as an
    /// attempt's failure; `resume` continues once it is fixed.
    async fn stop_on_infrastructure(&mut self, stop: InfraStop) -> Result<(), OpsError> {
        self.ledger
            .record(|draft| {
                if draft.snapshot().goal.status() == GoalStatus::Running {
                    draft.record(EventBody::DecisionRecorded(stop.decision.clone()));
                    draft.record(EventBody::GoalStopped {
                        status: GoalStatus::Failed,
                        reason: stop.reason.clone(),
                    });
                }
                Ok(())
            })
            .await
    }

    async fn gate_config_problem(&mut self, error: GateError) -> Result<(), OpsError> {
        let reason = format!("the gates cannot be run: {error}");
        let status = if matches!(error, GateError::Config { .. }) {
            GoalStatus::BlockedOnHuman
        } else {
            GoalStatus::Failed
        };
        self.stop(status, reason, None).await
    }

    /// Run `work` unless the goal is paused or cancelled meanwhile (checked every poll); `None` then.
    async fn interruptible<T>(
        &mut self,
        work: impl std::future::Future<Output = T>,
    ) -> Result<Option<T>, OpsError> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return Ok(Some(out)),
                () = tokio::time::sleep(POLL) => {
                    self.tick().await?;
                    if matches!(self.ledger.snapshot().goal.status(), GoalStatus::Paused | GoalStatus::Cancelled) || *self.interrupt.borrow() {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Merge done tasks into the integration branch (in dependency order), move the branch once, and
    /// record the step as one goal commit. A crash after the branch moved is recovered by
    /// `integration_tip`, which adopts the branch: the merges are then found already in.
    async fn integrate(&mut self, tasks: &[TaskId], phase: Option<Phase>) -> Result<(), OpsError> {
        let Some(integration) = self.ledger.snapshot().goal.integration().cloned() else {
            return Ok(());
        };
        let tip = self.integration_tip(&integration.branch, &integration.commit.to_string())?;
        self.ctx.fault("integration");
        let step = integrate_tasks(
            &self.ctx,
            &self.repo_dir,
            self.ledger.snapshot(),
            &integration.branch,
            tasks,
            tip.clone(),
        )?;
        if step.tip != tip {
            update_branch(&self.repo_dir, &integration.branch, &step.tip, Some(&tip))?;
        }
        self.record_facts(phase, step.bodies, Vec::new(), step.proves)
            .await?;
        let goal = self.ledger.snapshot().goal.id().clone();
        // A task whose agent is kept to host a reviewer keeps its worktree (the agent runs there) until
        // the end-of-goal clean-up.
        let done: Vec<(PathBuf, String)> = step
            .merged
            .into_iter()
            .filter(|(task, _)| self.spares.iter().all(|(spare, _)| spare != task))
            .map(|(task, commit)| (task_dir(&self.ctx, &goal, &task), commit))
            .collect();
        self.remover.remove(done);
        Ok(())
    }

    /// The integration branch's actual tip. A crash between moving the branch and recording it leaves
    /// the branch ahead of the record: that tip is adopted (it only holds merges of done tasks). A branch
    /// that no longer contains the recorded tip was rewritten by someone else: stop rather than guess.
    /// A goal fetched from another machine has no local integration branch: it continues from the
    /// recorded tip (present here: goal commits name it in `Omk-Proves`).
    fn integration_tip(&self, branch: &str, recorded: &str) -> Result<String, OpsError> {
        let name = format!("refs/heads/{branch}");
        let Ok(actual) = git(&self.repo_dir, &["rev-parse", "--verify", "--quiet", &name]) else {
            update_branch(&self.repo_dir, branch, recorded, None)?;
            return Ok(recorded.to_owned());
        };
        if actual == recorded || self.contains(&actual, recorded)? {
            Ok(actual)
        } else {
            Err(OpsError::BranchRewritten {
                branch: branch.to_owned(),
                actual,
                recorded: recorded.to_owned(),
            })
        }
    }

    /// Whether commit `tip` contains commit `commit` (in-process `git merge-base --is-ancestor`).
    fn contains(&self, tip: &str, commit: &str) -> Result<bool, OpsError> {
        Ok(self.ctx.store.is_ancestor(oid(commit)?, oid(tip)?)?)
    }

    /// Record tasks whose attempts died with a previous controller: save what their worktree holds on
    /// the task branch, and mark them to run again (judged on the tip the transaction finds, for the
    /// tasks whose attempt is still recorded as running there).
    async fn recover(&mut self, tasks: Vec<TaskId>, phase: Option<Phase>) -> Result<(), OpsError> {
        let mut saved = Vec::new();
        for id in tasks {
            let Some(task) = self.ledger.snapshot().tasks.get(&id).cloned() else {
                continue;
            };
            let attempt = task.running_attempt().map_or(0, |a| a.number);
            let commit = self.save_interrupted(&id, attempt)?;
            let tree = match commit {
                Some(c) => (tree_of(&self.repo_dir, &c.to_string()).ok())
                    .map(|t| tree_id(&t))
                    .transpose()?,
                None => None,
            };
            saved.push((id, attempt, commit, tree));
        }
        let proves: Vec<ObjectId> = saved
            .iter()
            .filter_map(|(_, _, commit, _)| commit.map(CommitId::object_id))
            .collect();
        self.ledger
            .record(|draft| {
                enter(draft, phase);
                for (id, attempt, commit, tree) in &saved {
                    let Some(task) = draft.snapshot().tasks.get(id) else {
                        continue;
                    };
                    let running = task.running_attempt().map_or(0, |a| a.number);
                    if task.status != TaskStatus::Running || running != *attempt {
                        continue;
                    }
                    let outcome = AttemptOutcome::Interrupted {
                        reason: "the controller running it stopped".to_owned(),
                    };
                    let (next, note) = after_attempt(task, &outcome, *tree);
                    let report = AttemptReport {
                        task: id.clone(),
                        attempt: *attempt,
                        outcome,
                        commit: *commit,
                        tree: *tree,
                        tokens: 0,
                        session_id: task.session_id.clone(),
                        next,
                        note,
                    };
                    draft.record(EventBody::AttemptFinished(report));
                }
                draft.prove(proves.iter().copied());
                Ok(())
            })
            .await
    }

    /// Stop what an interrupted attempt left running in its worktree and commit what it holds on the
    /// task branch; the commit, if the worktree exists.
    fn save_interrupted(&self, id: &TaskId, attempt: u32) -> Result<Option<CommitId>, OpsError> {
        let goal = &self.ledger.snapshot().goal.id();
        let path = find_task_dir(&self.ctx, goal, id);
        process::kill_processes_in(&path);
        let Ok(checkout) = worktree::Checkout::locate(self.ctx.store.common_dir(), &path) else {
            return Ok(None);
        };
        let message = format!(
            "omk: snapshot of interrupted attempt {attempt} of {id}\n\nOmk-Goal: {goal}\nOmk-Task: {id}\nOmk-Attempt: {attempt}\n"
        );
        let fallback = self.ctx.store.repo().committer().is_none();
        worktree::commit_all(&checkout, &message, fallback)?;
        worktree::head(&checkout)
            .ok()
            .map(|head| commit_id(&head))
            .transpose()
    }

    /// Start attempts at `tasks`, as long as dispatching them is still what the recorded state calls
    /// for (a pause or a cancel recorded meanwhile wins: nothing starts).
    async fn dispatch(&mut self, tasks: Vec<TaskId>, phase: Option<Phase>) -> Result<(), OpsError> {
        let agent = self.ledger.snapshot().goal.options().agent_of(Role::Task).clone();
        if let Some(stop) = preflight::agent_blocker(&self.ctx, Role::Task, &agent) {
            // The agent program went away since the goal started: nothing is dispatched.
            self.stop_all("the task agent cannot start").await?;
            return self.stop_on_infrastructure(stop).await;
        }
        let active = self.active();
        let expected = Next::Dispatch(tasks.clone());
        let env = SpecEnv {
            ctx: &self.ctx,
            checks: &self.checks,
            sessions: &self.sessions,
            prices: &self.prices,
            kimi: self.kimi,
        };
        let specs = self
            .ledger
            .record(|draft| {
                if next_step(draft.snapshot(), &active) != expected {
                    return Ok(Vec::new());
                }
                let specs: Vec<AttemptSpec> = tasks
                    .iter()
                    .filter_map(|id| draft.snapshot().tasks.get(id))
                    .map(|task| attempt_spec(&env, draft.snapshot(), draft.tip(), task))
                    .collect();
                enter(draft, phase);
                draft.record_all(specs.iter().map(|spec| EventBody::TaskDispatched {
                    task: spec.task.id.clone(),
                    attempt: spec.attempt,
                    branch: spec.branch.clone(),
                    start_commit: spec.start_commit,
                }));
                Ok(specs)
            })
            .await?;
        if specs.is_empty() {
            return Ok(());
        }
        self.ctx.fault("dispatch");
        self.budget = Rc::new(TokenBudget::new(tokens_left(self.ledger.snapshot())));
        for spec in specs {
            let session = self.sessions.remove(&spec.task.id);
            let (tx, rx) = watch::channel(None);
            self.running.insert(spec.task.id.clone(), Running { cancel: tx });
            let (ctx, budget, results) = (self.ctx.clone(), self.budget.clone(), self.results_tx.clone());
            tokio::task::spawn_local(async move {
                let result = run_attempt(&ctx, spec, session, rx, budget).await;
                let _ = results.send(result);
            });
        }
        Ok(())
    }

    /// Start the agent sessions of the first wave's tasks in their worktrees, in the background: the
    /// dispatch finds them in `sessions` (as a retry finds its task's session).
    fn start_first_wave(&self) -> Vec<EarlyStart> {
        let snapshot = self.ledger.snapshot();
        let env = SpecEnv {
            ctx: &self.ctx,
            checks: &self.checks,
            sessions: &self.sessions,
            prices: &self.prices,
            kimi: self.kimi,
        };
        first_wave(snapshot)
            .iter()
            .filter(|id| !self.sessions.contains_key(*id))
            .filter_map(|id| snapshot.tasks.get(id))
            .filter(|task| task.attempts.is_empty())
            .map(|task| attempt_spec(&env, snapshot, self.ledger.tip(), task))
            .map(|spec| {
                let ctx = self.ctx.clone();
                tokio::task::spawn_local(async move {
                    let session = start_early(&ctx, &spec).await?;
                    Some((spec.task.id, session))
                })
            })
            .collect()
    }

    /// Keep the sessions started ahead. A start-up may take up to its timeout, longer than a lease lives,
    /// so they are awaited while the loop renews the lease and looks for pauses and cancels; once the goal
    /// is paused or cancelled, the start-ups still under way are abandoned (dropping one ends its
    /// agent's process group) and those already done are kept, to be shut down with the others.
    async fn collect_early(&mut self, early: Vec<EarlyStart>) -> Result<(), OpsError> {
        let mut interrupted = false;
        for mut handle in early {
            if interrupted {
                handle.abort();
            }
            let joined = match self.interruptible(&mut handle).await? {
                Some(joined) => joined,
                None => {
                    interrupted = true;
                    handle.abort();
                    handle.await
                }
            };
            if let Ok(Some((task, session))) = joined {
                self.learn_kimi(&session);
                self.sessions.insert(task, session);
            }
        }
        Ok(())
    }

    /// Wait for an attempt to finish, or for the next poll.
    async fn wait(&mut self) -> Result<(), OpsError> {
        tokio::select! {
            Some(result) = self.results_rx.recv() => {
                // Attempts that ended together are recorded in one goal commit.
                let mut results = vec![result];
                while let Ok(more) = self.results_rx.try_recv() {
                    results.push(more);
                }
                let Some(stop) = self.finish_attempts(results).await? else {
                    return Ok(());
                };
                self.stop_all("an infrastructure failure stopped the goal").await?;
                self.stop_on_infrastructure(stop).await
            }
            () = tokio::time::sleep(POLL) => self.tick().await,
        }
    }

    /// Between steps: see what other processes recorded, renew the lease, enforce budgets and Ctrl-C.
    async fn tick(&mut self) -> Result<(), OpsError> {
        self.ledger.refresh()?;
        let goal = &self.ledger.snapshot().goal;
        let stopping = match goal.status() {
            GoalStatus::Paused | GoalStatus::Cancelled => Some(goal.status().as_str().to_owned()),
            _ if *self.interrupt.borrow() => Some("interrupted from the terminal".to_owned()),
            _ if self.budget.is_exhausted() => Some("the token budget is exhausted".to_owned()),
            _ if self.time_exhausted() => Some("the time budget is exhausted".to_owned()),
            _ => None,
        };
        if let Some(reason) = stopping {
            for running in self.running.values() {
                running.cancel.send_replace(Some(reason.clone()));
            }
        }
        let (clock, host) = (self.ctx.clock.clone(), self.ctx.actor.host.clone());
        let ttl = self.ctx.settings.lease_ttl_secs;
        let renewal_due = |snapshot: &Snapshot| {
            let lease = snapshot.goal.lease();
            lease.is_some_and(|l| is_ours(l, &host) && l.needs_renewal_within(clock.now(), ttl))
        };
        if !renewal_due(self.ledger.snapshot()) {
            return Ok(());
        }
        self.ledger
            .record(|draft| {
                if renewal_due(draft.snapshot()) {
                    draft.record(EventBody::LeaseRenewed {
                        expires_at: Lease::expiry(clock.now(), ttl),
                    });
                }
                Ok(())
            })
            .await
    }

    fn time_exhausted(&self) -> bool {
        let goal = &self.ledger.snapshot().goal;
        let pending = self.ledger.pending_secs();
        goal.limits()
            .time_secs
            .is_some_and(|l| goal.usage().active_secs.saturating_add(pending) >= l)
    }

    /// Record finished attempts in one goal commit: each one's outcome, what it decides for its task,
    /// its usage and files. Each attempt is judged on the tip the transaction finds, with the attempts
    /// before it applied; then each agent session is kept for a retry or ended. The infrastructure
    /// failure that interrupted one of them, if any: the goal must stop on it.
    async fn finish_attempts(
        &mut self,
        mut results: Vec<AttemptResult>,
    ) -> Result<Option<InfraStop>, OpsError> {
        for result in &results {
            self.running.remove(&result.task);
        }
        let infrastructure = results.iter_mut().find_map(|r| r.infrastructure.take());
        let attachments: Vec<(String, Vec<u8>)> = results
            .iter_mut()
            .flat_map(|r| std::mem::take(&mut r.attachments))
            .collect();
        let proves: Vec<ObjectId> = results
            .iter()
            .filter_map(|r| r.commit.map(CommitId::object_id))
            .collect();
        let next = self
            .ledger
            .record(|draft| {
                let mut next = BTreeMap::new();
                for result in &results {
                    if let Some((status, bodies)) = finished(draft.snapshot(), result) {
                        next.insert(result.task.clone(), status);
                        draft.record_all(bodies);
                    }
                }
                draft.attach(attachments.iter().cloned());
                draft.prove(proves.iter().copied());
                Ok(next)
            })
            .await?;
        for result in &mut results {
            let Some(session) = result.session.take() else {
                continue;
            };
            self.learn_kimi(&session);
            if next.get(&result.task) == Some(&TaskStatus::Pending) {
                self.sessions.insert(result.task.clone(), session);
            } else if self.keeps_spare(&session, next.get(&result.task)) {
                self.hosted.push(result.task.clone());
                self.spares.push((result.task.clone(), session));
            } else {
                tokio::task::spawn_local(session.shutdown());
            }
        }
        Ok(infrastructure)
    }

    /// Whether to keep a finished task's agent (its task now `status`) to host the correctness
    /// reviewer (`hosting::keeps_spare`).
    fn keeps_spare(&self, session: &Session, status: Option<&TaskStatus>) -> bool {
        let snapshot = self.ledger.snapshot();
        let options = &snapshot.goal.options();
        let facts = SpareFacts {
            until_done: self.mode == Mode::UntilDone,
            status: status.copied(),
            tasks_wait: (snapshot.tasks.tasks.iter()).any(|t| t.status == TaskStatus::Pending),
            renewable: session.renewable(),
            spare_held: !self.spares.is_empty(),
            reviewer_ahead: self.warm.as_ref().is_some_and(|w| w.ahead()[0]),
        };
        let (task, reviewer) = (options.agent_of(Role::Task), options.agent_of(Role::Reviewer));
        keeps_spare(&facts, task, reviewer, self.kimi)
    }

    /// Ask every running attempt to stop and record each as it ends.
    async fn stop_all(&mut self, reason: &str) -> Result<(), OpsError> {
        for running in self.running.values() {
            running.cancel.send_replace(Some(reason.to_owned()));
        }
        while !self.running.is_empty() {
            match self.results_rx.recv().await {
                Some(result) => {
                    self.finish_attempts(vec![result]).await?;
                }
                None => break,
            }
        }
        Ok(())
    }
}

/// Record the start of `phase` unless the goal is in it already.
fn enter(draft: &mut Draft<'_>, phase: Option<Phase>) {
    if let Some(phase) = phase.filter(|p| *p != draft.snapshot().goal.phase()) {
        draft.record(EventBody::PhaseStarted { phase });
    }
}

/// The events recording `left`, found in the worktree of the interrupted `task`: the work saved, and a
/// decision naming what changed (shown by `goal show`).
fn work_left_events(task: &TaskId, left: &WorkLeft) -> [EventBody; 2] {
    let mut why = format!(
        "its worktree changed after its attempt was stopped; the change is kept on the task branch at {} and its next attempt builds on it",
        left.commit.short()
    );
    if !left.outside.is_empty() {
        why.push_str(&format!(
            "; what it changed outside the write set ({}) is kept in that commit and taken back out after it",
            left.outside.join(", ")
        ));
    }
    let decision = DecisionDraft::new(
        "work_left",
        format!("kept the work left in the worktree of {task}"),
        why,
    )
    .with_evidence(left.evidence.iter().cloned());
    [
        EventBody::WorkSaved {
            task: task.clone(),
            commit: left.commit,
            reason: "changes made in its worktree after its attempt was stopped".to_owned(),
        },
        EventBody::DecisionRecorded(decision),
    ]
}

/// Whether `lease` is held by this process.
fn is_ours(lease: &Lease, host: &str) -> bool {
    lease.host == host && lease.pid == process::own_pid()
}

fn tokens_left(snapshot: &Snapshot) -> Option<u64> {
    let goal = &snapshot.goal;
    goal.limits()
        .tokens
        .map(|l| l.saturating_sub(goal.usage().tokens))
}

/// The task status a finished attempt leads to on `view`, and the events recording it: its outcome,
/// its usage, the follow-up tasks it proposed that are accepted, and the decisions about them.
fn finished(view: &Snapshot, result: &AttemptResult) -> Option<(TaskStatus, Vec<EventBody>)> {
    let task = view.tasks.get(&result.task)?;
    let (next, note) = after_attempt(task, &result.outcome, result.tree);
    let follow_ups = if next == TaskStatus::Done {
        follow_up::review(view, &result.task, &result.answer)
    } else {
        follow_up::Review::default()
    };
    let mut bodies = vec![
        EventBody::AttemptFinished(AttemptReport {
            task: result.task.clone(),
            attempt: result.attempt,
            outcome: result.outcome.clone(),
            commit: result.commit,
            tree: result.tree,
            tokens: result.usage.total(),
            session_id: result.session_id.clone(),
            next,
            note,
        }),
        EventBody::UsageAdded(UsageDelta::of_sessions(&result.usage, &result.cost)),
    ];
    if !follow_ups.accepted.is_empty() {
        bodies.push(EventBody::FollowUpsAdded {
            from: result.task.clone(),
            tasks: follow_ups.accepted,
        });
    }
    bodies.extend(follow_ups.decisions.into_iter().map(EventBody::DecisionRecorded));
    Some((next, bodies))
}

/// What an attempt's spec needs besides the goal's state: the controller's settings and sessions.
struct SpecEnv<'a> {
    ctx: &'a Context,
    checks: &'a [String],
    sessions: &'a BTreeMap<TaskId, Session>,
    prices: &'a PriceTable,
    kimi: KimiFound,
}

/// The next attempt at `task` on `snapshot` (recorded at `goal_tip`).
fn attempt_spec(env: &SpecEnv<'_>, snapshot: &Snapshot, goal_tip: ObjectId, task: &Task) -> AttemptSpec {
    let goal = &snapshot.goal;
    let attempt = u32::try_from(task.attempts.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let start_commit = if task.depends_on.is_empty() {
        goal.base().commit
    } else {
        goal.integration().map_or(goal.base().commit, |i| i.commit)
    };
    let brief = prompt::task_brief(&goal.brief_text(), task, env.checks);
    let prompt = match task.attempts.last().map(|a| &a.outcome) {
        None => brief,
        Some(outcome) => {
            let feedback = match outcome {
                AttemptOutcome::Failed { evidence } => prompt::retry(evidence),
                AttemptOutcome::Interrupted { reason } => prompt::resume_after_interruption(reason),
                _ => String::new(),
            };
            if env.sessions.contains_key(&task.id) {
                feedback
            } else {
                format!("{brief}\n{feedback}")
            }
        }
    };
    let settings = &env.ctx.settings;
    AttemptSpec {
        goal: goal.id().clone(),
        task: task.clone(),
        attempt,
        worktree: task_dir(env.ctx, goal.id(), &task.id),
        branch: task_branch(goal.id(), &task.id),
        start_commit,
        prompt,
        baseline: goal
            .baseline()
            .as_ref()
            .map(|b| b.gates.clone())
            .unwrap_or_default(),
        agent: resolved(goal.options().agent_of(Role::Task), env.kimi),
        launch: agent_launch(env.ctx),
        turn_timeout: settings.turn_timeout,
        fallback_identity: env.ctx.store.repo().committer().is_none(),
        goal_tip,
        prices: env.prices.clone(),
    }
}

/// How agent sessions of this repository are started: program, arguments and model from the settings;
/// known secrets are withheld from them.
pub(super) fn agent_launch(ctx: &Context) -> Launch {
    let settings = &ctx.settings;
    Launch {
        program: settings.kimi_program.clone(),
        qwen_program: settings.qwen_program.clone(),
        extra_args: settings.agent_args.clone(),
        env: Vec::new(),
        model: settings.agent_model.clone(),
        known_secrets: settings::secret_env_values(),
        sandbox: ctx.sandbox(),
    }
}

/// `git diff --numstat` between two commits, as proof file statistics.
pub(super) fn changed_files(repo: &Path, base: CommitId, result: CommitId) -> Vec<FileStat> {
    let (base, result) = (base.to_string(), result.to_string());
    git(repo, &["diff", "--numstat", "--no-renames", &base, &result])
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let (added, removed, path) = (parts.next()?, parts.next()?, parts.next()?);
            Some(FileStat {
                path: path.to_owned(),
                added: added.parse().ok(),
                removed: removed.parse().ok(),
            })
        })
        .collect()
}

/// The commands of the gates of `commit`, to show the agent how it will be judged.
fn run_commands(ctx: &Context, commit: CommitId) -> Vec<String> {
    gate::load_gates(&ctx.store, commit.object_id())
        .map(|set| set.gates.iter().map(|g| g.gate.command.display()).collect())
        .unwrap_or_default()
}

/// The runners of the gates of `commit` (none when its configuration cannot be read: the run reports
/// that).
fn gate_runners(ctx: &Context, commit: CommitId) -> Vec<RunnerKind> {
    gate::load_gates(&ctx.store, commit.object_id())
        .map(|set| set.gates.iter().map(|g| g.gate.runner).collect())
        .unwrap_or_default()
}

fn dimension_name(d: BudgetDimension) -> &'static str {
    match d {
        BudgetDimension::Time => "time",
        BudgetDimension::Tokens => "tokens",
        BudgetDimension::Usd => "usd",
    }
}
