//! What every use case needs: the store, settings, clock and the acting person; the error type of the
//! ops layer; and the compare-and-swap retry loop.

use std::sync::Arc;

use gix::ObjectId;
use std::time::Duration;

use crate::clock::{Clock, SystemClock, random_bytes};
use crate::git::maintenance;
use crate::model::control::Refused;
use crate::model::event::{Actor, ActorKind, Event, EventBody};
use crate::model::ids::{EventId, ResolveError};
use crate::ops::deliver::DeliveryError;
use crate::settings::{SettingError, Settings, git_location, host_name};
use crate::store::write::Record;
use crate::store::write::{FALLBACK_EMAIL, FALLBACK_NAME};
use crate::store::{GoalRef, Store, StoreError};

/// Everything that can go wrong in a use case.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// Bad input from the user (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The request is not allowed in the goal's state (exit code 2).
    #[error(transparent)]
    Refused(#[from] Refused),
    /// No such goal, or an ambiguous prefix (exit code 2).
    #[error("{0}")]
    Resolve(#[from] ResolveError),
    /// A setting is invalid (exit code 2).
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// git, a worktree or another part of the machine failed (exit code 6).
    #[error("{0}")]
    Infrastructure(String),
    /// Delivery to the forge failed (recorded in the goal as `delivery_failed`).
    #[error(transparent)]
    Delivery(#[from] Box<DeliveryError>),
    /// Gave up after too many lost races.
    #[error("goal {0} kept changing under this command; try again")]
    Contended(String),
}

/// How many times a write re-reads and retries after losing a compare-and-swap race.
const MAX_ATTEMPTS: u32 = 200;

/// The environment of one command.
pub struct Context {
    /// The repository's goal store.
    pub store: Store,
    /// git-omk settings.
    pub settings: Settings,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Who acts (the person at the command line).
    pub actor: Actor,
}

impl Context {
    /// Open the repository containing `dir`, or the one `GIT_DIR` (and `GIT_WORK_TREE`) name when git
    /// started git-omk with them (`git --git-dir=… omk`).
    pub fn open(dir: &std::path::Path) -> Result<Context, OpsError> {
        let store = match git_location() {
            Some(at) => Store::open(&at.git_dir, at.work_tree.as_deref())?,
            None => Store::discover(dir)?,
        };
        let settings = Settings::load(store.repo())?;
        let actor = human_actor(store.repo());
        Ok(Context {
            store,
            settings,
            clock: Arc::new(SystemClock),
            actor,
        })
    }

    /// A new event by this context's actor, now.
    pub fn event(&self, body: EventBody) -> Event {
        self.event_by(self.actor.clone(), body)
    }

    /// A new event by the goal controller running in this process, now.
    pub fn controller_event(&self, body: EventBody) -> Event {
        let actor = Actor {
            kind: ActorKind::Controller,
            name: format!("git-omk {}", env!("CARGO_PKG_VERSION")),
            host: self.actor.host.clone(),
        };
        self.event_by(actor, body)
    }

    /// A new event by `actor`, now.
    pub fn event_by(&self, actor: Actor, body: EventBody) -> Event {
        Event {
            id: EventId::from_random(random_bytes()),
            at: self.clock.now(),
            actor,
            body,
        }
    }

    /// Run `attempt` until it does not lose a compare-and-swap race, with jittered backoff.
    pub fn retrying<T>(
        &self,
        what: &str,
        mut attempt: impl FnMut() -> Result<T, OpsError>,
    ) -> Result<T, OpsError> {
        for round in 0..MAX_ATTEMPTS {
            match attempt() {
                Err(OpsError::Store(StoreError::Conflict { .. })) => {
                    tracing::debug!(
                        "lost a compare-and-swap race on goal {what}; re-reading (round {round})"
                    );
                    std::thread::sleep(backoff(round));
                }
                other => return other,
            }
        }
        Err(OpsError::Contended(what.to_owned()))
    }

    /// Keep the repository fast after writes; never fails the command.
    pub fn maintain(&self) {
        if self.settings.auto_maintenance
            && let Err(e) = maintenance::run_if_due(self.store.common_dir(), self.settings.gc_auto)
        {
            tracing::warn!("git maintenance failed (goals are safe; reads may get slower): {e}");
        }
    }
}

fn backoff(round: u32) -> Duration {
    let [jitter] = random_bytes::<1>();
    let base = 1u64 << round.min(6);
    Duration::from_millis(base + u64::from(jitter % 8))
}

fn human_actor(repo: &gix::Repository) -> Actor {
    let name = match repo.committer().and_then(Result::ok) {
        Some(sig) => format!("{} <{}>", sig.name, sig.email),
        None => format!("{FALLBACK_NAME} <{FALLBACK_EMAIL}>"),
    };
    Actor {
        kind: ActorKind::Human,
        name,
        host: host_name(),
    }
}

impl Context {
    /// Record facts (events that hold whatever the state) on a local goal, re-applying them on the new
    /// tip when another writer won the race.
    pub fn append_facts(
        &self,
        goal: &GoalRef,
        bodies: Vec<EventBody>,
        proves: Vec<ObjectId>,
    ) -> Result<ObjectId, OpsError> {
        let events: Vec<Event> = bodies.into_iter().map(|b| self.event(b)).collect();
        let commit = self.retrying(goal.id().as_str(), || {
            let loaded = self.load(goal)?;
            let mut snapshot = loaded.snapshot;
            for e in &events {
                snapshot.apply(e);
            }
            let record = Record {
                goal: goal.clone(),
                expected: Some(loaded.tip),
                snapshot: &snapshot,
                events: &events,
                attachments: Vec::new(),
                proves: proves.clone(),
                merge_parent: None,
                at: self.clock.now(),
            };
            Ok(self.store.record(record)?)
        })?;
        self.maintain();
        Ok(commit)
    }
}
