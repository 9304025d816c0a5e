//! Reading goals for display: resolving what the user typed to a goal, listing, loading.

use gix::ObjectId;

use crate::model::ids::{GoalQuery, ResolveError, pick_one};
use crate::model::status::GoalStatus;
use crate::store::listing::Rows;
use crate::store::names::{GoalNames, Named, Select};
use crate::store::read::{ListEntry, Loaded, newest_first};
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
    /// Resolve `query` (`None` or `latest`: the newest local goal; else a full id or a unique prefix of
    /// the id or of its hash part) among local and fetched goals. The local copy wins when both exist.
    ///
    /// Answered from ref names (binary search in `packed-refs`; a hash-part prefix looks at every name
    /// but reads no commit) plus, for `latest`, the commits of the goals created in its second.
    pub fn resolve(&self, query: Option<&str>) -> Result<GoalRef, OpsError> {
        let parsed = GoalQuery::parse(query);
        if let GoalQuery::Exact(id) = &parsed {
            // The local copy wins: when it exists, one ref read answers (no listing).
            let local = GoalRef::Local(id.clone());
            if self.store.tip(&local)?.is_some() {
                return Ok(local);
            }
        }
        let names = self.store.goal_names()?;
        let select = match parsed {
            GoalQuery::Latest => return self.latest_local(&names),
            GoalQuery::Exact(id) => return preferred_copy(&names, id.as_str()),
            GoalQuery::IdPrefix(p) => Select::IdPrefix(p),
            GoalQuery::HashPrefix(p) => Select::HashPrefix(p),
            GoalQuery::IdOrHashPrefix(p) => Select::IdOrHashPrefix(p),
            GoalQuery::Invalid(q) => return Err(ResolveError::not_found(q).into()),
        };
        let mut last: Option<&str> = None;
        let distinct = names.newest_first(select, false).map(|n| n.id).filter(|id| {
            let new = last != Some(*id);
            last = Some(id);
            new
        });
        let id = pick_one(query.map_or("", str::trim), distinct)?;
        preferred_copy(&names, id.as_str())
    }

    /// The newest local goal: the greatest id, and among goals created in the same second the one with
    /// the latest full-precision creation time (read from those few tips only).
    fn latest_local(&self, names: &GoalNames) -> Result<GoalRef, OpsError> {
        let mut local = names.newest_first(Select::All, true);
        let newest = local.next().ok_or(ResolveError::NoGoals)?;
        let same_second: Vec<Named<'_>> = std::iter::once(newest)
            .chain(local.take_while(|n| n.second() == newest.second()))
            .collect();
        let mut best = (None, newest);
        if same_second.len() > 1 {
            for named in same_second {
                let created = match named.tip() {
                    Some(tip) => self.store.commit_message(tip)?.0.created,
                    None => None,
                };
                if (created, named.id) > (best.0, best.1.id) {
                    best = (created, named);
                }
            }
        }
        Ok(names
            .goal_ref(&best.1)
            .ok_or_else(|| ResolveError::not_found(best.1.id))?)
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
        let mut rows = Vec::new();
        let filter = ListFilter {
            status,
            limit: None,
            archived: true,
        };
        self.list_each(filter, |row| {
            rows.push(row);
            Ok::<(), OpsError>(())
        })?;
        Ok(rows)
    }

    /// Hand the goals `filter` selects to `each`, newest first, one row per goal id (local copy
    /// preferred); returns how many. Goals are read in batches as they are handed out, so memory is
    /// bounded by the largest batch and `filter.limit` rows cost about that many commit reads, however
    /// many goals exist. Only the shown copy's commit message is read (the status filter needs it);
    /// the other copies' relations are computed for rows that are kept.
    pub fn list_each<E: From<OpsError>>(
        &self,
        filter: ListFilter,
        mut each: impl FnMut(GoalRow) -> Result<(), E>,
    ) -> Result<usize, E> {
        let names = self.store.goal_names().map_err(OpsError::from)?;
        let mut walk = names.newest_first(Select::All, false).peekable();
        let (mut batched, mut size) = (0, FIRST_BATCH);
        let batches = std::iter::from_fn(|| {
            // Without a filter every id is a row: never read more than the limit.
            let wanted = match (filter.status, filter.archived, filter.limit) {
                (None, true, Some(limit)) => limit.saturating_sub(batched).min(size),
                _ => size,
            };
            let batch = next_batch(&names, &mut walk, wanted);
            batched += batch.len();
            size = (size * 4).min(MAX_BATCH);
            (!batch.is_empty()).then(|| batch.into_iter().map(|c| (c.shown, c.tip, c.others)).collect())
        });
        let mut handed = 0;
        let listed = self.store.read_list_batches(batches, |mut rows: Rows<Others>| {
            rows.sort_by(|a, b| newest_first(&a.0, &b.0));
            for (entry, others) in rows {
                if filter.limit.is_some_and(|limit| handed >= limit) {
                    break;
                }
                if filter.drops(&entry) {
                    continue;
                }
                each(self.row(entry, others).map_err(Stop::Ops)?).map_err(Stop::Each)?;
                handed += 1;
            }
            Ok::<bool, Stop<E>>(filter.limit.is_none_or(|limit| handed < limit))
        });
        match listed {
            Ok(()) => Ok(handed),
            Err(Stop::Ops(e)) => Err(e.into()),
            Err(Stop::Each(e)) => Err(e),
        }
    }

    /// A row: the shown copy and how the other copies relate to it.
    fn row(&self, entry: ListEntry, others: Others) -> Result<GoalRow, OpsError> {
        let mut remotes: Vec<(String, Relation)> = entry
            .goal
            .remote()
            .map(|r| vec![(r.to_owned(), Relation::RemoteOnly)])
            .unwrap_or_default();
        for (remote, tip) in others {
            let relation = self.relation(&entry, tip)?;
            remotes.push((remote, relation));
        }
        Ok(GoalRow { entry, remotes })
    }

    fn relation(&self, shown: &ListEntry, other: ObjectId) -> Result<Relation, StoreError> {
        if shown.goal.remote().is_some() {
            return Ok(Relation::RemoteOnly);
        }
        if shown.tip == other {
            return Ok(Relation::Same);
        }
        Ok(if self.store.goal_contains(shown.tip, other)? {
            Relation::Ahead
        } else if self.store.goal_contains(other, shown.tip)? {
            Relation::Behind
        } else {
            Relation::Diverged
        })
    }
}

