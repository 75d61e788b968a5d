//! Harbor: projects, repositories and artifacts (tags inline, sizes, push and pull times,
//! immutable tags) from `/api/v2.0` on the registry host with Basic auth; manifests and configs
//! via v2 (token realm `/service/token`).
//!
//! Harbor answers a request with refused credentials anonymously (public projects still list),
//! so the login is checked once with `/users/current/permissions` and a refusal reported as such.

use std::sync::Arc;

use base64::Engine as _;
use serde::Deserialize;

use super::{PageBudget, Provider, ProviderApi, Rest, TokenHeader, encode_segment};
use crate::registry::auth::{Credential, Secret};
use crate::registry::connect::{ConnectOptions, Notes};
use crate::registry::distribution::Distribution;
use crate::registry::model::{PlatformEntry, TagDeleteMethod, TagRow, platform_string};
use crate::registry::ops::natural_cmp;
use crate::registry::{Backend, BoxFut, Capabilities, Error, PageSink, Result};

/// The keys of a `kind = "harbor"` profile (serde rejects any other provider's keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// Only this project (else every project the user can see).
    pub project: Option<String>,
}

impl Keys {
    /// The key names, for the config file's checks.
    pub const NAMES: &'static [&'static str] = &["project"];

    /// `(key, why)` when a key makes no sense.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        if self
            .project
            .as_deref()
            .is_some_and(|p| p.is_empty() || p.contains('/'))
        {
            return Err(("project", "a Harbor project name has no `/`".into()));
        }
        Ok(())
    }
}

/// Harbor's page size limit (its default is 10).
const PAGE: usize = 100;
/// The `pull_time` of an artifact nobody pulled.
const NEVER: &str = "0001-01-01";

/// The Harbor backend for a profile: API and v2 on the `registry` host, credentials from the
/// profile or docker's config for that host; `given` replaces them (a login).
pub fn connect(
    keys: &Keys,
    opts: &ConnectOptions,
    given: Option<Credential>,
    notes: &mut Notes,
) -> Result<Arc<dyn Backend>> {
    let addr = opts.addr(None)?;
    let credential = opts.credential(&opts.secrets, &addr.credential_key(), given, notes)?;
    let (token, user) = match &credential {
        Credential::Basic { username, password } => (
            Some(Secret::new(
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{}", password.expose())),
            )),
            Some(username.clone()),
        ),
        _ => (None, None),
    };
    let host = addr.host.clone();
    let base = addr.base_url();
    let who = credential.describe();
    let mut v2 = opts.v2_options(addr, credential)?;
    // Harbor refuses the OCI tag delete; tags go through its API, never a placeholder.
    v2.untag_fallback = false;
    let http = api_client(v2.insecure, v2.ca_pem.as_deref())?;
    let api = Rest {
        http,
        service: "Harbor API",
        base,
        token,
        token_header: TokenHeader::Basic,
        headers: vec![("accept", "application/json")],
        auth_hint: "check the Harbor username (user or robot account) and password of this \
                    profile; deleting needs the project's developer or maintainer role",
    };
    let v2 = Arc::new(Distribution::new(v2)?);
    Ok(Arc::new(Provider::new(Harbor {
        api,
        project: keys.project.clone(),
        v2,
        host,
        who,
        user,
        login_checked: Default::default(),
    })))
}

/// The API's HTTP client: [`Rest::client`], trusting the profile's CA (the API is on the
/// registry's own host, so it has the registry's TLS settings).
pub fn api_client(insecure: bool, ca_pem: Option<&[u8]>) -> Result<reqwest::Client> {
    if !insecure && ca_pem.is_none() {
        return Rest::client();
    }
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("regtui/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(insecure);
    if let Some(pem) = ca_pem {
        for c in reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| Error::Config(format!("ca_cert: {e}")))?
        {
            b = b.add_root_certificate(c);
        }
    }
    b.build()
        .map_err(|e| Error::Config(format!("cannot set up HTTP client: {e}")))
}

#[derive(Deserialize)]
struct Project {
    name: String,
}

#[derive(Deserialize)]
struct Repository {
    name: String,
}

#[derive(Deserialize)]
struct Artifact {
    digest: String,
    #[serde(default)]
    manifest_media_type: Option<String>,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    push_time: Option<String>,
    #[serde(default)]
    pull_time: Option<String>,
    #[serde(default)]
    tags: Option<Vec<Tag>>,
    #[serde(default)]
    extra_attrs: Option<ExtraAttrs>,
    #[serde(default)]
    references: Option<Vec<Reference>>,
    #[serde(default)]
    accessories: Option<Vec<Accessory>>,
}

