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
        // Stripe secret and restricted keys.
        rule(r"\b((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,})", 1),
        // Hugging Face access tokens.
        rule(r"\b(hf_[A-Za-z0-9]{30,})", 1),
        // npm access tokens.
        rule(r"\b(npm_[A-Za-z0-9]{36,})", 1),
        // AWS secret access keys (40 characters of base64) next to an access key id, either side.
        rule(
            r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b[^\n]{0,80}?(?:^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])",
            1,
        ),
        rule(
            r"(?:^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=][^\n]{0,80}?)?\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b",
            1,
        ),
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

/// Redact `pieces` (consecutive pieces of one output stream, as they arrived) in place, including
/// secrets split across two neighbouring pieces: each pair is also looked at joined, and both halves of
/// a secret that crosses the boundary are replaced.
pub fn redact_pieces(pieces: &mut [String], known: &[String]) {
    for i in 1..pieces.len() {
        let (left, right) = pieces.split_at_mut(i);
        redact_across(&mut left[i - 1], &mut right[0], known);
    }
    for piece in pieces.iter_mut() {
        if let Cow::Owned(clean) = redact(piece, known) {
            *piece = clean;
        }
    }
}

/// Most bytes on either side of a boundary looked at for a split secret.
const SPLIT_WINDOW: usize = 4096;

/// Replace the halves of every secret that crosses the boundary between `left` and `right`.
fn redact_across(left: &mut String, right: &mut String, known: &[String]) {
    let mut from = left.len().saturating_sub(SPLIT_WINDOW);
    while !left.is_char_boundary(from) {
        from += 1;
    }
    let mut to = right.len().min(SPLIT_WINDOW);
    while !right.is_char_boundary(to) {
        to -= 1;
    }
    let joined = format!("{}{}", &left[from..], &right[..to]);
    let boundary = left.len() - from;
    let mut spans: Vec<(usize, usize)> = known
        .iter()
        .filter(|s| s.len() >= MIN_KNOWN_SECRET_LEN)
        .flat_map(|s| {
            joined
                .match_indices(s.as_str())
                .map(|(at, m)| (at, at + m.len()))
                .collect::<Vec<_>>()
        })
        .collect();
    for r in RULES.iter() {
        spans.extend(
            r.re.captures_iter(&joined)
                .filter_map(|c| c.get(r.group))
                .map(|m| (m.start(), m.end())),
        );
    }
    let crossing: Vec<(usize, usize)> = spans
        .into_iter()
        .filter(|(start, end)| *start < boundary && *end > boundary)
        .collect();
    let Some(cut_left) = crossing.iter().map(|(start, _)| *start).min() else {
        return;
    };
    let cut_right = crossing.iter().map(|(_, end)| *end).max().unwrap_or(boundary);
    left.replace_range(from + cut_left.., REDACTED);
    right.replace_range(..cut_right - boundary, REDACTED);
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
            "STRIPE=sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "restricted rk_live_51H8abcdefghijklmnopqrstuv",
            "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
            "//registry.npmjs.org/:_authToken npm_abcdefghijklmnopqrstuvwxyz0123456789",
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
    fn an_aws_secret_next_to_its_key_id_is_redacted() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        for line in [
            format!("AKIAIOSFODNN7EXAMPLE,{secret}"),
            format!("id AKIAIOSFODNN7EXAMPLE secret {secret}"),
            format!("{secret} AKIAIOSFODNN7EXAMPLE"),
        ] {
            let out = r(&line);
            assert!(!out.contains(secret), "{line} -> {out}");
            assert!(!out.contains("AKIAIOSFODNN7EXAMPLE"), "{out}");
        }
        let hash = "commit 0123456789abcdef0123456789abcdef01234567 fixes the parser";
        assert_eq!(r(hash), hash, "a 40-character hash alone is not an AWS secret");
    }

    #[test]
    fn a_token_split_across_two_chunks_is_redacted_on_both_sides() {
        let mut pieces = vec![
            "the key is ghp_abcdefghij".to_owned(),
            "klmnopqrstuvwxyz0123 ok".to_owned(),
            "then hf_abcdefghijklmno".to_owned(),
            "pqrstuvwxyzABCDEFGH and a known s3cr3t-".to_owned(),
            "value-123 end".to_owned(),
        ];
        redact_pieces(&mut pieces, &["s3cr3t-value-123".to_owned()]);
        let joined = pieces.concat();
        for leaked in [
            "ghp_",
            "klmnopqrstuvwxyz0123",
            "hf_abc",
            "pqrstuvwxyz",
            "s3cr3t",
            "value-123",
        ] {
            assert!(!joined.contains(leaked), "{leaked} leaked: {pieces:?}");
        }
        assert!(
            pieces[0].starts_with("the key is ") && pieces[1].ends_with(" ok"),
            "{pieces:?}"
        );
        assert!(pieces[4].ends_with(" end"), "{pieces:?}");
        let mut plain = vec!["no secret ".to_owned(), "here".to_owned()];
        redact_pieces(&mut plain, &[]);
        assert_eq!(plain, ["no secret ", "here"]);
    }

    #[test]
    fn redaction_is_idempotent() {
        let once = r("password=hunter2 ghp_abcdefghijklmnopqrstuvwxyz0123456789");
        assert_eq!(r(&once), once);
    }
}
