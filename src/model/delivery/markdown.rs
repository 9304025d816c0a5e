//! Small Markdown helpers for text that GitHub renders: table cells, code spans, short shas and a
//! length cap. Pure.

/// Longest table cell or list item, in characters.
const MAX_CELL_CHARS: usize = 300;

/// Text safe inside a table cell or a list item: one line, pipes escaped, bounded.
pub fn cell(text: &str) -> String {
    let one_line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|");
    cap(&one_line, MAX_CELL_CHARS)
}

/// A code span that survives backticks in `text`.
pub fn code(text: &str) -> String {
    let text = cap(&text.replace(['\n', '\r'], " "), MAX_CELL_CHARS);
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

pub use crate::model::ids::short;

/// `text` cut to at most `max` characters, with a note when something was cut.
pub fn truncate_to(text: String, max: usize) -> String {
    const NOTE: &str = "\n\n_… truncated (GitHub limits the length of this text)._\n\n";
    if text.chars().count() <= max {
        return text;
    }
    let keep = max.saturating_sub(NOTE.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(NOTE);
    out
}

fn cap(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_one_escaped_bounded_line() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
        assert_eq!(cell(&"x".repeat(1000)).chars().count(), MAX_CELL_CHARS);
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(short("0123456789abcdef"), "0123456789ab");
        assert_eq!(short("abc"), "abc");
        let t = truncate_to("y".repeat(500), 100);
        assert!(t.chars().count() <= 100 && t.contains("truncated"));
    }
}
