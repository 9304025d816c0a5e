//! The few git subprocess calls gix cannot or should not do: repository maintenance now; worktrees,
//! fetch and push as the features that need them land.
//!
//! Every call goes through `process::git`, so the user's configuration, credentials and hooks apply.
//! Must not decide anything about goals.

pub mod maintenance;
pub mod push;
