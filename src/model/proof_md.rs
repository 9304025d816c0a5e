//! `proof.md`: the proof rendered for people (the JSON is the record; this is its reading). Pure.

use std::fmt::Write as _;

use super::gate::Outcome;
use super::ids::short;
use super::planner::describe_check;
use super::proof::{Proof, test_lines};

/// Render a proof as Markdown.
pub fn render(proof: &Proof) -> String {
    let mut out = format!(
        "# Proof: {}\n\n- goal: `{}`\n- status: **{}**\n",
        proof.title, proof.goal, proof.status
    );
    let _ = writeln!(
        out,
        "- base: `{}` (tree `{}`)",
        proof.base.commit, proof.base.tree
    );
    match &proof.result {
        Some(r) => {
            let _ = writeln!(out, "- result: `{}` (tree `{}`)", r.commit, r.tree);
        }
        None => out.push_str("- result: none\n"),
    }
    if !proof.reasons.is_empty() {
        out.push_str("\n## Why not ready\n\n");
        for r in &proof.reasons {
            let _ = writeln!(out, "- {}", r.describe());
        }
    }
    gates(&mut out, proof);
    tests(&mut out, proof);
    harness(&mut out, proof);
    oracle(&mut out, proof);
    tasks(&mut out, proof);
    files(&mut out, proof);
    findings(&mut out, proof);
    let _ = write!(
        out,
        "\n## Budget\n\n- tokens: {}\n- time: {}s\n- cost: {}\n",
        proof.usage.tokens, proof.usage.active_secs, proof.usage.usd_micros
    );
    if !proof.gaps.is_empty() {
        out.push_str("\n## Known gaps\n\n");
        for g in &proof.gaps {
            let _ = writeln!(out, "- {g}");
        }
    }
    if !proof.human_decisions.is_empty() {
        out.push_str("\n## Human decisions\n\n");
        for h in &proof.human_decisions {
            let _ = writeln!(
                out,
                "- {:?} by {} at {}: {}",
                h.verdict,
                h.by,
                h.at.to_rfc3339(),
                h.text
            );
        }
    }
    out
}

fn gates(out: &mut String, proof: &Proof) {
    out.push_str("\n## Gates\n\n| gate | required | base | result | change |\n|---|---|---|---|---|\n");
    for g in &proof.gates {
        let c = &g.change;
        let show = |o: Option<Outcome>| o.map_or("—".to_owned(), |o| o.as_str().to_owned());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:?}{} |",
            c.name,
            c.required,
            show(c.base),
            show(c.result),
            c.change,
            if c.blocking { " (blocking)" } else { "" }
        );
    }
}

/// What the tests did, by id, in words.
fn tests(out: &mut String, proof: &Proof) {
    let lines: Vec<String> = test_lines(proof)
        .into_iter()
        .filter(|l| !l.starts_with("test harness") && !l.starts_with("with the base's harness"))
        .collect();
    if lines.is_empty() {
        return;
    }
    out.push_str("\n## Tests\n\n");
    for line in lines.iter().take(MAX_TEST_LINES) {
        let _ = writeln!(out, "- {line}");
    }
    if lines.len() > MAX_TEST_LINES {
        let _ = writeln!(
            out,
            "- … and {} more (proof.json lists them all)",
            lines.len() - MAX_TEST_LINES
        );
    }
}

/// At most this many lines of test evidence in `proof.md`.
const MAX_TEST_LINES: usize = 200;

/// The harness check: each changed file with its diff, and what the restored run said.
fn harness(out: &mut String, proof: &Proof) {
    let Some(h) = &proof.harness else {
        return;
    };
    out.push_str("\n## Test harness\n\n");
    if h.changes.is_empty() {
        out.push_str("- unchanged: the result's tests ran with the base's harness files\n");
        return;
    }
    for c in &h.changes {
        let _ = writeln!(
            out,
            "- `{}` {}: {}\n\n```diff\n{}\n```\n",
            c.path,
            c.change.verb(),
            c.rule.describe(),
            c.diff.trim_end()
        );
    }
    let restored = h
        .restored_run
        .as_ref()
        .map(|r| format!(" (commit `{}`)", short(&r.commit)))
        .unwrap_or_default();
    match &h.error {
        Some(e) => {
            let _ = writeln!(
                out,
                "- the result could not be tested with the base's harness files: {e}"
            );
        }
        None if h.differences.is_empty() => {
            let _ = writeln!(
                out,
                "- with the base's harness files restored{restored}, the result's gates say the same"
            );
        }
        None => {
            for d in &h.differences {
                let _ = writeln!(
                    out,
                    "- with the base's harness files restored{restored}, gate {}: {}",
                    d.gate, d.detail
                );
            }
        }
    }
}

