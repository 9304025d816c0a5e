//! `goal address-reviews`: the review/fix loop (DESIGN §9). Read the goal's PR for new human feedback,
//! record it with the fix tasks it becomes (`review_feedback`), drive the goal so agents make the fixes
//! and the gates, reviews and proof run again, push the new head (never forced) and update the PR body
//! and sticky comment, then answer each comment with the fixing commit or why it was not addressed
//! (`review_replied`).
//!
//! What to do next is decided on the recorded state (`model::delivery::address::next`), so a run that
//! crashed anywhere continues where it stopped, and a second run finds nothing new and changes nothing:
//! recorded feedback is never selected again, and a reply already on GitHub (found by its marker) is
//! recorded instead of posted twice. Every goal write goes through the goal transaction, deciding on the
//! tip (a batch of feedback is selected again on the state it is recorded on).

use std::rc::Rc;

use super::{Connection, Connector, DeliveryError, failed, open_pr};
use crate::forge::Forge;
use crate::model::delivery::address::{
    AddressStep, Addressed, FeedbackState, RepliesPosted, ReplyPosted, Resolution, next, plan_fixes,
    reply_text, reply_to_marker, resolution,
};
use crate::model::delivery::merge::PullState;
use crate::model::delivery::record::DeliveryStage;
use crate::model::delivery::reviews::{FeedbackKind, PrFeedback, REPLY_MARKER, Seen, select};
use crate::model::event::EventBody;
use crate::model::proof::after_verdict;
use crate::model::snapshot::Snapshot;
use crate::model::status::GoalStatus;
use crate::ops::deliver::OpenPrRequest;
use crate::ops::drive::{Mode, Observer, drive};
use crate::ops::runtime::block_on;
use crate::ops::{Context, OpsError};
use crate::store::GoalRef;

/// Most steps one run takes (drive, deliver, reply, per batch): a guard, never reached by a sane state.
const MAX_STEPS: usize = 8;

/// What `address-reviews` was asked.
#[derive(Clone, Debug, Default)]
pub struct AddressRequest {
    /// Goal id or prefix (`None`: latest).
    pub goal: Option<String>,
}

/// What `address-reviews` did.
#[derive(Clone, Debug)]
pub struct AddressReport {
    /// The goal.
    pub goal: GoalRef,
    /// The PR read.
    pub pr: u64,
    /// New feedback recorded by this run, with the task addressing each.
    pub recorded: Vec<Addressed>,
    /// Whether the goal was driven (fix tasks run, gates, reviews and proof again).
    pub drove: bool,
    /// Whether the PR's head, body or comment was brought up to date.
    pub delivered: bool,
    /// Replies posted (or found on GitHub) and recorded by this run.
    pub replies: Vec<ReplyPosted>,
    /// The goal's status at the end.
    pub status: GoalStatus,
}

impl AddressReport {
    /// Whether the run changed nothing at all.
    pub fn nothing_new(&self) -> bool {
        self.recorded.is_empty() && !self.drove && !self.delivered && self.replies.is_empty()
    }
}

/// Run `address-reviews`; `observe` sees every step the controller records while fixes run.
pub fn address_reviews(
    ctx: Context,
    req: AddressRequest,
    connect: &Connector<'_>,
    observe: Observer<'_>,
) -> Result<AddressReport, OpsError> {
    let ctx = Rc::new(ctx);
    let goal = ctx.resolve_local(req.goal.as_deref())?;
    let snapshot = ctx.load(&goal)?.snapshot;
    let pr = refusal(&goal, &snapshot)?;
    let conn = connect(&ctx).map_err(|e| failed(&ctx, &goal, DeliveryStage::Connect, e))?;
    let mut run = Run {
        ctx,
        goal: goal.clone(),
        conn,
        connect,
        report: AddressReport {
            goal,
            pr,
            recorded: Vec::new(),
            drove: false,
            delivered: false,
            replies: Vec::new(),
            status: snapshot.goal.status(),
        },
    };
    run.settle(observe)?;
    if run.read_new(pr)? {
        run.settle(observe)?;
    }
    run.report.status = run.ctx.load(&run.goal)?.snapshot.goal.status();
    Ok(run.report)
}

