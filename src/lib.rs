//! git-omk: proof-backed engineering runs by AI coding agents, with every bit of state stored in the
//! repository under `refs/omk/goals/`.
//!
//! # Architecture
//!
//! Modules are layers; a module may use the ones listed after it, never the ones before it (the test
//! `layers` below reads every `crate::…` path of the sources and holds them to this order).
//!
//! - [`cli`]: clap types, thin commands (arguments → options → one `ops` call → render), renderers,
//!   exit codes. The only module that prints.
//! - [`ops`]: one use case per file: decide (with `model`) → act (I/O) → record (with `store`). The only
//!   code that writes goals, and only through the goal transaction (`ops::transaction`).
//! - [`forge`]: the code host seam (`Forge`) and its GitHub implementation on octocrab: pull requests,
//!   comments, checks, branch protection and rulesets (read only), merges; tokens stay in memory.
//! - [`gate`]: the verification wall's machinery: gate configuration (from the tested commit's own
//!   tree), detection, running gates in work directories, evidence and its cache. Above `store`: it
//!   reads the tested tree and the cached evidence through it.
//! - [`review`]: review of an integrated change: built-in security scanners (secrets, credential
//!   files, CI changes, large binaries, new dependencies) producing structured findings. Above `store`:
//!   it reads the change's trees and blobs through it.
//! - [`store`]: the goal store over gix: ref layout, snapshot codec, compare-and-swap commits, listing,
//!   history, merges.
//! - [`agent`]: agent sessions over engines (Wire, ACP, exec) under the pure policy of `model`; JSON-RPC
//!   framing, transcripts and session records. Returns values; never writes goals.
//! - [`git`]: the few git subprocess calls gix cannot or should not do (maintenance, worktrees,
//!   fetch/push).
//! - [`process`]: the only place that spawns processes.
//! - [`settings`]: the only place that reads the environment or configuration. Above `model`: it parses
//!   configuration into the model's types (agent specs, budgets, prices), so bad settings are the same
//!   errors as bad options.
//! - [`model`]: the pure domain. No I/O, no clock, no environment, no async.
//! - [`clock`], [`runtime`]: the only places that read the clock (and random bytes) and build an async
//!   runtime.
//!
//! Clippy's `disallowed-methods` keeps spawning, the clock, the environment and runtimes in their
//! modules.
//!
//! Decisions (status, readiness, retries, budgets) live in `model`; everything with side effects sits at
//! the edges and hands values back.

pub mod agent;
pub mod cli;
pub mod clock;
pub mod forge;
pub mod gate;
pub mod git;
pub mod model;
pub mod ops;
pub mod process;
pub mod review;
pub mod runtime;
pub mod settings;
pub mod store;

#[cfg(test)]
mod layers;
