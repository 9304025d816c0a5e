//! The walls around agents and gates, as pure decisions: what a process started for an agent or a
//! gate may write, what it may not see, and what, seen after a turn, counts as an attempt to get out.
//!
//! The mechanism that enforces the confinement (a kernel sandbox) lives in `crate::sandbox`; the checks
//! that gather the facts after a turn live at the edges. Nothing here performs I/O.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use std::collections::{BTreeMap, BTreeSet};

use super::decision::{Decision, DecisionDraft};
use super::options::AgentSpec;

/// Something a turn did, or tried, that the walls exist to stop. Any breach fails the attempt, with
/// [`Breach::evidence`] recorded and given to the next attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Breach {
    /// The sandbox refused something a program of the agent tried (the line that says so).
    SandboxRefused {
        /// The refusal, as the program reported it.
        evidence: String,
    },
    /// The checkout's `.git` pointer no longer names its git directory (it was put back).
    PointerChanged {
        /// What it said instead.
        found: String,
    },
    /// Something of the user's repository changed during the turn (only possible unconfined).
    RepositoryChanged {
        /// What changed.
        what: String,
    },
}

impl Breach {
    /// One line for the attempt's evidence.
    pub fn evidence(&self) -> String {
        match self {
            Breach::SandboxRefused { evidence } => {
                format!("the sandbox refused an access outside the worktree: {evidence}")
            }
            Breach::PointerChanged { found } => format!(
                "the worktree's .git pointer was rewritten ({found}); git omk restored it and never follows it"
            ),
            Breach::RepositoryChanged { what } => {
                format!("the user's repository changed while the agent ran: {what}")
            }
        }
    }
}

/// Whether agents and gates run confined (`omk.sandbox`, `OMK_SANDBOX`, `--no-sandbox`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxMode {
    /// Confined by the platform's mechanism; without one, agents and gates do not start.
    #[default]
    Auto,
    /// Unconfined, by the user's choice (the proof records the gap).
    Off,
}

impl std::str::FromStr for SandboxMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "on" | "true" | "yes" | "1" => Ok(SandboxMode::Auto),
            "off" | "false" | "no" | "0" => Ok(SandboxMode::Off),
            _ => Err("auto or off".to_owned()),
        }
    }
}

/// The gap an unconfined run leaves, as the proof states it.
pub const UNCONFINED_GAP: &str = "agents ran unconfined (the sandbox was turned off): only git-omk's policy and after-turn checks stood between them and the machine";

/// The mounts of one confined process: everything is read-only except `writable`; hidden paths are
/// covered by empty ones nobody may read (reading them fails with "Permission denied"); `read_only`
/// paths stay read-only even inside a writable directory; `emptied` directories (the shared temporary
/// directories) are replaced by an empty read-only file system, so nothing another program left there
/// — a Unix socket above all — can be reached (a read-only file system does not stop `connect()`), and
/// what must stay visible under them is bound back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Walls {
    /// The working directory.
    pub cwd: PathBuf,
    /// Directories the process may write (they exist).
    pub writable: Vec<PathBuf>,
    /// Paths (files or directories, they exist) kept read-only inside writable directories; nothing
    /// inside them is writable, whatever `writable` says.
    pub read_only: Vec<PathBuf>,
    /// Engines' state directories, each shown as a private directory with its entries bound over it.
    pub state_roots: Vec<StateRoot>,
    /// Directories whose content is hidden (an empty directory in their place).
    pub hidden_dirs: Vec<PathBuf>,
    /// Files whose content is hidden ([`Walls::unreadable`] in their place).
    pub hidden_files: Vec<PathBuf>,
    /// Shared directories replaced by an empty, read-only file system (they exist): the system's
    /// temporary directories, where other programs keep their sockets.
    pub emptied: Vec<PathBuf>,
    /// Paths bound back, read-only, when they lie in an emptied directory (they exist): the user's
    /// checkout, `HOME`, the program started. Writable directories may lie inside them.
    pub shown: Vec<PathBuf>,
    /// The private temporary directory (`TMPDIR`, `TMP`, `TEMP`); writable.
    pub tmp: PathBuf,
    /// An empty file nobody may read, bound over hidden files.
    pub unreadable: PathBuf,
    /// Variables removed from the environment inside (agent sockets that lead to credentials).
    pub unset_env: Vec<String>,
}

impl Walls {
    /// The same walls, normalised: a writable directory inside a hidden or read-only one is dropped
    /// (credentials stay hidden and git directories read-only whatever `allowWrite` says; the private
    /// temporary directory always stays), and so is a state directory inside a hidden one, duplicates go, parents come before children, read-only
    /// paths that would be read-only anyway go, and so do emptied directories a writable or shown one
    /// covers (the user asked for them), shown paths outside every emptied directory (visible
    /// already) or inside a writable one, and hidden paths in an emptied directory where nothing is
    /// bound back above them (invisible already).
    pub fn normalised(mut self) -> Walls {
        let hidden: Vec<PathBuf> = self
            .hidden_dirs
            .iter()
            .chain(&self.hidden_files)
            .cloned()
            .collect();
        let tmp = self.tmp.clone();
        let read_only = self.read_only.clone();
        self.writable.push(tmp.clone());
        self.writable
            .retain(|w| *w == tmp || !(inside_any(w, &hidden) || inside_any(w, &read_only)));
        by_depth(&mut self.writable);
        self.state_roots.retain(|s| !inside_any(&s.root, &hidden));
        self.state_roots.sort_by(|a, b| {
            let key = |s: &StateRoot| (s.root.components().count(), s.root.clone());
            key(a).cmp(&key(b))
        });
        self.state_roots.dedup_by(|a, b| a.root == b.root);
        let (writable, shown) = (self.writable.clone(), self.shown.clone());
        self.emptied.retain(|e| {
            e.components().count() > 1
                && !inside_any(e, &hidden)
                && !inside_any(e, &writable)
                && !inside_any(e, &shown)
        });
        outermost(&mut self.emptied);
        let emptied = self.emptied.clone();
        self.shown
            .retain(|p| inside_any(p, &emptied) && !inside_any(p, &hidden) && !inside_any(p, &writable));
        outermost(&mut self.shown);
        self.read_only
            .retain(|p| (inside_any(p, &writable) || inside_any(p, &emptied)) && !inside_any(p, &hidden));
        by_depth(&mut self.read_only);
        let visible: Vec<PathBuf> = [&self.writable, &self.shown, &self.read_only]
            .into_iter()
            .flatten()
            .cloned()
            .chain(self.state_roots.iter().map(|s| s.root.clone()))
            .collect();
        let invisible = |h: &PathBuf| inside_any(h, &emptied) && !visible.iter().any(|v| h.starts_with(v));
        self.hidden_dirs.retain(|h| !invisible(h));
        self.hidden_files.retain(|h| !invisible(h));
        outermost(&mut self.hidden_dirs);
        let hidden_dirs = self.hidden_dirs.clone();
        self.hidden_files.retain(|f| !inside_any(f, &hidden_dirs));
        by_depth(&mut self.hidden_files);
        self.unset_env.sort();
        self.unset_env.dedup();
        self
    }

