//! The registry layer: the [`Backend`] trait every registry kind implements, and its implementations.
//!
//! Nothing here knows about the terminal UI; the CLI and the UI's client task both drive it.

pub mod auth;
pub mod cache;
pub mod connect;
pub mod copy;
pub mod credentials;
pub mod digest;
pub mod distribution;
pub mod error;
pub mod files;
pub mod http;
pub mod layout;
pub mod localfs;
pub mod model;
pub mod ops;
pub mod parse;
pub mod providers;
pub mod prune;
pub mod reference;
pub mod referrers;
pub mod table;
pub mod tls;
pub mod usage;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use error::{Error, Result};
use model::{ConfigSummary, Desc, Manifest, TagDeleteMethod, TagRow};

/// A boxed future returning a registry result.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;
/// A blob's bytes as they arrive.
pub type ByteStream = Pin<Box<dyn futures_util::Stream<Item = Result<bytes::Bytes>> + Send>>;
/// Receives pages of names as they arrive.
pub type PageSink<'a> = &'a mut (dyn FnMut(Vec<String>) + Send);

/// What a backend can do; the UI and CLI offer only these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Capabilities {
    /// Can enumerate repositories.
    pub list_repos: bool,
    /// Can delete a manifest by digest (with all its tags).
    pub delete_digest: bool,
    /// Can remove one tag and keep the others on the same digest.
    pub delete_tag: bool,
}

/// Which date of a tag the backend knows best: what the tags pane shows and cleanup rules use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DateSource {
    /// The image config's `created` (v2 registries, layouts).
    #[default]
    Created,
    /// When the provider says the image was pushed (falling back to created).
    Pushed,
}

impl DateSource {
    /// Column header for the date.
    pub fn header(self) -> &'static str {
        match self {
            DateSource::Created => "CREATED",
            DateSource::Pushed => "PUSHED",
        }
    }
}

/// Describes a connected backend for status lines.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct BackendInfo {
    /// `distribution`, `layout`, `ecr`, …: for display only (what it can do is in the fields below).
    pub kind: &'static str,
    /// How to show the registry (`http://127.0.0.1:5000`, `ghcr.io`, a directory).
    pub registry: String,
    /// `host[:port]` used in pull references (empty for a layout).
    pub host: String,
    /// `anonymous`, `user NAME`, `token (…)`.
    pub auth: String,
    pub capabilities: Capabilities,
    /// Something the user should see (e.g. TLS verification off).
    pub warning: Option<String>,
    /// Why removing one tag alone is unavailable, in the user's words (when it is).
    pub no_tag_delete: Option<String>,
    /// Why deleting a manifest by digest is unavailable, in the user's words (when it is).
    pub no_digest_delete: Option<String>,
    /// Which date the tags pane shows (and cleanup rules use).
    pub date_source: DateSource,
    /// Deleted space returns only after the registry's own garbage collection (distribution).
    pub needs_gc: bool,
    /// The service records when tags were pulled (`TagRow::pulled`; Harbor, Docker Hub, ECR):
    /// `prune --unpulled-for` needs it.
    pub pull_dates: bool,
    /// Credentials can be entered for it (the login dialog): false for local files and for
    /// providers whose credentials come from elsewhere (the AWS chain).
    pub login: bool,
    /// Where the credential came from (`profile (password from $X)`, docker's config.json…).
    pub credential_source: Option<String>,
}

impl BackendInfo {
    /// Why `rm repo:tag` is refused here.
    pub fn why_no_tag_delete(&self) -> String {
        self.no_tag_delete
            .clone()
            .unwrap_or_else(|| format!("{} cannot remove a single tag", self.registry))
    }

    /// Why `rm repo@digest` is refused here.
    pub fn why_no_digest_delete(&self) -> String {
        self.no_digest_delete
            .clone()
            .unwrap_or_else(|| format!("{} cannot delete manifests by digest", self.registry))
    }

