//! Events: the only way goal state changes (DESIGN §2, §3).
//!
//! Owns the event record (unique id, time, actor, kind, data) and the canonical order used to merge
//! two logs. Applying events to state is `snapshot::Snapshot::apply`. Pure.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::budget::{BudgetAddition, Usd, format_secs};
use super::decision::DecisionDraft;
use super::delivery::address::{FeedbackRecorded, RepliesPosted};
use super::delivery::record::{DeliveryEvent, DeliveryFailed, MergeAwaitingHuman, MergeRecorded, PrOpened};
use super::goal::GateRun;
use super::graph::TaskGraph;
use super::harness::HarnessCheck;
use super::ids::{CommitId, EventId, TaskId, TreeId, short};
use super::lease::Lease;
use super::options::RunOptions;
use super::oracle::BaseRun;
use super::plan::PlanArtifacts;
use super::proof::Proof;
use super::review::Review;
use super::status::{GoalKind, GoalStatus, Phase};
use super::task::{AttemptOutcome, Task, TaskStatus};
use super::usage::{Cost, TokenUsage};

/// Who caused an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// What kind of actor.
    pub kind: ActorKind,
    /// A person's `Name <email>`, a controller's or agent's name.
    pub name: String,
    /// Host name of the machine.
    pub host: String,
}

/// Kinds of actors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person at a command line.
    Human,
    /// The goal controller.
    Controller,
    /// A coding agent.
    Agent,
    /// git-omk itself (sync, migration).
    System,
}

/// The commit a goal starts from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRef {
    /// What the user asked for (`HEAD`, a branch, a sha).
    pub rev: String,
    /// The commit it resolved to.
    pub commit: CommitId,
}

