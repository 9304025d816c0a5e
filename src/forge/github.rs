//! The GitHub forge on octocrab: REST requests with the token, read into the project's own types.
//!
//! octocrab provides the HTTP client (TLS, base URI with GitHub Enterprise's `/api/v3` prefix kept, auth
//! header, timeouts, retries of 5xx/429); responses are read here with small lenient structs (`wire`).
//! Because octocrab retries, creations are written to be idempotent: a PR that already exists is found
//! by its head branch instead of opened twice. Status codes become `ForgeError`s with GitHub's message
//! and what to do; rate limits say when to retry. Must not decide anything about goals.

use std::time::Duration;

use chrono::DateTime;
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::target::RepoSlug;
use super::token::Token;
use super::wire::{
    BranchJson, CheckRunsJson, CombinedStatusJson, CommentJson, ErrorJson, IdJson, IssueCommentJson,
    MergeJson, ProtectionJson, PullJson, RepoJson, ReviewCommentJson, ReviewJson, RuleJson, UserJson,
};
use super::{Forge, ForgeError, MergeOutcome, NewCheckRun, NewPull, PullRequest, RepoInfo};
use crate::model::delivery::comment::ExistingComment;
use crate::model::delivery::merge::{BaseRequirements, CheckView, PullState, latest_per_name};
use crate::model::delivery::reviews::{ConversationCommentView, ReviewCommentView, ReviewView};
use crate::runtime;

/// Retries of 5xx and 429 answers octocrab makes before giving up (immediately, without waiting for a
/// rate-limit reset: a command must not hang for an hour).
const RETRIES: usize = 2;
/// Pages of comments read at most (100 each).
const MAX_PAGES: u32 = 20;

/// HTTP methods used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Patch,
    Put,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// The rate-limit headers of an answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// `x-ratelimit-remaining`.
    pub remaining: Option<u64>,
    /// `x-ratelimit-reset` (Unix seconds).
    pub reset: Option<i64>,
    /// `retry-after` (seconds).
    pub retry_after: Option<u64>,
}

/// An HTTP answer, read whole.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    rate: RateHeaders,
    body: String,
}

/// A GitHub repository reached through its REST API.
pub struct GitHub {
    octo: Octocrab,
    runtime: tokio::runtime::Runtime,
    api: String,
    repo: RepoSlug,
    token_source: &'static str,
}

impl GitHub {
    /// A client for `repo` at `api_url` (`https://api.github.com`, `https://HOST/api/v3`, a test server).
    pub fn new(api_url: &str, repo: RepoSlug, token: &Token) -> Result<GitHub, ForgeError> {
        let transport = |message: String| ForgeError::Transport {
            api: api_url.to_owned(),
            what: "setting up the HTTP client".to_owned(),
            message,
        };
        let runtime = runtime::current_thread().map_err(|e| transport(e.to_string()))?;
        let _entered = runtime.enter();
        let octo = Octocrab::builder()
            .base_uri(api_url)
            .map_err(|e| transport(e.to_string()))?
            .personal_token(token.expose().to_owned())
            .add_retry_config(RetryConfig::Simple(RETRIES))
            .set_connect_timeout(Some(Duration::from_secs(15)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|e| transport(e.to_string()))?;
        Ok(GitHub {
            octo,
            runtime,
            api: api_url.trim_end_matches('/').to_owned(),
            repo,
            token_source: token.source().describe(),
        })
    }

    fn repo_path(&self) -> String {
        format!(
            "/repos/{}/{}",
            segment(&self.repo.owner),
            segment(&self.repo.name)
        )
    }

    /// Send one request and read the whole answer; only transport failures are errors here.
    fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Answer, ForgeError> {
        let what = format!("{} {path}", method.as_str());
        let octo = &self.octo;
        let result = self.runtime.block_on(async {
            let response = match method {
                Method::Get => octo._get(path).await,
                Method::Post => octo._post(path, body).await,
                Method::Patch => octo._patch(path, body).await,
                Method::Put => octo._put(path, body).await,
                Method::Delete => octo._delete(path, body).await,
            }?;
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let rate = RateHeaders {
                remaining: header("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
                reset: header("x-ratelimit-reset").and_then(|v| v.parse().ok()),
                retry_after: header("retry-after").and_then(|v| v.parse().ok()),
            };
            let body = octo.body_to_string(response).await?;
            Ok::<Answer, octocrab::Error>(Answer { status, rate, body })
        });
        tracing::debug!("{what} → {:?}", result.as_ref().map(|a| a.status));
        result.map_err(|e| ForgeError::Transport {
            api: self.api.clone(),
            what,
            message: e.to_string(),
        })
    }

    /// Send, require success, and read the JSON answer.
    fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ForgeError> {
        let answer = self.send(method, path, body)?;
        let what = format!("{} {path}", method.as_str());
        classify(&what, answer.status, answer.rate, &answer.body, self.token_source)?;
        serde_json::from_str(&answer.body).map_err(|e| ForgeError::Unexpected {
            what,
            message: e.to_string(),
        })
    }

    /// Every page (100 items each, at most `MAX_PAGES`) of a list endpoint.
    fn paged<T: DeserializeOwned>(&self, base: &str) -> Result<Vec<T>, ForgeError> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let batch: Vec<T> = self.json(Method::Get, &format!("{base}?per_page=100&page={page}"), None)?;
            let full = batch.len() == 100;
            out.extend(batch);
            if !full {
                break;
            }
        }
        Ok(out)
    }

