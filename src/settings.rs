//! The only place that reads the environment and git configuration (`omk.*` keys, `OMK_*` variables).
//!
//! Owns the names of every setting, their precedence (environment over git config over default) and
//! their validation: an invalid value is an error naming the key, never silently ignored.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::budget;
use crate::model::lease;
use crate::model::options::{AgentSpec, MAX_AGENTS_LIMIT, RoleAgents, parse_max_agents};
use crate::model::sandbox::{SandboxMode, SandboxSettings};
use crate::model::usage::{Price, PriceTable, parse_price};

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

/// The host name of this machine: `OMK_HOST` when set (tests simulate several machines with it; leases
/// and event actors record this name), else the system's host name.
pub fn host_name() -> String {
    if let Some(host) = env("OMK_HOST") {
        return host;
    }
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

/// The configuration given on git's command line (`git -c key=value omk …`), which git passes to the
/// commands it runs in `GIT_CONFIG_PARAMETERS`: each as `key=value`, or `key` alone for an implicit
/// `true`, in the order given, ready for gix's command-line overrides. (`GIT_CONFIG_COUNT` and
/// `GIT_CONFIG_KEY_<n>`/`GIT_CONFIG_VALUE_<n>` are read by gix itself.)
pub fn git_config_parameters() -> Result<Vec<String>, SettingError> {
    let Some(text) = env("GIT_CONFIG_PARAMETERS") else {
        return Ok(Vec::new());
    };
    parse_config_parameters(&text).ok_or_else(|| SettingError {
        key: "GIT_CONFIG_PARAMETERS".to_owned(),
        value: text,
        expected: "the format git writes for `git -c` (`'key'='value' …`)".to_owned(),
    })
}

/// Read git's `GIT_CONFIG_PARAMETERS` format: space-separated entries, each a shell-single-quoted key
/// followed by `=` and a quoted value (`'omk.maxAgents'='7'`), `=` and nothing (an implicit `true`), or
/// the older single quoted `'key=value'`. `None` when it is not in that format.
fn parse_config_parameters(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (key, after) = single_quoted(rest)?;
        rest = match after.strip_prefix('=') {
            Some(value) if value.starts_with('\'') => {
                let (value, after) = single_quoted(value)?;
                out.push(format!("{key}={value}"));
                after
            }
            Some(after) => {
                out.push(key);
                after
            }
            None => {
                out.push(key);
                after
            }
        };
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            return None;
        }
        rest = rest.trim_start();
    }
    Some(out)
}

/// One shell-single-quoted word at the start of `text` (`'it'\''s'` is `it's`), and what follows it.
fn single_quoted(text: &str) -> Option<(String, &str)> {
    let mut word = String::new();
    let mut rest = text.strip_prefix('\'')?;
    loop {
        let end = rest.find('\'')?;
        word.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        match rest.strip_prefix("\\'\'") {
            Some(after) => {
                word.push('\'');
                rest = after;
            }
            None => return Some((word, rest)),
        }
    }
}

/// Variables with which git tells a program where a repository is (`git --git-dir=… omk` exports
/// `GIT_DIR`). git-omk reads `GIT_DIR` and `GIT_WORK_TREE` once, at start-up, to find the user's
/// repository ([`git_location`]); no child process ever inherits any of them (`process::git`, the
/// sandbox), so every git command git-omk or an agent runs addresses the repository it names itself.
pub const GIT_LOCATION_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
];

/// Where git said the repository is, when git-omk was started with `GIT_DIR` set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitLocation {
    /// `GIT_DIR`, absolute.
    pub git_dir: PathBuf,
    /// `GIT_WORK_TREE`, absolute, when set.
    pub work_tree: Option<PathBuf>,
}

/// The repository named by `GIT_DIR` (and `GIT_WORK_TREE`) in git-omk's own environment, with relative
/// paths taken from the current directory; `None` when `GIT_DIR` is not set.
pub fn git_location() -> Option<GitLocation> {
    let cwd = current_dir().unwrap_or_default();
    let absolute = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(|v| cwd.join(PathBuf::from(v)))
    };
    Some(GitLocation {
        git_dir: absolute("GIT_DIR")?,
        work_tree: absolute("GIT_WORK_TREE"),
    })
}

