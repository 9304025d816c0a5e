//! The session abstraction the controller uses, whatever the engine: start (or resume) an agent in a
//! task's worktree under a policy, prompt it, read the turn's events as they happen (per-step token
//! usage included, so a turn crossing a budget can be cancelled), cancel, and shut down. One agent
//! process serves all the attempts of a task.
//!
//! Owns engine selection (`kimi` detects the installed generation), the turn bookkeeping (usage,
//! denials, the after-turn diff check against the policy), the transcript and the session record.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::acp::{AcpEngine, AcpStart};
use super::detect::{KIMI_INSTALL_HINT, KimiGeneration, kimi_version, which};
use super::diffcheck;
use super::engine::{CancelWatch, Engine, MAX_TEXT, Step, bounded};
use super::error::AgentError;
use super::event::{AgentEvent, Denial, EngineKind, SessionInfo, StopReason, TurnOutcome};
use super::exec::ExecEngine;
use super::jsonrpc::DEFAULT_MAX_LINE;
use super::qwen;
use super::record::{SessionRecord, TurnSummary, attempt_files};
use super::transcript::{DEFAULT_MAX_BYTES, Entry, Transcript};
use super::wire::{WireEngine, WireStart};
use crate::git::checkout::Checkout;
use crate::model::ids::TaskId;
use crate::model::options::{AgentSpec, Role};
use crate::model::policy::{Access, Policy, Violation};
use crate::model::sandbox::{Breach, refusals};
use crate::model::shell;
use crate::model::usage::{PriceTable, TokenUsage};
use crate::sandbox::{Confined, Sandbox, Scope};
use crate::settings;

/// Bounds and timeouts of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest protocol line accepted from the agent.
    pub max_line: usize,
    /// How long the agent may take to start and answer a setup request.
    pub start_timeout: Duration,
    /// How long a cancelled turn may take to end before the agent is killed.
    pub cancel_grace: Duration,
    /// Size bound of the transcript kept between two [`Session::attempt_files`] calls.
    pub transcript_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: DEFAULT_MAX_LINE,
            start_timeout: Duration::from_secs(120),
            cancel_grace: Duration::from_secs(10),
            transcript_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// How to launch the agent, beyond the engine's own arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Launch {
    /// The `kimi` program for the Kimi engines (default: `kimi` on `PATH`).
    pub program: Option<PathBuf>,
    /// The `qwen` program for the Qwen engine (default: `qwen` on `PATH`).
    pub qwen_program: Option<PathBuf>,
    /// Arguments appended to the engine's own (for example kimi-cli's `--config`).
    pub extra_args: Vec<String>,
    /// Environment set for the agent on top of the inherited one (git-omk's secrets are removed
    /// regardless).
    pub env: Vec<(String, String)>,
    /// The model name for pricing, when the agent does not tell it.
    pub model: Option<String>,
    /// Secret values to redact verbatim from transcripts (for example git-omk's GitHub token).
    pub known_secrets: Vec<String>,
    /// The sandbox the agent and everything it runs are confined in.
    pub sandbox: Sandbox,
}

impl Launch {
    /// This launch for a session of `role` (working on `task`): the agent sees them as `OMK_ROLE`
    /// (`planner`, `task`, `reviewer`, `security-reviewer`) and `OMK_TASK`, so one `exec:` command can
    /// serve every role.
    pub fn for_role(mut self, role: Role, task: Option<&TaskId>) -> Launch {
        self.env.retain(|(k, _)| k != "OMK_ROLE" && k != "OMK_TASK");
        self.env.push(("OMK_ROLE".to_owned(), role.as_str().to_owned()));
        if let Some(task) = task {
            self.env.push(("OMK_TASK".to_owned(), task.to_string()));
        }
        self
    }
}

