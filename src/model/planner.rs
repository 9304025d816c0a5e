//! The heuristic planner: goal text + intake + the repository's file list → plan artifacts, a validated
//! task graph and the decisions behind them (DESIGN §3.2). Used with `--no-llm-planner` and as the
//! fallback when an agent's plan is unusable.
//!
//! Every part of the goal becomes a task (nothing is silently dropped); tasks whose write sets may
//! overlap are ordered. Pure: the caller lists the files.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::decision::DecisionDraft;
use super::graph::{GraphError, TaskGraph};
use super::ids::TaskId;
use super::intake::{Intake, Part, is_filler, path_words, words};
use super::plan::{Oracle, OracleCheck, PlanArtifacts, PlannerInfo, RelevantFile};
use super::status::GoalKind;
use super::task::{Task, TaskKind, TaskStatus};
use super::text::title_of;
use super::writeset::{PathPattern, sets_may_overlap};

/// At most this many files are listed as relevant per part.
pub const MAX_FILES_PER_PART: usize = 8;
/// At most this many tasks; further parts are merged into the last task (and a decision says so).
pub const MAX_TASKS: usize = 12;

const TEST_DIRS: &[&str] = &["tests", "test", "spec", "__tests__"];

/// What the planner produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanOutput {
    /// Brief, technical plan, test spec, oracle.
    pub artifacts: PlanArtifacts,
    /// The validated graph.
    pub tasks: TaskGraph,
    /// Why it looks the way it does.
    pub decisions: Vec<DecisionDraft>,
}

/// Plan `text` (already through intake) against `files` (repository paths at the base commit).
pub fn plan(text: &str, intake: &Intake, files: &[String], reason: &str) -> Result<PlanOutput, GraphError> {
    let mut decisions = vec![classification_decision(intake)];
    let parts = bounded_parts(&intake.parts, &mut decisions);
    let relevant: Vec<Vec<RelevantFile>> = parts.iter().map(|p| relevant_files(p, files)).collect();
    let mut tasks: Vec<Task> = Vec::new();
    for (i, (part, rel)) in parts.iter().zip(&relevant).enumerate() {
        let (task, decision) = task_for(i, part, rel, files, &tasks);
        decisions.push(decision);
        tasks.push(task);
    }
    order_conflicts(&mut tasks, &mut decisions);
    let graph = TaskGraph::new(tasks)?;
    let oracle = oracle_for(intake.kind, &parts);
    let all_relevant: Vec<RelevantFile> = dedup_files(relevant.iter().flatten().cloned());
    let artifacts = PlanArtifacts {
        brief: brief(text, intake, &graph),
        technical_plan: technical_plan(&graph, &parts, &relevant),
        test_spec: test_spec(&graph, &oracle),
        oracle,
        relevant_files: all_relevant,
        planner: PlannerInfo::Heuristic {
            reason: reason.to_owned(),
        },
    };
    decisions.push(DecisionDraft::new("planning", "heuristic planner", reason));
    Ok(PlanOutput {
        artifacts,
        tasks: graph,
        decisions,
    })
}

fn classification_decision(intake: &Intake) -> DecisionDraft {
    let kinds: Vec<String> = intake
        .parts
        .iter()
        .map(|p| format!("\"{}\" → {}", p.text, p.kind))
        .collect();
    DecisionDraft::new(
        "intake",
        format!("goal kind {}", intake.kind),
        format!("{} part(s) read from the goal text", intake.parts.len()),
    )
    .with_evidence(kinds)
}

fn bounded_parts(parts: &[Part], decisions: &mut Vec<DecisionDraft>) -> Vec<Part> {
    if parts.len() <= MAX_TASKS {
        return parts.to_vec();
    }
    let mut kept = parts[..MAX_TASKS].to_vec();
    let rest: Vec<&Part> = parts[MAX_TASKS..].iter().collect();
    let last = kept
        .last_mut()
        .expect("MAX_TASKS is positive, so parts were kept");
    for extra in &rest {
        last.text.push_str("; ");
        last.text.push_str(&extra.text);
        last.anchors.extend(extra.anchors.iter().cloned());
    }
    decisions.push(DecisionDraft::new(
        "planning",
        format!("merged {} trailing part(s) into the last task", rest.len()),
        format!("a goal is split into at most {MAX_TASKS} tasks; nothing was dropped"),
    ));
    kept
}

