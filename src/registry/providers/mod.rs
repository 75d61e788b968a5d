//! Cloud registries whose own API does what v2 cannot (listing, sizes and dates in bulk,
//! deletes): [`ProviderApi`] for that part, v2 ([`Distribution`]) for manifests and configs.

pub mod acr;
pub mod detect;
pub mod dockerhub;
pub mod ecr;
pub mod gar;
pub mod ghcr;
pub mod gitlab;
pub mod harbor;

use std::sync::Arc;

use reqwest::header::HeaderValue;
use serde::de::DeserializeOwned;

use super::auth::{Credential, Secret};
use super::connect::{ConnectOptions, Notes, annotate};
use super::distribution::Distribution;
pub use super::http::PageBudget;
use super::http::{next_link, read_limited};
use super::model::{ConfigSummary, Desc, Manifest, TagDeleteMethod, TagRow};
use super::{Backend, BackendInfo, BoxFut, Capabilities, DateSource, Error, PageSink, Result};

/// Every kind of registry a profile can name with `kind = "…"`: the one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Any OCI distribution v2 registry.
    #[default]
    Distribution,
    /// AWS ECR: the ECR API (aws-sdk-ecr) plus v2.
    Ecr,
    /// GitHub Container Registry: the GitHub packages API plus v2.
    Ghcr,
    /// Docker Hub: the Hub API plus v2 on registry-1.docker.io.
    Dockerhub,
    /// Google Artifact Registry (and gcr.io): v2 with Google's tags/list extension.
    Gar,
    /// Azure Container Registry: v2 plus ACR's /acr/v1 API.
    Acr,
    /// GitLab's container registry: the GitLab REST API plus v2.
    Gitlab,
    /// Harbor: its /api/v2.0 plus v2.
    Harbor,
}

impl Kind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [Kind; 8] = [
        Kind::Distribution,
        Kind::Ecr,
        Kind::Ghcr,
        Kind::Dockerhub,
        Kind::Gar,
        Kind::Acr,
        Kind::Gitlab,
        Kind::Harbor,
    ];

    /// The name used in config files (`kind = "ecr"`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Distribution => "distribution",
            Kind::Ecr => "ecr",
            Kind::Ghcr => "ghcr",
            Kind::Dockerhub => "dockerhub",
            Kind::Gar => "gar",
            Kind::Acr => "acr",
            Kind::Gitlab => "gitlab",
            Kind::Harbor => "harbor",
        }
    }

    /// The keys only this kind has.
    pub fn own_keys(self) -> &'static [&'static str] {
        match self {
            Kind::Distribution => &[],
            Kind::Ecr => ecr::Keys::NAMES,
            Kind::Ghcr => ghcr::Keys::NAMES,
            Kind::Dockerhub => dockerhub::Keys::NAMES,
            Kind::Gar => gar::Keys::NAMES,
            Kind::Acr => acr::Keys::NAMES,
            Kind::Gitlab => gitlab::Keys::NAMES,
            Kind::Harbor => harbor::Keys::NAMES,
        }
    }

    /// Whether a profile of this kind may set a password source without a username (GHCR and
    /// GitLab tokens need none).
    pub fn needs_username(self) -> bool {
        !matches!(self, Kind::Ghcr | Kind::Gitlab)
    }

    /// Whether a profile of this kind must name its `registry` (the others have a default).
    pub fn needs_registry(self) -> bool {
        matches!(
            self,
            Kind::Distribution | Kind::Gar | Kind::Acr | Kind::Gitlab | Kind::Harbor
        )
    }

    /// The provider that serves `host` (`host[:port]`) by its name alone, for an ad-hoc
    /// `--registry` or a `distribution` profile (ACR, Artifact Registry).
    pub fn detect(host: &str) -> Option<Kind> {
        if acr::serves(host) {
            Some(Kind::Acr)
        } else if gar::serves(host) {
            Some(Kind::Gar)
        } else {
            None
        }
    }
}

/// A profile's kind with the keys that belong to it. Each provider's keys struct denies keys it
/// does not know, so a key of another kind is refused by serde.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KindKeys {
    #[default]
    Distribution,
    Ecr(ecr::Keys),
    Ghcr(ghcr::Keys),
    Dockerhub(dockerhub::Keys),
    Gar(gar::Keys),
    Acr(acr::Keys),
    Gitlab(gitlab::Keys),
    Harbor(harbor::Keys),
}

