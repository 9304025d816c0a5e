//! The few git subprocess calls gix cannot or should not do: repository maintenance, worktrees, merges
//! without a work tree (`merge-tree`), branch updates with compare-and-swap; fetch and push with sharing
//! and delivery.
//!
//! Every call goes through `process::git`, so the user's configuration, credentials and hooks apply.
//! Must not decide anything about goals.

pub mod config;
pub mod fetch;
pub mod integrate;
pub mod maintenance;
pub mod push;
pub mod run;
pub mod worktree;
