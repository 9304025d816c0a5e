//! Review of the integrated result (DESIGN §6): the built-in security scanners, then a reviewer and a
//! security-reviewer agent session, read-only, over the diff, both at once. Each session's answer must
//! be a findings JSON block; an unusable answer gets one repair round, then becomes a gap (missing
//! evidence, which blocks `ready`), never an empty pass.
//!
//! The sessions can be started ahead of the review ([`Warm`]: the controller starts them while the last
//! task runs, in a checkout it moves to the result when the review begins), so the agents' start-up is
//! off the critical path. Returns the review; the caller records it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::attempt::timed;
use super::{Context, OpsError, harness};
use crate::agent::{Launch, Session, SessionConfig, TurnOutcome};
use crate::git::run::git;
use crate::git::worktree;
use crate::model::controller::hosting::{ReviewerSource, reviewer_sources};
use crate::model::harness::finding as harness_finding;
use crate::model::ids::{CommitId, TaskId};
use crate::model::options::{AgentSpec, Role};
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

/// The two reviewer roles, in the order their findings are recorded.
const ROLES: [ReviewRole; 2] = [ReviewRole::Reviewer, ReviewRole::SecurityReviewer];

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
#[derive(Clone)]
pub struct Reviewers {
    /// The goal's agent.
    pub agent: AgentSpec,
    /// Launch details.
    pub launch: Launch,
    /// Prices for session records.
    pub prices: PriceTable,
    /// Longest turn.
    pub timeout: Duration,
}

/// A started reviewer session, or why it could not start.
type Started = Result<Session, String>;

/// The reviewer sessions started ahead of the review, in [`ROLES`] order (`None`: not started ahead).
pub type Ahead = Vec<Option<Started>>;

/// Reviewer sessions started ahead of the review, in a detached checkout of their own.
pub struct Warm {
    /// The checkout the sessions read.
    pub dir: PathBuf,
    ahead: [bool; 2],
    starting: JoinHandle<Ahead>,
}

impl Warm {
    /// Check out `commit` at `dir` and start the sessions of the roles `which` selects (in [`ROLES`]
    /// order) there, in the background (on the current `LocalSet`).
    pub fn start(
        ctx: &Context,
        dir: PathBuf,
        commit: &CommitId,
        reviewers: &Reviewers,
        which: [bool; 2],
    ) -> Result<Warm, OpsError> {
        let repo_dir = ctx
            .store
            .workdir()
            .ok_or_else(|| OpsError::Usage("the repository has no work tree".to_owned()))?;
        worktree::ensure_detached(repo_dir, ctx.store.common_dir(), &dir, &commit.to_string())?;
        let (checkout, reviewers) = (dir.clone(), reviewers.clone());
        let clock = ctx.clock.clone();
        let starting = tokio::task::spawn_local(async move {
            let start = |index: usize| {
                let (role, wanted) = (ROLES[index], which[index]);
                let (clock, checkout, reviewers) = (&clock, &checkout, &reviewers);
                async move {
                    if !wanted {
                        return None;
                    }
                    let started = start_session(checkout, reviewers, role);
                    Some(timed(clock.as_ref(), role.as_str(), "agent-start", started).await)
                }
            };
            let (first, second) = tokio::join!(start(0), start(1));
            vec![first, second]
        });
        Ok(Warm {
            dir,
            ahead: which,
            starting,
        })
    }

    /// The roles (in [`ROLES`] order) whose sessions are started ahead.
    pub fn ahead(&self) -> [bool; 2] {
        self.ahead
    }

    /// Move the checkout to `result` and hand over the sessions; `None` (the sessions ended) when the
    /// checkout cannot be moved.
    pub async fn ready_for(self, result: &str) -> Option<Ahead> {
        let moved = git(&self.dir, &["checkout", "--quiet", "--detach", "--force", result]);
        let sessions = self.starting.await.unwrap_or_default();
        if moved.is_err() {
            shut_down(sessions).await;
            return None;
        }
        Some(sessions)
    }

