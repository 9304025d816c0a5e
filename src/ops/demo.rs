//! `git omk demo`: the sample project (`model::demo`) written into a throwaway repository, the agent
//! the demo uses (the user's Kimi when it is installed and configured, else the stand-in), and the
//! stand-in itself: git-omk's own binary run as an `exec:` agent, which applies the sample's known fix
//! and says that it is a stand-in. Driving the goal is the ordinary `goal run --until-ready`.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::OpsError;
use crate::agent::detect::which;
use crate::clock::random_bytes;
use crate::git::run::git_env;
use crate::model::demo::{self, BUGGY_FILE, COMMIT_MESSAGE, STAND_IN_NOTICE, STAND_IN_REVIEW};
use crate::model::options::AgentSpec;
use crate::settings;

/// Who made the sample's first commit.
const DEMO_IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "git-omk demo"),
    ("GIT_AUTHOR_EMAIL", "demo@git-omk.invalid"),
    ("GIT_COMMITTER_NAME", "git-omk demo"),
    ("GIT_COMMITTER_EMAIL", "demo@git-omk.invalid"),
];

/// The agent a demo uses, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoAgent {
    /// The agent.
    pub spec: AgentSpec,
    /// Whether it is the stand-in.
    pub stand_in: bool,
    /// Why it was chosen, for people.
    pub why: String,
}

/// Write the sample project into `dir` (default: a new directory under the system's temporary
/// directory) and commit it on `main`. `dir` must not exist or be an empty directory: nothing is
/// written otherwise.
pub fn create_sample(dir: Option<&Path>) -> Result<PathBuf, OpsError> {
    let dir = match dir {
        Some(dir) => dir.to_owned(),
        None => std::env::temp_dir().join(format!("git-omk-demo-{}", hex(&random_bytes::<4>()))),
    };
    let empty = match std::fs::read_dir(&dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(OpsError::infrastructure(format!("reading {}", dir.display()), e)),
    };
    if !empty {
        return Err(OpsError::Usage(format!(
            "{} is not empty: give the demo a new or empty directory (--dir), it writes a repository there",
            dir.display()
        )));
    }
    for (path, contents) in demo::files() {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| OpsError::infrastructure(format!("creating {}", parent.display()), e))?;
        }
        std::fs::write(&file, contents)
            .map_err(|e| OpsError::infrastructure(format!("writing {}", file.display()), e))?;
    }
    let git = |args: &[&str]| {
        git_env(&dir, args, &DEMO_IDENTITY).map_err(|e| {
            OpsError::infrastructure(format!("git {} in the demo repository", args.join(" ")), e)
        })
    };
    git(&["init", "--quiet"])?;
    git(&["symbolic-ref", "HEAD", "refs/heads/main"])?;
    git(&["add", "--all"])?;
    git(&["commit", "--quiet", "--no-verify", "-m", COMMIT_MESSAGE])?;
    Ok(dir)
}

/// The demo's agent: `requested` when given, the stand-in when `stand_in`, else the user's Kimi when it
/// is on PATH and configured, else the stand-in.
pub fn choose_agent(requested: Option<AgentSpec>, stand_in: bool) -> Result<DemoAgent, OpsError> {
    if let Some(spec) = requested.filter(|_| !stand_in) {
        return Ok(DemoAgent {
            why: format!("{spec}, as asked"),
            spec,
            stand_in: false,
        });
    }
    let kimi = (!stand_in).then(kimi_configured).flatten();
    match kimi {
        Some(why) => Ok(DemoAgent {
            spec: AgentSpec::Kimi,
            stand_in: false,
            why,
        }),
        None => Ok(DemoAgent {
            spec: stand_in_agent()?,
            stand_in: true,
            why: if stand_in {
                "the stand-in agent, as asked (--stand-in)".to_owned()
            } else {
                "the stand-in agent: no configured Kimi was found (install it and set a model, or give \
                 --agent)"
                    .to_owned()
            },
        }),
    }
}

/// Why the user's Kimi counts as installed and configured: `kimi` on PATH, and a model set in the
/// environment (`KIMI_MODEL_NAME`, Kimi Code) or a configuration or login directory (`~/.kimi/config.toml`
/// of kimi-cli, `$KIMI_CODE_HOME` or `~/.kimi-code` of Kimi Code).
fn kimi_configured() -> Option<String> {
    let path = which("kimi")?;
    let home = settings::env("HOME").map(PathBuf::from);
    let code_home = settings::env("KIMI_CODE_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".kimi-code")));
    let configured = if settings::env("KIMI_MODEL_NAME").is_some() {
        Some("KIMI_MODEL_NAME".to_owned())
    } else if let Some(config) = home.map(|h| h.join(".kimi/config.toml")).filter(|c| c.is_file()) {
        Some(config.display().to_string())
    } else {
        code_home.filter(|d| d.is_dir()).map(|d| d.display().to_string())
    }?;
    Some(format!(
        "your Kimi ({}, configured by {configured})",
        path.display()
    ))
}

/// The stand-in as an `exec:` agent: this very binary, `demo --serve-stand-in`.
fn stand_in_agent() -> Result<AgentSpec, OpsError> {
    let exe = std::env::current_exe()
        .map_err(|e| OpsError::infrastructure("finding git-omk's own program for the stand-in agent", e))?;
    let quoted = format!("'{}'", exe.display().to_string().replace('\'', r"'\''"));
    Ok(AgentSpec::Exec(format!("{quoted} demo --serve-stand-in")))
}

/// One turn of the stand-in in `role` (`OMK_ROLE`) in the work directory `dir`: as a task it applies
/// the sample's fix; as a reviewer it finds nothing; as a planner it leaves the plan to git-omk's
/// heuristic planner. Returns what it says. The prompt on stdin is read and ignored.
pub fn serve_stand_in(role: Option<&str>, dir: &Path) -> Result<String, OpsError> {
    let mut prompt = Vec::new();
    let _ = std::io::stdin().lock().take(1 << 20).read_to_end(&mut prompt);
    let said = match role {
        Some("task") => {
            let file = dir.join(BUGGY_FILE);
            let current = std::fs::read_to_string(&file)
                .map_err(|e| OpsError::infrastructure(format!("reading {}", file.display()), e))?;
            match demo::fixed(&current) {
                Some(fixed) => {
                    std::fs::write(&file, fixed)
                        .map_err(|e| OpsError::infrastructure(format!("writing {}", file.display()), e))?;
                    format!("Fixed the comparison in {BUGGY_FILE}: `>=` became `>`.")
                }
                None => format!("{BUGGY_FILE} has no off-by-one left to fix."),
            }
        }
        Some("reviewer" | "security-reviewer") => STAND_IN_REVIEW.to_owned(),
        _ => "I leave the plan to git-omk's heuristic planner.".to_owned(),
    };
    Ok(format!("{STAND_IN_NOTICE}\n{said}\n"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