/// Everything needed to start a session.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Which agent.
    pub agent: AgentSpec,
    /// What it may do; its work dir is the task's worktree.
    pub policy: Policy,
    /// A stored session id to resume (after a crash, in a new process).
    pub resume: Option<String>,
    /// Launch details.
    pub launch: Launch,
    /// Bounds and timeouts.
    pub limits: Limits,
    /// The checkout the work directory belongs to, located by the caller from the repository's shared
    /// git directory. `None`: git finds it from the work directory when the session starts, before
    /// the agent runs.
    pub checkout: Option<Checkout>,
}

impl SessionConfig {
    /// A configuration with default launch details and limits.
    pub fn new(agent: AgentSpec, policy: Policy) -> SessionConfig {
        SessionConfig {
            agent,
            policy,
            resume: None,
            launch: Launch::default(),
            limits: Limits::default(),
            checkout: None,
        }
    }
}

/// Cancels the running turn of a session from anywhere (another task, a signal handler).
#[derive(Clone, Debug)]
pub struct Canceller(Arc<watch::Sender<bool>>);

impl Canceller {
    /// Ask the running turn to stop. No effect when no turn runs.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

/// A running agent session.
pub struct Session {
    engine: Box<dyn Engine>,
    policy: Arc<Policy>,
    checkout: Checkout,
    repo: gix::ThreadSafeRepository,
    prefix: String,
    cancel: Arc<watch::Sender<bool>>,
    transcript: Transcript,
    turns: Vec<TurnSummary>,
    usage: TokenUsage,
    known_secrets: Vec<String>,
    hidden: Vec<String>,
    broken: Option<String>,
    /// What the next prompt must say first (refusals the agent ended its last turn on).
    note: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("info", self.engine.info())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Start the agent in the policy's work dir (or resume `config.resume`).
    pub async fn start(config: SessionConfig) -> Result<Session, AgentError> {
        let parts = Parts::of(&config).await?;
        let confined = confinement(&config, &parts.policy, &parts.checkout);
        let engine = start_engine(&config, parts.policy.clone(), confined).await?;
        Ok(Session::around(engine, parts, &config))
    }

    /// Whether [`Session::renew`] can open another session in this agent's process (Kimi Code).
    pub fn renewable(&self) -> bool {
        self.broken.is_none() && self.engine.renewable()
    }

    /// A new session of the same agent process for `config` (its policy, work dir and checkout; the
    /// agent and launch are the running ones'): no second start-up. The agent's process keeps the
    /// sandbox it was started in; the commands the client runs for the new session are confined to
    /// the new session's scope. On failure the agent is shut down.
    pub async fn renew(self, config: SessionConfig) -> Result<Session, AgentError> {
        let renewable = self.renewable();
        let mut engine = self.engine;
        let renewed = if renewable {
            renewed(engine.as_mut(), &config).await
        } else {
            Err(AgentError::Protocol(
                "this agent cannot open a second session in its process".to_owned(),
            ))
        };
        match renewed {
            Ok(parts) => Ok(Session::around(engine, parts, &config)),
            Err(e) => {
                engine.shutdown().await;
                Err(e)
            }
        }
    }

    /// A session of `engine` with `parts`, before its first turn.
    fn around(engine: Box<dyn Engine>, parts: Parts, config: &SessionConfig) -> Session {
        let (cancel, _) = watch::channel(false);
        Session {
            engine,
            policy: parts.policy,
            checkout: parts.checkout,
            repo: parts.repo,
            prefix: parts.prefix,
            cancel: Arc::new(cancel),
            transcript: Transcript::new(config.limits.transcript_bytes),
            turns: Vec::new(),
            usage: TokenUsage::default(),
            known_secrets: config.launch.known_secrets.clone(),
            hidden: parts.hidden,
            broken: None,
            note: None,
        }
    }

