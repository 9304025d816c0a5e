//! The only way to start a process for an agent or a gate: agent processes of every engine, the
//! terminals ACP agents ask for, `exec:` commands, gate commands. Each one runs confined by the kernel
//! (DESIGN §11): it writes only under its work directory, a private temporary directory, its engine's
//! state directories and the toolchain caches (plus `omk.sandbox.allowWrite`); the user's checkout,
//! the shared git directory and every worktree's `.git` are read-only; credentials are hidden; and
//! everything it starts dies with it and with git-omk, even after `kill -9`.
//!
//! Owns the mechanism of the platform ([`Mechanism`], probed once per process: bubblewrap on Linux; a
//! Seatbelt seam on macOS that reports itself unavailable for now), failing closed when there is none
//! (nothing starts unless the user turned the sandbox off), and turning a [`Scope`] into the mounts of
//! [`Walls`]. The walls themselves and what counts as a breach are pure (`model::sandbox`). Must not
//! decide what an agent may do: the policy does.
#![allow(clippy::disallowed_methods)]

pub mod beneath;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod other;
#[cfg(target_os = "linux")]
mod scopes;

#[cfg(target_os = "linux")]
use linux as platform;
#[cfg(target_os = "macos")]
use macos as platform;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
use other as platform;

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::clock::random_bytes;
use crate::model::options::AgentSpec;
use crate::model::sandbox::{
    EMPTIED, ENGINE_STATE_DIRS, HIDDEN_SOCKETS, HIDDEN_UNDER_HOME, Layout, SandboxMode, SandboxSettings,
    StateDir, StateLayout, StateRoot, UNSET_IN_SANDBOX, Walls, command_paths, engine_state_dirs,
    listing_work_dir, state_root, toolchain_caches,
};
use crate::process::{self, GroupChild, GroupSpec};
use crate::settings;

/// The confinement mechanism found on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mechanism {
    /// Its name and version, for `doctor` and the session records (`bubblewrap 0.8.0`).
    pub name: String,
    /// The program that confines (bubblewrap's `bwrap`).
    pub program: PathBuf,
    /// Whether the child also restricts itself before it executes [`Mechanism::program`] (Linux:
    /// Landlock scopes, where the kernel has them: no abstract Unix socket, no signal outside).
    pub scoped: bool,
}

/// Why no process can be confined on this machine, and what fixes it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no sandbox to confine agents and gates: {reason}; fix: {fix}")]
pub struct Unavailable {
    /// What is missing.
    pub reason: String,
    /// What the user can do.
    pub fix: String,
}

/// The mechanism of this machine, probed once per process.
pub fn mechanism() -> Result<&'static Mechanism, &'static Unavailable> {
    static FOUND: OnceLock<Result<Mechanism, Unavailable>> = OnceLock::new();
    FOUND.get_or_init(platform::probe).as_ref()
}

/// How agents and gates are started: confined (the default), or not, as the user chose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sandbox {
    settings: SandboxSettings,
}

impl Sandbox {
    /// A sandbox with the repository's settings.
    pub fn new(settings: SandboxSettings) -> Sandbox {
        Sandbox { settings }
    }

    /// Whether the user turned confinement off.
    pub fn is_off(&self) -> bool {
        self.settings.mode == SandboxMode::Off
    }