/// Score the repository's files against a part: anchors naming a path match strongly, words weakly.
fn relevant_files(part: &Part, files: &[String]) -> Vec<RelevantFile> {
    let anchors: Vec<String> = part.anchors.iter().map(|a| a.to_lowercase()).collect();
    let part_words: BTreeSet<String> = words(&part.text)
        .into_iter()
        .filter(|w| w.len() >= 4 && !is_filler(w))
        .collect();
    let mut scored: Vec<(usize, RelevantFile)> = files
        .iter()
        .filter_map(|path| {
            let lower = path.to_lowercase();
            let pw: BTreeSet<String> = path_words(path).collect();
            let mut matched: Vec<String> = anchors
                .iter()
                .filter(|a| lower == **a || lower.ends_with(&format!("/{a}")) || pw.contains(*a))
                .cloned()
                .collect();
            let strong = matched.len();
            let weak: Vec<String> = part_words
                .iter()
                .filter(|w| pw.contains(*w) && !matched.contains(w))
                .cloned()
                .collect();
            matched.extend(weak);
            (!matched.is_empty()).then(|| {
                (
                    strong * 10 + matched.len(),
                    RelevantFile {
                        path: path.clone(),
                        matched,
                    },
                )
            })
        })
        .collect();
    scored.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.path.len().cmp(&b.1.path.len()))
            .then_with(|| a.1.path.cmp(&b.1.path))
    });
    scored
        .into_iter()
        .take(MAX_FILES_PER_PART)
        .map(|(_, f)| f)
        .collect()
}

fn dedup_files(files: impl Iterator<Item = RelevantFile>) -> Vec<RelevantFile> {
    let mut seen = BTreeSet::new();
    files.filter(|f| seen.insert(f.path.clone())).collect()
}

fn task_for(
    i: usize,
    part: &Part,
    relevant: &[RelevantFile],
    files: &[String],
    earlier: &[Task],
) -> (Task, DecisionDraft) {
    let id = task_id(i, &part.text);
    let (write_set, why) = write_set_for(part, relevant, files);
    let decision = DecisionDraft::new(
        "planning",
        format!("task {id}: write set {}", join_patterns(&write_set)),
        why,
    )
    .with_evidence(
        relevant
            .iter()
            .map(|f| format!("{} (matched: {})", f.path, f.matched.join(", "))),
    );
    let depends_on = match (part.after_previous, earlier.last()) {
        (true, Some(prev)) => vec![prev.id.clone()],
        _ => Vec::new(),
    };
    let task = Task {
        id,
        title: title_of(&part.text),
        description: part.text.clone(),
        kind: task_kind(part.kind),
        status: TaskStatus::Pending,
        depends_on,
        read_set: Vec::new(),
        write_set,
        acceptance: acceptance_for(part),
        gates: Vec::new(),
        retry_limit: Task::DEFAULT_RETRY_LIMIT,
        attempts: Vec::new(),
        branch: None,
        session_id: None,
        integrated: None,
        note: None,
        removes_tests: Vec::new(),
    };
    (task, decision)
}

fn task_id(i: usize, text: &str) -> TaskId {
    const SKIP: &[&str] = &[
        "the", "and", "for", "with", "into", "from", "that", "this", "in", "to", "of", "on", "an", "it",
        "its",
    ];
    let slug: Vec<String> = words(text)
        .iter()
        .flat_map(|w| {
            w.split(['-', '_'])
                .map(|p| p.chars().filter(char::is_ascii_alphanumeric).collect::<String>())
                .collect::<Vec<_>>()
        })
        .filter(|w| w.len() >= 2 && !SKIP.contains(&w.as_str()))
        .take(5)
        .collect();
    let mut id = format!("t{}", i + 1);
    for w in slug {
        if id.len() + 1 + w.len() > TaskId::MAX_LEN {
            break;
        }
        id.push('-');
        id.push_str(&w);
    }
    TaskId::parse(&id)
        .unwrap_or_else(|_| TaskId::parse(&format!("t{}", i + 1)).expect("t<number> is a valid task id"))
}

fn write_set_for(part: &Part, relevant: &[RelevantFile], files: &[String]) -> (Vec<PathPattern>, String) {
    let strong: Vec<&RelevantFile> = relevant
        .iter()
        .filter(|f| {
            f.matched
                .iter()
                .any(|m| part.anchors.iter().any(|a| a.eq_ignore_ascii_case(m)))
        })
        .collect();
    let chosen: Vec<&RelevantFile> = if strong.is_empty() {
        relevant.iter().take(3).collect()
    } else {
        strong
    };
    if chosen.is_empty() {
        return fallback_write_set(part);
    }
    let mut set = BTreeSet::new();
    for file in &chosen {
        for pattern in patterns_around(&file.path, files) {
            set.insert(pattern);
        }
    }
    let why = format!(
        "the files named or matched by \"{}\", their siblings with the same stem and their tests",
        part.text
    );
    (without_covered(set.into_iter().collect()), why)
}

