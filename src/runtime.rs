//! The async runtime: the only place one is built (clippy's `disallowed-methods` bans the builders
//! elsewhere).
//!
//! Agents and gates are child processes driven from one thread, and the goal store is never shared
//! across threads, so a runtime is current-thread with a local task set. A synchronous command with
//! async work builds one for that work ([`block_on`]) and drops it when the work ends, so every task it
//! spawned, and every process such a task owns (spawned with kill-on-drop), ends with it: nothing
//! outlives the command's work. A long-lived client (the forge's HTTP client) holds one
//! ([`current_thread`]). Runtimes never nest: async code awaits instead of blocking.
#![allow(clippy::disallowed_methods)]

use std::future::Future;

use tokio::runtime::{Builder, Runtime};
use tokio::task::LocalSet;

/// A current-thread runtime with I/O and timers.
pub fn current_thread() -> std::io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}

/// Run `work` to completion on a runtime of its own (with a local task set), then drop the runtime and
/// everything still running on it. Must not be called from inside a runtime.
pub fn block_on<F: Future>(work: F) -> std::io::Result<F::Output> {
    let runtime = current_thread()?;
    Ok(runtime.block_on(LocalSet::new().run_until(work)))
}