/// An accessory of an artifact (`with_accessory=true`): a signature or SBOM Harbor links to it.
#[derive(Deserialize)]
struct Accessory {
    digest: String,
    /// `signature.cosign`, `signature.notation`, `sbom.harbor`, …
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    size: u64,
}

/// Most accessories read for one artifact.
const MAX_ACCESSORIES: usize = 1000;

/// An accessory as a referrer (source `harbor-accessory`).
fn accessory_referrer(a: Accessory) -> Option<crate::registry::referrers::Referrer> {
    use crate::registry::referrers::{Kind, Referrer, Source, classify};
    crate::registry::digest::validate(&a.digest).ok()?;
    let t = a.kind.to_ascii_lowercase();
    let (family, tool) = t.split_once('.').unwrap_or((t.as_str(), ""));
    let tool: String = tool
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect();
    let kind = match family {
        "signature" => Kind::Signature {
            tool: if tool.is_empty() {
                "unknown".into()
            } else {
                tool
            },
        },
        "sbom" => Kind::Sbom {
            format: if tool.is_empty() {
                "unknown".into()
            } else {
                tool
            },
        },
        "attestation" => Kind::Attestation { predicate: None },
        _ => classify(&t, &Default::default()),
    };
    Some(Referrer {
        digest: a.digest,
        artifact_type: a.kind.chars().take(128).collect(),
        media_type: String::new(),
        size: a.size,
        annotations: Default::default(),
        source: Source::HarborAccessory,
        kind,
        tag: None,
    })
}

#[derive(Deserialize)]
struct Tag {
    name: String,
    #[serde(default)]
    push_time: Option<String>,
    #[serde(default)]
    pull_time: Option<String>,
    #[serde(default)]
    immutable: bool,
}

#[derive(Deserialize, Default)]
struct ExtraAttrs {
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    created: Option<String>,
}

#[derive(Deserialize)]
struct Reference {
    child_digest: String,
    #[serde(default)]
    platform: Option<RefPlatform>,
}

#[derive(Deserialize)]
struct RefPlatform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

/// The Harbor provider.
pub struct Harbor {
    pub api: Rest,
    /// The profile's `project`, when set.
    pub project: Option<String>,
    pub v2: Arc<Distribution>,
    pub host: String,
    pub who: String,
    /// The username sent, for the refused-login message.
    user: Option<String>,
    login_checked: tokio::sync::OnceCell<()>,
}

/// `(project, API path of the repository)`: `library/team/app` → `library`, `team%252Fapp`.
fn api_path(repo: &str) -> Result<(String, String)> {
    let (project, rest) = repo.split_once('/').ok_or_else(|| Error::Invalid {
        what: "Harbor repository name".into(),
        detail: format!("{repo}: Harbor names start with their project (project/name)"),
    })?;
    Ok((
        encode_segment(project),
        encode_segment(rest).replace("%2F", "%252F"),
    ))
}

/// `None` for Harbor's never-pulled time.
fn pulled(t: Option<String>) -> Option<String> {
    t.filter(|t| !t.is_empty() && !t.starts_with(NEVER))
}

/// One row per tag of an artifact (none for an untagged one).
fn rows(a: Artifact) -> Vec<TagRow> {
    let attrs = a.extra_attrs.unwrap_or_default();
    let platforms: Vec<PlatformEntry> = match &a.references {
        Some(refs) if !refs.is_empty() => refs
            .iter()
            .map(|r| PlatformEntry {
                platform: r
                    .platform
                    .as_ref()
                    .map(|p| platform_string(&p.os, &p.architecture, p.variant.as_deref()))
                    .unwrap_or_default(),
                digest: r.child_digest.clone(),
                size: 0,
            })
            .collect(),
        _ => match (&attrs.os, &attrs.architecture) {
            (Some(os), Some(arch)) => vec![PlatformEntry {
                platform: platform_string(os, arch, attrs.variant.as_deref()),
                digest: a.digest.clone(),
                size: a.size,
            }],
            _ => Vec::new(),
        },
    };
    a.tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| TagRow {
            tag: t.name,
            digest: a.digest.clone(),
            media_type: a.manifest_media_type.clone().unwrap_or_default(),
            size: a.size,
            created: attrs.created.clone(),
            pushed: t.push_time.or_else(|| a.push_time.clone()),
            platforms: platforms.clone(),
            blobs: Vec::new(),
            locked: t
                .immutable
                .then(|| "immutable tag (a Harbor tag immutability rule)".to_string()),
            pulled: Some(pulled(t.pull_time).or_else(|| pulled(a.pull_time.clone()))),
        })
        .collect()
}

