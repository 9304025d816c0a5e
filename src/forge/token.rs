//! The GitHub token, looked up as `gh` does (DESIGN §9): for github.com `GH_TOKEN`, then `GITHUB_TOKEN`;
//! for GitHub Enterprise Server `GH_ENTERPRISE_TOKEN`, then `GITHUB_ENTERPRISE_TOKEN`; then
//! `gh auth token --hostname HOST`.
//!
//! Owns the order of sources and a token type that cannot be printed by accident (no `Display`, a
//! redacted `Debug`). Tokens live in memory for one command: they are never written to the repository,
//! its config, a goal, a log or an error message.

use std::fmt;

use super::target::GithubHost;
use crate::{process, settings};

/// A secret token. `Debug` shows only where it came from.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    secret: String,
    source: TokenSource,
}

/// Where a token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// An environment variable (`GH_TOKEN`, `GITHUB_TOKEN`, `GH_ENTERPRISE_TOKEN`, …).
    Env(&'static str),
    /// `gh auth token`.
    GhCli,
    /// Handed in by the caller (tests, embedding).
    Explicit,
}

impl TokenSource {
    /// How people know the source.
    pub fn describe(self) -> &'static str {
        match self {
            TokenSource::Env(name) => name,
            TokenSource::GhCli => "gh auth token",
            TokenSource::Explicit => "the caller",
        }
    }
}

impl Token {
    /// A token handed in by the caller.
    pub fn explicit(secret: impl Into<String>) -> Token {
        Token {
            secret: secret.into(),
            source: TokenSource::Explicit,
        }
    }

    /// Where it came from.
    pub fn source(&self) -> TokenSource {
        self.source
    }

    /// The secret, for the HTTP client only.
    pub(crate) fn expose(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(<redacted> from {})", self.source.describe())
    }
}

/// No token anywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no GitHub token for {host}: set {variables}, or log in with `gh auth login --hostname {host}`")]
pub struct NoToken {
    /// The host a token was looked for.
    pub host: String,
    /// The variables that were looked at, in words.
    pub variables: String,
}

/// Find a token for `host`: the environment first (the variables `gh` reads for that kind of host),
/// then `gh`.
pub fn resolve(host: &GithubHost) -> Result<Token, NoToken> {
    if let Some((name, secret)) = settings::github_token_env(host.is_enterprise()) {
        return Ok(Token {
            secret,
            source: TokenSource::Env(name),
        });
    }
    process::gh_auth_token(&host.name)
        .map(|secret| Token {
            secret,
            source: TokenSource::GhCli,
        })
        .ok_or_else(|| NoToken {
            host: host.name.clone(),
            variables: if host.is_enterprise() {
                "GH_ENTERPRISE_TOKEN (or GITHUB_ENTERPRISE_TOKEN)"
            } else {
                "GH_TOKEN (or GITHUB_TOKEN)"
            }
            .to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_print() {
        let t = Token::explicit("ghp_supersecret");
        assert!(!format!("{t:?}").contains("supersecret"));
        assert_eq!(t.expose(), "ghp_supersecret");
    }
}
