//! The JSON output contract (`--json`, `-f json`): explicit, versioned view types. Fields are only ever
//! added within a schema version; renames or removals bump `schema_version` (docs/json-output.md).

mod deliver;
mod delivery;
mod evidence;
mod leaf;
mod record;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use deliver::{
    AddressedView, BaseRequirementsView, ChangedFileView, GateResultView, GateRowView, MergeBlockerView,
    MergeGateView, ProofFactsView, PullReadView, PullStateView, TaskRowView,
};
pub use delivery::{
    AskView, AwaitingHumanView, CheckStateLineView, CheckStateView, DeliveryProblemView, DeliveryStageView,
    DeliveryView, FeedbackItemView, FeedbackKindView, FeedbackView, MergeAwaitingHumanView,
    MergeDecisionView, MergeView, PullRequestView, ReplyView, SlicePrView,
};
pub use evidence::{
    BaseRunView, FailReasonView, FileChangeView, FindingView, GateRunView, GateView, HarnessChangeView,
    HarnessCheckView, HarnessRuleView, MetricView, OutcomeView, ReviewRecordView, RunnerKindView,
    SeverityView, TestOutcomeView, TestResultView,
};
pub use leaf::{
    ConclusionView, FileActionView, GoalKindView, GoalStatusView, LocalChangeView, MergePolicyView,
    PhaseView, RefspecKindView, TaskKindView, TaskStatusView,
};
pub use record::{ActorKindView, ActorView, BlockerView, HumanDecisionView, IntegrationView, VerdictView};

use crate::model::budget::{BudgetDimension, Limits, Usage, exhausted};
use crate::model::decision::Decision;
use crate::model::event::{BaseRef, Event};
use crate::model::gate::identity::RemovedTest;
use crate::model::goal::{GoalState, LastEvent};
use crate::model::ids::{CommitId, EventId, GoalId, TaskId, TreeId};
use crate::model::lease::Lease;
use crate::model::options::RunOptions;
use crate::model::plan::{Oracle, OracleCheck, PlanArtifacts, PlannerInfo, RelevantFile};
use crate::model::proof::{NotReadyReason, Proof, Readiness};
use crate::model::snapshot::Snapshot;
use crate::model::task::{Attempt, AttemptOutcome, Task, TaskStatus};
use crate::model::writeset::PathPattern;
use crate::ops::query::{GoalRow, Relation};
use crate::ops::replay::{TimelineEntry, VerifyReport};
use crate::ops::verify::VerifyReport as GoalVerifyReport;
use crate::store::GoalRef;

/// The version of every JSON document this build prints.
pub const OUTPUT_SCHEMA_VERSION: u32 = 1;

/// Serialise a view with its schema version.
pub fn document<T: Serialize>(view: &T) -> String {
    #[derive(Serialize)]
    struct Doc<'a, T> {
        schema_version: u32,
        #[serde(flatten)]
        view: &'a T,
    }
    let mut s = serde_json::to_string_pretty(&Doc {
        schema_version: OUTPUT_SCHEMA_VERSION,
        view,
    })
    .expect("views serialise: maps have string keys");
    s.push('\n');
    s
}

/// Where a goal copy lives.
#[derive(Serialize)]
pub struct Location {
    /// The goal id.
    pub id: String,
    /// The full ref name.
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// The remote, for fetched copies.
    pub remote: Option<String>,
}

impl Location {
    /// Of a goal ref.
    pub fn of(goal: &GoalRef) -> Location {
        Location {
            id: goal.id().to_string(),
            ref_name: goal.ref_name(),
            remote: goal.remote().map(str::to_owned),
        }
    }
}

/// `goal list --json`.
#[derive(Serialize)]
pub struct ListView {
    /// Goals, newest first.
    pub goals: Vec<ListItem>,
}

/// One listed goal.
#[derive(Serialize)]
pub struct ListItem {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// Tip commit.
    pub tip: String,
    /// Status (null when unreadable).
    pub status: Option<String>,
    /// Phase.
    pub phase: Option<String>,
    /// Title.
    pub title: String,
    /// Creation time.
    pub created_at: Option<String>,
    /// Last update (tip commit time).
    pub updated_at: String,
    /// Other copies on remotes.
    pub remotes: Vec<RemoteCopy>,
    /// Why the goal cannot be read, if so.
    pub problem: Option<String>,
    /// Archived (shown by `list --all` only); absent when not.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
}

/// A copy of a goal on a remote.
#[derive(Serialize)]
pub struct RemoteCopy {
    /// Remote name.
    pub remote: String,
    /// Relation to the listed copy: `same`, `ahead`, `behind`, `diverged` or `remote_only`.
    pub relation: &'static str,
}

/// How a remote copy's relation is named in JSON.
fn relation_name(relation: Relation) -> &'static str {
    match relation {
        Relation::Same => "same",
        Relation::Ahead => "ahead",
        Relation::Behind => "behind",
        Relation::Diverged => "diverged",
        Relation::RemoteOnly => "remote_only",
    }
}

impl ListItem {
    /// From a listed row.
    pub fn of(row: &GoalRow) -> ListItem {
        let m = &row.entry.message;
        ListItem {
            location: Location::of(&row.entry.goal),
            tip: row.entry.tip.to_string(),
            status: m.status.map(|s| s.as_str().to_owned()),
            phase: m.phase.map(|p| p.as_str().to_owned()),
            title: m.title.clone(),
            created_at: m.created.map(|c| c.to_rfc3339()),
            updated_at: row.entry.updated.to_rfc3339(),
            remotes: row
                .remotes
                .iter()
                .map(|(remote, relation)| RemoteCopy {
                    remote: remote.clone(),
                    relation: relation_name(*relation),
                })
                .collect(),
            problem: row.entry.problem.clone(),
            archived: m.archived,
        }
    }
}

/// Task counts per status.
#[derive(Serialize, Default)]
pub struct TaskCounts {
    /// All tasks.
    pub total: usize,
    /// Per status.
    pub pending: usize,
    /// Per status.
    pub running: usize,
    /// Per status.
    pub done: usize,
    /// Per status.
    pub failed: usize,
    /// Per status.
    pub blocked: usize,
    /// Per status.
    pub cancelled: usize,
}

impl TaskCounts {
    /// Count a snapshot's tasks.
    pub fn of(snapshot: &Snapshot) -> TaskCounts {
        let g = &snapshot.tasks;
        TaskCounts {
            total: g.tasks.len(),
            pending: g.count(TaskStatus::Pending),
            running: g.count(TaskStatus::Running),
            done: g.count(TaskStatus::Done),
            failed: g.count(TaskStatus::Failed),
            blocked: g.count(TaskStatus::Blocked),
            cancelled: g.count(TaskStatus::Cancelled),
        }
    }
}

/// `goal status --json`.
#[derive(Serialize)]
pub struct StatusView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// Title.
    pub title: &'a str,
    /// Status.
    pub status: &'a str,
    /// Phase.
    pub phase: &'a str,
    /// Tasks per status.
    pub tasks: TaskCounts,
    /// Ids of running tasks (each has one agent).
    pub running_tasks: Vec<&'a str>,
    /// Budget.
    pub budget: BudgetView,
    /// The controller lease.
    pub lease: Option<LeaseView<'a>>,
    /// The last event.
    pub last_event: Option<LastEventView<'a>>,
    /// Tip commit.
    pub tip: String,
}

