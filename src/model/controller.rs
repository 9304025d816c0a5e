//! The controller's decisions (DESIGN §3): whether a controller may start on a goal, and
//! `next_step`, a pure function from the recorded snapshot (plus the time and which agents this
//! process is running) to the one thing to do next.
//!
//! Acting never changes state except through recorded events, so resuming after any crash is: load the
//! tip, call `next_step`, act, record, repeat. Pure.

pub mod hosting;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::budget::{BudgetDimension, exhausted};
use super::control::Refused;
use super::decision::DecisionDraft;
use super::event::EventBody;
use super::gate::RunnerKind;
use super::goal::Blocker;
use super::ids::{CommitId, TaskId};
use super::lease::{Claim, Lease, claim};
use super::oracle::failing_on_base;
use super::plan::{OracleCheck, PlannerInfo};
use super::proof::{oracle_results, readiness};
use super::snapshot::Snapshot;
use super::status::{GoalStatus, Phase};
use super::task::{Task, TaskStatus};
use super::writeset::sets_may_overlap;

/// What the controller does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// The goal was paused or cancelled: stop every agent, record where each task was, release the lease.
    Halt {
        /// `paused` or `cancelled`.
        status: GoalStatus,
    },
    /// Tasks recorded as running whose agents do not run in this process (a controller died): save their
    /// worktrees and record the interruption so they are dispatched again.
    Recover(Vec<TaskId>),
    /// A budget is exhausted: stop agents and end `needs_more_budget`.
    OutOfBudget(Vec<BudgetDimension>),
    /// Ask a planner agent (read-only session) for a plan to replace the provisional heuristic one.
    Plan,
    /// Create the integration branch at the base commit.
    StartIntegration,
    /// Run the gates on the base commit.
    Baseline,
    /// Merge done tasks' branches into the integration branch, in this (dependency) order.
    Integrate(Vec<TaskId>),
    /// Tasks that can never run because a dependency did not finish.
    Block(Vec<(TaskId, String)>),
    /// Start attempts at these tasks.
    Dispatch(Vec<TaskId>),
    /// Agents are running; wait for one to finish (or for a pause, cancel or lease renewal).
    Wait,
    /// Run the gates on the integrated result.
    Verify,
    /// Compare the result's test harness files with the base's; when they changed, run the result's
    /// gates again with the base's versions restored.
    HarnessCheck,
    /// Run the result's changed test files against the base code (bugfix fail-to-pass evidence).
    BaseRun,
    /// Review and security-review the integrated change.
    Review,
    /// All evidence is in: decide the terminal status.
    Conclude,
    /// The goal is in a terminal status: release the lease and exit with its code.
    Finished(GoalStatus),
}

impl Next {
    /// The phase this step belongs to, when it starts or continues one.
    pub fn phase(&self, snapshot: &Snapshot) -> Option<Phase> {
        let settled = snapshot.tasks.tasks.iter().all(Task::is_settled);
        match self {
            Next::Plan => Some(Phase::Planning),
            Next::StartIntegration | Next::Baseline => Some(Phase::Baseline),
            Next::Integrate(_) if settled => Some(Phase::Integration),
            Next::Dispatch(_) | Next::Integrate(_) | Next::Block(_) | Next::Recover(_) | Next::Wait => {
                Some(Phase::Execution)
            }
            Next::Verify | Next::HarnessCheck | Next::BaseRun => Some(Phase::Verification),
            Next::Review => Some(Phase::Review),
            Next::Conclude => Some(Phase::Proof),
            Next::Halt { .. } | Next::OutOfBudget(_) | Next::Finished(_) => None,
        }
    }

    /// A short name of the step, for timing logs.
    pub fn label(&self) -> &'static str {
        match self {
            Next::Halt { .. } => "halt",
            Next::Recover(_) => "recover",
            Next::OutOfBudget(_) => "out-of-budget",
            Next::Plan => "plan",
            Next::StartIntegration => "start-integration",
            Next::Baseline => "baseline",
            Next::Integrate(_) => "integrate",
            Next::Block(_) => "block",
            Next::Dispatch(_) => "dispatch",
            Next::Wait => "wait",
            Next::Verify => "verify",
            Next::HarnessCheck => "harness-check",
            Next::BaseRun => "base-run",
            Next::Review => "review",
            Next::Conclude => "conclude",
            Next::Finished(_) => "finish",
        }
    }
}

/// Decide the next step. `active` are the tasks whose agents run in this process right now.
pub fn next_step(snapshot: &Snapshot, active: &BTreeSet<TaskId>) -> Next {
    let goal = &snapshot.goal;
    if matches!(goal.status, GoalStatus::Paused | GoalStatus::Cancelled) {
        return Next::Halt { status: goal.status };
    }
    if goal.status != GoalStatus::Running {
        return Next::Finished(goal.status);
    }
    let orphaned: Vec<TaskId> = running(snapshot)
        .filter(|id| !active.contains(*id))
        .cloned()
        .collect();
    if !orphaned.is_empty() {
        return Next::Recover(orphaned);
    }
    let spent = exhausted(&goal.limits, &goal.usage);
    if !spent.is_empty() {
        return Next::OutOfBudget(spent);
    }
    if needs_agent_plan(snapshot) {
        return Next::Plan;
    }
    if goal.integration.is_none() {
        return Next::StartIntegration;
    }
    if goal.baseline.is_none() {
        return Next::Baseline;
    }
    execution_step(snapshot, active).unwrap_or_else(|| conclusion_step(snapshot))
}

