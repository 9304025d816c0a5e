//! The merge gate: whether the goal's PR may be merged now, and if not, exactly what is missing
//! (DESIGN §9).
//!
//! Owns the small views of the PR, its checks and the base branch's requirements that the gate reads
//! (filled by the forge from GitHub's responses), and the one decision function. `gated` merges only
//! when the proof is `ready`, the PR head is exactly the proven commit, and every check on that head
//! completed successfully; `manual` hands the exact command to a human; `disabled` does nothing. Pure.

use serde::{Deserialize, Serialize};

use super::facts::ProofFacts;
use super::markdown::short;
use crate::model::options::MergePolicy;

/// Where a PR stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullState {
    /// Open.
    Open,
    /// Closed without merging.
    Closed,
    /// Merged.
    Merged,
}

/// What the gate reads about the PR.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullView {
    /// Its number.
    pub number: u64,
    /// Its web address.
    pub url: String,
    /// Open, closed or merged.
    pub state: PullState,
    /// Whether it is a draft.
    pub draft: bool,
    /// The head commit.
    pub head_sha: String,
    /// The head branch.
    pub head_ref: String,
    /// The base branch.
    pub base_ref: String,
    /// GitHub's merge check: `None` while GitHub is still computing it.
    pub mergeable: Option<bool>,
    /// GitHub's summary (`clean`, `dirty`, `blocked`, `behind`, `unstable`, …).
    pub mergeable_state: Option<String>,
    /// The merge commit, once merged.
    pub merge_commit: Option<String>,
}

/// How one check on the head ended, whether a check run or a commit status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum CheckState {
    /// Queued or running.
    Pending,
    /// Completed with success, neutral or skipped.
    Passed,
    /// Completed otherwise; the conclusion (`failure`, `cancelled`, `timed_out`, …).
    Failed(String),
}

/// One check on the PR head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckView {
    /// The check's name (check run name or status context).
    pub name: String,
    /// Its state.
    pub state: CheckState,
}

/// What the base branch requires, as read (never changed) from branch protection and rulesets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRequirements {
    /// Check names that must pass.
    pub required_checks: Vec<String>,
    /// Approving reviews required (the forge enforces them; shown so a refusal is understood).
    pub required_approvals: u32,
    /// What could not be read (no permission, not available), shown, never guessed.
    pub unknown: Vec<String>,
}

/// Why a gated merge cannot happen now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "code")]
pub enum MergeBlocker {
    /// No PR is recorded for the goal.
    NoPullRequest,
    /// The PR was closed without merging.
    Closed {
        /// The PR number.
        number: u64,
    },
    /// The proof is not `ready`.
    NotReady {
        /// The proof's status.
        status: String,
        /// Its reasons.
        reasons: Vec<String>,
    },
    /// The proof names no proven commit or no proof commit.
    NoProof,
    /// The PR head is not the proven commit.
    HeadMoved {
        /// The PR head.
        head: String,
        /// The proven commit.
        proven: String,
    },
    /// The PR is a draft.
    Draft {
        /// The PR number.
        number: u64,
    },
    /// GitHub says the PR conflicts with its base.
    Conflicts,
    /// Checks on the head have not finished.
    ChecksPending {
        /// Their names.
        names: Vec<String>,
    },
    /// Checks on the head failed.
    ChecksFailed {
        /// `name (conclusion)` each.
        checks: Vec<String>,
    },
    /// Required checks have not reported on the head at all.
    RequiredChecksMissing {
        /// Their names.
        names: Vec<String>,
    },
    /// The forge refused the merge itself (the head moved after the gate read it, protection rules).
    ForgeRefused {
        /// What it said.
        message: String,
    },
}

