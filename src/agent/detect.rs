//! Finding agents: which Kimi generation a `kimi` program is, what version a program reports, and
//! where programs are on `PATH`.
//!
//! Owns the version probes and their parsing. Must not start sessions.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::AgentError;
use crate::process;
use crate::settings;

/// How long a `--version` probe may take (Kimi Code's takes about 1.6 s).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// The two Kimi generations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KimiGeneration {
    /// kimi-cli 1.x, Wire protocol.
    Wire,
    /// Kimi Code 2.x, ACP.
    Acp,
}

/// What a `kimi --version` said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KimiVersion {
    /// The generation.
    pub generation: KimiGeneration,
    /// The version number.
    pub version: String,
}

/// The install hint shown when no Kimi is found.
pub const KIMI_INSTALL_HINT: &str = "install Kimi Code (`npm install -g @moonshot-ai/kimi-code`, Node >= 22) \
     or kimi-cli 1.x (`pip install kimi-cli==1.51.0`, Python >= 3.13), or pass --agent acp:<cmd>";

/// The version number a `--version` printed: the last word of its first line (`kimi, version 1.51.0`,
/// `2.1.0`, `v0.24.4`), without a leading `v`, when it starts with a number.
pub fn parse_version(output: &str) -> Option<String> {
    let line = output.lines().map(str::trim).find(|l| !l.is_empty())?;
    let version = line.rsplit([' ', ',']).next()?.trim_start_matches('v');
    version.split('.').next()?.parse::<u32>().ok()?;
    Some(version.to_owned())
}

/// Read `kimi --version` output: kimi-cli prints `kimi, version 1.51.0`, Kimi Code prints `2.1.0`.
pub fn parse_kimi_version(output: &str) -> Option<KimiVersion> {
    let line = output.lines().map(str::trim).find(|l| !l.is_empty())?;
    let version = parse_version(line)?;
    let major: u32 = version.split('.').next()?.parse().ok()?;
    let generation = if line.starts_with("kimi, version") || major < 2 {
        KimiGeneration::Wire
    } else {
        KimiGeneration::Acp
    };
    Some(KimiVersion { generation, version })
}

/// Ask `program --version` which Kimi it is.
pub async fn kimi_version(program: &OsStr) -> Result<KimiVersion, AgentError> {
    let out = process::probe_with_timeout(program, &["--version"], PROBE_TIMEOUT)
        .await
        .ok_or_else(|| {
            AgentError::NotFound(format!(
                "`{} --version` did not run: {KIMI_INSTALL_HINT}",
                program.to_string_lossy()
            ))
        })?;
    parse_kimi_version(&out).ok_or_else(|| {
        AgentError::NotFound(format!(
            "`{}` is not a known Kimi (its --version said `{}`)",
            program.to_string_lossy(),
            out.trim()
        ))
    })
}

/// The first executable named `name` on `PATH` (or `name` itself when it has a `/`).
pub fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    let path = settings::env("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_are_told_apart() {
        assert_eq!(
            parse_kimi_version("kimi, version 1.51.0\n"),
            Some(KimiVersion {
                generation: KimiGeneration::Wire,
                version: "1.51.0".into()
            })
        );
        assert_eq!(
            parse_kimi_version("2.1.0\n"),
            Some(KimiVersion {
                generation: KimiGeneration::Acp,
                version: "2.1.0".into()
            })
        );
        assert_eq!(
            parse_kimi_version("v3.0.1").unwrap().generation,
            KimiGeneration::Acp
        );
        assert_eq!(parse_kimi_version("something else"), None);
        assert_eq!(parse_kimi_version(""), None);
    }

    #[test]
    fn versions_are_the_last_word_of_the_first_line() {
        assert_eq!(parse_version("0.24.4\n").as_deref(), Some("0.24.4"));
        assert_eq!(parse_version("\nqwen v1.2.3\nmore").as_deref(), Some("1.2.3"));
        assert_eq!(parse_version("Usage: qwen [options]"), None);
    }
}