    /// Every mount of the walls, in the order they are made: by depth, so that no mount ever covers
    /// one made before it (a parent always comes before what lies inside it), and at the same path in
    /// the order of [`Mount`]'s kinds (the later one wins). Normalise first.
    pub fn mounts(&self) -> Vec<Mount> {
        let mut mounts: Vec<Mount> = Vec::new();
        let mut add = |paths: &[PathBuf], make: fn(PathBuf) -> Mount| {
            mounts.extend(paths.iter().cloned().map(make));
        };
        add(&self.emptied, Mount::Emptied);
        add(&self.shown, Mount::Shown);
        add(&self.writable, Mount::Writable);
        add(&self.read_only, Mount::ReadOnly);
        add(&self.hidden_dirs, Mount::HiddenDir);
        add(&self.hidden_files, Mount::HiddenFile);
        for state in &self.state_roots {
            mounts.push(Mount::Private {
                at: state.root.clone(),
                private: state.private.clone(),
            });
            mounts.extend(state.writable.iter().cloned().map(Mount::Writable));
            mounts.extend(state.read_only.iter().cloned().map(Mount::ReadOnly));
        }
        mounts.push(Mount::HiddenFile(PathBuf::from(TTY)));
        mounts.sort_by(|a, b| {
            let key = |m: &Mount| (m.path().components().count(), m.rank());
            key(a).cmp(&key(b)).then_with(|| a.path().cmp(b.path()))
        });
        mounts
    }
}

/// One mount of the walls, at its path. At the same path, kinds are mounted in this order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mount {
    /// An empty, read-only file system in place of a shared directory.
    Emptied(PathBuf),
    /// Bound back read-only (inside an emptied directory).
    Shown(PathBuf),
    /// A private directory of the process bound read-write in place of an engine's state directory
    /// (its entries are bound over it).
    Private {
        /// The state directory.
        at: PathBuf,
        /// The private directory shown there.
        private: PathBuf,
    },
    /// Bound read-write.
    Writable(PathBuf),
    /// Bound read-only inside a writable or emptied directory.
    ReadOnly(PathBuf),
    /// An empty directory nobody may read.
    HiddenDir(PathBuf),
    /// An empty file nobody may read.
    HiddenFile(PathBuf),
}

impl Mount {
    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        match self {
            Mount::Private { at: p, .. } => p,
            Mount::Emptied(p)
            | Mount::Shown(p)
            | Mount::Writable(p)
            | Mount::ReadOnly(p)
            | Mount::HiddenDir(p)
            | Mount::HiddenFile(p) => p,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Mount::Emptied(_) => 0,
            Mount::Shown(_) => 1,
            Mount::Private { .. } => 2,
            Mount::Writable(_) => 3,
            Mount::ReadOnly(_) => 4,
            Mount::HiddenDir(_) => 5,
            Mount::HiddenFile(_) => 6,
        }
    }
}

/// Whether `path` is one of `dirs` or lies inside one.
fn inside_any(path: &Path, dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|d| path.starts_with(d))
}

/// Sorted by depth, without duplicates and without paths inside another of them.
fn outermost(paths: &mut Vec<PathBuf>) {
    by_depth(paths);
    let mut kept: Vec<PathBuf> = Vec::new();
    for p in paths.drain(..) {
        if !inside_any(&p, &kept) {
            kept.push(p);
        }
    }
    *paths = kept;
}

fn by_depth(paths: &mut Vec<PathBuf>) {
    paths.sort_by(|a, b| {
        a.components()
            .count()
            .cmp(&b.components().count())
            .then_with(|| a.cmp(b))
    });
    paths.dedup();
}

/// The bubblewrap arguments (before `--` and the command) that build `walls`: the whole file system
/// read-only, fresh `/dev` and `/proc`, then [`Walls::mounts`] in their order (emptied directories,
/// what is bound back under them, each engine's state directory as its private directory with the
/// real entries bound over it, the writable directories, read-only paths over them, hidden paths),
/// the emptied directories made read-only last (bubblewrap creates the mount points of what is bound
/// back in them first), a new PID namespace (everything dies with its first process and with
/// git-omk), a user namespace that cannot make more, no capabilities, and no way to the terminal
/// git-omk runs in (keystrokes injected there would run outside).
///
/// The terminal is closed off by [`Walls::unreadable`] bound over `/dev/tty`, the one path to it
/// (the process inherits no terminal descriptor, `/dev/pts` is a new instance and other processes'
/// descriptors are out of sight in the PID namespace), not by a new session (`--new-session`): a new
/// session is also a new scheduling group (autogroup), which on a busy machine made the agent's every
/// turn measurably slower (docs/performance.md).
pub fn bwrap_args(walls: &Walls) -> Vec<OsString> {
    let walls = walls.clone().normalised();
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |items: &[&OsStr]| args.extend(items.iter().map(|s| s.to_os_string()));
    push(&[
        "--ro-bind".as_ref(),
        "/".as_ref(),
        "/".as_ref(),
        "--dev".as_ref(),
        "/dev".as_ref(),
        "--proc".as_ref(),
        "/proc".as_ref(),
    ]);
    for mount in walls.mounts() {
        let path = mount.path().as_os_str();
        match &mount {
            Mount::Emptied(_) => push(&["--tmpfs".as_ref(), path]),
            Mount::Private { private, .. } => push(&["--bind".as_ref(), private.as_os_str(), path]),
            Mount::Writable(_) => push(&["--bind".as_ref(), path, path]),
            Mount::Shown(_) | Mount::ReadOnly(_) => push(&["--ro-bind".as_ref(), path, path]),
            Mount::HiddenDir(_) => push(&["--perms".as_ref(), "0000".as_ref(), "--tmpfs".as_ref(), path]),
            Mount::HiddenFile(_) => {
                push(&["--ro-bind".as_ref(), walls.unreadable.as_os_str(), path]);
            }
        }
    }
    for dir in &walls.emptied {
        push(&["--remount-ro".as_ref(), dir.as_os_str()]);
    }
    for name in ["TMPDIR", "TMP", "TEMP"] {
        push(&["--setenv".as_ref(), name.as_ref(), walls.tmp.as_os_str()]);
    }
    for name in &walls.unset_env {
        push(&["--unsetenv".as_ref(), name.as_ref()]);
    }
    push(&[
        "--unshare-user".as_ref(),
        "--unshare-pid".as_ref(),
        "--disable-userns".as_ref(),
        "--cap-drop".as_ref(),
        "ALL".as_ref(),
        "--die-with-parent".as_ref(),
        "--chdir".as_ref(),
        walls.cwd.as_os_str(),
    ]);
    args
}