impl MergeBlocker {
    /// One line for people, saying what is missing and what to do.
    pub fn describe(&self) -> String {
        match self {
            MergeBlocker::NoPullRequest => {
                "no pull request is recorded for this goal: run `git omk goal open-pr` first".to_owned()
            }
            MergeBlocker::Closed { number } => {
                format!(
                    "PR #{number} was closed without merging: reopen it on GitHub, then run `git omk goal open-pr`"
                )
            }
            MergeBlocker::NotReady { status, reasons } if reasons.is_empty() => {
                format!("the proof is `{status}`, not `ready`")
            }
            MergeBlocker::NotReady { status, reasons } => {
                format!("the proof is `{status}`, not `ready`: {}", reasons.join("; "))
            }
            MergeBlocker::NoProof => "no proof commit and proven commit are recorded".to_owned(),
            MergeBlocker::HeadMoved { head, proven } => format!(
                "the PR head {} is not the proven commit {}: the proof does not cover what would be merged",
                short(head),
                short(proven)
            ),
            MergeBlocker::Draft { number } => {
                format!("PR #{number} is a draft: mark it ready for review (`gh pr ready {number}`)")
            }
            MergeBlocker::Conflicts => "the PR conflicts with its base branch".to_owned(),
            MergeBlocker::ChecksPending { names } => {
                format!("checks still running on the head: {}", names.join(", "))
            }
            MergeBlocker::ChecksFailed { checks } => {
                format!("checks failed on the head: {}", checks.join(", "))
            }
            MergeBlocker::RequiredChecksMissing { names } => {
                format!(
                    "required checks have not reported on the head: {}",
                    names.join(", ")
                )
            }
            MergeBlocker::ForgeRefused { message } => format!("GitHub refused the merge: {message}"),
        }
    }
}

/// The gate's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum MergeDecision {
    /// Merge policy `disabled`: nothing to do.
    Disabled,
    /// Merge policy `manual`: a human merges with this command.
    Manual {
        /// The exact command.
        command: String,
    },
    /// The PR is already merged.
    AlreadyMerged {
        /// The merge commit, if GitHub reported it.
        merge_commit: Option<String>,
    },
    /// Merge now, guarded by the proven sha (the forge refuses if the head moved meanwhile).
    Merge {
        /// The sha the head must still be.
        sha: String,
    },
    /// Not now.
    Refuse {
        /// Everything that is missing, in the order to fix it.
        missing: Vec<MergeBlocker>,
    },
}

/// The command a human runs to merge the goal's PR with the same guard the gate would use.
pub fn manual_command(goal_id: &str, pr: Option<u64>, repo: Option<&str>, proven: Option<&str>) -> String {
    let Some(number) = pr else {
        return format!("git omk goal open-pr {goal_id}   # then merge the PR it opens");
    };
    let mut command = format!("gh pr merge {number}");
    if let Some(repo) = repo {
        command.push_str(&format!(" --repo {repo}"));
    }
    command.push_str(" --merge");
    if let Some(sha) = proven {
        command.push_str(&format!(" --match-head-commit {sha}"));
    }
    command
}

/// Decide a gated merge from the proof, the PR, the checks on its head and the base's requirements.
pub fn gated(
    facts: &ProofFacts,
    pull: Option<&PullView>,
    checks: &[CheckView],
    base: &BaseRequirements,
) -> MergeDecision {
    let Some(pull) = pull else {
        return MergeDecision::Refuse {
            missing: vec![MergeBlocker::NoPullRequest],
        };
    };
    match pull.state {
        PullState::Merged => {
            return MergeDecision::AlreadyMerged {
                merge_commit: pull.merge_commit.clone(),
            };
        }
        PullState::Closed => {
            return MergeDecision::Refuse {
                missing: vec![MergeBlocker::Closed { number: pull.number }],
            };
        }
        PullState::Open => {}
    }
    let mut missing = proof_blockers(facts, pull);
    if pull.draft {
        missing.push(MergeBlocker::Draft { number: pull.number });
    }
    if pull.mergeable == Some(false) || pull.mergeable_state.as_deref() == Some("dirty") {
        missing.push(MergeBlocker::Conflicts);
    }
    missing.extend(check_blockers(checks, base));
    match (&facts.proven_commit, missing.is_empty()) {
        (Some(sha), true) => MergeDecision::Merge { sha: sha.clone() },
        _ => MergeDecision::Refuse { missing },
    }
}

fn proof_blockers(facts: &ProofFacts, pull: &PullView) -> Vec<MergeBlocker> {
    let mut missing = Vec::new();
    if !facts.is_ready() {
        missing.push(MergeBlocker::NotReady {
            status: facts.status.as_str().to_owned(),
            reasons: facts.reasons.clone(),
        });
    }
    match &facts.proven_commit {
        None => missing.push(MergeBlocker::NoProof),
        Some(proven) if *proven != pull.head_sha => missing.push(MergeBlocker::HeadMoved {
            head: pull.head_sha.clone(),
            proven: proven.clone(),
        }),
        Some(_) => {}
    }
    missing
}

