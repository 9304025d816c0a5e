//! Planning by an agent (DESIGN §3.2): a read-only session over a clean checkout of the base commit gets
//! the planning prompt (goal, intake, the heuristic plan's relevant files, the repository's files, the
//! JSON shape expected); its answer is validated by `model::plan_answer`; an unusable answer gets one
//! repair round with the problems; still unusable, or a failed session, keeps the heuristic plan, with
//! the reason. The session's turns stop at the planner's token budget (`--planner-token-budget`, and
//! what is left of the goal's).
//!
//! Returns the outcome; the driver records it. Never writes the goal.

use std::path::Path;
use std::time::Duration;

use super::attempt::timed;
use super::{Context, OpsError};
use crate::agent::{AgentEvent, Launch, Session, SessionConfig, StopReason, TurnOutcome};
use crate::model::decision::DecisionDraft;
use crate::model::event::{PlannerOutcome, PlannerReport};
use crate::model::ids::TaskId;
use crate::model::intake::intake_answered;
use crate::model::options::{AgentSpec, Role};
use crate::model::plan::PlannerInfo;
use crate::model::plan_answer::{AgentPlan, PlanContext, parse_plan, removal_decisions};
use crate::model::planner::task_kind;
use crate::model::policy::Policy;
use crate::model::prompt::{self, PlanningBrief};
use crate::model::snapshot::Snapshot;
use crate::model::usage::{Cost, PriceTable, TokenUsage, cost};
use crate::model::writeset::PathPattern;

/// Most repository paths listed in the planning prompt.
const MAX_LISTED_FILES: usize = 300;

/// How to run the planner session.
pub struct Planner<'a> {
    /// The goal's agent.
    pub agent: &'a AgentSpec,
    /// Launch details.
    pub launch: &'a Launch,
    /// Prices for the session record.
    pub prices: &'a PriceTable,
    /// Longest turn.
    pub timeout: Duration,
    /// Most tokens the session may spend (`None`: no limit).
    pub tokens: Option<u64>,
}

/// What planning produced, for the driver to record.
pub struct Planning {
    /// The outcome (adopted plan or kept heuristic).
    pub report: PlannerReport,
    /// Why, for `decisions.jsonl`.
    pub decisions: Vec<DecisionDraft>,
    /// Tokens spent.
    pub usage: TokenUsage,
    /// Their cost.
    pub cost: Cost,
    /// Session record and transcript (`agents/planner/1/…`).
    pub attachments: Vec<(String, Vec<u8>)>,
}

/// Ask the planner agent for a plan of the goal of `snapshot`; `checkout` is a clean checkout of the base.
pub async fn plan(
    ctx: &Context,
    snapshot: &Snapshot,
    checkout: &Path,
    planner: &Planner<'_>,
) -> Result<Planning, OpsError> {
    let heuristic = snapshot
        .plan
        .as_ref()
        .ok_or_else(|| OpsError::Usage(format!("goal {} has no plan yet", snapshot.goal.id)))?;
    let base = snapshot.goal.base.commit.object_id();
    let files = ctx.store.files_at(base)?;
    let found = intake_answered(&snapshot.goal.text, &snapshot.goal.answers, &files);
    let goal_text = snapshot.goal.brief_text();
    let text = prompt::planning(&PlanningBrief {
        goal_text: &goal_text,
        kind: found.kind,
        parts: found
            .parts
            .iter()
            .map(|p| format!("\"{}\" ({})", p.text, p.kind))
            .collect(),
        relevant: heuristic
            .relevant_files
            .iter()
            .map(|f| format!("{} (matched: {})", f.path, f.matched.join(", ")))
            .collect(),
        files: &files[..files.len().min(MAX_LISTED_FILES)],
        file_count: files.len(),
    });
    let mut out = Planning {
        report: PlannerReport {
            engine: planner.agent.to_string(),
            session_id: None,
            tokens: 0,
            outcome: PlannerOutcome::KeptHeuristic {
                reason: String::new(),
            },
        },
        decisions: Vec::new(),
        usage: TokenUsage::default(),
        cost: Cost::default(),
        attachments: Vec::new(),
    };
    let context = |info: PlannerInfo| PlanContext {
        heuristic,
        files: &files,
        default_kind: task_kind(found.kind),
        planner: info,
    };
    let session = session_plan(&text, checkout, planner, &mut out, context);
    let answer = timed(ctx.clock.as_ref(), "planner", "agent", session).await;
    out.report.tokens = out.usage.total();
    match answer {
        Ok((plan, repaired)) => {
            out.decisions.push(adopted_decision(&plan, repaired));
            out.decisions.extend(removal_decisions(&plan.tasks));
            out.report.outcome = PlannerOutcome::Adopted {
                plan: plan.artifacts,
                tasks: plan.tasks,
            };
        }
        Err(reason) => {
            out.decisions.push(DecisionDraft::new(
                "planning",
                "heuristic planner (fallback)",
                format!("the planner agent's plan could not be used: {reason}"),
            ));
            out.report.outcome = PlannerOutcome::KeptHeuristic { reason };
        }
    }
    Ok(out)
}