/// git-omk's settings for one repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Run `git maintenance run --auto` after writes (`omk.autoMaintenance`, `OMK_AUTO_MAINTENANCE`).
    pub auto_maintenance: bool,
    /// git's `gc.auto` (loose-object threshold of automatic maintenance; 0 disables it).
    pub gc_auto: u64,
    /// Agents by role: `omk.agent` (`OMK_AGENT`) for all, `omk.agent.task`, `omk.agent.planner`,
    /// `omk.agent.reviewer` (`OMK_AGENT_TASK`, `OMK_AGENT_PLANNER`, `OMK_AGENT_REVIEWER`).
    pub agents: RoleAgents,
    /// Default `--max-agents` (`omk.maxAgents`, `OMK_MAX_AGENTS`).
    pub max_agents: Option<u16>,
    /// Default `--slice-prs` of `goal run` (`omk.delivery.slicePrs`, `OMK_DELIVERY_SLICE_PRS`).
    pub slice_prs: bool,
    /// Where task worktrees live (`omk.worktreeRoot`, `OMK_WORKTREE_ROOT`; default: the user's cache).
    pub worktree_root: PathBuf,
    /// Most bytes task worktrees of this repository may take before `gc` prunes finished ones
    /// (`omk.worktreeQuota`, `OMK_WORKTREE_QUOTA`, like `2G`; default 10 GiB).
    pub worktree_quota: u64,
    /// Longest agent turn (`omk.turnTimeout`, `OMK_TURN_TIMEOUT`, a duration; default 30m).
    pub turn_timeout: Duration,
    /// The `kimi` launcher (`omk.kimiProgram`, `OMK_KIMI_PROGRAM`; default `kimi` on `PATH`).
    pub kimi_program: Option<PathBuf>,
    /// The `qwen` launcher (`omk.qwenProgram`, `OMK_QWEN_PROGRAM`; default `qwen` on `PATH`).
    pub qwen_program: Option<PathBuf>,
    /// Extra arguments for the agent (`omk.agentArgs`, `OMK_AGENT_ARGS`, a JSON array of strings).
    pub agent_args: Vec<String>,
    /// The model name used for pricing when the agent does not tell it (`omk.agentModel`, `OMK_AGENT_MODEL`).
    pub agent_model: Option<String>,
    /// A command run (with `sh -c`, outside any sandbox) when a driven goal stops ready, not_ready,
    /// failed, blocked_on_human or needs_more_budget, the event as JSON on stdin (`omk.notify`,
    /// `OMK_NOTIFY`).
    pub notify: Option<String>,
    /// Fault injection for crash tests (`OMK_FAULT=<point>`): the controller kills itself there.
    pub fault: Option<String>,
    /// Confinement of agents and gates (`omk.sandbox`, `omk.sandbox.allowWrite`, `omk.sandbox.hide`;
    /// `OMK_SANDBOX`, `OMK_SANDBOX_ALLOW_WRITE`, `OMK_SANDBOX_HIDE`; `--no-sandbox`).
    pub sandbox: SandboxSettings,
    /// Output-pinning tests: the clock starts here and moves a second per read (`OMK_TEST_TIME`, RFC 3339).
    pub test_time: Option<DateTime<Utc>>,
    /// Output-pinning tests: the seed of the random bytes ids are made of (`OMK_TEST_SEED`).
    pub test_seed: Option<u64>,
    /// Lease tests: how long a controller's lease holds without renewal, in seconds
    /// (`OMK_TEST_LEASE_TTL`, at least 1; `model::lease::TTL_SECS` otherwise). Test-only.
    pub lease_ttl_secs: i64,
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
        let agent = |env_name: &str, key: &str| {
            lookup(env_name, key)
                .map(|(key, v)| parse_agent(&key, &v))
                .transpose()
        };
        let auto_maintenance = match lookup("OMK_AUTO_MAINTENANCE", "omk.autoMaintenance") {
            None => true,
            Some((key, value)) => parse_bool(&key, &value)?,
        };
        let gc_auto = match config.integer("gc.auto") {
            None => 6700,
            Some(n) => u64::try_from(n).unwrap_or(0),
        };
        let worktree_root = match lookup("OMK_WORKTREE_ROOT", "omk.worktreeRoot") {
            Some((_, v)) => PathBuf::from(v),
            None => default_cache_dir().join("worktrees"),
        };
        let worktree_quota = match lookup("OMK_WORKTREE_QUOTA", "omk.worktreeQuota") {
            Some((key, v)) => parse_size(&key, &v)?,
            None => 10 << 30,
        };
        let turn_timeout = match lookup("OMK_TURN_TIMEOUT", "omk.turnTimeout") {
            Some((key, v)) => parse_duration(&key, &v)?,
            None => Duration::from_secs(30 * 60),
        };
        let agent_args = match lookup("OMK_AGENT_ARGS", "omk.agentArgs") {
            Some((key, v)) => serde_json::from_str::<Vec<String>>(&v).map_err(|_| SettingError {
                key,
                value: v,
                expected: "a JSON array of strings, like [\"--config\", \"{}\"]".to_owned(),
            })?,
            None => Vec::new(),
        };
        let slice_prs = match lookup("OMK_DELIVERY_SLICE_PRS", "omk.delivery.slicePrs") {
            None => false,
            Some((key, value)) => parse_bool(&key, &value)?,
        };
        Ok(Settings {
            auto_maintenance,
            slice_prs,
            gc_auto,
            agents: RoleAgents {
                all: agent("OMK_AGENT", "omk.agent")?,
                task: agent("OMK_AGENT_TASK", "omk.agent.task")?,
                planner: agent("OMK_AGENT_PLANNER", "omk.agent.planner")?,
                reviewer: agent("OMK_AGENT_REVIEWER", "omk.agent.reviewer")?,
            },
            max_agents: lookup("OMK_MAX_AGENTS", "omk.maxAgents")
                .map(|(key, v)| {
                    parse_max_agents(&v).map_err(|_| SettingError {
                        key,
                        value: v,
                        expected: format!("use a number of agents from 1 to {MAX_AGENTS_LIMIT}"),
                    })
                })
                .transpose()?,
            worktree_root,
            worktree_quota,
            turn_timeout,
            kimi_program: lookup("OMK_KIMI_PROGRAM", "omk.kimiProgram").map(|(_, v)| PathBuf::from(v)),
            qwen_program: lookup("OMK_QWEN_PROGRAM", "omk.qwenProgram").map(|(_, v)| PathBuf::from(v)),
            agent_args,
            agent_model: lookup("OMK_AGENT_MODEL", "omk.agentModel").map(|(_, v)| v),
            notify: lookup("OMK_NOTIFY", "omk.notify")
                .map(|(_, v)| v)
                .filter(|v| !v.trim().is_empty()),
            fault: env("OMK_FAULT"),
            sandbox: sandbox_settings(&config)?,
            test_time: env("OMK_TEST_TIME")
                .map(|v| parse_time("OMK_TEST_TIME", &v))
                .transpose()?,
            test_seed: env("OMK_TEST_SEED")
                .map(|v| {
                    v.parse().map_err(|_| SettingError {
                        key: "OMK_TEST_SEED".to_owned(),
                        value: v,
                        expected: "a whole number".to_owned(),
                    })
                })
                .transpose()?,
            lease_ttl_secs: env("OMK_TEST_LEASE_TTL")
                .map(|v| parse_lease_ttl(&v))
                .transpose()?
                .unwrap_or(lease::TTL_SECS),
        })
    }
}

