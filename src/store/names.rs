//! Goal ref names in id order, read without reading a single commit.
//!
//! Goal ids sort by creation time and `packed-refs` is sorted by ref name, so the newest goals, the goals
//! whose id starts with a prefix and the copies of one id are found by binary search in the packed
//! buffer (memory-mapped by gix) and walked from there, newest first. Loose refs (few: maintenance packs
//! them) are read whole and override packed refs of the same name, as in git. Walking allocates nothing
//! per ref: a [`Named`] borrows its id and tip from the buffers.

use gix::ObjectId;
use gix::refs::file::packed::SharedBufferSnapshot;

use super::layout::{LOCAL_PREFIX, REMOTES_PREFIX};
use super::{GixContext, GoalRef, Store, StoreError};
use crate::model::ids::{GoalId, is_goal_id};

/// Which goal names to walk, within every namespace walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select<'q> {
    /// Every goal.
    All,
    /// Goals whose id starts with this (found by binary search).
    IdPrefix(&'q str),
    /// Goals whose hash part starts with this (every name is looked at).
    HashPrefix(&'q str),
    /// Goals whose id or hash part starts with this.
    IdOrHashPrefix(&'q str),
}

/// Where goals live: this repository's own, or one remote's fetched copies.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Space {
    /// `None` for local goals.
    remote: Option<String>,
    /// The ref name prefix of the space, ending in `/`.
    prefix: String,
}

/// A snapshot of every goal ref name and tip, ready to walk.
pub struct GoalNames {
    packed: Option<SharedBufferSnapshot>,
    /// Loose goal refs (full name, tip), sorted by name.
    loose: Vec<(String, ObjectId)>,
    /// Local first, then remotes by name.
    spaces: Vec<Space>,
}

/// One goal ref met on a walk.
#[derive(Clone, Copy, Debug)]
pub struct Named<'a> {
    /// Index of its namespace (0: local; then remotes by name).
    space: usize,
    /// The goal id (validated).
    pub id: &'a str,
    tip: Tip<'a>,
}

#[derive(Clone, Copy, Debug)]
enum Tip<'a> {
    Hex(&'a [u8]),
    Id(ObjectId),
}

impl<'a> Named<'a> {
    /// Whether this is the repository's own copy (not a fetched one).
    pub fn is_local(&self) -> bool {
        self.space == 0
    }

    /// The tip, if the packed line holds a valid object id.
    pub fn tip(&self) -> Option<ObjectId> {
        match self.tip {
            Tip::Hex(hex) => ObjectId::from_hex(hex).ok(),
            Tip::Id(id) => Some(id),
        }
    }

    /// The second the goal was created in (`YYYYMMDD-HHMMSS`).
    pub fn second(&self) -> &'a str {
        &self.id[..15]
    }
}

impl Store {
    /// Read every goal ref name: the loose ones under `refs/omk/`, then the packed buffer (in that order,
    /// so a concurrent `pack-refs` cannot hide a ref from both).
    pub fn goal_names(&self) -> Result<GoalNames, StoreError> {
        let loose = self.loose_goal_refs()?;
        let packed = self
            .repo
            .refs
            .cached_packed_buffer()
            .ctx(|| "reading packed-refs".to_owned())?;
        let mut names = GoalNames {
            packed,
            loose,
            spaces: vec![Space {
                remote: None,
                prefix: LOCAL_PREFIX.to_owned(),
            }],
        };
        names.find_remotes();
        Ok(names)
    }

    fn loose_goal_refs(&self) -> Result<Vec<(String, ObjectId)>, StoreError> {
        let prefix: &gix::path::RelativePath =
            "refs/omk/".try_into().ctx(|| "naming refs/omk/".to_owned())?;
        let iter = self
            .repo
            .refs
            .loose_iter_prefixed(prefix)
            .map_err(gix::Error::from_error)
            .ctx(|| "listing loose refs under refs/omk/".to_owned())?;
        let mut out = Vec::new();
        for reference in iter {
            let Ok(reference) = reference else { continue };
            let gix::refs::Target::Object(tip) = reference.target else {
                continue;
            };
            let name = reference.name.as_bstr().to_string();
            if GoalRef::from_ref_name(&name).is_some() {
                out.push((name, tip));
            }
        }
        out.sort();
        Ok(out)
    }
}

