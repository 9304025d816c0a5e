//! The agent policy: one place decides everything an agent may do in a task (DESIGN §4, §11.1).
//!
//! Owns the rules: file writes only inside the task's worktree AND its write set; `.git` and `.omk/`
//! never writable; reads inside the worktree and the declared read paths; shell commands that push,
//! publish, touch credentials or leave the worktree refused; a read-only mode (planner, reviewer)
//! that allows no change at all; and the after-turn check of the worktree's changed paths. Every
//! refusal carries a reason written for the model, so it can adapt. Pure: paths are compared
//! lexically; the agent layer resolves symbolic links and asks again with the real path.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::shell::{self, RedirectKind, SimpleCommand, Word};
use super::writeset::{PathPattern, set_matches};

/// What a session may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Writes inside the worktree and the write set.
    ReadWrite,
    /// No writes at all (planner and reviewer sessions).
    ReadOnly,
}

/// A decision of the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Refused, with the reason to give back to the model.
    Deny(String),
}

impl Verdict {
    /// Whether the action is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allow)
    }
}

/// A change found in the worktree after a turn that the policy does not allow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The changed path, relative to the worktree root.
    pub path: String,
    /// Why it is not allowed.
    pub reason: String,
}

/// Why a policy could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The worktree or a read path is not absolute.
    #[error("`{0}` is not an absolute path")]
    NotAbsolute(PathBuf),
}

/// What one agent session may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    work_dir: PathBuf,
    write_set: Vec<PathPattern>,
    read_paths: Vec<PathBuf>,
    access: Access,
}

/// Files that are never written, whatever the write set says.
fn protected(rel: &str) -> bool {
    rel.split('/').any(|c| c.eq_ignore_ascii_case(".git"))
        || rel
            .split('/')
            .next()
            .is_some_and(|c| c.eq_ignore_ascii_case(".omk"))
}

