//! The review/fix loop's decisions (DESIGN §9, `goal address-reviews`): which fix tasks a batch of PR
//! feedback becomes, how a recorded batch and the replies change the goal, what the loop does next, and
//! the text of each reply.
//!
//! A batch's inline comments are grouped by file: one `fix` task per commented file, its write set that
//! file, starting from the integrated result (it depends on every integrated task). Feedback without a
//! file (a review's own text, a conversation comment) becomes one task over the goal's write sets, after
//! the file tasks — unless it is the text of a review whose inline comments are in the batch: then it is
//! context for those tasks. Questions become no task: the goal waits for a human. Every task is
//! validated with the graph like any plan; feedback whose task would not validate is recorded with why.
//! Pure.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::reviews::{Ask, Feedback, FeedbackKind, REPLY_MARKER};
use crate::model::goal::{Blocker, GoalState};
use crate::model::graph::TaskGraph;
use crate::model::ids::TaskId;
use crate::model::snapshot::Snapshot;
use crate::model::status::{GoalStatus, Phase};
use crate::model::task::{Task, TaskKind, TaskStatus};
use crate::model::writeset::PathPattern;

/// One piece of feedback recorded in the goal, with the task that addresses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addressed {
    /// The feedback as read.
    pub feedback: Feedback,
    /// The fix task (`None`: a question, or a task that would not validate; `note` says which).
    pub task: Option<TaskId>,
    /// Why no task addresses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A batch of new feedback from the goal's PR and the fix tasks it became (`review_feedback_recorded`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRecorded {
    /// The PR it was read from.
    pub pr: u64,
    /// The round of review (1 for the first batch).
    pub round: u32,
    /// Every piece of feedback, oldest first.
    pub items: Vec<Addressed>,
    /// The fix tasks (pending), validated with the graph.
    pub tasks: Vec<Task>,
}

/// A reply git-omk posted on the PR.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyPosted {
    /// The feedback answered.
    pub kind: FeedbackKind,
    /// Its GitHub id.
    pub id: u64,
    /// The reply's GitHub id.
    pub reply_id: u64,
    /// The commit that addressed it, when one did.
    pub commit: Option<String>,
    /// Whether the feedback was addressed by a change.
    pub addressed: bool,
}

/// Replies git-omk posted (`review_replied`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepliesPosted {
    /// One per answered piece of feedback.
    pub replies: Vec<ReplyPosted>,
}

/// Feedback the goal has recorded, with its reply once posted (`goal.json` `delivery.feedback`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackState {
    /// The PR it came from.
    pub pr: u64,
    /// The review round that recorded it.
    pub round: u32,
    /// What was read and the task addressing it.
    #[serde(flatten)]
    pub item: Addressed,
    /// The reply, once posted.
    pub reply: Option<ReplyPosted>,
}

/// What `address-reviews` does next on the recorded state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressStep {
    /// Fix tasks are not settled yet: drive the goal (the controller's loop).
    Drive,
    /// The integrated result differs from the PR's head: push it and update the PR.
    Deliver,
    /// These recorded pieces of feedback wait for their reply.
    Reply(Vec<FeedbackState>),
    /// Nothing is left over: read the PR for new feedback.
    Read,
}

/// The next step on `snapshot` (a crashed or interrupted run continues where it stopped).
pub fn next(snapshot: &Snapshot) -> AddressStep {
    let goal = &snapshot.goal;
    let review_tasks = goal.delivery.feedback.iter().filter_map(|f| f.item.task.as_ref());
    let unsettled = review_tasks
        .filter_map(|id| snapshot.tasks.get(id))
        .any(|t| !t.is_settled());
    if unsettled && matches!(goal.status, GoalStatus::Running | GoalStatus::Planned) {
        return AddressStep::Drive;
    }
    let head = goal.delivery.pr_head.as_deref();
    let tip = goal.integration.as_ref().map(|i| i.commit.to_string());
    if goal.delivery.pr.is_some()
        && tip.is_some()
        && head != tip.as_deref()
        && !goal.delivery.feedback.is_empty()
    {
        return AddressStep::Deliver;
    }
    let waiting: Vec<FeedbackState> = goal
        .delivery
        .feedback
        .iter()
        .filter(|f| f.reply.is_none())
        .cloned()
        .collect();
    if waiting.is_empty() {
        AddressStep::Read
    } else {
        AddressStep::Reply(waiting)
    }
}

