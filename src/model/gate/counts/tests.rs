//! Table tests over real runner output recorded in `fixtures/gate-output/` (cargo 1.9x, pytest 8.3,
//! go 1.19, Jest 29 and 30, Vitest 3 and 5, Node 20 and 22), including outputs in which a test prints lines that look
//! like results (they must not count).

use super::*;

macro_rules! sample {
    ($name:literal) => {
        include_str!(concat!("../../../../fixtures/gate-output/", $name))
    };
}

fn c(passed: u64, failed: u64, skipped: u64) -> Option<TestCounts> {
    Some(TestCounts {
        passed,
        failed,
        skipped,
    })
}

#[test]
fn counts_from_real_output() {
    use RunnerKind::*;
    let cases: [(&str, RunnerKind, &str, Option<TestCounts>); 32] = [
        ("cargo-pass", Cargo, sample!("cargo-pass.txt"), c(3, 0, 1)),
        ("cargo-mixed", Cargo, sample!("cargo-mixed.txt"), c(3, 1, 1)),
        ("cargo-zero", Cargo, sample!("cargo-zero.txt"), c(0, 0, 0)),
        ("cargo-build-error", Cargo, sample!("cargo-build-error.txt"), None),
        (
            "cargo-doctests-forged",
            Cargo,
            sample!("cargo-doctests-forged.txt"),
            c(3, 1, 1),
        ),
        (
            "pytest-v-ra-mixed",
            Pytest,
            sample!("pytest-v-ra-mixed.txt"),
            c(5, 2, 2),
        ),
        ("pytest-pass", Pytest, sample!("pytest-pass.txt"), c(2, 0, 0)),
        ("pytest-pass-q", Pytest, sample!("pytest-pass-q.txt"), c(2, 0, 0)),
        ("pytest-mixed", Pytest, sample!("pytest-mixed.txt"), c(1, 2, 2)),
        ("pytest-none", Pytest, sample!("pytest-none.txt"), c(0, 0, 0)),
        (
            "pytest-collect-error",
            Pytest,
            sample!("pytest-collect-error.txt"),
            c(0, 1, 0),
        ),
        ("go-v-pass", Go, sample!("go-v-pass.txt"), c(2, 0, 1)),
        ("go-v-mixed", Go, sample!("go-v-mixed.txt"), c(2, 1, 1)),
        ("go-v-none", Go, sample!("go-v-none.txt"), c(0, 0, 0)),
        ("go-none", Go, sample!("go-none.txt"), c(0, 0, 0)),
        ("go-pass without -v", Go, sample!("go-pass.txt"), None),
        ("go-mixed without -v", Go, sample!("go-mixed.txt"), None),
        ("jest-pass", Jest, sample!("jest-pass.txt"), c(2, 0, 0)),
        ("jest-mixed", Jest, sample!("jest-mixed.txt"), c(1, 1, 2)),
        ("jest-none", Jest, sample!("jest-none.txt"), c(0, 0, 0)),
        ("jest-none-pass", Jest, sample!("jest-none-pass.txt"), c(0, 0, 0)),
        ("vitest-pass", Vitest, sample!("vitest-pass.txt"), c(1, 0, 0)),
        ("vitest-mixed", Vitest, sample!("vitest-mixed.txt"), c(1, 1, 2)),
        ("vitest-none", Vitest, sample!("vitest-none.txt"), c(0, 0, 0)),
        (
            "vitest-none-pass",
            Vitest,
            sample!("vitest-none-pass.txt"),
            c(0, 0, 0),
        ),
        ("node20-mixed", Node, sample!("node20-mixed.txt"), c(3, 1, 1)),
        ("node22-mixed", Node, sample!("node22-mixed.txt"), c(3, 1, 1)),
        ("node20-zero", Node, sample!("node20-zero.txt"), c(0, 0, 0)),
        ("node22-zero", Node, sample!("node22-zero.txt"), c(0, 0, 0)),
        (
            "node22-spec-pass",
            Node,
            sample!("node22-spec-pass.txt"),
            c(1, 0, 0),
        ),
        (
            "node22-tap-skip-dup",
            Node,
            sample!("node22-tap-skip-dup.txt"),
            c(5, 1, 2),
        ),
        (
            "node22-spec-mixed",
            Node,
            sample!("node22-spec-mixed.txt"),
            c(5, 1, 2),
        ),
    ];
    for (name, runner, text, expected) in cases {
        assert_eq!(parse_output(runner, text).counts, expected, "{name}");
    }
}