/// `OMK_TEST_LEASE_TTL`: whole seconds, at least 1.
fn parse_lease_ttl(value: &str) -> Result<i64, SettingError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|secs| (1..=lease::TTL_SECS).contains(secs))
        .ok_or_else(|| SettingError {
            key: "OMK_TEST_LEASE_TTL".to_owned(),
            value: value.to_owned(),
            expected: format!("whole seconds from 1 to {}", lease::TTL_SECS),
        })
}

/// Set by the command line before any setting is read: `--no-sandbox`.
static SANDBOX_OFF_BY_FLAG: std::sync::OnceLock<()> = std::sync::OnceLock::new();

/// Turn the sandbox off for this process (`--no-sandbox` on the command line), above the environment
/// and the git configuration.
pub fn turn_sandbox_off() {
    let _ = SANDBOX_OFF_BY_FLAG.set(());
}

fn sandbox_settings(config: &gix::config::Snapshot<'_>) -> Result<SandboxSettings, SettingError> {
    let mode = match env("OMK_SANDBOX")
        .map(|v| ("OMK_SANDBOX".to_owned(), v))
        .or_else(|| {
            config
                .string("omk.sandbox")
                .map(|v| ("omk.sandbox".to_owned(), v.to_string()))
        }) {
        _ if SANDBOX_OFF_BY_FLAG.get().is_some() => SandboxMode::Off,
        None => SandboxMode::Auto,
        Some((key, value)) => value
            .parse()
            .map_err(|expected| SettingError { key, value, expected })?,
    };
    Ok(SandboxSettings {
        mode,
        allow_write: sandbox_paths(config, "OMK_SANDBOX_ALLOW_WRITE", "omk.sandbox.allowWrite")?,
        hide: sandbox_paths(config, "OMK_SANDBOX_HIDE", "omk.sandbox.hide")?,
    })
}

