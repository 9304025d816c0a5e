//! Review of the integrated result (DESIGN §6): the built-in security scanners, then a reviewer and a
//! security-reviewer agent session, read-only, over the diff. Each session's answer must be a findings
//! JSON block; an unusable answer gets one repair round, then becomes a gap (missing evidence, which
//! blocks `ready`), never an empty pass.
//!
//! Returns the review; the driver records it.

use std::path::Path;
use std::time::Duration;

use gix::ObjectId;

use super::attempt::timed;
use super::{Context, OpsError, harness};
use crate::agent::{Launch, Session, SessionConfig, TurnOutcome};
use crate::git::run::git;
use crate::model::harness::finding as harness_finding;
use crate::model::ids::TaskId;
use crate::model::options::AgentSpec;
use crate::model::policy::Policy;
use crate::model::prompt::{self, ReviewRole};
use crate::model::proof::{prove, test_lines};
use crate::model::review::{Finding, Review, parse_findings};
use crate::model::snapshot::Snapshot;
use crate::model::usage::{Cost, PriceTable, TokenUsage, cost};
use crate::review::changes::between;
use crate::review::scanners::{ScanOptions, scan};

/// Most bytes of the diff shown to a reviewer.
const MAX_DIFF: usize = 96 * 1024;

/// What a review produced besides the review itself.
pub struct ReviewOutcome {
    /// The review.
    pub review: Review,
    /// Tokens the reviewer sessions spent.
    pub usage: TokenUsage,
    /// Their cost.
    pub cost: Cost,
    /// Session records and transcripts.
    pub attachments: Vec<(String, Vec<u8>)>,
}

/// How to run reviewer sessions.
pub struct Reviewers<'a> {
    /// The goal's agent.
    pub agent: &'a AgentSpec,
    /// Launch details.
    pub launch: &'a Launch,
    /// Prices for session records.
    pub prices: &'a PriceTable,
    /// Longest turn.
    pub timeout: Duration,
}

/// Review `result` against `base`; `checkout` is a clean checkout of `result` the sessions may read.
/// The reviewer sessions are shown the test evidence of `snapshot` (tests by id, the harness check)
/// next to the diff, so a test that disappeared or a changed harness is in front of them.
pub async fn review(
    ctx: &Context,
    snapshot: &Snapshot,
    base: &str,
    result: &str,
    checkout: &Path,
    reviewers: &Reviewers<'_>,
) -> Result<ReviewOutcome, OpsError> {
    let mut findings = scanner_findings(ctx, base, result)?;
    findings.extend(
        harness::compare(ctx, base, result)?
            .changes
            .iter()
            .map(harness_finding),
    );
    let subject = Subject {
        goal_text: &snapshot.goal.text,
        diff: bounded_diff(ctx, base, result),
        evidence: test_lines(&prove(snapshot, Vec::new())),
    };
    let mut outcome = ReviewOutcome {
        review: Review {
            commit: result.to_owned(),
            findings: Vec::new(),
            gaps: Vec::new(),
            at: ctx.clock.now(),
        },
        usage: TokenUsage::default(),
        cost: Cost::default(),
        attachments: Vec::new(),
    };
    for role in [ReviewRole::Reviewer, ReviewRole::SecurityReviewer] {
        let session = session_findings(role, &subject, checkout, reviewers, &mut outcome);
        match timed(ctx.clock.as_ref(), role.as_str(), "agent", session).await {
            Ok(found) => findings.extend(found),
            Err(gap) => outcome.review.gaps.push(format!("{}: {gap}", role.as_str())),
        }
    }
    outcome.review.findings = findings;
    outcome.review.at = ctx.clock.now();
    Ok(outcome)
}

fn scanner_findings(ctx: &Context, base: &str, result: &str) -> Result<Vec<Finding>, OpsError> {
    let oid = |c: &str| ObjectId::from_hex(c.as_bytes()).map_err(|e| OpsError::Infrastructure(e.to_string()));
    let changes = between(&ctx.store, oid(base)?, oid(result)?)?;
    Ok(scan(&changes, &ScanOptions::default())
        .into_iter()
        .map(|f| Finding {
            source: format!(
                "scanner:{}",
                serde_json::to_value(f.scanner)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
            severity: f.severity,
            file: f.file,
            line: f.line,
            message: f.message,
        })
        .collect())
}

fn bounded_diff(ctx: &Context, base: &str, result: &str) -> String {
    let Some(repo) = ctx.store.workdir() else {
        return String::new();
    };
    let stat = git(repo, &["diff", "--stat", base, result]).unwrap_or_default();
    let mut diff = git(
        repo,
        &[
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            base,
            result,
        ],
    )
    .unwrap_or_default();
    if diff.len() > MAX_DIFF {
        let mut end = MAX_DIFF;
        while !diff.is_char_boundary(end) {
            end -= 1;
        }
        diff.truncate(end);
        diff.push_str("\n[… the diff continues; read the files in the work directory]\n");
    }
    format!("{stat}\n\n{diff}")
}

/// What the reviewer sessions are asked about.
struct Subject<'a> {
    goal_text: &'a str,
    diff: String,
    evidence: Vec<String>,
}

/// One reviewer session: its findings, or why there are none to trust.
async fn session_findings(
    role: ReviewRole,
    subject: &Subject<'_>,
    checkout: &Path,
    reviewers: &Reviewers<'_>,
    outcome: &mut ReviewOutcome,
) -> Result<Vec<Finding>, String> {
    let policy = Policy::read_only(checkout).map_err(|e| e.to_string())?;
    let mut config = SessionConfig::new(reviewers.agent.clone(), policy);
    config.launch = reviewers.launch.clone();
    let mut session = Session::start(config)
        .await
        .map_err(|e| format!("the agent could not start: {e}"))?;
    let first = run_turn(
        &mut session,
        &prompt::review(role, subject.goal_text, &subject.diff, &subject.evidence),
        reviewers.timeout,
    )
    .await;
    let answer = match first.map(|t| parse_findings(&t.text, role.as_str())) {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(problem)) => run_turn(
            &mut session,
            &prompt::review_repair(&problem.0),
            reviewers.timeout,
        )
        .await
        .and_then(|t| {
            parse_findings(&t.text, role.as_str())
                .map_err(|e| format!("no usable findings after a repair round: {e}"))
        }),
        Err(e) => Err(e),
    };
    let task = TaskId::parse(role.as_str()).map_err(|e| e.to_string())?;
    outcome
        .attachments
        .extend(session.attempt_files(&task, 1, reviewers.prices));
    let model = session
        .info()
        .model
        .clone()
        .or_else(|| reviewers.launch.model.clone());
    let used = session.usage();
    let priced = cost(reviewers.prices, model.as_deref(), &used);
    outcome.usage += used;
    outcome.cost.usd = outcome.cost.usd.saturating_add(priced.usd);
    outcome.cost.unpriced_tokens += priced.unpriced_tokens;
    session.shutdown().await;
    answer
}

async fn run_turn(session: &mut Session, text: &str, limit: Duration) -> Result<TurnOutcome, String> {
    match tokio::time::timeout(limit, session.run(text)).await {
        Ok(outcome) => outcome.map_err(|e| format!("the session failed: {e}")),
        Err(_) => Err(format!("no answer within {}s", limit.as_secs())),
    }
}
