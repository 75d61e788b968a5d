//! Autodetecting Harbor behind a `distribution` profile (or `--registry`): the first time
//! repositories are listed or something is deleted (what Harbor's v2 refuses or does
//! differently), the server's `/api/v2.0/ping` is asked once; `Pong` switches the profile to the
//! Harbor provider for everything from then on, anything else keeps plain v2. Reads before that
//! go to v2, which Harbor serves as any registry, and send no extra request.

use std::sync::Arc;

use super::super::model::{ConfigSummary, Desc, Manifest, TagDeleteMethod, TagRow};
use super::super::{Backend, BackendInfo, BoxFut, ByteStream, PageSink};

/// How long the probe may take before the profile stays plain v2.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// A distribution backend that becomes Harbor when the server says `Pong`.
pub struct Detect {
    pub plain: Arc<dyn Backend>,
    pub harbor: Arc<dyn Backend>,
    /// `<registry>/api/v2.0/ping`.
    pub ping_url: String,
    pub http: reqwest::Client,
    harbor_found: tokio::sync::OnceCell<bool>,
}

impl Detect {
    /// Wraps `plain`, switching to `harbor` when `ping_url` answers `Pong`.
    pub fn new(
        plain: Arc<dyn Backend>,
        harbor: Arc<dyn Backend>,
        ping_url: String,
        http: reqwest::Client,
    ) -> Self {
        Detect {
            plain,
            harbor,
            ping_url,
            http,
            harbor_found: Default::default(),
        }
    }

    async fn probe(&self) -> bool {
        let r = tokio::time::timeout(PROBE_TIMEOUT, async {
            let resp = self.http.get(&self.ping_url).send().await.ok()?;
            if resp.status().as_u16() != 200 {
                return None;
            }
            let body = super::super::http::read_limited(resp, 64, "ping", "Harbor")
                .await
                .ok()?;
            Some(body.trim_ascii() == b"Pong")
        })
        .await;
        matches!(r, Ok(Some(true)))
    }

    /// The backend to use, probing once (listing repositories, deleting).
    async fn pick(&self) -> &Arc<dyn Backend> {
        if *self.harbor_found.get_or_init(|| self.probe()).await {
            &self.harbor
        } else {
            &self.plain
        }
    }

    /// The backend chosen so far (plain until the probe said otherwise).
    fn now(&self) -> &Arc<dyn Backend> {
        match self.harbor_found.get() {
            Some(true) => &self.harbor,
            _ => &self.plain,
        }
    }
}

impl Backend for Detect {
    fn info(&self) -> BackendInfo {
        let mut info = self.now().info();
        if self.harbor_found.get() == Some(&true) {
            let said = "Harbor autodetected (/api/v2.0/ping answers Pong): using its API; set \
                        kind = \"harbor\" to say so";
            info.warning = Some(match info.warning.take() {
                Some(w) => format!("{w}; {said}"),
                None => said.to_string(),
            });
        }
        info
    }
    fn ping(&self) -> BoxFut<'_, ()> {
        Box::pin(async move { self.now().ping().await })
    }
    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move { self.pick().await.list_repos(sink).await })
    }
    fn list_tags<'a>(&'a self, repo: &'a str, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        Box::pin(async move { self.now().list_tags(repo, sink).await })
    }
    fn get_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Arc<Manifest>> {
        Box::pin(async move { self.now().get_manifest(repo, reference).await })
    }
    fn head_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Desc> {
        Box::pin(async move { self.now().head_manifest(repo, reference).await })
    }
    fn get_config<'a>(&'a self, repo: &'a str, config: &'a Desc) -> BoxFut<'a, Arc<ConfigSummary>> {
        Box::pin(async move { self.now().get_config(repo, config).await })
    }
    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move { self.pick().await.delete_manifest(repo, digest).await })
    }
    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        Box::pin(async move { self.pick().await.delete_tag(repo, tag).await })
    }
    fn exists<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Option<String>> {
        Box::pin(async move { self.now().exists(repo, reference).await })
    }
    fn bulk_rows<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Option<Vec<TagRow>>> {
        Box::pin(async move { self.now().bulk_rows(repo).await })
    }
    fn pushed_at(&self, repo: &str, tag: &str) -> Option<String> {
        self.now().pushed_at(repo, tag)
    }
    fn details_per_tag(&self) -> bool {
        self.now().details_per_tag()
    }
    fn provider_referrers<'a>(
        &'a self,
        repo: &'a str,
        digest: &'a str,
    ) -> BoxFut<'a, Vec<crate::registry::referrers::Referrer>> {
        Box::pin(async move { self.now().provider_referrers(repo, digest).await })
    }
    fn tag_detail<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, Option<TagRow>> {
        Box::pin(async move { self.now().tag_detail(repo, tag).await })
    }
    fn blob_stream<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ByteStream> {
        Box::pin(async move { self.now().blob_stream(repo, digest).await })
    }
    fn has_blob<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, bool> {
        Box::pin(async move { self.now().has_blob(repo, digest).await })
    }
    fn mount_blob<'a>(&'a self, repo: &'a str, digest: &'a str, from: &'a str) -> BoxFut<'a, bool> {
        Box::pin(async move { self.now().mount_blob(repo, digest, from).await })
    }
    fn upload_blob<'a>(
        &'a self,
        repo: &'a str,
        blob: &'a Desc,
        data: ByteStream,
    ) -> BoxFut<'a, ()> {
        Box::pin(async move { self.now().upload_blob(repo, blob, data).await })
    }
    fn put_manifest_raw<'a>(
        &'a self,
        repo: &'a str,
        reference: &'a str,
        media_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFut<'a, String> {
        Box::pin(async move {
            self.now()
                .put_manifest_raw(repo, reference, media_type, body)
                .await
        })
    }
    fn referrers_api<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, Option<Vec<u8>>> {
        Box::pin(async move { self.now().referrers_api(repo, digest).await })
    }
    fn status_note(&self) -> Option<String> {
        self.now().status_note()
    }
}