/// Why the goal cannot address reviews now; else its PR number.
fn refusal(goal: &GoalRef, snapshot: &Snapshot) -> Result<u64, OpsError> {
    let id = goal.id();
    let Some(pr) = &snapshot.goal.delivery().pr else {
        return Err(OpsError::Usage(format!(
            "goal {id} has no pull request to read reviews from: deliver it first with `git omk goal open-pr {id}`"
        )));
    };
    let ours = matches!(next(snapshot), AddressStep::Drive);
    let refused = match snapshot.goal.status() {
        GoalStatus::Cancelled => Some(format!("goal {id} is cancelled")),
        GoalStatus::Paused => Some(format!(
            "goal {id} is paused; `git omk goal resume {id}` continues it"
        )),
        GoalStatus::Planned | GoalStatus::Running if !ours => Some(format!(
            "goal {id} is still running; address reviews once it has concluded"
        )),
        _ => None,
    };
    match refused {
        Some(message) => Err(OpsError::Usage(message)),
        None => Ok(pr.number),
    }
}

struct Run<'c> {
    ctx: Rc<Context>,
    goal: GoalRef,
    conn: Connection,
    connect: &'c Connector<'c>,
    report: AddressReport,
}

impl Run<'_> {
    /// Take the recorded state's next steps until only reading the PR is left (or a step cannot go on).
    fn settle(&mut self, observe: Observer<'_>) -> Result<(), OpsError> {
        for _ in 0..MAX_STEPS {
            let snapshot = self.ctx.load(&self.goal)?.snapshot;
            match next(&snapshot) {
                AddressStep::Drive => {
                    let status = block_on(drive(
                        self.ctx.clone(),
                        self.goal.clone(),
                        Mode::UntilDone,
                        observe,
                    ))?;
                    self.report.drove = true;
                    if !concluded(status) {
                        return Ok(());
                    }
                    self.deliver()?;
                }
                AddressStep::Deliver => self.deliver()?,
                AddressStep::Reply(waiting) => self.reply(&snapshot, &waiting)?,
                AddressStep::Read => return Ok(()),
            }
        }
        Ok(())
    }

    /// Push the result and bring the PR up to date; the proof is computed again once the PR's head is
    /// the proven commit (it said the delivered head differed), then the PR shows that proof.
    fn deliver(&mut self) -> Result<(), OpsError> {
        let request = OpenPrRequest {
            goal: Some(self.goal.id().to_string()),
            ..OpenPrRequest::default()
        };
        let first = open_pr(&self.ctx, request.clone(), self.connect)?;
        let reproved = self.ctx.transaction(&self.goal).commit_blocking(|draft| {
            let s = draft.snapshot();
            if let (Some(fresh), Some(old)) = (after_verdict(s), &s.proof)
                && (fresh.status != old.status || fresh.reasons != old.reasons)
            {
                draft.record(EventBody::ProofRecorded(Box::new(fresh)));
            }
            Ok(())
        })?;
        let again = if reproved.recorded() {
            Some(open_pr(&self.ctx, request, self.connect)?)
        } else {
            None
        };
        let changed = |o: &super::OpenPrOutcome| {
            o.recorded.is_some() || o.pr.as_ref().is_some_and(|p| p.created || p.updated)
        };
        self.report.delivered |= changed(&first) || again.as_ref().is_some_and(changed);
        Ok(())
    }

    /// Answer each waiting piece of feedback (or find the answer already on GitHub) and record them.
    fn reply(&mut self, snapshot: &Snapshot, waiting: &[FeedbackState]) -> Result<(), OpsError> {
        let (ctx, goal) = (self.ctx.clone(), self.goal.clone());
        let fail = |e: DeliveryError| failed(&ctx, &goal, DeliveryStage::PullRequest, e);
        let forge = self.conn.forge.as_ref();
        let html_url = forge.repository().map_err(|e| fail(e.into()))?.html_url;
        let mut posted = Vec::new();
        let mut outcome = Ok(());
        for state in waiting {
            let res = resolution(snapshot, state);
            let text = reply_text(state, &res, &html_url, &snapshot.goal);
            match post_reply(forge, state, &text) {
                Ok(reply_id) => posted.push(ReplyPosted {
                    kind: state.item.feedback.kind,
                    id: state.item.feedback.id,
                    reply_id,
                    commit: match &res {
                        Resolution::Fixed { commit } => Some(commit.clone()),
                        Resolution::NotFixed { .. } => None,
                    },
                    addressed: matches!(res, Resolution::Fixed { .. }),
                }),
                Err(e) => {
                    outcome = Err(fail(e));
                    break;
                }
            }
        }
        if !posted.is_empty() {
            let replies = RepliesPosted {
                replies: posted.clone(),
            };
            self.ctx.transaction(&self.goal).commit_blocking(|draft| {
                draft.record(EventBody::ReviewReplied(replies.clone()));
                Ok(())
            })?;
            self.report.replies.extend(posted);
        }
        outcome
    }

    /// Read the PR and record its new human feedback with the fix tasks it becomes; whether any was new.
    fn read_new(&mut self, pr: u64) -> Result<bool, OpsError> {
        let (ctx, goal) = (self.ctx.clone(), self.goal.clone());
        let fail = |e: DeliveryError| failed(&ctx, &goal, DeliveryStage::PullRequest, e);
        let forge = self.conn.forge.as_ref();
        let pull = forge.pull(pr).map_err(|e| fail(e.into()))?;
        if pull.view.state != PullState::Open {
            tracing::info!("PR #{pr} is no longer open: nothing to address");
            return Ok(false);
        }
        let feedback = read_feedback(forge, pr).map_err(|e| fail(e.into()))?;
        let own = forge.viewer_login().map_err(|e| fail(e.into()))?;
        let batch = self.ctx.transaction(&self.goal).commit_blocking(|draft| {
            let s = draft.snapshot();
            let recorded: Vec<(FeedbackKind, u64)> = s
                .goal
                .delivery()
                .feedback
                .iter()
                .map(|f| (f.item.feedback.kind, f.item.feedback.id))
                .collect();
            let seen = Seen {
                own_login: own.as_deref(),
                since: None,
                recorded: &recorded,
            };
            let new = select(&feedback, &seen);
            if !new.is_empty() {
                let planned = plan_fixes(s, pr, new);
                draft.record(EventBody::ReviewFeedback(planned));
            }
            Ok(())
        })?;
        if !batch.recorded() {
            return Ok(false);
        }
        let snapshot = batch.snapshot;
        let round = snapshot.goal.delivery().review_rounds;
        self.report.recorded = snapshot
            .goal
            .delivery()
            .feedback
            .iter()
            .filter(|f| f.round == round)
            .map(|f| f.item.clone())
            .collect();
        Ok(true)
    }
}