impl Harbor {
    /// Checks once that Harbor accepted our credentials: it runs a refused login anonymously.
    async fn check_login(&self) -> Result<()> {
        let Some(user) = &self.user else {
            return Ok(());
        };
        self.login_checked
            .get_or_try_init(|| async {
                let url = self.api.url("/api/v2.0/users/current/permissions")?;
                match self
                    .api
                    .send(reqwest::Method::GET, &url, "login check")
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(Error::Provider {
                        status: Some(401), ..
                    }) => Err(Error::Provider {
                        service: self.api.service.into(),
                        status: Some(401),
                        message: format!("login refused for user {user}"),
                        hint: "Harbor runs a refused login as anonymous (public projects would \
                               still list); check the username (user or robot account) and the \
                               password of this profile"
                            .into(),
                    }),
                    Err(e) => Err(e),
                }
            })
            .await
            .map(|_| ())
    }

    /// Every page of a JSON list starting at `path`.
    async fn all<T: serde::de::DeserializeOwned>(&self, path: &str, what: &str) -> Result<Vec<T>> {
        let mut url = self.api.url(path)?;
        let mut budget = PageBudget::new(what);
        let mut out = Vec::new();
        loop {
            let (page, next): (Option<Vec<T>>, _) =
                self.api.get_page(&url, what, &mut budget).await?;
            let page = page.unwrap_or_default();
            budget.add_entries(page.len())?;
            out.extend(page);
            match next {
                Some(n) => url = self.api.url(&n)?,
                None => break,
            }
        }
        Ok(out)
    }

    /// The repositories of one project, as full names (`project/…`).
    async fn repos_of(&self, project: &str) -> Result<Vec<String>> {
        let path = format!(
            "/api/v2.0/projects/{}/repositories?page_size={PAGE}",
            encode_segment(project)
        );
        let repos: Vec<Repository> = self
            .all(&path, &format!("repositories of project {project}"))
            .await?;
        Ok(repos.into_iter().map(|r| r.name).collect())
    }

    /// The artifact a tag points at.
    async fn artifact(&self, repo: &str, reference: &str) -> Result<Artifact> {
        let (p, r) = api_path(repo)?;
        let url = self.api.url(&format!(
            "/api/v2.0/projects/{p}/repositories/{r}/artifacts/{}?with_tag=true&with_immutable_status=true",
            encode_segment(reference)
        ))?;
        let what = format!("{repo}:{reference}");
        let mut budget = PageBudget::new(&what);
        Ok(self.api.get_page(&url, &what, &mut budget).await?.0)
    }
}

/// A refused delete in Harbor's terms: 412 is its tag immutability rule.
fn refused(e: Error) -> Error {
    match e {
        Error::Provider {
            service,
            status: Some(412),
            message,
            ..
        } => Error::Provider {
            service,
            status: Some(412),
            message,
            hint: "a tag immutability rule of the project protects this tag; a Harbor project \
                   admin can change the rule"
                .into(),
        },
        e => e,
    }
}