/// A distribution profile has no keys of its own.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoKeys {}

impl KindKeys {
    /// Reads the keys of `kind` (only those: the common keys are taken out before).
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        kind: Kind,
        d: D,
    ) -> std::result::Result<Self, D::Error> {
        use serde::Deserialize as _;
        Ok(match kind {
            Kind::Distribution => {
                NoKeys::deserialize(d)?;
                KindKeys::Distribution
            }
            Kind::Ecr => KindKeys::Ecr(ecr::Keys::deserialize(d)?),
            Kind::Ghcr => KindKeys::Ghcr(ghcr::Keys::deserialize(d)?),
            Kind::Dockerhub => KindKeys::Dockerhub(dockerhub::Keys::deserialize(d)?),
            Kind::Gar => KindKeys::Gar(gar::Keys::deserialize(d)?),
            Kind::Acr => KindKeys::Acr(acr::Keys::deserialize(d)?),
            Kind::Gitlab => KindKeys::Gitlab(gitlab::Keys::deserialize(d)?),
            Kind::Harbor => KindKeys::Harbor(harbor::Keys::deserialize(d)?),
        })
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            KindKeys::Distribution => Kind::Distribution,
            KindKeys::Ecr(_) => Kind::Ecr,
            KindKeys::Ghcr(_) => Kind::Ghcr,
            KindKeys::Dockerhub(_) => Kind::Dockerhub,
            KindKeys::Gar(_) => Kind::Gar,
            KindKeys::Acr(_) => Kind::Acr,
            KindKeys::Gitlab(_) => Kind::Gitlab,
            KindKeys::Harbor(_) => Kind::Harbor,
        }
    }

    /// `(key, why)` when the kind's keys do not make sense.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        match self {
            KindKeys::Distribution => Ok(()),
            KindKeys::Ecr(k) => k.check(),
            KindKeys::Ghcr(k) => k.check(),
            KindKeys::Dockerhub(k) => k.check(),
            KindKeys::Gar(k) => k.check(),
            KindKeys::Acr(k) => k.check(),
            KindKeys::Gitlab(k) => k.check(),
            KindKeys::Harbor(k) => k.check(),
        }
    }

    /// Whether a profile without `registry` serves `host` (`host[:port]`): `None` when that is
    /// only known after connecting (ECR).
    pub fn serves_host_by_default(&self, host: &str) -> Option<bool> {
        match self {
            KindKeys::Distribution
            | KindKeys::Gar(_)
            | KindKeys::Acr(_)
            | KindKeys::Gitlab(_)
            | KindKeys::Harbor(_) => Some(false),
            KindKeys::Ghcr(_) => Some(host == "ghcr.io"),
            KindKeys::Dockerhub(_) => Some(host == super::reference::HUB_HOST),
            KindKeys::Ecr(k) => k.may_serve(host),
        }
    }

    /// Connects: credentials as the kind resolves them (`given` replaces them: a login); what
    /// resolving them found (the source, a warning) goes into the backend's info.
    pub fn connect(
        &self,
        opts: &ConnectOptions,
        given: Option<Credential>,
    ) -> Result<Arc<dyn Backend>> {
        let mut notes = Notes::default();
        let mut detected = None;
        let backend: Arc<dyn Backend> = match self {
            // A host only one provider serves gets that provider (said in the status line).
            KindKeys::Distribution if Kind::detect(&opts.addr(None)?.host).is_some() => {
                let kind = Kind::detect(&opts.addr(None)?.host).unwrap_or_default();
                detected = Some(kind);
                match kind {
                    Kind::Acr => acr::connect(&acr::Keys::default(), opts, given, &mut notes)?,
                    _ => gar::connect(&gar::Keys::default(), opts, given, &mut notes)?,
                }
            }
            KindKeys::Distribution => {
                let addr = opts.addr(None)?;
                if addr.host == gitlab::GITLAB_COM_REGISTRY {
                    let b = gitlab::connect(&gitlab::autodetected(), opts, given, &mut notes)?;
                    let said = format!(
                        "{}: using the GitLab provider (autodetected; set kind = \"gitlab\" with \
                         group or project to list repositories)",
                        addr.host
                    );
                    notes.warning = Some(match notes.warning.take() {
                        Some(w) => format!("{w}; {said}"),
                        None => said,
                    });
                    return Ok(annotate(b, notes));
                }
                let key = addr.credential_key();
                let credential = opts.credential(&opts.secrets, &key, given, &mut notes)?;
                let ping_url = format!("{}/api/v2.0/ping", addr.base_url());
                let v2 = opts.v2_options(addr, credential.clone())?;
                let http = harbor::api_client(v2.insecure, v2.ca_pem.as_deref())?;
                let plain: Arc<dyn Backend> = Arc::new(Distribution::new(v2)?);
                // Built now (no request), used only if the server turns out to be Harbor.
                let harbor = harbor::connect(
                    &harbor::Keys::default(),
                    opts,
                    Some(credential),
                    &mut Notes::default(),
                )?;
                Arc::new(detect::Detect::new(plain, harbor, ping_url, http))
            }
            KindKeys::Ghcr(k) => ghcr::connect(k, opts, given, &mut notes)?,
            KindKeys::Dockerhub(k) => dockerhub::connect(k, opts, given, &mut notes)?,
            KindKeys::Gitlab(k) => gitlab::connect(k, opts, given, &mut notes)?,
            KindKeys::Harbor(k) => harbor::connect(k, opts, given, &mut notes)?,
            KindKeys::Ecr(k) => ecr::connect(k, opts)?,
            KindKeys::Gar(k) => gar::connect(k, opts, given, &mut notes)?,
            KindKeys::Acr(k) => acr::connect(k, opts, given, &mut notes)?,
        };
        if let Some(kind) = detected {
            let note = format!(
                "detected {}: using kind = \"{}\" (set kind in the profile to silence this)",
                backend.info().registry,
                kind.name()
            );
            notes.warning = Some(match notes.warning.take() {
                Some(w) => format!("{note}; {w}"),
                None => note,
            });
        }
        Ok(annotate(backend, notes))
    }
}