/// A controller's lease (in `goal status --json` and `goal show -f json`).
#[derive(Serialize)]
pub struct LeaseView<'a> {
    /// Host name of the holder.
    pub host: &'a str,
    /// Process id of the holder.
    pub pid: u32,
    /// When the holder started.
    pub started_at: DateTime<Utc>,
    /// When the claim lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl<'a> LeaseView<'a> {
    /// Of the model's lease.
    pub fn of(lease: &'a Lease) -> LeaseView<'a> {
        LeaseView {
            host: &lease.host,
            pid: lease.pid,
            started_at: lease.started_at,
            expires_at: lease.expires_at,
        }
    }
}

/// The last event applied to a goal (in `goal status --json` and `goal show -f json`).
#[derive(Serialize)]
pub struct LastEventView<'a> {
    /// Event id.
    pub id: &'a EventId,
    /// Event kind.
    pub kind: &'a str,
    /// When.
    pub at: DateTime<Utc>,
    /// One-line summary.
    pub summary: &'a str,
}

impl<'a> LastEventView<'a> {
    /// Of the model's record of the last event.
    pub fn of(last: &'a LastEvent) -> LastEventView<'a> {
        LastEventView {
            id: &last.id,
            kind: &last.kind,
            at: last.at,
            summary: &last.summary,
        }
    }
}

/// Budget spent and left (in `goal status --json` and `goal budget -f json`): its own types, built field
/// by field, so a change to the model's budget types does not change this document by itself.
#[derive(Serialize)]
pub struct BudgetView {
    /// Limits.
    pub limits: LimitsView,
    /// Spent.
    pub usage: UsageView,
    /// Left (null when unlimited).
    pub remaining: Remaining,
    /// Exhausted dimensions: `time`, `tokens`, `usd`.
    pub exhausted: Vec<&'static str>,
}

/// A goal's limits (`null`: unlimited).
#[derive(Serialize)]
pub struct LimitsView {
    /// Seconds (paused time excluded).
    pub time_secs: Option<u64>,
    /// Tokens.
    pub tokens: Option<u64>,
    /// Micro-dollars.
    pub usd_micros: Option<u64>,
}

impl LimitsView {
    /// Of the model's limits.
    pub fn of(limits: &Limits) -> LimitsView {
        LimitsView {
            time_secs: limits.time_secs,
            tokens: limits.tokens,
            usd_micros: limits.usd_micros.map(|usd| usd.0),
        }
    }
}

/// What a goal spent.
#[derive(Serialize)]
pub struct UsageView {
    /// Seconds a controller actively drove the goal.
    pub active_secs: u64,
    /// Tokens reported by agents, plus estimates.
    pub tokens: u64,
    /// Of `tokens`, how many were estimated.
    pub tokens_estimated: u64,
    /// Micro-dollars of the priced tokens.
    pub usd_micros: u64,
    /// Tokens whose model had no known price.
    pub unpriced_tokens: u64,
}

impl UsageView {
    /// Of the model's usage.
    pub fn of(usage: &Usage) -> UsageView {
        UsageView {
            active_secs: usage.active_secs,
            tokens: usage.tokens,
            tokens_estimated: usage.tokens_estimated,
            usd_micros: usage.usd_micros.0,
            unpriced_tokens: usage.unpriced_tokens,
        }
    }
}

/// How a budget dimension is named in JSON.
fn dimension_name(dimension: BudgetDimension) -> &'static str {
    match dimension {
        BudgetDimension::Time => "time",
        BudgetDimension::Tokens => "tokens",
        BudgetDimension::Usd => "usd",
    }
}

/// What is left of each limit.
#[derive(Serialize)]
pub struct Remaining {
    /// Seconds.
    pub time_secs: Option<u64>,
    /// Tokens.
    pub tokens: Option<u64>,
    /// Micro-dollars.
    pub usd_micros: Option<u64>,
}

impl BudgetView {
    /// Of a goal.
    pub fn of(goal: &GoalState) -> BudgetView {
        BudgetView::new(goal.limits(), goal.usage())
    }

    /// Of limits and usage.
    pub fn new(l: &Limits, u: &Usage) -> BudgetView {
        BudgetView {
            limits: LimitsView::of(l),
            usage: UsageView::of(u),
            remaining: Remaining {
                time_secs: l.time_secs.map(|t| t.saturating_sub(u.active_secs)),
                tokens: l.tokens.map(|t| t.saturating_sub(u.tokens)),
                usd_micros: l.usd_micros.map(|m| m.0.saturating_sub(u.usd_micros.0)),
            },
            exhausted: exhausted(l, u).into_iter().map(dimension_name).collect(),
        }
    }
}

/// `goal budget -f json`.
#[derive(Serialize)]
pub struct BudgetDoc<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// The goal's budget.
    #[serde(flatten)]
    pub budget: BudgetView,
    /// Per task: tokens and attempts.
    pub tasks: Vec<TaskSpend<'a>>,
}

/// What one task spent.
#[derive(Serialize)]
pub struct TaskSpend<'a> {
    /// Task id.
    pub id: &'a str,
    /// Tokens over all attempts.
    pub tokens: u64,
    /// Attempts made.
    pub attempts: usize,
}

impl<'a> TaskSpend<'a> {
    /// Of a task.
    pub fn of(task: &'a Task) -> TaskSpend<'a> {
        TaskSpend {
            id: task.id.as_str(),
            tokens: task.attempts.iter().map(|a| a.tokens).sum(),
            attempts: task.attempts.len(),
        }
    }
}

/// The goal in `goal show -f json`: the fields of `goal.json`, named and ordered here so that a change
/// to the model's state does not change this document by itself (docs/json-output.md).
#[derive(Serialize)]
pub struct GoalView<'a> {
    /// Schema of the goal record (`goal.json`), not of this document.
    pub schema_version: u32,
    /// The goal id.
    pub id: &'a GoalId,
    /// One line.
    pub title: &'a str,
    /// The normalised goal text.
    pub text: &'a str,
    /// A human's answers to intake questions, oldest first (absent when none).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub answers: &'a [String],
    /// Its kind, once intake classified it.
    pub kind: Option<GoalKindView>,
    /// Where it stands.
    pub status: GoalStatusView,
    /// Which phase it is in.
    pub phase: PhaseView,
    /// The status a paused goal resumes to.
    pub paused_from: Option<GoalStatusView>,
    /// Where work starts: `{rev, commit}`.
    pub base: BaseView<'a>,
    /// What `run` was asked.
    pub options: OptionsView,
    /// Current limits.
    pub limits: LimitsView,
    /// What was spent.
    pub usage: UsageView,
    /// The controller lease, if any.
    pub lease: Option<LeaseView<'a>>,
    /// Who created it.
    pub created_by: ActorView<'a>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the last event happened.
    pub updated_at: DateTime<Utc>,
    /// What blocks it.
    pub blockers: Vec<BlockerView<'a>>,
    /// Where it was delivered.
    pub delivery: DeliveryView<'a>,
    /// Human verdicts, oldest first.
    pub human_decisions: Vec<HumanDecisionView<'a>>,
    /// The last event applied.
    pub last_event: Option<LastEventView<'a>>,
    /// How many events made this state.
    pub event_count: u64,
    /// The integration branch and its tip.
    pub integration: Option<IntegrationView<'a>>,
    /// Gates on the base commit.
    pub baseline: Option<GateRunView<'a>>,
    /// Gates on the integrated result.
    pub verification: Option<GateRunView<'a>>,
    /// Why the controller stopped the goal in its current status.
    pub stop_reason: Option<&'a str>,
    /// The result's tests run against the base code.
    pub base_run: Option<BaseRunView<'a>>,
    /// The test harness check.
    pub harness: Option<HarnessCheckView<'a>>,
    /// The review of the result.
    pub review: Option<ReviewRecordView<'a>>,
    /// Hidden from `goal list` (`goal archive`); absent when it is not.
    #[serde(skip_serializing_if = "is_false")]
    pub archived: bool,
}

