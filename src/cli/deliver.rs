//! `goal open-pr` and `goal merge`: arguments → one `ops::deliver` call → render; and the exit codes
//! of delivery failures.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::args::{MergeArgs, OpenPrArgs, PrFormat};
use super::error::{CliError, EXIT_FAILED, EXIT_USAGE};
use super::json::{
    self, AddressedView, BaseRequirementsView, CheckStateLineView, GoalStatusView, Location, MergeGateView,
    MergePolicyView, ProofFactsView, PullReadView, ReplyView,
};
use super::progress::Progress;
use super::render::{emit, note};
use crate::git::push::RefOutcome;
use crate::model::delivery::comment::StickyAction;
use crate::model::delivery::merge::MergeDecision;
use crate::model::event::Event;
use crate::model::snapshot::Snapshot;
use crate::model::status::GoalStatus;
use crate::ops::Context;
use crate::ops::deliver::{
    self, AddressReport, AddressRequest, DeliveryError, DeliveryErrorKind, MergeReport, MergeRequest,
    OpenPrOutcome, OpenPrRequest,
};

/// Exit code of a delivery failure: setup problems are usage errors (2), what needs a human is
/// `blocked_on_human` (3), remote and forge failures are infrastructure failures (6).
pub fn delivery_exit_code(error: &DeliveryError) -> i32 {
    match error.kind() {
        DeliveryErrorKind::Setup => EXIT_USAGE,
        DeliveryErrorKind::NeedsHuman => GoalStatus::BlockedOnHuman.exit_code(),
        DeliveryErrorKind::Remote => EXIT_FAILED,
    }
}

/// `goal open-pr`.
pub fn open_pr(dir: &Path, args: OpenPrArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let format = args.format();
    let request = OpenPrRequest {
        goal: args.goal,
        dry_run: args.dry_run,
        draft: args.draft,
        base: args.base,
        facts: None,
        slice_prs: args.slice_prs,
    };
    let outcome = deliver::open_pr(&ctx, request, &deliver::connect)?;
    let out = match format {
        PrFormat::Json => json::document(&OpenPrView::of(&outcome)),
        PrFormat::Markdown => open_pr_markdown(&outcome),
    };
    emit(&out)?;
    if let Some(pr) = outcome.pr.as_ref().filter(|p| !p.merged) {
        let verb = if pr.created { "opened" } else { "updated" };
        note(&format!("git omk: {verb} PR #{}: {}\n", pr.number, pr.url));
    }
    Ok(0)
}

/// `goal merge`.
pub fn merge(dir: &Path, args: MergeArgs) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let request = MergeRequest {
        goal: args.goal,
        facts: None,
    };
    let report = deliver::merge(&ctx, request, &deliver::connect)?;
    let out = if args.json {
        json::document(&MergeView::of(&report))
    } else {
        merge_text(&report)
    };
    emit(&out)?;
    Ok(merge_exit_code(&report.decision))
}

/// 0 merged (or nothing to do), 1 refused (not ready to merge), 3 a human must merge.
pub fn merge_exit_code(decision: &MergeDecision) -> i32 {
    match decision {
        MergeDecision::Disabled | MergeDecision::AlreadyMerged { .. } | MergeDecision::Merge { .. } => 0,
        MergeDecision::Refuse { .. } => GoalStatus::NotReady.exit_code(),
        MergeDecision::Manual { .. } => GoalStatus::BlockedOnHuman.exit_code(),
    }
}

fn open_pr_markdown(o: &OpenPrOutcome) -> String {
    let mut out = String::new();
    if o.dry_run {
        let base = o.base.as_deref().unwrap_or("(the repository's default branch)");
        let draft = if o.draft { "draft " } else { "" };
        let _ = writeln!(
            out,
            "<!-- dry run: nothing pushed, sent or recorded; {draft}PR {} → {base} -->\n# {}\n\n{}",
            o.head_branch, o.title, o.body
        );
        let _ = writeln!(out, "<!-- sticky comment -->\n{}", o.comment);
        return out;
    }
    for (dst, outcome) in &o.pushed {
        let _ = writeln!(out, "pushed {dst}: {}", ref_outcome(outcome));
    }
    if let Some(pr) = &o.pr {
        if pr.merged {
            let _ = writeln!(out, "PR #{} is already merged: {}", pr.number, pr.url);
            return out;
        }
        let what = match (pr.created, pr.updated) {
            (true, _) => "opened",
            (false, true) => "updated",
            (false, false) => "unchanged",
        };
        let draft = if o.draft && pr.created { " (draft)" } else { "" };
        let _ = writeln!(out, "PR #{} {what}{draft}: {}", pr.number, pr.url);
        let _ = writeln!(out, "proof summary comment: {}", sticky(&pr.comment));
    }
    if let Some(commit) = o.recorded {
        let _ = writeln!(out, "recorded in goal {} ({})", o.goal, commit);
    }
    out
}

