//! `goal open-pr`: render the PR; unless dry-run, push the integration branch and the goal ref (never
//! forced), open or update exactly one PR per goal (found by its head branch first), upsert the sticky
//! proof-summary comment, and record the PR in the goal.

use gix::ObjectId;

use super::slices::{SliceTarget, deliver_slices};
use super::{Connector, DeliveryError, facts_for, failed};
use crate::forge::target::{self, guess_html_url};
use crate::forge::{Forge, NewPull, PullRequest, RepoInfo};
use crate::git::push::{self, PushSpec, RefOutcome};
use crate::model::delivery::body::{PrContext, pr_body, pr_title};
use crate::model::delivery::comment::{StickyAction, plan_sticky, sticky_comment};
use crate::model::delivery::facts::{ProofFacts, integration_branch};
use crate::model::delivery::merge::PullState;
use crate::model::delivery::record::{DeliveryStage, MergeRecorded, PrOpened};
use crate::model::delivery::slices::slice_line;
use crate::model::event::EventBody;
use crate::model::ids::{CommitId, TaskId};
use crate::model::options::DeliveryPolicy;
use crate::model::snapshot::Snapshot;
use crate::ops::{Context, OpsError};
use crate::settings;
use crate::store::GoalRef;

/// What `open-pr` was asked.
#[derive(Clone, Debug, Default)]
pub struct OpenPrRequest {
    /// Goal id or prefix (`None`: latest).
    pub goal: Option<String>,
    /// Render only: no push, no network, nothing recorded.
    pub dry_run: bool,
    /// Open as a draft even under `auto-pr`.
    pub draft: bool,
    /// Base branch (default: the goal's base branch if it names one, else the repository's default).
    pub base: Option<String>,
    /// The proof facts; `None` derives them from the snapshot.
    pub facts: Option<ProofFacts>,
    /// Also open or update a PR per integrated task (`--slice-prs`); a goal run with `--slice-prs`, or
    /// one whose slice PRs are recorded, gets them without it.
    pub slice_prs: bool,
}

/// The PR as it now stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrResult {
    /// Number.
    pub number: u64,
    /// Web address.
    pub url: String,
    /// Opened by this run (false: an existing one was found).
    pub created: bool,
    /// Title or body changed by this run.
    pub updated: bool,
    /// What happened to the sticky comment.
    pub comment: StickyAction,
    /// Duplicate sticky comments removed.
    pub removed_duplicates: usize,
    /// Already merged (nothing was changed).
    pub merged: bool,
}

/// What `open-pr` did or would do.
#[derive(Clone, Debug)]
pub struct OpenPrOutcome {
    /// The goal.
    pub goal: GoalRef,
    /// Nothing was pushed, sent or recorded.
    pub dry_run: bool,
    /// The facts rendered.
    pub facts: ProofFacts,
    /// PR title.
    pub title: String,
    /// PR body.
    pub body: String,
    /// Sticky comment text.
    pub comment: String,
    /// Head branch.
    pub head_branch: String,
    /// Its local tip, if it exists.
    pub head_sha: Option<String>,
    /// Base branch (`None` in a dry run when only the forge knows its default branch).
    pub base: Option<String>,
    /// Draft or not.
    pub draft: bool,
    /// Refs pushed and how.
    pub pushed: Vec<(String, RefOutcome)>,
    /// The PR, unless dry-run.
    pub pr: Option<PrResult>,
    /// The goal commit that recorded the delivery, if anything was recorded.
    pub recorded: Option<ObjectId>,
    /// The slice PRs as they now stand (`--slice-prs`).
    pub slices: Vec<PrOpened>,
    /// Slices no PR could be opened for, and why.
    pub skipped_slices: Vec<String>,
    /// The integrator PR's list of its slices.
    pub slice_lines: Vec<String>,
}

