//! Running the REAL Kimi agents in tests: where they are installed (scripts/install-agents.sh), how
//! to point them at the scripted model server, and isolated per-test state (HOME, KIMI_SHARE_DIR,
//! KIMI_CODE_HOME), so tests run in parallel.
//!
//! A missing agent FAILS the test when `CI=true`; locally the test is skipped with a loud message.

#![allow(dead_code)]
#![allow(clippy::disallowed_methods)] // tests read their environment

use std::path::{Path, PathBuf};

use git_omk::agent::Launch;
use git_omk::model::options::AgentSpec;
use serde_json::json;

use super::model_server::{MODEL, ModelServer, Turn};

/// The API key the agents send to the scripted model (distinctive, so tests can look for leaks).
pub const API_KEY: &str = "sk-omk-test-key-7f3a9c";

/// The two Kimi generations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kimi {
    /// kimi-cli 1.51.0, Wire.
    Wire,
    /// Kimi Code 2.1.0, ACP.
    Acp,
}

impl Kimi {
    /// Both generations.
    pub const ALL: [Kimi; 2] = [Kimi::Wire, Kimi::Acp];

    /// The variable `scripts/test.sh` exports with the launcher's path.
    pub fn env_var(self) -> &'static str {
        match self {
            Kimi::Wire => "OMK_TEST_KIMI_WIRE",
            Kimi::Acp => "OMK_TEST_KIMI_ACP",
        }
    }

    fn launcher_dir(self) -> &'static str {
        match self {
            Kimi::Wire => "kimi-wire",
            Kimi::Acp => "kimi-acp",
        }
    }

    /// The agent spec that selects this generation.
    pub fn spec(self) -> AgentSpec {
        match self {
            Kimi::Wire => AgentSpec::KimiWire,
            Kimi::Acp => AgentSpec::KimiAcp,
        }
    }

    /// A model turn that writes a file with this generation's tool.
    pub fn write(self, path: &str, content: &str) -> Turn {
        let tool = match self {
            Kimi::Wire => "WriteFile",
            Kimi::Acp => "Write",
        };
        Turn::tool(tool, json!({"path": path, "content": content}))
    }

    /// A model turn that replaces text in a file.
    pub fn edit(self, path: &str, old: &str, new: &str) -> Turn {
        match self {
            Kimi::Wire => Turn::tool(
                "StrReplaceFile",
                json!({"path": path, "edit": {"old": old, "new": new}}),
            ),
            Kimi::Acp => Turn::tool(
                "Edit",
                json!({"path": path, "old_string": old, "new_string": new}),
            ),
        }
    }

    /// A model turn that runs a shell command.
    pub fn shell(self, command: &str) -> Turn {
        let tool = match self {
            Kimi::Wire => "Shell",
            Kimi::Acp => "Bash",
        };
        Turn::tool(tool, json!({"command": command}))
    }
}

/// The default tools cache (as scripts/tools-env.sh computes it).
fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OMK_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
    cache.join("git-omk-test-tools")
}

/// The launcher of `kind`: from its environment variable, else the tools cache. `None` when it is
/// not installed and this is not CI (a loud skip); panics on CI.
pub fn installed(kind: Kimi) -> Option<PathBuf> {
    let path = std::env::var_os(kind.env_var())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            tools_dir()
                .join("launchers")
                .join(kind.launcher_dir())
                .join("kimi")
        });
    if path.is_file() {
        return Some(path);
    }
    let message = format!(
        "{kind:?} Kimi is not installed at {} (set {} or run scripts/install-agents.sh)",
        path.display(),
        kind.env_var()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}: CI requires the real agents");
    }
    eprintln!("\n!!!!!!!! SKIPPED: {message} !!!!!!!!\n");
    None
}

/// Isolated agent state for one test.
pub struct AgentHome {
    dir: tempfile::TempDir,
}

impl AgentHome {
    /// Fresh, empty state.
    pub fn new() -> AgentHome {
        AgentHome {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The HOME the agent sees.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Kimi Code's data directory.
    pub fn kimi_code_home(&self) -> PathBuf {
        self.dir.path().join("kimi-code")
    }

    /// How to launch `kind` from `program` against `server`.
    pub fn launch(&self, kind: Kimi, program: &Path, server: &ModelServer) -> Launch {
        let mut env = vec![
            ("HOME".to_owned(), self.home().display().to_string()),
            ("NO_PROXY".to_owned(), "127.0.0.1,localhost".to_owned()),
            ("no_proxy".to_owned(), "127.0.0.1,localhost".to_owned()),
        ];
        let mut extra_args = Vec::new();
        match kind {
            Kimi::Wire => {
                env.push((
                    "KIMI_SHARE_DIR".into(),
                    self.dir.path().join("kimi-share").display().to_string(),
                ));
                env.push(("KIMI_DISABLE_TELEMETRY".into(), "1".into()));
                let config = json!({
                    "default_model": "fake", "telemetry": false,
                    "providers": {"fake": {"type": "kimi", "base_url": server.base_url(), "api_key": API_KEY}},
                    "models": {"fake": {"provider": "fake", "model": MODEL, "max_context_size": 131072}},
                });
                extra_args = vec!["--config".to_owned(), config.to_string()];
            }
            Kimi::Acp => {
                env.push((
                    "KIMI_CODE_HOME".into(),
                    self.kimi_code_home().display().to_string(),
                ));
                env.push(("KIMI_MODEL_NAME".into(), MODEL.into()));
                env.push(("KIMI_MODEL_API_KEY".into(), API_KEY.into()));
                env.push(("KIMI_MODEL_BASE_URL".into(), server.base_url()));
                env.push(("KIMI_MODEL_MAX_CONTEXT_SIZE".into(), "131072".into()));
                env.push(("KIMI_MODEL_CAPABILITIES".into(), "none".into()));
                env.push(("KIMI_CODE_NO_AUTO_UPDATE".into(), "1".into()));
            }
        }
        std::fs::create_dir_all(self.home()).expect("agent home");
        Launch {
            program: Some(program.to_owned()),
            extra_args,
            env,
            model: None,
            known_secrets: Vec::new(),
        }
    }
}

impl Default for AgentHome {
    fn default() -> Self {
        AgentHome::new()
    }
}

/// Where `git` is (for tests that build a PATH of their own).
pub fn which_git() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("git"))
        .find(|p| p.is_file())
        .expect("git is on PATH")
}
