//! Preflight: whether a gate could not run at all because a tool is missing from the machine (an
//! infrastructure failure, never a verdict on the user's code), which tool, and what installs it; and
//! the words of the stop that records it (DESIGN §1: exit 6 naming the fix).
//!
//! Pure: it reads the facts of a finished run (the gate's fail reason, its program, the end of its
//! output) and never runs anything. Unlike `model::gate`, which judges code and so never reads
//! sentences, this module reads the few messages a missing tool leaves, because they are its only
//! trace: a shell's "command not found" (exit 127), a spawn's ENOENT, bubblewrap's
//! "execvp …: No such file or directory" (a program missing inside the sandbox), Python's
//! "No module named X" for `python -m X`, and rustup without a default toolchain. A test of the user's
//! that fails to import a module of theirs (`ModuleNotFoundError: No module named 'x'`) is the code's
//! failure and is not matched.

use super::decision::DecisionDraft;
use super::gate::FailReason;

/// A tool a gate needs that the machine does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingTool {
    /// The tool, as people name it (`pytest`, `python3`, `a Rust toolchain`).
    pub tool: String,
    /// What installs it, as a command or an instruction.
    pub fix: String,
    /// The line of output (or the fact) that shows it is missing.
    pub evidence: String,
}

/// What is known of a gate run that did not pass.
#[derive(Clone, Copy, Debug)]
pub struct GateFacts<'a> {
    /// The gate's name.
    pub gate: &'a str,
    /// The program the gate starts (the first word of its command).
    pub program: &'a str,
    /// Why it did not pass (`None`: it passed).
    pub reason: Option<FailReason>,
    /// The end of its output.
    pub output_tail: &'a str,
}

/// How many lines from the end of a gate's output are read for a missing tool's message.
const LINES_READ: usize = 40;

/// The tool a gate could not run without, if its failure shows one is missing.
pub fn missing_in_gate(facts: &GateFacts<'_>) -> Option<MissingTool> {
    let reason = facts.reason?;
    let lines: Vec<&str> = facts.output_tail.lines().rev().take(LINES_READ).collect();
    for line in lines.into_iter().rev().map(str::trim) {
        let not_found = sandboxed_exec(line).or_else(|| {
            (reason == FailReason::CommandNotFound)
                .then(|| shell_not_found(line))
                .flatten()
        });
        if let Some(program) = not_found {
            return (!in_project(program)).then(|| missing(base_name(program), line.to_owned()));
        }
        if let Some(found) = python_module(line).or_else(|| rustup_toolchain(line)) {
            return Some(found);
        }
    }
    let program = facts.program;
    let unfound = reason == FailReason::CommandNotFound && !program.is_empty() && !in_project(program);
    unfound.then(|| {
        let evidence = format!("gate `{}`: {}", facts.gate, reason.describe());
        missing(base_name(program), evidence)
    })
}

/// The program bubblewrap could not start: `bwrap: execvp NAME: No such file or directory`.
fn sandboxed_exec(line: &str) -> Option<&str> {
    line.strip_prefix("bwrap: execvp ")?
        .strip_suffix(": No such file or directory")
}

/// `python -m NAME` without the module: `/usr/bin/python3: No module named NAME` (runpy's message;
/// an import inside the user's code says `ModuleNotFoundError: No module named 'NAME'` instead).
fn python_module(line: &str) -> Option<MissingTool> {
    let (interpreter, module) = line.split_once(": No module named ")?;
    let is_python = base_name(interpreter).starts_with("python");
    let plain = !module.is_empty()
        && module
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    (is_python && plain).then(|| {
        let package = module.split('.').next().unwrap_or(module);
        MissingTool {
            tool: package.to_owned(),
            fix: format!("`{} -m pip install {package}`", base_name(interpreter)),
            evidence: line.to_owned(),
        }
    })
}

/// rustup has no toolchain to run `cargo`/`rustc` with.
fn rustup_toolchain(line: &str) -> Option<MissingTool> {
    let lower = line.to_ascii_lowercase();
    let no_default = lower.contains("no default is configured") || lower.contains("no default toolchain");
    if !no_default || !(lower.contains("rustup") || lower.contains("toolchain")) {
        return None;
    }
    Some(MissingTool {
        tool: "a Rust toolchain".to_owned(),
        fix: "`rustup default stable`".to_owned(),
        evidence: line.to_owned(),
    })
}