/// Lexically resolve `path` against `base`: `.` and `..` are folded, nothing is read from disk.
pub fn normalize(base: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in base.join(path).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl Policy {
    /// A task's policy: writes inside `work_dir` matching `write_set`.
    pub fn task(work_dir: &Path, write_set: Vec<PathPattern>) -> Result<Policy, PolicyError> {
        Policy::build(work_dir, write_set, Access::ReadWrite)
    }

    /// A read-only policy for planner and reviewer sessions.
    pub fn read_only(work_dir: &Path) -> Result<Policy, PolicyError> {
        Policy::build(work_dir, Vec::new(), Access::ReadOnly)
    }

    fn build(work_dir: &Path, write_set: Vec<PathPattern>, access: Access) -> Result<Policy, PolicyError> {
        if !work_dir.is_absolute() {
            return Err(PolicyError::NotAbsolute(work_dir.to_owned()));
        }
        Ok(Policy {
            work_dir: normalize(work_dir, Path::new("")),
            write_set,
            read_paths: Vec::new(),
            access,
        })
    }

    /// Also allow reads below these absolute paths.
    pub fn with_read_paths(mut self, paths: Vec<PathBuf>) -> Result<Policy, PolicyError> {
        if let Some(p) = paths.iter().find(|p| !p.is_absolute()) {
            return Err(PolicyError::NotAbsolute(p.clone()));
        }
        self.read_paths = paths.iter().map(|p| normalize(p, Path::new(""))).collect();
        Ok(self)
    }

    /// The same policy for the same worktree seen through another absolute path (its real path).
    pub fn rebased(mut self, work_dir: &Path) -> Result<Policy, PolicyError> {
        if !work_dir.is_absolute() {
            return Err(PolicyError::NotAbsolute(work_dir.to_owned()));
        }
        self.work_dir = normalize(work_dir, Path::new(""));
        Ok(self)
    }

    /// The worktree.
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// Read-write or read-only.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The write set.
    pub fn write_set(&self) -> &[PathPattern] {
        &self.write_set
    }

    /// `path` relative to the worktree (`/`-separated), or `None` when it is outside.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let abs = normalize(&self.work_dir, path);
        let rel = abs.strip_prefix(&self.work_dir).ok()?;
        Some(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
        )
    }

    /// May the agent write (create, change, delete) `path` (absolute, or relative to the worktree)?
    pub fn check_write(&self, path: &Path) -> Verdict {
        if self.access == Access::ReadOnly {
            return Verdict::Deny("this session is read-only: it may not change any file".to_owned());
        }
        let Some(rel) = self.relative(path) else {
            return Verdict::Deny(format!(
                "`{}` is outside the task's worktree: write only inside {}",
                path.display(),
                self.work_dir.display()
            ));
        };
        self.check_write_relative(&rel)
    }

    fn check_write_relative(&self, rel: &str) -> Verdict {
        if rel.is_empty() {
            return Verdict::Deny("the worktree root itself may not be replaced".to_owned());
        }
        if protected(rel) {
            return Verdict::Deny(format!(
                "`{rel}` is protected: .git and .omk/ are never changed by agents"
            ));
        }
        if self.access == Access::ReadOnly {
            return Verdict::Deny("this session is read-only: it may not change any file".to_owned());
        }
        if !set_matches(&self.write_set, rel) {
            return Verdict::Deny(format!(
                "`{rel}` is outside this task's write set ({}): change only files matching it",
                self.write_set_text()
            ));
        }
        Verdict::Allow
    }

    fn write_set_text(&self) -> String {
        if self.write_set.is_empty() {
            return "empty".to_owned();
        }
        self.write_set
            .iter()
            .map(PathPattern::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// May the agent read `path` (absolute, or relative to the worktree)?
    pub fn check_read(&self, path: &Path) -> Verdict {
        let abs = normalize(&self.work_dir, path);
        if abs.starts_with(&self.work_dir) || self.read_paths.iter().any(|r| abs.starts_with(r)) {
            Verdict::Allow
        } else {
            Verdict::Deny(format!(
                "`{}` is outside the task's worktree: read only inside {}",
                path.display(),
                self.work_dir.display()
            ))
        }
    }

    /// Check the paths a turn changed (relative to the worktree): every one must be writable.
    pub fn check_changes(&self, changed: &[String]) -> Vec<Violation> {
        changed
            .iter()
            .filter_map(|path| match self.check_write(Path::new(path)) {
                Verdict::Allow => None,
                Verdict::Deny(reason) => Some(Violation {
                    path: path.clone(),
                    reason,
                }),
            })
            .collect()
    }

    /// May the agent run `script` (a shell command line) with working directory `cwd` (default: the
    /// worktree)?
    pub fn check_command(&self, script: &str, cwd: Option<&Path>) -> Verdict {
        let mut cwd = cwd.map_or_else(|| self.work_dir.clone(), |c| normalize(&self.work_dir, c));
        if !cwd.starts_with(&self.work_dir) {
            return Verdict::Deny(format!(
                "commands run inside the task's worktree {}, not in {}",
                self.work_dir.display(),
                cwd.display()
            ));
        }
        match self.check_script(script, &mut cwd, 0) {
            Ok(()) => Verdict::Allow,
            Err(reason) => Verdict::Deny(reason),
        }
    }

    fn check_script(&self, script: &str, cwd: &mut PathBuf, depth: usize) -> Result<(), String> {
        if depth > 4 {
            return Err("shells nested too deep to check".to_owned());
        }
        let commands = shell::parse(script)
            .map_err(|e| format!("the command could not be checked ({e}): use plain, simple commands"))?;
        for command in &commands {
            self.check_simple(command, cwd, depth)?;
        }
        Ok(())
    }

    fn check_simple(&self, command: &SimpleCommand, cwd: &mut PathBuf, depth: usize) -> Result<(), String> {
        for word in command
            .words
            .iter()
            .chain(command.redirects.iter().map(|r| &r.target))
        {
            check_credentials(&word.text)?;
        }
        for redirect in &command.redirects {
            self.check_path_word(&redirect.target, redirect.kind == RedirectKind::Output, cwd)?;
        }
        let words = unwrap_command(&command.words)?;
        let Some(program) = words.first() else {
            return Ok(());
        };
        let name = program_name(&program.text);
        let args = &words[1..];
        if let Some(script) = shell_script(&name, args) {
            return self.check_script(script, cwd, depth + 1);
        }
        if name == "eval" {
            let joined = args.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
            return self.check_script(&joined, cwd, depth + 1);
        }
        check_program(&name, args)?;
        if name == "git" {
            self.check_git(args, cwd)?;
        }
        if self.access == Access::ReadOnly {
            check_read_only_program(&name, args)?;
        }
        if matches!(name.as_str(), "cd" | "pushd") {
            return self.change_dir(args, cwd);
        }
        self.check_arguments(&name, args, cwd)
    }

    fn change_dir(&self, args: &[Word], cwd: &mut PathBuf) -> Result<(), String> {
        let target = args.iter().find(|w| !w.text.starts_with('-'));
        let Some(target) = target else {
            return Err("`cd` without a directory leaves the worktree: stay inside it".to_owned());
        };
        let dest = self.resolve_word(target, cwd).ok_or_else(|| {
            format!(
                "`cd {}` cannot be checked: use a path inside the worktree",
                target.text
            )
        })?;
        if !dest.starts_with(&self.work_dir) {
            return Err(format!(
                "`cd {}` leaves the task's worktree: stay inside it",
                target.text
            ));
        }
        *cwd = dest;
        Ok(())
    }

    /// Resolve a word naming a path; `None` when it depends on an expansion that cannot be known.
    fn resolve_word(&self, word: &Word, cwd: &Path) -> Option<PathBuf> {
        let text = word.text.as_str();
        if is_home_reference(text) {
            return Some(PathBuf::from("/nonexistent-home"));
        }
        if word.dynamic && text.contains('$') {
            return None;
        }
        Some(normalize(cwd, Path::new(text)))
    }

    /// Check one word that names a file: a write must be allowed by the policy, a read must stay in
    /// the worktree, the read paths or the system's program directories.
    fn check_path_word(&self, word: &Word, write: bool, cwd: &Path) -> Result<(), String> {
        if DEVICE_FILES
            .iter()
            .any(|d| word.text == *d || word.text.starts_with("/dev/fd/"))
        {
            return Ok(());
        }
        let Some(path) = self.resolve_word(word, cwd) else {
            return if write {
                Err(format!(
                    "cannot check where `{}` writes: name a file inside the worktree",
                    word.text
                ))
            } else {
                Ok(())
            };
        };
        if write {
            return match self.check_write(&path) {
                Verdict::Allow => Ok(()),
                Verdict::Deny(reason) => Err(reason),
            };
        }
        let system = SYSTEM_READ_DIRS.iter().any(|d| path.starts_with(d));
        if system || self.check_read(&path).is_allowed() {
            Ok(())
        } else {
            Err(format!(
                "`{}` is outside the task's worktree: work only inside {}",
                word.text,
                self.work_dir.display()
            ))
        }
    }

    /// Arguments that look like paths must stay inside; the targets of writing programs must be
    /// writable.
    fn check_arguments(&self, program: &str, args: &[Word], cwd: &Path) -> Result<(), String> {
        let writes = writing_arguments(program, args);
        for (i, arg) in args.iter().enumerate() {
            let value = option_value(&arg.text);
            let looks_like_path = value.starts_with('/')
                || is_home_reference(value)
                || Path::new(value).components().any(|c| c == Component::ParentDir);
            let word = Word {
                text: value.to_owned(),
                dynamic: arg.dynamic,
            };
            if writes.contains(&i) {
                if self.access == Access::ReadOnly {
                    return Err(format!(
                        "this session is read-only: `{program}` may not change files"
                    ));
                }
                self.check_path_word(&word, true, cwd)?;
            } else if looks_like_path {
                self.check_path_word(&word, false, cwd)?;
            }
        }
        Ok(())
    }

    fn check_git(&self, args: &[Word], cwd: &Path) -> Result<(), String> {
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            let a = arg.text.as_str();
            match a {
                "-C" => {
                    let dir = args.get(i + 1).ok_or("`git -C` needs a directory")?;
                    let dest = self.resolve_word(dir, cwd);
                    if !dest.is_some_and(|d| d.starts_with(&self.work_dir)) {
                        return Err("`git -C` must name a directory inside the task's worktree".to_owned());
                    }
                    i += 2;
                }
                "-c" => {
                    let setting = args
                        .get(i + 1)
                        .map_or("", |w| w.text.as_str())
                        .to_ascii_lowercase();
                    if GIT_RISKY_CONFIG.iter().any(|k| setting.starts_with(k)) {
                        return Err(format!("`git -c {setting}` is not allowed for agents"));
                    }
                    i += 2;
                }
                _ if a.starts_with("--git-dir")
                    || a.starts_with("--work-tree")
                    || a.starts_with("--namespace") =>
                {
                    return Err(format!(
                        "`git {a}` points git elsewhere: work in the task's worktree"
                    ));
                }
                _ if a.starts_with('-') => i += 1,
                sub => return self.check_git_subcommand(sub),
            }
        }
        Ok(())
    }

    fn check_git_subcommand(&self, sub: &str) -> Result<(), String> {
        let allowed =
            GIT_READ.contains(&sub) || (self.access == Access::ReadWrite && GIT_WORKTREE.contains(&sub));
        if allowed {
            Ok(())
        } else {
            Err(format!(
                "`git {sub}` is not allowed for agents: git-omk itself commits, branches, fetches and \
                 pushes the task's work; just edit the files"
            ))
        }
    }
}

const DEVICE_FILES: &[&str] = &[
    "/dev/null",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/stdin",
    "/dev/tty",
    "/dev/zero",
];
const SYSTEM_READ_DIRS: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/opt",
    "/etc/alternatives",
];
const GIT_RISKY_CONFIG: &[&str] = &[
    "credential",
    "core.sshcommand",
    "core.hookspath",
    "core.fsmonitor",
    "core.gitproxy",
    "alias.",
    "url.",
    "http.",
    "remote.",
    "include",
];
/// git subcommands that only read.
const GIT_READ: &[&str] = &[
    "status",
    "diff",
    "log",
    "show",
    "ls-files",
    "ls-tree",
    "grep",
    "blame",
    "rev-parse",
    "describe",
    "shortlog",
    "cat-file",
    "rev-list",
    "show-ref",
    "for-each-ref",
    "name-rev",
    "merge-base",
    "help",
    "version",
    "check-ignore",
    "check-attr",
    "count-objects",
    "diff-tree",
    "diff-index",
    "whatchanged",
];
/// git subcommands that change only the work tree (and index), which the after-turn check covers.
const GIT_WORKTREE: &[&str] = &[
    "add",
    "rm",
    "mv",
    "apply",
    "restore",
    "clean",
    "diff-files",
    "format-patch",
];

