//! Planning by an agent and follow-up tasks, end to end with the `exec` agent (a shell script answering
//! the planning prompt with a JSON plan read from a file), real git repositories and real pytest gates:
//! a valid plan is adopted, an invalid one repaired, garbage falls back to the heuristic plan with a
//! recorded decision, a controller killed during planning resumes, and follow-ups proposed by a task's
//! agent are validated, recorded and run.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // tests fail by panicking
#![allow(clippy::disallowed_methods)] // tests spawn git and git-omk, and read the clock

use crate::support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::git_repo::TestRepo;
use support::omk::{json, verify_history, write_executable};
use support::scenario::{BOTH, TWO_BUGS};
use support::tools::{path_with, pytest_bin};

const AGENT: &str = r##"#!/bin/sh
# A scripted agent: answers the planner and reviewer prompts from files, fixes what its task line names.
case "$OMK_PROMPT" in
  *"reviewer for git-omk"*) printf '```json\n{"findings": []}\n```\n'; exit 0 ;;
  *"Your plan could not be used"*) cat "$PLAN_REPAIR"; exit 0 ;;
  *"planner for git-omk"*)
    echo "$OMK_PROMPT" > "$PLAN_SEEN"
    if [ -n "$PLAN_HANG" ] && [ ! -e "$AGENT_FLAG" ]; then
      touch "$AGENT_FLAG"; sleep "$SLEEP_MARK" & echo $! >> "$AGENT_PIDS"; wait
    fi
    cat "$PLAN_FIRST"; exit 0 ;;
esac
task=$(printf '%s\n' "$OMK_PROMPT" | grep '^Your task' || true)
case "$task" in
  *add*) sed -i 's/return a - b/return a + b/' calc.py
         [ -n "$FOLLOW_UPS" ] && cat "$FOLLOW_UPS" ;;
  *upper*) sed -i 's/return s.lower()/return s.upper()/' strings.py ;;
esac
exit 0
"##;

const ADD: &str = r#"{"id": "fix-add", "title": "Fix add in calc.py", "kind": "fix", "write_set": ["calc.py"], "acceptance": ["test_add passes"]}"#;
const UPPER: &str = r#"{"id": "fix-upper", "title": "Fix upper in strings.py", "kind": "fix", "write_set": ["strings.py"], "acceptance": ["test_upper passes"]}"#;

fn plan_json(tasks: &[&str]) -> String {
    format!(
        "Plan follows.\n```json\n{{\"brief\": \"Fix the two broken helpers\", \"technical_plan\": \"One task per module\", \"test_spec\": \"test_calc and test_strings pass\", \"relevant_files\": [\"calc.py\", \"strings.py\"], \"tasks\": [{}]}}\n```\n",
        tasks.join(", ")
    )
}

struct Fixture {
    repo: TestRepo,
    env: Vec<(String, String)>,
    agent: PathBuf,
}

impl Fixture {
    /// `first` is the planner's first answer, `repair` its answer to the repair prompt.
    fn new(first: &str, repair: &str) -> Option<Fixture> {
        let bin = pytest_bin()?;
        let repo = TestRepo::with_files(TWO_BUGS);
        let home = repo.home.clone();
        // What the agent writes for the test to read, outside the worktree: the one directory the
        // sandbox lets it write besides its worktree (`omk.sandbox.allowWrite`).
        let scratch = home.join("scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        let file = |name: &str, text: &str| {
            let p = home.join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        };
        let agent = home.join("agent.sh");
        write_executable(&agent, AGENT);
        let env = vec![
            ("PATH".to_owned(), path_with(&bin)),
            (
                "OMK_WORKTREE_ROOT".to_owned(),
                home.join("worktrees").display().to_string(),
            ),
            ("PLAN_FIRST".to_owned(), file("plan-first.txt", first)),
            ("PLAN_REPAIR".to_owned(), file("plan-repair.txt", repair)),
            (
                "PLAN_SEEN".to_owned(),
                scratch.join("plan-prompt.txt").display().to_string(),
            ),
            (
                "AGENT_PIDS".to_owned(),
                scratch.join("agent.pids").display().to_string(),
            ),
            (
                "AGENT_FLAG".to_owned(),
                scratch.join("agent.flag").display().to_string(),
            ),
            (
                "OMK_SANDBOX_ALLOW_WRITE".to_owned(),
                scratch.display().to_string(),
            ),
            ("SLEEP_MARK".to_owned(), sleep_mark()),
        ];
        Some(Fixture { repo, env, agent })
    }

    fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        support::omk::command(&self.repo, &self.env, args, extra)
    }

    fn omk(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        self.command(args, extra).output().unwrap()
    }

    fn run_args(&self) -> Vec<String> {
        [
            "goal",
            "run",
            BOTH,
            "--until-ready",
            "--agent",
            &format!("exec:{}", self.agent.display()),
            "--json",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn run(&self, extra: &[(&str, &str)]) -> Output {
        let args = self.run_args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.omk(&args, extra)
    }

    fn show(&self) -> Value {
        json(&self.omk(&["goal", "show", "-f", "json"], &[]))
    }

    /// A file the agent wrote.
    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.repo.home.join("scratch").join(name)).unwrap_or_default()
    }

    fn var(&self, name: &str) -> &str {
        &self.env.iter().find(|(k, _)| k == name).unwrap().1
    }

    fn verify_history(&self) {
        verify_history(|args| self.omk(args, &[]));
    }
}

fn task_ids(show: &Value) -> Vec<String> {
    show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

fn decisions<'a>(show: &'a Value, step: &str) -> Vec<&'a Value> {
    show["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["step"] == step)
        .collect()
}

/// A duration for the hanging planner's `sleep` that no other test uses (its process ids are those
/// of the sandbox's PID namespace, so it is found by its command line).
fn sleep_mark() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("300.{}{n:04}", std::process::id())
}

fn assert_ready(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "ready exits 0: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_valid_agent_plan_replaces_the_heuristic_one() {
    let Some(fx) = Fixture::new(&plan_json(&[ADD, UPPER]), "unused") else {
        return;
    };
    let out = fx.run(&[]);
    assert_ready(&out);
    let show = fx.show();
    assert_eq!(task_ids(&show), ["fix-add", "fix-upper"]);
    assert_eq!(show["plan"]["planner"]["by"], "agent");
    assert_eq!(show["plan"]["planner"]["engine"], "exec");
    assert!(
        show["plan"]["brief"]
            .as_str()
            .unwrap()
            .contains("Fix the two broken helpers"),
        "{}",
        show["plan"]["brief"]
    );
    let planning = decisions(&show, "planning");
    assert!(
        planning
            .iter()
            .any(|d| d["chosen"] == "plan by the planner agent (2 task(s))"),
        "{planning:?}"
    );
    let prompt = fx.file("plan-prompt.txt");
    for needle in [BOTH, "calc.py (matched", "test_strings.py", "\"tasks\""] {
        assert!(
            prompt.contains(needle),
            "the planning prompt has {needle}: {prompt}"
        );
    }
    let files = fx.repo.git(&[
        "ls-tree",
        "-r",
        "--name-only",
        &format!("refs/omk/goals/{}", show["goal"]["id"].as_str().unwrap()),
    ]);
    assert!(
        files.contains("agents/planner/1/session.json"),
        "the planner session is recorded: {files}"
    );
    fx.verify_history();
}

#[test]
fn an_invalid_plan_gets_one_repair_round() {
    let escaping =
        r#"{"id": "fix-add", "title": "Fix add", "write_set": ["../calc.py"], "acceptance": ["ok"]}"#;
    let Some(fx) = Fixture::new(&plan_json(&[escaping, UPPER]), &plan_json(&[ADD, UPPER])) else {
        return;
    };
    let out = fx.run(&[]);
    assert_ready(&out);
    let show = fx.show();
    assert_eq!(task_ids(&show), ["fix-add", "fix-upper"]);
    assert_eq!(show["plan"]["planner"]["by"], "agent");
    assert!(
        decisions(&show, "planning")
            .iter()
            .any(|d| d["why"].as_str().unwrap().contains("after one repair round")),
        "{:?}",
        show["decisions"]
    );
    fx.verify_history();
}

