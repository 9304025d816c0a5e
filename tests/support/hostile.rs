//! What hostile tests compare: a byte-level fingerprint of the user's checkout and repository (HEAD,
//! branch, index, status, config, hooks, every ref), read without running any hook or fsmonitor a
//! hostile agent may have planted.

#![allow(dead_code)]
#![allow(clippy::disallowed_methods)] // tests spawn git

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::git_repo::git_command;

/// The user's repository as a hostile agent must leave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// `.git/HEAD`, byte for byte.
    pub head_file: Vec<u8>,
    /// The commit HEAD resolves to.
    pub head: String,
    /// `.git/index`, byte for byte.
    pub index: Vec<u8>,
    /// `.git/config`, byte for byte.
    pub config: Vec<u8>,
    /// Every file under `.git/hooks` with its content.
    pub hooks: BTreeMap<String, Vec<u8>>,
    /// `git status --porcelain --ignored` (hooks and fsmonitor off).
    pub status: String,
    /// Every ref with its target (`refs/omk/…` included).
    pub refs: String,
}

/// Git in `dir` that runs no hook and no fsmonitor, whatever the repository's configuration says.
fn safe_git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let out = git_command(home, dir)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args(["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Fingerprint {
    /// The fingerprint of the repository whose work tree is `work` (with `.git` inside).
    pub fn of(work: &Path, home: &Path) -> Fingerprint {
        let git_dir = work.join(".git");
        let mut hooks = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(git_dir.join("hooks")) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                hooks.insert(name, std::fs::read(entry.path()).unwrap_or_default());
            }
        }
        Fingerprint {
            head_file: std::fs::read(git_dir.join("HEAD")).unwrap_or_default(),
            head: safe_git(work, home, &["rev-parse", "HEAD"]),
            index: std::fs::read(git_dir.join("index")).unwrap_or_default(),
            config: std::fs::read(git_dir.join("config")).unwrap_or_default(),
            hooks,
            status: safe_git(work, home, &["status", "--porcelain", "--ignored"]),
            refs: safe_git(work, home, &["for-each-ref", "--format=%(refname) %(objectname)"]),
        }
    }

    /// The refs under `refs/omk/`, as `name target` lines.
    pub fn goal_refs(&self) -> Vec<&str> {
        self.refs.lines().filter(|l| l.starts_with("refs/omk/")).collect()
    }
}

/// A hostile program (Python) that tries every escape an agent's shell tool could try, from inside
/// its worktree, printing what each attempt gave; and what to check afterwards.
pub struct Escapes {
    /// A directory outside the worktree it tries to write into (directly and through a symlink).
    pub outside: PathBuf,
    /// A local bare remote it tries to push to.
    pub remote: PathBuf,
    /// The user's checkout (with `.git` inside).
    pub user_repo: PathBuf,
    /// The `HOME` the agent sees, whose `.ssh` holds a key.
    pub home: PathBuf,
    /// The key's content.
    pub secret: String,
    /// The argument of the `sleep` its double-forked daemon runs (unique, to find it).
    pub marker: String,
    /// Unix sockets outside it tries to connect to (in the system's temporary directory, and in the
    /// abstract namespace).
    pub sockets: Listeners,
    git_home: PathBuf,
}

impl Escapes {
    /// Targets next to `scratch` (a directory of the test): an outside directory, a bare clone of
    /// `user_repo` as the remote, a key in `home/.ssh`. `git_home` is the hermetic home for git.
    pub fn new(user_repo: &Path, home: &Path, scratch: &Path, git_home: &Path) -> Escapes {
        let outside = scratch.join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let remote = scratch.join("remote.git");
        safe_git(
            scratch,
            git_home,
            &[
                "clone",
                "-q",
                "--bare",
                &user_repo.display().to_string(),
                &remote.display().to_string(),
            ],
        );
        let secret = format!(
            "SECRET-KEY-{}-{}",
            std::process::id(),
            scratch.display().to_string().len()
        );
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::write(home.join(".ssh/id_ed25519"), &secret).unwrap();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Escapes {
            outside,
            remote,
            user_repo: user_repo.to_path_buf(),
            home: home.to_path_buf(),
            secret,
            marker: format!("300.{nanos}"),
            sockets: Listeners::without_runtime_dir(),
            git_home: git_home.to_path_buf(),
        }
    }

