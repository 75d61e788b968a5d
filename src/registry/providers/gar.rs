//! Google Artifact Registry (`*-docker.pkg.dev`, and `gcr.io` hosts it now serves): everything
//! over v2, plus Google's `tags/list` extension, whose `manifest` map gives the digest, size,
//! media type and upload/build times of every tag of a repository in ONE request.
//!
//! Deletes: a tag alone with `DELETE /v2/<name>/manifests/<tag>`; a digest only once no tag
//! points at it (else 400 `GOOGLE_MANIFEST_DANGLING_TAG`), so a digest delete removes its tags
//! first (the confirmation listed them). A repository set to immutable tags (REST
//! `dockerConfig.immutableTags`, read when the credential is an OAuth access token) locks every
//! tag. Sizes are the service's `imageSizeBytes`, what the console shows.
//!
//! Repositories: with `project` set (and a location and an OAuth access token), from the REST
//! API — the project's `DOCKER` repositories in the location, then each one's `dockerImages`,
//! both paged with `pageToken` — else from v2's `_catalog` (filtered to the project).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::{MakeV2, Provider, ProviderApi, RenewingV2, Resolve, Rest};
use crate::registry::auth::{Credential, Secret};
use crate::registry::connect::{ConnectOptions, Notes};
use crate::registry::distribution::{Distribution, pull_scope};
use crate::registry::model::{TagDeleteMethod, TagRow, rfc3339_millis};
use crate::registry::ops::natural_cmp;
use crate::registry::{Backend, BoxFut, Capabilities, Error, PageSink, Result};

/// The keys of a `kind = "gar"` profile (serde rejects any other provider's keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// Only this project's repositories (else every project v2's catalog shows).
    pub project: Option<String>,
    /// The repositories' location (`europe`); taken from a `<location>-docker.pkg.dev` host.
    pub location: Option<String>,
    /// Base URL of the Artifact Registry REST API.
    pub api_url: Option<String>,
}

impl Keys {
    /// The key names, for the config file's checks.
    pub const NAMES: &'static [&'static str] = &["project", "location", "api_url"];

    /// `(key, why)` when a key does not make sense.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        if self
            .project
            .as_deref()
            .is_some_and(|p| p.is_empty() || p.contains('/'))
        {
            return Err(("project", "a project id, without `/`".into()));
        }
        Ok(())
    }
}

/// Whether `host` (`host[:port]`) is served by Artifact Registry: `*-docker.pkg.dev`, `gcr.io`
/// and its regional hosts.
pub fn serves(host: &str) -> bool {
    let h = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    h.ends_with("-docker.pkg.dev") || h == "gcr.io" || h.ends_with(".gcr.io")
}

/// `europe` of `europe-docker.pkg.dev`.
fn location_of(host: &str) -> Option<String> {
    let h = host.split(':').next().unwrap_or(host);
    h.strip_suffix("-docker.pkg.dev")
        .filter(|l| !l.is_empty() && !l.contains('.'))
        .map(str::to_string)
}

/// The Artifact Registry backend for a profile; `given` replaces the credentials (a login).
pub fn connect(
    keys: &Keys,
    opts: &ConnectOptions,
    given: Option<Credential>,
    notes: &mut Notes,
) -> Result<Arc<dyn Backend>> {
    let addr = opts.addr(None)?;
    let key = addr.credential_key();
    let renew = RenewingV2::expires(&opts.secrets, given.is_some());
    let credential = opts.credential(&opts.secrets, &key, given, notes)?;
    let who = credential.describe();
    // The REST API takes an OAuth access token as Bearer: the one `oauth2accesstoken` carries.
    let oauth = match &credential {
        Credential::Basic { username, password }
            if username == "oauth2accesstoken" || username == "_dcgcloud_token" =>
        {
            Some(password.clone())
        }
        _ => None,
    };
    let host = addr.host.clone();
    let o = opts.clone();
    let make: Arc<MakeV2> = Arc::new(move |c| {
        let mut v2 = o.v2_options(addr.clone(), c)?;
        // GAR deletes a tag with DELETE …/manifests/<tag>; no placeholder trick.
        v2.untag_fallback = false;
        Distribution::new(v2)
    });
    let o = opts.clone();
    let resolve: Arc<Resolve> =
        Arc::new(move || Ok(crate::registry::credentials::resolve(&o.secrets, &key)?.credential));
    // Access tokens last an hour: the command runs again after 45 minutes.
    let v2 = RenewingV2::new(
        credential,
        make,
        renew.then_some(resolve),
        std::time::Duration::from_secs(45 * 60),
    )?;
    Ok(Arc::new(Provider::new(Gar {
        v2,
        location: keys.location.clone().or_else(|| location_of(&host)),
        project: keys.project.clone(),
        api_url: keys
            .api_url
            .clone()
            .unwrap_or_else(|| "https://artifactregistry.googleapis.com".into())
            .trim_end_matches('/')
            .to_string(),
        oauth,
        host,
        who,
        immutable: Default::default(),
    })))
}