/// The controlling terminal's device: unreadable inside the sandbox.
pub const TTY: &str = "/dev/tty";

/// Where an agent keeps its own state, relative to its `HOME` unless a variable moves it: the
/// engines' session stores, logs and configuration. One table for every engine: (engine, variable,
/// default under `HOME`, how the engine may write it).
pub const ENGINE_STATE_DIRS: &[(StateOf, &str, &str, Layout)] = &[
    (
        StateOf::KimiWire,
        "KIMI_SHARE_DIR",
        ".kimi",
        Layout::Guarded(&KIMI_CLI),
    ),
    (
        StateOf::KimiAcp,
        "KIMI_CODE_HOME",
        ".kimi-code",
        Layout::Guarded(&KIMI_CODE),
    ),
    (
        StateOf::KimiAcp,
        "KIMI_CODE_CACHE_DIR",
        ".cache/kimi-code",
        Layout::Cache,
    ),
    (StateOf::Qwen, "QWEN_HOME", ".qwen", Layout::Guarded(&QWEN_CODE)),
];

/// The engines [`ENGINE_STATE_DIRS`] knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateOf {
    /// kimi-cli 1.x.
    KimiWire,
    /// Kimi Code 2.x.
    KimiAcp,
    /// Qwen Code.
    Qwen,
}

/// How a confined engine may write one of its state directories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A cache the engine rebuilds: writable as a whole.
    Cache,
    /// A home that holds configuration the engine loads (MCP servers, hooks, settings, credentials,
    /// skills, extensions): read-only except what [`StateLayout`] lets the engine write.
    Guarded(&'static StateLayout),
}

/// What an engine writes in its home, measured by running it (every other entry of the home, the
/// configuration first of all, is read-only inside the sandbox).
///
/// Every engine also writes files at the home's root by renaming a new copy over them, which needs
/// the root itself writable; so inside the sandbox the root is a private directory of the process,
/// into which the entries of the real root are bound one by one. A file planted at the root lands
/// in that private directory and is gone with the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateLayout {
    /// Subdirectories the engine writes (sessions, logs, caches, file history): writable, created
    /// when missing.
    pub dirs: &'static [&'static str],
    /// Files at the root the engine appends to (indexes of sessions, usage records): writable,
    /// created empty when missing.
    pub files: &'static [&'static str],
    /// Files at the root the engine rewrites by renaming (lists of recent work directories): the
    /// process gets a copy; what it writes there is dropped.
    pub copied: &'static [&'static str],
    /// The copied file that lists the work directories whose sessions the engine finds (kimi-cli's
    /// `kimi.json`: a session of a work directory missing there cannot be resumed). git-omk adds the
    /// work directory to the real file before copying it ([`listing_work_dir`]), since what the engine
    /// writes in its copy is dropped.
    pub work_dir_index: Option<&'static str>,
    /// Entries the engine rebuilds when they are missing and that must not persist from a confined
    /// run (Qwen Code's extension store, whose pending transactions a later start would replay into
    /// its extensions): the process gets none, and what it writes there is dropped.
    pub fresh: &'static [&'static str],
}

/// kimi-cli 1.x (`KIMI_SHARE_DIR`, `~/.kimi`): config.toml, mcp.json, credentials, plugins, skills
/// and `bin/` (programs it runs) stay read-only.
pub const KIMI_CLI: StateLayout = StateLayout {
    dirs: &["sessions", "logs", "telemetry"],
    files: &[],
    copied: &["kimi.json"],
    work_dir_index: Some("kimi.json"),
    fresh: &[],
};

/// Kimi Code 2.x (`KIMI_CODE_HOME`, `~/.kimi-code`): its configuration, mcp.json, AGENTS.md,
/// SYSTEM.md, agents, skills and credentials stay read-only.
pub const KIMI_CODE: StateLayout = StateLayout {
    dirs: &["sessions", "logs", "cache", "file-history"],
    files: &["session_index.jsonl"],
    copied: &["workspaces.json"],
    work_dir_index: None,
    fresh: &[],
};

/// Qwen Code (`QWEN_HOME`, `~/.qwen`): settings.json, extensions, skills, agents, commands and
/// QWEN.md stay read-only.
pub const QWEN_CODE: StateLayout = StateLayout {
    dirs: &["projects", "sessions", "tmp"],
    files: &["usage_record.jsonl"],
    copied: &[],
    work_dir_index: None,
    fresh: &["extension-store"],
};

/// One state directory of an engine, and how the engine may write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateDir {
    /// The directory.
    pub path: PathBuf,
    /// How the engine may write it.
    pub layout: Layout,
}