fn adopted_decision(plan: &AgentPlan, repaired: bool) -> DecisionDraft {
    let why = if repaired {
        "its plan passed validation after one repair round"
    } else {
        "its plan passed validation (ids, dependencies, no cycles, write sets inside the repository, overlapping write sets ordered)"
    };
    let tasks = plan.tasks.tasks.iter().map(|t| {
        let writes: Vec<&str> = t.write_set.iter().map(PathPattern::as_str).collect();
        format!("task {}: {} (writes {})", t.id, t.title, writes.join(", "))
    });
    let ignored = plan
        .unknown_files
        .iter()
        .map(|f| format!("listed file {f} is not in the repository: ignored"));
    DecisionDraft::new(
        "planning",
        format!("plan by the planner agent ({} task(s))", plan.tasks.tasks.len()),
        why,
    )
    .with_evidence(tasks.chain(ignored))
}

/// Run the session: the plan and whether it needed the repair round, or why there is none.
async fn session_plan<'c>(
    text: &str,
    checkout: &Path,
    planner: &Planner<'_>,
    out: &mut Planning,
    context: impl Fn(PlannerInfo) -> PlanContext<'c>,
) -> Result<(AgentPlan, bool), String> {
    let policy = Policy::read_only(checkout).map_err(|e| e.to_string())?;
    let mut config = SessionConfig::new(planner.agent.clone(), policy);
    config.launch = planner.launch.clone().for_role(Role::Planner, None);
    let mut session = Session::start(config)
        .await
        .map_err(|e| format!("the agent could not start: {e}"))?;
    let info = session.info();
    out.report.engine = info.engine.as_str().to_owned();
    out.report.session_id = info.session_id.clone();
    let ctx = context(PlannerInfo::Agent {
        engine: info.engine.as_str().to_owned(),
        session_id: info.session_id.clone().unwrap_or_default(),
    });
    let mut left = planner.tokens;
    let first = run_turn(&mut session, text, planner.timeout, &mut left).await;
    let answer = match first.map(|t| parse_plan(&t.text, &ctx)) {
        Ok(Ok(plan)) => Ok((plan, false)),
        Ok(Err(problems)) => run_turn(
            &mut session,
            &prompt::planning_repair(&problems.0),
            planner.timeout,
            &mut left,
        )
        .await
        .and_then(|t| {
            parse_plan(&t.text, &ctx)
                .map(|p| (p, true))
                .map_err(|e| format!("still invalid after a repair round: {e}"))
        }),
        Err(e) => Err(e),
    };
    finish_session(session, planner, out).await;
    answer
}

async fn finish_session(mut session: Session, planner: &Planner<'_>, out: &mut Planning) {
    if let Ok(task) = TaskId::parse("planner") {
        out.attachments
            .extend(session.attempt_files(&task, 1, planner.prices));
    }
    let model = session
        .info()
        .model
        .clone()
        .or_else(|| planner.launch.model.clone());
    out.usage = session.usage();
    out.cost = cost(planner.prices, model.as_deref(), &out.usage);
    session.shutdown().await;
}

/// One turn, cancelled on timeout or when it crosses the token limit.
async fn run_turn(
    session: &mut Session,
    text: &str,
    limit: Duration,
    tokens: &mut Option<u64>,
) -> Result<TurnOutcome, String> {
    let mut turn = session
        .prompt(text)
        .await
        .map_err(|e| format!("the session failed: {e}"))?;
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let mut over = false;
    loop {
        tokio::select! {
            event = turn.next_event() => match event.map_err(|e| format!("the session failed: {e}"))? {
                None => break,
                Some(AgentEvent::Usage { usage }) => {
                    if let Some(left) = tokens.as_mut() {
                        *left = left.saturating_sub(usage.total());
                        if *left == 0 && !over {
                            over = true;
                            turn.cancel();
                        }
                    }
                }
                Some(_) => {}
            },
            () = &mut deadline => {
                turn.cancel();
                let _ = turn.finish().await;
                return Err(format!("no answer within {}s", limit.as_secs()));
            }
        }
    }
    let outcome = turn
        .finish()
        .await
        .map_err(|e| format!("the session failed: {e}"))?;
    if over {
        return Err("the planner's token budget ran out".to_owned());
    }
    match &outcome.stop {
        StopReason::Failed { message } => Err(format!("the agent's turn failed: {message}")),
        _ => Ok(outcome),
    }
}