/// The Artifact Registry provider.
pub struct Gar {
    v2: RenewingV2,
    host: String,
    who: String,
    project: Option<String>,
    location: Option<String>,
    api_url: String,
    /// The OAuth access token for the REST API, when the credential is one.
    oauth: Option<Secret>,
    /// `project/repository` → whether the repository has immutable tags (asked once).
    immutable: Mutex<HashMap<String, bool>>,
}

/// Largest `tags/list` reply read (a repository of many thousand tags).
const TAGS_LIMIT: u64 = 64 * 1024 * 1024;

/// Google's `tags/list` reply: the `manifest` map is read (it names every tag the standard
/// `tags` array does, with its image).
#[derive(Deserialize)]
struct TagsList {
    #[serde(default)]
    manifest: HashMap<String, GoogleManifest>,
}

/// One entry of the `manifest` map; int64 values are JSON strings.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GoogleManifest {
    #[serde(default)]
    image_size_bytes: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    tag: Vec<String>,
    #[serde(default)]
    time_created_ms: Option<String>,
    #[serde(default)]
    time_uploaded_ms: Option<String>,
}

/// A millisecond time from the map (`"0"` and garbage are unknown).
fn ms_time(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|ms| *ms > 0)
        .map(rfc3339_millis)
}

/// Rows of a `tags/list` reply: one per tag of each manifest.
fn rows_of(list: TagsList, lock: Option<&str>) -> Vec<TagRow> {
    let mut rows = Vec::new();
    for (digest, m) in list.manifest {
        for tag in &m.tag {
            rows.push(TagRow {
                tag: tag.clone(),
                digest: digest.clone(),
                media_type: m.media_type.clone().unwrap_or_default(),
                size: m
                    .image_size_bytes
                    .as_deref()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0),
                created: ms_time(&m.time_created_ms),
                pushed: ms_time(&m.time_uploaded_ms),
                platforms: Vec::new(),
                blobs: Vec::new(),
                locked: lock.map(str::to_string),
                pulled: None,
            });
        }
    }
    rows.sort_by(|a, b| natural_cmp(&a.tag, &b.tag));
    rows
}

/// REST `repositories.list` page.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RepositoriesPage {
    #[serde(default)]
    repositories: Vec<RestRepository>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct RestRepository {
    /// `projects/P/locations/L/repositories/R`.
    name: String,
    #[serde(default)]
    format: Option<String>,
}

/// REST `dockerImages.list` page.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerImagesPage {
    #[serde(default)]
    docker_images: Vec<DockerImage>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct DockerImage {
    /// `LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE@sha256:…`.
    uri: String,
}

/// Most pages of one REST listing followed (the repositories and every repository's images
/// together).
const MAX_REST_PAGES: usize = 10_000;

/// What one whole REST listing has read so far: one budget for the repositories and all
/// their images, so many repositories that each page a lot are still cut off.
struct RestBudget {
    read: super::PageBudget,
    pages: usize,
}

/// `P/R/IMAGE` of a docker image's `uri` (`host/P/R/IMAGE@sha256:…`), when it is in `P/R`.
fn image_path(uri: &str, project_repo: &str) -> Option<String> {
    let path = uri.split('@').next()?.split(':').next()?;
    let (_, path) = path.split_once('/')?;
    (path.starts_with(&format!("{project_repo}/"))
        && crate::registry::reference::validate_repository(path).is_ok())
    .then(|| path.to_string())
}

impl Gar {
    /// The REST API with the OAuth access token, when the credential is one.
    fn rest(&self) -> Option<Rest> {
        Some(Rest {
            http: Rest::client().ok()?,
            service: "Artifact Registry API",
            base: self.api_url.clone(),
            token: Some(self.oauth.clone()?),
            headers: vec![("accept", "application/json")],
            auth_hint: "the access token needs artifactregistry.repositories.list and \
                        artifactregistry.dockerimages.list on the project",
            token_header: super::TokenHeader::Bearer,
        })
    }

