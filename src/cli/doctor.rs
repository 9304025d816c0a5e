//! `git omk doctor`: run the check, print the report (text or `--json`). Exit 0 when goals can run
//! here, 1 when a required piece is missing or the configuration is invalid.

use std::path::Path;

use super::args::DoctorArgs;
use super::error::CliError;
use super::json::document;
use super::render::emit;
use crate::ops::doctor::{DoctorReport, doctor as examine};

/// Print what this machine offers git-omk; returns the exit code (0 healthy, 1 not).
pub fn doctor(dir: &Path, args: DoctorArgs) -> Result<i32, CliError> {
    let report = examine(dir);
    let text = if args.json {
        document(&report)
    } else {
        text(&report)
    };
    emit(&text)?;
    Ok(if report.healthy() { 0 } else { 1 })
}

fn text(r: &DoctorReport) -> String {
    let mut out = String::new();
    let git = r.git.as_deref().unwrap_or("not found");
    out.push_str(&format!("git       {git}\n"));
    if let Some(repo) = &r.repository {
        out.push_str(&format!("repo      {}\n", repo.display()));
    }
    out.push_str(&format!("agent     {} (configured)\n", r.agent));
    for role in r.roles.iter().filter(|role| role.agent != r.agent) {
        out.push_str(&format!("role      {}: {}\n", role.role, role.agent));
    }
    for a in &r.agents {
        let version = a.version.as_deref().unwrap_or("unknown version");
        out.push_str(&format!(
            "found     {}: {} {version}, {} ({})\n",
            a.spec,
            a.engine,
            a.protocol,
            a.path.display()
        ));
    }
    let token = r.github_token_source.as_deref().unwrap_or("none");
    out.push_str(&format!("github    token from {token}\n"));
    for p in &r.problems {
        out.push_str(&format!("problem   {p}\n"));
    }
    for m in &r.missing {
        let optional = if m.required { "" } else { " (optional)" };
        out.push_str(&format!("missing   {}{optional}: {}\n", m.what, m.hint));
    }
    if r.healthy() {
        out.push_str("ok        everything git-omk needs is here\n");
    }
    out
}
