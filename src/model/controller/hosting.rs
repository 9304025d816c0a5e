//! Where the reviewer sessions come from (DESIGN §6; docs/decisions.md, "Kimi Code's finished task
//! agent hosts the reviewer"): which reviewers start ahead of the review, whether a finished task's
//! agent process is kept to host the correctness reviewer, and which source each reviewer's session
//! takes at the review.
//!
//! Only Kimi Code serves several sessions in one process and runs no command itself, so only a Kimi
//! Code task agent, with Kimi Code as the reviewers' agent too, hosts a reviewer; `--agent kimi` counts
//! as the generation installed here once that is known ([`KimiFound`]). Only the correctness reviewer
//! is hosted: the security reviewer always has a process of its own. Pure.

use crate::model::options::AgentSpec;
use crate::model::task::TaskStatus;

/// What `kimi` (`--agent kimi`) turned out to be on this machine: the caller learns it from a
/// `kimi --version` probe or from a session it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KimiFound {
    /// Not known (yet): `kimi` may be either generation.
    #[default]
    Unknown,
    /// kimi-cli 1.x (Wire).
    Cli,
    /// Kimi Code 2.x (ACP).
    Code,
}

/// The agent `spec` starts: `kimi` as the generation found here, when known; every other spec as it is.
pub fn resolved(spec: &AgentSpec, kimi: KimiFound) -> AgentSpec {
    match (spec, kimi) {
        (AgentSpec::Kimi, KimiFound::Code) => AgentSpec::KimiAcp,
        (AgentSpec::Kimi, KimiFound::Cli) => AgentSpec::KimiWire,
        _ => spec.clone(),
    }
}

/// Whether a finished task's agent (`task`, the goal's task agent) can host the correctness reviewer's
/// session, whose agent is `reviewer`: both are Kimi Code (after resolving `kimi`).
pub fn hosts_reviewer(task: &AgentSpec, reviewer: &AgentSpec, kimi: KimiFound) -> bool {
    let task = resolved(task, kimi);
    task == AgentSpec::KimiAcp && resolved(reviewer, kimi) == task
}

/// The reviewer sessions to start ahead of the review, in review order (correctness, security): all
/// but the one a finished task's agent will host. A reviewer that will be hosted is not started.
pub fn reviewers_ahead(task: &AgentSpec, reviewer: &AgentSpec, kimi: KimiFound) -> [bool; 2] {
    [!hosts_reviewer(task, reviewer, kimi), true]
}

/// What decides whether a finished task's agent process is kept as a spare for the correctness
/// reviewer, besides the agents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpareFacts {
    /// The goal runs to its end (not one wave of `goal execute`).
    pub until_done: bool,
    /// What the finished attempt made of its task.
    pub status: Option<TaskStatus>,
    /// Some task still waits to be dispatched (a review is not next).
    pub tasks_wait: bool,
    /// The session can open another session in its process (Kimi Code, and the session is not broken).
    pub renewable: bool,
    /// Another finished task's agent is kept already.
    pub spare_held: bool,
    /// The correctness reviewer's session was started ahead already (nothing left to host).
    pub reviewer_ahead: bool,
}

/// Whether to keep a finished task's agent process to host the correctness reviewer: the goal runs to
/// its end, the task is done, no task waits, no spare is kept yet, the correctness reviewer has no
/// session yet, and the agent can host it. Otherwise the agent is shut down now.
pub fn keeps_spare(facts: &SpareFacts, task: &AgentSpec, reviewer: &AgentSpec, kimi: KimiFound) -> bool {
    facts.until_done
        && facts.status == Some(TaskStatus::Done)
        && !facts.tasks_wait
        && facts.renewable
        && !facts.spare_held
        && !facts.reviewer_ahead
        && hosts_reviewer(task, reviewer, kimi)
}

/// Where a reviewer's session comes from at the review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewerSource {
    /// The session started ahead (or why it could not start).
    Ahead,
    /// A new session in a kept finished task's agent process.
    Hosted,
    /// A new agent process, started at the review.
    New,
}

