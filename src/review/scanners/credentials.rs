//! The credential-files scanner: adding or changing a file whose kind holds credentials (`.env`,
//! SSH private keys, key stores, `.netrc`, `.git-credentials`, registry configurations with tokens…)
//! is `high`; a certificate-only PEM file is `info`.

use super::{ChangeKind, ChangedFile, Finding, ScannerId, Severity, file_name};

/// Env files that are templates, not secrets.
const ENV_TEMPLATES: [&str; 6] = ["example", "sample", "template", "dist", "defaults", "tpl"];
/// File names that are private keys or credential stores whatever their contents.
const SECRET_NAMES: [&str; 10] = [
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    ".netrc",
    "_netrc",
    ".git-credentials",
    ".htpasswd",
    ".pgpass",
    "credentials",
];
/// Extensions of key and certificate stores.
const KEY_EXTENSIONS: [&str; 9] = [
    "pem", "key", "p12", "pfx", "jks", "keystore", "ppk", "kdbx", "asc",
];

/// Findings for one changed file.
pub(super) fn scan(change: &ChangedFile) -> Vec<Finding> {
    if change.kind == ChangeKind::Deleted {
        return Vec::new();
    }
    let contents = change.new.as_deref().unwrap_or_default();
    let Some((severity, what)) = classify(&change.path, contents) else {
        return Vec::new();
    };
    let verb = if change.kind == ChangeKind::Added {
        "added"
    } else {
        "changed"
    };
    let message = format!("{what} is {verb}: credentials must not be committed");
    vec![Finding::new(
        ScannerId::CredentialFiles,
        severity,
        &change.path,
        None,
        message,
    )]
}

fn classify(path: &str, contents: &[u8]) -> Option<(Severity, &'static str)> {
    let name = file_name(path);
    let lower = name.to_ascii_lowercase();
    let body = String::from_utf8_lossy(contents);
    let has = |needle: &str| body.contains(needle);
    if lower == ".env" || (lower.starts_with(".env.") && !ENV_TEMPLATES.iter().any(|t| lower.ends_with(t))) {
        return Some((Severity::High, "an environment file"));
    }
    if SECRET_NAMES.contains(&lower.as_str()) {
        let parent_is_aws = path.ends_with(".aws/credentials");
        let generic = lower == "credentials" && !parent_is_aws;
        return (!generic).then_some((Severity::High, "a credentials file"));
    }
    if let Some((_, ext)) = lower.rsplit_once('.')
        && KEY_EXTENSIONS.contains(&ext)
    {
        let certificate_only = has("BEGIN CERTIFICATE") && !has("PRIVATE KEY");
        return Some(if certificate_only {
            (Severity::Info, "a certificate")
        } else {
            (Severity::High, "a private key or key store")
        });
    }
    registry_config(&lower, path, &has)
}

/// Tool configurations that are harmless unless they carry a token.
fn registry_config(lower: &str, path: &str, has: &dyn Fn(&str) -> bool) -> Option<(Severity, &'static str)> {
    let with_token = match lower {
        ".npmrc" | ".yarnrc" | ".yarnrc.yml" => {
            has("_authToken") || has("_auth") || has("npmAuthToken") || has("_password")
        }
        ".pypirc" => has("password"),
        "config.json" if path.ends_with(".docker/config.json") => has("\"auth\""),
        _ if lower.ends_with(".json") => has("\"private_key\"") && has("\"client_email\""),
        _ => false,
    };
    with_token.then_some((Severity::High, "a configuration file with credentials"))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn credential_files_table() {
        let cases: [(&str, &str, Option<Severity>); 20] = [
            (".env", "A=1", Some(Severity::High)),
            ("app/.env.production", "A=1", Some(Severity::High)),
            (".env.example", "A=", None),
            (".env.sample", "A=", None),
            ("deploy/id_rsa", "x", Some(Severity::High)),
            ("deploy/id_rsa.pub", "ssh-rsa AAA", None),
            (
                "certs/server.pem",
                "-----BEGIN PRIVATE KEY-----",
                Some(Severity::High),
            ),
            (
                "certs/ca.pem",
                "-----BEGIN CERTIFICATE-----",
                Some(Severity::Info),
            ),
            ("keys/app.p12", "\0binary", Some(Severity::High)),
            ("tls.key", "whatever", Some(Severity::High)),
            (
                ".npmrc",
                "//registry.npmjs.org/:_authToken=abc",
                Some(Severity::High),
            ),
            (".npmrc", "save-exact=true", None),
            (".pypirc", "[pypi]\npassword = x", Some(Severity::High)),
            (
                "home/.netrc",
                "machine x login y password z",
                Some(Severity::High),
            ),
            (".git-credentials", "https://u:p@h", Some(Severity::High)),
            ("home/.aws/credentials", "[default]", Some(Severity::High)),
            ("src/credentials", "not aws", None),
            (
                ".docker/config.json",
                "{\"auths\":{\"x\":{\"auth\":\"abc\"}}}",
                Some(Severity::High),
            ),
            (
                "gcp/sa.json",
                "{\"private_key\":\"x\",\"client_email\":\"y\"}",
                Some(Severity::High),
            ),
            ("src/main.rs", "fn main() {}", None),
        ];
        for (path, contents, expected) in cases {
            let got: Vec<Severity> = scan(&added(path, contents))
                .into_iter()
                .map(|f| f.severity)
                .collect();
            assert_eq!(got, expected.into_iter().collect::<Vec<_>>(), "{path}");
        }
        assert!(
            scan(&deleted(".env", "A=1")).is_empty(),
            "removing a credential file is fine"
        );
        let changed = scan(&modified(".env", "A=1", "A=2"));
        assert!(changed[0].message.contains("changed"));
    }
}
