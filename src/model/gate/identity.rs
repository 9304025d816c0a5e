//! Test identity across base and result (DESIGN §6, "Evidence the agent cannot forge"): the tests of
//! one gate compared by their runner ids, as the SWE-bench harness does — which failed on the base and
//! pass now (FAIL_TO_PASS), which passed on both (PASS_TO_PASS), which broke, and which ran on the base
//! but do not run as well on the result (deleted, renamed, deselected, filtered, newly skipped or
//! expected to fail).
//!
//! Pure. Ids are compared exactly; nothing here reads a test's name for meaning.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{TestOutcome, TestResult};

/// A test that ran on the base and does not run as well on the result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedTest {
    /// The runner's id of the test.
    pub id: String,
    /// What it did on the base (passed, failed or errored: it ran).
    pub base: TestOutcome,
    /// What it did on the result: `None` when it did not appear at all (deleted, renamed, deselected,
    /// filtered), else `skipped` or `xfail`.
    pub result: Option<TestOutcome>,
}

impl RemovedTest {
    /// How it disappeared, in words: `deleted, renamed or deselected`, `skipped`, `expected to fail`.
    pub fn how(&self) -> &'static str {
        match self.result {
            None => "did not run (deleted, renamed, deselected or filtered out)",
            Some(TestOutcome::Xfail) => "is now expected to fail (xfail)",
            Some(_) => "is now skipped",
        }
    }
}

/// One gate's tests, base against result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestDelta {
    /// FAIL_TO_PASS: failed or errored on the base, pass on the result.
    pub fail_to_pass: Vec<String>,
    /// PASS_TO_PASS: passed on both.
    pub pass_to_pass: Vec<String>,
    /// Passed on the base, fail or error on the result.
    pub broken: Vec<String>,
    /// Ran on the base, do not run as well on the result.
    pub removed: Vec<RemovedTest>,
    /// Did not run on the base (absent, skipped, xfail) and pass on the result: new tests. Not proof
    /// of a fix by themselves.
    pub new_passing: Vec<String>,
}

/// Compare the tests of one gate on the base (`None`: the gate did not run there) with the same gate
/// on the result (`None`: it does not run there any more, so every test that ran on the base is
/// removed).
///
/// A base id that the result no longer reports but that names a file or group whose tests the result
/// does report (pytest's `ERROR tests/test_x.py` for a file that failed to collect, later
/// `tests/test_x.py::test_y`) is not removed: it fails to pass when all of those pass, and it broke the
/// other way round.
pub fn compare_tests(base: &[TestResult], result: Option<&[TestResult]>) -> TestDelta {
    let result = result.unwrap_or(&[]);
    let on_result: HashMap<&str, TestOutcome> = result.iter().map(|t| (t.id.as_str(), t.outcome)).collect();
    let on_base: HashMap<&str, TestOutcome> = base.iter().map(|t| (t.id.as_str(), t.outcome)).collect();
    let mut delta = TestDelta::default();
    for test in base {
        let id = test.id.clone();
        match (test.outcome, on_result.get(test.id.as_str()).copied()) {
            (b, Some(TestOutcome::Passed)) if b.failed() => delta.fail_to_pass.push(id),
            (TestOutcome::Passed, Some(TestOutcome::Passed)) => delta.pass_to_pass.push(id),
            (TestOutcome::Passed, Some(r)) if r.failed() => delta.broken.push(id),
            (b, Some(r)) if b.ran() && !r.ran() => delta.removed.push(RemovedTest {
                id,
                base: b,
                result: Some(r),
            }),
            (b, None) if b.ran() => match children(result, &test.id) {
                Some(all_pass) if b.failed() && all_pass => delta.fail_to_pass.push(id),
                Some(_) => {}
                None if failing_parent(result, &test.id) => delta.broken.push(id),
                None => delta.removed.push(RemovedTest {
                    id,
                    base: b,
                    result: None,
                }),
            },
            _ => {}
        }
    }
    for test in result {
        let new = on_base.get(test.id.as_str()).is_none_or(|b| !b.ran());
        if new && test.outcome == TestOutcome::Passed {
            delta.new_passing.push(test.id.clone());
        }
    }
    delta
}

/// The result's tests inside `id` (`id::…`): `None` when there are none, else whether all pass.
fn children(result: &[TestResult], id: &str) -> Option<bool> {
    let prefix = format!("{id}::");
    let mut inside = result.iter().filter(|t| t.id.starts_with(&prefix)).peekable();
    inside.peek()?;
    Some(inside.all(|t| t.outcome == TestOutcome::Passed))
}

