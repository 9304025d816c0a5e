//! The security scanners over a real change between two commits of a real repository.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // `#[tokio::test]` builds its own runtime

use crate::support::git_repo;

use std::fs;
use std::path::Path;

use git_omk::process;
use git_omk::review::changes;
use git_omk::review::scanners::{ChangeKind, ScanOptions, ScannerId, Severity, scan};
use git_omk::store::Store;
use gix::ObjectId;

fn git(home: &Path, repo: &Path, args: &[&str]) -> String {
    let mut cmd = process::git(repo);
    git_repo::hermetic(&mut cmd, home);
    git_repo::fixed_commits(&mut cmd, "2026-01-01T00:00:00Z");
    cmd.args(args);
    let out = process::output(&mut cmd).unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn commit(home: &Path, repo: &Path, message: &str) -> ObjectId {
    git(home, repo, &["add", "-A"]);
    git(home, repo, &["commit", "-q", "-m", message]);
    ObjectId::from_hex(git(home, repo, &["rev-parse", "HEAD"]).as_bytes()).unwrap()
}

#[test]
fn scanners_over_a_committed_change() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, repo) = (tmp.path().join("home"), tmp.path().join("repo"));
    fs::create_dir_all(&home).unwrap();
    fs::create_dir_all(repo.join("src")).unwrap();
    fs::write(
        repo.join("Cargo.toml"),
        "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"1\"\n",
    )
    .unwrap();
    fs::write(repo.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    fs::write(repo.join("NOTES.md"), "old notes\n").unwrap();
    git(&home, &repo, &["init", "-q", "-b", "main"]);
    let base = commit(&home, &repo, "base");

    fs::write(
        repo.join("Cargo.toml"),
        "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"1\"\nreqwest = \"0.12\"\n",
    )
    .unwrap();
    let token = format!("ghp_{}", "T".repeat(36));
    fs::write(
        repo.join("src/lib.rs"),
        format!("pub fn f() {{}}\nconst T: &str = \"{token}\";\n"),
    )
    .unwrap();
    fs::create_dir_all(repo.join(".github/workflows")).unwrap();
    fs::write(repo.join(".github/workflows/ci.yml"), "on: push\n").unwrap();
    fs::write(repo.join(".env"), "X=1\n").unwrap();
    fs::write(repo.join("model.bin"), vec![0u8; 2 * 1024 * 1024]).unwrap();
    fs::remove_file(repo.join("NOTES.md")).unwrap();
    let result = commit(&home, &repo, "result");

    let store = Store::discover(&repo).unwrap();
    let changed = changes::between(&store, base, result).unwrap();
    let kinds: Vec<(&str, ChangeKind)> = changed.iter().map(|c| (c.path.as_str(), c.kind)).collect();
    assert_eq!(
        kinds,
        [
            (".env", ChangeKind::Added),
            (".github/workflows/ci.yml", ChangeKind::Added),
            ("Cargo.toml", ChangeKind::Modified),
            ("NOTES.md", ChangeKind::Deleted),
            ("model.bin", ChangeKind::Added),
            ("src/lib.rs", ChangeKind::Modified),
        ]
    );
    assert_eq!(changed[4].new_size, 2 * 1024 * 1024);

    let findings = scan(&changed, &ScanOptions::default());
    let got: Vec<(Severity, ScannerId, &str, Option<u32>)> = findings
        .iter()
        .map(|f| (f.severity, f.scanner, f.file.as_str(), f.line))
        .collect();
    assert_eq!(
        got,
        [
            (Severity::High, ScannerId::CredentialFiles, ".env", None),
            (
                Severity::High,
                ScannerId::CiChanges,
                ".github/workflows/ci.yml",
                None
            ),
            (Severity::High, ScannerId::LargeFiles, "model.bin", None),
            (Severity::High, ScannerId::Secrets, "src/lib.rs", Some(2)),
            (
                Severity::Medium,
                ScannerId::NewDependencies,
                "Cargo.toml",
                Some(6)
            ),
        ]
    );
    let json = serde_json::to_string(&findings).unwrap();
    assert!(!json.contains(&token), "findings never carry the secret");
}
