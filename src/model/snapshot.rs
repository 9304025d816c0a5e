//! A goal snapshot and the state machine that derives it from events (DESIGN §2, §3).
//!
//! Owns `apply`: the one total function from (snapshot, event) to the next snapshot. Total means it never
//! fails: merged logs from two machines may carry events in an order no single machine would have
//! produced, and replaying them must still be deterministic. Whether a command is *allowed* is decided
//! beforehand in `control`. Pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::budget::{BudgetAddition, Usage};
use super::decision::{Decision, DecisionDraft};
use super::delivery::address::{apply_recorded, apply_replies};
use super::event::{AttemptReport, Event, EventBody, GoalCreated, PlannerOutcome, UsageDelta};
use super::goal::{Blocker, GoalState, HumanDecision, Integration, LastEvent, SCHEMA_VERSION, Verdict};
use super::graph::TaskGraph;
use super::ids::{CommitId, GoalId, TaskId};
use super::lease::Lease;
use super::plan::{PlanArtifacts, PlannerInfo};
use super::proof::Proof;
use super::status::{GoalKind, GoalStatus, Phase};
use super::task::{Attempt, AttemptOutcome, Task, TaskStatus};
use super::text::title_of;

mod delivery;

/// Everything a goal commit records about the goal, besides attachments (gate logs, transcripts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `goal.json`.
    pub goal: GoalState,
    /// `tasks.json`.
    pub tasks: TaskGraph,
    /// `decisions.jsonl`.
    pub decisions: Vec<Decision>,
    /// `plan/…`, once planned.
    pub plan: Option<PlanArtifacts>,
    /// `proof.json`, once a proof was recorded.
    #[serde(default)]
    pub proof: Option<Proof>,
}

/// A log that cannot start a goal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The first event must be `goal_created`.
    #[error("the first event of goal {goal} is `{found}`, not `goal_created`")]
    NotACreation {
        /// The goal.
        goal: GoalId,
        /// What was found.
        found: String,
    },
    /// No events at all.
    #[error("goal {0} has no events")]
    Empty(GoalId),
}

impl Snapshot {
    /// The snapshot right after the creation event.
    pub fn genesis(id: &GoalId, event: &Event) -> Result<Snapshot, ReplayError> {
        let EventBody::GoalCreated(created) = &event.body else {
            return Err(ReplayError::NotACreation {
                goal: id.clone(),
                found: event.body.kind_name().to_owned(),
            });
        };
        let mut snapshot = Snapshot {
            goal: initial_state(id, event, created),
            tasks: TaskGraph::default(),
            decisions: Vec::new(),
            plan: None,
            proof: None,
        };
        snapshot.touch(event);
        Ok(snapshot)
    }

    /// Derive a snapshot from a whole log.
    pub fn replay<'a>(
        id: &GoalId,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<Snapshot, ReplayError> {
        let mut events = events.into_iter();
        let first = events.next().ok_or_else(|| ReplayError::Empty(id.clone()))?;
        let mut snapshot = Snapshot::genesis(id, first)?;
        for event in events {
            snapshot.apply(event);
        }
        Ok(snapshot)
    }