    /// Check, before any agent or gate starts, that processes can be confined here: the mechanism, or
    /// `None` when the user turned the sandbox off. Fails closed.
    pub fn check(&self) -> Result<Option<&'static Mechanism>, Unavailable> {
        if self.is_off() {
            return Ok(None);
        }
        mechanism().map(Some).map_err(Clone::clone)
    }

    /// Start `spec` in its own process group, confined to `scope` (or not, when the user turned the
    /// sandbox off). Everything it starts dies with it; its private temporary directory is removed
    /// when the child is dropped.
    pub fn spawn(&self, spec: &GroupSpec, scope: &Scope) -> io::Result<GroupChild> {
        if self.is_off() {
            return process::spawn_group(spec);
        }
        let mechanism = mechanism().map_err(|u| io::Error::other(u.to_string()))?;
        let program = resolve_program(spec)?;
        let private = PrivateDir::create()?;
        let started = self.walls(spec, scope, &private, &program).and_then(|walls| {
            let mut args = platform::arguments(&walls);
            args.push("--".into());
            args.push(program.into_os_string());
            args.extend(spec.args.iter().cloned());
            let confined = GroupSpec {
                program: mechanism.program.clone().into_os_string(),
                args,
                cwd: spec.cwd.clone(),
                env: spec.env.clone(),
                stdin: spec.stdin,
            };
            process::spawn_group_restricted(&confined, platform::restriction(mechanism))
        });
        match started {
            Ok(mut child) => {
                child.remove_on_drop(private.root);
                Ok(child)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&private.root);
                Err(e)
            }
        }
    }

    /// The walls of `scope` for a process with `spec`'s environment that runs `program`.
    fn walls(
        &self,
        spec: &GroupSpec,
        scope: &Scope,
        private: &PrivateDir,
        program: &Path,
    ) -> io::Result<Walls> {
        let var = |name: &str| child_var(spec, name);
        let mut writable: Vec<PathBuf> = Vec::new();
        let mut state_roots: Vec<StateRoot> = Vec::new();
        for (n, dir) in scope.state_dirs.iter().enumerate() {
            std::fs::create_dir_all(&dir.path)?;
            match dir.layout {
                Layout::Cache => writable.push(dir.path.clone()),
                Layout::Guarded(layout) => {
                    let private = private.root.join(format!("state-{n}"));
                    state_roots.push(guarded(&dir.path, layout, &private, &scope.work_dir)?);
                }
            }
        }
        if scope.work_dir_writable {
            writable.push(scope.work_dir.clone());
        }
        writable.extend(toolchain_caches(&var));
        writable.extend(self.settings.allow_write.iter().cloned());
        let mut hidden = hidden_paths(&var);
        hidden.extend(self.settings.hide.iter().cloned());
        let (hidden_dirs, hidden_files) = split_existing(hidden);
        Ok(Walls {
            cwd: canonical(&spec.cwd).unwrap_or_else(|| spec.cwd.clone()),
            writable: existing_dirs(writable),
            read_only: scope.protect.iter().filter_map(|p| canonical(p)).collect(),
            state_roots,
            hidden_dirs,
            hidden_files,
            emptied: existing_dirs(emptied_dirs()),
            shown: shown_paths(&var, scope, program),
            tmp: private.tmp.clone(),
            unreadable: private.unreadable.clone(),
            unset_env: UNSET_IN_SANDBOX.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// How a hidden path may appear in a program's output (absolute, and `~/…` for those under the
    /// home), for recognising attempts to read credentials ([`crate::model::sandbox::refusals`]).
    pub fn hidden_spellings(&self, env: &[(OsString, OsString)]) -> Vec<String> {
        let spec = GroupSpec {
            program: OsString::new(),
            args: Vec::new(),
            cwd: PathBuf::new(),
            env: env.to_vec(),
            stdin: false,
        };
        let var = |name: &str| child_var(&spec, name);
        let mut out: Vec<String> = hidden_paths(&var)
            .into_iter()
            .chain(self.settings.hide.iter().cloned())
            .map(|p| p.display().to_string())
            .collect();
        out.extend(HIDDEN_UNDER_HOME.iter().map(|rel| format!("~/{rel}")));
        out.sort();
        out.dedup();
        out
    }
}

/// What one agent or gate may touch, beyond what every confined process may (its private temporary
/// directory, the toolchain caches, `omk.sandbox.allowWrite`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// The work directory: the task worktree, or the gate's checkout.
    pub work_dir: PathBuf,
    /// Whether it is writable (not for planner and reviewer sessions).
    pub work_dir_writable: bool,
    /// The engine's own state directories (created when missing).
    pub state_dirs: Vec<StateDir>,
    /// Paths that stay read-only even inside a writable directory: the checkout's `.git` pointer, the
    /// repository's git directories.
    pub protect: Vec<PathBuf>,
    /// Files the user's own configuration names for these processes (the absolute paths in an
    /// `exec:` or `acp:` agent's command), kept visible, read-only, should they live in an emptied
    /// directory. Never what an agent or a gate names: that would un-hide a socket.
    pub shown: Vec<PathBuf>,
}

impl Scope {
    /// The scope of a gate run in `work_dir`, a checkout whose `.git` and git directories
    /// (`git_dirs`) stay read-only.
    pub fn gate(work_dir: &Path, git_dirs: &[PathBuf]) -> Scope {
        Scope {
            work_dir: work_dir.to_path_buf(),
            work_dir_writable: true,
            state_dirs: Vec::new(),
            protect: protected(work_dir, git_dirs),
            shown: Vec::new(),
        }
    }

    /// The scope of an agent session of `agent` in `work_dir` (writable unless `read_only`), with the
    /// environment it is launched with (`env`, over git-omk's own).
    pub fn agent(
        agent: &AgentSpec,
        work_dir: &Path,
        read_only: bool,
        git_dirs: &[PathBuf],
        env: &[(OsString, OsString)],
    ) -> Scope {
        let spec = GroupSpec {
            program: OsString::new(),
            args: Vec::new(),
            cwd: work_dir.to_path_buf(),
            env: env.to_vec(),
            stdin: false,
        };
        let var = |name: &str| child_var(&spec, name);
        Scope {
            work_dir: work_dir.to_path_buf(),
            work_dir_writable: !read_only,
            state_dirs: engine_state_dirs(agent, &var),
            protect: protected(work_dir, git_dirs),
            shown: match agent {
                AgentSpec::Exec(command) | AgentSpec::Acp(command) => command_paths(command),
                _ => Vec::new(),
            },
        }
    }
}

/// A sandbox with a scope: how every process of one agent session or gate is started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confined {
    /// The sandbox.
    pub sandbox: Sandbox,
    /// What its processes may touch.
    pub scope: Scope,
}

