//! Which GitHub repository and API a goal is delivered to: `owner/name` from the push remote's URL
//! (https, ssh and scp-like forms) or `omk.github.repo`, and the API base from `omk.github.apiUrl`
//! (GitHub Enterprise keeps its `/api/v3` prefix).
//!
//! Owns URL parsing and the resolution rules. Reads nothing itself: settings are passed in. Pure.

use std::fmt;

use crate::settings::GithubSettings;

/// The public GitHub API.
pub const GITHUB_API: &str = "https://api.github.com";

/// `owner/name` of a repository.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RepoSlug {
    /// Owner (user or organisation).
    pub owner: String,
    /// Repository name, without `.git`.
    pub name: String,
}

impl fmt::Display for RepoSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl RepoSlug {
    /// Parse `owner/name`.
    pub fn parse(text: &str) -> Option<RepoSlug> {
        let (owner, name) = text.trim().split_once('/')?;
        let name = name.strip_suffix(".git").unwrap_or(name);
        (valid_part(owner) && valid_part(name)).then(|| RepoSlug {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }
}

fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A remote URL split into host and `owner/name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteLocation {
    /// Host name without port or user.
    pub host: String,
    /// The repository.
    pub slug: RepoSlug,
}

/// Parse a git remote URL: `https://host/owner/name(.git)`, `ssh://git@host(:port)/owner/name.git`,
/// `git@host:owner/name.git`, `git://host/owner/name`. Local paths and other forms give `None`.
pub fn parse_remote_url(url: &str) -> Option<RemoteLocation> {
    let url = url.trim();
    let (host_part, path) = if let Some((scheme, rest)) = url.split_once("://") {
        if !matches!(scheme, "https" | "http" | "ssh" | "git" | "git+ssh" | "ssh+git") {
            return None;
        }
        rest.split_once('/')?
    } else {
        // scp-like `[user@]host:path`, but not a local path like `/srv/x` or `C:\x`.
        let (host, path) = url.split_once(':')?;
        if host.contains('/') || host.len() < 2 || path.starts_with('/') || path.starts_with('\\') {
            return None;
        }
        (host, path)
    };
    let host = host_part.rsplit('@').next()?;
    let host = host.split(':').next()?.to_ascii_lowercase();
    let path = path.trim_matches('/');
    let mut parts = path.rsplitn(3, '/');
    let name = parts.next()?;
    let owner = parts.next()?;
    if host.is_empty() {
        return None;
    }
    Some(RemoteLocation {
        host,
        slug: RepoSlug::parse(&format!("{owner}/{name}"))?,
    })
}

/// Everything needed to talk to the repository's GitHub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForgeTarget {
    /// API base URL, without a trailing slash.
    pub api_url: String,
    /// The repository.
    pub repo: RepoSlug,
    /// The git remote pushes go to.
    pub remote: String,
    /// The host `gh auth token --hostname` is asked about.
    pub token_host: String,
}

/// Why the target cannot be determined; each says what to configure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// No remote at all.
    #[error(
        "this repository has no git remote to push to: add one (`git remote add origin https://github.com/OWNER/NAME.git`) or name one with `git config omk.remote NAME`"
    )]
    NoRemote,
    /// Several remotes, none chosen.
    #[error(
        "this repository has several remotes ({0}) and none is named `origin`: choose one with `git config omk.remote NAME`"
    )]
    AmbiguousRemote(String),
    /// The remote has no URL.
    #[error("remote `{0}` has no URL: fix it with `git remote set-url {0} URL`")]
    RemoteWithoutUrl(String),
    /// The remote URL does not name a GitHub repository and no override is set.
    #[error(
        "cannot tell the GitHub repository from remote `{remote}` ({url}): set it with `git config omk.github.repo OWNER/NAME`"
    )]
    UnknownRepository {
        /// Remote name.
        remote: String,
        /// Its URL.
        url: String,
    },
    /// `omk.github.repo` is not `owner/name`.
    #[error("{key} is `{value}`, not OWNER/NAME")]
    BadRepoSetting {
        /// Where it came from.
        key: String,
        /// The value.
        value: String,
    },
    /// `omk.github.apiUrl` is not an http(s) URL.
    #[error("{key} is `{value}`, not an http(s) URL like https://api.github.com or https://HOST/api/v3")]
    BadApiUrl {
        /// Where it came from.
        key: String,
        /// The value.
        value: String,
    },
    /// The remote is on another host than github.com and no API URL is configured.
    #[error(
        "remote `{remote}` is on {host}, not github.com: set its API with `git config omk.github.apiUrl https://{host}/api/v3`"
    )]
    EnterpriseNeedsApiUrl {
        /// Remote name.
        remote: String,
        /// Its host.
        host: String,
    },
}

