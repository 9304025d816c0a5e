//! `git omk completions` and `git omk man`: shell completion scripts (clap_complete) and man pages
//! (clap_mangen), both generated from the clap types so they never drift from the real command line.
//!
//! Owns the bash hook into git's own completion (`_git_omk`, which git-completion.bash calls for
//! `git omk <TAB>`) and the names of the pages (`git-omk.1`, `git-omk-goal-run.1`, …), which are what
//! `git help omk` (and so `git omk --help`) asks `man` for.

use std::io;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell as Generator;

use super::args::{Cli, CompletionsArgs, ManArgs, Shell};
use super::error::CliError;
use super::render::{emit, note};
use crate::settings;

/// The command's name as a program (`git-omk`), which completion scripts register.
const PROGRAM: &str = "git-omk";

/// The name the bash script is generated under: clap_complete's bash generator names its inner cases
/// inconsistently for a program name with `-`, so it writes for this name and the script then
/// registers its function for `git-omk`.
const BASH_NAME: &str = "git_omk_cli";

/// Bash glue for git's own completion: git-completion.bash completes `git omk …` by calling `_git_omk`
/// with `words`/`cword` of the whole `git` command line; this hands the words after `omk` to the
/// generated `_git_omk_cli` function as if `git-omk …` had been typed.
const BASH_GIT_HOOK: &str = r#"
# `git omk <TAB>`: git's completion (git-completion.bash) calls _git_omk.
_git_omk() {
    local i=1
    while [ "$i" -lt "$cword" ] && [ "${words[i]}" != omk ]; do
        i=$((i + 1))
    done
    local -a COMP_WORDS=(git-omk "${words[@]:i+1}")
    local COMP_CWORD=$((cword - i))
    local COMP_LINE="${COMP_WORDS[*]}"
    local COMP_POINT=${#COMP_LINE}
    _git_omk_cli git-omk "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
}
"#;

/// Print the completion script of `args.shell`.
pub fn completions(args: CompletionsArgs) -> Result<i32, CliError> {
    emit(&completion_script(args.shell))?;
    Ok(0)
}

/// The completion script for `shell`.
pub fn completion_script(shell: Shell) -> String {
    let generator = match shell {
        Shell::Bash => Generator::Bash,
        Shell::Zsh => Generator::Zsh,
        Shell::Fish => Generator::Fish,
    };
    let name = if shell == Shell::Bash { BASH_NAME } else { PROGRAM };
    let mut buf = Vec::new();
    let mut command = Cli::command().bin_name(name);
    clap_complete::generate(generator, &mut command, name, &mut buf);
    let mut script = String::from_utf8_lossy(&buf).into_owned();
    if shell == Shell::Bash {
        script = script
            .lines()
            .map(|line| match line.trim_start().starts_with("complete -F") {
                true => line.replace(&format!(" {BASH_NAME}"), &format!(" {PROGRAM}")),
                false => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        script.push('\n');
        script.push_str(BASH_GIT_HOOK);
    }
    script
}

/// Print the main man page, or install every page.
pub fn man(args: ManArgs) -> Result<i32, CliError> {
    let Some(dir) = args.install else {
        let (_, page) = pages()?.into_iter().next().expect("the main page comes first");
        emit(&String::from_utf8_lossy(&page))?;
        return Ok(0);
    };
    let dir = match dir.or_else(settings::user_man_dir) {
        Some(dir) => dir,
        None => {
            return Err(CliError::Usage(
                "no home directory to install man pages into: give a directory (`git omk man --install DIR`)"
                    .to_owned(),
            ));
        }
    };
    let written = install(&dir)?;
    emit(&format!(
        "wrote {} man page(s) into {}\n",
        written.len(),
        dir.display()
    ))?;
    if !on_manpath(&dir) {
        note(&format!(
            "hint: if `git omk --help` does not find them, add {} to MANPATH\n",
            dir.parent().unwrap_or(&dir).display()
        ));
    }
    Ok(0)
}

/// Write every page into `dir` (created when missing); returns the files written.
pub fn install(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", dir.display())))?;
    let mut written = Vec::new();
    for (name, page) in pages()? {
        let path = dir.join(name);
        std::fs::write(&path, page)
            .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}

/// Every page: `git-omk.1` first, then one per subcommand (`git-omk-goal.1`, `git-omk-goal-run.1`, …).
fn pages() -> Result<Vec<(String, Vec<u8>)>, CliError> {
    let mut cmd = Cli::command()
        .name(PROGRAM)
        .bin_name(PROGRAM)
        .disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    collect(&cmd, &mut out)?;
    Ok(out)
}

fn collect(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone())
        .manual("git-omk manual")
        .source(format!("git-omk {}", env!("CARGO_PKG_VERSION")));
    let mut page = Vec::new();
    man.render(&mut page)?;
    out.push((man.get_filename(), page));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, out)?;
    }
    Ok(())
}

/// Whether `man` would look in `dir` already (its parent is on `MANPATH`); without `MANPATH`, man
/// derives its path from `PATH`, which is assumed to cover the default directory.
fn on_manpath(dir: &Path) -> bool {
    let Some(root) = dir.parent() else {
        return false;
    };
    match settings::env("MANPATH") {
        Some(manpath) => std::env::split_paths(&manpath).any(|p| p == root),
        None => Some(dir.to_owned()) == settings::user_man_dir(),
    }
}
