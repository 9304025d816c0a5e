//! `goal watch`: follow a goal from any process — the events its commits record, as they are recorded,
//! and the live output of its agents that a controller on this machine publishes (`store::live`).
//!
//! Reads only. Each [`Watcher::poll`] reads the live spool first and the goal ref second, so an
//! attempt's live lines come before the event that records its end. Whether the goal is still driven
//! is read from its lease: a controller on this host is followed while its process lives; one on
//! another host until it releases or its lease expires (its events arrive with `git fetch` or
//! `git omk sync`; its agents' output stays on that machine).

use std::collections::{BTreeSet, HashSet};

use gix::ObjectId;
use serde_json::Value;

use super::{Context, OpsError};
use crate::model::event::{Event, EventBody};
use crate::model::ids::TaskId;
use crate::model::snapshot::Snapshot;
use crate::process;
use crate::store::live::SpoolReader;
use crate::store::{GoalRef, StoreError};

/// Something new about the watched goal.
#[derive(Clone, Debug)]
pub enum Seen {
    /// A recorded event, with the commit that recorded it.
    Event {
        /// The goal commit.
        commit: ObjectId,
        /// The event.
        event: Box<Event>,
    },
    /// A line an agent's attempt published live (`task`, `attempt`, `kind`, `turn`, …).
    Agent(Value),
    /// Something the watcher has to say (where live output is, where a transcript is).
    Note(String),
}

/// Who drives the goal, as far as this machine can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Driven {
    /// A controller process on this host holds the lease.
    Here {
        /// Its process id.
        pid: u32,
    },
    /// A controller on another host holds an unexpired lease.
    Elsewhere {
        /// That host.
        host: String,
    },
    /// Nobody: the goal waits for a command, or has finished.
    No,
}

/// Follows one goal.
#[derive(Debug)]
pub struct Watcher {
    goal: GoalRef,
    tip: Option<ObjectId>,
    seen: HashSet<ObjectId>,
    snapshot: Option<Snapshot>,
    spool: SpoolReader,
    /// Attempts whose live output was seen, so their end can say where the rest is.
    live: BTreeSet<(String, u64)>,
    /// Whether the note about another machine's controller was given.
    told_elsewhere: bool,
}

impl Watcher {
    /// Watch the goal `query` names (local or fetched; default: the newest local goal).
    pub fn open(ctx: &Context, query: Option<&str>) -> Result<Watcher, OpsError> {
        let goal = ctx.resolve(query)?;
        let spool = SpoolReader::new(ctx.store.common_dir(), goal.id());
        Ok(Watcher {
            goal,
            tip: None,
            seen: HashSet::new(),
            snapshot: None,
            spool,
            live: BTreeSet::new(),
            told_elsewhere: false,
        })
    }

    /// The goal watched.
    pub fn goal(&self) -> &GoalRef {
        &self.goal
    }

    /// The goal as of the last poll.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// What is new since the previous poll (on the first: the whole recorded history).
    pub fn poll(&mut self, ctx: &Context) -> Result<Vec<Seen>, OpsError> {
        let mut out: Vec<Seen> = Vec::new();
        for line in self.spool.read() {
            if let Some(key) = attempt_key(&line) {
                self.live.insert(key);
            }
            out.push(Seen::Agent(line));
        }
        let tip = ctx
            .store
            .tip(&self.goal)?
            .ok_or_else(|| StoreError::NotFound(self.goal.clone()))?;
        if self.tip != Some(tip) {
            self.read_events(ctx, tip, &mut out)?;
            self.snapshot = Some(ctx.store.snapshot_at(&self.goal, tip)?);
            self.tip = Some(tip);
        }
        if let Driven::Elsewhere { host } = self.driven(ctx)
            && !self.told_elsewhere
        {
            self.told_elsewhere = true;
            out.push(Seen::Note(elsewhere_note(&self.goal, &host)));
        }
        Ok(out)
    }

    /// The events of goal commits not seen yet, oldest first; the end of an attempt whose output was
    /// not seen live says where its transcript is.
    fn read_events(&mut self, ctx: &Context, tip: ObjectId, out: &mut Vec<Seen>) -> Result<(), OpsError> {
        let first = self.tip.is_none();
        for entry in ctx.store.history_from(tip)? {
            if !self.seen.insert(entry.commit) {
                continue;
            }
            for event in ctx.store.events_at(&self.goal, entry.commit)? {
                let note = match &event.body {
                    EventBody::AttemptFinished(r) if !first => self.unseen_attempt(&r.task, r.attempt),
                    _ => None,
                };
                out.push(Seen::Event {
                    commit: entry.commit,
                    event: Box::new(event),
                });
                out.extend(note.map(Seen::Note));
            }
        }
        Ok(())
    }

    fn unseen_attempt(&self, task: &TaskId, attempt: u32) -> Option<String> {
        let key = (task.to_string(), u64::from(attempt));
        (!self.live.contains(&key)).then(|| {
            format!(
                "its transcript: git omk goal log {} {task} --attempt {attempt}",
                self.goal.id()
            )
        })
    }

    /// Who drives the goal now, from its lease as of the last poll.
    pub fn driven(&self, ctx: &Context) -> Driven {
        let Some(lease) = self.snapshot.as_ref().and_then(|s| s.goal.lease()) else {
            return Driven::No;
        };
        if lease.host == ctx.actor.host && self.goal.remote().is_none() {
            if process::pid_alive(lease.pid) {
                Driven::Here { pid: lease.pid }
            } else {
                Driven::No
            }
        } else if lease.expires_at > ctx.clock.now() {
            Driven::Elsewhere {
                host: lease.host.clone(),
            }
        } else {
            Driven::No
        }
    }
}

/// `(task, attempt)` of a spool line.
fn attempt_key(line: &Value) -> Option<(String, u64)> {
    Some((
        line.get("task")?.as_str()?.to_owned(),
        line.get("attempt")?.as_u64()?,
    ))
}

fn elsewhere_note(goal: &GoalRef, host: &str) -> String {
    let fetch = match goal.remote() {
        Some(remote) => format!("`git fetch {remote}` or `git omk sync {remote}`"),
        None => "`git omk sync`".to_owned(),
    };
    format!(
        "goal {} is driven on {host}: its agents' live output stays on that machine; its events appear here \
         as {fetch} brings them",
        goal.id()
    )
}
