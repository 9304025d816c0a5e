//! Plan artifacts of a goal: brief, technical plan, test spec and oracle (DESIGN §3 step 2, §6).
//!
//! Owns their recorded shape. The heuristic planner in `planner` produces them; a planner agent's
//! answer (`plan_answer`) replaces them once validated. Pure.

use serde::{Deserialize, Serialize};

use super::status::GoalKind;

/// Who produced a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum PlannerInfo {
    /// The built-in heuristic planner.
    Heuristic {
        /// Why the heuristic was used (forced by `--no-llm-planner`, fallback, …).
        reason: String,
    },
    /// The heuristic plan, kept because the planner agent's answer was unusable or its session failed.
    HeuristicFallback {
        /// Why the agent's plan was not used.
        reason: String,
    },
    /// An agent session.
    Agent {
        /// Engine name.
        engine: String,
        /// Engine session id.
        session_id: String,
    },
}

/// A file judged relevant to the goal, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelevantFile {
    /// Repository-relative path.
    pub path: String,
    /// Which words of the goal matched.
    pub matched: Vec<String>,
}

/// One check the result must pass for the goal's kind (DESIGN §6). Checks are evaluated against recorded
/// evidence, never by matching gate names or English text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "check")]
pub enum OracleCheck {
    /// Every required gate passes on the result.
    RequiredGatesPass,
    /// No required gate that passed on the base fails on the result.
    NoRegression,
    /// At least one test fails on the base tree and passes on the result (both actually run).
    FailToPass,
    /// A benchmark gate improves by at least `min_improvement_pct` from base to result.
    BenchmarkImproves {
        /// Required improvement in percent.
        min_improvement_pct: u32,
    },
    /// A documentation gate passes on the result.
    DocsGatePasses,
    /// The review produced a findings report.
    FindingsReported,
}

/// The oracle of a goal: the checks that decide whether its result does what was asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Oracle {
    /// The goal kind the checks were chosen for.
    pub kind: GoalKind,
    /// The checks.
    pub checks: Vec<OracleCheck>,
}

/// Everything planning produced besides the task graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanArtifacts {
    /// `plan/brief.md`.
    pub brief: String,
    /// `plan/technical-plan.md`.
    pub technical_plan: String,
    /// `plan/test-spec.md`.
    pub test_spec: String,
    /// `plan/oracle.json`.
    pub oracle: Oracle,
    /// Files judged relevant.
    pub relevant_files: Vec<RelevantFile>,
    /// Who planned.
    pub planner: PlannerInfo,
}
