//! The gate configuration: `.omk/gates.toml`, its schema, its validation and the config hash
//! (DESIGN §6, docs/gates.md).
//!
//! Owns parsing the checked-in file into gates. An invalid file is an error naming the line and
//! column, never a silent fallback to detection. Must not read files itself: the caller hands in the
//! text read from the tested commit's tree.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::model::budget::parse_duration;
use crate::model::gate::RunnerKind;

/// Where the configuration lives in a tree.
pub const CONFIG_PATH: &str = ".omk/gates.toml";
/// The configuration format this binary reads.
pub const CONFIG_VERSION: i64 = 1;
/// A gate's timeout unless it sets one: generous, because a stuck gate is killed anyway.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The longest gate name.
pub const MAX_NAME_LEN: usize = 64;

/// A gate name: 1–64 characters of `A-Z a-z 0-9 . _ -`, starting with a letter or digit, so it is a
/// safe path component of `gates/<tree>/<gate>.json`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GateName(String);

impl GateName {
    /// Validate a name.
    pub fn parse(text: &str) -> Result<GateName, String> {
        let first_ok = text.starts_with(|c: char| c.is_ascii_alphanumeric());
        let chars_ok = text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if text.is_empty() || text.len() > MAX_NAME_LEN || !first_ok || !chars_ok {
            return Err(format!(
                "`{text}` is not a valid gate name: use 1 to {MAX_NAME_LEN} letters, digits, `.`, `_` or `-`, starting with a letter or digit"
            ));
        }
        Ok(GateName(text.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GateName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        GateName::parse(&value)
    }
}

impl From<GateName> for String {
    fn from(value: GateName) -> Self {
        value.0
    }
}

impl fmt::Display for GateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a gate's command is run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateCommand {
    /// A string: run by `sh -c` (pipes, `&&`, variables work; a missing program exits 127).
    Shell(String),
    /// An array: the program and its arguments, run without a shell (a missing program is ENOENT).
    Exec(Vec<String>),
}

impl GateCommand {
    /// The command as a person would type it.
    pub fn display(&self) -> String {
        match self {
            GateCommand::Shell(s) => s.clone(),
            GateCommand::Exec(argv) => argv
                .iter()
                .map(|a| {
                    let plain = !a.is_empty()
                        && a.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_./:=+,@%".contains(c));
                    if plain {
                        a.clone()
                    } else {
                        format!("'{}'", a.replace('\'', "'\\''"))
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// The command's words (shell strings split on whitespace), for runner inference.
    pub fn words(&self) -> Vec<&str> {
        match self {
            GateCommand::Shell(s) => s.split_whitespace().collect(),
            GateCommand::Exec(argv) => argv.iter().map(String::as_str).collect(),
        }
    }
}

/// One gate, as configured or detected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// Its name (unique in the set).
    pub name: GateName,
    /// What to run.
    pub command: GateCommand,
    /// How its output is read (given, or inferred from the command).
    pub runner: RunnerKind,
    /// A required gate must pass for `ready`; an optional one is reported only.
    pub required: bool,
    /// Seconds before the gate's process group is killed.
    pub timeout_secs: u64,
    /// Variables set for the command (on top of the inherited environment).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

impl Gate {
    /// The timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

/// An invalid `gates.toml`: where and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{CONFIG_PATH} is invalid at line {line}, column {column}: {message}")]
pub struct ConfigError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong and what to do.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Option<Spanned<i64>>,
    #[serde(default)]
    gate: Vec<Spanned<RawGate>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    name: Spanned<String>,
    command: Spanned<RawCommand>,
    runner: Option<Spanned<String>>,
    required: Option<bool>,
    timeout: Option<Spanned<String>>,
    env: Option<Spanned<BTreeMap<String, String>>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCommand {
    Shell(String),
    Exec(Vec<String>),
}

/// Parse and validate the text of a `gates.toml`.
pub fn parse_config(text: &str) -> Result<Vec<Gate>, ConfigError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        error_at(text, at, e.message().trim().to_owned())
    })?;
    if let Some(version) = &raw.version
        && *version.get_ref() != CONFIG_VERSION
    {
        let message = format!(
            "version {} is not supported: this git-omk reads version {CONFIG_VERSION}",
            version.get_ref()
        );
        return Err(error_at(text, version.span().start, message));
    }
    if raw.gate.is_empty() {
        let message =
            "no gates are defined: add at least one [[gate]] table with a name and a command".to_owned();
        return Err(error_at(text, 0, message));
    }
    let mut seen = HashSet::new();
    let mut gates = Vec::with_capacity(raw.gate.len());
    for spanned in raw.gate {
        let name_at = spanned.get_ref().name.span().start;
        let gate = validate_gate(text, spanned.into_inner())?;
        if !seen.insert(gate.name.clone()) {
            return Err(error_at(
                text,
                name_at,
                format!("gate `{}` is defined twice", gate.name),
            ));
        }
        gates.push(gate);
    }
    Ok(gates)
}

fn validate_gate(text: &str, raw: RawGate) -> Result<Gate, ConfigError> {
    let fail = |span: Range<usize>, message: String| error_at(text, span.start, message);
    let name = GateName::parse(raw.name.get_ref()).map_err(|m| fail(raw.name.span(), m))?;
    let command_span = raw.command.span();
    let command = match raw.command.into_inner() {
        RawCommand::Shell(s) if s.trim().is_empty() => None,
        RawCommand::Shell(s) => Some(GateCommand::Shell(s)),
        RawCommand::Exec(argv) if argv.first().is_none_or(|p| p.trim().is_empty()) => None,
        RawCommand::Exec(argv) => Some(GateCommand::Exec(argv)),
    };
    let command = command.ok_or_else(|| {
        fail(
            command_span.clone(),
            format!("gate `{name}` has an empty command"),
        )
    })?;
    let has_nul = command.words().iter().any(|w| w.contains('\0'));
    if has_nul {
        return Err(fail(
            command_span,
            format!("gate `{name}`'s command contains a NUL byte"),
        ));
    }
    let runner = match raw.runner {
        None => RunnerKind::infer(&command.words()),
        Some(r) => {
            RunnerKind::parse(r.get_ref()).ok_or_else(|| fail(r.span(), unknown_runner(r.get_ref())))?
        }
    };
    let timeout_secs = match raw.timeout {
        None => DEFAULT_TIMEOUT.as_secs(),
        Some(t) => parse_duration(t.get_ref())
            .map_err(|e| fail(t.span(), format!("gate `{name}`: {e}")))?
            .as_secs()
            .max(1),
    };
    let env = match raw.env {
        None => BTreeMap::new(),
        Some(env) => {
            let bad = env.get_ref().keys().find(|k| !valid_env_name(k)).cloned();
            if let Some(key) = bad {
                let message = format!("gate `{name}`: `{key}` is not a valid environment variable name");
                return Err(fail(env.span(), message));
            }
            env.into_inner()
        }
    };
    Ok(Gate {
        name,
        command,
        runner,
        required: raw.required.unwrap_or(true),
        timeout_secs,
        env,
    })
}

fn unknown_runner(text: &str) -> String {
    let known: Vec<&str> = RunnerKind::ALL.iter().map(|k| k.as_str()).collect();
    format!("unknown runner `{text}`: use one of {}", known.join(", "))
}

fn valid_env_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A [`ConfigError`] at byte offset `at` of `text`.
fn error_at(text: &str, at: usize, message: String) -> ConfigError {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    ConfigError {
        line,
        column,
        message,
    }
}

/// The stable hash of an effective gate list: the git blob id (SHA-1) of its canonical JSON, so
/// `git hash-object` can reproduce it. Any change to a gate's name, command, runner, required flag,
/// timeout or environment changes it; where the gates came from does not.
pub fn config_hash(gates: &[Gate]) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        omk_gates: u32,
        gates: &'a [Gate],
    }
    let json = serde_json::to_vec(&Canonical { omk_gates: 1, gates })
        .expect("gates serialize to JSON because every field is a string, number, bool or map of strings");
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, &json)
        .expect("hashing a small JSON document cannot hit SHA-1 collision detection")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_config_parses() {
        let text = r#"
version = 1

[[gate]]
name = "test"
command = "cargo test --workspace"
timeout = "45m"
env = { RUST_BACKTRACE = "1" }

[[gate]]
name = "lint"
command = ["cargo", "clippy", "--", "-D", "warnings"]
required = false

[[gate]]
name = "bench"
command = "scripts/bench.sh"
runner = "benchmark"
"#;
        let gates = parse_config(text).unwrap();
        assert_eq!(gates.len(), 3);
        assert_eq!(gates[0].name.as_str(), "test");
        assert_eq!(gates[0].runner, RunnerKind::Cargo);
        assert_eq!(gates[0].timeout_secs, 45 * 60);
        assert!(gates[0].required);
        assert_eq!(gates[0].env["RUST_BACKTRACE"], "1");
        assert_eq!(
            gates[1].command,
            GateCommand::Exec(vec![
                "cargo".into(),
                "clippy".into(),
                "--".into(),
                "-D".into(),
                "warnings".into()
            ])
        );
        assert_eq!(gates[1].runner, RunnerKind::Generic);
        assert!(!gates[1].required);
        assert_eq!(gates[1].timeout(), DEFAULT_TIMEOUT);
        assert_eq!(gates[2].runner, RunnerKind::Benchmark);
    }

