//! `goal open-pr` and `goal merge`: deliver a goal as one GitHub pull request that links to its proof,
//! and merge it when the merge policy and the evidence allow (DESIGN §9).
//!
//! Decide with `model::delivery`, act through `git::push` and the `Forge`, record through the goal
//! transaction.
//! Every failure after the goal is resolved is recorded as a `delivery_failed` event (once per distinct
//! problem) and returned as an error; nothing is lost and re-running continues. The proof facts are an
//! explicit input: until the proof is wired in, they are derived from the snapshot with the gaps named.

mod address;
mod merge;
mod open_pr;
mod slices;

use gix::ObjectId;

use super::{Context, OpsError};
use crate::forge::target::{self, ForgeTarget, TargetError};
use crate::forge::token::{self, NoToken, Token};
use crate::forge::{Forge, ForgeError, GitHub};
use crate::git::push::PushError;
use crate::model::delivery::after_run::after_run;
use crate::model::delivery::facts::ProofFacts;
use crate::model::delivery::record::{DeliveryFailed, DeliveryStage};
use crate::model::event::EventBody;
use crate::model::proof::readiness;
use crate::model::snapshot::Snapshot;
use crate::settings;
use crate::store::GoalRef;

pub use address::{AddressReport, AddressRequest, address_reviews};
pub use merge::{MergeReport, MergeRequest, merge};
pub use open_pr::{OpenPrOutcome, OpenPrRequest, PrResult, open_pr};

/// What a run delivered per its policies.
#[derive(Debug, Default)]
pub struct PolicyDelivery {
    /// The PR opened or updated.
    pub pr: Option<OpenPrOutcome>,
    /// The merge step's report.
    pub merge: Option<MergeReport>,
}

/// Deliver a concluded goal as its `--policy` and `--merge-policy` ask (see
/// `model::delivery::after_run`): nothing under `local`.
pub fn deliver_per_policy(
    ctx: &Context,
    goal: &GoalRef,
    connect: &Connector<'_>,
) -> Result<PolicyDelivery, OpsError> {
    let plan = after_run(&ctx.load(goal)?.snapshot);
    let mut done = PolicyDelivery::default();
    let Some(draft) = plan.open_pr else {
        return Ok(done);
    };
    let id = Some(goal.id().to_string());
    let request = OpenPrRequest {
        goal: id.clone(),
        dry_run: false,
        draft,
        base: None,
        facts: None,
        slice_prs: false,
    };
    done.pr = Some(open_pr(ctx, request, connect)?);
    if plan.merge {
        done.merge = Some(merge(
            ctx,
            MergeRequest {
                goal: id,
                facts: None,
            },
            connect,
        )?);
    }
    Ok(done)
}

/// A way to reach the forge: the real one reads settings and a token; tests hand in their own.
pub type Connector<'a> = dyn Fn(&Context) -> Result<Connection, DeliveryError> + 'a;

/// Where delivery goes and the client that gets it there.
pub struct Connection {
    /// Remote, repository, API.
    pub target: ForgeTarget,
    /// The forge client.
    pub forge: Box<dyn Forge>,
}

impl Connection {
    /// Connect to GitHub at `target` with `token`.
    pub fn github(target: ForgeTarget, token: &Token) -> Result<Connection, DeliveryError> {
        let forge = GitHub::new(&target.api_url, target.repo.clone(), token)?;
        Ok(Connection {
            target,
            forge: Box::new(forge),
        })
    }
}

/// The real connector: remote, repository and API from the configuration; token from `GH_TOKEN`,
/// `GITHUB_TOKEN` or `gh auth token`.
pub fn connect(ctx: &Context) -> Result<Connection, DeliveryError> {
    let target = target::resolve(&settings::github(ctx.store.repo()))?;
    let token = token::resolve(&target.host)?;
    tracing::info!(
        "delivering to {} at {} (token from {})",
        target.repo,
        target.api_url,
        token.source().describe()
    );
    Connection::github(target, &token)
}

/// The connector of the steps git-omk's workflows run: like [`connect`], with the repository and API of
/// the GitHub Actions run (`GITHUB_REPOSITORY`, `GITHUB_API_URL`) where git-omk's settings are silent.
pub fn connect_in_actions(ctx: &Context) -> Result<Connection, DeliveryError> {
    let settings = settings::with_actions_defaults(settings::github(ctx.store.repo()));
    let target = target::resolve(&settings)?;
    let token = token::resolve(&target.host)?;
    Connection::github(target, &token)
}

