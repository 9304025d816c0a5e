//! The parts of the delivery commands' JSON (`goal open-pr`, `goal merge`, `goal address-reviews`) that
//! come from the model: the proof facts a PR shows, the merge gate's decision and what it read (the PR,
//! the base branch's requirements), and the feedback a review round recorded.
//!
//! Each is its own view, built field by field, every enum variant mapped by name (no wildcard). Must
//! not serialise a model type.

use serde::Serialize;

use super::delivery::FeedbackItemView;
use super::leaf::GoalStatusView;
use crate::model::delivery::address::Addressed;
use crate::model::delivery::facts::{ChangedFile, GateResult, GateRow, ProofFacts, TaskRow};
use crate::model::delivery::merge::{BaseRequirements, MergeBlocker, MergeDecision, PullState, PullView};
use crate::model::ids::TaskId;

/// The proof facts a PR shows (`facts` in `goal open-pr -f json`).
#[derive(Serialize)]
pub struct ProofFactsView<'a> {
    /// The goal id.
    pub goal_id: &'a str,
    /// One-line title.
    pub title: &'a str,
    /// The goal text.
    pub summary: &'a str,
    /// The proof's verdict.
    pub status: GoalStatusView,
    /// Why it is not ready.
    pub reasons: &'a [String],
    /// The goal commit that recorded the proof.
    pub proof_commit: Option<&'a str>,
    /// The code commit the proof covers.
    pub proven_commit: Option<&'a str>,
    /// Its tree.
    pub proven_tree: Option<&'a str>,
    /// The commit the goal started from.
    pub base_commit: &'a str,
    /// Gates before/after.
    pub gates: Vec<GateRowView<'a>>,
    /// What the tests did, in words.
    pub tests: &'a [String],
    /// Tasks and how they ended.
    pub tasks: Vec<TaskRowView<'a>>,
    /// Changed files with diff stats.
    pub changed_files: Vec<ChangedFileView<'a>>,
    /// What the proof says is not covered.
    pub gaps: &'a [String],
    /// Decisions, one line each.
    pub decisions: &'a [String],
    /// Inputs the proof did not provide.
    pub missing: &'a [String],
}

impl<'a> ProofFactsView<'a> {
    /// Of the model's facts.
    pub fn of(f: &'a ProofFacts) -> ProofFactsView<'a> {
        ProofFactsView {
            goal_id: &f.goal_id,
            title: &f.title,
            summary: &f.summary,
            status: GoalStatusView::of(f.status),
            reasons: &f.reasons,
            proof_commit: f.proof_commit.as_deref(),
            proven_commit: f.proven_commit.as_deref(),
            proven_tree: f.proven_tree.as_deref(),
            base_commit: &f.base_commit,
            gates: f.gates.iter().map(GateRowView::of).collect(),
            tests: &f.tests,
            tasks: f.tasks.iter().map(TaskRowView::of).collect(),
            changed_files: f.changed_files.iter().map(ChangedFileView::of).collect(),
            gaps: &f.gaps,
            decisions: &f.decisions,
            missing: &f.missing,
        }
    }
}

/// A gate on the base tree and on the result tree.
#[derive(Serialize)]
pub struct GateRowView<'a> {
    /// Gate name.
    pub name: &'a str,
    /// Required for `ready`.
    pub required: bool,
    /// On the base tree.
    pub before: GateResultView,
    /// On the result tree.
    pub after: GateResultView,
}

impl<'a> GateRowView<'a> {
    /// Of the model's row.
    pub fn of(g: &'a GateRow) -> GateRowView<'a> {
        GateRowView {
            name: &g.name,
            required: g.required,
            before: GateResultView::of(g.before),
            after: GateResultView::of(g.after),
        }
    }
}

/// A gate's outcome on one tree.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateResultView {
    /// It passed.
    Passed,
    /// It failed.
    Failed,
    /// It was not run there.
    NotRun,
}

impl GateResultView {
    /// Of the model's result (every variant by name, no wildcard).
    pub fn of(r: GateResult) -> GateResultView {
        match r {
            GateResult::Passed => GateResultView::Passed,
            GateResult::Failed => GateResultView::Failed,
            GateResult::NotRun => GateResultView::NotRun,
        }
    }
}

/// A task as the PR shows it.
#[derive(Serialize)]
pub struct TaskRowView<'a> {
    /// Task id.
    pub id: &'a str,
    /// One line.
    pub title: &'a str,
    /// Its status name.
    pub status: &'a str,
    /// Attempts it took.
    pub attempts: usize,
}

