//! Reviews of a goal's pull request as git-omk reads them (DESIGN §9, the review/fix loop): reviews,
//! inline review comments and conversation comments, turned into findings to address.
//!
//! Owns the small views the forge fills from GitHub's answers and the pure selection: only what humans
//! wrote after the last recorded delivery, never bots or git-omk's own comments, never a comment already
//! addressed; a comment that asks a question rather than a change is told apart so the goal can ask a
//! human instead of guessing. No I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::comment::is_sticky;

/// The hidden marker git-omk's replies to review comments start with.
pub const REPLY_MARKER: &str = "<!-- git-omk:reply -->";

/// Who wrote something on GitHub.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// The login.
    pub login: String,
    /// Whether GitHub says the account is a bot (`type: Bot`, or a `[bot]` login).
    pub bot: bool,
}

/// A submitted review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewView {
    /// Its id.
    pub id: u64,
    /// Who reviewed.
    pub author: Author,
    /// `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`, `DISMISSED`, `PENDING`.
    pub state: String,
    /// The review's own text (may be empty).
    pub body: String,
    /// When it was submitted (`None` while pending).
    pub submitted_at: Option<DateTime<Utc>>,
    /// Its web address.
    pub url: String,
}

/// An inline review comment on a file of the diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewCommentView {
    /// Its id.
    pub id: u64,
    /// The review it belongs to.
    pub review_id: Option<u64>,
    /// The comment it answers, for replies in a thread.
    pub in_reply_to: Option<u64>,
    /// Who wrote it.
    pub author: Author,
    /// The file.
    pub path: String,
    /// The line in the file (right side), when GitHub gives it.
    pub line: Option<u32>,
    /// The position in the diff, when only that is given.
    pub position: Option<u32>,
    /// The commit the comment was made on.
    pub commit_id: String,
    /// The text.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Its web address.
    pub url: String,
}

/// A comment in the PR's conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationCommentView {
    /// Its id.
    pub id: u64,
    /// Who wrote it.
    pub author: Author,
    /// The text.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Its web address.
    pub url: String,
}

/// Where a request for a change came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// The text of a review that requested changes.
    Review,
    /// An inline comment on a file.
    ReviewComment,
    /// A comment in the conversation.
    Conversation,
}

/// What a piece of feedback asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ask {
    /// A change to the code.
    Change,
    /// An answer from a human: the goal blocks on it rather than guessing.
    Question,
}

/// One piece of feedback to address, as it is recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// Where it is.
    pub kind: FeedbackKind,
    /// The GitHub id of the review or comment (unique per kind).
    pub id: u64,
    /// `github:<login>`.
    pub source: String,
    /// The review an inline comment belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_id: Option<u64>,
    /// The file, for inline comments.
    pub path: Option<String>,
    /// The line in the file, when GitHub gives it.
    pub line: Option<u32>,
    /// The position in the PR's diff, when GitHub gives no line (a diff position is not a line number:
    /// it is mapped onto the file with the diff of the comment's commit).
    pub position: Option<u32>,
    /// The text.
    pub body: String,
    /// Its web address.
    pub url: String,
    /// A change or a question.
    pub ask: Ask,
}

/// Everything read from the PR.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrFeedback {
    /// Reviews.
    pub reviews: Vec<ReviewView>,
    /// Inline comments.
    pub review_comments: Vec<ReviewCommentView>,
    /// Conversation comments.
    pub conversation: Vec<ConversationCommentView>,
}

/// What the selection needs to know about the goal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen<'a> {
    /// The login git-omk acts as (its own comments are never feedback).
    pub own_login: Option<&'a str>,
    /// When the last delivery was recorded: only newer feedback counts.
    pub since: Option<DateTime<Utc>>,
    /// Feedback already recorded, by kind and id (never addressed twice).
    pub recorded: &'a [(FeedbackKind, u64)],
}