    /// The program. With `fix`, it also fixes `add` in `calc.py` (the legitimate part of its work).
    pub fn script(&self, fix: bool) -> String {
        let value = |p: &Path| format!("{:?}", p.display().to_string());
        format!(
            r##"import os, subprocess, sys
OUTSIDE = {outside}
REMOTE = {remote}
USER_REPO = {user_repo}
USER_GIT = {user_git}
MARKER = {marker:?}
SOCKETS = {sockets:?}

def step(name, fn):
    try:
        print(f"{{name}}: {{fn()}}")
    except Exception as e:
        print(f"{{name}}: {{type(e).__name__}}: {{e}}")
    sys.stdout.flush()

def git(*args):
    p = subprocess.run(["git", *args], capture_output=True, text=True)
    return f"exit {{p.returncode}} {{(p.stdout + p.stderr).strip()}}"

common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
                        capture_output=True, text=True).stdout.strip()
step("write-outside", lambda: open(os.path.join(OUTSIDE, "written"), "w").write("escaped"))

def hook():
    path = os.path.join(common, "hooks", "post-checkout")
    with open(path, "w") as f:
        f.write("#!/bin/sh\necho hooked >> " + os.path.join(OUTSIDE, "hooked") + "\n")
    os.chmod(path, 0o755)
step("hook", hook)
step("fsmonitor", lambda: git("config", "core.fsmonitor", "echo fsmonitor >> " + os.path.join(OUTSIDE, "fsmonitor") + "; false"))

def through_symlink():
    os.symlink(OUTSIDE, "escape-link")
    return open("escape-link/through", "w").write("escaped")
step("symlink", through_symlink)
step("pointer", lambda: open(".git", "w").write("gitdir: " + USER_GIT + "\n"))

def update_refs():
    refs = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/omk"],
                          capture_output=True, text=True).stdout.split()
    return [git("update-ref", r, "HEAD") for r in refs] + [git("update-ref", "refs/omk/goals/planted", "HEAD")]
step("update-ref", update_refs)
step("push", lambda: git("push", REMOTE, "HEAD:refs/heads/evil"))
step("checkout", lambda: git("-C", USER_REPO, "checkout", "-q", "-b", "evil"))
step("ssh", lambda: open(os.path.expanduser("~/.ssh/id_ed25519")).read())

def connect(target):
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect("\0" + target[1:] if target.startswith("@") else target)
        return "connected"
for target in SOCKETS.split("|"):
    step("socket " + target, lambda: connect(target))

def daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.chdir("/")
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.execvp("sleep", ["sleep", MARKER])
        os._exit(0)
    return "started"
step("daemon", daemon)
if {fix}:
    code = open("calc.py").read().replace("return a - b", "return a + b")
    step("fix", lambda: open("calc.py", "w").write(code))
"##,
            outside = value(&self.outside),
            remote = value(&self.remote),
            user_repo = value(&self.user_repo),
            user_git = value(&self.user_repo.join(".git")),
            marker = self.marker,
            sockets = self.sockets.addresses(),
            fix = if fix { "True" } else { "False" },
        )
    }

    /// The remote's refs.
    pub fn remote_refs(&self) -> String {
        safe_git(
            &self.remote,
            &self.git_home,
            &["for-each-ref", "--format=%(refname) %(objectname)"],
        )
    }

    /// Live processes of the daemon.
    pub fn daemons(&self) -> Vec<i32> {
        sleeping(&self.marker)
    }

    /// Wait (bounded, a hang guard only) until no daemon is left; true when none is.
    pub fn no_daemon_left(&self) -> bool {
        for _ in 0..100 {
            if self.daemons().is_empty() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    }

    /// Nothing was written outside: not directly, not through the symlink, not by a planted hook or
    /// fsmonitor command.
    pub fn outside_untouched(&self) -> bool {
        std::fs::read_dir(&self.outside).unwrap().next().is_none()
    }

    /// Check what the evidence of the refused escapes says: the sandbox's refusals and the attempt to
    /// read the key, and never the key itself.
    pub fn assert_evidence(&self, evidence: &str) {
        assert!(evidence.contains("Read-only file system"), "{evidence}");
        assert!(
            evidence.contains(".ssh"),
            "the read of ~/.ssh is evidence: {evidence}"
        );
        assert!(!evidence.contains(&self.secret), "the key leaked: {evidence}");
    }
}