#[test]
fn output_of_another_runner_is_not_counted() {
    let cases = [
        (RunnerKind::Cargo, sample!("pytest-pass.txt")),
        (RunnerKind::Pytest, sample!("cargo-pass.txt")),
        (RunnerKind::Jest, sample!("vitest-pass.txt")),
        (RunnerKind::Vitest, sample!("jest-pass.txt")),
        (RunnerKind::Go, sample!("node22-mixed.txt")),
        (RunnerKind::Node, sample!("cargo-pass.txt")),
        (RunnerKind::Pytest, "hello\nall good\n"),
        (RunnerKind::Cargo, ""),
    ];
    for (runner, text) in cases {
        assert_eq!(
            parse_output(runner, text).counts,
            None,
            "{runner:?} on {text:.40}"
        );
    }
    let generic = parse_output(RunnerKind::Generic, sample!("cargo-pass.txt"));
    assert_eq!(generic.counts, None);
    assert!(generic.tests.is_empty());
}

fn outcomes(runner: RunnerKind, text: &str) -> Vec<(String, TestOutcome)> {
    parse_output(runner, text)
        .tests
        .into_iter()
        .map(|t| (t.id, t.outcome))
        .collect()
}

fn t(id: &str, outcome: TestOutcome) -> (String, TestOutcome) {
    (id.to_owned(), outcome)
}

#[test]
fn per_test_results_from_real_output() {
    use TestOutcome::*;
    assert_eq!(
        outcomes(RunnerKind::Cargo, sample!("cargo-mixed.txt")),
        vec![
            t("src/lib.rs::tests::it_works", Passed),
            t("src/lib.rs::tests::slow", Skipped),
            t("src/lib.rs::tests::it_fails", Failed),
            t("tests/it.rs::integ", Passed),
            t("doctest::src/lib.rs - add", Passed),
        ]
    );
    assert_eq!(
        outcomes(RunnerKind::Pytest, sample!("pytest-mixed.txt")),
        vec![
            t("test_a.py::test_ok", Passed),
            t("test_a.py::test_xf", Xfail),
            t("test_a.py::test_err", Error),
            t("test_a.py::test_bad", Failed),
        ]
    );
    assert_eq!(
        outcomes(RunnerKind::Go, sample!("go-v-mixed.txt")),
        vec![
            t("example.com/fx/calc::TestAdd", Passed),
            t("example.com/fx/calc::TestFails", Failed),
            t("example.com/fx/calc::TestSkip", Skipped),
            t("example.com/fx/calc::TestTable", Passed),
        ]
    );
    assert_eq!(
        outcomes(RunnerKind::Node, sample!("node22-mixed.txt")),
        vec![
            t("adds", Passed),
            t("fails", Failed),
            t("skipped", Skipped),
            t("group", Passed),
        ]
    );
    assert_eq!(
        outcomes(RunnerKind::Node, sample!("node22-spec-pass.txt")),
        vec![t("ok", Passed)]
    );
}

#[test]
fn pytest_names_every_test_with_v_and_ra_and_ignores_what_tests_print() {
    use TestOutcome::*;
    assert_eq!(
        outcomes(RunnerKind::Pytest, sample!("pytest-v-ra-mixed.txt")),
        vec![
            t("test_a.py::test_ok", Passed),
            t("test_a.py::test_skip", Skipped),
            t("test_a.py::test_xf", Xfail),
            t("test_a.py::test_err", Error),
            t("test_a.py::test_bad", Failed),
            t("test_a.py::test_xp", Passed),
            t("test_a.py::test_p[1]", Passed),
            t("test_a.py::test_p[a b]", Passed),
            t("test_a.py::test_p[c - d]", Passed),
        ],
        "the captured `PASSED …` lines of test_bad are its output, not results"
    );
    let short = "== short test summary info ==\n\
                 FAILED tests/t.py::test_p[a - b] - assert 1 == 2\n\
                 PASSED tests/t.py::test_q[x] \n\
                 SKIPPED [2] tests/t.py:4: later\n";
    assert_eq!(
        outcomes(RunnerKind::Pytest, short),
        vec![
            t("tests/t.py::test_p[a - b]", Failed),
            t("tests/t.py::test_q[x]", Passed),
        ]
    );
}