    /// Apply one event. Total: an event that makes no sense in the current state changes nothing but the
    /// bookkeeping (last event, count), so replays of merged logs stay deterministic.
    ///
    /// Every event kind is matched by name (no catch-all), so a new kind does not compile until it says
    /// what it changes; this is the only place goal status changes.
    pub fn apply(&mut self, event: &Event) {
        match &event.body {
            EventBody::GoalCreated(_) => {}
            EventBody::IntakeCompleted {
                kind,
                title,
                questions,
            } => self.on_intake(*kind, title, questions),
            EventBody::PlanRecorded { plan, tasks } => self.on_plan(plan, tasks),
            EventBody::PlannerFinished(report) => self.on_planner(&report.outcome),
            EventBody::FollowUpsAdded { tasks, .. } => self.on_follow_ups(tasks),
            EventBody::DecisionRecorded(d) => self.decisions.push(recorded(event, d)),
            EventBody::Paused { .. } => self.on_pause(),
            EventBody::Resumed {} => self.on_resume(),
            EventBody::Archived {} => self.goal.archived = self.goal.status.is_terminal(),
            EventBody::Unarchived {} => self.goal.archived = false,
            EventBody::Cancelled { .. } => self.on_cancel(),
            EventBody::BudgetAdded(add) => self.on_budget_added(add),
            EventBody::ReviewFeedback(batch) => apply_recorded(self, batch),
            EventBody::ReviewReplied(replies) => apply_replies(&mut self.goal, replies),
            EventBody::QuestionsAnswered { answer } => self.on_answer(answer),
            EventBody::Accepted { summary, task } => self.on_verdict(event, Verdict::Accept, summary, task),
            EventBody::Rejected { reason } => self.on_verdict(event, Verdict::Reject, reason, &None),
            EventBody::ControllerStarted { lease, .. } => self.on_controller_started(lease),
            EventBody::LeaseRenewed { expires_at } => self.on_lease_renewed(*expires_at),
            EventBody::ControllerStopped { .. } => self.goal.lease = None,
            EventBody::PhaseStarted { phase } => self.goal.phase = *phase,
            EventBody::IntegrationStarted { branch, commit } => self.on_integration_started(branch, *commit),
            EventBody::BaselineRecorded(run) => self.goal.baseline = Some(run.clone()),
            EventBody::TaskDispatched {
                task,
                attempt,
                branch,
                start_commit,
            } => self.on_dispatched(event, task, *attempt, branch, *start_commit),
            EventBody::AttemptFinished(report) => self.on_attempt_finished(event, report),
            EventBody::TaskIntegrated { task, commit } => self.on_task_integrated(task, *commit),
            EventBody::TaskBlocked { task, reason } => self.on_task_blocked(task, reason),
            EventBody::UsageAdded(delta) => add_usage(&mut self.goal.usage, delta),
            EventBody::VerificationRecorded(run) => self.goal.verification = Some(run.clone()),
            EventBody::BaseRunRecorded(run) => self.goal.base_run = Some(run.clone()),
            EventBody::HarnessChecked(check) => self.goal.harness = Some(check.clone()),
            EventBody::ReviewRecorded(review) => self.goal.review = Some(review.clone()),
            EventBody::ProofRecorded(proof) => self.on_proof(proof),
            // The saved work is an `Omk-Proves` parent of the recording commit: reachable, not state.
            EventBody::WorkSaved { .. } => {}
            EventBody::GoalStopped { status, reason } => self.on_stopped(*status, reason),
            EventBody::PrOpened(pr) => self.on_pr_opened(pr),
            EventBody::MergeRecorded(merge) => self.on_merge_recorded(merge),
            EventBody::MergeAwaitingHuman(waiting) => self.on_merge_awaiting_human(waiting),
            EventBody::DeliveryFailed(failure) => self.on_delivery_failed(failure),
        }
        // Only finished goals stay archived: one that runs again (resumed, budget raised) is listed.
        if self.goal.status.is_active() {
            self.goal.archived = false;
        }
        if matches!(
            event.body,
            EventBody::ProofRecorded(_)
                | EventBody::PrOpened(_)
                | EventBody::MergeRecorded(_)
                | EventBody::MergeAwaitingHuman(_)
                | EventBody::ReviewFeedback(_)
                | EventBody::ReviewReplied(_)
        ) {
            self.refresh_proof_delivery();
        }
        self.touch(event);
    }

    fn on_cancel(&mut self) {
        self.goal.status = GoalStatus::Cancelled;
        self.goal.paused_from = None;
    }