/// The data of the first event of every goal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalCreated {
    /// The normalised goal text.
    pub text: String,
    /// Where work starts.
    pub base: BaseRef,
    /// Everything `run` was asked to do.
    pub options: RunOptions,
    /// Random bytes making the creation event (and so the goal id) unique.
    pub nonce: String,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum EventBody {
    /// The goal was created.
    GoalCreated(GoalCreated),
    /// Intake classified the goal; non-empty `questions` means it is not testable as written.
    IntakeCompleted {
        /// The kind.
        kind: GoalKind,
        /// One-line title.
        title: String,
        /// Questions a human must answer before work can start.
        questions: Vec<String>,
    },
    /// Planning produced its artifacts and task graph.
    PlanRecorded {
        /// Brief, technical plan, test spec, oracle.
        plan: PlanArtifacts,
        /// The validated task graph.
        tasks: TaskGraph,
    },
    /// The planner agent's session ended: its validated plan replaced the provisional heuristic one,
    /// or the heuristic plan stays (with why).
    PlannerFinished(Box<PlannerReport>),
    /// Follow-up tasks a task's agent proposed, validated, joined the graph.
    FollowUpsAdded {
        /// The task whose agent proposed them.
        from: TaskId,
        /// The new tasks (pending, ordered after `from` and every task they may collide with).
        tasks: Vec<Task>,
    },
    /// A decision with its reasons.
    DecisionRecorded(DecisionDraft),
    /// A human paused the goal.
    Paused {
        /// Why, if given.
        reason: Option<String>,
    },
    /// A human resumed the goal.
    Resumed {},
    /// A human hid a finished goal from `goal list` (`goal archive`); `list --all` still shows it.
    Archived {},
    /// A human brought an archived goal back into `goal list` (`goal unarchive`).
    Unarchived {},
    /// A human cancelled the goal.
    Cancelled {
        /// Why, if given.
        reason: Option<String>,
    },
    /// A human raised the budget.
    BudgetAdded(BudgetAddition),
    /// A human answered the intake questions of a goal blocked on them (`goal answer`); intake and
    /// planning run again on the goal's text with every answer so far.
    QuestionsAnswered {
        /// The answer as given.
        answer: String,
    },
    /// A human integrator accepted the result.
    Accepted {
        /// What they accepted and why.
        summary: String,
        /// The one task (slice) whose findings they accepted (`goal accept --task`); none: the whole goal.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<TaskId>,
    },
    /// A human integrator rejected the result.
    Rejected {
        /// Why.
        reason: String,
    },
    /// A controller took the goal (its lease), possibly over a dead or expired one.
    ControllerStarted {
        /// The new lease.
        lease: Lease,
        /// The lease it replaced, when it took over.
        took_over: Option<Lease>,
    },
    /// The controller renewed its lease.
    LeaseRenewed {
        /// The new expiry.
        expires_at: DateTime<Utc>,
    },
    /// The controller stopped driving the goal and released its lease.
    ControllerStopped {
        /// Why.
        reason: String,
    },
    /// A phase began.
    PhaseStarted {
        /// The phase.
        phase: Phase,
    },
    /// The integration branch was created at the base commit.
    IntegrationStarted {
        /// Branch name.
        branch: String,
        /// Its first tip (the base commit).
        commit: CommitId,
    },
    /// Gates ran on the base commit.
    BaselineRecorded(GateRun),
    /// An attempt at a task started.
    TaskDispatched {
        /// The task.
        task: TaskId,
        /// Attempt number (1-based).
        attempt: u32,
        /// Task branch.
        branch: String,
        /// Commit the attempt starts from.
        start_commit: CommitId,
    },
    /// An attempt ended.
    AttemptFinished(AttemptReport),
    /// A done task's branch was merged into the integration branch.
    TaskIntegrated {
        /// The task.
        task: TaskId,
        /// The new integration tip.
        commit: CommitId,
    },
    /// A task cannot run (a dependency failed, an integration conflict needs a human).
    TaskBlocked {
        /// The task.
        task: TaskId,
        /// Why.
        reason: String,
    },
    /// Resources spent since the previous record.
    UsageAdded(UsageDelta),
    /// Gates ran on the integrated result.
    VerificationRecorded(GateRun),
    /// The result's changed tests ran against the base code.
    BaseRunRecorded(BaseRun),
    /// The result's test harness files were compared with the base's (and, when they changed, the
    /// result's gates ran again with the base's versions restored).
    HarnessChecked(HarnessCheck),
    /// The review and security review of the result.
    ReviewRecorded(Review),
    /// The proof was computed; its status becomes the goal's.
    ProofRecorded(Box<Proof>),
    /// Work found in a task's worktree (uncommitted, or committed but not yet recorded) was committed
    /// and made part of the goal: before the worktree was removed, or when it changed after the task's
    /// attempt was interrupted.
    WorkSaved {
        /// The task.
        task: TaskId,
        /// The commit holding the work (an `Omk-Proves` parent of the recording commit).
        commit: CommitId,
        /// Why it had to be saved.
        reason: String,
    },
    /// The controller ended the goal in a terminal status other than a proof's verdict.
    GoalStopped {
        /// The status.
        status: GoalStatus,
        /// Why, in words.
        reason: String,
    },
    /// The goal's pull request was opened or updated.
    PrOpened(PrOpened),
    /// The goal's pull request was merged.
    MergeRecorded(MergeRecorded),
    /// Merge policy `manual`: a human must merge, with this command.
    MergeAwaitingHuman(MergeAwaitingHuman),
    /// A delivery step failed; nothing was lost.
    DeliveryFailed(DeliveryFailed),
    /// New feedback from the goal's PR was recorded with the fix tasks it became.
    ReviewFeedback(FeedbackRecorded),
    /// git-omk answered recorded feedback on the PR.
    ReviewReplied(RepliesPosted),
}

/// How an attempt ended, and what it decided for its task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptReport {
    /// The task.
    pub task: TaskId,
    /// Attempt number.
    pub attempt: u32,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// Commit on the task branch after the attempt.
    pub commit: Option<CommitId>,
    /// Its tree.
    pub tree: Option<TreeId>,
    /// Tokens the attempt spent.
    pub tokens: u64,
    /// The engine session (to resume it).
    pub session_id: Option<String>,
    /// The task's status from now on (decided by `retry::after_attempt`).
    pub next: TaskStatus,
    /// Why the task stops, when it does.
    pub note: Option<String>,
}

