//! The proof's record of delivery (DESIGN §9, `proof.json` `delivery`): every pull request of the goal,
//! every piece of review feedback with the task, reply and commit that addressed it, every merge decision,
//! and the base branch's commit after the merge.
//!
//! Built from the goal's recorded delivery state only (`goal.json` `delivery`), by `prove` and again by
//! `Snapshot::apply` after each delivery event, so the proof in every later goal commit carries it. It
//! never decides readiness. Pure.

use serde::{Deserialize, Serialize};

use crate::model::delivery::address::{FeedbackState, Resolution, resolution};
use crate::model::delivery::merge::CheckView;
use crate::model::delivery::record::{MergeAwaitingHuman, MergeDecisionRecorded, MergeRecorded};
use crate::model::delivery::reviews::{Ask, FeedbackKind};
use crate::model::goal::SlicePr;
use crate::model::options::MergePolicy;
use crate::model::snapshot::Snapshot;

/// Delivery as the proof records it. Empty until the goal is delivered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The goal's pull requests: the integrator PR (integration branch → base).
    pub pull_requests: Vec<PullRequestRecord>,
    /// Review feedback read from the PRs, oldest first, with what addressed it.
    pub feedback: Vec<FeedbackRecord>,
    /// Merge decisions, oldest first.
    pub merges: Vec<MergeRecord>,
    /// The base branch's commit after the goal's PR was merged (the merge commit GitHub reported).
    pub baseline: Option<String>,
}

/// Which part of the goal a pull request delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrRole {
    /// The integration branch into the base: the whole goal.
    Integrator,
    /// One task branch into the integration branch (`--slice-prs`).
    Slice,
}

/// Where a pull request stands, as the goal last recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrState {
    /// Open (or, for all the goal knows, still open).
    Open,
    /// Merged.
    Merged,
}

/// One pull request of the goal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestRecord {
    /// What it delivers.
    pub role: PrRole,
    /// The task of a slice PR.
    pub task: Option<String>,
    /// Its number.
    pub number: u64,
    /// Its web address.
    pub url: String,
    /// The head branch.
    pub head: Option<String>,
    /// The commit the head branch was last pushed at.
    pub head_sha: Option<String>,
    /// The base branch.
    pub base: Option<String>,
    /// Open or merged.
    pub state: PrState,
    /// The proof commit its body links to.
    pub proof_commit: Option<String>,
}

/// One piece of review feedback and how it was addressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    /// The PR it was read from.
    pub pr: u64,
    /// The review round that recorded it.
    pub round: u32,
    /// A review's text, an inline comment or a conversation comment.
    pub kind: FeedbackKind,
    /// Its GitHub id.
    pub id: u64,
    /// The review an inline comment belongs to.
    pub review_id: Option<u64>,
    /// `github:<login>`.
    pub source: String,
    /// The file, for inline comments.
    pub file: Option<String>,
    /// The line, when GitHub gave one.
    pub line: Option<u32>,
    /// Its web address.
    pub url: String,
    /// A change or a question.
    pub ask: Ask,
    /// The fix task.
    pub task: Option<String>,
    /// Why no task addresses it.
    pub note: Option<String>,
    /// The integration commit that holds the fix, once its task was integrated.
    pub fix_commit: Option<String>,
    /// The GitHub id of git-omk's reply, once posted.
    pub reply: Option<u64>,
    /// Whether a change addressed it.
    pub addressed: bool,
}

/// One merge decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeOutcomeKind {
    /// The PR was merged.
    Merged,
    /// A human must merge it (`manual`).
    AwaitingHuman,
}

/// A merge decision in the proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// What was decided.
    pub decision: MergeOutcomeKind,
    /// The merge policy that decided it.
    pub policy: MergePolicy,
    /// The PR.
    pub pr: Option<u64>,
    /// `gated` (git-omk merged it) or `external` (found merged); `None` while a human must act.
    pub by: Option<String>,
    /// The head that was merged.
    pub head_sha: Option<String>,
    /// The checks on that head as the merge gate read them.
    pub checks: Vec<CheckView>,
    /// The merge commit GitHub reported.
    pub merge_commit: Option<String>,
    /// The command a human must run (`manual`).
    pub command: Option<String>,
}