/// The plan is the provisional heuristic one, an agent planner is allowed, and no work has started: the
/// planner agent has not answered yet (a crash during planning leaves it so, and planning runs again).
fn needs_agent_plan(snapshot: &Snapshot) -> bool {
    snapshot.goal.options.llm_planner
        && !snapshot.work_started()
        && snapshot
            .plan
            .as_ref()
            .is_some_and(|p| matches!(p.planner, PlannerInfo::Heuristic { .. }))
}

fn running(snapshot: &Snapshot) -> impl Iterator<Item = &TaskId> {
    snapshot
        .tasks
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Running)
        .map(|t| &t.id)
}

/// The next execution step, or `None` when every task is settled and integrated.
fn execution_step(snapshot: &Snapshot, active: &BTreeSet<TaskId>) -> Option<Next> {
    let graph = &snapshot.tasks;
    let order = graph
        .topological_order()
        .unwrap_or_else(|_| graph.tasks.iter().map(|t| t.id.clone()).collect());
    let tasks: Vec<&Task> = order.iter().filter_map(|id| graph.get(id)).collect();
    let done: Vec<TaskId> = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Done && t.integrated.is_none())
        .map(|t| t.id.clone())
        .collect();
    if !done.is_empty() {
        return Some(Next::Integrate(done));
    }
    let blocked: Vec<(TaskId, String)> = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Pending)
        .filter_map(|t| broken_dependency(snapshot, t).map(|why| (t.id.clone(), why)))
        .collect();
    if !blocked.is_empty() {
        return Some(Next::Block(blocked));
    }
    let ready = dispatchable(snapshot, &tasks, active);
    if !ready.is_empty() {
        return Some(Next::Dispatch(ready));
    }
    if !active.is_empty() || tasks.iter().any(|t| !t.is_settled()) {
        return Some(Next::Wait);
    }
    None
}

fn broken_dependency(snapshot: &Snapshot, task: &Task) -> Option<String> {
    task.depends_on.iter().find_map(|dep| {
        let d = snapshot.tasks.get(dep)?;
        matches!(
            d.status,
            TaskStatus::Failed | TaskStatus::Blocked | TaskStatus::Cancelled
        )
        .then(|| format!("it depends on task {dep}, which is {}", d.status.as_str()))
    })
}

/// Pending tasks whose dependencies are done and integrated, that do not collide with a running task's
/// write set, up to the free agent slots.
fn dispatchable(snapshot: &Snapshot, tasks: &[&Task], active: &BTreeSet<TaskId>) -> Vec<TaskId> {
    let slots = usize::from(snapshot.goal.options.max_agents).saturating_sub(active.len());
    let mut chosen: Vec<&Task> = Vec::new();
    for t in tasks.iter().filter(|t| t.status == TaskStatus::Pending) {
        if chosen.len() >= slots {
            break;
        }
        let deps_in = t
            .depends_on
            .iter()
            .all(|d| snapshot.tasks.get(d).is_some_and(|d| d.integrated.is_some()));
        let busy = tasks
            .iter()
            .filter(|o| active.contains(&o.id))
            .chain(chosen.iter())
            .any(|o| sets_may_overlap(&o.write_set, &t.write_set));
        if deps_in && !busy {
            chosen.push(t);
        }
    }
    chosen.into_iter().map(|t| t.id.clone()).collect()
}

fn conclusion_step(snapshot: &Snapshot) -> Next {
    let goal = &snapshot.goal;
    let tip = goal.integration.as_ref().map(|i| i.commit);
    match &goal.verification {
        Some(v) if Some(v.commit) == tip => {}
        _ => return Next::Verify,
    }
    match &goal.harness {
        Some(h) if Some(h.result) == tip => {}
        _ => return Next::HarnessCheck,
    }
    if needs_base_run(snapshot, tip) {
        return Next::BaseRun;
    }
    match &goal.review {
        Some(r) if Some(r.commit) == tip => Next::Conclude,
        _ => Next::Review,
    }
}

/// The tasks the first dispatch will start once the baseline is recorded (their agents can start
/// while the base's gates run): what [`next_step`] would dispatch with no agent running.
pub fn first_wave(snapshot: &Snapshot) -> Vec<TaskId> {
    match execution_step(snapshot, &BTreeSet::new()) {
        Some(Next::Dispatch(tasks)) => tasks,
        _ => Vec::new(),
    }
}

