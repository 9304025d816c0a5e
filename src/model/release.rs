//! Releasing a controller lease by hand (DESIGN §8): `git omk goal release` frees a goal whose controller
//! is gone, so another machine can drive it without waiting for the lease to expire. Pure: whether the
//! holder process is alive is a fact the caller supplies (only this host can look at its processes).
//!
//! The rules: a lease held on this host may be released when its process is no longer running; a lease
//! held on another host may be released only once it expired (only that host can tell whether its
//! controller still runs). A live controller is stopped with `pause`, which releases its lease itself.

use chrono::{DateTime, Utc};

use super::control::Refused;
use super::decision::DecisionDraft;
use super::event::EventBody;
use super::lease::Lease;
use super::snapshot::Snapshot;

/// What releasing does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// No lease is recorded: nothing to do.
    NotHeld,
    /// Record these events (a decision and `controller_stopped`), freeing `lease`.
    Free {
        /// The lease being released.
        lease: Lease,
        /// The events to record.
        events: Vec<EventBody>,
    },
}

/// Decide whether the lease of `snapshot` may be released from host `host` at `now`; `holder_alive` is
/// true when the holder is a process running on this host.
pub fn release(
    snapshot: &Snapshot,
    host: &str,
    holder_alive: bool,
    now: DateTime<Utc>,
) -> Result<Release, Refused> {
    let id = snapshot.goal.id.as_str();
    let Some(lease) = snapshot.goal.lease.clone() else {
        return Ok(Release::NotHeld);
    };
    let until = lease.expires_at.to_rfc3339();
    let why = if lease.host == host {
        if holder_alive {
            return Err(Refused {
                message: format!(
                    "goal {id} is driven by the controller {} pid {} on this host, which is still running (lease until {until}); stop it with `git omk goal pause {id}`",
                    lease.host, lease.pid
                ),
            });
        }
        format!(
            "the controller {} pid {} is no longer running on this host",
            lease.host, lease.pid
        )
    } else if lease.is_live(now) {
        return Err(Refused {
            message: format!(
                "goal {id} is driven by the controller {} pid {} on another machine (lease until {until}); release it there with `git omk goal release {id}` and sync, or wait until the lease expires",
                lease.host, lease.pid
            ),
        });
    } else {
        format!("the lease of {} pid {} expired at {until}", lease.host, lease.pid)
    };
    let decision = DecisionDraft::new(
        "control",
        format!("release the lease of {} pid {}", lease.host, lease.pid),
        why.clone(),
    );
    let events = vec![
        EventBody::DecisionRecorded(decision),
        EventBody::ControllerStopped {
            reason: format!("lease released by hand: {why}"),
        },
    ];
    Ok(Release::Free { lease, events })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{Actor, ActorKind, BaseRef, Event, GoalCreated};
    use crate::model::ids::fake;
    use crate::model::ids::{EventId, GoalId};
    use crate::model::options::RunOptions;
    use crate::model::snapshot::merge_logs;
    use chrono::{Duration, TimeZone};

    fn at(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap() + Duration::seconds(s)
    }

    fn event(id: &str, secs: i64, host: &str, body: EventBody) -> Event {
        Event {
            id: EventId::parse(id).unwrap(),
            at: at(secs),
            actor: Actor {
                kind: ActorKind::Controller,
                name: "git-omk".into(),
                host: host.into(),
            },
            body,
        }
    }

    fn genesis() -> Snapshot {
        let created = GoalCreated {
            text: "Fix it".into(),
            base: BaseRef {
                rev: "HEAD".into(),
                commit: fake::commit("base"),
            },
            options: RunOptions::default(),
            nonce: "n".into(),
        };
        let id = GoalId::parse("20261122-100000-aaaaaaaa").unwrap();
        Snapshot::genesis(&id, &event("a0", 0, "a", EventBody::GoalCreated(created))).unwrap()
    }

    fn held(host: &str, pid: u32, since: i64) -> Snapshot {
        let mut s = genesis();
        s.apply(&event(
            "a1",
            since,
            host,
            EventBody::ControllerStarted {
                lease: Lease::new(host, pid, at(since)),
                took_over: None,
            },
        ));
        s
    }

    #[test]
    fn nothing_to_release_without_a_lease() {
        assert_eq!(release(&genesis(), "a", false, at(1)), Ok(Release::NotHeld));
    }

    #[test]
    fn a_dead_local_holder_is_released_with_a_decision() {
        let Ok(Release::Free { lease, events }) = release(&held("a", 7, 0), "a", false, at(1)) else {
            panic!("expected a release");
        };
        assert_eq!(lease.pid, 7);
        assert!(matches!(&events[0], EventBody::DecisionRecorded(d) if d.why.contains("no longer running")));
        assert!(matches!(&events[1], EventBody::ControllerStopped { .. }));
        let mut after = held("a", 7, 0);
        for (i, body) in events.into_iter().enumerate() {
            after.apply(&event(&format!("b{i}"), 2, "a", body));
        }
        assert_eq!(after.goal.lease, None);
    }

    #[test]
    fn a_live_local_holder_is_refused() {
        let refused = release(&held("a", 7, 0), "a", true, at(1)).unwrap_err();
        assert!(refused.message.contains("still running"), "{}", refused.message);
        assert!(refused.message.contains("goal pause"));
    }

    #[test]
    fn another_machine_s_lease_is_released_only_after_expiry() {
        let live = release(&held("b", 7, 0), "a", false, at(10)).unwrap_err();
        assert!(live.message.contains("another machine"), "{}", live.message);
        assert!(live.message.contains(&at(90).to_rfc3339()), "names the expiry");
        assert!(matches!(
            release(&held("b", 7, 0), "a", false, at(91)),
            Ok(Release::Free { .. })
        ));
    }

    /// Two machines drove the same goal while apart; the merge applies every lease event in canonical
    /// order (time, then id), whichever side merges: the later `controller_started` holds the lease, and
    /// renewals and stops apply to whatever lease is current at their place in that order.
    #[test]
    fn conflicting_leases_merge_deterministically() {
        let base = genesis();
        let start = |id: &str, secs: i64, host: &str| {
            event(
                id,
                secs,
                host,
                EventBody::ControllerStarted {
                    lease: Lease::new(host, 1, at(secs)),
                    took_over: None,
                },
            )
        };
        let a = vec![start("a1", 10, "a")];
        let b = vec![start("b1", 20, "b")];
        let ab = merge_logs(&base, &a, &b);
        assert_eq!(ab, merge_logs(&base, &b, &a), "the same whichever side merges");
        assert_eq!(ab.goal.lease.as_ref().map(|l| l.host.as_str()), Some("b"));

        let renew = event("a2", 30, "a", EventBody::LeaseRenewed { expires_at: at(120) });
        let a2 = vec![a[0].clone(), renew];
        let merged = merge_logs(&base, &a2, &b);
        assert_eq!(merged, merge_logs(&base, &b, &a2));
        let lease = merged.goal.lease.unwrap();
        assert_eq!((lease.host.as_str(), lease.expires_at), ("b", at(120)));

        let stop = event(
            "a3",
            40,
            "a",
            EventBody::ControllerStopped {
                reason: "done".into(),
            },
        );
        let a3 = vec![a[0].clone(), stop];
        let stopped = merge_logs(&base, &a3, &b);
        assert_eq!(stopped, merge_logs(&base, &b, &a3));
        assert_eq!(
            stopped.goal.lease, None,
            "the last lease event in canonical order wins"
        );
    }
}