/// `src/slug.rs` → `src/slug.rs`, `src/slug*` (same-stem siblings, co-located tests) and, for each test
/// directory of the repository, `tests/slug*` and `tests/test_slug*`.
fn patterns_around(path: &str, files: &[String]) -> Vec<PathPattern> {
    let (dir, name) = path.rsplit_once('/').map_or(("", path), |(d, n)| (d, n));
    let stem = name.split('.').next().unwrap_or(name);
    let join = |d: &str, rest: &str| {
        if d.is_empty() {
            rest.to_owned()
        } else {
            format!("{d}/{rest}")
        }
    };
    let mut raw = vec![path.to_owned()];
    if stem.len() >= 3 && !is_shared_name(stem) {
        raw.push(join(dir, &format!("{stem}*")));
        for test_dir in TEST_DIRS
            .iter()
            .filter(|t| files.iter().any(|f| f.starts_with(&format!("{t}/"))))
        {
            raw.push(format!("{test_dir}/{stem}*"));
            raw.push(format!("{test_dir}/test_{stem}*"));
        }
    }
    raw.iter().filter_map(|p| PathPattern::parse(p).ok()).collect()
}

/// Drop literal paths that another pattern of the set already matches (`src/a.rs` under `src/a*`).
fn without_covered(set: Vec<PathPattern>) -> Vec<PathPattern> {
    let covered = |p: &PathPattern| {
        set.iter()
            .any(|q| q != p && q.as_str().contains('*') && q.matches(p.as_str()))
    };
    set.iter().filter(|p| !covered(p)).cloned().collect()
}

/// Names shared by many unrelated files (`mod.rs`, `index.js`, `__init__.py`): their stem says nothing.
fn is_shared_name(stem: &str) -> bool {
    [
        "mod", "lib", "main", "index", "__init__", "init", "utils", "util", "test", "tests",
    ]
    .contains(&stem)
}

fn fallback_write_set(part: &Part) -> (Vec<PathPattern>, String) {
    let (raw, why): (&[&str], String) = if part.kind == GoalKind::Docs {
        (
            &["README.md", "docs/**"],
            format!(
                "no file matched \"{}\"; documentation goes to README.md and docs/",
                part.text
            ),
        )
    } else {
        (
            &["**"],
            format!(
                "no file matched \"{}\"; the task may write anywhere in the repository, so it is ordered after every task it could collide with",
                part.text
            ),
        )
    };
    (
        raw.iter().filter_map(|p| PathPattern::parse(p).ok()).collect(),
        why,
    )
}

fn join_patterns(set: &[PathPattern]) -> String {
    set.iter().map(PathPattern::as_str).collect::<Vec<_>>().join(", ")
}

/// The kind of task a goal (or part) of `kind` becomes.
pub fn task_kind(kind: GoalKind) -> TaskKind {
    match kind {
        GoalKind::Bugfix => TaskKind::Fix,
        GoalKind::Refactor => TaskKind::Refactor,
        GoalKind::Docs => TaskKind::Docs,
        GoalKind::Audit => TaskKind::Review,
        GoalKind::Feature | GoalKind::Performance | GoalKind::Rewrite | GoalKind::Mixed => {
            TaskKind::Implement
        }
    }
}

fn acceptance_for(part: &Part) -> Vec<String> {
    let mut out = vec![format!("Done as asked: {}", part.text)];
    out.push(match part.kind {
        GoalKind::Bugfix => {
            "A test reproduces the problem: it fails on the base commit and passes after the change"
                .to_owned()
        }
        GoalKind::Feature | GoalKind::Rewrite | GoalKind::Mixed => {
            "The new behaviour is covered by at least one new or updated test".to_owned()
        }
        GoalKind::Refactor => {
            "Behaviour is unchanged: every gate that passed on the base still passes".to_owned()
        }
        GoalKind::Performance => format!(
            "A benchmark shows the improvement against the base ({})",
            part.target
                .as_deref()
                .map_or("at least 10%".to_owned(), |t| format!("target {t}"))
        ),
        GoalKind::Docs => "The documentation describes the behaviour as the code implements it".to_owned(),
        GoalKind::Audit => {
            "A findings report lists each finding with severity, file, line and message".to_owned()
        }
    });
    out.push("Only files inside the write set are changed".to_owned());
    if part.kind != GoalKind::Audit {
        out.push("Every required gate passes in the task's worktree".to_owned());
    }
    out
}

