//! The OCI distribution v2 client over reqwest: catalog, tags, manifests, blobs, deletes.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{
    ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LINK, LOCATION, WWW_AUTHENTICATE,
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
    /// Extra PEM-encoded certificates to trust: CAs, or the registry's own certificate (pinned).
    pub ca_pem: Option<Vec<u8>>,
    /// Where `ca_pem` came from, for messages.
    pub ca_file: Option<String>,
    /// Skip TLS verification.
    pub insecure: bool,
    /// Page size for catalog and tag lists (clamped to 1..=1000).
    pub page_size: usize,
    /// How long a request may wait for its response headers (a body that keeps arriving has no
    /// total limit; 30 s without a byte ends it).
    pub timeout: Duration,
    /// Requests in flight to this registry: adaptive by default.
    pub concurrency: Concurrency,
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
            ca_file: None,
            insecure: false,
            page_size: MAX_PAGE,
            timeout: Duration::from_secs(30),
            concurrency: Concurrency::default(),
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
    /// HTTP/2 over TLS where offered, else HTTP/1.1.
    http: reqwest::Client,
    /// HTTP/1.1 only, once HTTP/2 misbehaved (421, 426, repeated GOAWAY).
    http1: reqwest::Client,
    h1_only: std::sync::atomic::AtomicBool,
    /// Repositories whose registry answered that it has no referrers API.
    no_referrers_api: std::sync::Mutex<std::collections::HashSet<String>>,
    /// GOAWAY or HTTP/2 protocol errors seen so far.
    goaways: std::sync::atomic::AtomicU32,
    auth: Authenticator,
    cache: Cache,
    /// Last `ratelimit-remaining` / `ratelimit-limit` seen (Docker Hub).
    rate_limit: std::sync::Mutex<Option<(String, String)>>,
    /// The in-flight limit and `Retry-After` pause of this registry's host.
    host: Arc<Host>,
}

/// Longest `Link` header followed.
const MAX_LINK: usize = 8 * 1024;
/// Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size.
const CHUNK: u64 = 8 * 1024 * 1024;
/// Idle time between body bytes before a read is given up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Pooled connections idle longer than this are closed.
const POOL_IDLE: Duration = Duration::from_secs(20);

