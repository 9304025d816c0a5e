//! `goal log`: the recorded transcripts of a goal's task attempts, read from the goal tree
//! (`agents/<task>/<attempt>/transcript.jsonl` at the goal's tip). Reads only.

use super::{Context, OpsError};
use crate::agent::record::attempt_dir;
use crate::model::ids::TaskId;

/// One attempt's transcript.
#[derive(Clone, Debug)]
pub struct AttemptLog {
    /// The task.
    pub task: TaskId,
    /// The attempt number (from 1).
    pub attempt: u32,
    /// The agent of the goal's tasks.
    pub agent: String,
    /// The transcript's lines (JSON objects, as recorded).
    pub lines: Vec<String>,
}

/// What `goal log` asks for.
#[derive(Clone, Debug, Default)]
pub struct LogRequest {
    /// Goal id or prefix (default: latest).
    pub goal: Option<String>,
    /// One task (default: every task).
    pub task: Option<String>,
    /// One attempt (default: every attempt).
    pub attempt: Option<u32>,
}

/// The transcripts `request` names, in task order then attempt order. A task or attempt that does not
/// exist is bad input (exit 2).
pub fn transcripts(ctx: &Context, request: &LogRequest) -> Result<Vec<AttemptLog>, OpsError> {
    let goal = ctx.resolve(request.goal.as_deref())?;
    let loaded = ctx.load(&goal)?;
    let tasks = &loaded.snapshot.tasks.tasks;
    let chosen: Vec<_> = match request.task.as_deref() {
        None => tasks.iter().collect(),
        Some(name) => {
            let found: Vec<_> = tasks
                .iter()
                .filter(|t| t.id.as_str() == name || t.id.as_str().starts_with(&format!("{name}-")))
                .collect();
            if found.len() != 1 {
                let known: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
                return Err(OpsError::Usage(format!(
                    "goal {} has no task `{name}`; its tasks: {}",
                    loaded.snapshot.goal.id(),
                    known.join(", ")
                )));
            }
            found
        }
    };
    let mut logs = Vec::new();
    for task in chosen {
        let count = u32::try_from(task.attempts.len()).unwrap_or(u32::MAX);
        if let Some(n) = request.attempt.filter(|n| *n == 0 || *n > count) {
            return Err(OpsError::Usage(format!(
                "task {} has {count} attempt(s), not {n}",
                task.id
            )));
        }
        for number in task.attempts.iter().map(|a| a.number) {
            if request.attempt.is_some_and(|n| n != number) {
                continue;
            }
            let path = format!("{}/transcript.jsonl", attempt_dir(&task.id, number));
            let bytes = ctx.store.file_at(loaded.tip, &path)?.unwrap_or_default();
            logs.push(AttemptLog {
                task: task.id.clone(),
                attempt: number,
                agent: loaded.snapshot.goal.options().agent.to_string(),
                lines: String::from_utf8_lossy(&bytes)
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_owned)
                    .collect(),
            });
        }
    }
    Ok(logs)
}
