//! What a planner agent answers (DESIGN §3.2): the JSON plan it returns, checked by the same rules as
//! every task graph (unique ids, known dependencies, no cycles, write sets inside the repository,
//! conflicting write sets ordered) before it may replace the heuristic plan.
//!
//! Owns the answer's shape, the task shape shared with follow-up proposals (`follow_up`), and turning
//! an answer into plan artifacts plus a validated graph, or into the list of problems the agent is asked
//! to repair. The oracle is never taken from the agent: it stays the one intake derived, so an agent
//! cannot weaken what `ready` means. Pure.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Deserialize;

use super::decision::DecisionDraft;
use super::graph::TaskGraph;
use super::ids::TaskId;
use super::plan::{PlanArtifacts, PlannerInfo, RelevantFile};
use super::planner::test_spec;
use super::task::{Task, TaskKind, TaskStatus};
use super::writeset::PathPattern;

/// Most tasks an agent plan may have.
pub const MAX_AGENT_TASKS: usize = 64;
/// Longest text field accepted (brief, technical plan, test spec, descriptions).
pub const MAX_TEXT: usize = 32 * 1024;
/// Most patterns in one write or read set.
const MAX_PATTERNS: usize = 64;

/// A task as an agent writes it (in a plan or a follow-up proposal).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTask {
    /// Task id: lowercase letters, digits and `-`.
    pub id: String,
    /// One line.
    pub title: String,
    /// What to do.
    #[serde(default)]
    pub description: String,
    /// `implement`, `fix`, `test`, `refactor`, `docs`, `review`.
    #[serde(default)]
    pub kind: Option<TaskKind>,
    /// Ids of tasks that must be done first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Globs the task may write.
    pub write_set: Vec<String>,
    /// Globs the task reads beyond its worktree defaults.
    #[serde(default)]
    pub read_set: Vec<String>,
    /// How to tell it is done.
    pub acceptance: Vec<String>,
    /// Attempts allowed (1..=10).
    #[serde(default)]
    pub retry_limit: Option<u32>,
    /// Tests the task removes because the goal asks for it (ids or test names).
    #[serde(default)]
    pub removes_tests: Vec<String>,
}

/// The plan an agent answers with.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    brief: String,
    technical_plan: String,
    #[serde(default)]
    test_spec: String,
    #[serde(default)]
    relevant_files: Vec<String>,
    tasks: Vec<RawTask>,
}

/// What the agent's plan is checked against.
#[derive(Clone, Debug)]
pub struct PlanContext<'a> {
    /// The provisional (heuristic) plan: its oracle is kept.
    pub heuristic: &'a PlanArtifacts,
    /// The repository's files at the base commit.
    pub files: &'a [String],
    /// Kind of tasks that do not say.
    pub default_kind: TaskKind,
    /// Engine and session of the planner, for the record.
    pub planner: PlannerInfo,
}

/// A usable agent plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentPlan {
    /// Artifacts (the oracle is the heuristic plan's).
    pub artifacts: PlanArtifacts,
    /// The validated graph.
    pub tasks: TaskGraph,
    /// Listed relevant files that are not in the repository (ignored, reported in the decision).
    pub unknown_files: Vec<String>,
}

/// Why an answer cannot be used, one line per problem (sent back in the repair round).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct PlanProblems(pub Vec<String>);

/// The plan in `answer`: the last fenced ```json block (or the whole answer).
pub fn parse_plan(answer: &str, ctx: &PlanContext<'_>) -> Result<AgentPlan, PlanProblems> {
    let block = last_json_block(answer).unwrap_or(answer).trim();
    let raw: RawPlan = serde_json::from_str(block)
        .map_err(|e| PlanProblems(vec![format!("the answer is not a plan object ({e})")]))?;
    let mut problems = Vec::new();
    for (name, text) in [("brief", &raw.brief), ("technical_plan", &raw.technical_plan)] {
        if text.trim().is_empty() {
            problems.push(format!("`{name}` is empty"));
        }
    }
    for (name, text) in [
        ("brief", &raw.brief),
        ("technical_plan", &raw.technical_plan),
        ("test_spec", &raw.test_spec),
    ] {
        if text.len() > MAX_TEXT {
            problems.push(format!("`{name}` is longer than {MAX_TEXT} bytes"));
        }
    }
    if raw.tasks.is_empty() {
        problems.push("the plan has no tasks".to_owned());
    }
    if raw.tasks.len() > MAX_AGENT_TASKS {
        problems.push(format!(
            "the plan has {} tasks; at most {MAX_AGENT_TASKS} are allowed",
            raw.tasks.len()
        ));
    }
    let tasks: Vec<Task> = raw
        .tasks
        .iter()
        .filter_map(|t| to_task(t, ctx.default_kind).map_err(|p| problems.extend(p)).ok())
        .collect();
    if !problems.is_empty() {
        return Err(PlanProblems(problems));
    }
    let graph = TaskGraph::new(tasks).map_err(|e| PlanProblems(vec![e.to_string()]))?;
    Ok(artifacts(raw, graph, ctx))
}

