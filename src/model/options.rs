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
    /// The agent of task sessions (and of the other roles unless they have their own).
    pub agent: AgentSpec,
    /// The planner's agent when it is not `agent` (`--planner-agent`, `omk.agent.planner`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planner_agent: Option<AgentSpec>,
    /// The reviewers' agent when it is not `agent` (`--reviewer-agent`, `omk.agent.reviewer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer_agent: Option<AgentSpec>,
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
    /// Deliver each integrated task as its own PR into the integration branch (`--slice-prs`,
    /// `omk.delivery.slicePrs`), listed by the integrator PR.
    #[serde(default, skip_serializing_if = "is_false")]
    pub slice_prs: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Agents asked for by role, on the command line or in the configuration; each may be unset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleAgents {
    /// Every role's agent unless it has its own (`omk.agent`; on the command line `--agent` serves).
    pub all: Option<AgentSpec>,
    /// Task sessions (`--agent`, `omk.agent.task`).
    pub task: Option<AgentSpec>,
    /// The planner (`--planner-agent`, `omk.agent.planner`).
    pub planner: Option<AgentSpec>,
    /// The reviewers (`--reviewer-agent`, `omk.agent.reviewer`).
    pub reviewer: Option<AgentSpec>,
}

impl RunOptions {
    /// These options with each role's agent chosen from the command line (`flags`, whose `task` is
    /// `--agent`) and the configuration. Tasks: `--agent`, `omk.agent.task`, `omk.agent`, kimi. The
    /// planner and the reviewers: their own flag, their own key, `--agent`, `omk.agent`, kimi. A role
    /// is recorded apart only when its agent differs from the tasks' one.
    pub fn with_agents(self, flags: RoleAgents, configured: &RoleAgents) -> RunOptions {
        let task = (flags.task.clone())
            .or_else(|| configured.task.clone())
            .or_else(|| configured.all.clone())
            .unwrap_or(AgentSpec::Kimi);
        let shared = (flags.task.or(flags.all))
            .or_else(|| configured.all.clone())
            .unwrap_or(AgentSpec::Kimi);
        let own = |flag: Option<AgentSpec>, configured: &Option<AgentSpec>| {
            Some(
                flag.or_else(|| configured.clone())
                    .unwrap_or_else(|| shared.clone()),
            )
            .filter(|a| *a != task)
        };
        RunOptions {
            planner_agent: own(flags.planner, &configured.planner),
            reviewer_agent: own(flags.reviewer, &configured.reviewer),
            agent: task,
            ..self
        }
    }

    /// The agent of `role`'s sessions.
    pub fn agent_of(&self, role: Role) -> &AgentSpec {
        let own = match role {
            Role::Planner => self.planner_agent.as_ref(),
            Role::Task => None,
            Role::Reviewer | Role::SecurityReviewer => self.reviewer_agent.as_ref(),
        };
        own.unwrap_or(&self.agent)
    }

    /// Every distinct agent the goal uses, with the roles it serves.
    pub fn agents(&self) -> Vec<(&AgentSpec, Vec<Role>)> {
        let mut out: Vec<(&AgentSpec, Vec<Role>)> = Vec::new();
        for role in Role::ALL {
            let agent = self.agent_of(role);
            match out.iter_mut().find(|(a, _)| *a == agent) {
                Some((_, roles)) => roles.push(role),
                None => out.push((agent, vec![role])),
            }
        }
        out
    }
}

/// What an agent session is for; exec agents see it as `OMK_ROLE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Plans the goal (read-only).
    Planner,
    /// Works on one task in its worktree.
    Task,
    /// Reviews the integrated change (read-only).
    Reviewer,
    /// Reviews the integrated change for security (read-only).
    SecurityReviewer,
}

impl Role {
    /// Every role, in the order a goal uses them.
    pub const ALL: [Role; 4] = [Role::Planner, Role::Task, Role::Reviewer, Role::SecurityReviewer];

    /// The name agents see (`OMK_ROLE`): `planner`, `task`, `reviewer`, `security-reviewer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Planner => "planner",
            Role::Task => "task",
            Role::Reviewer => "reviewer",
            Role::SecurityReviewer => "security-reviewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
            planner_agent: None,
            reviewer_agent: None,
            delivery: DeliveryPolicy::Local,
            merge: MergePolicy::Disabled,
            llm_planner: true,
            planner_token_budget: None,
            until_ready: false,
            slice_prs: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_agents_come_from_flags_then_their_keys_then_the_shared_agent() {
        let exec = |c: &str| Some(AgentSpec::Exec(c.into()));
        let configured = RoleAgents {
            all: Some(AgentSpec::Qwen),
            task: exec("task.sh"),
            planner: None,
            reviewer: exec("review.sh"),
        };
        let o = RunOptions::default().with_agents(RoleAgents::default(), &configured);
        assert_eq!(o.agent.to_string(), "exec:task.sh");
        assert_eq!(
            o.agent_of(Role::Planner),
            &AgentSpec::Qwen,
            "falls back to omk.agent"
        );
        assert_eq!(o.agent_of(Role::SecurityReviewer).to_string(), "exec:review.sh");
        let flags = RoleAgents {
            task: Some(AgentSpec::KimiAcp),
            planner: exec("plan.sh"),
            ..RoleAgents::default()
        };
        let o = RunOptions::default().with_agents(flags, &configured);
        assert_eq!(o.agent, AgentSpec::KimiAcp);
        assert_eq!(o.agent_of(Role::Planner).to_string(), "exec:plan.sh");
        assert_eq!(o.agent_of(Role::Reviewer).to_string(), "exec:review.sh");
        let flags = RoleAgents {
            task: Some(AgentSpec::KimiAcp),
            ..RoleAgents::default()
        };
        let o = RunOptions::default().with_agents(flags, &RoleAgents::default());
        assert_eq!(
            (o.planner_agent, o.reviewer_agent),
            (None, None),
            "--agent serves every role"
        );
        let o = RunOptions::default().with_agents(RoleAgents::default(), &RoleAgents::default());
        assert_eq!(o, RunOptions::default());
    }

    #[test]
    fn roles_fall_back_to_the_task_agent() {
        let mut options = RunOptions::default();
        assert_eq!(options.agent_of(Role::Reviewer), &AgentSpec::Kimi);
        assert_eq!(options.agents(), vec![(&AgentSpec::Kimi, Role::ALL.to_vec())]);
        options.reviewer_agent = Some(AgentSpec::Exec("review.sh".into()));
        assert_eq!(
            options.agent_of(Role::SecurityReviewer).to_string(),
            "exec:review.sh"
        );
        assert_eq!(options.agent_of(Role::Planner), &AgentSpec::Kimi);
        assert_eq!(options.agents().len(), 2);
        // Goals recorded before roles existed read with every role on the task agent.
        let old: RunOptions = serde_json::from_value(serde_json::json!({
            "limits": {"time_secs": 10, "tokens": null, "usd_micros": null}, "max_agents": 1,
            "agent": "qwen", "delivery": "local", "merge": "disabled", "llm_planner": true,
            "planner_token_budget": null, "until_ready": false
        }))
        .unwrap();
        assert_eq!(old.agent_of(Role::Planner), &AgentSpec::Qwen);
        assert!(!serde_json::to_string(&old).unwrap().contains("planner_agent"));
    }

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