/// How a planner agent's session went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannerReport {
    /// Engine name.
    pub engine: String,
    /// Engine session id, when the engine has one.
    pub session_id: Option<String>,
    /// Tokens the session spent (also recorded as usage).
    pub tokens: u64,
    /// What became of its plan.
    pub outcome: PlannerOutcome,
}

/// What became of a planner agent's plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum PlannerOutcome {
    /// The plan was valid (at once or after the repair round) and replaces the heuristic one.
    Adopted {
        /// Its artifacts.
        plan: PlanArtifacts,
        /// Its validated graph.
        tasks: TaskGraph,
    },
    /// The heuristic plan stays.
    KeptHeuristic {
        /// Why the agent's plan was not used.
        reason: String,
    },
}

/// Resources spent in one step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageDelta {
    /// Tokens.
    pub tokens: u64,
    /// Of which estimated.
    pub tokens_estimated: u64,
    /// Cost of the priced tokens.
    pub usd_micros: Usd,
    /// Tokens whose model had no price.
    pub unpriced_tokens: u64,
    /// Seconds of active wall time.
    pub active_secs: u64,
}

impl UsageDelta {
    /// The tokens and cost of agent sessions (no active time).
    pub fn of_sessions(usage: &TokenUsage, cost: &Cost) -> UsageDelta {
        UsageDelta {
            tokens: usage.total(),
            tokens_estimated: usage.estimated,
            usd_micros: cost.usd,
            unpriced_tokens: cost.unpriced_tokens,
            active_secs: 0,
        }
    }
}

