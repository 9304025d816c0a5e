//! Baseline vs result (DESIGN §6): which gates were fixed, regressed, stayed green or red, appeared or
//! disappeared between the base tree and the result tree, and whether at least one test fails on the
//! base and passes on the result (the bugfix oracle's evidence).
//!
//! Pure. Gates are paired by their configured name (the same checked-in configuration names them on
//! both trees); tests by their runner ids. Nothing here reads a gate's name for meaning or matches
//! output text: decisions use outcomes, the `required` flag and test results.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::identity::compare_tests;
use super::{FailReason, Metric, Outcome, RunnerKind, TestResult};

/// What one gate run showed, as far as comparison needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateObservation {
    /// The gate's name (pairs base and result runs).
    pub name: String,
    /// Whether the gate is required on this tree.
    pub required: bool,
    /// The verdict.
    pub outcome: Outcome,
    /// Why it did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailReason>,
    /// Per-test results, when the runner names its tests (empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestResult>,
    /// How the gate's output was read.
    #[serde(default)]
    pub runner: RunnerKind,
    /// Figures a benchmark printed (`omk-metric:` lines).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<ObservedMetric>,
}

/// A benchmark figure, in thousandths (so observations stay comparable for equality).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedMetric {
    /// Its name.
    pub name: String,
    /// Its value × 1000, rounded.
    pub milli: i64,
    /// Its unit, when printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl ObservedMetric {
    /// From a parsed metric.
    pub fn of(m: &Metric) -> ObservedMetric {
        ObservedMetric {
            name: m.name.clone(),
            milli: (m.value * 1000.0).round() as i64,
            unit: m.unit.clone(),
        }
    }
}

/// How a gate changed from base to result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Failed on the base, passes on the result.
    Fixed,
    /// Passed on the base, fails on the result.
    Regressed,
    /// Passed on both.
    StayedGreen,
    /// Failed on both.
    StayedRed,
    /// Only on the result (a gate the change added).
    Added,
    /// Only on the base (a gate the change removed).
    Removed,
}

impl Change {
    /// The words shown to people (JSON uses the snake_case names).
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Fixed => "fixed",
            Change::Regressed => "regressed",
            Change::StayedGreen => "stayed green",
            Change::StayedRed => "stayed red",
            Change::Added => "added",
            Change::Removed => "removed",
        }
    }
}

/// One gate across base and result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateChange {
    /// The gate.
    pub name: String,
    /// Required on the base or on the result (either makes it count).
    pub required: bool,
    /// Outcome on the base tree, if it ran there.
    pub base: Option<Outcome>,
    /// Outcome on the result tree, if it ran there.
    pub result: Option<Outcome>,
    /// The change.
    pub change: Change,
    /// This change alone forbids `ready`: a required gate that passed on the base and fails on, or
    /// vanished from, the result.
    pub blocking: bool,
}

/// Every gate's change, result gates first (in their order), then removed ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// One entry per gate name.
    pub gates: Vec<GateChange>,
}

impl Comparison {
    /// The gates with this change.
    pub fn with(&self, change: Change) -> impl Iterator<Item = &GateChange> {
        self.gates.iter().filter(move |g| g.change == change)
    }

    /// The changes that forbid `ready`.
    pub fn blocking(&self) -> impl Iterator<Item = &GateChange> {
        self.gates.iter().filter(|g| g.blocking)
    }

    /// Whether any change forbids `ready`.
    pub fn is_blocking(&self) -> bool {
        self.gates.iter().any(|g| g.blocking)
    }
}

/// Compare the base tree's gate runs with the result tree's.
pub fn compare(base: &[GateObservation], result: &[GateObservation]) -> Comparison {
    let base_by_name: HashMap<&str, &GateObservation> = base.iter().map(|g| (g.name.as_str(), g)).collect();
    let result_names: Vec<&str> = result.iter().map(|g| g.name.as_str()).collect();
    let mut gates: Vec<GateChange> = result
        .iter()
        .map(|r| change(base_by_name.get(r.name.as_str()).copied(), Some(r)))
        .collect();
    gates.extend(
        base.iter()
            .filter(|b| !result_names.contains(&b.name.as_str()))
            .map(|b| change(Some(b), None)),
    );
    Comparison { gates }
}

