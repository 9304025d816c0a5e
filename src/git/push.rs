//! Pushing without force (DESIGN §2, §11.3): `git push --porcelain --atomic` with
//! `--force-with-lease=<ref>:<expected>` per ref and plain `<sha>:<ref>` refspecs (never `+`).
//!
//! The lease alone would still let git rewrite a ref whose value matches, so every update is first
//! checked to be a creation or a fast-forward of what the remote has; the lease then guarantees the
//! remote did not move between that check and the push. A rejection is reported with git's reason and
//! the remote's messages, and never retried with force. Runs git through `process::git` so the user's
//! credentials, hooks and configuration apply.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use crate::process;

/// One ref to push: a local commit to a full ref name on the remote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushSpec {
    /// The commit (full sha).
    pub commit: String,
    /// The remote ref (`refs/heads/…`, `refs/omk/goals/…`).
    pub dst: String,
}

/// What happened to one ref.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefOutcome {
    /// The ref did not exist and was created.
    Created,
    /// Fast-forwarded.
    Updated,
    /// Already there.
    UpToDate,
}

/// A successful push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushReport {
    /// Per ref, in the order asked.
    pub refs: Vec<(String, RefOutcome)>,
    /// Lines the remote printed (`remote: …`).
    pub remote_messages: Vec<String>,
}

/// One rejected ref with git's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The remote ref.
    pub dst: String,
    /// Why (`stale info`, `pre-receive hook declined`, `non-fast-forward`, …).
    pub reason: String,
}

/// Why a push did not happen; nothing was changed on the remote in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// git could not be started.
    #[error("cannot run git: {0}")]
    Spawn(#[from] io::Error),
    /// The remote could not be read (missing, unreachable, no access).
    #[error("cannot read remote `{remote}`: {message}")]
    Remote {
        /// Remote name.
        remote: String,
        /// What git said.
        message: String,
    },
    /// The remote ref has commits the pushed commit does not contain: pushing would rewrite it.
    #[error(
        "remote `{remote}` has {dst} at {remote_sha}, which {local_sha} does not contain ({why}); nothing was pushed and nothing is forced: fetch and reconcile, then run the command again"
    )]
    NotFastForward {
        /// Remote name.
        remote: String,
        /// The remote ref.
        dst: String,
        /// Its value on the remote.
        remote_sha: String,
        /// What would have been pushed.
        local_sha: String,
        /// Why it is not a fast-forward.
        why: String,
    },
    /// The remote (or the lease) rejected the push; with `--atomic` nothing was updated.
    #[error("remote `{remote}` rejected the push: {}{}", describe(.rejected), messages(.remote_messages))]
    Rejected {
        /// Remote name.
        remote: String,
        /// The rejected refs.
        rejected: Vec<Rejection>,
        /// What the remote printed.
        remote_messages: Vec<String>,
    },
    /// git failed without a per-ref report.
    #[error("git push to `{remote}` failed: {message}")]
    Failed {
        /// Remote name.
        remote: String,
        /// git's error output.
        message: String,
    },
}

fn describe(rejected: &[Rejection]) -> String {
    rejected
        .iter()
        .map(|r| format!("{} ({})", r.dst, r.reason))
        .collect::<Vec<_>>()
        .join(", ")
}

fn messages(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("; the remote said: {}", lines.join(" / "))
    }
}

/// Push `specs` to `remote` atomically, each as a creation or fast-forward guarded by a lease.
pub fn push(dir: &Path, remote: &str, specs: &[PushSpec]) -> Result<PushReport, PushError> {
    let current = remote_values(dir, remote, specs)?;
    let mut outcomes = Vec::new();
    for spec in specs {
        let outcome = match current.get(&spec.dst) {
            None => RefOutcome::Created,
            Some(sha) if *sha == spec.commit => RefOutcome::UpToDate,
            Some(sha) => {
                ensure_fast_forward(dir, remote, spec, sha)?;
                RefOutcome::Updated
            }
        };
        outcomes.push((spec.dst.clone(), outcome));
    }
    send(dir, remote, specs, &current, outcomes)
}

