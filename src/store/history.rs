//! Walking a goal's own history: the chain of goal parents, skipping the code commits named by
//! `Omk-Proves` (DESIGN §2).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use gix::ObjectId;

use super::codec::CommitMessage;
use super::{GixContext, GoalRef, Store, StoreError};
use crate::model::event::Event;

/// One goal commit in a history.
#[derive(Clone, Debug)]
pub struct HistoryEntry {
    /// The commit.
    pub commit: ObjectId,
    /// Its goal parents (not the proven code commits).
    pub goal_parents: Vec<ObjectId>,
    /// The code commits it attests.
    pub proves: Vec<ObjectId>,
    /// Its parsed message.
    pub message: CommitMessage,
    /// Commit time.
    pub time: DateTime<Utc>,
}

impl Store {
    /// A goal commit's goal parents, message and time.
    pub fn entry(&self, commit: ObjectId) -> Result<HistoryEntry, StoreError> {
        let c = self
            .repo
            .find_commit(commit)
            .ctx(|| format!("reading commit {commit}"))?;
        let (message, time) = self.commit_message(commit)?;
        let goal_parents = c
            .parent_ids()
            .map(|p| p.detach())
            .filter(|p| !message.proves.contains(p))
            .collect();
        Ok(HistoryEntry {
            commit,
            goal_parents,
            proves: message.proves.clone(),
            message,
            time,
        })
    }

    /// Every goal commit reachable from `tip` through goal parents, each after all of its parents
    /// (oldest first; parents visited in order).
    pub fn history_from(&self, tip: ObjectId) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut entries: HashMap<ObjectId, HistoryEntry> = HashMap::new();
        let mut order = Vec::new();
        let mut stack: Vec<(ObjectId, bool)> = vec![(tip, false)];
        while let Some((id, expanded)) = stack.pop() {
            if expanded {
                order.push(id);
                continue;
            }
            if entries.contains_key(&id) {
                continue;
            }
            let entry = self.entry(id)?;
            stack.push((id, true));
            for parent in entry.goal_parents.iter().rev() {
                if !entries.contains_key(parent) {
                    stack.push((*parent, false));
                }
            }
            entries.insert(id, entry);
        }
        let mut seen = BTreeSet::new();
        Ok(order
            .into_iter()
            .filter(|id| seen.insert(*id))
            .filter_map(|id| entries.remove(&id))
            .collect())
    }

    /// The history of a goal at its tip.
    pub fn history(&self, goal: &GoalRef) -> Result<Vec<HistoryEntry>, StoreError> {
        let tip = self
            .tip(goal)?
            .ok_or_else(|| StoreError::NotFound(goal.clone()))?;
        self.history_from(tip)
    }

    /// The whole event log of a goal in recorded order (commit order, then order within a commit).
    pub fn events(&self, goal: &GoalRef) -> Result<Vec<(ObjectId, Event)>, StoreError> {
        let mut out = Vec::new();
        for entry in self.history(goal)? {
            for event in self.events_at(goal, entry.commit)? {
                out.push((entry.commit, event));
            }
        }
        Ok(out)
    }

    /// The goal commits reachable from `tip` but not from `base` (oldest first).
    pub fn exclusive_commits(
        &self,
        tip: ObjectId,
        base: Option<ObjectId>,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let excluded: BTreeSet<ObjectId> = match base {
            Some(b) => self.history_from(b)?.into_iter().map(|e| e.commit).collect(),
            None => BTreeSet::new(),
        };
        Ok(self
            .history_from(tip)?
            .into_iter()
            .filter(|e| !excluded.contains(&e.commit))
            .collect())
    }

    /// The events of the goal commits reachable from `tip` but not from `base`.
    pub fn exclusive_events(
        &self,
        goal: &GoalRef,
        tip: ObjectId,
        base: Option<ObjectId>,
    ) -> Result<Vec<Event>, StoreError> {
        let mut out = Vec::new();
        for entry in self.exclusive_commits(tip, base)? {
            out.extend(self.events_at(goal, entry.commit)?);
        }
        Ok(out)
    }
}