impl<'a> TaskRowView<'a> {
    /// Of the model's row.
    pub fn of(t: &'a TaskRow) -> TaskRowView<'a> {
        TaskRowView {
            id: &t.id,
            title: &t.title,
            status: &t.status,
            attempts: t.attempts,
        }
    }
}

/// A changed file with its diff stat (`null`: unknown or binary).
#[derive(Serialize)]
pub struct ChangedFileView<'a> {
    /// Repository-relative path.
    pub path: &'a str,
    /// Lines added.
    pub additions: Option<u64>,
    /// Lines deleted.
    pub deletions: Option<u64>,
}

impl<'a> ChangedFileView<'a> {
    /// Of the model's file.
    pub fn of(c: &'a ChangedFile) -> ChangedFileView<'a> {
        ChangedFileView {
            path: &c.path,
            additions: c.additions,
            deletions: c.deletions,
        }
    }
}

/// The merge gate's answer, tagged by `decision`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum MergeGateView<'a> {
    /// Merge policy `disabled`.
    Disabled,
    /// Merge policy `manual`: a human merges with this command.
    Manual {
        /// The exact command.
        command: &'a str,
    },
    /// The PR is already merged.
    AlreadyMerged {
        /// The merge commit, if GitHub reported it.
        merge_commit: Option<&'a str>,
    },
    /// Merge now, guarded by the proven sha.
    Merge {
        /// The sha the head must still be.
        sha: &'a str,
    },
    /// Not now.
    Refuse {
        /// Everything missing, in the order to fix it.
        missing: Vec<MergeBlockerView<'a>>,
    },
}

impl<'a> MergeGateView<'a> {
    /// Of the model's decision (every variant by name, no wildcard).
    pub fn of(d: &'a MergeDecision) -> MergeGateView<'a> {
        match d {
            MergeDecision::Disabled => MergeGateView::Disabled,
            MergeDecision::Manual { command } => MergeGateView::Manual { command },
            MergeDecision::AlreadyMerged { merge_commit } => MergeGateView::AlreadyMerged {
                merge_commit: merge_commit.as_deref(),
            },
            MergeDecision::Merge { sha } => MergeGateView::Merge { sha },
            MergeDecision::Refuse { missing } => MergeGateView::Refuse {
                missing: missing.iter().map(MergeBlockerView::of).collect(),
            },
        }
    }
}

/// Why a gated merge cannot happen now, tagged by `code`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case", tag = "code")]
pub enum MergeBlockerView<'a> {
    /// No PR is recorded.
    NoPullRequest,
    /// Closed without merging.
    Closed {
        /// The PR number.
        number: u64,
    },
    /// The proof is not `ready`.
    NotReady {
        /// The proof's status.
        status: &'a str,
        /// Its reasons.
        reasons: &'a [String],
    },
    /// No proven commit or proof commit.
    NoProof,
    /// The PR head is not the proven commit.
    HeadMoved {
        /// The PR head.
        head: &'a str,
        /// The proven commit.
        proven: &'a str,
    },
    /// The PR is a draft.
    Draft {
        /// The PR number.
        number: u64,
    },
    /// The PR conflicts with its base.
    Conflicts,
    /// Checks have not finished.
    ChecksPending {
        /// Their names.
        names: &'a [String],
    },
    /// Checks failed.
    ChecksFailed {
        /// `name (conclusion)` each.
        checks: &'a [String],
    },
    /// Required checks have not reported.
    RequiredChecksMissing {
        /// Their names.
        names: &'a [String],
    },
    /// The forge refused the merge.
    ForgeRefused {
        /// What it said.
        message: &'a str,
    },
}

