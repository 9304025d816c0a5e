//! Intake: classify a goal's kind and decide whether its success is testable as written (DESIGN §3.1).
//!
//! Owns the keyword tables, the split of a goal into parts, and the exact questions asked when a goal
//! is too vague to verify. Works on the normalised text and the repository's file list. Pure.

use super::status::GoalKind;

/// The result of intake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intake {
    /// The goal's kind (`mixed` when parts differ).
    pub kind: GoalKind,
    /// The parts of the goal, each a separately plannable request, in the order written.
    pub parts: Vec<Part>,
    /// Questions a human must answer first; empty when the goal is testable.
    pub questions: Vec<String>,
}

/// One request inside a goal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The text of the part.
    pub text: String,
    /// Its kind.
    pub kind: GoalKind,
    /// Whether the goal text says it comes after the previous part ("then …").
    pub after_previous: bool,
    /// Words that can anchor it in the code: identifiers, paths, quoted text, words naming files.
    pub anchors: Vec<String>,
    /// A numeric target (`20%`, `50ms`, `2x`) when one was given.
    pub target: Option<String>,
}

const KIND_WORDS: &[(GoalKind, &[&str])] = &[
    (
        GoalKind::Bugfix,
        &[
            "fix",
            "bug",
            "broken",
            "crash",
            "crashes",
            "off-by-one",
            "wrong",
            "incorrect",
            "fails",
            "failing",
            "regression",
            "error",
            "panic",
            "panics",
            "leak",
            "repair",
        ],
    ),
    (
        GoalKind::Performance,
        &[
            "faster",
            "speed",
            "slow",
            "slower",
            "performance",
            "latency",
            "optimise",
            "optimize",
            "throughput",
            "memory",
            "allocations",
            "speedup",
            "quicker",
        ],
    ),
    (
        GoalKind::Docs,
        &[
            "document",
            "docs",
            "documentation",
            "readme",
            "docstring",
            "docstrings",
            "comments",
            "guide",
            "changelog",
            "tutorial",
        ],
    ),
    (
        GoalKind::Refactor,
        &[
            "refactor",
            "extract",
            "rename",
            "restructure",
            "simplify",
            "split",
            "move",
            "deduplicate",
            "reorganise",
            "reorganize",
            "decouple",
            "cleanup",
        ],
    ),
    (
        GoalKind::Rewrite,
        &["rewrite", "port", "migrate", "reimplement", "convert", "replace"],
    ),
    (
        GoalKind::Audit,
        &[
            "audit",
            "assess",
            "investigate",
            "inspect",
            "analyse",
            "analyze",
            "survey",
        ],
    ),
    (
        GoalKind::Feature,
        &[
            "add",
            "implement",
            "support",
            "introduce",
            "create",
            "new",
            "allow",
            "enable",
            "build",
            "expose",
            "provide",
            "make",
        ],
    ),
];

const VAGUE_WORDS: &[&str] = &[
    "better",
    "nicer",
    "good",
    "great",
    "improve",
    "improved",
    "improvement",
    "cleaner",
    "clean",
    "stuff",
    "things",
    "everything",
    "somehow",
    "whatever",
    "etc",
    "modern",
    "robust",
    "quality",
    "polish",
    "tidy",
];

const STOP_WORDS: &[&str] = &[
    "the", "a", "an", "and", "or", "of", "in", "on", "to", "for", "with", "by", "it", "its", "is", "be",
    "that", "this", "from", "into", "at", "as", "so", "all", "when", "then", "also", "should", "must", "our",
    "we", "please", "code", "make", "more", "less", "some", "any", "not", "no", "are", "was", "them", "they",
    "up",
];

/// Run intake on a normalised goal text. `files` are the repository's paths at the base commit.
pub fn intake(text: &str, files: &[String]) -> Intake {
    let parts: Vec<Part> = split_parts(text)
        .into_iter()
        .map(|(t, after)| analyse_part(&t, after, files))
        .collect();
    let kind = overall_kind(&parts);
    let questions = part_questions(&parts, kind).concat();
    Intake {
        kind,
        parts,
        questions,
    }
}