/// Largest provider API page we read.
const API_BODY_LIMIT: u64 = 16 * 1024 * 1024;

/// What a provider's API adds to v2. Manifests and configs always come from [`ProviderApi::v2`].
pub trait ProviderApi: Send + Sync {
    /// `ecr`, `ghcr`, `dockerhub`.
    fn kind(&self) -> &'static str;
    /// How to show the registry.
    fn label(&self) -> String;
    /// `host[:port]` of the v2 endpoint, for pull references.
    fn host(&self) -> String;
    /// Who we are (never the secret).
    fn auth(&self) -> String;
    fn capabilities(&self) -> Capabilities;
    /// Whether the login dialog can give it credentials (not when they come from elsewhere).
    fn accepts_login(&self) -> bool {
        true
    }
    /// The v2 client for manifests and configs (ECR renews its token here).
    fn v2(&self) -> BoxFut<'_, Arc<Distribution>>;
    /// Streams repository names.
    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()>;
    /// Every tag of `repo`, with what the API knows about it (size 0 when it does not know).
    fn tags<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Vec<TagRow>>;
    /// Tag names alone, when the service lists them more cheaply than [`ProviderApi::tags`]
    /// (GitLab: names in pages, details one request per tag); `None` uses `tags`.
    fn tag_names<'a>(&'a self, _repo: &'a str) -> Option<BoxFut<'a, Vec<String>>> {
        None
    }
    /// True when [`ProviderApi::tags`] gives sizes, so v2 need not be asked tag by tag.
    fn has_sizes(&self) -> bool;
    /// True when the details come one request per tag ([`ProviderApi::tag_detail`]): the tags
    /// pane then fetches them lazily, rows in view first, instead of calling `tags`.
    fn details_per_tag(&self) -> bool {
        false
    }
    /// Referrers the API records for `digest` (Harbor's accessories).
    fn referrers<'a>(
        &'a self,
        _repo: &'a str,
        _digest: &'a str,
    ) -> BoxFut<'a, Vec<super::referrers::Referrer>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// One tag's row from the API (only called when [`ProviderApi::details_per_tag`]).
    fn tag_detail<'a>(&'a self, _repo: &'a str, _tag: &'a str) -> BoxFut<'a, Option<TagRow>> {
        Box::pin(async { Ok(None) })
    }
    /// Deletes a manifest with its tags (only called when `capabilities().delete_digest`).
    fn delete_manifest<'a>(&'a self, _repo: &'a str, _digest: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move { Err(Error::Unsupported(self.why_no_digest_delete())) })
    }
    /// Removes one tag (only called when `capabilities().delete_tag`).
    fn delete_tag<'a>(&'a self, _repo: &'a str, _tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        Box::pin(async move { Err(Error::Unsupported(self.why_no_tag_delete())) })
    }
    /// Whether [`ProviderApi::tags`] fills `TagRow::pulled` (the service records pulls).
    fn pull_dates(&self) -> bool {
        false
    }
    /// Rewrites a v2 error in the provider's terms (e.g. a refused ECR token).
    fn v2_error(&self, e: Error) -> Error {
        e
    }
    /// Why digest deletes are not offered, when they are not.
    fn why_no_digest_delete(&self) -> String {
        format!("{} cannot delete manifests by digest", self.label())
    }
    /// Why tag-only deletes are not offered, when they are not.
    fn why_no_tag_delete(&self) -> String {
        format!("{} cannot remove a single tag", self.label())
    }
}