/// Add a dependency from each later task to each earlier task it may collide with, unless already ordered.
fn order_conflicts(tasks: &mut [Task], decisions: &mut Vec<DecisionDraft>) {
    for j in 1..tasks.len() {
        for i in 0..j {
            let graph = TaskGraph {
                tasks: tasks.to_vec(),
            };
            let ordered = graph.depends_transitively(&tasks[j].id, &tasks[i].id);
            if !ordered && sets_may_overlap(&tasks[i].write_set, &tasks[j].write_set) {
                let dep = tasks[i].id.clone();
                decisions.push(DecisionDraft::new(
                    "planning",
                    format!("task {} runs after {dep}", tasks[j].id),
                    "their write sets may overlap, so they cannot run at the same time",
                ));
                tasks[j].depends_on.push(dep);
            }
        }
    }
}

fn oracle_for(kind: GoalKind, parts: &[Part]) -> Oracle {
    let mut checks: Vec<OracleCheck> = Vec::new();
    let mut add = |c: OracleCheck| {
        if !checks.contains(&c) {
            checks.push(c);
        }
    };
    for part in parts {
        match part.kind {
            GoalKind::Audit => add(OracleCheck::FindingsReported),
            GoalKind::Docs => {
                add(OracleCheck::DocsGatePasses);
                add(OracleCheck::NoRegression);
            }
            other => {
                add(OracleCheck::RequiredGatesPass);
                add(OracleCheck::NoRegression);
                if other == GoalKind::Bugfix {
                    add(OracleCheck::FailToPass);
                }
                if other == GoalKind::Performance {
                    add(OracleCheck::BenchmarkImproves {
                        min_improvement_pct: percent_target(part).unwrap_or(10),
                    });
                }
            }
        }
    }
    Oracle { kind, checks }
}

fn percent_target(part: &Part) -> Option<u32> {
    let t = part.target.as_deref()?;
    if let Some(p) = t.strip_suffix('%') {
        return p.parse::<f64>().ok().map(|v| v.round().clamp(1.0, 99.0) as u32);
    }
    let factor: f64 = t.strip_suffix(['x', 'X'])?.parse().ok()?;
    (factor > 1.0).then(|| ((1.0 - 1.0 / factor) * 100.0).round() as u32)
}

fn brief(text: &str, intake: &Intake, graph: &TaskGraph) -> String {
    let mut out = format!(
        "# Brief\n\n## Goal\n\n{text}\n\n## Kind\n\n{}\n\n## Parts and their tasks\n\n",
        intake.kind
    );
    for (part, task) in intake.parts.iter().zip(&graph.tasks) {
        let _ = writeln!(out, "- \"{}\" ({}) → task `{}`", part.text, part.kind, task.id);
    }
    if intake.parts.len() > graph.tasks.len() {
        let _ = writeln!(
            out,
            "- the remaining parts were merged into the last task (see decisions)"
        );
    }
    out.push_str(
        "\nEvery task works in its own worktree and branch and may only write inside its write set.\n",
    );
    out
}

fn technical_plan(graph: &TaskGraph, parts: &[Part], relevant: &[Vec<RelevantFile>]) -> String {
    let mut out = String::from("# Technical plan\n");
    for ((task, part), files) in graph.tasks.iter().zip(parts).zip(relevant) {
        let _ = write!(
            out,
            "\n## Task `{}`: {}\n\nKind: {:?}. ",
            task.id, task.title, task.kind
        );
        if task.depends_on.is_empty() {
            out.push_str("Starts from the base commit.\n");
        } else {
            let deps: Vec<&str> = task.depends_on.iter().map(TaskId::as_str).collect();
            let _ = writeln!(out, "Starts after: {}.", deps.join(", "));
        }
        out.push_str("\nRelevant files:\n");
        if files.is_empty() {
            let _ = writeln!(
                out,
                "- none matched \"{}\"; the agent must locate the code itself",
                part.text
            );
        }
        for f in files {
            let _ = writeln!(out, "- `{}` (matched: {})", f.path, f.matched.join(", "));
        }
        let _ = writeln!(out, "\nWrite set: {}", join_patterns(&task.write_set));
    }
    out
}

