//! Command-line types (clap). Values are validated here by the model's own parsers, so bad input is a
//! clap usage error: a clear message and exit code 2, before anything is read or written.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::ci::CiCommand;
use super::sharing::{ReleaseArgs, RemoteCommand, SyncArgs};
use crate::model::budget::{Usd, parse_duration, parse_tokens};
use crate::model::ids::TaskId;
use crate::model::options::{AgentSpec, DeliveryPolicy, MergePolicy, OptionError, parse_max_agents};
use crate::model::status::GoalStatus;

/// git omk: proof-backed engineering runs by AI coding agents, with all state in the repository.
#[derive(Debug, Parser)]
#[command(name = "git-omk", bin_name = "git omk", version, about, max_term_width = 100)]
pub struct Cli {
    /// Run as if started in this directory.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// More diagnostics on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Run agents and gates unconfined, without the kernel sandbox (as `git config omk.sandbox off`);
    /// the proof records that they ran unconfined.
    #[arg(long, global = true)]
    pub no_sandbox: bool,
    /// Colours and the live status line: auto (on a terminal, unless NO_COLOR is set or TERM=dumb),
    /// always, never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: ColorWhen,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, inspect and control goals.
    #[command(subcommand)]
    Goal(GoalCommand),
    /// Remove finished worktrees and task branches whose work is safely recorded; maintenance.
    Gc(GcArgs),
    /// Configure remotes for sharing goals.
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Fetch goals from a remote, merge them with the local ones, and push them (never forced).
    Sync(SyncArgs),
    /// GitHub Actions: install the workflows that re-verify proofs and run goals; the verify step.
    #[command(subcommand)]
    Ci(CiCommand),
    /// Agents found (engine, version, protocol), git, GitHub token source, configuration problems, and
    /// what is missing.
    Doctor(DoctorArgs),
    /// Print a shell completion script (bash, zsh, fish); the bash script also completes `git omk …`
    /// through git's own completion.
    Completions(CompletionsArgs),
    /// Print the manual page, or with --install write one page per command so that `git omk --help`
    /// and `git help omk` show them.
    Man(ManArgs),
    /// A whole goal on a throwaway sample repository, to `ready`: plan, agent, gates before and after,
    /// review, proof, the pull request (dry run) and `goal verify`. Uses your Kimi when it is installed
    /// and configured, else a stand-in agent that says so.
    Demo(DemoArgs),
}

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to create the sample repository (a new or empty directory; default: a new directory
    /// under the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The agent to use instead of your Kimi or the stand-in.
    #[arg(long, value_name = "AGENT", value_parser = agent_arg, conflicts_with = "stand_in")]
    pub agent: Option<AgentSpec>,
    /// Use the stand-in agent even when Kimi is installed.
    #[arg(long)]
    pub stand_in: bool,
    /// One turn of the stand-in agent (the demo runs it as an exec agent).
    #[arg(long, hide = true)]
    pub serve_stand_in: bool,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless `NO_COLOR` is set or `TERM=dumb`.
    Auto,
    /// Always (the live status line still needs a terminal).
    Always,
    /// Never: plain text, no escape sequences.
    Never,
}

/// The shells `completions` writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash (source it, or put it in bash-completion's directory as `git-omk`).
    Bash,
    /// Zsh (put it in a directory of `$fpath` as `_git-omk`).
    Zsh,
    /// Fish (put it in `~/.config/fish/completions/git-omk.fish`).
    Fish,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write the pages into DIR (default: ~/.local/share/man/man1, under $XDG_DATA_HOME when set)
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    pub install: Option<Option<PathBuf>>,
}

