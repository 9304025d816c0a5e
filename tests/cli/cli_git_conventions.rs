//! git-omk behaves like a git command: configuration read as git reads it (`git -c`,
//! `GIT_CONFIG_COUNT`), invalid `omk.*` values refused with exit 2, SHA-256 repositories refused with
//! that reason, shell completions (also through git's own bash completion), man pages that
//! `git omk --help` shows, colour choices and a status line that fits the terminal.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read their environment

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::git_repo::{TestRepo, hermetic};
use support::omk::{goal_id, json};

/// The directory of the git-omk binary, first on `PATH`, so `git omk` runs it.
fn path_with_omk() -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_git-omk"));
    let mut dirs = vec![bin.parent().expect("the binary has a directory").to_owned()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap().into_string().unwrap()
}

/// `git <args>` in the repository, with git-omk on `PATH`.
fn git(repo: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = repo.git_command();
    cmd.env("PATH", path_with_omk()).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn planned_options(out: &Output, repo: &TestRepo) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let id = goal_id(&json(out));
    let show = repo.omk().args(["goal", "show", "--json", &id]).output().unwrap();
    json(&show)["goal"]["options"].clone()
}

#[test]
fn git_dash_c_and_git_config_count_are_honoured() {
    let repo = TestRepo::new();
    let run = ["goal", "plan", "--json", "Fix the off-by-one in slugify"];
    let mut args = vec!["-c", "omk.maxAgents=7", "-c", "omk.agent=exec:true", "omk"];
    args.extend(run);
    let options = planned_options(&git(&repo, &args, &[]), &repo);
    assert_eq!(options["max_agents"], 7, "{options}");
    assert_eq!(options["agent"], "exec:true", "{options}");

    let env = [
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "omk.maxAgents"),
        ("GIT_CONFIG_VALUE_0", "5"),
    ];
    let mut args = vec!["omk"];
    args.extend(run);
    let options = planned_options(&git(&repo, &args, &env), &repo);
    assert_eq!(options["max_agents"], 5, "{options}");

    // `git -c` wins over the repository's configuration, as in git.
    repo.git(&["config", "omk.maxAgents", "3"]);
    let mut args = vec!["-c", "omk.maxAgents=9", "omk"];
    args.extend(run);
    let options = planned_options(&git(&repo, &args, &[]), &repo);
    assert_eq!(options["max_agents"], 9, "{options}");
}

#[test]
fn an_invalid_omk_value_is_exit_2_naming_the_key_and_what_is_accepted() {
    let repo = TestRepo::new();
    let refs_before = repo.goal_refs();
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["-c", "omk.maxAgents=banana"],
            &["omk.maxAgents", "banana", "from 1 to 64"],
        ),
        (
            &["-c", "omk.agent=gpt"],
            &["omk.agent", "gpt", "kimi", "exec:<command>"],
        ),
        (
            &["-c", "omk.autoMaintenance=maybe"],
            &["omk.autoMaintenance", "true or false"],
        ),
        (
            &["-c", "omk.turnTimeout=soon"],
            &["omk.turnTimeout", "a duration"],
        ),
    ];
    for (config, needles) in cases {
        for command in [
            &["goal", "plan", "Fix the off-by-one in slugify"][..],
            &["goal", "list"],
        ] {
            let mut args = config.to_vec();
            args.push("omk");
            args.extend(command);
            let out = git(&repo, &args, &[]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            for needle in needles {
                assert!(err.contains(needle), "{args:?}: `{needle}` not in {err}");
            }
        }
    }
    let env = [
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "omk.maxAgents"),
        ("GIT_CONFIG_VALUE_0", "0"),
    ];
    let out = git(&repo, &["omk", "goal", "list"], &env);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("omk.maxAgents"), "{}", stderr(&out));
    assert_eq!(repo.goal_refs(), refs_before, "nothing was written");
}