/// The source of each reviewer's session (review order: correctness, security), given which were
/// started ahead and whether a spare is kept: a session started ahead is used; else the correctness
/// reviewer takes the spare; else a new process. A spare the correctness reviewer does not take is
/// unused (`false` second: the caller shuts it down).
pub fn reviewer_sources(ahead: [bool; 2], spare: bool) -> ([ReviewerSource; 2], bool) {
    let correctness = match (ahead[0], spare) {
        (true, _) => ReviewerSource::Ahead,
        (false, true) => ReviewerSource::Hosted,
        (false, false) => ReviewerSource::New,
    };
    let security = if ahead[1] {
        ReviewerSource::Ahead
    } else {
        ReviewerSource::New
    };
    ([correctness, security], correctness == ReviewerSource::Hosted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReviewerSource::{Ahead, Hosted, New};

    fn specs() -> Vec<AgentSpec> {
        vec![
            AgentSpec::Kimi,
            AgentSpec::KimiWire,
            AgentSpec::KimiAcp,
            AgentSpec::Qwen,
            AgentSpec::Acp("kimi acp".into()),
            AgentSpec::Exec("sh agent.sh".into()),
        ]
    }

    const FOUND: [KimiFound; 3] = [KimiFound::Unknown, KimiFound::Cli, KimiFound::Code];

    /// The one table every hosting decision follows: (task agent, reviewer agent, what `kimi` is) →
    /// hosted. Everything not listed is not hosted.
    fn expected_hosting(task: &AgentSpec, reviewer: &AgentSpec, kimi: KimiFound) -> bool {
        use AgentSpec::{Kimi, KimiAcp};
        matches!(
            (task, reviewer, kimi),
            (KimiAcp, KimiAcp, _)
                | (Kimi, Kimi, KimiFound::Code)
                | (Kimi, KimiAcp, KimiFound::Code)
                | (KimiAcp, Kimi, KimiFound::Code)
        )
    }

    #[test]
    fn kimi_resolves_to_the_generation_found_and_nothing_else_changes() {
        let table = [
            (AgentSpec::Kimi, KimiFound::Unknown, AgentSpec::Kimi),
            (AgentSpec::Kimi, KimiFound::Cli, AgentSpec::KimiWire),
            (AgentSpec::Kimi, KimiFound::Code, AgentSpec::KimiAcp),
        ];
        for (spec, kimi, want) in table {
            assert_eq!(resolved(&spec, kimi), want, "{spec} with {kimi:?}");
        }
        for spec in specs().into_iter().filter(|s| *s != AgentSpec::Kimi) {
            for kimi in FOUND {
                assert_eq!(resolved(&spec, kimi), spec, "{spec} with {kimi:?}");
            }
        }
    }

    #[test]
    fn only_kimi_code_task_agents_host_kimi_code_reviewers_in_every_combination() {
        let mut hosted = 0;
        for task in specs() {
            for reviewer in specs() {
                for kimi in FOUND {
                    let want = expected_hosting(&task, &reviewer, kimi);
                    hosted += usize::from(want);
                    let case = format!("task {task}, reviewer {reviewer}, kimi {kimi:?}");
                    assert_eq!(hosts_reviewer(&task, &reviewer, kimi), want, "{case}");
                    // The hosted reviewer is never started ahead; the security reviewer always is.
                    assert_eq!(reviewers_ahead(&task, &reviewer, kimi), [!want, true], "{case}");
                }
            }
        }
        assert_eq!(
            hosted, 6,
            "3 kimi-acp/kimi-acp + 3 with `kimi` found to be Kimi Code"
        );
    }

    #[test]
    fn agent_kimi_found_to_be_kimi_code_starts_only_the_security_reviewer_ahead() {
        let kimi = AgentSpec::Kimi;
        assert_eq!(reviewers_ahead(&kimi, &kimi, KimiFound::Code), [false, true]);
        assert_eq!(reviewers_ahead(&kimi, &kimi, KimiFound::Cli), [true, true]);
        assert_eq!(
            reviewers_ahead(&kimi, &kimi, KimiFound::Unknown),
            [true, true],
            "not known: nothing will be hosted for sure, so both start"
        );
    }

    fn facts() -> SpareFacts {
        SpareFacts {
            until_done: true,
            status: Some(TaskStatus::Done),
            tasks_wait: false,
            renewable: true,
            spare_held: false,
            reviewer_ahead: false,
        }
    }

    #[test]
    fn a_spare_is_kept_only_when_every_fact_allows_it() {
        let (kimi, code) = (AgentSpec::KimiAcp, KimiFound::Unknown);
        assert!(keeps_spare(&facts(), &kimi, &kimi, code));
        let each: [(&str, SpareFacts); 9] = [
            (
                "one wave",
                SpareFacts {
                    until_done: false,
                    ..facts()
                },
            ),
            (
                "failed",
                SpareFacts {
                    status: Some(TaskStatus::Failed),
                    ..facts()
                },
            ),
            (
                "retry",
                SpareFacts {
                    status: Some(TaskStatus::Pending),
                    ..facts()
                },
            ),
            (
                "blocked",
                SpareFacts {
                    status: Some(TaskStatus::Blocked),
                    ..facts()
                },
            ),
            (
                "no status",
                SpareFacts {
                    status: None,
                    ..facts()
                },
            ),
            (
                "a task waits",
                SpareFacts {
                    tasks_wait: true,
                    ..facts()
                },
            ),
            (
                "not renewable",
                SpareFacts {
                    renewable: false,
                    ..facts()
                },
            ),
            (
                "a spare is held",
                SpareFacts {
                    spare_held: true,
                    ..facts()
                },
            ),
            (
                "reviewer started ahead",
                SpareFacts {
                    reviewer_ahead: true,
                    ..facts()
                },
            ),
        ];
        for (why, facts) in each {
            assert!(!keeps_spare(&facts, &kimi, &kimi, code), "{why}");
        }
    }

    #[test]
    fn a_spare_is_kept_for_exactly_the_hosting_combinations() {
        for task in specs() {
            for reviewer in specs() {
                for kimi in FOUND {
                    assert_eq!(
                        keeps_spare(&facts(), &task, &reviewer, kimi),
                        expected_hosting(&task, &reviewer, kimi),
                        "task {task}, reviewer {reviewer}, kimi {kimi:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn sources_use_what_started_ahead_then_the_spare_then_a_new_process() {
        let table = [
            // (started ahead, spare kept) → (sources, spare used)
            ([true, true], false, [Ahead, Ahead], false),
            ([true, true], true, [Ahead, Ahead], false),
            ([false, true], true, [Hosted, Ahead], true),
            ([false, true], false, [New, Ahead], false),
            ([false, false], true, [Hosted, New], true),
            ([false, false], false, [New, New], false),
            ([true, false], true, [Ahead, New], false),
            ([true, false], false, [Ahead, New], false),
        ];
        for (ahead, spare, sources, used) in table {
            assert_eq!(
                reviewer_sources(ahead, spare),
                (sources, used),
                "ahead {ahead:?}, spare {spare}"
            );
        }
    }
}
