//! Token usage of agent sessions and its price (DESIGN §3, §4).
//!
//! Owns the token counts an agent step reports (or that git-omk estimates, marked as such), their
//! sums, the price table (`omk.price.<model>.input/.output`, USD per million tokens) and the cost
//! computation. A model without a price is never silently free: its tokens are counted as unpriced.
//! Pure: the agent layer measures, the settings layer reads the prices.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

use super::budget::Usd;

/// Tokens spent by one LLM step, a turn or a whole session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Input tokens, all of them (the cache counts below are a breakdown of this number).
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Of `input`, tokens read from the provider's prompt cache.
    #[serde(default)]
    pub cache_read: u64,
    /// Of `input`, tokens written to the provider's prompt cache.
    #[serde(default)]
    pub cache_creation: u64,
    /// Of `input + output`, how many git-omk estimated because the agent did not report them.
    #[serde(default)]
    pub estimated: u64,
}

impl TokenUsage {
    /// Usage reported by the agent.
    pub fn reported(input: u64, output: u64) -> TokenUsage {
        TokenUsage {
            input,
            output,
            ..TokenUsage::default()
        }
    }

    /// Usage estimated by git-omk (marked estimated in full).
    pub fn estimated(input: u64, output: u64) -> TokenUsage {
        TokenUsage {
            input,
            output,
            estimated: input.saturating_add(output),
            ..TokenUsage::default()
        }
    }

    /// Input plus output tokens.
    pub fn total(&self) -> u64 {
        self.input.saturating_add(self.output)
    }

    /// Whether any of these tokens were estimated.
    pub fn is_estimated(&self) -> bool {
        self.estimated > 0
    }
}

impl Add for TokenUsage {
    type Output = TokenUsage;
    fn add(self, o: TokenUsage) -> TokenUsage {
        TokenUsage {
            input: self.input.saturating_add(o.input),
            output: self.output.saturating_add(o.output),
            cache_read: self.cache_read.saturating_add(o.cache_read),
            cache_creation: self.cache_creation.saturating_add(o.cache_creation),
            estimated: self.estimated.saturating_add(o.estimated),
        }
    }
}

impl AddAssign for TokenUsage {
    fn add_assign(&mut self, o: TokenUsage) {
        *self = *self + o;
    }
}

/// Rough token count of a text, for agents that report none: about four bytes per token.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// A price that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a price: use USD per million tokens, a number >= 0 with at most 6 decimals, like 0.60")]
pub struct PriceError(pub String);

/// Parse a price in USD per million tokens into micro-dollars per million tokens. Zero is a valid,
/// explicit price (a free model); negative, malformed or absurdly large values are not.
pub fn parse_price(text: &str) -> Result<u64, PriceError> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let is_zero = !(whole.is_empty() && frac.is_empty())
        && frac.len() <= 6
        && whole.chars().chain(frac.chars()).all(|c| c == '0');
    if is_zero {
        return Ok(0);
    }
    Usd::parse_positive(t)
        .map(|u| u.0)
        .map_err(|_| PriceError(text.to_owned()))
}

/// The price of one model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    /// Micro-dollars per million input tokens.
    pub input_micros_per_mtok: u64,
    /// Micro-dollars per million output tokens.
    pub output_micros_per_mtok: u64,
}

/// Prices by model name, as configured (`omk.price.<model>.input` / `.output`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTable {
    prices: BTreeMap<String, Price>,
}

impl PriceTable {
    /// Set the price of `model`.
    pub fn insert(&mut self, model: &str, price: Price) {
        self.prices.insert(model.to_owned(), price);
    }

    /// The price of `model`, if configured.
    pub fn get(&self, model: &str) -> Option<Price> {
        self.prices.get(model).copied()
    }

    /// Whether no price is configured.
    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }
}

/// What some usage cost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// The model the usage was priced for, when known.
    pub model: Option<String>,
    /// Cost of the priced tokens.
    pub usd: Usd,
    /// Tokens that could not be priced (unknown model or no configured price): never counted as free.
    pub unpriced_tokens: u64,
}

impl Cost {
    /// Whether every token had a price.
    pub fn is_complete(&self) -> bool {
        self.unpriced_tokens == 0
    }
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_complete() {
            write!(f, "{}", self.usd)
        } else {
            let model = self.model.as_deref().unwrap_or("unknown model");
            write!(
                f,
                "{} + {} unpriced tokens ({model})",
                self.usd, self.unpriced_tokens
            )
        }
    }
}

/// Price `usage` of `model` with `table`. Each part is rounded up to the next micro-dollar, so a cost is
/// never under-reported.
pub fn cost(table: &PriceTable, model: Option<&str>, usage: &TokenUsage) -> Cost {
    let Some(price) = model.and_then(|m| table.get(m)) else {
        return Cost {
            model: model.map(str::to_owned),
            usd: Usd(0),
            unpriced_tokens: usage.total(),
        };
    };
    let part = |tokens: u64, micros_per_mtok: u64| -> u64 {
        let micros = (u128::from(tokens) * u128::from(micros_per_mtok)).div_ceil(1_000_000);
        u64::try_from(micros).unwrap_or(u64::MAX)
    };
    Cost {
        model: model.map(str::to_owned),
        usd: Usd(part(usage.input, price.input_micros_per_mtok)
            .saturating_add(part(usage.output, price.output_micros_per_mtok))),
        unpriced_tokens: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_sums_and_marks_estimates() {
        let a = TokenUsage {
            input: 1000,
            output: 50,
            cache_read: 600,
            ..TokenUsage::default()
        };
        let b = TokenUsage::estimated(10, 5);
        let sum = a + b;
        assert_eq!(sum.total(), 1065);
        assert_eq!(sum.cache_read, 600);
        assert_eq!(sum.estimated, 15);
        assert!(sum.is_estimated());
        assert!(!a.is_estimated());
        assert_eq!(estimate_tokens("abcdefgh"), 2);
        assert_eq!(estimate_tokens("abcdefghi"), 3);
    }

    #[test]
    fn prices_parse() {
        assert_eq!(parse_price("0.60").unwrap(), 600_000);
        assert_eq!(parse_price("2.5").unwrap(), 2_500_000);
        assert_eq!(parse_price("0").unwrap(), 0);
        assert_eq!(parse_price("0.0").unwrap(), 0);
        for bad in ["-1", "abc", "", "1e3", "0.0000001", ".", "0..0"] {
            assert!(parse_price(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn costs_round_up_and_unknown_prices_are_flagged() {
        let mut table = PriceTable::default();
        table.insert(
            "kimi-k2",
            Price {
                input_micros_per_mtok: 600_000,
                output_micros_per_mtok: 2_500_000,
            },
        );
        let usage = TokenUsage::reported(1_000_000, 1);
        let c = cost(&table, Some("kimi-k2"), &usage);
        assert_eq!(c.usd, Usd(600_000 + 3), "2.5 micro-dollars round up to 3");
        assert!(c.is_complete());
        let unknown = cost(&table, Some("other"), &usage);
        assert_eq!(unknown.usd, Usd(0));
        assert_eq!(unknown.unpriced_tokens, 1_000_001, "never silently free");
        assert!(!unknown.is_complete());
        assert!(unknown.to_string().contains("unpriced"));
        let no_model = cost(&table, None, &usage);
        assert_eq!(no_model.unpriced_tokens, 1_000_001);
        let free = {
            let mut t = PriceTable::default();
            t.insert("local", Price::default());
            cost(&t, Some("local"), &usage)
        };
        assert!(free.is_complete(), "an explicit zero price is a price");
    }
}