    /// Facts about the session (engine, version, session id to store for resuming).
    pub fn info(&self) -> &SessionInfo {
        self.engine.info()
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A handle that cancels the running turn.
    pub fn canceller(&self) -> Canceller {
        Canceller(self.cancel.clone())
    }

    /// The agent's process group, while one runs (for diagnostics and tests; cancel with
    /// [`Session::canceller`], stop with [`Session::shutdown`]).
    pub fn process_group(&self) -> Option<i32> {
        self.engine.process_group()
    }

    /// Tokens of all turns so far.
    pub fn usage(&self) -> TokenUsage {
        self.usage
    }

    /// Send a prompt; the returned turn yields the events until it ends. Finish every turn (with
    /// [`Turn::finish`]) before prompting again. When the agent ended its previous turn on refusals it
    /// never reacted to, the prompt first states them and why ([`TurnOutcome::refusal_note`]).
    pub async fn prompt(&mut self, text: &str) -> Result<Turn<'_>, AgentError> {
        if let Some(why) = &self.broken {
            return Err(AgentError::Protocol(format!(
                "the session can no longer be used: {why}"
            )));
        }
        self.broken = Some("a turn was left unfinished".to_owned());
        let start_head = diffcheck::head(&self.repo);
        self.cancel.send_replace(false);
        let number = u32::try_from(self.turns.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let text = match self.note.take() {
            Some(note) => format!("{note}\n\n{text}"),
            None => text.to_owned(),
        };
        self.transcript.push(Entry::Prompt {
            turn: number,
            text: text.clone(),
        });
        self.engine.begin(&text).await?;
        Ok(Turn {
            cancel: CancelWatch::new(self.cancel.subscribe()),
            session: self,
            number,
            start_head,
            ended: None,
            usage: TokenUsage::default(),
            text: String::new(),
            denials: Vec::new(),
            breaches: Vec::new(),
        })
    }

    /// Prompt and wait for the end of the turn, ignoring the events.
    pub async fn run(&mut self, text: &str) -> Result<TurnOutcome, AgentError> {
        self.prompt(text).await?.finish().await
    }

    /// The session record, priced with `prices`.
    pub fn record(&self, prices: &PriceTable) -> SessionRecord {
        SessionRecord::new(
            self.info(),
            self.turns.clone(),
            self.usage,
            prices,
            self.engine.noise(),
        )
    }

    /// The goal-tree files of an attempt (`agents/<task>/<attempt>/session.json` and
    /// `transcript.jsonl`, redacted). The transcript holds the turns since the previous call.
    pub fn attempt_files(
        &mut self,
        task: &TaskId,
        attempt: u32,
        prices: &PriceTable,
    ) -> Vec<(String, Vec<u8>)> {
        let record = self.record(prices);
        let transcript = self.transcript.take();
        attempt_files(task, attempt, &record, &transcript, &self.known_secrets)
    }

    /// Stop the agent: close its input, give it a moment, kill its process group.
    pub async fn shutdown(self) {
        self.engine.shutdown().await;
    }
}

/// What a session has besides its engine, made from its configuration.
struct Parts {
    policy: Arc<Policy>,
    checkout: Checkout,
    repo: gix::ThreadSafeRepository,
    prefix: String,
    hidden: Vec<String>,
}

impl Parts {
    /// The policy rebased on the canonical work dir, its checkout (found by git unless given), and
    /// the spellings of hidden variables.
    async fn of(config: &SessionConfig) -> Result<Parts, AgentError> {
        let work_dir = config
            .policy
            .work_dir()
            .canonicalize()
            .map_err(|source| AgentError::WorkDir {
                path: config.policy.work_dir().display().to_string(),
                source,
            })?;
        let policy = Arc::new(config.policy.clone().rebased(&work_dir)?);
        let checkout = match &config.checkout {
            Some(checkout) => checkout.clone(),
            None => diffcheck::discover(&work_dir).await?,
        };
        let repo = diffcheck::open(&checkout)?;
        let prefix = diffcheck::prefix(&checkout, &work_dir);
        let hidden = config
            .launch
            .sandbox
            .hidden_spellings(&os_pairs(&config.launch.env));
        Ok(Parts {
            policy,
            checkout,
            repo,
            prefix,
            hidden,
        })
    }
}

/// Open the new session of [`Session::renew`] in `engine`.
async fn renewed(engine: &mut dyn Engine, config: &SessionConfig) -> Result<Parts, AgentError> {
    let parts = Parts::of(config).await?;
    let confined = confinement(config, &parts.policy, &parts.checkout);
    engine
        .renew(parts.policy.clone(), confined, os_pairs(&config.launch.env))
        .await?;
    Ok(parts)
}

/// One running turn.
pub struct Turn<'s> {
    session: &'s mut Session,
    cancel: CancelWatch,
    number: u32,
    start_head: Option<String>,
    ended: Option<(StopReason, bool)>,
    usage: TokenUsage,
    text: String,
    denials: Vec<Denial>,
    breaches: Vec<Breach>,
}

impl Turn<'_> {
    /// The next event, or `None` once the turn has ended. Cancel-safe.
    pub async fn next_event(&mut self) -> Result<Option<AgentEvent>, AgentError> {
        if self.ended.is_some() {
            return Ok(None);
        }
        match self.session.engine.step(&mut self.cancel).await? {
            Step::Event(event) => {
                self.observe(&event);
                Ok(Some(event))
            }
            Step::End { stop, killed } => {
                self.ended = Some((stop, killed));
                Ok(None)
            }
        }
    }

