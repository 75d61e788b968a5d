//! GitHub Container Registry: packages and versions from the GitHub REST API, manifests via v2.
//!
//! GitHub has no tag-only delete: deleting a package version removes its digest and every tag.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::{PageBudget, Provider, ProviderApi, Rest, encode_segment};
use crate::registry::auth::Credential;
use crate::registry::connect::{ConnectOptions, Notes};
use crate::registry::distribution::Distribution;
use crate::registry::model::TagRow;
use crate::registry::ops::natural_cmp;
use crate::registry::{Backend, BoxFut, Capabilities, Error, PageSink, Result};

/// The keys of a `kind = "ghcr"` profile (serde rejects any other provider's keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// User or organisation whose packages to list (default: the token's own account).
    pub owner: Option<String>,
    /// Whether `owner` is a user or an org.
    pub owner_type: Option<OwnerType>,
    /// Environment variable holding the GitHub token (default GITHUB_TOKEN).
    pub token_env: Option<String>,
    /// Base URL of the GitHub API (GitHub Enterprise, tests).
    pub api_url: Option<String>,
}

impl Keys {
    /// The key names, for the config file's checks.
    pub const NAMES: &'static [&'static str] = &["owner", "owner_type", "token_env", "api_url"];

    /// `(key, why)` when the keys do not make sense together.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        if self.owner_type.is_some() && self.owner.is_none() {
            return Err(("owner", "owner_type is set but owner is not".into()));
        }
        Ok(())
    }
}

/// `owner_type` of a GHCR profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerType {
    User,
    Org,
}

/// The GHCR backend for a profile: the token from `token_env` (default `GITHUB_TOKEN`), the
/// profile's sources or docker's credentials for ghcr.io; `given` replaces them (a login).
pub fn connect(
    keys: &Keys,
    opts: &ConnectOptions,
    given: Option<Credential>,
    notes: &mut Notes,
) -> Result<Arc<dyn Backend>> {
    let addr = opts.addr(Some("ghcr.io"))?;
    let mut secrets = opts.secrets.clone();
    secrets.username = secrets
        .username
        .or_else(|| keys.owner.clone())
        .or_else(|| Some("token".into()));
    let no_source = secrets.password_env.is_none()
        && secrets.password_command.is_none()
        && secrets.password.is_none();
    let env = keys
        .token_env
        .clone()
        .unwrap_or_else(|| "GITHUB_TOKEN".into());
    if no_source && std::env::var_os(&env).is_some_and(|v| !v.is_empty()) {
        secrets.password_env = Some(env);
    }
    let credential = opts.credential(&secrets, &addr.credential_key(), given, notes)?;
    let token = match &credential {
        Credential::Basic { password, .. } => Some(password.clone()),
        _ => None,
    };
    let who = credential.describe();
    let owner = match (&keys.owner, keys.owner_type) {
        (Some(o), Some(OwnerType::Org)) => Owner::Org(o.clone()),
        (Some(o), _) => Owner::User(o.clone()),
        (None, _) => Owner::Me,
    };
    let api = Rest {
        http: Rest::client()?,
        service: "GitHub API",
        base: keys
            .api_url
            .clone()
            .unwrap_or_else(|| "https://api.github.com".into())
            .trim_end_matches('/')
            .to_string(),
        token,
        token_header: super::TokenHeader::Bearer,
        headers: vec![
            ("accept", "application/vnd.github+json"),
            ("x-github-api-version", "2022-11-28"),
        ],
        auth_hint: "the GitHub token needs read:packages (delete:packages to delete); set \
                    token_env, or password_command = \"gh auth token\"",
    };
    let host = addr.host.clone();
    let v2 = Arc::new(Distribution::new(opts.v2_options(addr, credential)?)?);
    Ok(Arc::new(Provider::new(Ghcr::new(
        api, owner, v2, host, who,
    ))))
}

/// Whose packages to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// `/users/{name}`.
    User(String),
    /// `/orgs/{name}`.
    Org(String),
    /// `/user`: the token's own account.
    Me,
}

impl Owner {
    fn prefix(&self) -> String {
        match self {
            Owner::User(u) => format!("/users/{}", encode_segment(u)),
            Owner::Org(o) => format!("/orgs/{}", encode_segment(o)),
            Owner::Me => "/user".to_string(),
        }
    }
}

#[derive(Deserialize)]
struct Package {
    name: String,
    #[serde(default)]
    owner: Option<Login>,
}

#[derive(Deserialize)]
struct Login {
    login: String,
}

#[derive(Deserialize)]
struct Version {
    id: u64,
    /// The manifest digest.
    name: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    metadata: Option<VersionMeta>,
}

#[derive(Deserialize)]
struct VersionMeta {
    #[serde(default)]
    container: Option<ContainerMeta>,
}

#[derive(Deserialize)]
struct ContainerMeta {
    #[serde(default)]
    tags: Vec<String>,
}

/// The GHCR provider.
pub struct Ghcr {
    pub api: Rest,
    pub owner: Owner,
    pub v2: Arc<Distribution>,
    /// Where v2 lives (`ghcr.io`).
    pub host: String,
    pub who: String,
    /// (repo, digest) → package version id, from the last listing.
    versions: Mutex<HashMap<(String, String), u64>>,
}

