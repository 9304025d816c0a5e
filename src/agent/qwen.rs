//! Qwen Code (`qwen`, npm `@qwen-code/qwen-code`) as an engine: its command line, where its program
//! is, and what its `--version` says. The session itself is plain ACP ([`super::acp`]).
//!
//! Owns the facts about Qwen Code that are not ACP: it starts in ACP mode with `--acp`, and in the
//! approval mode `default` (without it, Qwen Code starts in `auto`, where its own LLM classifier
//! approves actions and git-omk's policy would see fewer of them). Must not speak the protocol.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

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
    fn a_configured_program_is_used_as_is() {
        let p = PathBuf::from("/opt/qwen/bin/qwen");
        assert_eq!(program(Some(&p)).unwrap(), p);
    }
}