/// Programs refused outright, with the reason.
const REFUSED_PROGRAMS: &[(&str, &str)] = &[
    ("sudo", "no privilege escalation"),
    ("su", "no privilege escalation"),
    ("doas", "no privilege escalation"),
    ("gh", "GitHub is git-omk's job, not the agent's"),
    ("hub", "GitHub is git-omk's job, not the agent's"),
    ("glab", "publishing is git-omk's job, not the agent's"),
    ("ssh", "no connections to other hosts"),
    ("scp", "no connections to other hosts"),
    ("sftp", "no connections to other hosts"),
    ("ftp", "no connections to other hosts"),
    ("telnet", "no connections to other hosts"),
    ("nc", "no connections to other hosts"),
    ("ncat", "no connections to other hosts"),
    ("netcat", "no connections to other hosts"),
    ("socat", "no connections to other hosts"),
    ("ssh-add", "no access to credentials"),
    ("ssh-keygen", "no access to credentials"),
    ("ssh-agent", "no access to credentials"),
    ("secret-tool", "no access to credentials"),
    ("security", "no access to credentials"),
    ("pass", "no access to credentials"),
    ("keyring", "no access to credentials"),
    ("aws", "no cloud credentials"),
    ("gcloud", "no cloud credentials"),
    ("az", "no cloud credentials"),
    ("twine", "publishing is git-omk's job, not the agent's"),
    ("goreleaser", "publishing is git-omk's job, not the agent's"),
    ("pkill", "do not kill processes you did not start"),
    ("killall", "do not kill processes you did not start"),
    ("shutdown", "no system administration"),
    ("reboot", "no system administration"),
    ("halt", "no system administration"),
    ("poweroff", "no system administration"),
    ("mount", "no system administration"),
    ("umount", "no system administration"),
    ("chroot", "no system administration"),
    ("systemctl", "no system administration"),
    ("crontab", "no system administration"),
];

