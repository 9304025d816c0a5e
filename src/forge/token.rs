//! The GitHub token: `GH_TOKEN`, then `GITHUB_TOKEN`, then `gh auth token` (DESIGN §9).
//!
//! Owns the order of sources and a token type that cannot be printed by accident (no `Display`, a
//! redacted `Debug`). Tokens live in memory for one command: they are never written to the repository,
//! its config, a goal, a log or an error message.

use std::fmt;

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
    /// `GH_TOKEN`.
    GhTokenEnv,
    /// `GITHUB_TOKEN`.
    GithubTokenEnv,
    /// `gh auth token`.
    GhCli,
    /// Handed in by the caller (tests, embedding).
    Explicit,
}

impl TokenSource {
    /// How people know the source.
    pub fn describe(self) -> &'static str {
        match self {
            TokenSource::GhTokenEnv => "GH_TOKEN",
            TokenSource::GithubTokenEnv => "GITHUB_TOKEN",
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
#[error(
    "no GitHub token for {host}: set GH_TOKEN (or GITHUB_TOKEN), or log in with `gh auth login --hostname {host}`"
)]
pub struct NoToken {
    /// The host a token was looked for.
    pub host: String,
}

/// Find a token for `host`: the environment first, then `gh`.
pub fn resolve(host: &str) -> Result<Token, NoToken> {
    if let Some((name, secret)) = settings::github_token_env() {
        let source = if name == "GH_TOKEN" {
            TokenSource::GhTokenEnv
        } else {
            TokenSource::GithubTokenEnv
        };
        return Ok(Token { secret, source });
    }
    process::gh_auth_token(host)
        .map(|secret| Token {
            secret,
            source: TokenSource::GhCli,
        })
        .ok_or_else(|| NoToken {
            host: host.to_owned(),
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
