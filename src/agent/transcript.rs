//! The normalised transcript of a session: the same shape whatever the engine, bounded in size, and
//! secret-redacted when rendered for the goal tree (`agents/<task>/<attempt>/transcript.jsonl`).
//!
//! Owns coalescing of streamed text, the size bound (entries past it are counted, not kept, except
//! the ones the proof needs: turn ends, denials, violations) and rendering. Must not decide anything.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::engine::{MAX_TEXT, bounded};
use super::event::{AgentEvent, Denial, StopReason};
use crate::model::policy::Violation;
use crate::model::redact::redact;
use crate::model::sandbox::Breach;
use crate::model::usage::TokenUsage;

/// Default size bound of a transcript, in bytes of text.
pub const DEFAULT_MAX_BYTES: usize = 4 << 20;

/// One line of a transcript.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// What git-omk asked.
    Prompt {
        /// Turn number.
        turn: u32,
        /// The prompt.
        text: String,
    },
    /// The assistant's answer (streamed pieces joined).
    Text {
        /// Turn number.
        turn: u32,
        /// The text.
        text: String,
    },
    /// The assistant's reasoning.
    Thought {
        /// Turn number.
        turn: u32,
        /// The text.
        text: String,
    },
    /// A tool call.
    ToolCall {
        /// Turn number.
        turn: u32,
        /// Tool call id.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        input: Value,
    },
    /// A tool result.
    ToolResult {
        /// Turn number.
        turn: u32,
        /// Tool call id.
        id: String,
        /// Success.
        ok: bool,
        /// Output (bounded).
        output: String,
    },
    /// A policy refusal.
    Denied {
        /// Turn number.
        turn: u32,
        /// What was refused.
        #[serde(flatten)]
        denial: Denial,
    },
    /// Tokens of one step.
    Usage {
        /// Turn number.
        turn: u32,
        /// Tokens.
        usage: TokenUsage,
    },
    /// A warning.
    Warning {
        /// Turn number.
        turn: u32,
        /// What happened.
        message: String,
    },
    /// A change the policy does not allow.
    Violation {
        /// Turn number.
        turn: u32,
        /// The change.
        #[serde(flatten)]
        violation: Violation,
    },
    /// An attempt to get out of the worktree.
    Breach {
        /// Turn number.
        turn: u32,
        /// What was tried.
        breach: Breach,
    },
    /// The end of a turn.
    TurnEnd {
        /// Turn number.
        turn: u32,
        /// How it ended.
        stop: StopReason,
        /// Tokens of the turn.
        usage: TokenUsage,
    },
}

impl Entry {
    /// The entry for an event of turn `turn`.
    pub fn from_event(turn: u32, event: &AgentEvent) -> Entry {
        match event {
            AgentEvent::Text { text } => Entry::Text {
                turn,
                text: text.clone(),
            },
            AgentEvent::Thought { text } => Entry::Thought {
                turn,
                text: text.clone(),
            },
            AgentEvent::ToolCall { id, name, input } => Entry::ToolCall {
                turn,
                id: id.clone(),
                name: name.clone(),
                input: bounded_value(input),
            },
            AgentEvent::ToolResult { id, ok, output } => Entry::ToolResult {
                turn,
                id: id.clone(),
                ok: *ok,
                output: bounded(output, MAX_TEXT),
            },
            AgentEvent::Denied(denial) => Entry::Denied {
                turn,
                denial: denial.clone(),
            },
            AgentEvent::Usage { usage } => Entry::Usage { turn, usage: *usage },
            AgentEvent::Warning { message } => Entry::Warning {
                turn,
                message: message.clone(),
            },
        }
    }

    fn essential(&self) -> bool {
        matches!(
            self,
            Entry::TurnEnd { .. }
                | Entry::Denied { .. }
                | Entry::Violation { .. }
                | Entry::Breach { .. }
                | Entry::Prompt { .. }
        )
    }

    fn size(&self) -> usize {
        serde_json::to_vec(self).map_or(0, |v| v.len())
    }
}

fn bounded_value(value: &Value) -> Value {
    let text = value.to_string();
    if text.len() <= MAX_TEXT {
        value.clone()
    } else {
        Value::String(bounded(&text, MAX_TEXT))
    }
}

/// A bounded, normalised transcript.
#[derive(Clone, Debug)]
pub struct Transcript {
    entries: Vec<Entry>,
    bytes: usize,
    max_bytes: usize,
    dropped: u64,
}

impl Transcript {
    /// An empty transcript holding at most about `max_bytes`.
    pub fn new(max_bytes: usize) -> Transcript {
        Transcript {
            entries: Vec::new(),
            bytes: 0,
            max_bytes,
            dropped: 0,
        }
    }

