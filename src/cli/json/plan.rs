//! The plan in `goal show -f json`: the brief, technical plan, test spec, oracle, relevant files and who
//! planned, each its own view with every variant mapped by name.

use serde::Serialize;

use super::GoalKindView;
use crate::model::plan::{Oracle, OracleCheck, PlanArtifacts, PlannerInfo, RelevantFile};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::status::GoalKind;

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
}