    #[test]
    fn invalid_files_name_the_line_and_column() {
        let cases: [(&str, &str, usize, usize, &str); 12] = [
            (
                "syntax",
                "[[gate]]\nname = \"t\"\ncommand = \"x\n",
                3,
                13,
                "string",
            ),
            (
                "unknown key",
                "[[gate]]\nname = \"t\"\ncommand = \"x\"\ncomand = \"y\"\n",
                4,
                1,
                "comand",
            ),
            (
                "unknown runner",
                "[[gate]]\nname = \"t\"\ncommand = \"x\"\nrunner = \"mocha\"\n",
                4,
                10,
                "mocha",
            ),
            (
                "bad timeout",
                "[[gate]]\nname = \"t\"\ncommand = \"x\"\ntimeout = \"soon\"\n",
                4,
                11,
                "soon",
            ),
            (
                "zero timeout",
                "[[gate]]\nname = \"t\"\ncommand = \"x\"\ntimeout = \"0s\"\n",
                4,
                11,
                "more than zero",
            ),
            (
                "bad name",
                "[[gate]]\nname = \"../x\"\ncommand = \"x\"\n",
                2,
                8,
                "not a valid gate name",
            ),
            (
                "empty command",
                "[[gate]]\nname = \"t\"\ncommand = \"  \"\n",
                3,
                11,
                "empty command",
            ),
            (
                "empty argv",
                "[[gate]]\nname = \"t\"\ncommand = []\n",
                3,
                11,
                "empty command",
            ),
            (
                "wrong type",
                "[[gate]]\nname = \"t\"\ncommand = \"x\"\nrequired = \"yes\"\n",
                4,
                12,
                "bool",
            ),
            (
                "bad env",
                "[[gate]]\nname = \"t\"\ncommand = \"x\"\nenv = { \"A-B\" = \"1\" }\n",
                4,
                7,
                "A-B",
            ),
            ("no gates", "version = 1\n", 1, 1, "no gates"),
            (
                "new version",
                "version = 2\n[[gate]]\nname = \"t\"\ncommand = \"x\"\n",
                1,
                11,
                "version 2",
            ),
        ];
        for (what, text, line, column, needle) in cases {
            let err = parse_config(text).expect_err(what);
            assert_eq!((err.line, err.column), (line, column), "{what}: {err}");
            assert!(err.message.contains(needle), "{what}: {err}");
            assert!(
                err.to_string().starts_with(".omk/gates.toml is invalid at line"),
                "{what}"
            );
        }
    }

