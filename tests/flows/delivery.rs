//! Delivery against the stateful GitHub emulator (DESIGN §9, §13): pull requests that link to the proof,
//! exactly one per goal, a sticky proof summary, the merge gate, and every bad case with a clear message
//! and a recorded state. git-omk talks to the emulator through a recording front whose requests are all
//! checked against GitHub's OpenAPI description; pushes go to a bare remote that mirrors into the emulator.
//!
//! One flow drives a whole goal (exec agent, real pytest gates, recorded proof) under `auto-pr` and a
//! gated merge; the merge-gate edge cases run the use cases in-process with explicit proof facts of
//! hand-made integration commits; everything else runs the real `git-omk` binary.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn processes and read the environment

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use git_omk::forge::Token;
use git_omk::forge::target;
use git_omk::model::delivery::facts::{ChangedFile, GateResult, GateRow, ProofFacts};
use git_omk::model::delivery::merge::{MergeBlocker, MergeDecision};
use git_omk::model::delivery::reviews::{Ask, FeedbackKind, PrFeedback, REPLY_MARKER, Seen, select};
use git_omk::model::status::GoalStatus;
use git_omk::ops::Context;
use git_omk::ops::deliver::{self, Connection, DeliveryError, MergeRequest, OpenPrRequest};
use git_omk::settings;
use serde_json::{Value, json};
use support::emulator::{Emulator, REVIEWER_TOKEN, Remote, TOKEN};
use support::git_repo::TestRepo;
use support::http::{Front, Reply};
use support::omk::{goal_id, json_of, ok_json, until_ready};
use support::openapi::Spec;

/// A repository delivering to the emulator through a recording front.
struct World {
    emulator: Emulator,
    front: Front,
    remote: Remote,
    repo: TestRepo,
    goal: String,
}

impl World {
    /// A planned goal (`run` options `opts`) in a repository whose `main` is mirrored into the emulator;
    /// `None` when the emulator is not installed (skipped loudly, or failing under CI).
    fn new(opts: &[&str]) -> Option<World> {
        let emulator = Emulator::start()?;
        let front = Front::start(Some(emulator.addr));
        let repo = TestRepo::new();
        let remote = Remote::mirroring(&emulator, &repo.home);
        repo.git(&["remote", "add", "origin", path_str(&remote.path)]);
        repo.git(&["config", "omk.github.repo", "omk-bot/demo"]);
        repo.git(&["config", "omk.github.apiUrl", &front.url()]);
        repo.git(&["push", "-q", "origin", "main"]);
        let goal = plan(&repo, opts);
        Some(World {
            emulator,
            front,
            remote,
            repo,
            goal,
        })
    }

    fn branch(&self) -> String {
        format!("omk/{}/integration", self.goal)
    }

    /// Commit `content` to the goal's integration branch (as the integrator would); returns the tip.
    fn integrate(&self, content: &str) -> String {
        let branch = self.branch();
        let exists = !self.repo.git(&["branch", "--list", &branch]).is_empty();
        let checkout: &[&str] = if exists {
            &["checkout", "-q", &branch]
        } else {
            &["checkout", "-q", "-b", &branch]
        };
        self.repo.git(checkout);
        self.repo.write_files(&[("src/slugify.rs", content)]);
        self.repo.git(&["commit", "-q", "-am", "fix slugify"]);
        self.repo.git(&["checkout", "-q", "main"]);
        self.repo.git(&["rev-parse", &branch])
    }

    /// `git-omk` with a token in `GH_TOKEN` and a `gh` that knows none.
    fn omk(&self) -> assert_cmd::Command {
        omk_with_token(&self.repo, Some(TOKEN))
    }

    fn show(&self) -> Value {
        show(&self.repo)
    }

    fn tip(&self) -> String {
        self.repo
            .git(&["rev-parse", &format!("refs/omk/goals/{}", self.goal)])
    }

    /// Every request git-omk sent fits GitHub's API description.
    fn assert_requests_fit_github(&self) {
        let Some(spec) = Spec::load() else { return };
        let requests = self.front.requests();
        assert!(!requests.is_empty());
        let problems: Vec<String> = requests.iter().flat_map(|r| spec.problems(r, "")).collect();
        assert!(
            problems.is_empty(),
            "requests GitHub would not know:\n{}",
            problems.join("\n")
        );
    }

    /// Every snapshot re-derives from the events (delivery events apply deterministically).
    fn assert_replay_holds(&self) {
        let out = self
            .omk()
            .args(["goal", "replay", "--verify"])
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
    }

    /// The in-process context (for flows that need explicit proof facts).
    fn context(&self) -> Context {
        Context::open(&self.repo.path).expect("open the repository")
    }

