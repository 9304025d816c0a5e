//! Many goals at once, for resolution and listing tests: goal commits imported with `git fast-import`.
//!
//! Each imported goal is a root commit with a real goal commit message (subject, `Omk-*` trailers) and
//! the tree of a goal git-omk created (the template), its `goal.json` naming the imported id, so every
//! imported goal lists, resolves and loads like one git-omk wrote.

#![allow(dead_code)]

use std::io::Write;
use std::process::Stdio;

use super::git_repo::TestRepo;

/// One goal to import.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The full ref name (`refs/omk/goals/<id>` or a remote's copy).
    pub ref_name: String,
    /// The goal id.
    pub id: String,
    /// The status written in the subject.
    pub status: &'static str,
    /// The `Omk-Created` trailer (RFC 3339).
    pub created: String,
}

impl Imported {
    /// A local goal with status `status`, created at the start of the second its id names plus `nanos`.
    pub fn local(id: &str, status: &'static str, nanos: u32) -> Imported {
        Imported {
            ref_name: format!("refs/omk/goals/{id}"),
            id: id.to_owned(),
            status,
            created: created_of(id, nanos),
        }
    }

    /// The same goal as fetched from `remote`.
    pub fn fetched_from(&self, remote: &str) -> Imported {
        Imported {
            ref_name: format!("refs/omk/remotes/{remote}/goals/{}", self.id),
            ..self.clone()
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+00:00` of the second an id names.
fn created_of(id: &str, nanos: u32) -> String {
    format!(
        "{}-{}-{}T{}:{}:{}.{nanos:09}+00:00",
        &id[0..4],
        &id[4..6],
        &id[6..8],
        &id[9..11],
        &id[11..13],
        &id[13..15]
    )
}

/// Import `goals` into `repo`, each a copy of the goal whose tip is `template` (a commit id) with
/// `goal.json` rewritten to its own id. Refs are written loose; `git pack-refs --all` packs them.
pub fn import_goals(repo: &TestRepo, template: &str, goals: &[Imported]) {
    let tree = repo.git(&["rev-parse", &format!("{template}^{{tree}}")]);
    let template_id = repo.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Omk-Goal,valueonly)",
        template,
    ]);
    let goal_json = repo.git(&["cat-file", "blob", &format!("{template}:goal.json")]);
    let mut stream = Vec::new();
    for goal in goals {
        let message = format!(
            "{}: Imported goal {}\n\n- imported\n\nOmk-Schema: 1\nOmk-Goal: {}\nOmk-Phase: planning\n\
             Omk-Created: {}\nOmk-Event: goal_created\n",
            goal.status, goal.id, goal.id, goal.created
        );
        let json = goal_json.replace(template_id.trim(), &goal.id);
        write!(
            stream,
            "commit {}\ncommitter Test User <test@example.com> 1764900000 +0000\ndata {}\n{message}\
             M 040000 {tree} \"\"\nM 100644 inline goal.json\ndata {}\n{json}\n\n",
            goal.ref_name,
            message.len(),
            json.len()
        )
        .expect("write the stream");
    }
    let mut child = repo
        .git_command()
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(&stream)
        .expect("feed fast-import");
    assert!(
        child.wait().expect("fast-import ends").success(),
        "fast-import failed"
    );
}