    #[test]
    fn duplicate_and_missing_fields_are_errors() {
        let dup = "[[gate]]\nname = \"t\"\ncommand = \"x\"\n[[gate]]\nname = \"t\"\ncommand = \"y\"\n";
        let err = parse_config(dup).unwrap_err();
        assert!(err.message.contains("defined twice"));
        assert_eq!((err.line, err.column), (5, 8));
        let missing = "[[gate]]\nname = \"t\"\n";
        assert!(parse_config(missing).unwrap_err().message.contains("command"));
    }

    #[test]
    fn gate_names_are_safe_path_components() {
        for good in ["test", "cargo-test", "py3.12_unit", "A1"] {
            assert!(GateName::parse(good).is_ok(), "{good}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "-x",
            "a/b",
            "a\\b",
            "a b",
            "é",
            long.as_str(),
        ] {
            assert!(GateName::parse(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<GateName>("\"../x\"").is_err());
    }

    #[test]
    fn the_config_hash_is_stable_and_sensitive() {
        let text = "[[gate]]\nname = \"t\"\ncommand = \"cargo test\"\n";
        let gates = parse_config(text).unwrap();
        let hash = config_hash(&gates);
        assert_eq!(hash.len(), 40);
        assert_eq!(hash, config_hash(&parse_config(text).unwrap()));
        let reformatted = "# comment\n[[gate]]\ncommand = 'cargo test'\nname = 't'\nrequired = true\n";
        assert_eq!(hash, config_hash(&parse_config(reformatted).unwrap()));
        for changed in [
            "[[gate]]\nname = \"t\"\ncommand = \"cargo test -q\"\n",
            "[[gate]]\nname = \"u\"\ncommand = \"cargo test\"\n",
            "[[gate]]\nname = \"t\"\ncommand = \"cargo test\"\nrequired = false\n",
            "[[gate]]\nname = \"t\"\ncommand = \"cargo test\"\ntimeout = \"1m\"\n",
            "[[gate]]\nname = \"t\"\ncommand = \"cargo test\"\nenv = { A = \"1\" }\n",
            "[[gate]]\nname = \"t\"\ncommand = \"cargo test\"\nrunner = \"generic\"\n",
        ] {
            assert_ne!(hash, config_hash(&parse_config(changed).unwrap()), "{changed}");
        }
    }

    #[test]
    fn commands_display_as_typed() {
        let exec = GateCommand::Exec(vec!["python3".into(), "-m".into(), "pytest".into(), "a b".into()]);
        assert_eq!(exec.display(), "python3 -m pytest 'a b'");
        assert_eq!(GateCommand::Shell("make test".into()).display(), "make test");
    }
}
