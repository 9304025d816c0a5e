//! `git omk remote setup [REMOTE] [--undo]`: configure a remote so plain `git fetch` brings goals into
//! `refs/omk/remotes/<remote>/goals/` and plain `git push` sends them (DESIGN §8); and which remote a
//! sharing command talks to.
//!
//! Writes only the repository's own git configuration (never goals, the work tree or other files).
//! Every value added is recorded under `omk.remote.<remote>.addedFetch` / `addedPush`, so `--undo`
//! removes exactly those values and nothing the user configured.

use std::path::Path;

use super::{Context, OpsError};
use crate::git::config::{add_value, remove_value};
use crate::model::sharing::{Configured, Refspec, RefspecKind, plan_setup, plan_undo};
use crate::settings::{self, remote_refspecs, upstream_remote};
use crate::store::layout::{PUSH_REFSPEC, fetch_refspec};

/// What `remote setup` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct SetupRequest {
    /// The remote (default: the current branch's upstream remote, else `origin`).
    pub remote: Option<String>,
    /// Remove what an earlier setup added instead.
    pub undo: bool,
    /// Configure fetching only (no push refspecs).
    pub fetch_only: bool,
}

/// What `remote setup` did.
#[derive(Clone, Debug)]
pub struct SetupReport {
    /// The remote.
    pub remote: String,
    /// Whether this was `--undo`.
    pub undo: bool,
    /// Refspecs added.
    pub added: Vec<Refspec>,
    /// Refspecs removed (`--undo`).
    pub removed: Vec<Refspec>,
    /// Refspecs already configured, left alone.
    pub present: Vec<Refspec>,
}

/// The remote a sharing command uses: `requested`, else the current branch's upstream remote, else
/// `origin`. It must be configured.
pub fn choose_remote(ctx: &Context, requested: Option<&str>) -> Result<String, OpsError> {
    let repo = ctx.store.repo();
    let name = match requested.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => r.to_owned(),
        None => upstream_remote(repo).unwrap_or_else(|| "origin".to_owned()),
    };
    let names = settings::remote_names(repo);
    if names.contains(&name) {
        return Ok(name);
    }
    let hint = if names.is_empty() {
        format!("this repository has no remotes: add one with `git remote add {name} <url>`")
    } else {
        format!("configured remotes: {}", names.join(", "))
    };
    Err(OpsError::Usage(format!(
        "remote `{name}` does not exist ({hint})"
    )))
}

/// Configure (or, with `undo`, unconfigure) the goal refspecs of a remote.
pub fn setup(ctx: &Context, request: &SetupRequest) -> Result<SetupReport, OpsError> {
    let remote = choose_remote(ctx, request.remote.as_deref())?;
    let dir = config_dir(ctx);
    let current = remote_refspecs(ctx.store.repo(), &remote);
    let configured = Configured {
        fetch: current.fetch,
        push: current.push,
        added_fetch: current.added_fetch,
        added_push: current.added_push,
    };
    if request.undo {
        let removed = plan_undo(&configured);
        for refspec in &removed {
            remove_value(dir, &config_key(&remote, refspec.kind), &refspec.value)?;
            remove_value(dir, &record_key(&remote, refspec.kind), &refspec.value)?;
        }
        return Ok(SetupReport {
            remote,
            undo: true,
            added: Vec::new(),
            removed,
            present: Vec::new(),
        });
    }
    let plan = plan_setup(
        &remote,
        &configured,
        &fetch_refspec(&remote),
        PUSH_REFSPEC,
        !request.fetch_only,
    );
    for refspec in &plan.add {
        add_value(dir, &record_key(&remote, refspec.kind), &refspec.value)?;
        add_value(dir, &config_key(&remote, refspec.kind), &refspec.value)?;
    }
    Ok(SetupReport {
        remote,
        undo: false,
        added: plan.add,
        removed: Vec::new(),
        present: plan.present,
    })
}

/// `remote.<remote>.fetch` or `remote.<remote>.push`.
pub fn config_key(remote: &str, kind: RefspecKind) -> String {
    match kind {
        RefspecKind::Fetch => format!("remote.{remote}.fetch"),
        RefspecKind::Push => format!("remote.{remote}.push"),
    }
}

/// Where setup records a value it added.
fn record_key(remote: &str, kind: RefspecKind) -> String {
    match kind {
        RefspecKind::Fetch => format!("omk.remote.{remote}.addedFetch"),
        RefspecKind::Push => format!("omk.remote.{remote}.addedPush"),
    }
}

/// A directory git can run in for this repository.
fn config_dir(ctx: &Context) -> &Path {
    ctx.store.workdir().unwrap_or_else(|| ctx.store.common_dir())
}
