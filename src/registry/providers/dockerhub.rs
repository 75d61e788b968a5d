//! Docker Hub: repositories and tags (with sizes and push dates) from the Hub API, manifests and
//! tag deletes via v2 on registry-1.docker.io.
//!
//! Hub deletes a manifest by digest only once no tag points at it, so only tag deletes are offered;
//! an image goes with its last tag.

use std::sync::Arc;

use serde::Deserialize;

use super::{PageBudget, Provider, ProviderApi, Rest, encode_segment};
use crate::registry::auth::{Credential, Secret};
use crate::registry::connect::{ConnectOptions, Notes};
use crate::registry::distribution::{Distribution, read_limited};
use crate::registry::model::{PlatformEntry, TagDeleteMethod, TagRow, platform_string};
use crate::registry::ops::natural_cmp;
use crate::registry::{Backend, BoxFut, Capabilities, Error, PageSink, Result};

/// The keys of a `kind = "dockerhub"` profile (serde rejects any other provider's keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// User or organisation whose repositories to list (required).
    pub namespace: Option<String>,
    /// Base URL of the Hub API (tests).
    pub api_url: Option<String>,
    /// The index `regtui search` asks (default https://index.docker.io).
    pub index_url: Option<String>,
}

impl Keys {
    /// The key names, for the config file's checks.
    pub const NAMES: &'static [&'static str] = &["namespace", "api_url", "index_url"];

    /// `(key, why)` when a key is missing.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        if self.namespace.is_none() {
            return Err((
                "namespace",
                "missing: a dockerhub profile lists the repositories of one namespace".into(),
            ));
        }
        Ok(())
    }
}

/// A refused tag delete in Hub's terms; the status stays what the registry said (401: the token
/// was refused, 403: it lacks the delete scope).
fn refused_delete(e: Error, tag: &str) -> Error {
    let (status, registry, errors) = match e {
        Error::Unauthorized {
            registry, errors, ..
        } => (401, registry, errors),
        Error::Forbidden { registry, errors } => (403, registry, errors),
        e => return e,
    };
    Error::Provider {
        service: registry,
        status: Some(status),
        message: errors
            .first()
            .map(|e| format!("{} {}", e.code, e.message))
            .unwrap_or_else(|| format!("deleting tag {tag} was refused")),
        hint: "deleting on Docker Hub needs a personal access token with Read, Write & Delete \
               scope"
            .into(),
    }
}

/// The Docker Hub backend for a profile: the profile's credentials (a personal access token) or
/// docker's for `https://index.docker.io/v1/`; `given` replaces them (a login).
pub fn connect(
    keys: &Keys,
    opts: &ConnectOptions,
    given: Option<Credential>,
    notes: &mut Notes,
) -> Result<Arc<dyn Backend>> {
    let addr = opts.addr(Some("registry-1.docker.io"))?;
    let key = if opts.registry.is_some() {
        addr.credential_key()
    } else {
        crate::registry::reference::HUB_CREDENTIAL_KEY.to_string()
    };
    let credential = opts.credential(&opts.secrets, &key, given, notes)?;
    let login = match &credential {
        Credential::Basic { username, password } => Some((username.clone(), password.clone())),
        _ => None,
    };
    let who = credential.describe();
    let api = Rest {
        http: Rest::client()?,
        service: "Docker Hub API",
        base: keys
            .api_url
            .clone()
            .unwrap_or_else(|| "https://hub.docker.com".into())
            .trim_end_matches('/')
            .to_string(),
        token: None,
        token_header: super::TokenHeader::Bearer,
        headers: vec![("accept", "application/json")],
        auth_hint: "check username and the personal access token (password_env) of this profile",
    };
    let host = addr.host.clone();
    let mut v2 = opts.v2_options(addr, credential)?;
    // Hub refuses digest deletes of tagged manifests, so the placeholder trick would leave a
    // placeholder behind: only the OCI tag delete is used.
    v2.untag_fallback = false;
    let v2 = Arc::new(Distribution::new(v2)?);
    let namespace = keys.namespace.clone().unwrap_or_default();
    Ok(Arc::new(Provider::new(DockerHub::new(
        api, namespace, v2, host, who, login,
    ))))
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default)]
    next: Option<String>,
    #[serde(default = "Vec::new")]
    results: Vec<T>,
}

#[derive(Deserialize)]
struct Repo {
    name: String,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
    #[serde(default)]
    full_size: Option<u64>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    tag_last_pushed: Option<String>,
    /// Absent: not reported; `null`: never pulled.
    #[serde(default, deserialize_with = "present")]
    tag_last_pulled: Option<serde_json::Value>,
    #[serde(default)]
    last_updated: Option<String>,
    #[serde(default)]
    images: Vec<TagImage>,
}

#[derive(Deserialize)]
struct TagImage {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    last_pushed: Option<String>,
}

/// The Docker Hub provider.
pub struct DockerHub {
    /// Hub API; its token is a JWT from `/v2/auth/token` when credentials are set.
    pub api: Rest,
    pub namespace: String,
    pub v2: Arc<Distribution>,
    pub host: String,
    pub who: String,
    /// (identifier, secret) to log in to the Hub API with.
    pub login: Option<(String, Secret)>,
    jwt: tokio::sync::Mutex<Option<(Secret, std::time::Instant)>>,
}

