//! Which GitHub repository, host and API a goal is delivered to: `owner/name` from the push remote's
//! URL after `insteadOf`/`pushInsteadOf` rewriting (parsed by gix, every form git accepts) or
//! `omk.github.repo`; the host classified as `gh` does (github.com, `*.ghe.com` tenants, Enterprise
//! Server); the API base from `omk.github.apiUrl`, else the host's default (`https://HOST/api/v3` for
//! Enterprise Server, whose prefix is kept on every request).
//!
//! Owns the resolution rules. Reads nothing itself: settings are passed in. Pure.

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
    /// Host name without port or user, lowercased.
    pub host: String,
    /// The repository.
    pub slug: RepoSlug,
}

/// Parse a git remote URL with gix's parser (the forms git accepts: `https://host/owner/name(.git)`,
/// `ssh://git@host(:port)/owner/name.git`, scp-like `git@host:owner/name.git`, `git://host/owner/name`).
/// Local paths, `file://` and remote helpers give `None`.
pub fn parse_remote_url(url: &str) -> Option<RemoteLocation> {
    locate(&gix::url::parse(url.trim()).ok()?)
}

/// The host and `owner/name` of a parsed remote URL: the last two path components, for the network
/// transports only.
pub fn locate(url: &gix::Url) -> Option<RemoteLocation> {
    use gix::url::Scheme;
    if !matches!(
        url.scheme,
        Scheme::Https | Scheme::Http | Scheme::Ssh | Scheme::Git
    ) {
        return None;
    }
    let host = url.host()?.trim_matches(['[', ']']).to_ascii_lowercase();
    let path = std::str::from_utf8(&url.path).ok()?;
    let path = path.split(['?', '#']).next()?.trim_matches('/');
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

/// What kind of GitHub a host is, as `gh` tells them apart: it decides the default API address and
/// which token variables apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    /// github.com (and its subdomains).
    GithubCom,
    /// A GitHub Enterprise Cloud tenant with data residency (`TENANT.ghe.com`).
    Tenancy,
    /// A local development instance (`github.localhost`).
    Localhost,
    /// GitHub Enterprise Server on its own host.
    Enterprise,
}

/// A GitHub host, normalised as `gh` does (subdomains of github.com are github.com).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GithubHost {
    /// The host name (`github.com`, `ghe.example.com`, `acme.ghe.com`).
    pub name: String,
    /// Its kind.
    pub kind: HostKind,
}

impl GithubHost {
    /// Classify a host name.
    pub fn new(host: &str) -> GithubHost {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        let (name, kind) = if host == "github.com" || host.ends_with(".github.com") {
            ("github.com".to_owned(), HostKind::GithubCom)
        } else if host == "github.localhost" || host.ends_with(".github.localhost") {
            ("github.localhost".to_owned(), HostKind::Localhost)
        } else if let Some(rest) = host.strip_suffix(".ghe.com").filter(|r| !r.is_empty()) {
            let tenant = rest.rsplit('.').next().unwrap_or(rest);
            (format!("{tenant}.ghe.com"), HostKind::Tenancy)
        } else {
            (host, HostKind::Enterprise)
        };
        GithubHost { name, kind }
    }

    /// github.com.
    pub fn github_com() -> GithubHost {
        GithubHost::new("github.com")
    }

    /// Whether tokens for it come from `GH_ENTERPRISE_TOKEN`/`GITHUB_ENTERPRISE_TOKEN` (as in `gh`).
    pub fn is_enterprise(&self) -> bool {
        self.kind == HostKind::Enterprise
    }

    /// The REST API address `gh` uses for it: `https://api.github.com`, `https://api.TENANT.ghe.com`,
    /// `http://api.github.localhost`, or `https://HOST/api/v3` for GitHub Enterprise Server.
    pub fn default_api_url(&self) -> String {
        match self.kind {
            HostKind::GithubCom => GITHUB_API.to_owned(),
            HostKind::Tenancy => format!("https://api.{}", self.name),
            HostKind::Localhost => format!("http://api.{}", self.name),
            HostKind::Enterprise => format!("https://{}/api/v3", self.name),
        }
    }
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
    /// The GitHub host: tokens are looked up for it (`gh auth token --hostname`).
    pub host: GithubHost,
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
        /// Its push URL (after `insteadOf` rewriting; a password is redacted).
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
}