/// The new feedback of humans to address, oldest first: reviews that requested changes (with text),
/// inline comments that open a thread, and conversation comments.
pub fn select(feedback: &PrFeedback, seen: &Seen<'_>) -> Vec<Feedback> {
    let mut out: Vec<(DateTime<Utc>, Feedback)> = Vec::new();
    for r in &feedback.reviews {
        let Some(at) = r.submitted_at else { continue };
        let requested = r.state == "CHANGES_REQUESTED" && !r.body.trim().is_empty();
        if requested && counts(&r.author, &r.body, at, seen) {
            out.push((
                at,
                feedback_of(FeedbackKind::Review, r.id, &r.author, &r.body, &r.url),
            ));
        }
    }
    for c in &feedback.review_comments {
        if c.in_reply_to.is_none() && counts(&c.author, &c.body, c.created_at, seen) {
            let mut f = feedback_of(FeedbackKind::ReviewComment, c.id, &c.author, &c.body, &c.url);
            f.path = Some(c.path.clone());
            f.review_id = c.review_id;
            f.line = c.line;
            f.position = if c.line.is_none() { c.position } else { None };
            out.push((c.created_at, f));
        }
    }
    for c in &feedback.conversation {
        if counts(&c.author, &c.body, c.created_at, seen) {
            let f = feedback_of(FeedbackKind::Conversation, c.id, &c.author, &c.body, &c.url);
            out.push((c.created_at, f));
        }
    }
    out.retain(|(_, f)| !seen.recorded.contains(&(f.kind, f.id)));
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
    out.into_iter().map(|(_, f)| f).collect()
}

/// Whether something written by `author` at `at` is new human feedback.
fn counts(author: &Author, body: &str, at: DateTime<Utc>, seen: &Seen<'_>) -> bool {
    let own = seen
        .own_login
        .is_some_and(|l| l.eq_ignore_ascii_case(&author.login));
    let ours = is_sticky(body) || body.trim_start().starts_with(REPLY_MARKER);
    let new = seen.since.is_none_or(|since| at > since);
    !author.bot && !own && !ours && new && !body.trim().is_empty()
}

fn feedback_of(kind: FeedbackKind, id: u64, author: &Author, body: &str, url: &str) -> Feedback {
    Feedback {
        kind,
        id,
        source: format!("github:{}", author.login),
        review_id: None,
        path: None,
        line: None,
        position: None,
        body: body.trim().to_owned(),
        url: url.to_owned(),
        ask: ask_of(body),
    }
}

/// Whether a comment asks a question rather than a change: its last sentence ends with `?` and it
/// does not also ask for a change in so many words ("please", "should", "must", a suggestion block).
pub fn ask_of(body: &str) -> Ask {
    let text = body.trim();
    let lower = text.to_lowercase();
    let asks_change = [
        "```suggestion",
        "please ",
        "should ",
        "must ",
        "needs to ",
        "change ",
        "rename ",
        "fix ",
    ]
    .iter()
    .any(|w| lower.contains(w));
    if text.ends_with('?') && !asks_change {
        Ask::Question
    } else {
        Ask::Change
    }
}