/// Which goals `goal list` shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only goals with this status.
    pub status: Option<GoalStatus>,
    /// At most this many (the newest).
    pub limit: Option<usize>,
    /// Archived goals too (`list --all`).
    pub archived: bool,
}

impl ListFilter {
    /// Whether this filter leaves `entry` out: another status than the one asked for, or archived
    /// when archived goals are hidden.
    fn drops(&self, entry: &ListEntry) -> bool {
        self.status.is_some_and(|s| entry.message.status != Some(s))
            || (!self.archived && entry.message.archived)
    }
}

/// Goal ids read in the first batch of a listing; later batches are four times larger, up to
/// [`MAX_BATCH`].
const FIRST_BATCH: usize = 64;
/// The largest batch of a listing (its memory bound, with goals created in the same second).
const MAX_BATCH: usize = 8192;

/// The other copies of a listed goal: remote name and tip.
type Others = Vec<(String, ObjectId)>;

/// Why a listing stopped early.
enum Stop<E> {
    /// Reading failed.
    Ops(OpsError),
    /// The consumer failed.
    Each(E),
}

impl<E> From<StoreError> for Stop<E> {
    fn from(e: StoreError) -> Self {
        Stop::Ops(e.into())
    }
}

/// The copies of one goal id met on a walk: the one shown and the other remotes' tips.
struct Copies {
    shown: GoalRef,
    tip: ObjectId,
    others: Others,
}

/// The next `wanted` goal ids of the walk (more when the last second continues: the order within a
/// second needs the creation times, read with the batch).
fn next_batch<'a>(
    names: &GoalNames,
    walk: &mut std::iter::Peekable<impl Iterator<Item = Named<'a>>>,
    wanted: usize,
) -> Vec<Copies> {
    let mut batch: Vec<Copies> = Vec::new();
    let mut last_second: Option<&str> = None;
    while let Some(next) = walk.peek().copied() {
        let same_id = batch.last().is_some_and(|c| c.shown.id().as_str() == next.id);
        if !same_id && batch.len() >= wanted && last_second != Some(next.second()) {
            break;
        }
        walk.next();
        let (Some(goal), Some(tip)) = (names.goal_ref(&next), next.tip()) else {
            continue;
        };
        last_second = Some(next.second());
        match batch.last_mut() {
            Some(copies) if same_id => {
                if let Some(remote) = goal.remote() {
                    copies.others.push((remote.to_owned(), tip));
                }
            }
            _ => batch.push(Copies {
                shown: goal,
                tip,
                others: Vec::new(),
            }),
        }
    }
    batch
}

/// The copy of goal `id` a command works on: the local one, else the first remote's (by name).
fn preferred_copy(names: &GoalNames, id: &str) -> Result<GoalRef, OpsError> {
    names
        .newest_first(Select::IdPrefix(id), false)
        .find(|n| n.id == id)
        .and_then(|n| names.goal_ref(&n))
        .ok_or_else(|| ResolveError::not_found(id).into())
}