/// A provider: its API plus v2, as one [`Backend`].
pub struct Provider<A> {
    pub api: A,
    /// The v2 client of the last call, for the status note.
    last_v2: std::sync::Mutex<Option<Arc<Distribution>>>,
    /// The last tag listing per repository: reused for details right after a listing, and the
    /// source of push dates for rows v2 fills in.
    recent: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, Vec<TagRow>)>>,
}

/// How long a tag listing is reused for the details that follow it.
const RECENT: std::time::Duration = std::time::Duration::from_secs(30);

impl<A: ProviderApi> Provider<A> {
    /// Wraps a provider API.
    pub fn new(api: A) -> Self {
        Provider {
            api,
            last_v2: Default::default(),
            recent: Default::default(),
        }
    }

    async fn v2(&self) -> Result<Arc<Distribution>> {
        let d = self.api.v2().await?;
        *self.last_v2.lock().unwrap() = Some(d.clone());
        Ok(d)
    }

    async fn rows(&self, repo: &str) -> Result<Vec<TagRow>> {
        let rows = self.api.tags(repo).await?;
        self.recent
            .lock()
            .unwrap()
            .insert(repo.to_string(), (std::time::Instant::now(), rows.clone()));
        Ok(rows)
    }
}

impl<A: ProviderApi> Backend for Provider<A> {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: self.api.kind(),
            registry: self.api.label(),
            host: self.api.host(),
            auth: self.api.auth(),
            capabilities: self.api.capabilities(),
            warning: None,
            no_tag_delete: (!self.api.capabilities().delete_tag)
                .then(|| self.api.why_no_tag_delete()),
            no_digest_delete: (!self.api.capabilities().delete_digest)
                .then(|| self.api.why_no_digest_delete()),
            date_source: DateSource::Pushed,
            needs_gc: false,
            pull_dates: self.api.pull_dates(),
            login: self.api.accepts_login(),
            credential_source: None,
        }
    }

    fn ping(&self) -> BoxFut<'_, ()> {
        Box::pin(async move {
            let r = self.v2().await?.ping().await;
            r.map_err(|e| self.api.v2_error(e))
        })
    }

    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        self.api.list_repos(sink)
    }

    fn list_tags<'a>(&'a self, repo: &'a str, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move {
            if let Some(names) = self.api.tag_names(repo) {
                sink(names.await?);
                return Ok(());
            }
            let rows = self.rows(repo).await?;
            sink(rows.into_iter().map(|r| r.tag).collect());
            Ok(())
        })
    }

    fn get_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Arc<Manifest>> {
        Box::pin(async move {
            let r = self.v2().await?.get_manifest(repo, reference).await;
            r.map_err(|e| self.api.v2_error(e))
        })
    }

    fn head_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Desc> {
        Box::pin(async move {
            let r = self.v2().await?.head_manifest(repo, reference).await;
            r.map_err(|e| self.api.v2_error(e))
        })
    }

    fn get_config<'a>(&'a self, repo: &'a str, config: &'a Desc) -> BoxFut<'a, Arc<ConfigSummary>> {
        Box::pin(async move {
            let r = self.v2().await?.get_config(repo, config).await;
            r.map_err(|e| self.api.v2_error(e))
        })
    }

    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()> {
        if !self.api.capabilities().delete_digest {
            return Box::pin(
                async move { Err(Error::Unsupported(self.api.why_no_digest_delete())) },
            );
        }
        self.api.delete_manifest(repo, digest)
    }

    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        if !self.api.capabilities().delete_tag {
            return Box::pin(async move { Err(Error::Unsupported(self.api.why_no_tag_delete())) });
        }
        self.api.delete_tag(repo, tag)
    }

    /// Asks the provider's own listing (fresh), which is what its deletes change: a tag by name,
    /// a digest by any tag still on it.
    fn exists<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Option<String>> {
        Box::pin(async move {
            let rows = self.rows(repo).await?;
            Ok(rows
                .into_iter()
                .find(|r| r.tag == reference || r.digest == reference)
                .map(|r| r.digest))
        })
    }

    fn bulk_rows<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Option<Vec<TagRow>>> {
        Box::pin(async move {
            // A per-tag provider's `tags` costs a request per tag: not a bulk listing.
            if !self.api.has_sizes() || self.api.details_per_tag() {
                return Ok(None);
            }
            let cached = self
                .recent
                .lock()
                .unwrap()
                .get(repo)
                .filter(|(at, _)| at.elapsed() < RECENT)
                .map(|(_, rows)| rows.clone());
            match cached {
                Some(rows) => Ok(Some(rows)),
                None => Ok(Some(self.rows(repo).await?)),
            }
        })
    }

    fn details_per_tag(&self) -> bool {
        self.api.details_per_tag()
    }

    fn provider_referrers<'a>(
        &'a self,
        repo: &'a str,
        digest: &'a str,
    ) -> BoxFut<'a, Vec<super::referrers::Referrer>> {
        self.api.referrers(repo, digest)
    }

    fn tag_detail<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, Option<TagRow>> {
        if !self.api.details_per_tag() {
            return Box::pin(async { Ok(None) });
        }
        self.api.tag_detail(repo, tag)
    }

    fn pushed_at(&self, repo: &str, tag: &str) -> Option<String> {
        let recent = self.recent.lock().unwrap();
        let (_, rows) = recent.get(repo)?;
        rows.iter().find(|r| r.tag == tag)?.pushed.clone()
    }

    fn has_blob<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, bool> {
        Box::pin(async move {
            let r = self.v2().await?.has_blob(repo, digest).await;
            r.map_err(|e| self.api.v2_error(e))
        })
    }

    fn mount_blob<'a>(&'a self, repo: &'a str, digest: &'a str, from: &'a str) -> BoxFut<'a, bool> {
        Box::pin(async move {
            let r = self.v2().await?.mount_blob(repo, digest, from).await;
            r.map_err(|e| self.api.v2_error(e))
        })
    }

    fn upload_blob<'a>(
        &'a self,
        repo: &'a str,
        blob: &'a Desc,
        data: super::ByteStream,
    ) -> BoxFut<'a, ()> {
        Box::pin(async move {
            let r = self.v2().await?.upload_blob(repo, blob, data).await;
            r.map_err(|e| self.api.v2_error(e))
        })
    }

    fn put_manifest_raw<'a>(
        &'a self,
        repo: &'a str,
        reference: &'a str,
        media_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFut<'a, String> {
        Box::pin(async move {
            let r = self
                .v2()
                .await?
                .put_manifest_raw(repo, reference, media_type, body)
                .await;
            r.map_err(|e| self.api.v2_error(e))
        })
    }

    fn blob_stream<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, super::ByteStream> {
        Box::pin(async move {
            let r = self.v2().await?.blob_stream(repo, digest).await;
            r.map_err(|e| self.api.v2_error(e))
        })
    }

    fn referrers_api<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let r = self.v2().await?.referrers_api(repo, digest).await;
            r.map_err(|e| self.api.v2_error(e))
        })
    }

    fn status_note(&self) -> Option<String> {
        self.last_v2.lock().unwrap().as_ref()?.status_note()
    }
}