impl ProviderApi for Harbor {
    fn kind(&self) -> &'static str {
        "harbor"
    }

    fn label(&self) -> String {
        match &self.project {
            Some(p) => format!("Harbor {} ({p})", self.host),
            None => format!("Harbor {}", self.host),
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
            self.check_login().await?;
            let projects = match &self.project {
                Some(p) => vec![p.clone()],
                None => {
                    let path = format!("/api/v2.0/projects?page_size={PAGE}");
                    let ps: Vec<Project> = self.all(&path, "projects").await?;
                    ps.into_iter().map(|p| p.name).collect()
                }
            };
            for p in projects {
                let mut names = self.repos_of(&p).await?;
                names.sort_by(|a, b| natural_cmp(a, b));
                sink(names);
            }
            Ok(())
        })
    }

    fn tags<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Vec<TagRow>> {
        Box::pin(async move {
            self.check_login().await?;
            let (p, r) = api_path(repo)?;
            let path = format!(
                "/api/v2.0/projects/{p}/repositories/{r}/artifacts?page_size={PAGE}\
                 &with_tag=true&with_immutable_status=true&with_label=false\
                 &with_scan_overview=false&with_accessory=false"
            );
            let artifacts: Vec<Artifact> = self.all(&path, &format!("artifacts of {repo}")).await?;
            let mut out: Vec<TagRow> = artifacts.into_iter().flat_map(rows).collect();
            out.sort_by(|a, b| natural_cmp(&a.tag, &b.tag));
            Ok(out)
        })
    }

    fn referrers<'a>(
        &'a self,
        repo: &'a str,
        digest: &'a str,
    ) -> BoxFut<'a, Vec<crate::registry::referrers::Referrer>> {
        Box::pin(async move {
            crate::registry::digest::validate(digest)?;
            let (p, r) = api_path(repo)?;
            let url = self.api.url(&format!(
                "/api/v2.0/projects/{p}/repositories/{r}/artifacts/{}?with_accessory=true",
                encode_segment(digest)
            ))?;
            let what = format!("accessories of {repo}@{digest}");
            let mut budget = PageBudget::new(&what);
            let (a, _): (Artifact, _) = self.api.get_page(&url, &what, &mut budget).await?;
            Ok(a.accessories
                .unwrap_or_default()
                .into_iter()
                .take(MAX_ACCESSORIES)
                .filter_map(accessory_referrer)
                .collect())
        })
    }

    fn has_sizes(&self) -> bool {
        true
    }

    fn pull_dates(&self) -> bool {
        true
    }

    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move {
            self.check_login().await?;
            let (p, r) = api_path(repo)?;
            let url = self.api.url(&format!(
                "/api/v2.0/projects/{p}/repositories/{r}/artifacts/{}",
                encode_segment(digest)
            ))?;
            self.api
                .send(reqwest::Method::DELETE, &url, &format!("{repo}@{digest}"))
                .await
                .map_err(refused)?;
            Ok(())
        })
    }

    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        Box::pin(async move {
            self.check_login().await?;
            let a = self.artifact(repo, tag).await?;
            let (p, r) = api_path(repo)?;
            let url = self.api.url(&format!(
                "/api/v2.0/projects/{p}/repositories/{r}/artifacts/{}/tags/{}",
                encode_segment(&a.digest),
                encode_segment(tag)
            ))?;
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
    fn nested_names_are_double_encoded_without_the_project() {
        assert_eq!(
            api_path("library/team/app").unwrap(),
            ("library".to_string(), "team%252Fapp".to_string())
        );
        assert_eq!(
            api_path("p/app").unwrap(),
            ("p".to_string(), "app".to_string())
        );
        assert!(api_path("noproject").is_err());
    }

    #[test]
    fn an_index_artifact_gives_a_row_per_tag_with_its_platforms() {
        let a: Artifact = serde_json::from_value(serde_json::json!({
            "digest": "sha256:aa",
            "manifest_media_type": "application/vnd.oci.image.index.v1+json",
            "size": 4242,
            "push_time": "2024-05-01T00:00:00.000Z",
            "pull_time": "0001-01-01T00:00:00.000Z",
            "tags": [
                {"name": "v1", "immutable": true, "push_time": "2024-05-02T00:00:00.000Z",
                 "pull_time": "2024-06-01T00:00:00.000Z"},
                {"name": "latest", "immutable": false}
            ],
            "extra_attrs": null,
            "references": [
                {"child_digest": "sha256:bb",
                 "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"child_digest": "sha256:cc", "platform": {"os": "linux", "architecture": "amd64"}}
            ]
        }))
        .unwrap();
        let r = rows(a);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].size, 4242);
        assert_eq!(r[0].pushed.as_deref(), Some("2024-05-02T00:00:00.000Z"));
        assert_eq!(r[1].pushed.as_deref(), Some("2024-05-01T00:00:00.000Z"));
        assert_eq!(
            r[0].pulled,
            Some(Some("2024-06-01T00:00:00.000Z".to_string()))
        );
        assert_eq!(r[1].pulled, Some(None), "never pulled");
        assert!(r[0].locked.is_some() && r[1].locked.is_none());
        let p: Vec<&str> = r[0].platforms.iter().map(|p| p.platform.as_str()).collect();
        assert_eq!(p, ["linux/arm64/v8", "linux/amd64"]);
        assert_eq!(r[0].platforms[0].digest, "sha256:bb");
    }

    #[test]
    fn the_zero_pull_time_is_never() {
        assert_eq!(pulled(Some("0001-01-01T00:00:00.000Z".into())), None);
        assert_eq!(
            pulled(Some("2024-01-01T00:00:00Z".into())),
            Some("2024-01-01T00:00:00Z".to_string())
        );
    }
}