/// Resolve the target from settings: the remote (required, pushes go there); the repository
/// (`omk.github.repo`, else the remote's push URL after `insteadOf`/`pushInsteadOf` rewriting); the
/// GitHub host (the push URL's host, else `GH_HOST`, else the host an Enterprise API URL names, else
/// github.com); the API base (`omk.github.apiUrl`, else the host's default).
pub fn resolve(settings: &GithubSettings) -> Result<ForgeTarget, TargetError> {
    let remote = match &settings.remote {
        Some(r) => r,
        None if settings.remotes.is_empty() => return Err(TargetError::NoRemote),
        None => return Err(TargetError::AmbiguousRemote(settings.remotes.join(", "))),
    };
    let Some(url) = remote.url.as_ref() else {
        return Err(TargetError::RemoteWithoutUrl(remote.name.clone()));
    };
    let location = locate(url);
    let repo = match (&settings.repo, &location) {
        (Some(s), _) => RepoSlug::parse(&s.value).ok_or_else(|| TargetError::BadRepoSetting {
            key: s.key.clone(),
            value: s.value.clone(),
        })?,
        (None, Some(loc)) => loc.slug.clone(),
        (None, None) => {
            return Err(TargetError::UnknownRepository {
                remote: remote.name.clone(),
                url: url.to_string(),
            });
        }
    };
    let configured_api = configured_api_url(settings)?;
    let host = location
        .map(|loc| GithubHost::new(&loc.host))
        .or_else(|| settings.gh_host.as_deref().map(GithubHost::new))
        .or_else(|| configured_api.as_deref().and_then(host_of_api_url))
        .unwrap_or_else(GithubHost::github_com);
    Ok(ForgeTarget {
        api_url: configured_api.unwrap_or_else(|| host.default_api_url()),
        repo,
        remote: remote.name.clone(),
        host,
    })
}

/// `omk.github.apiUrl` (or `OMK_GITHUB_API_URL`), validated, without a trailing slash.
fn configured_api_url(settings: &GithubSettings) -> Result<Option<String>, TargetError> {
    let Some(s) = &settings.api_url else {
        return Ok(None);
    };
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
    Ok(Some(value.to_owned()))
}