/// Whether a failing id of the result contains `id` (the file it is in failed to collect).
fn failing_parent(result: &[TestResult], id: &str) -> bool {
    result
        .iter()
        .any(|t| t.outcome.failed() && id.starts_with(&format!("{}::", t.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use TestOutcome::*;

    fn tests(list: &[(&str, TestOutcome)]) -> Vec<TestResult> {
        list.iter()
            .map(|(id, outcome)| TestResult {
                id: (*id).to_owned(),
                outcome: *outcome,
            })
            .collect()
    }

    fn removed(id: &str, base: TestOutcome, result: Option<TestOutcome>) -> RemovedTest {
        RemovedTest {
            id: id.to_owned(),
            base,
            result,
        }
    }

    #[test]
    fn every_way_a_test_changes_is_classified_by_id() {
        let base = tests(&[
            ("t::fixed", Failed),
            ("t::fixed_error", Error),
            ("t::green", Passed),
            ("t::broken", Passed),
            ("t::deleted", Passed),
            ("t::deleted_red", Failed),
            ("t::skipped_now", Passed),
            ("t::xfail_now", Failed),
            ("t::still_red", Failed),
            ("t::was_skipped", Skipped),
            ("t::was_xfail", Xfail),
        ]);
        let result = tests(&[
            ("t::fixed", Passed),
            ("t::fixed_error", Passed),
            ("t::green", Passed),
            ("t::broken", Error),
            ("t::skipped_now", Skipped),
            ("t::xfail_now", Xfail),
            ("t::still_red", Failed),
            ("t::was_skipped", Passed),
            ("t::new", Passed),
            ("t::new_red", Failed),
        ]);
        let d = compare_tests(&base, Some(&result));
        assert_eq!(d.fail_to_pass, ["t::fixed", "t::fixed_error"]);
        assert_eq!(d.pass_to_pass, ["t::green"]);
        assert_eq!(d.broken, ["t::broken"]);
        assert_eq!(
            d.removed,
            [
                removed("t::deleted", Passed, None),
                removed("t::deleted_red", Failed, None),
                removed("t::skipped_now", Passed, Some(Skipped)),
                removed("t::xfail_now", Failed, Some(Xfail)),
            ]
        );
        assert_eq!(d.new_passing, ["t::was_skipped", "t::new"]);
    }

    #[test]
    fn a_gate_gone_from_the_result_removes_every_test_that_ran() {
        let base = tests(&[("a", Passed), ("b", Failed), ("c", Skipped)]);
        let d = compare_tests(&base, None);
        assert_eq!(
            d.removed,
            [removed("a", Passed, None), removed("b", Failed, None)]
        );
    }

    #[test]
    fn a_file_that_failed_to_collect_is_judged_by_the_tests_it_holds_later() {
        let base = tests(&[("tests/test_x.py", Error), ("tests/test_y.py::ok", Passed)]);
        let fixed = tests(&[("tests/test_x.py::a", Passed), ("tests/test_y.py::ok", Passed)]);
        let d = compare_tests(&base, Some(&fixed));
        assert_eq!(d.fail_to_pass, ["tests/test_x.py"]);
        assert!(d.removed.is_empty());
        let half = tests(&[("tests/test_x.py::a", Failed), ("tests/test_y.py::ok", Passed)]);
        let d = compare_tests(&base, Some(&half));
        assert!(d.fail_to_pass.is_empty() && d.removed.is_empty());
        // The other way round: the file no longer collects, so its tests broke (not removed).
        let d = compare_tests(&fixed, Some(&base));
        assert_eq!(d.broken, ["tests/test_x.py::a"]);
        assert!(d.removed.is_empty());
    }

    #[test]
    fn renaming_a_test_removes_the_old_id() {
        let base = tests(&[("t::test_add", Failed)]);
        let result = tests(&[("t::test_add_numbers", Passed)]);
        let d = compare_tests(&base, Some(&result));
        assert_eq!(d.removed, [removed("t::test_add", Failed, None)]);
        assert!(d.fail_to_pass.is_empty());
        assert_eq!(d.new_passing, ["t::test_add_numbers"]);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn outcome() -> impl Strategy<Value = TestOutcome> {
            prop_oneof![
                Just(Passed),
                Just(Failed),
                Just(Skipped),
                Just(Xfail),
                Just(Error)
            ]
        }

        fn list() -> impl Strategy<Value = Vec<TestResult>> {
            prop::collection::btree_map("[a-d]{1,2}", outcome(), 0..8).prop_map(|m| {
                m.into_iter()
                    .map(|(id, outcome)| TestResult { id, outcome })
                    .collect()
            })
        }

        proptest! {
            /// Every base test that ran is accounted for exactly once (fixed, kept green, broken, removed
            /// or still failing), and a test counts as removed only when it ran on the base and does not
            /// run on the result.
            #[test]
            fn every_test_that_ran_on_the_base_is_accounted_for(base in list(), result in list()) {
                let d = compare_tests(&base, Some(&result));
                let on_result: HashMap<&str, TestOutcome> =
                    result.iter().map(|t| (t.id.as_str(), t.outcome)).collect();
                for t in base.iter().filter(|t| t.outcome.ran()) {
                    let places = [
                        d.fail_to_pass.contains(&t.id),
                        d.pass_to_pass.contains(&t.id),
                        d.broken.contains(&t.id),
                        d.removed.iter().any(|r| r.id == t.id),
                    ];
                    let still_red = t.outcome.failed() && on_result.get(t.id.as_str()).is_some_and(|r| r.failed());
                    prop_assert_eq!(places.iter().filter(|p| **p).count() + usize::from(still_red), 1, "{}", t.id);
                }
                for r in &d.removed {
                    prop_assert!(r.base.ran());
                    prop_assert!(on_result.get(r.id.as_str()).is_none_or(|o| !o.ran()));
                }
            }

            /// Comparing a run with itself changes nothing.
            #[test]
            fn a_run_compared_with_itself_loses_and_fixes_nothing(run in list()) {
                let d = compare_tests(&run, Some(&run));
                prop_assert!(d.removed.is_empty() && d.broken.is_empty() && d.fail_to_pass.is_empty());
            }
        }
    }
}
