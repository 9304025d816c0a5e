//! `git omk doctor`: what this machine offers git-omk — git, the agents found (engine, version,
//! protocol), the configured agent, where a GitHub token would come from, configuration problems —
//! and what is missing, with the install hint.
//!
//! A report: everything missing is listed (required or optional), nothing is changed. Must not print.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::agent::detect::{KIMI_INSTALL_HINT, KimiGeneration, kimi_version, which};
use crate::agent::qwen;
use crate::forge::target;
use crate::model::options::{AgentSpec, Role, RoleAgents, RunOptions};
use crate::model::shell;
use crate::process;
use crate::runtime;
use crate::settings::{self, Settings};
use crate::store::Store;

/// One agent program found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentFound {
    /// How it is selected (`kimi`, `acp:…`, `exec:…`).
    pub spec: String,
    /// The engine that would drive it.
    pub engine: String,
    /// The program's path.
    pub path: PathBuf,
    /// Its version, when it says.
    pub version: Option<String>,
    /// The protocol spoken.
    pub protocol: String,
}

/// Something missing, and how to get it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// What.
    pub what: String,
    /// How to install or configure it.
    pub hint: String,
    /// Whether goals cannot run without it (`doctor` then exits 1); optional pieces (a GitHub token)
    /// are needed only by some features.
    pub required: bool,
}

/// Which agent a role uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleAgent {
    /// The role (`OMK_ROLE`).
    pub role: String,
    /// Its agent.
    pub agent: String,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    /// `git --version`, when git runs.
    pub git: Option<String>,
    /// The repository of the current directory, when there is one.
    pub repository: Option<PathBuf>,
    /// The configured agent of task sessions (`omk.agent.task`, else `omk.agent`), or the default.
    pub agent: String,
    /// The configured agent of every role (`planner`, `task`, `reviewer`, `security-reviewer`).
    pub roles: Vec<RoleAgent>,
    /// Agents found.
    pub agents: Vec<AgentFound>,
    /// Where a GitHub token would come from (a variable name or `gh`), never the token.
    pub github_token_source: Option<String>,
    /// Configuration problems.
    pub problems: Vec<String>,
    /// What is missing.
    pub missing: Vec<Missing>,
}

impl DoctorReport {
    /// Whether goals can run here: nothing required is missing and the configuration is valid.
    pub fn healthy(&self) -> bool {
        self.problems.is_empty() && self.missing.iter().all(|m| !m.required)
    }
}

/// Examine this machine and the repository around `dir` (if any).
pub fn doctor(dir: &Path) -> DoctorReport {
    let store = Store::discover(dir).ok();
    let mut problems = Vec::new();
    let settings = store.as_ref().and_then(|s| match Settings::load(s.repo()) {
        Ok(settings) => Some(settings),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    });
    if let Some(Err(e)) = store.as_ref().map(|s| settings::price_table(s.repo())) {
        problems.push(e.to_string());
    }
    let options = configured_options(settings.as_ref());
    let agents: Vec<AgentSpec> = options.agents().into_iter().map(|(a, _)| a.clone()).collect();
    let mut report = DoctorReport {
        git: process::probe(OsStr::new("git"), &["--version"]).map(|v| v.trim().to_owned()),
        repository: store
            .as_ref()
            .and_then(|s| s.repo().workdir().map(Path::to_owned)),
        agent: options.agent.to_string(),
        roles: Role::ALL
            .iter()
            .map(|role| RoleAgent {
                role: role.as_str().to_owned(),
                agent: options.agent_of(*role).to_string(),
            })
            .collect(),
        agents: find_agents(&agents, settings.as_ref()),
        github_token_source: github_token_source(store.as_ref()),
        problems,
        missing: Vec::new(),
    };
    report.missing = missing(&report, &options);
    report
}

/// The agents goals would use by default here (the roles' configured agents, else kimi).
fn configured_options(settings: Option<&Settings>) -> RunOptions {
    let configured = settings.map(|s| s.agents.clone()).unwrap_or_default();
    RunOptions::default().with_agents(RoleAgents::default(), &configured)
}

/// `kimi` on PATH (its generation detected), Qwen Code (configured or on PATH), plus the configured
/// `acp:`/`exec:` programs.
fn find_agents(agents: &[AgentSpec], settings: Option<&Settings>) -> Vec<AgentFound> {
    let mut found = Vec::new();
    found.extend(find_kimi());
    found.extend(find_qwen(settings.and_then(|s| s.qwen_program.as_ref())));
    for agent in agents {
        let (engine, command) = match agent {
            AgentSpec::Acp(command) => ("acp", command),
            AgentSpec::Exec(command) => ("exec", command),
            _ => continue,
        };
        if let Some(path) = program_of(command).and_then(|p| which(&p)) {
            found.push(AgentFound {
                spec: agent.to_string(),
                engine: engine.to_owned(),
                path,
                version: None,
                protocol: if engine == "acp" { "acp/1" } else { "exec" }.to_owned(),
            });
        }
    }
    found
}

