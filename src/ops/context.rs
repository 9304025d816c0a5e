//! What every use case needs: the store, settings, clock and the acting person; the error type of the
//! ops layer; and the crash points the recovery tests ask for. Goals are changed only through
//! `transaction`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use gix::ObjectId;

use crate::clock::{Clock, SystemClock, TestClock, random_from};
use crate::git::maintenance;
use crate::git::run::GitError;
use crate::model::control::Refused;
use crate::model::event::{Actor, ActorKind, Event, EventBody};
use crate::model::ids::{CommitId, EventId, IdError, ResolveError, TreeId};
use crate::ops::deliver::DeliveryError;
use crate::process;
use crate::sandbox::Sandbox;
use crate::settings::{SettingError, Settings, git_location, host_name};
use crate::store::write::{FALLBACK_EMAIL, FALLBACK_NAME};
use crate::store::{Store, StoreError};

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
    /// A git command (worktree, branch, config, merge) failed (exit code 6).
    #[error(transparent)]
    Git(#[from] GitError),
    /// Another part of the machine failed (exit code 6): what was being done, and the cause.
    #[error("{what}: {source}")]
    Infrastructure {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A commit or tree id the goal recorded (or git printed) is not one (exit code 2, like a corrupt
    /// goal). The message is the parser's (it names the text and what was expected).
    #[error("{source}")]
    BadId {
        /// The text.
        hex: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A branch the goal recorded was moved to a commit that does not contain the recorded one
    /// (exit code 6: restore it and resume).
    #[error(
        "branch {branch} was rewritten: it is at {actual}, which does not contain the recorded {recorded}; \
         restore it with `git update-ref refs/heads/{branch} {recorded}` and resume"
    )]
    BranchRewritten {
        /// The branch.
        branch: String,
        /// Where it is.
        actual: String,
        /// Where the goal recorded it.
        recorded: String,
    },
    /// Delivery to the forge failed (recorded in the goal as `delivery_failed`).
    #[error(transparent)]
    Delivery(#[from] Box<DeliveryError>),
    /// Gave up after too many lost races.
    #[error("goal {0} kept changing under this command; try again")]
    Contended(String),
}

impl OpsError {
    /// A failure of the machine while doing `what`, keeping its cause.
    pub fn infrastructure(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> OpsError {
        OpsError::Infrastructure {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// A commit id from its hex form (ids the goal recorded or git printed): the one parse of `ops`,
/// through the model's parser ([`CommitId::parse`]).
pub fn oid(hex: &str) -> Result<ObjectId, OpsError> {
    commit_id(hex).map(ObjectId::from)
}

/// A typed commit id from what git printed or a goal recorded (exit code 2 when it is not one).
pub fn commit_id(hex: &str) -> Result<CommitId, OpsError> {
    CommitId::parse(hex).map_err(|source| bad_id(hex, source))
}

/// A typed tree id from what git printed (exit code 2 when it is not one).
pub fn tree_id(hex: &str) -> Result<TreeId, OpsError> {
    TreeId::parse(hex).map_err(|source| bad_id(hex, source))
}

fn bad_id(hex: &str, source: IdError) -> OpsError {
    OpsError::BadId {
        hex: hex.to_owned(),
        source: source.into(),
    }
}

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
    /// How often each crash point was reached (`OMK_FAULT`).
    faults: Mutex<BTreeMap<String, u32>>,
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
        let clock = clock_of(&settings);
        let actor = human_actor(store.repo());
        Ok(Context {
            store,
            settings,
            clock,
            actor,
            faults: Mutex::default(),
        })
    }

    /// The sandbox agents and gates start in (as configured; see [`Context::check_sandbox`]).
    pub fn sandbox(&self) -> Sandbox {
        Sandbox::new(self.settings.sandbox.clone())
    }

    /// Fail closed before any agent or gate starts: without a confinement mechanism on this machine,
    /// and unless the user turned the sandbox off, nothing runs. An infrastructure failure naming the
    /// fix (exit 6): never a verdict on the user's code, and no attempt is spent.
    pub fn check_sandbox(&self) -> Result<(), OpsError> {
        self.sandbox()
            .check()
            .map(drop)
            .map_err(|u| OpsError::infrastructure("starting agents and gates", u))
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
            id: EventId::from_random(random_from(self.clock.as_ref())),
            at: self.clock.now(),
            actor,
            body,
        }
    }

    /// Kill this process at a named point when the crash tests ask for it: `OMK_FAULT=<point>` (the
    /// first time) or `<point>:<n>` (the n-th time this process reaches it); `panic@<point>` panics
    /// there instead (the panic tests).
    pub fn fault(&self, point: &str) {
        let Some(spec) = self.settings.fault.as_deref() else {
            return;
        };
        let (panics, spec) = match spec.strip_prefix("panic@") {
            Some(rest) => (true, rest),
            None => (false, spec),
        };
        let (name, nth) = spec
            .split_once(':')
            .map_or((spec, 1), |(n, k)| (n, k.parse().unwrap_or(1)));
        if name != point {
            return;
        }
        let mut seen = self
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = seen.entry(point.to_owned()).or_insert(0);
        *count += 1;
        let reached = *count == nth;
        drop(seen);
        match (reached, panics) {
            (false, _) => {}
            (true, false) => process::kill_self(),
            (true, true) => panic!("fault injected at {point}"),
        }
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

/// The system clock, or the test clock the settings ask for.
fn clock_of(settings: &Settings) -> Arc<dyn Clock> {
    match settings.test_time {
        Some(start) => Arc::new(TestClock::new(start, settings.test_seed.unwrap_or(0))),
        None => Arc::new(SystemClock),
    }
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