/// The program a shell could not find: `sh: 1: NAME: not found` (dash) or
/// `bash: NAME: command not found` (read only when the gate ended with the shell's exit code 127).
fn shell_not_found(line: &str) -> Option<&str> {
    let head = line
        .strip_suffix(": command not found")
        .or_else(|| line.strip_suffix(": not found"))?;
    let program = head.rsplit(": ").next()?.trim();
    (!program.is_empty() && !program.contains(' ')).then_some(program)
}

fn missing(program: &str, evidence: String) -> MissingTool {
    MissingTool {
        tool: program.to_owned(),
        fix: install_hint(program),
        evidence,
    }
}

/// How to install a program gates commonly run.
pub fn install_hint(program: &str) -> String {
    match program {
        "python" | "python3" => "install Python 3 (e.g. `apt-get install python3`)".to_owned(),
        "pytest" | "py.test" => "`python3 -m pip install pytest`".to_owned(),
        "cargo" | "rustc" | "rustup" => "install Rust with rustup (https://rustup.rs)".to_owned(),
        "node" | "npm" | "npx" => "install Node.js (https://nodejs.org)".to_owned(),
        "pnpm" | "yarn" => format!("`npm install -g {program}`"),
        "go" => "install Go (https://go.dev/dl)".to_owned(),
        "make" => "install make (e.g. `apt-get install make`)".to_owned(),
        _ => format!("install `{program}` or put it on the PATH git-omk runs with"),
    }
}

/// A program named by a relative path is part of the project: its absence is the code's doing (a
/// script the change deleted), not the machine's.
fn in_project(program: &str) -> bool {
    program.contains('/') && !program.starts_with('/')
}

/// The last component of a path.
fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// How the controller stops a goal on an infrastructure failure: the decision naming what is missing
/// (and the evidence), and the goal's stop reason (status `failed`, exit 6) with the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfraStop {
    /// The `preflight` decision.
    pub decision: DecisionDraft,
    /// The stop reason: what is missing, how to install it, and how to continue.
    pub reason: String,
}

/// What continuing takes, said at the end of every stop reason.
const THEN_RESUME: &str = "then run `git omk goal resume` (nothing was counted as the agent's failure)";

/// The stop when gates cannot run on `what` (`the base`, `the result`, `task t1`) because of the
/// tools `found` (per gate).
pub fn gate_stop(what: &str, found: &[(String, MissingTool)]) -> InfraStop {
    let parts: Vec<String> = found
        .iter()
        .map(|(gate, m)| {
            format!(
                "gate `{gate}` cannot run on {what}: {} is not installed; install it: {}",
                m.tool, m.fix
            )
        })
        .collect();
    let tools: Vec<&str> = found.iter().map(|(_, m)| m.tool.as_str()).collect();
    let reason = format!("infrastructure: {}; {THEN_RESUME}", parts.join("; "));
    let decision = DecisionDraft::new(
        "preflight",
        format!("stop: {} missing", tools.join(", ")),
        &reason,
    )
    .with_evidence(
        found
            .iter()
            .map(|(gate, m)| format!("gate `{gate}`: {}", m.evidence)),
    );
    InfraStop { decision, reason }
}

/// The stop when an agent cannot start: `who` is the agent as people name it (`the agent`, `the
/// reviewer agent`), `problem` says why and how to install it.
pub fn agent_stop(who: &str, problem: &str) -> InfraStop {
    let reason = format!("infrastructure: {who} cannot start: {problem}; {THEN_RESUME}");
    let decision = DecisionDraft::new("preflight", format!("stop: {who} is missing"), &reason)
        .with_evidence([problem.to_owned()]);
    InfraStop { decision, reason }
}

