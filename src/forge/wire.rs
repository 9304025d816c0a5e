//! GitHub's JSON, read leniently into small structs: only the fields delivery and the merge gate use,
//! every one optional where GitHub may omit or null it (octocrab's full models fail on some real
//! responses), then turned into the model's views.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{PullRequest, RepoInfo};
use crate::model::delivery::comment::ExistingComment;
use crate::model::delivery::merge::{BaseRequirements, CheckState, CheckView, PullState, PullView};
use crate::model::delivery::reviews::{
    Author, ConversationCommentView, ReviewCommentView, ReviewView, is_bot,
};

/// `GET /repos/{owner}/{repo}`.
#[derive(Deserialize)]
pub struct RepoJson {
    full_name: Option<String>,
    html_url: String,
    clone_url: Option<String>,
    default_branch: Option<String>,
}

impl RepoJson {
    /// The repository info.
    pub fn into_info(self, fallback_name: &str) -> RepoInfo {
        let html = self.html_url.trim_end_matches('/').to_owned();
        RepoInfo {
            full_name: self.full_name.unwrap_or_else(|| fallback_name.to_owned()),
            clone_url: self.clone_url.unwrap_or_else(|| format!("{html}.git")),
            html_url: html,
            default_branch: self.default_branch.unwrap_or_else(|| "main".to_owned()),
        }
    }
}

#[derive(Deserialize)]
struct BranchRefJson {
    #[serde(rename = "ref")]
    name: String,
    sha: String,
}

/// A pull request, full or simple form.
#[derive(Deserialize)]
pub struct PullJson {
    number: u64,
    html_url: String,
    state: String,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    #[serde(default)]
    mergeable: Option<bool>,
    #[serde(default)]
    mergeable_state: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    body: Option<String>,
    head: BranchRefJson,
    base: BranchRefJson,
}

impl PullJson {
    /// The PR with its text.
    pub fn into_pull(self) -> PullRequest {
        // `merged` is authoritative when present (the simple form has only `merged_at`); an open PR is
        // open whatever else it says.
        let merged = self.merged.unwrap_or(self.merged_at.is_some());
        let state = match (self.state.as_str(), merged) {
            ("open", _) => PullState::Open,
            (_, true) => PullState::Merged,
            (_, false) => PullState::Closed,
        };
        PullRequest {
            view: PullView {
                number: self.number,
                url: self.html_url,
                state,
                draft: self.draft.unwrap_or(false),
                head_sha: self.head.sha,
                head_ref: self.head.name,
                base_ref: self.base.name,
                mergeable: self.mergeable,
                mergeable_state: self.mergeable_state,
                merge_commit: if merged { self.merge_commit_sha } else { None },
            },
            title: self.title.unwrap_or_default(),
            body: self.body.unwrap_or_default(),
        }
    }
}

/// An issue comment.
#[derive(Deserialize)]
pub struct CommentJson {
    id: u64,
    #[serde(default)]
    body: Option<String>,
}

impl CommentJson {
    /// As the sticky upsert sees it.
    pub fn into_existing(self) -> ExistingComment {
        ExistingComment {
            id: self.id,
            body: self.body.unwrap_or_default(),
        }
    }