impl<'a> MergeBlockerView<'a> {
    /// Of the model's blocker (every variant by name, no wildcard).
    pub fn of(b: &'a MergeBlocker) -> MergeBlockerView<'a> {
        use MergeBlocker as B;
        use MergeBlockerView as V;
        match b {
            B::NoPullRequest => V::NoPullRequest,
            B::Closed { number } => V::Closed { number: *number },
            B::NotReady { status, reasons } => V::NotReady { status, reasons },
            B::NoProof => V::NoProof,
            B::HeadMoved { head, proven } => V::HeadMoved { head, proven },
            B::Draft { number } => V::Draft { number: *number },
            B::Conflicts => V::Conflicts,
            B::ChecksPending { names } => V::ChecksPending { names },
            B::ChecksFailed { checks } => V::ChecksFailed { checks },
            B::RequiredChecksMissing { names } => V::RequiredChecksMissing { names },
            B::ForgeRefused { message } => V::ForgeRefused { message },
        }
    }
}

/// The PR as the merge gate read it.
#[derive(Serialize)]
pub struct PullReadView<'a> {
    /// Its number.
    pub number: u64,
    /// Its web address.
    pub url: &'a str,
    /// Open, closed or merged.
    pub state: PullStateView,
    /// A draft.
    pub draft: bool,
    /// The head commit.
    pub head_sha: &'a str,
    /// The head branch.
    pub head_ref: &'a str,
    /// The base branch.
    pub base_ref: &'a str,
    /// GitHub's merge check (`null` while it computes it).
    pub mergeable: Option<bool>,
    /// GitHub's summary.
    pub mergeable_state: Option<&'a str>,
    /// The merge commit, once merged.
    pub merge_commit: Option<&'a str>,
}

impl<'a> PullReadView<'a> {
    /// Of the model's PR.
    pub fn of(p: &'a PullView) -> PullReadView<'a> {
        PullReadView {
            number: p.number,
            url: &p.url,
            state: PullStateView::of(p.state),
            draft: p.draft,
            head_sha: &p.head_sha,
            head_ref: &p.head_ref,
            base_ref: &p.base_ref,
            mergeable: p.mergeable,
            mergeable_state: p.mergeable_state.as_deref(),
            merge_commit: p.merge_commit.as_deref(),
        }
    }
}

/// Where a PR stands.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PullStateView {
    /// Open.
    Open,
    /// Closed without merging.
    Closed,
    /// Merged.
    Merged,
}

impl PullStateView {
    /// Of the model's state (every variant by name, no wildcard).
    pub fn of(s: PullState) -> PullStateView {
        match s {
            PullState::Open => PullStateView::Open,
            PullState::Closed => PullStateView::Closed,
            PullState::Merged => PullStateView::Merged,
        }
    }
}

/// What the base branch requires, as read.
#[derive(Serialize)]
pub struct BaseRequirementsView<'a> {
    /// Check names that must pass.
    pub required_checks: &'a [String],
    /// Approving reviews required.
    pub required_approvals: u32,
    /// What could not be read.
    pub unknown: &'a [String],
}

impl<'a> BaseRequirementsView<'a> {
    /// Of the model's requirements.
    pub fn of(r: &'a BaseRequirements) -> BaseRequirementsView<'a> {
        BaseRequirementsView {
            required_checks: &r.required_checks,
            required_approvals: r.required_approvals,
            unknown: &r.unknown,
        }
    }
}

/// One piece of feedback a review round recorded, with the task addressing it.
#[derive(Serialize)]
pub struct AddressedView<'a> {
    /// The feedback as read.
    pub feedback: FeedbackItemView<'a>,
    /// The fix task (`null`: a question, or a task that would not validate).
    pub task: Option<&'a TaskId>,
    /// Why no task addresses it; absent when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
}

