//! GitLab's container registry: repositories of a group (and its subgroups) or a project, tags
//! and their details (digest, `total_size`, `created_at`) and tag-only deletes from the REST API
//! (`/api/v4`, `PRIVATE-TOKEN`); manifests, configs and digest deletes via v2, whose JWT comes
//! from `<gitlab>/jwt/auth` (any username, the token as password).
//!
//! GitLab's tag list has names only: the details take one request per tag
//! ([`ProviderApi::tag_detail`]), fetched lazily by the tags pane (rows in view first) at the
//! adaptive concurrency, and all of them for `tags --long`. An index reports `total_size` 0, so
//! its size is computed from v2 instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt as _, stream};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{PageBudget, Provider, ProviderApi, Rest, TokenHeader, encode_segment};
use crate::registry::auth::Credential;
use crate::registry::connect::{ConnectOptions, Notes};
use crate::registry::distribution::Distribution;
use crate::registry::http::{header_str, next_link, read_limited};
use crate::registry::model::{TagDeleteMethod, TagRow};
use crate::registry::ops::natural_cmp;
use crate::registry::{Backend, BoxFut, Capabilities, Error, PageSink, Result};

/// The keys of a `kind = "gitlab"` profile (serde rejects any other provider's keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// The GitLab instance (`https://gitlab.example.com`); the API is at `/api/v4`.
    pub api_url: Option<String>,
    /// A group (path or id): its projects' repositories and its subgroups'. With neither group
    /// nor project, repositories are opened by name only.
    pub group: Option<String>,
    /// A project (path `group/app` or id): its repositories only.
    pub project: Option<String>,
    /// Environment variable holding the access token (default GITLAB_TOKEN).
    pub token_env: Option<String>,
}

impl Keys {
    /// The key names, for the config file's checks.
    pub const NAMES: &'static [&'static str] = &["api_url", "group", "project", "token_env"];

    /// `(key, why)` when the keys do not make sense together.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        if self.api_url.is_none() {
            return Err((
                "api_url",
                "missing: the GitLab instance, e.g. \"https://gitlab.example.com\"".into(),
            ));
        }
        match (&self.group, &self.project) {
            (Some(_), Some(_)) => Err(("project", "set either group or project, not both".into())),
            // Neither: repositories are opened by name (`:repo`, `tags NAME`), not listed.
            _ => Ok(()),
        }
    }
}

/// GitLab's largest page.
const PER_PAGE: usize = 100;
/// Tag detail requests queued at once; the limiter decides how many are in flight.
const DETAILS_IN_FLIGHT: usize = crate::registry::http::ADAPTIVE_MAX;

/// Where the repositories come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    Group(String),
    Project(String),
    /// Neither (an autodetected registry.gitlab.com): repositories are opened by name, their
    /// project found from the name.
    ByName,
}

/// GitLab.com's registry host and API.
pub const GITLAB_COM_REGISTRY: &str = "registry.gitlab.com";
const GITLAB_COM: &str = "https://gitlab.com";

/// The keys of a `distribution` profile (or `--registry`) on registry.gitlab.com: GitLab.com's
/// API, repositories opened by name.
pub fn autodetected() -> Keys {
    Keys {
        api_url: Some(GITLAB_COM.into()),
        ..Default::default()
    }
}

/// The projects a repository path may belong to, longest first (`a/b/c` → `a/b/c`, `a/b`): a
/// GitLab project path has a namespace and a name.
fn project_candidates(repo: &str) -> Vec<String> {
    let parts: Vec<&str> = repo.split('/').collect();
    (2..=parts.len())
        .rev()
        .map(|n| parts[..n].join("/"))
        .collect()
}