/// How a [`Rest`] API's token is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenHeader {
    /// `Authorization: Bearer <token>`.
    #[default]
    Bearer,
    /// `Authorization: Basic <token>` (the token is base64 of `user:password`).
    Basic,
    /// A header of its own, e.g. GitLab's `PRIVATE-TOKEN`.
    Named(&'static str),
}

/// A JSON REST API with bearer auth, `Link` pagination, bounded bodies and user-facing errors.
#[derive(Clone)]
pub struct Rest {
    pub http: reqwest::Client,
    /// `GitHub API`, `Docker Hub API`: names the service in errors.
    pub service: &'static str,
    /// Base URL without a trailing slash.
    pub base: String,
    /// Sent as `token_header` says when set.
    pub token: Option<Secret>,
    /// How `token` is sent.
    pub token_header: TokenHeader,
    /// Extra headers (`Accept`, API version).
    pub headers: Vec<(&'static str, &'static str)>,
    /// What to tell the user on 401/403 (e.g. the token scopes needed).
    pub auth_hint: &'static str,
}

impl Rest {
    /// An HTTP client with the timeouts and TLS setup every provider API uses.
    pub fn client() -> Result<reqwest::Client> {
        reqwest::Client::builder()
            .user_agent(concat!("regtui/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(30))
            // Followed by hand in `send` (reads only, the token only to the API's origin); a
            // login POST or a DELETE answered with a redirect is never sent elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot set up HTTP client: {e}")))
    }

    /// `base + path` (a path starting with `/`), or an absolute URL on the same base.
    pub fn url(&self, path_or_url: &str) -> Result<String> {
        if path_or_url.starts_with('/') {
            Ok(format!("{}{path_or_url}", self.base))
        } else if path_or_url.starts_with(&format!("{}/", self.base)) {
            Ok(path_or_url.to_string())
        } else {
            Err(Error::Invalid {
                what: format!("{} pagination link", self.service),
                detail: "the next page points to another host".into(),
            })
        }
    }

    /// `Authorization: Bearer …` (or `Basic …`) when a token is set.
    fn auth_header(&self) -> Option<HeaderValue> {
        let t = self.token.as_ref()?;
        let text = match self.token_header {
            TokenHeader::Bearer => format!("Bearer {}", t.expose()),
            TokenHeader::Basic => format!("Basic {}", t.expose()),
            TokenHeader::Named(_) => return None,
        };
        let mut v = HeaderValue::from_str(&text).ok()?;
        v.set_sensitive(true);
        Some(v)
    }

    /// The token as a header of its own (`PRIVATE-TOKEN: …`), when `token_header` says so.
    fn named_token(&self) -> Option<(&'static str, HeaderValue)> {
        let TokenHeader::Named(name) = self.token_header else {
            return None;
        };
        let mut v = HeaderValue::from_str(self.token.as_ref()?.expose()).ok()?;
        v.set_sensitive(true);
        Some((name, v))
    }

    /// Sends and maps a non-success status to an error naming `what`.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        what: &str,
    ) -> Result<reqwest::Response> {
        // Reads are retried on transient failures, as for v2; anything else goes once.
        let read = super::http::is_read(&method);
        let mut attempt = 0;
        let resp = loop {
            let auth = self.auth_header();
            let headers = &self.headers;
            // A token in a header of its own goes only to the API's origin, like Authorization.
            let named = self
                .named_token()
                .filter(|_| super::http::same_origin(url, &self.base));
            let r = super::http::send_following(
                &self.http,
                method.clone(),
                url,
                auth.as_ref(),
                &self.base,
                self.service,
                &|rb| {
                    let rb = headers.iter().fold(rb, |rb, (k, v)| rb.header(*k, *v));
                    match &named {
                        Some((k, v)) => rb.header(*k, v.clone()),
                        None => rb,
                    }
                },
            )
            .await;
            let again = read
                && attempt + 1 < super::http::MAX_TRIES
                && match &r {
                    Ok(resp) => super::http::retryable_status(resp.status()),
                    Err(e) => e.is_transient(),
                };
            if !again {
                break r?;
            }
            let wait = r
                .as_ref()
                .ok()
                .and_then(|resp| super::http::retry_after(resp.headers()))
                .map(|d| d.min(super::http::MAX_PAUSE))
                .unwrap_or_else(|| super::http::backoff(attempt));
            tracing::info!(target: "regtui::http", "{} {url}: trying again in {wait:?}", self.service);
            tokio::time::sleep(wait).await;
            attempt += 1;
        };
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let body = read_limited(resp, 64 * 1024, "error body", self.service)
            .await
            .unwrap_or_default();
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.get("message")
                    .or_else(|| v.get("detail"))
                    .or_else(|| v.get("error"))
                    .or_else(|| v.pointer("/errors/0/message"))
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
        let hint = match status {
            401 | 403 => self.auth_hint.to_string(),
            404 => format!("{what} not found, or not visible to this token"),
            429 => "rate limited; wait before retrying".to_string(),
            _ => String::new(),
        };
        Err(Error::Provider {
            service: self.service.to_string(),
            status: Some(status),
            message: format!("{what}: {message}"),
            hint,
        })
    }

    /// GETs one JSON page, counted in `budget`; returns it and the `Link: rel="next"` URL, if any.
    pub async fn get_page<T: DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
        budget: &mut PageBudget,
    ) -> Result<(T, Option<String>)> {
        let resp = self.send(reqwest::Method::GET, url, what).await?;
        let next = resp
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(next_link);
        let body = read_limited(resp, API_BODY_LIMIT, what, self.service).await?;
        budget.take(0, body.len())?;
        let v = serde_json::from_slice(&body).map_err(|e| Error::Invalid {
            what: format!("{} {what}", self.service),
            detail: e.to_string(),
        })?;
        Ok((v, next))
    }
}