/// Hub API tokens live about ten minutes; renew a little before.
const JWT_LIFETIME: std::time::Duration = std::time::Duration::from_secs(9 * 60);

impl DockerHub {
    /// A provider for `namespace` over the Hub API and `v2`.
    pub fn new(
        api: Rest,
        namespace: String,
        v2: Arc<Distribution>,
        host: String,
        who: String,
        login: Option<(String, Secret)>,
    ) -> Self {
        DockerHub {
            api,
            namespace,
            v2,
            host,
            who,
            login,
            jwt: Default::default(),
        }
    }

    /// The Hub API with a fresh token when we have credentials (anonymous sees public repos).
    async fn api(&self) -> Result<Rest> {
        let mut api = self.api.clone();
        api.token = None;
        let Some((user, secret)) = &self.login else {
            return Ok(api);
        };
        let mut jwt = self.jwt.lock().await;
        if let Some((t, at)) = jwt.as_ref() {
            if at.elapsed() < JWT_LIFETIME {
                api.token = Some(t.clone());
                return Ok(api);
            }
        }
        let url = api.url("/v2/auth/token")?;
        let resp = self
            .api
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::json!({"identifier": user, "secret": secret.expose()}).to_string())
            .send()
            .await
            .map_err(|e| Error::from_transport(api.service, &e))?;
        let status = resp.status().as_u16();
        let body = read_limited(resp, 64 * 1024, "Hub login", api.service).await?;
        if !(200..300).contains(&status) {
            return Err(Error::Provider {
                service: api.service.into(),
                status: Some(status),
                message: "login refused".into(),
                hint: "check username and the personal access token (password_env) of this profile"
                    .into(),
            });
        }
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            access_token: Option<String>,
            #[serde(default)]
            token: Option<String>,
        }
        let r: Reply = serde_json::from_slice(&body).map_err(|e| Error::Invalid {
            what: "Hub login reply".into(),
            detail: e.to_string(),
        })?;
        let t = Secret::new(r.access_token.or(r.token).ok_or_else(|| Error::Invalid {
            what: "Hub login reply".into(),
            detail: "no token".into(),
        })?);
        *jwt = Some((t.clone(), std::time::Instant::now()));
        api.token = Some(t);
        Ok(api)
    }

    /// The Hub API's namespace and repository name of a v2 repository `namespace/name` (another
    /// namespace than the profile's too: a search result such as `library/nginx`).
    fn split<'a>(&'a self, repo: &'a str) -> (&'a str, &'a str) {
        repo.split_once('/')
            .unwrap_or((self.namespace.as_str(), repo))
    }
}

/// A field that is there, `null` included (serde alone reads `null` as absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

fn row(t: Tag) -> TagRow {
    let pushed = t
        .tag_last_pushed
        .clone()
        .or_else(|| t.images.iter().filter_map(|i| i.last_pushed.clone()).max())
        .or(t.last_updated.clone());
    let digest = t
        .digest
        .clone()
        .or_else(|| t.images.first().and_then(|i| i.digest.clone()))
        .unwrap_or_default();
    let platforms = t
        .images
        .iter()
        .map(|i| PlatformEntry {
            platform: platform_string(&i.os, &i.architecture, i.variant.as_deref()),
            digest: i.digest.clone().unwrap_or_default(),
            size: i.size,
        })
        .collect();
    let pulled = match &t.tag_last_pulled {
        None => None,
        Some(serde_json::Value::String(s)) if !s.starts_with("0001-") => Some(Some(s.clone())),
        Some(_) => Some(None),
    };
    TagRow {
        locked: None,
        pulled,
        size: t
            .full_size
            .unwrap_or_else(|| crate::registry::model::sum_sizes(t.images.iter().map(|i| i.size))),
        tag: t.name,
        digest,
        media_type: t.media_type.unwrap_or_default(),
        created: None,
        pushed,
        platforms,
        blobs: Vec::new(),
    }
}

