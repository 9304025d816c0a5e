//! The fast forge layer: the GitHub client against a local stub. Every request it sends is checked
//! against GitHub's official OpenAPI description, GitHub's own example responses must parse into the
//! project's types, and refusals (401, 403, 429, 5xx) become errors that say what to do.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn processes and read the environment

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use git_omk::forge::target::RepoSlug;
use git_omk::forge::{Forge, ForgeError, GitHub, MergeOutcome, NewCheckRun, NewPull, Token};
use git_omk::model::delivery::merge::{CheckState, PullState};
use serde_json::json;
use support::http::{Front, Recorded, Reply};
use support::openapi::Spec;

fn slug() -> RepoSlug {
    RepoSlug {
        owner: "octocat".into(),
        name: "Hello-World".into(),
    }
}

/// A stub answering every request with GitHub's example response for its operation; while `hide` is
/// set, branch protection answers 404 as it does for tokens without admin rights.
fn example_stub(spec: &'static Spec, prefix: &'static str, hide: Arc<AtomicBool>) -> Front {
    let front = Front::start(None);
    front.set_rule(move |req: &Recorded| {
        let path = req.path().strip_prefix(prefix).unwrap_or(req.path());
        if path.ends_with("/protection") && hide.load(Ordering::SeqCst) {
            return Reply::json(404, &json!({ "message": "Branch not protected" }));
        }
        match spec.example(&req.method, path) {
            Some((204, _)) => Reply::Respond {
                status: 204,
                headers: Vec::new(),
                body: String::new(),
            },
            Some((status, body)) => Reply::json(status, &body),
            None => Reply::json(404, &json!({ "message": "Not Found" })),
        }
    });
    front
}

/// Call every forge method once.
fn exercise(forge: &GitHub, hide_protection: &AtomicBool) {
    let repo = forge.repository().expect("repository");
    assert!(repo.html_url.starts_with("https://github.com/"), "{repo:?}");
    assert!(!repo.default_branch.is_empty());
    let pulls = forge.pulls_by_head("new-topic").expect("pulls by head");
    assert!(pulls.iter().all(|p| p.view.head_ref == "new-topic"));
    let pull = forge.pull(1347).expect("pull");
    assert_eq!(pull.view.number, 1347);
    assert_eq!(pull.view.state, PullState::Open);
    assert!(!pull.view.head_sha.is_empty());
    let new = NewPull {
        title: "Amazing new feature",
        body: "Please pull these awesome changes in!",
        head: "octocat:new-feature",
        base: "master",
        draft: true,
    };
    assert_eq!(forge.create_pull(&new).expect("create pull").view.number, 1347);
    forge
        .update_pull(1347, "new title", "updated body")
        .expect("update pull");
    let comments = forge.comments(1347).expect("comments");
    assert!(comments.iter().all(|c| c.id > 0));
    assert!(forge.create_comment(1347, "Me too").expect("create comment") > 0);
    forge.update_comment(1, "Me too").expect("update comment");
    forge.delete_comment(1).expect("delete comment");
    let checks = forge
        .checks("6dcb09b5b57875f334f61aebed695e2e4193db5e")
        .expect("checks");
    assert!(!checks.is_empty(), "the examples hold a check run and a status");
    assert!(
        checks
            .iter()
            .any(|c| c.state == CheckState::Passed || matches!(c.state, CheckState::Failed(_)))
    );
    let base = forge.base_requirements("master").expect("base requirements");
    assert!(
        !base.required_checks.is_empty(),
        "GitHub's protection example requires checks: {base:?}"
    );
    hide_protection.store(true, Ordering::SeqCst);
    forge
        .base_requirements("master")
        .expect("base requirements without admin rights");
    let run = NewCheckRun {
        name: "git-omk proof",
        head_sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
        conclusion: "success",
        title: "Proof holds",
        summary: "The proof **holds**.",
    };
    assert!(forge.create_check_run(&run).expect("check run") > 0);
    let reviews = forge.reviews(12).expect("reviews");
    assert!(
        reviews.iter().all(|r| !r.author.login.is_empty() && r.id > 0),
        "{reviews:?}"
    );
    let inline = forge.review_comments(12).expect("review comments");
    assert!(inline.iter().all(|c| !c.path.is_empty()), "{inline:?}");
    let conversation = forge.conversation(1347).expect("conversation");
    assert!(conversation.iter().all(|c| !c.author.login.is_empty()));
    assert!(forge.reply_to_review_comment(12, 1, "Done.").expect("reply") > 0);
    assert!(forge.viewer_login().expect("viewer").is_some());
    let merged = forge
        .merge(1347, "6dcb09b5b57875f334f61aebed695e2e4193db5e", "Merge")
        .expect("merge");
    assert!(
        matches!(merged, MergeOutcome::Merged { sha: Some(_) }),
        "{merged:?}"
    );
}