/// Percent-encodes one path segment (GitHub package names contain `/`).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Builds a provider's v2 client from a credential.
pub type MakeV2 = dyn Fn(Credential) -> Result<Distribution> + Send + Sync;
/// Resolves the profile's credential again (may run `password_command` or a docker helper).
pub type Resolve = dyn Fn() -> Result<Credential> + Send + Sync;
/// Turns a freshly resolved credential into the one the v2 client takes, over the network
/// (ACR's Entra ID exchange): awaited on the runtime, never blocking one of its threads.
pub type Prepare = dyn Fn(Credential) -> BoxFut<'static, Credential> + Send + Sync;

/// The v2 client of a provider whose secret is a short-lived access token printed by a command
/// (`gcloud auth print-access-token`: an hour; `az acr login --expose-token`: three): once
/// `max_age` has passed it is rebuilt with the credential resolved again, so the command runs
/// again before the token runs out. Credentials that do not expire are kept.
pub struct RenewingV2 {
    make: Arc<MakeV2>,
    resolve: Option<Arc<Resolve>>,
    prepare: Option<Arc<Prepare>>,
    max_age: std::time::Duration,
    current: tokio::sync::Mutex<(Arc<Distribution>, std::time::Instant)>,
    /// How many times the credential was resolved again.
    pub renewals: std::sync::atomic::AtomicUsize,
}

