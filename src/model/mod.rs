//! The pure domain of git-omk: ids, goal state machine, events, task graph, budgets, leases, intake,
//! planning, oracle, readiness and control decisions.
//!
//! Nothing in here performs I/O, reads the clock or the environment, spawns, or is async: every input
//! (time, random bytes, file lists, evidence) is passed in. That is what makes `resume` after a crash
//! "load the tip, run the same loop", and what lets tests cover decisions with tables and properties.

pub mod backoff;
pub mod budget;
pub mod ci;
pub mod control;
pub mod controller;
pub mod decision;
pub mod delivery;
pub mod demo;
pub mod event;
pub mod follow_up;
pub mod gate;
pub mod goal;
pub mod graph;
pub mod harness;
pub mod ids;
pub mod intake;
pub mod lease;
pub mod options;
pub mod oracle;
pub mod plan;
pub mod plan_answer;
pub mod planner;
pub mod policy;
pub mod preflight;
pub mod prompt;
pub mod proof;
pub mod proof_md;
pub mod redact;
pub mod release;
pub mod retry;
pub mod review;
pub mod sandbox;
pub mod secrets;
pub mod sharing;
pub mod shell;
pub mod snapshot;
pub mod status;
pub mod task;
pub mod text;
pub mod usage;
pub mod writeset;