/// `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `git omk goal …`
#[derive(Debug, Subcommand)]
pub enum GoalCommand {
    /// Create a goal and plan it; with --until-ready, drive it to a terminal status.
    Run(RunArgs),
    /// Create a goal and plan it (brief, technical plan, test spec, task graph, oracle, decisions).
    Plan(PlanArgs),
    /// List the goals of this repository and fetched ones, newest first.
    List(ListArgs),
    /// What a goal is doing right now.
    Status(StatusArgs),
    /// The whole state of a goal.
    Show(ShowArgs),
    /// The proof of a goal (exit 0 when ready, 1 when not).
    Proof(ShowArgs),
    /// Run the gates again on the proven tree (also of a fetched goal) and say whether the proof holds
    /// (exit 0 when it does, 1 when not); a concluded local goal records the fresh evidence and proof.
    Verify(StatusArgs),
    /// Review a concluded goal's result again (scanners, reviewer and security-reviewer sessions) and
    /// record the review with the proof recomputed from it (exit 0 ready, 1 not).
    Review(StatusArgs),
    /// The timeline of a goal from its history; --verify re-derives every snapshot from the events.
    Replay(ReplayArgs),
    /// A recorded transcript for people: the agent's text, tool calls with their results (edits as
    /// diffs), refusals; --json prints the recorded lines.
    Log(LogArgs),
    /// Follow a goal from any terminal: its events and, while it runs on this machine, its agents' live
    /// text and tool calls; exits with the goal's status code once no controller drives it.
    Watch(WatchArgs),
    /// Budget spent and left.
    Budget(ShowArgs),
    /// Raise a goal's budget (a recorded decision); a goal that ran out continues.
    BudgetAdd(BudgetAddArgs),
    /// Pause a goal.
    Pause(ControlArgs),
    /// Resume a paused or stopped goal and drive it to a terminal status.
    Resume(ResumeArgs),
    /// Run the next wave of an existing goal (its tasks, their integration, the gates).
    Execute(StatusArgs),
    /// Cancel a goal.
    Cancel(ControlArgs),
    /// Answer the intake questions of a goal blocked on them: recorded, and the same goal is planned
    /// again (exit 0 when planned, 3 when questions remain).
    Answer(AnswerArgs),
    /// Record a human integrator's acceptance.
    Accept(AcceptArgs),
    /// Record a human integrator's rejection.
    Reject(RejectArgs),
    /// Render the goal's pull request and (unless --dry-run) push and open or update it.
    OpenPr(OpenPrArgs),
    /// Merge the goal's pull request when the merge policy and the evidence allow it.
    Merge(MergeArgs),
    /// Turn new review comments on the goal's PR into fix tasks, re-prove, push, and reply to each.
    AddressReviews(MergeArgs),
    /// Hide finished goals from `goal list` (a recorded event, shared by sync; `list --all` shows them).
    Archive(ArchiveArgs),
    /// List archived goals again.
    Unarchive(ArchiveArgs),
    /// Release the lease of a goal whose controller is gone, so another machine can drive it.
    Release(ReleaseArgs),
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// Stable, versioned JSON for scripts.
    Json,
    /// Markdown.
    Md,
}

