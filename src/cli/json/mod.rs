//! The JSON output contract (`--json`, `-f json`): explicit, versioned view types. Fields are only ever
//! added within a schema version; renames or removals bump `schema_version` (docs/json-output.md).
//!
//! One file per document (`list`, `status`, `budget`, `show`, `plan`, `task`, `proof`, `replay`,
//! `recorded`) and per shared part of the goal record (`record`, `delivery`, `evidence`, `leaf`,
//! `deliver`); every view is re-exported here, so callers name `json::GoalView`.

mod budget;
mod deliver;
mod delivery;
mod evidence;
mod leaf;
mod list;
mod plan;
mod proof;
mod record;
mod recorded;
mod replay;
mod show;
mod status;
mod task;

use serde::Serialize;

use crate::store::GoalRef;

pub use budget::{BudgetDoc, BudgetView, LimitsView, Remaining, TaskSpend, UsageView};
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
    ConclusionView, DeliveryPolicyView, FileActionView, GoalKindView, GoalStatusView, LocalChangeView,
    MergePolicyView, PhaseView, RefspecKindView, TaskKindView, TaskStatusView,
};
pub use list::{ListItem, ListView, RemoteCopy};
pub use plan::{OracleCheckView, OracleView, PlanView, PlannerView, RelevantFileView};
pub use proof::{NotReadyReasonView, ProofView, ReadinessView, RemovedTestView, VerifyGoalView};
pub use record::{ActorKindView, ActorView, BlockerView, HumanDecisionView, IntegrationView, VerdictView};
pub use recorded::{RecordedList, RecordedView};
pub use replay::{DivergenceView, ReplayItem, ReplayView, VerifyView};
pub use show::{BaseView, DecisionView, GoalView, OptionsView, ShowView};
pub use status::{LastEventView, LeaseView, StatusView, TaskCounts};
pub use task::{AttemptOutcomeView, AttemptView, TaskView};

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

#[cfg(test)]
mod tests {
    use crate::model::ids::{EventId, GoalId, TaskId};
    use crate::model::writeset::PathPattern;

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
}