fn check_blockers(checks: &[CheckView], base: &BaseRequirements) -> Vec<MergeBlocker> {
    let mut pending = Vec::new();
    let mut failed = Vec::new();
    for check in checks {
        match &check.state {
            CheckState::Pending => pending.push(check.name.clone()),
            CheckState::Failed(conclusion) => failed.push(format!("{} ({conclusion})", check.name)),
            CheckState::Passed => {}
        }
    }
    let absent: Vec<String> = base
        .required_checks
        .iter()
        .filter(|name| !checks.iter().any(|c| &c.name == *name))
        .cloned()
        .collect();
    let mut missing = Vec::new();
    if !failed.is_empty() {
        missing.push(MergeBlocker::ChecksFailed { checks: failed });
    }
    if !pending.is_empty() {
        missing.push(MergeBlocker::ChecksPending { names: pending });
    }
    if !absent.is_empty() {
        missing.push(MergeBlocker::RequiredChecksMissing { names: absent });
    }
    missing
}

/// Decide under any policy. `gated` needs the PR, checks and requirements; the others decide from the goal
/// alone, without asking the forge.
pub fn decide(
    policy: MergePolicy,
    facts: &ProofFacts,
    pr_number: Option<u64>,
    repo: Option<&str>,
    observed: Option<(Option<&PullView>, &[CheckView], &BaseRequirements)>,
) -> MergeDecision {
    match policy {
        MergePolicy::Disabled => MergeDecision::Disabled,
        MergePolicy::Manual => MergeDecision::Manual {
            command: manual_command(&facts.goal_id, pr_number, repo, facts.proven_commit.as_deref()),
        },
        MergePolicy::Gated => match observed {
            Some((pull, checks, base)) => gated(facts, pull, checks, base),
            None => MergeDecision::Refuse {
                missing: vec![MergeBlocker::NoPullRequest],
            },
        },
    }
}

