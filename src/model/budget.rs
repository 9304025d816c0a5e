//! Budgets: limits, usage and additions for wall time, tokens and USD (DESIGN §3).
//!
//! Owns parsing of budget values (a zero, negative or malformed budget is unrepresentable), the arithmetic
//! of spending and raising limits, and the exhaustion check. USD is kept in integer micro-dollars so sums
//! never drift. Pure: the caller measures time and usage.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A budget value that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// Not a duration like `90m`, `8h` or `2d`.
    #[error("`{0}` is not a duration: use a positive number with a unit, like 90s, 30m, 8h or 2d")]
    Duration(String),
    /// Durations must be positive.
    #[error("the time budget must be more than zero (got `{0}`)")]
    ZeroDuration(String),
    /// Not a positive whole number of tokens.
    #[error("`{0}` is not a token count: use a positive whole number, like 200000")]
    Tokens(String),
    /// Not a positive amount of dollars.
    #[error("`{0}` is not a USD amount: use a positive number with at most 6 decimals, like 2.50")]
    Usd(String),
    /// `budget-add` without anything to add.
    #[error("nothing to add: give at least one of --time, --tokens or --usd")]
    NothingToAdd,
}

/// Parse a time budget: a positive duration with units s, m, h or d (combinations like `1h30m` work).
pub fn parse_duration(text: &str) -> Result<Duration, BudgetError> {
    let trimmed = text.trim();
    let units_ok = trimmed.chars().all(|c| c.is_ascii_digit() || "smhd ".contains(c));
    if trimmed.is_empty() || !units_ok || !trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(BudgetError::Duration(text.to_owned()));
    }
    let duration = humantime::parse_duration(trimmed).map_err(|_| BudgetError::Duration(text.to_owned()))?;
    if duration.is_zero() {
        return Err(BudgetError::ZeroDuration(text.to_owned()));
    }
    Ok(duration)
}

/// Parse a positive token count.
pub fn parse_tokens(text: &str) -> Result<u64, BudgetError> {
    match text.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(BudgetError::Tokens(text.to_owned())),
    }
}

/// Render seconds the way users type durations (`8h`, `1h30m`, `45s`).
pub fn format_secs(secs: u64) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (value, unit) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    out
}

/// An amount of US dollars in micro-dollars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Usd(pub u64);

impl Usd {
    /// Micro-dollars per dollar.
    pub const MICROS: u64 = 1_000_000;

    /// Parse a positive decimal amount such as `2`, `2.5` or `0.000001`.
    pub fn parse_positive(text: &str) -> Result<Usd, BudgetError> {
        let err = || BudgetError::Usd(text.to_owned());
        let t = text.trim();
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || frac.len() > 6 {
            return Err(err());
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| err())?
        };
        let frac_micros: u64 = format!("{frac:0<6}").parse().map_err(|_| err())?;
        let total = whole
            .checked_mul(Self::MICROS)
            .and_then(|w| w.checked_add(frac_micros))
            .ok_or_else(err)?;
        if total == 0 { Err(err()) } else { Ok(Usd(total)) }
    }

    /// Sum that saturates instead of overflowing.
    pub fn saturating_add(self, other: Usd) -> Usd {
        Usd(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / Self::MICROS;
        let frac = self.0 % Self::MICROS;
        if frac == 0 {
            return write!(f, "${whole}.00");
        }
        let frac = format!("{frac:06}");
        let trimmed = frac.trim_end_matches('0');
        write!(f, "${whole}.{trimmed:0<2}")
    }
}

/// Limits of a goal or task. `None` means unlimited; a zero limit cannot be expressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall time in seconds, paused time excluded.
    pub time_secs: Option<u64>,
    /// Tokens (input + output, as the agents report them).
    pub tokens: Option<u64>,
    /// Cost in micro-dollars.
    pub usd_micros: Option<Usd>,
}

impl Limits {
    /// The default time budget when none is given: 8 hours.
    pub const DEFAULT_TIME_SECS: u64 = 8 * 3600;

    /// Raise these limits by `add`. An unlimited dimension stays unlimited.
    pub fn raised(self, add: &BudgetAddition) -> Limits {
        let plus = |limit: Option<u64>, more: Option<u64>| match (limit, more) {
            (Some(l), Some(m)) => Some(l.saturating_add(m)),
            (l, _) => l,
        };
        Limits {
            time_secs: plus(self.time_secs, add.time_secs),
            tokens: plus(self.tokens, add.tokens),
            usd_micros: plus(self.usd_micros.map(|u| u.0), add.usd_micros.map(|u| u.0)).map(Usd),
        }
    }
}

/// What was spent so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Seconds a controller actively drove the goal (paused time excluded).
    pub active_secs: u64,
    /// Tokens reported by agents, plus estimates.
    pub tokens: u64,
    /// Of `tokens`, how many were estimated rather than reported.
    pub tokens_estimated: u64,
    /// Cost in micro-dollars of the priced tokens.
    pub usd_micros: Usd,
    /// Tokens whose model had no known price (their cost is missing from `usd_micros`).
    pub unpriced_tokens: u64,
}

