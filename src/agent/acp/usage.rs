//! Token usage ACP agents report themselves, in ACP's `Usage` shape (`inputTokens`, `outputTokens`,
//! `totalTokens`, and optionally `thoughtTokens`, `cachedReadTokens`, `cachedWriteTokens`):
//!
//! - per LLM step, in the `_meta.usage` of a `session/update` (Qwen Code sends it on an empty
//!   `agent_message_chunk` as each step ends, before the step's tools run);
//! - per turn, in the `usage` of the `session/prompt` result (ACP's turn totals).
//!
//! `usage_update` (`{used, size, cost?}`) is context occupancy, not spending: the engine keeps `used`
//! as the input size of estimates, and never counts it as tokens.
//!
//! Owns reading those shapes into [`TokenUsage`], and nothing else: pure.

use serde_json::Value;

use crate::model::usage::TokenUsage;

/// The step usage a `session/update`'s `update` object carries in its `_meta.usage`, if any.
pub fn of_update(update: &Value) -> Option<TokenUsage> {
    parse(update.pointer("/_meta/usage")?)
}

/// Read one `Usage` object. `None` when it is not one (no input or output count) or counts nothing.
///
/// Providers disagree on whether cached tokens are part of `inputTokens` (OpenAI-style counts, which
/// Qwen Code passes on, include them) or come on top (Anthropic-style). `totalTokens` tells them apart:
/// when it covers input, output and the cache counts, the cache came on top and is added to the
/// input. Likewise reasoning tokens that `totalTokens` counts but `outputTokens` does not are added to
/// the output. So the recorded total always equals the agent's own `totalTokens` (or input plus output
/// when that is larger).
pub fn parse(usage: &Value) -> Option<TokenUsage> {
    let n = |key: &str| usage.get(key).and_then(Value::as_u64);
    let (input, output) = (n("inputTokens"), n("outputTokens"));
    if input.is_none() && output.is_none() {
        return None;
    }
    let (input, output) = (input.unwrap_or(0), output.unwrap_or(0));
    let (cache_read, cache_write) = (
        n("cachedReadTokens").unwrap_or(0),
        n("cachedWriteTokens").unwrap_or(0),
    );
    let total = n("totalTokens").unwrap_or(0);
    let cached = cache_read.saturating_add(cache_write);
    let cache_on_top = cached > 0 && total >= input.saturating_add(output).saturating_add(cached);
    let input = if cache_on_top {
        input.saturating_add(cached)
    } else {
        input.max(cached)
    };
    let output = output.max(total.saturating_sub(input));
    let usage = TokenUsage {
        cache_read,
        cache_creation: cache_write,
        ..TokenUsage::reported(input, output)
    };
    (usage.total() > 0).then_some(usage)
}

/// What a turn's reported total has beyond the steps already reported during the turn (field by
/// field), or `None` when the steps covered it.
pub fn remainder(turn_total: &TokenUsage, steps: &TokenUsage) -> Option<TokenUsage> {
    let rest = TokenUsage {
        input: turn_total.input.saturating_sub(steps.input),
        output: turn_total.output.saturating_sub(steps.output),
        cache_read: turn_total.cache_read.saturating_sub(steps.cache_read),
        cache_creation: turn_total.cache_creation.saturating_sub(steps.cache_creation),
        estimated: 0,
    };
    (rest.total() > 0).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qwen_code_step_usage_is_read_as_reported() {
        // Recorded: the scripted model reported prompt 1000 (600 cached), completion 50.
        let update = json!({"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": ""},
            "_meta": {"usage": {"inputTokens": 1000, "outputTokens": 50, "totalTokens": 1050,
            "thoughtTokens": 0, "cachedReadTokens": 600}, "durationMs": 439}});
        let usage = of_update(&update).expect("a step's usage");
        assert_eq!(
            usage,
            TokenUsage {
                cache_read: 600,
                ..TokenUsage::reported(1000, 50)
            }
        );
        assert!(!usage.is_estimated());
    }

    #[test]
    fn every_step_of_a_recorded_qwen_turn_is_counted_once() {
        // The scripted model reported four steps: 1000 (600 cached) + 1100 + 1200 + 1300 prompt
        // tokens, 50 + 20 + 30 + 10 completion tokens.
        let steps: Vec<TokenUsage> = include_str!("../../../fixtures/acp/qwen-hello.jsonl")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("a recorded line"))
            .filter(|l| l["dir"] == "a2c" && l["msg"]["method"] == "session/update")
            .filter_map(|l| of_update(&l["msg"]["params"]["update"]))
            .collect();
        assert_eq!(steps.len(), 4, "{steps:?}");
        let turn = steps.into_iter().fold(TokenUsage::default(), |a, b| a + b);
        assert_eq!(
            turn,
            TokenUsage {
                cache_read: 600,
                ..TokenUsage::reported(4600, 110)
            }
        );
    }

    #[test]
    fn cache_counted_on_top_of_the_input_is_added() {
        let usage = parse(
            &json!({"inputTokens": 10, "outputTokens": 5, "cachedReadTokens": 100,
            "cachedWriteTokens": 20, "totalTokens": 135}),
        )
        .unwrap();
        assert_eq!((usage.input, usage.output), (130, 5));
        assert_eq!((usage.cache_read, usage.cache_creation), (100, 20));
        assert_eq!(usage.total(), 135);
    }

    #[test]
    fn reasoning_outside_the_output_count_is_added() {
        let usage =
            parse(&json!({"inputTokens": 100, "outputTokens": 20, "thoughtTokens": 30, "totalTokens": 150}))
                .unwrap();
        assert_eq!((usage.input, usage.output), (100, 50));
        let openai =
            parse(&json!({"inputTokens": 100, "outputTokens": 50, "thoughtTokens": 30, "totalTokens": 150}))
                .unwrap();
        assert_eq!(
            (openai.input, openai.output),
            (100, 50),
            "reasoning already in the output"
        );
    }

    #[test]
    fn what_is_not_usage_is_none() {
        assert_eq!(of_update(&json!({"sessionUpdate": "agent_message_chunk"})), None);
        assert_eq!(parse(&json!({"used": 5000, "size": 200000})), None);
        assert_eq!(
            parse(&json!({"inputTokens": 0, "outputTokens": 0, "totalTokens": 0})),
            None
        );
        assert_eq!(parse(&json!("1000")), None);
    }

    #[test]
    fn a_turn_total_beyond_its_steps_is_the_remainder() {
        let total = TokenUsage::reported(3000, 60);
        assert_eq!(
            remainder(&total, &TokenUsage::reported(1000, 50)),
            Some(TokenUsage::reported(2000, 10))
        );
        assert_eq!(remainder(&total, &total), None);
        assert_eq!(remainder(&total, &TokenUsage::reported(5000, 90)), None);
    }
}