/// Push `specs` to `remote` atomically when the caller already knows what the remote had: `expected`
/// per spec (`None`: the ref must not exist), for example from a fetch it just made. The caller
/// guarantees each commit contains its expected value (a creation or a fast-forward); the lease makes
/// the push fail, changing nothing, if the remote moved since.
pub fn push_leased(
    dir: &Path,
    remote: &str,
    specs: &[(PushSpec, Option<String>)],
) -> Result<PushReport, PushError> {
    let current: BTreeMap<String, String> = specs
        .iter()
        .filter_map(|(s, e)| e.as_ref().map(|e| (s.dst.clone(), e.clone())))
        .collect();
    let outcomes = specs
        .iter()
        .map(|(s, e)| {
            let outcome = match e {
                None => RefOutcome::Created,
                Some(sha) if *sha == s.commit => RefOutcome::UpToDate,
                Some(_) => RefOutcome::Updated,
            };
            (s.dst.clone(), outcome)
        })
        .collect();
    let specs: Vec<PushSpec> = specs.iter().map(|(s, _)| s.clone()).collect();
    send(dir, remote, &specs, &current, outcomes)
}

/// Run the push with a lease per ref on its `current` value (absent: must not exist).
fn send(
    dir: &Path,
    remote: &str,
    specs: &[PushSpec],
    current: &BTreeMap<String, String>,
    outcomes: Vec<(String, RefOutcome)>,
) -> Result<PushReport, PushError> {
    if outcomes.iter().all(|(_, o)| *o == RefOutcome::UpToDate) {
        return Ok(PushReport {
            refs: outcomes,
            remote_messages: Vec::new(),
        });
    }
    let mut cmd = process::git(dir);
    cmd.args(["push", "--porcelain", "--atomic"]);
    for spec in specs {
        let expected = current.get(&spec.dst).map(String::as_str).unwrap_or("");
        cmd.arg(format!("--force-with-lease={}:{expected}", spec.dst));
    }
    cmd.arg(remote);
    cmd.args(specs.iter().map(|s| format!("{}:{}", s.commit, s.dst)));
    let out = process::output(&mut cmd)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines = parse_porcelain(&stdout);
    let remote_messages = remote_lines(&stderr);
    let rejected: Vec<Rejection> = lines
        .iter()
        .filter(|l| l.flag == '!')
        .map(|l| Rejection {
            dst: l.dst.clone(),
            reason: l.reason.clone(),
        })
        .collect();
    if !rejected.is_empty() {
        return Err(PushError::Rejected {
            remote: remote.to_owned(),
            rejected,
            remote_messages,
        });
    }
    if !out.status.success() || lines.len() < specs.len() {
        return Err(PushError::Failed {
            remote: remote.to_owned(),
            message: last_lines(&stderr),
        });
    }
    if let Some(forced) = lines.iter().find(|l| l.flag == '+') {
        tracing::error!(
            "git reported a forced update of {} although none was asked for",
            forced.dst
        );
    }
    Ok(PushReport {
        refs: outcomes,
        remote_messages,
    })
}

/// The remote's current value of one ref (`None`: it does not exist there).
pub fn remote_value(dir: &Path, remote: &str, dst: &str) -> Result<Option<String>, PushError> {
    let spec = PushSpec {
        commit: String::new(),
        dst: dst.to_owned(),
    };
    Ok(remote_values(dir, remote, std::slice::from_ref(&spec))?.remove(dst))
}

/// Whether `commit` is reachable from `tip` (false when either is unknown here).
pub fn contains(dir: &Path, tip: &str, commit: &str) -> Result<bool, PushError> {
    let mut cmd = process::git(dir);
    cmd.args(["merge-base", "--is-ancestor", commit, tip]);
    Ok(process::output(&mut cmd)?.status.success())
}

