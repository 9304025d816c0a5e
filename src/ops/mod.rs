//! Use cases, one per file: decide (with `model`) → act (I/O) → record (with `store`). The only code that
//! writes goals.
//!
//! Every write re-reads the goal tip, decides on that state and records with compare-and-swap; when
//! another writer won the race it starts over, so no update is ever lost. Ops return values; they never
//! print.

pub mod answer;
pub mod attempt;
pub mod base_run;
pub mod ci;
pub mod context;
pub mod control;
pub mod deliver;
pub mod doctor;
pub mod drive;
pub mod execute;
pub mod gc;
pub mod harness;
pub mod integrate;
pub mod plan;
pub mod planning;
pub mod query;
pub mod release;
pub mod remote;
pub mod replay;
pub mod review;
pub mod review_goal;
pub mod sync;
pub mod verify;
pub mod worktrees;

pub use context::{Context, OpsError};
