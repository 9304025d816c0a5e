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

/// Environment variables holding git-omk's own secrets, which agents and their tools never inherit.
pub const SECRET_ENV: &[&str] = &[
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
];
/// Prefixes of git-omk's secret variables.
pub const SECRET_ENV_PREFIXES: &[&str] = &["OMK_GITHUB_"];

/// Whether `name` is one of git-omk's secret variables.
pub fn is_secret_env(name: &str) -> bool {
    SECRET_ENV.contains(&name) || SECRET_ENV_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Names of the secret variables: the fixed ones, and those with a secret prefix present in this
/// process's environment.
pub fn secret_env_names() -> Vec<std::ffi::OsString> {
    let mut names: Vec<std::ffi::OsString> = SECRET_ENV.iter().map(std::ffi::OsString::from).collect();
    names.extend(
        std::env::vars_os()
            .map(|(k, _)| k)
            .filter(|k| k.to_str().is_some_and(is_secret_env) && !SECRET_ENV.iter().any(|s| k == s)),
    );
    names
}

/// The values of git-omk's secret variables, for verbatim redaction.
pub fn secret_env_values() -> Vec<String> {
    secret_env_names()
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Token prices configured as `omk.price.<model>.input` and `omk.price.<model>.output` (USD per
/// million tokens), from the repository's git configuration (repo, global and system; later files
/// win). A model with only one of the two prices configured is an error, not a half-free model.
pub fn price_table(repo: &gix::Repository) -> Result<crate::model::usage::PriceTable, SettingError> {
    use crate::model::usage::{Price, PriceTable, parse_price};
    use std::collections::BTreeMap;
    let config = repo.config_snapshot();
    let mut parts: BTreeMap<String, (Option<u64>, Option<u64>)> = BTreeMap::new();
    let Some(sections) = config.plumbing().sections_by_name("omk") else {
        return Ok(PriceTable::default());
    };
    for section in sections {
        let Some(model) = section
            .header()
            .subsection_name()
            .and_then(|s| s.to_string().strip_prefix("price.").map(str::to_owned))
        else {
            continue;
        };
        for (name, output) in [("input", false), ("output", true)] {
            if let Some(value) = section.value(name) {
                let value = value.to_string();
                let micros = parse_price(&value).map_err(|e| SettingError {
                    key: format!("omk.price.{model}.{name}"),
                    value,
                    expected: e.to_string(),
                })?;
                let entry = parts.entry(model.clone()).or_default();
                if output {
                    entry.1 = Some(micros);
                } else {
                    entry.0 = Some(micros);
                }
            }
        }
    }
    let mut table = PriceTable::default();
    for (model, (input, output)) in parts {
        match (input, output) {
            (Some(i), Some(o)) => table.insert(
                &model,
                Price {
                    input_micros_per_mtok: i,
                    output_micros_per_mtok: o,
                },
            ),
            (i, _) => {
                let missing = if i.is_none() { "input" } else { "output" };
                return Err(SettingError {
                    key: format!("omk.price.{model}.{missing}"),
                    value: String::new(),
                    expected: "a price for both input and output tokens".to_owned(),
                });
            }
        }
    }
    Ok(table)
}
