//! The command line: clap types, thin commands, renderers, exit codes. The only module that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the one module that prints

pub mod args;
pub mod ci;
pub mod commands;
pub mod deliver;
pub mod demo;
pub mod doctor;
pub mod drive;
pub mod error;
pub mod json;
pub mod list;
pub mod log;
pub mod manual;
pub mod panic;
pub mod progress;
pub mod render;
pub mod sharing;
pub mod text;
pub mod watch;

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches};

use crate::settings;
use args::{Cli, ColorWhen, Command};
use error::{CliError, EXIT_FAILED};
use render::note;

/// Parse the command line, run the command, and return the process exit code.
pub fn main() -> i32 {
    let cli = match parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    apply_color(honour_dumb(cli.color));
    init_tracing(cli.verbose);
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            note(&format!("git omk: error: {e}\n"));
            e.exit_code()
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32, CliError> {
    if cli.no_sandbox {
        settings::turn_sandbox_off();
    }
    let dir = match cli.dir {
        Some(d) => d,
        None => settings::current_dir()
            .map_err(|e| CliError::Usage(format!("cannot read the current directory: {e}")))?,
    };
    match cli.command {
        Command::Goal(command) => commands::goal(&dir, command, cli.verbose > 0),
        Command::Gc(args) => commands::gc(&dir, args.json),
        Command::Doctor(args) => doctor::doctor(&dir, args),
        Command::Remote(command) => sharing::remote(&dir, command),
        Command::Sync(args) => sharing::sync(&dir, args),
        Command::Completions(args) => manual::completions(args),
        Command::Man(args) => manual::man(args),
        Command::Demo(args) => demo::demo(&dir, args, cli.verbose > 0),
        Command::Ci(command) => ci::ci(&dir, command),
    }
}

/// Parse the command line; a `--color` given on it applies to clap's own help and errors too.
fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    if let Some(when) = color_in(&args).map(honour_dumb).or_else(honour_dumb_auto) {
        command = command.color(match when {
            ColorWhen::Auto => clap::ColorChoice::Auto,
            ColorWhen::Always => clap::ColorChoice::Always,
            ColorWhen::Never => clap::ColorChoice::Never,
        });
    }
    let mut matches = command.try_get_matches_from(args)?;
    Cli::from_arg_matches_mut(&mut matches)
}

/// The value of a `--color` option before `--`, if any (`--color never` or `--color=never`).
fn color_in(args: &[OsString]) -> Option<ColorWhen> {
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map_while(|a| a.to_str())
        .take_while(|a| *a != "--")
        .collect();
    words.iter().enumerate().rev().find_map(|(i, word)| {
        let value = match word.strip_prefix("--color") {
            Some("") => words.get(i + 1).copied(),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        }?;
        clap::ValueEnum::from_str(value, false).ok()
    })
}

/// `auto` on a `TERM=dumb` terminal is `never`, whatever else the environment says (the terminal
/// detection of the styling crates turns colours on whenever `CI` is set, dumb terminal or not).
fn honour_dumb(when: ColorWhen) -> ColorWhen {
    match when {
        ColorWhen::Auto if settings::dumb_terminal() => ColorWhen::Never,
        other => other,
    }
}

/// Without `--color`: `never` on a dumb terminal, else clap's own choice.
fn honour_dumb_auto() -> Option<ColorWhen> {
    settings::dumb_terminal().then_some(ColorWhen::Never)
}

/// Make `--color` the choice of every styled stream (the auto choice reads NO_COLOR, CLICOLOR_FORCE,
/// TERM and whether the stream is a terminal).
fn apply_color(when: ColorWhen) {
    let choice = match when {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = settings::env("OMK_LOG").unwrap_or_else(|| default.to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Exit code for failures outside any command (kept for symmetry with `error`).
pub const EXIT_INFRA: i32 = EXIT_FAILED;