impl GoalNames {
    /// The packed records (after the header), sorted by name.
    fn buf(&self) -> &[u8] {
        self.packed.as_ref().map_or(&[], |p| {
            let buffer: &gix::refs::packed::Buffer = p;
            buffer.as_ref()
        })
    }

    /// Register every remote that has goals, in name order.
    fn find_remotes(&mut self) {
        let mut remotes: Vec<String> = self
            .loose
            .iter()
            .filter_map(|(name, _)| GoalRef::from_ref_name(name)?.remote().map(str::to_owned))
            .collect();
        let buf = self.buf();
        let end = lower_bound(buf, &successor(REMOTES_PREFIX));
        let mut at = lower_bound(buf, REMOTES_PREFIX.as_bytes());
        while at < end {
            let Some((name, _)) = record_at(buf, at) else {
                break;
            };
            let remote = std::str::from_utf8(name)
                .ok()
                .and_then(GoalRef::from_ref_name)
                .and_then(|g| g.remote().map(str::to_owned));
            at = match remote {
                Some(remote) => {
                    let next = lower_bound(buf, &successor(&remote_prefix(&remote)));
                    remotes.push(remote);
                    next.max(next_record(buf, at))
                }
                None => next_record(buf, at),
            };
        }
        remotes.sort();
        remotes.dedup();
        self.spaces.extend(remotes.into_iter().map(|remote| Space {
            prefix: remote_prefix(&remote),
            remote: Some(remote),
        }));
    }

    /// The goal ref of a named copy.
    pub fn goal_ref(&self, named: &Named<'_>) -> Option<GoalRef> {
        let id = GoalId::parse(named.id).ok()?;
        Some(match &self.spaces.get(named.space)?.remote {
            None => GoalRef::Local(id),
            Some(remote) => GoalRef::Remote {
                remote: remote.clone(),
                id,
            },
        })
    }

    /// Walk the selected goals, newest id first; the copies of one id come together, the local one
    /// first, then the remotes' by remote name. `local_only` leaves fetched goals out.
    pub fn newest_first<'a>(&'a self, select: Select<'a>, local_only: bool) -> NewestFirst<'a> {
        let spaces = if local_only { 1 } else { self.spaces.len() };
        let buf = self.buf();
        let walks = (0..spaces)
            .map(|index| {
                let prefix = &self.spaces[index].prefix;
                let (id_prefix, hash) = match select {
                    Select::All => ("", None),
                    Select::IdPrefix(p) => (p, None),
                    Select::HashPrefix(p) => ("", Some(Filter::Hash(p))),
                    Select::IdOrHashPrefix(p) => ("", Some(Filter::IdOrHash(p))),
                };
                let low = format!("{prefix}{id_prefix}");
                let high = successor(&low);
                let loose_low = self.loose.partition_point(|(n, _)| n.as_bytes() < low.as_bytes());
                let loose_high = self
                    .loose
                    .partition_point(|(n, _)| n.as_bytes() < high.as_slice());
                let mut walk = SpaceWalk {
                    space: index,
                    prefix_len: prefix.len(),
                    buf,
                    low: lower_bound(buf, low.as_bytes()),
                    high: lower_bound(buf, &high),
                    loose: &self.loose[loose_low..loose_high],
                    filter: hash,
                    packed_head: None,
                    loose_head: None,
                };
                walk.refill();
                walk.peekable()
            })
            .collect();
        NewestFirst { walks }
    }
}

/// What a walk keeps besides the id range.
#[derive(Clone, Copy, Debug)]
enum Filter<'q> {
    Hash(&'q str),
    IdOrHash(&'q str),
}

impl Filter<'_> {
    fn keeps(self, id: &str) -> bool {
        match self {
            Filter::Hash(p) => id[16..].starts_with(p),
            Filter::IdOrHash(p) => id.starts_with(p) || id[16..].starts_with(p),
        }
    }
}

/// A backwards walk over one namespace: packed records in `low..high` merged with loose refs.
struct SpaceWalk<'a> {
    space: usize,
    prefix_len: usize,
    buf: &'a [u8],
    low: usize,
    high: usize,
    loose: &'a [(String, ObjectId)],
    filter: Option<Filter<'a>>,
    packed_head: Option<(&'a [u8], &'a [u8])>,
    loose_head: Option<(&'a [u8], ObjectId)>,
}