    fn observe(&mut self, event: &AgentEvent) {
        match event {
            AgentEvent::Usage { usage } => self.usage += *usage,
            AgentEvent::Text { text } if self.text.len() + text.len() <= 4 * MAX_TEXT => {
                self.text.push_str(text)
            }
            AgentEvent::Denied(denial) => self.denials.push(denial.clone()),
            _ => {}
        }
        self.look_for_refusals(event);
        self.session
            .transcript
            .push(Entry::from_event(self.number, event));
    }

    /// What programs the agent ran printed (tool results; an `exec:` agent's own output) is where the
    /// sandbox's refusals show.
    fn look_for_refusals(&mut self, event: &AgentEvent) {
        let output = match event {
            AgentEvent::ToolResult { output, .. } => output,
            AgentEvent::Text { text } if self.session.engine.info().engine == EngineKind::Exec => text,
            _ => return,
        };
        for breach in refusals(output, &self.session.hidden) {
            if !self.breaches.contains(&breach) {
                self.breaches.push(breach);
            }
        }
    }

    /// Tokens of the turn so far.
    pub fn usage(&self) -> TokenUsage {
        self.usage
    }

    /// The turn number within the session.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Ask the turn to stop; keep reading events (or call [`Turn::finish`]) to see it end.
    pub fn cancel(&self) {
        self.session.cancel.send_replace(true);
    }

    /// Read the turn to its end, check the worktree's changes against the policy, and report.
    pub async fn finish(mut self) -> Result<TurnOutcome, AgentError> {
        while self.next_event().await?.is_some() {}
        let (stop, killed) = self
            .ended
            .take()
            .expect("the loop above ends only at the end of the turn");
        let session = &mut *self.session;
        let changes = diffcheck::changes(&session.checkout, &session.prefix, self.start_head.take()).await?;
        let mut breaches = std::mem::take(&mut self.breaches);
        breaches.extend(session.pointer_breach());
        let mut violations = session.policy.check_changes(&changes.paths);
        if changes.head_moved {
            violations.push(Violation {
                path: "HEAD".to_owned(),
                reason: "the agent moved HEAD: git-omk makes the commits; leave git history alone".to_owned(),
            });
        }
        let outcome = TurnOutcome {
            number: self.number,
            stop,
            usage: self.usage,
            text: bounded(&self.text, 4 * MAX_TEXT),
            denials: std::mem::take(&mut self.denials),
            changed: changes.paths,
            violations,
            breaches,
            agent_killed: killed,
            unanswered_refusals: session.engine.unanswered_refusals(),
        };
        session.record_turn(&outcome);
        Ok(outcome)
    }
}

