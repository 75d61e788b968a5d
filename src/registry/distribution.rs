//! The OCI distribution v2 client over reqwest: catalog, tags, manifests, blobs, deletes.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{
    ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LINK, LOCATION, RETRY_AFTER,
    WWW_AUTHENTICATE,
};
use reqwest::{Method, Response, StatusCode};

use super::auth::{Authenticator, Credential};
use super::cache::Cache;
use super::error::{Error, Result};
use super::model::*;
use super::reference::{RegistryAddr, validate_repository};
use super::{Backend, BackendInfo, BoxFut, Capabilities, PageSink, digest, parse};

/// Largest error body we read to extract the registry's message.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;
/// Largest catalog or tags-list page we read.
const LIST_LIMIT: u64 = 32 * 1024 * 1024;
/// The page size we ask for (distribution rejects more than 1000).
pub const MAX_PAGE: usize = 1000;

/// How to reach one registry.
#[derive(Debug, Clone)]
pub struct DistributionOptions {
    pub addr: RegistryAddr,
    pub credential: Credential,
    /// Extra PEM-encoded CA certificates to trust.
    pub ca_pem: Option<Vec<u8>>,
    /// Skip TLS verification.
    pub insecure: bool,
    /// Page size for catalog and tag lists (clamped to 1..=1000).
    pub page_size: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Connection pool size hint (the profile's concurrency).
    pub concurrency: usize,
    /// Repositories to list instead of the catalog.
    pub repositories: Vec<String>,
    /// Untag with a placeholder manifest where the OCI tag delete is refused (regctl's way).
    /// Off for registries that refuse digest deletes of tagged manifests (Docker Hub).
    pub untag_fallback: bool,
}

impl DistributionOptions {
    /// Options with defaults for the given address and credential.
    pub fn new(addr: RegistryAddr, credential: Credential) -> Self {
        DistributionOptions {
            addr,
            credential,
            ca_pem: None,
            insecure: false,
            page_size: MAX_PAGE,
            timeout: Duration::from_secs(30),
            concurrency: 16,
            repositories: Vec::new(),
            untag_fallback: true,
        }
    }
}

/// A registry spoken to over the distribution v2 API.
pub struct Distribution {
    opts: DistributionOptions,
    base: String,
    name: String,
    http: reqwest::Client,
    auth: Authenticator,
    cache: Cache,
    /// Last `ratelimit-remaining` / `ratelimit-limit` seen (Docker Hub).
    rate_limit: std::sync::Mutex<Option<(String, String)>>,
}

use super::http::{self, header_str};
pub use super::http::{next_link, read_limited};

#[derive(serde::Deserialize)]
struct CatalogPage {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl Distribution {
    /// Builds the client (one connection pool per profile).
    pub fn new(opts: DistributionOptions) -> Result<Self> {
        let mut b = reqwest::Client::builder()
            .user_agent(concat!("regtui/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(opts.timeout)
            .pool_max_idle_per_host(opts.concurrency.max(1))
            // Redirects are followed by hand (http::send_following): reads only, and credentials
            // only to the registry's own origin.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &opts.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                Error::Config(format!("ca_cert: not a PEM certificate bundle: {e}"))
            })?;
            if certs.is_empty() {
                return Err(Error::Config("ca_cert: no certificate in the file".into()));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        if opts.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        let http = b
            .build()
            .map_err(|e| Error::Config(format!("cannot set up HTTP client: {e}")))?;
        let name = opts.addr.to_string();
        // Plain-HTTP token realms are fine for a plain-HTTP registry or an insecure profile only.
        let plain_ok = opts.addr.plain_http || opts.insecure;
        let auth = Authenticator::new(name.clone(), opts.credential.clone(), http.clone())
            .allow_plain_http_realm(plain_ok);
        Ok(Distribution {
            base: opts.addr.base_url(),
            name,
            http,
            auth,
            cache: Cache::default(),
            opts,
            rate_limit: Default::default(),
        })
    }

    /// Pull rate limit as the registry last reported it: "pulls left 76/100 per 6 h".
    pub fn rate_limit(&self) -> Option<String> {
        let (left, limit) = self.rate_limit.lock().unwrap().clone()?;
        // Values look like `76;w=21600`: the count, then the window in seconds.
        let count = |v: &str| v.split(';').next().unwrap_or("").trim().to_string();
        let window = limit
            .split(';')
            .find_map(|p| p.trim().strip_prefix("w="))
            .and_then(|w| w.parse::<u64>().ok())
            .map(|w| format!(" per {} h", w / 3600))
            .unwrap_or_default();
        let limit = count(&limit);
        Some(if limit.is_empty() {
            format!("pulls left {}", crate::sanitize::clean(&count(&left)))
        } else {
            format!(
                "pulls left {}/{}{window}",
                crate::sanitize::clean(&count(&left)),
                crate::sanitize::clean(&limit)
            )
        })
    }

    /// Drops a cached manifest (after a delete through another API).
    pub fn forget(&self, digest: &str) {
        self.cache.forget(digest);
    }

    /// The authenticator (for status display and tests).
    pub fn auth(&self) -> &Authenticator {
        &self.auth
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request with auth. A 401 is answered with new credentials at most twice (first the
    /// challenge, then a renewed token if the registry rejected the one we sent); the request is
    /// never repeated for any other reason, so a DELETE runs at most once on the server. Reads
    /// follow redirects without credentials to other hosts; a 401/403 from such a host is its
    /// own error and never teaches us a challenge.
    async fn send(
        &self,
        method: Method,
        url: &str,
        scope: &str,
        build: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
    ) -> Result<Response> {
        let mut header = self.auth.header_for(scope).await?;
        let mut answered = 0;
        loop {
            let resp = http::send_following(
                &self.http,
                method.clone(),
                url,
                header.as_ref(),
                &self.base,
                &self.name,
                build,
            )
            .await?;
            let own = http::same_origin(resp.url().as_str(), &self.base);
            if !own && matches!(resp.status().as_u16(), 401 | 403 | 407) {
                return Err(Error::Foreign {
                    registry: self.name.clone(),
                    host: http::host_of(resp.url().as_str()),
                    status: resp.status().as_u16(),
                });
            }
            if let Some(left) = header_str(resp.headers(), "ratelimit-remaining").filter(|_| own) {
                let limit = header_str(resp.headers(), "ratelimit-limit").unwrap_or("");
                *self.rate_limit.lock().unwrap() = Some((left.to_string(), limit.to_string()));
            }
            if resp.status() == StatusCode::UNAUTHORIZED && answered < 2 {
                answered += 1;
                let www = header_str(resp.headers(), WWW_AUTHENTICATE).map(str::to_string);
                if let Some(h) = self
                    .auth
                    .on_unauthorized(www.as_deref(), scope, header.as_ref())
                    .await?
                {
                    header = Some(h);
                    continue;
                }
            }
            return Ok(resp);
        }
    }

    /// Turns a non-success response into an error carrying the registry's message.
    async fn fail(&self, resp: Response, what: &str, is_delete: bool) -> Error {
        let status = resp.status().as_u16();
        let retry_after =
            header_str(resp.headers(), RETRY_AFTER).and_then(|v| v.trim().parse().ok());
        let body = read_limited(resp, ERROR_BODY_LIMIT, "error body", &self.name)
            .await
            .unwrap_or_default();
        Error::from_status(
            status,
            &self.name,
            what,
            is_delete,
            !matches!(self.auth.credential(), Credential::Anonymous),
            retry_after,
            &body,
        )
    }

    /// Resolves a `Link` target against our base URL, refusing other hosts.
    fn resolve_link(&self, link: &str) -> Result<String> {
        if link.starts_with('/') {
            return Ok(self.url(link));
        }
        if link.starts_with(&format!("{}/", self.base)) {
            return Ok(link.to_string());
        }
        Err(Error::Invalid {
            what: "Link header".into(),
            detail: "next page points to another host".into(),
        })
    }

    async fn paginate(
        &self,
        first: String,
        scope: &str,
        what: &str,
        sink: PageSink<'_>,
        extract: fn(&[u8]) -> Result<Vec<String>>,
    ) -> Result<()> {
        let mut url = first;
        let mut seen = std::collections::HashSet::new();
        let mut budget = http::PageBudget::new(if what == "catalog" {
            "catalog".to_string()
        } else {
            format!("tags list of {what}")
        });
        loop {
            if !seen.insert(url.clone()) {
                return Err(Error::Invalid {
                    what: "Link header".into(),
                    detail: "pagination loops back to a page already read".into(),
                });
            }
            let resp = self.send(Method::GET, &url, scope, &|rb| rb).await?;
            if !resp.status().is_success() {
                return Err(self.fail(resp, what, false).await);
            }
            let next = header_str(resp.headers(), LINK).and_then(next_link);
            let body = read_limited(resp, LIST_LIMIT, what, &self.name).await?;
            let page = extract(&body)?;
            budget.take(page.len(), body.len())?;
            sink(page);
            match next {
                Some(n) => url = self.resolve_link(&n)?,
                None => return Ok(()),
            }
        }
    }

    fn page_size(&self) -> usize {
        self.opts.page_size.clamp(1, MAX_PAGE)
    }

    /// GETs a manifest; verifies its digest against the reference (when a digest) and `Docker-Content-Digest`.
    async fn fetch_manifest(&self, repo: &str, reference: &str) -> Result<Manifest> {
        validate_repository(repo)?;
        check_reference(reference)?;
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let scope = pull_scope(repo);
        let resp = self
            .send(Method::GET, &url, &scope, &|rb| {
                rb.header(ACCEPT, MANIFEST_ACCEPT)
            })
            .await?;
        let what = shown(repo, reference);
        if !resp.status().is_success() {
            return Err(self.fail(resp, &what, false).await);
        }
        let content_type = header_str(resp.headers(), CONTENT_TYPE).map(str::to_string);
        let header_digest = header_str(resp.headers(), "docker-content-digest").map(str::to_string);
        let body = read_limited(resp, MANIFEST_LIMIT, "manifest", &self.name).await?;
        let computed = if digest::is_digest(reference) {
            digest::verify(reference, &body)?;
            reference.to_string()
        } else {
            let d = digest::sha256(&body);
            if let Some(h) = header_digest {
                if h.starts_with("sha256:") && h != d {
                    return Err(Error::DigestMismatch {
                        expected: h,
                        actual: d,
                    });
                }
            }
            d
        };
        parse::manifest(body, computed, content_type.as_deref(), &what)
    }

    /// Uploads a blob (POST then PUT with the digest).
    pub async fn push_blob(&self, repo: &str, data: Vec<u8>) -> Result<String> {
        let d = digest::sha256(&data);
        let scope = push_scope(repo);
        let start = self
            .send(
                Method::POST,
                &self.url(&format!("/v2/{repo}/blobs/uploads/")),
                &scope,
                &|rb| rb.header(reqwest::header::CONTENT_LENGTH, "0"),
            )
            .await?;
        if start.status() != StatusCode::ACCEPTED {
            return Err(self.fail(start, "blob upload", false).await);
        }
        let location = header_str(start.headers(), LOCATION)
            .ok_or_else(|| Error::Invalid {
                what: "blob upload".into(),
                detail: "no Location header".into(),
            })?
            .to_string();
        let mut upload = if location.starts_with('/') {
            self.url(&location)
        } else {
            self.resolve_link(&location)?
        };
        upload.push(if upload.contains('?') { '&' } else { '?' });
        upload.push_str("digest=");
        upload.push_str(&d);
        let body = bytes_of(data);
        let put = self
            .send(Method::PUT, &upload, &scope, &|rb| {
                rb.header(CONTENT_TYPE, "application/octet-stream")
                    .body(body.clone())
            })
            .await?;
        if put.status() != StatusCode::CREATED {
            return Err(self.fail(put, "blob upload", false).await);
        }
        Ok(d)
    }

    /// PUTs a manifest under a tag or digest; returns its digest.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: Vec<u8>,
    ) -> Result<String> {
        validate_repository(repo)?;
        check_reference(reference)?;
        let d = digest::sha256(&body);
        let mt = HeaderValue::from_str(media_type).map_err(|_| Error::Invalid {
            what: "media type".into(),
            detail: media_type.into(),
        })?;
        let body = bytes_of(body);
        let resp = self
            .send(
                Method::PUT,
                &self.url(&format!("/v2/{repo}/manifests/{reference}")),
                &push_scope(repo),
                &|rb| rb.header(CONTENT_TYPE, mt.clone()).body(body.clone()),
            )
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.fail(resp, &shown(repo, reference), false).await);
        }
        Ok(d)
    }