impl<'a> SpaceWalk<'a> {
    /// Peek the next packed record and loose ref (backwards) when not peeked yet.
    fn refill(&mut self) {
        if self.packed_head.is_none()
            && let Some(start) = prev_record(self.buf, self.low, self.high)
        {
            self.high = start;
            self.packed_head = record_at(self.buf, start);
        }
        if self.loose_head.is_none()
            && let Some(((name, tip), rest)) = self.loose.split_last()
        {
            self.loose = rest;
            self.loose_head = Some((name.as_bytes(), *tip));
        }
    }

    /// The next ref of the namespace (any name), newest first.
    fn next_raw(&mut self) -> Option<(&'a [u8], Tip<'a>)> {
        let packed = self.packed_head;
        let loose = self.loose_head;
        let out = match (packed, loose) {
            (None, None) => return None,
            (Some((pn, hex)), Some((ln, _))) if pn > ln => {
                self.packed_head = None;
                (pn, Tip::Hex(hex))
            }
            (Some((pn, _)), Some((ln, tip))) => {
                if pn == ln {
                    self.packed_head = None;
                }
                self.loose_head = None;
                (ln, Tip::Id(tip))
            }
            (Some((pn, hex)), None) => {
                self.packed_head = None;
                (pn, Tip::Hex(hex))
            }
            (None, Some((ln, tip))) => {
                self.loose_head = None;
                (ln, Tip::Id(tip))
            }
        };
        self.refill();
        Some(out)
    }
}

impl<'a> Iterator for SpaceWalk<'a> {
    type Item = Named<'a>;

    fn next(&mut self) -> Option<Named<'a>> {
        loop {
            let (name, tip) = self.next_raw()?;
            let Some(id) = name
                .get(self.prefix_len..)
                .and_then(|id| std::str::from_utf8(id).ok())
            else {
                continue;
            };
            if is_goal_id(id) && self.filter.is_none_or(|f| f.keeps(id)) {
                return Some(Named {
                    space: self.space,
                    id,
                    tip,
                });
            }
        }
    }
}

/// The goals of several namespaces merged newest id first (see [`GoalNames::newest_first`]).
pub struct NewestFirst<'a> {
    walks: Vec<std::iter::Peekable<SpaceWalk<'a>>>,
}

impl<'a> Iterator for NewestFirst<'a> {
    type Item = Named<'a>;

    fn next(&mut self) -> Option<Named<'a>> {
        // The walk whose next goal has the greatest id; the first such walk on ties (local first).
        let mut best: Option<(usize, &str)> = None;
        for (index, walk) in self.walks.iter_mut().enumerate() {
            if let Some(named) = walk.peek()
                && best.is_none_or(|(_, id)| named.id > id)
            {
                best = Some((index, named.id));
            }
        }
        let (index, _) = best?;
        self.walks[index].next()
    }
}

/// `refs/omk/remotes/<remote>/goals/`.
fn remote_prefix(remote: &str) -> String {
    format!("{REMOTES_PREFIX}{remote}/goals/")
}

/// The smallest byte string greater than every string starting with `prefix` (all ASCII here).
fn successor(prefix: &str) -> Vec<u8> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < u8::MAX {
            bytes.push(last + 1);
            return bytes;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

/// The name and hex tip of the record starting at `start` (`<hex> <name>\n`).
fn record_at(buf: &[u8], start: usize) -> Option<(&[u8], &[u8])> {
    let rest = buf.get(start..)?;
    let line = rest.split(|b| *b == b'\n').next()?;
    let space = line.iter().position(|b| *b == b' ')?;
    Some((&line[space + 1..], &line[..space]))
}

/// Start of the line after the one containing `at` (or `buf.len()`).
fn line_after(buf: &[u8], at: usize) -> usize {
    buf.get(at..)
        .and_then(|rest| rest.iter().position(|b| *b == b'\n'))
        .map_or(buf.len(), |nl| at + nl + 1)
}

/// Start of the first record at or after `at` (skipping the rest of a line and peeled `^` lines).
fn record_from(buf: &[u8], at: usize) -> usize {
    let mut start = if at == 0 || buf.get(at - 1) == Some(&b'\n') {
        at
    } else {
        line_after(buf, at)
    };
    while buf.get(start) == Some(&b'^') {
        start = line_after(buf, start);
    }
    start.min(buf.len())
}

/// Start of the record after the one starting at `start`.
fn next_record(buf: &[u8], start: usize) -> usize {
    record_from(buf, line_after(buf, start))
}

/// Start of the last record that starts at or after `low` and before `high` (`high` is a record start).
fn prev_record(buf: &[u8], low: usize, high: usize) -> Option<usize> {
    let mut end = high;
    while end > low {
        // The line before `end` ends with the newline at `end - 1`.
        let start = buf[..end - 1]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |nl| nl + 1);
        if start < low {
            return None;
        }
        if buf[start] != b'^' {
            return Some(start);
        }
        end = start;
    }
    None
}

