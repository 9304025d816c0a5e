//! The sample project of `git omk demo`, shipped in the binary: a tiny Rust library with a real
//! off-by-one bug and a test that fails because of it, the goal that asks for the fix, and the fix the
//! stand-in agent applies. Also what the stand-in answers in each role (`OMK_ROLE`). Pure data and
//! text; writing the files, starting git and driving the goal happen in `ops::demo`.

/// The goal the demo runs.
pub const GOAL: &str = "Fix the off-by-one in slugify: a title that fits max exactly must be kept whole \
(the exact_fit test in tests/slugify.rs fails)";

/// The first commit's message.
pub const COMMIT_MESSAGE: &str = "A slug library (its exact_fit test fails)";

/// The file the bug is in, and the line the fix changes (before, after).
pub const BUGGY_FILE: &str = "src/slugify.rs";
const BUGGY_LINE: &str = "        if slug.len() + extra >= max {";
const FIXED_LINE: &str = "        if slug.len() + extra > max {";

const CARGO_TOML: &str = r#"[package]
name = "slug"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
"#;

const GATES_TOML: &str = r#"# The checks git-omk runs before and after every change (see git-omk's docs/gates.md).
version = 1

[[gate]]
name = "test"
command = ["cargo", "test", "--offline"]
runner = "cargo"
"#;

const GITIGNORE: &str = "/target\n/Cargo.lock\n";

const README: &str = "# slug\n\nTurns titles into URL slugs: `slugify(\"Hello, World!\", 20)` is `hello-world`.\n\n\
A sample project of `git omk demo`: `cargo test` fails on `exact_fit` until the off-by-one in\n\
`src/slugify.rs` is fixed.\n";

const LIB_RS: &str = "//! Titles to URL slugs.\n\npub mod slugify;\n\npub use slugify::slugify;\n";

const SLUGIFY_RS: &str = r#"//! `slugify`: lowercase words joined by `-`, cut at a word boundary.

/// The lowercase words of `title` joined by `-`, at most `max` bytes long: words that do not fit are
/// left out, never cut in the middle.
pub fn slugify(title: &str, max: usize) -> String {
    let mut slug = String::new();
    for word in title.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let word = word.to_lowercase();
        let extra = if slug.is_empty() { word.len() } else { word.len() + 1 };
        if slug.len() + extra >= max {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word);
    }
    slug
}
"#;

const TESTS_RS: &str = r#"use slug::slugify;

#[test]
fn words_are_lowercased_and_joined() {
    assert_eq!(slugify("Hello, World!", 40), "hello-world");
}

#[test]
fn words_that_do_not_fit_are_left_out() {
    assert_eq!(slugify("Hello brave new world", 12), "hello-brave");
}

#[test]
fn exact_fit() {
    assert_eq!(slugify("Hello World", 11), "hello-world");
}
"#;

/// The sample project's files: repository path and contents.
pub fn files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Cargo.toml", CARGO_TOML),
        (".gitignore", GITIGNORE),
        (".omk/gates.toml", GATES_TOML),
        ("README.md", README),
        ("src/lib.rs", LIB_RS),
        (BUGGY_FILE, SLUGIFY_RS),
        ("tests/slugify.rs", TESTS_RS),
    ]
}

/// The buggy file with the fix applied, when `current` still has the bug.
pub fn fixed(current: &str) -> Option<String> {
    current
        .contains(BUGGY_LINE)
        .then(|| current.replacen(BUGGY_LINE, FIXED_LINE, 1))
}

/// What the stand-in says first in every role, so no one takes it for a real agent.
pub const STAND_IN_NOTICE: &str = "I am git-omk's stand-in agent, not an AI model: I apply the known fix of \
the demo's sample project. Install and configure Kimi (or give --agent) to see a real agent work.";

/// What the stand-in replies as a reviewer or security reviewer: no findings, in the JSON block the
/// review prompt asks for.
pub const STAND_IN_REVIEW: &str = "The change is the one-character fix of the comparison; it touches nothing \
else.\n```json\n{\"findings\": []}\n```";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fix_changes_exactly_the_buggy_comparison_once() {
        let fixed = fixed(SLUGIFY_RS).expect("the sample has the bug");
        assert!(fixed.contains(FIXED_LINE) && !fixed.contains(BUGGY_LINE));
        assert_eq!(fixed.len() + 1, SLUGIFY_RS.len());
        assert_eq!(super::fixed(&fixed), None, "nothing to fix twice");
    }

    #[test]
    fn the_sample_has_its_gates_its_failing_test_and_the_goal_names_them() {
        let files = files();
        let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
        assert!(paths.contains(&".omk/gates.toml") && paths.contains(&BUGGY_FILE));
        assert!(TESTS_RS.contains("fn exact_fit()") && GOAL.contains("exact_fit"));
    }
}
