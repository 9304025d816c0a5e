//! The `git-omk` binary: run the CLI and turn its outcome into an exit code. Nothing else lives here.

fn main() {
    std::process::exit(git_omk::cli::main());
}