fn assert_requests_fit(spec: &Spec, front: &Front, prefix: &str) {
    let requests = front.requests();
    assert!(requests.len() >= 15, "every method ran: {}", requests.len());
    assert!(
        requests
            .iter()
            .any(|r| r.method == "GET" && r.path().ends_with("/branches/master")),
        "the branch summary was read when protection was not readable"
    );
    let problems: Vec<String> = requests.iter().flat_map(|r| spec.problems(r, prefix)).collect();
    assert!(
        problems.is_empty(),
        "requests that do not fit GitHub's API:\n{}",
        problems.join("\n")
    );
    for r in &requests {
        assert!(
            r.path().starts_with(prefix),
            "{} keeps the API prefix {prefix}",
            r.target
        );
        assert_eq!(
            r.header("authorization"),
            Some("Bearer secret-token"),
            "{}",
            r.target
        );
    }
}

#[test]
fn every_request_fits_githubs_description_and_its_examples_parse() {
    let Some(spec) = Spec::load() else { return };
    let hide = Arc::new(AtomicBool::new(false));
    let front = example_stub(spec, "", hide.clone());
    let forge = GitHub::new(&front.url(), slug(), &Token::explicit("secret-token")).expect("client");
    exercise(&forge, &hide);
    assert_requests_fit(spec, &front, "");
}

#[test]
fn github_enterprise_keeps_the_api_v3_prefix() {
    let Some(spec) = Spec::load() else { return };
    let hide = Arc::new(AtomicBool::new(false));
    let front = example_stub(spec, "/api/v3", hide.clone());
    let api = format!("{}/api/v3", front.url());
    let forge = GitHub::new(&api, slug(), &Token::explicit("secret-token")).expect("client");
    exercise(&forge, &hide);
    assert_requests_fit(spec, &front, "/api/v3");
}

#[test]
fn the_validator_catches_requests_github_does_not_have() {
    let Some(spec) = Spec::load() else { return };
    let bad = |method: &str, target: &str, body: serde_json::Value| Recorded {
        method: method.into(),
        target: target.into(),
        headers: Vec::new(),
        body: Some(body),
    };
    let problems = spec.problems(
        &bad(
            "POST",
            "/repos/o/r/pulls",
            json!({ "title": "t", "draft": "yes" }),
        ),
        "",
    );
    assert!(
        problems.iter().any(|p| p.contains("required field `head`")),
        "{problems:?}"
    );
    assert!(problems.iter().any(|p| p.contains("draft")), "{problems:?}");
    let problems = spec.problems(&bad("PATCH", "/repos/o/r/pulls/1", json!({ "draft": false })), "");
    assert!(
        problems.iter().any(|p| p.contains("undeclared field `draft`")),
        "{problems:?}"
    );
    let problems = spec.problems(&bad("PUT", "/repos/o/r/pulls/x/merge", json!({})), "");
    assert!(problems.iter().any(|p| p.contains("pull_number")), "{problems:?}");
    let problems = spec.problems(&bad("GET", "/repos/o/r/nonsense/1", json!(null)), "");
    assert!(!problems.is_empty());
}

