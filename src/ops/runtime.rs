//! How synchronous commands run asynchronous work: on a runtime of their own (`crate::runtime`), whose
//! failure to start is an `OpsError`.

use super::OpsError;
use crate::runtime;

/// Run `work` to completion on a current-thread runtime with a local task set. Must not be called from
/// inside a runtime (async code awaits instead).
pub fn block_on<T>(work: impl std::future::Future<Output = Result<T, OpsError>>) -> Result<T, OpsError> {
    runtime::block_on(work).map_err(|e| OpsError::infrastructure("starting the async runtime", e))?
}
