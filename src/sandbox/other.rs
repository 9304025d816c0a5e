//! Other systems: no confinement mechanism. Agents and gates do not start unless the user turns the
//! sandbox off.

use std::ffi::OsString;

use super::{Mechanism, Unavailable};
use crate::model::sandbox::Walls;

/// No mechanism yet.
pub fn probe() -> Result<Mechanism, Unavailable> {
    Err(Unavailable {
        reason: "this operating system has no confinement mechanism git omk supports".to_owned(),
        fix: "run agents unconfined with `--no-sandbox` or `git config omk.sandbox off`".to_owned(),
    })
}

/// Never used: [`probe`] never succeeds.
pub fn arguments(_walls: &Walls) -> Vec<OsString> {
    Vec::new()
}

/// Never used: [`probe`] never succeeds.
pub fn restriction(_mechanism: &Mechanism) -> Option<crate::process::Restriction> {
    None
}
