//! git-omk: proof-backed engineering runs by AI coding agents, with every bit of state stored in the
//! repository under `refs/omk/goals/`.
//!
//! # Architecture
//!
//! Modules are layers; a module may use the ones listed after it, never the ones before it.
//!
//! - [`cli`]: clap types, thin commands (arguments → options → one `ops` call → render), renderers,
//!   exit codes. The only module that prints.
//! - [`ops`]: one use case per file: decide (with `model`) → act (I/O) → record (with `store`). The only
//!   code that writes goals, and only through the goal transaction (`ops::transaction`).
//! - [`forge`]: the code host seam (`Forge`) and its GitHub implementation on octocrab: pull requests,
//!   comments, checks, branch protection and rulesets (read only), merges; tokens stay in memory.
//! - [`store`]: the goal store over gix: ref layout, snapshot codec, compare-and-swap commits, listing,
//!   history, merges.
//! - [`gate`]: the verification wall's machinery: gate configuration (from the tested commit's own
//!   tree), detection, running gates in work directories, evidence and its cache.
//! - [`review`]: review of an integrated change: built-in security scanners (secrets, credential
//!   files, CI changes, large binaries, new dependencies) producing structured findings.
//! - [`git`]: the few git subprocess calls gix cannot or should not do (maintenance, worktrees,
//!   fetch/push).
//! - [`agent`]: agent sessions over engines (Wire, ACP, exec) under the pure policy of `model`; JSON-RPC
//!   framing, transcripts and session records. Returns values; never writes goals.
//! - [`model`]: the pure domain. No I/O, no clock, no environment, no async.
//! - [`process`], [`clock`], [`settings`], [`runtime`]: the only places that spawn processes, read the
//!   clock, read the environment or configuration, and build an async runtime. Clippy's
//!   `disallowed-methods` enforces this.
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
