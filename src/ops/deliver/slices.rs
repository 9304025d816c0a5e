//! Slice PRs (`--slice-prs`, `omk.delivery.slicePrs`): one pull request per integrated task branch into
//! the goal's integration branch, opened before the integration branch moves past the task's merge, so
//! each shows exactly its task's change and GitHub marks it merged when the integration branch takes it.
//!
//! Decide with `model::delivery::slices`, push through `git::push` (creations and fast-forwards only,
//! never forced), talk through the `Forge`; the caller records what changed.

use std::path::Path;

use gix::ObjectId;

use super::DeliveryError;
use super::open_pr::pick;
use crate::forge::{Forge, NewPull};
use crate::git::push::{self, PushSpec};
use crate::model::delivery::merge::PullState;
use crate::model::delivery::record::PrOpened;
use crate::model::delivery::slices::{Slice, SliceFacts, slice_body, slice_title, slices};
use crate::model::ids::TreeId;
use crate::model::snapshot::Snapshot;
use crate::model::task::{AttemptOutcome, Task};
use crate::ops::Context;
use crate::store::GoalRef;

/// Where the slices go and what they link to.
pub(super) struct SliceTarget<'a> {
    /// The directory git runs in.
    pub dir: &'a Path,
    /// The remote.
    pub remote: &'a str,
    /// The integration branch (every slice PR's base).
    pub integration: &'a str,
    /// The repository's web address.
    pub html_url: &'a str,
    /// The proof commit the slices link to.
    pub proof_commit: Option<&'a str>,
    /// Open new slice PRs as drafts.
    pub draft: bool,
}

/// What delivering the slices did: the PRs as they now stand, and slices no PR could be opened for.
#[derive(Debug, Default)]
pub(super) struct SlicesDelivered {
    /// One `pr_opened` (with its task) per slice PR.
    pub prs: Vec<PrOpened>,
    /// Slices whose task the remote integration branch already held before a PR existed (GitHub would
    /// show no commits), in words.
    pub skipped: Vec<String>,
}

/// Open or update a PR for every integrated task, in the order the integration branch merged them.
pub(super) fn deliver_slices(
    ctx: &Context,
    goal: &GoalRef,
    snapshot: &Snapshot,
    forge: &dyn Forge,
    target: &SliceTarget<'_>,
) -> Result<SlicesDelivered, DeliveryError> {
    let mut done = SlicesDelivered::default();
    for slice in slices(snapshot, |commit| first_parent(ctx, commit)) {
        let Some(task) = snapshot.tasks.get(&slice.task) else {
            continue;
        };
        let facts = slice_facts(ctx, goal, snapshot, task, target.proof_commit);
        let title = slice_title(&facts);
        let body = slice_body(&facts, Some(target.html_url));
        match deliver_one(forge, target, &slice, &title, &body)? {
            Some(pr) => done.prs.push(pr),
            None => done.skipped.push(format!(
                "task {}: the integration branch on the remote already holds it, so a PR would show no change",
                slice.task
            )),
        }
    }
    Ok(done)
}

/// One slice: update its PR, or stage the integration branch just before the task's merge, open the PR
/// and move the integration branch on to the merge. `None` when the remote already holds the merge.
fn deliver_one(
    forge: &dyn Forge,
    target: &SliceTarget<'_>,
    slice: &Slice,
    title: &str,
    body: &str,
) -> Result<Option<PrOpened>, DeliveryError> {
    let integration_ref = format!("refs/heads/{}", target.integration);
    let task_spec = PushSpec {
        commit: slice.commit.clone(),
        dst: format!("refs/heads/{}", slice.branch),
    };
    if let Some(existing) = pick(forge.pulls_by_head(&slice.branch)?) {
        let state = existing.view.state;
        if state == PullState::Open {
            push::push(target.dir, target.remote, std::slice::from_ref(&task_spec))?;
            if existing.title != title || existing.body.trim() != body.trim() {
                forge.update_pull(existing.view.number, title, body)?;
            }
        }
        return Ok(Some(opened(
            slice,
            target,
            &existing.view.url,
            existing.view.number,
            state,
            false,
        )));
    }
    let remote_tip = push::remote_value(target.dir, target.remote, &integration_ref)?;
    if let Some(tip) = &remote_tip
        && push::contains(target.dir, tip, &slice.integrated)?
    {
        return Ok(None);
    }
    let staged = PushSpec {
        commit: slice.before.clone(),
        dst: integration_ref.clone(),
    };
    push::push(target.dir, target.remote, &[task_spec, staged])?;
    let new = NewPull {
        title,
        body,
        head: &slice.branch,
        base: target.integration,
        draft: target.draft,
    };
    let pr = forge.create_pull(&new)?;
    let merged = PushSpec {
        commit: slice.integrated.clone(),
        dst: integration_ref,
    };
    push::push(target.dir, target.remote, &[merged])?;
    Ok(Some(opened(
        slice,
        target,
        &pr.view.url,
        pr.view.number,
        pr.view.state,
        true,
    )))
}