fn ref_outcome(o: &RefOutcome) -> &'static str {
    match o {
        RefOutcome::Created => "created",
        RefOutcome::Updated => "fast-forwarded",
        RefOutcome::UpToDate => "up to date",
    }
}

fn sticky(a: &StickyAction) -> &'static str {
    match a {
        StickyAction::Create => "posted",
        StickyAction::Update { .. } => "updated",
        StickyAction::Unchanged { .. } => "unchanged",
    }
}

pub(super) fn merge_text(r: &MergeReport) -> String {
    let mut out = String::new();
    match &r.decision {
        MergeDecision::Disabled => {
            let _ = writeln!(
                out,
                "merge policy of goal {} is `disabled`: nothing to do",
                r.goal
            );
        }
        MergeDecision::Manual { command } => {
            let _ = writeln!(
                out,
                "merge policy of goal {} is `manual`: the goal is blocked on a human, who merges with:\n\n    {command}",
                r.goal
            );
        }
        MergeDecision::AlreadyMerged { merge_commit } => {
            let verb = if r.merged_now {
                "merged"
            } else {
                "was already merged"
            };
            let number = r.pull.as_ref().map(|p| p.number).unwrap_or_default();
            let commit = merge_commit.as_deref().unwrap_or("unknown merge commit");
            let _ = writeln!(out, "PR #{number} {verb} ({commit})");
        }
        MergeDecision::Merge { sha } => {
            let _ = writeln!(out, "merge allowed at {sha}");
        }
        MergeDecision::Refuse { missing } => {
            let _ = writeln!(out, "not merging goal {}; missing:", r.goal);
            for m in missing {
                let _ = writeln!(out, "  - {}", m.describe());
            }
        }
    }
    if let Some(req) = &r.requirements {
        for unknown in &req.unknown {
            let _ = writeln!(out, "note: could not read {unknown}");
        }
    }
    out
}

/// `open-pr -f json`.
#[derive(Serialize)]
struct OpenPrView<'a> {
    #[serde(flatten)]
    location: Location,
    dry_run: bool,
    title: &'a str,
    body: &'a str,
    comment: &'a str,
    head: HeadView<'a>,
    base: Option<&'a str>,
    draft: bool,
    pushed: Vec<PushedView<'a>>,
    pr: Option<PrView<'a>>,
    recorded: Option<String>,
    facts: ProofFactsView<'a>,
}

#[derive(Serialize)]
struct HeadView<'a> {
    branch: &'a str,
    sha: Option<&'a str>,
}

#[derive(Serialize)]
struct PushedView<'a> {
    #[serde(rename = "ref")]
    ref_name: &'a str,
    outcome: &'static str,
}

#[derive(Serialize)]
struct PrView<'a> {
    number: u64,
    url: &'a str,
    created: bool,
    updated: bool,
    merged: bool,
    comment: &'static str,
    removed_duplicate_comments: usize,
}

