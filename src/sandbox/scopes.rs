//! Landlock scopes (Linux 6.12 and later, Landlock ABI 6): a process that restricts itself before it
//! starts bubblewrap can no longer connect to abstract Unix sockets (`@name`, which no mount can hide:
//! they live in the network namespace the sandbox shares) nor signal processes, created outside its
//! domain. Everything it starts inherits the restriction; it needs no file-system rules, so it does not
//! stop bubblewrap from building its mounts.
//!
//! The system calls are made directly (the kernel's interface is three calls and one structure) so
//! that the restriction can be applied in the forked child right before it executes bubblewrap, where
//! only async-signal-safe calls are allowed.

use std::io;

use nix::libc;

/// The first Landlock ABI with scopes.
pub const SCOPES_ABI: i64 = 6;

/// `LANDLOCK_CREATE_RULESET_VERSION`: ask for the ABI instead of creating a ruleset.
const CREATE_RULESET_VERSION: u32 = 1;
/// `LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET`.
const SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1;
/// `LANDLOCK_SCOPE_SIGNAL`.
const SCOPE_SIGNAL: u64 = 2;

/// `struct landlock_ruleset_attr` as of ABI 6.
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

/// The Landlock ABI of the running kernel (0 when it has none, or Landlock is off).
pub fn abi() -> i64 {
    // SAFETY: with a null attribute, size 0 and the version flag the kernel reads no memory and only
    // returns its ABI (or an error).
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    abi.max(0)
}

/// Restrict the calling process, and everything it will start, from connecting to abstract Unix
/// sockets and signalling processes outside its new domain. Sets `no_new_privs` (Landlock requires
/// it). Only system calls, no allocation: safe between fork and exec.
pub fn restrict_self() -> io::Result<()> {
    let attr = RulesetAttr {
        handled_access_fs: 0,
        handled_access_net: 0,
        scoped: SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL,
    };
    // SAFETY: the kernel reads `attr` (valid for its size, on this stack frame) and returns a new
    // descriptor or an error.
    let ruleset = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr,
            std::mem::size_of::<RulesetAttr>(),
            0u32,
        )
    };
    let ruleset = libc::c_int::try_from(ruleset).map_err(|_| io::Error::last_os_error())?;
    if ruleset < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain system calls on integers; the descriptor is ours and closed once.
    let restricted = unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            -1
        } else {
            libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32)
        }
    };
    let error = io::Error::last_os_error();
    // SAFETY: closes the descriptor created above, nothing else holds it.
    unsafe { libc::close(ruleset) };
    if restricted != 0 {
        return Err(error);
    }
    Ok(())
}
