//! What a panic looks like to the person at the command line: one short message naming what broke,
//! that it is a bug and where to report it, then exit code 70 (`EXIT_INTERNAL`), never Rust's 101 with
//! a backtrace hint. Owns the panic hook only; `main` catches the unwind and picks the exit code.

use std::panic::PanicHookInfo;

use crate::settings;

/// Where bugs are reported.
pub const REPORT_TO: &str = "the git-omk issue tracker";

/// Replace the default panic message with [`message`]; with `RUST_BACKTRACE` set, the default report
/// (and its backtrace) follows it.
pub fn install_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        eprintln!("{}", message(info));
        if settings::env("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            default(info);
        }
    }));
}

/// The short report of a panic.
pub fn message(info: &PanicHookInfo<'_>) -> String {
    let what = info
        .payload()
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    let place = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    format!(
        "git omk: internal error: {what}{place}\n\
         This is a bug in git-omk {}; please report it to {REPORT_TO} with the command you ran \
         (RUST_BACKTRACE=1 adds a backtrace). Goals are changed by atomic commits only: nothing \
         recorded was lost.",
        env!("CARGO_PKG_VERSION")
    )
}
