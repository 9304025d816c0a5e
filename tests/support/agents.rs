//! Running the REAL agents in tests (kimi-cli, Kimi Code, Qwen Code): where they are installed
//! (scripts/install-agents.sh), how to point them at the scripted model server, and isolated per-test
//! state (HOME, KIMI_SHARE_DIR, KIMI_CODE_HOME, QWEN_HOME), so tests run in parallel.
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

/// The real agents the tests drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agent {
    /// kimi-cli 1.51.0, Wire.
    KimiWire,
    /// Kimi Code 2.1.0, ACP.
    KimiAcp,
    /// Qwen Code 0.24.4, ACP.
    Qwen,
}

impl Agent {
    /// All three engines.
    pub const ALL: [Agent; 3] = [Agent::KimiWire, Agent::KimiAcp, Agent::Qwen];
    /// Both Kimi generations.
    pub const KIMI: [Agent; 2] = [Agent::KimiWire, Agent::KimiAcp];

    /// The variable `scripts/test.sh` exports with the launcher's path.
    pub fn env_var(self) -> &'static str {
        match self {
            Agent::KimiWire => "OMK_TEST_KIMI_WIRE",
            Agent::KimiAcp => "OMK_TEST_KIMI_ACP",
            Agent::Qwen => "OMK_TEST_QWEN",
        }
    }

    /// The variable git-omk reads the agent's program from.
    pub fn program_var(self) -> &'static str {
        match self {
            Agent::KimiWire | Agent::KimiAcp => "OMK_KIMI_PROGRAM",
            Agent::Qwen => "OMK_QWEN_PROGRAM",
        }
    }

    /// The launcher's place under the tools cache's `launchers/` (as scripts/install-agents.sh writes it).
    fn launcher(self) -> &'static str {
        match self {
            Agent::KimiWire => "kimi-wire/kimi",
            Agent::KimiAcp => "kimi-acp/kimi",
            Agent::Qwen => "qwen/qwen",
        }
    }

    /// The agent spec that selects this engine.
    pub fn spec(self) -> AgentSpec {
        match self {
            Agent::KimiWire => AgentSpec::KimiWire,
            Agent::KimiAcp => AgentSpec::KimiAcp,
            Agent::Qwen => AgentSpec::Qwen,
        }
    }

    /// Whether the agent ends its turn when a permission is refused (Qwen Code) instead of going on
    /// with the refusal as the tool's result (both Kimi generations).
    pub fn ends_turn_on_refusal(self) -> bool {
        self == Agent::Qwen
    }

    /// A path as this agent's tools take it: Qwen Code's tools want absolute paths, so a relative
    /// one is joined to the work dir `root`.
    fn path(self, root: &Path, path: &str) -> String {
        match self {
            Agent::Qwen if !Path::new(path).is_absolute() => root.join(path).display().to_string(),
            _ => path.to_owned(),
        }
    }

    /// A model turn that writes a file (a relative `path` is relative to the work dir `root`).
    pub fn write(self, root: &Path, path: &str, content: &str) -> Turn {
        let path = self.path(root, path);
        match self {
            Agent::KimiWire => Turn::tool("WriteFile", json!({"path": path, "content": content})),
            Agent::KimiAcp => Turn::tool("Write", json!({"path": path, "content": content})),
            Agent::Qwen => Turn::tool("write_file", json!({"file_path": path, "content": content})),
        }
    }

    /// A model turn that reads a file (Qwen Code edits only files read in the session).
    pub fn read(self, root: &Path, path: &str) -> Turn {
        let path = self.path(root, path);
        match self {
            Agent::KimiWire => Turn::tool("ReadFile", json!({"path": path})),
            Agent::KimiAcp => Turn::tool("Read", json!({"path": path})),
            Agent::Qwen => Turn::tool("read_file", json!({"file_path": path})),
        }
    }

    /// A model turn that replaces text in a file.
    pub fn edit(self, root: &Path, path: &str, old: &str, new: &str) -> Turn {
        let path = self.path(root, path);
        match self {
            Agent::KimiWire => Turn::tool(
                "StrReplaceFile",
                json!({"path": path, "edit": {"old": old, "new": new}}),
            ),
            Agent::KimiAcp => Turn::tool(
                "Edit",
                json!({"path": path, "old_string": old, "new_string": new}),
            ),
            Agent::Qwen => Turn::tool(
                "edit",
                json!({"file_path": path, "old_string": old, "new_string": new}),
            ),
        }
    }

    /// A model turn that runs a shell command.
    pub fn shell(self, command: &str) -> Turn {
        match self {
            Agent::KimiWire => Turn::tool("Shell", json!({"command": command})),
            Agent::KimiAcp => Turn::tool("Bash", json!({"command": command})),
            Agent::Qwen => Turn::tool(
                "run_shell_command",
                json!({"command": command, "is_background": false}),
            ),
        }
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
pub fn installed(kind: Agent) -> Option<PathBuf> {
    let path = std::env::var_os(kind.env_var())
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().join("launchers").join(kind.launcher()));
    if path.is_file() {
        return Some(path);
    }
    let message = format!(
        "{kind:?} is not installed at {} (set {} or run scripts/install-agents.sh)",
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

    /// Qwen Code's configuration and state directory (`QWEN_HOME`, instead of `~/.qwen`).
    pub fn qwen_home(&self) -> PathBuf {
        self.dir.path().join("qwen-home")
    }

    /// Kimi Code's data directory.
    pub fn kimi_code_home(&self) -> PathBuf {
        self.dir.path().join("kimi-code")
    }

    /// kimi-cli's share directory (`KIMI_SHARE_DIR`).
    pub fn kimi_share_dir(&self) -> PathBuf {
        self.dir.path().join("kimi-share")
    }

    /// The state directory of `kind`'s engine: its configuration, sessions and logs.
    pub fn state_dir(&self, kind: Agent) -> PathBuf {
        match kind {
            Agent::KimiWire => self.kimi_share_dir(),
            Agent::KimiAcp => self.kimi_code_home(),
            Agent::Qwen => self.qwen_home(),
        }
    }

    /// How to launch `kind` from `program` against `server`.
    pub fn launch(&self, kind: Agent, program: &Path, server: &ModelServer) -> Launch {
        let mut env = vec![
            ("HOME".to_owned(), self.home().display().to_string()),
            ("NO_PROXY".to_owned(), "127.0.0.1,localhost".to_owned()),
            ("no_proxy".to_owned(), "127.0.0.1,localhost".to_owned()),
        ];
        let mut extra_args = Vec::new();
        match kind {
            Agent::KimiWire => {
                env.push((
                    "KIMI_SHARE_DIR".into(),
                    self.kimi_share_dir().display().to_string(),
                ));
                env.push(("KIMI_DISABLE_TELEMETRY".into(), "1".into()));
                let config = json!({
                    "default_model": "fake", "telemetry": false,
                    "providers": {"fake": {"type": "kimi", "base_url": server.base_url(), "api_key": API_KEY}},
                    "models": {"fake": {"provider": "fake", "model": MODEL, "max_context_size": 131072}},
                });
                extra_args = vec!["--config".to_owned(), config.to_string()];
            }
            Agent::KimiAcp => {
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
            Agent::Qwen => {
                env.push(("OPENAI_BASE_URL".into(), server.base_url()));
                env.push(("OPENAI_API_KEY".into(), API_KEY.into()));
                env.push(("OPENAI_MODEL".into(), MODEL.into()));
                env.push(("QWEN_HOME".into(), self.qwen_home().display().to_string()));
                self.qwen_settings();
            }
        }
        std::fs::create_dir_all(self.home()).expect("agent home");
        let (kimi, qwen) = match kind {
            Agent::Qwen => (None, Some(program.to_owned())),
            _ => (Some(program.to_owned()), None),
        };
        Launch {
            program: kimi,
            qwen_program: qwen,
            extra_args,
            env,
            model: None,
            known_secrets: Vec::new(),
            ..Launch::default()
        }
    }
}

impl AgentHome {
    /// Qwen Code's user settings for scripted runs: the OpenAI-compatible API, and none of its hidden
    /// extra model calls (managed auto-memory and its "dream" consolidation, follow-up suggestions),
    /// which the scripted model would have to answer; no usage statistics, no update checks.
    fn qwen_settings(&self) {
        let dir = self.qwen_home();
        std::fs::create_dir_all(&dir).expect("Qwen Code's settings dir");
        let settings = json!({
            "security": {"auth": {"selectedType": "openai"}},
            "memory": {"enableManagedAutoMemory": false, "enableManagedAutoDream": false},
            "ui": {"enableFollowupSuggestions": false},
            "privacy": {"usageStatisticsEnabled": false},
            "general": {"disableAutoUpdate": true},
        });
        std::fs::write(dir.join("settings.json"), settings.to_string()).expect("Qwen Code's settings");
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
