//! The forge seam (DESIGN §9, §12): what delivery needs from a code host, as a trait, and its GitHub
//! implementation on octocrab.
//!
//! Owns the requests and the reading of responses into the project's own small types (the merge gate's
//! views live in `model::delivery::merge`). Branch protection and rulesets are only read. The forge never
//! decides anything: ops decide with `model` and call these methods. Tokens stay in memory.

pub mod github;
pub mod target;
pub mod token;
mod wire;

use crate::model::delivery::comment::ExistingComment;
use crate::model::delivery::merge::{BaseRequirements, CheckView, PullView};
use crate::model::delivery::reviews::{ConversationCommentView, ReviewCommentView, ReviewView};

pub use github::GitHub;
pub use target::{ForgeTarget, RepoSlug};
pub use token::Token;

/// The repository as the forge describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoInfo {
    /// `owner/name`.
    pub full_name: String,
    /// Its web address (proof links are `<html_url>/commit/<sha>`).
    pub html_url: String,
    /// The address `git fetch` uses.
    pub clone_url: String,
    /// The default branch (the PR base unless told otherwise).
    pub default_branch: String,
}

/// A pull request with its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequest {
    /// What the merge gate reads.
    pub view: PullView,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
}

/// A pull request to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPull<'a> {
    /// Title.
    pub title: &'a str,
    /// Body.
    pub body: &'a str,
    /// Head branch (in the same repository).
    pub head: &'a str,
    /// Base branch.
    pub base: &'a str,
    /// Open as a draft.
    pub draft: bool,
}

/// A completed check run to publish on a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCheckRun<'a> {
    /// Its name (one check per name and commit is what branch protection reads).
    pub name: &'a str,
    /// The commit it is about.
    pub head_sha: &'a str,
    /// `success`, `failure`, `neutral`, …
    pub conclusion: &'a str,
    /// One line.
    pub title: &'a str,
    /// Markdown.
    pub summary: &'a str,
}

/// How a merge request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeOutcome {
    /// Merged; the merge commit when reported.
    Merged {
        /// The merge commit.
        sha: Option<String>,
    },
    /// The forge refused (head moved, checks, reviews, conflicts): its message.
    Refused {
        /// What it said.
        message: String,
    },
}

/// A failed forge request. Messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForgeError {
    /// 401: the token is invalid, expired or revoked.
    #[error(
        "GitHub rejected the token from {source_name} ({what}: {message}): create a new token or run `gh auth login`"
    )]
    TokenRejected {
        /// Where the token came from.
        source_name: String,
        /// The request.
        what: String,
        /// GitHub's message.
        message: String,
    },
    /// 403 without rate-limit headers: the token may not do this.
    #[error(
        "GitHub refused {what} with the token from {source_name}: {message}; the token needs the `repo` scope (classic) or contents, pull requests and checks permissions (fine-grained), and SSO authorisation for the organisation"
    )]
    Forbidden {
        /// Where the token came from.
        source_name: String,
        /// The request.
        what: String,
        /// GitHub's message.
        message: String,
    },
    /// 429, or 403 with rate-limit headers.
    #[error("GitHub's rate limit was hit ({what}): {message}; run the command again {when}")]
    RateLimited {
        /// The request.
        what: String,
        /// GitHub's message.
        message: String,
        /// When to retry, in words (`after 2026-11-22T04:00:00Z`, `in 60 s`, `later`).
        when: String,
    },
    /// 404.
    #[error("{what}: not found (the repository or object does not exist, or the token cannot see it)")]
    NotFound {
        /// The request.
        what: String,
    },
    /// 422 and other refusals of the request's content.
    #[error("GitHub refused {what}: {message}")]
    Invalid {
        /// The request.
        what: String,
        /// GitHub's message with its error details.
        message: String,
    },
    /// 5xx after octocrab's retries.
    #[error("GitHub failed {what} with HTTP {status}: {message}; try again later")]
    Server {
        /// The request.
        what: String,
        /// Status code.
        status: u16,
        /// GitHub's message.
        message: String,
    },
    /// No HTTP answer (DNS, TLS, connection, timeout).
    #[error("cannot reach GitHub at {api} ({what}): {message}")]
    Transport {
        /// API base.
        api: String,
        /// The request.
        what: String,
        /// The transport error.
        message: String,
    },
    /// A response this client cannot read.
    #[error("unexpected answer from GitHub to {what}: {message}")]
    Unexpected {
        /// The request.
        what: String,
        /// What was wrong with it.
        message: String,
    },
}

impl ForgeError {
    /// Whether the token was refused (401/403): a human must fix credentials.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            ForgeError::TokenRejected { .. } | ForgeError::Forbidden { .. }
        )
    }
}

/// What delivery needs from a code host. Implementations must be idempotent where the host retries:
/// callers find before they create.
pub trait Forge {
    /// The repository.
    fn repository(&self) -> Result<RepoInfo, ForgeError>;
    /// The PRs whose head is `branch` of this repository, any state, oldest first.
    fn pulls_by_head(&self, branch: &str) -> Result<Vec<PullRequest>, ForgeError>;
    /// One PR.
    fn pull(&self, number: u64) -> Result<PullRequest, ForgeError>;
    /// Open a PR.
    fn create_pull(&self, new: &NewPull<'_>) -> Result<PullRequest, ForgeError>;
    /// Change a PR's title and body.
    fn update_pull(&self, number: u64, title: &str, body: &str) -> Result<PullRequest, ForgeError>;
    /// The PR's conversation comments, oldest first.
    fn comments(&self, number: u64) -> Result<Vec<ExistingComment>, ForgeError>;
    /// Post a comment; returns its id.
    fn create_comment(&self, number: u64, body: &str) -> Result<u64, ForgeError>;
    /// Edit a comment.
    fn update_comment(&self, id: u64, body: &str) -> Result<(), ForgeError>;
    /// Delete a comment.
    fn delete_comment(&self, id: u64) -> Result<(), ForgeError>;
    /// Checks on a commit: check runs and commit statuses, newest per name.
    fn checks(&self, sha: &str) -> Result<Vec<CheckView>, ForgeError>;
    /// What the base branch requires (branch protection and rulesets, read only).
    fn base_requirements(&self, branch: &str) -> Result<BaseRequirements, ForgeError>;
    /// Merge the PR if its head is still `sha`.
    fn merge(&self, number: u64, sha: &str, title: &str) -> Result<MergeOutcome, ForgeError>;
    /// Publish a completed check run; returns its id.
    fn create_check_run(&self, run: &NewCheckRun<'_>) -> Result<u64, ForgeError>;
    /// The PR's reviews, oldest first.
    fn reviews(&self, number: u64) -> Result<Vec<ReviewView>, ForgeError>;
    /// The PR's inline review comments, oldest first.
    fn review_comments(&self, number: u64) -> Result<Vec<ReviewCommentView>, ForgeError>;
    /// The PR's conversation comments with their authors, oldest first.
    fn conversation(&self, number: u64) -> Result<Vec<ConversationCommentView>, ForgeError>;
    /// Answer an inline review comment in its thread; returns the reply's id.
    fn reply_to_review_comment(&self, number: u64, comment_id: u64, body: &str) -> Result<u64, ForgeError>;
    /// The login the token acts as (`None` when the token may not tell, as for an Actions token).
    fn viewer_login(&self) -> Result<Option<String>, ForgeError>;
}
