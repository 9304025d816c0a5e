//! Delivery as pure decisions and text (DESIGN §9): what the proof says (`facts`), the PR body
//! (`body`), the sticky proof-summary comment (`comment`), the merge gate (`merge`) and the delivery
//! events recorded in the goal (`record`).
//!
//! No I/O: the forge and the ops layer fill the inputs and act on the outputs.

pub mod address;
pub mod after_run;
pub mod body;
pub mod comment;
pub mod facts;
pub(crate) mod markdown;
pub mod merge;
pub mod record;
pub mod reviews;
pub mod slices;

pub use markdown::short;