impl<'a> GoalView<'a> {
    /// Of a goal's state.
    pub fn of(g: &'a GoalState) -> GoalView<'a> {
        GoalView {
            schema_version: g.schema_version(),
            id: g.id(),
            title: g.title(),
            text: g.text(),
            answers: g.answers(),
            kind: g.kind().map(GoalKindView::of),
            status: GoalStatusView::of(g.status()),
            phase: PhaseView::of(g.phase()),
            paused_from: g.paused_from().map(GoalStatusView::of),
            base: BaseView::of(g.base()),
            options: OptionsView::of(g.options()),
            limits: LimitsView::of(g.limits()),
            usage: UsageView::of(g.usage()),
            lease: g.lease().map(LeaseView::of),
            created_by: ActorView::of(g.created_by()),
            created_at: g.created_at(),
            updated_at: g.updated_at(),
            blockers: g.blockers().iter().map(BlockerView::of).collect(),
            delivery: DeliveryView::of(g.delivery()),
            human_decisions: g.human_decisions().iter().map(HumanDecisionView::of).collect(),
            last_event: g.last_event().map(LastEventView::of),
            event_count: g.event_count(),
            integration: g.integration().map(IntegrationView::of),
            baseline: g.baseline().map(GateRunView::of),
            verification: g.verification().map(GateRunView::of),
            stop_reason: g.stop_reason(),
            base_run: g.base_run().map(BaseRunView::of),
            harness: g.harness().map(HarnessCheckView::of),
            review: g.review().map(ReviewRecordView::of),
            archived: g.archived(),
        }
    }
}

/// Where a goal's work starts (in `goal show -f json`).
#[derive(Serialize)]
pub struct BaseView<'a> {
    /// What the user asked for (`HEAD`, a branch, a sha).
    pub rev: &'a str,
    /// The commit it resolved to (40 hex digits).
    pub commit: &'a CommitId,
}

impl<'a> BaseView<'a> {
    /// Of the model's base.
    pub fn of(base: &'a BaseRef) -> BaseView<'a> {
        BaseView {
            rev: &base.rev,
            commit: &base.commit,
        }
    }
}

/// What `run` was asked (in `goal show -f json`).
#[derive(Serialize)]
pub struct OptionsView {
    /// Budget limits of the whole goal.
    pub limits: LimitsView,
    /// Most agents running at once.
    pub max_agents: u16,
    /// The agent of task sessions, as written on the command line (`kimi`, `qwen`, `acp:<command>`, …).
    pub agent: String,
    /// The planner's own agent; absent when it is `agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planner_agent: Option<String>,
    /// The reviewers' own agent; absent when it is `agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewer_agent: Option<String>,
    /// Delivery policy: `local`, `draft-pr` or `auto-pr`.
    pub delivery: &'static str,
    /// Merge policy: `disabled`, `manual` or `gated`.
    pub merge: &'static str,
    /// Whether planning may use an agent.
    pub llm_planner: bool,
    /// Token budget for the planning session.
    pub planner_token_budget: Option<u64>,
    /// Whether the run was asked to go all the way (`--until-ready`).
    pub until_ready: bool,
    /// Each integrated task delivered as its own PR; absent when not.
    #[serde(skip_serializing_if = "is_false")]
    pub slice_prs: bool,
}

impl OptionsView {
    /// Of the model's run options.
    pub fn of(o: &RunOptions) -> OptionsView {
        OptionsView {
            limits: LimitsView::of(&o.limits),
            max_agents: o.max_agents,
            agent: o.agent.to_string(),
            planner_agent: o.planner_agent.as_ref().map(ToString::to_string),
            reviewer_agent: o.reviewer_agent.as_ref().map(ToString::to_string),
            delivery: o.delivery.as_str(),
            merge: o.merge.as_str(),
            llm_planner: o.llm_planner,
            planner_token_budget: o.planner_token_budget,
            until_ready: o.until_ready,
            slice_prs: o.slice_prs,
        }
    }
}

/// One recorded decision (in `goal show -f json`).
#[derive(Serialize)]
pub struct DecisionView<'a> {
    /// The id of the event that recorded it.
    pub id: &'a EventId,
    /// When.
    pub at: DateTime<Utc>,
    /// Which step decided (intake, planning, execution, …).
    pub step: &'a str,
    /// What was chosen.
    pub chosen: &'a str,
    /// Why.
    pub why: &'a str,
    /// What it was based on (files, gate results, counts).
    pub evidence: &'a [String],
}

impl<'a> DecisionView<'a> {
    /// Of the model's decision.
    pub fn of(d: &'a Decision) -> DecisionView<'a> {
        DecisionView {
            id: &d.id,
            at: d.at,
            step: &d.step,
            chosen: &d.chosen,
            why: &d.why,
            evidence: &d.evidence,
        }
    }
}

/// A goal's plan (in `goal show -f json`).
#[derive(Serialize)]
pub struct PlanView<'a> {
    /// `plan/brief.md`.
    pub brief: &'a str,
    /// `plan/technical-plan.md`.
    pub technical_plan: &'a str,
    /// `plan/test-spec.md`.
    pub test_spec: &'a str,
    /// `plan/oracle.json`.
    pub oracle: OracleView,
    /// Files judged relevant.
    pub relevant_files: Vec<RelevantFileView<'a>>,
    /// Who planned.
    pub planner: PlannerView<'a>,
}

impl<'a> PlanView<'a> {
    /// Of the model's plan.
    pub fn of(p: &'a PlanArtifacts) -> PlanView<'a> {
        PlanView {
            brief: &p.brief,
            technical_plan: &p.technical_plan,
            test_spec: &p.test_spec,
            oracle: OracleView::of(&p.oracle),
            relevant_files: p.relevant_files.iter().map(RelevantFileView::of).collect(),
            planner: PlannerView::of(&p.planner),
        }
    }
}

/// The oracle of a plan: the goal's kind and the checks that decide it.
#[derive(Serialize)]
pub struct OracleView {
    /// The goal's kind.
    pub kind: GoalKindView,
    /// The checks, tagged by `check`.
    pub checks: Vec<OracleCheckView>,
}

impl OracleView {
    /// Of the model's oracle.
    pub fn of(o: &Oracle) -> OracleView {
        OracleView {
            kind: GoalKindView::of(o.kind),
            checks: o.checks.iter().map(OracleCheckView::of).collect(),
        }
    }
}

/// One oracle check, tagged by `check`.
#[derive(Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum OracleCheckView {
    /// Every required gate passes.
    RequiredGatesPass,
    /// No required gate that passed on the base fails.
    NoRegression,
    /// A test that failed on the base passes.
    FailToPass,
    /// A benchmark improves.
    BenchmarkImproves {
        /// By at least this many percent.
        min_improvement_pct: u32,
    },
    /// The docs gate passes.
    DocsGatePasses,
    /// Findings are reported.
    FindingsReported,
}