    /// End the sessions (started or still starting).
    pub async fn shutdown(self) {
        self.starting.abort();
        if let Ok(sessions) = self.starting.await {
            shut_down(sessions).await;
        }
    }
}

async fn shut_down(sessions: Ahead) {
    shut_down_all(sessions.into_iter().flatten().flatten()).await;
}

/// End `sessions` all at once (each shutdown waits for its agent's process to end).
pub async fn shut_down_all(sessions: impl IntoIterator<Item = Session>) {
    let ending: Vec<JoinHandle<()>> = sessions
        .into_iter()
        .map(|session| tokio::task::spawn_local(session.shutdown()))
        .collect();
    for end in ending {
        let _ = end.await;
    }
}

/// A reviewer session of `role` (its agent sees the role as `OMK_ROLE`).
async fn start_session(checkout: &Path, reviewers: &Reviewers, role: ReviewRole) -> Started {
    let config = session_config(checkout, reviewers, role)?;
    Session::start(config)
        .await
        .map_err(|e| format!("the agent could not start: {e}"))
}

/// A reviewer session of `role` opened in the running process of `spare` (a finished task's agent):
/// a new session, read-only on `checkout`, without a second start-up.
async fn renew_session(spare: Session, checkout: &Path, reviewers: &Reviewers, role: ReviewRole) -> Started {
    let config = match session_config(checkout, reviewers, role) {
        Ok(config) => config,
        Err(why) => {
            spare.shutdown().await;
            return Err(why);
        }
    };
    spare
        .renew(config)
        .await
        .map_err(|e| format!("no new session in the task agent's process: {e}"))
}

fn session_config(checkout: &Path, reviewers: &Reviewers, role: ReviewRole) -> Result<SessionConfig, String> {
    let policy = Policy::read_only(checkout).map_err(|e| e.to_string())?;
    let mut config = SessionConfig::new(reviewers.agent.clone(), policy);
    let role = match role {
        ReviewRole::Reviewer => Role::Reviewer,
        ReviewRole::SecurityReviewer => Role::SecurityReviewer,
    };
    config.launch = reviewers.launch.clone().for_role(role, None);
    Ok(config)
}

/// Review `result` against `base`; `checkout` is a clean checkout of `result` the sessions may read.
/// The reviewer sessions are shown the test evidence of `snapshot` (tests by id, the harness check)
/// next to the diff, so a test that disappeared or a changed harness is in front of them. `started`
/// are sessions already started there (in [`ROLES`] order); the correctness reviewer without one opens
/// a new session in the first of the `spares` (finished tasks' agents, `hosting::keeps_spare`), else a
/// role starts its agent now (`hosting::reviewer_sources`). Both sessions review at once; spares not
/// used end meanwhile, all at once.
pub async fn review(
    ctx: &Context,
    snapshot: &Snapshot,
    (base, result): (CommitId, CommitId),
    checkout: &Path,
    reviewers: &Reviewers,
    started: Option<Ahead>,
    spares: Vec<Session>,
) -> Result<ReviewOutcome, OpsError> {
    let mut findings = scanner_findings(ctx, base, result)?;
    findings.extend(
        harness::compare(ctx, base, result)?
            .changes
            .iter()
            .map(harness_finding),
    );
    let goal_text = snapshot.goal.brief_text();
    let subject = Subject {
        goal_text: &goal_text,
        diff: bounded_diff(ctx, &base.to_string(), &result.to_string()),
        evidence: test_lines(&prove(snapshot, Vec::new())),
    };
    let mut started = started.unwrap_or_default().into_iter();
    let ahead = [started.next().flatten(), started.next().flatten()];
    let mut spares = spares.into_iter();
    let spare = spares.next();
    let (sources, used) = reviewer_sources([ahead[0].is_some(), ahead[1].is_some()], spare.is_some());
    let (mut spare, unused): (Option<Session>, Vec<Session>) = if used {
        (spare, spares.collect())
    } else {
        (None, spare.into_iter().chain(spares).collect())
    };
    let [first, second] = ahead;
    let mut pick = |kind: ReviewerSource, ahead: Option<Started>| match (kind, ahead) {
        (ReviewerSource::Ahead, Some(started)) => Source::Started(started),
        (ReviewerSource::Hosted, _) => spare.take().map_or(Source::Cold, Source::Spare),
        _ => Source::Cold,
    };
    let (first, second) = (pick(sources[0], first), pick(sources[1], second));
    let review = |role: ReviewRole, source: Source| {
        let work = session_findings(role, source, &subject, checkout, reviewers);
        timed(ctx.clock.as_ref(), role.as_str(), "agent", work)
    };
    let (first, second, ()) = tokio::join!(
        review(ROLES[0], first),
        review(ROLES[1], second),
        shut_down_all(unused)
    );
    let mut outcome = ReviewOutcome {
        review: Review {
            commit: result,
            findings: Vec::new(),
            gaps: Vec::new(),
            at: ctx.clock.now(),
        },
        usage: TokenUsage::default(),
        cost: Cost::default(),
        attachments: Vec::new(),
    };
    for (role, part) in ROLES.into_iter().zip([first, second]) {
        match part.answer {
            Ok(found) => findings.extend(found),
            Err(gap) => outcome.review.gaps.push(format!("{}: {gap}", role.as_str())),
        }
        outcome.usage += part.usage;
        outcome.cost.usd = outcome.cost.usd.saturating_add(part.cost.usd);
        outcome.cost.unpriced_tokens += part.cost.unpriced_tokens;
        outcome.attachments.extend(part.attachments);
    }
    outcome.review.findings = findings;
    outcome.review.at = ctx.clock.now();
    Ok(outcome)
}

