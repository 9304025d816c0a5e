//! Controller leases: who drives a goal, until when (DESIGN §3, §8).
//!
//! Owns the lease record and the pure liveness check against a given time. Renewal and takeover are
//! decided by the controller (issue: execution) through events. Pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    /// Whether the lease still holds at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}
