//! Identifiers of goals, tasks and events, and unique-prefix resolution.
//!
//! Owns the textual shape of every id. Ids are validated on construction and on deserialisation, so a
//! value of these types is always well formed. Pure: no clock, no randomness (callers pass both in).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// A goal id must look like `20261122-031142-3fa9c01b`.
    #[error("`{0}` is not a goal id (expected YYYYMMDD-HHMMSS-xxxxxxxx)")]
    Goal(String),
    /// Task ids are lowercase slugs usable in branch names.
    #[error("`{0}` is not a task id (expected 1-48 of a-z, 0-9 and '-', starting with a letter or digit)")]
    Task(String),
    /// Event ids are lowercase alphanumerics and dashes.
    #[error("`{0}` is not an event id")]
    Event(String),
}

/// The id of a goal: creation time (UTC, to the second) and 8 hex digits of the hash of its creation event.
///
/// Ids sort by creation time, and two machines creating goals in the same second still differ by the hash.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GoalId(String);

impl GoalId {
    /// Length of the hash part.
    pub const HASH_LEN: usize = 8;

    /// Build the id of a goal created at `created` whose creation event hashes to `digest_hex`.
    pub fn new(created: DateTime<Utc>, digest_hex: &str) -> Result<GoalId, IdError> {
        let hash: String = digest_hex.chars().take(Self::HASH_LEN).collect();
        GoalId::parse(&format!("{}-{hash}", created.format("%Y%m%d-%H%M%S")))
    }

    /// Parse and validate a full goal id.
    pub fn parse(s: &str) -> Result<GoalId, IdError> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        let ok = b.len() == 24
            && digits(0..8)
            && b[8] == b'-'
            && digits(9..15)
            && b[15] == b'-'
            && b[16..]
                .iter()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
        if ok {
            Ok(GoalId(s.to_owned()))
        } else {
            Err(IdError::Goal(s.to_owned()))
        }
    }

    /// The full id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash part, which users may type instead of the full id.
    pub fn hash_part(&self) -> &str {
        &self.0[16..]
    }

    /// Whether `prefix` selects this id, either as a prefix of the full id or of its hash part.
    pub fn matches_prefix(&self, prefix: &str) -> bool {
        !prefix.is_empty() && (self.0.starts_with(prefix) || self.hash_part().starts_with(prefix))
    }
}

impl TryFrom<String> for GoalId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        GoalId::parse(&s)
    }
}

impl From<GoalId> for String {
    fn from(id: GoalId) -> String {
        id.0
    }
}

impl fmt::Display for GoalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of a task inside one goal; also a path component of its branch `omk/<goal>/tasks/<task>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaskId(String);

impl TaskId {
    /// Longest accepted task id.
    pub const MAX_LEN: usize = 48;

    /// Parse and validate a task id.
    pub fn parse(s: &str) -> Result<TaskId, IdError> {
        let b = s.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= Self::MAX_LEN
            && b[0].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(TaskId(s.to_owned()))
        } else {
            Err(IdError::Task(s.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TaskId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TaskId::parse(&s)
    }
}

impl From<TaskId> for String {
    fn from(id: TaskId) -> String {
        id.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of one recorded event; unique across machines (random), used to merge logs by union.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId(String);

impl EventId {
    /// Build an event id from random bytes supplied by the caller.
    pub fn from_random(bytes: [u8; 10]) -> EventId {
        EventId(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Parse and validate an event id.
    pub fn parse(s: &str) -> Result<EventId, IdError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
        if ok {
            Ok(EventId(s.to_owned()))
        } else {
            Err(IdError::Event(s.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        EventId::parse(&s)
    }
}

impl From<EventId> for String {
    fn from(id: EventId) -> String {
        id.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a goal reference given by the user does not name exactly one goal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Nothing matched.
    #[error("no goal matches `{0}`: `git omk goal list` shows the goals of this repository")]
    NotFound(String),
    /// Several goals matched; the candidates are listed so the user can type more characters.
    #[error("`{query}` is ambiguous: it matches {}", candidates.iter().map(GoalId::as_str).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        /// What the user typed.
        query: String,
        /// Every goal that matched.
        candidates: Vec<GoalId>,
    },
    /// `latest` was asked for but the repository has no goal.
    #[error("this repository has no goal yet: create one with git omk goal plan \"<goal>\"")]
    NoGoals,
}

/// Resolve `query` (a full id, a unique prefix of the id or of its hash part) among `ids`.
///
/// An exact match always wins, even when it is also a prefix of another id.
pub fn resolve_prefix<'a>(
    query: &str,
    ids: impl IntoIterator<Item = &'a GoalId>,
) -> Result<GoalId, ResolveError> {
    let mut candidates: Vec<GoalId> = Vec::new();
    for id in ids {
        if id.as_str() == query {
            return Ok(id.clone());
        }
        if id.matches_prefix(query) && !candidates.contains(id) {
            candidates.push(id.clone());
        }
    }
    match candidates.len() {
        0 => Err(ResolveError::NotFound(query.to_owned())),
        1 => Ok(candidates.remove(0)),
        _ => {
            candidates.sort();
            Err(ResolveError::Ambiguous {
                query: query.to_owned(),
                candidates,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn id(s: &str) -> GoalId {
        GoalId::parse(s).unwrap()
    }

    #[test]
    fn goal_ids_are_time_sortable_and_validated() {
        let t1 = Utc.with_ymd_and_hms(2026, 11, 22, 3, 11, 42).unwrap();
        let t2 = Utc.with_ymd_and_hms(2026, 11, 22, 3, 11, 43).unwrap();
        let a = GoalId::new(t1, "ffffffff00").unwrap();
        let b = GoalId::new(t2, "00000000ff").unwrap();
        assert_eq!(a.as_str(), "20261122-031142-ffffffff");
        assert!(a < b);
        for bad in [
            "",
            "2026112-031142-ffffffff",
            "20261122-031142-FFFFFFFF",
            "20261122_031142-ffffffff",
        ] {
            assert!(GoalId::parse(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<GoalId>("\"../etc\"").is_err());
    }

    #[test]
    fn prefix_resolution() {
        let ids = [
            id("20261122-031142-3fa9c01b"),
            id("20261122-031150-3fb00000"),
            id("20261123-000000-aaaaaaaa"),
        ];
        assert_eq!(resolve_prefix("3fa", &ids).unwrap(), ids[0]);
        assert_eq!(resolve_prefix("20261123", &ids).unwrap(), ids[2]);
        assert!(
            matches!(resolve_prefix("3f", &ids), Err(ResolveError::Ambiguous { candidates, .. }) if candidates.len() == 2)
        );
        assert!(matches!(
            resolve_prefix("2026112", &ids),
            Err(ResolveError::Ambiguous { .. })
        ));
        assert_eq!(
            resolve_prefix("zz", &ids),
            Err(ResolveError::NotFound("zz".into()))
        );
        assert_eq!(
            resolve_prefix("", &ids),
            Err(ResolveError::NotFound(String::new()))
        );
        assert_eq!(resolve_prefix(ids[1].as_str(), &ids).unwrap(), ids[1]);
    }

    #[test]
    fn task_ids_are_branch_safe() {
        for good in ["t1", "t1-fix-slugify", "a"] {
            assert!(TaskId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a/b", "a..b", "a--b", "a b", &"x".repeat(49)] {
            assert!(TaskId::parse(bad).is_err(), "{bad}");
        }
    }
}
