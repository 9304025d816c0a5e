//! Run options and policies of a goal: which agent, how many at once, delivery and merge policy.
//!
//! Owns their parsing from command-line text and their recorded form. Pure.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::budget::Limits;

/// An option value that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// Unknown agent spelling.
    #[error("`{0}` is not an agent: use kimi, kimi-wire, kimi-acp, qwen, acp:<command> or exec:<command>")]
    Agent(String),
    /// `acp:`/`exec:` without a command.
    #[error("`{0}` names no command: write it as {0}<command>")]
    EmptyCommand(String),
    /// Unknown policy.
    #[error("`{value}` is not a {what}: use one of {choices}")]
    Choice {
        /// What was being parsed.
        what: &'static str,
        /// The rejected value.
        value: String,
        /// The accepted values.
        choices: &'static str,
    },
    /// `--max-agents 0` or out of range.
    #[error("--max-agents must be between 1 and {max} (got `{value}`)")]
    MaxAgents {
        /// The rejected value.
        value: String,
        /// Upper bound.
        max: u16,
    },
}

/// Which agent engine runs the tasks (DESIGN §4).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum AgentSpec {
    /// Detect the installed Kimi generation.
    Kimi,
    /// Legacy kimi-cli over Wire.
    KimiWire,
    /// Kimi Code over ACP.
    KimiAcp,
    /// Qwen Code over ACP (`qwen --acp --approval-mode default`).
    Qwen,
    /// Any ACP agent started by this command line.
    Acp(String),
    /// Any command that edits the work dir and exits.
    Exec(String),
}

impl FromStr for AgentSpec {
    type Err = OptionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let command = |prefix: &str, rest: &str| {
            let rest = rest.trim();
            if rest.is_empty() {
                Err(OptionError::EmptyCommand(prefix.to_owned()))
            } else {
                Ok(rest.to_owned())
            }
        };
        match s {
            "kimi" => Ok(AgentSpec::Kimi),
            "kimi-wire" => Ok(AgentSpec::KimiWire),
            "kimi-acp" => Ok(AgentSpec::KimiAcp),
            "qwen" => Ok(AgentSpec::Qwen),
            _ => {
                if let Some(rest) = s.strip_prefix("acp:") {
                    command("acp:", rest).map(AgentSpec::Acp)
                } else if let Some(rest) = s.strip_prefix("exec:") {
                    command("exec:", rest).map(AgentSpec::Exec)
                } else {
                    Err(OptionError::Agent(s.to_owned()))
                }
            }
        }
    }
}

impl fmt::Display for AgentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentSpec::Kimi => f.write_str("kimi"),
            AgentSpec::KimiWire => f.write_str("kimi-wire"),
            AgentSpec::KimiAcp => f.write_str("kimi-acp"),
            AgentSpec::Qwen => f.write_str("qwen"),
            AgentSpec::Acp(cmd) => write!(f, "acp:{cmd}"),
            AgentSpec::Exec(cmd) => write!(f, "exec:{cmd}"),
        }
    }
}

impl TryFrom<String> for AgentSpec {
    type Error = OptionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AgentSpec> for String {
    fn from(a: AgentSpec) -> String {
        a.to_string()
    }
}

macro_rules! choice_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// The name as written on the command line and in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = OptionError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(OptionError::Choice {
                        what: $what,
                        value: s.to_owned(),
                        choices: concat!($($text, " "),+),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

choice_enum!(
    /// How a finished goal is delivered (DESIGN §9).
    DeliveryPolicy, "delivery policy", {
        /// The integration branch stays local.
        Local => "local",
        /// Push and open a draft PR.
        DraftPr => "draft-pr",
        /// Push and open a PR.
        AutoPr => "auto-pr",
    }
);

choice_enum!(
    /// When the goal's PR may be merged (DESIGN §9).
    MergePolicy, "merge policy", {
        /// Never merge.
        Disabled => "disabled",
        /// A human merges; the goal says how.
        Manual => "manual",
        /// Merge when the proof is ready, the head is the proven commit and checks pass.
        Gated => "gated",
    }
);

/// The upper bound for `--max-agents`.
pub const MAX_AGENTS_LIMIT: u16 = 64;

/// Parse `--max-agents`.
pub fn parse_max_agents(text: &str) -> Result<u16, OptionError> {
    match text.trim().parse::<u16>() {
        Ok(n) if (1..=MAX_AGENTS_LIMIT).contains(&n) => Ok(n),
        _ => Err(OptionError::MaxAgents {
            value: text.to_owned(),
            max: MAX_AGENTS_LIMIT,
        }),
    }
}

/// Everything `goal run` was asked to do, as recorded in the goal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOptions {
    /// Budget limits of the whole goal.
    pub limits: Limits,
    /// Most agents running at once.
    pub max_agents: u16,
    /// The agent engine.
    pub agent: AgentSpec,
    /// Delivery policy.
    pub delivery: DeliveryPolicy,
    /// Merge policy.
    pub merge: MergePolicy,
    /// Whether planning may use an agent (false with `--no-llm-planner`).
    pub llm_planner: bool,
    /// Token budget for the planning session.
    pub planner_token_budget: Option<u64>,
    /// Whether the run was asked to go all the way (`--until-ready`).
    pub until_ready: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            limits: Limits {
                time_secs: Some(Limits::DEFAULT_TIME_SECS),
                tokens: None,
                usd_micros: None,
            },
            max_agents: 2,
            agent: AgentSpec::Kimi,
            delivery: DeliveryPolicy::Local,
            merge: MergePolicy::Disabled,
            llm_planner: true,
            planner_token_budget: None,
            until_ready: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_parse_and_print() {
        for text in [
            "kimi",
            "kimi-wire",
            "kimi-acp",
            "qwen",
            "acp:my-agent --stdio",
            "exec:./fix.sh",
        ] {
            let spec: AgentSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!(
            "acp:".parse::<AgentSpec>(),
            Err(OptionError::EmptyCommand("acp:".into()))
        );
        assert!(matches!(
            "claude".parse::<AgentSpec>(),
            Err(OptionError::Agent(_))
        ));
    }

    #[test]
    fn policies_and_agents_limits() {
        assert_eq!(
            "draft-pr".parse::<DeliveryPolicy>().unwrap(),
            DeliveryPolicy::DraftPr
        );
        assert_eq!("gated".parse::<MergePolicy>().unwrap(), MergePolicy::Gated);
        assert!("auto".parse::<MergePolicy>().is_err());
        assert_eq!(
            serde_json::to_string(&DeliveryPolicy::AutoPr).unwrap(),
            "\"auto-pr\""
        );
        assert_eq!(parse_max_agents("8").unwrap(), 8);
        for bad in ["0", "-1", "65", "x"] {
            assert!(parse_max_agents(bad).is_err(), "{bad}");
        }
    }
}