    /// Its id.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// A user as GitHub embeds it in reviews and comments.
#[derive(Deserialize)]
pub struct UserJson {
    /// The login.
    pub login: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl UserJson {
    fn into_author(self) -> Author {
        Author {
            bot: is_bot(self.kind.as_deref(), &self.login),
            login: self.login,
        }
    }
}

fn author(user: Option<UserJson>) -> Author {
    user.map(UserJson::into_author).unwrap_or(Author {
        login: "ghost".to_owned(),
        bot: false,
    })
}

/// `GET /repos/{owner}/{repo}/pulls/{n}/reviews` items.
#[derive(Deserialize)]
pub struct ReviewJson {
    id: u64,
    user: Option<UserJson>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    submitted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    html_url: Option<String>,
}

impl ReviewJson {
    /// As the review loop reads it.
    pub fn into_view(self) -> ReviewView {
        ReviewView {
            id: self.id,
            author: author(self.user),
            state: self.state.unwrap_or_default().to_ascii_uppercase(),
            body: self.body.unwrap_or_default(),
            submitted_at: self.submitted_at,
            url: self.html_url.unwrap_or_default(),
        }
    }
}

/// `GET /repos/{owner}/{repo}/pulls/{n}/comments` items.
#[derive(Deserialize)]
pub struct ReviewCommentJson {
    id: u64,
    #[serde(default)]
    pull_request_review_id: Option<u64>,
    #[serde(default)]
    in_reply_to_id: Option<u64>,
    user: Option<UserJson>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    line: Option<u32>,
    #[serde(default)]
    original_line: Option<u32>,
    #[serde(default)]
    position: Option<u32>,
    #[serde(default)]
    original_position: Option<u32>,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    body: Option<String>,
    created_at: DateTime<Utc>,
    #[serde(default)]
    html_url: Option<String>,
}

impl ReviewCommentJson {
    /// As the review loop reads it.
    pub fn into_view(self) -> ReviewCommentView {
        ReviewCommentView {
            id: self.id,
            review_id: self.pull_request_review_id,
            in_reply_to: self.in_reply_to_id,
            author: author(self.user),
            path: self.path.unwrap_or_default(),
            line: self.line.or(self.original_line),
            position: self.position.or(self.original_position),
            commit_id: self.commit_id.unwrap_or_default(),
            body: self.body.unwrap_or_default(),
            created_at: self.created_at,
            url: self.html_url.unwrap_or_default(),
        }
    }
}

/// `GET /repos/{owner}/{repo}/issues/{n}/comments` items, with their authors.
#[derive(Deserialize)]
pub struct IssueCommentJson {
    id: u64,
    user: Option<UserJson>,
    #[serde(default)]
    body: Option<String>,
    created_at: DateTime<Utc>,
    #[serde(default)]
    html_url: Option<String>,
}

impl IssueCommentJson {
    /// As the review loop reads it.
    pub fn into_view(self) -> ConversationCommentView {
        ConversationCommentView {
            id: self.id,
            author: author(self.user),
            body: self.body.unwrap_or_default(),
            created_at: self.created_at,
            url: self.html_url.unwrap_or_default(),
        }
    }
}

/// Any created object, read for its id.
#[derive(Deserialize)]
pub struct IdJson {
    /// Its id.
    pub id: u64,
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`.
#[derive(Deserialize)]
pub struct CheckRunsJson {
    #[serde(default)]
    check_runs: Vec<CheckRunJson>,
}

#[derive(Deserialize)]
struct CheckRunJson {
    id: u64,
    name: String,
    status: Option<String>,
    conclusion: Option<String>,
}

impl CheckRunsJson {
    /// `(id, check)` for each run.
    pub fn into_checks(self) -> Vec<(u64, CheckView)> {
        self.check_runs
            .into_iter()
            .map(|r| {
                let state = match (r.status.as_deref(), r.conclusion.as_deref()) {
                    (Some("completed"), Some("success" | "neutral" | "skipped")) => CheckState::Passed,
                    (Some("completed"), Some(other)) => CheckState::Failed(other.to_owned()),
                    (Some("completed"), None) => CheckState::Failed("no conclusion".to_owned()),
                    _ => CheckState::Pending,
                };
                (r.id, CheckView { name: r.name, state })
            })
            .collect()
    }
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/status` (legacy commit statuses).
#[derive(Deserialize)]
pub struct CombinedStatusJson {
    #[serde(default)]
    statuses: Vec<StatusJson>,
}

#[derive(Deserialize)]
struct StatusJson {
    id: u64,
    context: String,
    state: String,
}

impl CombinedStatusJson {
    /// `(id, check)` for each status context.
    pub fn into_checks(self) -> Vec<(u64, CheckView)> {
        self.statuses
            .into_iter()
            .map(|s| {
                let state = match s.state.as_str() {
                    "success" => CheckState::Passed,
                    "pending" => CheckState::Pending,
                    other => CheckState::Failed(other.to_owned()),
                };
                (
                    s.id,
                    CheckView {
                        name: s.context,
                        state,
                    },
                )
            })
            .collect()
    }
}

#[derive(Deserialize, Default)]
struct RequiredChecksJson {
    #[serde(default)]
    contexts: Vec<String>,
    #[serde(default)]
    checks: Vec<ContextJson>,
}

#[derive(Deserialize)]
struct ContextJson {
    context: String,
}

#[derive(Deserialize)]
struct ReviewsJson {
    #[serde(default)]
    required_approving_review_count: Option<u32>,
}

/// `GET /repos/{owner}/{repo}/branches/{branch}/protection`.
#[derive(Deserialize)]
pub struct ProtectionJson {
    #[serde(default)]
    required_status_checks: Option<RequiredChecksJson>,
    #[serde(default)]
    required_pull_request_reviews: Option<ReviewsJson>,
}

impl ProtectionJson {
    /// Add what it requires.
    pub fn add_to(self, req: &mut BaseRequirements) {
        if let Some(checks) = self.required_status_checks {
            add_checks(req, checks);
        }
        if let Some(reviews) = self.required_pull_request_reviews {
            let n = reviews.required_approving_review_count.unwrap_or(0);
            req.required_approvals = req.required_approvals.max(n);
        }
    }
}

/// `GET /repos/{owner}/{repo}/branches/{branch}`: its protection summary is readable without admin rights.
#[derive(Deserialize)]
pub struct BranchJson {
    #[serde(default)]
    protection: Option<BranchProtectionJson>,
}

#[derive(Deserialize)]
struct BranchProtectionJson {
    #[serde(default)]
    required_status_checks: Option<RequiredChecksJson>,
}

impl BranchJson {
    /// Add the required checks it names.
    pub fn add_to(self, req: &mut BaseRequirements) {
        if let Some(checks) = self.protection.and_then(|p| p.required_status_checks) {
            add_checks(req, checks);
        }
    }
}

fn add_checks(req: &mut BaseRequirements, checks: RequiredChecksJson) {
    let names = checks
        .contexts
        .into_iter()
        .chain(checks.checks.into_iter().map(|c| c.context));
    for name in names {
        if !req.required_checks.contains(&name) {
            req.required_checks.push(name);
        }
    }
}

/// One rule of `GET /repos/{owner}/{repo}/rules/branches/{branch}`.
#[derive(Deserialize)]
pub struct RuleJson {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    parameters: Option<serde_json::Value>,
}

impl RuleJson {
    /// Add what the rule requires; rule types the gate does not read are ignored.
    pub fn add_to(self, req: &mut BaseRequirements) {
        let params = self.parameters.unwrap_or_default();
        match self.kind.as_str() {
            "required_status_checks" => {
                let contexts = params["required_status_checks"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|c| c["context"].as_str()).collect::<Vec<_>>())
                    .unwrap_or_default();
                for name in contexts {
                    if !req.required_checks.iter().any(|n| n == name) {
                        req.required_checks.push(name.to_owned());
                    }
                }
            }
            "pull_request" => {
                let n = params["required_approving_review_count"].as_u64().unwrap_or(0);
                req.required_approvals = req.required_approvals.max(u32::try_from(n).unwrap_or(u32::MAX));
            }
            _ => {}
        }
    }
}

/// `PUT /repos/{owner}/{repo}/pulls/{n}/merge`.
#[derive(Deserialize)]
pub struct MergeJson {
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(default)]
    pub merged: Option<bool>,
    #[serde(default)]
    pub message: Option<String>,
}

/// GitHub's error body.
#[derive(Deserialize, Default)]
pub struct ErrorJson {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

impl ErrorJson {
    /// `message (detail; detail)` from whatever the body holds.
    pub fn describe(body: &str) -> String {
        let parsed: ErrorJson = serde_json::from_str(body).unwrap_or_default();
        let mut text = parsed.message.unwrap_or_else(|| {
            let trimmed: String = body.trim().chars().take(200).collect();
            if trimmed.is_empty() {
                "no details".to_owned()
            } else {
                trimmed
            }
        });
        let details: Vec<String> = parsed
            .errors
            .iter()
            .filter_map(|e| {
                e["message"]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| {
                        e["code"]
                            .as_str()
                            .map(|c| format!("{} {c}", e["field"].as_str().unwrap_or("")))
                    })
                    .or_else(|| e.as_str().map(str::to_owned))
            })
            .collect();
        if !details.is_empty() {
            text.push_str(&format!(" ({})", details.join("; ")));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulls_read_in_both_forms() {
        let simple = r#"{"number":3,"html_url":"https://github.com/o/r/pull/3","state":"closed","merged_at":"2026-01-01T00:00:00Z",
            "merge_commit_sha":"m","draft":false,"head":{"ref":"omk/g/integration","sha":"h"},"base":{"ref":"main","sha":"b"}}"#;
        let pr = serde_json::from_str::<PullJson>(simple).unwrap().into_pull();
        assert_eq!(pr.view.state, PullState::Merged);
        assert_eq!(pr.view.merge_commit.as_deref(), Some("m"));
        let closed = r#"{"number":3,"html_url":"u","state":"closed","merged":false,"body":null,
            "head":{"ref":"x","sha":"h"},"base":{"ref":"main","sha":"b"},"mergeable":null}"#;
        let pr = serde_json::from_str::<PullJson>(closed).unwrap().into_pull();
        assert_eq!(pr.view.state, PullState::Closed);
        assert_eq!(pr.body, "");
    }

