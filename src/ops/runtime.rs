//! How synchronous commands run asynchronous work: on a single-threaded tokio runtime with a local task
//! set (the controller's threading model: agents and gates are child processes driven from one thread,
//! and the goal store is never shared across threads).

use super::OpsError;

/// Run `work` to completion on a current-thread runtime with a local task set. Must not be called from
/// inside a runtime (async code awaits instead).
pub fn block_on<T>(work: impl std::future::Future<Output = Result<T, OpsError>>) -> Result<T, OpsError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| OpsError::Infrastructure(format!("starting the async runtime: {e}")))?;
    runtime.block_on(tokio::task::LocalSet::new().run_until(work))
}
