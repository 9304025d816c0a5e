//! `goal show -f json`: the goal record (`goal.json`) as its own view, with its base, options and the
//! recorded decisions; the nested parts are the views of `delivery`, `evidence`, `record` and `leaf`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    ActorView, BaseRunView, BlockerView, DeliveryPolicyView, DeliveryView, GateRunView, GoalKindView,
    GoalStatusView, HarnessCheckView, HumanDecisionView, IntegrationView, LastEventView, LeaseView,
    LimitsView, Location, MergePolicyView, PhaseView, PlanView, ReviewRecordView, TaskView, UsageView,
};
use crate::model::decision::Decision;
use crate::model::event::BaseRef;
use crate::model::goal::GoalState;
use crate::model::ids::{CommitId, EventId, GoalId};
use crate::model::options::RunOptions;

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
    pub delivery: DeliveryPolicyView,
    /// Merge policy: `disabled`, `manual` or `gated`.
    pub merge: MergePolicyView,
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
            delivery: DeliveryPolicyView::of(o.delivery),
            merge: MergePolicyView::of(o.merge),
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

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::budget::{Limits, Usd};
    use crate::model::status::GoalKind;

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
}