/// The remote's current values of the refs to push (`git ls-remote`).
fn remote_values(
    dir: &Path,
    remote: &str,
    specs: &[PushSpec],
) -> Result<BTreeMap<String, String>, PushError> {
    let mut cmd = process::git(dir);
    cmd.args(["ls-remote", "--refs", remote]);
    cmd.args(specs.iter().map(|s| s.dst.as_str()));
    let out = process::output(&mut cmd)?;
    if !out.status.success() {
        return Err(PushError::Remote {
            remote: remote.to_owned(),
            message: last_lines(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    let wanted: Vec<&str> = specs.iter().map(|s| s.dst.as_str()).collect();
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, name)| wanted.contains(name))
        .map(|(sha, name)| (name.to_owned(), sha.to_owned()))
        .collect())
}

fn ensure_fast_forward(dir: &Path, remote: &str, spec: &PushSpec, remote_sha: &str) -> Result<(), PushError> {
    let mut cmd = process::git(dir);
    cmd.args(["merge-base", "--is-ancestor", remote_sha, &spec.commit]);
    let out = process::output(&mut cmd)?;
    let why = match out.status.code() {
        Some(0) => return Ok(()),
        Some(1) => "the remote has commits that are not in the local history".to_owned(),
        _ => "the remote has commits this repository has never fetched".to_owned(),
    };
    Err(PushError::NotFastForward {
        remote: remote.to_owned(),
        dst: spec.dst.clone(),
        remote_sha: remote_sha.to_owned(),
        local_sha: spec.commit.clone(),
        why,
    })
}

/// One line of `git push --porcelain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PorcelainLine {
    /// ` ` fast-forward, `+` forced, `-` deleted, `*` new, `!` rejected, `=` up to date.
    pub flag: char,
    /// The remote ref.
    pub dst: String,
    /// The summary (`[rejected]`, `abc..def`, `[new branch]`).
    pub summary: String,
    /// The reason in parentheses, if any.
    pub reason: String,
}

/// Parse `git push --porcelain` output: `<flag>\t<from>:<to>\t<summary> (<reason>)` lines.
pub fn parse_porcelain(stdout: &str) -> Vec<PorcelainLine> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            let flag = fields.next()?.chars().next()?;
            let refs = fields.next()?;
            let rest = fields.next().unwrap_or("");
            let dst = refs.rsplit_once(':').map_or(refs, |(_, d)| d).to_owned();
            let (summary, reason) = match rest.split_once(" (") {
                Some((s, r)) => (s.to_owned(), r.trim_end_matches(')').to_owned()),
                None => (rest.to_owned(), String::new()),
            };
            " +-*!=".contains(flag).then_some(PorcelainLine {
                flag,
                dst,
                summary,
                reason,
            })
        })
        .collect()
}

fn remote_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("remote:"))
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .take(20)
        .collect()
}

fn last_lines(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().trim_start_matches("remote:").trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(5);
    let text = lines[start..].join(" / ");
    if text.is_empty() {
        "git printed nothing".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_lines_are_parsed() {
        let out = "To ../remote.git\n\
                   *\tdb49aa8:refs/heads/x\t[new branch]\n\
                   !\tda7bfb7:refs/heads/y\t[rejected] (stale info)\n\
                   !\tda7bfb7:refs/omk/goals/g\t[remote rejected] (pre-receive hook declined)\n\
                   =\tcff5fb6:refs/heads/z\t[up to date]\n\
                   Done\n";
        let lines = parse_porcelain(out);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0].flag, '*');
        assert_eq!(lines[0].dst, "refs/heads/x");
        assert_eq!(lines[1].reason, "stale info");
        assert_eq!(lines[2].summary, "[remote rejected]");
        assert_eq!(lines[2].reason, "pre-receive hook declined");
        assert_eq!(lines[3].flag, '=');
    }

    #[test]
    fn remote_messages_are_kept() {
        let err = "remote: protected branch\nremote: \nerror: failed to push some refs\n";
        assert_eq!(remote_lines(err), vec!["protected branch".to_owned()]);
        assert_eq!(
            last_lines(err),
            "remote: protected branch / error: failed to push some refs"
        );
    }
}
