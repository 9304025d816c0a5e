//! The secrets scanner: recognised secrets in the lines a change adds (patterns in
//! `model::secrets`). A recognised token format or private key is `high`; a secret-looking value
//! assigned to a password/token/key name is `medium`.

use super::{ChangedFile, Finding, ScanOptions, ScannerId, Severity, added_lines, is_binary, text};
use crate::model::secrets::find_secrets;

/// Findings for one changed file.
pub(super) fn scan(change: &ChangedFile, options: &ScanOptions) -> Vec<Finding> {
    let Some(new) = &change.new else {
        return Vec::new();
    };
    if is_binary(new) {
        return Vec::new();
    }
    let new_text = text(new, options.max_scan_bytes);
    let old_text = change.old.as_ref().map(|o| text(o, options.max_scan_bytes));
    let mut findings = Vec::new();
    for (line_no, line) in added_lines(old_text.as_deref(), &new_text) {
        for found in find_secrets(line) {
            let severity = if found.kind.is_certain() {
                Severity::High
            } else {
                Severity::Medium
            };
            let message = format!("{} is added here (value not shown)", found.kind.describe());
            findings.push(Finding::new(
                ScannerId::Secrets,
                severity,
                &change.path,
                Some(line_no),
                message,
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn run(change: ChangedFile) -> Vec<(Severity, Option<u32>)> {
        scan(&change, &ScanOptions::default())
            .into_iter()
            .map(|f| (f.severity, f.line))
            .collect()
    }

    #[test]
    fn secrets_in_added_lines() {
        let aws = "aws = \"AKIAABCDEFGHIJKLMNOP\"\n";
        type Case = (&'static str, ChangedFile, Vec<(Severity, Option<u32>)>);
        let cases: Vec<Case> = vec![
            (
                "token in a new file",
                added("a.py", &format!("x = 1\n{aws}")),
                vec![(Severity::High, Some(2))],
            ),
            (
                "private key",
                added("k.txt", "-----BEGIN EC PRIVATE KEY-----\nMHc\n"),
                vec![(Severity::High, Some(1))],
            ),
            (
                "assignment",
                added("settings.py", "DB_PASSWORD = 'hunter2hunter2'\n"),
                vec![(Severity::Medium, Some(1))],
            ),
            (
                "already there before",
                modified("a.py", aws, &format!("{aws}y = 2\n")),
                vec![],
            ),
            (
                "moved within the file",
                modified("a.py", &format!("a\n{aws}"), &format!("{aws}a\n")),
                vec![],
            ),
            (
                "added next to an old one",
                modified("a.py", aws, &format!("{aws}{aws}")),
                vec![(Severity::High, Some(2))],
            ),
            ("deleted", deleted("a.py", aws), vec![]),
            ("binary", added("a.bin", &format!("\0{aws}")), vec![]),
            (
                "placeholder",
                added(".env.example", "API_KEY=your-api-key-here\n"),
                vec![],
            ),
        ];
        for (name, change, expected) in cases {
            assert_eq!(run(change), expected, "{name}");
        }
    }

    #[test]
    fn messages_never_quote_the_secret() {
        let findings = scan(
            &added("a.py", "key = \"AKIAABCDEFGHIJKLMNOP\"\n"),
            &ScanOptions::default(),
        );
        assert_eq!(findings.len(), 1);
        assert!(!findings[0].message.contains("AKIA"));
        assert_eq!(findings[0].scanner, ScannerId::Secrets);
    }
}