/// The state directories of the engine `agent` selects, from its environment (`var` looks a
/// variable up the way the agent will see it) and its `HOME`. `acp:` and `exec:` agents have none:
/// `omk.sandbox.allowWrite` names what they need.
pub fn engine_state_dirs(agent: &AgentSpec, var: &dyn Fn(&str) -> Option<String>) -> Vec<StateDir> {
    let engines: &[StateOf] = match agent {
        AgentSpec::Kimi => &[StateOf::KimiWire, StateOf::KimiAcp],
        AgentSpec::KimiWire => &[StateOf::KimiWire],
        AgentSpec::KimiAcp => &[StateOf::KimiAcp],
        AgentSpec::Qwen => &[StateOf::Qwen],
        AgentSpec::Acp(_) | AgentSpec::Exec(_) => &[],
    };
    let home = var("HOME").map(PathBuf::from);
    ENGINE_STATE_DIRS
        .iter()
        .filter(|(engine, _, _, _)| engines.contains(engine))
        .filter_map(|(_, name, default, layout)| {
            let moved = (!name.is_empty()).then(|| var(name)).flatten();
            let path = match moved {
                Some(dir) => PathBuf::from(dir),
                None => home.as_ref()?.join(default),
            };
            Some(StateDir {
                path,
                layout: *layout,
            })
        })
        .collect()
}

/// kimi-cli's list of work directories (`existing`, the content of `kimi.json` if there is one) with
/// `work_dir` in it, or `None` when it is there already or the file is not one kimi-cli would read
/// (left alone). Other fields and entries are kept.
pub fn listing_work_dir(existing: Option<&str>, work_dir: &str) -> Option<String> {
    let mut index: serde_json::Value = match existing {
        Some(text) => serde_json::from_str(text).ok()?,
        None => serde_json::json!({}),
    };
    let object = index.as_object_mut()?;
    let dirs = object
        .entry("work_dirs")
        .or_insert_with(|| serde_json::json!([]))
        .as_array_mut()?;
    let listed = dirs.iter().any(|d| {
        d.get("path").and_then(serde_json::Value::as_str) == Some(work_dir)
            && d.get("kaos")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("local")
                == "local"
    });
    if listed {
        return None;
    }
    dirs.push(serde_json::json!({"path": work_dir, "kaos": "local", "last_session_id": null}));
    serde_json::to_string_pretty(&index).ok()
}

/// A guarded state directory as a confined process sees it: `private` (a directory of the process,
/// writable) in place of `root`, with the entries of `root` bound over it, `writable` ones read-write
/// and `read_only` ones read-only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateRoot {
    /// The engine's real state directory.
    pub root: PathBuf,
    /// The private directory shown in its place.
    pub private: PathBuf,
    /// Entries of `root` the engine writes.
    pub writable: Vec<PathBuf>,
    /// Every other entry of `root`: its configuration.
    pub read_only: Vec<PathBuf>,
}

/// How the state directory `root`, whose entries are `entries` (names that exist, after the
/// entries of `layout` were created), is shown inside the sandbox, in `private`: the engine's own
/// entries writable, copied and fresh ones left to the private directory, all the rest read-only.
pub fn state_root(root: &Path, entries: &[OsString], layout: &StateLayout, private: &Path) -> StateRoot {
    let mut out = StateRoot {
        root: root.to_path_buf(),
        private: private.to_path_buf(),
        ..StateRoot::default()
    };
    let listed = |list: &[&str], name: &OsString| list.iter().any(|l| OsStr::new(l) == name);
    for name in entries {
        let path = root.join(name);
        if listed(layout.dirs, name) || listed(layout.files, name) {
            out.writable.push(path);
        } else if !listed(layout.copied, name) && !listed(layout.fresh, name) {
            out.read_only.push(path);
        }
    }
    out.writable.sort();
    out.read_only.sort();
    out
}

/// Credentials hidden from every confined process, under `HOME` (and `omk.sandbox.hide` on top).
pub const HIDDEN_UNDER_HOME: &[&str] = &[
    ".ssh",
    ".git-credentials",
    ".netrc",
    ".config/gh",
    ".aws",
    ".config/git/credentials",
    ".git-credential-cache",
    ".cache/git/credential",
    ".gnupg",
    ".docker",
    ".kube",
    ".pypirc",
    ".cargo/credentials",
    ".cargo/credentials.toml",
];

/// Shared directories emptied inside the sandbox (and the temporary directory git-omk itself was
/// given, `TMPDIR`): any program may leave a Unix socket there (tmux, ssh-agent, X11, language
/// servers, other users' tools), and a read-only mount does not stop `connect()`.
pub const EMPTIED: &[&str] = &["/tmp", "/var/tmp"];

/// Sockets of services outside the sandbox, hidden from every confined process (those that exist):
/// the users' runtime directories (session bus, systemd's user manager: starting a unit runs code
/// outside), the system bus, and container engines (root on the host). `$XDG_RUNTIME_DIR` is hidden
/// wherever it points, and `omk.sandbox.hide` adds more.
pub const HIDDEN_SOCKETS: &[&str] = &[
    "/run/user",
    "/run/dbus",
    "/var/run/dbus",
    "/run/docker.sock",
    "/var/run/docker.sock",
    "/run/podman",
    "/run/containerd",
    "/run/snapd.socket",
    "/run/snapd-snap.socket",
];

