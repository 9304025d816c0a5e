//! The controller loop (DESIGN §3): decide (`model::controller::next_step`, pure) → act (agents, gates,
//! git) → record (one goal commit, compare-and-swap), until the goal reaches a terminal status, is
//! paused or cancelled, or runs out of budget.
//!
//! Everything runs on one thread (a tokio `LocalSet`): agents and gates are asynchronous child
//! processes, so one thread drives them all, and the goal store is never shared across threads.
//! Acting never changes the goal except through recorded events, so a crash at any point is recovered
//! by running this loop again on the recorded tip.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gix::ObjectId;
use tokio::sync::{mpsc, watch};

use super::attempt::{AttemptResult, AttemptSpec, TokenBudget, run_attempt, timing};
use super::base_run;
use super::gc::{after_goal, gc, over_quota};
use super::harness;
use super::integrate::{Remover, integrate_tasks, oid};
use super::planning::{self, Planner};
use super::review::{self, Reviewers};
use super::worktrees::{check_dir, find_task_dir, integration_branch, task_branch, task_dir};
use super::{Context, OpsError};
use crate::agent::{Launch, Session};
use crate::gate::{self, ExecOptions, GateError, PlanOptions};
use crate::git::integrate::tree_of;
use crate::git::run::{git, update_branch};
use crate::git::worktree;
use crate::model::budget::BudgetDimension;
use crate::model::controller::{Next, next_step, start};
use crate::model::event::{AttemptReport, Event, EventBody, UsageDelta};
use crate::model::follow_up;
use crate::model::goal::GateRun;
use crate::model::harness::HarnessCheck;
use crate::model::ids::TaskId;
use crate::model::lease::Lease;
use crate::model::options::Role;
use crate::model::oracle::BaseRun;
use crate::model::prompt;
use crate::model::proof::{FileStat, prove};
use crate::model::retry::after_attempt;
use crate::model::snapshot::Snapshot;
use crate::model::status::GoalStatus;
use crate::model::task::{AttemptOutcome, Task, TaskStatus};
use crate::model::usage::PriceTable;
use crate::process;
use crate::settings;
use crate::store::write::Record;
use crate::store::{GoalRef, StoreError};

/// How often the loop looks for pauses, cancels and lease renewals while agents run.
const POLL: Duration = Duration::from_millis(400);

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
    goal: GoalRef,
    repo_dir: PathBuf,
    mode: Mode,
    tip: ObjectId,
    snapshot: Snapshot,
    running: BTreeMap<TaskId, Running>,
    sessions: BTreeMap<TaskId, Session>,
    results_tx: mpsc::UnboundedSender<AttemptResult>,
    results_rx: mpsc::UnboundedReceiver<AttemptResult>,
    budget: Rc<TokenBudget>,
    since_record: Instant,
    carried_ms: u128,
    waves: u32,
    checks: Vec<String>,
    prices: PriceTable,
    interrupt: watch::Receiver<bool>,
    faults: BTreeMap<String, u32>,
    observer: Observer<'o>,
    /// Background removal of integrated tasks' worktrees.
    remover: Remover,
}

