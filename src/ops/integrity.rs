//! The after-turn integrity check of an unconfined agent (the sandbox turned off): what of the user's
//! repository it must not change — the checkout's HEAD, index, configuration and hooks, and every
//! goal ref — read before and after the turn. Inside the sandbox none of it is writable, so the check
//! runs only without it (where the user may also be working: any change during the turn counts).
//!
//! Gathers the facts (I/O); what counts as a breach is `model::sandbox::repository_breaches`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::UNIX_EPOCH;

use gix::ObjectId;

use super::Context;
use crate::model::sandbox::{Breach, FileStamp, RepositoryFacts, repository_breaches};

/// The facts of the user's repository now.
pub fn facts(ctx: &Context) -> RepositoryFacts {
    let git_dir = ctx.store.repo().git_dir().to_path_buf();
    let common = ctx.store.common_dir().to_path_buf();
    let head_commit = ctx.store.repo().head_id().ok().map(|id| id.detach().to_string());
    let goal_refs = ctx
        .store
        .goal_refs()
        .unwrap_or_default()
        .into_iter()
        .map(|(goal, tip)| (goal.ref_name(), tip.to_string()))
        .collect();
    RepositoryFacts {
        head: std::fs::read(git_dir.join("HEAD")).ok(),
        head_commit,
        index: stamp(&git_dir.join("index")),
        config: std::fs::read(common.join("config")).ok(),
        hooks: hooks(&common.join("hooks")),
        goal_refs,
    }
}

/// What changed since `before`.
pub fn breaches(ctx: &Context, before: &RepositoryFacts) -> Vec<Breach> {
    let after = facts(ctx);
    let forward = |old: &str, new: &str| {
        let (Ok(old), Ok(new)) = (
            ObjectId::from_hex(old.as_bytes()),
            ObjectId::from_hex(new.as_bytes()),
        ) else {
            return false;
        };
        ctx.store.is_ancestor(old, new).unwrap_or(false)
    };
    repository_breaches(before, &after, &forward)
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    let modified_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
    Some(FileStamp {
        len: meta.len(),
        modified_ns,
    })
}

fn hooks(dir: &Path) -> BTreeMap<String, FileStamp> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter_map(|e| Some((e.file_name().to_string_lossy().into_owned(), stamp(&e.path())?)))
        .collect()
}