impl Session {
    /// The checkout's `.git` pointer, checked after a turn: a changed one is a breach, and is put back
    /// so the checkout stays usable (git-omk itself never follows it).
    fn pointer_breach(&self) -> Option<Breach> {
        let changed = self.checkout.check_pointer().err()?;
        if let Err(e) = self.checkout.restore_pointer() {
            tracing::warn!(
                "could not restore the .git pointer of {}: {e}",
                self.checkout.path().display()
            );
        }
        Some(Breach::PointerChanged { found: changed.found })
    }

    fn record_turn(&mut self, outcome: &TurnOutcome) {
        for violation in &outcome.violations {
            self.transcript.push(Entry::Violation {
                turn: outcome.number,
                violation: violation.clone(),
            });
        }
        for breach in &outcome.breaches {
            self.transcript.push(Entry::Breach {
                turn: outcome.number,
                breach: breach.clone(),
            });
        }
        self.transcript.push(Entry::TurnEnd {
            turn: outcome.number,
            stop: outcome.stop.clone(),
            usage: outcome.usage,
        });
        self.turns.push(TurnSummary::from(outcome));
        self.usage += outcome.usage;
        self.note = outcome.refusal_note();
        self.broken = outcome
            .agent_killed
            .then(|| "the agent ignored a cancel and was killed; resume its session id".to_owned());
    }
}

/// How every process of the session starts: in the sandbox, with the worktree (unless the session is
/// read-only) and the engine's state directories writable, and the checkout's git files read-only.
fn confinement(config: &SessionConfig, policy: &Policy, checkout: &Checkout) -> Confined {
    let git_dirs = [checkout.git_dir().to_owned(), checkout.common_dir()];
    let scope = Scope::agent(
        &config.agent,
        policy.work_dir(),
        policy.access() == Access::ReadOnly,
        &git_dirs,
        &os_pairs(&config.launch.env),
    );
    Confined::new(config.launch.sandbox.clone(), scope)
}

/// Find the program the agent `spec` names without starting it: the configured one, else the one on
/// `PATH`. A missing program is [`AgentError::NotFound`], saying how to install it, so a command can
/// refuse before it writes anything; `exec:` commands run through `sh` and need nothing more.
pub fn locate(spec: &AgentSpec, launch: &Launch) -> Result<Option<PathBuf>, AgentError> {
    let executable = |program: PathBuf, hint: &str| {
        let name = program.to_string_lossy().into_owned();
        which(&name)
            .ok_or_else(|| AgentError::NotFound(format!("`{name}` is not an executable program: {hint}")))
    };
    match spec {
        AgentSpec::Exec(_) => Ok(None),
        AgentSpec::Acp(command) => {
            let (program, _) = split_command(command)?;
            let hint = format!("install the agent, or correct `acp:{command}` (omk.agent or --agent)");
            executable(program.into(), &hint).map(Some)
        }
        AgentSpec::Qwen => {
            let program = qwen::program(launch.qwen_program.as_ref())?;
            executable(program, qwen::INSTALL_HINT).map(Some)
        }
        AgentSpec::Kimi | AgentSpec::KimiAcp | AgentSpec::KimiWire => {
            executable(kimi_program(launch)?, KIMI_INSTALL_HINT).map(Some)
        }
    }
}

/// Start the engine `config.agent` names.
async fn start_engine(
    config: &SessionConfig,
    policy: Arc<Policy>,
    confined: Confined,
) -> Result<Box<dyn Engine>, AgentError> {
    let env = os_pairs(&config.launch.env);
    let extra: Vec<OsString> = config.launch.extra_args.iter().map(OsString::from).collect();
    match &config.agent {
        AgentSpec::Exec(command) => Ok(Box::new(ExecEngine::new(
            command.clone(),
            policy.work_dir().to_owned(),
            env,
            confined,
        ))),
        AgentSpec::Acp(command) => {
            let (program, mut args) = split_command(command)?;
            args.extend(extra);
            let start = acp_start(config, policy, EngineKind::Acp, program, args, None, confined);
            Ok(Box::new(AcpEngine::start(start).await?))
        }
        AgentSpec::Qwen => {
            let program = qwen::program(config.launch.qwen_program.as_ref())?;
            let args = qwen::args(&extra);
            let kind = EngineKind::Qwen;
            let mut start = acp_start(config, policy, kind, program.into(), args, None, confined);
            if agent_var(&config.launch, qwen::DEFAULTS_VAR).is_none() {
                let file = qwen::defaults_file(&cache_dir(&config.launch))?;
                start.env.push((qwen::DEFAULTS_VAR.into(), file.into()));
            }
            Ok(Box::new(AcpEngine::start(start).await?))
        }
        AgentSpec::KimiAcp => start_kimi(config, policy, KimiGeneration::Acp, confined).await,
        AgentSpec::KimiWire => start_kimi(config, policy, KimiGeneration::Wire, confined).await,
        AgentSpec::Kimi => {
            let program = kimi_program(&config.launch)?;
            let found = kimi_version(program.as_os_str()).await?;
            start_kimi(config, policy, found.generation, confined).await
        }
    }
}