/// Drive `goal` as far as `mode` says and return the status it ended in.
pub async fn drive(
    ctx: Rc<Context>,
    goal: GoalRef,
    mode: Mode,
    observer: Observer<'_>,
) -> Result<GoalStatus, OpsError> {
    let repo_dir = ctx
        .store
        .workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| OpsError::Usage("the repository has no work tree".to_owned()))?;
    let loaded = ctx.load(&goal)?;
    let prices = settings::price_table(ctx.store.repo())?;
    let (results_tx, results_rx) = mpsc::unbounded_channel();
    let mut driver = Driver {
        ctx: ctx.clone(),
        goal,
        repo_dir: repo_dir.clone(),
        mode,
        tip: loaded.tip,
        snapshot: loaded.snapshot,
        running: BTreeMap::new(),
        sessions: BTreeMap::new(),
        results_tx,
        results_rx,
        budget: Rc::new(TokenBudget::new(None)),
        since_record: Instant::now(),
        carried_ms: 0,
        waves: 0,
        checks: Vec::new(),
        prices,
        interrupt: interrupt_on_ctrl_c(),
        faults: BTreeMap::new(),
        observer,
        remover: Remover::new(repo_dir, ctx.store.common_dir().to_path_buf()),
    };
    driver.acquire()?;
    let outcome = driver.run().await;
    driver.remover.settle().await;
    driver.shutdown_sessions().await;
    outcome
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
    /// Take the goal's lease (refused while another live controller holds it).
    fn acquire(&mut self) -> Result<(), OpsError> {
        let now = self.ctx.clock.now();
        let me = Lease::new(&self.ctx.actor.host, process::own_pid(), now);
        let holder_dead = self
            .snapshot
            .goal
            .lease
            .as_ref()
            .is_some_and(|l| l.host == self.ctx.actor.host && !process::pid_alive(l.pid));
        let bodies = start(&self.snapshot, &me, now, holder_dead)?;
        self.record(bodies, Vec::new(), Vec::new())
    }

    async fn run(&mut self) -> Result<GoalStatus, OpsError> {
        loop {
            if *self.interrupt.borrow() && self.snapshot.goal.status == GoalStatus::Running {
                self.record(
                    vec![EventBody::Paused {
                        reason: Some("interrupted from the terminal (Ctrl-C)".to_owned()),
                    }],
                    Vec::new(),
                    Vec::new(),
                )?;
            }
            let active: BTreeSet<TaskId> = self.running.keys().cloned().collect();
            let next = next_step(&self.snapshot, &active);
            let bodies: Vec<EventBody> = next
                .phase(&self.snapshot)
                .filter(|p| *p != self.snapshot.goal.phase)
                .map(|phase| EventBody::PhaseStarted { phase })
                .into_iter()
                .collect();
            let (label, began) = (next.label(), self.ctx.clock.now());
            let stopped = self.step(next, bodies).await?;
            timing(self.snapshot.goal.id.as_str(), label, began, self.ctx.clock.now());
            if let Some(status) = stopped {
                return Ok(status);
            }
        }
    }

    /// Take one step; the status to exit with when the loop ends here.
    async fn step(&mut self, next: Next, mut bodies: Vec<EventBody>) -> Result<Option<GoalStatus>, OpsError> {
        match next {
            Next::Halt { status } => {
                self.stop_all(status.as_str()).await?;
                self.release(&format!("the goal was {status}"))?;
                return Ok(Some(status));
            }
            Next::Finished(status) => {
                self.remover.settle().await;
                self.clean_up(status)?;
                self.release(&format!("the goal is {status}"))?;
                return Ok(Some(status));
            }
            Next::OutOfBudget(dims) => {
                self.stop_all("the budget is exhausted").await?;
                let names: Vec<&str> = dims.iter().map(|d| dimension_name(*d)).collect();
                let reason = format!(
                    "the {} budget is exhausted; raise it with `git omk goal budget-add`",
                    names.join(" and ")
                );
                bodies.push(EventBody::GoalStopped {
                    status: GoalStatus::NeedsMoreBudget,
                    reason,
                });
                self.record(bodies, Vec::new(), Vec::new())?;
            }
            Next::Recover(tasks) => self.recover(tasks, bodies)?,
            Next::Plan => self.plan(bodies).await?,
            Next::StartIntegration => self.start_integration(bodies)?,
            Next::Baseline => self.baseline(bodies).await?,
            Next::Integrate(tasks) => self.integrate(&tasks, bodies)?,
            Next::Block(list) => {
                bodies.extend(
                    list.into_iter()
                        .map(|(task, reason)| EventBody::TaskBlocked { task, reason }),
                );
                self.record(bodies, Vec::new(), Vec::new())?;
            }
            Next::Dispatch(tasks) => {
                if self.mode == Mode::OneWave && self.waves > 0 {
                    if self.running.is_empty() {
                        self.release("one wave done")?;
                        return Ok(Some(self.snapshot.goal.status));
                    }
                    self.wait().await?;
                } else if let Some(reason) = self.quota_problem().await {
                    bodies.push(EventBody::GoalStopped {
                        status: GoalStatus::Failed,
                        reason,
                    });
                    self.record(bodies, Vec::new(), Vec::new())?;
                } else {
                    self.waves += 1;
                    self.dispatch(tasks, bodies)?;
                }
            }
            Next::Wait => self.wait().await?,
            Next::Verify => self.verify(bodies).await?,
            Next::HarnessCheck => self.harness_check(bodies).await?,
            Next::BaseRun => self.base_run(bodies).await?,
            Next::Review => self.review(bodies).await?,
            Next::Conclude => self.conclude(bodies)?,
        }
        Ok(None)
    }

    /// Record `bodies` as one goal commit on the current tip. They are facts, so when another writer
    /// moved the tip first they are applied again on the new tip.
    fn record(
        &mut self,
        mut bodies: Vec<EventBody>,
        attachments: Vec<(String, Vec<u8>)>,
        proves: Vec<ObjectId>,
    ) -> Result<(), OpsError> {
        if let Some(delta) = self.active_time() {
            bodies.push(EventBody::UsageAdded(delta));
        }
        if bodies.is_empty() {
            return Ok(());
        }
        let events: Vec<Event> = bodies.into_iter().map(|b| self.ctx.controller_event(b)).collect();
        for _ in 0..200 {
            let mut snapshot = self.snapshot.clone();
            for e in &events {
                snapshot.apply(e);
            }
            let record = Record {
                goal: self.goal.clone(),
                expected: Some(self.tip),
                snapshot: &snapshot,
                events: &events,
                attachments: attachments.clone(),
                proves: proves.clone(),
                merge_parent: None,
                at: self.ctx.clock.now(),
            };
            let (id, message) = self.ctx.store.write_step(record)?;
            self.fault("before-ref-update");
            match self.ctx.store.move_ref(&self.goal, Some(self.tip), id, &message) {
                Ok(()) => {
                    self.tip = id;
                    self.snapshot = snapshot;
                    (self.observer)(&self.snapshot, &events);
                    self.ctx.maintain();
                    return Ok(());
                }
                Err(StoreError::Conflict { .. }) => self.reload()?,
                Err(e) => return Err(e.into()),
            }
        }
        Err(OpsError::Contended(self.goal.to_string()))
    }

    /// Active wall time since the previous record, in whole seconds (the remainder carries over).
    fn active_time(&mut self) -> Option<UsageDelta> {
        let elapsed = self.since_record.elapsed().as_millis() + self.carried_ms;
        self.since_record = Instant::now();
        self.carried_ms = elapsed % 1000;
        let secs = u64::try_from(elapsed / 1000).unwrap_or(u64::MAX);
        (secs > 0).then(|| UsageDelta {
            active_secs: secs,
            ..UsageDelta::default()
        })
    }

    fn reload(&mut self) -> Result<(), OpsError> {
        let loaded = self.ctx.load(&self.goal)?;
        self.tip = loaded.tip;
        self.snapshot = loaded.snapshot;
        Ok(())
    }

    /// Kill ourselves at a named point when the crash tests ask for it: `OMK_FAULT=<point>` (the first
    /// time) or `<point>:<n>` (the n-th time this process reaches it).
    fn fault(&mut self, point: &str) {
        let Some(spec) = self.ctx.settings.fault.as_deref() else {
            return;
        };
        let (name, nth) = spec
            .split_once(':')
            .map_or((spec, 1), |(n, k)| (n, k.parse().unwrap_or(1)));
        if name == point {
            let seen = self.faults.entry(point.to_owned()).or_insert(0);
            *seen += 1;
            if *seen == nth {
                process::kill_self();
            }
        }
    }

    /// Remove the goal's worktrees once its work is recorded (terminal statuses other than a failure,
    /// whose worktrees are kept for inspection until `gc`).
    fn clean_up(&mut self, status: GoalStatus) -> Result<(), OpsError> {
        if status != GoalStatus::Failed {
            after_goal(&self.ctx, &self.snapshot.goal.id)?;
            self.reload()?;
        }
        Ok(())
    }

    /// When the worktrees are over quota, collect garbage; a message if that is not enough.
    async fn quota_problem(&mut self) -> Option<String> {
        if !over_quota(&self.ctx) {
            return None;
        }
        self.remover.settle().await;
        let _ = gc(&self.ctx);
        let _ = self.reload();
        over_quota(&self.ctx).then(|| {
            format!(
                "the worktrees of this repository exceed omk.worktreeQuota ({} bytes) even after `git omk gc`; raise the quota or free space, then resume",
                self.ctx.settings.worktree_quota
            )
        })
    }

    fn release(&mut self, reason: &str) -> Result<(), OpsError> {
        if self.snapshot.goal.lease.is_some() {
            self.record(
                vec![EventBody::ControllerStopped {
                    reason: reason.to_owned(),
                }],
                Vec::new(),
                Vec::new(),
            )?;
        }
        Ok(())
    }

    /// Ask the planner agent for a plan, over a clean checkout of the base, and record what became of
    /// it (its plan, or the heuristic one kept with the reason) with its usage. A planner left running by
    /// a crashed controller is stopped first.
    async fn plan(&mut self, mut bodies: Vec<EventBody>) -> Result<(), OpsError> {
        let base = self.snapshot.goal.base.commit.clone();
        let dir = check_dir(&self.ctx, &self.snapshot.goal.id, "planner");
        process::kill_processes_in(&dir);
        worktree::ensure_detached(&self.repo_dir, self.ctx.store.common_dir(), &dir, &base).map_err(infra)?;
        let options = self.snapshot.goal.options.clone();
        let (launch, prices) = (self.launch(), self.prices.clone());
        let planner = Planner {
            agent: options.agent_of(Role::Planner),
            launch: &launch,
            prices: &prices,
            timeout: self.ctx.settings.turn_timeout,
            tokens: [options.planner_token_budget, self.tokens_left()]
                .into_iter()
                .flatten()
                .min(),
        };
        let (ctx, snapshot, checkout) = (self.ctx.clone(), self.snapshot.clone(), dir.clone());
        let outcome = self
            .interruptible(async move { planning::plan(&ctx, &snapshot, &checkout, &planner).await })
            .await?;
        let _ = worktree::remove_checkout(&self.repo_dir, &dir);
        let Some(outcome) = outcome else { return Ok(()) };
        let outcome = outcome?;
        self.fault("planning");
        bodies.push(EventBody::PlannerFinished(Box::new(outcome.report)));
        bodies.extend(outcome.decisions.into_iter().map(EventBody::DecisionRecorded));
        bodies.push(EventBody::UsageAdded(UsageDelta::of_sessions(
            &outcome.usage,
            &outcome.cost,
        )));
        self.record(bodies, outcome.attachments, Vec::new())
    }

    /// Create (or adopt, after a crash) the integration branch at the base commit.
    fn start_integration(&mut self, mut bodies: Vec<EventBody>) -> Result<(), OpsError> {
        let branch = integration_branch(&self.snapshot.goal.id);
        let base = self.snapshot.goal.base.commit.clone();
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
                update_branch(&self.repo_dir, &branch, &base, None).map_err(infra)?;
                base
            }
        };
        bodies.push(EventBody::IntegrationStarted { branch, commit });
        self.record(bodies, Vec::new(), Vec::new())
    }

    async fn baseline(&mut self, mut bodies: Vec<EventBody>) -> Result<(), OpsError> {
        let base = self.snapshot.goal.base.commit.clone();
        match self.gate_run(&base).await? {
            Some((run, attachments)) => {
                self.checks = run_commands(&self.ctx, &base);
                bodies.push(EventBody::BaselineRecorded(run));
                self.record(bodies, attachments, Vec::new())
            }
            None => Ok(()),
        }
    }

    async fn verify(&mut self, mut bodies: Vec<EventBody>) -> Result<(), OpsError> {
        let Some(integration) = self.snapshot.goal.integration.clone() else {
            return Ok(());
        };
        if let Some((run, attachments)) = self.gate_run(&integration.commit).await? {
            bodies.push(EventBody::VerificationRecorded(run));
            // With the base's harness files in place, the check is done with the run (no extra step).
            let base = self.snapshot.goal.base.commit.clone();
            if harness::compare(&self.ctx, &base, &integration.commit)?
                .changes
                .is_empty()
            {
                bodies.push(EventBody::HarnessChecked(HarnessCheck {
                    result: integration.commit.clone(),
                    changes: Vec::new(),
                    restored: None,
                    error: None,
                }));
            }
            let proves = ObjectId::from_hex(integration.commit.as_bytes())
                .ok()
                .into_iter()
                .collect();
            self.record(bodies, attachments, proves)?;
        }
        Ok(())
    }

    /// Compare the result's test harness files with the base's; when they changed, run the result's
    /// gates again with the base's versions restored (the restored commit becomes an `Omk-Proves`
    /// parent, so the evidence stays reachable).
    async fn harness_check(&mut self, mut bodies: Vec<EventBody>) -> Result<(), OpsError> {
        let Some(result) = self.snapshot.goal.integration.as_ref().map(|i| i.commit.clone()) else {
            return Ok(());
        };
        let base = self.snapshot.goal.base.commit.clone();
        let diff = harness::compare(&self.ctx, &base, &result)?;
        let mut check = HarnessCheck {
            result: result.clone(),
            changes: diff.changes.clone(),
            restored: None,
            error: None,
        };
        let (mut attachments, mut proves) = (Vec::new(), Vec::new());
        if !diff.changes.is_empty() {
            let dir = check_dir(
                &self.ctx,
                &self.snapshot.goal.id,
                &format!("harness-{}", &result[..12]),
            );
            let prepared = harness::prepare(&self.ctx, &dir, &result, &diff);
            let _ = worktree::remove_checkout(&self.repo_dir, &dir);
            match prepared? {
                Err(why) => check.error = Some(why),
                Ok(commit) => match self.run_gates_of(&commit).await? {
                    Ok(None) => return Ok(()),
                    Ok(Some((run, files))) => {
                        check.restored = Some(run);
                        attachments = files;
                        proves.extend(ObjectId::from_hex(commit.as_bytes()).ok());
                    }
                    Err(e) => check.error = Some(format!("the gates cannot be run: {e}")),
                },
            }
        }
        bodies.push(EventBody::HarnessChecked(check));
        self.record(bodies, attachments, proves)
    }

    /// Lay the result's changed tests over the base code and run the gates there (bugfix oracle).
    async fn base_run(&mut self, mut bodies: Vec<EventBody>) -> Result<(), OpsError> {
        let Some(result) = self.snapshot.goal.integration.as_ref().map(|i| i.commit.clone()) else {
            return Ok(());
        };
        let base = self.snapshot.goal.base.commit.clone();
        let dir = check_dir(
            &self.ctx,
            &self.snapshot.goal.id,
            &format!("base-run-{}", &result[..12]),
        );
        let prepared = base_run::prepare(&self.ctx, &dir, &base, &result)?;
        let (run, attachments, proves) = match prepared {
            None => (
                BaseRun {
                    commit: base.clone(),
                    result: result.clone(),
                    overlaid: Vec::new(),
                    gates: Vec::new(),
                },
                Vec::new(),
                Vec::new(),
            ),
            Some((commit, overlaid)) => {
                let _ = worktree::remove_checkout(&self.repo_dir, &dir);
                let Some((gates, attachments)) = self.gate_run(&commit).await? else {
                    return Ok(());
                };
                let proves = ObjectId::from_hex(commit.as_bytes()).ok().into_iter().collect();
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
        bodies.push(EventBody::BaseRunRecorded(run));
        self.record(bodies, attachments, proves)
    }

    /// Scanners plus reviewer and security-reviewer sessions over the integrated change.
    async fn review(&mut self, mut bodies: Vec<EventBody>) -> Result<(), OpsError> {
        let Some(result) = self.snapshot.goal.integration.as_ref().map(|i| i.commit.clone()) else {
            return Ok(());
        };
        let base = self.snapshot.goal.base.commit.clone();
        let dir = check_dir(
            &self.ctx,
            &self.snapshot.goal.id,
            &format!("review-{}", &result[..12]),
        );
        worktree::ensure_detached(&self.repo_dir, self.ctx.store.common_dir(), &dir, &result)
            .map_err(infra)?;
        let launch = self.launch();
        let reviewers = Reviewers {
            agent: &self.snapshot.goal.options.agent_of(Role::Reviewer).clone(),
            launch: &launch,
            prices: &self.prices.clone(),
            timeout: self.ctx.settings.turn_timeout,
        };
        let text = self.snapshot.goal.brief_text();
        let ctx = self.ctx.clone();
        let checkout = dir.clone();
        let outcome = self
            .interruptible(
                async move { review::review(&ctx, &text, &base, &result, &checkout, &reviewers).await },
            )
            .await?;
        let _ = worktree::remove_checkout(&self.repo_dir, &dir);
        let Some(outcome) = outcome else { return Ok(()) };
        let outcome = outcome?;
        bodies.push(EventBody::ReviewRecorded(outcome.review));
        bodies.push(EventBody::UsageAdded(UsageDelta::of_sessions(
            &outcome.usage,
            &outcome.cost,
        )));
        self.record(bodies, outcome.attachments, Vec::new())
    }

    /// Compute and record the proof; its status becomes the goal's.
    fn conclude(&mut self, mut bodies: Vec<EventBody>) -> Result<(), OpsError> {
        let base = self.snapshot.goal.base.commit.clone();
        let result = self
            .snapshot
            .goal
            .integration
            .as_ref()
            .map(|i| i.commit.clone())
            .unwrap_or_else(|| base.clone());
        let changed = changed_files(&self.repo_dir, &base, &result);
        let proof = prove(&self.snapshot, changed);
        bodies.push(EventBody::ProofRecorded(Box::new(proof)));
        // The proven commit is an `Omk-Proves` parent of the proof commit: fetching the goal brings it.
        let proves = ObjectId::from_hex(result.as_bytes())
            .ok()
            .filter(|_| result != base)
            .into_iter()
            .collect();
        self.record(bodies, Vec::new(), proves)
    }

    /// Run the gates of `commit` in a clean detached checkout. `None` when a pause or cancel
    /// interrupted them (the caller's next step halts). An invalid gate configuration stops the goal
    /// `blocked_on_human`.
    async fn gate_run(
        &mut self,
        commit: &str,
    ) -> Result<Option<(GateRun, Vec<(String, Vec<u8>)>)>, OpsError> {
        match self.run_gates_of(commit).await? {
            Ok(run) => Ok(run),
            Err(e) => self.gate_config_problem(e).map(|()| None),
        }
    }

    /// Run the gates of `commit` in a clean detached checkout: `Ok(Err(_))` when they cannot be
    /// planned (an invalid configuration), `Ok(Ok(None))` when a pause or cancel interrupted them.
    async fn run_gates_of(
        &mut self,
        commit: &str,
    ) -> Result<Result<Option<(GateRun, Vec<(String, Vec<u8>)>)>, GateError>, OpsError> {
        let id = ObjectId::from_hex(commit.as_bytes()).map_err(|e| OpsError::Usage(e.to_string()))?;
        let dir = check_dir(&self.ctx, &self.snapshot.goal.id, commit);
        worktree::ensure_detached(&self.repo_dir, self.ctx.store.common_dir(), &dir, commit)
            .map_err(infra)?;
        let options = PlanOptions {
            goal_tip: Some(self.tip),
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
            ..ExecOptions::default()
        };
        let report = self
            .interruptible(async move { gate::execute(&plan, &options, ctx.clock.as_ref()).await })
            .await?;
        let _ = worktree::remove_checkout(&self.repo_dir, &dir);
        Ok(Ok(
            report.map(|report| (report.gate_run(commit), report.attachments()))
        ))
    }

    fn gate_config_problem(&mut self, error: GateError) -> Result<(), OpsError> {
        let reason = format!("the gates cannot be run: {error}");
        let status = if matches!(error, GateError::Config { .. }) {
            GoalStatus::BlockedOnHuman
        } else {
            GoalStatus::Failed
        };
        self.record(
            vec![EventBody::GoalStopped { status, reason }],
            Vec::new(),
            Vec::new(),
        )
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
                    self.tick()?;
                    if matches!(self.snapshot.goal.status, GoalStatus::Paused | GoalStatus::Cancelled) || *self.interrupt.borrow() {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Merge done tasks into the integration branch (in dependency order), move the branch once, and
    /// record the step as one goal commit. A crash after the branch moved is recovered by
    /// `integration_tip`, which adopts the branch: the merges are then found already in.
    fn integrate(&mut self, tasks: &[TaskId], mut bodies: Vec<EventBody>) -> Result<(), OpsError> {
        let Some(integration) = self.snapshot.goal.integration.clone() else {
            return Ok(());
        };
        let tip = self.integration_tip(&integration.branch, &integration.commit)?;
        self.fault("integration");
        let step = integrate_tasks(
            &self.ctx,
            &self.repo_dir,
            &self.snapshot,
            &integration.branch,
            tasks,
            tip.clone(),
        )?;
        if step.tip != tip {
            update_branch(&self.repo_dir, &integration.branch, &step.tip, Some(&tip)).map_err(infra)?;
        }
        bodies.extend(step.bodies);
        self.record(bodies, Vec::new(), step.proves)?;
        let goal = self.snapshot.goal.id.clone();
        let done: Vec<(PathBuf, String)> = step
            .merged
            .into_iter()
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
            update_branch(&self.repo_dir, branch, recorded, None).map_err(infra)?;
            return Ok(recorded.to_owned());
        };
        if actual == recorded || self.contains(&actual, recorded)? {
            Ok(actual)
        } else {
            Err(OpsError::Infrastructure(format!(
                "branch {branch} was rewritten: it is at {actual}, which does not contain the recorded {recorded}; restore it with `git update-ref refs/heads/{branch} {recorded}` and resume"
            )))
        }
    }

    /// Whether commit `tip` contains commit `commit` (in-process `git merge-base --is-ancestor`).
    fn contains(&self, tip: &str, commit: &str) -> Result<bool, OpsError> {
        Ok(self.ctx.store.is_ancestor(oid(commit)?, oid(tip)?)?)
    }

    /// Record tasks whose attempts died with a previous controller: save what their worktree holds on
    /// the task branch, and mark them to run again.
    fn recover(&mut self, tasks: Vec<TaskId>, mut bodies: Vec<EventBody>) -> Result<(), OpsError> {
        let mut proves = Vec::new();
        for id in tasks {
            let Some(task) = self.snapshot.tasks.get(&id).cloned() else {
                continue;
            };
            let attempt = task.running_attempt().map_or(0, |a| a.number);
            let path = find_task_dir(&self.ctx, &self.snapshot.goal.id, &id);
            process::kill_processes_in(&path);
            let checkout = worktree::Checkout::locate(self.ctx.store.common_dir(), &path).ok();
            let commit = if let Some(checkout) = checkout {
                let message = format!(
                    "omk: snapshot of interrupted attempt {attempt} of {id}\n\nOmk-Goal: {}\nOmk-Task: {id}\nOmk-Attempt: {attempt}\n",
                    self.snapshot.goal.id
                );
                let fallback = self.ctx.store.repo().committer().is_none();
                worktree::commit_all(&checkout, &message, fallback).map_err(infra)?;
                worktree::head(&checkout).ok()
            } else {
                None
            };
            let tree = commit.as_deref().and_then(|c| tree_of(&self.repo_dir, c).ok());
            proves.extend(
                commit
                    .as_deref()
                    .and_then(|c| ObjectId::from_hex(c.as_bytes()).ok()),
            );
            let outcome = AttemptOutcome::Interrupted {
                reason: "the controller running it stopped".to_owned(),
            };
            let (next, note) = after_attempt(&task, &outcome, tree.as_deref());
            bodies.push(EventBody::AttemptFinished(AttemptReport {
                task: id,
                attempt,
                outcome,
                commit,
                tree,
                tokens: 0,
                session_id: task.session_id.clone(),
                next,
                note,
            }));
        }
        self.record(bodies, Vec::new(), proves)
    }

    /// Start attempts at `tasks`.
    fn dispatch(&mut self, tasks: Vec<TaskId>, mut bodies: Vec<EventBody>) -> Result<(), OpsError> {
        let mut specs = Vec::new();
        for id in tasks {
            let Some(task) = self.snapshot.tasks.get(&id).cloned() else {
                continue;
            };
            let spec = self.attempt_spec(&task);
            bodies.push(EventBody::TaskDispatched {
                task: id.clone(),
                attempt: spec.attempt,
                branch: spec.branch.clone(),
                start_commit: spec.start_commit.clone(),
            });
            specs.push(spec);
        }
        self.record(bodies, Vec::new(), Vec::new())?;
        self.fault("dispatch");
        self.budget = Rc::new(TokenBudget::new(self.tokens_left()));
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

    fn tokens_left(&self) -> Option<u64> {
        let goal = &self.snapshot.goal;
        goal.limits.tokens.map(|l| l.saturating_sub(goal.usage.tokens))
    }

    /// How agents are launched (settings, with git-omk's secrets redacted from transcripts).
    fn launch(&self) -> Launch {
        agent_launch(&self.ctx)
    }

    fn attempt_spec(&self, task: &Task) -> AttemptSpec {
        let goal = &self.snapshot.goal;
        let attempt = u32::try_from(task.attempts.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let start_commit = if task.depends_on.is_empty() {
            goal.base.commit.clone()
        } else {
            goal.integration
                .as_ref()
                .map_or_else(|| goal.base.commit.clone(), |i| i.commit.clone())
        };
        let brief = prompt::task_brief(&goal.brief_text(), task, &self.checks);
        let prompt = match task.attempts.last().map(|a| &a.outcome) {
            None => brief,
            Some(outcome) => {
                let feedback = match outcome {
                    AttemptOutcome::Failed { evidence } => prompt::retry(evidence),
                    AttemptOutcome::Interrupted { reason } => prompt::resume_after_interruption(reason),
                    _ => String::new(),
                };
                if self.sessions.contains_key(&task.id) {
                    feedback
                } else {
                    format!("{brief}\n{feedback}")
                }
            }
        };
        let settings = &self.ctx.settings;
        AttemptSpec {
            goal: goal.id.clone(),
            task: task.clone(),
            attempt,
            worktree: task_dir(&self.ctx, &goal.id, &task.id),
            branch: task_branch(&goal.id, &task.id),
            start_commit,
            prompt,
            baseline: goal
                .baseline
                .as_ref()
                .map(|b| b.gates.clone())
                .unwrap_or_default(),
            agent: goal.options.agent.clone(),
            launch: self.launch(),
            turn_timeout: settings.turn_timeout,
            fallback_identity: self.ctx.store.repo().committer().is_none(),
            goal_tip: self.tip,
            prices: self.prices.clone(),
        }
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
                self.finish_attempts(results)
            }
            () = tokio::time::sleep(POLL) => self.tick(),
        }
    }

    /// Between steps: see what other processes recorded, renew the lease, enforce budgets and Ctrl-C.
    fn tick(&mut self) -> Result<(), OpsError> {
        if self.ctx.store.tip(&self.goal)? != Some(self.tip) {
            self.reload()?;
        }
        let goal = &self.snapshot.goal;
        let stopping = match goal.status {
            GoalStatus::Paused | GoalStatus::Cancelled => Some(goal.status.as_str().to_owned()),
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
        let now = self.ctx.clock.now();
        if goal.lease.as_ref().is_some_and(|l| l.needs_renewal(now)) {
            self.record(
                vec![EventBody::LeaseRenewed {
                    expires_at: Lease::renewed_expiry(now),
                }],
                Vec::new(),
                Vec::new(),
            )?;
        }
        Ok(())
    }

    fn time_exhausted(&self) -> bool {
        let goal = &self.snapshot.goal;
        let pending = self.since_record.elapsed().as_secs();
        goal.limits
            .time_secs
            .is_some_and(|l| goal.usage.active_secs.saturating_add(pending) >= l)
    }

    /// Record finished attempts in one goal commit: each one's outcome, what it decides for its task,
    /// its usage and files. Each attempt is judged on the snapshot with the attempts before it applied.
    fn finish_attempts(&mut self, results: Vec<AttemptResult>) -> Result<(), OpsError> {
        let mut view = self.snapshot.clone();
        let (mut bodies, mut attachments, mut proves) = (Vec::new(), Vec::new(), Vec::new());
        for mut result in results {
            let Some(mut finished) = self.finished(&view, &mut result) else {
                continue;
            };
            for body in &finished {
                view.apply(&self.ctx.controller_event(body.clone()));
            }
            bodies.append(&mut finished);
            attachments.append(&mut result.attachments);
            proves.extend(
                result
                    .commit
                    .as_deref()
                    .and_then(|c| ObjectId::from_hex(c.as_bytes()).ok()),
            );
        }
        self.record(bodies, attachments, proves)
    }

    /// The events recording one finished attempt, judged on `view`; keeps or ends its agent session.
    fn finished(&mut self, view: &Snapshot, result: &mut AttemptResult) -> Option<Vec<EventBody>> {
        self.running.remove(&result.task);
        let task = view.tasks.get(&result.task)?;
        let (next, note) = after_attempt(task, &result.outcome, result.tree.as_deref());
        if let Some(session) = result.session.take() {
            if next == TaskStatus::Pending {
                self.sessions.insert(result.task.clone(), session);
            } else {
                tokio::task::spawn_local(session.shutdown());
            }
        }
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
                commit: result.commit.clone(),
                tree: result.tree.clone(),
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
        Some(bodies)
    }

    /// Ask every running attempt to stop and record each as it ends.
    async fn stop_all(&mut self, reason: &str) -> Result<(), OpsError> {
        for running in self.running.values() {
            running.cancel.send_replace(Some(reason.to_owned()));
        }
        while !self.running.is_empty() {
            match self.results_rx.recv().await {
                Some(result) => self.finish_attempts(vec![result])?,
                None => break,
            }
        }
        Ok(())
    }

    async fn shutdown_sessions(&mut self) {
        for (_, session) in std::mem::take(&mut self.sessions) {
            session.shutdown().await;
        }
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
    }
}

/// `git diff --numstat` between two commits, as proof file statistics.
pub(super) fn changed_files(repo: &Path, base: &str, result: &str) -> Vec<FileStat> {
    git(repo, &["diff", "--numstat", "--no-renames", base, result])
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
fn run_commands(ctx: &Context, commit: &str) -> Vec<String> {
    let Ok(id) = ObjectId::from_hex(commit.as_bytes()) else {
        return Vec::new();
    };
    gate::load_gates(&ctx.store, id)
        .map(|set| set.gates.iter().map(|g| g.gate.command.display()).collect())
        .unwrap_or_default()
}

fn dimension_name(d: BudgetDimension) -> &'static str {
    match d {
        BudgetDimension::Time => "time",
        BudgetDimension::Tokens => "tokens",
        BudgetDimension::Usd => "usd",
    }
}

fn infra(e: impl std::fmt::Display) -> OpsError {
    OpsError::Infrastructure(e.to_string())
}