fn artifacts(raw: RawPlan, graph: TaskGraph, ctx: &PlanContext<'_>) -> AgentPlan {
    let known: BTreeSet<&str> = ctx.files.iter().map(String::as_str).collect();
    let (listed, unknown): (Vec<String>, Vec<String>) = raw
        .relevant_files
        .into_iter()
        .map(|f| f.trim().trim_start_matches("./").to_owned())
        .partition(|f| known.contains(f.as_str()));
    let mut relevant: Vec<RelevantFile> = listed
        .into_iter()
        .map(|path| RelevantFile {
            path,
            matched: vec!["named by the planner agent".to_owned()],
        })
        .collect();
    for f in &ctx.heuristic.relevant_files {
        if !relevant.iter().any(|r| r.path == f.path) {
            relevant.push(f.clone());
        }
    }
    let mut spec = test_spec(&graph, &ctx.heuristic.oracle);
    if !raw.test_spec.trim().is_empty() {
        let _ = write!(spec, "\n## From the planner\n\n{}\n", raw.test_spec.trim());
    }
    AgentPlan {
        artifacts: PlanArtifacts {
            brief: format!("# Brief\n\n{}\n", raw.brief.trim()),
            technical_plan: format!("# Technical plan\n\n{}\n", raw.technical_plan.trim()),
            test_spec: spec,
            oracle: ctx.heuristic.oracle.clone(),
            relevant_files: relevant,
            planner: ctx.planner.clone(),
        },
        tasks: graph,
        unknown_files: unknown,
    }
}

/// A recorded task from an agent's description, or every problem with it.
pub fn to_task(raw: &RawTask, default_kind: TaskKind) -> Result<Task, Vec<String>> {
    let mut problems = Vec::new();
    let id = TaskId::parse(raw.id.trim())
        .map_err(|e| problems.push(format!("task id `{}`: {e}", raw.id)))
        .ok();
    let name = raw.id.trim();
    let write_set = patterns(name, "write_set", &raw.write_set, &mut problems);
    let read_set = patterns(name, "read_set", &raw.read_set, &mut problems);
    let depends_on: Vec<TaskId> = raw
        .depends_on
        .iter()
        .filter_map(|d| {
            TaskId::parse(d.trim())
                .map_err(|e| problems.push(format!("task `{name}` depends on `{d}`: {e}")))
                .ok()
        })
        .collect();
    if raw.title.trim().is_empty() || raw.title.len() > 200 {
        problems.push(format!(
            "task `{name}` needs a one-line title (at most 200 bytes)"
        ));
    }
    if raw.description.len() > MAX_TEXT {
        problems.push(format!(
            "task `{name}`: the description is longer than {MAX_TEXT} bytes"
        ));
    }
    let acceptance: Vec<String> = raw
        .acceptance
        .iter()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect();
    if acceptance.is_empty() {
        problems.push(format!("task `{name}` needs at least one acceptance criterion"));
    }
    if matches!(raw.kind, Some(TaskKind::Integrate | TaskKind::ResolveConflict)) {
        problems.push(format!(
            "task `{name}`: kinds integrate and resolve-conflict are the controller's, not the plan's"
        ));
    }
    let removes_tests = removed_tests(name, &raw.removes_tests, &mut problems);
    let retry_limit = raw.retry_limit.unwrap_or(Task::DEFAULT_RETRY_LIMIT);
    if !(1..=10).contains(&retry_limit) {
        problems.push(format!("task `{name}`: retry_limit must be between 1 and 10"));
    }
    match id {
        Some(id) if problems.is_empty() => Ok(Task {
            id,
            title: raw.title.trim().to_owned(),
            description: raw.description.trim().to_owned(),
            kind: raw.kind.unwrap_or(default_kind),
            status: TaskStatus::Pending,
            depends_on,
            read_set,
            write_set,
            acceptance,
            gates: Vec::new(),
            retry_limit,
            attempts: Vec::new(),
            branch: None,
            session_id: None,
            integrated: None,
            note: None,
            removes_tests,
        }),
        _ => Err(problems),
    }
}