/// Turn a batch of new feedback from PR `pr` into recorded feedback and validated fix tasks.
pub fn plan_fixes(snapshot: &Snapshot, pr: u64, feedback: Vec<Feedback>) -> FeedbackRecorded {
    let round = snapshot.goal.delivery.review_rounds + 1;
    let base_deps: Vec<TaskId> = snapshot
        .tasks
        .tasks
        .iter()
        .filter(|t| t.integrated.is_some())
        .map(|t| t.id.clone())
        .collect();
    let mut planner = Planner {
        snapshot,
        round,
        tasks: Vec::new(),
    };
    let mut items: Vec<Addressed> = feedback
        .into_iter()
        .map(|feedback| Addressed {
            feedback,
            task: None,
            note: None,
        })
        .collect();
    planner.file_tasks(&mut items, &base_deps);
    planner.general_task(&mut items, &base_deps);
    for item in items.iter_mut().filter(|i| i.feedback.ask == Ask::Question) {
        item.note = Some("it asks a question: a human answers it".to_owned());
    }
    FeedbackRecorded {
        pr,
        round,
        items,
        tasks: planner.tasks,
    }
}

struct Planner<'a> {
    snapshot: &'a Snapshot,
    round: u32,
    tasks: Vec<Task>,
}

impl Planner<'_> {
    /// One task per commented file, in the order the files were first commented on.
    fn file_tasks(&mut self, items: &mut [Addressed], deps: &[TaskId]) {
        let mut files: Vec<String> = Vec::new();
        for item in items.iter().filter(|i| is_change(i) && i.feedback.path.is_some()) {
            let path = item.feedback.path.clone().unwrap_or_default();
            if !files.contains(&path) {
                files.push(path);
            }
        }
        for path in files {
            let on_file: Vec<usize> = (0..items.len())
                .filter(|&i| is_change(&items[i]) && items[i].feedback.path.as_deref() == Some(path.as_str()))
                .collect();
            let reviews = review_texts(items, &on_file);
            let comments: Vec<&Feedback> = on_file.iter().map(|&i| &items[i].feedback).collect();
            let built = PathPattern::parse(&path)
                .map_err(|e| e.to_string())
                .and_then(|pattern| {
                    let description = describe(&comments, &reviews);
                    let title = format!("Address review comments on {path}");
                    self.add(&title, description, vec![pattern], deps.to_vec())
                });
            for &i in &on_file {
                settle(&mut items[i], &built);
            }
            // A review's own text goes with the first file task of its comments.
            for &i in &reviews.indices {
                if items[i].task.is_none() {
                    settle(&mut items[i], &built);
                }
            }
        }
    }

    /// One task for the feedback without a file that is not context of a file task.
    fn general_task(&mut self, items: &mut [Addressed], deps: &[TaskId]) {
        let open: Vec<usize> = (0..items.len())
            .filter(|&i| is_change(&items[i]) && items[i].task.is_none() && items[i].note.is_none())
            .collect();
        if open.is_empty() {
            return;
        }
        let mut write_set: Vec<PathPattern> = Vec::new();
        for t in &self.snapshot.tasks.tasks {
            for p in &t.write_set {
                if !write_set.contains(p) {
                    write_set.push(p.clone());
                }
            }
        }
        let mut after = deps.to_vec();
        after.extend(self.tasks.iter().map(|t| t.id.clone()));
        let comments: Vec<&Feedback> = open.iter().map(|&i| &items[i].feedback).collect();
        let description = describe(&comments, &ReviewTexts::default());
        let built = if write_set.is_empty() {
            Err("the goal declares no files a fix could change".to_owned())
        } else {
            self.add("Address the PR's review feedback", description, write_set, after)
        };
        for i in open {
            settle(&mut items[i], &built);
        }
    }

    /// Add a fix task when the graph stays valid with it.
    fn add(
        &mut self,
        title: &str,
        description: String,
        write_set: Vec<PathPattern>,
        depends_on: Vec<TaskId>,
    ) -> Result<TaskId, String> {
        let id = TaskId::parse(&format!("review-{}-{}", self.round, self.tasks.len() + 1))
            .map_err(|e| e.to_string())?;
        let task = Task {
            id: id.clone(),
            title: title.to_owned(),
            description,
            kind: TaskKind::Fix,
            status: TaskStatus::Pending,
            depends_on,
            read_set: Vec::new(),
            write_set,
            acceptance: vec![
                "every review comment above is addressed by a change".to_owned(),
                "the project's checks still pass".to_owned(),
            ],
            gates: Vec::new(),
            retry_limit: Task::DEFAULT_RETRY_LIMIT,
            attempts: Vec::new(),
            branch: None,
            session_id: None,
            integrated: None,
            note: None,
            removes_tests: Vec::new(),
        };
        let mut all = self.snapshot.tasks.tasks.clone();
        all.extend(self.tasks.iter().cloned());
        all.push(task.clone());
        TaskGraph::new(all).map_err(|e| format!("the fix task would not validate: {e}"))?;
        self.tasks.push(task);
        Ok(id)
    }
}

