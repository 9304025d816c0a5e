//! The few git subprocess calls gix cannot or should not do: repository maintenance, worktrees, merges
//! without a work tree (`merge-tree`), branch updates with compare-and-swap; fetch and push with sharing
//! and delivery.
//!
//! Every call goes through `process::git`: the user's configuration and credentials apply, hooks and
//! fsmonitor never run, and no inherited `GIT_DIR`-style variable redirects it. Checkouts made for
//! agents and gates are addressed by their git directory found from the shared one
//! ([`checkout::Checkout`]), never through the `.git` file inside them. Must not decide anything about
//! goals.

pub mod checkout;
pub mod config;
pub mod fetch;
pub mod integrate;
pub mod maintenance;
pub mod push;
pub mod run;
pub mod worktree;
