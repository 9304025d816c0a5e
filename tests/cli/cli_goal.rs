//! End-to-end tests of the goal commands on real repositories: planning, inspection, control, output
//! formats, exit codes, and that the user's repository is never touched.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read the clock

use crate::support;

use serde_json::Value;
use support::git_repo::TestRepo;
use support::omk::{json_of, plan};

#[test]
fn plan_records_one_goal_commit_and_never_touches_the_work_tree() {
    let repo = TestRepo::new();
    repo.write_files(&[("scratch.txt", "uncommitted\n")]);
    repo.git(&["add", "scratch.txt"]);
    let before = repo.user_state();
    let id = plan(
        &repo,
        "Fix the off-by-one in slugify and add retries to the HTTP client",
    );
    assert_eq!(
        repo.user_state(),
        before,
        "HEAD, branch, index and work tree unchanged"
    );
    assert_eq!(repo.goal_refs(), vec![format!("refs/omk/goals/{id}")]);
    let ref_name = format!("refs/omk/goals/{id}");
    assert_eq!(repo.git(&["rev-list", "--count", &ref_name]), "1");
    let message = repo.git(&["log", "-1", "--format=%B", &ref_name]);
    assert!(
        message.starts_with("planned: Fix the off-by-one in slugify"),
        "{message}"
    );
    for trailer in [
        "Omk-Schema: 1",
        &format!("Omk-Goal: {id}"),
        "Omk-Phase: planning",
        "Omk-Event: goal_created",
        "Omk-Event: plan_recorded",
    ] {
        assert!(message.contains(trailer), "missing {trailer} in {message}");
    }
    let files = repo.git(&["ls-tree", "-r", "--name-only", &ref_name]);
    for f in [
        "goal.json",
        "tasks.json",
        "events.jsonl",
        "decisions.jsonl",
        "plan/brief.md",
        "plan/technical-plan.md",
        "plan/test-spec.md",
        "plan/oracle.json",
    ] {
        assert!(files.lines().any(|l| l == f), "{f} missing from {files}");
    }
    let tasks: Value = serde_json::from_str(&repo.git(&["show", &format!("{ref_name}:tasks.json")])).unwrap();
    let tasks = tasks["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "two independent parts, two tasks");
    assert!(
        tasks
            .iter()
            .all(|t| t["depends_on"].as_array().unwrap().is_empty()),
        "independent tasks run concurrently"
    );
    assert!(
        repo.git(&["status", "--porcelain"])
            .lines()
            .all(|l| !l.contains(".omk")),
        "nothing of omk in the work tree"
    );
}

#[test]
fn works_from_subdirectories_and_linked_worktrees() {
    let repo = TestRepo::new();
    let id = plan(&repo, "Fix the off-by-one in slugify");
    let sub = repo.path.join("src/http");
    let out = repo
        .omk_in(&sub)
        .args(["goal", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(json_of(&out.stdout)["goals"][0]["id"], id.as_str());
    let wt = repo.path.parent().unwrap().join("linked");
    repo.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "-b", "side"]);
    let from_wt = repo
        .omk_in(&wt)
        .args(["goal", "plan", "--json", "Add retries to the HTTP client"])
        .output()
        .unwrap();
    assert!(
        from_wt.status.success(),
        "{}",
        String::from_utf8_lossy(&from_wt.stderr)
    );
    let second = json_of(&from_wt.stdout)["id"].as_str().unwrap().to_owned();
    let listed = json_of(
        &repo
            .omk()
            .args(["goal", "list", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    let ids = support::omk::listed_ids(&listed);
    assert!(
        ids.contains(&id.as_str()) && ids.contains(&second.as_str()),
        "goals are shared by all worktrees: {ids:?}"
    );
}

#[test]
fn run_parses_validates_and_records_every_option() {
    let repo = TestRepo::new();
    let out = repo
        .omk()
        .args([
            "goal",
            "run",
            "Fix the off-by-one in slugify",
            "--json",
            "--budget-time",
            "1h30m",
            "--budget-tokens",
            "5000",
            "--budget-usd",
            "2.5",
            "--max-agents",
            "3",
            "--agent",
            "exec:./fix.sh",
            "--base",
            "main",
            "--policy",
            "draft-pr",
            "--merge-policy",
            "gated",
            "--no-llm-planner",
            "--planner-token-budget",
            "800",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = json_of(&out.stdout)["id"].as_str().unwrap().to_owned();
    let show = json_of(
        &repo
            .omk()
            .args(["goal", "show", &id, "-f", "json"])
            .output()
            .unwrap()
            .stdout,
    );
    let goal = &show["goal"];
    let options = &goal["options"];
    assert_eq!(options["limits"]["time_secs"], 5400);
    assert_eq!(options["limits"]["tokens"], 5000);
    assert_eq!(options["limits"]["usd_micros"], 2_500_000);
    assert_eq!(options["max_agents"], 3);
    assert_eq!(options["agent"], "exec:./fix.sh");
    assert_eq!(options["delivery"], "draft-pr");
    assert_eq!(options["merge"], "gated");
    assert_eq!(options["llm_planner"], false);
    assert_eq!(options["planner_token_budget"], 800);
    assert_eq!(goal["base"]["rev"], "main");
    assert_eq!(goal["base"]["commit"], repo.git(&["rev-parse", "main"]).as_str());
    assert_eq!(goal["limits"], options["limits"]);
    let planner = &show["plan"]["planner"];
    assert_eq!(planner["by"], "heuristic");
    assert_eq!(planner["reason"], "forced by --no-llm-planner");
}

#[test]
fn untestable_goals_stop_blocked_on_human_with_the_questions() {
    let repo = TestRepo::new();
    let out = repo
        .omk()
        .args(["goal", "plan", "--json", "Make it better"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "blocked_on_human exits 3");
    let v = json_of(&out.stdout);
    assert_eq!(v["status"], "blocked_on_human");
    let questions = v["questions"].as_array().unwrap();
    assert!(questions.len() >= 2, "{questions:?}");
    assert!(
        v["tasks"].as_array().unwrap().is_empty(),
        "no plan without answers"
    );
    let status = repo.omk().args(["goal", "status"]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("not testable") && text.contains("observable result"),
        "{text}"
    );
    let resume = repo.omk().args(["goal", "resume"]).output().unwrap();
    assert_eq!(resume.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&resume.stderr);
    assert!(stderr.contains("git omk goal answer"), "{stderr}");
}

#[test]
fn a_compound_goal_naming_a_flag_and_a_doc_is_planned_as_two_tasks() {
    let repo = TestRepo::new();
    let out = repo
        .omk()
        .args([
            "goal",
            "plan",
            "--json",
            "Add a --verbose flag to the CLI and document it in the README",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out.stdout);
    assert_eq!(v["status"], "planned");
    assert!(v["questions"].as_array().is_none_or(Vec::is_empty), "{v}");
    assert_eq!(v["tasks"].as_array().unwrap().len(), 2, "{v}");
}

#[test]
fn goal_answer_turns_a_goal_blocked_on_questions_into_a_planned_one() {
    let repo = TestRepo::new();
    let out = repo
        .omk()
        .args(["goal", "plan", "--json", "Make it better"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let id = json_of(&out.stdout)["id"].as_str().unwrap().to_owned();
    let refs_before = repo.git(&["for-each-ref", "refs/omk"]);

    // Bad input changes nothing: an empty answer, an unknown goal.
    for args in [
        vec!["goal", "answer", id.as_str(), "  "],
        vec!["goal", "answer", "nosuchgoal", "slugify in src/slugify.py"],
    ] {
        let out = repo.omk().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(repo.git(&["for-each-ref", "refs/omk"]), refs_before);
    }
    // A vague answer keeps the goal blocked, with the questions left, on the same goal.
    let out = repo
        .omk()
        .args(["goal", "answer", "--json", &id, "nicer"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "still blocked");
    assert_eq!(json_of(&out.stdout)["status"], "blocked_on_human");

    let answer = "slugify in src/slugify.py should keep digits; tests/test_slugify.py shows it";
    let out = repo.omk().args(["goal", "answer", &id, answer]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("git omk goal resume {id}")), "{text}");
    let show = json_of(
        &repo
            .omk()
            .args(["goal", "show", &id, "-f", "json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(show["goal"]["status"], "planned", "{show}");
    assert_eq!(show["goal"]["answers"][1], answer);
    assert!(show["goal"]["blockers"].as_array().unwrap().is_empty());
    let tasks = show["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    assert!(
        tasks[0]["description"].as_str().unwrap().contains(answer),
        "{}",
        tasks[0]
    );
    assert_eq!(
        repo.git(&["for-each-ref", "--format=%(refname)", "refs/omk/goals"])
            .lines()
            .count(),
        1,
        "the same goal, not a new one"
    );
    // Answering again is refused: nothing is asked any more.
    let again = repo.omk().args(["goal", "answer", &id, "x"]).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("asks no questions"));
}

#[test]
fn list_is_newest_first_filters_and_latest_means_newest_local_goal() {
    let repo = TestRepo::new();
    let first = plan(&repo, "Fix the off-by-one in slugify");
    let second = plan(&repo, "Add retries to the HTTP client");
    repo.omk().args(["goal", "pause", &first]).assert().success();
    let listed = json_of(
        &repo
            .omk()
            .args(["goal", "list", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(listed["schema_version"], 1);
    let ids = support::omk::listed_ids(&listed);
    assert_eq!(ids, vec![second.as_str(), first.as_str()]);
    let paused = json_of(
        &repo
            .omk()
            .args(["goal", "list", "--json", "--status", "paused"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(paused["goals"].as_array().unwrap().len(), 1);
    assert_eq!(paused["goals"][0]["id"], first.as_str());
    let latest = json_of(
        &repo
            .omk()
            .args(["goal", "status", "latest", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(latest["id"], second.as_str());
    let default = json_of(
        &repo
            .omk()
            .args(["goal", "status", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(default["id"], second.as_str());
    let text =
        String::from_utf8_lossy(&repo.omk().args(["goal", "list"]).output().unwrap().stdout).to_string();
    assert!(text.lines().next().unwrap().starts_with(&second), "{text}");
}

#[test]
fn ids_resolve_by_unique_prefix_of_the_id_or_its_hash() {
    let repo = TestRepo::new();
    let a = plan(&repo, "Fix the off-by-one in slugify");
    let b = plan(&repo, "Add retries to the HTTP client");
    let hash = &a[16..];
    let by_hash = json_of(
        &repo
            .omk()
            .args(["goal", "status", &hash[..6], "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(by_hash["id"], a.as_str());
    let by_full = json_of(
        &repo
            .omk()
            .args(["goal", "status", &b, "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(by_full["id"], b.as_str());
    let ambiguous = repo.omk().args(["goal", "status", "2"]).output().unwrap();
    assert_eq!(ambiguous.status.code(), Some(2));
    let err = String::from_utf8_lossy(&ambiguous.stderr);
    assert!(
        err.contains("ambiguous") && err.contains(&a) && err.contains(&b),
        "{err}"
    );
    let unknown = repo.omk().args(["goal", "show", "zzzz"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no goal matches `zzzz`"));
}

#[test]
fn show_proof_replay_and_budget_in_every_format() {
    let repo = TestRepo::new();
    let id = plan(&repo, "Fix the off-by-one in slugify");
    for format in ["text", "json", "md"] {
        for cmd in ["show", "proof", "replay", "budget"] {
            let out = repo
                .omk()
                .args(["goal", cmd, &id, "-f", format])
                .output()
                .unwrap();
            let expected = if cmd == "proof" { 1 } else { 0 };
            assert_eq!(
                out.status.code(),
                Some(expected),
                "{cmd} -f {format}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!out.stdout.is_empty(), "{cmd} -f {format} printed nothing");
            if format == "json" {
                assert_eq!(json_of(&out.stdout)["schema_version"], 1, "{cmd}");
            }
        }
    }
    let md = String::from_utf8_lossy(
        &repo
            .omk()
            .args(["goal", "show", &id, "-f", "md"])
            .output()
            .unwrap()
            .stdout,
    )
    .to_string();
    assert!(
        md.contains("## Brief") && md.contains("## Technical plan") && md.contains("| task |"),
        "{md}"
    );
    let proof = json_of(
        &repo
            .omk()
            .args(["goal", "proof", &id, "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(
        proof["readiness"]["status"], "not_ready",
        "never ready without evidence"
    );
    assert_eq!(proof["recorded"], false);
    let replay = json_of(
        &repo
            .omk()
            .args(["goal", "replay", &id, "-f", "json"])
            .output()
            .unwrap()
            .stdout,
    );
    let kinds: Vec<&str> = replay["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(&kinds[..3], ["goal_created", "intake_completed", "plan_recorded"]);
    let unknown = repo
        .omk()
        .args(["goal", "show", &id, "-f", "yaml"])
        .output()
        .unwrap();
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "unknown --format is a usage error"
    );
}

#[test]
fn control_commands_record_one_commit_each_and_refuse_nonsense() {
    let repo = TestRepo::new();
    let id = plan(&repo, "Fix the off-by-one in slugify");
    let ref_name = format!("refs/omk/goals/{id}");
    let count = || {
        repo.git(&["rev-list", "--count", &ref_name])
            .parse::<u32>()
            .unwrap()
    };
    let status = |repo: &TestRepo| {
        json_of(
            &repo
                .omk()
                .args(["goal", "status", "--json"])
                .output()
                .unwrap()
                .stdout,
        )["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    repo.omk()
        .args(["goal", "pause", "--reason", "lunch"])
        .assert()
        .success();
    assert_eq!(status(&repo), "paused");
    assert_eq!(count(), 2);
    let again = repo.omk().args(["goal", "pause"]).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already paused"));
    assert_eq!(count(), 2, "a refused command writes nothing");
    repo.omk().args(["goal", "resume", "--no-run"]).assert().success();
    assert_eq!(status(&repo), "planned");
    repo.omk()
        .args([
            "goal",
            "budget-add",
            "--time",
            "2h",
            "--tokens",
            "1000",
            "--usd",
            "1.25",
        ])
        .assert()
        .success();
    let budget = json_of(
        &repo
            .omk()
            .args(["goal", "budget", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(budget["limits"]["time_secs"], 8 * 3600 + 7200);
    assert_eq!(
        budget["limits"]["tokens"],
        Value::Null,
        "an unlimited dimension stays unlimited"
    );
    let accept = repo
        .omk()
        .args(["goal", "accept", "--summary", "looks fine"])
        .output()
        .unwrap();
    assert_eq!(accept.status.code(), Some(2), "nothing to accept before a run");
    repo.omk()
        .args(["goal", "cancel", "--reason", "not needed"])
        .assert()
        .success();
    assert_eq!(status(&repo), "cancelled");
    assert_eq!(count(), 5);
    let verify = repo
        .omk()
        .args(["goal", "replay", "--verify", "--json"])
        .output()
        .unwrap();
    assert!(verify.status.success());
    assert_eq!(json_of(&verify.stdout)["ok"], true);
    let log = repo.git(&["log", "--format=%s", &ref_name]);
    assert_eq!(
        log.lines().next().unwrap(),
        "cancelled: Fix the off-by-one in slugify"
    );
}

#[test]
fn fetched_goals_are_readable_and_marked_with_their_remote() {
    let repo = TestRepo::new();
    let id = plan(&repo, "Fix the off-by-one in slugify");
    let local = format!("refs/omk/goals/{id}");
    let remote = format!("refs/omk/remotes/origin/goals/{id}");
    repo.git(&["update-ref", &remote, &local]);
    let listed = json_of(
        &repo
            .omk()
            .args(["goal", "list", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    let goals = listed["goals"].as_array().unwrap();
    assert_eq!(
        goals.len(),
        1,
        "a goal present locally and remotely is listed once"
    );
    assert_eq!(goals[0]["remotes"][0]["remote"], "origin");
    assert_eq!(goals[0]["remotes"][0]["relation"], "same");
    repo.omk().args(["goal", "pause", &id]).assert().success();
    let listed = json_of(
        &repo
            .omk()
            .args(["goal", "list", "--json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(listed["goals"][0]["remotes"][0]["relation"], "ahead");
    repo.git(&["update-ref", "-d", &local]);
    let only_remote = json_of(
        &repo
            .omk()
            .args(["goal", "show", &id[16..], "-f", "json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(only_remote["remote"], "origin");
    assert_eq!(only_remote["goal"]["status"], "planned");
    let replay = repo
        .omk()
        .args(["goal", "replay", &id, "--verify"])
        .output()
        .unwrap();
    assert!(replay.status.success());
    let pause = repo.omk().args(["goal", "pause", &id]).output().unwrap();
    assert_eq!(
        pause.status.code(),
        Some(2),
        "fetched goals are not changed in place"
    );
    assert!(String::from_utf8_lossy(&pause.stderr).contains("only as fetched from origin"));
    let latest = repo.omk().args(["goal", "status"]).output().unwrap();
    assert_eq!(
        latest.status.code(),
        Some(2),
        "latest means the newest goal of this repository"
    );
}

/// A panic is an internal error: exit 70 with one short message saying it is a bug and where to report
/// it (no Rust backtrace hint), and the goal is exactly as before (its ref had not moved yet).
#[test]
fn a_panic_exits_70_with_a_short_report_and_changes_nothing() {
    let repo = TestRepo::new();
    let id = plan(&repo, "Fix the off-by-one in slugify");
    let ref_name = format!("refs/omk/goals/{id}");
    let before = repo.git(&["rev-parse", &ref_name]);
    let out = repo
        .omk()
        .env("OMK_FAULT", "panic@before-ref-update")
        .env_remove("RUST_BACKTRACE")
        .args(["goal", "pause"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{stderr}");
    assert!(
        stderr.contains("internal error: fault injected at before-ref-update")
            && stderr.contains("This is a bug in git-omk")
            && stderr.contains("please report it"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked at"),
        "no default panic report: {stderr}"
    );
    assert_eq!(
        repo.git(&["rev-parse", &ref_name]),
        before,
        "the goal did not move"
    );
    let show = json_of(
        &repo
            .omk()
            .args(["goal", "show", "-f", "json"])
            .output()
            .unwrap()
            .stdout,
    );
    assert_eq!(show["goal"]["status"], "planned");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let repo = TestRepo::new();
    for _ in 0..3 {
        plan(&repo, "Fix the off-by-one in slugify");
    }
    let bin = env!("CARGO_BIN_EXE_git-omk");
    let mut cmd = std::process::Command::new("bash");
    support::git_repo::hermetic(&mut cmd, &repo.home);
    let script = format!(
        "set -o pipefail; for i in 1 2 3 4 5; do '{bin}' goal show -f md; done | head -c 1 >/dev/null"
    );
    let out = cmd
        .current_dir(&repo.path)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("error"));
}

#[test]
fn without_any_identity_goal_commits_use_the_fallback() {
    let repo = TestRepo::bare_identity();
    repo.write_files(&[("a.txt", "a\n")]);
    repo.git(&["add", "-A"]);
    repo.git(&[
        "-c",
        "user.name=X",
        "-c",
        "user.email=x@y",
        "commit",
        "-qm",
        "init",
    ]);
    let id = plan(&repo, "Fix the off-by-one in a.txt");
    let who = repo.git(&[
        "log",
        "-1",
        "--format=%an <%ae>|%cn <%ce>",
        &format!("refs/omk/goals/{id}"),
    ]);
    assert_eq!(who, "git-omk <omk@localhost>|git-omk <omk@localhost>");
}

/// A repository with one planned goal and, imported next to it: 30 local goals of 2025 (one also
/// fetched from origin), three local goals created in the same second of 2030, a goal fetched from
/// origin only (2025) and a newer one fetched from origin only (2031). Refs packed.
struct Many {
    repo: TestRepo,
    /// Every goal id `list` shows, newest first.
    newest_first: Vec<String>,
    /// The 2025 local goals, newest first.
    year_2025: Vec<String>,
    /// The newest local goal (decided by the creation time within its second).
    latest: String,
    fetched_only: String,
    both: String,
}

fn many() -> Many {
    use support::imported::{Imported, import_goals};
    let repo = TestRepo::new();
    let planned = plan(&repo, "Fix the off-by-one in slugify");
    let template = repo.git(&["rev-parse", &format!("refs/omk/goals/{planned}")]);
    let statuses = ["ready", "paused", "not_ready", "cancelled", "running"];
    let mut goals: Vec<Imported> = (0..30)
        .map(|i| {
            let id = format!("20250101-0000{i:02}-a00000{i:02}");
            Imported::local(&id, statuses[i % statuses.len()], 0)
        })
        .collect();
    let both = goals[7].id.clone();
    goals.push(goals[7].fetched_from("origin"));
    // Same second: the smallest hash was created last, so it is the newest.
    goals.push(Imported::local("20300101-000000-c0000001", "planned", 900));
    goals.push(Imported::local("20300101-000000-c0000002", "planned", 500));
    goals.push(Imported::local("20300101-000000-c0000003", "planned", 100));
    let fetched_only = "20250202-000000-eeeeeeee".to_owned();
    goals.push(Imported::local(&fetched_only, "ready", 0).fetched_from("origin"));
    goals.push(Imported::local("20310101-000000-dddddddd", "running", 0).fetched_from("origin"));
    import_goals(&repo, &template, &goals);
    repo.git(&["pack-refs", "--all"]);
    let year_2025: Vec<String> = (0..30)
        .rev()
        .map(|i| format!("20250101-0000{i:02}-a00000{i:02}"))
        .collect();
    let mut newest_first = vec![
        "20310101-000000-dddddddd".to_owned(),
        "20300101-000000-c0000001".to_owned(),
        "20300101-000000-c0000002".to_owned(),
        "20300101-000000-c0000003".to_owned(),
        planned,
        fetched_only.clone(),
    ];
    newest_first.extend(year_2025.iter().cloned());
    Many {
        repo,
        newest_first,
        year_2025,
        latest: "20300101-000000-c0000001".to_owned(),
        fetched_only,
        both,
    }
}

fn listed_ids(repo: &TestRepo, args: &[&str]) -> Vec<String> {
    let out = repo
        .omk()
        .args(["goal", "list", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    support::omk::listed_ids(&json_of(&out.stdout))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn resolved(repo: &TestRepo, cmd: &str, query: &str) -> Value {
    let out = repo
        .omk()
        .args(["goal", cmd, query, "-f", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd} {query}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_of(&out.stdout)
}

#[test]
fn among_many_goals_latest_and_prefixes_resolve_from_ref_names() {
    let m = many();
    let status = |args: &[&str]| {
        let out = m
            .repo
            .omk()
            .args(["goal", "status", "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_of(&out.stdout)["id"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        status(&[]),
        m.latest,
        "newest local goal; fetched goals are never latest"
    );
    assert_eq!(status(&["latest"]), m.latest);
    let target = &m.year_2025[4];
    assert_eq!(status(&[&target[..20]]), *target, "unique prefix of the id");
    assert_eq!(status(&[&target[16..]]), *target, "the whole hash part");
    assert_eq!(status(&[&target[..18]]), *target);
    assert_eq!(status(&[target]), *target, "full id");
    assert_eq!(status(&["c0000003"]), "20300101-000000-c0000003");
    // The copy shown is the local one when the goal was also fetched, the fetched one otherwise.
    let both = resolved(&m.repo, "show", &m.both[..20]);
    assert_eq!(
        (both["id"].as_str(), both["remote"].as_str()),
        (Some(m.both.as_str()), None)
    );
    let fetched = resolved(&m.repo, "show", "eeee");
    assert_eq!(fetched["id"], m.fetched_only.as_str());
    assert_eq!(fetched["remote"], "origin");
    // A goal changed after the refs were packed has a loose ref: it wins over the packed one.
    m.repo
        .omk()
        .args(["goal", "pause", &target[16..]])
        .assert()
        .success();
    let shown = resolved(&m.repo, "show", &target[..20]);
    assert_eq!(shown["goal"]["status"], "paused");
    let listed = listed_ids(&m.repo, &[]);
    assert_eq!(listed, m.newest_first, "pausing moved nothing in the list");
}

#[test]
fn an_ambiguous_prefix_names_the_newest_ten_and_the_count() {
    let m = many();
    for (query, total) in [
        ("2025", 31),
        ("20250101-00001", 10),
        ("a0000", 30),
        ("20300101-000000-c", 3),
    ] {
        // Candidates: every goal whose id or hash part starts with the query, newest id first.
        let mut matching: Vec<&str> = m
            .newest_first
            .iter()
            .map(String::as_str)
            .filter(|id| id.starts_with(query) || id[16..].starts_with(query))
            .collect();
        matching.sort_by(|a, b| b.cmp(a));
        assert!(matching.len() >= total, "{query}");
        let out = m.repo.omk().args(["goal", "show", query]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{query}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.len() < 4096, "{query}: {} bytes", err.len());
        let count = format!("`{query}` is ambiguous: it matches {} goals", matching.len());
        assert!(err.contains(&count), "{err}");
        let named: Vec<&str> = err.lines().filter_map(|l| l.strip_prefix("  ")).collect();
        assert_eq!(
            named,
            matching[..matching.len().min(10)],
            "{query}: the newest first\n{err}"
        );
        assert!(err.contains("type more characters"), "{err}");
    }
}

#[test]
fn list_is_newest_first_with_limits_and_filters_among_many_goals() {
    let m = many();
    let all = listed_ids(&m.repo, &[]);
    assert_eq!(all, m.newest_first);
    assert_eq!(listed_ids(&m.repo, &["-n", "5"]), all[..5]);
    assert_eq!(listed_ids(&m.repo, &["--limit", "100"]), all);
    let paused: Vec<String> = m
        .year_2025
        .iter()
        .filter(|id| id.ends_with(['1', '6']))
        .cloned()
        .collect();
    assert_eq!(listed_ids(&m.repo, &["--status", "paused"]), paused);
    assert_eq!(
        listed_ids(&m.repo, &["--status", "paused", "-n", "2"]),
        paused[..2]
    );
    let out = m.repo.omk().args(["goal", "list", "--json"]).output().unwrap();
    let listed = json_of(&out.stdout);
    let both = listed["goals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == m.both.as_str())
        .unwrap();
    assert_eq!(both["remote"], Value::Null);
    assert_eq!(both["remotes"][0]["remote"], "origin");
    assert_eq!(both["remotes"][0]["relation"], "same");
    let text = m.repo.omk().args(["goal", "list", "-n", "3"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.starts_with("origin/20310101-000000-dddddddd"), "{text}");
    let zero = m.repo.omk().args(["goal", "list", "-n", "0"]).output().unwrap();
    assert_eq!(zero.status.code(), Some(2));
}

#[test]
fn a_closed_pipe_ends_list_quietly() {
    let m = many();
    let mut child = support::omk::command(&m.repo, &[], &["goal", "list"], &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A goal whose every id, time and commit is the same run after run: a repository committed at a fixed
/// time, and each command given its own test clock and id seed (`OMK_TEST_TIME`, `OMK_TEST_SEED`) and
/// host name. Planned, paused, resumed and given more time.
struct Pinned {
    repo: TestRepo,
    commands: u32,
}

impl Pinned {
    fn new() -> Pinned {
        let repo = TestRepo::empty();
        repo.write_files(&[
            (
                "src/slugify.rs",
                "pub fn slugify(s: &str) -> String { s.to_lowercase() }\n",
            ),
            ("tests/slugify.rs", "#[test] fn t() {}\n"),
            ("README.md", "# demo\n"),
        ]);
        repo.git(&["add", "-A"]);
        let mut commit = repo.git_command();
        support::git_repo::fixed_commits(&mut commit, "2026-11-22T09:00:00Z");
        let out = commit.args(["commit", "-q", "-m", "initial"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut pinned = Pinned { repo, commands: 0 };
        for args in [
            &["goal", "plan", "Fix the off-by-one in slugify"][..],
            &["goal", "pause", "--reason", "lunch"],
            &["goal", "resume", "--no-run"],
            &["goal", "budget-add", "--time", "1h", "--tokens", "5000"],
        ] {
            let out = pinned.omk(args);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        pinned
    }

    /// Run `git omk args…` as the next command: ten minutes after the previous one, its own seed.
    fn omk(&mut self, args: &[&str]) -> std::process::Output {
        self.commands += 1;
        let n = self.commands;
        self.repo
            .omk()
            .env(
                "OMK_TEST_TIME",
                format!("2026-11-22T{:02}:{:02}:00Z", 10 + n / 6, n % 6 * 10),
            )
            .env("OMK_TEST_SEED", n.to_string())
            .env("OMK_HOST", "test-host")
            .env("NO_COLOR", "1")
            .args(args)
            .output()
            .unwrap()
    }

    /// What `git omk args…` printed, with the temporary repository's path replaced. It must succeed
    /// (or say "not ready", exit 1) and print nothing on stderr.
    fn printed(&mut self, args: &[&str]) -> String {
        let out = self.omk(args);
        assert!(
            matches!(out.status.code(), Some(0 | 1)) && out.stderr.is_empty(),
            "{args:?} exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        let path = self.repo.path.to_string_lossy().into_owned();
        String::from_utf8_lossy(&out.stdout).replace(&path, "[repo]")
    }
}

/// The output contract, pinned whole: every rendering of show, list, status, budget, proof and replay
/// of one goal, and the PR that would be opened for it. A change to any of them shows up as a snapshot diff to review.
#[test]
fn the_output_of_every_reading_command_is_pinned() {
    let mut goal = Pinned::new();
    for (name, args) in [
        ("show_text", &["goal", "show"][..]),
        ("show_md", &["goal", "show", "-f", "md"]),
        ("show_json", &["goal", "show", "-f", "json"]),
        ("list_text", &["goal", "list"]),
        ("list_json", &["goal", "list", "--json"]),
        ("status_text", &["goal", "status"]),
        ("status_json", &["goal", "status", "--json"]),
        ("budget_text", &["goal", "budget"]),
        ("budget_json", &["goal", "budget", "-f", "json"]),
        ("proof_md", &["goal", "proof", "-f", "md"]),
        ("proof_json", &["goal", "proof", "-f", "json"]),
        ("replay_text", &["goal", "replay"]),
        ("replay_json", &["goal", "replay", "-f", "json"]),
        ("pr_md", &["goal", "open-pr", "--dry-run"]),
        ("pr_json", &["goal", "open-pr", "--dry-run", "-f", "json"]),
    ] {
        insta::assert_snapshot!(name, goal.printed(args));
    }
}

/// The same commands give the same goal, ids, times and commits every time (what the snapshots rely on).
#[test]
fn pinned_goals_are_the_same_run_after_run() {
    let tip = |goal: &mut Pinned| goal.printed(&["goal", "list", "--json"]);
    assert_eq!(tip(&mut Pinned::new()), tip(&mut Pinned::new()));
}
