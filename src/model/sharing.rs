//! Sharing goals through a git remote (DESIGN §8): which refspecs `git omk remote setup` adds to a remote
//! and which ones `--undo` removes. Pure: callers read the configuration and write it.
//!
//! The rules: a fetch refspec brings the remote's goals into their remote-tracking namespace; a push
//! refspec (never `+`) sends goals under the same names. git stops applying `push.default` to a remote as
//! soon as it has a push refspec, so when the remote had none, `HEAD` is added before the goals refspec
//! and a plain `git push` keeps pushing the current branch. A value already configured is left alone
//! and not recorded, so `--undo` removes exactly what setup added.

use serde::Serialize;

/// Which multi-valued key of a remote a refspec belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefspecKind {
    /// `remote.<name>.fetch`.
    Fetch,
    /// `remote.<name>.push`.
    Push,
}

/// One refspec of a remote, with why setup wants it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refspec {
    /// Fetch or push.
    pub kind: RefspecKind,
    /// The refspec exactly as written to the configuration.
    pub value: String,
    /// What it is for.
    pub why: String,
}

/// A remote's refspecs as configured, and those setup recorded as its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Configured {
    /// `remote.<name>.fetch`.
    pub fetch: Vec<String>,
    /// `remote.<name>.push`.
    pub push: Vec<String>,
    /// Fetch refspecs setup added earlier.
    pub added_fetch: Vec<String>,
    /// Push refspecs setup added earlier.
    pub added_push: Vec<String>,
}

/// What `remote setup` does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetupPlan {
    /// Refspecs to add (and record as added).
    pub add: Vec<Refspec>,
    /// Refspecs already configured (left alone).
    pub present: Vec<Refspec>,
}

/// The refspec that keeps a plain `git push` pushing the current branch.
pub const CURRENT_BRANCH: &str = "HEAD";

/// Plan `remote setup` for remote `remote` whose goals refspecs are `fetch_goals` and `push_goals`;
/// `with_push` false configures fetching only.
pub fn plan_setup(
    remote: &str,
    configured: &Configured,
    fetch_goals: &str,
    push_goals: &str,
    with_push: bool,
) -> SetupPlan {
    let mut wanted = vec![Refspec {
        kind: RefspecKind::Fetch,
        value: fetch_goals.to_owned(),
        why: format!("`git fetch {remote}` brings goals into refs/omk/remotes/{remote}/goals/"),
    }];
    if with_push {
        let head_is_ours = configured.added_push.iter().any(|v| v == CURRENT_BRANCH);
        if configured.push.is_empty() || head_is_ours {
            wanted.push(Refspec {
                kind: RefspecKind::Push,
                value: CURRENT_BRANCH.to_owned(),
                why: format!(
                    "keeps `git push {remote}` pushing the current branch: git ignores push.default once a remote has push refspecs"
                ),
            });
        }
        wanted.push(Refspec {
            kind: RefspecKind::Push,
            value: push_goals.to_owned(),
            why: format!(
                "`git push {remote}` sends goals, never forced (a diverged goal is rejected; `git omk sync {remote}` merges it)"
            ),
        });
    }
    let mut plan = SetupPlan::default();
    for refspec in wanted {
        let existing = match refspec.kind {
            RefspecKind::Fetch => &configured.fetch,
            RefspecKind::Push => &configured.push,
        };
        if existing.contains(&refspec.value) {
            plan.present.push(refspec);
        } else {
            plan.add.push(refspec);
        }
    }
    plan
}

/// What `remote setup --undo` removes: every refspec setup recorded as added, exactly.
pub fn plan_undo(configured: &Configured) -> Vec<Refspec> {
    let fetch = configured.added_fetch.iter().map(|v| (RefspecKind::Fetch, v));
    let push = configured.added_push.iter().map(|v| (RefspecKind::Push, v));
    let mut out: Vec<Refspec> = Vec::new();
    for (kind, value) in fetch.chain(push) {
        if !out.iter().any(|r| r.kind == kind && &r.value == value) {
            out.push(Refspec {
                kind,
                value: value.clone(),
                why: "added by `git omk remote setup`".to_owned(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FETCH: &str = "+refs/omk/goals/*:refs/omk/remotes/origin/goals/*";
    const PUSH: &str = "refs/omk/goals/*:refs/omk/goals/*";

    fn values(refspecs: &[Refspec]) -> Vec<(RefspecKind, &str)> {
        refspecs.iter().map(|r| (r.kind, r.value.as_str())).collect()
    }

    #[test]
    fn a_fresh_remote_gets_fetch_head_and_goals() {
        let configured = Configured {
            fetch: vec!["+refs/heads/*:refs/remotes/origin/*".into()],
            ..Configured::default()
        };
        let plan = plan_setup("origin", &configured, FETCH, PUSH, true);
        assert_eq!(
            values(&plan.add),
            vec![
                (RefspecKind::Fetch, FETCH),
                (RefspecKind::Push, CURRENT_BRANCH),
                (RefspecKind::Push, PUSH)
            ]
        );
        assert!(plan.present.is_empty());
    }

    #[test]
    fn setup_twice_adds_nothing() {
        let configured = Configured {
            fetch: vec!["+refs/heads/*:refs/remotes/origin/*".into(), FETCH.into()],
            push: vec![CURRENT_BRANCH.into(), PUSH.into()],
            added_fetch: vec![FETCH.into()],
            added_push: vec![CURRENT_BRANCH.into(), PUSH.into()],
        };
        let plan = plan_setup("origin", &configured, FETCH, PUSH, true);
        assert!(plan.add.is_empty());
        assert_eq!(plan.present.len(), 3);
    }

    #[test]
    fn existing_push_refspecs_are_kept_and_head_is_not_added() {
        let configured = Configured {
            push: vec!["refs/heads/main:refs/heads/main".into()],
            ..Configured::default()
        };
        let plan = plan_setup("origin", &configured, FETCH, PUSH, true);
        assert_eq!(
            values(&plan.add),
            vec![(RefspecKind::Fetch, FETCH), (RefspecKind::Push, PUSH)]
        );
    }

    #[test]
    fn values_the_user_had_are_present_not_added() {
        let configured = Configured {
            fetch: vec![FETCH.into()],
            ..Configured::default()
        };
        let plan = plan_setup("origin", &configured, FETCH, PUSH, false);
        assert!(plan.add.is_empty());
        assert_eq!(values(&plan.present), vec![(RefspecKind::Fetch, FETCH)]);
        assert!(
            plan_undo(&configured).is_empty(),
            "undo never removes what the user had"
        );
    }

    #[test]
    fn undo_removes_exactly_what_was_recorded() {
        let configured = Configured {
            fetch: vec![FETCH.into()],
            push: vec!["refs/heads/x:refs/heads/x".into(), PUSH.into()],
            added_fetch: vec![FETCH.into()],
            added_push: vec![PUSH.into(), PUSH.into()],
        };
        assert_eq!(
            values(&plan_undo(&configured)),
            vec![(RefspecKind::Fetch, FETCH), (RefspecKind::Push, PUSH)]
        );
    }
}
