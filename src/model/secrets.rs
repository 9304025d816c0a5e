//! Recognising secrets in text: well-known token formats, private keys, credentials in URLs and
//! secret-looking assignments (DESIGN §11, invariant 2).
//!
//! Owns the patterns the security scanner reports, with their kind and position, so a finding can
//! name a secret without quoting it. (Redacting text before it enters a goal is `model::redact`.)
//! Pure: text in, matches out.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// What kind of secret was recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// A PEM private key header.
    PrivateKey,
    /// An AWS access key id.
    AwsAccessKey,
    /// A GitHub token (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`).
    GithubToken,
    /// A GitLab personal access token.
    GitlabToken,
    /// A Slack token.
    SlackToken,
    /// An OpenAI/Anthropic-style `sk-` API key.
    ApiKey,
    /// A Google API key.
    GoogleApiKey,
    /// A Stripe live key.
    StripeKey,
    /// An npm or PyPI publish token.
    PackageRegistryToken,
    /// A JSON Web Token.
    Jwt,
    /// A password inside a URL (`scheme://user:password@host`).
    UrlCredentials,
    /// A value assigned to a password/secret/token/key-like name.
    Assignment,
}

impl SecretKind {
    /// Whether the format itself identifies a secret (as opposed to a name that suggests one).
    pub fn is_certain(self) -> bool {
        !matches!(self, SecretKind::Assignment)
    }

    /// Words for people.
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::PrivateKey => "a private key",
            SecretKind::AwsAccessKey => "an AWS access key id",
            SecretKind::GithubToken => "a GitHub token",
            SecretKind::GitlabToken => "a GitLab token",
            SecretKind::SlackToken => "a Slack token",
            SecretKind::ApiKey => "an API key",
            SecretKind::GoogleApiKey => "a Google API key",
            SecretKind::StripeKey => "a Stripe live key",
            SecretKind::PackageRegistryToken => "a package registry token",
            SecretKind::Jwt => "a JSON Web Token",
            SecretKind::UrlCredentials => "a password in a URL",
            SecretKind::Assignment => "a hard-coded secret value",
        }
    }
}

/// A secret found in a line: its kind and the byte range of the secret value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretMatch {
    /// The kind.
    pub kind: SecretKind,
    /// Start of the secret value (bytes).
    pub start: usize,
    /// End of the secret value (bytes).
    pub end: usize,
}

/// Pattern, kind, and which capture group holds the secret value.
static PATTERNS: LazyLock<Vec<(Regex, SecretKind, usize)>> = LazyLock::new(|| {
    let table: [(&str, SecretKind, usize); 12] = [
        (
            r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----",
            SecretKind::PrivateKey,
            0,
        ),
        (r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b", SecretKind::AwsAccessKey, 1),
        (
            r"\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
            SecretKind::GithubToken,
            1,
        ),
        (r"\b(glpat-[A-Za-z0-9_-]{20,})", SecretKind::GitlabToken, 1),
        (r"\b(xox[abposr]-[A-Za-z0-9-]{10,})", SecretKind::SlackToken, 1),
        (r"\b(sk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,})", SecretKind::ApiKey, 1),
        (r"\b(AIza[0-9A-Za-z_-]{35})", SecretKind::GoogleApiKey, 1),
        (r"\b((?:sk|rk)_live_[0-9A-Za-z]{24,})", SecretKind::StripeKey, 1),
        (
            r"\b(npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_-]{50,})",
            SecretKind::PackageRegistryToken,
            1,
        ),
        (
            r"\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})",
            SecretKind::Jwt,
            1,
        ),
        (
            r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:([^/\s:@]{3,})@",
            SecretKind::UrlCredentials,
            1,
        ),
        (
            r#"(?i)\b[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|auth[_-]?key)["']?\s*[:=]\s*["']?([^\s"'`,;)(\]\[{}<>]{8,})"#,
            SecretKind::Assignment,
            1,
        ),
    ];
    table
        .into_iter()
        .map(|(re, kind, group)| {
            let re = Regex::new(re).expect("the secret patterns are valid regular expressions (tested)");
            (re, kind, group)
        })
        .collect()
});

/// Values that are obviously not secrets: placeholders, variable references, repeated characters.
fn placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let markers = [
        "example",
        "changeme",
        "placeholder",
        "dummy",
        "your_",
        "your-",
        "redacted",
        "xxxx",
        "****",
    ];
    let first = value.chars().next().unwrap_or(' ');
    let all_same = value.chars().all(|c| c == first);
    let reference =
        value.starts_with(['$', '%', '<', '{']) || lower.starts_with("env.") || lower.contains("environ");
    let code = lower.starts_with("process.") || lower.starts_with("self.") || lower.starts_with("os.");
    all_same || reference || code || markers.iter().any(|m| lower.contains(m))
}