/// `program subcommand` pairs that publish or log in.
const PUBLISHING: &[(&str, &[&str])] = &[
    (
        "npm",
        &[
            "publish",
            "unpublish",
            "login",
            "adduser",
            "logout",
            "token",
            "owner",
            "dist-tag",
            "deprecate",
            "access",
        ],
    ),
    ("pnpm", &["publish", "login", "logout"]),
    ("yarn", &["publish", "login", "logout", "npm"]),
    ("bun", &["publish"]),
    ("cargo", &["publish", "login", "logout", "owner", "yank"]),
    ("gem", &["push", "owner", "signin", "yank"]),
    ("poetry", &["publish"]),
    ("flit", &["publish"]),
    ("hatch", &["publish"]),
    ("uv", &["publish"]),
    ("pdm", &["publish"]),
    ("docker", &["push", "login"]),
    ("podman", &["push", "login"]),
    ("helm", &["push"]),
    ("dotnet", &["nuget"]),
    ("mvn", &["deploy"]),
    ("vsce", &["publish"]),
    ("ovsx", &["publish"]),
];

/// Text in any word that reaches for credentials.
const CREDENTIAL_MARKERS: &[&str] = &[
    ".ssh/",
    ".gnupg",
    ".git-credentials",
    ".netrc",
    "_netrc",
    ".aws/",
    ".azure/",
    ".kube/config",
    ".docker/config.json",
    ".config/gh",
    ".pypirc",
    ".cargo/credentials",
    "id_rsa",
    "id_ed25519",
    "id_ecdsa",
    "id_dsa",
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "OMK_GITHUB_",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
];

