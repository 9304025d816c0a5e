//! The result's test harness against the base's (DESIGN §6, "Evidence the agent cannot forge"): which
//! files that decide how tests run or report the result changed, read from the two trees, and the
//! result with the base's versions of them put back, committed in a scratch checkout so the result's
//! gates can run on it again (the SWE-bench harness discipline).
//!
//! Returns values; the driver and `goal verify` run the gates and record the check. What counts as
//! harness, how a file is restored and when the two runs disagree are decided in `model::harness`.

use std::path::{Component, Path};

use gix::ObjectId;

use super::context::commit_id;
use super::{Context, OpsError};
use crate::gate::config::GateCommand;
use crate::gate::load_gates;
use crate::git::worktree;
use crate::model::harness::{
    ChangedText, GateFiles, HarnessChange, harness_changes, may_be_harness, restore,
};
use crate::model::ids::CommitId;
use crate::review::changes::MAX_READ_BYTES;

/// The harness files the result changed, and how to put the base's versions back.
#[derive(Clone, Debug, Default)]
pub struct HarnessDiff {
    /// The changes (empty: the result's harness is the base's).
    pub changes: Vec<HarnessChange>,
    /// Per changed path: the contents that restore the base's harness (`None`: remove the file).
    restorations: Vec<(String, Option<Vec<u8>>)>,
}

/// Compare the harness files of `result` with those of `base`. Which files a gate runs (a `make`
/// gate's makefile, a script) is read from the base's gates: the result's could have been changed to
/// hide one.
pub fn compare(ctx: &Context, base: CommitId, result: CommitId) -> Result<HarnessDiff, OpsError> {
    let (base_id, result_id) = (base.object_id(), result.object_id());
    let gates = base_gate_files(ctx, base_id);
    let mut read = Vec::new();
    for change in ctx.store.diff_trees(base_id, result_id)? {
        if !may_be_harness(&change.path, &gates) {
            continue;
        }
        let old = blob(ctx, change.old)?;
        let new = blob(ctx, change.new)?;
        read.push((change.path, old, new));
    }
    let texts: Vec<ChangedText<'_>> = read
        .iter()
        .map(|(path, old, new)| ChangedText {
            path,
            old: old.as_deref(),
            new: new.as_deref(),
        })
        .collect();
    let changes = harness_changes(&texts, &gates);
    let restorations = changes
        .iter()
        .filter_map(|c| {
            let (_, old, new) = read.iter().find(|(p, _, _)| *p == c.path)?;
            Some((c.path.clone(), restore(c, old.as_deref(), new.as_deref(), &gates)))
        })
        .collect();
    Ok(HarnessDiff {
        changes,
        restorations,
    })
}

/// The files and scripts the base's gates run (none when the base's gates cannot be read: its own
/// gate configuration is then what the restored run tells about).
fn base_gate_files(ctx: &Context, base: ObjectId) -> GateFiles {
    let Ok(set) = load_gates(&ctx.store, base) else {
        return GateFiles::default();
    };
    let commands: Vec<Vec<String>> = set
        .gates
        .iter()
        .map(|d| match &d.gate.command {
            GateCommand::Shell(script) => script.split_whitespace().map(str::to_owned).collect(),
            GateCommand::Exec(argv) => argv.clone(),
        })
        .collect();
    GateFiles::from_commands(&commands)
}

fn blob(ctx: &Context, id: Option<ObjectId>) -> Result<Option<Vec<u8>>, OpsError> {
    match id {
        Some(id) => Ok(ctx.store.blob_bounded(id, MAX_READ_BYTES)?.1),
        None => Ok(None),
    }
}

/// Commit, in a detached checkout `dir` of `result`, the result with the base's harness files put
/// back, and return that commit; `Ok(Err(why))` when the result's tree does not allow it (a symbolic
/// link where a harness file's directory was: that is evidence, not a failure of this machine).
pub fn prepare(
    ctx: &Context,
    dir: &Path,
    result: CommitId,
    diff: &HarnessDiff,
) -> Result<Result<CommitId, String>, OpsError> {
    let repo = ctx
        .store
        .workdir()
        .ok_or_else(|| OpsError::Usage("the repository has no work tree".to_owned()))?;
    let checkout = worktree::ensure_detached(repo, ctx.store.common_dir(), dir, &result.to_string())?;
    for (path, contents) in &diff.restorations {
        if let Err(why) = put(dir, path, contents.as_deref())? {
            return Ok(Err(why));
        }
    }
    let message = format!("omk: the result with the base's test harness files\n\nOmk-Result: {result}\n");
    let fallback = ctx.store.repo().committer().is_none();
    worktree::commit_all(&checkout, &message, fallback)?;
    commit_id(&worktree::head(&checkout)?).map(Ok)
}

/// Write (or, with `None`, remove) `path` under `dir`, refusing to follow a symbolic link the result
/// may have put on the way.
fn put(dir: &Path, path: &str, contents: Option<&[u8]>) -> Result<Result<(), String>, OpsError> {
    let relative = Path::new(path);
    if !relative.components().all(|c| matches!(c, Component::Normal(_))) {
        return Ok(Err(format!("harness path {path} is not a plain relative path")));
    }
    let target = dir.join(relative);
    let mut ancestor = dir.to_path_buf();
    for part in relative.parent().into_iter().flat_map(Path::components) {
        ancestor.push(part);
        match std::fs::symlink_metadata(&ancestor) {
            Ok(m) if m.file_type().is_symlink() || !m.is_dir() => {
                return Ok(Err(format!(
                    "{} is not a directory in the result, so the base's {path} cannot be put back",
                    ancestor.strip_prefix(dir).unwrap_or(&ancestor).display()
                )));
            }
            Ok(_) => {}
            Err(_) => std::fs::create_dir_all(&ancestor).map_err(|e| io(&ancestor, e))?,
        }
    }
    if std::fs::symlink_metadata(&target).is_ok() {
        std::fs::remove_file(&target).map_err(|e| io(&target, e))?;
    }
    if let Some(bytes) = contents {
        std::fs::write(&target, bytes).map_err(|e| io(&target, e))?;
    }
    Ok(Ok(()))
}

fn io(path: &Path, e: std::io::Error) -> OpsError {
    OpsError::infrastructure(path.display().to_string(), e)
}
