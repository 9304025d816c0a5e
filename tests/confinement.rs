//! Hostile tests of the walls around agents and gates, end to end with the `exec` agent (a shell script
//! standing in for a coding agent that turned hostile), real git repositories and real pytest gates.
//!
//! Two layers are tested: git-omk's own git calls (no hooks, no fsmonitor, no inherited `GIT_DIR`, a
//! worktree's `.git` pointer never followed), which must hold even for an agent running unconfined;
//! and the kernel sandbox every agent and gate runs in by default.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::git_repo::TestRepo;
use support::hostile::{Escapes, Fingerprint, sleeping};
#[cfg(target_os = "linux")]
use support::hostile::{Listeners, SOCKET_PROBE};
use support::omk::{json, write_executable};
use support::tools::{path_with, pytest_bin};

/// A coding agent that fixes `add`, after trying what `HOSTILE` (space-separated words) names.
const AGENT: &str = r##"#!/bin/sh
case "$OMK_PROMPT" in
  *"reviewer for git-omk"*) printf '```json\n{"findings": []}\n```\n'; exit 0 ;;
esac
common="$(git rev-parse --path-format=absolute --git-common-dir)"
for what in $HOSTILE; do
  case "$what" in
    hooks)
      for h in post-checkout pre-commit post-commit reference-transaction post-index-change pre-auto-gc; do
        printf '#!/bin/sh\necho "hook $0" >> "%s"\n' "$MARKS" > "$common/hooks/$h"
        chmod +x "$common/hooks/$h"
      done ;;
    fsmonitor) git config core.fsmonitor "echo fsmonitor >> '$MARKS'; false" ;;
    pointer) printf 'gitdir: %s\n' "$common" > .git ;;
    gate-test)
      printf 'def test_escape():\n    open("%s/from-test", "w").write("x")\n' "$OUTSIDE" > test_calc_escape.py ;;
    gate-collect)
      printf 'errors = []\nfor path in ("%s/hooks/post-checkout", "%s/config", ".git", "%s/from-collection"):\n    try:\n        with open(path, "a") as f:\n            f.write("\\n# planted by a test module\\n")\n    except OSError as e:\n        errors.append(f"{path}: {e}")\nif errors:\n    raise RuntimeError("; ".join(errors))\n' \
        "$common" "$common" "$OUTSIDE" > test_calc_planted.py ;;
    env)
      found="$(env | grep -E '^GIT_(DIR|WORK_TREE|INDEX_FILE|COMMON_DIR|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|NAMESPACE)=')"
      [ -n "$found" ] && { echo "inherited: $found"; exit 3; } ;;
  esac
done
sed -i 's/return a - b/return a + b/' calc.py
"##;

/// A repository whose `add` is broken (caught by a pytest test), and the agent.
struct Fixture {
    repo: TestRepo,
    agent: PathBuf,
    env: Vec<(String, String)>,
}

impl Fixture {
    fn new() -> Option<Fixture> {
        let bin = pytest_bin()?;
        let repo = TestRepo::with_files(&[
            ("calc.py", "def add(a, b):\n    return a - b\n"),
            (
                "test_calc.py",
                "import os\nfrom calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_no_git_location_is_inherited():\n    assert not [k for k in os.environ if k in ('GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE')]\n",
            ),
            ("pytest.ini", "[pytest]\n"),
        ]);
        let agent = repo.home.join("agent.sh");
        write_executable(&agent, AGENT);
        let env = vec![
            ("PATH".to_owned(), path_with(&bin)),
            (
                "OMK_WORKTREE_ROOT".to_owned(),
                repo.home.join("worktrees").display().to_string(),
            ),
            ("MARKS".to_owned(), repo.home.join("marks").display().to_string()),
            (
                "OUTSIDE".to_owned(),
                repo.home.join("outside").display().to_string(),
            ),
        ];
        std::fs::create_dir_all(repo.home.join("outside")).unwrap();
        Some(Fixture { repo, agent, env })
    }