/// A list of paths: the variable (separated like `PATH`) and every value of the multi-valued key;
/// each absolute or under `~/`.
fn sandbox_paths(
    config: &gix::config::Snapshot<'_>,
    env_name: &str,
    key: &str,
) -> Result<Vec<PathBuf>, SettingError> {
    let mut values: Vec<(String, String)> = env(env_name)
        .map(|v| {
            std::env::split_paths(&v)
                .map(|p| (env_name.to_owned(), p.display().to_string()))
                .collect()
        })
        .unwrap_or_default();
    values.extend(
        config
            .strings(key)
            .unwrap_or_default()
            .into_iter()
            .map(|v| (key.to_owned(), v.to_string())),
    );
    let home = env("HOME").map(PathBuf::from);
    values
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(key, value)| match (value.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => Ok(home.join(rest)),
            _ if Path::new(&value).is_absolute() => Ok(PathBuf::from(&value)),
            _ => Err(SettingError {
                key,
                value,
                expected: "an absolute path or one under ~/".to_owned(),
            }),
        })
        .collect()
}

/// Where man pages of the user go: `$XDG_DATA_HOME/man/man1`, else `~/.local/share/man/man1`; `None`
/// without a home directory.
pub fn user_man_dir() -> Option<PathBuf> {
    let data = env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("man").join("man1"))
}

/// Whether the terminal says it cannot move the cursor or show colours (`TERM=dumb`).
pub fn dumb_terminal() -> bool {
    env("TERM").is_some_and(|t| t == "dumb")
}

/// The user's cache directory for git-omk (`$XDG_CACHE_HOME/git-omk`, else `~/.cache/git-omk`).
fn default_cache_dir() -> PathBuf {
    let base = env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("git-omk")
}

fn parse_size(key: &str, value: &str) -> Result<u64, SettingError> {
    let t = value.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => 64,
    };
    match digits.parse::<u64>() {
        Ok(n) if shift < 64 && n > 0 => Ok(n << shift),
        _ => Err(SettingError {
            key: key.to_owned(),
            value: value.to_owned(),
            expected: "a size like 500M or 10G".to_owned(),
        }),
    }
}

fn parse_duration(key: &str, value: &str) -> Result<Duration, SettingError> {
    budget::parse_duration(value).map_err(|_| SettingError {
        key: key.to_owned(),
        value: value.to_owned(),
        expected: "a duration like 30m or 2h".to_owned(),
    })
}

