//! Copy and tag between any two backends, no Docker engine: manifests byte for byte (digests
//! kept), an index's children first, blobs skipped when present, mounted within one registry,
//! else streamed and verified; then the destination is checked.

use futures_util::stream::{self, StreamExt};

use super::model::{Desc, Manifest, ManifestKind};
use super::{Backend, Error, Result};

/// How a copy goes.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Only this platform of an index (`os/arch[/variant]`); the tag then names that image.
    pub platform: Option<String>,
    /// Source and destination are the same registry: blobs may be mounted across repositories.
    pub same_registry: bool,
    /// Blobs copied at once.
    pub concurrency: usize,
}

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CopyReport {
    /// The digest now under the destination reference (equal to the source's).
    pub digest: String,
    pub manifests: usize,
    pub blobs_copied: usize,
    pub blobs_mounted: usize,
    pub blobs_present: usize,
    pub bytes_copied: u64,
    /// Referrers copied with it (`--referrers`).
    #[serde(skip_serializing_if = "is_zero")]
    pub referrers: usize,
    /// What was skipped on the way (a destination cosign tag holding another signature).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Progress: blobs done of total, bytes copied so far.
pub type Progress<'a> = &'a (dyn Fn(usize, usize, u64) + Sync);

/// One side of a copy: a backend, a repository and a reference (the destination's is a tag).
#[derive(Clone, Copy)]
pub struct End<'a> {
    pub backend: &'a dyn Backend,
    pub repo: &'a str,
    pub reference: &'a str,
}

/// Copies `from` to `to`, byte for byte.
pub async fn copy(
    from: End<'_>,
    to: End<'_>,
    opts: &CopyOptions,
    progress: Progress<'_>,
) -> Result<CopyReport> {
    let (src, src_repo, src_ref) = (from.backend, from.repo, from.reference);
    let (dst, dst_repo, dst_ref) = (to.backend, to.repo, to.reference);
    let mut m = src.get_manifest(src_repo, src_ref).await?;
    if let (Some(p), ManifestKind::Index { children }) = (&opts.platform, &m.kind) {
        let child = children
            .iter()
            .find(|c| &c.platform == p)
            .ok_or_else(|| Error::Config(format!("{src_repo}:{src_ref} has no platform {p}")))?;
        m = src.get_manifest(src_repo, &child.digest).await?;
    }
    let mut images: Vec<std::sync::Arc<Manifest>> = Vec::new();
    if let ManifestKind::Index { children } = &m.kind {
        for c in children {
            images.push(src.get_manifest(src_repo, &c.digest).await?);
        }
    } else {
        images.push(m.clone());
    }
    let mut blobs: Vec<Desc> = Vec::new();
    for img in &images {
        match &img.kind {
            ManifestKind::Image { config, layers } => {
                for d in std::iter::once(config).chain(layers) {
                    if !blobs.iter().any(|b| b.digest == d.digest) {
                        blobs.push(d.clone());
                    }
                }
            }
            ManifestKind::Index { .. } => {
                return Err(Error::Unsupported(format!(
                    "nested index {} is not copied",
                    img.digest
                )));
            }
        }
    }
    let total = blobs.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let bytes = std::sync::atomic::AtomicU64::new(0);
    // Owned items: borrowed ones in a buffered stream trip rustc's higher-ranked Send check.
    let results: Vec<Result<BlobResult>> = stream::iter(blobs)
        .map(|d: Desc| {
            let (done, bytes) = (&done, &bytes);
            async move {
                let r = copy_blob(src, src_repo, dst, dst_repo, &d, opts.same_registry).await;
                if let Ok(BlobResult::Copied) = r {
                    bytes.fetch_add(d.size, std::sync::atomic::Ordering::Relaxed);
                }
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(n, total, bytes.load(std::sync::atomic::Ordering::Relaxed));
                r
            }
        })
        .buffer_unordered(opts.concurrency.clamp(1, 16))
        .collect()
        .await;
    let mut report = CopyReport::default();
    for r in results {
        match r? {
            BlobResult::Present => report.blobs_present += 1,
            BlobResult::Mounted => report.blobs_mounted += 1,
            BlobResult::Copied => report.blobs_copied += 1,
        }
    }
    report.bytes_copied = bytes.into_inner();
    // Children by digest first, then the top manifest under the tag.
    if m.is_index() {
        for img in &images {
            dst.put_manifest_raw(dst_repo, &img.digest, &img.media_type, img.raw.clone())
                .await?;
            report.manifests += 1;
        }
    }
    let put = dst
        .put_manifest_raw(dst_repo, dst_ref, &m.media_type, m.raw.clone())
        .await?;
    report.manifests += 1;
    if put != m.digest {
        return Err(Error::DigestMismatch {
            expected: m.digest.clone(),
            actual: put,
        });
    }
    let now = dst.head_manifest(dst_repo, dst_ref).await?.digest;
    if now != m.digest {
        return Err(Error::Invalid {
            what: format!("{dst_repo}:{dst_ref}"),
            detail: format!("after the copy it points at {now}, not {}", m.digest),
        });
    }
    report.digest = m.digest.clone();
    Ok(report)
}