    fn marks(&self) -> String {
        std::fs::read_to_string(self.repo.home.join("marks")).unwrap_or_default()
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.repo.path, &self.repo.home)
    }

    fn command(&self, program: &Path, dir: &Path, env: &[(&str, &str)]) -> Command {
        support::omk::command_in(program, &self.repo.home, dir, &self.env, env)
    }

    fn run_args(&self) -> Vec<String> {
        self.run_args_with(&format!("exec:{}", self.agent.display()))
    }

    fn run_args_with(&self, agent: &str) -> Vec<String> {
        [
            "goal",
            "run",
            "Fix add in calc.py",
            "--until-ready",
            "--no-llm-planner",
            "--json",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain(["--agent".to_owned(), agent.to_owned()])
        .collect()
    }

    fn omk(&self) -> Command {
        self.command(Path::new(env!("CARGO_BIN_EXE_git-omk")), &self.repo.path, &[])
    }

    /// An exec agent running `program` (Python) from a file outside the worktree.
    fn python_agent(&self, name: &str, program: &str) -> String {
        let path = self.repo.home.join(name);
        std::fs::write(&path, program).unwrap();
        format!("exec:python3 {}", path.display())
    }

    fn outside_files(&self) -> Vec<String> {
        std::fs::read_dir(self.repo.home.join("outside"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// `git omk goal run … --until-ready` in the repository, with `env`.
    fn run(&self, env: &[(&str, &str)]) -> Output {
        self.command(Path::new(env!("CARGO_BIN_EXE_git-omk")), &self.repo.path, env)
            .args(self.run_args())
            .output()
            .unwrap()
    }

    fn show(&self) -> Value {
        json(&self.omk().args(["goal", "show", "-f", "json"]).output().unwrap())
    }

    /// The evidence of every attempt of the goal's first task.
    fn evidence(&self) -> Vec<String> {
        self.show()["tasks"][0]["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["evidence"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn hooks_and_fsmonitor_planted_by_an_unconfined_agent_never_run_in_git_omks_own_git_calls() {
    let Some(fx) = Fixture::new() else { return };
    let before = fx.fingerprint();
    let out = fx.run(&[("HOSTILE", "hooks fsmonitor"), ("OMK_SANDBOX", "off")]);
    assert!(out.status.code().is_some(), "{}", stderr(&out));
    assert_eq!(
        fx.marks(),
        "",
        "no planted hook or fsmonitor command ran: {}",
        stderr(&out)
    );
    let after = fx.fingerprint();
    assert_eq!(
        (&after.head_file, &after.head, &after.index, &after.status),
        (&before.head_file, &before.head, &before.index, &before.status),
        "the user's HEAD, branch, index and work tree are untouched"
    );
    assert_eq!(out.status.code(), Some(1), "not ready: {}", stderr(&out));
    let evidence = fx.evidence();
    assert!(
        evidence[0].contains("the repository's .git/config changed"),
        "{}",
        evidence[0]
    );
    for e in &evidence {
        assert!(e.contains("the hook .git/hooks/post-checkout was written"), "{e}");
    }
    let proof = json(&fx.omk().args(["goal", "proof", "--json"]).output().unwrap());
    assert!(
        proof.to_string().contains("agents ran unconfined"),
        "the proof records the gap: {proof}"
    );
}

#[test]
fn a_rewritten_git_pointer_is_never_followed_and_fails_the_attempt() {
    let Some(fx) = Fixture::new() else { return };
    fx.repo.write_files(&[("staged.txt", "the user's staged work\n")]);
    fx.repo.git(&["add", "staged.txt"]);
    let before = fx.fingerprint();
    let out = fx.run(&[("HOSTILE", "pointer"), ("OMK_SANDBOX", "off")]);
    assert_eq!(out.status.code(), Some(1), "not ready: {}", stderr(&out));
    let after = fx.fingerprint();
    assert_eq!(
        (&after.head_file, &after.head, &after.index, &after.status),
        (&before.head_file, &before.head, &before.index, &before.status),
        "nothing was committed on the user's branch and their staged file is still staged"
    );
    let evidence = fx.evidence();
    assert!(!evidence.is_empty());
    for e in &evidence {
        assert!(e.contains(".git pointer was rewritten"), "{e}");
    }
    assert_eq!(
        fx.repo.git(&["show", "main:calc.py"]),
        "def add(a, b):\n    return a - b"
    );
}

#[test]
fn git_dir_given_to_git_names_the_repository_and_no_agent_or_gate_inherits_it() {
    let Some(fx) = Fixture::new() else { return };
    fx.repo.write_files(&[("staged.txt", "the user's staged work\n")]);
    fx.repo.git(&["add", "staged.txt"]);
    let elsewhere = TestRepo::new();
    let before = fx.fingerprint();
    let before_elsewhere = Fingerprint::of(&elsewhere.path, &elsewhere.home);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_git-omk")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        fx.env.iter().find(|(k, _)| k == "PATH").unwrap().1
    );
    let git_dir = format!("--git-dir={}", fx.repo.path.join(".git").display());
    let work_tree = format!("--work-tree={}", fx.repo.path.display());
    let out = fx
        .command(Path::new("git"), &elsewhere.path, &[("HOSTILE", "env")])
        .env("PATH", path)
        .args([git_dir.as_str(), work_tree.as_str(), "omk"])
        .args(fx.run_args())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "ready: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    assert_eq!(json(&out)["status"], "ready");
    let after = fx.fingerprint();
    assert_eq!(
        (&after.head_file, &after.head, &after.index, &after.status),
        (&before.head_file, &before.head, &before.index, &before.status),
        "the user's branch and index are untouched"
    );
    assert_eq!(
        after.goal_refs().len(),
        1,
        "the goal lives in the named repository"
    );
    assert_eq!(
        Fingerprint::of(&elsewhere.path, &elsewhere.home),
        before_elsewhere,
        "the repository of the current directory is not touched"
    );
}

#[test]
fn a_hostile_exec_agent_escapes_nothing_and_every_attempt_fails_with_the_evidence() {
    let Some(fx) = Fixture::new() else { return };
    let other = fx
        .omk()
        .args(["goal", "plan", "Document calc.py"])
        .output()
        .unwrap();
    assert!(other.status.success(), "{}", stderr(&other));
    let scratch = fx.repo.home.join("scratch");
    let escapes = Escapes::new(&fx.repo.path, &fx.repo.home, &scratch, &fx.repo.home);
    let agent = fx.python_agent("escape.py", &escapes.script(true));
    let (before, remote) = (fx.fingerprint(), escapes.remote_refs());
    assert_eq!(
        before.goal_refs().len(),
        1,
        "another goal whose history must survive"
    );
    let out = fx
        .command(Path::new(env!("CARGO_BIN_EXE_git-omk")), &fx.repo.path, &[])
        .args(fx.run_args_with(&agent))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "not ready: {}", stderr(&out));
    assert!(
        escapes.outside_untouched(),
        "written outside: {:?}",
        std::fs::read_dir(&escapes.outside).unwrap().count()
    );
    let after = fx.fingerprint();
    assert_eq!(after.head_file, before.head_file);
    assert_eq!(after.index, before.index);
    assert_eq!((&after.config, &after.hooks), (&before.config, &before.hooks));
    assert_eq!(
        after.status, before.status,
        "the user's checkout is byte-identical"
    );
    for goal_ref in before.goal_refs() {
        assert!(after.refs.contains(goal_ref), "{goal_ref} was rewritten");
    }
    assert!(!after.refs.contains("refs/omk/goals/planted"));
    assert!(!after.refs.contains("refs/heads/evil"));
    assert_eq!(escapes.remote_refs(), remote, "nothing was pushed");
    assert_eq!(
        escapes.sockets.reached(),
        Vec::<String>::new(),
        "connected to a socket outside"
    );
    assert!(
        escapes.no_daemon_left(),
        "the daemon survived: {:?}",
        escapes.daemons()
    );
    let evidence = fx.evidence();
    assert!(!evidence.is_empty(), "the attempts failed");
    for e in &evidence {
        escapes.assert_evidence(e);
    }
    let transcripts = fx.repo.git(&["log", "-p", "--all", "--", "."]);
    assert!(
        !transcripts.contains(&escapes.secret),
        "the key reached the repository"
    );
}

#[test]
fn a_test_that_writes_outside_its_work_directory_fails_the_gate_and_writes_nothing() {
    let Some(fx) = Fixture::new() else { return };
    let out = fx.run(&[("HOSTILE", "gate-test")]);
    assert_eq!(out.status.code(), Some(1), "not ready: {}", stderr(&out));
    assert!(fx.outside_files().is_empty(), "{:?}", fx.outside_files());
    let proof = json(&fx.omk().args(["goal", "proof", "--json"]).output().unwrap());
    let pytest = &proof["proof"]["gates"][0];
    assert_eq!(pytest["result"], "failed", "{proof:#}");
    let tree = proof["proof"]["result"]["tree"].as_str().unwrap();
    let evidence = fx.repo.git(&[
        "show",
        &format!("{}:gates/{tree}/pytest.json", proof["ref"].as_str().unwrap()),
    ]);
    assert!(
        evidence.contains("Read-only file system") && evidence.contains("from-test"),
        "the gate's evidence says why: {evidence}"
    );
}

#[test]
fn a_test_module_that_writes_into_the_git_directory_as_it_is_collected_fails_the_gate_and_changes_nothing() {
    let Some(fx) = Fixture::new() else { return };
    let before = fx.fingerprint();
    let out = fx.run(&[("HOSTILE", "gate-collect")]);
    assert_eq!(out.status.code(), Some(1), "not ready: {}", stderr(&out));
    let after = fx.fingerprint();
    assert_eq!((&after.config, &after.hooks), (&before.config, &before.hooks));
    assert_eq!(
        (&after.head_file, &after.head, &after.index, &after.status),
        (&before.head_file, &before.head, &before.index, &before.status),
        "the user's checkout is byte-identical"
    );
    assert!(fx.outside_files().is_empty(), "{:?}", fx.outside_files());
    assert_eq!(fx.marks(), "", "no planted hook ran");
    let evidence = fx.evidence();
    assert!(!evidence.is_empty(), "the attempts failed");
    for e in &evidence {
        assert!(e.contains("ERROR collecting test_calc_planted.py"), "{e}");
        for planted in ["hooks/post-checkout", "config", ".git", "from-collection"] {
            assert!(
                e.contains(&format!("{planted}: [Errno 30] Read-only file system")),
                "the attempt's evidence names the refused write to {planted}: {e}"
            );
        }
    }
}

#[test]
fn kill_9_of_the_controller_leaves_no_process_of_its_agent_or_the_agents_daemon() {
    let Some(fx) = Fixture::new() else { return };
    let scratch = fx.repo.home.join("scratch");
    let escapes = Escapes::new(&fx.repo.path, &fx.repo.home, &scratch, &fx.repo.home);
    let agent_marker = format!("{}1", escapes.marker);
    let program = format!(
        "import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        os.chdir('/')\n        os.execvp('sleep', ['sleep', {daemon:?}])\n    os._exit(0)\nos.execvp('sleep', ['sleep', {agent:?}])\n",
        daemon = escapes.marker,
        agent = agent_marker,
    );
    let agent = fx.python_agent("daemon.py", &program);
    let mut controller = fx
        .command(Path::new(env!("CARGO_BIN_EXE_git-omk")), &fx.repo.path, &[])
        .args(fx.run_args_with(&agent))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let agent_alive = || !sleeping(&agent_marker).is_empty();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while escapes.daemons().is_empty() || !agent_alive() {
        assert!(
            std::time::Instant::now() < deadline,
            "the agent and its daemon never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    controller.kill().unwrap(); // SIGKILL
    controller.wait().unwrap();
    assert!(
        escapes.no_daemon_left(),
        "the daemon survived: {:?}",
        escapes.daemons()
    );
    for _ in 0..100 {
        if !agent_alive() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !agent_alive(),
        "the agent survived: {:?}",
        sleeping(&agent_marker)
    );
}

/// Runs the command of its arguments with a new pseudo-terminal as its controlling terminal (a user's
/// terminal), and prints everything that appeared on that terminal.
const IN_A_TERMINAL: &str = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
os.waitpid(pid, 0)
sys.stdout.buffer.write(seen)
"#;

/// An agent that writes to the terminal git-omk runs in and types a command into it, then fixes `add`.
const TERMINAL_AGENT: &str = r#"
import os
if "reviewer for git-omk" in os.environ.get("OMK_PROMPT", ""):
    print('```json\n{"findings": []}\n```')
    raise SystemExit(0)
try:
    fd = os.open("/dev/tty", os.O_RDWR)
    os.write(fd, b"REACHED-THE-TERMINAL\n")
    try:
        import fcntl, termios
        for ch in b"echo TYPED-BY-THE-AGENT\n":
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([ch]))
    except OSError:
        pass
    print("tty-probe: reached")
except OSError as e:
    print(f"tty-probe: refused ({e})")
with open("calc.py") as f:
    code = f.read()
with open("calc.py", "w") as f:
    f.write(code.replace("a - b", "a + b"))
"#;

#[test]
fn an_agent_cannot_reach_the_terminal_git_omk_runs_in() {
    let Some(fx) = Fixture::new() else { return };
    let agent = fx.python_agent("terminal.py", TERMINAL_AGENT);
    let out = fx
        .command(Path::new("python3"), &fx.repo.path, &[])
        .args(["-c", IN_A_TERMINAL, env!("CARGO_BIN_EXE_git-omk")])
        .args(fx.run_args_with(&agent))
        .output()
        .unwrap();
    let terminal = String::from_utf8_lossy(&out.stdout);
    assert!(
        !terminal.contains("REACHED-THE-TERMINAL") && !terminal.contains("TYPED-BY-THE-AGENT"),
        "the agent wrote to the user's terminal: {terminal}"
    );
    let log = fx.omk().args(["goal", "log"]).output().unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(
        log.contains("tty-probe: refused"),
        "the agent ran and was refused the terminal: {log}"
    );
}

/// An agent that connects to every socket of `$SOCKETS` (and, with `GATE_TEST` set, leaves a test that
/// tries the same when the gate runs it), then fixes `add`.
#[cfg(target_os = "linux")]
fn socket_agent() -> String {
    format!(
        r#"
import os
if "reviewer for git-omk" in os.environ.get("OMK_PROMPT", ""):
    print('```json\n{{"findings": []}}\n```')
    raise SystemExit(0)
if os.environ.get("GATE_TEST"):
    with open("test_calc_sockets.py", "w") as f:
        f.write("import os, socket, subprocess, sys\n\n\ndef test_reach_sockets_outside():\n"
                "    probe = os.environ['SOCKET_PROBE']\n"
                "    out = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True).stdout\n"
                "    assert 'connected' in out, out\n")
else:
{probe}
with open("calc.py") as f:
    code = f.read()
with open("calc.py", "w") as f:
    f.write(code.replace("a - b", "a + b"))
"#,
        probe = SOCKET_PROBE
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

#[test]
#[cfg(target_os = "linux")]
fn an_agent_reaches_no_unix_socket_outside_the_sandbox_and_a_legitimate_agent_still_works() {
    let Some(fx) = Fixture::new() else { return };
    let sockets = Listeners::new();
    let runtime = sockets.runtime_dir.display().to_string();
    let env = [
        ("SOCKETS", sockets.addresses()),
        ("XDG_RUNTIME_DIR", runtime.clone()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let agent = fx.python_agent("sockets.py", &socket_agent());
    let out = fx
        .command(Path::new(env!("CARGO_BIN_EXE_git-omk")), &fx.repo.path, &env)
        .args(fx.run_args_with(&agent))
        .output()
        .unwrap();
    assert_eq!(sockets.reached(), Vec::<String>::new(), "connected from inside");
    let log = fx.omk().args(["goal", "log"]).output().unwrap();
    let log = String::from_utf8_lossy(&log.stdout);
    for address in sockets.addresses().split('|') {
        assert!(
            log.contains(&format!("socket-probe: {address}: refused")),
            "the agent ran and could not connect to {address}: {log}"
        );
    }
    assert!(!log.contains(": connected"), "{log}");
    assert_eq!(out.status.code(), Some(1), "not ready: {}", stderr(&out));
    for e in &fx.evidence() {
        assert!(
            e.contains("the sandbox refused") && e.contains(&runtime),
            "the try at the runtime directory is evidence: {e}"
        );
    }

    let legit = Fixture::new().unwrap();
    let out = legit.run(&env);
    assert_eq!(out.status.code(), Some(0), "ready: {}", stderr(&out));
    assert_eq!(sockets.reached(), Vec::<String>::new());
}

#[test]
#[cfg(target_os = "linux")]
fn a_gate_test_that_connects_to_unix_sockets_outside_reaches_none() {
    let Some(fx) = Fixture::new() else { return };
    let sockets = Listeners::new();
    let env = [
        ("SOCKETS", sockets.addresses()),
        ("XDG_RUNTIME_DIR", sockets.runtime_dir.display().to_string()),
        ("SOCKET_PROBE", SOCKET_PROBE.to_owned()),
        ("GATE_TEST", "1".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let agent = fx.python_agent("sockets.py", &socket_agent());
    let out = fx
        .command(Path::new(env!("CARGO_BIN_EXE_git-omk")), &fx.repo.path, &env)
        .args(fx.run_args_with(&agent))
        .output()
        .unwrap();
    assert_eq!(sockets.reached(), Vec::<String>::new(), "connected from a gate");
    assert_eq!(out.status.code(), Some(1), "not ready: {}", stderr(&out));
    let proof = json(&fx.omk().args(["goal", "proof", "--json"]).output().unwrap());
    assert_eq!(proof["proof"]["gates"][0]["result"], "failed", "{proof:#}");
}

#[test]
fn without_a_sandbox_nothing_starts_unless_the_user_turns_it_off() {
    let Some(fx) = Fixture::new() else { return };
    let missing = [("OMK_BWRAP", "/nonexistent/bwrap")];
    let out = fx.run(&missing);
    assert_eq!(out.status.code(), Some(6), "infrastructure: {}", stderr(&out));
    let message = stderr(&out);
    assert!(message.contains("apt-get install bubblewrap"), "{message}");
    assert!(message.contains("--no-sandbox"), "{message}");
    assert!(
        fx.fingerprint().goal_refs().is_empty(),
        "no goal was created, no attempt spent"
    );

    let doctor = fx
        .command(Path::new(env!("CARGO_BIN_EXE_git-omk")), &fx.repo.path, &missing)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let report = json(&doctor);
    assert_eq!(report["sandbox"]["mode"], "auto");
    assert!(
        report["sandbox"]["unavailable"]
            .as_str()
            .unwrap()
            .contains("bubblewrap")
    );
    assert!(report["missing"].to_string().contains("sandbox"), "{report}");

    let mut args = fx.run_args();
    args.insert(0, "--no-sandbox".to_owned());
    let out = fx
        .command(Path::new(env!("CARGO_BIN_EXE_git-omk")), &fx.repo.path, &missing)
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "unconfined by choice: {}",
        stderr(&out)
    );
    let proof = json(&fx.omk().args(["goal", "proof", "--json"]).output().unwrap());
    assert!(proof.to_string().contains("agents ran unconfined"), "{proof}");
}

#[test]
fn doctor_names_the_mechanism_in_use() {
    let Some(fx) = Fixture::new() else { return };
    let report = json(&fx.omk().args(["doctor", "--json"]).output().unwrap());
    assert_eq!(report["sandbox"]["mode"], "auto");
    assert!(
        report["sandbox"]["mechanism"]
            .as_str()
            .unwrap()
            .starts_with("bubblewrap"),
        "{report}"
    );
    let text = fx.omk().arg("doctor").output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("agents and gates run confined"));
}
