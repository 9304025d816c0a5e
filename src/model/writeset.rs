//! Write-set and read-set globs: validation (they stay inside the repository) and overlap.
//!
//! Owns the rule that a path pattern is relative to the repository root, never absolute, never climbs
//! with `..` and never names `.git` (DESIGN §5, §11.5), and a conservative overlap test used to order
//! tasks whose writes could collide. Pure.

use serde::{Deserialize, Serialize};

/// Why a path pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Empty pattern.
    #[error("empty path pattern")]
    Empty,
    /// Starts at the file-system root or a drive.
    #[error("`{0}` is absolute: path patterns are relative to the repository root")]
    Absolute(String),
    /// Contains a `..` component.
    #[error("`{0}` leaves the repository through `..`")]
    ParentDir(String),
    /// Names the git directory.
    #[error("`{0}` names `.git`, which agents may never touch")]
    GitDir(String),
    /// Control characters, backslashes or other unusable text.
    #[error("`{0}` contains characters not allowed in a path pattern")]
    BadCharacters(String),
    /// Not a valid glob.
    #[error("`{pattern}` is not a valid glob: {reason}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// What the glob parser said.
        reason: String,
    },
}

/// A validated glob relative to the repository root, like `src/slug.rs` or `tests/**`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PathPattern(String);

impl PathPattern {
    /// Longest accepted pattern.
    pub const MAX_LEN: usize = 512;

    /// Validate a pattern.
    pub fn parse(text: &str) -> Result<PathPattern, PatternError> {
        let t = text.strip_prefix("./").unwrap_or(text);
        if t.is_empty() {
            return Err(PatternError::Empty);
        }
        if t.len() > Self::MAX_LEN || t.chars().any(|c| c.is_control() || c == '\\') {
            return Err(PatternError::BadCharacters(text.to_owned()));
        }
        if t.starts_with('/') || t.starts_with('~') || t.as_bytes().get(1) == Some(&b':') {
            return Err(PatternError::Absolute(text.to_owned()));
        }
        for component in t.split('/') {
            if component == ".." {
                return Err(PatternError::ParentDir(text.to_owned()));
            }
            if component.eq_ignore_ascii_case(".git") {
                return Err(PatternError::GitDir(text.to_owned()));
            }
        }
        globset::Glob::new(t).map_err(|e| PatternError::Glob {
            pattern: text.to_owned(),
            reason: e.kind().to_string(),
        })?;
        Ok(PathPattern(t.trim_end_matches('/').to_owned()))
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The literal text before the first wildcard (the whole pattern when it has none). Every path the
    /// pattern matches starts with it.
    fn literal_prefix(&self) -> &str {
        self.0
            .find(['*', '?', '[', '{'])
            .map_or(self.0.as_str(), |i| &self.0[..i])
    }

    fn is_literal(&self) -> bool {
        !self.0.contains(['*', '?', '[', '{'])
    }

    /// Whether `path` (repository-relative, `/`-separated) is matched by this pattern. A literal pattern
    /// also matches everything below it, as a directory.
    pub fn matches(&self, path: &str) -> bool {
        if self.is_literal() {
            return path == self.0
                || path
                    .strip_prefix(&self.0)
                    .is_some_and(|rest| rest.starts_with('/'));
        }
        globset::GlobBuilder::new(&self.0)
            .literal_separator(true)
            .build()
            .map(|g| g.compile_matcher().is_match(path))
            .unwrap_or(false)
    }

    /// Whether some path could be matched by both patterns. Conservative: it may say yes when the true
    /// answer is no (which only serialises two tasks), never no when it is yes. Any path matched by both
    /// starts with both literal prefixes, so one prefix must extend the other.
    pub fn may_overlap(&self, other: &PathPattern) -> bool {
        if self.is_literal() && other.is_literal() {
            return self.matches(&other.0) || other.matches(&self.0);
        }
        let (a, b) = (self.literal_prefix(), other.literal_prefix());
        a.starts_with(b) || b.starts_with(a)
    }
}

impl TryFrom<String> for PathPattern {
    type Error = PatternError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PathPattern::parse(&s)
    }
}

impl From<PathPattern> for String {
    fn from(p: PathPattern) -> String {
        p.0
    }
}

/// Whether any pattern of `a` may overlap any pattern of `b`.
pub fn sets_may_overlap(a: &[PathPattern], b: &[PathPattern]) -> bool {
    a.iter().any(|x| b.iter().any(|y| x.may_overlap(y)))
}

/// Whether `path` is inside the set (matched by at least one pattern).
pub fn set_matches(set: &[PathPattern], path: &str) -> bool {
    set.iter().any(|p| p.matches(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathPattern {
        PathPattern::parse(s).unwrap()
    }

    #[test]
    fn patterns_stay_inside_the_repository() {
        for good in ["src/slug.rs", "tests/**", "src/*.rs", "./docs/", "**/*.md"] {
            assert!(PathPattern::parse(good).is_ok(), "{good}");
        }
        let cases = [
            ("/etc/passwd", "Absolute"),
            ("~/x", "Absolute"),
            ("C:/x", "Absolute"),
            ("../x", "ParentDir"),
            ("src/../../x", "ParentDir"),
            (".git/config", "GitDir"),
            ("a/.GIT/hooks", "GitDir"),
            ("a\\b", "BadCharacters"),
            ("a\nb", "BadCharacters"),
            ("", "Empty"),
            ("src/[", "Glob"),
        ];
        for (bad, kind) in cases {
            let err = PathPattern::parse(bad).unwrap_err();
            assert!(format!("{err:?}").starts_with(kind), "{bad}: {err:?}");
        }
    }

    #[test]
    fn matching() {
        assert!(p("src/slug.rs").matches("src/slug.rs"));
        assert!(p("src").matches("src/a/b.rs"));
        assert!(!p("src").matches("srcx/a.rs"));
        assert!(p("src/*.rs").matches("src/a.rs"));
        assert!(!p("src/*.rs").matches("src/a/b.rs"));
        assert!(p("tests/**").matches("tests/a/b.py"));
        assert!(p("**/*.md").matches("docs/a.md"));
    }

    #[test]
    fn overlap_is_conservative() {
        assert!(p("src/a.rs").may_overlap(&p("src/a.rs")));
        assert!(!p("src/a.rs").may_overlap(&p("src/b.rs")));
        assert!(p("src").may_overlap(&p("src/b.rs")));
        assert!(p("src/**").may_overlap(&p("src/b.rs")));
        assert!(!p("src/**").may_overlap(&p("tests/b.rs")));
        assert!(p("**/*.md").may_overlap(&p("docs/**")));
        assert!(!p("docs/*.md").may_overlap(&p("src/*.rs")));
        assert!(p("src/*.rs").may_overlap(&p("src/a/**")));
        assert!(!p("tests/slugify*").may_overlap(&p("tests/client*")));
        assert!(p("tests/slug*").may_overlap(&p("tests/slugify*")));
        assert!(p("**").may_overlap(&p("x")));
    }
}