/// Whether the controller stopped in a concluded status (not paused, cancelled or out of budget).
fn concluded(status: GoalStatus) -> bool {
    matches!(
        status,
        GoalStatus::Ready | GoalStatus::NotReady | GoalStatus::BlockedOnHuman
    )
}

fn read_feedback(forge: &dyn Forge, pr: u64) -> Result<PrFeedback, crate::forge::ForgeError> {
    Ok(PrFeedback {
        reviews: forge.reviews(pr)?,
        review_comments: forge.review_comments(pr)?,
        conversation: forge.conversation(pr)?,
    })
}

/// Post the reply to `state`, unless git-omk's reply to it is already on GitHub; its id.
fn post_reply(forge: &dyn Forge, state: &FeedbackState, text: &str) -> Result<u64, DeliveryError> {
    let f = &state.item.feedback;
    if f.kind == FeedbackKind::ReviewComment {
        let existing = forge
            .review_comments(state.pr)?
            .into_iter()
            .find(|c| c.in_reply_to == Some(f.id) && c.body.trim_start().starts_with(REPLY_MARKER));
        return match existing {
            Some(c) => Ok(c.id),
            None => Ok(forge.reply_to_review_comment(state.pr, f.id, text)?),
        };
    }
    let marker = reply_to_marker(f.kind, f.id);
    let existing = forge
        .conversation(state.pr)?
        .into_iter()
        .find(|c| c.body.contains(&marker));
    match existing {
        Some(c) => Ok(c.id),
        None => Ok(forge.create_comment(state.pr, text)?),
    }
}