fn check_credentials(text: &str) -> Result<(), String> {
    let hit = CREDENTIAL_MARKERS.iter().find(|m| text.contains(**m)).copied();
    let hit = hit.or_else(|| text.trim_end_matches('/').ends_with("/.ssh").then_some(".ssh"));
    match hit {
        Some(marker) => Err(format!(
            "`{marker}` is a credential: agents never touch credentials"
        )),
        None => Ok(()),
    }
}

fn is_home_reference(text: &str) -> bool {
    text == "~"
        || text.starts_with("~/")
        || text.starts_with('~') && !text.contains('/')
        || text.starts_with("$HOME")
        || text.starts_with("${HOME}")
}

/// The program's name without its directory.
fn program_name(text: &str) -> String {
    text.rsplit('/').next().unwrap_or(text).to_owned()
}

/// `--out=/x` → `/x`; anything else unchanged.
fn option_value(text: &str) -> &str {
    match text.split_once('=') {
        Some((opt, value)) if opt.starts_with('-') => value,
        _ => text,
    }
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in", "case", "esac", "{",
    "}", "!",
];
const WRAPPERS: &[&str] = &[
    "env", "nice", "nohup", "timeout", "time", "command", "exec", "stdbuf", "ionice", "setsid", "xargs",
    "builtin", "unbuffer",
];

/// Strip shell keywords, variable assignments and wrapper programs (`env`, `timeout 10`, `xargs`…) so
/// the real program comes first.
fn unwrap_command(words: &[Word]) -> Result<Vec<Word>, String> {
    let mut rest: Vec<Word> = words.to_vec();
    loop {
        while rest
            .first()
            .is_some_and(|w| KEYWORDS.contains(&w.text.as_str()) || is_assignment(&w.text))
        {
            rest.remove(0);
        }
        let Some(first) = rest.first() else {
            return Ok(rest);
        };
        let name = program_name(&first.text);
        if !WRAPPERS.contains(&name.as_str()) {
            return Ok(rest);
        }
        rest.remove(0);
        while rest.first().is_some_and(|w| {
            w.text.starts_with('-') || is_assignment(&w.text) || (name == "timeout" && is_duration(&w.text))
        }) {
            rest.remove(0);
        }
    }
}

fn is_assignment(text: &str) -> bool {
    text.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    })
}