    fn on_budget_added(&mut self, add: &BudgetAddition) {
        self.goal.limits = self.goal.limits.raised(add);
        if self.goal.status == GoalStatus::NeedsMoreBudget {
            self.goal.status = self.resume_target();
        }
    }

    fn on_controller_started(&mut self, lease: &Lease) {
        let goal = &mut self.goal;
        goal.lease = Some(lease.clone());
        goal.stop_reason = None;
        if goal.status != GoalStatus::Cancelled {
            goal.status = GoalStatus::Running;
            goal.paused_from = None;
        }
    }

    fn on_lease_renewed(&mut self, expires_at: DateTime<Utc>) {
        if let Some(lease) = self.goal.lease.as_mut() {
            lease.expires_at = expires_at;
        }
    }

    fn on_integration_started(&mut self, branch: &str, commit: CommitId) {
        self.goal.integration = Some(Integration {
            branch: branch.to_owned(),
            commit,
        });
        self.goal.delivery.branch = Some(branch.to_owned());
    }

    fn on_proof(&mut self, proof: &Proof) {
        self.goal.status = proof.status;
        self.goal.stop_reason = Some(proof_reason(proof));
        self.proof = Some(proof.clone());
    }

    fn on_stopped(&mut self, status: GoalStatus, reason: &str) {
        self.goal.status = status;
        self.goal.stop_reason = Some(reason.to_owned());
    }

    fn on_dispatched(&mut self, event: &Event, task: &TaskId, attempt: u32, branch: &str, start: CommitId) {
        let Some(t) = self.tasks.get_mut(task) else { return };
        t.status = TaskStatus::Running;
        t.branch = Some(branch.to_owned());
        t.attempts.push(Attempt {
            number: attempt,
            started_at: event.at,
            ended_at: None,
            session_id: t.session_id.clone(),
            tokens: 0,
            commit: None,
            start_commit: Some(start),
            tree: None,
            outcome: AttemptOutcome::Running,
        });
    }

    fn on_task_integrated(&mut self, task: &TaskId, commit: CommitId) {
        if let Some(integration) = self.goal.integration.as_mut() {
            integration.commit = commit;
        }
        if let Some(t) = self.tasks.get_mut(task) {
            t.integrated = Some(commit);
        }
    }

    fn on_task_blocked(&mut self, task: &TaskId, reason: &str) {
        if let Some(t) = self.tasks.get_mut(task) {
            t.status = TaskStatus::Blocked;
            t.note = Some(reason.to_owned());
        }
    }

    fn on_attempt_finished(&mut self, event: &Event, report: &AttemptReport) {
        let Some(t) = self.tasks.get_mut(&report.task) else {
            return;
        };
        t.status = report.next;
        t.note = report.note.clone();
        if report.session_id.is_some() {
            t.session_id = report.session_id.clone();
        }
        if let Some(a) = t.attempts.iter_mut().rev().find(|a| a.number == report.attempt) {
            a.ended_at = Some(event.at);
            a.outcome = report.outcome.clone();
            a.commit = report.commit;
            a.tree = report.tree;
            a.tokens = report.tokens;
            a.session_id = report.session_id.clone().or(a.session_id.take());
        }
    }

    fn touch(&mut self, event: &Event) {
        self.goal.updated_at = self.goal.updated_at.max(event.at);
        self.goal.event_count += 1;
        self.goal.last_event = Some(LastEvent {
            id: event.id.clone(),
            kind: event.body.kind_name().to_owned(),
            at: event.at,
            summary: event.body.summary(),
        });
    }

    fn on_intake(&mut self, kind: GoalKind, title: &str, questions: &[String]) {
        self.goal.kind = Some(kind);
        self.goal.title = title.to_owned();
        if questions.is_empty() {
            self.goal.phase = Phase::Planning;
        } else {
            self.goal.phase = Phase::Intake;
            self.goal.status = GoalStatus::BlockedOnHuman;
            self.goal.blockers.push(Blocker::Questions {
                questions: questions.to_vec(),
            });
        }
    }