/// The GitHub host an API URL of a known shape belongs to: `api.github.com`, `api.TENANT.ghe.com`,
/// `HOST/api/v3`. Any other address (a proxy, a test server) names no host.
fn host_of_api_url(api_url: &str) -> Option<GithubHost> {
    let host = http_host(api_url)?;
    if host == "api.github.com" {
        return Some(GithubHost::github_com());
    }
    if host.ends_with(".ghe.com") {
        return Some(GithubHost::new(host.strip_prefix("api.").unwrap_or(&host)));
    }
    api_url
        .trim_end_matches('/')
        .ends_with("/api/v3")
        .then(|| GithubHost::new(&host))
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
/// dry runs: `https://github.com/OWNER/NAME` for the public API, `https://TENANT.ghe.com/…` for a tenant,
/// else the API URL without `/api/v3`.
pub fn guess_html_url(api_url: &str, repo: &RepoSlug) -> String {
    let api = api_url.trim_end_matches('/');
    let web = if api == GITHUB_API {
        "https://github.com".to_owned()
    } else if let Some(tenant) = api
        .strip_prefix("https://api.")
        .filter(|h| h.ends_with(".ghe.com"))
    {
        format!("https://{tenant}")
    } else {
        api.strip_suffix("/api/v3").unwrap_or(api).to_owned()
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
            ("git+ssh://git@GitHub.com/o/r.git", "github.com"),
            ("ssh://git@[::1]:22/o/r.git", "::1"),
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
            "https://github.com/r",
            "git@github.com:",
            "persistent-https::github.com/o/r",
            "",
        ] {
            assert_eq!(parse_remote_url(local), None, "{local}");
        }
    }

    #[test]
    fn hosts_are_classified_as_gh_does() {
        let cases = [
            ("github.com", "github.com", HostKind::GithubCom, GITHUB_API),
            ("GitHub.com", "github.com", HostKind::GithubCom, GITHUB_API),
            ("ssh.github.com", "github.com", HostKind::GithubCom, GITHUB_API),
            (
                "acme.ghe.com",
                "acme.ghe.com",
                HostKind::Tenancy,
                "https://api.acme.ghe.com",
            ),
            (
                "api.acme.ghe.com",
                "acme.ghe.com",
                HostKind::Tenancy,
                "https://api.acme.ghe.com",
            ),
            (
                "github.localhost",
                "github.localhost",
                HostKind::Localhost,
                "http://api.github.localhost",
            ),
            (
                "ghe.example.com",
                "ghe.example.com",
                HostKind::Enterprise,
                "https://ghe.example.com/api/v3",
            ),
        ];
        for (input, name, kind, api) in cases {
            let host = GithubHost::new(input);
            assert_eq!((host.name.as_str(), host.kind), (name, kind), "{input}");
            assert_eq!(host.default_api_url(), api, "{input}");
            assert_eq!(host.is_enterprise(), kind == HostKind::Enterprise, "{input}");
        }
    }

    fn url(text: &str) -> gix::Url {
        gix::url::parse(text).expect("a URL")
    }

    fn settings(remote_url: Option<&str>) -> GithubSettings {
        GithubSettings {
            api_url: None,
            repo: None,
            remote: Some(RemoteSetting {
                name: "origin".into(),
                url: remote_url.map(url),
            }),
            remotes: vec!["origin".into()],
            gh_host: None,
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
        assert_eq!(t.host, GithubHost::github_com());

        let mut s = settings(Some("/tmp/bare.git"));
        assert!(matches!(resolve(&s), Err(TargetError::UnknownRepository { .. })));
        s.repo = sourced("omk.github.repo", "acme/widgets");
        s.api_url = sourced("omk.github.apiUrl", "http://127.0.0.1:4000/");
        let t = resolve(&s).unwrap();
        assert_eq!(t.repo, slug("acme", "widgets"));
        assert_eq!(t.api_url, "http://127.0.0.1:4000");
        assert_eq!(
            t.host,
            GithubHost::github_com(),
            "a test server's address names no GitHub host"
        );

        let mut bad = settings(Some("git@github.com:o/r.git"));
        bad.repo = sourced("omk.github.repo", "nope");
        assert!(matches!(resolve(&bad), Err(TargetError::BadRepoSetting { .. })));
        bad.repo = None;
        bad.api_url = sourced("OMK_GITHUB_API_URL", "ftp://x");
        assert!(matches!(resolve(&bad), Err(TargetError::BadApiUrl { .. })));
    }

    #[test]
    fn enterprise_hosts_default_to_their_api_v3() {
        let t = resolve(&settings(Some("https://ghe.example.com/o/r.git"))).unwrap();
        assert_eq!(t.api_url, "https://ghe.example.com/api/v3");
        assert!(t.host.is_enterprise());
        assert_eq!(t.host.name, "ghe.example.com");
        assert_eq!(guess_html_url(&t.api_url, &t.repo), "https://ghe.example.com/o/r");
        assert_eq!(guess_html_url(GITHUB_API, &t.repo), "https://github.com/o/r");
        assert_eq!(
            guess_html_url("https://api.acme.ghe.com", &t.repo),
            "https://acme.ghe.com/o/r"
        );

        let mut explicit = settings(Some("git@ghe.example.com:o/r.git"));
        explicit.api_url = sourced("omk.github.apiUrl", "https://ghe.example.com:8443/api/v3/");
        let t = resolve(&explicit).unwrap();
        assert_eq!(t.api_url, "https://ghe.example.com:8443/api/v3");

        let tenant = resolve(&settings(Some("https://acme.ghe.com/o/r"))).unwrap();
        assert_eq!(tenant.api_url, "https://api.acme.ghe.com");
        assert!(!tenant.host.is_enterprise(), "tenants use GH_TOKEN as in gh");
    }

    #[test]
    fn gh_host_names_the_host_when_the_remote_cannot() {
        let mut s = settings(Some("/srv/mirror.git"));
        s.repo = sourced("omk.github.repo", "o/r");
        s.gh_host = Some("ghe.example.com".into());
        let t = resolve(&s).unwrap();
        assert_eq!(t.host.name, "ghe.example.com");
        assert_eq!(t.api_url, "https://ghe.example.com/api/v3");

        let mut remote_wins = settings(Some("https://github.com/o/r"));
        remote_wins.gh_host = Some("ghe.example.com".into());
        assert_eq!(resolve(&remote_wins).unwrap().host, GithubHost::github_com());

        let mut api_names_it = settings(Some("/srv/mirror.git"));
        api_names_it.repo = sourced("omk.github.repo", "o/r");
        api_names_it.api_url = sourced("omk.github.apiUrl", "https://ghe.example.com/api/v3");
        assert_eq!(resolve(&api_names_it).unwrap().host.name, "ghe.example.com");
    }

    #[test]
    fn remote_problems() {
        let none = GithubSettings {
            api_url: None,
            repo: None,
            remote: None,
            remotes: vec![],
            gh_host: None,
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