/// Run `open-pr`; `connect` reaches the forge (see `deliver::connect`).
pub fn open_pr(
    ctx: &Context,
    req: OpenPrRequest,
    connect: &Connector<'_>,
) -> Result<OpenPrOutcome, OpsError> {
    let goal = ctx.resolve_local(req.goal.as_deref())?;
    let loaded = ctx.load(&goal)?;
    let (mut outcome, head) = prepare(ctx, &goal, &loaded.snapshot, &req)?;
    if req.dry_run {
        render_offline(ctx, &mut outcome);
        return Ok(outcome);
    }
    let Some(head) = head else {
        let error = DeliveryError::NoIntegrationBranch {
            goal: goal.id().to_string(),
            branch: outcome.head_branch.clone(),
        };
        return Err(failed(ctx, &goal, DeliveryStage::Push, error));
    };
    let conn = connect(ctx).map_err(|e| failed(ctx, &goal, DeliveryStage::Connect, e))?;
    // Reading the repository first proves the token works before anything is pushed.
    let repo = conn
        .forge
        .repository()
        .map_err(|e| failed(ctx, &goal, DeliveryStage::Connect, e.into()))?;
    let dir = ctx.store.workdir().unwrap_or(ctx.store.common_dir());
    if wants_slices(&loaded.snapshot, &req) {
        let target = SliceTarget {
            dir,
            remote: &conn.target.remote,
            integration: &outcome.head_branch,
            html_url: &repo.html_url,
            proof_commit: outcome.facts.proof_commit.as_deref(),
            draft: outcome.draft,
        };
        let done = deliver_slices(ctx, &goal, &loaded.snapshot, conn.forge.as_ref(), &target)
            .map_err(|e| failed(ctx, &goal, DeliveryStage::PullRequest, e))?;
        outcome.slices = done.prs;
        outcome.skipped_slices = done.skipped;
    }
    let specs = [
        PushSpec {
            commit: head.to_string(),
            dst: format!("refs/heads/{}", outcome.head_branch),
        },
        PushSpec {
            commit: loaded.tip.to_string(),
            dst: goal.ref_name(),
        },
    ];
    let report = push::push(dir, &conn.target.remote, &specs)
        .map_err(|e| failed(ctx, &goal, DeliveryStage::Push, e.into()))?;
    outcome.pushed = report.refs;
    if !outcome.slices.is_empty() || !outcome.skipped_slices.is_empty() {
        outcome.slice_lines = slice_list(&loaded.snapshot, &outcome.slices, &outcome.skipped_slices);
    }
    let pr = deliver_pr(conn.forge.as_ref(), &repo, &mut outcome)
        .map_err(|e| failed(ctx, &goal, DeliveryStage::PullRequest, e))?;
    outcome.recorded = record_pr(ctx, &goal, &outcome, &pr)?;
    outcome.pr = Some(pr);
    Ok(outcome)
}

/// The facts, head branch and its tip, draft flag and base of a delivery, before any network.
fn prepare(
    ctx: &Context,
    goal: &GoalRef,
    snapshot: &Snapshot,
    req: &OpenPrRequest,
) -> Result<(OpenPrOutcome, Option<ObjectId>), OpsError> {
    let head_branch = snapshot
        .goal
        .delivery
        .branch
        .clone()
        .unwrap_or_else(|| integration_branch(goal.id().as_str()));
    let head = ctx.store.resolve_commit(&format!("refs/heads/{head_branch}"))?;
    let facts = match (&req.facts, head) {
        (None, Some(head)) => facts_for(ctx, goal, snapshot, None)?.with_changed_paths(changed_paths(
            ctx,
            snapshot.goal.base.commit,
            head,
        )),
        _ => facts_for(ctx, goal, snapshot, req.facts.clone())?,
    };
    let outcome = OpenPrOutcome {
        goal: goal.clone(),
        dry_run: req.dry_run,
        title: pr_title(&facts),
        body: String::new(),
        comment: String::new(),
        head_branch,
        head_sha: head.map(|h| h.to_string()),
        base: req.base.clone().or_else(|| local_base_branch(ctx, snapshot)),
        draft: req.draft || snapshot.goal.options.delivery != DeliveryPolicy::AutoPr,
        pushed: Vec::new(),
        pr: None,
        recorded: None,
        slices: Vec::new(),
        skipped_slices: Vec::new(),
        slice_lines: slice_list(snapshot, &[], &[]),
        facts,
    };
    Ok((outcome, head))
}

/// The paths that differ between the goal's base and the delivered head (empty when unreadable).
fn changed_paths(ctx: &Context, base: CommitId, head: ObjectId) -> Vec<String> {
    match ctx.store.diff_trees(base.object_id(), head) {
        Ok(changes) => changes.into_iter().map(|c| c.path).collect(),
        Err(e) => {
            tracing::warn!("cannot list the changed files of the delivery: {e}");
            Vec::new()
        }
    }
}