fn change(base: Option<&GateObservation>, result: Option<&GateObservation>) -> GateChange {
    let passed = |g: Option<&GateObservation>| g.map(|g| g.outcome.passed());
    let change = match (passed(base), passed(result)) {
        (Some(false), Some(true)) => Change::Fixed,
        (Some(true), Some(false)) => Change::Regressed,
        (Some(true), Some(true)) => Change::StayedGreen,
        (Some(false), Some(false)) => Change::StayedRed,
        (None, _) => Change::Added,
        (_, None) => Change::Removed,
    };
    let required = base.is_some_and(|g| g.required) || result.is_some_and(|g| g.required);
    let was_green = passed(base) == Some(true);
    let blocking = required && was_green && matches!(change, Change::Regressed | Change::Removed);
    let name = result.or(base).map(|g| g.name.clone()).unwrap_or_default();
    GateChange {
        name,
        required,
        base: base.map(|g| g.outcome),
        result: result.map(|g| g.outcome),
        change,
        blocking,
    }
}

/// How a fail-to-pass claim is supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailToPassBasis {
    /// Individual tests were matched by id across the two runs.
    Tests,
    /// Neither run named its tests: the gate as a whole went from failed to passed.
    Gate,
}

/// Whether at least one test fails on the base and passes on the result, and the evidence for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailToPass {
    /// How the claim is supported.
    pub basis: FailToPassBasis,
    /// Tests that failed on the base and pass on the result.
    pub fixed_tests: Vec<String>,
    /// Tests that pass on the result but did not run on the base (new tests: not proof by themselves;
    /// run them against the base code to turn them into evidence).
    pub new_passing: Vec<String>,
    /// Tests that passed on the base and fail on the result.
    pub broken_tests: Vec<String>,
    /// The gate failed on the base (for the code, not for infrastructure) and passes on the result.
    pub gate_fixed: bool,
    /// The verdict: some test (or, without test ids on either side, the gate) went from failing to
    /// passing, nothing went the other way, and the result gate passes as a whole.
    pub holds: bool,
}