impl RenewingV2 {
    /// A client from `credential`; `resolve` (when the secret expires) gives the next one.
    pub fn new(
        credential: Credential,
        make: Arc<MakeV2>,
        resolve: Option<Arc<Resolve>>,
        max_age: std::time::Duration,
    ) -> Result<Self> {
        let first = Arc::new(make(credential)?);
        Ok(RenewingV2 {
            make,
            resolve,
            prepare: None,
            max_age,
            current: tokio::sync::Mutex::new((first, std::time::Instant::now())),
            renewals: Default::default(),
        })
    }

    /// Renewed credentials go through `prepare` (async) before `make` (the first one is the
    /// caller's to prepare).
    pub fn with_prepare(mut self, prepare: Arc<Prepare>) -> Self {
        self.prepare = Some(prepare);
        self
    }

    /// Whether a profile's secret is one that expires: it comes from `password_command` or from
    /// docker's helpers rather than a fixed password (and not from a login).
    pub fn expires(secrets: &super::credentials::ProfileSecrets, given: bool) -> bool {
        !given
            && (secrets.password_command.is_some()
                || (secrets.password_env.is_none() && secrets.password.is_none()))
    }

    /// The current client, renewed first when it has aged.
    pub async fn get(&self) -> Result<Arc<Distribution>> {
        let mut cur = self.current.lock().await;
        if let Some(resolve) = &self.resolve {
            if cur.1.elapsed() >= self.max_age {
                let resolve = resolve.clone();
                let credential = tokio::task::spawn_blocking(move || resolve())
                    .await
                    .map_err(|e| Error::Config(format!("renewing credentials: {e}")))??;
                // Other callers wait on the (async) lock meanwhile; the threads stay free.
                let credential = match &self.prepare {
                    Some(prepare) => prepare(credential).await?,
                    None => credential,
                };
                *cur = (
                    Arc::new((self.make)(credential)?),
                    std::time::Instant::now(),
                );
                self.renewals
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(target: "regtui::auth", "credentials resolved again (the access token ages)");
            }
        }
        Ok(cur.0.clone())
    }
}