/// The GitLab backend for a profile: the token from `token_env` (default `GITLAB_TOKEN`), the
/// profile's password sources or docker's credentials for the registry host; `given` replaces
/// them (a login).
pub fn connect(
    keys: &Keys,
    opts: &ConnectOptions,
    given: Option<Credential>,
    notes: &mut Notes,
) -> Result<Arc<dyn Backend>> {
    let addr = opts.addr(None)?;
    let mut secrets = opts.secrets.clone();
    // The registry's token endpoint takes any username with the token as password.
    secrets.username = secrets.username.or_else(|| Some("gitlab-token".into()));
    let no_source = secrets.password_env.is_none()
        && secrets.password_command.is_none()
        && secrets.password.is_none();
    let env = keys
        .token_env
        .clone()
        .unwrap_or_else(|| "GITLAB_TOKEN".into());
    if no_source && std::env::var_os(&env).is_some_and(|v| !v.is_empty()) {
        secrets.password_env = Some(env);
    }
    let credential = opts.credential(&secrets, &addr.credential_key(), given, notes)?;
    let token = match &credential {
        Credential::Basic { password, .. } => Some(password.clone()),
        _ => None,
    };
    let who = match &token {
        Some(_) => "access token".to_string(),
        None => credential.describe(),
    };
    let host = addr.host.clone();
    let v2 = opts.v2_options(addr, credential)?;
    let limiter = crate::registry::http::Limiter::new(v2.concurrency);
    let api = Rest {
        http: super::harbor::api_client(v2.insecure, v2.ca_pem.as_deref())?,
        service: "GitLab API",
        base: format!(
            "{}/api/v4",
            keys.api_url
                .as_deref()
                .unwrap_or_default()
                .trim_end_matches('/')
        ),
        token,
        token_header: TokenHeader::Named("private-token"),
        headers: vec![("accept", "application/json")],
        auth_hint: "the GitLab access token needs read_api (api to delete) and at least the \
                    Reporter role; set token_env or password_command",
    };
    let scope = match (&keys.group, &keys.project) {
        (_, Some(p)) => Scope::Project(p.clone()),
        (Some(g), None) => Scope::Group(g.clone()),
        (None, None) => Scope::ByName,
    };
    let v2 = Arc::new(Distribution::new(v2)?);
    Ok(Arc::new(Provider::new(Gitlab {
        api,
        scope,
        v2,
        host,
        who,
        ids: Default::default(),
        listed: Default::default(),
        rule_cache: Default::default(),
        limiter,
    })))
}

#[derive(Deserialize)]
struct Repository {
    id: u64,
    path: String,
    project_id: u64,
}

#[derive(Deserialize)]
struct TagName {
    name: String,
}

#[derive(Deserialize)]
struct TagDetail {
    name: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    total_size: Option<u64>,
}

#[derive(Deserialize)]
struct TagRule {
    tag_name_pattern: String,
    #[serde(default)]
    minimum_access_level_for_delete: Option<String>,
}

/// The GitLab provider.
pub struct Gitlab {
    pub api: Rest,
    scope: Scope,
    pub v2: Arc<Distribution>,
    pub host: String,
    pub who: String,
    /// Repository path → (project id, repository id), from the last repository listing.
    ids: Mutex<HashMap<String, (u64, u64)>>,
    /// The names [`ProviderApi::tag_names`] just listed, taken once by the details that follow
    /// (the tags pane lists names, then asks for their details).
    listed: Mutex<HashMap<String, (std::time::Instant, Vec<String>)>>,
    /// Repository → its project's tag protection rules, read once for the per-tag details.
    rule_cache: tokio::sync::Mutex<HashMap<String, (std::time::Instant, Arc<Rules>)>>,
    /// The API's in-flight limit for the per-tag details (adaptive unless the profile fixes
    /// `concurrency`), by the task's priority: rows in view first.
    limiter: crate::registry::http::Limiter,
}

/// Tag protection rules: pattern and what it means for a delete.
type Rules = Vec<(regex_lite::Regex, String)>;

/// How long listed names are reused for the details that follow.
const LISTED: std::time::Duration = std::time::Duration::from_secs(30);

/// A 404 in GitLab's terms: private projects answer it to those without access.
fn no_access(e: Error) -> Error {
    match e {
        Error::Provider {
            service,
            status: Some(404),
            message,
            ..
        } => Error::Provider {
            service,
            status: Some(404),
            message,
            hint: "not found or no access (GitLab answers 404 for a private project the token \
                   cannot see)"
                .into(),
        },
        e => e,
    }
}

/// A refused tag delete: 403 is a protected-tag rule or a role below Developer.
fn refused(e: Error) -> Error {
    match e {
        Error::Provider {
            service,
            status: Some(403),
            message,
            ..
        } => Error::Provider {
            service,
            status: Some(403),
            message,
            hint: "a protected-tag rule of the project, or the token's role, refuses this delete"
                .into(),
        },
        e => no_access(e),
    }
}

