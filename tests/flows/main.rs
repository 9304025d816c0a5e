//! Whole goals run by the controller with exec agents and the in-process fake agents, real git and
//! real gates: execution, races between processes, integration, delivery to the GitHub emulator,
//! sharing through clones, the evidence wall. One test binary, so the shared support and the library
//! link once for all of them.
//!
//! Run one part with a filter: `scripts/test.sh --test flows execution::`.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git, git-omk and agents, and read the clock

#[path = "../support/mod.rs"]
mod support;

mod agent_local;
mod concurrency;
mod delivery;
mod evidence;
mod execution;
mod integrate;
mod sharing;
mod sharing_drive;