impl Confined {
    /// `sandbox` with `scope`.
    pub fn new(sandbox: Sandbox, scope: Scope) -> Confined {
        Confined { sandbox, scope }
    }

    /// Start `spec` confined (see [`Sandbox::spawn`]).
    pub fn spawn(&self, spec: &GroupSpec) -> io::Result<GroupChild> {
        self.sandbox.spawn(spec, &self.scope)
    }
}

fn protected(work_dir: &Path, git_dirs: &[PathBuf]) -> Vec<PathBuf> {
    std::iter::once(work_dir.join(".git"))
        .chain(git_dirs.iter().cloned())
        .collect()
}

/// A variable as the child will see it: `spec.env` first, then git-omk's own environment.
fn child_var(spec: &GroupSpec, name: &str) -> Option<String> {
    spec.env
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.to_str().map(str::to_owned))
        .or_else(|| settings::env(name))
        .filter(|v| !v.is_empty())
}

/// Credentials to hide: the list under the child's `HOME` and under git-omk's own (they differ when
/// the agent is launched with a `HOME` of its own), the user's runtime directory (sockets of agents
/// and keyrings), the SSH agent's socket and the sockets of services outside ([`HIDDEN_SOCKETS`]).
fn hidden_paths(var: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut homes: Vec<PathBuf> = var("HOME").into_iter().map(PathBuf::from).collect();
    homes.extend(settings::env("HOME").map(PathBuf::from));
    homes.dedup();
    let mut out: Vec<PathBuf> = homes
        .iter()
        .flat_map(|home| HIDDEN_UNDER_HOME.iter().map(move |rel| home.join(rel)))
        .collect();
    out.extend(var("XDG_CONFIG_HOME").map(|c| PathBuf::from(c).join("gh")));
    out.extend(var("GH_CONFIG_DIR").map(PathBuf::from));
    out.extend(settings::env("XDG_RUNTIME_DIR").map(PathBuf::from));
    out.extend(HIDDEN_SOCKETS.iter().map(PathBuf::from));
    out.extend(settings::env("SSH_AUTH_SOCK").map(PathBuf::from));
    out
}