fn oracle(out: &mut String, proof: &Proof) {
    out.push_str("\n## Oracle\n\n");
    for c in &proof.oracle {
        let _ = writeln!(
            out,
            "- [{}] {}: {}",
            if c.passed { "x" } else { " " },
            describe_check(&c.check),
            c.detail
        );
    }
}

fn tasks(out: &mut String, proof: &Proof) {
    out.push_str("\n## Tasks\n\n");
    for t in &proof.tasks {
        let _ = writeln!(
            out,
            "- `{}` {} — {}{}",
            t.id,
            t.status,
            t.title,
            t.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
        );
        for a in &t.attempts {
            let _ = writeln!(
                out,
                "  - attempt {}: {}{}",
                a.number,
                a.outcome,
                a.commit
                    .as_deref()
                    .map(|c| format!(" at `{}`", short(c)))
                    .unwrap_or_default()
            );
        }
    }
}

fn files(out: &mut String, proof: &Proof) {
    out.push_str("\n## Changed files\n\n");
    for f in &proof.changed_files {
        let n = |v: Option<u64>| v.map_or("binary".to_owned(), |v| v.to_string());
        let _ = writeln!(out, "- `{}` +{} −{}", f.path, n(f.added), n(f.removed));
    }
}

fn findings(out: &mut String, proof: &Proof) {
    out.push_str("\n## Review findings\n\n");
    if proof.findings.is_empty() {
        out.push_str("- none\n");
    }
    for f in &proof.findings {
        let at = f
            .finding
            .line
            .map_or_else(|| f.finding.file.clone(), |l| format!("{}:{l}", f.finding.file));
        // A message's first line: a harness finding's diff is shown under "Test harness".
        let message = f.finding.message.lines().next().unwrap_or_default();
        let _ = writeln!(
            out,
            "- {} `{at}` ({}): {}{}",
            f.finding.severity.as_str(),
            f.finding.source,
            message,
            if f.accepted {
                " — accepted by a human"
            } else {
                ""
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::EventBody;
    use crate::model::gate::Outcome;
    use crate::model::proof::prove;
    use crate::model::proof::tests::{Goal, changed, gate, high};
    use crate::model::status::GoalKind;

    #[test]
    fn a_not_ready_proof_shows_status_reasons_gates_and_findings() {
        let mut g = Goal::integrated(GoalKind::Feature, vec![gate("unit", true, Outcome::Passed)]);
        g.verify(vec![
            gate("unit", true, Outcome::Failed),
            gate("style", false, Outcome::Passed),
        ]);
        g.review(vec![high("unchecked index")]);
        let proof = prove(&g.snapshot, changed());
        let md = render(&proof);
        assert!(md.contains("- status: **not_ready**"), "{md}");
        assert!(md.contains("## Why not ready"), "{md}");
        for reason in &proof.reasons {
            assert!(md.contains(&reason.describe()), "{md}");
        }
        assert!(
            md.contains("| unit | true | passed | failed | Regressed (blocking) |"),
            "{md}"
        );
        assert!(md.contains("| style | false | — | passed | Added |"), "{md}");
        assert!(
            md.contains("- high `src/a.rs:7` (reviewer): unchecked index\n"),
            "{md}"
        );
        assert!(md.contains("- `src/a.rs` +12 −3"), "{md}");
        assert!(md.contains("- `assets/logo.png` +binary −binary"), "{md}");
        assert!(md.contains("- [ ] every required gate passes"), "{md}");
        let attempt = short(crate::model::ids::fake::commit("attempt1"));
        assert!(
            md.contains(&format!("  - attempt 1: succeeded at `{attempt}`")),
            "{md}"
        );
    }

    #[test]
    fn a_ready_proof_has_no_reasons_and_shows_accepted_findings() {
        let mut g = Goal::evidenced();
        g.review(vec![high("unchecked index")]);
        g.apply(EventBody::Accepted {
            summary: "checked by hand".into(),
            task: None,
        });
        let md = render(&prove(&g.snapshot, changed()));
        assert!(md.contains("- status: **ready**"), "{md}");
        assert!(!md.contains("## Why not ready"), "{md}");
        assert!(md.contains("unchecked index — accepted by a human"), "{md}");
        assert!(md.contains("## Human decisions"), "{md}");
        assert!(md.contains("by Ada <ada@example.com>"), "{md}");
        assert!(md.contains(": checked by hand"), "{md}");
        assert!(md.contains("- [x] every required gate passes"), "{md}");
    }
}