impl<'a> OpenPrView<'a> {
    fn of(o: &'a OpenPrOutcome) -> OpenPrView<'a> {
        OpenPrView {
            location: Location::of(&o.goal),
            dry_run: o.dry_run,
            title: &o.title,
            body: &o.body,
            comment: &o.comment,
            head: HeadView {
                branch: &o.head_branch,
                sha: o.head_sha.as_deref(),
            },
            base: o.base.as_deref(),
            draft: o.draft,
            pushed: o
                .pushed
                .iter()
                .map(|(r, outcome)| PushedView {
                    ref_name: r,
                    outcome: ref_outcome(outcome),
                })
                .collect(),
            pr: o.pr.as_ref().map(|p| PrView {
                number: p.number,
                url: &p.url,
                created: p.created,
                updated: p.updated,
                merged: p.merged,
                comment: sticky(&p.comment),
                removed_duplicate_comments: p.removed_duplicates,
            }),
            recorded: o.recorded.map(|c| c.to_string()),
            facts: ProofFactsView::of(&o.facts),
        }
    }
}

/// `merge --json`.
#[derive(Serialize)]
struct MergeView<'a> {
    #[serde(flatten)]
    location: Location,
    policy: MergePolicyView,
    merged_now: bool,
    #[serde(flatten)]
    decision: MergeGateView<'a>,
    pull: Option<PullReadView<'a>>,
    checks: Vec<CheckStateLineView<'a>>,
    requirements: Option<BaseRequirementsView<'a>>,
    recorded: Option<String>,
}

impl<'a> MergeView<'a> {
    fn of(r: &'a MergeReport) -> MergeView<'a> {
        MergeView {
            location: Location::of(&r.goal),
            policy: MergePolicyView::of(r.policy),
            merged_now: r.merged_now,
            decision: MergeGateView::of(&r.decision),
            pull: r.pull.as_ref().map(PullReadView::of),
            checks: r.checks.iter().map(CheckStateLineView::of).collect(),
            requirements: r.requirements.as_ref().map(BaseRequirementsView::of),
            recorded: r.recorded.map(|c| c.to_string()),
        }
    }
}

/// `goal address-reviews`: progress on stderr while fixes run, then what was addressed; the goal's
/// status is the exit code.
pub fn address_reviews(dir: &Path, args: MergeArgs, verbose: bool) -> Result<i32, CliError> {
    let ctx = Context::open(dir)?;
    let mut progress = Progress::new(verbose);
    let mut observe = |s: &Snapshot, e: &[Event]| progress.observe(s, e);
    let request = AddressRequest { goal: args.goal };
    let outcome = deliver::address_reviews(ctx, request, &deliver::connect, &mut observe);
    progress.finish();
    let report = outcome?;
    let out = if args.json {
        json::document(&AddressView::of(&report))
    } else {
        address_text(&report)
    };
    emit(&out)?;
    Ok(report.status.exit_code())
}

fn address_text(r: &AddressReport) -> String {
    if r.nothing_new() {
        return format!(
            "PR #{}: nothing new to address (goal {} is {})\n",
            r.pr,
            r.goal.id(),
            r.status.as_str()
        );
    }
    let mut out = format!("PR #{}: {} new comment(s)\n", r.pr, r.recorded.len());
    for a in &r.recorded {
        let f = &a.feedback;
        let place = f.path.as_deref().map(|p| format!(" on {p}")).unwrap_or_default();
        let what = match (&a.task, &a.note) {
            (Some(t), _) => format!("task {t}"),
            (None, Some(note)) => format!("not addressed: {note}"),
            (None, None) => "not addressed".to_owned(),
        };
        let _ = writeln!(out, "  {}{place}: {what}", f.source);
    }
    if r.delivered {
        out.push_str("pushed the new head and updated the PR\n");
    }
    let _ = writeln!(
        out,
        "replied to {} comment(s); goal {} is {}",
        r.replies.len(),
        r.goal.id(),
        r.status.as_str()
    );
    out
}

/// `address-reviews --json`.
#[derive(Serialize)]
struct AddressView<'a> {
    #[serde(flatten)]
    location: Location,
    pr: u64,
    status: GoalStatusView,
    recorded: Vec<AddressedView<'a>>,
    drove: bool,
    delivered: bool,
    replies: Vec<ReplyView<'a>>,
}

impl<'a> AddressView<'a> {
    fn of(r: &'a AddressReport) -> AddressView<'a> {
        AddressView {
            location: Location::of(&r.goal),
            pr: r.pr,
            status: GoalStatusView::of(r.status),
            recorded: r.recorded.iter().map(AddressedView::of).collect(),
            drove: r.drove,
            delivered: r.delivered,
            replies: r.replies.iter().map(ReplyView::of).collect(),
        }
    }
}