/// A bot account as GitHub marks it.
pub fn is_bot(kind: Option<&str>, login: &str) -> bool {
    kind.is_some_and(|k| k.eq_ignore_ascii_case("bot")) || login.ends_with("[bot]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn human(login: &str) -> Author {
        Author {
            login: login.into(),
            bot: false,
        }
    }

    fn inline(id: u64, login: &str, body: &str, when: &str) -> ReviewCommentView {
        ReviewCommentView {
            id,
            review_id: Some(1),
            in_reply_to: None,
            author: human(login),
            path: "calc.py".into(),
            line: None,
            position: Some(2),
            commit_id: "c".into(),
            body: body.into(),
            created_at: at(when),
            url: format!("https://github.com/o/r/pull/1#discussion_r{id}"),
        }
    }

    fn conversation(id: u64, author: Author, body: &str, when: &str) -> ConversationCommentView {
        ConversationCommentView {
            id,
            author,
            body: body.into(),
            created_at: at(when),
            url: format!("https://github.com/o/r/pull/1#issuecomment-{id}"),
        }
    }

    fn sample() -> PrFeedback {
        let mut reply = inline(12, "alice", "agreed", "2026-01-02T00:00:03Z");
        reply.in_reply_to = Some(10);
        PrFeedback {
            reviews: vec![
                ReviewView {
                    id: 1,
                    author: human("alice"),
                    state: "CHANGES_REQUESTED".into(),
                    body: "Two things to fix.".into(),
                    submitted_at: Some(at("2026-01-02T00:00:00Z")),
                    url: "https://github.com/o/r/pull/1#pullrequestreview-1".into(),
                },
                ReviewView {
                    id: 2,
                    author: human("bob"),
                    state: "APPROVED".into(),
                    body: "LGTM".into(),
                    submitted_at: Some(at("2026-01-02T00:00:05Z")),
                    url: String::new(),
                },
            ],
            review_comments: vec![
                inline(10, "alice", "Please use `+` here.", "2026-01-02T00:00:01Z"),
                inline(11, "alice", "Why is this lower-casing?", "2026-01-02T00:00:02Z"),
                reply,
            ],
            conversation: vec![
                conversation(
                    20,
                    human("carol"),
                    "Also update the README.",
                    "2026-01-02T00:00:04Z",
                ),
                conversation(
                    21,
                    Author {
                        login: "ci[bot]".into(),
                        bot: true,
                    },
                    "Coverage dropped",
                    "2026-01-02T00:00:06Z",
                ),
                conversation(22, human("omk-bot"), "anything", "2026-01-02T00:00:07Z"),
                conversation(
                    23,
                    human("dave"),
                    "<!-- git-omk:proof-summary -->\nquoted",
                    "2026-01-02T00:00:08Z",
                ),
                conversation(24, human("old"), "Before the delivery", "2026-01-01T00:00:00Z"),
            ],
        }
    }

    #[test]
    fn only_new_human_feedback_is_selected_in_order() {
        let seen = Seen {
            own_login: Some("omk-bot"),
            since: Some(at("2026-01-01T12:00:00Z")),
            recorded: &[],
        };
        let picked = select(&sample(), &seen);
        let ids: Vec<(FeedbackKind, u64)> = picked.iter().map(|f| (f.kind, f.id)).collect();
        assert_eq!(
            ids,
            [
                (FeedbackKind::Review, 1),
                (FeedbackKind::ReviewComment, 10),
                (FeedbackKind::ReviewComment, 11),
                (FeedbackKind::Conversation, 20),
            ],
            "no approval, reply, bot, own comment, sticky summary or older comment"
        );
        assert_eq!(picked[1].source, "github:alice");
        assert_eq!(
            (picked[1].path.as_deref(), picked[1].line, picked[1].position),
            (Some("calc.py"), None, Some(2)),
            "a diff position is kept as such, not taken for a line"
        );
        assert_eq!(picked[1].ask, Ask::Change);
        assert_eq!(picked[2].ask, Ask::Question);
    }

    #[test]
    fn recorded_feedback_is_never_selected_again() {
        let recorded = [(FeedbackKind::Review, 1), (FeedbackKind::ReviewComment, 10)];
        let seen = Seen {
            own_login: Some("omk-bot"),
            since: None,
            recorded: &recorded,
        };
        let ids: Vec<u64> = select(&sample(), &seen).iter().map(|f| f.id).collect();
        assert_eq!(ids, [24, 11, 20], "oldest first");
    }

    #[test]
    fn questions_are_told_from_requests_for_changes() {
        for (text, ask) in [
            ("Why is this lower-casing?", Ask::Question),
            ("Could you explain the retry limit?", Ask::Question),
            ("Please handle the empty string?", Ask::Change),
            ("This should be `a + b`?", Ask::Change),
            ("Use a + b here.", Ask::Change),
            ("```suggestion\nreturn a + b\n```\nok?", Ask::Change),
        ] {
            assert_eq!(ask_of(text), ask, "{text}");
        }
        assert!(is_bot(Some("Bot"), "x") && is_bot(None, "dependabot[bot]") && !is_bot(Some("User"), "x"));
    }
}