impl OracleCheckView {
    /// Of the model's check (every variant by name, no wildcard).
    pub fn of(c: &OracleCheck) -> OracleCheckView {
        match c {
            OracleCheck::RequiredGatesPass => OracleCheckView::RequiredGatesPass,
            OracleCheck::NoRegression => OracleCheckView::NoRegression,
            OracleCheck::FailToPass => OracleCheckView::FailToPass,
            OracleCheck::BenchmarkImproves { min_improvement_pct } => OracleCheckView::BenchmarkImproves {
                min_improvement_pct: *min_improvement_pct,
            },
            OracleCheck::DocsGatePasses => OracleCheckView::DocsGatePasses,
            OracleCheck::FindingsReported => OracleCheckView::FindingsReported,
        }
    }
}

/// A file judged relevant to the goal, and why.
#[derive(Serialize)]
pub struct RelevantFileView<'a> {
    /// The path.
    pub path: &'a str,
    /// What matched.
    pub matched: &'a [String],
}

impl<'a> RelevantFileView<'a> {
    /// Of the model's relevant file.
    pub fn of(f: &'a RelevantFile) -> RelevantFileView<'a> {
        RelevantFileView {
            path: &f.path,
            matched: &f.matched,
        }
    }
}

/// Who produced a plan, tagged by `by`.
#[derive(Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum PlannerView<'a> {
    /// The built-in heuristic planner.
    Heuristic {
        /// Why.
        reason: &'a str,
    },
    /// The heuristic plan, kept because the planner agent's was not usable.
    HeuristicFallback {
        /// Why.
        reason: &'a str,
    },
    /// An agent session.
    Agent {
        /// Engine name.
        engine: &'a str,
        /// Engine session id.
        session_id: &'a str,
    },
}

impl<'a> PlannerView<'a> {
    /// Of the model's planner (every variant by name, no wildcard).
    pub fn of(p: &'a PlannerInfo) -> PlannerView<'a> {
        match p {
            PlannerInfo::Heuristic { reason } => PlannerView::Heuristic { reason },
            PlannerInfo::HeuristicFallback { reason } => PlannerView::HeuristicFallback { reason },
            PlannerInfo::Agent { engine, session_id } => PlannerView::Agent { engine, session_id },
        }
    }
}

/// One task of `tasks.json` (in `goal show -f json`).
#[derive(Serialize)]
pub struct TaskView<'a> {
    /// Task id.
    pub id: &'a TaskId,
    /// One line.
    pub title: &'a str,
    /// What to do.
    pub description: &'a str,
    /// What the task is for.
    pub kind: TaskKindView,
    /// Where it stands.
    pub status: TaskStatusView,
    /// Tasks it waits for.
    pub depends_on: &'a [TaskId],
    /// Paths it reads.
    pub read_set: &'a [PathPattern],
    /// Paths it may write.
    pub write_set: &'a [PathPattern],
    /// What must hold when it is done.
    pub acceptance: &'a [String],
    /// Gates it runs.
    pub gates: &'a [String],
    /// Attempts allowed.
    pub retry_limit: u32,
    /// Attempts made, oldest first.
    pub attempts: Vec<AttemptView<'a>>,
    /// Its branch.
    pub branch: Option<&'a str>,
    /// The agent session.
    pub session_id: Option<&'a str>,
    /// The commit integrating it.
    pub integrated: Option<&'a CommitId>,
    /// Why it stands where it does.
    pub note: Option<&'a str>,
    /// Tests it is asked to remove; absent when none.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub removes_tests: &'a [String],
}

impl<'a> TaskView<'a> {
    /// Of the model's task.
    pub fn of(t: &'a Task) -> TaskView<'a> {
        TaskView {
            id: &t.id,
            title: &t.title,
            description: &t.description,
            kind: TaskKindView::of(t.kind),
            status: TaskStatusView::of(t.status),
            depends_on: &t.depends_on,
            read_set: &t.read_set,
            write_set: &t.write_set,
            acceptance: &t.acceptance,
            gates: &t.gates,
            retry_limit: t.retry_limit,
            attempts: t.attempts.iter().map(AttemptView::of).collect(),
            branch: t.branch.as_deref(),
            session_id: t.session_id.as_deref(),
            integrated: t.integrated.as_ref(),
            note: t.note.as_deref(),
            removes_tests: &t.removes_tests,
        }
    }
}

/// One agent attempt at a task.
#[derive(Serialize)]
pub struct AttemptView<'a> {
    /// 1-based.
    pub number: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// The agent session.
    pub session_id: Option<&'a str>,
    /// Tokens spent.
    pub tokens: u64,
    /// The commit it produced.
    pub commit: Option<&'a CommitId>,
    /// The commit it started from.
    pub start_commit: Option<&'a CommitId>,
    /// The tree it produced.
    pub tree: Option<&'a TreeId>,
    /// How it ended: `outcome` plus its fields.
    #[serde(flatten)]
    pub outcome: AttemptOutcomeView<'a>,
}

impl<'a> AttemptView<'a> {
    /// Of the model's attempt.
    pub fn of(a: &'a Attempt) -> AttemptView<'a> {
        AttemptView {
            number: a.number,
            started_at: a.started_at,
            ended_at: a.ended_at,
            session_id: a.session_id.as_deref(),
            tokens: a.tokens,
            commit: a.commit.as_ref(),
            start_commit: a.start_commit.as_ref(),
            tree: a.tree.as_ref(),
            outcome: AttemptOutcomeView::of(&a.outcome),
        }
    }
}

/// How an attempt ended, tagged by `outcome`.
#[derive(Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AttemptOutcomeView<'a> {
    /// Still running.
    Running,
    /// Changes committed and task gates passed.
    Succeeded,
    /// It failed.
    Failed {
        /// What failed.
        evidence: &'a str,
    },
    /// Stopped by pause, cancel, budget or a crash.
    Interrupted {
        /// Why.
        reason: &'a str,
    },
}

impl<'a> AttemptOutcomeView<'a> {
    /// Of the model's outcome (every variant by name, no wildcard).
    pub fn of(o: &'a AttemptOutcome) -> AttemptOutcomeView<'a> {
        match o {
            AttemptOutcome::Running => AttemptOutcomeView::Running,
            AttemptOutcome::Succeeded => AttemptOutcomeView::Succeeded,
            AttemptOutcome::Failed { evidence } => AttemptOutcomeView::Failed { evidence },
            AttemptOutcome::Interrupted { reason } => AttemptOutcomeView::Interrupted { reason },
        }
    }
}

/// `goal show -f json`.
#[derive(Serialize)]
pub struct ShowView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// Tip commit.
    pub tip: String,
    /// `goal.json`, as its own view.
    pub goal: GoalView<'a>,
    /// `tasks.json`, each task as its own view.
    pub tasks: Vec<TaskView<'a>>,
    /// `decisions.jsonl`, each as its own view.
    pub decisions: Vec<DecisionView<'a>>,
    /// `plan/…`, as its own view.
    pub plan: Option<PlanView<'a>>,
}

/// `goal proof -f json`.
#[derive(Serialize)]
pub struct ProofView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// Whether a proof was recorded (false: the verdict is computed now from the evidence so far).
    pub recorded: bool,
    /// The goal commit that recorded the proof (what PRs link to).
    pub proof_commit: Option<String>,
    /// The verdict now (a human decision or a delivery recorded after the proof counts).
    pub readiness: ReadinessView<'a>,
    /// The recorded proof (`proof.json`, see docs/proof.md).
    pub proof: Option<&'a Proof>,
}

