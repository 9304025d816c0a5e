//! The gate cache: evidence is keyed by tree, so a tree already tested with the same gate
//! configuration is not tested again (DESIGN §6).
//!
//! Owns the rule for reusing recorded evidence: same tree, same gate, same config hash, exact (clean
//! work directory) and not an infrastructure failure (a timeout or a missing tool says something about
//! the machine, not the tree). Reads the goal tree only; never writes.

use gix::ObjectId;

use super::config::GateName;
use super::evidence::{EVIDENCE_SCHEMA, Evidence, GATES_DIR, evidence_path};
use crate::model::gate::Outcome;
use crate::store::tree::TreeEntryKind;
use crate::store::{Store, StoreError};

/// Recorded evidence for `gate` on `tree` in the goal tree at `goal_tip`, if it may be reused.
pub fn lookup(
    store: &Store,
    goal_tip: ObjectId,
    tree: ObjectId,
    gate: &GateName,
    config_hash: &str,
) -> Result<Option<Evidence>, StoreError> {
    let Some(bytes) = store.file_at(goal_tip, &evidence_path(&tree, gate))? else {
        return Ok(None);
    };
    let evidence = match Evidence::parse(&bytes) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!("unreadable gate evidence for {gate} on {tree} is ignored: {e}");
            return Ok(None);
        }
    };
    Ok(reusable(&evidence, &tree, gate, config_hash).then_some(evidence))
}

/// Whether recorded evidence answers for this tree, gate and configuration.
pub fn reusable(evidence: &Evidence, tree: &ObjectId, gate: &GateName, config_hash: &str) -> bool {
    evidence.schema_version == EVIDENCE_SCHEMA
        && ObjectId::from_hex(evidence.tree.as_bytes()).ok() == Some(*tree)
        && &evidence.gate == gate
        && evidence.definition.name == *gate
        && evidence.config_hash == config_hash
        && evidence.workdir_modified.is_empty()
        && evidence.outcome != Outcome::FailedInfra
}

/// Every readable gate evidence recorded for `tree` in the goal tree at `goal_tip`, sorted by gate
/// name (for proofs and `verify`; unreadable files are skipped with a warning).
pub fn recorded(store: &Store, goal_tip: ObjectId, tree: ObjectId) -> Result<Vec<Evidence>, StoreError> {
    let dir = format!("{GATES_DIR}/{tree}");
    let mut found = Vec::new();
    for (name, kind) in store.dir_at(goal_tip, &dir)?.unwrap_or_default() {
        if kind != TreeEntryKind::File || !name.ends_with(".json") {
            continue;
        }
        let Some(bytes) = store.file_at(goal_tip, &format!("{dir}/{name}"))? else {
            continue;
        };
        match Evidence::parse(&bytes) {
            Ok(evidence) => found.push(evidence),
            Err(e) => tracing::warn!("unreadable gate evidence {dir}/{name} is ignored: {e}"),
        }
    }
    Ok(found)
}