fn parse_time(key: &str, value: &str) -> Result<DateTime<Utc>, SettingError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| SettingError {
            key: key.to_owned(),
            value: value.to_owned(),
            expected: "an RFC 3339 time like 2026-11-22T10:00:00Z".to_owned(),
        })
}

/// An agent setting (`omk.agent`, `omk.agent.<role>`).
fn parse_agent(key: &str, value: &str) -> Result<AgentSpec, SettingError> {
    value.trim().parse::<AgentSpec>().map_err(|_| SettingError {
        key: key.to_owned(),
        value: value.to_owned(),
        expected: "use kimi, kimi-wire, kimi-acp, qwen, acp:<command> or exec:<command>".to_owned(),
    })
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
pub fn price_table(repo: &gix::Repository) -> Result<PriceTable, SettingError> {
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
    /// Its push URL after `url.<base>.insteadOf`/`pushInsteadOf` rewriting, as git pushes to it, parsed
    /// by gix; `None` when it has none.
    pub url: Option<gix::Url>,
}

/// What delivery to GitHub reads from the configuration (DESIGN §9, §10). Tokens are not here: they
/// are read by `github_token_env` only when needed and never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GithubSettings {
    /// API base (`OMK_GITHUB_API_URL`, `omk.github.apiUrl`); default from the host.
    pub api_url: Option<Sourced>,
    /// `owner/name` override (`OMK_GITHUB_REPO`, `omk.github.repo`).
    pub repo: Option<Sourced>,
    /// The remote to push to: `omk.remote`, else `remote.pushDefault`, else `origin`, else the only remote.
    pub remote: Option<RemoteSetting>,
    /// Every configured remote name (for messages).
    pub remotes: Vec<String>,
    /// `GH_HOST`: the GitHub host when the remote's URL names none (as `gh` uses it).
    pub gh_host: Option<String>,
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
    let remote = chosen.map(|name| RemoteSetting {
        url: push_url(repo, &name),
        name,
    });
    GithubSettings {
        api_url: lookup("OMK_GITHUB_API_URL", "omk.github.apiUrl"),
        repo: lookup("OMK_GITHUB_REPO", "omk.github.repo"),
        remote,
        remotes,
        gh_host: env("GH_HOST")
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty()),
    }
}

/// Inside a GitHub Actions run, the repository and API the run belongs to (`GITHUB_REPOSITORY`,
/// `GITHUB_API_URL`), where git-omk's own settings do not say otherwise. Used by the steps git-omk's
/// workflows run (`ci verify-pr`), whose checkout may name its remote in any way.
pub fn with_actions_defaults(mut settings: GithubSettings) -> GithubSettings {
    let sourced = |name: &str| {
        env(name).map(|value| Sourced {
            key: name.to_owned(),
            value,
        })
    };
    if settings.repo.is_none() {
        settings.repo = sourced("GITHUB_REPOSITORY");
    }
    if settings.api_url.is_none() {
        settings.api_url = sourced("GITHUB_API_URL");
    }
    settings
}

/// The URL `git push NAME` goes to: gix applies `insteadOf`/`pushInsteadOf` as git does. A URL whose
/// rewrite fails is used as configured.
fn push_url(repo: &gix::Repository, name: &str) -> Option<gix::Url> {
    let found = repo.try_find_remote_without_url_rewrite(name)?;
    let mut remote = match found {
        Ok(remote) => remote,
        Err(e) => {
            tracing::warn!("cannot read remote `{name}`: {e}");
            return None;
        }
    };
    if let Err(e) = remote.rewrite_urls() {
        tracing::warn!("cannot apply the URL rewrites of remote `{name}`: {e}");
    }
    remote.url(gix::remote::Direction::Push).cloned()
}