impl Gitlab {
    /// Every page of a JSON list from `path`: `Link: rel="next"`, else `X-Next-Page`.
    async fn all<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<Vec<T>> {
        let mut url = self.api.url(path)?;
        let mut budget = PageBudget::new(what);
        let mut out = Vec::new();
        loop {
            let resp = self
                .api
                .send(reqwest::Method::GET, &url, what)
                .await
                .map_err(no_access)?;
            let next = header_str(resp.headers(), "link")
                .and_then(next_link)
                .or_else(|| {
                    let n = header_str(resp.headers(), "x-next-page")?.trim();
                    (!n.is_empty()).then(|| with_page(&url, n))
                });
            let body = read_limited(resp, super::API_BODY_LIMIT, what, self.api.service).await?;
            budget.take(0, body.len())?;
            let page: Vec<T> = serde_json::from_slice(&body).map_err(|e| Error::Invalid {
                what: format!("{} {what}", self.api.service),
                detail: e.to_string(),
            })?;
            budget.add_entries(page.len())?;
            out.extend(page);
            match next {
                Some(n) => url = self.api.url(&n)?,
                None => break,
            }
        }
        Ok(out)
    }

    /// The repositories of the profile's group or project.
    async fn repositories(&self) -> Result<Vec<Repository>> {
        let path = match &self.scope {
            Scope::Group(g) => format!(
                "/groups/{}/registry/repositories?per_page={PER_PAGE}",
                encode_segment(g)
            ),
            Scope::Project(p) => format!(
                "/projects/{}/registry/repositories?per_page={PER_PAGE}",
                encode_segment(p)
            ),
            Scope::ByName => {
                return Err(Error::Unsupported(
                    "GitLab lists the repositories of a group or a project: use a profile with \
                     kind = \"gitlab\" and group or project, or open one with :repo NAME"
                        .into(),
                ));
            }
        };
        let repos: Vec<Repository> = self.all(&path, "container repositories").await?;
        self.remember(&repos);
        Ok(repos)
    }

    fn remember(&self, repos: &[Repository]) {
        let mut ids = self.ids.lock().unwrap();
        for r in repos {
            ids.insert(r.path.clone(), (r.project_id, r.id));
        }
    }

