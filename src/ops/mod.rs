//! Use cases, one per file: decide (with `model`) → act (I/O) → record (with `store`). The only code that
//! writes goals.
//!
//! Every change to a goal goes through the goal transaction (`transaction`): load the tip, decide on
//! that state, record one commit with compare-and-swap; when another writer won the race it reloads and
//! decides again, so no update is ever lost and no decision is applied to a state it was not made on.
//! Ops return values; they never print.

pub mod answer;
pub mod attempt;
pub mod base_run;
pub mod ci;
pub mod context;
pub mod control;
pub mod deliver;
pub mod demo;
pub mod doctor;
pub mod drive;
pub mod execute;
pub mod gc;
pub mod harness;
pub mod integrate;
pub mod integrity;
pub mod notify;
pub mod plan;
pub mod planning;
pub mod preflight;
pub mod query;
pub mod release;
pub mod remote;
pub mod replay;
pub mod review;
pub mod review_goal;
pub mod runtime;
pub mod sync;
pub mod transaction;
pub mod transcripts;
pub mod verify;
pub mod watch;
pub mod work_left;
pub mod worktrees;

pub use context::{Context, OpsError};
