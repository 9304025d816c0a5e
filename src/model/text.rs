//! Validation and normalisation of text typed by people: goal sentences, summaries, reasons.
//!
//! Owns the limits (length, allowed characters) and the derivation of a one-line title. Pure.

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty after trimming.
    #[error(
        "the {field} is empty: write what you want, e.g. git omk goal plan \"Fix the off-by-one in slugify\""
    )]
    Empty {
        /// Which text.
        field: &'static str,
    },
    /// Longer than allowed.
    #[error(
        "the {field} is {len} bytes long; the limit is {max} bytes: put the details in a file in the repository and refer to it"
    )]
    TooLong {
        /// Which text.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Contains control characters (other than newline and tab).
    #[error(
        "the {field} contains a control character ({found}) at byte {at}: remove it (only newlines and tabs are allowed)"
    )]
    ControlCharacter {
        /// Which text.
        field: &'static str,
        /// The character, escaped.
        found: String,
        /// Byte offset.
        at: usize,
    },
}

/// The longest goal text accepted, in bytes.
pub const MAX_GOAL_BYTES: usize = 8 * 1024;
/// The longest summary or reason accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 4 * 1024;
/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 72;

/// Validate and normalise: trim, unify line endings, turn tabs into spaces, collapse runs of spaces and of
/// blank lines. Refuses empty text, text over `max` bytes and control characters.
pub fn normalise(field: &'static str, raw: &str, max: usize) -> Result<String, TextError> {
    if raw.len() > max {
        return Err(TextError::TooLong {
            field,
            len: raw.len(),
            max,
        });
    }
    if let Some((at, c)) = raw
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(TextError::ControlCharacter {
            field,
            found: c.escape_unicode().to_string(),
            at,
        });
    }
    let unified = raw.replace("\r\n", "\n").replace(['\r', '\t'], " ");
    let mut lines: Vec<String> = Vec::new();
    for line in unified.lines() {
        let collapsed = line
            .split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let blank_run = lines.last().is_some_and(String::is_empty) && collapsed.is_empty();
        if !blank_run {
            lines.push(collapsed);
        }
    }
    let text = lines.join("\n").trim().to_owned();
    if text.is_empty() {
        return Err(TextError::Empty { field });
    }
    Ok(text)
}

/// A one-line title for `text`: its first line, cut at the first sentence end, at most
/// [`MAX_TITLE_CHARS`] characters (cut at a word boundary, marked with `…`).
pub fn title_of(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default().trim();
    let sentence = match first.find(". ") {
        Some(i) if i > 0 => &first[..i],
        _ => first.trim_end_matches('.'),
    };
    if sentence.chars().count() <= MAX_TITLE_CHARS {
        return sentence.to_owned();
    }
    let cut: String = sentence.chars().take(MAX_TITLE_CHARS - 1).collect();
    let at_word = cut
        .rfind(' ')
        .filter(|&i| i > MAX_TITLE_CHARS / 2)
        .map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_refuses() {
        assert_eq!(
            normalise("goal", "  Fix   the\tbug \r\n\n\n\nin x ", 100).unwrap(),
            "Fix the bug\n\nin x"
        );
        assert_eq!(
            normalise("goal", " \n\t ", 100),
            Err(TextError::Empty { field: "goal" })
        );
        assert!(matches!(
            normalise("goal", &"a".repeat(101), 100),
            Err(TextError::TooLong { len: 101, .. })
        ));
        assert!(matches!(
            normalise("goal", "a\u{1b}[31mb", 100),
            Err(TextError::ControlCharacter { at: 1, .. })
        ));
        assert!(matches!(
            normalise("goal", "a\0b", 100),
            Err(TextError::ControlCharacter { .. })
        ));
    }

    #[test]
    fn titles() {
        assert_eq!(
            title_of("Fix the off-by-one in slugify. Also add tests."),
            "Fix the off-by-one in slugify"
        );
        assert_eq!(title_of("Fix it.\nmore"), "Fix it");
        let long = "word ".repeat(40);
        let t = title_of(&long);
        assert!(t.chars().count() <= MAX_TITLE_CHARS && t.ends_with('…'), "{t}");
        let unicode = "é".repeat(100);
        assert_eq!(title_of(&unicode).chars().count(), MAX_TITLE_CHARS);
    }
}