fn is_duration(text: &str) -> bool {
    let digits = text.trim_end_matches(['s', 'm', 'h', 'd']);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// The script of `bash -c SCRIPT` (and other shells), if this is one.
fn shell_script<'w>(program: &str, args: &'w [Word]) -> Option<&'w str> {
    const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh", "ash", "fish"];
    if !SHELLS.contains(&program) {
        return None;
    }
    let flag = args
        .iter()
        .position(|w| w.text.starts_with('-') && !w.text.starts_with("--") && w.text.contains('c'))?;
    args.get(flag + 1).map(|w| w.text.as_str())
}

fn check_program(name: &str, args: &[Word]) -> Result<(), String> {
    if let Some((_, why)) = REFUSED_PROGRAMS.iter().find(|(p, _)| *p == name) {
        return Err(format!("`{name}` is not allowed: {why}"));
    }
    let first_arg = args
        .iter()
        .find(|w| !w.text.starts_with('-'))
        .map(|w| w.text.as_str());
    if let Some((_, subs)) = PUBLISHING.iter().find(|(p, _)| *p == name)
        && let Some(sub) = first_arg.filter(|s| subs.contains(s))
    {
        return Err(format!(
            "`{name} {sub}` publishes or logs in: publishing is git-omk's job, not the agent's"
        ));
    }
    if matches!(name, "gradle" | "gradlew") && args.iter().any(|w| w.text.starts_with("publish")) {
        return Err("`gradle publish` publishes: publishing is git-omk's job".to_owned());
    }
    if matches!(name, "curl" | "wget") {
        const UPLOAD: &[&str] = &[
            "-T",
            "--upload-file",
            "-d",
            "--data",
            "--data-binary",
            "--data-raw",
            "--data-urlencode",
            "-F",
            "--form",
            "--post-data",
            "--post-file",
            "--body-data",
            "--body-file",
        ];
        let uploads = args.iter().any(|w| {
            UPLOAD
                .iter()
                .any(|u| w.text == *u || w.text.starts_with(&format!("{u}=")))
                || matches!(w.text.as_str(), "PUT" | "POST" | "PATCH")
        });
        if uploads {
            return Err(format!(
                "`{name}` uploading data is not allowed: agents do not send data elsewhere"
            ));
        }
    }
    if name == "kill"
        && args
            .iter()
            .any(|w| matches!(w.text.as_str(), "-1" | "0" | "1" | "--"))
    {
        return Err("`kill` of every process is not allowed".to_owned());
    }
    if name == "rsync"
        && args
            .iter()
            .any(|w| !w.text.starts_with('-') && w.text.contains(':'))
    {
        return Err("`rsync` to another host is not allowed".to_owned());
    }
    Ok(())
}

/// Programs a read-only session may run.
const READ_ONLY_PROGRAMS: &[&str] = &[
    "ls",
    "cat",
    "head",
    "tail",
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "find",
    "fd",
    "wc",
    "sort",
    "uniq",
    "cut",
    "tr",
    "echo",
    "printf",
    "pwd",
    "tree",
    "file",
    "stat",
    "du",
    "which",
    "type",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "diff",
    "cmp",
    "true",
    "false",
    "test",
    "[",
    "sed",
    "jq",
    "git",
    "nl",
    "less",
    "more",
    "column",
    "date",
    "uname",
    "env",
    "printenv",
    "od",
    "hexdump",
    "xxd",
    "sha256sum",
    "md5sum",
    "cd",
    "pushd",
    "popd",
];