    fn find_after_conflict(&self, new: &NewPull<'_>, error: ForgeError) -> Result<PullRequest, ForgeError> {
        let exists =
            matches!(&error, ForgeError::Invalid { message, .. } if message.contains("already exists"));
        if !exists {
            return Err(error);
        }
        let found = self.pulls_by_head(new.head)?;
        found
            .into_iter()
            .find(|p| p.view.state == PullState::Open)
            .ok_or(error)
    }

    fn protection(&self, branch: &str, req: &mut BaseRequirements) -> Result<(), ForgeError> {
        let path = format!("{}/branches/{}/protection", self.repo_path(), segment(branch));
        let answer = self.send(Method::Get, &path, None)?;
        if matches!(answer.status, 403 | 404) && !is_rate_limited(answer.status, answer.rate, &answer.body) {
            // Not protected, or not readable without admin rights: the branch summary is readable.
            let path = format!("{}/branches/{}", self.repo_path(), segment(branch));
            let branch_json: BranchJson = self.json(Method::Get, &path, None)?;
            branch_json.add_to(req);
            return Ok(());
        }
        classify(
            &format!("GET {path}"),
            answer.status,
            answer.rate,
            &answer.body,
            self.token_source,
        )?;
        let protection: ProtectionJson = parse(&path, &answer.body)?;
        protection.add_to(req);
        Ok(())
    }

    fn rulesets(&self, branch: &str, req: &mut BaseRequirements) -> Result<(), ForgeError> {
        let path = format!(
            "{}/rules/branches/{}?per_page=100",
            self.repo_path(),
            segment(branch)
        );
        let answer = self.send(Method::Get, &path, None)?;
        if matches!(answer.status, 403 | 404) && !is_rate_limited(answer.status, answer.rate, &answer.body) {
            req.unknown.push(format!(
                "rulesets of `{branch}` (HTTP {} from the server)",
                answer.status
            ));
            return Ok(());
        }
        classify(
            &format!("GET {path}"),
            answer.status,
            answer.rate,
            &answer.body,
            self.token_source,
        )?;
        let rules: Vec<RuleJson> = parse(&path, &answer.body)?;
        rules.into_iter().for_each(|r| r.add_to(req));
        Ok(())
    }
}

fn parse<T: DeserializeOwned>(path: &str, body: &str) -> Result<T, ForgeError> {
    serde_json::from_str(body).map_err(|e| ForgeError::Unexpected {
        what: format!("GET {path}"),
        message: e.to_string(),
    })
}

