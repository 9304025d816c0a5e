//! Qwen Code (`qwen`, npm `@qwen-code/qwen-code`) as an engine: its command line, where its program
//! is, and what its `--version` says. The session itself is plain ACP ([`super::acp`]).
//!
//! Owns the facts about Qwen Code that are not ACP: it starts in ACP mode with `--acp`, and in the
//! approval mode `default` (without it, Qwen Code starts in `auto`, where its own LLM classifier
//! approves actions and git-omk's policy would see fewer of them); and the settings git-omk gives it
//! as its lowest-precedence layer ([`DEFAULTS`]). Must not speak the protocol.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

use super::detect::{PROBE_TIMEOUT, parse_version, which};
use super::error::AgentError;
use crate::process;

/// The program name looked up on `PATH` when none is configured.
pub const PROGRAM: &str = "qwen";

/// The arguments git-omk starts Qwen Code with, before any configured extra arguments.
pub const ARGS: [&str; 3] = ["--acp", "--approval-mode", "default"];

/// The install hint shown when Qwen Code is not found.
pub const INSTALL_HINT: &str = "install Qwen Code (`npm install -g @qwen-code/qwen-code@0.24.4`, Node >= 22) \
     or set omk.qwenProgram to its launcher";

/// Qwen Code's variable naming its "system defaults" settings file: the lowest-precedence layer, under
/// the user's own settings (`~/.qwen/settings.json`, the project's, the system's).
pub const DEFAULTS_VAR: &str = "QWEN_CODE_SYSTEM_DEFAULTS_PATH";

/// The settings git-omk gives Qwen Code as defaults (the user's own settings win wherever they say
/// otherwise, except that permission rules are merged as a union):
/// - every shell command asks for permission (`permissions.ask`), so git-omk's policy judges each one;
///   without it Qwen Code runs the commands it deems read-only (`cat`, `ls`, `grep`…) without asking,
///   whatever they read;
/// - no hidden extra model calls that a token budget could not see (managed auto-memory and its
///   "dream" consolidation, follow-up suggestions);
/// - no self-update in the middle of a run.
pub const DEFAULTS: &str = r#"{
  "permissions": {"ask": ["run_shell_command"]},
  "memory": {"enableManagedAutoMemory": false, "enableManagedAutoDream": false},
  "ui": {"enableFollowupSuggestions": false},
  "general": {"disableAutoUpdate": true}
}
"#;

/// [`DEFAULTS`] as a file under `cache` (git-omk's cache directory), written when missing or different
/// (atomically: a temporary file renamed into place). Returns its path.
pub fn defaults_file(cache: &Path) -> Result<PathBuf, AgentError> {
    let dir = cache.join("qwen");
    let path = dir.join("system-defaults.json");
    if std::fs::read(&path).is_ok_and(|b| b == DEFAULTS.as_bytes()) {
        return Ok(path);
    }
    let setup = |source: io::Error| AgentError::Setup {
        what: format!("Qwen Code's default settings in {}", dir.display()),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(setup)?;
    let tmp = dir.join(format!("system-defaults.json.{}", std::process::id()));
    std::fs::write(&tmp, DEFAULTS).map_err(setup)?;
    std::fs::rename(&tmp, &path).map_err(setup)?;
    Ok(path)
}

/// The Qwen Code program: the configured one, else `qwen` on `PATH`.
pub fn program(configured: Option<&PathBuf>) -> Result<PathBuf, AgentError> {
    match configured {
        Some(p) => Ok(p.clone()),
        None => which(PROGRAM)
            .ok_or_else(|| AgentError::NotFound(format!("no `{PROGRAM}` on PATH: {INSTALL_HINT}"))),
    }
}

/// The command line of a session: [`ARGS`], then `extra`.
pub fn args(extra: &[OsString]) -> Vec<OsString> {
    ARGS.iter()
        .map(OsString::from)
        .chain(extra.iter().cloned())
        .collect()
}

/// Ask `program --version` which Qwen Code it is (it prints the bare version, like `0.24.4`).
pub async fn version(program: &OsStr) -> Result<String, AgentError> {
    let out = process::probe_with_timeout(program, &["--version"], PROBE_TIMEOUT)
        .await
        .ok_or_else(|| {
            AgentError::NotFound(format!(
                "`{} --version` did not run: {INSTALL_HINT}",
                program.to_string_lossy()
            ))
        })?;
    parse_version(&out).ok_or_else(|| {
        AgentError::NotFound(format!(
            "`{}` is not a known Qwen Code (its --version said `{}`)",
            program.to_string_lossy(),
            out.trim()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_arguments_come_first() {
        let args = args(&[OsString::from("--model"), OsString::from("m")]);
        assert_eq!(args, ["--acp", "--approval-mode", "default", "--model", "m"]);
    }

    #[test]
    fn the_defaults_are_written_once_and_ask_for_every_command() {
        let cache = tempfile::tempdir().unwrap();
        let path = defaults_file(cache.path()).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(written["permissions"]["ask"][0], "run_shell_command");
        assert_eq!(written["memory"]["enableManagedAutoMemory"], false);
        std::fs::write(&path, "{}").unwrap();
        assert_eq!(defaults_file(cache.path()).unwrap(), path);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            DEFAULTS,
            "an old copy is replaced"
        );
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn a_configured_program_is_used_as_is() {
        let p = PathBuf::from("/opt/qwen/bin/qwen");
        assert_eq!(program(Some(&p)).unwrap(), p);
    }
}
