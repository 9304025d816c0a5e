//! The `git-omk` binary: run the CLI and turn its outcome into an exit code. Nothing else lives here.
//! A panic is reported by the CLI's panic hook and exits with `EXIT_INTERNAL` (70).

use git_omk::cli::{self, error::EXIT_INTERNAL};

fn main() {
    cli::panic::install_hook();
    let code = std::panic::catch_unwind(cli::main).unwrap_or(EXIT_INTERNAL);
    std::process::exit(code);
}