    /// Facts of a ready proof of `proven`, recorded by the goal's current tip.
    fn ready_facts(&self, proven: &str) -> ProofFacts {
        ProofFacts {
            goal_id: self.goal.clone(),
            title: "Fix the off-by-one in slugify".into(),
            summary: "Fix the off-by-one in slugify".into(),
            status: GoalStatus::Ready,
            reasons: vec![],
            proof_commit: Some(self.tip()),
            proven_commit: Some(proven.to_owned()),
            proven_tree: Some(self.repo.git(&["rev-parse", &format!("{proven}^{{tree}}")])),
            base_commit: self.repo.git(&["rev-parse", "main"]),
            gates: vec![GateRow {
                name: "cargo test".into(),
                required: true,
                before: GateResult::Failed,
                after: GateResult::Passed,
            }],
            tests: vec![],
            tasks: vec![],
            changed_files: vec![ChangedFile {
                path: "src/slugify.rs".into(),
                additions: Some(1),
                deletions: Some(1),
            }],
            gaps: vec!["no benchmark was asked for".into()],
            decisions: vec![],
            missing: vec![],
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn plan(repo: &TestRepo, opts: &[&str]) -> String {
    let mut args = vec![
        "goal",
        "run",
        "Fix the off-by-one in slugify",
        "--base",
        "main",
        "--json",
    ];
    args.extend_from_slice(opts);
    goal_id(&ok_json(repo, &args))
}

fn show(repo: &TestRepo) -> Value {
    ok_json(repo, &["goal", "show", "--json"])
}

/// A `gh` on PATH that prints `token` (or fails when `None`), so the machine's own `gh` never answers.
fn fake_gh(repo: &TestRepo, token: Option<&str>) -> PathBuf {
    let bin = repo.home.join("fake-bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let script = match token {
        Some(t) => format!("#!/bin/sh\n[ \"$1 $2\" = \"auth token\" ] && echo {t} && exit 0\nexit 1\n"),
        None => "#!/bin/sh\necho 'not logged in' >&2\nexit 1\n".to_owned(),
    };
    let gh = bin.join("gh");
    std::fs::write(&gh, script).expect("write gh");
    Command::new("chmod").arg("+x").arg(&gh).status().expect("chmod");
    bin
}

fn omk_with_token(repo: &TestRepo, token: Option<&str>) -> assert_cmd::Command {
    let bin = fake_gh(repo, None);
    let mut cmd = repo.omk();
    for name in [
        "GH_TOKEN",
        "GITHUB_TOKEN",
        "GH_ENTERPRISE_TOKEN",
        "GITHUB_ENTERPRISE_TOKEN",
        "GH_HOST",
        "CODESPACES",
    ] {
        cmd.env_remove(name);
    }
    cmd.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
    );
    if let Some(t) = token {
        cmd.env("GH_TOKEN", t);
    }
    cmd
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The connector tests use in-process: the repository's settings and the seeded token.
fn connector(ctx: &Context) -> Result<Connection, DeliveryError> {
    let target = target::resolve(&settings::github(ctx.store.repo()))?;
    Connection::github(target, &Token::explicit(TOKEN))
}

/// No byte of `token` anywhere in the repository: objects, refs, config, logs, hooks.
fn assert_token_absent(repo: &TestRepo, git_dir: &Path, token: &str) {
    let out = repo
        .git_command()
        .arg("--git-dir")
        .arg(git_dir)
        .args(["cat-file", "--batch-all-objects", "--batch"])
        .output()
        .expect("git cat-file");
    assert!(out.status.success());
    assert!(!out.stdout.is_empty(), "the repository has objects");
    let needle = token.as_bytes();
    assert!(
        !out.stdout.windows(needle.len()).any(|w| w == needle),
        "the token is stored in an object of {}",
        git_dir.display()
    );
    let mut stack = vec![git_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read file");
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "the token is stored in {}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn a_draft_pr_is_opened_once_links_the_goal_and_reruns_change_nothing() {
    let Some(w) = World::new(&["--policy", "draft-pr"]) else {
        return;
    };
    let head = w.integrate("pub fn slugify(s: &str) -> String { s.trim().to_lowercase() }\n");
    let out = w
        .omk()
        .args(["goal", "open-pr", "-f", "json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json_of(&out.stdout);
    assert_eq!(doc["pr"]["created"], true);
    assert_eq!(doc["draft"], true);
    assert_eq!(doc["pr"]["comment"], "posted");

    let pulls = w.emulator.pulls();
    assert_eq!(pulls.len(), 1, "one PR");
    let pr = &pulls[0];
    let number = pr["number"].as_u64().expect("number");
    assert_eq!(pr["draft"], true);
    assert_eq!(pr["head"]["ref"], w.branch().as_str());
    assert_eq!(
        pr["head"]["sha"],
        head.as_str(),
        "the PR head is the pushed integration tip"
    );
    assert_eq!(pr["base"]["ref"], "main");
    let body = pr["body"].as_str().expect("body");
    assert!(
        body.contains("**Proof:** `not_ready`"),
        "never pretends ready:\n{body}"
    );
    assert!(body.contains("_Missing: no gate evidence is recorded._"));
    let goal_ref = format!("refs/omk/goals/{}", w.goal);
    assert!(body.contains(&format!("'{goal_ref}:{goal_ref}'")), "{body}");
    assert!(body.contains(&format!("git omk goal verify {}", w.goal)));
    let comments = w.emulator.comments(number);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap_or("")
            .starts_with("<!-- git-omk:proof-summary -->")
    );

    let state = w.show();
    let delivery = &state["goal"]["delivery"];
    assert_eq!(delivery["pr"]["number"], number);
    assert_eq!(delivery["pr"]["url"], pr["html_url"]);
    assert_eq!(delivery["pr_head"], head.as_str());
    assert_eq!(state["goal"]["last_event"]["kind"], "pr_opened");
    assert_eq!(
        w.remote.ref_value(&w.repo, &format!("refs/heads/{}", w.branch())),
        Some(head.clone())
    );
    assert!(
        w.remote.ref_value(&w.repo, &goal_ref).is_some(),
        "the goal ref was pushed"
    );

    let tip = w.tip();
    let again = w
        .omk()
        .args(["goal", "open-pr", "-f", "json"])
        .output()
        .expect("runs");
    assert!(again.status.success(), "{}", stderr(&again));
    let doc = json_of(&again.stdout);
    assert_eq!(doc["pr"]["number"], number);
    assert_eq!(doc["pr"]["created"], false);
    assert_eq!(doc["pr"]["updated"], false);
    assert_eq!(doc["pr"]["comment"], "unchanged");
    assert_eq!(w.emulator.pulls().len(), 1, "no second PR");
    assert_eq!(w.emulator.comments(number).len(), 1, "no second comment");
    assert_eq!(w.tip(), tip, "nothing new to record");

    w.assert_requests_fit_github();
    w.assert_replay_holds();
    assert_token_absent(&w.repo, &w.repo.path.join(".git"), TOKEN);
    assert_token_absent(&w.repo, &w.remote.path, TOKEN);
}

#[test]
fn a_new_proof_updates_the_body_and_the_one_sticky_comment() {
    let Some(w) = World::new(&["--policy", "draft-pr"]) else {
        return;
    };
    w.integrate("pub fn slugify(s: &str) -> String { s.to_lowercase().replace(' ', \"-\") }\n");
    let ctx = w.context();
    let first = deliver::open_pr(&ctx, OpenPrRequest::default(), &connector).expect("first delivery");
    let number = first.pr.as_ref().expect("a PR").number;

    let head = w.integrate("pub fn slugify(s: &str) -> String { s.trim().to_lowercase() }\n");
    let facts = w.ready_facts(&head);
    let proof = facts.proof_commit.clone().expect("proof commit");
    let request = OpenPrRequest {
        facts: Some(facts),
        ..OpenPrRequest::default()
    };
    let second = deliver::open_pr(&ctx, request, &connector).expect("second delivery");
    let pr = second.pr.as_ref().expect("a PR");
    assert_eq!(pr.number, number, "the same PR");
    assert!(pr.updated && !pr.created);

    assert_eq!(w.emulator.pulls().len(), 1);
    let html = w.emulator.get(&w.emulator.repo_path("")).1["html_url"]
        .as_str()
        .expect("html_url")
        .to_owned();
    let body = w.emulator.pull(number)["body"].as_str().unwrap_or("").to_owned();
    assert!(
        body.contains(&format!("{html}/commit/{proof}")),
        "links the proof commit:\n{body}"
    );
    assert!(body.contains("**Proof:** `ready`"));
    assert!(body.contains("| cargo test | yes | FAIL | pass |"));
    let (status, _) = w
        .emulator
        .get(&w.emulator.repo_path(&format!("/git/commits/{proof}")));
    assert_eq!(status, 200, "the linked proof commit exists on GitHub");
    let comments = w.emulator.comments(number);
    assert_eq!(comments.len(), 1, "updated, not duplicated");
    let comment = comments[0]["body"].as_str().unwrap_or("");
    assert!(
        comment.contains("`ready`") && comment.contains(&proof[..12]),
        "{comment}"
    );

    let state = w.show();
    assert_eq!(state["goal"]["delivery"]["pr_head"], head.as_str());
    assert_eq!(
        state["goal"]["last_event"]["summary"],
        format!("updated PR #{number}")
    );
    w.assert_requests_fit_github();
}

#[test]
fn gated_merge_waits_for_checks_then_merges_the_proven_commit() {
    let Some(w) = World::new(&["--policy", "auto-pr", "--merge-policy", "gated"]) else {
        return;
    };
    w.emulator.protect("main", "ci");
    let head = w.integrate("pub fn slugify(s: &str) -> String { s.trim().to_lowercase() }\n");
    let ctx = w.context();
    let facts = w.ready_facts(&head);
    let opened = deliver::open_pr(
        &ctx,
        OpenPrRequest {
            facts: Some(facts.clone()),
            ..OpenPrRequest::default()
        },
        &connector,
    )
    .expect("open");
    let number = opened.pr.expect("a PR").number;
    assert_eq!(
        w.emulator.pull(number)["draft"],
        false,
        "auto-pr opens a ready PR"
    );
    let run = w.emulator.start_check("ci", &head);

    let merge = |facts: &ProofFacts| {
        let request = MergeRequest {
            goal: None,
            facts: Some(facts.clone()),
        };
        deliver::merge(&ctx, request, &connector).expect("merge runs")
    };
    let pending = merge(&facts);
    assert_eq!(
        pending.decision,
        MergeDecision::Refuse {
            missing: vec![MergeBlocker::ChecksPending {
                names: vec!["ci".into()]
            }]
        }
    );
    assert!(pending.recorded.is_none());
    assert_eq!(w.emulator.pull(number)["merged"], false);
    assert_eq!(
        pending.requirements.as_ref().map(|r| r.required_checks.clone()),
        Some(vec!["ci".to_owned()]),
        "branch protection was read"
    );

    w.emulator.finish_check(run, "success");
    let done = merge(&facts);
    assert!(done.merged_now, "{:?}", done.decision);
    assert!(matches!(
        done.decision,
        MergeDecision::AlreadyMerged {
            merge_commit: Some(_)
        }
    ));
    assert_eq!(w.emulator.pull(number)["merged"], true);
    let merge_requests: Vec<_> = w
        .front
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path().ends_with("/merge"))
        .collect();
    assert_eq!(merge_requests.len(), 1, "one merge request, only when allowed");
    assert_eq!(
        merge_requests[0].body.as_ref().map(|b| b["sha"].clone()),
        Some(json!(head)),
        "sha guard"
    );
    let state = w.show();
    w.assert_replay_holds();
    assert_eq!(state["goal"]["delivery"]["merged"]["by"], "gated");
    assert_eq!(state["goal"]["last_event"]["kind"], "merge_recorded");
    let protection = w
        .emulator
        .get(&w.emulator.repo_path("/branches/main/protection"))
        .1;
    assert_eq!(
        protection["required_status_checks"]["contexts"],
        json!(["ci"]),
        "protection unchanged"
    );
    w.assert_requests_fit_github();
}

#[test]
fn gated_merge_refuses_a_head_that_is_not_the_proven_commit() {
    let Some(w) = World::new(&["--policy", "auto-pr", "--merge-policy", "gated"]) else {
        return;
    };
    let head = w.integrate("pub fn slugify(s: &str) -> String { s.trim().to_lowercase() }\n");
    let ctx = w.context();
    let facts = w.ready_facts(&head);
    let request = OpenPrRequest {
        facts: Some(facts.clone()),
        ..OpenPrRequest::default()
    };
    let number = deliver::open_pr(&ctx, request, &connector)
        .expect("open")
        .pr
        .expect("a PR")
        .number;
    // Someone presses "Update branch": the head moves to a merge commit the proof does not cover.
    let (status, answer) = w.emulator.send(
        "PUT",
        &w.emulator.repo_path(&format!("/pulls/{number}/update-branch")),
        &json!({}),
    );
    assert_eq!(status, 202, "{answer}");
    let moved = w.emulator.pull(number)["head"]["sha"]
        .as_str()
        .expect("sha")
        .to_owned();
    assert_ne!(moved, head);

    let request = MergeRequest {
        goal: None,
        facts: Some(facts),
    };
    let report = deliver::merge(&ctx, request, &connector).expect("merge runs");
    assert_eq!(
        report.decision,
        MergeDecision::Refuse {
            missing: vec![MergeBlocker::HeadMoved {
                head: moved,
                proven: head
            }]
        }
    );
    assert_eq!(w.emulator.pull(number)["merged"], false);
    assert!(!w.front.requests().iter().any(|r| r.path().ends_with("/merge")));
    w.assert_requests_fit_github();
}

#[test]
fn gated_merge_of_an_unproven_goal_says_precisely_what_is_missing() {
    let Some(w) = World::new(&["--policy", "auto-pr", "--merge-policy", "gated"]) else {
        return;
    };
    w.integrate("pub fn slugify(s: &str) -> String { s.trim().to_lowercase() }\n");
    let out = w.omk().args(["goal", "open-pr"]).output().expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = w.omk().args(["goal", "merge"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("the proof is `not_ready`"), "{text}");
    assert!(
        text.contains("no proof commit and proven commit are recorded"),
        "{text}"
    );
    assert_eq!(w.emulator.pulls()[0]["merged"], false);
    w.assert_requests_fit_github();
}

#[test]
fn manual_merge_policy_blocks_on_a_human_with_the_exact_command() {
    let Some(w) = World::new(&["--policy", "auto-pr", "--merge-policy", "manual"]) else {
        return;
    };
    w.integrate("pub fn slugify(s: &str) -> String { s.trim().to_lowercase() }\n");
    let out = w.omk().args(["goal", "open-pr"]).output().expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let requests_before = w.front.requests().len();
    let out = w.omk().args(["goal", "merge"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(3), "blocked_on_human: {}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("gh pr merge 1 --repo omk-bot/demo --merge"),
        "{text}"
    );
    assert_eq!(
        w.front.requests().len(),
        requests_before,
        "manual merges ask nothing of GitHub"
    );
    let state = w.show();
    assert_eq!(state["goal"]["status"], "blocked_on_human");
    let command = state["goal"]["delivery"]["awaiting_human"]["command"]
        .as_str()
        .unwrap_or("");
    assert!(
        command.starts_with("gh pr merge 1 --repo omk-bot/demo --merge"),
        "{command}"
    );
    assert_eq!(
        w.emulator.pulls()[0]["merged"],
        false,
        "a human merges, not git omk"
    );
    let tip = w.tip();
    let again = w.omk().args(["goal", "merge"]).output().expect("runs");
    assert_eq!(again.status.code(), Some(3));
    assert_eq!(w.tip(), tip, "the same waiting state is not recorded twice");
    w.assert_replay_holds();
}

#[test]
fn the_remote_rejecting_the_push_is_reported_and_never_forced() {
    let Some(w) = World::new(&["--policy", "draft-pr"]) else {
        return;
    };
    let head = w.integrate("pub fn slugify(s: &str) -> String { s.trim().to_lowercase() }\n");
    w.remote
        .reject_pushes(&w.repo, "protected namespace: pushes need review");
    let out = w.omk().args(["goal", "open-pr"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("rejected the push") && err.contains("protected namespace"),
        "{err}"
    );
    assert!(w.emulator.pulls().is_empty(), "no PR for an unpushed branch");
    let state = w.show();
    assert_eq!(state["goal"]["delivery"]["problem"]["stage"], "push");
    assert_eq!(
        w.repo.git(&["rev-parse", &w.branch()]),
        head,
        "the local work is intact"
    );

    // Someone else's commit on the remote branch: the push would rewrite it, so nothing is pushed.
    w.repo.git(&[
        "--git-dir",
        path_str(&w.remote.path),
        "config",
        "--unset",
        "omk-test.reject",
    ]);
    w.repo.git(&["checkout", "-q", "-b", "theirs", "main"]);
    w.repo.write_files(&[("README.md", "# theirs\n")]);
    w.repo.git(&["commit", "-q", "-am", "theirs"]);
    let theirs = w.repo.git(&["rev-parse", "HEAD"]);
    w.repo.git(&["checkout", "-q", "main"]);
    w.repo.git(&[
        "push",
        "-q",
        "origin",
        &format!("theirs:refs/heads/{}", w.branch()),
    ]);
    w.repo.git(&["branch", "-q", "-D", "theirs"]);
    let out = w.omk().args(["goal", "open-pr"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("nothing is forced"), "{err}");
    let remote_branch = w.remote.ref_value(&w.repo, &format!("refs/heads/{}", w.branch()));
    assert_eq!(remote_branch, Some(theirs), "their commit is still there");
}

#[test]
fn a_pr_closed_by_someone_else_is_not_reopened_or_duplicated() {
    let Some(w) = World::new(&["--policy", "draft-pr"]) else {
        return;
    };
    w.integrate("pub fn slugify(s: &str) -> String { s.trim().to_lowercase() }\n");
    let out = w.omk().args(["goal", "open-pr"]).output().expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let (status, _) = w.emulator.send(
        "PATCH",
        &w.emulator.repo_path("/pulls/1"),
        &json!({ "state": "closed" }),
    );
    assert_eq!(status, 200);
    let out = w.omk().args(["goal", "open-pr"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(3), "needs a human: {}", stderr(&out));
    assert!(
        stderr(&out).contains("was closed without merging"),
        "{}",
        stderr(&out)
    );
    let pulls = w.emulator.pulls();
    assert_eq!(pulls.len(), 1, "no second PR");
    assert_eq!(pulls[0]["state"], "closed", "not reopened behind anyone's back");
    let state = w.show();
    assert_eq!(state["goal"]["delivery"]["problem"]["stage"], "pull_request");
    assert_eq!(
        state["goal"]["delivery"]["pr"]["number"], 1,
        "the PR stays recorded"
    );
    w.assert_requests_fit_github();
}

#[test]
fn a_rate_limit_says_when_to_retry_and_a_rerun_continues() {
    let Some(w) = World::new(&["--policy", "draft-pr"]) else {
        return;
    };
    let head = w.integrate("pub fn slugify(s: &str) -> String { s.trim().to_lowercase() }\n");
    w.front.set_rule(|req| {
        if req.path().ends_with("/pulls") {
            Reply::Respond {
                status: 403,
                headers: vec![
                    ("x-ratelimit-remaining".into(), "0".into()),
                    ("x-ratelimit-reset".into(), "4102444800".into()),
                ],
                body: json!({ "message": "API rate limit exceeded for user ID 3." }).to_string(),
            }
        } else {
            Reply::Forward
        }
    });
    let out = w.omk().args(["goal", "open-pr"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("rate limit") && err.contains("after 2100-01-01T00:00:00+00:00"),
        "{err}"
    );
    let state = w.show();
    assert_eq!(state["goal"]["delivery"]["problem"]["stage"], "pull_request");
    assert!(
        state["goal"]["delivery"]["problem"]["next"]
            .as_str()
            .unwrap_or("")
            .contains("again after")
    );
    let pushed = w.remote.ref_value(&w.repo, &format!("refs/heads/{}", w.branch()));
    assert_eq!(pushed, Some(head), "what was pushed stays pushed");

    w.front.forward_all();
    let out = w.omk().args(["goal", "open-pr"]).output().expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(w.emulator.pulls().len(), 1);
    assert!(
        w.show()["goal"]["delivery"]["problem"].is_null(),
        "the problem is cleared"
    );
    w.assert_requests_fit_github();
}

// Bad cases that need no emulator: they fail before any request, or against a local stub.

/// A planned goal with an integration branch, in a repository without a usable GitHub.
fn offline_goal(remote: Option<&Path>) -> (TestRepo, String) {
    let repo = TestRepo::new();
    if let Some(r) = remote {
        repo.git(&["init", "-q", "--bare", path_str(r)]);
        repo.git(&["remote", "add", "origin", path_str(r)]);
        repo.git(&["config", "omk.github.repo", "omk-bot/demo"]);
    }
    let goal = plan(&repo, &["--policy", "draft-pr"]);
    repo.git(&["branch", &format!("omk/{goal}/integration"), "main"]);
    (repo, goal)
}

#[test]
fn without_a_remote_delivery_says_how_to_add_one_and_records_it() {
    let (repo, _) = offline_goal(None);
    let out = omk_with_token(&repo, Some("t"))
        .args(["goal", "open-pr"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no git remote") && stderr(&out).contains("git remote add"),
        "{}",
        stderr(&out)
    );
    let state = show(&repo);
    assert_eq!(state["goal"]["delivery"]["problem"]["stage"], "connect");
    let again = omk_with_token(&repo, Some("t"))
        .args(["goal", "open-pr"])
        .output()
        .expect("runs");
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        show(&repo)["goal"]["event_count"],
        state["goal"]["event_count"],
        "the same problem once"
    );
}

#[test]
fn without_a_token_delivery_names_every_source_and_pushes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bare = dir.path().join("remote.git");
    let (repo, goal) = offline_goal(Some(&bare));
    let out = omk_with_token(&repo, None)
        .args(["goal", "open-pr"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("GH_TOKEN") && err.contains("GITHUB_TOKEN") && err.contains("gh auth login"),
        "{err}"
    );
    assert_eq!(show(&repo)["goal"]["delivery"]["problem"]["stage"], "connect");
    let remote_refs = repo.git(&["--git-dir", path_str(&bare), "for-each-ref"]);
    assert!(remote_refs.is_empty(), "nothing pushed: {remote_refs}");
    let _ = goal;
}

#[test]
fn a_rejected_token_stops_before_pushing_and_gh_is_asked_last() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bare = dir.path().join("remote.git");
    let (repo, _) = offline_goal(Some(&bare));
    let front = Front::start(None);
    front.set_rule(|_| Reply::json(401, &json!({ "message": "Bad credentials" })));
    repo.git(&["config", "omk.github.apiUrl", &front.url()]);
    let bin = fake_gh(&repo, Some("gho_from_gh_cli"));
    let out = repo
        .omk()
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
        )
        .args(["goal", "open-pr"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(3),
        "a human must fix the token: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("rejected the token from gh auth token") && err.contains("Bad credentials"),
        "{err}"
    );
    assert!(!err.contains("gho_from_gh_cli"), "the token is never printed");
    let requests = front.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer gho_from_gh_cli")
    );
    assert!(
        repo.git(&["--git-dir", path_str(&bare), "for-each-ref"])
            .is_empty(),
        "nothing pushed"
    );
    let state = show(&repo);
    assert_eq!(state["goal"]["delivery"]["problem"]["stage"], "connect");
    assert_token_absent(&repo, &repo.path.join(".git"), "gho_from_gh_cli");

    // GH_TOKEN wins over gh, and 403 is reported as missing permissions.
    front.set_rule(|_| {
        Reply::json(
            403,
            &json!({ "message": "Resource not accessible by personal access token" }),
        )
    });
    let out = repo
        .omk()
        .env_remove("GITHUB_TOKEN")
        .env("GH_TOKEN", "ghp_env")
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
        )
        .args(["goal", "open-pr"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("token from GH_TOKEN") && stderr(&out).contains("repo"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        front
            .requests()
            .last()
            .and_then(|r| r.header("authorization").map(str::to_owned)),
        Some("Bearer ghp_env".into())
    );
}

#[test]
fn a_dry_run_renders_without_network_or_records() {
    let (repo, goal) = offline_goal(None);
    repo.git(&["remote", "add", "origin", "git@github.com:acme/widgets.git"]);
    let tip = repo.git(&["rev-parse", &format!("refs/omk/goals/{goal}")]);
    let out = omk_with_token(&repo, None)
        .args(["goal", "open-pr", "--dry-run", "-f", "json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json_of(&out.stdout);
    assert_eq!(doc["dry_run"], true);
    assert!(doc["pr"].is_null());
    let body = doc["body"].as_str().unwrap_or("");
    assert!(
        body.contains("git fetch https://github.com/acme/widgets.git"),
        "{body}"
    );
    assert_eq!(
        repo.git(&["rev-parse", &format!("refs/omk/goals/{goal}")]),
        tip,
        "nothing recorded"
    );
    let md = omk_with_token(&repo, None)
        .args(["goal", "open-pr", "--dry-run"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&md.stdout).contains("# Fix the off-by-one in slugify"));
}

#[test]
fn the_push_remote_is_chosen_by_rule_and_can_be_named() {
    let (repo, _) = offline_goal(None);
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["upstream", "fork"] {
        let bare = dir.path().join(format!("{name}.git"));
        repo.git(&["init", "-q", "--bare", path_str(&bare)]);
        repo.git(&["remote", "add", name, path_str(&bare)]);
    }
    repo.git(&["config", "omk.github.repo", "omk-bot/demo"]);
    let out = omk_with_token(&repo, None)
        .args(["goal", "open-pr"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("several remotes (fork, upstream)") && stderr(&out).contains("omk.remote"),
        "{}",
        stderr(&out)
    );
    repo.git(&["config", "omk.remote", "fork"]);
    let out = omk_with_token(&repo, None)
        .args(["goal", "open-pr"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no GitHub token"),
        "the remote is settled, the token is next: {}",
        stderr(&out)
    );
}

/// The repository named by a dry run's verify command.
fn dry_run_fetch_url(repo: &TestRepo) -> String {
    let out = omk_with_token(repo, None)
        .args(["goal", "open-pr", "--dry-run", "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let body = json_of(&out.stdout)["body"].as_str().unwrap_or("").to_owned();
    let line = body
        .lines()
        .find(|l| l.starts_with("git fetch "))
        .unwrap_or_else(|| panic!("no fetch command in:\n{body}"));
    line.split_whitespace().nth(2).unwrap_or("").to_owned()
}

#[test]
fn the_repository_comes_from_the_push_url_after_url_rewriting() {
    let (repo, _) = offline_goal(None);
    repo.git(&["remote", "add", "origin", "gh:acme/widgets"]);
    repo.git(&["config", "url.https://github.com/.insteadOf", "gh:"]);
    assert_eq!(dry_run_fetch_url(&repo), "https://github.com/acme/widgets.git");

    // pushInsteadOf applies to the URL git pushes to, and a GitHub Enterprise host gets its /api/v3.
    repo.git(&[
        "remote",
        "set-url",
        "origin",
        "https://mirror.example.com/acme/widgets",
    ]);
    repo.git(&[
        "config",
        "url.ssh://git@ghe.example.com/.pushInsteadOf",
        "https://mirror.example.com/",
    ]);
    assert_eq!(
        dry_run_fetch_url(&repo),
        "https://ghe.example.com/acme/widgets.git"
    );

    // An explicit push URL wins over the fetch URL; insteadOf still applies to it.
    repo.git(&["remote", "set-url", "--push", "origin", "gh:other/thing"]);
    assert_eq!(dry_run_fetch_url(&repo), "https://github.com/other/thing.git");
}

#[test]
fn an_enterprise_host_takes_its_token_from_gh_enterprise_token_as_gh_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bare = dir.path().join("remote.git");
    let (repo, _) = offline_goal(Some(&bare));
    let front = Front::start(None);
    front.set_rule(|_| Reply::json(401, &json!({ "message": "Bad credentials" })));
    repo.git(&["config", "omk.github.apiUrl", &front.url()]);

    // The remote is a local path: GH_HOST names the host, an Enterprise Server one, so GH_TOKEN
    // (a github.com token) is not sent there.
    let out = omk_with_token(&repo, Some("ghp_public"))
        .env("GH_HOST", "ghe.example.com")
        .args(["goal", "open-pr"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no GitHub token for ghe.example.com")
            && err.contains("GH_ENTERPRISE_TOKEN")
            && err.contains("gh auth login --hostname ghe.example.com"),
        "{err}"
    );
    assert!(front.requests().is_empty(), "nothing was sent");

    let out = omk_with_token(&repo, Some("ghp_public"))
        .env("GH_HOST", "ghe.example.com")
        .env("GITHUB_ENTERPRISE_TOKEN", "ghe_second")
        .env("GH_ENTERPRISE_TOKEN", "ghe_first")
        .args(["goal", "open-pr", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("token from GH_ENTERPRISE_TOKEN"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        front.requests()[0].header("authorization"),
        Some("Bearer ghe_first")
    );
}

#[test]
fn open_pr_json_is_the_same_document_as_format_json() {
    let (repo, _) = offline_goal(None);
    repo.git(&["remote", "add", "origin", "git@github.com:acme/widgets.git"]);
    let run = |args: &[&str]| {
        let out = omk_with_token(&repo, None)
            .args(["goal", "open-pr", "--dry-run"])
            .args(args)
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", stderr(&out));
        json_of(&out.stdout)
    };
    let json = run(&["--json"]);
    assert_eq!(json, run(&["-f", "json"]));
    assert_eq!(json["schema_version"], 1);
    let both = omk_with_token(&repo, None)
        .args(["goal", "open-pr", "--dry-run", "--json", "-f", "markdown"])
        .output()
        .expect("runs");
    assert_eq!(
        both.status.code(),
        Some(2),
        "conflicting formats are a usage error"
    );
}

/// A coding agent standing in for Kimi: fixes the bug its task names; finds nothing to report when
/// asked to review.
const FIXING_AGENT: &str = r##"#!/bin/sh
case "$OMK_PROMPT" in
  *"reviewer for git-omk"*) printf '```json\n{"findings": []}\n```\n'; exit 0 ;;
esac
task=$(printf '%s\n' "$OMK_PROMPT" | grep '^Your task' || true)
case "$task" in
  *"Address review comments on calc.py"*)
    sed -i 's/^def add(a, b):$/# The sum of a and b.\ndef add(a, b):/' calc.py
    printf '\n\ndef mul(a, b):\n    return a * b\n' >> calc.py ;;
  *add*) sed -i 's/return a - b/return a + b/' calc.py ;;
  *upper*) sed -i 's/return s.lower()/return s.upper()/' strings.py ;;
esac
"##;

/// A repository whose main is mirrored into the emulator, with a bug in calc.py and strings.py each and
/// pytest gates, and a fixing agent: `run` drives a goal under the given policies.
struct Driven {
    emulator: Emulator,
    front: Front,
    remote: Remote,
    repo: TestRepo,
    pytest: PathBuf,
    agent: String,
}

impl Driven {
    /// `None` when pytest or the emulator is not installed (skipped loudly, or failing under CI).
    /// `setup` runs in the repository before main is pushed.
    fn new(setup: impl FnOnce(&TestRepo)) -> Option<Driven> {
        let pytest = support::tools::pytest_bin()?;
        let emulator = Emulator::start()?;
        let front = Front::start(Some(emulator.addr));
        let repo = TestRepo::with_files(support::scenario::TWO_BUGS);
        let remote = Remote::mirroring(&emulator, &repo.home);
        repo.git(&["remote", "add", "origin", path_str(&remote.path)]);
        repo.git(&["config", "omk.github.repo", "omk-bot/demo"]);
        repo.git(&["config", "omk.github.apiUrl", &front.url()]);
        setup(&repo);
        repo.git(&["push", "-q", "origin", "main"]);
        let agent = repo.home.join("agent.sh");
        std::fs::write(&agent, FIXING_AGENT).expect("write agent");
        Command::new("chmod")
            .arg("+x")
            .arg(&agent)
            .status()
            .expect("chmod");
        let agent = format!("exec:{}", agent.display());
        Some(Driven {
            emulator,
            front,
            remote,
            repo,
            pytest,
            agent,
        })
    }

    /// PATH with the fake `gh` and pytest.
    fn path(&self) -> String {
        format!(
            "{}:{}",
            self.repo.home.join("fake-bin").display(),
            support::tools::path_with(&self.pytest)
        )
    }

    /// `git-omk` with the token, the fake `gh` and pytest.
    fn omk(&self) -> assert_cmd::Command {
        let mut cmd = omk_with_token(&self.repo, Some(TOKEN));
        cmd.env("PATH", self.path());
        cmd
    }

    /// Every request git-omk sent fits GitHub's API description.
    fn assert_requests_fit_github(&self) {
        let Some(spec) = Spec::load() else { return };
        let problems: Vec<String> = self
            .front
            .requests()
            .iter()
            .flat_map(|r| spec.problems(r, ""))
            .collect();
        assert!(
            problems.is_empty(),
            "requests GitHub would not know:\n{}",
            problems.join("\n")
        );
    }

    /// `goal run --until-ready` with the fixing agent and `opts`; the run's JSON document.
    fn run(&self, text: &str, opts: &[&str]) -> (Option<i32>, Value) {
        let out = self
            .omk()
            .args(until_ready(text, &self.agent, &["--json"]))
            .args(opts)
            .output()
            .expect("runs");
        (out.status.code(), json_of(&out.stdout))
    }
}

#[test]
fn a_run_under_auto_pr_and_gated_merge_delivers_its_proof_and_merges_the_proven_commit() {
    let Some(d) = Driven::new(|_| {}) else {
        return;
    };
    let (code, doc) = d.run(
        "Fix add in calc.py and fix upper in strings.py",
        &["--policy", "auto-pr", "--merge-policy", "gated"],
    );
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["status"], "ready");
    let goal = doc["id"].as_str().expect("id").to_owned();
    let number = doc["delivery"]["pr"]["number"]
        .as_u64()
        .expect("a PR is recorded");
    assert!(
        doc["delivery"]["merged"].is_object(),
        "the gated merge went through: {}",
        doc["delivery"]
    );
    let (emulator, remote, repo) = (&d.emulator, &d.remote, &d.repo);

    let proof = json_of(
        &omk_with_token(repo, Some(TOKEN))
            .args(["goal", "proof", "-f", "json"])
            .output()
            .expect("runs")
            .stdout,
    );
    let proof_commit = proof["proof_commit"].as_str().expect("a proof commit").to_owned();
    let proven = proof["proof"]["result"]["commit"]
        .as_str()
        .expect("proven")
        .to_owned();
    let pr = emulator.pull(number);
    assert_eq!(pr["draft"], false, "a ready goal under auto-pr is not a draft");
    assert_eq!(
        pr["head"]["sha"],
        proven.as_str(),
        "the PR head is the proven commit"
    );
    let body = pr["body"].as_str().expect("body");
    assert!(body.contains("**Proof:** `ready`"), "{body}");
    assert!(
        body.contains(&proof_commit),
        "the body links the proof commit:\n{body}"
    );
    assert!(body.contains("test_calc.py") || body.contains("pytest"), "{body}");
    // proof.json records the delivery: the PR, the gated merge with the checks it read, the baseline.
    let delivery = &proof["proof"]["delivery"];
    let recorded_pr = &delivery["pull_requests"][0];
    assert_eq!(recorded_pr["role"], "integrator", "{delivery}");
    assert_eq!(recorded_pr["number"], number);
    assert_eq!(recorded_pr["url"], pr["html_url"]);
    assert_eq!(recorded_pr["head"], format!("omk/{goal}/integration"));
    assert_eq!(recorded_pr["head_sha"], proven.as_str());
    assert_eq!(recorded_pr["base"], "main");
    assert_eq!(recorded_pr["state"], "merged");
    assert_eq!(recorded_pr["proof_commit"], proof_commit.as_str());
    let merged = emulator.pull(number);
    let merge_commit = merged["merge_commit_sha"].as_str().expect("merged by GitHub");
    let decision = &delivery["merges"][0];
    assert_eq!(decision["decision"], "merged", "{delivery}");
    assert_eq!(decision["policy"], "gated");
    assert_eq!(decision["by"], "gated");
    assert_eq!(decision["head_sha"], proven.as_str());
    assert!(decision["checks"].is_array(), "{decision}");
    assert_eq!(decision["merge_commit"], merge_commit);
    assert_eq!(delivery["baseline"], merge_commit, "the final baseline commit");
    assert_eq!(proof["proof"]["schema_version"], 3);
    let goal_ref = format!("refs/omk/goals/{goal}");
    let pushed = remote
        .ref_value(repo, &goal_ref)
        .expect("the goal ref was pushed");
    let reaches = repo
        .git_command()
        .arg("--git-dir")
        .arg(&remote.path)
        .args(["merge-base", "--is-ancestor", &proof_commit, &pushed])
        .status()
        .expect("git");
    assert!(reaches.success(), "the pushed goal holds its proof commit");
    assert_token_absent(repo, &repo.path.join(".git"), TOKEN);
}

/// The `run:` script of the step named `name` in a workflow file (one line, or a `|` block).
fn step_script(workflow: &str, name: &str) -> String {
    let lines: Vec<&str> = workflow.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == format!("- name: {name}"))
        .unwrap_or_else(|| panic!("no step `{name}`"));
    let step_indent = lines[start].len() - lines[start].trim_start().len();
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let indent = line.len() - line.trim_start().len();
        if !line.trim().is_empty() && indent <= step_indent {
            break;
        }
        let Some(rest) = line.trim().strip_prefix("run:") else {
            continue;
        };
        if rest.trim() != "|" {
            return rest.trim().to_owned();
        }
        return lines[i + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join("\n");
    }
    panic!("step `{name}` has no run script")
}

/// A runner's checkout of `sha` from the remote, as `actions/checkout` makes it (full history).
fn runner_checkout(d: &Driven, sha: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path().join("work");
    d.repo
        .git(&["clone", "-q", path_str(&d.remote.path), path_str(&work)]);
    d.repo.git_in(&work, &["checkout", "-q", "--detach", sha]);
    dir
}

/// Run the omk-verify workflow's steps after the install step in `runner`, as GitHub Actions runs them
/// for a `pull_request` event whose head is `head_ref` at `sha`: bash, the step's environment, git-omk
/// on PATH, the API and repository of the run. Returns the verify step's exit code.
fn run_verify_workflow(d: &Driven, runner: &Path, head_ref: &str, sha: &str) -> Option<i32> {
    let workflow = std::fs::read_to_string(runner.join(".github/workflows/omk-verify.yml"))
        .expect("the checked-out tree carries the workflow");
    let event = runner.parent().expect("dir").join("event.json");
    let payload = json!({
        "action": "synchronize",
        "number": 1,
        "pull_request": { "number": 1, "head": { "ref": head_ref, "sha": sha }, "base": { "ref": "main" } },
    });
    std::fs::write(&event, payload.to_string()).expect("write event");
    let bin = Path::new(env!("CARGO_BIN_EXE_git-omk"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let mut code = None;
    for step in ["Fetch the goals", "Verify the proof and publish the check run"] {
        let script = step_script(&workflow, step);
        let mut cmd = Command::new("bash");
        support::git_repo::hermetic(&mut cmd, &d.repo.home);
        let out = cmd
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
            .current_dir(runner)
            .env("PATH", format!("{}:{}", bin.display(), d.path()))
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_REPOSITORY", "omk-bot/demo")
            .env("GITHUB_API_URL", d.front.url())
            .env("GH_TOKEN", TOKEN)
            .output()
            .expect("bash runs");
        code = out.status.code();
        if step == "Fetch the goals" {
            assert!(out.status.success(), "{step}: {}", stderr(&out));
        } else {
            eprintln!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        }
    }
    code
}

/// The "git-omk proof" check runs on `sha`.
fn proof_checks(emulator: &Emulator, sha: &str) -> Vec<Value> {
    let (status, body) = emulator.get(&emulator.repo_path(&format!("/commits/{sha}/check-runs")));
    assert_eq!(status, 200, "{body}");
    body["check_runs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c["name"] == "git-omk proof")
        .collect()
}

#[test]
fn the_omk_verify_step_publishes_the_proof_check_and_gated_merge_waits_for_it() {
    let Some(d) = Driven::new(|repo| {
        let out = repo
            .omk()
            .args(["ci", "install", "--verify"])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", stderr(&out));
        repo.git(&["add", ".github"]);
        repo.git(&["commit", "-q", "-m", "ci: git-omk proof"]);
    }) else {
        return;
    };
    let (code, doc) = d.run(
        "Fix add in calc.py and fix upper in strings.py",
        &["--policy", "auto-pr", "--merge-policy", "gated"],
    );
    assert_eq!(doc["status"], "ready", "{doc}");
    assert_eq!(code, Some(0), "{doc}");
    assert!(
        doc["delivery"]["merged"].is_null(),
        "the merge waits for the proof check: {}",
        doc["delivery"]
    );
    let goal = doc["id"].as_str().expect("id").to_owned();
    let number = doc["delivery"]["pr"]["number"].as_u64().expect("a PR");
    let head_ref = format!("omk/{goal}/integration");
    let proven = d.emulator.pull(number)["head"]["sha"]
        .as_str()
        .expect("head")
        .to_owned();

    let waiting = d.omk().args(["goal", "merge", "--json"]).output().expect("runs");
    assert_eq!(waiting.status.code(), Some(1), "{}", stderr(&waiting));
    let report = json_of(&waiting.stdout);
    assert!(
        report["missing"]
            .as_array()
            .expect("missing")
            .iter()
            .any(|m| m["code"] == "required_checks_missing" && m["names"] == json!(["git-omk proof"])),
        "{report}"
    );

    // The workflow on the proven head: the gates run again on a runner's checkout, the check succeeds.
    let runner = runner_checkout(&d, &proven);
    let work = runner.path().join("work");
    assert_eq!(run_verify_workflow(&d, &work, &head_ref, &proven), Some(0));
    let checks = proof_checks(&d.emulator, &proven);
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0]["conclusion"], "success");
    assert!(
        checks[0]["output"]["summary"]
            .as_str()
            .unwrap_or("")
            .contains("**holds**"),
        "{}",
        checks[0]
    );
    assert!(
        d.repo
            .goal_refs()
            .iter()
            .all(|r| r.starts_with("refs/omk/goals/")),
        "the runner records nothing"
    );

    let merged = d.omk().args(["goal", "merge", "--json"]).output().expect("runs");
    assert_eq!(
        merged.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&merged.stdout)
    );
    assert_eq!(d.emulator.pull(number)["merged"], true);

    // Someone changes the head by hand: the check on the new head fails and says why.
    d.repo.git_in(&work, &["checkout", "-q", "-b", "by-hand"]);
    std::fs::write(work.join("calc.py"), "def add(a, b):\n    return b + a\n").expect("edit");
    d.repo.git_in(
        &work,
        &[
            "-c",
            "user.name=A Human",
            "-c",
            "user.email=human@example.com",
            "commit",
            "-q",
            "-am",
            "tweak add by hand",
        ],
    );
    d.repo.git_in(
        &work,
        &["push", "-q", "origin", &format!("HEAD:refs/heads/{head_ref}")],
    );
    let moved = d.repo.git_in(&work, &["rev-parse", "HEAD"]);
    assert_eq!(run_verify_workflow(&d, &work, &head_ref, &moved), Some(1));
    let checks = proof_checks(&d.emulator, &moved);
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0]["conclusion"], "failure");
    assert!(
        checks[0]["output"]["title"]
            .as_str()
            .unwrap_or("")
            .contains("is not the proven commit"),
        "{}",
        checks[0]
    );
    d.assert_requests_fit_github();
}

#[test]
fn review_feedback_is_read_selected_and_answered_in_its_thread() {
    let Some(w) = World::new(&["--policy", "draft-pr"]) else {
        return;
    };
    w.integrate("pub fn slugify(s: &str) -> String { s.trim().to_lowercase() }\n");
    let out = w
        .omk()
        .args(["goal", "open-pr", "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let number = json_of(&out.stdout)["pr"]["number"].as_u64().expect("a PR");

    // A human requests changes with two inline comments, and says something in the conversation.
    let review = json!({
        "event": "REQUEST_CHANGES",
        "body": "Two things before this can go in.",
        "comments": [
            { "path": "src/slugify.rs", "position": 1, "body": "Please replace spaces with dashes." },
            { "path": "src/slugify.rs", "position": 1, "body": "Why is this trimming?" },
        ],
    });
    let reviews_path = w.emulator.repo_path(&format!("/pulls/{number}/reviews"));
    let (status, answer) = w.emulator.send_as(REVIEWER_TOKEN, "POST", &reviews_path, &review);
    assert_eq!(status, 201, "{answer}");
    let comments_path = w.emulator.repo_path(&format!("/issues/{number}/comments"));
    let (status, answer) = w.emulator.send_as(
        REVIEWER_TOKEN,
        "POST",
        &comments_path,
        &json!({ "body": "Also mention it in the changelog." }),
    );
    assert_eq!(status, 201, "{answer}");

    let ctx = w.context();
    let conn = connector(&ctx).expect("connect");
    let forge = conn.forge.as_ref();
    let feedback = PrFeedback {
        reviews: forge.reviews(number).expect("reviews"),
        review_comments: forge.review_comments(number).expect("review comments"),
        conversation: forge.conversation(number).expect("conversation"),
    };
    assert_eq!(feedback.reviews[0].state, "CHANGES_REQUESTED");
    let own = forge.viewer_login().expect("viewer");
    assert_eq!(own.as_deref(), Some("omk-bot"));
    let seen = Seen {
        own_login: own.as_deref(),
        since: None,
        recorded: &[],
    };
    let picked = select(&feedback, &seen);
    let kinds: Vec<FeedbackKind> = picked.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            FeedbackKind::Review,
            FeedbackKind::ReviewComment,
            FeedbackKind::ReviewComment,
            FeedbackKind::Conversation
        ],
        "the sticky proof summary of git-omk is not feedback: {picked:?}"
    );
    let inline: Vec<_> = picked
        .iter()
        .filter(|f| f.kind == FeedbackKind::ReviewComment)
        .collect();
    assert!(
        inline
            .iter()
            .all(|f| f.source == "github:alice" && f.path.as_deref() == Some("src/slugify.rs"))
    );
    assert!(
        inline
            .iter()
            .all(|f| f.position == Some(1) && f.url.contains("#discussion_r"))
    );
    assert_eq!((inline[0].ask, inline[1].ask), (Ask::Change, Ask::Question));

    // git-omk answers in the thread; its reply is never feedback itself.
    w.emulator.bridge_replies(&w.front);
    let reply = format!("{REPLY_MARKER}\nAddressed in abc1234.");
    let reply_id = forge
        .reply_to_review_comment(number, inline[0].id, &reply)
        .expect("reply");
    let thread = forge.review_comments(number).expect("review comments");
    let answered = thread.iter().find(|c| c.id == reply_id).expect("the reply");
    assert_eq!(answered.in_reply_to, Some(inline[0].id));
    assert_eq!(answered.author.login, "omk-bot");
    let feedback = PrFeedback {
        review_comments: thread,
        ..feedback
    };
    assert_eq!(select(&feedback, &seen).len(), 4, "the reply adds no feedback");
    w.assert_requests_fit_github();
}

#[test]
fn address_reviews_fixes_both_comments_pushes_a_ready_head_replies_and_a_second_run_does_nothing() {
    let Some(d) = Driven::new(|_| {}) else {
        return;
    };
    let (code, doc) = d.run(
        "Fix add in calc.py and fix upper in strings.py",
        &["--policy", "draft-pr"],
    );
    assert_eq!(code, Some(0), "{doc}");
    let goal = doc["id"].as_str().expect("id").to_owned();
    let number = doc["delivery"]["pr"]["number"].as_u64().expect("a PR");
    let delivered = d.emulator.pull(number)["head"]["sha"]
        .as_str()
        .expect("head")
        .to_owned();
    let comments = d.emulator.request_changes(number, "calc.py");
    assert_eq!(comments.len(), 2);
    d.emulator.bridge_replies(&d.front);

    let out = d
        .omk()
        .args(["goal", "address-reviews", "--json"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    let report = json_of(&out.stdout);
    assert_eq!(report["status"], "ready", "{report}");
    assert_eq!(
        report["recorded"].as_array().map(Vec::len),
        Some(3),
        "the review and its two comments: {report}"
    );
    assert_eq!(report["delivered"], true);

    // The fix is the new proven head of the PR.
    let show = show(&d.repo);
    let head = show["goal"]["integration"]["commit"]
        .as_str()
        .expect("tip")
        .to_owned();
    assert_ne!(head, delivered);
    // The emulator keeps an open PR's head where it was created (GitHub moves it with the branch):
    // the branch itself shows the push.
    let branch = doc["delivery"]["branch"].as_str().expect("branch");
    let (_, on_github) = d
        .emulator
        .get(&d.emulator.repo_path(&format!("/branches/{branch}")));
    assert_eq!(
        on_github["commit"]["sha"],
        head.as_str(),
        "the new result was pushed: {on_github}"
    );
    assert_eq!(
        d.remote.ref_value(&d.repo, &format!("refs/heads/{branch}")),
        Some(head.clone())
    );
    let pr = d.emulator.pull(number);
    let calc = d.repo.git(&["show", &format!("{head}:calc.py")]);
    assert!(
        calc.contains("# The sum of a and b.") && calc.contains("def mul"),
        "{calc}"
    );
    let fix = show["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["id"] == "review-1-1")
        .unwrap_or_else(|| panic!("the fix task: {show}"));
    assert_eq!(fix["kind"], "fix");
    assert_eq!(fix["write_set"], json!(["calc.py"]));
    let proof = json_of(
        &d.omk()
            .args(["goal", "proof", "-f", "json"])
            .output()
            .expect("runs")
            .stdout,
    );
    assert_eq!(proof["proof"]["status"], "ready", "{proof}");
    assert_eq!(proof["proof"]["result"]["commit"], head.as_str());
    let proof_commit = proof["proof_commit"].as_str().expect("proof commit");
    // proof.json records each piece of feedback with its task, the commit that fixed it and the reply.
    let feedback = proof["proof"]["delivery"]["feedback"]
        .as_array()
        .unwrap_or_else(|| panic!("feedback in the proof: {proof}"));
    assert_eq!(feedback.len(), 3, "{feedback:?}");
    for id in &comments {
        let f = feedback
            .iter()
            .find(|f| f["kind"] == "review_comment" && f["id"] == *id)
            .unwrap_or_else(|| panic!("comment {id} in the proof: {feedback:?}"));
        assert_eq!(f["pr"], number);
        assert_eq!(f["file"], "calc.py");
        assert_eq!(f["task"], "review-1-1");
        assert_eq!(f["fix_commit"], head.as_str());
        assert!(f["review_id"].is_u64() && f["reply"].is_u64(), "{f}");
        assert_eq!(f["addressed"], true);
    }
    assert_eq!(
        proof["proof"]["delivery"]["pull_requests"][0]["head_sha"],
        head.as_str()
    );
    let body = pr["body"].as_str().expect("body");
    assert!(
        body.contains("**Proof:** `ready`") && body.contains(proof_commit),
        "{body}"
    );
    let sticky = d.emulator.proof_summaries(number);
    assert_eq!(sticky.len(), 1, "one sticky comment");
    assert!(
        sticky[0]["body"].as_str().is_some_and(|b| b.contains(&head[..7])),
        "{}",
        sticky[0]
    );

    // Each comment is answered in its thread with the fixing commit.
    for id in &comments {
        let replies = d.emulator.replies_to(number, *id);
        assert_eq!(replies.len(), 1, "one reply to {id}");
        let text = replies[0]["body"].as_str().unwrap_or_default();
        assert!(
            text.starts_with(REPLY_MARKER) && text.contains(&format!("/commit/{head}")),
            "{text}"
        );
    }
    let recorded = &show["goal"]["delivery"]["feedback"];
    assert!(
        recorded
            .as_array()
            .is_some_and(|f| f.iter().all(|f| f["reply"]["reply_id"].is_u64())),
        "{recorded}"
    );
    d.assert_requests_fit_github();

    // A second run finds nothing new and changes nothing, here or on GitHub.
    let tip = d.repo.git(&["rev-parse", &format!("refs/omk/goals/{goal}")]);
    let on_github = (
        d.emulator.comments(number).len(),
        d.emulator
            .get(&d.emulator.repo_path(&format!("/pulls/{number}/comments")))
            .1,
    );
    let again = d.omk().args(["goal", "address-reviews"]).output().expect("runs");
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing new"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(d.repo.git(&["rev-parse", &format!("refs/omk/goals/{goal}")]), tip);
    assert_eq!(
        (
            d.emulator.comments(number).len(),
            d.emulator
                .get(&d.emulator.repo_path(&format!("/pulls/{number}/comments")))
                .1,
        ),
        on_github
    );
    let replay = d
        .omk()
        .args(["goal", "replay", "--verify"])
        .output()
        .expect("runs");
    assert!(replay.status.success(), "{}", stderr(&replay));
}

#[test]
fn slice_prs_deliver_each_task_into_the_integration_branch_listed_by_the_integrator_pr_and_reruns_update() {
    let Some(d) = Driven::new(|_| {}) else {
        return;
    };
    let (code, doc) = d.run(
        "Fix add in calc.py and fix upper in strings.py",
        &["--policy", "draft-pr", "--slice-prs"],
    );
    assert_eq!(code, Some(0), "{doc}");
    let goal = doc["id"].as_str().expect("id").to_owned();
    let integration = format!("omk/{goal}/integration");
    let number = doc["delivery"]["pr"]["number"]
        .as_u64()
        .expect("the integrator PR");
    let show = show(&d.repo);
    assert_eq!(show["tasks"].as_array().map(Vec::len), Some(2), "{show}");
    let proof = json_of(
        &d.omk()
            .args(["goal", "proof", "-f", "json"])
            .output()
            .expect("runs")
            .stdout,
    );
    let proof_commit = proof["proof_commit"].as_str().expect("a proof commit").to_owned();
    let slices = show["goal"]["delivery"]["slices"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("slice PRs recorded: {}", show["goal"]["delivery"]));
    assert_eq!(slices.len(), 2, "one slice PR per task: {slices:?}");
    let integrator = d.emulator.pull(number);
    let integrator_body = integrator["body"].as_str().expect("body");
    assert!(integrator_body.contains("## Slice PRs"), "{integrator_body}");
    for s in &slices {
        let task = s["task"].as_str().expect("task");
        let pr = d.emulator.pull(s["number"].as_u64().expect("number"));
        assert_eq!(pr["head"]["ref"], format!("omk/{goal}/tasks/{task}"), "{pr}");
        assert_eq!(pr["base"]["ref"], integration.as_str(), "{pr}");
        let body = pr["body"].as_str().expect("body");
        assert!(body.starts_with("<!-- git-omk:slice-pr -->"), "{body}");
        assert!(body.contains(&format!("`{task}`")), "{body}");
        assert!(
            body.contains(&format!("/commit/{proof_commit}")),
            "the slice links the proof commit:\n{body}"
        );
        assert!(
            body.contains("## Task gates") && body.contains("write set"),
            "{body}"
        );
        assert!(
            integrator_body.contains(&format!("#{} `{task}`", s["number"])),
            "the integrator PR lists slice {task}:\n{integrator_body}"
        );
        assert_eq!(
            d.remote
                .ref_value(&d.repo, &format!("refs/heads/omk/{goal}/tasks/{task}")),
            s["head_sha"].as_str().map(str::to_owned),
            "the task branch was pushed at its commit"
        );
    }
    let tip = d.repo.git(&["rev-parse", &format!("refs/heads/{integration}")]);
    assert_eq!(
        d.remote.ref_value(&d.repo, &format!("refs/heads/{integration}")),
        Some(tip.clone()),
        "the integration branch ends at the proven tip"
    );

    // proof.json lists all three.
    let prs = proof["proof"]["delivery"]["pull_requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(prs.len(), 3, "{prs:?}");
    assert_eq!(prs[0]["role"], "integrator");
    assert_eq!(prs[0]["number"], number);
    let mut slice_tasks: Vec<&str> = prs[1..]
        .iter()
        .inspect(|p| assert_eq!(p["role"], "slice", "{p}"))
        .filter_map(|p| p["task"].as_str())
        .collect();
    slice_tasks.sort_unstable();
    let mut tasks: Vec<&str> = show["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    tasks.sort_unstable();
    assert_eq!(slice_tasks, tasks);

    // Running open-pr again updates, never duplicates, and records nothing new.
    let all_pulls = |e: &Emulator| e.get(&e.repo_path("/pulls?state=all")).1.as_array().map(Vec::len);
    let before = all_pulls(&d.emulator);
    assert_eq!(before, Some(3));
    let goal_tip = d.repo.git(&["rev-parse", &format!("refs/omk/goals/{goal}")]);
    let again = d
        .omk()
        .args(["goal", "open-pr", "--slice-prs", "--json"])
        .output()
        .expect("runs");
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(all_pulls(&d.emulator), before, "no second PR for any branch");
    assert_eq!(
        d.repo.git(&["rev-parse", &format!("refs/omk/goals/{goal}")]),
        goal_tip,
        "nothing new to record"
    );
    d.assert_requests_fit_github();
}
