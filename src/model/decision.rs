//! Controller and planner decisions: what was chosen, why, on what evidence.
//!
//! Every decision is recorded as an event; `decisions.jsonl` in a goal commit lists all of them so far. Pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::EventId;

/// One recorded decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The id of the event that recorded it.
    pub id: EventId,
    /// When.
    pub at: DateTime<Utc>,
    /// Which step decided (intake, planning, execution, …).
    pub step: String,
    /// What was chosen.
    pub chosen: String,
    /// Why.
    pub why: String,
    /// What it was based on (files, gate results, counts).
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// A decision before it is recorded (the recording event supplies id and time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionDraft {
    /// Which step decided.
    pub step: String,
    /// What was chosen.
    pub chosen: String,
    /// Why.
    pub why: String,
    /// What it was based on.
    #[serde(default)]
    pub evidence: Vec<String>,
}

impl DecisionDraft {
    /// A decision of `step`.
    pub fn new(step: &str, chosen: impl Into<String>, why: impl Into<String>) -> DecisionDraft {
        DecisionDraft {
            step: step.to_owned(),
            chosen: chosen.into(),
            why: why.into(),
            evidence: Vec::new(),
        }
    }

    /// Add evidence.
    pub fn with_evidence(mut self, evidence: impl IntoIterator<Item = String>) -> DecisionDraft {
        self.evidence.extend(evidence);
        self
    }
}