    async fn delete_reference(&self, repo: &str, reference: &str) -> Result<()> {
        validate_repository(repo)?;
        check_reference(reference)?;
        let resp = self
            .send(
                Method::DELETE,
                &self.url(&format!("/v2/{repo}/manifests/{reference}")),
                &delete_scope(repo),
                &|rb| rb,
            )
            .await?;
        if resp.status().is_success() {
            self.cache.forget(reference);
            Ok(())
        } else {
            Err(self.fail(resp, &shown(repo, reference), true).await)
        }
    }

    /// Untags by pushing a unique dummy image to the tag and deleting it by digest (as regctl does).
    /// Once the placeholder's PUT was sent, any failure reports where the tag points now and how
    /// to finish or undo.
    async fn untag_with_dummy(&self, repo: &str, tag: &str) -> Result<()> {
        let original = Backend::head_manifest(self, repo, tag).await?.digest;
        // An empty tar archive: two zero blocks.
        let layer = vec![0u8; 1024];
        let layer_digest = self.push_blob(repo, layer.clone()).await?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let config = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"delete-tag": tag, "delete-date": nanos.to_string(), "created-by": "regtui"}},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        });
        let config = serde_json::to_vec(&config).unwrap_or_default();
        let config_size = config.len();
        let config_digest = self.push_blob(repo, config).await?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
            "annotations": {"org.opencontainers.image.description": "regtui tag-delete placeholder"},
        });
        let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
        let dummy = digest::sha256(&manifest);
        let swap = async {
            self.put_manifest(repo, tag, OCI_MANIFEST, manifest).await?;
            self.delete_reference(repo, &dummy).await
        };
        let Err(e) = swap.await else {
            return Ok(());
        };
        let host = &self.opts.addr.host;
        let (state, next) = match Backend::head_manifest(self, repo, tag).await {
            Ok(d) if d.digest == dummy => (
                format!("{tag} now points at the placeholder {dummy}"),
                format!(
                    "to finish: regtui rm {host}/{repo}@{dummy} --yes; to undo: crane tag \
                     {host}/{repo}@{original} {tag}"
                ),
            ),
            Ok(d) if d.digest == original => (
                format!("{tag} still points at its manifest {original}"),
                "nothing changed; try again".to_string(),
            ),
            Ok(d) => (
                format!(
                    "{tag} now points at {} (neither its manifest nor the placeholder)",
                    d.digest
                ),
                "someone else pushed it meanwhile; check it before trying again".to_string(),
            ),
            Err(Error::NotFound { .. }) => (
                format!("{tag} is gone"),
                format!(
                    "its manifest {original} stays; the placeholder {dummy} may remain untagged \
                     until garbage collection"
                ),
            ),
            Err(check) => (
                format!("where {tag} points now is unknown ({check})"),
                format!(
                    "check with: regtui inspect {host}/{repo}:{tag}; it was {original}, the \
                     placeholder is {dummy}"
                ),
            ),
        };
        Err(Error::Placeholder {
            tag: tag.to_string(),
            error: e.to_string(),
            state,
            next,
        })
    }
}

