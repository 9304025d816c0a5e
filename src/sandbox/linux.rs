//! Linux: bubblewrap (`bwrap`), which builds the walls with mount, PID and user namespaces and needs no
//! privileges where unprivileged user namespaces are allowed. Probed once: the program, its version,
//! and one trial run that proves namespaces work here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{Mechanism, Unavailable, find_on_path, scopes};
use crate::model::sandbox::{Walls, bwrap_args};
use crate::{process, settings};

/// What to do when bubblewrap is missing or cannot work.
const FIX_INSTALL: &str = "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install bubblewrap`), \
     or run agents unconfined with `--no-sandbox` or `git config omk.sandbox off`";
const FIX_USERNS: &str = "allow unprivileged user namespaces (`sysctl kernel.unprivileged_userns_clone=1`; on Ubuntu 24.04 and later \
     an AppArmor profile that lets bwrap create them), or run agents unconfined with `--no-sandbox` or `git config omk.sandbox off`";

/// Find bubblewrap (`OMK_BWRAP`, else `bwrap` on `PATH`) and prove it can confine a process here.
pub fn probe() -> Result<Mechanism, Unavailable> {
    let program = match settings::env("OMK_BWRAP") {
        Some(p) => PathBuf::from(p),
        None => find_on_path(
            Path::new("bwrap"),
            &settings::env("PATH").unwrap_or_default(),
            Path::new("/"),
        )
        .ok_or_else(|| Unavailable {
            reason: "bubblewrap (`bwrap`) is not installed".to_owned(),
            fix: FIX_INSTALL.to_owned(),
        })?,
    };
    let version = process::run(program.as_os_str(), &["--version".into()])
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .ok_or_else(|| Unavailable {
            reason: format!("`{} --version` did not run", program.display()),
            fix: FIX_INSTALL.to_owned(),
        })?;
    trial(&program)?;
    let scoped = scoped(&program);
    let name = match scoped {
        true => format!("{version} + Landlock scopes"),
        false => version,
    };
    Ok(Mechanism {
        name,
        program,
        scoped,
    })
}

/// What the child applies to itself before it executes bubblewrap: the Landlock scopes, when the
/// probe found them working.
pub fn restriction(mechanism: &Mechanism) -> Option<process::Restriction> {
    mechanism
        .scoped
        .then_some(scopes::restrict_self as process::Restriction)
}

/// The Landlock scopes (no abstract Unix socket, no signal outside the sandbox), when the kernel has
/// them and bubblewrap still confines with them applied (a set-uid bubblewrap does not run under
/// `no_new_privs`); else none, and abstract sockets stay reachable (docs/security.md).
fn scoped(program: &Path) -> bool {
    scopes::abi() >= scopes::SCOPES_ABI
        && process::run_restricted(program.as_os_str(), &trial_args(), scopes::restrict_self)
            .is_ok_and(|out| out.status.success())
}

/// Run `true` confined the way every process will be, so a machine without user namespaces is found
/// before any agent starts.
fn trial(program: &Path) -> Result<(), Unavailable> {
    let out = process::run(program.as_os_str(), &trial_args()).map_err(|e| Unavailable {
        reason: format!("{} could not run: {e}", program.display()),
        fix: FIX_INSTALL.to_owned(),
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(Unavailable {
        reason: format!(
            "bubblewrap cannot create its namespaces here ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        fix: FIX_USERNS.to_owned(),
    })
}

/// bubblewrap's arguments for running `true` confined.
fn trial_args() -> Vec<OsString> {
    let truth = find_on_path(
        Path::new("true"),
        &settings::env("PATH").unwrap_or_default(),
        Path::new("/"),
    )
    .unwrap_or_else(|| PathBuf::from("/bin/true"));
    [
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--unshare-user",
        "--unshare-pid",
        "--disable-userns",
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--",
    ]
    .iter()
    .map(OsString::from)
    .chain([truth.into_os_string()])
    .collect()
}

/// bubblewrap's arguments for `walls` (before `--` and the command).
pub fn arguments(walls: &Walls) -> Vec<OsString> {
    bwrap_args(walls)
}