/// Resolve the target from settings: remote (required, pushes go there), repository (override, else the
/// remote URL), API base (setting, else api.github.com for github.com remotes).
pub fn resolve(settings: &GithubSettings) -> Result<ForgeTarget, TargetError> {
    let remote = match &settings.remote {
        Some(r) => r,
        None if settings.remotes.is_empty() => return Err(TargetError::NoRemote),
        None => return Err(TargetError::AmbiguousRemote(settings.remotes.join(", "))),
    };
    let Some(url) = remote.url.as_deref() else {
        return Err(TargetError::RemoteWithoutUrl(remote.name.clone()));
    };
    let location = parse_remote_url(url);
    let repo = match (&settings.repo, &location) {
        (Some(s), _) => RepoSlug::parse(&s.value).ok_or_else(|| TargetError::BadRepoSetting {
            key: s.key.clone(),
            value: s.value.clone(),
        })?,
        (None, Some(loc)) => loc.slug.clone(),
        (None, None) => {
            return Err(TargetError::UnknownRepository {
                remote: remote.name.clone(),
                url: url.to_owned(),
            });
        }
    };
    let api_url = api_url(settings, location.as_ref(), &remote.name)?;
    Ok(ForgeTarget {
        token_host: token_host(&api_url),
        api_url,
        repo,
        remote: remote.name.clone(),
    })
}

fn api_url(
    settings: &GithubSettings,
    location: Option<&RemoteLocation>,
    remote: &str,
) -> Result<String, TargetError> {
    if let Some(s) = &settings.api_url {
        let value = s.value.trim().trim_end_matches('/');
        let ok = (value.starts_with("https://") || value.starts_with("http://"))
            && http_host(value).is_some()
            && !value.contains(char::is_whitespace);
        if !ok {
            return Err(TargetError::BadApiUrl {
                key: s.key.clone(),
                value: s.value.clone(),
            });
        }
        return Ok(value.to_owned());
    }
    match location {
        Some(loc) if loc.host != "github.com" && !loc.host.ends_with(".github.com") => {
            Err(TargetError::EnterpriseNeedsApiUrl {
                remote: remote.to_owned(),
                host: loc.host.clone(),
            })
        }
        _ => Ok(GITHUB_API.to_owned()),
    }
}

/// The host `gh` knows the token under: `github.com` for the public API, else the API's host.
pub fn token_host(api_url: &str) -> String {
    match http_host(api_url) {
        Some(host) if host != "api.github.com" => host,
        _ => "github.com".to_owned(),
    }
}