/// The test specification: the oracle's checks and each task's acceptance criteria as a checklist.
pub fn test_spec(graph: &TaskGraph, oracle: &Oracle) -> String {
    let mut out = String::from("# Test specification\n\n## Oracle\n\n");
    for check in &oracle.checks {
        let _ = writeln!(out, "- {}", describe_check(check));
    }
    out.push_str(
        "\nGates come from `.omk/gates.toml` of the tested tree, or from detection when it is absent.\n",
    );
    for task in &graph.tasks {
        let _ = writeln!(out, "\n## Task `{}`\n", task.id);
        for a in &task.acceptance {
            let _ = writeln!(out, "- [ ] {a}");
        }
    }
    out
}

/// One sentence per oracle check.
pub fn describe_check(check: &OracleCheck) -> String {
    match check {
        OracleCheck::RequiredGatesPass => "every required gate passes on the integrated result".to_owned(),
        OracleCheck::NoRegression => {
            "no required gate that passed on the base fails on the result".to_owned()
        }
        OracleCheck::FailToPass => {
            "at least one test fails on the base tree and passes on the result (run on both)".to_owned()
        }
        OracleCheck::BenchmarkImproves { min_improvement_pct } => {
            format!("a benchmark gate improves by at least {min_improvement_pct}% from base to result")
        }
        OracleCheck::DocsGatePasses => "a documentation gate passes on the result".to_owned(),
        OracleCheck::FindingsReported => "the review records a findings report".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::intake::intake;

    fn files() -> Vec<String> {
        [
            "scripts/fix.sh",
            "src/slugify.rs",
            "src/http/client.rs",
            "src/http/mod.rs",
            "tests/slugify.rs",
            "tests/client.rs",
            "README.md",
            "Cargo.toml",
        ]
        .map(String::from)
        .to_vec()
    }

    fn run(text: &str) -> PlanOutput {
        plan(
            text,
            &intake(text, &files()),
            &files(),
            "forced by --no-llm-planner",
        )
        .unwrap()
    }

    #[test]
    fn independent_parts_become_parallel_tasks() {
        let out = run("Fix the off-by-one in slugify and add retries to the HTTP client");
        let tasks = &out.tasks.tasks;
        assert_eq!(tasks.len(), 2);
        assert!(
            tasks.iter().all(|t| t.depends_on.is_empty()),
            "independent: {tasks:#?}"
        );
        assert!(tasks[0].write_set.iter().any(|p| p.matches("src/slugify.rs")));
        assert!(
            !tasks[0].write_set.iter().any(|p| p.matches("scripts/fix.sh")),
            "the verb `fix` names no file: {:?}",
            tasks[0].write_set
        );
        assert!(
            !tasks[0].write_set.iter().any(|p| p.as_str() == "src/slugify.rs"),
            "covered by src/slugify*"
        );
        assert!(tasks[0].write_set.iter().any(|p| p.as_str() == "tests/slugify*"));
        assert!(
            tasks[1].write_set.iter().any(|p| p.matches("src/http/client.rs")),
            "{:?}",
            tasks[1].write_set
        );
        assert_eq!(tasks[0].kind, TaskKind::Fix);
        assert!(out.artifacts.oracle.checks.contains(&OracleCheck::FailToPass));
        assert!(
            out.artifacts.brief.contains("t1-fix-off-by-one-slugify"),
            "{}",
            out.artifacts.brief
        );
    }

    #[test]
    fn overlapping_parts_are_ordered_and_nothing_is_dropped() {
        let out = run("Fix slugify for unicode input; add a slugify option for max length");
        let tasks = &out.tasks.tasks;
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[1].depends_on, vec![tasks[0].id.clone()]);
        assert!(out.decisions.iter().any(|d| d.chosen.contains("runs after")));
        let many: Vec<String> = (0..15)
            .map(|i| format!("{}. Fix slugify case {i}", i + 1))
            .collect();
        let text = many.join("\n");
        let out = plan(&text, &intake(&text, &files()), &files(), "x").unwrap();
        assert_eq!(out.tasks.tasks.len(), MAX_TASKS);
        assert!(out.tasks.tasks.last().unwrap().description.contains("case 14"));
    }

    #[test]
    fn unmatched_parts_may_write_anywhere_but_are_serialised() {
        let out = run("Add a progress bar and add a config file loader");
        let tasks = &out.tasks.tasks;
        assert_eq!(tasks[0].write_set[0].as_str(), "**");
        assert_eq!(tasks[1].depends_on, vec![tasks[0].id.clone()]);
    }

    #[test]
    fn performance_targets_become_thresholds() {
        let out = run("Make slugify 2x faster");
        assert!(
            out.artifacts
                .oracle
                .checks
                .contains(&OracleCheck::BenchmarkImproves {
                    min_improvement_pct: 50
                })
        );
    }
}