/// The goal's base if it names a local branch (`main`), so the PR goes back where the work started.
fn local_base_branch(ctx: &Context, snapshot: &Snapshot) -> Option<String> {
    let rev = snapshot.goal.base.rev.trim();
    let rev = rev.strip_prefix("refs/heads/").unwrap_or(rev);
    let is_branch = rev != "HEAD"
        && ctx
            .store
            .repo()
            .try_find_reference(format!("refs/heads/{rev}").as_str())
            .ok()
            .flatten()
            .is_some();
    is_branch.then(|| rev.to_owned())
}

/// Dry run: links guessed from the configuration, no network.
fn render_offline(ctx: &Context, outcome: &mut OpenPrOutcome) {
    let settings = settings::github(ctx.store.repo());
    let target = target::resolve(&settings).ok();
    let html = target.as_ref().map(|t| guess_html_url(&t.api_url, &t.repo));
    let fetch_from = match (&html, &target) {
        (Some(h), _) => format!("{h}.git"),
        (None, Some(t)) => t.remote.clone(),
        (None, None) => "origin".to_owned(),
    };
    render(outcome, html.as_deref(), &fetch_from);
}

fn render(outcome: &mut OpenPrOutcome, html_url: Option<&str>, fetch_from: &str) {
    let goal_ref = outcome.goal.ref_name();
    let ctx = PrContext {
        facts: &outcome.facts,
        goal_ref: &goal_ref,
        html_url,
        fetch_from,
        head: outcome.head_sha.as_deref(),
        slices: &outcome.slice_lines,
    };
    outcome.body = pr_body(&ctx);
    outcome.comment = sticky_comment(&ctx);
}

/// Find or open the one PR of the goal, bring its text up to date, upsert the sticky comment.
fn deliver_pr(
    forge: &dyn Forge,
    repo: &RepoInfo,
    outcome: &mut OpenPrOutcome,
) -> Result<PrResult, DeliveryError> {
    render(outcome, Some(&repo.html_url), &repo.clone_url);
    let base = outcome
        .base
        .clone()
        .unwrap_or_else(|| repo.default_branch.clone());
    outcome.base = Some(base.clone());
    let existing = pick(forge.pulls_by_head(&outcome.head_branch)?);
    let (pull, created, updated) = match existing {
        Some(p) if p.view.state == PullState::Merged => return Ok(merged_result(&p)),
        Some(p) if p.view.state == PullState::Closed => {
            return Err(DeliveryError::PrClosed {
                number: p.view.number,
                url: p.view.url,
            });
        }
        Some(p) if p.title == outcome.title && p.body.trim() == outcome.body.trim() => (p, false, false),
        Some(p) => (
            forge.update_pull(p.view.number, &outcome.title, &outcome.body)?,
            false,
            true,
        ),
        None => {
            let new = NewPull {
                title: &outcome.title,
                body: &outcome.body,
                head: &outcome.head_branch,
                base: &base,
                draft: outcome.draft,
            };
            (forge.create_pull(&new)?, true, false)
        }
    };
    let (comment, removed_duplicates) = upsert_sticky(forge, pull.view.number, &outcome.comment)?;
    Ok(PrResult {
        number: pull.view.number,
        url: pull.view.url,
        created,
        updated,
        comment,
        removed_duplicates,
        merged: false,
    })
}

/// The PR that stands for the goal: the oldest open one, else the newest merged or closed one.
pub(super) fn pick(mut pulls: Vec<PullRequest>) -> Option<PullRequest> {
    if let Some(i) = pulls.iter().position(|p| p.view.state == PullState::Open) {
        return Some(pulls.swap_remove(i));
    }
    pulls
        .iter()
        .rposition(|p| p.view.state == PullState::Merged)
        .or_else(|| pulls.len().checked_sub(1))
        .map(|i| pulls.swap_remove(i))
}

fn merged_result(p: &PullRequest) -> PrResult {
    PrResult {
        number: p.view.number,
        url: p.view.url.clone(),
        created: false,
        updated: false,
        comment: StickyAction::Create,
        removed_duplicates: 0,
        merged: true,
    }
}