fn is_change(item: &Addressed) -> bool {
    item.feedback.ask == Ask::Change
}

fn settle(item: &mut Addressed, built: &Result<TaskId, String>) {
    match built {
        Ok(id) => item.task = Some(id.clone()),
        Err(why) => item.note = Some(why.clone()),
    }
}

/// The texts of the reviews whose inline comments are among `on_file`.
#[derive(Default)]
struct ReviewTexts {
    indices: Vec<usize>,
    texts: Vec<String>,
}

fn review_texts(items: &[Addressed], on_file: &[usize]) -> ReviewTexts {
    let mut out = ReviewTexts::default();
    for (i, item) in items.iter().enumerate() {
        let f = &item.feedback;
        let has_inline = on_file.iter().any(|&c| items[c].feedback.review_id == Some(f.id));
        if f.kind == FeedbackKind::Review && has_inline {
            out.indices.push(i);
            out.texts.push(format!("{} (review): {}", f.source, f.body));
        }
    }
    out
}

/// The task description: every comment with where it points, and the reviews' own words.
fn describe(comments: &[&Feedback], reviews: &ReviewTexts) -> String {
    let mut out = String::from(
        "A reviewer asked for changes on the goal's pull request. Change the code so that each comment below is addressed; change nothing else.\n",
    );
    for text in &reviews.texts {
        let _ = writeln!(out, "\n{text}");
    }
    for c in comments {
        let place = match (&c.path, c.line, c.position) {
            (Some(p), Some(l), _) => format!(" on {p} line {l}"),
            (Some(p), None, Some(pos)) => format!(" on {p} (position {pos} in the PR's diff)"),
            (Some(p), None, None) => format!(" on {p}"),
            (None, _, _) => String::new(),
        };
        let _ = writeln!(out, "\n{}{place}:\n{}", c.source, quote(&c.body));
    }
    out
}