enum BlobResult {
    Present,
    Mounted,
    Copied,
}

/// One blob: present, mounted, or streamed (a failed stream is tried again whole, twice).
async fn copy_blob(
    src: &dyn Backend,
    src_repo: &str,
    dst: &dyn Backend,
    dst_repo: &str,
    d: &Desc,
    same_registry: bool,
) -> Result<BlobResult> {
    if dst.has_blob(dst_repo, &d.digest).await? {
        return Ok(BlobResult::Present);
    }
    if same_registry
        && src_repo != dst_repo
        && dst.mount_blob(dst_repo, &d.digest, src_repo).await?
    {
        return Ok(BlobResult::Mounted);
    }
    let mut attempt = 0;
    loop {
        let data = src.blob_stream(src_repo, &d.digest).await?;
        match dst.upload_blob(dst_repo, d, data).await {
            Ok(()) => return Ok(BlobResult::Copied),
            Err(e)
                if attempt < 2
                    && (e.is_transient() || matches!(e, Error::DigestMismatch { .. })) =>
            {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Those of `tags` that exist in `repo` on another manifest than `digest`, with the digest each
/// holds now (a push there would move them).
pub async fn tags_that_move(
    b: &dyn Backend,
    repo: &str,
    tags: &[String],
    digest: &str,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for t in tags {
        match b.head_manifest(repo, t).await {
            Ok(d) if d.digest != digest => out.push((t.clone(), d.digest)),
            Ok(_) | Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Adds `tags` to the manifest `reference` names, pushing the manifest only (no blob moves).
pub async fn tag(b: &dyn Backend, repo: &str, reference: &str, tags: &[String]) -> Result<String> {
    let m = b.get_manifest(repo, reference).await?;
    for t in tags {
        super::reference::validate_tag(t)?;
        let d = b
            .put_manifest_raw(repo, t, &m.media_type, m.raw.clone())
            .await?;
        if d != m.digest {
            return Err(Error::DigestMismatch {
                expected: m.digest.clone(),
                actual: d,
            });
        }
    }
    Ok(m.digest.clone())
}

/// Copies what refers to `subject` in `from` (signatures, SBOMs, attestations) to `to`, after the
/// subject itself: each referrer by digest (its blobs as any image's), cosign's tags under the
/// same names, and, where the destination has no referrers API, the fallback index tag
/// `sha256-<hex>` merged with what it already lists. A cosign tag that already holds another
/// manifest at the destination (signatures made there) is left alone, with a warning. The
/// fallback index describes each referrer from its copied manifest's own bytes, never from the
/// source's list. Returns how many referrers were copied, and the warnings.
pub async fn copy_referrers(
    from: End<'_>,
    to: End<'_>,
    subject: &str,
    opts: &CopyOptions,
) -> Result<(usize, Vec<String>)> {
    use super::referrers::{self, Source};
    let list = referrers::referrers(from.backend, from.repo, subject, None).await?;
    let noop = |_: usize, _: usize, _: u64| {};
    let mut listed = Vec::new();
    let mut warnings = Vec::new();
    let mut copied = 0;
    for r in &list {
        let target = r.tag.as_deref().filter(|_| r.source == Source::CosignTag);
        if let Some(t) = target {
            match to.backend.head_manifest(to.repo, t).await {
                Ok(d) if d.digest != r.digest => {
                    warnings.push(format!(
                        "kept {}:{t} at the destination: it holds {}, not the source's {}",
                        to.repo,
                        super::digest::short(&d.digest),
                        super::digest::short(&r.digest)
                    ));
                    continue;
                }
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let src = End {
            reference: &r.digest,
            ..from
        };
        let dst = End {
            reference: target.unwrap_or(&r.digest),
            ..to
        };
        let plain = CopyOptions {
            platform: None,
            ..opts.clone()
        };
        copy(src, dst, &plain, &noop).await?;
        copied += 1;
        if r.source != Source::CosignTag {
            listed.push(r);
        }
    }
    if listed.is_empty() || to.backend.referrers_api(to.repo, subject).await?.is_some() {
        return Ok((copied, warnings));
    }
    // The fallback index at the destination: what it lists already, plus these.
    let tag = referrers::fallback_tag(subject);
    let mut manifests: Vec<serde_json::Value> = match to.backend.get_manifest(to.repo, &tag).await {
        Ok(m) => serde_json::from_slice::<serde_json::Value>(&m.raw)
            .ok()
            .and_then(|v| v.get("manifests").and_then(|x| x.as_array()).cloned())
            .unwrap_or_default(),
        Err(Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    for r in listed {
        if manifests
            .iter()
            .any(|d| d.get("digest").and_then(|x| x.as_str()) == Some(r.digest.as_str()))
        {
            continue;
        }
        manifests.push(descriptor_of(to, &r.digest).await?);
    }
    let body = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": super::model::OCI_INDEX,
        "manifests": manifests,
    }))
    .map_err(|e| Error::Invalid {
        what: tag.clone(),
        detail: e.to_string(),
    })?;
    to.backend
        .put_manifest_raw(to.repo, &tag, super::model::OCI_INDEX, body)
        .await?;
    Ok((copied, warnings))
}

/// The index descriptor of manifest `digest` as stored at `to`: size, digest, media type,
/// artifact type and annotations all from its own (digest-checked) bytes.
async fn descriptor_of(to: End<'_>, digest: &str) -> Result<serde_json::Value> {
    let m = to.backend.get_manifest(to.repo, digest).await?;
    super::digest::verify(digest, &m.raw)?;
    let v: serde_json::Value = serde_json::from_slice(&m.raw).map_err(|e| Error::Invalid {
        what: format!("{}@{digest}", to.repo),
        detail: e.to_string(),
    })?;
    let str_of = |x: Option<&serde_json::Value>| x.and_then(|x| x.as_str()).map(str::to_string);
    let media_type = str_of(v.get("mediaType"))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| m.media_type.clone());
    let artifact_type = str_of(v.get("artifactType"))
        .or_else(|| str_of(v.get("config").and_then(|c| c.get("mediaType"))))
        .unwrap_or_default();
    let mut d = serde_json::json!({
        "mediaType": media_type,
        "digest": super::digest::sha256(&m.raw),
        "size": m.raw.len(),
    });
    if !artifact_type.is_empty() {
        d["artifactType"] = serde_json::Value::from(artifact_type);
    }
    if let Some(a) = v.get("annotations").filter(|a| a.is_object()) {
        d["annotations"] = a.clone();
    }
    Ok(d)
}