/// Whether agents (the first wave's, and a one-wave goal's reviewers) may start while the base's gates
/// run. Not when the goal is judged by a benchmark (a `benchmark_improves` oracle check, or a gate of
/// the base with the benchmark runner, `runners`): the base's measurement must be taken on a quiet
/// machine, or a loaded base shows an improvement that is not there.
pub fn start_agents_with_baseline(snapshot: &Snapshot, runners: &[RunnerKind]) -> bool {
    let benchmark_oracle = snapshot.plan.as_ref().is_some_and(|p| {
        p.oracle
            .checks
            .iter()
            .any(|c| matches!(c, OracleCheck::BenchmarkImproves { .. }))
    });
    !benchmark_oracle && !runners.contains(&RunnerKind::Benchmark)
}

/// Whether the reviewers can start with the first wave's agents, before the baseline is recorded: the
/// first wave is every task there is to do (a small goal), so once it ends the review is next, and the
/// task's turn may well be shorter than an agent's start-up.
pub fn warm_reviewers_with_first_wave(snapshot: &Snapshot) -> bool {
    let wave = first_wave(snapshot);
    let pending = snapshot
        .tasks
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Pending)
        .count();
    snapshot.goal.status == GoalStatus::Running
        && snapshot.goal.integration.is_some()
        && !wave.is_empty()
        && wave.len() == pending
}

/// Whether to start the reviewer sessions now, ahead of the review (DESIGN §6): the goal runs, some
/// agent is working and no task waits to be dispatched, so once the running tasks end (and are
/// integrated and verified) the review is next. Starting an agent takes seconds; this takes it off the
/// critical path.
pub fn warm_reviewers(snapshot: &Snapshot, active: &BTreeSet<TaskId>) -> bool {
    snapshot.goal.status == GoalStatus::Running
        && snapshot.goal.integration.is_some()
        && !active.is_empty()
        && snapshot
            .tasks
            .tasks
            .iter()
            .all(|t| t.status != TaskStatus::Pending)
}

/// A bugfix's result has not had its tests run against the base code yet, and that run is evidence:
/// either fail-to-pass is not shown by the gates on the base and the result (the failing test is new),
/// or tests failed on the base, and a test the result changed must not pass on the base code too (a
/// rewritten test no longer shows the bug). A result that changes no test file gets an empty run.
fn needs_base_run(snapshot: &Snapshot, tip: Option<CommitId>) -> bool {
    let base_red = snapshot
        .goal
        .baseline
        .as_ref()
        .is_some_and(|b| !failing_on_base(b).is_empty());
    let wants = snapshot
        .plan
        .as_ref()
        .is_some_and(|p| p.oracle.checks.contains(&OracleCheck::FailToPass));
    let done = snapshot
        .goal
        .base_run
        .as_ref()
        .is_some_and(|r| Some(r.result) == tip);
    let shown = oracle_results(snapshot)
        .iter()
        .any(|c| c.check == OracleCheck::FailToPass && c.passed);
    wants && !done && (!shown || base_red)
}

/// The terminal status the evidence supports, and why.
pub fn conclude(snapshot: &Snapshot) -> (GoalStatus, String) {
    let verdict = readiness(snapshot);
    let reason = if verdict.reasons.is_empty() {
        "every task is done and integrated and every required gate passes on the result".to_owned()
    } else {
        verdict
            .reasons
            .iter()
            .map(|r| r.describe())
            .collect::<Vec<_>>()
            .join("; ")
    };
    (verdict.status, reason)
}