#[test]
fn a_rejected_token_is_an_auth_error_naming_its_source() {
    let front = Front::start(None);
    front.set_rule(|_| Reply::json(401, &json!({ "message": "Bad credentials" })));
    let forge = GitHub::new(&front.url(), slug(), &Token::explicit("revoked")).expect("client");
    let err = forge.repository().expect_err("401 is an error");
    assert!(matches!(err, ForgeError::TokenRejected { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("Bad credentials") && text.contains("gh auth login"),
        "{text}"
    );
    assert!(
        !text.contains("revoked"),
        "the token never appears in messages: {text}"
    );
    assert_eq!(front.requests().len(), 1, "401 is not retried");

    front.set_rule(|_| {
        Reply::json(
            403,
            &json!({ "message": "Resource not accessible by personal access token" }),
        )
    });
    let err = forge.pull(1).expect_err("403 is an error");
    assert!(
        matches!(err, ForgeError::Forbidden { .. }) && err.is_auth(),
        "{err:?}"
    );
}

#[test]
fn rate_limits_say_when_to_retry_after_bounded_retries() {
    let front = Front::start(None);
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    front.set_rule(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Reply::Respond {
            status: 429,
            headers: vec![("retry-after".into(), "0".into())],
            body: json!({ "message": "You have exceeded a secondary rate limit" }).to_string(),
        }
    });
    let forge = GitHub::new(&front.url(), slug(), &Token::explicit("t")).expect("client");
    let err = forge.repository().expect_err("429 is an error");
    assert!(matches!(err, ForgeError::RateLimited { .. }), "{err:?}");
    assert!(err.to_string().contains("in 0 s"), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 3, "two retries, then the error");

    front.set_rule(|_| Reply::Respond {
        status: 403,
        headers: vec![
            ("x-ratelimit-remaining".into(), "0".into()),
            ("x-ratelimit-reset".into(), "4102444800".into()),
        ],
        body: json!({ "message": "API rate limit exceeded" }).to_string(),
    });
    let err = forge.repository().expect_err("primary rate limit");
    assert!(err.to_string().contains("2100-01-01T00:00:00+00:00"), "{err}");
}

#[test]
fn an_existing_pr_is_found_instead_of_opened_twice() {
    // GitHub answers 422 when a PR for the head exists (a retried create that had succeeded).
    let front = Front::start(None);
    front.set_rule(|req| match (req.method.as_str(), req.path()) {
        ("POST", _) => Reply::json(
            422,
            &json!({ "message": "Validation Failed", "errors": [{ "message": "A pull request already exists for octocat:omk/g/integration." }] }),
        ),
        _ => Reply::json(
            200,
            &json!([{ "number": 9, "html_url": "https://github.com/octocat/Hello-World/pull/9", "state": "open",
                "head": { "ref": "omk/g/integration", "sha": "abc" }, "base": { "ref": "main", "sha": "def" } }]),
        ),
    });
    let forge = GitHub::new(&front.url(), slug(), &Token::explicit("t")).expect("client");
    let new = NewPull {
        title: "t",
        body: "b",
        head: "omk/g/integration",
        base: "main",
        draft: false,
    };
    assert_eq!(forge.create_pull(&new).expect("found").view.number, 9);
}

#[test]
fn server_errors_are_retried_then_reported() {
    let front = Front::start(None);
    front.set_rule(|_| Reply::json(502, &json!({ "message": "Bad Gateway" })));
    let forge = GitHub::new(&front.url(), slug(), &Token::explicit("t")).expect("client");
    let err = forge.repository().expect_err("502");
    assert!(matches!(err, ForgeError::Server { status: 502, .. }), "{err:?}");
    assert_eq!(front.requests().len(), 3);
}