#[cfg(test)]
mod renew_tests {
    use super::*;

    fn make() -> Arc<MakeV2> {
        Arc::new(|c: Credential| {
            let addr = crate::registry::reference::RegistryAddr::parse("127.0.0.1:9")?;
            Distribution::new(crate::registry::distribution::DistributionOptions::new(
                addr, c,
            ))
        })
    }

    #[tokio::test]
    async fn an_aged_client_is_rebuilt_with_the_credential_resolved_again() {
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let s2 = seen.clone();
        let resolve: Arc<Resolve> = Arc::new(move || {
            s2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(Credential::Anonymous)
        });
        let r = RenewingV2::new(
            Credential::Anonymous,
            make(),
            Some(resolve),
            std::time::Duration::ZERO,
        )
        .unwrap();
        let a = r.get().await.unwrap();
        let b = r.get().await.unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 2);
        let kept = RenewingV2::new(
            Credential::Anonymous,
            make(),
            None,
            std::time::Duration::ZERO,
        )
        .unwrap();
        assert!(Arc::ptr_eq(
            &kept.get().await.unwrap(),
            &kept.get().await.unwrap()
        ));
    }

    #[tokio::test]
    async fn renewed_credentials_are_prepared_before_the_client_is_built() {
        let prepared = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p2 = prepared.clone();
        let prepare: Arc<Prepare> = Arc::new(move |c| {
            let p2 = p2.clone();
            Box::pin(async move {
                tokio::task::yield_now().await;
                p2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(c)
            })
        });
        let resolve: Arc<Resolve> = Arc::new(|| Ok(Credential::Anonymous));
        let r = RenewingV2::new(
            Credential::Anonymous,
            make(),
            Some(resolve),
            std::time::Duration::ZERO,
        )
        .unwrap()
        .with_prepare(prepare.clone());
        assert_eq!(prepared.load(std::sync::atomic::Ordering::Relaxed), 0);
        r.get().await.unwrap();
        r.get().await.unwrap();
        assert_eq!(prepared.load(std::sync::atomic::Ordering::Relaxed), 2);
        // A credential that does not expire is never renewed, so never prepared again.
        let kept = RenewingV2::new(
            Credential::Anonymous,
            make(),
            None,
            std::time::Duration::ZERO,
        )
        .unwrap()
        .with_prepare(prepare);
        kept.get().await.unwrap();
        assert_eq!(prepared.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    #[test]
    fn only_commands_and_helpers_expire() {
        use crate::registry::credentials::ProfileSecrets;
        let cmd = ProfileSecrets {
            password_command: Some("gcloud auth print-access-token".into()),
            ..Default::default()
        };
        assert!(RenewingV2::expires(&cmd, false));
        assert!(!RenewingV2::expires(&cmd, true), "a login is kept");
        let env = ProfileSecrets {
            password_env: Some("X".into()),
            ..Default::default()
        };
        assert!(!RenewingV2::expires(&env, false));
        assert!(RenewingV2::expires(&ProfileSecrets::default(), false));
    }
}