/// Prepare the guarded state directory `root` for a confined process working in `work_dir`: create
/// the entries the engine writes, list `work_dir` where the engine looks its sessions up, copy what
/// it rewrites by renaming into `private` (a new directory of the process), and decide how every
/// entry is bound ([`state_root`]). Entries that lead nowhere (a dangling link) are left out: the
/// engine sees them missing. The listing and the copies are made under a lock on `root`, so agents
/// starting side by side each find their own work directory in their copy.
fn guarded(root: &Path, layout: &StateLayout, private: &Path, work_dir: &Path) -> io::Result<StateRoot> {
    use std::os::unix::fs::DirBuilderExt;
    let root = canonical(root).unwrap_or_else(|| root.to_path_buf());
    let lock = std::fs::File::open(&root)?;
    lock.lock()?;
    if let Some(index) = layout.work_dir_index {
        list_work_dir(&root.join(index), work_dir)?;
    }
    for dir in layout.dirs {
        std::fs::create_dir_all(root.join(dir))?;
    }
    for file in layout.files {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(root.join(file))?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(private)?;
    for file in layout.copied {
        let from = root.join(file);
        if from.is_file() {
            std::fs::copy(&from, private.join(file))?;
        }
    }
    let mut entries: Vec<OsString> = Vec::new();
    for entry in std::fs::read_dir(&root)? {
        let entry = entry?;
        if std::fs::metadata(entry.path()).is_ok() {
            entries.push(entry.file_name());
        }
    }
    drop(lock);
    Ok(state_root(&root, &entries, layout, private))
}

/// Add `work_dir` to the engine's list of work directories at `index` (written whole, then renamed
/// over it), unless it is listed already.
fn list_work_dir(index: &Path, work_dir: &Path) -> io::Result<()> {
    let existing = match std::fs::read_to_string(index) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let work_dir: PathBuf = work_dir.components().collect();
    let Some(listed) = listing_work_dir(existing.as_deref(), &work_dir.to_string_lossy()) else {
        return Ok(());
    };
    let name: String = random_bytes::<6>().iter().map(|b| format!("{b:02x}")).collect();
    let temporary = index.with_extension(format!("omk-{name}.tmp"));
    std::fs::write(&temporary, listed)?;
    std::fs::rename(&temporary, index).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

/// The shared temporary directories to empty: [`EMPTIED`] and the one git-omk was given.
fn emptied_dirs() -> Vec<PathBuf> {
    EMPTIED
        .iter()
        .map(PathBuf::from)
        .chain([std::env::temp_dir()])
        .collect()
}

/// What must stay visible (read-only) should it live in an emptied directory: the `HOME`s (the
/// child's and git-omk's: credentials inside stay hidden), the engines' state directories its
/// environment names (read-only where the scope does not make them writable: a command in an ACP
/// terminal that writes there is refused as before, not sent into an empty directory), the user's
/// checkout (the parent of a protected `.git` directory), the files the user's configuration names
/// ([`Scope::shown`]) and the program started.
fn shown_paths(var: &dyn Fn(&str) -> Option<String>, scope: &Scope, program: &Path) -> Vec<PathBuf> {
    let homes = var("HOME")
        .into_iter()
        .chain(settings::env("HOME"))
        .chain(ENGINE_STATE_DIRS.iter().filter_map(|(_, name, _, _)| var(name)))
        .map(PathBuf::from);
    let checkouts = scope
        .protect
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == ".git") && p.is_dir())
        .filter_map(|p| p.parent().map(Path::to_path_buf));
    homes
        .chain(checkouts)
        .chain(scope.shown.iter().cloned())
        .chain([program.to_path_buf()])
        .filter_map(|p| canonical(&p))
        .collect()
}

fn canonical(path: &Path) -> Option<PathBuf> {
    path.canonicalize().ok()
}

fn existing_dirs(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths
        .iter()
        .filter_map(|p| canonical(p))
        .filter(|p| p.is_dir())
        .collect()
}

/// The hidden paths that exist, as (directories, other files).
fn split_existing(paths: Vec<PathBuf>) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let existing: Vec<PathBuf> = paths.iter().filter_map(|p| canonical(p)).collect();
    existing.into_iter().partition(|p| p.is_dir())
}

/// The program of `spec` as an absolute path, looked up on the `PATH` the child will have: inside
/// the sandbox a missing program would only show as an exit status, outside it is "not found".
fn resolve_program(spec: &GroupSpec) -> io::Result<PathBuf> {
    let program = Path::new(&spec.program);
    if program.components().count() > 1 {
        return Ok(spec.cwd.join(program));
    }
    let path = child_var(spec, "PATH").unwrap_or_default();
    find_on_path(program, &path, &spec.cwd).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} not found on PATH", program.display()),
        )
    })
}

/// The first executable `program` in the directories of `path` (relative ones taken from `cwd`).
fn find_on_path(program: &Path, path: &str, cwd: &Path) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| cwd.join(dir).join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The private directory of one confined process: `tmp/` (its `TMPDIR`) and an unreadable empty file
/// bound over hidden files. Removed when the child is dropped.
struct PrivateDir {
    root: PathBuf,
    tmp: PathBuf,
    unreadable: PathBuf,
}

impl PrivateDir {
    fn create() -> io::Result<PrivateDir> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let name: String = random_bytes::<8>().iter().map(|b| format!("{b:02x}")).collect();
        let root = std::env::temp_dir().join(format!("omk-sandbox-{name}"));
        std::fs::DirBuilder::new().mode(0o700).create(&root)?;
        let tmp = root.join("tmp");
        std::fs::DirBuilder::new().mode(0o700).create(&tmp)?;
        let unreadable = root.join("unreadable");
        std::fs::write(&unreadable, b"")?;
        std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o000))?;
        Ok(PrivateDir {
            root: canonical(&root).unwrap_or(root),
            tmp: canonical(&tmp).unwrap_or(tmp),
            unreadable: canonical(&unreadable).unwrap_or(unreadable),
        })
    }
}
