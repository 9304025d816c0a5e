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
    /// git's `gc.auto` (loose-object threshold of automatic maintenance; 0 disables it).
    pub gc_auto: u64,
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
        let gc_auto = match config.integer("gc.auto") {
            None => 6700,
            Some(n) => u64::try_from(n).unwrap_or(0),
        };
        Ok(Settings {
            auto_maintenance,
            gc_auto,
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
