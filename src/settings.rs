//! The only place that reads the environment and git configuration (`omk.*` keys, `OMK_*` variables).
//!
//! Owns the names of every setting, their precedence (environment over git config over default) and
//! their validation: an invalid value is an error naming the key, never silently ignored.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;

/// A setting with an unusable value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value `{value}` for {key}: {expected}")]
pub struct SettingError {
    /// The key (`omk.maxAgents` or `OMK_MAX_AGENTS`).
    pub key: String,
    /// Its value.
    pub value: String,
    /// What would have been accepted.
    pub expected: String,
}

/// Read an environment variable (non-empty, valid UTF-8), or `None`.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The host name of this machine.
pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The current directory.
pub fn current_dir() -> std::io::Result<PathBuf> {
    std::env::current_dir()
}

/// git-omk's settings for one repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Run `git maintenance run --auto` after writes (`omk.autoMaintenance`, `OMK_AUTO_MAINTENANCE`).
    pub auto_maintenance: bool,
    /// Default `--agent` (`omk.agent`, `OMK_AGENT`).
    pub agent: Option<String>,
    /// Default `--max-agents` (`omk.maxAgents`, `OMK_MAX_AGENTS`).
    pub max_agents: Option<String>,
}

impl Settings {
    /// Read settings: environment first, then the repository's git configuration (repo, global, system).
    pub fn load(repo: &gix::Repository) -> Result<Settings, SettingError> {
        let config = repo.config_snapshot();
        let lookup = |env_name: &str, key: &str| -> Option<(String, String)> {
            env(env_name)
                .map(|v| (env_name.to_owned(), v))
                .or_else(|| config.string(key).map(|v| (key.to_owned(), v.to_string())))
        };
        let auto_maintenance = match lookup("OMK_AUTO_MAINTENANCE", "omk.autoMaintenance") {
            None => true,
            Some((key, value)) => parse_bool(&key, &value)?,
        };
        Ok(Settings {
            auto_maintenance,
            agent: lookup("OMK_AGENT", "omk.agent").map(|(_, v)| v),
            max_agents: lookup("OMK_MAX_AGENTS", "omk.maxAgents").map(|(_, v)| v),
        })
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool, SettingError> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(SettingError {
            key: key.to_owned(),
            value: value.to_owned(),
            expected: "true or false".to_owned(),
        }),
    }
}

/// A setting with the key it came from (for error messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sourced {
    /// `omk.github.apiUrl`, `OMK_GITHUB_API_URL`, …
    pub key: String,
    /// The value.
    pub value: String,
}

/// A git remote as configured: the URL pushes go to (`pushurl`, else `url`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteSetting {
    /// The remote's name.
    pub name: String,
    /// Its push URL as configured (before `insteadOf` rewriting); `None` when it has none.
    pub url: Option<String>,
}

/// What delivery to GitHub reads from the configuration (DESIGN §9, §10). Tokens are not here: they
/// are read by `github_token_env` only when needed and never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GithubSettings {
    /// API base (`OMK_GITHUB_API_URL`, `omk.github.apiUrl`); GitHub Enterprise uses `https://HOST/api/v3`.
    pub api_url: Option<Sourced>,
    /// `owner/name` override (`OMK_GITHUB_REPO`, `omk.github.repo`).
    pub repo: Option<Sourced>,
    /// The remote to push to: `omk.remote`, else `remote.pushDefault`, else `origin`, else the only remote.
    pub remote: Option<RemoteSetting>,
    /// Every configured remote name (for messages).
    pub remotes: Vec<String>,
}

/// Read the GitHub delivery settings of a repository.
pub fn github(repo: &gix::Repository) -> GithubSettings {
    let config = repo.config_snapshot();
    let lookup = |env_name: &str, key: &str| -> Option<Sourced> {
        env(env_name)
            .map(|value| Sourced {
                key: env_name.to_owned(),
                value,
            })
            .or_else(|| {
                config.string(key).map(|v| Sourced {
                    key: key.to_owned(),
                    value: v.to_string(),
                })
            })
            .filter(|s| !s.value.trim().is_empty())
    };
    let remotes: Vec<String> = repo.remote_names().iter().map(|n| n.to_string()).collect();
    let chosen = lookup("OMK_REMOTE", "omk.remote")
        .map(|s| s.value)
        .or_else(|| config.string("remote.pushDefault").map(|v| v.to_string()))
        .or_else(|| remotes.iter().find(|n| *n == "origin").cloned())
        .or_else(|| (remotes.len() == 1).then(|| remotes[0].clone()));
    let remote = chosen.map(|name| {
        let read = |key: &str| {
            config
                .string_by("remote", Some(name.as_str().into()), key)
                .map(|v| v.to_string())
        };
        let url = read("pushurl").or_else(|| read("url"));
        RemoteSetting { name, url }
    });
    GithubSettings {
        api_url: lookup("OMK_GITHUB_API_URL", "omk.github.apiUrl"),
        repo: lookup("OMK_GITHUB_REPO", "omk.github.repo"),
        remote,
        remotes,
    }
}

/// The GitHub token from the environment: `GH_TOKEN`, then `GITHUB_TOKEN` (the names `gh` uses), with
/// the name it came from. Callers keep it in memory only.
pub fn github_token_env() -> Option<(&'static str, String)> {
    ["GH_TOKEN", "GITHUB_TOKEN"]
        .into_iter()
        .find_map(|name| env(name).map(|v| (name, v.trim().to_owned())))
        .filter(|(_, v)| !v.is_empty())
}