#[test]
fn cargo_doctest_ids_survive_moved_lines_and_failure_output_is_not_results() {
    use TestOutcome::*;
    assert_eq!(
        outcomes(RunnerKind::Cargo, sample!("cargo-doctests-forged.txt")),
        vec![
            t("src/lib.rs::tests::it_works", Passed),
            t("src/lib.rs::tests::slow", Skipped),
            t("src/lib.rs::tests::it_fails", Failed),
            t("doctest::src/lib.rs - add", Passed),
            t("doctest::src/lib.rs - add #2", Passed),
        ],
        "the `test … ok` lines printed by it_fails are not results"
    );
    let moved = "   Doc-tests fx\n\ntest src/lib.rs - add (line 12) ... FAILED\ntest src/lib.rs - add (line 9) ... ok\n";
    assert_eq!(
        outcomes(RunnerKind::Cargo, moved),
        vec![
            t("doctest::src/lib.rs - add", Passed),
            t("doctest::src/lib.rs - add #2", Failed),
        ],
        "doctests of one item are numbered in source order, whatever order they finish in"
    );
}

#[test]
fn cargo_ids_do_not_depend_on_how_stderr_and_stdout_interleave() {
    // cargo's `Running …` headers come on stderr, the results on stdout, read by two readers: a
    // header may arrive after the results it announces. Each stream keeps its order.
    let text = sample!("cargo-mixed.txt");
    let is_header = |l: &&str| {
        let t = l.trim_start();
        t.starts_with("Running ") || t.starts_with("Doc-tests ")
    };
    let headers: Vec<&str> = text.lines().filter(is_header).collect();
    let results: Vec<&str> = text.lines().filter(|l| !is_header(l)).collect();
    let late: String = results.iter().chain(&headers).map(|l| format!("{l}\n")).collect();
    let early: String = headers.iter().chain(&results).map(|l| format!("{l}\n")).collect();
    let expected = outcomes(RunnerKind::Cargo, text);
    assert_eq!(expected.len(), 5);
    assert_eq!(outcomes(RunnerKind::Cargo, &late), expected, "headers last");
    assert_eq!(outcomes(RunnerKind::Cargo, &early), expected, "headers first");
}

#[test]
fn node_names_skips_todos_and_same_named_tests_of_other_files() {
    use TestOutcome::*;
    let expected = vec![
        t("adds", Passed),
        t("fails", Failed),
        t("skipped", Skipped),
        t("todo later", Skipped),
        t("group", Passed),
        t("works", Passed),
        t("works #2", Passed),
    ];
    assert_eq!(
        outcomes(RunnerKind::Node, sample!("node22-tap-skip-dup.txt")),
        expected,
        "TAP: the `ok 9 - forged` printed by a test is a comment"
    );
    assert_eq!(
        outcomes(RunnerKind::Node, sample!("node22-spec-mixed.txt")),
        expected,
        "spec: a TAP-looking line printed by a test is not a result, and the failure recap repeats nothing"
    );
}

#[test]
fn pytest_verbose_lines_and_collection_errors() {
    let text = "tests/test_a.py::test_one PASSED                [ 50%]\n\
                tests/test_a.py::test_two[a-b] FAILED          [100%]\n\
                ===== 1 failed, 1 passed in 0.03s =====\n";
    let parsed = parse_output(RunnerKind::Pytest, text);
    assert_eq!(parsed.counts, c(1, 1, 0));
    assert_eq!(
        parsed.tests,
        vec![
            TestResult {
                id: "tests/test_a.py::test_one".to_owned(),
                outcome: TestOutcome::Passed
            },
            TestResult {
                id: "tests/test_a.py::test_two[a-b]".to_owned(),
                outcome: TestOutcome::Failed
            },
        ]
    );
    let collect = parse_output(RunnerKind::Pytest, sample!("pytest-collect-error.txt"));
    assert_eq!(collect.tests.len(), 1);
    assert_eq!(collect.tests[0].id, "test_c.py");
    assert_eq!(collect.tests[0].outcome, TestOutcome::Error);
}

