//! Reading goals for display: resolving what the user typed to a goal, listing, loading.

use chrono::{DateTime, Utc};
use gix::ObjectId;

use crate::model::ids::{GoalId, ResolveError, resolve_prefix};
use crate::model::status::GoalStatus;
use crate::store::read::{ListEntry, Loaded};
use crate::store::{GoalRef, StoreError};

use super::{Context, OpsError};

/// A goal as listed: the local copy if there is one, plus what remotes have.
#[derive(Clone, Debug)]
pub struct GoalRow {
    /// The row of the copy shown (local when present).
    pub entry: ListEntry,
    /// Remotes that also have this goal, with how their tip relates to the shown one.
    pub remotes: Vec<(String, Relation)>,
}

/// How a fetched tip relates to the local one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// Same commit.
    Same,
    /// The local copy has commits the remote lacks.
    Ahead,
    /// The remote has commits the local copy lacks.
    Behind,
    /// Both have commits the other lacks.
    Diverged,
    /// Only fetched, no local copy.
    RemoteOnly,
}

impl Context {
    /// Resolve `query` (`None` or `latest`: the newest local goal; else a full id or unique prefix) among
    /// local and fetched goals. The local copy wins when both exist.
    pub fn resolve(&self, query: Option<&str>) -> Result<GoalRef, OpsError> {
        if let Some(id) = query.and_then(|q| GoalId::parse(q.trim()).ok()) {
            let local = GoalRef::Local(id);
            if self.store.tip(&local)?.is_some() {
                return Ok(local);
            }
        }
        let refs = self.store.goal_refs()?;
        let query = query.map(str::trim).filter(|q| !q.is_empty() && *q != "latest");
        let id: GoalId = match query {
            None => self.latest_local(&refs)?,
            Some(q) => resolve_prefix(q, refs.iter().map(|(r, _)| r.id()))?,
        };
        let mut candidates: Vec<GoalRef> = refs
            .into_iter()
            .map(|(r, _)| r)
            .filter(|r| r.id() == &id)
            .collect();
        candidates.sort();
        Ok(candidates
            .into_iter()
            .next()
            .ok_or(ResolveError::NotFound(id.to_string()))?)
    }

    /// The newest local goal: the greatest id, and among goals created in the same second the one with
    /// the latest full-precision creation time (read from those few tips only).
    fn latest_local(&self, refs: &[(GoalRef, ObjectId)]) -> Result<GoalId, OpsError> {
        let local: Vec<&(GoalRef, ObjectId)> = refs.iter().filter(|(r, _)| r.remote().is_none()).collect();
        let second = |r: &GoalRef| r.id().as_str()[..15].to_owned();
        let newest = local
            .iter()
            .map(|(r, _)| second(r))
            .max()
            .ok_or(ResolveError::NoGoals)?;
        let mut best: Option<(Option<DateTime<Utc>>, &GoalId)> = None;
        for (goal, tip) in local.iter().filter(|(r, _)| second(r) == newest) {
            let created = self.store.commit_message(*tip)?.0.created;
            if best
                .as_ref()
                .is_none_or(|(c, id)| (created, goal.id()) > (*c, *id))
            {
                best = Some((created, goal.id()));
            }
        }
        Ok(best.map(|(_, id)| id.clone()).ok_or(ResolveError::NoGoals)?)
    }

    /// Resolve a goal the user wants to change: it must exist locally.
    pub fn resolve_local(&self, query: Option<&str>) -> Result<GoalRef, OpsError> {
        let goal = self.resolve(query)?;
        match &goal {
            GoalRef::Local(_) => Ok(goal),
            GoalRef::Remote { remote, id } => Err(OpsError::Usage(format!(
                "goal {id} exists here only as fetched from {remote}; take it over with `git omk sync {remote}` first"
            ))),
        }
    }

    /// Load a goal at its tip.
    pub fn load(&self, goal: &GoalRef) -> Result<Loaded, OpsError> {
        Ok(self.store.load(goal)?)
    }

    /// Every goal, newest first, one row per goal id (local copy preferred), optionally filtered.
    pub fn list(&self, status: Option<GoalStatus>) -> Result<Vec<GoalRow>, OpsError> {
        let mut rows: Vec<GoalRow> = Vec::new();
        for entry in self.store.list()? {
            match rows.last_mut() {
                Some(row) if row.entry.goal.id() == entry.goal.id() => {
                    let relation = self.relation(&row.entry, &entry)?;
                    if let Some(remote) = entry.goal.remote() {
                        row.remotes.push((remote.to_owned(), relation));
                    }
                }
                _ => {
                    let remotes = entry
                        .goal
                        .remote()
                        .map(|r| vec![(r.to_owned(), Relation::RemoteOnly)])
                        .unwrap_or_default();
                    rows.push(GoalRow { entry, remotes });
                }
            }
        }
        rows.retain(|r| status.is_none_or(|s| r.entry.message.status == Some(s)));
        Ok(rows)
    }

    fn relation(&self, shown: &ListEntry, other: &ListEntry) -> Result<Relation, StoreError> {
        if shown.goal.remote().is_some() {
            return Ok(Relation::RemoteOnly);
        }
        if shown.tip == other.tip {
            return Ok(Relation::Same);
        }
        Ok(if self.store.goal_contains(shown.tip, other.tip)? {
            Relation::Ahead
        } else if self.store.goal_contains(other.tip, shown.tip)? {
            Relation::Behind
        } else {
            Relation::Diverged
        })
    }
}
