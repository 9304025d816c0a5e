//! The oracle: the checks that decide whether a result does what its goal kind needs (DESIGN §6),
//! evaluated from recorded evidence only — gate outcomes, per-test results, metrics, review records —
//! never from gate names or English text. Pure.

use serde::{Deserialize, Serialize};

use super::gate::compare::{FailToPassBasis, GateObservation, compare, fail_to_pass};
use super::gate::{RunnerKind, TestOutcome};
use super::goal::GateRun;
use super::ids::CommitId;
use super::plan::{Oracle, OracleCheck};
use super::review::Review;

/// The result's test files run against the base code: the evidence that new tests fail before the
/// change (a bugfix's fail-to-pass).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRun {
    /// The commit run: the base tree with the result's changed test files laid over it.
    pub commit: CommitId,
    /// The result commit the tests came from.
    pub result: CommitId,
    /// The test files laid over the base.
    pub overlaid: Vec<String>,
    /// What the gates saw.
    pub gates: Vec<GateObservation>,
}

/// One evaluated check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check.
    pub check: OracleCheck,
    /// Whether the evidence supports it.
    pub passed: bool,
    /// What the evidence showed.
    pub detail: String,
}

/// The evidence an oracle is evaluated on.
#[derive(Clone, Copy, Debug)]
pub struct Evidence<'a> {
    /// Gates on the base.
    pub baseline: Option<&'a GateRun>,
    /// Gates on the result.
    pub result: Option<&'a GateRun>,
    /// The result's tests on the base code.
    pub base_run: Option<&'a BaseRun>,
    /// The review.
    pub review: Option<&'a Review>,
}

/// Evaluate every check of `oracle`.
pub fn evaluate(oracle: &Oracle, evidence: &Evidence<'_>) -> Vec<CheckResult> {
    oracle
        .checks
        .iter()
        .map(|check| evaluate_check(check, evidence))
        .collect()
}

fn evaluate_check(check: &OracleCheck, ev: &Evidence<'_>) -> CheckResult {
    let (passed, detail) = match check {
        OracleCheck::RequiredGatesPass => required_gates_pass(ev),
        OracleCheck::NoRegression => no_regression(ev),
        OracleCheck::FailToPass => fail_to_pass_check(ev),
        OracleCheck::BenchmarkImproves { min_improvement_pct } => benchmark(ev, *min_improvement_pct),
        OracleCheck::DocsGatePasses => docs_gate(ev),
        OracleCheck::FindingsReported => match ev.review {
            Some(r) => (
                true,
                format!("the review recorded {} finding(s)", r.findings.len()),
            ),
            None => (false, "no review is recorded".to_owned()),
        },
    };
    CheckResult {
        check: check.clone(),
        passed,
        detail,
    }
}

fn required_gates_pass(ev: &Evidence<'_>) -> (bool, String) {
    let Some(result) = ev.result else {
        return (false, "no gate ran on the result".to_owned());
    };
    let required: Vec<&GateObservation> = result.gates.iter().filter(|g| g.required).collect();
    let failing: Vec<&str> = required
        .iter()
        .filter(|g| !g.outcome.passed())
        .map(|g| g.name.as_str())
        .collect();
    match (required.is_empty(), failing.is_empty()) {
        (true, _) => (
            false,
            "no required gate exists, so nothing proves the result".to_owned(),
        ),
        (false, true) => (true, format!("{} required gate(s) pass", required.len())),
        (false, false) => (false, format!("required gate(s) failing: {}", failing.join(", "))),
    }
}

fn no_regression(ev: &Evidence<'_>) -> (bool, String) {
    let (Some(base), Some(result)) = (ev.baseline, ev.result) else {
        return (
            false,
            "gates did not run on both the base and the result".to_owned(),
        );
    };
    let blocking: Vec<String> = compare(&base.gates, &result.gates)
        .blocking()
        .map(|c| c.name.clone())
        .collect();
    if blocking.is_empty() {
        (
            true,
            "no required gate that passed on the base fails on the result".to_owned(),
        )
    } else {
        (false, format!("regressed: {}", blocking.join(", ")))
    }
}

