//! Identifiers of goals, tasks, events, commits and trees, and unique-prefix resolution.
//!
//! Owns the textual shape of every id. Ids are validated on construction and on deserialisation, so a
//! value of these types is always well formed. Pure: no clock, no randomness (callers pass both in).
//! Commit and tree ids are parsed here once (from what git printed or a goal recorded) and kept as
//! object ids; they are written back as the same 40 lowercase hex digits, so stored goals read the same.

use std::fmt;

use chrono::{DateTime, Utc};
use gix::ObjectId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    /// A commit id is 40 lowercase hex digits (SHA-1).
    #[error("`{0}` is not a commit id (expected 40 lowercase hex digits)")]
    Commit(String),
    /// A tree id is 40 lowercase hex digits (SHA-1).
    #[error("`{0}` is not a tree id (expected 40 lowercase hex digits)")]
    Tree(String),
}

/// How a commit or tree id is shown: its first 12 characters, or all of a shorter text. The one
/// place ids are shortened; never splits a character, whatever a goal recorded.
pub fn short(id: impl fmt::Display) -> String {
    let mut text = id.to_string();
    if let Some((end, _)) = text.char_indices().nth(12) {
        text.truncate(end);
    }
    text
}

/// Length of the hex form of a SHA-1 object id.
const HEX_LEN: usize = 40;

/// `hex` as an object id when it is exactly 40 lowercase hex digits: the one parse of recorded and
/// printed commit and tree ids, strict so that writing a parsed id back gives the same text.
fn object_id(hex: &str) -> Option<ObjectId> {
    let shaped = hex.len() == HEX_LEN && hex.bytes().all(is_hex);
    shaped.then(|| ObjectId::from_hex(hex.as_bytes()).ok()).flatten()
}

/// Declares a typed object id: parsed once, shown and serialised as 40 lowercase hex digits.
macro_rules! object_id_type {
    ($(#[$doc:meta])* $name:ident, $error:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(ObjectId);

        impl $name {
            /// Parse 40 lowercase hex digits (what git prints and goals record).
            pub fn parse(hex: &str) -> Result<$name, IdError> {
                object_id(hex)
                    .map($name)
                    .ok_or_else(|| IdError::$error(hex.to_owned()))
            }

            /// The object id, for git.
            pub fn object_id(self) -> ObjectId {
                self.0
            }

            /// The first 12 hex digits, as people see an id.
            pub fn short(self) -> String {
                short(self)
            }
        }

        impl From<ObjectId> for $name {
            fn from(id: ObjectId) -> $name {
                $name(id)
            }
        }

        impl From<$name> for ObjectId {
            fn from(id: $name) -> ObjectId {
                id.0
            }
        }

        impl PartialEq<ObjectId> for $name {
            fn eq(&self, other: &ObjectId) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let hex = String::deserialize(deserializer)?;
                $name::parse(&hex).map_err(serde::de::Error::custom)
            }
        }
    };
}

object_id_type!(
    /// The id of a commit (a goal's base, a task branch tip, the integration tip, a proof commit).
    CommitId,
    Commit
);

object_id_type!(
    /// The id of a tree (what gates tested, what an attempt produced).
    TreeId,
    Tree
);

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

    /// Length of a full id.
    pub const LEN: usize = 24;

    /// Parse and validate a full goal id.
    pub fn parse(s: &str) -> Result<GoalId, IdError> {
        if is_goal_id(s) {
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

/// Whether `s` is a full goal id (`YYYYMMDD-HHMMSS-` and 8 lowercase hex digits).
pub fn is_goal_id(s: &str) -> bool {
    s.len() == GoalId::LEN && is_id_prefix(s)
}

/// Whether `s` is the start of some goal id: digits, `-`, digits, `-`, lowercase hex, in that shape.
fn is_id_prefix(s: &str) -> bool {
    s.len() <= GoalId::LEN
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 15 => c == b'-',
            0..=14 => c.is_ascii_digit(),
            _ => is_hex(c),
        })
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
}