async fn start_kimi(
    config: &SessionConfig,
    policy: Arc<Policy>,
    generation: KimiGeneration,
    mut confined: Confined,
) -> Result<Box<dyn Engine>, AgentError> {
    let program: OsString = kimi_program(&config.launch)?.into();
    let extra: Vec<OsString> = config.launch.extra_args.iter().map(OsString::from).collect();
    match generation {
        KimiGeneration::Wire => {
            // kimi-cli refuses a work dir it cannot write, even for a read-only session: there the
            // policy (every write refused, any change a violation) keeps the checkout as it was.
            confined.scope.work_dir_writable = true;
            let start = WireStart {
                program,
                extra_args: extra,
                env: os_pairs(&config.launch.env),
                policy,
                resume: config.resume.clone(),
                limits: config.limits.clone(),
                model: config.launch.model.clone(),
                confined,
            };
            Ok(Box::new(WireEngine::start(start).await?))
        }
        KimiGeneration::Acp => {
            let args = std::iter::once(OsString::from("acp")).chain(extra).collect();
            let home = kimi_code_home(&config.launch);
            let kind = EngineKind::KimiAcp;
            let mut start = acp_start(config, policy, kind, program, args, home, confined);
            // No scheduled turns (CronCreate): a turn that starts by itself, maybe once the session
            // was closed or the process hosts a reviewer, is nobody's turn.
            start.env.push(("KIMI_DISABLE_CRON".into(), "1".into()));
            Ok(Box::new(AcpEngine::start(start).await?))
        }
    }
}

fn acp_start(
    config: &SessionConfig,
    policy: Arc<Policy>,
    engine: EngineKind,
    program: OsString,
    args: Vec<OsString>,
    kimi_home: Option<PathBuf>,
    confined: Confined,
) -> AcpStart {
    AcpStart {
        engine,
        program,
        args,
        env: os_pairs(&config.launch.env),
        policy,
        resume: config.resume.clone(),
        limits: config.limits.clone(),
        kimi_home,
        model: config.launch.model.clone(),
        confined,
    }
}

fn os_pairs(env: &[(String, String)]) -> Vec<(OsString, OsString)> {
    env.iter().map(|(k, v)| (k.into(), v.into())).collect()
}

/// The `kimi` program: the configured one, else `kimi` on `PATH`.
/// Which Kimi generation `kimi` (`--agent kimi`) starts here, as `launch` finds the program; `None`
/// when there is no such program or it is not a known Kimi (a session started with it then says why).
pub async fn kimi_generation(launch: &Launch) -> Option<KimiGeneration> {
    let program = kimi_program(launch).ok()?;
    kimi_version(program.as_os_str())
        .await
        .ok()
        .map(|found| found.generation)
}

fn kimi_program(launch: &Launch) -> Result<PathBuf, AgentError> {
    match &launch.program {
        Some(p) => Ok(p.clone()),
        None => which("kimi")
            .ok_or_else(|| AgentError::NotFound(format!("no `kimi` on PATH: {KIMI_INSTALL_HINT}"))),
    }
}