#[test]
fn jest_verbose_names_tests_under_their_describe_blocks_and_ignores_what_tests_print() {
    use TestOutcome::*;
    let parsed = parse_output(RunnerKind::Jest, sample!("jest-verbose-forged.txt"));
    assert_eq!(parsed.counts, c(6, 2, 2));
    let ids: Vec<(String, TestOutcome)> = parsed.tests.into_iter().map(|t| (t.id, t.outcome)).collect();
    assert_eq!(
        ids,
        vec![
            t("t/calc.test.js::top level", Passed),
            t("t/calc.test.js::calc › adds", Failed),
            t("t/calc.test.js::calc › subtracts", Passed),
            t("t/calc.test.js::calc › skipped one", Skipped),
            t("t/calc.test.js::calc › later", Skipped),
            t("t/calc.test.js::calc › nested > deep › works", Passed),
            t("t/other.test.js::top level", Passed),
            t("t/other.test.js::fails", Failed),
            t("t/log.test.js::logs", Passed),
            t("t/log.test.js::logs #2", Passed),
        ],
        "failure details and console blocks that print result lines are not results"
    );
    assert_eq!(
        outcomes(RunnerKind::Jest, sample!("jest-mixed.txt")),
        vec![
            t("t/a.test.js::adds", Passed),
            t("t/a.test.js::fails", Failed),
            t("t/a.test.js::skipped", Skipped),
            t("t/a.test.js::later", Skipped),
        ]
    );
}

#[test]
fn vitest_verbose_names_tests_by_file_and_path_and_ignores_what_tests_print() {
    use TestOutcome::*;
    let parsed = parse_output(RunnerKind::Vitest, sample!("vitest-verbose-mixed.txt"));
    assert_eq!(parsed.counts, c(4, 2, 2));
    let ids: Vec<(String, TestOutcome)> = parsed.tests.into_iter().map(|t| (t.id, t.outcome)).collect();
    assert_eq!(
        ids,
        vec![
            t("v/calc.test.js::calc > adds", Failed),
            t("v/calc.test.js::calc > subtracts", Passed),
            t("v/calc.test.js::calc > skipped one", Skipped),
            t("v/calc.test.js::calc > later", Skipped),
            t("v/calc.test.js::calc > nested > deep > works", Passed),
            t("v/calc.test.js::top level", Passed),
            t("v/other.test.js::top level", Passed),
            t("v/other.test.js::fails", Failed),
        ],
        "the stdout block and the failure recap are not results"
    );
    assert!(
        outcomes(RunnerKind::Vitest, sample!("vitest-mixed.txt")).is_empty(),
        "the default reporter's tree does not name tests"
    );
}

#[test]
fn result_lines_a_test_prints_past_the_reporters_markers_make_the_counts_unreadable() {
    for (runner, text) in [
        (RunnerKind::Jest, sample!("jest-verbose-written.txt")),
        (RunnerKind::Vitest, sample!("vitest-verbose-forged.txt")),
    ] {
        let parsed = parse_output(runner, text);
        assert_eq!(
            parsed.counts, None,
            "{runner:?}: the summary says 1 test, 2 are named"
        );
        assert!(parsed.tests.is_empty(), "{runner:?}: no forged evidence is kept");
    }
}

#[test]
fn summaries_survive_colours_and_redraws() {
    let coloured = "\u{1b}[32m\u{1b}[1m====== 3 passed\u{1b}[0m\u{1b}[32m in 0.01s ======\u{1b}[0m";
    assert_eq!(parse_output(RunnerKind::Pytest, coloured).counts, c(3, 0, 0));
    let vitest = "      Tests  \u{1b}[1m\u{1b}[32m2 passed\u{1b}[39m\u{1b}[22m\u{1b}[90m (2)\u{1b}[39m\r\n";
    assert_eq!(parse_output(RunnerKind::Vitest, vitest).counts, c(2, 0, 0));
    let redraw = "progress 10%\rprogress 100%\rtest result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";
    assert_eq!(parse_output(RunnerKind::Cargo, redraw).counts, c(4, 0, 0));
}

