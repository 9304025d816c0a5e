//! Review findings: what scanners and reviewer sessions reported about a result, and which of them block
//! `ready` (DESIGN §6). Pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::CommitId;

/// How serious a finding is. `High` blocks `ready` unless a human accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    Info,
    /// Worth a glance.
    Low,
    /// Needs a look.
    Medium,
    /// Blocks `ready` until resolved or accepted.
    High,
}

impl Severity {
    /// The name used in JSON and reviewer answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// One finding about the result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Who found it: `scanner:<id>`, `reviewer` or `security-reviewer`.
    pub source: String,
    /// How serious.
    pub severity: Severity,
    /// The path (repository-relative).
    pub file: String,
    /// 1-based line, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// What it is.
    pub message: String,
}

/// The review of one result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The commit reviewed (the integrated result).
    pub commit: CommitId,
    /// Everything found.
    pub findings: Vec<Finding>,
    /// Reviewer sessions that could not give an answer (their findings are missing: a gap, not a pass).
    #[serde(default)]
    pub gaps: Vec<String>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

impl Review {
    /// Findings that block `ready`.
    pub fn blocking(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::High)
    }
}

/// A reviewer's answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AnswerError(pub String);

/// The findings in a reviewer's answer: the last fenced ```json block (or the whole answer) holding
/// `{"findings": [{"severity", "file", "line", "message"}]}`. Paths are checked to stay inside the
/// repository; anything else is an error the reviewer is asked to repair once.
pub fn parse_findings(answer: &str, source: &str) -> Result<Vec<Finding>, AnswerError> {
    #[derive(Deserialize)]
    struct Answer {
        findings: Vec<Raw>,
    }
    #[derive(Deserialize)]
    struct Raw {
        severity: Severity,
        file: String,
        #[serde(default)]
        line: Option<u32>,
        message: String,
    }
    let block = last_json_block(answer).unwrap_or(answer).trim();
    let parsed: Answer = serde_json::from_str(block)
        .map_err(|e| AnswerError(format!("the answer is not a findings object ({e})")))?;
    parsed
        .findings
        .into_iter()
        .map(|r| {
            let file = r.file.trim().trim_start_matches("./").to_owned();
            let escapes = file.starts_with('/')
                || file
                    .split('/')
                    .any(|c| c == ".." || c.eq_ignore_ascii_case(".git"));
            if escapes || r.message.trim().is_empty() {
                return Err(AnswerError(format!(
                    "finding `{}` needs a repository-relative file and a message",
                    file
                )));
            }
            Ok(Finding {
                source: source.to_owned(),
                severity: r.severity,
                file,
                line: r.line,
                message: r.message.trim().to_owned(),
            })
        })
        .collect()
}

fn last_json_block(text: &str) -> Option<&str> {
    let start = text.rfind("```json")? + "```json".len();
    let end = text[start..].find("```")? + start;
    Some(&text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::fake;

    #[test]
    fn answers_are_parsed_and_checked() {
        let answer = "Looks fine mostly.\n```json\n{\"findings\": [{\"severity\": \"high\", \"file\": \"src/a.rs\", \"line\": 3, \"message\": \"unchecked index\"}]}\n```\n";
        let f = parse_findings(answer, "reviewer").unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].line, Some(3));
        assert_eq!(parse_findings("{\"findings\": []}", "reviewer").unwrap(), vec![]);
        assert!(parse_findings("no json here", "reviewer").is_err());
        assert!(
            parse_findings(
                "{\"findings\": [{\"severity\": \"high\", \"file\": \"../x\", \"message\": \"m\"}]}",
                "r"
            )
            .is_err()
        );
        assert!(
            parse_findings(
                "{\"findings\": [{\"severity\": \"fatal\", \"file\": \"x\", \"message\": \"m\"}]}",
                "r"
            )
            .is_err()
        );
    }

    #[test]
    fn only_high_findings_block() {
        let finding = |severity| Finding {
            source: "scanner:secrets".into(),
            severity,
            file: "a".into(),
            line: None,
            message: "m".into(),
        };
        let review = Review {
            commit: fake::commit("c"),
            findings: [Severity::Info, Severity::Low, Severity::Medium, Severity::High]
                .into_iter()
                .map(finding)
                .collect(),
            gaps: Vec::new(),
            at: DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
                .expect("valid time")
                .with_timezone(&Utc),
        };
        let blocking: Vec<Severity> = review.blocking().map(|f| f.severity).collect();
        assert_eq!(blocking, [Severity::High]);
        assert!(Severity::High > Severity::Medium && Severity::Low > Severity::Info);
        let json = serde_json::to_string(&review.findings[3]).expect("serialisable");
        assert_eq!(
            json, r#"{"source":"scanner:secrets","severity":"high","file":"a","message":"m"}"#,
            "no line is left out, not written as null"
        );
    }

    #[test]
    fn the_last_json_block_wins_and_paths_are_normalised() {
        let answer = "First draft:\n```json\n{\"findings\": [{\"severity\": \"high\", \"file\": \"x\", \"message\": \"old\"}]}\n```\nFinal:\n```json\n{\"findings\": [{\"severity\": \"low\", \"file\": \"./src/b.rs\", \"message\": \"  nit  \"}]}\n```";
        let f = parse_findings(answer, "security-reviewer").expect("a valid answer");
        assert_eq!(
            f,
            [Finding {
                source: "security-reviewer".into(),
                severity: Severity::Low,
                file: "src/b.rs".into(),
                line: None,
                message: "nit".into(),
            }]
        );
    }

    #[test]
    fn findings_outside_the_repository_or_without_a_message_are_refused() {
        for (file, message) in [
            ("/etc/passwd", "m"),
            (".git/config", "m"),
            ("a/../../b", "m"),
            ("src/a.rs", "   "),
        ] {
            let answer =
                serde_json::json!({"findings": [{"severity": "low", "file": file, "message": message}]});
            let err = parse_findings(&answer.to_string(), "reviewer");
            assert!(err.is_err(), "{file} {message:?}");
        }
        assert!(parse_findings("{\"findings\": {}}", "reviewer").is_err());
    }
}