fn opened(
    slice: &Slice,
    target: &SliceTarget<'_>,
    url: &str,
    number: u64,
    state: PullState,
    created: bool,
) -> PrOpened {
    PrOpened {
        number,
        url: url.to_owned(),
        head: slice.branch.clone(),
        head_sha: slice.commit.clone(),
        base: target.integration.to_owned(),
        draft: target.draft,
        created,
        proof_commit: target.proof_commit.map(str::to_owned),
        task: Some(slice.task.clone()),
        merged: state == PullState::Merged,
    }
}

/// The integration commit a merge commit was made on (its first parent).
fn first_parent(ctx: &Context, commit: &str) -> Option<String> {
    let id = ObjectId::from_hex(commit.as_bytes()).ok()?;
    let found = ctx.store.repo().find_commit(id).ok()?;
    found.parent_ids().next().map(|p| p.detach().to_string())
}

/// What the slice PR of `task` shows, read from the goal: the agent and engine of its last attempt,
/// the task gates on that attempt's tree and what the agent said last.
fn slice_facts(
    ctx: &Context,
    goal: &GoalRef,
    snapshot: &Snapshot,
    task: &Task,
    proof_commit: Option<&str>,
) -> SliceFacts {
    let tip = ctx.load(goal).ok().map(|l| l.tip);
    let last = task
        .attempts
        .iter()
        .rev()
        .find(|a| a.outcome == AttemptOutcome::Succeeded);
    let read = |path: String| -> Option<Vec<u8>> { ctx.store.file_at(tip?, &path).ok().flatten() };
    let dir = last.map(|a| crate::agent::record::attempt_dir(&task.id, a.number));
    let session = dir
        .as_ref()
        .and_then(|d| read(format!("{d}/session.json")))
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let summary = dir
        .as_ref()
        .and_then(|d| read(format!("{d}/transcript.jsonl")))
        .and_then(|b| last_text(&b));
    let gates = match (tip, last.and_then(|a| a.tree)) {
        (Some(tip), Some(tree)) => gate_lines(ctx, tip, tree),
        _ => Vec::new(),
    };
    SliceFacts {
        goal_id: snapshot.goal.id.to_string(),
        goal_title: snapshot.goal.title.clone(),
        task: task.id.to_string(),
        title: task.title.clone(),
        kind: serde_json::to_value(task.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        agent: agent_line(&snapshot.goal.options.agent.to_string(), session.as_ref()),
        write_set: task.write_set.iter().map(|p| p.as_str().to_owned()).collect(),
        depends_on: task.depends_on.iter().map(|d| d.to_string()).collect(),
        acceptance: task.acceptance.clone(),
        attempts: task
            .attempts
            .iter()
            .map(|a| {
                let commit = a.commit.map(|c| format!(" at {c}")).unwrap_or_default();
                format!("attempt {}: {}{commit}", a.number, outcome_word(&a.outcome))
            })
            .collect(),
        gates,
        summary,
        proof_commit: proof_commit.map(str::to_owned),
        status: snapshot.goal.status.as_str().to_owned(),
    }
}

fn outcome_word(outcome: &AttemptOutcome) -> String {
    match outcome {
        AttemptOutcome::Running => "running".to_owned(),
        AttemptOutcome::Succeeded => "succeeded".to_owned(),
        AttemptOutcome::Failed { evidence } => format!("failed: {}", first_line(evidence)),
        AttemptOutcome::Interrupted { reason } => format!("interrupted: {}", first_line(reason)),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn agent_line(configured: &str, session: Option<&serde_json::Value>) -> String {
    let Some(s) = session else {
        return configured.to_owned();
    };
    let field = |k: &str| s.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let engine = field("engine").unwrap_or_default();
    match (field("agent"), field("version")) {
        (Some(a), Some(v)) => format!("{configured} (engine {engine}: {a} {v})"),
        (Some(a), None) => format!("{configured} (engine {engine}: {a})"),
        _ => format!("{configured} (engine {engine})"),
    }
}

/// The last thing the agent said in a transcript (`{"kind":"text"}` lines).
fn last_text(transcript: &[u8]) -> Option<String> {
    String::from_utf8_lossy(transcript)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "text")
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .next_back()
}

/// The gate evidence recorded for `tree` in the goal tree at `tip`, one line per gate.
fn gate_lines(ctx: &Context, tip: ObjectId, tree: TreeId) -> Vec<String> {
    let prefix = format!("gates/{tree}/");
    let Ok(files) = ctx.store.files_at(tip) else {
        return Vec::new();
    };
    files
        .iter()
        .filter(|f| f.starts_with(&prefix) && f.ends_with(".json"))
        .filter_map(|f| {
            let bytes = ctx.store.file_at(tip, f).ok().flatten()?;
            let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            Some(format!(
                "{}: {} ({f})",
                v["gate"].as_str().unwrap_or("?"),
                v["outcome"].as_str().unwrap_or("?")
            ))
        })
        .collect()
}
