//! `goal budget -f json` and the budget in `goal status --json` and `goal show -f json`: limits, usage,
//! what is left and what is exhausted, each its own view built field by field from the model's budget.

use serde::Serialize;

use super::Location;
use crate::model::budget::{BudgetDimension, Limits, Usage, exhausted};
use crate::model::goal::GoalState;
use crate::model::task::Task;

/// Budget spent and left (in `goal status --json` and `goal budget -f json`): its own types, built field
/// by field, so a change to the model's budget types does not change this document by itself.
#[derive(Serialize)]
pub struct BudgetView {
    /// Limits.
    pub limits: LimitsView,
    /// Spent.
    pub usage: UsageView,
    /// Left (null when unlimited).
    pub remaining: Remaining,
    /// Exhausted dimensions: `time`, `tokens`, `usd`.
    pub exhausted: Vec<&'static str>,
}

/// A goal's limits (`null`: unlimited).
#[derive(Serialize)]
pub struct LimitsView {
    /// Seconds (paused time excluded).
    pub time_secs: Option<u64>,
    /// Tokens.
    pub tokens: Option<u64>,
    /// Micro-dollars.
    pub usd_micros: Option<u64>,
}

impl LimitsView {
    /// Of the model's limits.
    pub fn of(limits: &Limits) -> LimitsView {
        LimitsView {
            time_secs: limits.time_secs,
            tokens: limits.tokens,
            usd_micros: limits.usd_micros.map(|usd| usd.0),
        }
    }
}

/// What a goal spent.
#[derive(Serialize)]
pub struct UsageView {
    /// Seconds a controller actively drove the goal.
    pub active_secs: u64,
    /// Tokens reported by agents, plus estimates.
    pub tokens: u64,
    /// Of `tokens`, how many were estimated.
    pub tokens_estimated: u64,
    /// Micro-dollars of the priced tokens.
    pub usd_micros: u64,
    /// Tokens whose model had no known price.
    pub unpriced_tokens: u64,
}

impl UsageView {
    /// Of the model's usage.
    pub fn of(usage: &Usage) -> UsageView {
        UsageView {
            active_secs: usage.active_secs,
            tokens: usage.tokens,
            tokens_estimated: usage.tokens_estimated,
            usd_micros: usage.usd_micros.0,
            unpriced_tokens: usage.unpriced_tokens,
        }
    }
}

/// How a budget dimension is named in JSON.
fn dimension_name(dimension: BudgetDimension) -> &'static str {
    match dimension {
        BudgetDimension::Time => "time",
        BudgetDimension::Tokens => "tokens",
        BudgetDimension::Usd => "usd",
    }
}

/// What is left of each limit.
#[derive(Serialize)]
pub struct Remaining {
    /// Seconds.
    pub time_secs: Option<u64>,
    /// Tokens.
    pub tokens: Option<u64>,
    /// Micro-dollars.
    pub usd_micros: Option<u64>,
}

impl BudgetView {
    /// Of a goal.
    pub fn of(goal: &GoalState) -> BudgetView {
        BudgetView::new(goal.limits(), goal.usage())
    }

    /// Of limits and usage.
    pub fn new(l: &Limits, u: &Usage) -> BudgetView {
        BudgetView {
            limits: LimitsView::of(l),
            usage: UsageView::of(u),
            remaining: Remaining {
                time_secs: l.time_secs.map(|t| t.saturating_sub(u.active_secs)),
                tokens: l.tokens.map(|t| t.saturating_sub(u.tokens)),
                usd_micros: l.usd_micros.map(|m| m.0.saturating_sub(u.usd_micros.0)),
            },
            exhausted: exhausted(l, u).into_iter().map(dimension_name).collect(),
        }
    }
}

/// `goal budget -f json`.
#[derive(Serialize)]
pub struct BudgetDoc<'a> {
    /// Where.
    #[serde(flatten)]
    pub location: Location,
    /// The goal's budget.
    #[serde(flatten)]
    pub budget: BudgetView,
    /// Per task: tokens and attempts.
    pub tasks: Vec<TaskSpend<'a>>,
}

/// What one task spent.
#[derive(Serialize)]
pub struct TaskSpend<'a> {
    /// Task id.
    pub id: &'a str,
    /// Tokens over all attempts.
    pub tokens: u64,
    /// Attempts made.
    pub attempts: usize,
}

impl<'a> TaskSpend<'a> {
    /// Of a task.
    pub fn of(task: &'a Task) -> TaskSpend<'a> {
        TaskSpend {
            id: task.id.as_str(),
            tokens: task.attempts.iter().map(|a| a.tokens).sum(),
            attempts: task.attempts.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::budget::Usd;

    /// The budget document is the view's, field by field: these keys, in this order, whatever the
    /// model's budget types are called.
    #[test]
    fn the_budget_view_names_its_own_fields_in_order() {
        let limits = Limits {
            time_secs: Some(3600),
            tokens: Some(1000),
            usd_micros: None,
        };
        let usage = Usage {
            active_secs: 4000,
            tokens: 250,
            tokens_estimated: 50,
            usd_micros: Usd(7),
            unpriced_tokens: 3,
        };
        assert_eq!(
            serde_json::to_string(&LimitsView::of(&limits)).unwrap(),
            serde_json::to_string(&limits).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&UsageView::of(&usage)).unwrap(),
            serde_json::to_string(&usage).unwrap()
        );
        let json = serde_json::to_string(&BudgetView::new(&limits, &usage)).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"{"limits":{"time_secs":3600,"tokens":1000,"usd_micros":null},"#,
                r#""usage":{"active_secs":4000,"tokens":250,"tokens_estimated":50,"usd_micros":7,"unpriced_tokens":3},"#,
                r#""remaining":{"time_secs":0,"tokens":750,"usd_micros":null},"exhausted":["time"]}"#
            )
        );
    }
}