#[test]
fn pytest_summary_variants() {
    let cases = [
        ("= 5 passed, 2 warnings in 1.20s =", c(5, 0, 0)),
        ("=== 1 passed, 3 deselected in 0.10s ===", c(1, 0, 0)),
        ("2 failed, 1 passed, 1 xpassed, 2 errors in 0:01:02s", c(2, 4, 0)),
        ("======= no tests ran in 0.01s =======", c(0, 0, 0)),
        ("== 3 skipped in 0.01s ==", c(0, 0, 3)),
        ("3 passed in the morning", None),
        ("We ran 3 things in 2s", None),
    ];
    for (line, expected) in cases {
        assert_eq!(parse_output(RunnerKind::Pytest, line).counts, expected, "{line}");
    }
}

#[test]
fn the_last_pytest_summary_wins() {
    let text = "2 passed in 0.01s\nsome output\n== 1 failed, 1 passed in 0.02s ==\n";
    assert_eq!(parse_output(RunnerKind::Pytest, text).counts, c(1, 1, 0));
}

#[test]
fn metrics_are_read_from_any_runner() {
    let text = "warming up\nomk-metric: parse_ns 1234.5 ns\nomk-metric: throughput 88\n\
                omk-metric: bad value\nomk-metric: with spaces 1 2 3\nomk-metric: inf inf\n";
    for runner in [RunnerKind::Benchmark, RunnerKind::Generic, RunnerKind::Cargo] {
        let parsed = parse_output(runner, text);
        assert_eq!(
            parsed.metrics,
            vec![
                Metric {
                    name: "parse_ns".to_owned(),
                    value: 1234.5,
                    unit: Some("ns".to_owned())
                },
                Metric {
                    name: "throughput".to_owned(),
                    value: 88.0,
                    unit: None
                },
            ],
            "{runner:?}"
        );
    }
}

#[test]
fn repeated_reports_of_a_test_keep_the_last_and_lists_are_bounded() {
    let text = "test a ... FAILED\ntest a ... ok\n";
    assert_eq!(
        outcomes(RunnerKind::Cargo, text),
        vec![t("a", TestOutcome::Passed)]
    );
    let mut parser = OutputParser::new(RunnerKind::Cargo);
    for i in 0..MAX_TESTS + 5 {
        parser.line(&format!("test t{i} ... ok"));
    }
    let parsed = parser.finish();
    assert_eq!(parsed.tests.len(), MAX_TESTS);
    assert!(parsed.tests_truncated);
}

mod properties {
    use proptest::prelude::*;

    use super::super::*;

    proptest! {
        /// Hostile output never panics a parser, and bounded lists stay bounded.
        #[test]
        fn any_output_parses_without_panicking(lines in prop::collection::vec(".{0,80}", 0..40)) {
            for runner in RunnerKind::ALL {
                let mut parser = OutputParser::new(runner);
                for line in &lines {
                    parser.line(line);
                }
                let parsed = parser.finish();
                prop_assert!(parsed.tests.len() <= MAX_TESTS);
                prop_assert!(parsed.metrics.len() <= MAX_METRICS);
            }
        }

        /// Structural lines with arbitrary numbers are read exactly.
        #[test]
        fn cargo_sums_are_exact(results in prop::collection::vec((0u64..1000, 0u64..1000, 0u64..1000), 1..10)) {
            let text: String = results
                .iter()
                .map(|(p, f, i)| format!("test result: ok. {p} passed; {f} failed; {i} ignored; 0 measured; 0 filtered out; finished in 0.00s\n"))
                .collect();
            let counts = parse_output(RunnerKind::Cargo, &text).counts.unwrap();
            prop_assert_eq!(counts.passed, results.iter().map(|r| r.0).sum::<u64>());
            prop_assert_eq!(counts.failed, results.iter().map(|r| r.1).sum::<u64>());
            prop_assert_eq!(counts.skipped, results.iter().map(|r| r.2).sum::<u64>());
        }
    }
}