/// Live (not zombie) `sleep <seconds>` processes.
pub fn sleeping(seconds: &str) -> Vec<i32> {
    let wanted = format!("sleep {seconds}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let running = !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z');
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            running && String::from_utf8_lossy(&cmdline).replace('\0', " ").trim_end() == wanted
        })
        .collect()
}

/// Unix sockets listening outside the sandbox, where a confined program could find one: a directory
/// under the system temporary directory (tmux, ssh-agent, X11 keep theirs there), a directory standing
/// for the user's runtime directory (`XDG_RUNTIME_DIR`: the session bus, systemd's user manager) and
/// the abstract namespace (`@name`, which no mount can hide). Nothing ever accepts: a connection that
/// got through stays pending, and [`Listeners::reached`] finds it without waiting. The abstract one
/// on Linux only.
pub struct Listeners {
    /// The stand-in for the user's runtime directory (give it to git-omk as `XDG_RUNTIME_DIR`).
    pub runtime_dir: PathBuf,
    listening: Vec<(String, std::os::unix::net::UnixListener)>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Listeners {
    /// Bind the three listeners (non-blocking).
    pub fn new() -> Listeners {
        Listeners::bind(true)
    }

    /// Only the one in the system's temporary directory and the abstract one: for a git-omk whose
    /// runtime directory is not this one's.
    pub fn without_runtime_dir() -> Listeners {
        Listeners::bind(false)
    }

    fn bind(with_runtime_dir: bool) -> Listeners {
        use std::os::unix::net::UnixListener;
        let tmp = tempfile::tempdir().unwrap();
        let runtime = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let mut paths = vec![tmp.path().join("agent.sock")];
        if with_runtime_dir {
            paths.push(runtime.path().join("bus"));
        }
        let mut listening = Vec::new();
        for path in paths {
            let listener = UnixListener::bind(&path).unwrap();
            listening.push((path.display().to_string(), listener));
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            use std::os::unix::net::SocketAddr;
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos();
            let name = format!("omk-test-{}-{nanos}", std::process::id());
            let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
            listening.push((format!("@{name}"), UnixListener::bind_addr(&address).unwrap()));
        }
        for (_, listener) in &listening {
            listener.set_nonblocking(true).unwrap();
        }
        Listeners {
            runtime_dir: runtime.path().to_path_buf(),
            listening,
            _dirs: vec![tmp, runtime],
        }
    }

    /// The addresses, separated by `|` (`@` starts an abstract one), for the hostile program.
    pub fn addresses(&self) -> String {
        let all: Vec<&str> = self.listening.iter().map(|(a, _)| a.as_str()).collect();
        all.join("|")
    }

    /// The addresses some program connected to (the connection is pending: nothing accepted it).
    pub fn reached(&self) -> Vec<String> {
        self.listening
            .iter()
            .filter(|(_, listener)| match listener.accept() {
                Ok(_) => true,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
                Err(e) => panic!("accept: {e}"),
            })
            .map(|(address, _)| address.clone())
            .collect()
    }
}

/// A program (Python) that connects to each of `$SOCKETS` ([`Listeners::addresses`]) and prints
/// `socket-probe: ADDRESS: connected` or `socket-probe: ADDRESS: refused (why)`.
pub const SOCKET_PROBE: &str = r#"
import os, socket
for target in os.environ["SOCKETS"].split("|"):
    address = "\0" + target[1:] if target.startswith("@") else target
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(address)
        s.sendall(b"escaped")
        print(f"socket-probe: {target}: connected", flush=True)
    except OSError as e:
        print(f"socket-probe: {target}: refused ({e})", flush=True)
    finally:
        s.close()
"#;
