//! Operations composed from [`Backend`] calls: tag details with sizes, inspection, deletes with their effects.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};

use super::model::*;
use super::{Backend, Error, Result, parse};

/// All repository names, sorted.
pub async fn all_repos(b: &dyn Backend) -> Result<Vec<String>> {
    let mut out = Vec::new();
    b.list_repos(&mut |page| out.extend(page)).await?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// All tags of a repository, sorted with [`natural_cmp`].
pub async fn all_tags(b: &dyn Backend, repo: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    b.list_tags(repo, &mut |page| out.extend(page)).await?;
    out.sort_by(|a, b| natural_cmp(a, b));
    out.dedup();
    Ok(out)
}

/// Orders strings with digit runs compared as numbers, so `v1.9` < `v1.10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, dy) = (&x[..nx], &y[..ny]);
                let tx = dx.iter().skip_while(|c| **c == b'0').count();
                let ty = dy.iter().skip_while(|c| **c == b'0').count();
                let ord = tx.cmp(&ty).then_with(|| dx[nx - tx..].cmp(&dy[ny - ty..]));
                if ord != Ordering::Equal {
                    return ord;
                }
                x = &x[nx..];
                y = &y[ny..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

/// Sum of the config and layers of an image manifest.
fn image_size(config: &Desc, layers: &[Desc]) -> u64 {
    config.size + layers.iter().map(|l| l.size).sum::<u64>()
}

async fn config_of(b: &dyn Backend, repo: &str, config: &Desc) -> Result<Option<ConfigSummary>> {
    if parse::is_image_config(&config.media_type) {
        Ok(Some((*b.get_config(repo, config).await?).clone()))
    } else {
        Ok(None)
    }
}

/// Size, platforms and created date of a manifest (image or index), as shown for a tag.
pub async fn describe(
    b: &dyn Backend,
    repo: &str,
    m: &Manifest,
) -> Result<(
    u64,
    Option<String>,
    Vec<PlatformEntry>,
    Option<ConfigSummary>,
)> {
    match &m.kind {
        ManifestKind::Image { config, layers } => {
            let cfg = config_of(b, repo, config).await?;
            let size = image_size(config, layers);
            let platform = cfg
                .as_ref()
                .map(|c| c.platform())
                .unwrap_or_else(|| "unknown".to_string());
            Ok((
                size,
                cfg.as_ref().and_then(|c| c.created.clone()),
                vec![PlatformEntry {
                    platform,
                    digest: m.digest.clone(),
                    size,
                }],
                cfg,
            ))
        }
        ManifestKind::Index { children } => {
            let fetched: Vec<Result<(IndexChild, std::sync::Arc<Manifest>)>> =
                stream::iter(children.iter().cloned())
                    .map(|c| async move {
                        let child = b.get_manifest(repo, &c.digest).await?;
                        Ok((c, child))
                    })
                    .buffered(4)
                    .collect()
                    .await;
            let mut blobs: BTreeMap<String, u64> = BTreeMap::new();
            let mut platforms = Vec::new();
            let mut main: Option<Desc> = None;
            for r in fetched {
                let (c, child) = r?;
                let ManifestKind::Image { config, layers } = &child.kind else {
                    return Err(Error::Unsupported(format!(
                        "nested index {} inside an index is not supported",
                        c.digest
                    )));
                };
                blobs.insert(config.digest.clone(), config.size);
                for l in layers {
                    blobs.insert(l.digest.clone(), l.size);
                }
                if !c.attestation {
                    if main.is_none() || c.platform == "linux/amd64" {
                        main = Some(config.clone());
                    }
                    platforms.push(PlatformEntry {
                        platform: c.platform.clone(),
                        digest: c.digest.clone(),
                        size: image_size(config, layers),
                    });
                }
            }
            let cfg = match &main {
                Some(c) => config_of(b, repo, c).await?,
                None => None,
            };
            Ok((
                blobs.values().sum(),
                cfg.as_ref().and_then(|c| c.created.clone()),
                platforms,
                cfg,
            ))
        }
    }
}

/// Everything the tags pane shows for one tag.
pub async fn tag_row(b: &dyn Backend, repo: &str, tag: &str) -> Result<TagRow> {
    let m = b.get_manifest(repo, tag).await?;
    let (size, created, platforms, _) = describe(b, repo, &m).await?;
    Ok(TagRow {
        tag: tag.to_string(),
        digest: m.digest.clone(),
        media_type: m.media_type.clone(),
        size,
        created,
        pushed: b.pushed_at(repo, tag),
        platforms,
    })
}

/// Details of many tags, reported as each finishes: from the provider's bulk listing where it
/// has one, else from v2 at most `concurrency` at a time.
pub async fn tag_rows(
    b: &dyn Backend,
    repo: &str,
    tags: &[String],
    concurrency: usize,
    mut on_row: impl FnMut(&str, Result<TagRow>),
) {
    let mut rest: Vec<String> = tags.to_vec();
    // A failed bulk listing falls back to v2, which may still work (or say why it does not).
    if let Ok(Some(rows)) = b.bulk_rows(repo).await {
        let by_tag: std::collections::HashMap<&str, &TagRow> =
            rows.iter().map(|r| (r.tag.as_str(), r)).collect();
        rest.clear();
        for t in tags {
            match by_tag.get(t.as_str()) {
                Some(r) => on_row(t, Ok((*r).clone())),
                None => rest.push(t.clone()),
            }
        }
    }
    // Owned tags: borrowed items in a buffered stream trip rustc's higher-ranked Send check
    // when this future runs inside a spawned task.
    let mut s = stream::iter(rest)
        .map(|t: String| async move {
            let r = tag_row(b, repo, &t).await;
            (t, r)
        })
        .buffer_unordered(concurrency.max(1));
    while let Some((t, r)) = s.next().await {
        on_row(&t, r);
    }
}

/// Manifest, config, layers with history, and platforms of one reference.
pub async fn inspect(
    b: &dyn Backend,
    repo: &str,
    reference: &str,
    shown_as: &str,
) -> Result<Inspection> {
    let m = b.get_manifest(repo, reference).await?;
    let (size, _, platforms, cfg) = describe(b, repo, &m).await?;
    let layers = match &m.kind {
        ManifestKind::Image { layers, .. } => parse::layers_with_history(layers, cfg.as_ref()),
        ManifestKind::Index { .. } => Vec::new(),
    };
    let manifest = serde_json::from_slice(&m.raw).map_err(|e| Error::Invalid {
        what: "manifest JSON".into(),
        detail: e.to_string(),
    })?;
    Ok(Inspection {
        reference: shown_as.to_string(),
        digest: m.digest.clone(),
        media_type: m.media_type.clone(),
        manifest,
        config: cfg,
        layers,
        platforms,
        size,
    })
}

/// Tags of `repo` whose manifest digest is `digest` (HEAD requests, `concurrency` at a time).
pub async fn tags_on_digest(
    b: &dyn Backend,
    repo: &str,
    digest: &str,
    concurrency: usize,
) -> Result<Vec<String>> {
    let tags = all_tags(b, repo).await?;
    let results: Vec<(String, Result<Desc>)> = stream::iter(tags)
        .map(|t| async move {
            let r = b.head_manifest(repo, &t).await;
            (t, r)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut out = Vec::new();
    for (t, r) in results {
        match r {
            Ok(d) if d.digest == digest => out.push(t),
            Ok(_) => {}
            // A tag deleted meanwhile is simply not on the digest.
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    out.sort_by(|a, b| natural_cmp(a, b));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;

    #[test]
    fn natural_order_is_semver_friendly() {
        let mut v = vec!["v1.10", "v1.9", "v1.2.3", "latest", "v01.9", "10", "9"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["9", "10", "latest", "v1.2.3", "v01.9", "v1.9", "v1.10"]);
    }
}