fn quote(text: &str) -> String {
    text.lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Apply a recorded batch: the feedback joins the goal, the fix tasks join the graph (when it stays
/// valid), and the goal runs again; a batch of questions alone blocks the goal on a human.
pub fn apply_recorded(snapshot: &mut Snapshot, batch: &FeedbackRecorded) {
    let goal = &mut snapshot.goal;
    goal.delivery.review_rounds = goal.delivery.review_rounds.max(batch.round);
    for item in &batch.items {
        let known =
            goal.delivery.feedback.iter().any(|f| {
                f.item.feedback.kind == item.feedback.kind && f.item.feedback.id == item.feedback.id
            });
        if !known {
            goal.delivery.feedback.push(FeedbackState {
                pr: batch.pr,
                round: batch.round,
                item: item.clone(),
                reply: None,
            });
        }
    }
    let mut all = snapshot.tasks.tasks.clone();
    all.extend(batch.tasks.iter().cloned());
    let joined = !batch.tasks.is_empty()
        && TaskGraph::new(all).is_ok_and(|graph| {
            snapshot.tasks = graph;
            true
        });
    let questions: Vec<String> = batch
        .items
        .iter()
        .filter(|i| i.feedback.ask == Ask::Question)
        .map(|i| format!("{}: {}", i.feedback.source, i.feedback.body))
        .collect();
    reopen(&mut snapshot.goal, joined, questions);
}

fn reopen(goal: &mut GoalState, joined: bool, questions: Vec<String>) {
    if goal.status == GoalStatus::Cancelled {
        return;
    }
    let asked = !questions.is_empty();
    if asked {
        goal.blockers.push(Blocker::ReviewQuestions { questions });
    }
    if joined && goal.status.is_terminal() {
        goal.status = GoalStatus::Running;
        goal.phase = Phase::Execution;
        goal.stop_reason = None;
    } else if !joined && asked {
        goal.status = GoalStatus::BlockedOnHuman;
        goal.stop_reason = Some("a reviewer asked a question on the PR: a human answers it".to_owned());
    }
}

/// Apply posted replies.
pub fn apply_replies(goal: &mut GoalState, replies: &RepliesPosted) {
    for reply in &replies.replies {
        if let Some(f) = goal
            .delivery
            .feedback
            .iter_mut()
            .find(|f| f.item.feedback.kind == reply.kind && f.item.feedback.id == reply.id)
        {
            f.reply = Some(reply.clone());
        }
    }
}

/// How a recorded piece of feedback ended, for its reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Its task was integrated at `commit`.
    Fixed {
        /// The integration commit that holds the fix.
        commit: String,
    },
    /// Not addressed by a change, and why.
    NotFixed {
        /// Why, in words.
        why: String,
    },
}

/// How `state` ended on `snapshot`.
pub fn resolution(snapshot: &Snapshot, state: &FeedbackState) -> Resolution {
    if let Some(note) = &state.item.note {
        return Resolution::NotFixed { why: note.clone() };
    }
    let task = state.item.task.as_ref().and_then(|id| snapshot.tasks.get(id));
    match task {
        Some(t) if t.status == TaskStatus::Done => match &t.integrated {
            Some(commit) => Resolution::Fixed {
                commit: commit.to_string(),
            },
            None => Resolution::NotFixed {
                why: format!("task {} is done but not integrated", t.id),
            },
        },
        Some(t) => Resolution::NotFixed {
            why: format!(
                "task {} ended {}{}",
                t.id,
                t.status.as_str(),
                t.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default()
            ),
        },
        None => Resolution::NotFixed {
            why: "no task addresses it".to_owned(),
        },
    }
}

/// The marker line that names the feedback a conversation reply answers.
pub fn reply_to_marker(kind: FeedbackKind, id: u64) -> String {
    let kind = match kind {
        FeedbackKind::Review => "review",
        FeedbackKind::ReviewComment => "review_comment",
        FeedbackKind::Conversation => "conversation",
    };
    format!("<!-- git-omk:reply-to {kind}:{id} -->")
}

/// The text of a reply: the marker, what happened, the proof's status and the command to check it.
pub fn reply_text(
    state: &FeedbackState,
    resolution: &Resolution,
    html_url: &str,
    goal: &GoalState,
) -> String {
    let f = &state.item.feedback;
    let mut out = format!("{REPLY_MARKER}\n{}\n", reply_to_marker(f.kind, f.id));
    if f.kind != FeedbackKind::ReviewComment {
        let first = f.body.lines().next().unwrap_or_default();
        let _ = writeln!(out, "> {first}\n");
    }
    match resolution {
        Resolution::Fixed { commit } => {
            let _ = write!(
                out,
                "Addressed in {html_url}/commit/{commit} (task `{}`).",
                state.item.task.as_ref().map(TaskId::as_str).unwrap_or_default()
            );
            let _ = write!(out, " The goal's proof is now `{}`.", goal.status.as_str());
        }
        Resolution::NotFixed { why } => {
            let _ = write!(out, "Not addressed by git-omk: {why}.");
        }
    }
    let _ = write!(
        out,
        "\n\n<sub>git-omk goal {} · `git omk goal proof {}`</sub>\n",
        goal.id, goal.id
    );
    out
}

#[cfg(test)]
mod tests;