    /// An answer lifts the questions; the intake recorded with it decides whether new ones stand.
    fn on_answer(&mut self, answer: &str) {
        let goal = &mut self.goal;
        goal.answers.push(answer.to_owned());
        goal.blockers.retain(|b| !matches!(b, Blocker::Questions { .. }));
        if goal.status == GoalStatus::BlockedOnHuman && goal.blockers.is_empty() {
            goal.status = GoalStatus::Planned;
        }
    }

    fn on_plan(&mut self, plan: &PlanArtifacts, tasks: &TaskGraph) {
        self.plan = Some(plan.clone());
        self.tasks = tasks.clone();
        self.goal.phase = Phase::Planning;
        if self.goal.status.is_active() && self.goal.status != GoalStatus::Paused {
            self.goal.status = GoalStatus::Planned;
        }
    }

    /// An adopted agent plan replaces the provisional one only while no task has started; otherwise (or
    /// when the heuristic plan stays) the plan records that the agent planner was tried.
    fn on_planner(&mut self, outcome: &PlannerOutcome) {
        let reason = match outcome {
            PlannerOutcome::Adopted { plan, tasks } if !self.work_started() => {
                self.plan = Some(plan.clone());
                self.tasks = tasks.clone();
                return;
            }
            PlannerOutcome::Adopted { .. } => "the agent's plan arrived after work had started",
            PlannerOutcome::KeptHeuristic { reason } => reason.as_str(),
        };
        if let Some(plan) = self.plan.as_mut() {
            plan.planner = PlannerInfo::HeuristicFallback {
                reason: reason.to_owned(),
            };
        }
    }

    /// Follow-ups join the graph when it stays valid with them (it always does for what the controller
    /// recorded; a merged log may disagree, and then they are left out deterministically).
    fn on_follow_ups(&mut self, tasks: &[Task]) {
        let mut all = self.tasks.tasks.clone();
        all.extend(tasks.iter().cloned());
        if let Ok(graph) = TaskGraph::new(all) {
            self.tasks = graph;
        }
    }

    /// Whether any task was dispatched or the integration branch exists.
    pub fn work_started(&self) -> bool {
        self.goal.integration.is_some() || self.tasks.tasks.iter().any(|t| !t.attempts.is_empty())
    }

    fn on_pause(&mut self) {
        if matches!(self.goal.status, GoalStatus::Planned | GoalStatus::Running) {
            self.goal.paused_from = Some(self.goal.status);
            self.goal.status = GoalStatus::Paused;
        }
    }

    fn on_resume(&mut self) {
        let resumable = self.goal.status == GoalStatus::Paused
            || (self.goal.status.is_terminal() && self.goal.status != GoalStatus::Ready);
        if resumable {
            self.goal.status = self
                .goal
                .paused_from
                .take()
                .unwrap_or_else(|| self.resume_target());
            self.goal
                .blockers
                .retain(|b| !matches!(b, Blocker::Rejected { .. } | Blocker::ReviewQuestions { .. }));
            self.reopen_blocked_tasks();
        }
    }

    /// Resuming reopens blocked tasks: one whose last attempt succeeded with a commit was blocked at
    /// integration (a merge conflict), so its integration is retried, from the task branch, where the
    /// conflict may have been resolved meanwhile; one that never ran was blocked by a dependency, so it
    /// waits again (and is blocked again if that dependency is still broken).
    fn reopen_blocked_tasks(&mut self) {
        for t in self
            .tasks
            .tasks
            .iter_mut()
            .filter(|t| t.status == TaskStatus::Blocked && t.integrated.is_none())
        {
            let succeeded = t
                .attempts
                .last()
                .is_some_and(|a| a.outcome == AttemptOutcome::Succeeded && a.commit.is_some());
            if succeeded {
                t.status = TaskStatus::Done;
                t.note = None;
            } else if t.attempts.is_empty() {
                t.status = TaskStatus::Pending;
                t.note = None;
            }
        }
    }