impl Forge for GitHub {
    fn repository(&self) -> Result<RepoInfo, ForgeError> {
        let repo: RepoJson = self.json(Method::Get, &self.repo_path(), None)?;
        Ok(repo.into_info(&self.repo.to_string()))
    }

    fn pulls_by_head(&self, branch: &str) -> Result<Vec<PullRequest>, ForgeError> {
        let head = format!("{}:{branch}", self.repo.owner);
        let path = format!(
            "{}/pulls?state=all&head={}&sort=created&direction=asc&per_page=100",
            self.repo_path(),
            query(&head)
        );
        let pulls: Vec<PullJson> = self.json(Method::Get, &path, None)?;
        let mut pulls: Vec<PullRequest> = pulls
            .into_iter()
            .map(PullJson::into_pull)
            .filter(|p| p.view.head_ref == branch)
            .collect();
        pulls.sort_by_key(|p| p.view.number);
        Ok(pulls)
    }

    fn pull(&self, number: u64) -> Result<PullRequest, ForgeError> {
        let path = format!("{}/pulls/{number}", self.repo_path());
        let pull: PullJson = self.json(Method::Get, &path, None)?;
        Ok(pull.into_pull())
    }

    fn create_pull(&self, new: &NewPull<'_>) -> Result<PullRequest, ForgeError> {
        let path = format!("{}/pulls", self.repo_path());
        let body = json!({
            "title": new.title,
            "head": new.head,
            "base": new.base,
            "body": new.body,
            "draft": new.draft,
            "maintainer_can_modify": false,
        });
        match self.json::<PullJson>(Method::Post, &path, Some(&body)) {
            Ok(pull) => Ok(pull.into_pull()),
            Err(e) => self.find_after_conflict(new, e),
        }
    }

    fn update_pull(&self, number: u64, title: &str, body: &str) -> Result<PullRequest, ForgeError> {
        let path = format!("{}/pulls/{number}", self.repo_path());
        let patch = json!({ "title": title, "body": body });
        let pull: PullJson = self.json(Method::Patch, &path, Some(&patch))?;
        Ok(pull.into_pull())
    }

