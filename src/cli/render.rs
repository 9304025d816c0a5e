//! Helpers shared by the renderers: ages, short ids, budget lines, and writing to stdout so that a
//! closed pipe (`git omk goal list | head -1`) is not an error.

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use crate::model::budget::{Limits, Usage, Usd, format_secs};

/// Write `text` to stdout. A closed pipe ends output quietly; other errors are returned.
pub fn emit(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Write `text` to stderr (diagnostics and hints), ignoring a closed stream.
pub fn note(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
}

/// How long ago, compactly: `45s`, `3m`, `2h`, `5d`.
pub fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

pub use crate::model::ids::short;

/// `time 1h of 8h · tokens 1200 of 200000 · usd $0.10 (no limit)`.
pub fn budget_line(limits: &Limits, usage: &Usage) -> String {
    let time = of(format_secs(usage.active_secs), limits.time_secs.map(format_secs));
    let tokens = of(tokens_text(usage), limits.tokens.map(|t| t.to_string()));
    let usd = of(
        usage.usd_micros.to_string(),
        limits.usd_micros.map(|u: Usd| u.to_string()),
    );
    format!("time {time} · tokens {tokens} · usd {usd}")
}

fn tokens_text(usage: &Usage) -> String {
    if usage.tokens_estimated > 0 {
        format!("{} ({} estimated)", usage.tokens, usage.tokens_estimated)
    } else {
        usage.tokens.to_string()
    }
}

fn of(spent: String, limit: Option<String>) -> String {
    match limit {
        Some(l) => format!("{spent} of {l}"),
        None => format!("{spent} (no limit)"),
    }
}
