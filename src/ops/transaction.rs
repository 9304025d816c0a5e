//! The goal transaction: THE way to change a goal (DESIGN §2, §3, §12), modelled on jj's `Transaction`.
//!
//! A change is a pure decision over the goal's recorded state. [`Transaction::commit`] loads the tip,
//! hands a [`Draft`] of it to the decision (which may refuse, record events, attach files and name
//! proven commits; every recorded event is applied at once, so later parts of the decision see it),
//! writes one goal commit and moves the ref by compare-and-swap. When another writer moved the ref
//! first, the transaction reloads the new tip and runs the decision AGAIN on it: a decision is never
//! re-applied to a state it was not made on, so a request that became invalid is refused and a fact is
//! re-judged on the state that now holds. Lost races back off with jitter (an async sleep), a bounded
//! number of times.
//!
//! Goal creation ([`create_goal`]) is the one write without a tip to compare with: the ref must not
//! exist. Nothing else in `ops` moves a goal ref, except `sync` adopting or merging fetched tips through
//! [`until_won`], the same retry loop.

use std::time::Duration;

use gix::ObjectId;

use super::runtime::block_on;
use super::{Context, OpsError};
use crate::clock::random_bytes;
use crate::model::backoff::Backoff;
use crate::model::event::{Event, EventBody};
use crate::model::snapshot::Snapshot;
use crate::store::read::Loaded;
use crate::store::write::Record;
use crate::store::{GoalRef, StoreError};

/// Who the events of a transaction are by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Author {
    /// The person at the command line (`Context::actor`).
    Person,
    /// The goal controller running in this process.
    Controller,
}

/// Files to add to the goal tree with a step: repository-relative path and bytes.
pub type Attachments = Vec<(String, Vec<u8>)>;

/// A change to one goal, ready to commit. Built by [`Context::transaction`].
pub struct Transaction<'c> {
    ctx: &'c Context,
    goal: GoalRef,
    author: Author,
    start: Option<Loaded>,
}

/// The working state of one attempt at a transaction: the snapshot it was decided on with the events
/// recorded so far applied, and what the step adds. Handed to the decision.
pub struct Draft<'c> {
    ctx: &'c Context,
    author: Author,
    goal: GoalRef,
    tip: ObjectId,
    snapshot: Snapshot,
    events: Vec<Event>,
    attachments: Attachments,
    proves: Vec<ObjectId>,
}

/// What a committed transaction left: the decision's value and the goal as it now is.
#[derive(Clone, Debug)]
pub struct Committed<T> {
    /// What the decision returned.
    pub value: T,
    /// The goal's tip: the new commit, or the tip decided on when the decision recorded nothing.
    pub tip: ObjectId,
    /// The state at `tip`.
    pub snapshot: Snapshot,
    /// The events recorded (empty: nothing was written).
    pub events: Vec<Event>,
}

impl<T> Committed<T> {
    /// Whether a goal commit was written.
    pub fn recorded(&self) -> bool {
        !self.events.is_empty()
    }
}

/// One attempt decided and its objects written, its ref not moved yet (see [`Prepared::publish`]).
pub struct Prepared<'c, T> {
    ctx: &'c Context,
    goal: GoalRef,
    expected: ObjectId,
    commit: Option<(ObjectId, String)>,
    done: Committed<T>,
}

impl Context {
    /// A transaction on `goal` by the person at the command line, starting from its current tip.
    pub fn transaction(&self, goal: &GoalRef) -> Transaction<'_> {
        Transaction {
            ctx: self,
            goal: goal.clone(),
            author: Author::Person,
            start: None,
        }
    }
}

impl<'c> Transaction<'c> {
    /// Record the events as the goal controller of this process.
    pub fn by_controller(mut self) -> Self {
        self.author = Author::Controller;
        self
    }

    /// Decide the first attempt on a state already read (saves a read; a stale one only costs a lost
    /// race).
    pub fn starting_from(mut self, tip: ObjectId, snapshot: Snapshot) -> Self {
        self.start = Some(Loaded {
            goal: self.goal.clone(),
            tip,
            snapshot,
        });
        self
    }

