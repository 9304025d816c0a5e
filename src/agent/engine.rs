//! The seam between the session and the protocols: one trait every engine implements.
//!
//! Owns the [`Engine`] trait, the cancel signal engines watch while a turn runs, and small helpers
//! all engines share (bounded text, warnings). Must not know any protocol.

use std::ffi::OsString;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;

use super::conn::NoiseCounts;
use super::error::AgentError;
use super::event::{AgentEvent, Denial, SessionInfo, StopReason};
use crate::model::policy::Policy;
use crate::sandbox::Confined;

/// A boxed, sendable future (the engine trait is used as a trait object).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One step of a running turn.
#[derive(Debug)]
pub enum Step {
    /// Something happened.
    Event(AgentEvent),
    /// The turn ended.
    End {
        /// How.
        stop: StopReason,
        /// Whether the agent had to be killed because it ignored a cancel.
        killed: bool,
    },
}

/// An agent engine: a protocol spoken with one agent process (or, for `exec`, one command per turn).
pub trait Engine: Send {
    /// Facts about the session.
    fn info(&self) -> &SessionInfo;

    /// Send a prompt: a turn begins.
    fn begin<'a>(&'a mut self, prompt: &'a str) -> BoxFuture<'a, Result<(), AgentError>>;

    /// The next step of the running turn. Serves the agent's requests (permissions, files,
    /// terminals) under the policy while waiting. When `cancel` fires, asks the agent to stop and,
    /// after the grace period, kills it.
    fn step<'a>(&'a mut self, cancel: &'a mut CancelWatch) -> BoxFuture<'a, Result<Step, AgentError>>;

    /// Protocol noise seen so far.
    fn noise(&self) -> NoiseCounts;

    /// The refusals the agent ended its last turn on without reacting to them (Qwen Code ends its
    /// turn when a permission is rejected; the model never learns why). Taken once, after the turn.
    fn unanswered_refusals(&mut self) -> Vec<Denial> {
        Vec::new()
    }

    /// The process group of the agent, while one runs.
    fn process_group(&self) -> Option<i32>;

    /// Whether [`Engine::renew`] can open a new session in the running agent.
    fn renewable(&self) -> bool {
        false
    }

    /// Open a new session in the running agent, under `policy` (its work dir is the session's), with
    /// the commands the client runs for it started `confined` with `env` (the new session's launch
    /// environment); the previous session is closed, and its requests refused from then on.
    /// Only between turns, and only where [`Engine::renewable`] says so.
    fn renew(
        &mut self,
        _policy: Arc<Policy>,
        _confined: Confined,
        _env: Vec<(OsString, OsString)>,
    ) -> BoxFuture<'_, Result<(), AgentError>> {
        Box::pin(async {
            Err(AgentError::Protocol(
                "this agent cannot open a second session in its process".to_owned(),
            ))
        })
    }

    /// Stop the agent: close its input, give it a moment, kill its process group.
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// The cancel signal of the running turn, as an engine sees it.
#[derive(Debug)]
pub struct CancelWatch {
    rx: watch::Receiver<bool>,
}

impl CancelWatch {
    /// Watch `rx` (true = cancel requested).
    pub fn new(rx: watch::Receiver<bool>) -> CancelWatch {
        CancelWatch { rx }
    }

    /// Resolves once a cancel was requested; never, if the session is gone. Cancel-safe.
    pub async fn requested(&mut self) {
        if self.rx.wait_for(|v| *v).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Whether a cancel was requested.
    pub fn is_requested(&self) -> bool {
        *self.rx.borrow()
    }
}

/// Longest text kept from one tool result or answer piece.
pub const MAX_TEXT: usize = 64 * 1024;

/// `text` cut to at most `max` bytes on a character boundary, with a marker when cut.
pub fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} more bytes]", &text[..end], text.len() - end)
}

/// Warnings emitted as events before the rest are only counted.
pub const MAX_WARNINGS: u32 = 20;

/// Rate-limited warnings.
#[derive(Debug, Default)]
pub struct Warnings {
    emitted: u32,
}

impl Warnings {
    /// An event for `message`, unless too many were emitted already.
    pub fn event(&mut self, message: String) -> Option<AgentEvent> {
        self.emitted += 1;
        match self.emitted {
            n if n < MAX_WARNINGS => Some(AgentEvent::Warning { message }),
            MAX_WARNINGS => Some(AgentEvent::Warning {
                message: format!("{message} (further warnings are only counted)"),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_text_cuts_on_char_boundaries() {
        assert_eq!(bounded("abc", 5), "abc");
        let cut = bounded("ééé", 3);
        assert!(cut.starts_with('é') && cut.contains("more bytes"), "{cut}");
    }

    #[test]
    fn warnings_are_rate_limited() {
        let mut w = Warnings::default();
        let emitted = (0..100).filter_map(|i| w.event(format!("w{i}"))).count();
        assert_eq!(emitted as u32, MAX_WARNINGS);
    }
}