    /// Every page of a REST listing at `first` (a path), following `nextPageToken`; `each`
    /// takes a page and says how many entries it held. Pages, entries and bytes count against
    /// `budget`, which the caller shares across one whole listing.
    async fn rest_pages<T: serde::de::DeserializeOwned>(
        &self,
        api: &Rest,
        first: &str,
        what: &str,
        budget: &mut RestBudget,
        token_of: impl Fn(&T) -> Option<String>,
        mut each: impl FnMut(T) -> usize,
    ) -> Result<()> {
        let mut url = api.url(first)?;
        loop {
            budget.pages += 1;
            if budget.pages > MAX_REST_PAGES {
                return Err(Error::Invalid {
                    what: what.into(),
                    detail: format!("more than {MAX_REST_PAGES} pages in one listing"),
                });
            }
            let (page, _): (T, _) = api.get_page(&url, what, &mut budget.read).await?;
            let next = token_of(&page).filter(|t| !t.is_empty());
            let entries = each(page);
            budget.read.add_entries(entries)?;
            match next {
                Some(t) => {
                    budget.read.add_bytes(t.len())?;
                    url = api.url(&format!("{first}&pageToken={}", super::encode_segment(&t)))?
                }
                None => return Ok(()),
            }
        }
    }

    /// The images of the project's Docker repositories in the location, from the REST API.
    async fn rest_repos(
        &self,
        api: &Rest,
        project: &str,
        location: &str,
        sink: PageSink<'_>,
    ) -> Result<()> {
        let base = format!(
            "/v1/projects/{}/locations/{}/repositories",
            super::encode_segment(project),
            super::encode_segment(location)
        );
        let mut repositories = Vec::new();
        let mut budget = RestBudget {
            read: super::PageBudget::new(format!("Artifact Registry repositories of {project}")),
            pages: 0,
        };
        self.rest_pages(
            api,
            &format!("{base}?pageSize=1000"),
            "repositories",
            &mut budget,
            |p: &RepositoriesPage| p.next_page_token.clone(),
            |p| {
                let n = p.repositories.len();
                repositories.extend(
                    p.repositories
                        .into_iter()
                        .filter(|r| r.format.as_deref().is_none_or(|f| f == "DOCKER")),
                );
                n
            },
        )
        .await?;
        for r in repositories {
            let Some(id) = r.name.rsplit('/').next().filter(|id| !id.is_empty()) else {
                continue;
            };
            let project_repo = format!("{project}/{id}");
            let mut names = std::collections::BTreeSet::new();
            self.rest_pages(
                api,
                &format!(
                    "{base}/{}/dockerImages?pageSize=1000",
                    super::encode_segment(id)
                ),
                &format!("images of {project_repo}"),
                &mut budget,
                |p: &DockerImagesPage| p.next_page_token.clone(),
                |p| {
                    names.extend(
                        p.docker_images
                            .iter()
                            .filter_map(|i| image_path(&i.uri, &project_repo)),
                    );
                    p.docker_images.len()
                },
            )
            .await?;
            let mut names: Vec<String> = names.into_iter().collect();
            names.sort_by(|a, b| natural_cmp(a, b));
            if !names.is_empty() {
                sink(names);
            }
        }
        Ok(())
    }

    /// Whether the repository holding `repo` (`project/repository/image…`) has immutable
    /// tags, per the REST API; `false` when that cannot be asked.
    async fn immutable_tags(&self, repo: &str) -> bool {
        let (Some(_), Some(location)) = (&self.oauth, &self.location) else {
            return false;
        };
        let mut parts = repo.splitn(3, '/');
        let (Some(project), Some(repository)) = (parts.next(), parts.next()) else {
            return false;
        };
        let key = format!("{project}/{repository}");
        if let Some(v) = self.immutable.lock().unwrap().get(&key) {
            return *v;
        }
        let Some(api) = self.rest() else {
            return false;
        };
        let url = format!(
            "{}/v1/projects/{}/locations/{}/repositories/{}",
            self.api_url,
            super::encode_segment(project),
            super::encode_segment(location),
            super::encode_segment(repository)
        );
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Repository {
            #[serde(default)]
            docker_config: Option<DockerConfig>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct DockerConfig {
            #[serde(default)]
            immutable_tags: bool,
        }
        let mut budget = super::PageBudget::new("repository settings");
        let v = match api
            .get_page::<Repository>(&url, "repository settings", &mut budget)
            .await
        {
            Ok((r, _)) => r.docker_config.is_some_and(|d| d.immutable_tags),
            Err(e) => {
                tracing::info!(target: "regtui::http", "GAR repository settings of {key}: {e}");
                false
            }
        };
        self.immutable.lock().unwrap().insert(key, v);
        v
    }
}

/// How a lock from an immutable-tags repository reads.
const IMMUTABLE: &str = "the repository has immutable tags (dockerConfig.immutableTags)";

impl ProviderApi for Gar {
    fn kind(&self) -> &'static str {
        "gar"
    }

