//! The merge base of two tips of one goal (DESIGN §8): the commit a merge's snapshot is derived from.
//!
//! git's merge base walks every parent, proven code commits included, and returns one of possibly several
//! best common ancestors. A goal merge needs a goal commit (a code commit both sides happened to prove
//! is no snapshot), and one that does not depend on which side asks: after criss-cross merges (two
//! machines each merged the other's tip) there are several best common goal commits, and the base is
//! then their own merge base, recursively, so the union of events applied on it is the same whichever
//! machine merges. Reads only.

use gix::ObjectId;

use super::{GixContext, GoalRef, Store, StoreError};

/// Deepest recursion through criss-cross merge bases before giving up on reducing them.
const MAX_DEPTH: usize = 64;

impl Store {
    /// The goal commit two tips of `goal` are merged on, or `None` when they share no goal commit.
    pub fn goal_merge_base(
        &self,
        goal: &GoalRef,
        a: ObjectId,
        b: ObjectId,
    ) -> Result<Option<ObjectId>, StoreError> {
        self.reduced_base(goal, a, b, 0)
    }

    fn reduced_base(
        &self,
        goal: &GoalRef,
        a: ObjectId,
        b: ObjectId,
        depth: usize,
    ) -> Result<Option<ObjectId>, StoreError> {
        if a == b {
            return Ok(Some(a));
        }
        let mut bases = self.goal_merge_bases(goal, a, b)?;
        bases.sort();
        let mut bases = bases.into_iter();
        let Some(mut base) = bases.next() else {
            return Ok(None);
        };
        for other in bases {
            if depth >= MAX_DEPTH {
                break;
            }
            match self.reduced_base(goal, base, other, depth + 1)? {
                Some(deeper) => base = deeper,
                None => return Ok(None),
            }
        }
        Ok(Some(base))
    }

    /// Every best common ancestor of `a` and `b` that is a commit of `goal` (not a proven code commit).
    pub fn goal_merge_bases(
        &self,
        goal: &GoalRef,
        a: ObjectId,
        b: ObjectId,
    ) -> Result<Vec<ObjectId>, StoreError> {
        let bases = match self.repo.merge_bases_many(a, &[b]) {
            Ok(ids) => ids,
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            Err(e) => return Err(e).ctx(|| format!("finding the merge bases of {a} and {b}")),
        };
        let mut out = Vec::new();
        for id in bases.into_iter().map(gix::Id::detach) {
            if self.is_goal_commit(goal, id)? {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Whether `commit` is a goal commit of `goal` (carries `Omk-Schema` and `Omk-Goal: <id>`).
    fn is_goal_commit(&self, goal: &GoalRef, commit: ObjectId) -> Result<bool, StoreError> {
        let (message, _) = self.commit_message(commit)?;
        Ok(message.schema.is_some() && message.goal.as_deref() == Some(goal.id().as_str()))
    }
}
