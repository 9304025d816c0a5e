//! What a turn changed in the worktree, from git itself (DESIGN §4: after every turn the worktree diff
//! is checked against the write set).
//!
//! Owns asking git for the changed paths (uncommitted changes, untracked files, and anything the agent
//! committed itself since the turn began) relative to the worktree root, always through the checkout's
//! git directory as found before the agent ran (never through a `.git` the agent could rewrite). Must
//! not judge them: the policy does.

use std::path::Path;

use super::error::AgentError;
use crate::git::checkout::Checkout;

/// The changes found after a turn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Changed paths relative to the worktree root, sorted, without duplicates.
    pub paths: Vec<String>,
    /// Whether HEAD moved during the turn (the agent committed, reset or switched branches).
    pub head_moved: bool,
}

fn git(checkout: &Checkout, args: &[&str]) -> Result<Vec<u8>, AgentError> {
    let out = checkout
        .git_output(args, &[])
        .map_err(|e| AgentError::DiffCheck(e.to_string()))?;
    if !out.status.success() {
        return Err(AgentError::DiffCheck(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// The checkout containing the work directory `dir`, found by git from there. Done once, when the
/// session starts and before the agent ran: later checks never read the checkout's `.git` again.
pub async fn discover(dir: &Path) -> Result<Checkout, AgentError> {
    let dir = dir.to_owned();
    blocking(move || {
        Checkout::discover(&dir)
            .map_err(|e| AgentError::DiffCheck(format!("{} is not in a git repository: {e}", dir.display())))
    })
    .await
}

/// Where the work directory `dir` sits inside `checkout` (`""` at the top, else `sub/dir/`).
pub fn prefix(checkout: &Checkout, dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    match dir.strip_prefix(checkout.path()) {
        Ok(rest) if rest.as_os_str().is_empty() => String::new(),
        Ok(rest) => format!("{}/", rest.to_string_lossy()),
        Err(_) => String::new(),
    }
}

/// The repository of `checkout`, opened once per session from its git directory to read HEAD
/// in-process.
pub fn open(checkout: &Checkout) -> Result<gix::ThreadSafeRepository, AgentError> {
    gix::open(checkout.git_dir())
        .map(gix::Repository::into_sync)
        .map_err(|e| {
            AgentError::DiffCheck(format!(
                "{} is not a git directory: {e}",
                checkout.git_dir().display()
            ))
        })
}

/// The commit HEAD points at, if any (an unborn branch has none). In-process: no git subprocess.
pub fn head(repo: &gix::ThreadSafeRepository) -> Option<String> {
    repo.to_thread_local().head_id().ok().map(|id| id.to_string())
}

/// Paths changed in `checkout` (whose work directory is at `prefix` in it) since the commit `start`
/// that HEAD pointed at when the turn began.
pub async fn changes(
    checkout: &Checkout,
    prefix: &str,
    start: Option<String>,
) -> Result<Changes, AgentError> {
    let checkout = checkout.clone();
    let prefix = prefix.to_owned();
    blocking(move || {
        let args = [
            "status",
            "--porcelain=v2",
            "--branch",
            "-z",
            "--untracked-files=all",
            "--no-renames",
        ];
        let status = parse_status(&git(&checkout, &args)?);
        let head_moved = status.head != start;
        let mut paths = status.paths;
        if let (true, Some(from)) = (head_moved, start.as_deref()) {
            let committed = git(
                &checkout,
                &["diff", "--name-only", "-z", "--no-renames", from, "HEAD", "--"],
            )?;
            paths.extend(committed.split(|b| *b == 0).filter(|p| !p.is_empty()).map(lossy));
        }
        let mut paths: Vec<String> = paths.into_iter().map(|p| relative_to(&prefix, p)).collect();
        paths.sort();
        paths.dedup();
        Ok(Changes { paths, head_moved })
    })
    .await
}

struct Status {
    head: Option<String>,
    paths: Vec<String>,
}

/// `git status --porcelain=v2 --branch -z`: the HEAD commit and the changed paths (repository-relative).
fn parse_status(raw: &[u8]) -> Status {
    let mut status = Status {
        head: None,
        paths: Vec::new(),
    };
    for entry in raw.split(|b| *b == 0).filter(|e| !e.is_empty()).map(lossy) {
        let fields_before_path = match entry.as_bytes()[0] {
            b'#' => {
                if let Some(oid) = entry.strip_prefix("# branch.oid ") {
                    status.head = (oid != "(initial)").then(|| oid.to_owned());
                }
                continue;
            }
            b'1' => 8,
            b'2' => 9,
            b'u' => 10,
            b'?' | b'!' => 1,
            _ => continue,
        };
        if entry.starts_with('!') {
            continue;
        }
        if let Some(path) = entry.splitn(fields_before_path + 1, ' ').nth(fields_before_path) {
            status.paths.push(path.to_owned());
        }
    }
    status
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A repository-relative path made relative to the worktree directory `prefix` (`sub/dir/`); a path
/// outside it keeps a `../` marker so the policy refuses it.
fn relative_to(prefix: &str, path: String) -> String {
    if prefix.is_empty() {
        return path;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.to_owned(),
        None => format!("../{path}"),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AgentError> + Send + 'static,
) -> Result<T, AgentError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AgentError::DiffCheck(format!("the git check did not finish: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_entries_parse() {
        let raw = b"# branch.oid 0123abcd\0# branch.head main\x001 .M N... 100644 100644 100644 aa bb src/a.rs\0? new file.txt\x001 D. N... 100644 000000 000000 cc dd gone.rs\0u UU N... 1 2 3 4 e f g both.rs\0! target/x\0";
        let status = parse_status(raw);
        assert_eq!(status.head.as_deref(), Some("0123abcd"));
        assert_eq!(
            status.paths,
            vec!["src/a.rs", "new file.txt", "gone.rs", "both.rs"]
        );
        assert_eq!(parse_status(b"# branch.oid (initial)\0").head, None);
        assert_eq!(relative_to("sub/", "sub/x".into()), "x");
        assert_eq!(relative_to("sub/", "other/x".into()), "../other/x");
    }
}