/// The readiness verdict in `goal proof -f json`: its own type, built field by field, so a change to
/// the model's verdict (shared with the stored `proof.json`) does not change this document by itself.
#[derive(Serialize)]
pub struct ReadinessView<'a> {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// Why not (empty when ready), in the model's order.
    pub reasons: Vec<NotReadyReasonView<'a>>,
}

impl<'a> ReadinessView<'a> {
    /// Of the model's verdict.
    pub fn of(readiness: &'a Readiness) -> ReadinessView<'a> {
        ReadinessView {
            status: readiness.status.as_str(),
            reasons: readiness.reasons.iter().map(NotReadyReasonView::of).collect(),
        }
    }
}

/// One reason a goal is not ready, tagged by `code` (docs/proof.md lists what each means).
#[derive(Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum NotReadyReasonView<'a> {
    /// No task has run.
    NoResult,
    /// A task did not finish, or its result is not integrated.
    TaskNotDone {
        /// The task.
        task: &'a str,
        /// Its status.
        status: &'a str,
        /// Why, when known.
        note: Option<&'a str>,
    },
    /// No gate evidence exists for the result.
    MissingGateEvidence,
    /// The gates ran on another commit than the integrated result.
    StaleGateEvidence {
        /// The commit the gates tested.
        tested: &'a str,
        /// The integrated result.
        result: &'a str,
    },
    /// No gate is configured or detected.
    NoGates,
    /// A required gate fails on the result.
    RequiredGateFailed {
        /// The gate.
        gate: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// A required gate that passed on the base fails on the result.
    Regression {
        /// The gate.
        gate: &'a str,
    },
    /// Tests that ran on the base do not run as well on the result.
    TestsRemoved {
        /// The gate they ran in.
        gate: &'a str,
        /// The tests.
        tests: Vec<RemovedTestView<'a>>,
    },
    /// The test harness files were not compared with the base's.
    MissingHarnessCheck,
    /// The gates say something else with the base's test harness files restored.
    HarnessChanged {
        /// The gate (empty when the restored run could not be made).
        gate: &'a str,
        /// What differs.
        detail: &'a str,
    },
    /// An oracle check of the goal's kind fails.
    OracleFailed {
        /// The check, in words.
        check: &'a str,
        /// What the evidence showed.
        detail: &'a str,
    },
    /// No review is recorded for the result.
    MissingReview,
    /// A reviewer session gave no usable answer.
    ReviewGap {
        /// Which reviewer and why.
        detail: &'a str,
    },
    /// A high-severity finding is open.
    BlockingFinding {
        /// Who found it.
        source: &'a str,
        /// Where.
        file: &'a str,
        /// Line, when known.
        line: Option<u32>,
        /// What.
        message: &'a str,
    },
    /// The pull request's head is not the proven commit.
    DeliveredDiffers {
        /// The PR head.
        delivered: &'a str,
        /// The proven commit.
        proven: &'a str,
    },
    /// The goal has unanswered questions.
    OpenQuestions,
    /// A human rejected the result.
    RejectedByHuman {
        /// Their reason.
        reason: &'a str,
    },
}

impl<'a> NotReadyReasonView<'a> {
    /// Of the model's reason: every variant is mapped by name (no wildcard), so a new reason in the
    /// model does not compile until it is named here.
    pub fn of(reason: &'a NotReadyReason) -> NotReadyReasonView<'a> {
        use NotReadyReason as R;
        use NotReadyReasonView as V;
        match reason {
            R::NoResult => V::NoResult,
            R::TaskNotDone { task, status, note } => V::TaskNotDone {
                task,
                status,
                note: note.as_deref(),
            },
            R::MissingGateEvidence => V::MissingGateEvidence,
            R::StaleGateEvidence { tested, result } => V::StaleGateEvidence { tested, result },
            R::NoGates => V::NoGates,
            R::RequiredGateFailed { gate, reason } => V::RequiredGateFailed { gate, reason },
            R::Regression { gate } => V::Regression { gate },
            R::TestsRemoved { gate, tests } => V::TestsRemoved {
                gate,
                tests: tests.iter().map(RemovedTestView::of).collect(),
            },
            R::MissingHarnessCheck => V::MissingHarnessCheck,
            R::HarnessChanged { gate, detail } => V::HarnessChanged { gate, detail },
            R::OracleFailed { check, detail } => V::OracleFailed { check, detail },
            R::MissingReview => V::MissingReview,
            R::ReviewGap { detail } => V::ReviewGap { detail },
            R::BlockingFinding {
                source,
                file,
                line,
                message,
            } => V::BlockingFinding {
                source,
                file,
                line: *line,
                message,
            },
            R::DeliveredDiffers { delivered, proven } => V::DeliveredDiffers { delivered, proven },
            R::OpenQuestions => V::OpenQuestions,
            R::RejectedByHuman { reason } => V::RejectedByHuman { reason },
        }
    }
}

/// A test that ran on the base and does not run as well on the result.
#[derive(Serialize)]
pub struct RemovedTestView<'a> {
    /// The runner's id of the test.
    pub id: &'a str,
    /// What it did on the base: `passed`, `failed`, `skipped`, `xfail` or `error`.
    pub base: &'static str,
    /// What it did on the result (same words), `null` when it did not appear at all.
    pub result: Option<&'static str>,
}

impl<'a> RemovedTestView<'a> {
    /// Of the model's removed test.
    pub fn of(test: &'a RemovedTest) -> RemovedTestView<'a> {
        RemovedTestView {
            id: &test.id,
            base: test.base.as_str(),
            result: test.result.map(|r| r.as_str()),
        }
    }
}

/// `goal verify --json`.
#[derive(Serialize)]
pub struct VerifyGoalView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// Whether the proof holds.
    pub holds: bool,
    /// The commit whose gates ran.
    pub commit: String,
    /// Whether that is the proven commit.
    pub proven: bool,
    /// The recorded proof's status before this run.
    pub previous_status: Option<GoalStatusView>,
    /// The proof recomputed with the fresh evidence.
    pub proof: &'a Proof,
    /// The fresh gate run.
    pub gates: GateRunView<'a>,
    /// The goal commit that recorded it, or `null`.
    pub recorded: Option<String>,
    /// Why nothing was recorded.
    pub not_recorded: Option<&'a str>,
}

impl<'a> VerifyGoalView<'a> {
    /// Of a verify report.
    pub fn of(r: &'a GoalVerifyReport) -> VerifyGoalView<'a> {
        VerifyGoalView {
            location: Location::of(&r.goal),
            holds: r.holds(),
            commit: r.commit.to_string(),
            proven: r.proven,
            previous_status: r.previous.map(GoalStatusView::of),
            proof: &r.proof,
            gates: GateRunView::of(&r.run),
            recorded: r.recorded.map(|c| c.to_string()),
            not_recorded: r.not_recorded.as_deref(),
        }
    }
}

/// `goal replay -f json`.
#[derive(Serialize)]
pub struct ReplayView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// Events in recorded order.
    pub events: Vec<ReplayItem<'a>>,
}

/// One replayed event.
#[derive(Serialize)]
pub struct ReplayItem<'a> {
    /// The commit that recorded it.
    pub commit: String,
    /// The event.
    pub event: &'a Event,
}

impl<'a> ReplayItem<'a> {
    /// Of a timeline entry.
    pub fn of(e: &'a TimelineEntry) -> ReplayItem<'a> {
        ReplayItem {
            commit: e.commit.to_string(),
            event: &e.event,
        }
    }
}

/// `goal replay --verify -f json`.
#[derive(Serialize)]
pub struct VerifyView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// No divergence.
    pub ok: bool,
    /// Goal commits checked.
    pub commits: usize,
    /// Events replayed.
    pub events: usize,
    /// The first divergence, if any.
    pub divergence: Option<DivergenceView<'a>>,
}