/// What the user typed to name a goal, classified without looking at any goal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GoalQuery<'q> {
    /// Nothing, or `latest`: the newest goal created in this repository (never a fetched one).
    Latest,
    /// A full id.
    Exact(GoalId),
    /// The start of ids (`20261205-0643`).
    IdPrefix(&'q str),
    /// The start of hash parts (`3fa9`).
    HashPrefix(&'q str),
    /// Digits only, up to 8 of them (`2026`): the start of ids or of hash parts.
    IdOrHashPrefix(&'q str),
    /// Text that no goal id starts with.
    Invalid(&'q str),
}

impl<'q> GoalQuery<'q> {
    /// Classify `query` (surrounding white space ignored).
    pub fn parse(query: Option<&'q str>) -> GoalQuery<'q> {
        let q = query.map_or("", str::trim);
        if q.is_empty() || q == "latest" {
            return GoalQuery::Latest;
        }
        if let Ok(id) = GoalId::parse(q) {
            return GoalQuery::Exact(id);
        }
        let hash = q.len() <= GoalId::HASH_LEN && q.bytes().all(is_hex);
        match (is_id_prefix(q), hash) {
            (true, true) => GoalQuery::IdOrHashPrefix(q),
            (true, false) => GoalQuery::IdPrefix(q),
            (false, true) => GoalQuery::HashPrefix(q),
            (false, false) => GoalQuery::Invalid(q),
        }
    }
}

/// How many candidates an ambiguous query names.
pub const SHOWN_CANDIDATES: usize = 10;

/// The longest part of a query quoted back in a message.
const QUOTED_QUERY: usize = 40;

/// `query` as quoted in messages: cut after [`QUOTED_QUERY`] characters.
fn quoted(query: &str) -> String {
    match query.char_indices().nth(QUOTED_QUERY) {
        Some((cut, _)) => format!("{}…", &query[..cut]),
        None => query.to_owned(),
    }
}

/// Decide which goal `query` names from the distinct ids that match it, newest first: exactly one
/// resolves; several are ambiguous (the newest [`SHOWN_CANDIDATES`] are kept, the rest only counted).
pub fn pick_one<'a>(
    query: &str,
    mut newest_first: impl Iterator<Item = &'a str>,
) -> Result<GoalId, ResolveError> {
    let not_found = || ResolveError::not_found(query);
    let first = newest_first.next().ok_or_else(not_found)?;
    let Some(second) = newest_first.next() else {
        return GoalId::parse(first).map_err(|_| not_found());
    };
    let mut newest: Vec<GoalId> = [first, second]
        .into_iter()
        .chain(newest_first.by_ref().take(SHOWN_CANDIDATES - 2))
        .filter_map(|id| GoalId::parse(id).ok())
        .collect();
    newest.truncate(SHOWN_CANDIDATES);
    let total = newest.len() + newest_first.count();
    Err(ResolveError::Ambiguous {
        query: quoted(query),
        total,
        newest,
    })
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

/// Made-up commit and tree ids for unit tests: one per label (up to 20 bytes), always the same; a
/// label that is already an id (40 lowercase hex digits) is that id.
#[cfg(test)]
pub(crate) mod fake {
    use super::{CommitId, TreeId, object_id};

    fn hex(label: &str) -> String {
        if object_id(label).is_some() {
            return label.to_owned();
        }
        let mut hex: String = label.bytes().map(|b| format!("{b:02x}")).collect();
        hex.truncate(super::HEX_LEN);
        format!("{hex:0<40}")
    }

    /// The commit id of `label`.
    pub fn commit(label: &str) -> CommitId {
        CommitId::parse(&hex(label)).expect("40 hex digits")
    }

    /// The tree id of `label`.
    pub fn tree(label: &str) -> TreeId {
        TreeId::parse(&hex(label)).expect("40 hex digits")
    }
}

/// Why a goal reference given by the user does not name exactly one goal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Nothing matched.
    #[error("no goal matches `{0}`: `git omk goal list` shows the goals of this repository")]
    NotFound(String),
    /// Several goals matched; the newest are named so the user can type more characters.
    #[error("{}", ambiguous_message(query, *total, newest))]
    Ambiguous {
        /// What the user typed (cut when long).
        query: String,
        /// How many goals matched.
        total: usize,
        /// The newest of them, at most [`SHOWN_CANDIDATES`], newest first.
        newest: Vec<GoalId>,
    },
    /// `latest` was asked for but the repository has no goal.
    #[error("this repository has no goal yet: create one with git omk goal plan \"<goal>\"")]
    NoGoals,
}

fn ambiguous_message(query: &str, total: usize, newest: &[GoalId]) -> String {
    let mut out = format!("`{query}` is ambiguous: it matches {total} goals");
    if total > newest.len() {
        out.push_str(&format!("; the newest {}:", newest.len()));
    } else {
        out.push(':');
    }
    for id in newest {
        out.push_str(&format!("\n  {id}"));
    }
    if let Some(example) = newest.first() {
        out.push_str(&format!(
            "\ntype more characters of the id or of its hash part (`{}`), or the whole id (`{example}`); \
             `git omk goal list -n 20` shows the newest goals with their titles",
            example.hash_part()
        ));
    }
    out
}

impl ResolveError {
    /// Nothing matches `query` (quoted, cut when long).
    pub fn not_found(query: &str) -> ResolveError {
        ResolveError::NotFound(quoted(query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn id(s: &str) -> GoalId {
        GoalId::parse(s).unwrap()
    }

    const HEX: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn commit_and_tree_ids_are_forty_lowercase_hex_digits_and_serialise_as_they_were_read() {
        let commit = CommitId::parse(HEX).unwrap();
        assert_eq!(commit.to_string(), HEX);
        assert_eq!(commit.short(), "0123456789ab");
        let json = format!("\"{HEX}\"");
        assert_eq!(serde_json::to_string(&commit).unwrap(), json);
        assert_eq!(serde_json::from_str::<TreeId>(&json).unwrap().to_string(), HEX);
        for bad in [
            "",
            "abc",
            &HEX.to_uppercase(),
            &format!("{HEX}0"),
            &HEX.replace('0', "g"),
        ] {
            assert_eq!(
                CommitId::parse(bad),
                Err(IdError::Commit(bad.to_owned())),
                "{bad}"
            );
            assert!(TreeId::parse(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<CommitId>(&format!("\"{bad}\"")).is_err());
        }
    }

    #[test]
    fn ids_are_shown_by_their_first_twelve_characters_whatever_was_recorded() {
        assert_eq!(short("0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short("abc"), "abc");
        assert_eq!(short(""), "");
        assert_eq!(
            short("ééééééééééééé"),
            "éééééééééééé",
            "a character is never split"
        );
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
    fn queries_are_classified_without_looking_at_goals() {
        use GoalQuery::*;
        assert_eq!(GoalQuery::parse(None), Latest);
        assert_eq!(GoalQuery::parse(Some(" latest ")), Latest);
        assert_eq!(GoalQuery::parse(Some("")), Latest);
        assert_eq!(
            GoalQuery::parse(Some("20261122-031142-3fa9c01b")),
            Exact(id("20261122-031142-3fa9c01b"))
        );
        assert_eq!(GoalQuery::parse(Some("3fa9")), HashPrefix("3fa9"));
        assert_eq!(GoalQuery::parse(Some("2026")), IdOrHashPrefix("2026"));
        assert_eq!(GoalQuery::parse(Some("20261122")), IdOrHashPrefix("20261122"));
        assert_eq!(GoalQuery::parse(Some("20261122-")), IdPrefix("20261122-"));
        assert_eq!(GoalQuery::parse(Some("20261122-03")), IdPrefix("20261122-03"));
        assert_eq!(
            GoalQuery::parse(Some("20261122-031142-3f")),
            IdPrefix("20261122-031142-3f")
        );
        for bad in [
            "zz",
            "202611220",
            "3FA9",
            "3fa9c01b0",
            "2026-",
            "20261122-031142-3fa9c01b0",
            "../x",
            "a b",
        ] {
            assert_eq!(GoalQuery::parse(Some(bad)), Invalid(bad), "{bad}");
        }
    }

    #[test]
    fn one_match_resolves_several_are_ambiguous_with_the_newest_named() {
        let ids: Vec<String> = (0..25)
            .rev()
            .map(|i| format!("20261122-0311{i:02}-3fa9c0{i:02}"))
            .collect();
        assert_eq!(
            pick_one("3fa", ids[..1].iter().map(String::as_str))
                .unwrap()
                .as_str(),
            ids[0]
        );
        assert_eq!(
            pick_one("zz", std::iter::empty()),
            Err(ResolveError::NotFound("zz".into()))
        );
        let err = pick_one("2026", ids.iter().map(String::as_str)).unwrap_err();
        let ResolveError::Ambiguous { total, newest, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*total, 25);
        assert_eq!(newest.len(), SHOWN_CANDIDATES);
        assert_eq!(newest[0].as_str(), ids[0], "newest first");
        let text = err.to_string();
        assert!(text.contains("matches 25 goals; the newest 10:"), "{text}");
        assert!(text.contains("goal list -n 20"), "{text}");
        assert!(!text.contains(&ids[10]), "{text}");
        let two = pick_one("3fa9c0", ids[..2].iter().map(String::as_str)).unwrap_err();
        assert!(two.to_string().contains("matches 2 goals:"), "{two}");
        let long = "9".repeat(10_000);
        let err = pick_one(&long, std::iter::empty()).unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn prefixes_of_the_id_or_the_hash_part_match() {
        let a = id("20261122-031142-3fa9c01b");
        assert!(a.matches_prefix("2026") && a.matches_prefix("3fa") && a.matches_prefix(a.as_str()));
        assert!(!a.matches_prefix("") && !a.matches_prefix("3fb"));
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
