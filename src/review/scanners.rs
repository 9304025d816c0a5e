//! Built-in security scanners over a change (DESIGN §6): secrets, credential files, CI and gate
//! configuration changes, large binaries, new dependencies.
//!
//! Pure functions over plain data: the caller passes every changed path with its old and new contents
//! (read from the base and result trees). Findings never quote a secret. Must not read files, spawn or
//! decide readiness: `high` findings are what the proof treats as blocking.

mod ci;
mod credentials;
mod deps;
mod large;
mod secrets;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// How a path changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// New in the result.
    Added,
    /// In both, with different contents (or mode).
    Modified,
    /// Gone from the result.
    Deleted,
}

/// One changed path and its contents before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedFile {
    /// Repository-relative path, `/`-separated.
    pub path: String,
    /// How it changed.
    pub kind: ChangeKind,
    /// Contents on the base (absent when added).
    pub old: Option<Vec<u8>>,
    /// Contents on the result (absent when deleted, or when too large to read).
    pub new: Option<Vec<u8>>,
    /// Size of the result's contents in bytes (0 when deleted), known even when they were not read.
    pub new_size: u64,
}

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

/// Which scanner reported a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScannerId {
    /// Secrets in added lines.
    Secrets,
    /// Files that hold credentials.
    CredentialFiles,
    /// CI workflows and git-omk's own gate configuration.
    CiChanges,
    /// Large files and binaries.
    LargeFiles,
    /// Dependencies added to a manifest.
    NewDependencies,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The scanner.
    pub scanner: ScannerId,
    /// How serious.
    pub severity: Severity,
    /// The path.
    pub file: String,
    /// 1-based line in the new contents, when the finding has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// What was found (never the secret itself).
    pub message: String,
}

/// Scanner settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanOptions {
    /// Files at least this large are reported (binary ones as `high`).
    pub large_file_bytes: u64,
    /// Only this much of a file is scanned for secrets.
    pub max_scan_bytes: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            large_file_bytes: 1024 * 1024,
            max_scan_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Run every scanner over a change; findings sorted by severity (highest first), file and line.
pub fn scan(changes: &[ChangedFile], options: &ScanOptions) -> Vec<Finding> {
    let mut findings = Vec::new();
    for change in changes {
        findings.extend(secrets::scan(change, options));
        findings.extend(credentials::scan(change));
        findings.extend(ci::scan(change));
        findings.extend(large::scan(change, options));
        findings.extend(deps::scan(change));
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.file.cmp(&b.file))
            .then_with(|| a.line.cmp(&b.line))
            .then_with(|| a.scanner.cmp(&b.scanner))
    });
    findings
}

/// Whether bytes look binary (a NUL in the first 8000 bytes, as git decides).
pub(crate) fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8000).any(|b| *b == 0)
}

/// The file name of a path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Lines of `new` that `old` does not have (as a multiset), with 1-based line numbers.
pub(crate) fn added_lines<'a>(old: Option<&'a str>, new: &'a str) -> Vec<(u32, &'a str)> {
    let mut remaining: HashMap<&str, usize> = HashMap::new();
    for line in old.unwrap_or_default().lines() {
        *remaining.entry(line).or_default() += 1;
    }
    let mut added = Vec::new();
    for (i, line) in new.lines().enumerate() {
        match remaining.get_mut(line) {
            Some(n) if *n > 0 => *n -= 1,
            _ => added.push((u32::try_from(i + 1).unwrap_or(u32::MAX), line)),
        }
    }
    added
}

/// The text of some contents (lossy), bounded.
pub(crate) fn text(bytes: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(max)]).into_owned()
}

impl Finding {
    pub(crate) fn new(
        scanner: ScannerId,
        severity: Severity,
        file: &str,
        line: Option<u32>,
        message: String,
    ) -> Finding {
        Finding {
            scanner,
            severity,
            file: file.to_owned(),
            line,
            message,
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn added(path: &str, new: &str) -> ChangedFile {
        ChangedFile {
            path: path.to_owned(),
            kind: ChangeKind::Added,
            old: None,
            new: Some(new.as_bytes().to_vec()),
            new_size: new.len() as u64,
        }
    }

    pub fn modified(path: &str, old: &str, new: &str) -> ChangedFile {
        ChangedFile {
            path: path.to_owned(),
            kind: ChangeKind::Modified,
            old: Some(old.as_bytes().to_vec()),
            new: Some(new.as_bytes().to_vec()),
            new_size: new.len() as u64,
        }
    }

    pub fn deleted(path: &str, old: &str) -> ChangedFile {
        ChangedFile {
            path: path.to_owned(),
            kind: ChangeKind::Deleted,
            old: Some(old.as_bytes().to_vec()),
            new: None,
            new_size: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn added_lines_are_a_multiset_difference() {
        let old = "a\nb\nb\nc\n";
        let new = "a\nb\nx\nb\nb\nc\n";
        assert_eq!(added_lines(Some(old), new), vec![(3, "x"), (5, "b")]);
        assert_eq!(added_lines(None, "p\nq"), vec![(1, "p"), (2, "q")]);
    }

    #[test]
    fn a_change_gets_findings_from_every_scanner_sorted_by_severity() {
        let key = format!("token = \"ghp_{}\"\n", "k".repeat(36));
        let changes = [
            added("src/config.rs", &key),
            added(".env", "DEBUG=1\n"),
            modified(
                ".github/workflows/ci.yml",
                "on: push\n",
                "on: [push, pull_request]\n",
            ),
            added("assets/blob.bin", &"\0".repeat(2 * 1024 * 1024)),
            modified(
                "Cargo.toml",
                "[dependencies]\nserde = \"1\"\n",
                "[dependencies]\nserde = \"1\"\nleftpad = \"0.1\"\n",
            ),
            deleted("old.txt", "gone\n"),
        ];
        let findings = scan(&changes, &ScanOptions::default());
        let got: Vec<(Severity, ScannerId, &str)> = findings
            .iter()
            .map(|f| (f.severity, f.scanner, f.file.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Severity::High, ScannerId::CredentialFiles, ".env"),
                (Severity::High, ScannerId::CiChanges, ".github/workflows/ci.yml"),
                (Severity::High, ScannerId::LargeFiles, "assets/blob.bin"),
                (Severity::High, ScannerId::Secrets, "src/config.rs"),
                (Severity::Medium, ScannerId::NewDependencies, "Cargo.toml"),
            ]
        );
        assert!(
            findings.iter().all(|f| !f.message.contains("kkkk")),
            "secrets are never quoted"
        );
        let json = serde_json::to_value(&findings[0]).unwrap();
        assert_eq!(json["scanner"], "credential-files");
        assert_eq!(json["severity"], "high");
    }
}