/// The absolute paths a command line names (words that start with `/`, quotes around them
/// dropped): the script of an `exec:` agent, the program of an `acp:` one.
pub fn command_paths(command: &str) -> Vec<PathBuf> {
    command
        .split_whitespace()
        .map(|word| word.trim_matches(|c| c == '\'' || c == '"'))
        .filter(|word| word.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// Variables removed inside the sandbox: sockets of agents that hold the user's keys.
pub const UNSET_IN_SANDBOX: &[&str] = &["SSH_AUTH_SOCK", "GPG_AGENT_INFO", "DBUS_SESSION_BUS_ADDRESS"];

/// Toolchain caches kept writable for builds and tests (when they exist): (variable that moves it,
/// default under `HOME`). Never the whole of `~/.cache`: git-omk's worktrees live there.
pub const TOOLCHAIN_CACHES: &[(&str, &str)] = &[
    ("CARGO_HOME", ".cargo/registry"),
    ("CARGO_HOME", ".cargo/git"),
    ("PIP_CACHE_DIR", ".cache/pip"),
    ("UV_CACHE_DIR", ".cache/uv"),
    ("npm_config_cache", ".npm"),
    ("YARN_CACHE_FOLDER", ".cache/yarn"),
    ("", ".cache/pnpm"),
    ("", ".local/share/pnpm/store"),
    ("GOMODCACHE", "go/pkg/mod"),
    ("GOCACHE", ".cache/go-build"),
    ("", ".gradle/caches"),
    ("", ".m2/repository"),
];

/// The toolchain cache directories to keep writable: for `CARGO_HOME` its `registry` and `git`
/// below it; for the other variables the directory they name; else the default under `HOME`.
pub fn toolchain_caches(var: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let home = var("HOME").map(PathBuf::from);
    TOOLCHAIN_CACHES
        .iter()
        .filter_map(|(name, default)| {
            let moved = (!name.is_empty()).then(|| var(name)).flatten();
            match (moved, *name) {
                (Some(cargo), "CARGO_HOME") => {
                    Some(PathBuf::from(cargo).join(Path::new(default).file_name()?))
                }
                (Some(dir), _) => Some(PathBuf::from(dir)),
                (None, _) => home.as_ref().map(|h| h.join(default)),
            }
        })
        .collect()
}

/// The sandbox settings of a repository (`omk.sandbox`, `omk.sandbox.allowWrite`, `omk.sandbox.hide`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SandboxSettings {
    /// Confined (default) or not.
    pub mode: SandboxMode,
    /// More directories agents and gates may write (absolute).
    pub allow_write: Vec<PathBuf>,
    /// More paths hidden from them (absolute).
    pub hide: Vec<PathBuf>,
}

/// The decision recorded when a goal is driven with the sandbox off; the proof lists
/// [`UNCONFINED_GAP`] for every goal that has it.
pub fn unconfined_decision() -> DecisionDraft {
    DecisionDraft::new(
        DECISION_STEP,
        UNCONFINED,
        "the sandbox was turned off (--no-sandbox, omk.sandbox off or OMK_SANDBOX=off)",
    )
}

/// The step of sandbox decisions.
const DECISION_STEP: &str = "sandbox";
/// What [`unconfined_decision`] chose.
const UNCONFINED: &str = "agents and gates ran unconfined";

/// Whether some agent or gate of the goal ran unconfined (an [`unconfined_decision`] was recorded).
pub fn ran_unconfined(decisions: &[Decision]) -> bool {
    decisions
        .iter()
        .any(|d| d.step == DECISION_STEP && d.chosen == UNCONFINED)
}

/// A file as seen without reading it: size and modification time (nanoseconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStamp {
    /// Size in bytes.
    pub len: u64,
    /// Modification time, nanoseconds since the epoch.
    pub modified_ns: i128,
}

/// What of the user's repository no agent may change, read before and after an unconfined turn:
/// the checkout's `HEAD` (and the commit it names), index, configuration and hooks, and every goal
/// ref.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepositoryFacts {
    /// The `HEAD` file as written.
    pub head: Option<Vec<u8>>,
    /// The commit `HEAD` resolves to.
    pub head_commit: Option<String>,
    /// The index file.
    pub index: Option<FileStamp>,
    /// The repository's `config` file as written.
    pub config: Option<Vec<u8>>,
    /// The files of the hooks directory.
    pub hooks: BTreeMap<String, FileStamp>,
    /// Every ref under `refs/omk/` with its target.
    pub goal_refs: BTreeMap<String, String>,
}

/// What changed in the user's repository between `before` and `after` a turn. Goal refs may move
/// forward (`forward(old, new)`: git-omk records while agents work), never back, sideways or away.
pub fn repository_breaches(
    before: &RepositoryFacts,
    after: &RepositoryFacts,
    forward: &dyn Fn(&str, &str) -> bool,
) -> Vec<Breach> {
    let mut what: Vec<String> = Vec::new();
    if before.head != after.head || before.head_commit != after.head_commit {
        what.push("HEAD of the user's checkout moved".to_owned());
    }
    if before.index != after.index {
        what.push("the index of the user's checkout was written".to_owned());
    }
    if before.config != after.config {
        what.push("the repository's .git/config changed".to_owned());
    }
    let hooks: BTreeSet<&String> = before.hooks.keys().chain(after.hooks.keys()).collect();
    for hook in hooks
        .into_iter()
        .filter(|h| before.hooks.get(*h) != after.hooks.get(*h))
    {
        what.push(format!("the hook .git/hooks/{hook} was written"));
    }
    for (name, old) in &before.goal_refs {
        match after.goal_refs.get(name) {
            None => what.push(format!("{name} was deleted")),
            Some(new) if new != old && !forward(old, new) => {
                what.push(format!("{name} was rewritten from {old} to {new}"));
            }
            Some(_) => {}
        }
    }
    what.into_iter()
        .map(|what| Breach::RepositoryChanged { what })
        .collect()
}

/// Most refusals quoted from one tool result.
const MAX_REFUSALS: usize = 12;

/// What the sandbox's refusals look like in a program's output: a write refused by the read-only file
/// system (C, Python, Node and git spell it alike, Node in lower case; git's receive-pack says it of a
/// push into a read-only repository in its own words).
const REFUSED: &[&str] = &[
    "read-only file system",
    "erofs",
    "unable to create temporary object directory",
];

/// What renaming over or removing a mount point looks like (C, Python and coreutils; Node): inside the
/// sandbox the only mount points are its walls.
const BUSY: &[&str] = &["device or resource busy", "ebusy: resource busy"];