/// The delivery record of `snapshot`'s goal.
pub fn delivery_record(snapshot: &Snapshot) -> DeliveryRecord {
    let d = &snapshot.goal.delivery;
    DeliveryRecord {
        pull_requests: integrator_pr(snapshot)
            .into_iter()
            .chain(d.slices.iter().map(slice_pr))
            .collect(),
        feedback: d.feedback.iter().map(|f| feedback_record(snapshot, f)).collect(),
        merges: merge_records(snapshot),
        baseline: d.merged.as_ref().and_then(|m| m.merge_commit.clone()),
    }
}

fn integrator_pr(snapshot: &Snapshot) -> Option<PullRequestRecord> {
    let d = &snapshot.goal.delivery;
    let pr = d.pr.as_ref()?;
    let merged = d.merged.as_ref().is_some_and(|m| m.number == pr.number);
    Some(PullRequestRecord {
        role: PrRole::Integrator,
        task: None,
        number: pr.number,
        url: pr.url.clone(),
        head: d.branch.clone(),
        head_sha: d.pr_head.clone(),
        base: d.pr_base.clone(),
        state: if merged { PrState::Merged } else { PrState::Open },
        proof_commit: d.pr_proof_commit.clone(),
    })
}

fn slice_pr(s: &SlicePr) -> PullRequestRecord {
    PullRequestRecord {
        role: PrRole::Slice,
        task: Some(s.task.to_string()),
        number: s.number,
        url: s.url.clone(),
        head: Some(s.head.clone()),
        head_sha: Some(s.head_sha.clone()),
        base: Some(s.base.clone()),
        state: if s.merged { PrState::Merged } else { PrState::Open },
        proof_commit: s.proof_commit.clone(),
    }
}

fn feedback_record(snapshot: &Snapshot, state: &FeedbackState) -> FeedbackRecord {
    let f = &state.item.feedback;
    let fix_commit = match (&state.reply, resolution(snapshot, state)) {
        (Some(reply), _) if reply.commit.is_some() => reply.commit.clone(),
        (_, Resolution::Fixed { commit }) => Some(commit),
        _ => None,
    };
    FeedbackRecord {
        pr: state.pr,
        round: state.round,
        kind: f.kind,
        id: f.id,
        review_id: f.review_id,
        source: f.source.clone(),
        file: f.path.clone(),
        line: f.line,
        url: f.url.clone(),
        ask: f.ask,
        task: state.item.task.as_ref().map(|t| t.to_string()),
        note: state.item.note.clone(),
        fix_commit,
        reply: state.reply.as_ref().map(|r| r.reply_id),
        addressed: state.reply.as_ref().is_some_and(|r| r.addressed),
    }
}

/// The recorded decisions; a goal recorded before decisions were listed shows its merge alone.
fn merge_records(snapshot: &Snapshot) -> Vec<MergeRecord> {
    let d = &snapshot.goal.delivery;
    let policy = snapshot.goal.options.merge;
    if d.merge_decisions.is_empty() {
        return d.merged.iter().map(|m| merged(m, policy)).collect();
    }
    d.merge_decisions
        .iter()
        .map(|decision| match decision {
            MergeDecisionRecorded::Merged(m) => merged(m, policy),
            MergeDecisionRecorded::AwaitingHuman(w) => awaiting(w, policy),
        })
        .collect()
}

fn merged(m: &MergeRecorded, policy: MergePolicy) -> MergeRecord {
    MergeRecord {
        decision: MergeOutcomeKind::Merged,
        policy: m.policy.unwrap_or(policy),
        pr: Some(m.number),
        by: Some(m.by.clone()),
        head_sha: Some(m.head_sha.clone()),
        checks: m.checks.clone(),
        merge_commit: m.merge_commit.clone(),
        command: None,
    }
}