    #[test]
    fn checks_statuses_protection_and_rules() {
        let runs: CheckRunsJson = serde_json::from_str(
            r#"{"total_count":3,"check_runs":[{"id":1,"name":"a","status":"in_progress","conclusion":null},
            {"id":2,"name":"b","status":"completed","conclusion":"skipped"},{"id":3,"name":"c","status":"completed","conclusion":"timed_out"}]}"#,
        )
        .unwrap();
        let states: Vec<CheckState> = runs.into_checks().into_iter().map(|(_, c)| c.state).collect();
        assert_eq!(
            states,
            [
                CheckState::Pending,
                CheckState::Passed,
                CheckState::Failed("timed_out".into())
            ]
        );
        let mut req = BaseRequirements::default();
        serde_json::from_str::<ProtectionJson>(
            r#"{"required_status_checks":{"contexts":["ci"],"checks":[{"context":"ci","app_id":null},{"context":"lint"}]},
            "required_pull_request_reviews":{"required_approving_review_count":1}}"#,
        )
        .unwrap()
        .add_to(&mut req);
        serde_json::from_str::<Vec<RuleJson>>(
            r#"[{"type":"required_status_checks","parameters":{"required_status_checks":[{"context":"sec"}]}},
            {"type":"pull_request","parameters":{"required_approving_review_count":2}},{"type":"deletion"}]"#,
        )
        .unwrap()
        .into_iter()
        .for_each(|r| r.add_to(&mut req));
        assert_eq!(req.required_checks, ["ci", "lint", "sec"]);
        assert_eq!(req.required_approvals, 2);
    }

    #[test]
    fn error_bodies_become_one_line() {
        assert_eq!(
            ErrorJson::describe(
                r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for o:b."}]}"#
            ),
            "Validation Failed (A pull request already exists for o:b.)"
        );
        assert_eq!(ErrorJson::describe("<html>oops</html>"), "<html>oops</html>");
        assert_eq!(ErrorJson::describe(""), "no details");
    }
}