impl Ghcr {
    /// A provider over `api` (GitHub REST) and `v2` (ghcr.io or a stand-in).
    pub fn new(api: Rest, owner: Owner, v2: Arc<Distribution>, host: String, who: String) -> Self {
        Ghcr {
            api,
            owner,
            v2,
            host,
            who,
            versions: Default::default(),
        }
    }

    /// The package name of a v2 repository `owner/name…`.
    fn package(&self, repo: &str) -> String {
        let owner = match &self.owner {
            Owner::User(o) | Owner::Org(o) => Some(o.to_lowercase()),
            Owner::Me => None,
        };
        match (owner, repo.split_once('/')) {
            (Some(o), Some((first, rest))) if first == o => rest.to_string(),
            (None, Some((_, rest))) => rest.to_string(),
            _ => repo.to_string(),
        }
    }

    async fn versions(&self, repo: &str) -> Result<Vec<Version>> {
        let mut url = self.api.url(&format!(
            "{}/packages/container/{}/versions?per_page=100",
            self.owner.prefix(),
            encode_segment(&self.package(repo))
        ))?;
        let mut out = Vec::new();
        let what = format!("versions of package {repo}");
        let mut budget = PageBudget::new(&what);
        loop {
            let (page, next): (Vec<Version>, _) =
                self.api.get_page(&url, &what, &mut budget).await?;
            budget.add_entries(page.len())?;
            out.extend(page);
            match next {
                Some(n) => url = self.api.url(&n)?,
                None => break,
            }
        }
        let mut ids = self.versions.lock().unwrap();
        ids.retain(|(r, _), _| r != repo);
        for v in &out {
            ids.insert((repo.to_string(), v.name.clone()), v.id);
        }
        Ok(out)
    }
}

impl ProviderApi for Ghcr {
    fn kind(&self) -> &'static str {
        "ghcr"
    }

    fn label(&self) -> String {
        match &self.owner {
            Owner::User(u) => format!("{} (user {u})", self.host),
            Owner::Org(o) => format!("{} (org {o})", self.host),
            Owner::Me => self.host.clone(),
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
            delete_tag: false,
        }
    }

    fn v2(&self) -> BoxFut<'_, Arc<Distribution>> {
        Box::pin(async move { Ok(self.v2.clone()) })
    }

    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let mut url = self.api.url(&format!(
                "{}/packages?package_type=container&per_page=100",
                self.owner.prefix()
            ))?;
            let mut budget = PageBudget::new("package list");
            loop {
                let (page, next): (Vec<Package>, _) = self
                    .api
                    .get_page(&url, "container packages", &mut budget)
                    .await?;
                budget.add_entries(page.len())?;
                let names = page
                    .into_iter()
                    .map(|p| {
                        let owner = match (&self.owner, &p.owner) {
                            (Owner::User(o) | Owner::Org(o), _) => o.clone(),
                            (Owner::Me, Some(l)) => l.login.clone(),
                            (Owner::Me, None) => String::new(),
                        };
                        format!("{}/{}", owner.to_lowercase(), p.name.to_lowercase())
                    })
                    .collect();
                sink(names);
                match next {
                    Some(n) => url = self.api.url(&n)?,
                    None => return Ok(()),
                }
            }
        })
    }

    fn tags<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Vec<TagRow>> {
        Box::pin(async move {
            let mut rows = Vec::new();
            for v in self.versions(repo).await? {
                let tags = v
                    .metadata
                    .and_then(|m| m.container)
                    .map(|c| c.tags)
                    .unwrap_or_default();
                for t in tags {
                    rows.push(TagRow {
                        locked: None,
                        pulled: None,
                        tag: t,
                        digest: v.name.clone(),
                        media_type: String::new(),
                        size: 0,
                        created: None,
                        pushed: v.created_at.clone(),
                        platforms: vec![],
                        blobs: Vec::new(),
                    });
                }
            }
            rows.sort_by(|a, b| natural_cmp(&a.tag, &b.tag));
            Ok(rows)
        })
    }

    fn has_sizes(&self) -> bool {
        false
    }

    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let known = self
                .versions
                .lock()
                .unwrap()
                .get(&(repo.to_string(), digest.to_string()))
                .copied();
            let id = match known {
                Some(id) => id,
                None => {
                    self.versions(repo).await?;
                    self.versions
                        .lock()
                        .unwrap()
                        .get(&(repo.to_string(), digest.to_string()))
                        .copied()
                        .ok_or_else(|| Error::NotFound {
                            what: format!("{repo}@{digest} (no package version has this digest)"),
                            errors: vec![],
                        })?
                }
            };
            let url = self.api.url(&format!(
                "{}/packages/container/{}/versions/{id}",
                self.owner.prefix(),
                encode_segment(&self.package(repo))
            ))?;
            self.api
                .send(
                    reqwest::Method::DELETE,
                    &url,
                    &format!("package version {id} of {repo}"),
                )
                .await
                .map_err(|e| match e {
                    Error::Provider {
                        service,
                        status: Some(403),
                        message,
                        ..
                    } => Error::Provider {
                        service,
                        status: Some(403),
                        message,
                        hint: "deleting needs a token with delete:packages and admin rights on the package".into(),
                    },
                    e => e,
                })?;
            self.versions
                .lock()
                .unwrap()
                .remove(&(repo.to_string(), digest.to_string()));
            Ok(())
        })
    }

    fn why_no_tag_delete(&self) -> String {
        "GitHub has no tag-only delete: deleting a package version removes its digest with all its tags".into()
    }
}
