//! Where goals live: ref names and the paths of the files inside a goal commit (DESIGN §2).
//!
//! Owns every ref and path spelling so no other module builds one by hand.

use std::fmt;

use crate::model::ids::GoalId;

/// Namespace of local goals.
pub const LOCAL_PREFIX: &str = "refs/omk/goals/";
/// Namespace of goals fetched from remotes: `refs/omk/remotes/<remote>/goals/<id>`.
pub const REMOTES_PREFIX: &str = "refs/omk/remotes/";

/// The refspec that makes `git fetch <remote>` bring the remote's goals into
/// `refs/omk/remotes/<remote>/goals/*` (forced like every remote-tracking ref: it mirrors the remote).
pub fn fetch_refspec(remote: &str) -> String {
    format!("+{LOCAL_PREFIX}*:{REMOTES_PREFIX}{remote}/goals/*")
}

/// The refspec that makes `git push <remote>` send goals under the same names, never forced.
pub const PUSH_REFSPEC: &str = "refs/omk/goals/*:refs/omk/goals/*";

/// `goal.json`.
pub const GOAL_FILE: &str = "goal.json";
/// `tasks.json`.
pub const TASKS_FILE: &str = "tasks.json";
/// `events.jsonl` (this commit's events only).
pub const EVENTS_FILE: &str = "events.jsonl";
/// `decisions.jsonl` (all decisions so far).
pub const DECISIONS_FILE: &str = "decisions.jsonl";
/// `plan/brief.md`.
pub const BRIEF_FILE: &str = "plan/brief.md";
/// `plan/technical-plan.md`.
pub const TECHNICAL_PLAN_FILE: &str = "plan/technical-plan.md";
/// `plan/test-spec.md`.
pub const TEST_SPEC_FILE: &str = "plan/test-spec.md";
/// `plan/oracle.json`.
pub const ORACLE_FILE: &str = "plan/oracle.json";
/// `plan/plan.json`: who planned and which files were judged relevant.
pub const PLAN_META_FILE: &str = "plan/plan.json";

/// `proof.json`, once a proof exists.
pub const PROOF_FILE: &str = "proof.json";
/// `proof.md`, its reading for people.
pub const PROOF_MD_FILE: &str = "proof.md";

/// The files a snapshot consists of; everything else in a goal tree is an attachment.
pub const SNAPSHOT_FILES: [&str; 11] = [
    PROOF_FILE,
    PROOF_MD_FILE,
    GOAL_FILE,
    TASKS_FILE,
    EVENTS_FILE,
    DECISIONS_FILE,
    BRIEF_FILE,
    TECHNICAL_PLAN_FILE,
    TEST_SPEC_FILE,
    ORACLE_FILE,
    PLAN_META_FILE,
];

/// Which copy of a goal: ours, or the one fetched from a remote.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GoalRef {
    /// `refs/omk/goals/<id>`.
    Local(GoalId),
    /// `refs/omk/remotes/<remote>/goals/<id>`.
    Remote {
        /// Remote name.
        remote: String,
        /// The goal.
        id: GoalId,
    },
}

impl GoalRef {
    /// The goal id.
    pub fn id(&self) -> &GoalId {
        match self {
            GoalRef::Local(id) | GoalRef::Remote { id, .. } => id,
        }
    }

    /// The remote, for fetched goals.
    pub fn remote(&self) -> Option<&str> {
        match self {
            GoalRef::Local(_) => None,
            GoalRef::Remote { remote, .. } => Some(remote),
        }
    }

    /// The full ref name.
    pub fn ref_name(&self) -> String {
        match self {
            GoalRef::Local(id) => format!("{LOCAL_PREFIX}{id}"),
            GoalRef::Remote { remote, id } => format!("{REMOTES_PREFIX}{remote}/goals/{id}"),
        }
    }

    /// Parse a full ref name in either namespace.
    pub fn from_ref_name(name: &str) -> Option<GoalRef> {
        if let Some(id) = name.strip_prefix(LOCAL_PREFIX) {
            return GoalId::parse(id).ok().map(GoalRef::Local);
        }
        let rest = name.strip_prefix(REMOTES_PREFIX)?;
        let (remote, id) = rest.split_once("/goals/")?;
        let id = GoalId::parse(id).ok()?;
        (!remote.is_empty()).then(|| GoalRef::Remote {
            remote: remote.to_owned(),
            id,
        })
    }
}

impl fmt::Display for GoalRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoalRef::Local(id) => write!(f, "{id}"),
            GoalRef::Remote { remote, id } => write!(f, "{remote}/{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_names_round_trip() {
        let id = GoalId::parse("20261122-031142-3fa9c01b").unwrap();
        let local = GoalRef::Local(id.clone());
        assert_eq!(local.ref_name(), "refs/omk/goals/20261122-031142-3fa9c01b");
        let remote = GoalRef::Remote {
            remote: "origin".into(),
            id,
        };
        assert_eq!(
            remote.ref_name(),
            "refs/omk/remotes/origin/goals/20261122-031142-3fa9c01b"
        );
        for r in [local, remote] {
            assert_eq!(GoalRef::from_ref_name(&r.ref_name()), Some(r));
        }
        assert_eq!(GoalRef::from_ref_name("refs/omk/goals/nope"), None);
        assert_eq!(GoalRef::from_ref_name("refs/heads/main"), None);
        assert_eq!(
            fetch_refspec("origin"),
            "+refs/omk/goals/*:refs/omk/remotes/origin/goals/*"
        );
    }
}