fn awaiting(w: &MergeAwaitingHuman, policy: MergePolicy) -> MergeRecord {
    MergeRecord {
        decision: MergeOutcomeKind::AwaitingHuman,
        policy,
        pr: w.number,
        by: None,
        head_sha: None,
        checks: Vec::new(),
        merge_commit: None,
        command: Some(w.command.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::delivery::merge::CheckState;
    use crate::model::delivery::record::PrOpened;
    use crate::model::event::EventBody;
    use crate::model::proof::tests::{Goal, RESULT, changed};
    use crate::model::proof::{Proof, prove};

    fn opened(proof_commit: &str) -> EventBody {
        EventBody::PrOpened(PrOpened {
            number: 7,
            url: "https://example.com/o/r/pull/7".into(),
            head: "omk/g/integration".into(),
            head_sha: RESULT.into(),
            base: "main".into(),
            draft: false,
            created: true,
            proof_commit: Some(proof_commit.into()),
            task: None,
            merged: false,
        })
    }

    fn recorded(g: &Goal) -> &DeliveryRecord {
        &g.snapshot.proof.as_ref().expect("a recorded proof").delivery
    }

    #[test]
    fn the_recorded_proof_follows_the_pr_and_the_gated_merge_to_the_final_baseline() {
        let mut g = Goal::evidenced();
        assert_eq!(g.record_proof().delivery, DeliveryRecord::default());
        g.apply(opened("proof111"));
        let pr = &recorded(&g).pull_requests[0];
        assert_eq!(
            (pr.role, pr.number, pr.state),
            (PrRole::Integrator, 7, PrState::Open)
        );
        assert_eq!(pr.head.as_deref(), Some("omk/g/integration"));
        assert_eq!(pr.head_sha.as_deref(), Some(RESULT));
        assert_eq!(pr.base.as_deref(), Some("main"));
        assert_eq!(pr.proof_commit.as_deref(), Some("proof111"));
        assert_eq!(recorded(&g).baseline, None);

        let checks = vec![CheckView {
            name: "git-omk proof".into(),
            state: CheckState::Passed,
        }];
        g.apply(EventBody::MergeRecorded(MergeRecorded {
            number: 7,
            head_sha: RESULT.into(),
            merge_commit: Some("merge000".into()),
            by: "gated".into(),
            policy: Some(MergePolicy::Gated),
            checks: checks.clone(),
        }));
        let d = recorded(&g);
        assert_eq!(d.pull_requests[0].state, PrState::Merged);
        assert_eq!(d.baseline.as_deref(), Some("merge000"));
        let merge = &d.merges[0];
        assert_eq!(
            (&merge.decision, merge.policy, merge.by.as_deref()),
            (&MergeOutcomeKind::Merged, MergePolicy::Gated, Some("gated"))
        );
        assert_eq!(merge.checks, checks);
        assert_eq!(merge.head_sha.as_deref(), Some(RESULT));
        assert_eq!(
            d,
            &prove(&g.snapshot, changed()).delivery,
            "the refreshed record is the one prove() builds"
        );
        let json = serde_json::to_value(g.snapshot.proof.as_ref()).expect("serialisable");
        assert_eq!(
            json["delivery"]["merges"][0]["checks"][0]["name"],
            "git-omk proof"
        );
        assert_eq!(
            json["delivery"]["merges"][0]["checks"][0]["state"]["state"],
            "passed"
        );
        assert_eq!(json["delivery"]["baseline"], "merge000");
        assert_eq!(json["delivery"]["pull_requests"][0]["role"], "integrator");
    }

    #[test]
    fn a_manual_merge_and_the_merge_a_human_then_made_are_both_decisions() {
        let mut g = Goal::evidenced();
        g.record_proof();
        g.apply(opened("proof111"));
        g.apply(EventBody::MergeAwaitingHuman(MergeAwaitingHuman {
            number: Some(7),
            command: "gh pr merge 7 --merge".into(),
        }));
        g.apply(EventBody::MergeRecorded(MergeRecorded {
            number: 7,
            head_sha: RESULT.into(),
            merge_commit: None,
            by: "external".into(),
            policy: None,
            checks: Vec::new(),
        }));
        let merges = &recorded(&g).merges;
        assert_eq!(merges.len(), 2);
        assert_eq!(merges[0].decision, MergeOutcomeKind::AwaitingHuman);
        assert_eq!(merges[0].command.as_deref(), Some("gh pr merge 7 --merge"));
        assert_eq!(merges[1].by.as_deref(), Some("external"));
        assert_eq!(
            merges[1].policy, g.snapshot.goal.options.merge,
            "an older record without a policy takes the goal's"
        );
        assert_eq!(
            recorded(&g).baseline,
            None,
            "GitHub did not say where the base went"
        );
    }

    #[test]
    fn a_schema_2_proof_without_a_delivery_record_reads_back_empty() {
        let mut g = Goal::evidenced();
        g.apply(opened("proof111"));
        let mut v2 = serde_json::to_value(prove(&g.snapshot, changed())).expect("json");
        v2["schema_version"] = 2.into();
        v2.as_object_mut().expect("an object").remove("delivery");
        let back: Proof = serde_json::from_value(v2).expect("a version 2 proof reads");
        assert_eq!(back.delivery, DeliveryRecord::default());
    }
}