/// The stop when the machine failed otherwise (a worktree could not be prepared, git failed):
/// `problem` says what failed.
pub fn infrastructure_stop(problem: &str) -> InfraStop {
    let reason = format!("infrastructure: {problem}; fix it, {THEN_RESUME}");
    let decision = DecisionDraft::new("preflight", "stop: the machine failed", &reason)
        .with_evidence([problem.to_owned()]);
    InfraStop { decision, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(program: &'a str, reason: Option<FailReason>, tail: &'a str) -> GateFacts<'a> {
        GateFacts {
            gate: "test",
            program,
            reason,
            output_tail: tail,
        }
    }

    fn tool(f: GateFacts<'_>) -> Option<String> {
        missing_in_gate(&f).map(|m| m.tool)
    }

    #[test]
    fn missing_tools_are_recognised_by_the_trace_they_leave() {
        use FailReason::*;
        let exit1 = Some(ExitCode { code: 1 });
        let cases: Vec<(&str, GateFacts<'_>, Option<&str>)> = vec![
            (
                "python -m pytest without pytest",
                facts("python3", exit1, "/usr/bin/python3: No module named pytest\n"),
                Some("pytest"),
            ),
            (
                "a program missing inside the sandbox",
                facts(
                    "python3",
                    exit1,
                    "bwrap: execvp python3: No such file or directory\n",
                ),
                Some("python3"),
            ),
            (
                "dash exit 127",
                facts("sh", Some(CommandNotFound), "sh: 1: pytest: not found\n"),
                Some("pytest"),
            ),
            (
                "bash exit 127",
                facts(
                    "bash",
                    Some(CommandNotFound),
                    "bash: line 1: npm: command not found\n",
                ),
                Some("npm"),
            ),
            (
                "spawn ENOENT with no output",
                facts("/opt/bin/mytool", Some(CommandNotFound), ""),
                Some("mytool"),
            ),
            (
                "rustup without a default toolchain",
                facts(
                    "cargo",
                    exit1,
                    "error: rustup could not choose a version of cargo to run, because one wasn't \
                     specified explicitly, and no default is configured.\nhelp: run 'rustup default stable'",
                ),
                Some("a Rust toolchain"),
            ),
            (
                "the user's test imports a module that does not exist",
                facts(
                    "python3",
                    exit1,
                    "E   ModuleNotFoundError: No module named 'calc'\n1 error in 0.1s\n",
                ),
                None,
            ),
            (
                "a failing test that prints 'not found' without exit 127",
                facts("python3", exit1, "AssertionError: key: not found\n"),
                None,
            ),
            (
                "a script of the project that is gone is the code's failure",
                facts("cd", Some(CommandNotFound), "sh: 1: ./run-tests: not found\n"),
                None,
            ),
            (
                "a project script missing in the sandbox",
                facts(
                    "scripts/test",
                    exit1,
                    "bwrap: execvp scripts/test: No such file or directory\n",
                ),
                None,
            ),
            (
                "a passing gate",
                facts("python3", None, "bwrap: execvp x: No such file or directory"),
                None,
            ),
            (
                "a timeout is not a missing tool",
                facts("python3", Some(TimedOut), "collected 3 items\n"),
                None,
            ),
        ];
        for (name, f, expected) in cases {
            assert_eq!(tool(f).as_deref(), expected, "{name}");
        }
    }

    #[test]
    fn each_missing_tool_names_its_fix_and_its_evidence() {
        let m = missing_in_gate(&facts(
            "python3",
            Some(FailReason::ExitCode { code: 1 }),
            "/usr/bin/python3: No module named pytest",
        ))
        .unwrap();
        assert_eq!(m.fix, "`python3 -m pip install pytest`");
        assert_eq!(m.evidence, "/usr/bin/python3: No module named pytest");
        let m = missing_in_gate(&facts("go", Some(FailReason::CommandNotFound), "")).unwrap();
        assert_eq!(m.fix, "install Go (https://go.dev/dl)");
        assert!(m.evidence.contains("command not found"), "{}", m.evidence);
        assert!(install_hint("frobnicate").contains("`frobnicate`"));
    }

    #[test]
    fn the_stop_names_the_gate_the_tool_the_fix_and_resume() {
        let m = MissingTool {
            tool: "pytest".into(),
            fix: "`python3 -m pip install pytest`".into(),
            evidence: "/usr/bin/python3: No module named pytest".into(),
        };
        let stop = gate_stop("the base", &[("pytest".into(), m)]);
        let reason = &stop.reason;
        assert!(
            reason
                .starts_with("infrastructure: gate `pytest` cannot run on the base: pytest is not installed"),
            "{reason}"
        );
        assert!(reason.contains("python3 -m pip install pytest"), "{reason}");
        assert!(reason.contains("git omk goal resume"), "{reason}");
        assert_eq!(stop.decision.step, "preflight");
        assert_eq!(stop.decision.chosen, "stop: pytest missing");
        assert_eq!(
            stop.decision.evidence,
            ["gate `pytest`: /usr/bin/python3: No module named pytest"]
        );
        let stop = agent_stop("the task agent", "no `kimi` on PATH; install it with npm");
        assert!(
            stop.reason
                .contains("the task agent cannot start: no `kimi` on PATH"),
            "{}",
            stop.reason
        );
        assert_eq!(stop.decision.chosen, "stop: the task agent is missing");
    }
}