/// A variable as the agent will see it: from the launch environment, else inherited.
fn agent_var(launch: &Launch, name: &str) -> Option<String> {
    launch
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .or_else(|| settings::env(name))
}

/// Kimi Code's data directory as the agent will see it: `KIMI_CODE_HOME`, else `$HOME/.kimi-code`.
fn kimi_code_home(launch: &Launch) -> Option<PathBuf> {
    let var = |name: &str| agent_var(launch, name);
    var("KIMI_CODE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".kimi-code")))
}

/// git-omk's cache directory as seen from the agent's environment (`$XDG_CACHE_HOME/git-omk`, else
/// `$HOME/.cache/git-omk`, else under the temporary directory): files made for the agent go there.
fn cache_dir(launch: &Launch) -> PathBuf {
    let var = |name: &str| agent_var(launch, name);
    var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("git-omk")
}

/// Split an `acp:` command into program and arguments: one simple command, no expansions.
fn split_command(command: &str) -> Result<(OsString, Vec<OsString>), AgentError> {
    let bad = |reason: &str| AgentError::Command {
        command: command.to_owned(),
        reason: reason.to_owned(),
    };
    let commands = shell::parse(command).map_err(|e| bad(&e.to_string()))?;
    let [single] = commands.as_slice() else {
        return Err(bad("give one command, without `;`, `&&` or pipes"));
    };
    if !single.redirects.is_empty() || single.words.iter().any(|w| w.dynamic) {
        return Err(bad("redirections and `$` expansions are not supported"));
    }
    let mut words = single.words.iter().map(|w| OsString::from(&w.text));
    let program = words.next().ok_or_else(|| bad("empty command"))?;
    Ok((program, words.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acp_commands_split_into_words() {
        let (program, args) = split_command("my-agent --stdio 'a b'").unwrap();
        assert_eq!(program, "my-agent");
        assert_eq!(args, vec![OsString::from("--stdio"), OsString::from("a b")]);
        assert!(split_command("a; b").is_err());
        assert!(split_command("agent > log").is_err());
        assert!(split_command("agent $HOME").is_err());
    }

    #[test]
    fn a_missing_agent_is_located_with_the_fix() {
        let missing = |spec: AgentSpec, launch: Launch| match locate(&spec, &launch) {
            Err(AgentError::NotFound(message)) => message,
            other => panic!("{spec:?}: {other:?}"),
        };
        let nowhere = PathBuf::from("/nonexistent/omk-test/agent");
        let qwen = Launch {
            qwen_program: Some(nowhere.clone()),
            ..Launch::default()
        };
        assert!(missing(AgentSpec::Qwen, qwen).contains("@qwen-code/qwen-code"));
        let kimi = Launch {
            program: Some(nowhere),
            ..Launch::default()
        };
        assert!(missing(AgentSpec::KimiAcp, kimi).contains("kimi"));
        let acp = AgentSpec::Acp("/nonexistent/omk-test/agent --stdio".into());
        assert!(missing(acp, Launch::default()).contains("acp:/nonexistent/omk-test/agent --stdio"));
        assert_eq!(
            locate(&AgentSpec::Exec("true".into()), &Launch::default()).unwrap(),
            None
        );
        let sh = AgentSpec::Acp("/bin/sh -c true".into());
        assert_eq!(
            locate(&sh, &Launch::default()).unwrap(),
            Some(PathBuf::from("/bin/sh"))
        );
    }

    #[test]
    fn kimi_code_home_prefers_the_launch_environment() {
        let launch = Launch {
            env: vec![("HOME".into(), "/h".into())],
            ..Launch::default()
        };
        if settings::env("KIMI_CODE_HOME").is_none() {
            assert_eq!(kimi_code_home(&launch), Some(PathBuf::from("/h/.kimi-code")));
        }
        let explicit = Launch {
            env: vec![("KIMI_CODE_HOME".into(), "/k".into())],
            ..Launch::default()
        };
        assert_eq!(kimi_code_home(&explicit), Some(PathBuf::from("/k")));
    }
}