impl<'a> AddressedView<'a> {
    /// Of the model's recorded feedback.
    pub fn of(a: &'a Addressed) -> AddressedView<'a> {
        AddressedView {
            feedback: FeedbackItemView::of(&a.feedback),
            task: a.task.as_ref(),
            note: a.note.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::delivery::reviews::{Ask, Feedback, FeedbackKind};
    use crate::model::status::GoalStatus;

    /// Each model value and its view serialise to the same JSON.
    macro_rules! same {
        ($models:expr, $view:expr) => {
            for m in $models.iter() {
                let expected = serde_json::to_string(m).unwrap();
                assert_eq!(serde_json::to_string(&$view(m)).unwrap(), expected);
            }
        };
    }

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    /// Proof facts, empty and full with every gate result, print as the model printed them.
    #[test]
    fn the_proof_facts_view_prints_as_the_model_did() {
        let empty = ProofFacts {
            goal_id: "g".into(),
            title: "t".into(),
            summary: "s".into(),
            status: GoalStatus::NotReady,
            reasons: Vec::new(),
            proof_commit: None,
            proven_commit: None,
            proven_tree: None,
            base_commit: "b".repeat(40),
            gates: Vec::new(),
            tests: Vec::new(),
            tasks: Vec::new(),
            changed_files: Vec::new(),
            gaps: Vec::new(),
            decisions: Vec::new(),
            missing: strings(&["proof commit"]),
        };
        let results = [GateResult::Passed, GateResult::Failed, GateResult::NotRun];
        let gates = results
            .into_iter()
            .flat_map(|before| {
                results.into_iter().map(move |after| GateRow {
                    name: "test".into(),
                    required: before == after,
                    before,
                    after,
                })
            })
            .collect();
        let full = ProofFacts {
            status: GoalStatus::Ready,
            reasons: strings(&["r"]),
            proof_commit: Some("p".repeat(40)),
            proven_commit: Some("c".repeat(40)),
            proven_tree: Some("e".repeat(40)),
            gates,
            tests: strings(&["test_add: failed on the base, passes now"]),
            tasks: vec![TaskRow {
                id: "t1".into(),
                title: "Fix".into(),
                status: "done".into(),
                attempts: 2,
            }],
            changed_files: vec![
                ChangedFile {
                    path: "src/a.rs".into(),
                    additions: Some(3),
                    deletions: Some(1),
                },
                ChangedFile {
                    path: "logo.png".into(),
                    additions: None,
                    deletions: None,
                },
            ],
            gaps: strings(&["no review"]),
            decisions: strings(&["planning: heuristic"]),
            ..empty.clone()
        };
        same!([empty, full], ProofFactsView::of);
    }

    /// Every merge decision and blocker, the PR in every state and the requirements print as the model
    /// printed them.
    #[test]
    fn the_merge_views_print_as_the_model_did() {
        let names = strings(&["ci"]);
        let missing = vec![
            MergeBlocker::NoPullRequest,
            MergeBlocker::Closed { number: 7 },
            MergeBlocker::NotReady {
                status: "not_ready".into(),
                reasons: strings(&["no_review"]),
            },
            MergeBlocker::NoProof,
            MergeBlocker::HeadMoved {
                head: "a".repeat(40),
                proven: "b".repeat(40),
            },
            MergeBlocker::Draft { number: 7 },
            MergeBlocker::Conflicts,
            MergeBlocker::ChecksPending { names: names.clone() },
            MergeBlocker::ChecksFailed {
                checks: strings(&["ci (failure)"]),
            },
            MergeBlocker::RequiredChecksMissing { names },
            MergeBlocker::ForgeRefused {
                message: "head moved".into(),
            },
        ];
        let decisions = [
            MergeDecision::Disabled,
            MergeDecision::Manual {
                command: "gh pr merge 7".into(),
            },
            MergeDecision::AlreadyMerged { merge_commit: None },
            MergeDecision::AlreadyMerged {
                merge_commit: Some("m".repeat(40)),
            },
            MergeDecision::Merge { sha: "a".repeat(40) },
            MergeDecision::Refuse { missing },
        ];
        same!(decisions, MergeGateView::of);
        let pulls = [PullState::Open, PullState::Closed, PullState::Merged].map(|state| PullView {
            number: 7,
            url: "https://example.invalid/pr/7".into(),
            state,
            draft: state == PullState::Open,
            head_sha: "a".repeat(40),
            head_ref: "omk/g/integration".into(),
            base_ref: "main".into(),
            mergeable: (state != PullState::Closed).then_some(true),
            mergeable_state: (state == PullState::Open).then(|| "clean".to_owned()),
            merge_commit: (state == PullState::Merged).then(|| "m".repeat(40)),
        });
        same!(pulls, PullReadView::of);
        let requirements = [BaseRequirements {
            required_checks: strings(&["ci"]),
            required_approvals: 1,
            unknown: strings(&["rulesets"]),
        }];
        same!(requirements, BaseRequirementsView::of);
    }

    /// Recorded feedback, addressed or not, prints as the model printed it.
    #[test]
    fn the_addressed_view_prints_as_the_model_did() {
        let feedback = Feedback {
            kind: FeedbackKind::ReviewComment,
            id: 1,
            source: "github:r".into(),
            review_id: Some(2),
            path: Some("src/a.rs".into()),
            line: Some(3),
            position: None,
            body: "b".into(),
            url: "u".into(),
            ask: Ask::Change,
        };
        let items = [
            Addressed {
                feedback: feedback.clone(),
                task: Some(TaskId::parse("r1-fix").unwrap()),
                note: None,
            },
            Addressed {
                feedback,
                task: None,
                note: Some("a question".into()),
            },
        ];
        same!(items, AddressedView::of);
    }
}