/// `goal plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The goal, in one sentence (or `-` to read it from stdin).
    #[arg(value_name = "GOAL")]
    pub goal: String,
    /// The commit to start from.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub base: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `goal run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Planning inputs.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Drive plan → execute → verify → review → proof → deliver until a terminal status.
    #[arg(long)]
    pub until_ready: bool,
    /// Wall-time budget, paused time excluded (e.g. 90m, 8h, 2d).
    #[arg(long, value_name = "DURATION", value_parser = duration_arg, allow_hyphen_values = true)]
    pub budget_time: Option<Duration>,
    /// Token budget.
    #[arg(long, value_name = "N", value_parser = tokens_arg, allow_hyphen_values = true)]
    pub budget_tokens: Option<u64>,
    /// USD budget.
    #[arg(long, value_name = "USD", value_parser = usd_arg, allow_hyphen_values = true)]
    pub budget_usd: Option<Usd>,
    /// Most agents running at once.
    #[arg(long, value_name = "N", value_parser = max_agents_arg, allow_hyphen_values = true)]
    pub max_agents: Option<u16>,
    /// Agent of task sessions (and of the other roles unless they have their own): kimi, kimi-wire,
    /// kimi-acp, qwen, acp:<cmd>, exec:<cmd>.
    #[arg(long, value_name = "AGENT", value_parser = agent_arg)]
    pub agent: Option<AgentSpec>,
    /// Agent of the planner session (default: omk.agent.planner, else --agent).
    #[arg(long, value_name = "AGENT", value_parser = agent_arg)]
    pub planner_agent: Option<AgentSpec>,
    /// Agent of the reviewer and security-reviewer sessions (default: omk.agent.reviewer, else --agent).
    #[arg(long, value_name = "AGENT", value_parser = agent_arg)]
    pub reviewer_agent: Option<AgentSpec>,
    /// Delivery policy: local, draft-pr, auto-pr.
    #[arg(long, value_name = "POLICY", value_parser = policy_arg)]
    pub policy: Option<DeliveryPolicy>,
    /// Merge policy: disabled, manual, gated.
    #[arg(long, value_name = "POLICY", value_parser = merge_policy_arg)]
    pub merge_policy: Option<MergePolicy>,
    /// Deliver each integrated task as its own PR into the integration branch, listed by the goal's PR
    /// (default: omk.delivery.slicePrs).
    #[arg(long)]
    pub slice_prs: bool,
    /// Plan with the heuristic planner only.
    #[arg(long)]
    pub no_llm_planner: bool,
    /// Token budget of the planning session.
    #[arg(long, value_name = "N", value_parser = tokens_arg, allow_hyphen_values = true)]
    pub planner_token_budget: Option<u64>,
}

/// `goal list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only goals with this status.
    #[arg(long, value_name = "STATUS", value_parser = status_arg)]
    pub status: Option<GoalStatus>,
    /// Only the newest N goals (after the status filter).
    #[arg(short = 'n', long, value_name = "N", value_parser = limit_arg)]
    pub limit: Option<usize>,
    /// Archived goals too (`goal archive` hides finished goals from the list).
    #[arg(short, long)]
    pub all: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `goal status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL")]
    pub goal: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `goal show`, `goal proof`, `goal budget`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL")]
    pub goal: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text")]
    pub format: Format,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl ShowArgs {
    /// The effective format.
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

/// `goal replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Goal and format.
    #[command(flatten)]
    pub show: ShowArgs,
    /// Re-derive every snapshot from the events and report the first divergence (exit 1 if any).
    #[arg(long)]
    pub verify: bool,
}

/// `goal budget-add`.
#[derive(Debug, Args)]
pub struct BudgetAddArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL")]
    pub goal: Option<String>,
    /// Time to add (e.g. 30m, 2h).
    #[arg(long, value_name = "DURATION", value_parser = duration_arg, allow_hyphen_values = true)]
    pub time: Option<Duration>,
    /// Tokens to add.
    #[arg(long, value_name = "N", value_parser = tokens_arg, allow_hyphen_values = true)]
    pub tokens: Option<u64>,
    /// Dollars to add.
    #[arg(long, value_name = "USD", value_parser = usd_arg, allow_hyphen_values = true)]
    pub usd: Option<Usd>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `goal pause`, `resume`, `cancel`.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL")]
    pub goal: Option<String>,
    /// Why (recorded).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `goal resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL", conflicts_with = "auto")]
    pub goal: Option<String>,
    /// Resume every goal of this repository whose controller died on this host.
    #[arg(long)]
    pub auto: bool,
    /// Only record the resumption (one commit); do not start a controller here.
    #[arg(long, conflicts_with = "auto")]
    pub no_run: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `goal accept`.
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL")]
    pub goal: Option<String>,
    /// What is accepted and why (recorded).
    #[arg(long, value_name = "TEXT")]
    pub summary: String,
    /// Accept only this task's findings (those in files of its write set), not the whole goal.
    #[arg(long, value_name = "ID", value_parser = TaskId::parse)]
    pub task: Option<TaskId>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `goal log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL")]
    pub goal: Option<String>,
    /// One task, by id or its `tN` prefix (default: every task).
    #[arg(value_name = "TASK")]
    pub task: Option<String>,
    /// One attempt of each task shown (from 1; default: every attempt).
    #[arg(long, value_name = "N")]
    pub attempt: Option<u32>,
    /// The recorded transcript lines (JSON Lines).
    #[arg(long)]
    pub json: bool,
}

/// `goal watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL")]
    pub goal: Option<String>,
    /// One JSON object per line (`type`: event, agent, note, end).
    #[arg(long)]
    pub json: bool,
}