impl EventBody {
    /// The kind name, as in JSON and the `Omk-Event` trailer.
    pub fn kind_name(&self) -> &'static str {
        match self {
            EventBody::GoalCreated(_) => "goal_created",
            EventBody::IntakeCompleted { .. } => "intake_completed",
            EventBody::PlanRecorded { .. } => "plan_recorded",
            EventBody::PlannerFinished(_) => "planner_finished",
            EventBody::FollowUpsAdded { .. } => "follow_ups_added",
            EventBody::DecisionRecorded(_) => "decision_recorded",
            EventBody::Paused { .. } => "paused",
            EventBody::Resumed {} => "resumed",
            EventBody::Archived {} => "archived",
            EventBody::Unarchived {} => "unarchived",
            EventBody::Cancelled { .. } => "cancelled",
            EventBody::BudgetAdded(_) => "budget_added",
            EventBody::QuestionsAnswered { .. } => "questions_answered",
            EventBody::Accepted { .. } => "accepted",
            EventBody::Rejected { .. } => "rejected",
            EventBody::ControllerStarted { .. } => "controller_started",
            EventBody::LeaseRenewed { .. } => "lease_renewed",
            EventBody::ControllerStopped { .. } => "controller_stopped",
            EventBody::PhaseStarted { .. } => "phase_started",
            EventBody::IntegrationStarted { .. } => "integration_started",
            EventBody::BaselineRecorded(_) => "baseline_recorded",
            EventBody::TaskDispatched { .. } => "task_dispatched",
            EventBody::AttemptFinished(_) => "attempt_finished",
            EventBody::TaskIntegrated { .. } => "task_integrated",
            EventBody::TaskBlocked { .. } => "task_blocked",
            EventBody::UsageAdded(_) => "usage_added",
            EventBody::VerificationRecorded(_) => "verification_recorded",
            EventBody::BaseRunRecorded(_) => "base_run_recorded",
            EventBody::HarnessChecked(_) => "harness_checked",
            EventBody::ReviewRecorded(_) => "review_recorded",
            EventBody::ProofRecorded(_) => "proof_recorded",
            EventBody::WorkSaved { .. } => "work_saved",
            EventBody::GoalStopped { .. } => "goal_stopped",
            EventBody::PrOpened(_) => "pr_opened",
            EventBody::MergeRecorded(_) => "merge_recorded",
            EventBody::MergeAwaitingHuman(_) => "merge_awaiting_human",
            EventBody::DeliveryFailed(_) => "delivery_failed",
            EventBody::ReviewFeedback(_) => "review_feedback",
            EventBody::ReviewReplied(_) => "review_replied",
        }
    }

    /// A short human summary for timelines.
    pub fn summary(&self) -> String {
        match self {
            EventBody::GoalCreated(c) => format!("created from {} ({})", c.base.rev, short(c.base.commit)),
            EventBody::IntakeCompleted { kind, questions, .. } if questions.is_empty() => {
                format!("intake: {kind}")
            }
            EventBody::IntakeCompleted { kind, questions, .. } => {
                format!("intake: {kind}, {} question(s) for a human", questions.len())
            }
            EventBody::PlanRecorded { tasks, .. } => format!("plan recorded: {} task(s)", tasks.tasks.len()),
            EventBody::PlannerFinished(r) => match &r.outcome {
                PlannerOutcome::Adopted { tasks, .. } => {
                    format!("planner agent's plan adopted: {} task(s)", tasks.tasks.len())
                }
                PlannerOutcome::KeptHeuristic { reason } => format!("heuristic plan kept: {reason}"),
            },
            EventBody::FollowUpsAdded { from, tasks } => {
                let ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
                format!("follow-up task(s) from {from}: {}", ids.join(", "))
            }
            EventBody::DecisionRecorded(d) => format!("decided ({}): {}", d.step, d.chosen),
            EventBody::Paused { reason } => with_reason("paused", reason.as_deref()),
            EventBody::Resumed {} => "resumed".to_owned(),
            EventBody::Archived {} => "archived: hidden from `goal list`".to_owned(),
            EventBody::Unarchived {} => "unarchived: listed again".to_owned(),
            EventBody::Cancelled { reason } => with_reason("cancelled", reason.as_deref()),
            EventBody::BudgetAdded(a) => format!("budget raised: {}", describe_addition(a)),
            EventBody::QuestionsAnswered { answer } => format!("questions answered: {answer}"),
            EventBody::Accepted { summary, task: None } => format!("accepted: {summary}"),
            EventBody::Accepted {
                summary,
                task: Some(task),
            } => format!("accepted task {task}: {summary}"),
            EventBody::Rejected { reason } => format!("rejected: {reason}"),
            EventBody::ControllerStarted { lease, took_over } => match took_over {
                Some(old) => format!(
                    "controller {} pid {} took over from {} pid {}",
                    lease.host, lease.pid, old.host, old.pid
                ),
                None => format!("controller {} pid {} started", lease.host, lease.pid),
            },
            EventBody::LeaseRenewed { expires_at } => {
                format!("lease renewed until {}", expires_at.to_rfc3339())
            }
            EventBody::ControllerStopped { reason } => format!("controller stopped: {reason}"),
            EventBody::PhaseStarted { phase } => format!("phase {phase}"),
            EventBody::IntegrationStarted { branch, .. } => format!("integration branch {branch} created"),
            EventBody::BaselineRecorded(run) => format!("baseline: {}", gate_summary(run)),
            EventBody::TaskDispatched { task, attempt, .. } => {
                format!("task {task}: attempt {attempt} started")
            }
            EventBody::AttemptFinished(r) => attempt_summary(r),
            EventBody::TaskIntegrated { task, commit } => {
                format!("task {task} integrated ({})", short(commit))
            }
            EventBody::TaskBlocked { task, reason } => format!("task {task} blocked: {reason}"),
            EventBody::UsageAdded(u) => format!("usage +{} tokens, +{}s", u.tokens, u.active_secs),
            EventBody::VerificationRecorded(run) => format!("verification: {}", gate_summary(run)),
            EventBody::WorkSaved { task, commit, reason } => {
                format!("task {task}: work saved as {} ({reason})", short(commit))
            }
            EventBody::GoalStopped { status, reason } => format!("stopped {status}: {reason}"),
            EventBody::HarnessChecked(check) => harness_summary(check),
            EventBody::BaseRunRecorded(run) => format!(
                "the result's tests ran on the base code ({} file(s))",
                run.overlaid.len()
            ),
            EventBody::ReviewRecorded(r) => {
                format!(
                    "review: {} finding(s), {} blocking",
                    r.findings.len(),
                    r.blocking().count()
                )
            }
            EventBody::ProofRecorded(p) => format!("proof: {} ({} reason(s))", p.status, p.reasons.len()),
            EventBody::ReviewFeedback(b) => format!(
                "review round {} on PR #{}: {} comment(s), {} fix task(s)",
                b.round,
                b.pr,
                b.items.len(),
                b.tasks.len()
            ),
            EventBody::ReviewReplied(r) => format!("replied to {} review comment(s)", r.replies.len()),
            EventBody::PrOpened(p) => DeliveryEvent::PrOpened(p).summary(),
            EventBody::MergeRecorded(m) => DeliveryEvent::MergeRecorded(m).summary(),
            EventBody::MergeAwaitingHuman(m) => DeliveryEvent::MergeAwaitingHuman(m).summary(),
            EventBody::DeliveryFailed(f) => DeliveryEvent::DeliveryFailed(f).summary(),
        }
    }
}