/// A shared buffer, so the request can be rebuilt after an auth challenge.
fn bytes_of(v: Vec<u8>) -> bytes::Bytes {
    bytes::Bytes::from(v)
}

/// `repo@digest` or `repo:tag`, as a user writes it.
pub fn shown(repo: &str, reference: &str) -> String {
    if digest::is_digest(reference) {
        format!("{repo}@{reference}")
    } else {
        format!("{repo}:{reference}")
    }
}

fn check_reference(reference: &str) -> Result<()> {
    if digest::is_digest(reference) {
        digest::validate(reference)
    } else {
        super::reference::validate_tag(reference)
    }
}

/// `repository:NAME:pull`.
pub fn pull_scope(repo: &str) -> String {
    format!("repository:{repo}:pull")
}
fn push_scope(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}
fn delete_scope(repo: &str) -> String {
    format!("repository:{repo}:delete")
}

impl Backend for Distribution {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "distribution",
            registry: self.name.clone(),
            host: self.opts.addr.host.clone(),
            auth: self.auth.describe(),
            capabilities: Capabilities {
                list_repos: true,
                delete_digest: true,
                delete_tag: true,
            },
            warning: self
                .opts
                .insecure
                .then(|| "TLS verification is off for this registry (insecure = true)".to_string()),
            needs_gc: true,
            login: true,
            ..Default::default()
        }
    }

    fn status_note(&self) -> Option<String> {
        self.rate_limit()
    }

    fn ping(&self) -> BoxFut<'_, ()> {
        Box::pin(async move {
            let resp = self
                .send(Method::GET, &self.url("/v2/"), "", &|rb| rb)
                .await?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(self.fail(resp, "/v2/", false).await)
            }
        })
    }

    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move {
            if !self.opts.repositories.is_empty() {
                sink(self.opts.repositories.clone());
                return Ok(());
            }
            let first = self.url(&format!("/v2/_catalog?n={}", self.page_size()));
            self.paginate(first, "registry:catalog:*", "catalog", sink, |b| {
                let page: CatalogPage = serde_json::from_slice(b).map_err(|e| Error::Invalid {
                    what: "catalog page".into(),
                    detail: e.to_string(),
                })?;
                Ok(page.repositories.unwrap_or_default())
            })
            .await
        })
    }

    fn list_tags<'a>(&'a self, repo: &'a str, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move {
            validate_repository(repo)?;
            let first = self.url(&format!("/v2/{repo}/tags/list?n={}", self.page_size()));
            self.paginate(first, &pull_scope(repo), repo, sink, |b| {
                let page: TagsPage = serde_json::from_slice(b).map_err(|e| Error::Invalid {
                    what: "tags list".into(),
                    detail: e.to_string(),
                })?;
                Ok(page.tags.unwrap_or_default())
            })
            .await
        })
    }

    fn get_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Arc<Manifest>> {
        Box::pin(async move {
            if let Some(m) = self.cache.manifest(reference) {
                return Ok(m);
            }
            let m = Arc::new(self.fetch_manifest(repo, reference).await?);
            self.cache.put_manifest(m.clone());
            Ok(m)
        })
    }

    fn head_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Desc> {
        Box::pin(async move {
            validate_repository(repo)?;
            check_reference(reference)?;
            let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
            let resp = self
                .send(Method::HEAD, &url, &pull_scope(repo), &|rb| {
                    rb.header(ACCEPT, MANIFEST_ACCEPT)
                })
                .await?;
            if !resp.status().is_success() {
                return Err(self.fail(resp, &shown(repo, reference), false).await);
            }
            let h = resp.headers();
            match header_str(h, "docker-content-digest") {
                Some(d) if digest::validate(d).is_ok() => Ok(Desc {
                    digest: d.to_string(),
                    media_type: header_str(h, CONTENT_TYPE).unwrap_or("").to_string(),
                    // reqwest reports no body length for HEAD: the header says it.
                    size: header_str(h, CONTENT_LENGTH)
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0),
                }),
                _ => {
                    let m = self.get_manifest(repo, reference).await?;
                    Ok(Desc {
                        digest: m.digest.clone(),
                        media_type: m.media_type.clone(),
                        size: m.size(),
                    })
                }
            }
        })
    }

    fn get_config<'a>(&'a self, repo: &'a str, config: &'a Desc) -> BoxFut<'a, Arc<ConfigSummary>> {
        Box::pin(async move {
            digest::validate(&config.digest)?;
            if let Some(c) = self.cache.config(&config.digest) {
                return Ok(c);
            }
            if config.size > CONFIG_LIMIT {
                return Err(Error::TooLarge {
                    what: format!("config {}", config.digest),
                    limit: CONFIG_LIMIT,
                });
            }
            let url = self.url(&format!("/v2/{repo}/blobs/{}", config.digest));
            let resp = self
                .send(Method::GET, &url, &pull_scope(repo), &|rb| rb)
                .await?;
            if !resp.status().is_success() {
                return Err(self.fail(resp, &config.digest, false).await);
            }
            let body = read_limited(resp, CONFIG_LIMIT, "config blob", &self.name).await?;
            digest::verify(&config.digest, &body)?;
            let c = Arc::new(parse::config(&body)?);
            self.cache.put_config(&config.digest, c.clone());
            Ok(c)
        })
    }

    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move {
            digest::validate(digest)?;
            self.delete_reference(repo, digest).await
        })
    }

    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        Box::pin(async move {
            super::reference::validate_tag(tag)?;
            match self.delete_reference(repo, tag).await {
                Ok(()) => Ok(TagDeleteMethod::OciTagDelete),
                // Registries without OCI 1.1 tag delete answer 400 DIGEST_INVALID (distribution 2.x),
                // or 405 with a code other than UNSUPPORTED, or 404 for the tag as a digest.
                Err(Error::Status { status: 400, .. }) | Err(Error::MethodNotAllowed { .. })
                    if self.opts.untag_fallback =>
                {
                    self.untag_with_dummy(repo, tag).await?;
                    Ok(TagDeleteMethod::DummyManifest)
                }
                Err(e) => Err(e),
            }
        })
    }
}