/// `qwen` (the configured program, else on PATH) and its version; `engine` is `unknown` when its
/// `--version` does not answer like Qwen Code.
fn find_qwen(configured: Option<&PathBuf>) -> Option<AgentFound> {
    let path = qwen::program(configured).ok()?;
    let version = runtime::block_on(qwen::version(path.as_os_str()))
        .ok()
        .and_then(Result::ok);
    Some(AgentFound {
        spec: "qwen".to_owned(),
        engine: if version.is_some() { "qwen" } else { "unknown" }.to_owned(),
        path,
        version,
        protocol: "acp/1".to_owned(),
    })
}

/// `kimi` on PATH, its generation detected.
fn find_kimi() -> Option<AgentFound> {
    let path = which("kimi")?;
    let detected = runtime::block_on(kimi_version(path.as_os_str()))
        .ok()
        .and_then(Result::ok);
    let (engine, protocol) = match detected.as_ref().map(|d| d.generation) {
        Some(KimiGeneration::Wire) => ("kimi-wire", "wire/1.10"),
        Some(KimiGeneration::Acp) => ("kimi-acp", "acp/1"),
        None => ("unknown", "unknown"),
    };
    Some(AgentFound {
        spec: "kimi".to_owned(),
        engine: engine.to_owned(),
        path,
        version: detected.map(|d| d.version),
        protocol: protocol.to_owned(),
    })
}

/// The program of a command line (its first word).
fn program_of(command: &str) -> Option<String> {
    let commands = shell::parse(command).ok()?;
    Some(commands.first()?.words.first()?.text.clone())
}

/// The variable (or `gh`) a token would come from, for the repository's GitHub host (github.com when
/// it cannot be told): Enterprise Server hosts read `GH_ENTERPRISE_TOKEN` as `gh` does.
fn github_token_source(store: Option<&Store>) -> Option<String> {
    let enterprise = store
        .and_then(|s| target::resolve(&settings::github(s.repo())).ok())
        .is_some_and(|t| t.host.is_enterprise());
    settings::github_token_env(enterprise)
        .map(|(name, _)| name.to_owned())
        .or_else(|| which("gh").map(|_| "gh auth token".to_owned()))
}

fn missing(report: &DoctorReport, options: &RunOptions) -> Vec<Missing> {
    let mut missing = Vec::new();
    if report.git.is_none() {
        missing.push(Missing {
            what: "git".to_owned(),
            hint: "install git >= 2.40 and put it on PATH".to_owned(),
            required: true,
        });
    }
    for (agent, roles) in options.agents() {
        missing.extend(missing_agent(report, agent, &roles));
    }
    if report.github_token_source.is_none() {
        missing.push(Missing {
            what: "GitHub token".to_owned(),
            hint: "only for draft-pr/auto-pr delivery: set GH_TOKEN (GH_ENTERPRISE_TOKEN for GitHub Enterprise Server) or run `gh auth login`".to_owned(),
            required: false,
        });
    }
    missing
}

/// The agent `agent` when it is not found, with how to get it (naming the roles it serves when it is
/// not every role's).
fn missing_agent(report: &DoctorReport, agent: &AgentSpec, roles: &[Role]) -> Option<Missing> {
    let has = |spec: &str| {
        report
            .agents
            .iter()
            .any(|a| a.spec == spec && a.engine != "unknown")
    };
    let (what, hint) = match agent {
        AgentSpec::Kimi | AgentSpec::KimiWire | AgentSpec::KimiAcp => {
            ("kimi".to_owned(), KIMI_INSTALL_HINT.to_owned())
        }
        AgentSpec::Qwen => ("qwen".to_owned(), qwen::INSTALL_HINT.to_owned()),
        AgentSpec::Acp(_) | AgentSpec::Exec(_) => (
            agent.to_string(),
            "the configured agent's program is not on PATH: install it or change omk.agent".to_owned(),
        ),
    };
    if has(&what) {
        return None;
    }
    let hint = if roles.len() == Role::ALL.len() {
        hint
    } else {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        format!("{hint} (used by: {})", names.join(", "))
    };
    Some(Missing {
        what,
        hint,
        required: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_the_first_word() {
        assert_eq!(program_of("my-agent --stdio").as_deref(), Some("my-agent"));
        assert_eq!(
            program_of("'/opt/x y/agent' a").as_deref(),
            Some("/opt/x y/agent")
        );
        assert_eq!(program_of(""), None);
    }
}