/// Why a controller may not start on a goal, or the events that start it.
pub fn start(
    snapshot: &Snapshot,
    me: &Lease,
    now: DateTime<Utc>,
    holder_dead: bool,
) -> Result<Vec<EventBody>, Refused> {
    let goal = &snapshot.goal;
    let id = goal.id.as_str();
    let refuse = |message: String| Err(Refused { message });
    match goal.status {
        GoalStatus::Ready => return refuse(format!("goal {id} is ready; there is nothing to run")),
        GoalStatus::Cancelled => {
            return refuse(format!(
                "goal {id} is cancelled; `git omk goal resume {id}` reopens it"
            ));
        }
        GoalStatus::Paused => {
            return refuse(format!(
                "goal {id} is paused; continue it with `git omk goal resume {id}`"
            ));
        }
        GoalStatus::NeedsMoreBudget if !exhausted(&goal.limits, &goal.usage).is_empty() => {
            return refuse(format!(
                "goal {id} is out of budget; raise it with `git omk goal budget-add {id} --time 1h` (or --tokens / --usd)"
            ));
        }
        GoalStatus::BlockedOnHuman
            if goal
                .blockers
                .iter()
                .any(|b| matches!(b, Blocker::Questions { .. })) =>
        {
            return refuse(format!(
                "goal {id} is not testable as written; answer its questions with `git omk goal answer {id} \"…\"`"
            ));
        }
        _ => {}
    }
    if snapshot.plan.is_none() {
        return refuse(format!("goal {id} has no plan yet"));
    }
    match claim(goal.lease.as_ref(), me, now, holder_dead) {
        Claim::Held(l) => refuse(format!(
            "goal {id} is driven by the controller {} pid {} (lease until {}); wait for it, pause it, or try again after the lease expires",
            l.host,
            l.pid,
            l.expires_at.to_rfc3339()
        )),
        Claim::Free | Claim::Ours => Ok(vec![EventBody::ControllerStarted {
            lease: me.clone(),
            took_over: None,
        }]),
        Claim::TakeOver { previous, why } => Ok(vec![
            EventBody::DecisionRecorded(DecisionDraft::new(
                "control",
                format!("take over from {} pid {}", previous.host, previous.pid),
                why,
            )),
            EventBody::ControllerStarted {
                lease: me.clone(),
                took_over: Some(previous),
            },
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{
        Actor, ActorKind, AttemptReport, BaseRef, Event, GoalCreated, PlannerOutcome, PlannerReport,
        UsageDelta,
    };
    use crate::model::gate::Outcome;
    use crate::model::gate::compare::GateObservation;
    use crate::model::goal::GateRun;
    use crate::model::graph::TaskGraph;
    use crate::model::graph::tests::task;
    use crate::model::harness::HarnessCheck;
    use crate::model::ids::fake;
    use crate::model::ids::{EventId, GoalId};
    use crate::model::options::RunOptions;
    use crate::model::plan::{Oracle, PlanArtifacts};
    use crate::model::review::{Finding, Review, Severity};
    use crate::model::status::GoalKind;
    use crate::model::task::AttemptOutcome;
    use chrono::TimeZone;

    struct Goal {
        snapshot: Snapshot,
        n: u32,
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
    }

    impl Goal {
        fn new(tasks: Vec<Task>, max_agents: u16) -> Goal {
            let id = GoalId::parse("20261122-100000-aaaaaaaa").unwrap();
            let created = GoalCreated {
                text: "x".into(),
                base: BaseRef {
                    rev: "HEAD".into(),
                    commit: fake::commit("base"),
                },
                options: RunOptions {
                    max_agents,
                    llm_planner: false,
                    ..RunOptions::default()
                },
                nonce: "n".into(),
            };
            let mut g = Goal {
                snapshot: Snapshot::genesis(&id, &event(0, EventBody::GoalCreated(created))).unwrap(),
                n: 1,
            };
            let plan = PlanArtifacts {
                brief: String::new(),
                technical_plan: String::new(),
                test_spec: String::new(),
                oracle: Oracle {
                    kind: GoalKind::Feature,
                    checks: vec![],
                },
                relevant_files: vec![],
                planner: PlannerInfo::Heuristic {
                    reason: "test".into(),
                },
            };
            g.apply(EventBody::PlanRecorded {
                plan,
                tasks: TaskGraph::new(tasks).unwrap(),
            });
            g.apply(EventBody::ControllerStarted {
                lease: Lease::new("h", 1, now()),
                took_over: None,
            });
            g
        }

        fn apply(&mut self, body: EventBody) {
            self.snapshot.apply(&event(self.n, body));
            self.n += 1;
        }

        fn next(&self, active: &[&str]) -> Next {
            let active: BTreeSet<TaskId> = active.iter().map(|a| TaskId::parse(a).unwrap()).collect();
            next_step(&self.snapshot, &active)
        }

        fn gates(&mut self, baseline: bool, commit: &str, passed: bool) {
            let run = GateRun {
                commit: fake::commit(commit),
                tree: fake::tree("t"),
                config_hash: "h".into(),
                gates: vec![GateObservation {
                    name: "test".into(),
                    required: true,
                    outcome: if passed { Outcome::Passed } else { Outcome::Failed },
                    reason: None,
                    tests: vec![],
                    runner: Default::default(),
                    metrics: vec![],
                }],
                evidence: vec![],
            };
            self.apply(if baseline {
                EventBody::BaselineRecorded(run)
            } else {
                EventBody::VerificationRecorded(run)
            });
        }

        fn review(&mut self, commit: &str, high: &[&str]) {
            let findings = high
                .iter()
                .map(|m| Finding {
                    source: "reviewer".into(),
                    severity: Severity::High,
                    file: "a.rs".into(),
                    line: None,
                    message: (*m).into(),
                })
                .collect();
            let at = now() + chrono::Duration::seconds(i64::from(self.n));
            self.apply(EventBody::ReviewRecorded(Review {
                commit: fake::commit(commit),
                findings,
                gaps: vec![],
                at,
            }));
        }

        fn attempt(&mut self, t: &str, n: u32, outcome: AttemptOutcome, next: TaskStatus) {
            let task = TaskId::parse(t).unwrap();
            self.apply(EventBody::TaskDispatched {
                task: task.clone(),
                attempt: n,
                branch: "b".into(),
                start_commit: fake::commit("s"),
            });
            self.apply(EventBody::AttemptFinished(AttemptReport {
                task,
                attempt: n,
                outcome,
                commit: Some(fake::commit(&format!("c{t}{n}"))),
                tree: Some(fake::tree(&format!("t{t}{n}"))),
                tokens: 10,
                session_id: Some("s1".into()),
                next,
                note: None,
            }));
        }
    }

    fn event(n: u32, body: EventBody) -> Event {
        Event {
            id: EventId::parse(&format!("e{n}")).unwrap(),
            at: now() + chrono::Duration::seconds(i64::from(n)),
            actor: Actor {
                kind: ActorKind::Controller,
                name: "c".into(),
                host: "h".into(),
            },
            body,
        }
    }

    fn ids(names: &[&str]) -> Vec<TaskId> {
        names.iter().map(|n| TaskId::parse(n).unwrap()).collect()
    }

    #[test]
    fn a_goal_from_start_to_ready() {
        let mut g = Goal::new(
            vec![
                task("a", &[], &["a.rs"]),
                task("b", &[], &["b.rs"]),
                task("c", &["a"], &["c.rs"]),
            ],
            2,
        );
        assert_eq!(g.next(&[]), Next::StartIntegration);
        g.apply(EventBody::IntegrationStarted {
            branch: "omk/x/integration".into(),
            commit: fake::commit("base"),
        });
        assert_eq!(g.next(&[]), Next::Baseline);
        g.gates(true, "base", false);
        assert_eq!(
            g.next(&[]),
            Next::Dispatch(ids(&["a", "b"])),
            "independent tasks run together; c waits for a"
        );
        g.apply(EventBody::TaskDispatched {
            task: ids(&["a"])[0].clone(),
            attempt: 1,
            branch: "b".into(),
            start_commit: fake::commit("base"),
        });
        g.apply(EventBody::TaskDispatched {
            task: ids(&["b"])[0].clone(),
            attempt: 1,
            branch: "b".into(),
            start_commit: fake::commit("base"),
        });
        assert_eq!(g.next(&["a", "b"]), Next::Wait);
        assert_eq!(
            g.next(&["a"]),
            Next::Recover(ids(&["b"])),
            "b runs nowhere: its controller died"
        );
        g.snapshot
            .tasks
            .get_mut(&ids(&["a"])[0])
            .unwrap()
            .attempts
            .clear();
        g.snapshot
            .tasks
            .get_mut(&ids(&["b"])[0])
            .unwrap()
            .attempts
            .clear();
        g.attempt("a", 1, AttemptOutcome::Succeeded, TaskStatus::Done);
        g.attempt("b", 1, AttemptOutcome::Succeeded, TaskStatus::Done);
        assert_eq!(
            g.next(&[]),
            Next::Integrate(ids(&["a", "b"])),
            "tasks that finished together are integrated in one step, in dependency order"
        );
        g.apply(EventBody::TaskIntegrated {
            task: ids(&["a"])[0].clone(),
            commit: fake::commit("i1"),
        });
        assert_eq!(g.next(&[]), Next::Integrate(ids(&["b"])));
        g.apply(EventBody::TaskIntegrated {
            task: ids(&["b"])[0].clone(),
            commit: fake::commit("i2"),
        });
        assert_eq!(g.next(&[]), Next::Dispatch(ids(&["c"])));
        g.attempt("c", 1, AttemptOutcome::Succeeded, TaskStatus::Done);
        assert_eq!(g.next(&[]).phase(&g.snapshot), Some(Phase::Integration));
        g.apply(EventBody::TaskIntegrated {
            task: ids(&["c"])[0].clone(),
            commit: fake::commit("i3"),
        });
        assert_eq!(g.next(&[]), Next::Verify);
        g.gates(false, "i2", true);
        assert_eq!(
            g.next(&[]),
            Next::Verify,
            "evidence of an older integration tip does not count"
        );
        g.gates(false, "i3", true);
        assert_eq!(
            g.next(&[]),
            Next::HarnessCheck,
            "the result's test harness files are compared with the base's"
        );
        g.apply(EventBody::HarnessChecked(HarnessCheck {
            result: fake::commit("i2"),
            changes: Vec::new(),
            restored: None,
            error: None,
        }));
        assert_eq!(
            g.next(&[]),
            Next::HarnessCheck,
            "a check of an older tip does not count"
        );
        g.apply(EventBody::HarnessChecked(HarnessCheck {
            result: fake::commit("i3"),
            changes: Vec::new(),
            restored: None,
            error: None,
        }));
        assert_eq!(g.next(&[]), Next::Review);
        g.review("i3", &[]);
        assert_eq!(g.next(&[]), Next::Conclude);
        assert_eq!(conclude(&g.snapshot).0, GoalStatus::Ready);
        let (status, reason) = conclude(&g.snapshot);
        g.apply(EventBody::GoalStopped { status, reason });
        assert_eq!(g.next(&[]), Next::Finished(GoalStatus::Ready));
    }

    #[test]
    fn a_goal_done_in_one_wave_warms_its_reviewers_with_that_wave() {
        let started = |tasks: Vec<Task>| {
            let mut g = Goal::new(tasks, 2);
            assert!(!warm_reviewers_with_first_wave(&g.snapshot), "no integration yet");
            g.apply(EventBody::IntegrationStarted {
                branch: "omk/x/integration".into(),
                commit: fake::commit("base"),
            });
            g
        };
        let both = started(vec![task("a", &[], &["a.rs"]), task("b", &[], &["b.rs"])]);
        assert!(
            warm_reviewers_with_first_wave(&both.snapshot),
            "both tasks start at once"
        );
        let chain = started(vec![task("a", &[], &["a.rs"]), task("b", &["a"], &["b.rs"])]);
        assert!(!warm_reviewers_with_first_wave(&chain.snapshot), "b waits for a");
    }

    #[test]
    fn agents_wait_for_a_benchmarked_baseline() {
        let mut g = Goal::new(vec![task("a", &[], &["a.rs"])], 2);
        let cases: [(Vec<OracleCheck>, Vec<RunnerKind>, bool); 6] = [
            (vec![], vec![], true),
            (
                vec![OracleCheck::RequiredGatesPass],
                vec![RunnerKind::Cargo],
                true,
            ),
            (
                vec![OracleCheck::FailToPass],
                vec![RunnerKind::Docs, RunnerKind::Generic],
                true,
            ),
            (
                vec![OracleCheck::BenchmarkImproves {
                    min_improvement_pct: 5,
                }],
                vec![RunnerKind::Cargo],
                false,
            ),
            (
                vec![OracleCheck::NoRegression],
                vec![RunnerKind::Cargo, RunnerKind::Benchmark],
                false,
            ),
            (
                vec![OracleCheck::BenchmarkImproves {
                    min_improvement_pct: 0,
                }],
                vec![RunnerKind::Benchmark],
                false,
            ),
        ];
        for (checks, runners, expected) in cases {
            g.snapshot.plan.as_mut().unwrap().oracle.checks = checks.clone();
            assert_eq!(
                start_agents_with_baseline(&g.snapshot, &runners),
                expected,
                "{checks:?} {runners:?}"
            );
        }
        g.snapshot.plan = None;
        assert!(
            start_agents_with_baseline(&g.snapshot, &[]),
            "no plan, no benchmark"
        );
    }

    #[test]
    fn reviewers_start_while_the_last_tasks_run() {
        let mut g = Goal::new(vec![task("a", &[], &["a.rs"]), task("b", &["a"], &["b.rs"])], 2);
        let active = |names: &[&str]| -> BTreeSet<TaskId> { ids(names).into_iter().collect() };
        assert!(!warm_reviewers(&g.snapshot, &active(&[])), "nothing runs yet");
        g.apply(EventBody::IntegrationStarted {
            branch: "omk/x/integration".into(),
            commit: fake::commit("base"),
        });
        g.gates(true, "base", true);
        g.apply(EventBody::TaskDispatched {
            task: ids(&["a"])[0].clone(),
            attempt: 1,
            branch: "b".into(),
            start_commit: fake::commit("base"),
        });
        assert!(
            !warm_reviewers(&g.snapshot, &active(&["a"])),
            "b waits to be dispatched: the review is not next"
        );
        g.snapshot
            .tasks
            .get_mut(&ids(&["a"])[0])
            .unwrap()
            .attempts
            .clear();
        g.attempt("a", 1, AttemptOutcome::Succeeded, TaskStatus::Done);
        g.apply(EventBody::TaskIntegrated {
            task: ids(&["a"])[0].clone(),
            commit: fake::commit("i1"),
        });
        g.apply(EventBody::TaskDispatched {
            task: ids(&["b"])[0].clone(),
            attempt: 1,
            branch: "b".into(),
            start_commit: fake::commit("i1"),
        });
        assert!(
            warm_reviewers(&g.snapshot, &active(&["b"])),
            "b is the last task and runs"
        );
        g.snapshot
            .tasks
            .get_mut(&ids(&["b"])[0])
            .unwrap()
            .attempts
            .clear();
        g.attempt("b", 1, AttemptOutcome::Succeeded, TaskStatus::Done);
        g.apply(EventBody::TaskIntegrated {
            task: ids(&["b"])[0].clone(),
            commit: fake::commit("i2"),
        });
        assert!(
            !warm_reviewers(&g.snapshot, &active(&[])),
            "no agent works any more"
        );
        assert_eq!(g.next(&[]), Next::Verify);
    }

    #[test]
    fn an_agent_plans_before_the_baseline_and_its_answer_is_recorded_once() {
        let mut g = Goal::new(vec![task("a", &[], &["a.rs"])], 2);
        g.snapshot.goal.options.llm_planner = true;
        assert_eq!(g.next(&[]), Next::Plan);
        assert_eq!(g.next(&[]).phase(&g.snapshot), Some(Phase::Planning));
        let mut kept = Goal::new(vec![task("a", &[], &["a.rs"])], 1);
        kept.snapshot.goal.options.llm_planner = true;
        kept.apply(EventBody::PlannerFinished(Box::new(PlannerReport {
            engine: "exec".into(),
            session_id: None,
            tokens: 5,
            outcome: PlannerOutcome::KeptHeuristic {
                reason: "no plan in the answer".into(),
            },
        })));
        assert_eq!(kept.next(&[]), Next::StartIntegration, "the fallback is final");
        assert!(matches!(
            kept.snapshot.plan.as_ref().unwrap().planner,
            PlannerInfo::HeuristicFallback { .. }
        ));
        let mut plan = g.snapshot.plan.clone().unwrap();
        plan.planner = PlannerInfo::Agent {
            engine: "exec".into(),
            session_id: "s".into(),
        };
        let tasks = TaskGraph::new(vec![task("x", &[], &["x.rs"]), task("y", &["x"], &["y.rs"])]).unwrap();
        g.apply(EventBody::PlannerFinished(Box::new(PlannerReport {
            engine: "exec".into(),
            session_id: Some("s".into()),
            tokens: 5,
            outcome: PlannerOutcome::Adopted { plan, tasks },
        })));
        assert_eq!(
            g.snapshot.tasks.tasks.len(),
            2,
            "the agent's graph replaces the heuristic one"
        );
        assert_eq!(g.next(&[]), Next::StartIntegration);
        g.apply(EventBody::IntegrationStarted {
            branch: "i".into(),
            commit: fake::commit("base"),
        });
        g.gates(true, "base", true);
        assert_eq!(g.next(&[]), Next::Dispatch(ids(&["x"])));
        g.attempt("x", 1, AttemptOutcome::Succeeded, TaskStatus::Done);
        g.apply(EventBody::FollowUpsAdded {
            from: ids(&["x"])[0].clone(),
            tasks: vec![task("z", &["x"], &["z.rs"])],
        });
        g.apply(EventBody::TaskIntegrated {
            task: ids(&["x"])[0].clone(),
            commit: fake::commit("i1"),
        });
        assert_eq!(
            g.next(&[]),
            Next::Dispatch(ids(&["y", "z"])),
            "a recorded follow-up runs like any task"
        );
        let before = g.snapshot.tasks.clone();
        g.apply(EventBody::FollowUpsAdded {
            from: ids(&["x"])[0].clone(),
            tasks: vec![task("w", &[], &["x.rs"])],
        });
        assert_eq!(
            g.snapshot.tasks, before,
            "a follow-up that breaks the graph is left out"
        );
    }

    #[test]
    fn failures_block_dependents_and_end_not_ready() {
        let mut g = Goal::new(vec![task("a", &[], &["a.rs"]), task("c", &["a"], &["c.rs"])], 2);
        g.apply(EventBody::IntegrationStarted {
            branch: "i".into(),
            commit: fake::commit("base"),
        });
        g.gates(true, "base", true);
        let failed = AttemptOutcome::Failed {
            evidence: "gate test failed".into(),
        };
        g.attempt("a", 1, failed, TaskStatus::Failed);
        assert_eq!(
            g.next(&[]),
            Next::Block(vec![(
                ids(&["c"])[0].clone(),
                "it depends on task a, which is failed".into()
            )])
        );
        g.apply(EventBody::TaskBlocked {
            task: ids(&["c"])[0].clone(),
            reason: "dep".into(),
        });
        assert_eq!(g.next(&[]), Next::Verify);
        g.gates(false, "base", true);
        let (status, reason) = conclude(&g.snapshot);
        assert_eq!(status, GoalStatus::NotReady);
        assert!(reason.contains("task a is failed"), "{reason}");
    }

    #[test]
    fn resuming_retries_a_conflicted_integration_and_unblocks_its_dependents() {
        let mut g = Goal::new(
            vec![
                task("a", &[], &["a.rs"]),
                task("b", &[], &["b.rs"]),
                task("c", &["a"], &["c.rs"]),
                task("d", &["b"], &["d.rs"]),
            ],
            2,
        );
        g.apply(EventBody::IntegrationStarted {
            branch: "i".into(),
            commit: fake::commit("base"),
        });
        g.gates(true, "base", true);
        g.attempt("a", 1, AttemptOutcome::Succeeded, TaskStatus::Done);
        g.attempt(
            "b",
            1,
            AttemptOutcome::Failed {
                evidence: "gate".into(),
            },
            TaskStatus::Failed,
        );
        g.apply(EventBody::TaskBlocked {
            task: ids(&["a"])[0].clone(),
            reason: "merging into i conflicts in a.rs".into(),
        });
        assert_eq!(
            g.next(&[]),
            Next::Block(vec![
                (
                    ids(&["c"])[0].clone(),
                    "it depends on task a, which is blocked".into()
                ),
                (
                    ids(&["d"])[0].clone(),
                    "it depends on task b, which is failed".into()
                ),
            ])
        );
        for t in ["c", "d"] {
            g.apply(EventBody::TaskBlocked {
                task: ids(&[t])[0].clone(),
                reason: "dep".into(),
            });
        }
        let (status, reason) = conclude(&g.snapshot);
        g.apply(EventBody::GoalStopped { status, reason });
        assert_eq!(g.snapshot.goal.status, GoalStatus::NotReady);
        g.apply(EventBody::Resumed {});
        let status = |t: &str| g.snapshot.tasks.get(&ids(&[t])[0]).unwrap().status;
        assert_eq!(
            [status("a"), status("b"), status("c"), status("d")],
            [
                TaskStatus::Done,
                TaskStatus::Failed,
                TaskStatus::Pending,
                TaskStatus::Pending
            ]
        );
        assert_eq!(
            g.next(&[]),
            Next::Integrate(ids(&["a"])),
            "a succeeded and was blocked at integration: resuming integrates it again"
        );
        g.apply(EventBody::TaskIntegrated {
            task: ids(&["a"])[0].clone(),
            commit: fake::commit("i1"),
        });
        assert_eq!(
            g.next(&[]),
            Next::Block(vec![(
                ids(&["d"])[0].clone(),
                "it depends on task b, which is failed".into()
            )]),
            "d is blocked again: its dependency is still broken"
        );
        g.apply(EventBody::TaskBlocked {
            task: ids(&["d"])[0].clone(),
            reason: "dep".into(),
        });
        assert_eq!(
            g.next(&[]),
            Next::Dispatch(ids(&["c"])),
            "c runs on a's integrated result"
        );
    }

    #[test]
    fn a_failing_required_gate_or_a_regression_refuses_ready() {
        let mut g = Goal::new(vec![task("a", &[], &["a.rs"])], 1);
        g.apply(EventBody::IntegrationStarted {
            branch: "i".into(),
            commit: fake::commit("base"),
        });
        g.gates(true, "base", true);
        g.attempt("a", 1, AttemptOutcome::Succeeded, TaskStatus::Done);
        g.apply(EventBody::TaskIntegrated {
            task: ids(&["a"])[0].clone(),
            commit: fake::commit("i1"),
        });
        g.gates(false, "i1", false);
        g.review("i1", &["off by one"]);
        let (status, reason) = conclude(&g.snapshot);
        assert!(reason.contains("blocking finding by reviewer"), "{reason}");
        g.apply(EventBody::Accepted {
            summary: "reviewed by hand".into(),
            task: None,
        });
        assert!(
            !conclude(&g.snapshot).1.contains("blocking finding"),
            "an acceptance after the review clears findings"
        );
        assert_eq!(status, GoalStatus::NotReady);
        assert!(
            reason.contains("required gate test fails") && reason.contains("passed on the base"),
            "{reason}"
        );
    }

    #[test]
    fn budget_pause_and_capacity() {
        let mut g = Goal::new(
            vec![
                task("a", &[], &["a.rs"]),
                task("b", &[], &["b.rs"]),
                task("d", &[], &["d.rs"]),
            ],
            2,
        );
        g.apply(EventBody::IntegrationStarted {
            branch: "i".into(),
            commit: fake::commit("base"),
        });
        g.gates(true, "base", true);
        assert_eq!(g.next(&["x"]), Next::Dispatch(ids(&["a"])), "one slot left");
        g.apply(EventBody::UsageAdded(UsageDelta {
            active_secs: 8 * 3600,
            ..UsageDelta::default()
        }));
        assert_eq!(g.next(&[]), Next::OutOfBudget(vec![BudgetDimension::Time]));
        g.apply(EventBody::Paused { reason: None });
        assert_eq!(
            g.next(&[]),
            Next::Halt {
                status: GoalStatus::Paused
            }
        );
    }

    #[test]
    fn overlapping_running_tasks_are_not_dispatched_together() {
        let mut g = Goal::new(
            vec![task("a", &[], &["src/**"]), task("b", &["a"], &["src/x.rs"])],
            4,
        );
        g.apply(EventBody::IntegrationStarted {
            branch: "i".into(),
            commit: fake::commit("base"),
        });
        g.gates(true, "base", true);
        assert_eq!(g.next(&[]), Next::Dispatch(ids(&["a"])));
    }

    #[test]
    fn starting_respects_live_leases_and_takes_over_dead_ones() {
        let g = Goal::new(vec![task("a", &[], &["a.rs"])], 1);
        let other = Lease::new("other", 9, now() + chrono::Duration::seconds(5));
        let refused = start(&g.snapshot, &other, now() + chrono::Duration::seconds(10), false).unwrap_err();
        assert!(
            refused.message.contains("driven by the controller h pid 1"),
            "{}",
            refused.message
        );
        let taken = start(&g.snapshot, &other, now() + chrono::Duration::seconds(10), true).unwrap();
        assert!(matches!(
            &taken[..],
            [
                EventBody::DecisionRecorded(_),
                EventBody::ControllerStarted {
                    took_over: Some(_),
                    ..
                }
            ]
        ));
        let later = now() + chrono::Duration::seconds(1000);
        assert!(
            start(&g.snapshot, &other, later, false).is_ok(),
            "an expired lease can be taken over"
        );
    }
}