/// Every secret in `line`, in order of position (overlaps keep the first found).
pub fn find_secrets(line: &str) -> Vec<SecretMatch> {
    let mut found: Vec<SecretMatch> = Vec::new();
    for (re, kind, group) in PATTERNS.iter() {
        for caps in re.captures_iter(line) {
            let Some(m) = caps.get(*group) else { continue };
            if *kind == SecretKind::Assignment && placeholder(m.as_str()) {
                continue;
            }
            let overlaps = found.iter().any(|f| m.start() < f.end && f.start < m.end());
            if !overlaps {
                found.push(SecretMatch {
                    kind: *kind,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
    }
    found.sort_by_key(|m| m.start);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(line: &str) -> Vec<SecretKind> {
        find_secrets(line).into_iter().map(|m| m.kind).collect()
    }

    #[test]
    fn known_formats_are_found() {
        use SecretKind::*;
        let gh = format!("ghp_{}", "a1B2".repeat(9));
        let cases: Vec<(String, Vec<SecretKind>)> = vec![
            ("-----BEGIN RSA PRIVATE KEY-----".into(), vec![PrivateKey]),
            ("-----BEGIN OPENSSH PRIVATE KEY-----".into(), vec![PrivateKey]),
            ("-----BEGIN PRIVATE KEY-----".into(), vec![PrivateKey]),
            ("aws_id = AKIAIOSFODNN7EXAMPLE".into(), vec![AwsAccessKey]),
            (format!("push with {gh} now"), vec![GithubToken]),
            (format!("github_pat_{}", "x".repeat(30)), vec![GithubToken]),
            ("glpat-abcdefghijklmnopqrstu".into(), vec![GitlabToken]),
            ("xoxb-1234567890-abcdef".into(), vec![SlackToken]),
            (format!("OPENAI=sk-proj-{}", "Ab3".repeat(12)), vec![ApiKey]),
            (format!("AIza{}", "B".repeat(35)), vec![GoogleApiKey]),
            (format!("sk_live_{}", "9".repeat(24)), vec![StripeKey]),
            (format!("//registry.npmjs.org/:_authToken=npm_{}", "a".repeat(36)), vec![PackageRegistryToken]),
            ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U".into(), vec![Jwt]),
            ("url = https://bob:hunter2x@example.org/repo.git".into(), vec![UrlCredentials]),
            ("DB_PASSWORD=s3cr3tP4ss".into(), vec![Assignment]),
            ("api_key: \"Zx81nQp0aLw2\"".into(), vec![Assignment]),
            ("\"client_secret\": \"f00dBabe1234\"".into(), vec![Assignment]),
        ];
        for (line, expected) in cases {
            assert_eq!(kinds(&line), expected, "{line}");
        }
    }

    #[test]
    fn ordinary_text_and_placeholders_are_not_secrets() {
        let lines = [
            "fn password_is_valid(p: &str) -> bool {",
            "password = os.environ[\"DB_PASSWORD\"]",
            "token = ${{ secrets.GITHUB_TOKEN }}",
            "API_KEY=changeme-in-prod",
            "password: \"********\"",
            "secret = <your secret here>",
            "KIMI_MODEL_API_KEY=sk-fake",
            "token = process.env.NPM_TOKEN",
            "let token_count = 12345678;",
            "see https://example.org/path:8080",
            "AKIA is a prefix",
        ];
        for line in lines {
            assert_eq!(kinds(line), Vec::<SecretKind>::new(), "{line}");
        }
    }
}