/// Intake of a goal that a human clarified (`goal answer`): every request that drew questions is read
/// again with the answers after it, so an answer naming a file, function, flag or observable result
/// anchors it. Requests that were clear stay as they were. Without answers this is [`intake`].
pub fn intake_answered(text: &str, answers: &[String], files: &[String]) -> Intake {
    let first = intake(text, files);
    if answers.is_empty() {
        return first;
    }
    let answered = answers.join(" ");
    let asked = part_questions(&first.parts, first.kind);
    let parts: Vec<Part> = (first.parts.into_iter().zip(asked))
        .map(|(part, questions)| match questions.is_empty() {
            true => part,
            false => analyse_part(&format!("{} — {answered}", part.text), part.after_previous, files),
        })
        .collect();
    let kind = overall_kind(&parts);
    let questions = part_questions(&parts, kind).concat();
    Intake {
        kind,
        parts,
        questions,
    }
}

/// Split a goal into parts: list items, lines, sentences, `;`, and `and`/`, then` between two requests
/// that each start with an action word. Returns each part and whether it was written as coming after the
/// previous one.
pub fn split_parts(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for line in text.lines().map(strip_list_marker).filter(|l| !l.is_empty()) {
        for sentence in split_sentences(line) {
            for clause in sentence.split(';') {
                split_on_conjunctions(clause.trim(), &mut out);
            }
        }
    }
    if out.is_empty() {
        out.push((text.trim().to_owned(), false));
    }
    out
}

fn strip_list_marker(line: &str) -> &str {
    let t = line.trim();
    let t = t.strip_prefix(['-', '*', '•']).map_or(t, str::trim_start);
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && t[digits..].starts_with(['.', ')']) {
        t[digits + 1..].trim_start()
    } else {
        t
    }
}

fn split_sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = line.as_bytes();
    for (i, c) in line.char_indices() {
        let ends = matches!(c, '.' | '!' | '?') && bytes.get(i + 1).is_none_or(|n| *n == b' ');
        if ends {
            let s = line[start..i].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = i + 1;
        }
    }
    let rest = line[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

fn split_on_conjunctions(clause: &str, out: &mut Vec<(String, bool)>) {
    let mut rest = clause;
    let mut after = false;
    loop {
        let cut = [
            (", then ", true),
            (" and then ", true),
            (" then ", true),
            (", and ", false),
            (" and ", false),
        ]
        .iter()
        .filter_map(|(sep, seq)| rest.find(sep).map(|i| (i, *sep, *seq)))
        .filter(|(i, sep, _)| starts_with_action(&rest[i + sep.len()..]))
        .min_by_key(|(i, _, _)| *i);
        match cut {
            Some((i, sep, seq)) => {
                push_part(out, &rest[..i], after);
                after = seq;
                rest = &rest[i + sep.len()..];
            }
            None => {
                push_part(out, rest, after);
                return;
            }
        }
    }
}

fn push_part(out: &mut Vec<(String, bool)>, text: &str, after: bool) {
    let t = text.trim().trim_end_matches([',', '.']).trim();
    if !t.is_empty() {
        out.push((t.to_owned(), after));
    }
}

fn starts_with_action(text: &str) -> bool {
    let first = words(text).into_iter().next().unwrap_or_default();
    KIND_WORDS.iter().any(|(_, ws)| ws.contains(&first.as_str()))
        || [
            "update", "remove", "delete", "write", "test", "describe", "explain",
        ]
        .contains(&first.as_str())
}

/// Lowercase words of `text` (letters, digits, `-`, `_`).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn analyse_part(text: &str, after_previous: bool, files: &[String]) -> Part {
    Part {
        text: text.to_owned(),
        kind: kind_of(text),
        after_previous,
        anchors: anchors_of(text, files),
        target: numeric_target(text),
    }
}

/// The kind a single request reads as: the first matching table wins, by table priority.
pub fn kind_of(text: &str) -> GoalKind {
    let ws = words(text);
    let first = ws.first().map(String::as_str).unwrap_or_default();
    let by_first = KIND_WORDS
        .iter()
        .find(|(_, list)| list.contains(&first))
        .map(|(k, _)| *k);
    let by_any = KIND_WORDS
        .iter()
        .find(|(_, list)| ws.iter().any(|w| list.contains(&w.as_str())))
        .map(|(k, _)| *k);
    match (by_first, by_any) {
        // "Fix the slow parser" is a bugfix; "Make the parser faster" is performance.
        (Some(GoalKind::Feature), Some(other)) => other,
        (Some(k), _) => k,
        (None, Some(k)) => k,
        (None, None) => GoalKind::Feature,
    }
}

