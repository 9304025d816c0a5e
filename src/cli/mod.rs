//! The command line: clap types, thin commands, renderers, exit codes. The only module that prints.

pub mod args;
pub mod commands;
pub mod deliver;
pub mod doctor;
pub mod drive;
pub mod error;
pub mod json;
pub mod list;
pub mod progress;
pub mod render;
pub mod sharing;
pub mod text;

use clap::Parser;

use crate::settings;
use args::{Cli, Command};
use error::{CliError, EXIT_FAILED};
use render::note;

/// Parse the command line, run the command, and return the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
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
    }
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