    /// The explanations of what this backend cannot do, for dialogs.
    pub fn limits(&self) -> Vec<String> {
        [&self.no_tag_delete, &self.no_digest_delete]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

/// One registry, whatever its kind. All methods are cancel-safe reads except the deletes.
pub trait Backend: Send + Sync {
    /// Static facts about this backend.
    fn info(&self) -> BackendInfo;
    /// Checks the registry answers and the credentials work (`GET /v2/`).
    fn ping(&self) -> BoxFut<'_, ()>;
    /// Streams repository names page by page.
    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()>;
    /// Streams the tags of a repository page by page (unsorted: sort on the caller's side).
    fn list_tags<'a>(&'a self, repo: &'a str, sink: PageSink<'a>) -> BoxFut<'a, ()>;
    /// Fetches and verifies a manifest by tag or digest.
    fn get_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Arc<Manifest>>;
    /// Digest, media type and size of a manifest without its body.
    fn head_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Desc>;
    /// Fetches, verifies and summarises an image config.
    fn get_config<'a>(&'a self, repo: &'a str, config: &'a Desc) -> BoxFut<'a, Arc<ConfigSummary>>;
    /// Deletes a manifest by digest: every tag on it goes too. Never retried.
    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()>;
    /// Removes one tag, keeping other tags on the same digest. Never retried.
    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod>;
    /// The digest `reference` (a tag or a digest) resolves to now, `None` when it is gone; asked of
    /// whoever deletes (v2 HEAD by default, a provider's own listing), to verify deletes.
    fn exists<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Option<String>> {
        Box::pin(async move {
            match self.head_manifest(repo, reference).await {
                Ok(d) => Ok(Some(d.digest)),
                Err(Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }
    /// Details of every tag of `repo` from one provider API call (ECR DescribeImages, Docker Hub's
    /// tag list), when the provider has them; `None` means "ask v2 tag by tag".
    fn bulk_rows<'a>(&'a self, _repo: &'a str) -> BoxFut<'a, Option<Vec<TagRow>>> {
        Box::pin(async { Ok(None) })
    }
    /// When the provider says `tag` was pushed (RFC 3339), if it told us while listing tags.
    fn pushed_at(&self, _repo: &str, _tag: &str) -> Option<String> {
        None
    }
    /// Referrers the provider's own API records for `digest` (Harbor's accessories: cosign and
    /// notation signatures, SBOMs), besides the OCI referrers API and tags.
    fn provider_referrers<'a>(
        &'a self,
        _repo: &'a str,
        _digest: &'a str,
    ) -> BoxFut<'a, Vec<referrers::Referrer>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// True when the provider's API gives details one tag at a time (GitLab): they are then
    /// fetched per tag with [`Backend::tag_detail`], rows in view first, never all up front.
    fn details_per_tag(&self) -> bool {
        false
    }
    /// One tag's details from the provider's own API (with [`Backend::details_per_tag`]);
    /// `None` means "ask v2".
    fn tag_detail<'a>(&'a self, _repo: &'a str, _tag: &'a str) -> BoxFut<'a, Option<TagRow>> {
        Box::pin(async { Ok(None) })
    }
    /// Streams a blob (a layer) without holding it: the caller verifies its digest.
    fn blob_stream<'a>(&'a self, _repo: &'a str, digest: &'a str) -> BoxFut<'a, ByteStream> {
        Box::pin(async move {
            Err(Error::Unsupported(format!(
                "this backend cannot stream blobs ({digest})"
            )))
        })
    }
    /// Whether the blob is in the repository already (HEAD).
    fn has_blob<'a>(&'a self, _repo: &'a str, _digest: &'a str) -> BoxFut<'a, bool> {
        Box::pin(async {
            Err(Error::Unsupported(
                "this profile cannot receive images".into(),
            ))
        })
    }
    /// Mounts a blob from another repository of the same registry; false when the registry
    /// declined (the caller uploads it instead).
    fn mount_blob<'a>(
        &'a self,
        _repo: &'a str,
        _digest: &'a str,
        _from: &'a str,
    ) -> BoxFut<'a, bool> {
        Box::pin(async { Ok(false) })
    }
    /// Uploads a blob from a stream (monolithic when small, chunked when large), verified by
    /// digest; a failed upload session is cancelled.
    fn upload_blob<'a>(
        &'a self,
        _repo: &'a str,
        _blob: &'a Desc,
        _data: ByteStream,
    ) -> BoxFut<'a, ()> {
        Box::pin(async {
            Err(Error::Unsupported(
                "this profile cannot receive images".into(),
            ))
        })
    }
    /// Stores a manifest byte for byte under a tag or its digest.
    fn put_manifest_raw<'a>(
        &'a self,
        _repo: &'a str,
        _reference: &'a str,
        _media_type: &'a str,
        _body: Vec<u8>,
    ) -> BoxFut<'a, String> {
        Box::pin(async {
            Err(Error::Unsupported(
                "this profile cannot receive images".into(),
            ))
        })
    }
    /// The referrers API's answer for `digest` (an OCI index, raw), or `None` where the registry
    /// has no such API (then the fallback and cosign tags are read instead).
    fn referrers_api<'a>(
        &'a self,
        _repo: &'a str,
        _digest: &'a str,
    ) -> BoxFut<'a, Option<Vec<u8>>> {
        Box::pin(async { Ok(None) })
    }
    /// A short line for the status bar (e.g. Docker Hub's pull rate limit), if any.
    fn status_note(&self) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    /// The names of the methods in `impl`'s block (or the trait's) that starts at `start`.
    fn methods(src: &str, start: &str) -> Vec<String> {
        let at = src
            .find(start)
            .unwrap_or_else(|| panic!("{start} not found"));
        let body = &src[at..];
        // The block ends at the first line that is exactly `}` (rustfmt's layout).
        let end = body.find("\n}\n").unwrap_or(body.len());
        body[..end]
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("fn "))
            .map(|l| l.split(['<', '(']).next().unwrap_or_default().to_string())
            .collect()
    }

    /// Every wrapper around another backend forwards every method of the trait: a default it
    /// does not override would silently answer for the backend inside (this lost GitLab's
    /// locks and Harbor's signatures once).
    #[test]
    fn wrappers_forward_every_backend_method() {
        let trait_methods = methods(include_str!("mod.rs"), "pub trait Backend");
        assert!(trait_methods.len() > 15, "{trait_methods:?}");
        for (file, src, start) in [
            (
                "connect.rs",
                include_str!("connect.rs"),
                "impl Backend for Annotated",
            ),
            (
                "cache.rs",
                include_str!("cache.rs"),
                "impl Backend for Cached",
            ),
            (
                "providers/detect.rs",
                include_str!("providers/detect.rs"),
                "impl Backend for Detect",
            ),
        ] {
            let have = methods(src, start);
            let missing: Vec<_> = trait_methods.iter().filter(|m| !have.contains(m)).collect();
            assert!(
                missing.is_empty(),
                "{file}: {start} does not forward {missing:?}"
            );
        }
    }
}