fn upsert_sticky(forge: &dyn Forge, number: u64, text: &str) -> Result<(StickyAction, usize), DeliveryError> {
    let plan = plan_sticky(&forge.comments(number)?, text);
    match plan.action {
        StickyAction::Create => {
            forge.create_comment(number, text)?;
        }
        StickyAction::Update { id } => forge.update_comment(id, text)?,
        StickyAction::Unchanged { .. } => {}
    }
    for id in &plan.duplicates {
        forge.delete_comment(*id)?;
    }
    Ok((plan.action, plan.duplicates.len()))
}

/// Record the PR in the goal when something changed (new PR, other head or base, a merge found).
fn record_pr(
    ctx: &Context,
    goal: &GoalRef,
    outcome: &OpenPrOutcome,
    pr: &PrResult,
) -> Result<Option<ObjectId>, OpsError> {
    let done = ctx.transaction(goal).commit_blocking(|draft| {
        let slices = slice_events(draft.snapshot(), &outcome.slices);
        draft.record_all(slices);
        draft.record_all(pr_event(draft.snapshot(), outcome, pr));
        Ok(())
    })?;
    Ok(done.recorded().then_some(done.tip))
}

/// Whether this delivery opens slice PRs: asked now, asked at `goal run`, or already done before.
fn wants_slices(snapshot: &Snapshot, req: &OpenPrRequest) -> bool {
    req.slice_prs || snapshot.goal.options.slice_prs || !snapshot.goal.delivery.slices.is_empty()
}

/// The slice PRs that are new or changed against what `snapshot` records.
fn slice_events(snapshot: &Snapshot, slices: &[PrOpened]) -> Vec<EventBody> {
    slices
        .iter()
        .filter(|pr| {
            let known = snapshot
                .goal
                .delivery
                .slices
                .iter()
                .find(|s| Some(&s.task) == pr.task.as_ref());
            !known.is_some_and(|s| {
                s.number == pr.number
                    && s.url == pr.url
                    && s.head_sha == pr.head_sha
                    && s.merged == pr.merged
                    && (pr.proof_commit.is_none() || s.proof_commit == pr.proof_commit)
            })
        })
        .map(|pr| EventBody::PrOpened(pr.clone()))
        .collect()
}

/// The integrator PR's lines for its slices: those delivered now, else those recorded.
fn slice_list(snapshot: &Snapshot, delivered: &[PrOpened], skipped: &[String]) -> Vec<String> {
    let title = |task: &TaskId| {
        snapshot
            .tasks
            .get(task)
            .map(|t| t.title.clone())
            .unwrap_or_default()
    };
    let mut lines: Vec<String> = if delivered.is_empty() {
        snapshot
            .goal
            .delivery
            .slices
            .iter()
            .map(|s| slice_line(s.number, &s.task, &title(&s.task), s.merged))
            .collect()
    } else {
        delivered
            .iter()
            .filter_map(|p| {
                let task = p.task.as_ref()?;
                Some(slice_line(p.number, task, &title(task), p.merged))
            })
            .collect()
    };
    lines.extend(skipped.iter().map(|s| format!("no slice PR: {s}")));
    lines
}

/// The event recording `pr` on `snapshot`, unless the goal already says the same.
fn pr_event(snapshot: &Snapshot, outcome: &OpenPrOutcome, pr: &PrResult) -> Option<EventBody> {
    let head_sha = outcome.head_sha.clone().unwrap_or_default();
    let base = outcome.base.clone().unwrap_or_default();
    let d = &snapshot.goal.delivery;
    if pr.merged {
        return d.merged.is_none().then(|| {
            EventBody::MergeRecorded(MergeRecorded {
                number: pr.number,
                head_sha,
                merge_commit: None,
                by: "external".to_owned(),
                policy: Some(snapshot.goal.options.merge),
                checks: Vec::new(),
            })
        });
    }
    let same =
        d.pr.as_ref()
            .is_some_and(|p| p.number == pr.number && p.url == pr.url)
            && d.pr_head.as_deref() == Some(head_sha.as_str())
            && d.pr_base.as_deref() == Some(base.as_str())
            && (outcome.facts.proof_commit.is_none() || d.pr_proof_commit == outcome.facts.proof_commit)
            && d.problem.is_none();
    (!same || pr.created).then(|| {
        EventBody::PrOpened(PrOpened {
            number: pr.number,
            url: pr.url.clone(),
            head: outcome.head_branch.clone(),
            head_sha,
            base,
            draft: outcome.draft,
            created: pr.created,
            proof_commit: outcome.facts.proof_commit.clone(),
            task: None,
            merged: false,
        })
    })
}