#[test]
fn a_sha256_repository_is_refused_with_that_reason() {
    let repo = TestRepo::new();
    let sha256 = repo.home.join("sha256");
    repo.git(&["init", "-q", "--object-format=sha256", sha256.to_str().unwrap()]);
    let out = repo
        .omk_in(&sha256)
        .args(["goal", "plan", "Fix the off-by-one in slugify"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("SHA-256"), "{err}");
    assert!(!err.contains("not inside a git repository"), "{err}");
    assert!(!has_goal_refs(&sha256));
}

fn has_goal_refs(git_dir_parent: &Path) -> bool {
    git_dir_parent.join(".git/refs/omk").exists()
}

/// git's own bash completion script, where this machine has one.
fn git_bash_completion() -> Option<PathBuf> {
    [
        "/usr/share/bash-completion/completions/git",
        "/usr/local/share/bash-completion/completions/git",
        "/etc/bash_completion.d/git",
        "/opt/homebrew/etc/bash_completion.d/git-completion.bash",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// What bash completes for `line` (the cursor at its end) with git's completion and git-omk's loaded.
fn bash_complete(repo: &TestRepo, script: &Path, git_completion: &Path, line: &str) -> Vec<String> {
    let program = format!(
        r#"source '{git}'
source '{omk}'
COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
if [[ "${{COMP_WORDS[0]}}" == git ]]; then
  __git_wrap__git_main git "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
else
  _git_omk_cli git-omk "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
fi
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        git = git_completion.display(),
        omk = script.display(),
    );
    let mut cmd = Command::new("bash");
    hermetic(&mut cmd, &repo.home);
    let out = cmd
        .current_dir(&repo.path)
        .env("PATH", path_with_omk())
        .args(["--norc", "-c", &program])
        .output()
        .unwrap();
    assert!(out.status.success(), "{line}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn completion_script(repo: &TestRepo, shell: &str) -> String {
    let out = repo.omk().args(["completions", shell]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Run `shell -n script` when that shell is installed (a syntax check); say so loudly when it is not.
fn syntax_checked(shell: &str, script: &Path) {
    match Command::new(shell).arg("-n").arg(script).output() {
        Ok(out) => assert!(out.status.success(), "{shell} -n: {}", stderr(&out)),
        Err(_) => eprintln!("NOTE: {shell} is not installed; its completion script was not syntax-checked"),
    }
}

#[test]
fn completions_for_bash_zsh_and_fish_and_git_omk_tab_through_git() {
    let repo = TestRepo::new();
    let bash = repo.home.join("git-omk.bash");
    std::fs::write(&bash, completion_script(&repo, "bash")).unwrap();
    syntax_checked("bash", &bash);

    let zsh = completion_script(&repo, "zsh");
    assert!(zsh.starts_with("#compdef git-omk"), "{}", &zsh[..80]);
    // zsh's git completion calls `_git-omk` for `git omk …`.
    assert!(zsh.contains("_git-omk()"), "zsh defines _git-omk");
    let zsh_file = repo.home.join("_git-omk");
    std::fs::write(&zsh_file, zsh).unwrap();
    syntax_checked("zsh", &zsh_file);

    let fish = completion_script(&repo, "fish");
    assert!(fish.contains("complete -c git-omk"), "fish completes git-omk");
    assert!(fish.contains("-a \"goal\""), "fish knows the goal command");
    let fish_file = repo.home.join("git-omk.fish");
    std::fs::write(&fish_file, fish).unwrap();
    syntax_checked("fish", &fish_file);

    let bad = repo.omk().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));

    let Some(git_completion) = git_bash_completion() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs git's bash completion (the git package ships it)"
        );
        eprintln!("NOTE: git's bash completion is not installed here: `git omk <TAB>` was not tried");
        return;
    };
    let complete = |line: &str| bash_complete(&repo, &bash, &git_completion, line);
    assert!(
        complete("git om").contains(&"omk".to_owned()),
        "git lists git-omk"
    );
    let top = complete("git omk ");
    for word in ["goal", "doctor", "completions", "man", "--color"] {
        assert!(
            top.contains(&word.to_owned()),
            "`git omk <TAB>` offers {word}: {top:?}"
        );
    }
    let mut goal_r = complete("git omk goal r");
    goal_r.sort();
    assert_eq!(goal_r, ["reject", "release", "replay", "resume", "review", "run"]);
    assert_eq!(complete("git -C . omk goal run --max-a"), ["--max-agents"]);
    assert_eq!(complete("git omk --color n"), ["never"]);
    assert_eq!(complete("git-omk goal pro"), ["proof"]);
}

#[test]
fn man_pages_are_installed_and_shown_by_git_omk_help() {
    let repo = TestRepo::new();
    let root = repo.home.join("man");
    let out = repo
        .omk()
        .args(["man", "--install", root.join("man1").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for page in [
        "git-omk.1",
        "git-omk-goal.1",
        "git-omk-goal-run.1",
        "git-omk-doctor.1",
    ] {
        assert!(root.join("man1").join(page).is_file(), "{page}");
    }
    let manpath = root.to_str().unwrap();
    let env = [
        ("MANPATH", manpath),
        ("MANPAGER", "cat"),
        ("PAGER", "cat"),
        ("MANWIDTH", "80"),
    ];
    for args in [&["omk", "--help"][..], &["help", "omk"]] {
        let out = git(&repo, args, &env);
        let page = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "git {args:?}: {}", stderr(&out));
        assert!(page.contains("NAME"), "git {args:?}: {page}");
        assert!(page.contains("git-omk"), "git {args:?}: {page}");
        assert!(page.contains("--color"), "git {args:?}: {page}");
    }
    let out = Command::new("man")
        .args(["git-omk-goal-run"])
        .env("MANPATH", manpath)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("--until-ready"));

    // The default directory is under the user's data directory.
    let out = repo.omk().args(["man", "--install"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(repo.home.join(".local/share/man/man1/git-omk.1").is_file());
    // Without --install the main page is printed.
    let out = repo.omk().arg("man").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(".ie"),
        "a roff page"
    );
}

/// Run `git-omk <args>` on a pseudo-terminal of `cols` columns (util-linux `script`), in the
/// repository, with `env`; returns everything the terminal received.
#[cfg(target_os = "linux")]
fn on_a_terminal(repo: &TestRepo, cols: u16, args: &str, env: &[(&str, &str)]) -> Vec<u8> {
    let bin = env!("CARGO_BIN_EXE_git-omk");
    let line = format!("stty cols {cols} rows 30; exec '{bin}' {args}");
    let mut cmd = Command::new("script");
    hermetic(&mut cmd, &repo.home);
    cmd.current_dir(&repo.path)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .args(["-qec", &line, "/dev/null"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("util-linux script runs");
    out.stdout
}

/// A goal whose run shows a few events and a long status line: an exec agent that changes nothing.
#[cfg(target_os = "linux")]
const RUN: &str = "goal run 'Fix the off-by-one in slugify' --until-ready --no-llm-planner \
                   --agent 'exec:echo looking at slugify'";

/// A small terminal: rows of characters, the cursor, autowrap at the last column, `\r`, `\n`, and the
/// CSI sequences progress output uses (erase line `K`, cursor up `A`, styles `m`, ignored).
#[cfg(target_os = "linux")]
struct Screen {
    cols: usize,
    rows: Vec<Vec<char>>,
    row: usize,
    col: usize,
    pending_wrap: bool,
}

#[cfg(target_os = "linux")]
impl Screen {
    fn new(cols: usize) -> Screen {
        Screen {
            cols,
            rows: vec![Vec::new()],
            row: 0,
            col: 0,
            pending_wrap: false,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => (self.col, self.pending_wrap) = (0, false),
                '\n' => self.down(),
                '\x1b' => {
                    assert_eq!(chars.next(), Some('['), "only CSI sequences are expected");
                    let mut params = String::new();
                    let end = loop {
                        let c = chars.next().expect("a complete sequence");
                        if c.is_ascii_alphabetic() {
                            break c;
                        }
                        params.push(c);
                    };
                    let n: usize = params.parse().unwrap_or(0);
                    match end {
                        'K' if n == 2 => self.rows[self.row].clear(),
                        'K' => self.rows[self.row].truncate(self.col),
                        'A' => self.row = self.row.saturating_sub(n.max(1)),
                        'm' => {}
                        other => panic!("unexpected escape sequence ending in {other}"),
                    }
                    self.pending_wrap = false;
                }
                c => self.put(c),
            }
        }
    }

    fn down(&mut self) {
        self.row += 1;
        self.pending_wrap = false;
        if self.rows.len() <= self.row {
            self.rows.push(Vec::new());
        }
    }

    fn put(&mut self, c: char) {
        if self.pending_wrap {
            self.col = 0;
            self.down();
        }
        let row = &mut self.rows[self.row];
        if row.len() <= self.col {
            row.resize(self.col + 1, ' ');
        }
        row[self.col] = c;
        self.col += 1;
        if self.col == self.cols {
            self.col -= 1;
            self.pending_wrap = true;
        }
    }

    fn lines(&self) -> Vec<String> {
        self.rows
            .iter()
            .map(|r| r.iter().collect::<String>().trim_end().to_owned())
            .collect()
    }
}

#[cfg(target_os = "linux")]
fn is_status_line(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('[') && line.contains(" · ") && line.contains("] tasks")
}

#[cfg(target_os = "linux")]
#[test]
fn the_status_line_fits_the_terminal_and_leaves_no_stale_rows() {
    let repo = TestRepo::new();
    let cols = 60;
    let out = on_a_terminal(&repo, cols, RUN, &[]);
    assert!(out.contains(&0x1b), "a terminal gets a live status line");
    let mut screen = Screen::new(cols as usize);
    screen.feed(&out);
    let lines = screen.lines();
    let statuses: Vec<&String> = lines.iter().filter(|l| is_status_line(l)).collect();
    assert_eq!(
        statuses.len(),
        1,
        "exactly one status row remains:\n{}",
        lines.join("\n")
    );
    assert!(statuses[0].chars().count() <= cols as usize);
    assert!(
        lines.iter().any(|l| l.contains("phase execution")),
        "{}",
        lines.join("\n")
    );
    // Every status line drawn (each is dimmed) fits the width.
    let text = String::from_utf8_lossy(&out);
    for drawn in text.split("\x1b[2m").skip(1) {
        let status = drawn.split("\x1b[0m").next().unwrap();
        assert!(status.chars().count() <= cols as usize, "too wide: {status}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn no_escape_bytes_with_no_color_term_dumb_or_color_never_on_a_terminal() {
    let repo = TestRepo::new();
    let cases: [(&str, &[(&str, &str)]); 3] = [
        ("", &[("NO_COLOR", "1")]),
        ("", &[("TERM", "dumb")]),
        ("--color never ", &[]),
    ];
    for (flag, env) in cases {
        for args in [
            format!("{flag}{RUN}"),
            format!("{flag}--help"),
            format!("{flag}goal plan --bogus"),
        ] {
            let out = on_a_terminal(&repo, 80, &args, env);
            let text = String::from_utf8_lossy(&out);
            assert!(!out.contains(&0x1b), "{args} {env:?}: escape bytes in {text:?}");
            assert!(!text.trim().is_empty(), "{args}: it printed something");
        }
    }
    let out = on_a_terminal(&repo, 80, RUN, &[("NO_COLOR", "1")]);
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("phase execution"), "{text}");
    assert!(
        text.lines().any(is_status_line),
        "the status is printed as plain lines: {text}"
    );
    // Colours on request, even through a pipe.
    let piped = repo
        .omk()
        .args(["--color", "always", "goal", "plan", "--bogus"])
        .output()
        .unwrap();
    assert!(
        piped.stderr.contains(&0x1b),
        "--color always colours clap's error"
    );
}