/// Most tests one task may declare it removes.
const MAX_REMOVED_TESTS: usize = 64;

fn removed_tests(task: &str, raw: &[String], problems: &mut Vec<String>) -> Vec<String> {
    if raw.len() > MAX_REMOVED_TESTS {
        problems.push(format!(
            "task `{task}`: removes_tests has more than {MAX_REMOVED_TESTS} tests"
        ));
    }
    let tests: Vec<String> = raw.iter().map(|t| t.trim().to_owned()).collect();
    if tests
        .iter()
        .any(|t| t.is_empty() || t.len() > 512 || t.contains('\n'))
    {
        problems.push(format!(
            "task `{task}`: each of removes_tests is one test id or name (at most 512 bytes)"
        ));
    }
    tests
}

/// One planning decision per task whose plan says it removes tests: the record that makes those
/// removals expected (`proof::readiness` does not refuse them).
pub fn removal_decisions(graph: &TaskGraph) -> Vec<DecisionDraft> {
    graph
        .tasks
        .iter()
        .filter(|t| !t.removes_tests.is_empty())
        .map(|t| {
            DecisionDraft::new(
                "planning",
                format!("task {} removes tests: {}", t.id, t.removes_tests.join(", ")),
                "the plan says this task removes them, as the goal asks; their removal does not refuse ready",
            )
        })
        .collect()
}

fn patterns(task: &str, field: &str, raw: &[String], problems: &mut Vec<String>) -> Vec<PathPattern> {
    if raw.len() > MAX_PATTERNS {
        problems.push(format!(
            "task `{task}`: {field} has more than {MAX_PATTERNS} patterns"
        ));
    }
    if field == "write_set" && raw.is_empty() {
        problems.push(format!("task `{task}` has an empty write_set"));
    }
    raw.iter()
        .filter_map(|p| {
            PathPattern::parse(p.trim())
                .map_err(|e| problems.push(format!("task `{task}`: {field}: {e}")))
                .ok()
        })
        .collect()
}