/// Which dimension of a budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetDimension {
    /// Wall time.
    Time,
    /// Tokens.
    Tokens,
    /// US dollars.
    Usd,
}

/// The dimensions of `limits` that `usage` has reached or crossed. A USD limit with unpriced usage counts
/// as exhausted: the cost cannot be known, so the check fails closed.
pub fn exhausted(limits: &Limits, usage: &Usage) -> Vec<BudgetDimension> {
    let mut out = Vec::new();
    if limits.time_secs.is_some_and(|l| usage.active_secs >= l) {
        out.push(BudgetDimension::Time);
    }
    if limits.tokens.is_some_and(|l| usage.tokens >= l) {
        out.push(BudgetDimension::Tokens);
    }
    if limits
        .usd_micros
        .is_some_and(|l| usage.usd_micros >= l || usage.unpriced_tokens > 0)
    {
        out.push(BudgetDimension::Usd);
    }
    out
}

/// An increase of limits requested by `budget-add`; never empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetAddition {
    /// Seconds to add.
    pub time_secs: Option<u64>,
    /// Tokens to add.
    pub tokens: Option<u64>,
    /// Micro-dollars to add.
    pub usd_micros: Option<Usd>,
}

impl BudgetAddition {
    /// Build an addition from already-parsed parts; at least one must be present.
    pub fn new(time: Option<Duration>, tokens: Option<u64>, usd: Option<Usd>) -> Result<Self, BudgetError> {
        if time.is_none() && tokens.is_none() && usd.is_none() {
            return Err(BudgetError::NothingToAdd);
        }
        Ok(BudgetAddition {
            time_secs: time.map(|d| d.as_secs().max(1)),
            tokens,
            usd_micros: usd,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("8h").unwrap(), Duration::from_secs(8 * 3600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(2 * 86400));
        assert_eq!(parse_duration("45s").unwrap(), Duration::from_secs(45));
        assert_eq!(parse_duration("0h"), Err(BudgetError::ZeroDuration("0h".into())));
        for bad in ["-1h", "8x", "abc", "", "h", "1.5h", "8 hours"] {
            assert!(
                matches!(parse_duration(bad), Err(BudgetError::Duration(_))),
                "{bad}"
            );
        }
        assert_eq!(format_secs(5400), "1h30m");
        assert_eq!(format_secs(8 * 3600), "8h");
        assert_eq!(format_secs(0), "0s");
    }

    #[test]
    fn dollars() {
        assert_eq!(Usd::parse_positive("2.5").unwrap(), Usd(2_500_000));
        assert_eq!(Usd::parse_positive("0.000001").unwrap(), Usd(1));
        assert_eq!(Usd::parse_positive("3").unwrap(), Usd(3_000_000));
        assert_eq!(Usd::parse_positive(".5").unwrap(), Usd(500_000));
        for bad in [
            "0",
            "0.0",
            "-1",
            "abc",
            "1e3",
            "1.0000001",
            "",
            ".",
            "NaN",
            "inf",
            "99999999999999999",
        ] {
            assert!(Usd::parse_positive(bad).is_err(), "{bad}");
        }
        assert_eq!(Usd(2_500_000).to_string(), "$2.50");
        assert_eq!(Usd(1).to_string(), "$0.000001");
        assert_eq!(Usd(3_000_000).to_string(), "$3.00");
    }

    #[test]
    fn tokens() {
        assert_eq!(parse_tokens("200000").unwrap(), 200_000);
        for bad in ["0", "-5", "1.5", "x", ""] {
            assert!(parse_tokens(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn raising_and_exhaustion() {
        let limits = Limits {
            time_secs: Some(60),
            tokens: Some(100),
            usd_micros: None,
        };
        let usage = Usage {
            active_secs: 60,
            tokens: 99,
            ..Usage::default()
        };
        assert_eq!(exhausted(&limits, &usage), vec![BudgetDimension::Time]);
        let add = BudgetAddition::new(Some(Duration::from_secs(60)), None, Some(Usd(5))).unwrap();
        let raised = limits.raised(&add);
        assert_eq!(raised.time_secs, Some(120));
        assert_eq!(raised.usd_micros, None, "unlimited stays unlimited");
        assert!(exhausted(&raised, &usage).is_empty());
        assert_eq!(
            BudgetAddition::new(None, None, None),
            Err(BudgetError::NothingToAdd)
        );
        let priced = Limits {
            usd_micros: Some(Usd(10)),
            ..Limits::default()
        };
        let unpriced = Usage {
            unpriced_tokens: 1,
            ..Usage::default()
        };
        assert_eq!(
            exhausted(&priced, &unpriced),
            vec![BudgetDimension::Usd],
            "fails closed"
        );
    }
}
