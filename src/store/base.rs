//! Ancestry and merge bases of goal commits (DESIGN §8): whether one tip of a goal contains another, and
//! the commit a merge's snapshot is derived from.
//!
//! Computed on the goal-parent graph (parents not named by `Omk-Proves`), not with git's merge base:
//! a goal merge needs a goal commit (a code commit both sides happened to prove is no snapshot), git's
//! answer walks the whole code history behind proven commits, and gix 0.90 can return a redundant
//! "best" base (an ancestor of another one) when commit times are equal, which is common for commits
//! written within one second. Best common ancestors here are the common goal commits that are no goal
//! parent of another common one. After criss-cross merges (two machines each merged the other's tip)
//! there are several; the base is then their own merge base, recursively, so it does not depend on which
//! side asks. Reads only.

use std::collections::{BTreeSet, HashMap};

use gix::ObjectId;

use super::{Store, StoreError};

/// Deepest recursion through criss-cross merge bases before settling for the first one.
const MAX_DEPTH: usize = 64;

/// Every goal commit reachable from a tip, with its goal parents.
type Ancestry = HashMap<ObjectId, Vec<ObjectId>>;

impl Store {
    /// Whether `other` is `tip` or one of its goal ancestors.
    pub fn goal_contains(&self, tip: ObjectId, other: ObjectId) -> Result<bool, StoreError> {
        if tip == other {
            return Ok(true);
        }
        Ok(self.ancestry(tip)?.contains_key(&other))
    }

    /// The goal commit two tips of one goal are merged on, or `None` when they share no goal commit.
    pub fn goal_merge_base(&self, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>, StoreError> {
        self.reduced_base(a, b, 0)
    }

    fn reduced_base(&self, a: ObjectId, b: ObjectId, depth: usize) -> Result<Option<ObjectId>, StoreError> {
        if a == b {
            return Ok(Some(a));
        }
        let mut bases = self.goal_merge_bases(a, b)?.into_iter();
        let Some(mut base) = bases.next() else {
            return Ok(None);
        };
        for other in bases {
            if depth >= MAX_DEPTH {
                break;
            }
            match self.reduced_base(base, other, depth + 1)? {
                Some(deeper) => base = deeper,
                None => return Ok(None),
            }
        }
        Ok(Some(base))
    }

    /// The best common goal ancestors of `a` and `b` (none an ancestor of another), sorted by id.
    pub fn goal_merge_bases(&self, a: ObjectId, b: ObjectId) -> Result<Vec<ObjectId>, StoreError> {
        let ours = self.ancestry(a)?;
        let theirs = self.ancestry(b)?;
        let common: BTreeSet<ObjectId> = ours.keys().filter(|c| theirs.contains_key(*c)).copied().collect();
        // `common` is closed under ancestry, so a commit is an ancestor of another common commit exactly
        // when it is the goal parent of one.
        let dominated: BTreeSet<ObjectId> = common
            .iter()
            .flat_map(|c| ours.get(c).into_iter().flatten())
            .copied()
            .collect();
        Ok(common.difference(&dominated).copied().collect())
    }

    /// `tip` and every goal commit reachable from it through goal parents.
    fn ancestry(&self, tip: ObjectId) -> Result<Ancestry, StoreError> {
        let mut seen = Ancestry::new();
        let mut stack = vec![tip];
        while let Some(id) = stack.pop() {
            if seen.contains_key(&id) {
                continue;
            }
            let parents = self.entry(id)?.goal_parents;
            stack.extend(parents.iter().filter(|p| !seen.contains_key(*p)));
            seen.insert(id, parents);
        }
        Ok(seen)
    }
}