#[test]
fn garbage_falls_back_to_the_heuristic_plan_with_a_recorded_decision() {
    let Some(fx) = Fixture::new("I would rather not plan.", "Still no plan.") else {
        return;
    };
    let out = fx.run(&[]);
    assert_ready(&out);
    let show = fx.show();
    let planner = &show["plan"]["planner"];
    assert_eq!(planner["by"], "heuristic_fallback");
    assert!(
        planner["reason"]
            .as_str()
            .unwrap()
            .contains("after a repair round"),
        "{planner}"
    );
    assert!(
        task_ids(&show).iter().all(|t| t.starts_with('t')),
        "the heuristic tasks ran"
    );
    let fallback = decisions(&show, "planning")
        .into_iter()
        .find(|d| d["chosen"] == "heuristic planner (fallback)")
        .expect("the fallback is a recorded decision");
    assert!(
        fallback["why"].as_str().unwrap().contains("not a plan object"),
        "{fallback}"
    );
    fx.verify_history();
}

#[test]
fn a_crash_after_planning_before_recording_plans_again_on_resume() {
    let Some(fx) = Fixture::new(&plan_json(&[ADD, UPPER]), "unused") else {
        return;
    };
    let out = fx.run(&[("OMK_FAULT", "planning")]);
    assert_eq!(
        out.status.code(),
        None,
        "killed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fx.show()["plan"]["planner"]["by"],
        "heuristic",
        "nothing was recorded"
    );
    let resumed = fx.omk(&["goal", "resume", "--json"], &[]);
    assert_ready(&resumed);
    let show = fx.show();
    assert_eq!(show["plan"]["planner"]["by"], "agent");
    assert_eq!(
        decisions(&show, "planning")
            .iter()
            .filter(|d| d["chosen"].as_str().unwrap().starts_with("plan by"))
            .count(),
        1
    );
    fx.verify_history();
}

#[test]
fn kill_9_of_the_controller_while_the_planner_runs_then_resume() {
    let Some(fx) = Fixture::new(&plan_json(&[ADD, UPPER]), "unused") else {
        return;
    };
    let args = fx.run_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = fx
        .command(&args, &[("PLAN_HANG", "1")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while fx.file("agent.pids").trim().is_empty() {
        assert!(Instant::now() < deadline, "the planner never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    let _ = child.wait();
    let resumed = fx.omk(&["goal", "resume", "--json"], &[]);
    assert_ready(&resumed);
    assert_eq!(
        support::hostile::sleeping(fx.var("SLEEP_MARK")),
        Vec::<i32>::new(),
        "the planner's process outlived its controller and the resume"
    );
    let show = fx.show();
    assert_eq!(show["plan"]["planner"]["by"], "agent");
    fx.verify_history();
}

#[test]
fn follow_ups_are_validated_recorded_and_run() {
    let Some(fx) = Fixture::new(&plan_json(&[ADD]), "unused") else {
        return;
    };
    let proposals = "Fixed add.\n```json\n{\"follow_ups\": [\
        {\"id\": \"fix-upper\", \"title\": \"Fix upper in strings.py\", \"write_set\": [\"strings.py\"], \"acceptance\": [\"test_upper passes\"]},\
        {\"id\": \"escape\", \"title\": \"Touch git\", \"write_set\": [\".git/config\"], \"acceptance\": [\"x\"]}]}\n```\n";
    let path = fx.repo.home.join("follow-ups.txt");
    std::fs::write(&path, proposals).unwrap();
    let out = fx.run(&[("FOLLOW_UPS", path.to_str().unwrap())]);
    assert_ready(&out);
    let show = fx.show();
    assert_eq!(task_ids(&show), ["fix-add", "fix-upper"]);
    let upper = &show["tasks"][1];
    assert_eq!(upper["status"], "done");
    assert_eq!(
        upper["depends_on"][0], "fix-add",
        "a follow-up runs after its proposer"
    );
    let follow = decisions(&show, "follow-up");
    assert_eq!(follow.len(), 2, "{follow:?}");
    assert!(
        follow[0]["chosen"]
            .as_str()
            .unwrap()
            .starts_with("accept follow-up fix-upper")
    );
    assert!(
        follow[1]["chosen"]
            .as_str()
            .unwrap()
            .starts_with("reject follow-up escape")
    );
    assert!(
        follow[1]["why"].as_str().unwrap().contains(".git"),
        "{}",
        follow[1]
    );
    let branch = json(&out)["integration"]["branch"].as_str().unwrap().to_owned();
    assert!(
        fx.repo
            .git(&["show", &format!("{branch}:strings.py")])
            .contains("s.upper()")
    );
    fx.verify_history();
}