fn fail_to_pass_check(ev: &Evidence<'_>) -> (bool, String) {
    let Some(result) = ev.result else {
        return (false, "no gate ran on the result".to_owned());
    };
    let failing = ev.baseline.map(failing_on_base).unwrap_or_default();
    // A base run of another result laid other tests over the base: it is no evidence for this one. And
    // while tests failed on the base, only those tests can show the fix: a test the change added fails
    // on the base code for reasons of its own (it may call a function that does not exist there).
    let this_result = ev.base_run.filter(|r| r.result == result.commit);
    let base_run = this_result.filter(|_| failing.is_empty());
    let mut shown: Vec<String> = Vec::new();
    let mut rewritten: Vec<String> = Vec::new();
    for gate in &result.gates {
        if let Some(base) = ev.baseline.and_then(|b| find(&b.gates, &gate.name)) {
            let f = fail_to_pass(base, gate);
            if f.holds {
                // A test the result rewrote so that it passes on the base code too (a weakened
                // assertion, a patched function) no longer shows the bug: it proves nothing.
                let (weakened, fixed): (Vec<&String>, Vec<&String>) = f
                    .fixed_tests
                    .iter()
                    .partition(|t| passes_on_base_code(this_result, &gate.name, t));
                rewritten.extend(weakened.into_iter().cloned());
                shown.extend(
                    fixed
                        .into_iter()
                        .map(|t| format!("{t}: failed on the base, passes now")),
                );
                if f.basis == FailToPassBasis::Gate {
                    shown.push(format!("gate {}: failed on the base, passes now", gate.name));
                }
            }
        }
        if let Some(base_code) = base_run.and_then(|r| find(&r.gates, &gate.name)) {
            let f = fail_to_pass(base_code, gate);
            if f.holds {
                shown.extend(
                    f.fixed_tests
                        .iter()
                        .map(|t| format!("{t}: fails on the base code (the result's test), passes now")),
                );
            }
        }
    }
    if !shown.is_empty() {
        return (true, shown.join("; "));
    }
    let detail = if !rewritten.is_empty() {
        format!(
            "{}: passes on the base code too as the result changed it (the result's test files over the base code), so it no longer shows the bug",
            bounded_list(&rewritten)
        )
    } else if failing.is_empty() {
        "no test was shown to fail on the base and pass on the result".to_owned()
    } else {
        format!(
            "tests failed on the base and none of them passes on the result: {} (a new test does not count while they fail or are gone)",
            bounded_list(&failing)
        )
    };
    (false, detail)
}

/// Whether test `id` of `gate` passed in the base run (the result's test files over the base code).
fn passes_on_base_code(base_run: Option<&BaseRun>, gate: &str, id: &str) -> bool {
    base_run.and_then(|r| find(&r.gates, gate)).is_some_and(|g| {
        g.tests
            .iter()
            .any(|t| t.id == id && t.outcome == TestOutcome::Passed)
    })
}

/// The ids of tests that failed or errored on the base in gates required there: while there are any,
/// a bugfix must make one of them pass.
pub fn failing_on_base(baseline: &GateRun) -> Vec<String> {
    baseline
        .gates
        .iter()
        .filter(|g| g.required)
        .flat_map(|g| g.tests.iter().filter(|t| t.outcome.failed()))
        .map(|t| t.id.clone())
        .collect()
}

/// At most ten items, then how many more.
fn bounded_list(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(10).map(String::as_str).collect();
    match items.len().saturating_sub(10) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

fn find<'a>(gates: &'a [GateObservation], name: &str) -> Option<&'a GateObservation> {
    gates.iter().find(|g| g.name == name)
}

/// Lower is better for every metric (times, sizes): improvement = (base − result) / base.
fn benchmark(ev: &Evidence<'_>, min_pct: u32) -> (bool, String) {
    let (Some(base), Some(result)) = (ev.baseline, ev.result) else {
        return (
            false,
            "the benchmark did not run on both the base and the result".to_owned(),
        );
    };
    let mut compared = Vec::new();
    for gate in result
        .gates
        .iter()
        .filter(|g| g.runner == RunnerKind::Benchmark && g.outcome.passed())
    {
        let Some(before) = find(&base.gates, &gate.name) else {
            continue;
        };
        for m in &gate.metrics {
            let Some(b) = before.metrics.iter().find(|x| x.name == m.name) else {
                continue;
            };
            if b.milli > 0 {
                let pct = (b.milli - m.milli) as f64 * 100.0 / b.milli as f64;
                compared.push((
                    pct,
                    format!(
                        "{} {}: {} → {} ({pct:+.1}%)",
                        gate.name,
                        m.name,
                        b.milli as f64 / 1000.0,
                        m.milli as f64 / 1000.0
                    ),
                ));
            }
        }
    }
    if compared.is_empty() {
        return (
            false,
            "no benchmark gate (runner = \"benchmark\") reported the same metric on the base and the result"
                .to_owned(),
        );
    }
    let passed = compared.iter().all(|(pct, _)| *pct >= f64::from(min_pct));
    let details: Vec<String> = compared.into_iter().map(|(_, d)| d).collect();
    (
        passed,
        format!("needs at least {min_pct}% improvement: {}", details.join("; ")),
    )
}