    fn comments(&self, number: u64) -> Result<Vec<ExistingComment>, ForgeError> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let path = format!(
                "{}/issues/{number}/comments?per_page=100&page={page}",
                self.repo_path()
            );
            let batch: Vec<CommentJson> = self.json(Method::Get, &path, None)?;
            let full = batch.len() == 100;
            out.extend(batch.into_iter().map(CommentJson::into_existing));
            if !full {
                break;
            }
        }
        Ok(out)
    }

    fn create_comment(&self, number: u64, body: &str) -> Result<u64, ForgeError> {
        let path = format!("{}/issues/{number}/comments", self.repo_path());
        let comment: CommentJson = self.json(Method::Post, &path, Some(&json!({ "body": body })))?;
        Ok(comment.id())
    }

    fn update_comment(&self, id: u64, body: &str) -> Result<(), ForgeError> {
        let path = format!("{}/issues/comments/{id}", self.repo_path());
        let _: CommentJson = self.json(Method::Patch, &path, Some(&json!({ "body": body })))?;
        Ok(())
    }

    fn delete_comment(&self, id: u64) -> Result<(), ForgeError> {
        let path = format!("{}/issues/comments/{id}", self.repo_path());
        let answer = self.send(Method::Delete, &path, None)?;
        if answer.status == 404 {
            return Ok(());
        }
        classify(
            &format!("DELETE {path}"),
            answer.status,
            answer.rate,
            &answer.body,
            self.token_source,
        )
    }

    fn checks(&self, sha: &str) -> Result<Vec<CheckView>, ForgeError> {
        let path = format!(
            "{}/commits/{}/check-runs?per_page=100",
            self.repo_path(),
            segment(sha)
        );
        let runs: CheckRunsJson = self.json(Method::Get, &path, None)?;
        let mut checks = latest_per_name(runs.into_checks());
        let path = format!(
            "{}/commits/{}/status?per_page=100",
            self.repo_path(),
            segment(sha)
        );
        let answer = self.send(Method::Get, &path, None)?;
        if answer.status != 404 {
            classify(
                &format!("GET {path}"),
                answer.status,
                answer.rate,
                &answer.body,
                self.token_source,
            )?;
            let statuses: CombinedStatusJson = parse(&path, &answer.body)?;
            for status in latest_per_name(statuses.into_checks()) {
                if !checks.iter().any(|c| c.name == status.name) {
                    checks.push(status);
                }
            }
        }
        Ok(checks)
    }

    fn base_requirements(&self, branch: &str) -> Result<BaseRequirements, ForgeError> {
        let mut req = BaseRequirements::default();
        self.protection(branch, &mut req)?;
        self.rulesets(branch, &mut req)?;
        Ok(req)
    }

    fn create_check_run(&self, run: &NewCheckRun<'_>) -> Result<u64, ForgeError> {
        let path = format!("{}/check-runs", self.repo_path());
        let body = json!({
            "name": run.name,
            "head_sha": run.head_sha,
            "status": "completed",
            "conclusion": run.conclusion,
            "output": { "title": run.title, "summary": run.summary },
        });
        let created: IdJson = self.json(Method::Post, &path, Some(&body))?;
        Ok(created.id)
    }

    fn reviews(&self, number: u64) -> Result<Vec<ReviewView>, ForgeError> {
        let base = format!("{}/pulls/{number}/reviews", self.repo_path());
        let items: Vec<ReviewJson> = self.paged(&base)?;
        Ok(items.into_iter().map(ReviewJson::into_view).collect())
    }

    fn review_comments(&self, number: u64) -> Result<Vec<ReviewCommentView>, ForgeError> {
        let base = format!("{}/pulls/{number}/comments", self.repo_path());
        let items: Vec<ReviewCommentJson> = self.paged(&base)?;
        Ok(items.into_iter().map(ReviewCommentJson::into_view).collect())
    }

    fn conversation(&self, number: u64) -> Result<Vec<ConversationCommentView>, ForgeError> {
        let base = format!("{}/issues/{number}/comments", self.repo_path());
        let items: Vec<IssueCommentJson> = self.paged(&base)?;
        Ok(items.into_iter().map(IssueCommentJson::into_view).collect())
    }

    fn reply_to_review_comment(&self, number: u64, comment_id: u64, body: &str) -> Result<u64, ForgeError> {
        let path = format!(
            "{}/pulls/{number}/comments/{comment_id}/replies",
            self.repo_path()
        );
        let created: IdJson = self.json(Method::Post, &path, Some(&json!({ "body": body })))?;
        Ok(created.id)
    }

    fn viewer_login(&self) -> Result<Option<String>, ForgeError> {
        let answer = self.send(Method::Get, "/user", None)?;
        if matches!(answer.status, 401..=404) && !is_rate_limited(answer.status, answer.rate, &answer.body) {
            return Ok(None);
        }
        classify(
            "GET /user",
            answer.status,
            answer.rate,
            &answer.body,
            self.token_source,
        )?;
        let user: UserJson = parse("/user", &answer.body)?;
        Ok(Some(user.login))
    }

    fn merge(&self, number: u64, sha: &str, title: &str) -> Result<MergeOutcome, ForgeError> {
        let path = format!("{}/pulls/{number}/merge", self.repo_path());
        let body = json!({ "sha": sha, "merge_method": "merge", "commit_title": title });
        let answer = self.send(Method::Put, &path, Some(&body))?;
        if matches!(answer.status, 405 | 409 | 422) {
            return Ok(MergeOutcome::Refused {
                message: ErrorJson::describe(&answer.body),
            });
        }
        classify(
            &format!("PUT {path}"),
            answer.status,
            answer.rate,
            &answer.body,
            self.token_source,
        )?;
        let merged: MergeJson = parse(&path, &answer.body)?;
        match merged.merged {
            Some(false) => Ok(MergeOutcome::Refused {
                message: merged.message.unwrap_or_else(|| "not merged".to_owned()),
            }),
            _ => Ok(MergeOutcome::Merged { sha: merged.sha }),
        }
    }
}