fn gate_summary(run: &GateRun) -> String {
    let passed = run.gates.iter().filter(|g| g.outcome.passed()).count();
    format!(
        "{passed}/{} gate(s) passed on {}",
        run.gates.len(),
        short(run.commit)
    )
}

fn harness_summary(check: &HarnessCheck) -> String {
    if check.changes.is_empty() {
        return format!("test harness unchanged on {}", short(check.result));
    }
    let paths: Vec<&str> = check.changes.iter().map(|c| c.path.as_str()).collect();
    let run = match (&check.restored, &check.error) {
        (Some(run), _) => format!("with the base's versions: {}", gate_summary(run)),
        (None, Some(e)) => format!("the restored run failed: {e}"),
        (None, None) => "not run again".to_owned(),
    };
    format!("test harness changed ({}); {run}", paths.join(", "))
}

fn attempt_summary(r: &AttemptReport) -> String {
    let outcome = match &r.outcome {
        AttemptOutcome::Succeeded => "succeeded".to_owned(),
        AttemptOutcome::Running => "running".to_owned(),
        AttemptOutcome::Failed { evidence } => {
            let words: Vec<&str> = evidence.split_whitespace().collect();
            let mut line = words.join(" ");
            if line.len() > 160 {
                let cut = (0..=160).rev().find(|i| line.is_char_boundary(*i)).unwrap_or(0);
                line.truncate(cut);
                line.push('…');
            }
            format!("failed: {line}")
        }
        AttemptOutcome::Interrupted { reason } => format!("interrupted: {reason}"),
    };
    format!(
        "task {}: attempt {} {outcome}; task {}",
        r.task,
        r.attempt,
        r.next.as_str()
    )
}

fn with_reason(what: &str, reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("{what}: {r}"),
        None => what.to_owned(),
    }
}

/// Describe a budget addition like `+2h, +100000 tokens`.
pub fn describe_addition(a: &BudgetAddition) -> String {
    let mut parts = Vec::new();
    if let Some(t) = a.time_secs {
        parts.push(format!("+{}", format_secs(t)));
    }
    if let Some(t) = a.tokens {
        parts.push(format!("+{t} tokens"));
    }
    if let Some(u) = a.usd_micros {
        parts.push(format!("+{u}"));
    }
    parts.join(", ")
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unique across machines.
    pub id: EventId,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who caused it.
    pub actor: Actor,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

impl Event {
    /// The canonical order of events from different machines: time, then id.
    pub fn canonical_cmp(&self, other: &Event) -> Ordering {
        self.at.cmp(&other.at).then_with(|| self.id.cmp(&other.id))
    }
}

#[cfg(test)]
mod kinds;
#[cfg(test)]
mod stored;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_kind_and_data() {
        let e = Event {
            id: EventId::parse("abc").unwrap(),
            at: DateTime::parse_from_rfc3339("2026-11-22T03:11:42Z")
                .unwrap()
                .with_timezone(&Utc),
            actor: Actor {
                kind: ActorKind::Human,
                name: "A <a@x>".into(),
                host: "h".into(),
            },
            body: EventBody::Paused {
                reason: Some("lunch".into()),
            },
        };
        let json = serde_json::to_string(&e).unwrap();
        assert!(
            json.contains(r#""kind":"paused","data":{"reason":"lunch"}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
        let resumed = Event {
            body: EventBody::Resumed {},
            ..e
        };
        let json = serde_json::to_string(&resumed).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), resumed);
    }
}