    /// Finds `repo`'s project by its name (no group or project in the profile).
    async fn find_by_name(&self, repo: &str) -> Result<()> {
        for p in project_candidates(repo) {
            let path = format!(
                "/projects/{}/registry/repositories?per_page={PER_PAGE}",
                encode_segment(&p)
            );
            match self
                .all::<Repository>(&path, "container repositories")
                .await
            {
                Ok(repos) => {
                    self.remember(&repos);
                    if repos.iter().any(|r| r.path == repo) {
                        return Ok(());
                    }
                }
                Err(Error::Provider {
                    status: Some(404), ..
                }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// `/projects/:id/registry/repositories/:repository_id` of a repository path.
    async fn base_of(&self, repo: &str) -> Result<String> {
        let known = self.ids.lock().unwrap().get(repo).copied();
        let (project, id) = match known {
            Some(ids) => ids,
            None => {
                match self.scope {
                    Scope::ByName => self.find_by_name(repo).await?,
                    _ => {
                        self.repositories().await?;
                    }
                }
                self.ids
                    .lock()
                    .unwrap()
                    .get(repo)
                    .copied()
                    .ok_or_else(|| Error::Provider {
                        service: self.api.service.into(),
                        status: Some(404),
                        message: format!("container repository {repo}"),
                        hint: "not found or no access in this profile's group or project".into(),
                    })?
            }
        };
        Ok(format!("/projects/{project}/registry/repositories/{id}"))
    }

    async fn names(&self, repo: &str) -> Result<Vec<String>> {
        let base = self.base_of(repo).await?;
        let tags: Vec<TagName> = self
            .all(
                &format!("{base}/tags?per_page={PER_PAGE}"),
                &format!("tags of {repo}"),
            )
            .await?;
        let mut names: Vec<String> = tags.into_iter().map(|t| t.name).collect();
        names.sort_by(|a, b| natural_cmp(a, b));
        Ok(names)
    }

    /// The project's tag protection rules (none when they cannot be read).
    async fn rules(&self, repo: &str) -> Vec<(regex_lite::Regex, String)> {
        let Ok(base) = self.base_of(repo).await else {
            return Vec::new();
        };
        let project = base.split("/registry/").next().unwrap_or_default();
        let path = format!("{project}/registry/protection/tag/rules?per_page={PER_PAGE}");
        let rules: Vec<TagRule> = match self.all(&path, "tag protection rules").await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(target: "regtui::gitlab", "no tag protection rules: {e}");
                return Vec::new();
            }
        };
        rules
            .into_iter()
            .filter_map(|r| {
                let re = regex_lite::Regex::new(&r.tag_name_pattern).ok()?;
                let who = r
                    .minimum_access_level_for_delete
                    .unwrap_or_else(|| "maintainer".into());
                Some((
                    re,
                    format!(
                        "protected tag (GitLab rule `{}`: deleting needs {who})",
                        r.tag_name_pattern
                    ),
                ))
            })
            .collect()
    }

    /// [`Gitlab::rules`], read once per [`LISTED`] for the tag-by-tag details.
    async fn cached_rules(&self, repo: &str) -> Arc<Rules> {
        let mut cache = self.rule_cache.lock().await;
        if let Some((at, r)) = cache.get(repo) {
            if at.elapsed() < LISTED {
                return r.clone();
            }
        }
        let r = Arc::new(self.rules(repo).await);
        cache.insert(repo.to_string(), (std::time::Instant::now(), r.clone()));
        r
    }

    /// One tag's row from its detail request; an index (size 0) is sized from v2.
    async fn row(&self, repo: &str, base: &str, name: String) -> Result<TagRow> {
        let url = self
            .api
            .url(&format!("{base}/tags/{}", encode_segment(&name)))?;
        let what = format!("{repo}:{name}");
        let mut budget = PageBudget::new(&what);
        let permit = self.limiter.acquire().await;
        let got = self.api.get_page(&url, &what, &mut budget).await;
        permit.finish(match &got {
            Err(Error::Provider {
                status: Some(429 | 503),
                ..
            }) => crate::registry::http::Signal::Overload,
            _ => crate::registry::http::Signal::Ok,
        });
        let (d, _): (TagDetail, _) = got.map_err(no_access)?;
        let mut row = TagRow {
            tag: d.name,
            digest: d.digest.unwrap_or_default(),
            media_type: String::new(),
            size: d.total_size.unwrap_or(0),
            created: None,
            pushed: d.created_at,
            platforms: Vec::new(),
            blobs: Vec::new(),
            locked: None,
            pulled: None,
        };
        if row.size == 0 {
            let v2 = crate::registry::ops::tag_row(&*self.v2, repo, &row.tag).await?;
            row.size = v2.size;
            row.media_type = v2.media_type;
            row.created = v2.created;
            row.platforms = v2.platforms;
            row.blobs = v2.blobs;
            if row.digest.is_empty() {
                row.digest = v2.digest;
            }
        }
        Ok(row)
    }
}

/// `url` with its `page` parameter set to `page`.
fn with_page(url: &str, page: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut q: Vec<String> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("page="))
        .map(str::to_string)
        .collect();
    q.push(format!("page={page}"));
    format!("{path}?{}", q.join("&"))
}

impl ProviderApi for Gitlab {
    fn kind(&self) -> &'static str {
        "gitlab"
    }

    fn label(&self) -> String {
        match &self.scope {
            Scope::Group(g) => format!("GitLab {} (group {g})", self.host),
            Scope::Project(p) => format!("GitLab {} (project {p})", self.host),
            Scope::ByName => format!("GitLab {}", self.host),
        }
    }

    fn host(&self) -> String {
        self.host.clone()
    }