fn overall_kind(parts: &[Part]) -> GoalKind {
    let first = parts.first().map_or(GoalKind::Feature, |p| p.kind);
    if parts.iter().all(|p| p.kind == first) {
        first
    } else {
        GoalKind::Mixed
    }
}

fn anchors_of(text: &str, files: &[String]) -> Vec<String> {
    let mut anchors: Vec<String> = Vec::new();
    let mut add = |a: String| {
        if !anchors.contains(&a) {
            anchors.push(a);
        }
    };
    for quoted in text.split(['`', '"', '\'']).skip(1).step_by(2) {
        if !quoted.trim().is_empty() {
            add(quoted.trim().to_owned());
        }
    }
    for raw in text.split_whitespace() {
        let token = raw
            .trim_matches(|c: char| !(c.is_alphanumeric() || "_/.:-()".contains(c)))
            .trim_end_matches(['.', ':']);
        if looks_like_code(token) {
            add(token.trim_end_matches("()").to_owned());
        }
    }
    for word in words(text) {
        if word.len() >= 3 && !is_filler(&word) && names_a_file(&word, files) {
            add(word);
        }
    }
    for named in named_things(text) {
        add(named);
    }
    anchors
}

/// Documents that a goal can name by their usual name alone (`the README`), existing or not.
const DOC_NAMES: &[&str] = &["readme", "changelog", "contributing", "license", "manpage"];

/// Words that make the word before them a name: `the list command`, `the verbose option`.
const NAMING_WORDS: &[&str] = &["command", "subcommand", "flag", "option", "switch", "endpoint"];

/// What a request names without quotes or paths: command-line flags (`--verbose`, `-v`), the usual
/// documents (`README`, `CHANGELOG`, `man page`), and a word followed by `command`, `flag`, `option`….
fn named_things(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in text.split_whitespace() {
        let token = raw.trim_matches(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'));
        let name = token.trim_start_matches('-');
        let dashes = token.len() - name.len();
        let is_flag = matches!(dashes, 1 | 2)
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && (dashes == 2 || name.len() == 1);
        if is_flag {
            out.push(token.to_owned());
        }
    }
    let ws = words(text);
    for (i, w) in ws.iter().enumerate() {
        let next = ws.get(i + 1).map(String::as_str);
        if DOC_NAMES.contains(&w.as_str()) || (w == "man" && next == Some("page")) {
            out.push(if w == "man" {
                "man page".to_owned()
            } else {
                w.clone()
            });
        } else if next.is_some_and(|n| NAMING_WORDS.contains(&n))
            && !is_filler(w)
            && !w.starts_with('-')
            && w.len() >= 2
        {
            out.push(w.clone());
        }
    }
    out
}

/// Words by which a request points back at the one before it (`… and document it`).
const BACK_REFERENCES: &[&str] = &["it", "this", "that", "them", "these", "those", "same"];

/// Whether `part` says what it acts on by pointing back at the previous request.
fn refers_back(part: &Part) -> bool {
    words(&part.text)
        .iter()
        .any(|w| BACK_REFERENCES.contains(&w.as_str()))
}

/// Words that say what to do rather than where: stop words, the action words of the kind tables, and
/// vague words. They never tie a goal to a file (`fix` does not mean `fix.sh`).
pub fn is_filler(word: &str) -> bool {
    STOP_WORDS.contains(&word)
        || VAGUE_WORDS.contains(&word)
        || KIND_WORDS.iter().any(|(_, list)| list.contains(&word))
        || [
            "update", "remove", "delete", "write", "change", "use", "check", "ensure",
        ]
        .contains(&word)
}

fn looks_like_code(token: &str) -> bool {
    let has_lower_upper =
        token.chars().any(char::is_lowercase) && token.chars().skip(1).any(char::is_uppercase);
    token.len() >= 3
        && (token.contains('_')
            || token.contains("::")
            || token.ends_with("()")
            || has_lower_upper
            || (token.contains('/') && !token.starts_with("http"))
            || token.rsplit_once('.').is_some_and(|(stem, ext)| {
                !stem.is_empty()
                    && (1..=5).contains(&ext.len())
                    && ext.chars().all(|c| c.is_ascii_alphanumeric())
                    && !ext.chars().all(|c| c.is_ascii_digit())
            }))
}

fn names_a_file(word: &str, files: &[String]) -> bool {
    files.iter().any(|f| {
        path_words(f).any(|w| {
            w == word
                || (w.len() > 3 && word.len() > 3 && (w.starts_with(word) || word.starts_with(w.as_str())))
        })
    })
}

/// The lowercase words of a path (components, stems, split at `_`, `-` and `.`).
pub fn path_words(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split(['/', '.', '_', '-'])
        .filter(|w| w.len() >= 3)
        .map(str::to_lowercase)
}

fn numeric_target(text: &str) -> Option<String> {
    text.split_whitespace()
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric() && c != '%' && c != '.'))
        .find(|t| {
            let digits = t.chars().take_while(|c| c.is_ascii_digit() || *c == '.').count();
            digits > 0
                && ["%", "x", "ms", "s", "us", "ns", "mb", "kb", "gb"]
                    .contains(&t[digits..].to_lowercase().as_str())
        })
        .map(str::to_owned)
}