/// Why delivery failed. Each says what to do; none carries a token.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Remote, repository or API not determinable.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// No token.
    #[error(transparent)]
    NoToken(#[from] NoToken),
    /// A GitHub request failed.
    #[error(transparent)]
    Forge(#[from] ForgeError),
    /// The push failed or was rejected.
    #[error(transparent)]
    Push(#[from] PushError),
    /// The goal has no integration branch yet.
    #[error(
        "goal {goal} has no integration branch `{branch}` yet: there is nothing to deliver until its tasks are integrated (use --dry-run to preview the PR)"
    )]
    NoIntegrationBranch {
        /// The goal.
        goal: String,
        /// The branch looked for.
        branch: String,
    },
    /// The goal's PR was closed by someone without merging.
    #[error(
        "PR #{number} of this goal ({url}) was closed without merging: reopen it on GitHub and run the command again, or leave the goal undelivered; git omk does not open a second PR for the same goal"
    )]
    PrClosed {
        /// Its number.
        number: u64,
        /// Its address.
        url: String,
    },
}

impl From<DeliveryError> for OpsError {
    fn from(error: DeliveryError) -> OpsError {
        OpsError::Delivery(Box::new(error))
    }
}

/// How a delivery error should be treated by callers (exit codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryErrorKind {
    /// The configuration or the goal is not ready for delivery: fix it and retry.
    Setup,
    /// A human must act on the forge (closed PR, credentials).
    NeedsHuman,
    /// The remote or the forge failed; retrying later may work.
    Remote,
}

impl DeliveryError {
    /// Which kind of failure this is.
    pub fn kind(&self) -> DeliveryErrorKind {
        match self {
            DeliveryError::Target(_)
            | DeliveryError::NoToken(_)
            | DeliveryError::NoIntegrationBranch { .. } => DeliveryErrorKind::Setup,
            DeliveryError::PrClosed { .. } => DeliveryErrorKind::NeedsHuman,
            DeliveryError::Forge(e) if e.is_auth() => DeliveryErrorKind::NeedsHuman,
            DeliveryError::Forge(_) | DeliveryError::Push(_) => DeliveryErrorKind::Remote,
        }
    }

    /// What to do next, recorded with the failure.
    fn next_step(&self, goal: &str) -> String {
        match self {
            DeliveryError::Target(_) | DeliveryError::NoToken(_) => {
                format!("fix the configuration as the message says, then run `git omk goal open-pr {goal}`")
            }
            DeliveryError::NoIntegrationBranch { .. } => {
                "run the goal until its tasks are integrated".to_owned()
            }
            DeliveryError::Forge(ForgeError::RateLimited { when, .. }) => {
                format!("run `git omk goal open-pr {goal}` again {when}")
            }
            DeliveryError::Forge(e) if e.is_auth() => {
                format!(
                    "give git omk a token that may write to the repository, then run `git omk goal open-pr {goal}`"
                )
            }
            DeliveryError::Forge(_) => format!("run `git omk goal open-pr {goal}` again"),
            DeliveryError::Push(_) => {
                format!(
                    "fetch, reconcile the remote branch or goal (`git omk sync`), then run `git omk goal open-pr {goal}`"
                )
            }
            DeliveryError::PrClosed { .. } => {
                format!("reopen the PR on GitHub, then run `git omk goal open-pr {goal}`")
            }
        }
    }
}

/// The facts to deliver: the given ones (from the proof), else derived from the snapshot.
fn facts_for(
    ctx: &Context,
    goal: &GoalRef,
    snapshot: &Snapshot,
    given: Option<ProofFacts>,
) -> Result<ProofFacts, OpsError> {
    if let Some(given) = given {
        return Ok(given);
    }
    let verdict = readiness(snapshot);
    let (Some(proof), Some(commit)) = (snapshot.proof.as_ref(), proof_commit(ctx, goal)?) else {
        return Ok(ProofFacts::from_snapshot(snapshot, &verdict));
    };
    Ok(ProofFacts::from_proof(
        snapshot,
        &verdict,
        proof,
        &commit.to_string(),
    ))
}

/// The goal commit that recorded the goal's latest proof (DESIGN §7: what PRs link to).
pub fn proof_commit(ctx: &Context, goal: &GoalRef) -> Result<Option<ObjectId>, OpsError> {
    let events = ctx.store.events(goal)?;
    Ok(events
        .iter()
        .rev()
        .find(|(_, e)| matches!(e.body, EventBody::ProofRecorded(_)))
        .map(|(commit, _)| *commit))
}

/// Record a failure (unless the same problem is already recorded) and return it as the error.
fn failed(ctx: &Context, goal: &GoalRef, stage: DeliveryStage, error: DeliveryError) -> OpsError {
    let failure = DeliveryFailed {
        stage,
        message: error.to_string(),
        next: error.next_step(goal.id().as_str()),
    };
    let recorded = ctx.transaction(goal).commit_blocking(|draft| {
        if draft.snapshot().goal.delivery().problem.as_ref() != Some(&failure) {
            draft.record(EventBody::DeliveryFailed(failure.clone()));
        }
        Ok(())
    });
    if let Err(e) = recorded {
        tracing::warn!("could not record the delivery failure on goal {goal}: {e}");
    }
    OpsError::Delivery(Box::new(error))
}