/// The breaches a tool's output shows: lines where the sandbox refused a write, lines that name a
/// hidden path (`hidden`: the spellings to look for, like `/home/u/.ssh` and `~/.ssh`), and attempts
/// to replace or remove what the sandbox binds read-only inside a writable directory (the worktree's
/// `.git`, an engine's configuration: its mount point is busy, [`BUSY`]). Each line once, at most a few. Output an
/// agent wrapped in JSON has its lines as `\n` escapes: those separate lines too.
pub fn refusals(output: &str, hidden: &[String]) -> Vec<Breach> {
    let mut found: Vec<Breach> = Vec::new();
    for line in output.lines().flat_map(|l| l.split("\\n")) {
        let lower = line.to_ascii_lowercase();
        let refused = REFUSED.iter().any(|m| lower.contains(m))
            || hidden.iter().any(|h| line.contains(h.as_str()))
            || BUSY.iter().any(|m| lower.contains(m));
        let breach = Breach::SandboxRefused {
            evidence: bounded_line(line.trim()),
        };
        if refused && !found.contains(&breach) {
            found.push(breach);
            if found.len() == MAX_REFUSALS {
                break;
            }
        }
    }
    found
}

fn bounded_line(line: &str) -> String {
    const MAX: usize = 300;
    if line.len() <= MAX {
        return line.to_owned();
    }
    let mut end = MAX;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walls() -> Walls {
        Walls {
            cwd: "/w/task".into(),
            writable: vec!["/w/task".into(), "/h/.kimi".into(), "/h/.ssh/sub".into()],
            read_only: vec!["/w/task/.git".into(), "/elsewhere/.git".into()],
            state_roots: vec![StateRoot {
                root: "/h/.qwen".into(),
                private: "/t/state-0".into(),
                writable: vec!["/h/.qwen/projects".into()],
                read_only: vec!["/h/.qwen/settings.json".into()],
            }],
            hidden_dirs: vec!["/h/.ssh".into()],
            hidden_files: vec!["/h/.netrc".into()],
            tmp: "/t/tmp".into(),
            unreadable: "/t/unreadable".into(),
            unset_env: vec!["SSH_AUTH_SOCK".into()],
            ..Walls::default()
        }
    }

    fn position(args: &[OsString], a: &str, b: &str) -> usize {
        args.windows(2)
            .position(|w| w[0] == a && w[1] == b)
            .unwrap_or_else(|| panic!("{a} {b} missing from {args:?}"))
    }

    #[test]
    fn mounts_stack_in_the_order_that_keeps_every_wall() {
        let args = bwrap_args(&walls());
        let root = position(&args, "--ro-bind", "/");
        let task = position(&args, "--bind", "/w/task");
        let pointer = position(&args, "--ro-bind", "/w/task/.git");
        let ssh = position(&args, "--tmpfs", "/h/.ssh");
        assert!(
            root < task && task < pointer,
            "the pointer is read-only over the writable worktree"
        );
        assert!(position(&args, "--bind", "/h/.kimi") < ssh);
        assert!(position(&args, "--bind", "/t/tmp") > root);
        assert_eq!(
            args[position(&args, "/t/unreadable", "/h/.netrc") - 1],
            "--ro-bind"
        );
        assert!(
            !args.iter().any(|a| a == "/h/.ssh/sub"),
            "nothing under a hidden path is writable"
        );
        assert!(!args.iter().any(|a| a == "/elsewhere/.git"), "read-only already");
        for flag in [
            "--unshare-pid",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
        ] {
            assert!(args.iter().any(|a| a == flag), "{flag}");
        }
        assert!(
            position(&args, "/t/unreadable", "/dev/tty") > position(&args, "--dev", "/dev"),
            "the terminal is closed off over the fresh /dev"
        );
        assert!(
            !args.iter().any(|a| a == "--new-session"),
            "no new session: it is a scheduling group of its own"
        );
        assert!(position(&args, "--cap-drop", "ALL") > 0);
        assert!(position(&args, "--chdir", "/w/task") > pointer);
        assert!(position(&args, "--setenv", "TMPDIR") > 0);
        assert!(position(&args, "--unsetenv", "SSH_AUTH_SOCK") > 0);
    }

    /// A task whose repository, home and worktree live in the system's temporary directory (as in
    /// tests), with the runtime directory and a socket in `/tmp` hidden.
    fn walls_in_tmp() -> Walls {
        Walls {
            cwd: "/tmp/t/wt/task".into(),
            writable: vec![
                "/tmp/t/wt/task".into(),
                "/tmp/t/home/.kimi".into(),
                "/tmp/t/home/.cache/pip".into(),
                "/tmp/t/repo/.git/objects".into(),
            ],
            read_only: vec![
                "/tmp/t/wt/task/.git".into(),
                "/tmp/t/repo/.git".into(),
                "/tmp/t/repo/.git/worktrees/task".into(),
            ],
            state_roots: Vec::new(),
            hidden_dirs: vec![
                "/tmp/t/home/.ssh".into(),
                "/run/user/1000".into(),
                "/tmp/tmux-1000".into(),
            ],
            hidden_files: vec!["/run/docker.sock".into(), "/tmp/t/home/.netrc".into()],
            emptied: vec!["/tmp".into(), "/var/tmp".into(), "/tmp/t".into(), "/".into()],
            shown: vec![
                "/tmp/t/repo".into(),
                "/tmp/t/home".into(),
                "/tmp/t/home/agent.sh".into(),
                "/tmp/t/wt/task/agent.sh".into(),
                "/usr/bin/python3".into(),
            ],
            tmp: "/tmp/omk-sandbox-1/tmp".into(),
            unreadable: "/tmp/omk-sandbox-1/unreadable".into(),
            unset_env: Vec::new(),
        }
    }

    #[test]
    fn no_mount_ever_covers_one_made_before_it() {
        for walls in [walls(), walls_in_tmp()] {
            let mounts = walls.normalised().mounts();
            for (i, earlier) in mounts.iter().enumerate() {
                for later in &mounts[i + 1..] {
                    let covers = earlier.path().starts_with(later.path());
                    assert!(
                        !covers || (earlier.path() == later.path() && earlier.rank() < later.rank()),
                        "{later:?} covers {earlier:?}: {mounts:#?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_temporary_directories_are_emptied_and_what_lives_there_is_bound_back() {
        let walls = walls_in_tmp().normalised();
        assert_eq!(
            walls.emptied,
            vec![PathBuf::from("/tmp"), PathBuf::from("/var/tmp")],
            "never the root, nothing twice"
        );
        assert_eq!(
            walls.shown,
            vec![PathBuf::from("/tmp/t/home"), PathBuf::from("/tmp/t/repo")],
            "the checkout and the home stay visible; the program in the worktree is visible already, and python outside"
        );
        assert!(
            walls.writable.contains(&PathBuf::from("/tmp/omk-sandbox-1/tmp"))
                && walls.writable.contains(&PathBuf::from("/tmp/t/wt/task"))
        );
        assert!(
            !walls
                .writable
                .contains(&PathBuf::from("/tmp/t/repo/.git/objects")),
            "the git directory stays read-only whatever allowWrite says"
        );
        assert!(walls.read_only.contains(&PathBuf::from("/tmp/t/repo/.git")));
        assert!(
            !walls.hidden_dirs.contains(&PathBuf::from("/tmp/tmux-1000")),
            "invisible already"
        );
        assert!(walls.hidden_dirs.contains(&PathBuf::from("/tmp/t/home/.ssh")));
        assert!(walls.hidden_dirs.contains(&PathBuf::from("/run/user/1000")));
        let args = bwrap_args(&walls_in_tmp());
        let tmpfs = position(&args, "--tmpfs", "/tmp");
        let home = position(&args, "--ro-bind", "/tmp/t/home");
        let kimi = position(&args, "--bind", "/tmp/t/home/.kimi");
        let ssh = position(&args, "--tmpfs", "/tmp/t/home/.ssh");
        let remount = position(&args, "--remount-ro", "/tmp");
        assert!(tmpfs < home && home < kimi && home < ssh && ssh < remount);
        let last_mount = args
            .iter()
            .rposition(|a| a == "--bind" || a == "--ro-bind" || a == "--tmpfs")
            .unwrap();
        assert!(
            remount > last_mount,
            "the mount points are made before the emptied directory turns read-only"
        );
        assert_eq!(
            args[position(&args, "/tmp/omk-sandbox-1/unreadable", "/run/docker.sock") - 1],
            "--ro-bind"
        );
    }

    #[test]
    fn the_paths_a_configured_command_names_are_found() {
        assert_eq!(
            command_paths("python3 /tmp/x/agent.py --mode '/tmp/y z' \"/opt/a\" ./rel ~/h"),
            vec![
                PathBuf::from("/tmp/x/agent.py"),
                PathBuf::from("/tmp/y"),
                PathBuf::from("/opt/a")
            ]
        );
        assert!(command_paths("").is_empty());
    }

    #[test]
    fn what_the_user_allowed_to_write_is_not_emptied() {
        let mut walls = walls_in_tmp();
        walls.writable.push("/tmp".into());
        let walls = walls.normalised();
        assert_eq!(walls.emptied, vec![PathBuf::from("/var/tmp")]);
        assert!(walls.shown.is_empty(), "visible already");
        let args = bwrap_args(&walls);
        assert!(position(&args, "--remount-ro", "/var/tmp") > position(&args, "--tmpfs", "/var/tmp"));
        assert!(!args.windows(2).any(|w| w[0] == "--remount-ro" && w[1] == "/tmp"));
    }

    #[test]
    fn an_engine_writes_only_its_own_entries_of_its_state_directory() {
        let entries: Vec<OsString> = [
            "config.toml",
            "mcp.json",
            "credentials",
            "bin",
            "sessions",
            "logs",
            "kimi.json",
            "AGENTS.md",
        ]
        .map(OsString::from)
        .to_vec();
        let state = state_root(Path::new("/h/.kimi"), &entries, &KIMI_CLI, Path::new("/t/s"));
        assert_eq!(
            state.writable,
            vec![PathBuf::from("/h/.kimi/logs"), PathBuf::from("/h/.kimi/sessions")]
        );
        for config in ["config.toml", "mcp.json", "credentials", "bin", "AGENTS.md"] {
            assert!(
                state.read_only.contains(&Path::new("/h/.kimi").join(config)),
                "{config} stays read-only"
            );
        }
        assert!(
            !state
                .read_only
                .iter()
                .chain(&state.writable)
                .any(|p| p.ends_with("kimi.json")),
            "a copy: the engine renames over it"
        );
        let qwen: Vec<OsString> = [
            "settings.json",
            "extension-store",
            "extensions",
            "usage_record.jsonl",
        ]
        .map(OsString::from)
        .to_vec();
        let state = state_root(Path::new("/q"), &qwen, &QWEN_CODE, Path::new("/t/s"));
        assert_eq!(state.writable, vec![PathBuf::from("/q/usage_record.jsonl")]);
        assert_eq!(
            state.read_only,
            vec![PathBuf::from("/q/extensions"), PathBuf::from("/q/settings.json")],
            "the extension store is a fresh one, never the real one"
        );
    }

    #[test]
    fn kimi_cli_finds_the_sessions_of_a_listed_work_dir() {
        let fresh = listing_work_dir(None, "/w/task").unwrap();
        assert!(fresh.contains("\"/w/task\""), "{fresh}");
        assert_eq!(listing_work_dir(Some(&fresh), "/w/task"), None, "listed once");
        let other = r#"{"work_dirs": [{"path": "/w/a", "kaos": "local", "last_session_id": "s1"}], "x": 1}"#;
        let both = listing_work_dir(Some(other), "/w/task").unwrap();
        let value: serde_json::Value = serde_json::from_str(&both).unwrap();
        assert_eq!(value["work_dirs"].as_array().unwrap().len(), 2);
        assert_eq!(value["work_dirs"][0]["last_session_id"], "s1");
        assert_eq!(value["x"], 1);
        assert_eq!(listing_work_dir(Some("not json"), "/w/task"), None, "left alone");
    }

    #[test]
    fn a_state_directory_is_private_with_its_entries_bound_over_it() {
        let mut walls = walls();
        walls.writable.push("/h/.qwen/cache".into());
        let args = bwrap_args(&walls);
        let private = position(&args, "/t/state-0", "/h/.qwen");
        assert_eq!(args[private - 1], "--bind");
        let projects = position(&args, "--bind", "/h/.qwen/projects");
        let settings = position(&args, "--ro-bind", "/h/.qwen/settings.json");
        assert!(private < projects && private < settings);
        let again = args
            .windows(2)
            .rposition(|w| w[0] == "--bind" && w[1] == "/h/.qwen/cache")
            .unwrap();
        assert!(again > private, "a writable directory inside stays writable");
        walls.hidden_dirs.push("/h".into());
        let args = bwrap_args(&walls);
        assert!(
            !args.iter().any(|a| a == "/t/state-0"),
            "never inside a hidden one"
        );
    }

    #[test]
    fn engine_state_and_caches_follow_their_variables() {
        let env = |name: &str| match name {
            "HOME" => Some("/h".to_owned()),
            "KIMI_CODE_HOME" => Some("/k".to_owned()),
            "CARGO_HOME" => Some("/c".to_owned()),
            _ => None,
        };
        let paths = |agent: &AgentSpec| -> Vec<PathBuf> {
            engine_state_dirs(agent, &env)
                .into_iter()
                .map(|d| d.path)
                .collect()
        };
        assert_eq!(paths(&AgentSpec::KimiWire), vec![PathBuf::from("/h/.kimi")]);
        assert_eq!(
            paths(&AgentSpec::KimiAcp),
            vec![PathBuf::from("/k"), PathBuf::from("/h/.cache/kimi-code")]
        );
        let layouts: Vec<Layout> = engine_state_dirs(&AgentSpec::KimiAcp, &env)
            .into_iter()
            .map(|d| d.layout)
            .collect();
        assert_eq!(layouts, vec![Layout::Guarded(&KIMI_CODE), Layout::Cache]);
        assert_eq!(paths(&AgentSpec::Qwen), vec![PathBuf::from("/h/.qwen")]);
        assert_eq!(engine_state_dirs(&AgentSpec::Kimi, &env).len(), 3);
        assert!(engine_state_dirs(&AgentSpec::Exec("x".into()), &env).is_empty());
        let caches = toolchain_caches(&env);
        assert!(caches.contains(&PathBuf::from("/c/registry")) && caches.contains(&PathBuf::from("/c/git")));
        assert!(caches.contains(&PathBuf::from("/h/.cache/pip")));
        assert!(
            !caches.contains(&PathBuf::from("/h/.cache")),
            "never the whole cache"
        );
    }

    #[test]
    fn an_unconfined_agent_may_change_nothing_of_the_users_repository() {
        let stamp = |len| FileStamp { len, modified_ns: 1 };
        let before = RepositoryFacts {
            head: Some(b"ref: refs/heads/main\n".to_vec()),
            head_commit: Some("a".into()),
            index: Some(stamp(10)),
            config: Some(b"[core]\n".to_vec()),
            hooks: BTreeMap::from([("pre-commit.sample".to_owned(), stamp(5))]),
            goal_refs: BTreeMap::from([
                ("refs/omk/goals/g1".to_owned(), "c1".to_owned()),
                ("refs/omk/goals/g2".to_owned(), "d1".to_owned()),
                ("refs/omk/goals/g3".to_owned(), "e1".to_owned()),
            ]),
        };
        let forward = |old: &str, new: &str| old == "c1" && new == "c2";
        let mut after = before.clone();
        after.goal_refs.insert("refs/omk/goals/g1".into(), "c2".into());
        after.goal_refs.insert("refs/omk/goals/g9".into(), "f1".into());
        assert!(
            repository_breaches(&before, &after, &forward).is_empty(),
            "forward and new refs are fine"
        );
        after.goal_refs.insert("refs/omk/goals/g2".into(), "x".into());
        after.goal_refs.remove("refs/omk/goals/g3");
        after.head_commit = Some("b".into());
        after.index = Some(stamp(11));
        after.config = Some(b"[core]\nfsmonitor = evil\n".to_vec());
        after.hooks.insert("post-checkout".into(), stamp(20));
        let found: Vec<String> = repository_breaches(&before, &after, &forward)
            .iter()
            .map(Breach::evidence)
            .collect();
        assert_eq!(found.len(), 6, "{found:#?}");
        assert!(found.iter().any(|f| f.contains("g2 was rewritten")));
        assert!(found.iter().any(|f| f.contains("g3 was deleted")));
        assert!(found.iter().any(|f| f.contains("post-checkout")));
    }

    #[test]
    fn an_unconfined_run_is_recorded_once_as_a_known_gap() {
        let draft = unconfined_decision();
        let decision = Decision {
            id: crate::model::ids::EventId::from_random([0; 10]),
            at: chrono::DateTime::UNIX_EPOCH,
            step: draft.step,
            chosen: draft.chosen,
            why: draft.why,
            evidence: Vec::new(),
        };
        assert!(ran_unconfined(&[decision]));
        assert!(!ran_unconfined(&[]));
    }

    #[test]
    fn refusals_are_found_in_what_programs_print() {
        let hidden = vec!["/h/.ssh".to_owned(), "~/.ssh".to_owned()];
        let out = "ok\nOSError: [Errno 30] Read-only file system: '/tmp/x'\n\
                   Error: EROFS: read-only file system, open '/x'\n\
                   cat: /h/.ssh/id_rsa: Permission denied\n\
                   mv: cannot move '.git': Device or resource busy\n\
                   replace: OSError: [Errno 16] Device or resource busy: 'c.tmp' -> '/h/.kimi/mcp.json'\n\
                   Error: EBUSY: resource busy or locked, rename 'x' -> '/h/.qwen/settings.json'\n\
                   fatal: Unable to create '/r/.git/index.lock': Read-only file system\n\
                   all fine\n";
        let found = refusals(out, &hidden);
        assert_eq!(found.len(), 7, "{found:?}");
        let wrapped =
            r#"{"output":"ok\nOSError: [Errno 30] Read-only file system: 'x'\nssh: /h/.ssh/id: denied"}"#;
        let found = refusals(wrapped, &hidden);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|b| b.evidence().len() < 200), "{found:?}");
        assert!(refusals("tests passed\nwrote target/x\n", &hidden).is_empty());
        assert_eq!(refusals(&"Read-only file system\n".repeat(20), &hidden).len(), 1);
        assert!(SandboxMode::Off == "off".parse().unwrap() && SandboxMode::Auto == "auto".parse().unwrap());
        assert!("maybe".parse::<SandboxMode>().is_err());
    }
}