    /// Decide on the tip, record, and on a lost race reload and decide again (see the module docs).
    /// A decision that records nothing writes nothing.
    pub async fn commit<T>(
        mut self,
        decide: impl FnMut(&mut Draft<'c>) -> Result<T, OpsError>,
    ) -> Result<Committed<T>, OpsError> {
        let start = self.start.take();
        self.rounds(start, Backoff::goal_writes(), decide).await
    }

    /// [`Transaction::commit`] for commands that do not run inside an async runtime. The first attempt
    /// needs none; one is started only to wait after a lost race.
    pub fn commit_blocking<T>(
        mut self,
        mut decide: impl FnMut(&mut Draft<'c>) -> Result<T, OpsError>,
    ) -> Result<Committed<T>, OpsError> {
        let base = match self.start.take() {
            Some(loaded) => loaded,
            None => self.ctx.load(&self.goal)?,
        };
        if let Some(done) = self.prepare(base, &mut decide)?.publish()? {
            return Ok(self.finish(done));
        }
        let mut backoff = Backoff::goal_writes();
        let delay = lost_round(&self.goal, &mut backoff)?;
        block_on(async move {
            tokio::time::sleep(delay).await;
            self.rounds(None, backoff, decide).await
        })
    }

    /// Attempts (the first on `start` when given) until one is not lost, waiting `backoff` between.
    async fn rounds<T>(
        self,
        mut start: Option<Loaded>,
        backoff: Backoff,
        mut decide: impl FnMut(&mut Draft<'c>) -> Result<T, OpsError>,
    ) -> Result<Committed<T>, OpsError> {
        let done = until_won(&self.goal, backoff, || {
            let base = match start.take() {
                Some(loaded) => loaded,
                None => self.ctx.load(&self.goal)?,
            };
            self.prepare(base, &mut decide)?.publish()
        })
        .await?;
        Ok(self.finish(done))
    }

    /// After a won attempt: keep the repository fast when something was written.
    fn finish<T>(&self, done: Committed<T>) -> Committed<T> {
        if done.recorded() {
            self.ctx.maintain();
        }
        done
    }

    /// The first half of one attempt: decide on `base` and write the step's objects. Exposed so tests
    /// can interleave many writers' halves deterministically; everything else uses `commit`.
    pub fn prepare<T>(
        &self,
        base: Loaded,
        decide: &mut impl FnMut(&mut Draft<'c>) -> Result<T, OpsError>,
    ) -> Result<Prepared<'c, T>, OpsError> {
        let mut draft = Draft {
            ctx: self.ctx,
            author: self.author,
            goal: self.goal.clone(),
            tip: base.tip,
            snapshot: base.snapshot,
            events: Vec::new(),
            attachments: Vec::new(),
            proves: Vec::new(),
        };
        let value = decide(&mut draft)?;
        let commit = if draft.events.is_empty() {
            None
        } else {
            Some(self.ctx.store.write_step(Record {
                goal: self.goal.clone(),
                expected: Some(draft.tip),
                snapshot: &draft.snapshot,
                events: &draft.events,
                attachments: std::mem::take(&mut draft.attachments),
                proves: std::mem::take(&mut draft.proves),
                merge_parent: None,
                at: self.ctx.clock.now(),
            })?)
        };
        Ok(Prepared {
            ctx: self.ctx,
            goal: self.goal.clone(),
            expected: draft.tip,
            commit,
            done: Committed {
                value,
                tip: draft.tip,
                snapshot: draft.snapshot,
                events: draft.events,
            },
        })
    }
}

impl<T> Prepared<'_, T> {
    /// The second half of one attempt: move the goal ref from the tip decided on to the new commit.
    /// `None` when another writer moved it first (the attempt is lost; decide again on the new tip).
    pub fn publish(self) -> Result<Option<Committed<T>>, OpsError> {
        let Some((commit, message)) = self.commit else {
            return Ok(Some(self.done));
        };
        self.ctx.fault("before-ref-update");
        match self
            .ctx
            .store
            .move_ref(&self.goal, Some(self.expected), commit, &message)
        {
            Ok(()) => Ok(Some(Committed {
                tip: commit,
                ..self.done
            })),
            Err(StoreError::Conflict { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl<'c> Draft<'c> {
    /// The goal.
    pub fn goal(&self) -> &GoalRef {
        &self.goal
    }

    /// The tip this attempt was decided on.
    pub fn tip(&self) -> ObjectId {
        self.tip
    }

    /// The state decided on, with the events recorded so far applied.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The context of the command.
    pub fn context(&self) -> &'c Context {
        self.ctx
    }

    /// Record an event (by the transaction's author, now) and apply it.
    pub fn record(&mut self, body: EventBody) {
        let event = match self.author {
            Author::Person => self.ctx.event(body),
            Author::Controller => self.ctx.controller_event(body),
        };
        self.snapshot.apply(&event);
        self.events.push(event);
    }

    /// Record several events in order.
    pub fn record_all(&mut self, bodies: impl IntoIterator<Item = EventBody>) {
        for body in bodies {
            self.record(body);
        }
    }

    /// Add files to the goal tree (gate evidence, transcripts); written only if an event is recorded.
    pub fn attach(&mut self, files: impl IntoIterator<Item = (String, Vec<u8>)>) {
        self.attachments.extend(files);
    }

    /// Name code commits the step attests (`Omk-Proves` parents).
    pub fn prove(&mut self, commits: impl IntoIterator<Item = ObjectId>) {
        self.proves.extend(commits);
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Record the first commit of a new goal (the ref must not exist yet).
pub fn create_goal(
    ctx: &Context,
    goal: &GoalRef,
    snapshot: &Snapshot,
    events: &[Event],
) -> Result<ObjectId, OpsError> {
    let commit = ctx.store.record(Record {
        goal: goal.clone(),
        expected: None,
        snapshot,
        events,
        attachments: Vec::new(),
        proves: Vec::new(),
        merge_parent: None,
        at: ctx.clock.now(),
    })?;
    ctx.maintain();
    Ok(commit)
}

/// Run `round` until it does not lose a compare-and-swap race on `goal` (`Ok(None)`: lost), waiting
/// `backoff` between rounds. The one retry loop of `ops`.
pub async fn until_won<T>(
    goal: &GoalRef,
    mut backoff: Backoff,
    mut round: impl FnMut() -> Result<Option<T>, OpsError>,
) -> Result<T, OpsError> {
    loop {
        if let Some(done) = round()? {
            return Ok(done);
        }
        tokio::time::sleep(lost_round(goal, &mut backoff)?).await;
    }
}

/// How long to wait after losing a round on `goal`, or `Contended` once `backoff` is spent.
fn lost_round(goal: &GoalRef, backoff: &mut Backoff) -> Result<Duration, OpsError> {
    let delay = backoff
        .next_delay(random_bytes::<1>()[0])
        .ok_or_else(|| OpsError::Contended(goal.to_string()))?;
    tracing::debug!("lost a compare-and-swap race on goal {goal}; deciding again");
    Ok(delay)
}