/// The GitHub token from the environment, with the variable it came from, chosen as `gh` chooses: for
/// GitHub Enterprise Server `GH_ENTERPRISE_TOKEN`, then `GITHUB_ENTERPRISE_TOKEN` (and `GITHUB_TOKEN` in
/// a Codespace); for github.com and its tenants `GH_TOKEN`, then `GITHUB_TOKEN`. Callers keep it in
/// memory only.
pub fn github_token_env(enterprise: bool) -> Option<(&'static str, String)> {
    let codespace = env("CODESPACES").is_some_and(|v| parse_bool("CODESPACES", &v).unwrap_or(false));
    let names: &[&'static str] = match (enterprise, codespace) {
        (false, _) => &["GH_TOKEN", "GITHUB_TOKEN"],
        (true, false) => &["GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"],
        (true, true) => &["GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", "GITHUB_TOKEN"],
    };
    names.iter().find_map(|name| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .map(|v| (*name, v))
    })
}

/// The refspecs of one configured remote, and the values `git omk remote setup` recorded as added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteRefspecs {
    /// `remote.<name>.fetch`, in order.
    pub fetch: Vec<String>,
    /// `remote.<name>.push`, in order.
    pub push: Vec<String>,
    /// `omk.remote.<name>.addedFetch`: fetch refspecs `remote setup` added.
    pub added_fetch: Vec<String>,
    /// `omk.remote.<name>.addedPush`: push refspecs `remote setup` added.
    pub added_push: Vec<String>,
}

/// Names of the configured remotes.
pub fn remote_names(repo: &gix::Repository) -> Vec<String> {
    repo.remote_names().iter().map(|n| n.to_string()).collect()
}

/// The remote the current branch pulls from (`branch.<name>.remote`), unless it is the repository itself
/// (`.`) or HEAD is detached.
pub fn upstream_remote(repo: &gix::Repository) -> Option<String> {
    let head = repo.head_name().ok()??;
    let branch = head.shorten().to_string();
    repo.config_snapshot()
        .string_by("branch", Some(branch.as_str().into()), "remote")
        .map(|v| v.to_string())
        .filter(|r| !r.is_empty() && r != ".")
}

/// The refspecs of remote `name` as configured when the repository was opened.
pub fn remote_refspecs(repo: &gix::Repository, name: &str) -> RemoteRefspecs {
    let config = repo.config_snapshot();
    let all = |section: &str, subsection: &str, key: &str| -> Vec<String> {
        config
            .strings_by(section, Some(subsection.into()), key)
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.to_string())
            .collect()
    };
    let record = format!("remote.{name}");
    RemoteRefspecs {
        fetch: all("remote", name, "fetch"),
        push: all("remote", name, "push"),
        added_fetch: all("omk", &record, "addedFetch"),
        added_push: all("omk", &record, "addedPush"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_lease_ttl_is_whole_seconds_from_one_to_the_usual_ttl() {
        assert_eq!(parse_lease_ttl("4").unwrap(), 4);
        assert_eq!(parse_lease_ttl(" 90 ").unwrap(), lease::TTL_SECS);
        for bad in ["0", "-3", "91", "1.5", "", "soon"] {
            let err = parse_lease_ttl(bad).unwrap_err();
            assert_eq!(err.key, "OMK_TEST_LEASE_TTL", "{bad}");
        }
    }

    #[test]
    fn git_command_line_configuration_is_read_as_git_writes_it() {
        let text =
            "'omk.maxAgents'='7' 'omk.agent.planner'='exec:a b'\\''c' 'core.flag'= 'x.y'='' 'old.style=1'";
        assert_eq!(
            parse_config_parameters(text).unwrap(),
            vec![
                "omk.maxAgents=7",
                "omk.agent.planner=exec:a b'c",
                "core.flag",
                "x.y=",
                "old.style=1"
            ]
        );
        assert_eq!(parse_config_parameters("").unwrap(), Vec::<String>::new());
        assert_eq!(parse_config_parameters("  'a.b'  ").unwrap(), vec!["a.b"]);
        for bogus in ["a.b=1", "'a.b", "'a.b'='1", "'a.b''c.d'", "'a.b'=x"] {
            assert_eq!(parse_config_parameters(bogus), None, "{bogus}");
        }
    }
}