/// The last fenced ```json block of `text`.
pub fn last_json_block(text: &str) -> Option<&str> {
    let start = text.rfind("```json")? + "```json".len();
    let end = text[start..].find("```")? + start;
    Some(&text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::plan::{Oracle, OracleCheck};
    use crate::model::status::GoalKind;

    fn heuristic() -> PlanArtifacts {
        PlanArtifacts {
            brief: "b".into(),
            technical_plan: "t".into(),
            test_spec: "s".into(),
            oracle: Oracle {
                kind: GoalKind::Bugfix,
                checks: vec![OracleCheck::RequiredGatesPass, OracleCheck::FailToPass],
            },
            relevant_files: vec![RelevantFile {
                path: "calc.py".into(),
                matched: vec!["calc".into()],
            }],
            planner: PlannerInfo::Heuristic { reason: "x".into() },
        }
    }

    fn parse(answer: &str) -> Result<AgentPlan, PlanProblems> {
        let h = heuristic();
        let files = ["calc.py".to_owned(), "strings.py".to_owned()];
        let ctx = PlanContext {
            heuristic: &h,
            files: &files,
            default_kind: TaskKind::Fix,
            planner: PlannerInfo::Agent {
                engine: "exec".into(),
                session_id: "s".into(),
            },
        };
        parse_plan(answer, &ctx)
    }

    fn plan(tasks: &str) -> String {
        format!(
            "Here is the plan.\n```json\n{{\"brief\": \"Fix both\", \"technical_plan\": \"Two tasks\", \"relevant_files\": [\"calc.py\", \"nope.py\"], \"tasks\": [{tasks}]}}\n```\n"
        )
    }

    const A: &str =
        r#"{"id": "fix-add", "title": "Fix add", "write_set": ["calc.py"], "acceptance": ["add adds"]}"#;

    #[test]
    fn a_valid_plan_becomes_artifacts_and_a_graph() {
        let b = r#"{"id": "fix-upper", "title": "Fix upper", "kind": "test", "depends_on": ["fix-add"], "write_set": ["strings.py"], "acceptance": ["upper"]}"#;
        let out = parse(&plan(&format!("{A}, {b}"))).unwrap();
        assert_eq!(out.tasks.tasks.len(), 2);
        assert_eq!(
            out.tasks.tasks[0].kind,
            TaskKind::Fix,
            "the goal's kind by default"
        );
        assert_eq!(out.tasks.tasks[1].kind, TaskKind::Test);
        assert_eq!(out.tasks.tasks[1].depends_on[0].as_str(), "fix-add");
        assert_eq!(
            out.artifacts.oracle.checks,
            heuristic().oracle.checks,
            "the oracle is never the agent's"
        );
        assert!(matches!(out.artifacts.planner, PlannerInfo::Agent { .. }));
        assert_eq!(out.unknown_files, vec!["nope.py".to_owned()]);
        assert!(out.artifacts.test_spec.contains("- [ ] add adds"));
        assert!(out.artifacts.brief.contains("Fix both"));
    }

    #[test]
    fn a_task_that_removes_tests_says_so_and_the_plan_records_it_as_a_decision() {
        let remove = r#"{"id": "drop-zero", "title": "Remove the duplicated zero test", "write_set": ["tests/test_calc.py"], "acceptance": ["gone"], "removes_tests": [" test_add_zero "]}"#;
        let out = parse(&plan(remove)).unwrap();
        assert_eq!(out.tasks.tasks[0].removes_tests, ["test_add_zero"]);
        let decisions = removal_decisions(&out.tasks);
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].chosen, "task drop-zero removes tests: test_add_zero");
        assert!(removal_decisions(&parse(&plan(A)).unwrap().tasks).is_empty());
        let blank =
            r#"{"id": "x", "title": "x", "write_set": ["a"], "acceptance": ["x"], "removes_tests": [""]}"#;
        assert!(
            parse(&plan(blank))
                .unwrap_err()
                .to_string()
                .contains("removes_tests")
        );
    }

    #[test]
    fn invalid_plans_list_every_problem() {
        let bad = r#"{"id": "Bad Id", "title": "", "write_set": ["../x", "/etc"], "acceptance": []}"#;
        let problems = parse(&plan(bad)).unwrap_err().0;
        let text = problems.join("\n");
        for needle in [
            "task id `Bad Id`",
            "title",
            "leaves the repository",
            "absolute",
            "acceptance",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
        let conflict = r#"{"id": "b", "title": "B", "write_set": ["calc.py"], "acceptance": ["x"]}"#;
        let e = parse(&plan(&format!("{A}, {conflict}"))).unwrap_err();
        assert!(e.to_string().contains("neither depends on the other"), "{e}");
        let cycle = r#"{"id": "fix-add", "title": "x", "depends_on": ["fix-add"], "write_set": ["a"], "acceptance": ["x"]}"#;
        assert!(parse(&plan(cycle)).unwrap_err().to_string().contains("cycle"));
        let unknown =
            r#"{"id": "a", "title": "x", "depends_on": ["zz"], "write_set": ["a"], "acceptance": ["x"]}"#;
        assert!(
            parse(&plan(unknown))
                .unwrap_err()
                .to_string()
                .contains("unknown task")
        );
        assert!(
            parse("I could not plan this.")
                .unwrap_err()
                .to_string()
                .contains("not a plan")
        );
        assert!(parse(&plan("")).unwrap_err().to_string().contains("no tasks"));
        let extra = r#"{"id": "a", "title": "x", "write_set": ["a"], "acceptance": ["x"], "oracle": "none"}"#;
        assert!(parse(&plan(extra)).is_err(), "unknown fields are refused");
    }
}