/// Judge fail-to-pass for one gate run on the base tree and on the result tree. An infrastructure
/// failure on the base (timeout, missing command) is not a failure of the code and proves nothing.
pub fn fail_to_pass(base: &GateObservation, result: &GateObservation) -> FailToPass {
    let gate_fixed = base.outcome == Outcome::Failed && result.outcome.passed();
    let delta = compare_tests(&base.tests, Some(&result.tests));
    let basis = if base.tests.is_empty() && result.tests.is_empty() {
        FailToPassBasis::Gate
    } else {
        FailToPassBasis::Tests
    };
    let evidence = match basis {
        FailToPassBasis::Tests => !delta.fail_to_pass.is_empty() && base.outcome == Outcome::Failed,
        FailToPassBasis::Gate => gate_fixed,
    };
    let holds = evidence && delta.broken.is_empty() && result.outcome.passed();
    FailToPass {
        basis,
        fixed_tests: delta.fail_to_pass,
        new_passing: delta.new_passing,
        broken_tests: delta.broken,
        gate_fixed,
        holds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::gate::TestOutcome;

    fn obs(name: &str, required: bool, outcome: Outcome) -> GateObservation {
        GateObservation {
            name: name.to_owned(),
            required,
            outcome,
            reason: None,
            tests: Vec::new(),
            runner: RunnerKind::Generic,
            metrics: Vec::new(),
        }
    }

    fn with_tests(outcome: Outcome, tests: &[(&str, TestOutcome)]) -> GateObservation {
        GateObservation {
            tests: tests
                .iter()
                .map(|(id, o)| TestResult {
                    id: (*id).to_owned(),
                    outcome: *o,
                })
                .collect(),
            ..obs("test", true, outcome)
        }
    }

    #[test]
    fn every_kind_of_change_is_classified() {
        use Outcome::*;
        let base = [
            obs("a", true, Failed),
            obs("b", true, Passed),
            obs("c", true, Passed),
            obs("d", true, FailedInfra),
            obs("gone", true, Passed),
            obs("gone-red", true, Failed),
            obs("opt", false, Passed),
        ];
        let result = [
            obs("a", true, Passed),
            obs("b", true, FailedInfra),
            obs("c", true, Passed),
            obs("d", true, Failed),
            obs("new", true, Failed),
            obs("opt", false, Failed),
        ];
        let cmp = compare(&base, &result);
        let got: Vec<(&str, Change, bool)> = cmp
            .gates
            .iter()
            .map(|g| (g.name.as_str(), g.change, g.blocking))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", Change::Fixed, false),
                ("b", Change::Regressed, true),
                ("c", Change::StayedGreen, false),
                ("d", Change::StayedRed, false),
                ("new", Change::Added, false),
                ("opt", Change::Regressed, false),
                ("gone", Change::Removed, true),
                ("gone-red", Change::Removed, false),
            ]
        );
        assert!(cmp.is_blocking());
        assert_eq!(cmp.with(Change::Fixed).count(), 1);
        let blocking: Vec<&str> = cmp.blocking().map(|g| g.name.as_str()).collect();
        assert_eq!(blocking, ["b", "gone"]);
    }

    #[test]
    fn making_a_required_gate_optional_does_not_hide_its_regression() {
        let base = [obs("t", true, Outcome::Passed)];
        let result = [obs("t", false, Outcome::Failed)];
        assert!(compare(&base, &result).is_blocking());
    }

    #[test]
    fn fail_to_pass_by_test_id() {
        use Outcome::*;
        use TestOutcome as T;
        let base = with_tests(Failed, &[("t::a", T::Passed), ("t::bug", T::Failed)]);
        let result = with_tests(
            Passed,
            &[("t::a", T::Passed), ("t::bug", T::Passed), ("t::new", T::Passed)],
        );
        let f = fail_to_pass(&base, &result);
        assert_eq!(f.basis, FailToPassBasis::Tests);
        assert_eq!(f.fixed_tests, ["t::bug"]);
        assert_eq!(f.new_passing, ["t::new"]);
        assert!(f.holds);
    }

    #[test]
    fn fail_to_pass_does_not_hold_without_a_failing_base_test() {
        use Outcome::*;
        use TestOutcome as T;
        let cases = [
            (
                "only new tests",
                with_tests(Passed, &[("a", T::Passed)]),
                with_tests(Passed, &[("a", T::Passed), ("b", T::Passed)]),
            ),
            (
                "fixed one, broke another",
                with_tests(Failed, &[("a", T::Passed), ("b", T::Failed)]),
                with_tests(Failed, &[("a", T::Failed), ("b", T::Passed)]),
            ),
            (
                "result still red",
                with_tests(Failed, &[("a", T::Failed), ("b", T::Failed)]),
                with_tests(Failed, &[("a", T::Passed), ("b", T::Failed)]),
            ),
            (
                "infra failure on base",
                obs("g", true, FailedInfra),
                obs("g", true, Passed),
            ),
            ("green on both", obs("g", true, Passed), obs("g", true, Passed)),
        ];
        for (name, base, result) in cases {
            assert!(!fail_to_pass(&base, &result).holds, "{name}");
        }
    }

    #[test]
    fn fail_to_pass_at_gate_level_when_no_tests_are_named() {
        let f = fail_to_pass(&obs("g", true, Outcome::Failed), &obs("g", true, Outcome::Passed));
        assert_eq!(f.basis, FailToPassBasis::Gate);
        assert!(f.gate_fixed && f.holds);
    }
}