    fn on_verdict(&mut self, event: &Event, verdict: Verdict, text: &str, task: &Option<TaskId>) {
        self.goal.human_decisions.push(HumanDecision {
            verdict,
            text: text.to_owned(),
            by: event.actor.name.clone(),
            at: event.at,
            event: event.id.clone(),
            task: task.clone(),
        });
        self.goal
            .blockers
            .retain(|b| !matches!(b, Blocker::Rejected { .. }));
        if verdict == Verdict::Reject {
            self.goal.blockers.push(Blocker::Rejected {
                reason: text.to_owned(),
            });
            self.goal.status = GoalStatus::NotReady;
        }
    }

    /// The status a stopped goal continues in: `planned` if no task ever started, else `running`.
    pub fn resume_target(&self) -> GoalStatus {
        let started = self
            .tasks
            .tasks
            .iter()
            .any(|t| !t.attempts.is_empty() || t.status != TaskStatus::Pending);
        if started || self.goal.phase > Phase::Planning {
            GoalStatus::Running
        } else {
            GoalStatus::Planned
        }
    }
}

fn proof_reason(proof: &Proof) -> String {
    if proof.reasons.is_empty() {
        "the evidence supports ready: every task is integrated, every required gate and oracle check passes, no blocking finding is open".to_owned()
    } else {
        proof
            .reasons
            .iter()
            .map(|r| r.describe())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A decision as the event that recorded it dates it.
fn recorded(event: &Event, draft: &DecisionDraft) -> Decision {
    Decision {
        id: event.id.clone(),
        at: event.at,
        step: draft.step.clone(),
        chosen: draft.chosen.clone(),
        why: draft.why.clone(),
        evidence: draft.evidence.clone(),
    }
}

fn add_usage(usage: &mut Usage, delta: &UsageDelta) {
    usage.tokens = usage.tokens.saturating_add(delta.tokens);
    usage.tokens_estimated = usage.tokens_estimated.saturating_add(delta.tokens_estimated);
    usage.usd_micros = usage.usd_micros.saturating_add(delta.usd_micros);
    usage.unpriced_tokens = usage.unpriced_tokens.saturating_add(delta.unpriced_tokens);
    usage.active_secs = usage.active_secs.saturating_add(delta.active_secs);
}

fn initial_state(id: &GoalId, event: &Event, created: &GoalCreated) -> GoalState {
    GoalState {
        schema_version: SCHEMA_VERSION,
        id: id.clone(),
        title: title_of(&created.text),
        text: created.text.clone(),
        answers: Vec::new(),
        kind: None,
        status: GoalStatus::Planned,
        phase: Phase::Intake,
        paused_from: None,
        base: created.base.clone(),
        options: created.options.clone(),
        limits: created.options.limits,
        usage: Default::default(),
        lease: None,
        created_by: event.actor.clone(),
        created_at: event.at,
        updated_at: event.at,
        blockers: Vec::new(),
        delivery: Default::default(),
        human_decisions: Vec::new(),
        last_event: None,
        event_count: 0,
        integration: None,
        baseline: None,
        verification: None,
        stop_reason: None,
        base_run: None,
        harness: None,
        review: None,
        archived: false,
    }
}

/// The snapshot of a merge: `base` with the union of both sides' events (deduplicated by id) applied in
/// canonical order (time, then id). The result does not depend on which side is "ours".
pub fn merge_logs(base: &Snapshot, ours: &[Event], theirs: &[Event]) -> Snapshot {
    let mut union: Vec<&Event> = ours.iter().chain(theirs).collect();
    union.sort_by(|a, b| a.canonical_cmp(b));
    union.dedup_by(|a, b| a.id == b.id);
    let mut snapshot = base.clone();
    for event in union {
        snapshot.apply(event);
    }
    snapshot
}