use super::http::{self, Concurrency, Host, Signal, header_str};
pub use super::http::{next_link, read_limited};
use super::tls;

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
        let trust = match &opts.ca_pem {
            Some(pem) => tls::Trust::from_pem(opts.ca_file.as_deref().unwrap_or("ca_cert"), pem)?,
            None => tls::Trust::default(),
        };
        let client = |alpn: &[&[u8]]| -> Result<reqwest::Client> {
            let mut b = reqwest::Client::builder()
                .user_agent(concat!("regtui/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10))
                // Idle time between body bytes; the time to response headers is `opts.timeout`.
                .read_timeout(IDLE_TIMEOUT)
                // Pooled connections a load balancer may have dropped meanwhile are retired early.
                .pool_idle_timeout(POOL_IDLE)
                .pool_max_idle_per_host(opts.concurrency.ceiling())
                // Redirects are followed by hand (http::send_following): reads only, and
                // credentials only to the registry's own origin.
                .redirect(reqwest::redirect::Policy::none())
                .use_preconfigured_tls(tls::client_config(
                    &trust,
                    opts.insecure,
                    alpn,
                    &opts.addr.host,
                )?);
            if alpn == [b"http/1.1".as_slice()] {
                b = b.http1_only();
            }
            b.build()
                .map_err(|e| Error::Config(format!("cannot set up HTTP client: {e}")))
        };
        // HTTP/2 where the registry offers it (ALPN); HTTP/1.1 when it turns out not to work.
        let http = client(&[b"h2", b"http/1.1"])?;
        let http1 = client(&[b"http/1.1"])?;
        let name = opts.addr.to_string();
        // Plain-HTTP token realms are fine for a plain-HTTP registry or an insecure profile only.
        let plain_ok = opts.addr.plain_http || opts.insecure;
        let auth = Authenticator::new(name.clone(), opts.credential.clone(), http.clone())
            .allow_plain_http_realm(plain_ok);
        Ok(Distribution {
            base: opts.addr.base_url(),
            name,
            http,
            http1,
            h1_only: Default::default(),
            goaways: Default::default(),
            no_referrers_api: Default::default(),
            auth,
            cache: Cache::default(),
            host: Arc::new(Host::new(opts.concurrency)),
            opts,
            rate_limit: Default::default(),
        })
    }

    /// The host's limiter and pause (for status lines, logs and tests).
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// "rate limited by the registry, retrying in 12 s" while a `Retry-After` pause is on.
    pub fn pause_note(&self) -> Option<String> {
        let d = self.host.paused_for()?;
        Some(format!(
            "rate limited by the registry, retrying in {} s",
            d.as_secs().max(1)
        ))
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

    /// GETs a JSON document of the registry's own API on its origin (GAR's `tags/list`
    /// extension, ACR's `/acr/v1`), with a token for `scope` (renewed on a 401, retried on
    /// 429/5xx like every read). Returns the body and the `Link: rel="next"` target, if any.
    pub async fn get_api(
        &self,
        path_or_url: &str,
        scope: &str,
        what: &str,
        limit: u64,
    ) -> Result<(Vec<u8>, Option<String>)> {
        let url = if path_or_url.starts_with('/') {
            self.url(path_or_url)
        } else {
            self.resolve_link(path_or_url)?
        };
        let (headers, body) = self
            .get_ok(
                &url,
                scope,
                &|rb| rb.header(ACCEPT, "application/json"),
                limit,
                what,
            )
            .await?;
        let next = header_str(&headers, "link")
            .and_then(next_link)
            .map(|l| self.resolve_link(&l))
            .transpose()?;
        Ok((body, next))
    }

    /// DELETE on the registry's own API (ACR's `/acr/v1/<repo>/_tags/<tag>`) with a token for
    /// `scope`; a refusal carries the registry's own message. Sent exactly once.
    pub async fn delete_api(&self, path: &str, scope: &str, what: &str) -> Result<()> {
        let resp = self
            .send(Method::DELETE, &self.url(path), scope, &|rb| rb)
            .await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(self.fail(resp, what, true).await)
        }
    }

    /// The authenticator (for status display and tests).
    pub fn auth(&self) -> &Authenticator {
        &self.auth
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// One request through the host's pause and limiter, timed, logged, and fed back to the
    /// limiter. Waits at most `opts.timeout` for the response headers.
    async fn once(
        &self,
        method: &Method,
        url: &str,
        header: Option<&HeaderValue>,
        build: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
        attempt: u32,
    ) -> Result<Response> {
        self.host.wait_pause().await;
        let permit = self.host.limiter.acquire().await;
        let started = std::time::Instant::now();
        let client = if self.h1_only.load(std::sync::atomic::Ordering::Relaxed) {
            &self.http1
        } else {
            &self.http
        };
        let sent = http::send_following(
            client,
            method.clone(),
            url,
            header,
            &self.base,
            &self.name,
            build,
        );
        let r = match tokio::time::timeout(self.opts.timeout, sent).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                registry: self.name.clone(),
            }),
        };
        let path = url.strip_prefix(&self.base).unwrap_or(url);
        let limit = self.host.limiter.limit();
        match &r {
            Ok(resp) => {
                tracing::info!(
                    target: "regtui::http",
                    "{method} {path} {} {}ms bytes={} retry={attempt} limit={limit} {:?}",
                    resp.status().as_u16(),
                    started.elapsed().as_millis(),
                    http::header_str(resp.headers(), CONTENT_LENGTH).unwrap_or("-"),
                    resp.version(),
                );
                permit.finish(if http::overload_status(resp.status()) {
                    Signal::Overload
                } else {
                    Signal::Ok
                });
            }
            Err(e) => {
                tracing::info!(
                    target: "regtui::http",
                    "{method} {path} error {}ms retry={attempt} limit={limit}: {e}",
                    started.elapsed().as_millis()
                );
                permit.finish(match e {
                    Error::Timeout { .. } => Signal::Overload,
                    _ => Signal::Ignore,
                });
            }
        }
        r
    }

    /// Sends a request with auth. A 401 is answered with new credentials at most twice (first the
    /// challenge, then a renewed token if the registry rejected the one we sent). Reads (GET,
    /// HEAD) are retried on transient failures (connection errors, timeouts, 408, 429, 5xx) with
    /// backoff, and a `Retry-After` pauses the whole host; anything else (DELETE, PUT, POST) is
    /// sent exactly once. Reads follow redirects without credentials to other hosts; a 401/403
    /// from such a host is its own error and never teaches us a challenge.
    async fn send(
        &self,
        method: Method,
        url: &str,
        scope: &str,
        build: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
    ) -> Result<Response> {
        let read = http::is_read(&method);
        let mut header = self.auth.header_for(scope).await?;
        let mut answered = 0;
        let mut attempt = 0;
        loop {
            let r = self
                .once(&method, url, header.as_ref(), build, attempt)
                .await;
            // After a 421/426 or repeated GOAWAYs HTTP/1.1 takes over; only a read is sent again
            // (a DELETE, PUT or POST goes exactly once, whatever a proxy claims).
            if self.h2_misbehaves(&r) && read {
                continue;
            }
            let again = read
                && attempt + 1 < http::MAX_TRIES
                && match &r {
                    Ok(resp) => http::retryable_status(resp.status()),
                    Err(e) => e.is_transient(),
                };
            if again {
                let own_answer = r
                    .as_ref()
                    .is_ok_and(|resp| http::same_origin(resp.url().as_str(), &self.base));
                match r
                    .as_ref()
                    .ok()
                    .filter(|_| own_answer)
                    .and_then(|resp| http::retry_after(resp.headers()))
                    .filter(|d| !d.is_zero())
                {
                    Some(wait) => {
                        if self.host.pause(wait) {
                            tracing::warn!(
                                target: "regtui::notice",
                                "rate limited by the registry, retrying in {} s",
                                wait.min(http::MAX_PAUSE).as_secs().max(1)
                            );
                        }
                    }
                    None => tokio::time::sleep(http::backoff(attempt)).await,
                }
                attempt += 1;
                continue;
            }
            let resp = r?;
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

    /// Whether HTTP/2 just failed in a way that calls for HTTP/1.1 from now on: a 421 or 426
    /// answer, or the third GOAWAY/protocol error. Switches over when it does.
    fn h2_misbehaves(&self, r: &Result<Response>) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        if self.h1_only.load(Relaxed) {
            return false;
        }
        let switch = match r {
            Ok(resp) => {
                resp.version() == reqwest::Version::HTTP_2
                    && matches!(resp.status().as_u16(), 421 | 426)
            }
            Err(Error::Network { detail, .. })
                if detail.contains("GOAWAY") || detail.contains("h2 protocol error") =>
            {
                self.goaways.fetch_add(1, Relaxed) + 1 >= 3
            }
            Err(_) => false,
        };
        if switch {
            tracing::info!(target: "regtui::http", "{}: HTTP/2 misbehaves; using HTTP/1.1 from now on", self.name);
            self.h1_only.store(true, Relaxed);
        }
        switch
    }

    /// GETs `url` and reads its body (at most `limit` bytes); a body cut short is fetched again
    /// whole. A non-success status is an error naming `what`. Returns the headers and the body.
    async fn get_ok(
        &self,
        url: &str,
        scope: &str,
        build: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
        limit: u64,
        what: &str,
    ) -> Result<(reqwest::header::HeaderMap, Vec<u8>)> {
        let mut attempt = 0;
        loop {
            let resp = self.send(Method::GET, url, scope, build).await?;
            if !resp.status().is_success() {
                return Err(self.fail(resp, what, false).await);
            }
            let headers = resp.headers().clone();
            match read_limited(resp, limit, what, &self.name).await {
                Ok(body) => return Ok((headers, body)),
                Err(e) if e.is_transient() && attempt + 1 < http::MAX_TRIES => {
                    tracing::info!(target: "regtui::http", "GET {url}: body cut short ({e}); fetching it again");
                    tokio::time::sleep(http::backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Turns a non-success response into an error carrying the registry's message.
    async fn fail(&self, resp: Response, what: &str, is_delete: bool) -> Error {
        let status = resp.status().as_u16();
        let retry_after = http::retry_after(resp.headers()).map(|d| d.as_secs());
        let body = read_limited(resp, ERROR_BODY_LIMIT, "error body", &self.name)
            .await
            .unwrap_or_default();
        // Go's TLS server answers a plain-HTTP request with this 400.
        if status == 400
            && String::from_utf8_lossy(&body).contains("HTTP request to an HTTPS server")
        {
            return Error::TlsAdvice {
                registry: self.name.clone(),
                advice: format!(
                    "the registry speaks TLS on that port but was asked in plain HTTP: write \
                     https://{} in `registry`",
                    self.opts.addr.host
                ),
            };
        }
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
        // Hashes of the pages read (the URLs themselves could be long and many).
        let mut seen: std::collections::HashSet<[u8; 32]> = std::collections::HashSet::new();
        let mut budget = http::PageBudget::new(if what == "catalog" {
            "catalog".to_string()
        } else {
            format!("tags list of {what}")
        });
        loop {
            budget.add_bytes(url.len())?;
            if !seen.insert(<sha2::Sha256 as sha2::Digest>::digest(url.as_bytes()).into()) {
                return Err(Error::Invalid {
                    what: "Link header".into(),
                    detail: "pagination loops back to a page already read".into(),
                });
            }
            let (headers, body) = self.get_ok(&url, scope, &|rb| rb, LIST_LIMIT, what).await?;
            let next = header_str(&headers, LINK)
                .filter(|l| l.len() <= MAX_LINK)
                .and_then(next_link);
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
        let what = shown(repo, reference);
        let (headers, body) = self
            .get_ok(
                &url,
                &scope,
                &|rb| rb.header(ACCEPT, MANIFEST_ACCEPT),
                MANIFEST_LIMIT,
                &what,
            )
            .await?;
        let content_type = header_str(&headers, CONTENT_TYPE).map(str::to_string);
        let header_digest = header_str(&headers, "docker-content-digest").map(str::to_string);
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

    /// The upload URL a `Location` header names (on this registry only).
    fn upload_url(&self, resp: &Response) -> Result<String> {
        let location = header_str(resp.headers(), LOCATION).ok_or_else(|| Error::Invalid {
            what: "blob upload".into(),
            detail: "no Location header".into(),
        })?;
        if location.starts_with('/') {
            Ok(self.url(location))
        } else {
            self.resolve_link(location)
        }
    }

    /// Starts an upload session; returns its URL and the registry's smallest chunk, if it says.
    async fn start_upload(&self, repo: &str) -> Result<(String, Option<u64>)> {
        let start = self
            .send(
                Method::POST,
                &self.url(&format!("/v2/{repo}/blobs/uploads/")),
                &push_scope(repo),
                &|rb| rb.header(reqwest::header::CONTENT_LENGTH, "0"),
            )
            .await?;
        if start.status() != StatusCode::ACCEPTED {
            return Err(self.fail(start, "blob upload", false).await);
        }
        let min = header_str(start.headers(), "oci-chunk-min-length").and_then(|v| v.parse().ok());
        Ok((self.upload_url(&start)?, min))
    }

    /// Cancels an upload session (best effort).
    async fn cancel_upload(&self, repo: &str, url: &str) {
        let _ = self
            .send(Method::DELETE, url, &push_scope(repo), &|rb| rb)
            .await;
    }

    /// Streams `data` into a new upload session and commits it as `blob`; the session is
    /// cancelled when anything fails. Small blobs go in one PUT, large ones in PATCH chunks.
    async fn upload_stream(
        &self,
        repo: &str,
        blob: &Desc,
        mut data: super::ByteStream,
    ) -> Result<()> {
        use futures_util::StreamExt;
        use sha2::Digest as _;
        let (mut url, min_chunk) = self.start_upload(repo).await?;
        let chunk_size = min_chunk.unwrap_or(0).max(CHUNK) as usize;
        let scope = push_scope(repo);
        let mut hasher = sha2::Sha256::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut sent = 0u64;
        let result: Result<()> = async {
            loop {
                let next = data.next().await.transpose()?;
                if let Some(c) = &next {
                    hasher.update(c);
                    buf.extend_from_slice(c);
                }
                let last = next.is_none();
                if buf.len() >= chunk_size || (last && sent > 0 && !buf.is_empty()) {
                    let body = bytes_of(std::mem::take(&mut buf));
                    let end = sent + body.len() as u64;
                    let range = format!("{sent}-{}", end.saturating_sub(1));
                    let resp = self
                        .send(Method::PATCH, &url, &scope, &|rb| {
                            rb.header(CONTENT_TYPE, "application/octet-stream")
                                .header("content-range", range.clone())
                                .body(body.clone())
                        })
                        .await?;
                    if resp.status() != StatusCode::ACCEPTED {
                        return Err(self.fail(resp, "blob upload (chunk)", false).await);
                    }
                    url = self.upload_url(&resp)?;
                    sent = end;
                }
                if last {
                    break;
                }
            }
            let actual = format!("sha256:{:x}", hasher.finalize_reset());
            if actual != blob.digest {
                return Err(Error::DigestMismatch {
                    expected: blob.digest.clone(),
                    actual,
                });
            }
            let mut put = url.clone();
            put.push(if put.contains('?') { '&' } else { '?' });
            put.push_str("digest=");
            put.push_str(&blob.digest);
            let body = bytes_of(std::mem::take(&mut buf));
            let resp = self
                .send(Method::PUT, &put, &scope, &|rb| {
                    rb.header(CONTENT_TYPE, "application/octet-stream")
                        .body(body.clone())
                })
                .await?;
            if resp.status() != StatusCode::CREATED {
                return Err(self.fail(resp, "blob upload", false).await);
            }
            Ok(())
        }
        .await;
        if result.is_err() {
            self.cancel_upload(repo, &url).await;
        }
        result
    }

    /// Uploads a blob (POST then PUT with the digest).
    pub async fn push_blob(&self, repo: &str, data: Vec<u8>) -> Result<String> {
        let d = digest::sha256(&data);
        let scope = push_scope(repo);
        let (mut upload, _) = self.start_upload(repo).await?;
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
            pull_dates: false,
            login: true,
            ..Default::default()
        }
    }

    fn status_note(&self) -> Option<String> {
        match (self.pause_note(), self.rate_limit()) {
            (Some(p), Some(r)) => Some(format!("{p} · {r}")),
            (p, r) => p.or(r),
        }
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
            let extract = |b: &[u8]| {
                let page: CatalogPage = serde_json::from_slice(b).map_err(|e| Error::Invalid {
                    what: "catalog page".into(),
                    detail: e.to_string(),
                })?;
                Ok(page.repositories.unwrap_or_default())
            };
            let first = self.url(&format!("/v2/_catalog?n={}", self.page_size()));
            let mut pages = 0usize;
            let mut counting = |page: Vec<String>| {
                pages += 1;
                sink(page)
            };
            let r = self
                .paginate(
                    first,
                    "registry:catalog:*",
                    "catalog",
                    &mut counting,
                    extract,
                )
                .await;
            match r {
                // `catalog.maxentries` below our page size: let the registry pick its own.
                Err(e) if pages == 0 && e.code() == Some("PAGINATION_NUMBER_INVALID") => {
                    tracing::info!(target: "regtui::http", "catalog refused n={}: paging with the registry's own size", self.page_size());
                    let first = self.url("/v2/_catalog");
                    self.paginate(first, "registry:catalog:*", "catalog", sink, extract)
                        .await
                }
                r => r,
            }
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
            let what = format!("config blob {repo}@{}", config.digest);
            let (_, body) = self
                .get_ok(&url, &pull_scope(repo), &|rb| rb, CONFIG_LIMIT, &what)
                .await?;
            digest::verify(&config.digest, &body)?;
            let c = Arc::new(parse::config(&body)?);
            self.cache.put_config(&config.digest, c.clone());
            Ok(c)
        })
    }

    fn has_blob<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, bool> {
        Box::pin(async move {
            validate_repository(repo)?;
            digest::validate(digest)?;
            let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
            let resp = self
                .send(Method::HEAD, &url, &push_scope(repo), &|rb| rb)
                .await?;
            match resp.status().as_u16() {
                200..=299 => Ok(true),
                404 => Ok(false),
                _ => Err(self
                    .fail(resp, &format!("blob {repo}@{digest}"), false)
                    .await),
            }
        })
    }

    fn mount_blob<'a>(&'a self, repo: &'a str, digest: &'a str, from: &'a str) -> BoxFut<'a, bool> {
        Box::pin(async move {
            validate_repository(repo)?;
            validate_repository(from)?;
            digest::validate(digest)?;
            let scope = format!("{} repository:{from}:pull", push_scope(repo));
            let url = self.url(&format!(
                "/v2/{repo}/blobs/uploads/?mount={digest}&from={from}"
            ));
            let resp = self
                .send(Method::POST, &url, &scope, &|rb| {
                    rb.header(reqwest::header::CONTENT_LENGTH, "0")
                })
                .await?;
            match resp.status().as_u16() {
                201 => Ok(true),
                // Declined: the registry opened a plain upload session instead; close it.
                202 => {
                    if let Ok(u) = self.upload_url(&resp) {
                        self.cancel_upload(repo, &u).await;
                    }
                    Ok(false)
                }
                _ => Err(self.fail(resp, "blob mount", false).await),
            }
        })
    }

    fn upload_blob<'a>(
        &'a self,
        repo: &'a str,
        blob: &'a Desc,
        data: super::ByteStream,
    ) -> BoxFut<'a, ()> {
        Box::pin(async move {
            validate_repository(repo)?;
            digest::validate(&blob.digest)?;
            self.upload_stream(repo, blob, data).await
        })
    }

    fn put_manifest_raw<'a>(
        &'a self,
        repo: &'a str,
        reference: &'a str,
        media_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFut<'a, String> {
        Box::pin(self.put_manifest(repo, reference, media_type, body))
    }

    fn blob_stream<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, super::ByteStream> {
        Box::pin(async move {
            validate_repository(repo)?;
            digest::validate(digest)?;
            let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
            let resp = self
                .send(Method::GET, &url, &pull_scope(repo), &|rb| rb)
                .await?;
            if !resp.status().is_success() {
                return Err(self
                    .fail(resp, &format!("blob {repo}@{digest}"), false)
                    .await);
            }
            let name = self.name.clone();
            let s = futures_util::stream::unfold(Some(resp), move |resp| {
                let name = name.clone();
                async move {
                    let mut resp = resp?;
                    match resp.chunk().await {
                        Ok(Some(c)) => Some((Ok(c), Some(resp))),
                        Ok(None) => None,
                        Err(e) => Some((Err(Error::from_transport(&name, &e)), None)),
                    }
                }
            });
            Ok(Box::pin(s) as super::ByteStream)
        })
    }

    fn referrers_api<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            validate_repository(repo)?;
            digest::validate(digest)?;
            if self.no_referrers_api.lock().unwrap().contains(repo) {
                return Ok(None);
            }
            let url = self.url(&format!("/v2/{repo}/referrers/{digest}"));
            let resp = self
                .send(Method::GET, &url, &pull_scope(repo), &|rb| {
                    rb.header(ACCEPT, OCI_INDEX)
                })
                .await?;
            let ct = header_str(resp.headers(), CONTENT_TYPE).unwrap_or("");
            // No API: 404 (distribution 2.x, GHCR), 405 (ECR for an index subject), or
            // something that is not an index. Remembered per repository, as oras does.
            if matches!(resp.status().as_u16(), 404 | 405)
                || (resp.status().is_success() && !ct.starts_with(OCI_INDEX))
            {
                self.no_referrers_api
                    .lock()
                    .unwrap()
                    .insert(repo.to_string());
                return Ok(None);
            }
            if !resp.status().is_success() {
                return Err(self
                    .fail(resp, &format!("referrers of {repo}@{digest}"), false)
                    .await);
            }
            Ok(Some(
                read_limited(resp, MANIFEST_LIMIT, "referrers index", &self.name).await?,
            ))
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
