//! The CI-changes scanner: any change to CI configuration (workflows can exfiltrate secrets or
//! weaken checks) or to git-omk's own gate configuration (a change must not redefine its own
//! verification) is `high`; changes to code ownership or automation settings are `medium`.

use super::{ChangeKind, ChangedFile, Finding, ScannerId, Severity, file_name};

/// Path prefixes of CI configuration directories.
const CI_DIRS: [&str; 8] = [
    ".github/workflows/",
    ".github/actions/",
    ".gitlab/ci/",
    ".circleci/",
    ".buildkite/",
    ".woodpecker/",
    ".ci/",
    ".omk/",
];
/// Root files of CI systems.
const CI_FILES: [&str; 9] = [
    ".gitlab-ci.yml",
    "azure-pipelines.yml",
    ".travis.yml",
    "Jenkinsfile",
    "bitbucket-pipelines.yml",
    ".drone.yml",
    ".woodpecker.yml",
    "appveyor.yml",
    ".cirrus.yml",
];
/// Files that change who reviews or what automation does.
const GOVERNANCE_FILES: [&str; 4] = [
    ".github/CODEOWNERS",
    "CODEOWNERS",
    ".github/dependabot.yml",
    "renovate.json",
];

/// Findings for one changed file.
pub(super) fn scan(change: &ChangedFile) -> Vec<Finding> {
    let path = change.path.as_str();
    let verb = match change.kind {
        ChangeKind::Added => "added",
        ChangeKind::Modified => "changed",
        ChangeKind::Deleted => "deleted",
    };
    let (severity, what) = if path.starts_with(".omk/") {
        (Severity::High, "git-omk's gate configuration")
    } else if CI_DIRS.iter().any(|d| path.starts_with(d))
        || CI_FILES.contains(&path)
        || file_name(path) == "Jenkinsfile"
    {
        (Severity::High, "CI configuration")
    } else if GOVERNANCE_FILES.contains(&path) {
        (Severity::Medium, "review or automation settings")
    } else {
        return Vec::new();
    };
    let message = format!("{what} is {verb}: a human must review it");
    vec![Finding::new(ScannerId::CiChanges, severity, path, None, message)]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn ci_paths_table() {
        let cases: [(&str, Option<Severity>); 14] = [
            (".github/workflows/ci.yml", Some(Severity::High)),
            (".github/actions/setup/action.yml", Some(Severity::High)),
            (".gitlab-ci.yml", Some(Severity::High)),
            (".circleci/config.yml", Some(Severity::High)),
            ("Jenkinsfile", Some(Severity::High)),
            ("services/api/Jenkinsfile", Some(Severity::High)),
            (".ci/run", Some(Severity::High)),
            (".omk/gates.toml", Some(Severity::High)),
            (".github/CODEOWNERS", Some(Severity::Medium)),
            (".github/dependabot.yml", Some(Severity::Medium)),
            (".github/ISSUE_TEMPLATE/bug.md", None),
            ("docs/workflows.md", None),
            ("src/.github/workflows.rs", None),
            ("README.md", None),
        ];
        for (path, expected) in cases {
            let got: Vec<Severity> = scan(&added(path, "x")).into_iter().map(|f| f.severity).collect();
            assert_eq!(got, expected.into_iter().collect::<Vec<_>>(), "{path}");
        }
        let gone = scan(&deleted(".github/workflows/ci.yml", "x"));
        assert_eq!(gone[0].severity, Severity::High, "deleting CI is a change too");
        assert!(gone[0].message.contains("deleted"));
    }
}