    fn auth(&self) -> String {
        self.who.clone()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list_repos: true,
            delete_digest: true,
            delete_tag: true,
        }
    }

    fn v2(&self) -> BoxFut<'_, Arc<Distribution>> {
        Box::pin(async move { Ok(self.v2.clone()) })
    }

    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let mut names: Vec<String> = self
                .repositories()
                .await?
                .into_iter()
                .map(|r| r.path)
                .collect();
            names.sort_by(|a, b| natural_cmp(a, b));
            sink(names);
            Ok(())
        })
    }

    fn tag_names<'a>(&'a self, repo: &'a str) -> Option<BoxFut<'a, Vec<String>>> {
        Some(Box::pin(async move {
            let names = self.names(repo).await?;
            self.listed
                .lock()
                .unwrap()
                .insert(repo.to_string(), (std::time::Instant::now(), names.clone()));
            Ok(names)
        }))
    }

    fn tags<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Vec<TagRow>> {
        Box::pin(async move {
            let listed = self
                .listed
                .lock()
                .unwrap()
                .remove(repo)
                .filter(|(at, _)| at.elapsed() < LISTED);
            let names = match listed {
                Some((_, names)) => names,
                None => self.names(repo).await?,
            };
            let base = self.base_of(repo).await?;
            let rules = self.rules(repo).await;
            // In order, a bounded number at a time: the first screen's tags come back first.
            let base = &base;
            let mut rows: Vec<TagRow> = Vec::with_capacity(names.len());
            let mut s = stream::iter(names)
                .map(|n| self.row(repo, base, n))
                .buffered(DETAILS_IN_FLIGHT);
            while let Some(r) = s.next().await {
                let mut row = r?;
                row.locked = rules
                    .iter()
                    .find(|(re, _)| re.is_match(&row.tag))
                    .map(|(_, why)| why.clone());
                rows.push(row);
            }
            Ok(rows)
        })
    }

    fn has_sizes(&self) -> bool {
        true
    }

    fn details_per_tag(&self) -> bool {
        true
    }

    fn tag_detail<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, Option<TagRow>> {
        Box::pin(async move {
            let base = self.base_of(repo).await?;
            let rules = self.cached_rules(repo).await;
            let mut row = self.row(repo, &base, tag.to_string()).await?;
            row.locked = rules
                .iter()
                .find(|(re, _)| re.is_match(&row.tag))
                .map(|(_, why)| why.clone());
            Ok(Some(row))
        })
    }

    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move {
            self.listed.lock().unwrap().remove(repo);
            self.v2.delete_manifest(repo, digest).await
        })
    }

    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        Box::pin(async move {
            self.listed.lock().unwrap().remove(repo);
            let base = self.base_of(repo).await?;
            let url = self
                .api
                .url(&format!("{base}/tags/{}", encode_segment(tag)))?;
            self.api
                .send(reqwest::Method::DELETE, &url, &format!("{repo}:{tag}"))
                .await
                .map_err(refused)?;
            Ok(TagDeleteMethod::ProviderApi)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_replaces_the_page_parameter() {
        assert_eq!(
            with_page("https://g/api/v4/x?per_page=100&page=1", "2"),
            "https://g/api/v4/x?per_page=100&page=2"
        );
        assert_eq!(with_page("https://g/x", "3"), "https://g/x?page=3");
    }

    #[test]
    fn a_repository_belongs_to_one_of_its_prefixes() {
        assert_eq!(
            project_candidates("grp/sub/app/worker"),
            ["grp/sub/app/worker", "grp/sub/app", "grp/sub"]
        );
        assert_eq!(project_candidates("grp/app"), ["grp/app"]);
        assert!(project_candidates("app").is_empty());
    }

    #[test]
    fn a_profile_names_a_group_or_a_project() {
        let k = Keys {
            api_url: Some("https://gitlab.example.com".into()),
            group: Some("acme".into()),
            ..Default::default()
        };
        assert!(k.check().is_ok());
        let both = Keys {
            project: Some("acme/app".into()),
            ..k.clone()
        };
        assert_eq!(both.check().unwrap_err().0, "project");
        let by_name = Keys { group: None, ..k };
        assert!(by_name.check().is_ok());
        let no_api = Keys {
            api_url: None,
            ..by_name
        };
        assert_eq!(no_api.check().unwrap_err().0, "api_url");
    }

    #[test]
    fn registry_gitlab_com_is_autodetected_and_said() {
        let opts = ConnectOptions {
            registry: Some("registry.gitlab.com".into()),
            ..Default::default()
        };
        let b = super::super::KindKeys::Distribution
            .connect(&opts, Some(Credential::Anonymous))
            .unwrap();
        let info = b.info();
        assert_eq!(info.kind, "gitlab");
        assert!(
            info.warning
                .as_deref()
                .is_some_and(|w| w.contains("autodetected")),
            "{:?}",
            info.warning
        );
    }
}