/// Start of the first record whose name is not less than `key` (or `buf.len()`).
fn lower_bound(buf: &[u8], key: &[u8]) -> usize {
    let (mut low, mut high) = (0, buf.len());
    // Invariant: records starting before `low` are less than `key`; records starting at or after `high`
    // are not. Both are record starts (or the end).
    low = record_from(buf, low);
    while low < high {
        let mid = low + (high - low) / 2;
        let probe = record_from(buf, mid);
        let at = if probe < high { probe } else { low };
        match record_at(buf, at) {
            Some((name, _)) if name < key => low = next_record(buf, at),
            _ => high = at,
        }
    }
    low
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    fn packed(names: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, name) in names.iter().enumerate() {
            out.extend_from_slice(format!("{} {name}\n", if i % 2 == 0 { A } else { B }).as_bytes());
            if name.starts_with("refs/tags/") {
                out.extend_from_slice(format!("^{B}\n").as_bytes());
            }
        }
        out
    }

    fn names_from(buf: &[u8], start: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = start;
        while let Some((name, _)) = record_at(buf, at).filter(|_| at < buf.len()) {
            out.push(String::from_utf8_lossy(name).into_owned());
            at = next_record(buf, at);
        }
        out
    }

    #[test]
    fn lower_bound_finds_the_first_name_not_less_than_the_key() {
        let names = [
            "refs/heads/main",
            "refs/omk/goals/20261122-031142-3fa9c01b",
            "refs/omk/goals/20261122-031150-3fb00000",
            "refs/omk/goals/20261123-000000-aaaaaaaa",
            "refs/omk/remotes/origin/goals/20261122-031142-3fa9c01b",
            "refs/tags/v1",
            "refs/tags/v2",
        ];
        let buf = packed(&names);
        for (i, name) in names.iter().enumerate() {
            let at = lower_bound(&buf, name.as_bytes());
            assert_eq!(names_from(&buf, at).first().map(String::as_str), Some(*name));
            assert_eq!(names_from(&buf, at).len(), names.len() - i);
        }
        assert_eq!(
            lower_bound(&buf, b"refs/omk/goals/20261122"),
            lower_bound(&buf, names[1].as_bytes())
        );
        assert_eq!(
            lower_bound(&buf, &successor("refs/omk/goals/20261122")),
            lower_bound(&buf, names[3].as_bytes())
        );
        assert_eq!(lower_bound(&buf, b"refs/z"), buf.len());
        assert_eq!(lower_bound(&buf, b""), 0);
        assert_eq!(
            lower_bound(&buf, b"refs/tags/v1x"),
            lower_bound(&buf, b"refs/tags/v2")
        );
        assert_eq!(lower_bound(&[], b"refs/"), 0);
    }

    #[test]
    fn records_are_walked_backwards_skipping_peeled_lines() {
        let names = ["refs/a", "refs/tags/b", "refs/tags/c", "refs/z"];
        let buf = packed(&names);
        let mut at = buf.len();
        let mut seen = Vec::new();
        while let Some(start) = prev_record(&buf, 0, at) {
            seen.push(String::from_utf8_lossy(record_at(&buf, start).unwrap().0).into_owned());
            at = start;
        }
        assert_eq!(seen, vec!["refs/z", "refs/tags/c", "refs/tags/b", "refs/a"]);
        let low = lower_bound(&buf, b"refs/tags/");
        assert_eq!(prev_record(&buf, low, low), None);
    }

    #[test]
    fn successors_bound_every_extension_of_a_prefix() {
        assert_eq!(successor("refs/omk/goals/"), b"refs/omk/goals0".to_vec());
        assert_eq!(successor("2026"), b"2027".to_vec());
        assert!(b"refs/omk/goals/2026ffff".as_slice() < successor("refs/omk/goals/2026").as_slice());
    }
}
