//! Agents: one session abstraction over engines, so the controller never knows which protocol it
//! talks to (DESIGN §4).
//!
//! - [`session`]: [`Session`] (start or resume, prompt, events, cancel, shutdown), [`Turn`], and
//!   engine selection (`kimi` detects the installed generation).
//! - Engines, behind the [`engine::Engine`] trait (the only trait of this layer): [`wire`] (kimi-cli
//!   1.x), [`acp`] (Kimi Code 2.x, Qwen Code ([`qwen`]) and any ACP agent, with git-omk serving
//!   `fs/*` and `terminal/*`),
//!   [`exec`] (a command that edits the work dir).
//! - Plumbing: [`jsonrpc`] (bounded line framing), [`conn`] (the agent process and its streams).
//! - Checks and records: [`diffcheck`] (what a turn changed), [`transcript`] and [`record`] (what is
//!   stored in the goal tree, redacted), [`detect`] (finding agents).
//!
//! The rules themselves are pure and live in [`crate::model::policy`]; token prices in
//! [`crate::model::usage`]. This layer spawns only through [`crate::process`], reads settings only
//! through [`crate::settings`], and never writes goals.

pub mod acp;
pub mod conn;
pub mod detect;
pub mod diffcheck;
pub mod engine;
pub mod error;
pub mod event;
pub mod exec;
pub mod jsonrpc;
pub mod qwen;
pub mod record;
pub mod session;
pub mod transcript;
pub mod wire;

pub use error::AgentError;
pub use event::{AgentEvent, Denial, EngineKind, SessionInfo, StopReason, TurnOutcome};
pub use record::{SessionRecord, TurnSummary};
pub use session::{Canceller, Launch, Limits, Session, SessionConfig, Turn, locate};