/// Whether an answer is GitHub's rate limit (429, or 403 with rate-limit headers or message).
pub fn is_rate_limited(status: u16, rate: RateHeaders, body: &str) -> bool {
    status == 429
        || (status == 403
            && (rate.remaining == Some(0)
                || rate.retry_after.is_some()
                || body.to_ascii_lowercase().contains("rate limit")))
}

/// Turn a non-success answer into the error people need.
pub fn classify(
    what: &str,
    status: u16,
    rate: RateHeaders,
    body: &str,
    token_source: &str,
) -> Result<(), ForgeError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let message = ErrorJson::describe(body);
    let what = what.to_owned();
    Err(match status {
        _ if is_rate_limited(status, rate, body) => ForgeError::RateLimited {
            what,
            message,
            when: retry_when(rate),
        },
        401 => ForgeError::TokenRejected {
            source_name: token_source.to_owned(),
            what,
            message,
        },
        403 => ForgeError::Forbidden {
            source_name: token_source.to_owned(),
            what,
            message,
        },
        404 => ForgeError::NotFound { what },
        500..=599 => ForgeError::Server {
            what,
            status,
            message,
        },
        _ => ForgeError::Invalid { what, message },
    })
}

fn retry_when(rate: RateHeaders) -> String {
    if let Some(secs) = rate.retry_after {
        return format!("in {secs} s");
    }
    match rate.reset.and_then(|t| DateTime::from_timestamp(t, 0)) {
        Some(at) if rate.remaining == Some(0) => format!("after {} (when the limit resets)", at.to_rfc3339()),
        _ => "later (GitHub gave no reset time)".to_owned(),
    }
}

/// Percent-encode one path segment (branch names may contain `/`).
fn segment(text: &str) -> String {
    encode(text, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~')
    })
}

/// Percent-encode a query value, keeping `/` and `:` readable (GitHub accepts them).
fn query(text: &str) -> String {
    encode(text, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~' | b'/' | b':')
    })
}

fn encode(text: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_errors_that_say_what_to_do() {
        let none = RateHeaders::default();
        assert!(classify("GET /x", 200, none, "", "GH_TOKEN").is_ok());
        let e = classify(
            "GET /x",
            401,
            none,
            r#"{"message":"Bad credentials"}"#,
            "GH_TOKEN",
        )
        .unwrap_err();
        assert!(e.is_auth());
        assert!(e.to_string().contains("GH_TOKEN") && e.to_string().contains("Bad credentials"));
        let e = classify(
            "GET /x",
            403,
            none,
            r#"{"message":"Resource not accessible"}"#,
            "GITHUB_TOKEN",
        )
        .unwrap_err();
        assert!(matches!(e, ForgeError::Forbidden { .. }));
        let limited = RateHeaders {
            remaining: Some(0),
            reset: Some(1_795_323_452),
            retry_after: None,
        };
        let e = classify(
            "GET /x",
            403,
            limited,
            r#"{"message":"API rate limit exceeded"}"#,
            "x",
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, ForgeError::RateLimited { .. }), "{text}");
        assert!(text.contains("2026-11-22T04:57:32+00:00"), "{text}");
        let e = classify(
            "GET /x",
            429,
            RateHeaders {
                retry_after: Some(60),
                ..none
            },
            "",
            "x",
        )
        .unwrap_err();
        assert!(e.to_string().contains("in 60 s"));
        assert!(matches!(
            classify("GET /x", 404, none, "", "x"),
            Err(ForgeError::NotFound { .. })
        ));
        assert!(matches!(
            classify("GET /x", 502, none, "bad gateway", "x"),
            Err(ForgeError::Server { status: 502, .. })
        ));
    }

    #[test]
    fn names_are_encoded() {
        assert_eq!(segment("release/1.0 x"), "release%2F1.0%20x");
        assert_eq!(query("o:omk/g/integration"), "o:omk/g/integration");
        assert_eq!(query("a&b=c"), "a%26b%3Dc");
    }
}