/// The questions each request raises, in order (empty for a testable one).
fn part_questions(parts: &[Part], kind: GoalKind) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    let mut previous_anchored = false;
    for part in parts {
        let anchored = !part.anchors.is_empty() || (previous_anchored && refers_back(part));
        previous_anchored = anchored;
        let mut questions = Vec::new();
        let ws = words(&part.text);
        let meaningful: Vec<&String> = ws.iter().filter(|w| !STOP_WORDS.contains(&w.as_str())).collect();
        let vague = meaningful
            .iter()
            .filter(|w| VAGUE_WORDS.contains(&w.as_str()))
            .count();
        let concrete = meaningful.len() - vague;
        if !anchored && (concrete <= 2 || vague * 2 >= meaningful.len()) {
            questions.extend(vague_questions(part));
        } else if part.kind == GoalKind::Performance
            && part.target.is_none()
            && kind == GoalKind::Performance
            && !anchored
        {
            questions.push(format!(
                "\"{}\": which operation should get faster, measured by which benchmark or command, and by how much (for example 20% or under 50ms)?",
                part.text
            ));
        }
        all.push(questions);
    }
    all
}

fn vague_questions(part: &Part) -> Vec<String> {
    let t = &part.text;
    match part.kind {
        GoalKind::Bugfix => vec![
            format!(
                "\"{t}\": which behaviour is wrong? Name the function, command or file, what it does now and what it should do."
            ),
            format!("\"{t}\": how can the bug be reproduced (an input, a failing test or a command)?"),
        ],
        GoalKind::Performance => vec![format!(
            "\"{t}\": which operation should get faster, measured by which benchmark or command, and by how much (for example 20% or under 50ms)?"
        )],
        _ => vec![
            format!("\"{t}\": which part of the code should change (a file, module, function or command)?"),
            format!(
                "\"{t}\": what observable result shows it is done (a test that should pass, an output, a behaviour)?"
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<String> {
        [
            "src/slugify.rs",
            "src/http/client.rs",
            "tests/slug_test.rs",
            "README.md",
            "bench/parse.rs",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn classifies_kinds() {
        let cases = [
            ("Fix the off-by-one in slugify", GoalKind::Bugfix),
            ("Add retries to the HTTP client", GoalKind::Feature),
            ("Make the parser faster by 20%", GoalKind::Performance),
            ("Document the client module in README.md", GoalKind::Docs),
            ("Refactor client.rs into smaller functions", GoalKind::Refactor),
            ("Rewrite the slug module in Rust", GoalKind::Rewrite),
            ("Audit src/http for injection risks", GoalKind::Audit),
        ];
        for (text, kind) in cases {
            assert_eq!(intake(text, &files()).kind, kind, "{text}");
        }
        assert_eq!(
            intake(
                "Fix the off-by-one in slugify and add retries to the HTTP client",
                &files()
            )
            .kind,
            GoalKind::Mixed
        );
    }

    #[test]
    fn splits_independent_parts() {
        let parts = split_parts("Fix the off-by-one in slugify and add retries to the HTTP client");
        assert_eq!(parts.len(), 2, "{parts:?}");
        let parts = split_parts("Add a --json flag to list, then document it in README.md");
        assert_eq!(
            parts,
            vec![
                ("Add a --json flag to list".into(), false),
                ("document it in README.md".into(), true)
            ]
        );
        let parts = split_parts("1. Fix slugify\n2. Add retries to the client\n- Update README.md");
        assert_eq!(parts.len(), 3, "{parts:?}");
        let parts = split_parts("Support reading and writing TOML");
        assert_eq!(parts.len(), 1, "`and` between nouns does not split: {parts:?}");
    }

    #[test]
    fn vague_goals_get_exact_questions() {
        let i = intake("Make it better", &files());
        assert!(!i.questions.is_empty());
        assert!(
            i.questions.iter().any(|q| q.contains("observable result")),
            "{:?}",
            i.questions
        );
        let i = intake("Fix the bug", &files());
        assert!(
            i.questions.iter().any(|q| q.contains("reproduced")),
            "{:?}",
            i.questions
        );
        assert!(
            intake("Fix the off-by-one in slugify", &files())
                .questions
                .is_empty()
        );
        assert!(intake("Improve things", &files()).questions.len() >= 2);
        assert!(
            intake("Add retries with exponential backoff to `fetch_url`", &[])
                .questions
                .is_empty()
        );
    }

    #[test]
    fn compound_goals_whose_parts_name_a_flag_command_or_doc_are_testable() {
        let no_files: &[String] = &[];
        for text in [
            "Add a --verbose flag to the CLI and document it in the README",
            "Add a --verbose flag to the CLI and document it",
            "Add a -q switch, then update the CHANGELOG",
            "Add a list command and describe it in the man page",
            "Fix the off-by-one in slugify and document the fix in README.md",
        ] {
            let i = intake(text, no_files);
            assert!(i.parts.len() >= 2, "{text}: {:?}", i.parts);
            assert!(i.questions.is_empty(), "{text}: {:?}", i.questions);
        }
        let i = intake("Add a --verbose flag to the CLI and document it", no_files);
        assert!(
            i.parts[0].anchors.contains(&"--verbose".to_owned()),
            "{:?}",
            i.parts
        );
        let i = intake(
            "Add a --verbose flag to the CLI and document it in the README",
            no_files,
        );
        assert!(i.parts[1].anchors.contains(&"readme".to_owned()), "{:?}", i.parts);
        // A back reference to a vague request is no anchor; vague requests still get questions.
        assert!(
            !intake("Make it better and document it", no_files)
                .questions
                .is_empty()
        );
        assert!(!intake("Improve the docs", no_files).questions.is_empty());
        assert!(
            !intake("Fix the bug and add a test for it", no_files)
                .questions
                .is_empty()
        );
    }

    #[test]
    fn answers_clarify_the_requests_that_drew_questions() {
        let text = "Fix the bug and add retries to `fetch_url`";
        let asked = intake(text, &files());
        assert_eq!(asked.questions.len(), 2, "{:?}", asked.questions);
        assert_eq!(intake_answered(text, &[], &files()), asked);
        let vague = intake_answered(text, &["nicer".to_owned()], &files());
        assert!(
            !vague.questions.is_empty(),
            "a vague answer: {:?}",
            vague.questions
        );
        let answers = ["slugify drops the last character; test in tests/slug_test.rs".to_owned()];
        let answered = intake_answered(text, &answers, &files());
        assert!(answered.questions.is_empty(), "{:?}", answered.questions);
        assert_eq!(
            answered.parts[0].text,
            format!("Fix the bug — {}", answers[0]),
            "the answer joins the request it clarifies"
        );
        assert_eq!(
            answered.parts[1], asked.parts[1],
            "a clear request stays as it was"
        );
        assert!(
            answered.parts[0]
                .anchors
                .contains(&"tests/slug_test.rs".to_owned())
        );
    }

    #[test]
    fn anchors_and_targets() {
        let i = intake("Make `parse_header` in src/http/client.rs 2x faster", &files());
        let p = &i.parts[0];
        assert!(p.anchors.contains(&"parse_header".to_owned()), "{:?}", p.anchors);
        assert!(
            p.anchors.contains(&"src/http/client.rs".to_owned()),
            "{:?}",
            p.anchors
        );
        assert_eq!(p.target.as_deref(), Some("2x"));
    }
}