/// Keep only the newest check of each name (GitHub lists re-runs too); input in any order, `id` ascending
/// means newer.
pub fn latest_per_name(mut checks: Vec<(u64, CheckView)>) -> Vec<CheckView> {
    checks.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    let mut out: Vec<CheckView> = Vec::new();
    for (_, check) in checks {
        if !out.iter().any(|c| c.name == check.name) {
            out.push(check);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::delivery::facts::ProofFacts;
    use crate::model::status::GoalStatus;

    const PROVEN: &str = "1111111111111111111111111111111111111111";

    fn facts(status: GoalStatus) -> ProofFacts {
        ProofFacts {
            goal_id: "20261122-031142-3fa9c01b".into(),
            title: "t".into(),
            summary: "s".into(),
            status,
            reasons: if status == GoalStatus::Ready {
                vec![]
            } else {
                vec!["a required gate fails".into()]
            },
            proof_commit: Some("9".repeat(40)),
            proven_commit: Some(PROVEN.into()),
            proven_tree: None,
            base_commit: "0".repeat(40),
            tests: Vec::new(),
            gates: vec![],
            tasks: vec![],
            changed_files: vec![],
            gaps: vec![],
            decisions: vec![],
            missing: vec![],
        }
    }

    fn pull() -> PullView {
        PullView {
            number: 7,
            url: "https://github.com/o/r/pull/7".into(),
            state: PullState::Open,
            draft: false,
            head_sha: PROVEN.into(),
            head_ref: "omk/g/integration".into(),
            base_ref: "main".into(),
            mergeable: Some(true),
            mergeable_state: Some("clean".into()),
            merge_commit: None,
        }
    }

    fn check(name: &str, state: CheckState) -> CheckView {
        CheckView {
            name: name.into(),
            state,
        }
    }

    fn refused(d: MergeDecision) -> Vec<MergeBlocker> {
        match d {
            MergeDecision::Refuse { missing } => missing,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn ready_proven_head_and_green_checks_merge_with_the_sha_guard() {
        let checks = [check("ci", CheckState::Passed)];
        let base = BaseRequirements {
            required_checks: vec!["ci".into()],
            ..Default::default()
        };
        let d = gated(&facts(GoalStatus::Ready), Some(&pull()), &checks, &base);
        assert_eq!(d, MergeDecision::Merge { sha: PROVEN.into() });
    }

    #[test]
    fn every_missing_piece_is_named() {
        let mut p = pull();
        p.head_sha = "2".repeat(40);
        p.draft = true;
        p.mergeable = Some(false);
        let checks = [
            check("ci", CheckState::Pending),
            check("lint", CheckState::Failed("failure".into())),
        ];
        let base = BaseRequirements {
            required_checks: vec!["ci".into(), "security".into()],
            ..Default::default()
        };
        let missing = refused(gated(&facts(GoalStatus::NotReady), Some(&p), &checks, &base));
        let codes: Vec<&str> = missing
            .iter()
            .map(|m| match m {
                MergeBlocker::NotReady { .. } => "not_ready",
                MergeBlocker::HeadMoved { .. } => "head_moved",
                MergeBlocker::Draft { .. } => "draft",
                MergeBlocker::Conflicts => "conflicts",
                MergeBlocker::ChecksFailed { .. } => "failed",
                MergeBlocker::ChecksPending { .. } => "pending",
                MergeBlocker::RequiredChecksMissing { .. } => "absent",
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            codes,
            [
                "not_ready",
                "head_moved",
                "draft",
                "conflicts",
                "failed",
                "pending",
                "absent"
            ]
        );
        let text: Vec<String> = missing.iter().map(MergeBlocker::describe).collect();
        assert!(text[1].contains("222222222222") && text[1].contains("111111111111"));
        assert!(text[6].contains("security") && !text[6].contains("ci"));
        assert!(text[4].contains("lint (failure)"));
    }

    #[test]
    fn pending_checks_refuse_until_they_pass() {
        let base = BaseRequirements::default();
        let f = facts(GoalStatus::Ready);
        let pending = [check("ci", CheckState::Pending)];
        assert_eq!(
            refused(gated(&f, Some(&pull()), &pending, &base)),
            vec![MergeBlocker::ChecksPending {
                names: vec!["ci".into()]
            }]
        );
        let done = [check("ci", CheckState::Passed)];
        assert!(matches!(
            gated(&f, Some(&pull()), &done, &base),
            MergeDecision::Merge { .. }
        ));
    }

    #[test]
    fn ready_without_a_proof_commit_is_not_ready() {
        let mut f = facts(GoalStatus::Ready);
        f.proof_commit = None;
        let missing = refused(gated(&f, Some(&pull()), &[], &BaseRequirements::default()));
        assert!(matches!(missing[0], MergeBlocker::NotReady { .. }));
        f = facts(GoalStatus::Ready);
        f.proven_commit = None;
        let missing = refused(gated(&f, Some(&pull()), &[], &BaseRequirements::default()));
        assert!(missing.contains(&MergeBlocker::NoProof));
    }

    #[test]
    fn closed_merged_and_absent_prs() {
        let f = facts(GoalStatus::Ready);
        let base = BaseRequirements::default();
        let mut p = pull();
        p.state = PullState::Closed;
        assert_eq!(
            refused(gated(&f, Some(&p), &[], &base)),
            vec![MergeBlocker::Closed { number: 7 }]
        );
        p.state = PullState::Merged;
        p.merge_commit = Some("m".into());
        assert_eq!(
            gated(&f, Some(&p), &[], &base),
            MergeDecision::AlreadyMerged {
                merge_commit: Some("m".into())
            }
        );
        assert_eq!(
            refused(gated(&f, None, &[], &base)),
            vec![MergeBlocker::NoPullRequest]
        );
    }

    #[test]
    fn policies_other_than_gated_never_ask_the_forge() {
        let f = facts(GoalStatus::Ready);
        assert_eq!(
            decide(MergePolicy::Disabled, &f, Some(7), None, None),
            MergeDecision::Disabled
        );
        let MergeDecision::Manual { command } = decide(MergePolicy::Manual, &f, Some(7), Some("o/r"), None)
        else {
            panic!("manual")
        };
        assert_eq!(
            command,
            format!("gh pr merge 7 --repo o/r --merge --match-head-commit {PROVEN}")
        );
        let MergeDecision::Manual { command } = decide(MergePolicy::Manual, &f, None, None, None) else {
            panic!("manual")
        };
        assert!(command.starts_with("git omk goal open-pr 20261122-031142-3fa9c01b"));
    }

    #[test]
    fn re_runs_count_once_newest_first() {
        let latest = latest_per_name(vec![
            (1, check("ci", CheckState::Failed("failure".into()))),
            (3, check("ci", CheckState::Passed)),
            (2, check("lint", CheckState::Pending)),
        ]);
        assert_eq!(
            latest,
            vec![
                check("ci", CheckState::Passed),
                check("lint", CheckState::Pending)
            ]
        );
    }
}