fn check_read_only_program(name: &str, args: &[Word]) -> Result<(), String> {
    if !READ_ONLY_PROGRAMS.contains(&name) {
        return Err(format!(
            "this session is read-only: `{name}` is not among the programs it may run"
        ));
    }
    let writes = match name {
        "sed" => args
            .iter()
            .any(|w| w.text.starts_with("-i") || w.text.starts_with("--in-place")),
        "find" => args.iter().any(|w| {
            matches!(
                w.text.as_str(),
                "-delete" | "-exec" | "-execdir" | "-ok" | "-okdir"
            ) || w.text.starts_with("-fprint")
        }),
        _ => false,
    };
    if writes {
        return Err(format!(
            "this session is read-only: `{name}` may not change files here"
        ));
    }
    Ok(())
}

/// Indexes of the arguments a program writes (deletes, creates, changes).
fn writing_arguments(program: &str, args: &[Word]) -> Vec<usize> {
    let operands: Vec<usize> = args
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.text.starts_with('-'))
        .map(|(i, _)| i)
        .collect();
    match program {
        "rm" | "rmdir" | "touch" | "mkdir" | "truncate" | "shred" | "unlink" | "tee" => operands,
        "chmod" | "chown" | "chgrp" => operands.into_iter().skip(1).collect(),
        "mv" => operands,
        "cp" | "install" | "ln" | "rsync" => operands.last().copied().into_iter().collect(),
        "sed" | "perl"
            if args
                .iter()
                .any(|w| w.text.starts_with("-i") || w.text.starts_with("--in-place")) =>
        {
            operands.into_iter().skip(1).collect()
        }
        "dd" => args
            .iter()
            .enumerate()
            .filter(|(_, w)| w.text.starts_with("of="))
            .map(|(i, _)| i)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        let set = vec![
            PathPattern::parse("src/**").unwrap(),
            PathPattern::parse("hello.txt").unwrap(),
        ];
        Policy::task(Path::new("/srv/repo"), set).unwrap()
    }

    fn denied(v: Verdict) -> String {
        match v {
            Verdict::Deny(reason) => reason,
            Verdict::Allow => panic!("expected a refusal"),
        }
    }

    #[test]
    fn writes_stay_in_the_worktree_and_the_write_set() {
        let p = policy();
        assert!(p.check_write(Path::new("hello.txt")).is_allowed());
        assert!(p.check_write(Path::new("/srv/repo/src/a/b.rs")).is_allowed());
        assert!(p.check_write(Path::new("src/../src/x.rs")).is_allowed());
        assert!(denied(p.check_write(Path::new("README.md"))).contains("write set"));
        assert!(denied(p.check_write(Path::new("/tmp/evil.txt"))).contains("outside the task's worktree"));
        assert!(denied(p.check_write(Path::new("src/../../etc/passwd"))).contains("outside"));
        assert!(denied(p.check_write(Path::new("/srv/repo2/src/x.rs"))).contains("outside"));
        assert!(denied(p.check_write(Path::new(".git/config"))).contains("protected"));
        assert!(denied(p.check_write(Path::new("src/.git/hooks/x"))).contains("protected"));
        assert!(denied(p.check_write(Path::new(".omk/gates.toml"))).contains("protected"));
        let everything = Policy::task(Path::new("/w"), vec![PathPattern::parse("**").unwrap()]).unwrap();
        assert!(
            !everything.check_write(Path::new(".git/HEAD")).is_allowed(),
            "even with `**`"
        );
        assert!(!everything.check_write(Path::new(".omk/x")).is_allowed());
    }

    #[test]
    fn read_only_allows_no_writes() {
        let p = Policy::read_only(Path::new("/srv/repo")).unwrap();
        assert!(denied(p.check_write(Path::new("src/a.rs"))).contains("read-only"));
        assert!(p.check_read(Path::new("src/a.rs")).is_allowed());
        assert!(
            p.check_command("git log --oneline | head -5 && grep -rn foo src", None)
                .is_allowed()
        );
        for cmd in [
            "touch x",
            "echo x > a.txt",
            "sed -i s/a/b/ src/a.rs",
            "python3 -c 1",
            "git add .",
            "find . -delete",
        ] {
            assert!(!p.check_command(cmd, None).is_allowed(), "{cmd}");
        }
        assert_eq!(
            p.check_changes(&["src/a.rs".to_owned()])[0].reason,
            "this session is read-only: it may not change any file"
        );
    }

    #[test]
    fn reads_stay_in_the_worktree_and_read_paths() {
        let p = policy()
            .with_read_paths(vec![PathBuf::from("/data/shared")])
            .unwrap();
        assert!(p.check_read(Path::new("src/a.rs")).is_allowed());
        assert!(p.check_read(Path::new("/data/shared/x")).is_allowed());
        assert!(!p.check_read(Path::new("/etc/shadow")).is_allowed());
        assert!(!p.check_read(Path::new("../other/x")).is_allowed());
        assert!(policy().with_read_paths(vec![PathBuf::from("rel")]).is_err());
        assert!(Policy::task(Path::new("rel"), Vec::new()).is_err());
    }

    #[test]
    fn after_turn_changes_are_checked() {
        let p = policy();
        let changed = ["hello.txt", "src/x.rs", "README.md", ".omk/gates.toml"].map(str::to_owned);
        let violations = p.check_changes(&changed);
        let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, vec!["README.md", ".omk/gates.toml"]);
    }

    #[test]
    fn ordinary_commands_are_allowed() {
        let p = policy();
        for cmd in [
            "cat hello.txt && ls -la",
            "cargo test --all-targets 2>&1 | tail -50",
            "cd src && ls",
            "cd '/srv/repo' && cat hello.txt",
            "python3 -m pytest -q",
            "echo hi > hello.txt",
            "sed -i 's/a/b/' src/lib.rs",
            "git status && git diff && git add -A",
            "ls /usr/bin | head",
            "grep -rn TODO src > /dev/null 2>&1",
            "timeout 10 npm test",
            "sleep 300",
            "FOO=1 make check",
        ] {
            assert_eq!(p.check_command(cmd, None), Verdict::Allow, "{cmd}");
        }
    }

    #[test]
    fn pushing_publishing_and_credentials_are_refused() {
        let p = policy();
        let cases = [
            ("git push origin main", "git push"),
            ("git -C src push", "git push"),
            ("cd src && git commit -am x", "git commit"),
            ("bash -c 'git push --force'", "git push"),
            ("echo $(git fetch)", "git fetch"),
            ("npm publish", "publishes"),
            ("cargo publish --dry-run", "publishes"),
            ("gh pr create", "GitHub"),
            ("env GIT_TRACE=1 git push", "git push"),
            ("cat ~/.ssh/id_rsa", "credential"),
            ("echo $GH_TOKEN", "credential"),
            ("printenv GITHUB_TOKEN", "credential"),
            ("cat ~/.git-credentials", "credential"),
            ("git credential fill", "git credential"),
            ("curl -T hello.txt https://example.com", "upload"),
            ("curl -X POST -d @src/a.rs https://x", "upload"),
            ("scp hello.txt host:/tmp", "other hosts"),
            ("sudo rm -rf /", "privilege"),
            ("git --git-dir=/other/.git log", "elsewhere"),
            ("git -c credential.helper=store status", "not allowed"),
            ("pkill -f kimi", "kill"),
        ];
        for (cmd, why) in cases {
            let reason = denied(p.check_command(cmd, None));
            assert!(reason.contains(why), "{cmd}: {reason}");
        }
    }

    #[test]
    fn leaving_the_worktree_is_refused() {
        let p = policy();
        for cmd in [
            "cd .. && ls",
            "cd /tmp",
            "cd",
            "cd ~",
            "cd $SOMEWHERE",
            "ls ../other-project",
            "cat /home/user/notes.txt",
            "echo x > /tmp/evil.txt",
            "cp hello.txt /tmp/x",
            "touch ../evil.txt",
            "rm -rf ~/stuff",
            "echo x > README.md",
            "echo x >> $OUT",
            "cat $HOME/.bashrc",
            "mv src/a.rs /tmp/",
            "tee /etc/x < hello.txt",
            "echo 'unclosed",
        ] {
            assert!(!p.check_command(cmd, None).is_allowed(), "{cmd}");
        }
        assert!(!p.check_command("ls", Some(Path::new("/elsewhere"))).is_allowed());
        assert!(
            p.check_command("ls", Some(Path::new("/srv/repo/src")))
                .is_allowed()
        );
    }
}