/// The host of an `http(s)://` URL, lowercased, without user or port.
fn http_host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The repository's web address as GitHub would report it (`html_url`), guessed without the network for
/// dry runs: `https://github.com/OWNER/NAME` for the public API, else the API URL without `/api/v3`.
pub fn guess_html_url(api_url: &str, repo: &RepoSlug) -> String {
    let api = api_url.trim_end_matches('/');
    let web = if api == GITHUB_API {
        "https://github.com"
    } else {
        api.strip_suffix("/api/v3").unwrap_or(api)
    };
    format!("{web}/{repo}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{RemoteSetting, Sourced};

    fn slug(o: &str, n: &str) -> RepoSlug {
        RepoSlug {
            owner: o.into(),
            name: n.into(),
        }
    }

    #[test]
    fn remote_urls_of_every_form() {
        let cases = [
            ("https://github.com/o/r.git", "github.com"),
            ("https://github.com/o/r", "github.com"),
            ("https://user:pw@github.com/o/r.git/", "github.com"),
            ("http://ghe.example.com:8080/o/r", "ghe.example.com"),
            ("ssh://git@github.com/o/r.git", "github.com"),
            ("ssh://git@ghe.example.com:2222/o/r.git", "ghe.example.com"),
            ("git@github.com:o/r.git", "github.com"),
            ("github.com:o/r", "github.com"),
            ("git://github.com/o/r", "github.com"),
            ("https://ghe.example.com/scm/o/r.git", "ghe.example.com"),
        ];
        for (url, host) in cases {
            let loc = parse_remote_url(url).unwrap_or_else(|| panic!("{url}"));
            assert_eq!(loc.host, host, "{url}");
            assert_eq!(loc.slug, slug("o", "r"), "{url}");
        }
        for local in [
            "/srv/git/r.git",
            "../remote.git",
            "file:///srv/r.git",
            "C:\\repos\\r",
            "https://github.com/r",
            "git@github.com:",
        ] {
            assert_eq!(parse_remote_url(local), None, "{local}");
        }
    }

    fn settings(url: Option<&str>) -> GithubSettings {
        GithubSettings {
            api_url: None,
            repo: None,
            remote: Some(RemoteSetting {
                name: "origin".into(),
                url: url.map(str::to_owned),
            }),
            remotes: vec!["origin".into()],
        }
    }

    fn sourced(key: &str, value: &str) -> Option<Sourced> {
        Some(Sourced {
            key: key.into(),
            value: value.into(),
        })
    }

    #[test]
    fn resolution_rules() {
        let t = resolve(&settings(Some("git@github.com:o/r.git"))).unwrap();
        assert_eq!(
            (t.api_url.as_str(), t.repo.to_string()),
            (GITHUB_API, "o/r".into())
        );
        assert_eq!(t.token_host, "github.com");

        let mut s = settings(Some("/tmp/bare.git"));
        assert!(matches!(resolve(&s), Err(TargetError::UnknownRepository { .. })));
        s.repo = sourced("omk.github.repo", "acme/widgets");
        s.api_url = sourced("omk.github.apiUrl", "http://127.0.0.1:4000/");
        let t = resolve(&s).unwrap();
        assert_eq!(t.repo, slug("acme", "widgets"));
        assert_eq!(t.api_url, "http://127.0.0.1:4000");
        assert_eq!(t.token_host, "127.0.0.1");

        let ghe = settings(Some("https://ghe.example.com/o/r.git"));
        assert!(matches!(
            resolve(&ghe),
            Err(TargetError::EnterpriseNeedsApiUrl { .. })
        ));
        let mut ghe = ghe;
        ghe.api_url = sourced("omk.github.apiUrl", "https://ghe.example.com/api/v3");
        let t = resolve(&ghe).unwrap();
        assert_eq!(t.api_url, "https://ghe.example.com/api/v3");
        assert_eq!(t.token_host, "ghe.example.com");
        assert_eq!(guess_html_url(&t.api_url, &t.repo), "https://ghe.example.com/o/r");
        assert_eq!(guess_html_url(GITHUB_API, &t.repo), "https://github.com/o/r");

        let mut bad = settings(Some("git@github.com:o/r.git"));
        bad.repo = sourced("omk.github.repo", "nope");
        assert!(matches!(resolve(&bad), Err(TargetError::BadRepoSetting { .. })));
        bad.repo = None;
        bad.api_url = sourced("OMK_GITHUB_API_URL", "ftp://x");
        assert!(matches!(resolve(&bad), Err(TargetError::BadApiUrl { .. })));
    }

    #[test]
    fn remote_problems() {
        let none = GithubSettings {
            api_url: None,
            repo: None,
            remote: None,
            remotes: vec![],
        };
        assert_eq!(resolve(&none), Err(TargetError::NoRemote));
        let many = GithubSettings {
            remotes: vec!["a".into(), "b".into()],
            ..none
        };
        assert!(matches!(resolve(&many), Err(TargetError::AmbiguousRemote(_))));
        assert!(matches!(
            resolve(&settings(None)),
            Err(TargetError::RemoteWithoutUrl(_))
        ));
    }
}