/// `goal archive`, `goal unarchive`.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Goal ids or unique prefixes (`latest` for the newest).
    #[arg(value_name = "GOAL", required = true)]
    pub goals: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `goal answer`.
#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// Goal id or unique prefix (`latest` for the newest).
    #[arg(value_name = "GOAL")]
    pub goal: String,
    /// The answers, in words (`-` reads them from stdin).
    #[arg(value_name = "ANSWER", allow_hyphen_values = true)]
    pub answer: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `goal reject`.
#[derive(Debug, Args)]
pub struct RejectArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL")]
    pub goal: Option<String>,
    /// Why (recorded).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Output formats of `goal open-pr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PrFormat {
    /// The PR as Markdown (and what was done).
    #[value(alias = "md")]
    Markdown,
    /// Stable, versioned JSON for scripts.
    Json,
}

/// `goal open-pr`.
#[derive(Debug, Args)]
pub struct OpenPrArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL")]
    pub goal: Option<String>,
    /// Render the PR without pushing, sending or recording anything (no network).
    #[arg(long)]
    pub dry_run: bool,
    /// Open the PR as a draft (the default unless the goal's policy is auto-pr).
    #[arg(long)]
    pub draft: bool,
    /// The branch to merge into (default: the goal's base branch, else the repository's default branch).
    #[arg(long, value_name = "BRANCH")]
    pub base: Option<String>,
    /// Also open or update one PR per integrated task into the integration branch (kept up to date
    /// from then on; a goal run with --slice-prs gets them without the flag).
    #[arg(long)]
    pub slice_prs: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "markdown")]
    pub format: PrFormat,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

impl OpenPrArgs {
    /// The effective format.
    pub fn format(&self) -> PrFormat {
        if self.json { PrFormat::Json } else { self.format }
    }
}

/// `goal merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Goal id or unique prefix (default: latest).
    #[arg(value_name = "GOAL")]
    pub goal: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

fn tokens_arg(s: &str) -> Result<u64, String> {
    parse_tokens(s).map_err(|e| e.to_string())
}

fn usd_arg(s: &str) -> Result<Usd, String> {
    Usd::parse_positive(s).map_err(|e| e.to_string())
}

fn max_agents_arg(s: &str) -> Result<u16, String> {
    parse_max_agents(s).map_err(|e| e.to_string())
}

fn agent_arg(s: &str) -> Result<AgentSpec, String> {
    s.parse().map_err(|e: OptionError| e.to_string())
}

fn policy_arg(s: &str) -> Result<DeliveryPolicy, String> {
    s.parse().map_err(|e: OptionError| e.to_string())
}

fn merge_policy_arg(s: &str) -> Result<MergePolicy, String> {
    s.parse().map_err(|e: OptionError| e.to_string())
}

fn status_arg(s: &str) -> Result<GoalStatus, String> {
    s.parse().map_err(|_| {
        let all: Vec<&str> = GoalStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown status `{s}`: use one of {}", all.join(", "))
    })
}

fn limit_arg(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{s}` is not a number of goals: give 1 or more")),
    }
}