impl<'a> VerifyView<'a> {
    /// Of a replay check of the goal at `location`.
    pub fn of(location: Location, report: &'a VerifyReport) -> VerifyView<'a> {
        VerifyView {
            location,
            ok: report.divergence.is_none(),
            commits: report.commits,
            events: report.events,
            divergence: report.divergence.as_ref().map(|d| DivergenceView {
                commit: &d.commit,
                file: &d.file,
                line: d.line,
                derived: &d.derived,
                recorded: &d.recorded,
            }),
        }
    }
}

/// Where a recorded snapshot first differs from the one derived from the events.
#[derive(Serialize)]
pub struct DivergenceView<'a> {
    /// The goal commit.
    pub commit: &'a str,
    /// The file.
    pub file: &'a str,
    /// First differing line (1-based).
    pub line: usize,
    /// That line as derived from the events.
    pub derived: &'a str,
    /// That line as recorded.
    pub recorded: &'a str,
}

/// Output of commands that record something on several goals (`archive`, `unarchive`).
#[derive(Serialize)]
pub struct RecordedList<'a> {
    /// One entry per goal, in the order given.
    pub goals: Vec<RecordedView<'a>>,
}

/// Output of commands that record something (`plan`, `run`, `pause`, …).
#[derive(Serialize)]
pub struct RecordedView<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// The commit written.
    pub commit: String,
    /// Status after it.
    pub status: &'a str,
    /// Phase after it.
    pub phase: &'a str,
    /// Title.
    pub title: &'a str,
    /// Goal kind.
    pub kind: Option<&'a str>,
    /// Kinds of the events recorded.
    pub events: Vec<&'a str>,
    /// Questions for a human (blocked goals).
    pub questions: Vec<&'a str>,
    /// The task graph, each task as its own view.
    pub tasks: Vec<TaskView<'a>>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::budget::Usd;
    use crate::model::status::{GoalKind, GoalStatus};

    /// A remote copy's relation is named by the view (as `goal list --json` has always named it).
    #[test]
    fn relations_are_named_by_the_view() {
        let names = [
            Relation::Same,
            Relation::Ahead,
            Relation::Behind,
            Relation::Diverged,
            Relation::RemoteOnly,
        ]
        .map(relation_name);
        assert_eq!(names, ["same", "ahead", "behind", "diverged", "remote_only"]);
    }

    /// The replay check is the view's, field by field.
    #[test]
    fn the_replay_check_view_names_its_own_fields_in_order() {
        let report = VerifyReport {
            commits: 3,
            events: 5,
            divergence: Some(crate::ops::replay::Divergence {
                commit: "c".into(),
                file: "goal.json".into(),
                line: 4,
                derived: "a".into(),
                recorded: "b".into(),
            }),
        };
        let location = Location {
            id: "g".into(),
            ref_name: "r".into(),
            remote: None,
        };
        let json = serde_json::to_string(&VerifyView::of(location, &report)).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"id":"g","ref":"r","remote":null,"ok":false,"commits":3,"events":5,"#,
                r#""divergence":{"commit":"c","file":"goal.json","line":4,"derived":"a","recorded":"b"}}"#
            )
        );
    }

    /// Ids are leaves of the contract (docs/decisions.md): a view holds the typed id, which prints as
    /// its one text form, the same as in refs, trailers and on the command line: goal, task and event
    /// ids and path patterns as their string, commit and tree ids as 40 lowercase hex digits.
    #[test]
    fn ids_print_as_their_one_text_form() {
        use crate::model::ids::fake;
        let quoted = |text: &str| format!("\"{text}\"");
        let commit = fake::commit("c");
        let tree = fake::tree("t");
        for hex in [commit.to_string(), tree.to_string()] {
            assert_eq!(hex.len(), 40);
            assert!(
                hex.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
        }
        assert_eq!(
            serde_json::to_string(&commit).unwrap(),
            quoted(&commit.to_string())
        );
        assert_eq!(serde_json::to_string(&tree).unwrap(), quoted(&tree.to_string()));
        let goal = GoalId::parse("20261122-033443-9b41187b").unwrap();
        assert_eq!(serde_json::to_string(&goal).unwrap(), quoted(goal.as_str()));
        let task = TaskId::parse("t1-fix").unwrap();
        assert_eq!(serde_json::to_string(&task).unwrap(), quoted("t1-fix"));
        let event = EventId::from_random([7; 10]);
        assert_eq!(serde_json::to_string(&event).unwrap(), quoted(event.as_str()));
        let pattern = PathPattern::parse("src/**").unwrap();
        assert_eq!(serde_json::to_string(&pattern).unwrap(), quoted("src/**"));
    }

    /// A whole goal, from planned through evidenced, delivered and rejected to archived, prints as the
    /// model's state printed it (every part is its own view, pinned field by field in its module).
    #[test]
    fn the_goal_view_prints_as_the_models_state_did() {
        use crate::model::event::EventBody;
        let mut g = crate::model::proof::tests::Goal::planned(GoalKind::Bugfix);
        let mut states = vec![g.snapshot.goal.clone()];
        g = crate::model::proof::tests::Goal::evidenced();
        states.push(g.snapshot.goal.clone());
        g.deliver(&"a".repeat(40));
        g.apply(EventBody::Rejected { reason: "no".into() });
        states.push(g.snapshot.goal.clone());
        g.apply(EventBody::Cancelled { reason: None });
        g.apply(EventBody::Archived {});
        states.push(g.snapshot.goal.clone());
        for state in states {
            let view = serde_json::to_string(&GoalView::of(&state)).unwrap();
            assert_eq!(view, serde_json::to_string(&state).unwrap());
        }
    }

    /// The goal in `show -f json` names every key of its own; an archived goal's carries `archived`
    /// (a key the view once left out).
    #[test]
    fn the_goal_view_names_every_key_of_an_archived_goal() {
        use crate::model::event::EventBody;
        let mut g = crate::model::proof::tests::Goal::evidenced();
        g.apply(EventBody::Cancelled { reason: None });
        g.apply(EventBody::Archived {});
        let value = serde_json::to_value(GoalView::of(&g.snapshot.goal)).unwrap();
        let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = vec![
            "schema_version",
            "id",
            "title",
            "text",
            "kind",
            "status",
            "phase",
            "paused_from",
            "base",
            "options",
            "limits",
            "usage",
            "lease",
            "created_by",
            "created_at",
            "updated_at",
            "blockers",
            "delivery",
            "human_decisions",
            "last_event",
            "event_count",
            "integration",
            "baseline",
            "verification",
            "stop_reason",
            "base_run",
            "harness",
            "review",
            "archived",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(value["archived"], true);
    }

    /// One sample of every reason the model has, with the JSON `goal proof -f json` has always printed
    /// for it. The exhaustive match makes a new model reason fail to compile here until it has a sample.
    fn every_reason() -> Vec<(NotReadyReason, &'static str)> {
        use crate::model::gate::TestOutcome;
        let samples = vec![
            (NotReadyReason::NoResult, r#"{"code":"no_result"}"#),
            (
                NotReadyReason::TaskNotDone {
                    task: "t1".into(),
                    status: "failed".into(),
                    note: Some("gave up".into()),
                },
                r#"{"code":"task_not_done","task":"t1","status":"failed","note":"gave up"}"#,
            ),
            (
                NotReadyReason::TaskNotDone {
                    task: "t2".into(),
                    status: "pending".into(),
                    note: None,
                },
                r#"{"code":"task_not_done","task":"t2","status":"pending","note":null}"#,
            ),
            (
                NotReadyReason::MissingGateEvidence,
                r#"{"code":"missing_gate_evidence"}"#,
            ),
            (
                NotReadyReason::StaleGateEvidence {
                    tested: "aa".into(),
                    result: "bb".into(),
                },
                r#"{"code":"stale_gate_evidence","tested":"aa","result":"bb"}"#,
            ),
            (NotReadyReason::NoGates, r#"{"code":"no_gates"}"#),
            (
                NotReadyReason::RequiredGateFailed {
                    gate: "test".into(),
                    reason: "exit 1".into(),
                },
                r#"{"code":"required_gate_failed","gate":"test","reason":"exit 1"}"#,
            ),
            (
                NotReadyReason::Regression { gate: "lint".into() },
                r#"{"code":"regression","gate":"lint"}"#,
            ),
            (
                NotReadyReason::TestsRemoved {
                    gate: "test".into(),
                    tests: vec![
                        RemovedTest {
                            id: "a::gone".into(),
                            base: TestOutcome::Passed,
                            result: None,
                        },
                        RemovedTest {
                            id: "a::skipped".into(),
                            base: TestOutcome::Failed,
                            result: Some(TestOutcome::Skipped),
                        },
                        RemovedTest {
                            id: "a::xfail".into(),
                            base: TestOutcome::Error,
                            result: Some(TestOutcome::Xfail),
                        },
                    ],
                },
                concat!(
                    r#"{"code":"tests_removed","gate":"test","tests":["#,
                    r#"{"id":"a::gone","base":"passed","result":null},"#,
                    r#"{"id":"a::skipped","base":"failed","result":"skipped"},"#,
                    r#"{"id":"a::xfail","base":"error","result":"xfail"}]}"#
                ),
            ),
            (
                NotReadyReason::MissingHarnessCheck,
                r#"{"code":"missing_harness_check"}"#,
            ),
            (
                NotReadyReason::HarnessChanged {
                    gate: "test".into(),
                    detail: "differs".into(),
                },
                r#"{"code":"harness_changed","gate":"test","detail":"differs"}"#,
            ),
            (
                NotReadyReason::OracleFailed {
                    check: "fail to pass".into(),
                    detail: "none".into(),
                },
                r#"{"code":"oracle_failed","check":"fail to pass","detail":"none"}"#,
            ),
            (NotReadyReason::MissingReview, r#"{"code":"missing_review"}"#),
            (
                NotReadyReason::ReviewGap {
                    detail: "no answer".into(),
                },
                r#"{"code":"review_gap","detail":"no answer"}"#,
            ),
            (
                NotReadyReason::BlockingFinding {
                    source: "claude".into(),
                    file: "src/a.rs".into(),
                    line: Some(7),
                    message: "bad".into(),
                },
                r#"{"code":"blocking_finding","source":"claude","file":"src/a.rs","line":7,"message":"bad"}"#,
            ),
            (
                NotReadyReason::BlockingFinding {
                    source: "kimi".into(),
                    file: "b.rs".into(),
                    line: None,
                    message: "m".into(),
                },
                r#"{"code":"blocking_finding","source":"kimi","file":"b.rs","line":null,"message":"m"}"#,
            ),
            (
                NotReadyReason::DeliveredDiffers {
                    delivered: "cc".into(),
                    proven: "dd".into(),
                },
                r#"{"code":"delivered_differs","delivered":"cc","proven":"dd"}"#,
            ),
            (NotReadyReason::OpenQuestions, r#"{"code":"open_questions"}"#),
            (
                NotReadyReason::RejectedByHuman { reason: "no".into() },
                r#"{"code":"rejected_by_human","reason":"no"}"#,
            ),
        ];
        let covered: std::collections::BTreeSet<u8> = samples.iter().map(|(r, _)| variant(r)).collect();
        assert_eq!(covered.len(), 17, "a sample for every reason");
        samples
    }

    /// A distinct number per model reason (exhaustive: a new reason must be added to the samples).
    fn variant(reason: &NotReadyReason) -> u8 {
        match reason {
            NotReadyReason::NoResult => 0,
            NotReadyReason::TaskNotDone { .. } => 1,
            NotReadyReason::MissingGateEvidence => 2,
            NotReadyReason::StaleGateEvidence { .. } => 3,
            NotReadyReason::NoGates => 4,
            NotReadyReason::RequiredGateFailed { .. } => 5,
            NotReadyReason::Regression { .. } => 6,
            NotReadyReason::TestsRemoved { .. } => 7,
            NotReadyReason::MissingHarnessCheck => 8,
            NotReadyReason::HarnessChanged { .. } => 9,
            NotReadyReason::OracleFailed { .. } => 10,
            NotReadyReason::MissingReview => 11,
            NotReadyReason::ReviewGap { .. } => 12,
            NotReadyReason::BlockingFinding { .. } => 13,
            NotReadyReason::DeliveredDiffers { .. } => 14,
            NotReadyReason::OpenQuestions => 15,
            NotReadyReason::RejectedByHuman { .. } => 16,
        }
    }

    /// Every reason prints as the view pins it, and as the model's own serialisation (shared with
    /// `proof.json`) printed it before the view existed: the output is unchanged.
    #[test]
    fn every_not_ready_reason_prints_as_before() {
        for (reason, expected) in every_reason() {
            let view = serde_json::to_string(&NotReadyReasonView::of(&reason)).unwrap();
            assert_eq!(view, expected);
            assert_eq!(serde_json::to_string(&reason).unwrap(), expected);
        }
    }

    /// The verdict, ready and not ready, prints as the model's did.
    #[test]
    fn the_readiness_view_prints_as_the_model_did() {
        let ready = Readiness {
            status: GoalStatus::Ready,
            reasons: Vec::new(),
        };
        let not_ready = Readiness {
            status: GoalStatus::NotReady,
            reasons: every_reason().into_iter().map(|(r, _)| r).collect(),
        };
        assert_eq!(
            serde_json::to_string(&ReadinessView::of(&ready)).unwrap(),
            r#"{"status":"ready","reasons":[]}"#
        );
        for verdict in [ready, not_ready] {
            let view = serde_json::to_string_pretty(&ReadinessView::of(&verdict)).unwrap();
            assert_eq!(view, serde_json::to_string_pretty(&verdict).unwrap());
        }
    }

    /// The base is the view's, field by field, as the model's printed it.
    #[test]
    fn the_base_view_prints_as_the_model_did() {
        let base = BaseRef {
            rev: "main".into(),
            commit: crate::model::ids::fake::commit("base"),
        };
        let json = serde_json::to_string(&BaseView::of(&base)).unwrap();
        assert_eq!(json, format!(r#"{{"rev":"main","commit":"{}"}}"#, base.commit));
        assert_eq!(json, serde_json::to_string(&base).unwrap());
    }

    /// The run options are the view's, field by field, as the model's printed them (optional keys
    /// absent and present).
    #[test]
    fn the_options_view_prints_as_the_model_did() {
        use crate::model::options::{AgentSpec, DeliveryPolicy, MergePolicy};
        let mut o = RunOptions {
            limits: Limits {
                time_secs: Some(60),
                tokens: None,
                usd_micros: Some(Usd(5)),
            },
            max_agents: 2,
            agent: AgentSpec::Kimi,
            planner_agent: None,
            reviewer_agent: None,
            delivery: DeliveryPolicy::DraftPr,
            merge: MergePolicy::Gated,
            llm_planner: true,
            planner_token_budget: None,
            until_ready: false,
            slice_prs: false,
        };
        let json = serde_json::to_string(&OptionsView::of(&o)).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"limits":{"time_secs":60,"tokens":null,"usd_micros":5},"max_agents":2,"agent":"kimi","#,
                r#""delivery":"draft-pr","merge":"gated","llm_planner":true,"planner_token_budget":null,"#,
                r#""until_ready":false}"#
            )
        );
        assert_eq!(json, serde_json::to_string(&o).unwrap());
        o.planner_agent = Some(AgentSpec::Acp("my agent --acp".into()));
        o.reviewer_agent = Some(AgentSpec::Qwen);
        o.planner_token_budget = Some(9);
        o.slice_prs = true;
        let json = serde_json::to_string(&OptionsView::of(&o)).unwrap();
        assert!(json.contains(r#""planner_agent":"acp:my agent --acp","reviewer_agent":"qwen""#));
        assert!(json.ends_with(r#""until_ready":false,"slice_prs":true}"#));
        assert_eq!(json, serde_json::to_string(&o).unwrap());
    }

    /// A decision is the view's, field by field, as the model's printed it.
    #[test]
    fn the_decision_view_prints_as_the_model_did() {
        let d = Decision {
            id: EventId::from_random([3; 10]),
            at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            step: "planning".into(),
            chosen: "two tasks".into(),
            why: "two files".into(),
            evidence: vec!["src/a.rs".into()],
        };
        let json = serde_json::to_string(&DecisionView::of(&d)).unwrap();
        assert_eq!(
            json,
            format!(
                concat!(
                    r#"{{"id":"{}","at":"2026-11-22T10:00:00Z","step":"planning","chosen":"two tasks","#,
                    r#""why":"two files","evidence":["src/a.rs"]}}"#
                ),
                d.id
            )
        );
        assert_eq!(json, serde_json::to_string(&d).unwrap());
    }

    /// A plan is the view's, field by field, as the model's printed it: every oracle check and every
    /// planner.
    #[test]
    fn the_plan_view_prints_as_the_model_did() {
        let checks = vec![
            OracleCheck::RequiredGatesPass,
            OracleCheck::NoRegression,
            OracleCheck::FailToPass,
            OracleCheck::BenchmarkImproves {
                min_improvement_pct: 10,
            },
            OracleCheck::DocsGatePasses,
            OracleCheck::FindingsReported,
        ];
        let planners = [
            PlannerInfo::Heuristic {
                reason: "forced".into(),
            },
            PlannerInfo::HeuristicFallback { reason: "bad".into() },
            PlannerInfo::Agent {
                engine: "kimi".into(),
                session_id: "s1".into(),
            },
        ];
        for planner in planners {
            let plan = PlanArtifacts {
                brief: "b".into(),
                technical_plan: "t".into(),
                test_spec: "s".into(),
                oracle: Oracle {
                    kind: GoalKind::Performance,
                    checks: checks.clone(),
                },
                relevant_files: vec![RelevantFile {
                    path: "src/a.rs".into(),
                    matched: vec!["add".into()],
                }],
                planner,
            };
            let json = serde_json::to_string(&PlanView::of(&plan)).unwrap();
            assert_eq!(json, serde_json::to_string(&plan).unwrap());
        }
        let json = serde_json::to_string(&OracleCheckView::of(&checks[3])).unwrap();
        assert_eq!(json, r#"{"check":"benchmark_improves","min_improvement_pct":10}"#);
        let json = serde_json::to_string(&PlannerView::of(&PlannerInfo::Agent {
            engine: "kimi".into(),
            session_id: "s1".into(),
        }))
        .unwrap();
        assert_eq!(json, r#"{"by":"agent","engine":"kimi","session_id":"s1"}"#);
    }

    /// A task is the view's, field by field, as the model's printed it: every attempt outcome, optional
    /// keys unset and set.
    #[test]
    fn the_task_view_prints_as_the_model_did() {
        use crate::model::ids::fake;
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let bare = crate::model::graph::tests::task("t1", &["t0"], &["src/**"]);
        let mut full = bare.clone();
        full.branch = Some("omk/g/tasks/t1".into());
        full.session_id = Some("s".into());
        full.integrated = Some(fake::commit("merge"));
        full.note = Some("n".into());
        full.removes_tests = vec!["old".into()];
        let outcomes = [
            AttemptOutcome::Running,
            AttemptOutcome::Succeeded,
            AttemptOutcome::Failed { evidence: "e".into() },
            AttemptOutcome::Interrupted { reason: "r".into() },
        ];
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let done = i > 0;
            full.attempts.push(Attempt {
                number: u32::try_from(i + 1).unwrap(),
                started_at: at,
                ended_at: done.then_some(at),
                session_id: done.then(|| "s".to_owned()),
                tokens: 5,
                commit: done.then(|| fake::commit("c")),
                start_commit: done.then(|| fake::commit("s")),
                tree: done.then(|| fake::tree("t")),
                outcome,
            });
        }
        for task in [bare, full] {
            let json = serde_json::to_string(&TaskView::of(&task)).unwrap();
            assert_eq!(json, serde_json::to_string(&task).unwrap());
        }
    }

    /// The lease and the last event are the views', field by field.
    #[test]
    fn the_lease_and_last_event_views_name_their_own_fields_in_order() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let lease = Lease {
            host: "build-1".into(),
            pid: 42,
            started_at: at,
            expires_at: at,
        };
        assert_eq!(
            serde_json::to_string(&LeaseView::of(&lease)).unwrap(),
            r#"{"host":"build-1","pid":42,"started_at":"2026-11-22T10:00:00Z","expires_at":"2026-11-22T10:00:00Z"}"#
        );
        let last = LastEvent {
            id: EventId::from_random([7; 10]),
            kind: "paused".into(),
            at,
            summary: "paused".into(),
        };
        let json = serde_json::to_string(&LastEventView::of(&last)).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"id":"{}","kind":"paused","at":"2026-11-22T10:00:00Z","summary":"paused"}}"#,
                last.id
            )
        );
    }

    /// The budget document is the view's, field by field: these keys, in this order, whatever the
    /// model's budget types are called.
    #[test]
    fn the_budget_view_names_its_own_fields_in_order() {
        let limits = Limits {
            time_secs: Some(3600),
            tokens: Some(1000),
            usd_micros: None,
        };
        let usage = Usage {
            active_secs: 4000,
            tokens: 250,
            tokens_estimated: 50,
            usd_micros: Usd(7),
            unpriced_tokens: 3,
        };
        assert_eq!(
            serde_json::to_string(&LimitsView::of(&limits)).unwrap(),
            serde_json::to_string(&limits).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&UsageView::of(&usage)).unwrap(),
            serde_json::to_string(&usage).unwrap()
        );
        let json = serde_json::to_string(&BudgetView::new(&limits, &usage)).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"limits":{"time_secs":3600,"tokens":1000,"usd_micros":null},"#,
                r#""usage":{"active_secs":4000,"tokens":250,"tokens_estimated":50,"usd_micros":7,"unpriced_tokens":3},"#,
                r#""remaining":{"time_secs":0,"tokens":750,"usd_micros":null},"exhausted":["time"]}"#
            )
        );
    }
}