fn scanner_findings(ctx: &Context, base: CommitId, result: CommitId) -> Result<Vec<Finding>, OpsError> {
    let changes = between(&ctx.store, base.object_id(), result.object_id())?;
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

/// What one reviewer session produced: its findings (or why there are none to trust), and what it cost.
struct Part {
    answer: Result<Vec<Finding>, String>,
    usage: TokenUsage,
    cost: Cost,
    attachments: Vec<(String, Vec<u8>)>,
}

/// Where a reviewer session comes from.
enum Source {
    /// Started ahead of the review.
    Started(Started),
    /// A new session in a finished task's agent process.
    Spare(Session),
    /// A new agent process, started now.
    Cold,
}

/// One reviewer session (from `source`), ended afterwards.
async fn session_findings(
    role: ReviewRole,
    source: Source,
    subject: &Subject<'_>,
    checkout: &Path,
    reviewers: &Reviewers,
) -> Part {
    let session = match source {
        Source::Started(started) => started,
        Source::Spare(spare) => {
            let renewed = renew_session(spare, checkout, reviewers, role);
            match renewed.await {
                Ok(session) => {
                    tracing::debug!("the {} session runs in the task agent's process", role.as_str());
                    Ok(session)
                }
                Err(why) => {
                    tracing::debug!("{why}; starting the {} agent", role.as_str());
                    start_session(checkout, reviewers, role).await
                }
            }
        }
        Source::Cold => start_session(checkout, reviewers, role).await,
    };
    let mut session = match session {
        Ok(session) => session,
        Err(why) => {
            return Part {
                answer: Err(why),
                usage: TokenUsage::default(),
                cost: Cost::default(),
                attachments: Vec::new(),
            };
        }
    };
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
    let attachments = match TaskId::parse(role.as_str()) {
        Ok(task) => session.attempt_files(&task, 1, &reviewers.prices),
        Err(_) => Vec::new(),
    };
    let model = session
        .info()
        .model
        .clone()
        .or_else(|| reviewers.launch.model.clone());
    let usage = session.usage();
    let cost = cost(&reviewers.prices, model.as_deref(), &usage);
    session.shutdown().await;
    Part {
        answer,
        usage,
        cost,
        attachments,
    }
}

async fn run_turn(session: &mut Session, text: &str, limit: Duration) -> Result<TurnOutcome, String> {
    match tokio::time::timeout(limit, session.run(text)).await {
        Ok(outcome) => outcome.map_err(|e| format!("the session failed: {e}")),
        Err(_) => Err(format!("no answer within {}s", limit.as_secs())),
    }
}
