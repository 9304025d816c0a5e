//! Secret redaction for everything that reaches the goal ref: agent transcripts, logs, evidence
//! (DESIGN §11.2: no token, key or password reaches the goal ref).
//!
//! Owns the patterns of well-known credentials (GitHub tokens, `sk-…` API keys, AWS keys, Slack
//! tokens, JWTs, private key blocks, bearer/basic authorization, `password=`-style assignments,
//! passwords in URLs) and the replacement of known secret values. Pure: the caller supplies the text
//! and any secret values it knows (for example the GitHub token git-omk itself uses).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Shortest known secret value that is replaced verbatim (shorter values would redact ordinary words).
pub const MIN_KNOWN_SECRET_LEN: usize = 8;

struct Rule {
    re: Regex,
    /// Capture group holding the secret; everything else of the match is kept.
    group: usize,
}

fn rule(pattern: &str, group: usize) -> Rule {
    Rule {
        re: Regex::new(pattern).expect("redaction patterns are constant and tested"),
        group,
    }
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // Private key blocks, whole.
        rule(
            r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z))",
            1,
        ),
        // GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained.
        rule(
            r"\b((?:gh[pousr]_[A-Za-z0-9]{16,})|(?:github_pat_[A-Za-z0-9_]{20,}))",
            1,
        ),
        // OpenAI/Anthropic/Moonshot-style API keys.
        rule(r"\b(sk-[A-Za-z0-9][A-Za-z0-9_\-]{15,})", 1),
        // AWS access key ids.
        rule(r"\b((?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16})\b", 1),
        // Slack tokens.
        rule(r"\b(xox[abposr]-[A-Za-z0-9-]{10,})", 1),
        // Google API keys.
        rule(r"\b(AIza[0-9A-Za-z_\-]{30,})", 1),
        // JSON Web Tokens.
        rule(
            r"\b(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
            1,
        ),
        // Bearer tokens and Authorization headers (Basic, token, Digest).
        rule(r"(?i)\bbearer\s+([A-Za-z0-9._~+/=\-]{8,})", 1),
        rule(
            r#"(?i)\bauthorization["']?\s*[:=]\s*["']?(?:basic|token|digest)?\s*([A-Za-z0-9._~+/=\-]{8,})"#,
            1,
        ),
        // Passwords in URLs: scheme://user:password@host.
        rule(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:([^\s@/]+)@", 1),
        // Assignments: password=…, "api_key": "…", GH_TOKEN=…, client_secret: …
        rule(
            r#"(?i)(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?)["']?\s*[:=]\s*["']?([^\s"',;&<>]{4,})"#,
            1,
        ),
    ]
});

/// Replace every secret in `text` with [`REDACTED`]: the well-known credential shapes, plus each of
/// `known` (secret values the caller holds) verbatim when at least [`MIN_KNOWN_SECRET_LEN`] long.
pub fn redact<'a>(text: &'a str, known: &[String]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for secret in known.iter().filter(|s| s.len() >= MIN_KNOWN_SECRET_LEN) {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
        }
    }
    for r in RULES.iter() {
        if let Cow::Owned(replaced) = replace_group(&out, r) {
            out = Cow::Owned(replaced);
        }
    }
    out
}

/// Replace capture group `rule.group` of every match, keeping the rest of the match.
fn replace_group<'t>(text: &'t str, r: &Rule) -> Cow<'t, str> {
    r.re.replace_all(text, |caps: &Captures<'_>| {
        let whole = caps.get(0).expect("group 0 always exists");
        match caps.get(r.group) {
            Some(secret) if secret.as_str() != REDACTED => {
                let start = secret.start() - whole.start();
                let end = secret.end() - whole.start();
                let w = whole.as_str();
                format!("{}{REDACTED}{}", &w[..start], &w[end..])
            }
            _ => whole.as_str().to_owned(),
        }
    })
}

/// Whether `text` still contains something that looks like a secret (for assertions and scanners).
pub fn contains_secret(text: &str) -> bool {
    RULES.iter().any(|r| {
        r.re.captures_iter(text)
            .any(|c| c.get(r.group).is_some_and(|m| m.as_str() != REDACTED))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> String {
        redact(text, &[]).into_owned()
    }

    #[test]
    fn well_known_credentials_are_redacted() {
        let cases = [
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "gho_ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "OPENAI_KEY is sk-proj-abcdefghijklmnop1234",
            "key sk-ant-api03-abcdefghijklmnopqrstu",
            "AKIAIOSFODNN7EXAMPLE",
            "xoxb-123456789012-abcdefghij",
            "AIzaSyA-abcdefghijklmnopqrstuvwxyz12345",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "Authorization: Bearer abc.def-ghi_jkl",
            "curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA=='",
            "https://user:hunter2hunter2@example.com/repo.git",
            "password=hunter2",
            "PASSWORD: correct-horse",
            r#"{"api_key": "abcd1234efgh"}"#,
            "export GH_TOKEN=abcdef123456",
            "client_secret = 's3cr3t-value'",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
        ];
        for case in cases {
            let out = r(case);
            assert!(out.contains(REDACTED), "not redacted: {case} -> {out}");
            assert!(!contains_secret(&out), "still a secret in: {out}");
        }
        let ordinary = "basic functionality, token counting, tokens: 1200, Author: Test User";
        assert_eq!(r(ordinary), ordinary, "ordinary words are not secrets");
    }

    #[test]
    fn surrounding_text_is_kept() {
        assert_eq!(r("password=hunter2 next"), "password=[REDACTED] next");
        assert_eq!(
            r("Authorization: Bearer abcdefgh12345"),
            "Authorization: Bearer [REDACTED]"
        );
        assert_eq!(
            r("git clone https://me:pa55word@github.com/x/y"),
            "git clone https://me:[REDACTED]@github.com/x/y"
        );
        let plain = "Hello from the scripted model\nfn main() { let sk = 1; }";
        assert_eq!(r(plain), plain, "ordinary text is untouched");
        assert!(matches!(redact(plain, &[]), Cow::Borrowed(_)));
    }

    #[test]
    fn known_secret_values_are_replaced_verbatim() {
        let known = vec!["v3ry-sp3cial-value".to_owned(), "short".to_owned()];
        let out = redact("the value v3ry-sp3cial-value is short", &known);
        assert_eq!(out, "the value [REDACTED] is short");
    }

    #[test]
    fn redaction_is_idempotent() {
        let once = r("password=hunter2 ghp_abcdefghijklmnopqrstuvwxyz0123456789");
        assert_eq!(r(&once), once);
    }
}