fn docs_gate(ev: &Evidence<'_>) -> (bool, String) {
    let Some(result) = ev.result else {
        return (false, "no gate ran on the result".to_owned());
    };
    let docs: Vec<&GateObservation> = result
        .gates
        .iter()
        .filter(|g| g.runner == RunnerKind::Docs)
        .collect();
    match docs.iter().find(|g| g.outcome.passed()) {
        Some(g) => (true, format!("docs gate {} passes", g.name)),
        None if docs.is_empty() => (false, "no docs gate (runner = \"docs\") is configured".to_owned()),
        None => (false, "the docs gate fails".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::gate::Outcome;
    use crate::model::gate::TestOutcome::{Failed, Passed};
    use crate::model::ids::fake;
    use crate::model::proof::tests::{bench, gate, high, run, tested};
    use crate::model::status::GoalKind;
    use chrono::{TimeZone, Utc};

    fn one(check: OracleCheck, ev: &Evidence<'_>) -> CheckResult {
        let oracle = Oracle {
            kind: GoalKind::Feature,
            checks: vec![check],
        };
        evaluate(&oracle, ev).remove(0)
    }

    fn evidence<'a>(base: &'a GateRun, result: &'a GateRun) -> Evidence<'a> {
        Evidence {
            baseline: Some(base),
            result: Some(result),
            base_run: None,
            review: None,
        }
    }

    #[test]
    fn required_gates_must_exist_and_pass() {
        let base = run("b", vec![]);
        let only_optional = run("r", vec![gate("lint", false, Outcome::Passed)]);
        assert!(!one(OracleCheck::RequiredGatesPass, &evidence(&base, &only_optional)).passed);
        let failing = run("r", vec![gate("test", true, Outcome::FailedInfra)]);
        let c = one(OracleCheck::RequiredGatesPass, &evidence(&base, &failing));
        assert!(!c.passed);
        assert!(c.detail.contains("test"), "{}", c.detail);
        let green = run("r", vec![gate("test", true, Outcome::Passed)]);
        assert!(one(OracleCheck::RequiredGatesPass, &evidence(&base, &green)).passed);
    }

    #[test]
    fn no_regression_needs_both_runs() {
        let result = run("r", vec![gate("test", true, Outcome::Passed)]);
        let without_base = Evidence {
            baseline: None,
            ..evidence(&result, &result)
        };
        assert!(!one(OracleCheck::NoRegression, &without_base).passed);
        let base = run("b", vec![gate("test", true, Outcome::Passed)]);
        assert!(one(OracleCheck::NoRegression, &evidence(&base, &result)).passed);
        let broken = run("r", vec![gate("test", true, Outcome::Failed)]);
        let c = one(OracleCheck::NoRegression, &evidence(&base, &broken));
        assert_eq!((c.passed, c.detail.as_str()), (false, "regressed: test"));
    }

    #[test]
    fn fail_to_pass_uses_the_base_run_of_this_result_only() {
        let base = run("b", vec![tested(Outcome::Passed, &[("t::old", Passed)])]);
        let result = run(
            "r",
            vec![tested(Outcome::Passed, &[("t::old", Passed), ("t::new", Passed)])],
        );
        let failing_on_base = BaseRun {
            commit: fake::commit("overlay"),
            result: fake::commit("r"),
            overlaid: vec!["tests/new.rs".into()],
            gates: vec![tested(Outcome::Failed, &[("t::old", Passed), ("t::new", Failed)])],
        };
        let with = |r: &BaseRun| -> bool {
            let ev = Evidence {
                base_run: Some(r),
                ..evidence(&base, &result)
            };
            one(OracleCheck::FailToPass, &ev).passed
        };
        assert!(!one(OracleCheck::FailToPass, &evidence(&base, &result)).passed);
        assert!(with(&failing_on_base));
        let stale = BaseRun {
            result: fake::commit("older"),
            ..failing_on_base.clone()
        };
        assert!(!with(&stale), "a base run of another result proves nothing here");
        let passing_on_base = BaseRun {
            gates: vec![tested(Outcome::Passed, &[("t::old", Passed), ("t::new", Passed)])],
            ..failing_on_base
        };
        assert!(!with(&passing_on_base));
    }

    #[test]
    fn fail_to_pass_from_the_baseline_itself() {
        let base = run("b", vec![tested(Outcome::Failed, &[("t::bug", Failed)])]);
        let result = run("r", vec![tested(Outcome::Passed, &[("t::bug", Passed)])]);
        let c = one(OracleCheck::FailToPass, &evidence(&base, &result));
        assert!(c.passed);
        assert_eq!(c.detail, "t::bug: failed on the base, passes now");
    }

    #[test]
    fn while_base_tests_fail_a_new_test_failing_on_the_base_code_proves_nothing() {
        // The agent replaced the failing test by one that fails on the base only because the function
        // it calls is new; the bug is still there.
        let base = run(
            "b",
            vec![tested(
                Outcome::Failed,
                &[("t::test_add", Failed), ("t::ok", Passed)],
            )],
        );
        let result = run(
            "r",
            vec![tested(
                Outcome::Passed,
                &[("t::test_version", Passed), ("t::ok", Passed)],
            )],
        );
        let swapped_on_base = BaseRun {
            commit: fake::commit("overlay"),
            result: fake::commit("r"),
            overlaid: vec!["tests/test_calc.py".into()],
            gates: vec![tested(
                Outcome::Failed,
                &[("t::test_version", Failed), ("t::ok", Passed)],
            )],
        };
        let ev = Evidence {
            base_run: Some(&swapped_on_base),
            ..evidence(&base, &result)
        };
        let c = one(OracleCheck::FailToPass, &ev);
        assert!(!c.passed);
        assert!(c.detail.contains("t::test_add"), "{}", c.detail);
        // Making one of the tests that failed pass is the proof, new tests or not.
        let fixed = run(
            "r",
            vec![tested(
                Outcome::Passed,
                &[
                    ("t::test_add", Passed),
                    ("t::test_version", Passed),
                    ("t::ok", Passed),
                ],
            )],
        );
        let ev = Evidence {
            base_run: Some(&swapped_on_base),
            ..evidence(&base, &fixed)
        };
        assert!(one(OracleCheck::FailToPass, &ev).passed);
    }

    #[test]
    fn a_failing_test_the_result_rewrote_to_pass_on_the_base_code_proves_nothing() {
        // The agent changed test_add's expected value to match the buggy code (or patched add in the
        // test file): it fails on the base tree, passes on the result, and passes on the base code
        // with the result's test file too.
        let base = run(
            "b",
            vec![tested(
                Outcome::Failed,
                &[("t::test_add", Failed), ("t::ok", Passed)],
            )],
        );
        let result = run(
            "r",
            vec![tested(
                Outcome::Passed,
                &[("t::test_add", Passed), ("t::ok", Passed)],
            )],
        );
        let on_base_code = |outcome| BaseRun {
            commit: fake::commit("overlay"),
            result: fake::commit("r"),
            overlaid: vec!["tests/test_calc.py".into()],
            gates: vec![tested(
                Outcome::Passed,
                &[("t::test_add", outcome), ("t::ok", Passed)],
            )],
        };
        let weakened = on_base_code(Passed);
        let ev = Evidence {
            base_run: Some(&weakened),
            ..evidence(&base, &result)
        };
        let c = one(OracleCheck::FailToPass, &ev);
        assert!(!c.passed);
        assert!(
            c.detail.starts_with("t::test_add: passes on the base code too")
                && c.detail.ends_with("no longer shows the bug"),
            "{}",
            c.detail
        );
        // The test still catching the bug on the base code (its file changed honestly) is the proof.
        let honest = on_base_code(Failed);
        let ev = Evidence {
            base_run: Some(&honest),
            ..evidence(&base, &result)
        };
        assert!(one(OracleCheck::FailToPass, &ev).passed);
        // A base run of another result says nothing about this one.
        let stale = BaseRun {
            result: fake::commit("older"),
            ..weakened
        };
        let ev = Evidence {
            base_run: Some(&stale),
            ..evidence(&base, &result)
        };
        assert!(one(OracleCheck::FailToPass, &ev).passed);
    }

    #[test]
    fn failing_tests_of_optional_gates_do_not_decide_which_tests_must_pass() {
        let mut optional = tested(Outcome::Failed, &[("slow::flaky", Failed)]);
        optional.name = "slow".into();
        optional.required = false;
        let base = run(
            "b",
            vec![tested(Outcome::Passed, &[("t::old", Passed)]), optional],
        );
        assert!(failing_on_base(&base).is_empty());
        let result = run(
            "r",
            vec![tested(Outcome::Passed, &[("t::old", Passed), ("t::new", Passed)])],
        );
        let new_fails_on_base = BaseRun {
            commit: fake::commit("overlay"),
            result: fake::commit("r"),
            overlaid: vec!["tests/new.rs".into()],
            gates: vec![tested(Outcome::Failed, &[("t::old", Passed), ("t::new", Failed)])],
        };
        let ev = Evidence {
            base_run: Some(&new_fails_on_base),
            ..evidence(&base, &result)
        };
        let c = one(OracleCheck::FailToPass, &ev);
        assert!(c.passed, "{}", c.detail);
        assert_eq!(
            c.detail,
            "t::new: fails on the base code (the result's test), passes now"
        );
    }

    #[test]
    fn benchmarks_are_judged_against_their_threshold() {
        let check = |before: f64, after: f64, pct: u32| {
            let base = run("b", vec![bench(before)]);
            let result = run("r", vec![bench(after)]);
            one(
                OracleCheck::BenchmarkImproves {
                    min_improvement_pct: pct,
                },
                &evidence(&base, &result),
            )
        };
        let c = check(10.0, 8.0, 20);
        assert!(c.passed, "{}", c.detail);
        assert!(c.detail.contains("bench parse: 10 → 8 (+20.0%)"), "{}", c.detail);
        assert!(!check(10.0, 8.1, 20).passed);
        assert!(!check(10.0, 12.0, 1).passed, "slower is not better");
    }

    #[test]
    fn a_benchmark_needs_the_benchmark_runner_and_a_passing_result() {
        let base = run("b", vec![bench(10.0)]);
        let mut not_a_bench = bench(1.0);
        not_a_bench.runner = RunnerKind::Generic;
        let result = run("r", vec![not_a_bench]);
        let check = OracleCheck::BenchmarkImproves {
            min_improvement_pct: 10,
        };
        assert!(!one(check.clone(), &evidence(&base, &result)).passed);
        let mut failed = bench(1.0);
        failed.outcome = Outcome::Failed;
        let result = run("r", vec![failed]);
        assert!(!one(check, &evidence(&base, &result)).passed);
    }

    #[test]
    fn the_docs_gate_is_found_by_its_runner() {
        let base = run("b", vec![]);
        let docs = |name: &str, runner, outcome| GateObservation {
            runner,
            ..gate(name, false, outcome)
        };
        let by_runner = run("r", vec![docs("site", RunnerKind::Docs, Outcome::Passed)]);
        assert!(one(OracleCheck::DocsGatePasses, &evidence(&base, &by_runner)).passed);
        let by_name = run("r", vec![docs("docs", RunnerKind::Generic, Outcome::Passed)]);
        assert!(!one(OracleCheck::DocsGatePasses, &evidence(&base, &by_name)).passed);
        let failing = run("r", vec![docs("site", RunnerKind::Docs, Outcome::Failed)]);
        let c = one(OracleCheck::DocsGatePasses, &evidence(&base, &failing));
        assert_eq!((c.passed, c.detail.as_str()), (false, "the docs gate fails"));
    }

    #[test]
    fn findings_reported_needs_a_review() {
        let base = run("b", vec![]);
        assert!(!one(OracleCheck::FindingsReported, &evidence(&base, &base)).passed);
        let review = Review {
            commit: fake::commit("r"),
            findings: vec![high("x")],
            gaps: Vec::new(),
            at: Utc
                .with_ymd_and_hms(2026, 11, 22, 0, 0, 0)
                .single()
                .expect("valid"),
        };
        let ev = Evidence {
            review: Some(&review),
            ..evidence(&base, &base)
        };
        let c = one(OracleCheck::FindingsReported, &ev);
        assert_eq!(
            (c.passed, c.detail.as_str()),
            (true, "the review recorded 1 finding(s)")
        );
    }
}