    fn label(&self) -> String {
        format!("Artifact Registry ({})", self.host)
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
        Box::pin(self.v2.get())
    }

    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move {
            // The project's repositories from the REST API, as the issue asks, when it can be.
            if let (Some(project), Some(location), Some(api)) =
                (&self.project, &self.location, self.rest())
            {
                return self.rest_repos(&api, project, location, sink).await;
            }
            let prefix = self.project.as_ref().map(|p| format!("{p}/"));
            let mut only = |page: Vec<String>| {
                sink(match &prefix {
                    Some(p) => page.into_iter().filter(|r| r.starts_with(p)).collect(),
                    None => page,
                })
            };
            self.v2.get().await?.list_repos(&mut only).await
        })
    }

    fn tags<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Vec<TagRow>> {
        Box::pin(async move {
            crate::registry::reference::validate_repository(repo)?;
            let what = format!("tags of {repo}");
            // Google answers every tag at once; n as gcrane asks, and any Link followed.
            let mut next = Some(format!("/v2/{repo}/tags/list?n=10000"));
            let mut list = TagsList {
                manifest: HashMap::new(),
            };
            let mut pages = 0;
            while let Some(url) = next.take() {
                pages += 1;
                if pages > 1000 {
                    return Err(Error::Invalid {
                        what,
                        detail: "more than 1000 pages".into(),
                    });
                }
                let (body, link) = self
                    .v2
                    .get()
                    .await?
                    .get_api(&url, &pull_scope(repo), &what, TAGS_LIMIT)
                    .await?;
                let page: TagsList = serde_json::from_slice(&body).map_err(|e| Error::Invalid {
                    what: what.clone(),
                    detail: e.to_string(),
                })?;
                list.manifest.extend(page.manifest);
                next = link;
            }
            let lock = self.immutable_tags(repo).await.then_some(IMMUTABLE);
            Ok(rows_of(list, lock))
        })
    }

    fn has_sizes(&self) -> bool {
        true
    }

    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        Box::pin(async move { self.v2.get().await?.delete_tag(repo, tag).await })
    }

    /// GAR refuses a digest while a tag points at it: those tags go first (the confirmation
    /// listed them), then the manifest.
    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let rows = self.tags(repo).await?;
            let v2 = self.v2.get().await?;
            for r in rows.iter().filter(|r| r.digest == digest) {
                v2.delete_tag(repo, &r.tag).await?;
            }
            v2.delete_manifest(repo, digest).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_locations() {
        assert!(serves("europe-docker.pkg.dev"));
        assert!(serves("gcr.io"));
        assert!(serves("eu.gcr.io"));
        assert!(!serves("example.com"));
        assert_eq!(
            location_of("europe-docker.pkg.dev").as_deref(),
            Some("europe")
        );
        assert_eq!(location_of("gcr.io"), None);
    }

    #[test]
    fn the_manifest_map_gives_one_row_per_tag() {
        let list: TagsList = serde_json::from_str(
            r#"{"name":"p/r/app","tags":["a","b"],"child":[],"manifest":{
            "sha256:1":{"imageSizeBytes":"1234","mediaType":"application/vnd.oci.image.manifest.v1+json",
                        "tag":["a","b"],"timeCreatedMs":"0","timeUploadedMs":"1717243200250"}}}"#,
        )
        .unwrap();
        let rows = rows_of(list, None);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].tag, "a");
        assert_eq!(rows[0].size, 1234);
        assert_eq!(rows[0].created, None);
        assert_eq!(rows[1].pushed.as_deref(), Some("2024-06-01T12:00:00.250Z"));
    }
}
