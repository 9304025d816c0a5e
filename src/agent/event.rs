//! What a session reports: events while a turn runs, and the outcome when it ends.
//!
//! Engine-neutral: the controller never learns which protocol produced them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::policy::Violation;
use crate::model::sandbox::Breach;
use crate::model::usage::TokenUsage;

/// Which engine drives a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// kimi-cli 1.x over Wire.
    KimiWire,
    /// Kimi Code 2.x over ACP.
    KimiAcp,
    /// Qwen Code over ACP.
    Qwen,
    /// Any other ACP agent.
    Acp,
    /// A command that edits the work dir and exits.
    Exec,
}

impl EngineKind {
    /// The name used in records and `doctor`.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::KimiWire => "kimi-wire",
            EngineKind::KimiAcp => "kimi-acp",
            EngineKind::Qwen => "qwen",
            EngineKind::Acp => "acp",
            EngineKind::Exec => "exec",
        }
    }
}

/// Facts about a running session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The engine.
    pub engine: EngineKind,
    /// The agent's own name, when it says.
    pub agent: Option<String>,
    /// The agent's version, when it says.
    pub version: Option<String>,
    /// Protocol and version (`wire/1.10`, `acp/1`, `exec`).
    pub protocol: String,
    /// The program that was started.
    pub program: String,
    /// The engine's session id, to resume after a crash (none for `exec`).
    pub session_id: Option<String>,
    /// The model, for pricing, when known.
    pub model: Option<String>,
}

/// A tool call or file access the policy refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    /// The tool or request (`WriteFile`, `fs/write_text_file`, `terminal/create`…).
    pub tool: String,
    /// The path or command it was aimed at.
    pub target: String,
    /// The reason given back to the model.
    pub reason: String,
}

/// Something that happened during a turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentEvent {
    /// A piece of the assistant's answer.
    Text {
        /// The text.
        text: String,
    },
    /// A piece of the assistant's reasoning.
    Thought {
        /// The text.
        text: String,
    },
    /// The agent calls a tool.
    ToolCall {
        /// Tool call id.
        id: String,
        /// Tool name.
        name: String,
        /// Its arguments, as far as known.
        input: Value,
    },
    /// A tool call finished.
    ToolResult {
        /// Tool call id.
        id: String,
        /// Whether it succeeded.
        ok: bool,
        /// What it returned (bounded).
        output: String,
    },
    /// The policy refused something.
    Denied(Denial),
    /// Tokens of one LLM step (reported by the agent, or estimated and marked so).
    Usage {
        /// The step's tokens.
        usage: TokenUsage,
    },
    /// Protocol noise or a recoverable problem worth knowing about.
    Warning {
        /// What happened.
        message: String,
    },
}

/// How a turn ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// The agent finished its answer.
    Finished,
    /// The turn was cancelled.
    Cancelled,
    /// The agent hit its own step limit.
    MaxSteps,
    /// The model hit its token limit.
    MaxTokens,
    /// The model refused.
    Refused,
    /// The turn failed inside the agent (an LLM error, a non-zero exit of an exec command).
    Failed {
        /// What the agent said.
        message: String,
    },
}

/// Everything the controller needs to know about a finished turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TurnOutcome {
    /// 1-based turn number within the session.
    pub number: u32,
    /// How it ended.
    pub stop: StopReason,
    /// Tokens of the turn.
    pub usage: TokenUsage,
    /// The assistant's answer text of the turn (bounded).
    pub text: String,
    /// What the policy refused during the turn.
    pub denials: Vec<Denial>,
    /// Paths the worktree changed during the turn (relative to the worktree).
    pub changed: Vec<String>,
    /// Changes the policy does not allow: any violation fails the attempt.
    pub violations: Vec<Violation>,
    /// Attempts to get out of the worktree (sandbox refusals, a rewritten `.git` pointer): any breach
    /// fails the attempt.
    pub breaches: Vec<Breach>,
    /// Whether the agent ignored a cancel and had to be killed (the session is then unusable).
    pub agent_killed: bool,
    /// Refusals the agent ended the turn on without reacting to them (Qwen Code ends its turn when
    /// a permission is rejected, so its model never learns why). The session's next prompt states
    /// them (see [`TurnOutcome::refusal_note`]).
    #[serde(default)]
    pub unanswered_refusals: Vec<Denial>,
}

impl TurnOutcome {
    /// What the next prompt must tell the agent about refusals it never reacted to; `None` when
    /// there were none.
    pub fn refusal_note(&self) -> Option<String> {
        refusal_note(&self.unanswered_refusals)
    }

    /// Evidence for a failed attempt: the policy violations and breaches, in words the next attempt's
    /// prompt can carry. `None` when the turn broke no rule.
    pub fn violation_evidence(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.violations.is_empty() {
            let lines: Vec<String> = self
                .violations
                .iter()
                .map(|v| format!("- {}: {}", v.path, v.reason))
                .collect();
            parts.push(format!(
                "The change broke the task's policy:\n{}",
                lines.join("\n")
            ));
        }
        if !self.breaches.is_empty() {
            let lines: Vec<String> = self
                .breaches
                .iter()
                .map(|b| format!("- {}", b.evidence()))
                .collect();
            parts.push(format!(
                "The agent tried to act outside its worktree (work only inside it, and never on git's own files):\n{}",
                lines.join("\n")
            ));
        }
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }
}

/// The words that tell an agent what git-omk refused at the end of its previous turn, and why.
pub fn refusal_note(refusals: &[Denial]) -> Option<String> {
    if refusals.is_empty() {
        return None;
    }
    let lines: Vec<String> = refusals
        .iter()
        .map(|d| match d.target.as_str() {
            "" => format!("- {}: {}", d.tool, d.reason),
            target => format!("- {} `{}`: {}", d.tool, target, d.reason),
        })
        .collect();
    Some(format!(
        "Your previous turn ended right after git-omk refused {}:\n{}\nThese stay refused: do not try them \
         again; reach the goal another way within the task's rules.",
        if refusals.len() == 1 {
            "this action"
        } else {
            "these actions"
        },
        lines.join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_stated_with_their_reasons() {
        assert_eq!(refusal_note(&[]), None);
        let note = refusal_note(&[Denial {
            tool: "write_file".into(),
            target: "/elsewhere/evil.txt".into(),
            reason: "outside the worktree".into(),
        }])
        .expect("a note");
        assert!(note.contains("refused this action"), "{note}");
        assert!(
            note.contains("- write_file `/elsewhere/evil.txt`: outside the worktree"),
            "{note}"
        );
    }
}
