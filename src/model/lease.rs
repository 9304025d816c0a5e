//! Controller leases: who drives a goal, until when, and when another controller may take over
//! (DESIGN §3, §8).
//!
//! Owns the lease record, its timing (time to live, renewal), and the pure claim decision. Whether a
//! holder process is dead is a fact the caller supplies (only it can look at processes). Tasks run inside
//! the controller that dispatched them, so a task's lease is its controller's: when a controller dies,
//! the next one re-dispatches its running tasks. Pure.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long a lease holds without renewal (tests may set another, see [`Lease::with_ttl`]).
pub const TTL_SECS: i64 = 90;
/// Renew when less than this is left (two thirds of [`TTL_SECS`]; of any time to live).
pub const RENEW_WITHIN_SECS: i64 = 60;

/// A controller's claim on a goal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Host name of the holder.
    pub host: String,
    /// Process id of the holder.
    pub pid: u32,
    /// When the holder started.
    pub started_at: DateTime<Utc>,
    /// When the claim lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// A fresh lease for a controller on `host` with `pid`, starting `now`.
    pub fn new(host: &str, pid: u32, now: DateTime<Utc>) -> Lease {
        Lease::with_ttl(host, pid, now, TTL_SECS)
    }

    /// A fresh lease that holds `ttl_secs` without renewal ([`TTL_SECS`] but in tests).
    pub fn with_ttl(host: &str, pid: u32, now: DateTime<Utc>, ttl_secs: i64) -> Lease {
        Lease {
            host: host.to_owned(),
            pid,
            started_at: now,
            expires_at: Lease::expiry(now, ttl_secs),
        }
    }

    /// Whether the lease still holds at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }

    /// Whether `other` is the same holder (host, pid and start).
    pub fn same_holder(&self, other: &Lease) -> bool {
        self.host == other.host && self.pid == other.pid && self.started_at == other.started_at
    }

    /// Whether it is time to renew.
    pub fn needs_renewal(&self, now: DateTime<Utc>) -> bool {
        self.needs_renewal_within(now, TTL_SECS)
    }

    /// Whether it is time to renew a lease that lives `ttl_secs`: less than two thirds of it is left.
    pub fn needs_renewal_within(&self, now: DateTime<Utc>, ttl_secs: i64) -> bool {
        self.expires_at - now < Duration::milliseconds(ttl_secs.saturating_mul(2000) / 3)
    }

    /// The expiry after renewing at `now`.
    pub fn renewed_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
        Lease::expiry(now, TTL_SECS)
    }

    /// The expiry of a lease that lives `ttl_secs` from `now`.
    pub fn expiry(now: DateTime<Utc>, ttl_secs: i64) -> DateTime<Utc> {
        now + Duration::seconds(ttl_secs)
    }
}

/// What a controller may do about a goal's lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Nobody holds it.
    Free,
    /// We hold it already.
    Ours,
    /// Someone else holds it and it is live: do not drive the goal.
    Held(Lease),
    /// Someone held it but expired or died: take over, recording why.
    TakeOver {
        /// The lease being replaced.
        previous: Lease,
        /// Why taking over is allowed.
        why: String,
    },
}

/// Decide whether `me` may drive a goal whose recorded lease is `current`. `holder_dead` is true when the
/// holder is known to be a dead process on this host.
pub fn claim(current: Option<&Lease>, me: &Lease, now: DateTime<Utc>, holder_dead: bool) -> Claim {
    match current {
        None => Claim::Free,
        Some(l) if l.same_holder(me) => Claim::Ours,
        Some(l) if holder_dead => Claim::TakeOver {
            previous: l.clone(),
            why: format!(
                "the controller {} pid {} is no longer running on this host",
                l.host, l.pid
            ),
        },
        Some(l) if !l.is_live(now) => Claim::TakeOver {
            previous: l.clone(),
            why: format!(
                "the lease of {} pid {} expired at {}",
                l.host,
                l.pid,
                l.expires_at.to_rfc3339()
            ),
        },
        Some(l) => Claim::Held(l.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap() + Duration::seconds(s)
    }

    #[test]
    fn claims() {
        let me = Lease::new("a", 1, at(0));
        let other = Lease::new("b", 2, at(0));
        assert_eq!(claim(None, &me, at(1), false), Claim::Free);
        assert_eq!(claim(Some(&me), &me, at(1), false), Claim::Ours);
        assert_eq!(
            claim(Some(&other), &me, at(10), false),
            Claim::Held(other.clone())
        );
        assert!(matches!(
            claim(Some(&other), &me, at(TTL_SECS + 1), false),
            Claim::TakeOver { .. }
        ));
        assert!(
            matches!(claim(Some(&other), &me, at(10), true), Claim::TakeOver { why, .. } if why.contains("no longer running"))
        );
        assert!(!me.needs_renewal(at(10)));
        assert!(me.needs_renewal(at(TTL_SECS - RENEW_WITHIN_SECS + 1)));
    }

    #[test]
    fn a_short_lease_lives_and_renews_in_proportion() {
        let short = Lease::with_ttl("a", 1, at(0), 3);
        assert_eq!(short.expires_at, at(3));
        assert!(!short.needs_renewal_within(at(0), 3), "a full lease");
        assert!(short.needs_renewal_within(at(2), 3), "one second of three left");
        assert!(short.is_live(at(2)) && !short.is_live(at(3)));
        assert_eq!(Lease::expiry(at(5), 3), at(8));
        let usual = Lease::new("a", 1, at(0));
        assert_eq!(usual, Lease::with_ttl("a", 1, at(0), TTL_SECS));
        for s in 0..TTL_SECS {
            assert_eq!(
                usual.needs_renewal(at(s)),
                usual.needs_renewal_within(at(s), TTL_SECS),
                "second {s}"
            );
        }
    }
}
