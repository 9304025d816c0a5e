//! The large-files scanner: a binary at least the size threshold is `high` (it bloats every clone
//! forever and cannot be reviewed), a large text file `medium`, any smaller binary `low`. Contents too
//! large to have been read count as binary.

use super::{ChangeKind, ChangedFile, Finding, ScanOptions, ScannerId, Severity, is_binary};

/// Findings for one changed file.
pub(super) fn scan(change: &ChangedFile, options: &ScanOptions) -> Vec<Finding> {
    if change.kind == ChangeKind::Deleted {
        return Vec::new();
    }
    let size = change.new_size;
    let large = size >= options.large_file_bytes;
    let binary = change.new.as_deref().is_none_or(is_binary);
    let (severity, what) = match (binary, large) {
        (true, true) => (Severity::High, "a large binary file"),
        (false, true) => (Severity::Medium, "a large file"),
        (true, false) => (Severity::Low, "a binary file"),
        (false, false) => return Vec::new(),
    };
    let message = format!("{what} ({size} bytes) is committed");
    vec![Finding::new(
        ScannerId::LargeFiles,
        severity,
        &change.path,
        None,
        message,
    )]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn sizes_and_binaries_table() {
        let options = ScanOptions {
            large_file_bytes: 100,
            ..ScanOptions::default()
        };
        let text = "x".repeat(150);
        let binary = format!("\0{}", "y".repeat(150));
        let unread = ChangedFile {
            new: None,
            new_size: 1 << 40,
            ..added("huge.iso", "")
        };
        let cases: [(ChangedFile, Option<Severity>); 7] = [
            (unread, Some(Severity::High)),
            (added("big.bin", &binary), Some(Severity::High)),
            (added("big.txt", &text), Some(Severity::Medium)),
            (added("icon.png", "\0\u{1}"), Some(Severity::Low)),
            (added("small.txt", "hello"), None),
            (modified("big.txt", "", &text), Some(Severity::Medium)),
            (deleted("big.bin", &binary), None),
        ];
        for (change, expected) in cases {
            let path = change.path.clone();
            let got: Vec<Severity> = scan(&change, &options).into_iter().map(|f| f.severity).collect();
            assert_eq!(got, expected.into_iter().collect::<Vec<_>>(), "{path}");
        }
    }
}