    /// The entries kept.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Entries that did not fit.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Add an entry; streamed text joins the previous piece of the same kind and turn.
    pub fn push(&mut self, entry: Entry) {
        if self.coalesce(&entry) {
            return;
        }
        let size = entry.size();
        if self.bytes + size > self.max_bytes && !entry.essential() {
            self.dropped += 1;
            return;
        }
        self.bytes += size;
        self.entries.push(entry);
    }

    fn coalesce(&mut self, entry: &Entry) -> bool {
        let (Some(last), Entry::Text { turn, text } | Entry::Thought { turn, text }) =
            (self.entries.last_mut(), entry)
        else {
            return false;
        };
        let target = match (last, entry) {
            (Entry::Text { turn: t, text: acc }, Entry::Text { .. }) if t == turn => acc,
            (Entry::Thought { turn: t, text: acc }, Entry::Thought { .. }) if t == turn => acc,
            _ => return false,
        };
        if self.bytes + text.len() > self.max_bytes || target.len() + text.len() > 4 * MAX_TEXT {
            self.dropped += 1;
        } else {
            target.push_str(text);
            self.bytes += text.len();
        }
        true
    }

    /// Take the entries so far, leaving an empty transcript with the same bound.
    pub fn take(&mut self) -> Transcript {
        std::mem::replace(self, Transcript::new(self.max_bytes))
    }

    /// Render as JSON lines with every string redacted (`known` are secret values to remove verbatim).
    pub fn to_jsonl(&self, known: &[String]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut lines: Vec<Value> = self
            .entries
            .iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect();
        if self.dropped > 0 {
            lines.push(serde_json::json!({"kind": "truncated", "dropped_entries": self.dropped}));
        }
        for mut line in lines {
            redact_value(&mut line, known);
            out.extend(serde_json::to_vec(&line).expect("serde_json::Value always serialises"));
            out.push(b'\n');
        }
        out
    }
}

/// Redact every string inside `value`, keys included.
pub fn redact_value(value: &mut Value, known: &[String]) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(clean) = redact(s, known) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, known)),
        Value::Object(map) => {
            let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            for (key, mut v) in entries {
                redact_value(&mut v, known);
                map.insert(redact(&key, known).into_owned(), v);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::redact::REDACTED;

    #[test]
    fn streamed_text_is_joined_and_secrets_redacted() {
        let mut t = Transcript::new(DEFAULT_MAX_BYTES);
        t.push(Entry::Prompt {
            turn: 1,
            text: "go".into(),
        });
        for piece in ["the key is ghp_abcdefghij", "klmnopqrstuvwxyz0123 ok"] {
            t.push(Entry::from_event(1, &AgentEvent::Text { text: piece.into() }));
        }
        t.push(Entry::from_event(
            1,
            &AgentEvent::ToolCall {
                id: "c1".into(),
                name: "Shell".into(),
                input: serde_json::json!({"command": "curl -H 'Authorization: Bearer abcdefgh12345678' x"}),
            },
        ));
        assert_eq!(t.entries().len(), 3, "text pieces joined");
        let rendered = String::from_utf8(t.to_jsonl(&[])).unwrap();
        assert!(
            !rendered.contains("ghp_abcdefghijklmnopqrstuvwxyz0123"),
            "{rendered}"
        );
        assert!(!rendered.contains("abcdefgh12345678"), "{rendered}");
        assert_eq!(rendered.matches(REDACTED).count(), 2);
        for line in rendered.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert!(v.get("kind").is_some());
        }
    }

    #[test]
    fn the_size_is_bounded_but_turn_ends_are_kept() {
        let mut t = Transcript::new(10_000);
        for i in 0..1000 {
            t.push(Entry::from_event(
                1,
                &AgentEvent::ToolResult {
                    id: format!("c{i}"),
                    ok: true,
                    output: "x".repeat(100),
                },
            ));
        }
        t.push(Entry::TurnEnd {
            turn: 1,
            stop: StopReason::Finished,
            usage: TokenUsage::default(),
        });
        assert!(t.dropped() > 900);
        assert!(matches!(t.entries().last(), Some(Entry::TurnEnd { .. })));
        let rendered = String::from_utf8(t.to_jsonl(&[])).unwrap();
        let last: Value = serde_json::from_str(rendered.lines().last().unwrap()).unwrap();
        assert_eq!(last["kind"], "truncated");
        assert_eq!(last["dropped_entries"], t.dropped());
    }
}