impl ProviderApi for DockerHub {
    fn kind(&self) -> &'static str {
        "dockerhub"
    }

    fn pull_dates(&self) -> bool {
        true
    }

    fn label(&self) -> String {
        format!("Docker Hub ({})", self.namespace)
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
            delete_digest: false,
            delete_tag: true,
        }
    }

    fn v2(&self) -> BoxFut<'_, Arc<Distribution>> {
        Box::pin(async move { Ok(self.v2.clone()) })
    }

    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let api = self.api().await?;
            let mut url = api.url(&format!(
                "/v2/namespaces/{}/repositories?page_size=100",
                encode_segment(&self.namespace)
            ))?;
            let mut budget = PageBudget::new("repository list");
            loop {
                let (page, _): (Page<Repo>, _) =
                    api.get_page(&url, "repositories", &mut budget).await?;
                budget.add_entries(page.results.len())?;
                sink(
                    page.results
                        .into_iter()
                        .map(|r| format!("{}/{}", self.namespace, r.name))
                        .collect(),
                );
                match page.next.filter(|n| !n.is_empty()) {
                    Some(n) => url = api.url(&n)?,
                    None => break,
                }
            }
            Ok(())
        })
    }

    fn tags<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Vec<TagRow>> {
        Box::pin(async move {
            let api = self.api().await?;
            let (ns, name) = self.split(repo);
            let mut url = api.url(&format!(
                "/v2/namespaces/{}/repositories/{}/tags?page_size=100",
                encode_segment(ns),
                encode_segment(name)
            ))?;
            let mut rows = Vec::new();
            let what = format!("tags of {repo}");
            let mut budget = PageBudget::new(&what);
            loop {
                let (page, _): (Page<Tag>, _) = api.get_page(&url, &what, &mut budget).await?;
                budget.add_entries(page.results.len())?;
                rows.extend(page.results.into_iter().map(row));
                match page.next.filter(|n| !n.is_empty()) {
                    Some(n) => url = api.url(&n)?,
                    None => break,
                }
            }
            rows.sort_by(|a, b| natural_cmp(&a.tag, &b.tag));
            Ok(rows)
        })
    }

    fn has_sizes(&self) -> bool {
        true
    }

    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        Box::pin(async move {
            self.v2
                .delete_tag(repo, tag)
                .await
                .map_err(|e| refused_delete(e, tag))
        })
    }

    fn why_no_digest_delete(&self) -> String {
        "Docker Hub deletes a manifest by digest only once no tag points at it: remove its tags \
         instead (the image goes with its last tag)"
            .into()
    }
}

/// The index `docker search` asks.
pub const INDEX_URL: &str = "https://index.docker.io";

/// One `docker search` result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SearchResult {
    /// `nginx` for an official image (pulled as `library/nginx`), else `namespace/name`.
    pub name: String,
    pub description: String,
    pub stars: u64,
    pub official: bool,
}

impl SearchResult {
    /// The repository to open: official images live under `library/`.
    pub fn repository(&self) -> String {
        if self.name.contains('/') {
            self.name.clone()
        } else {
            format!("library/{}", self.name)
        }
    }
}

/// Results per request at most (the index refuses more).
const SEARCH_PAGE: usize = 100;

/// Searches Docker Hub as `docker search` does (`GET /v1/search?q&n&page` on the index), up to
/// `limit` results, asking for more pages while the index has them.
pub async fn search(index_url: &str, term: &str, limit: usize) -> Result<Vec<SearchResult>> {
    #[derive(Deserialize)]
    struct Reply {
        #[serde(default)]
        num_pages: Option<u64>,
        #[serde(default)]
        results: Vec<Hit>,
    }
    #[derive(Deserialize)]
    struct Hit {
        name: String,
        #[serde(default)]
        description: Option<String>,
        #[serde(default)]
        star_count: u64,
        #[serde(default)]
        is_official: bool,
    }
    let api = Rest {
        http: Rest::client()?,
        service: "Docker Hub search",
        base: index_url.trim_end_matches('/').to_string(),
        token: None,
        token_header: super::TokenHeader::Bearer,
        headers: vec![("accept", "application/json")],
        auth_hint: "",
    };
    let n = limit.clamp(1, SEARCH_PAGE);
    let mut out = Vec::new();
    let mut budget = PageBudget::new("search results");
    for page in 1.. {
        let url = api.url(&format!(
            "/v1/search?q={}&n={n}&page={page}",
            encode_segment(term)
        ))?;
        let (reply, _): (Reply, _) = api.get_page(&url, "search", &mut budget).await?;
        let got = reply.results.len();
        out.extend(reply.results.into_iter().map(|h| SearchResult {
            name: h.name,
            description: h.description.unwrap_or_default(),
            stars: h.star_count,
            official: h.is_official,
        }));
        let last = reply.num_pages.is_some_and(|p| page >= p);
        if out.len() >= limit || got < n || last {
            break;
        }
    }
    out.truncate(limit);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_results_open_under_library() {
        let r = |name: &str| SearchResult {
            name: name.into(),
            description: String::new(),
            stars: 0,
            official: !name.contains('/'),
        };
        assert_eq!(r("nginx").repository(), "library/nginx");
        assert_eq!(r("bitnami/nginx").repository(), "bitnami/nginx");
    }

    #[test]
    fn a_refused_delete_keeps_the_registrys_status() {
        let status = |e| match refused_delete(e, "v1") {
            Error::Provider { status, .. } => status,
            other => panic!("{other:?}"),
        };
        let unauthorized = Error::Unauthorized {
            registry: "registry-1.docker.io".into(),
            had_credentials: true,
            errors: vec![],
        };
        let forbidden = Error::Forbidden {
            registry: "registry-1.docker.io".into(),
            errors: vec![],
        };
        assert_eq!(status(unauthorized), Some(401));
        assert_eq!(status(forbidden), Some(403));
        let other = Error::Timeout {
            registry: "x".into(),
        };
        assert_eq!(refused_delete(other.clone(), "v1"), other);
    }
}
