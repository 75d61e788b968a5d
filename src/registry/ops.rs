//! Operations composed from [`Backend`] calls: tag details with sizes, inspection, deletes with their effects.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    sort_natural_by(&mut out, |s| s);
    out.dedup();
    Ok(out)
}

/// Sorts `v` by name in [`natural_cmp`] order (stable). Long lists are sorted by a 16-byte
/// key per item ([`natural_prefix`]) held beside its index, then runs of equal keys by
/// [`natural_cmp`]: no string is reached through a pointer while sorting, which is what made
/// 100,000 unsorted tags take tens of milliseconds. A list in order already costs one pass.
pub fn sort_natural_by<T>(v: &mut [T], name: impl Fn(&T) -> &str) {
    let by_name = |a: &T, b: &T| natural_cmp(name(a), name(b));
    if v.len() < 64 || v.len() > u32::MAX as usize {
        v.sort_by(by_name);
        return;
    }
    if v.is_sorted_by(|a, b| by_name(a, b) != Ordering::Greater) {
        return;
    }
    let mut keyed: Vec<(u128, u32)> = v
        .iter()
        .enumerate()
        .map(|(i, t)| (natural_prefix(name(t)), i as u32))
        .collect();
    // By key, then by index: items with equal keys keep their order.
    keyed.sort_unstable();
    let mut i = 0;
    while i < keyed.len() {
        let j = i + keyed[i..].iter().take_while(|k| k.0 == keyed[i].0).count();
        if j - i > 1 {
            keyed[i..j].sort_by(|a, b| by_name(&v[a.1 as usize], &v[b.1 as usize]));
        }
        i = j;
    }
    // Position p takes the item at keyed[p].1: follow each cycle of the permutation.
    let mut done = vec![false; v.len()];
    for start in 0..v.len() {
        let mut cur = start;
        while !done[cur] {
            done[cur] = true;
            let next = keyed[cur].1 as usize;
            if next == start {
                break;
            }
            v.swap(cur, next);
            cur = next;
        }
    }
}

/// The first 16 bytes of a key whose plain (memcmp) order is [`natural_cmp`]'s: other bytes
/// as they are, a digit run as `0` (which orders against any non-digit as every digit does),
/// its count of significant digits and those digits; zeros after the end. Equal keys (a
/// shared 16-byte start, a run of 255 significant digits or more, leading zeros) are a tie
/// for [`natural_cmp`] to break; different keys are in natural order.
fn natural_prefix(s: &str) -> u128 {
    let b = s.as_bytes();
    let mut k = [0u8; 16];
    let (mut n, mut i) = (0, 0);
    while i < b.len() && n < k.len() {
        if !b[i].is_ascii_digit() {
            k[n] = b[i];
            n += 1;
            i += 1;
            continue;
        }
        let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let zeros = b[i..i + run].iter().take_while(|c| **c == b'0').count();
        let sig = &b[i + zeros..i + run];
        k[n] = b'0';
        n += 1;
        if n == k.len() {
            break;
        }
        if sig.len() >= 255 {
            k[n] = 255;
            break;
        }
        k[n] = sig.len() as u8;
        n += 1;
        let take = sig.len().min(k.len() - n);
        k[n..n + take].copy_from_slice(&sig[..take]);
        n += take;
        i += run;
    }
    u128::from_be_bytes(k)
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

/// Size of an image as regtui computes it: the config and its DISTINCT layer blobs (a layer
/// the manifest lists twice is stored, and counted, once).
pub fn image_size(config: &Desc, layers: &[Desc]) -> u64 {
    let blobs: BTreeMap<&str, u64> = std::iter::once(config)
        .chain(layers)
        .map(|d| (d.digest.as_str(), d.size))
        .collect();
    sum_sizes(blobs.into_values())
}

async fn config_of(b: &dyn Backend, repo: &str, config: &Desc) -> Result<Option<ConfigSummary>> {
    if parse::is_image_config(&config.media_type) {
        Ok(Some((*b.get_config(repo, config).await?).clone()))
    } else {
        Ok(None)
    }
}

/// Size, platforms, created date and config of a manifest (image or index), as shown for a tag.
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
    let (size, created, platforms, cfg, _) = describe_blobs(b, repo, m).await?;
    Ok((size, created, platforms, cfg))
}

/// What [`describe`] says, and the `(digest, size)` of every blob the manifest references.
type Described = (
    u64,
    Option<String>,
    Vec<PlatformEntry>,
    Option<ConfigSummary>,
    Vec<(String, u64)>,
);

async fn describe_blobs(b: &dyn Backend, repo: &str, m: &Manifest) -> Result<Described> {
    match &m.kind {
        ManifestKind::Image { config, layers } => {
            let cfg = config_of(b, repo, config).await?;
            let size = image_size(config, layers);
            let platform = cfg
                .as_ref()
                .map(|c| c.platform())
                .unwrap_or_else(|| "unknown".to_string());
            let blobs = std::iter::once(config)
                .chain(layers)
                .map(|d| (d.digest.clone(), d.size))
                .collect();
            Ok((
                size,
                cfg.as_ref().and_then(|c| c.created.clone()),
                vec![PlatformEntry {
                    platform,
                    digest: m.digest.clone(),
                    size,
                }],
                cfg,
                blobs,
            ))
        }
        ManifestKind::Index { children } => {
            // An index is the distinct blobs of its platform images; attestation manifests
            // (`vnd.docker.reference.type: attestation-manifest`) are not part of its size.
            let images: Vec<IndexChild> = children
                .iter()
                .filter(|c| !c.attestation)
                .cloned()
                .collect();
            let fetched: Vec<Result<(IndexChild, std::sync::Arc<Manifest>)>> = stream::iter(images)
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
                sum_sizes(blobs.values().copied()),
                cfg.as_ref().and_then(|c| c.created.clone()),
                platforms,
                cfg,
                blobs.into_iter().collect(),
            ))
        }
    }
}

/// Everything the tags pane shows for one tag.
pub async fn tag_row(b: &dyn Backend, repo: &str, tag: &str) -> Result<TagRow> {
    let m = b.get_manifest(repo, tag).await?;
    let (size, created, platforms, _, blobs) = describe_blobs(b, repo, &m).await?;
    Ok(TagRow {
        locked: None,
        pulled: None,
        tag: tag.to_string(),
        digest: m.digest.clone(),
        media_type: m.media_type.clone(),
        size,
        created,
        pushed: b.pushed_at(repo, tag),
        platforms,
        blobs,
    })
}

/// Details of many tags, reported as each finishes: from the provider's bulk listing where it
/// has one, else from v2 at most `concurrency` at a time.
pub async fn tag_rows(
    b: &dyn Backend,
    repo: &str,
    tags: &[String],
    concurrency: usize,
    on_row: impl FnMut(&str, Result<TagRow>),
) {
    tag_rows_in_view(b, repo, tags.to_vec(), concurrency, usize::MAX, on_row).await
}

/// [`tag_rows`] where only the first `in_view` tags are what the user is looking at: their
/// requests go first, the rest load in the background ([`super::http::Priority`]).
pub async fn tag_rows_in_view(
    b: &dyn Backend,
    repo: &str,
    tags: Vec<String>,
    concurrency: usize,
    in_view: usize,
    mut on_row: impl FnMut(&str, Result<TagRow>),
) {
    let mut rest = tags;
    let per_tag = b.details_per_tag();
    // A failed bulk listing falls back to v2, which may still work (or say why it does not).
    if per_tag {
        // Details one request per tag (GitLab): below, in the order given (rows in view first).
    } else if let Ok(Some(rows)) = b.bulk_rows(repo).await {
        let by_tag: std::collections::HashMap<&str, &TagRow> =
            rows.iter().map(|r| (r.tag.as_str(), r)).collect();
        for t in std::mem::take(&mut rest) {
            match by_tag.get(t.as_str()) {
                Some(r) => on_row(&t, Ok((*r).clone())),
                None => rest.push(t),
            }
        }
    }
    // Owned tags: borrowed items in a buffered stream trip rustc's higher-ranked Send check
    // when this future runs inside a spawned task.
    use super::http::{Priority, with_priority};
    let mut s = stream::iter(rest.into_iter().enumerate())
        .map(|(i, t): (usize, String)| async move {
            let p = if i < in_view {
                Priority::Interactive
            } else {
                Priority::Background
            };
            let one = async {
                if per_tag {
                    if let Some(row) = b.tag_detail(repo, &t).await? {
                        return Ok(row);
                    }
                }
                tag_row(b, repo, &t).await
            };
            let r = with_priority(p, one).await;
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
        referrers: Vec::new(),
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

/// Who uses a manifest right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users {
    /// Tags pointing at it.
    pub tags: Vec<String>,
    /// `(tag, index digest)` of every tagged index that lists it as one of its manifests.
    pub indexes: Vec<(String, String)>,
    /// What refers to it (signatures, SBOMs, attestations), where the caller asked.
    pub referrers: Vec<super::referrers::Referrer>,
}

impl Users {
    /// `tag (index 1a2b3c…)` of each index, for messages and confirmations.
    pub fn index_names(&self) -> Vec<String> {
        self.indexes
            .iter()
            .map(|(t, d)| format!("{t} (index {})", super::digest::short(d)))
            .collect()
    }
}

/// Every manifest an index lists, nested indexes included (three levels at most, 10,000 in all).
async fn listed_manifests(b: &dyn Backend, repo: &str, index: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut level = vec![index.to_string()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for d in &level {
            if let ManifestKind::Index { children } = &b.get_manifest(repo, d).await?.kind {
                for c in children {
                    if out.len() >= 10_000 {
                        return Err(Error::Invalid {
                            what: format!("index {index}"),
                            detail: "lists more than 10000 manifests".into(),
                        });
                    }
                    if seen.insert(c.digest.clone()) {
                        out.push(c.digest.clone());
                        if !is_image_type(&c.media_type) {
                            next.push(c.digest.clone());
                        }
                    }
                }
            }
        }
        level = next;
    }
    Ok(out)
}

/// Whether a media type (parameters and case aside) names a single-image manifest.
fn is_image_type(media_type: &str) -> bool {
    let base = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    base == OCI_MANIFEST || base == DOCKER_MANIFEST
}

/// For each of `digests`, who uses it now. Every tag of `repo` is resolved again (HEAD, `n` at a
/// time) and every index they point at is read for its manifests. A tag in `going` that still
/// points at the digest planned for it goes with that delete and uses nothing; one that moved
/// since counts like any other. A tag deleted meanwhile uses nothing; any other failure is an
/// error, since an unknown tag could use one.
pub async fn users_of(
    b: &dyn Backend,
    repo: &str,
    digests: &BTreeSet<String>,
    going: &HashMap<String, String>,
    n: usize,
) -> Result<HashMap<String, Users>> {
    let tags: Vec<String> = all_tags(b, repo).await?;
    /// A tag's manifest now and, for an index, the manifests it lists; `None` when it is gone.
    type Resolved = Option<(Desc, Vec<String>)>;
    let found: Vec<(String, Result<Resolved>)> = stream::iter(tags)
        .map(|t| async move {
            let r = async {
                let d = match b.head_manifest(repo, &t).await {
                    Ok(d) => d,
                    Err(Error::NotFound { .. }) => return Ok(None),
                    Err(e) => return Err(e),
                };
                // Anything but a known single-image type is read: a hostile or odd registry may
                // send an index with a generic or parameterised Content-Type.
                let children = if !is_image_type(&d.media_type) {
                    listed_manifests(b, repo, &d.digest).await?
                } else {
                    Vec::new()
                };
                Ok(Some((d, children)))
            }
            .await;
            (t, r)
        })
        .buffer_unordered(n.max(1))
        .collect()
        .await;
    let mut out: HashMap<String, Users> = HashMap::new();
    // The subjects of listed manifests, read where a fallback-shaped index lists one.
    let mut subjects: HashMap<String, Option<String>> = HashMap::new();
    for (t, r) in found {
        let Some((d, children)) = r.map_err(|e| Error::Invalid {
            what: format!("tag {t}"),
            detail: format!("could not resolve it again: {e}"),
        })?
        else {
            continue;
        };
        if going.get(&t) == Some(&d.digest) {
            continue;
        }
        if digests.contains(&d.digest) {
            out.entry(d.digest.clone())
                .or_default()
                .tags
                .push(t.clone());
        }
        // The fallback referrers index `sha256-<hex>` of a manifest's own subject lists it
        // without using it: a deleted referrer is taken out of it instead (see
        // [`unlist_referrers`]). Any other index with that tag shape uses what it lists.
        let fallback_of = (super::referrers::is_artifact_tag(&t) && !t.contains('.'))
            .then(|| t.replacen('-', ":", 1));
        for c in children.iter().filter(|c| digests.contains(*c)) {
            if let Some(s) = &fallback_of {
                if !subjects.contains_key(c) {
                    let subject = match b.get_manifest(repo, c).await {
                        Ok(m) => subject_of(&m.raw),
                        Err(_) => None,
                    };
                    subjects.insert(c.clone(), subject);
                }
                if subjects.get(c).and_then(|x| x.as_ref()) == Some(s) {
                    continue;
                }
            }
            out.entry(c.clone())
                .or_default()
                .indexes
                .push((t.clone(), d.digest.clone()));
        }
    }
    for u in out.values_mut() {
        u.tags.sort_by(|a, b| natural_cmp(a, b));
        u.indexes.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    }
    Ok(out)
}

/// Who uses the manifest `digest` of `repo` now (tags and tagged indexes).
pub async fn users_of_one(
    b: &dyn Backend,
    repo: &str,
    digest: &str,
    concurrency: usize,
) -> Result<Users> {
    let digests = BTreeSet::from([digest.to_string()]);
    let mut m = users_of(b, repo, &digests, &HashMap::new(), concurrency).await?;
    Ok(m.remove(digest).unwrap_or_default())
}

/// Tags of `repo` whose manifest digest is `digest` (HEAD requests, `concurrency` at a time).
pub async fn tags_on_digest(
    b: &dyn Backend,
    repo: &str,
    digest: &str,
    concurrency: usize,
) -> Result<Vec<String>> {
    Ok(users_of_one(b, repo, digest, concurrency).await?.tags)
}

/// Whether an error means the request may have reached the server without its answer reaching
/// us (a timeout or a dropped connection), so the outcome of a delete is unknown.
fn answer_lost(e: &Error) -> bool {
    matches!(e, Error::Timeout { .. } | Error::Network { .. })
}

/// How long to wait before a second look at something a delete should have removed.
const VERIFY_AGAIN: std::time::Duration = std::time::Duration::from_millis(700);

/// After a delete the registry accepted (or whose answer was lost): checks that `reference` is
/// gone, asking whoever deleted it ([`Backend::exists`]).
async fn verify_gone(
    b: &dyn Backend,
    repo: &str,
    reference: &str,
    lost: Option<&Error>,
) -> Result<()> {
    let what = super::distribution::shown(repo, reference);
    let mut check = b.exists(repo, reference).await;
    if matches!(check, Ok(Some(_))) {
        // Listings behind caches (provider APIs) may lag a moment: one more look before saying
        // it is still there.
        tokio::time::sleep(VERIFY_AGAIN).await;
        check = b.exists(repo, reference).await;
    }
    match (lost, check) {
        (_, Ok(None)) => Ok(()),
        (None, Ok(Some(now))) => Err(Error::StillPresent {
            what,
            detail: if now == reference {
                String::new()
            } else {
                format!("it points at {}", super::digest::short(&now))
            },
        }),
        (None, Err(e)) => Err(Error::OutcomeUnknown {
            what,
            cause: "the registry accepted it".into(),
            after: format!("checking afterwards failed: {e}"),
        }),
        (Some(lost), Ok(Some(_))) => Err(Error::OutcomeUnknown {
            what: what.clone(),
            cause: format!("no answer: {lost}"),
            after: format!("{what} is still present now; check again before retrying"),
        }),
        (Some(lost), Err(e)) => Err(Error::OutcomeUnknown {
            what,
            cause: format!("no answer: {lost}"),
            after: format!("checking afterwards failed too: {e}"),
        }),
    }
}

/// Removes `tag` alone if it still points at `seen`, the digest the user confirmed; then checks
/// that it is gone. A tag that moved is refused ([`Error::Moved`]); the DELETE is never retried.
pub async fn untag_checked(
    b: &dyn Backend,
    repo: &str,
    tag: &str,
    seen: &str,
) -> Result<TagDeleteMethod> {
    refuse_locked(b, repo, Some(tag), seen).await?;
    let now = b.head_manifest(repo, tag).await?.digest;
    if now != seen {
        return Err(Error::Moved {
            repo: repo.to_string(),
            tag: tag.to_string(),
            seen: seen.to_string(),
            now,
        });
    }
    match b.delete_tag(repo, tag).await {
        Ok(method) => verify_gone(b, repo, tag, None).await.map(|()| method),
        Err(e) if answer_lost(&e) => {
            verify_gone(b, repo, tag, Some(&e)).await?;
            // The check found the tag gone: the delete went through.
            Ok(TagDeleteMethod::OciTagDelete)
        }
        Err(e) => Err(e),
    }
}

/// Refuses, before any delete request, to remove a tag the service itself locks (`tag`), or a
/// manifest one of whose tags it locks (`tag` = `None`), quoting the service's rule. Only
/// providers with a bulk listing know their locks; others pass.
pub async fn refuse_locked(
    b: &dyn Backend,
    repo: &str,
    tag: Option<&str>,
    digest: &str,
) -> Result<()> {
    let rows = match (b.details_per_tag(), tag) {
        // One tag of a per-tag provider: its own detail says whether it is locked.
        (true, Some(t)) => b.tag_detail(repo, t).await?.into_iter().collect(),
        // A manifest of a per-tag provider: the details of the tags on it.
        (true, None) => {
            let mut rows = Vec::new();
            for t in tags_on_digest(b, repo, digest, 8).await? {
                rows.extend(b.tag_detail(repo, &t).await?);
            }
            rows
        }
        _ => match b.bulk_rows(repo).await? {
            Some(rows) => rows,
            None => return Ok(()),
        },
    };
    let locked = rows.iter().find(|r| {
        r.locked.is_some()
            && match tag {
                Some(t) => r.tag == t,
                None => r.digest == digest,
            }
    });
    match locked {
        Some(r) => Err(Error::Unsupported(format!(
            "{repo}:{} is locked by the registry ({}); nothing was deleted{}",
            r.tag,
            r.locked.as_deref().unwrap_or_default(),
            if tag.is_none() {
                " (deleting the manifest would remove that tag too)"
            } else {
                ""
            }
        ))),
        None => Ok(()),
    }
}

/// What the user confirmed before deleting a manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confirmed {
    /// The tags they were shown (all go with the manifest).
    pub tags: Vec<String>,
    /// Index tags they agreed to break (the manifest is one of their platforms).
    pub indexes: Vec<String>,
    /// The referrer digests they were shown, for a delete with referrers: only these go.
    pub referrers: Vec<String>,
}

/// What a manifest delete did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Done {
    /// The tags that went.
    pub tags: Vec<String>,
    /// The referrer digests deleted with it.
    pub referrers: Vec<String>,
    /// What was left or refused on the way, for people (the delete itself happened).
    pub warnings: Vec<String>,
}

/// Deletes manifest `digest` with every tag on it, if nothing beyond what the user confirmed uses
/// it now: a new tag on it ([`Error::NewTags`]) or a tagged index that lists it and was not
/// confirmed ([`Error::UsedByIndex`]) refuse the delete. Then checks that it is gone. Returns the
/// tags that went; taking a referrer out of its subject's fallback index afterwards is best
/// effort (a failure is a warning: the delete happened). The DELETE is never retried.
pub async fn delete_manifest_checked(
    b: &dyn Backend,
    repo: &str,
    digest: &str,
    confirmed: &Confirmed,
    concurrency: usize,
) -> Result<Done> {
    refuse_locked(b, repo, None, digest).await?;
    let users = users_of_one(b, repo, digest, concurrency).await?;
    let added: Vec<String> = users
        .tags
        .iter()
        .filter(|t| !confirmed.tags.contains(t))
        .cloned()
        .collect();
    if !added.is_empty() {
        return Err(Error::NewTags {
            digest: digest.to_string(),
            tags: added,
        });
    }
    let unconfirmed: Vec<String> = users
        .indexes
        .iter()
        .filter(|(t, _)| !confirmed.indexes.contains(t))
        .map(|(t, d)| format!("{t} (index {})", super::digest::short(d)))
        .collect();
    if !unconfirmed.is_empty() {
        return Err(Error::UsedByIndex {
            digest: digest.to_string(),
            indexes: unconfirmed,
        });
    }
    // A referrer (a signature, an SBOM) names its subject: its fallback index loses it.
    let subject = b
        .get_manifest(repo, digest)
        .await
        .ok()
        .and_then(|m| subject_of(&m.raw));
    delete_manifest_verified(b, repo, digest).await?;
    let mut done = Done {
        tags: users.tags,
        ..Done::default()
    };
    if let Some(s) = subject {
        let gone = [digest.to_string()];
        match unlist_referrers(b, repo, &s, &gone, concurrency).await {
            Ok(Some((tags, warnings))) => {
                done.tags.extend(tags);
                done.warnings.extend(warnings);
            }
            Ok(None) => {}
            Err(e) => done.warnings.push(format!(
                "the manifest was deleted, but the fallback index {} still lists it: {e}",
                super::referrers::fallback_tag(&s)
            )),
        }
    }
    Ok(done)
}

/// The `subject` digest of a manifest (what a referrer refers to), if it names one.
pub fn subject_of(raw: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(raw).ok()?;
    let d = v.get("subject")?.get("digest")?.as_str()?;
    super::digest::validate(d).ok()?;
    Some(d.to_string())
}

/// Deletes the index `index` that only the tag `tag` is to lose, unless another tag points at
/// it too: then only `tag` is removed (or, if that fails, kept), and a warning says so.
/// Returns whether `tag` went, and the warnings.
async fn drop_tagged_index(
    b: &dyn Backend,
    repo: &str,
    tag: &str,
    index: &str,
    n: usize,
) -> Result<(bool, Vec<String>)> {
    let going = HashMap::from([(tag.to_string(), index.to_string())]);
    let digests = BTreeSet::from([index.to_string()]);
    let users = users_of(b, repo, &digests, &going, n)
        .await?
        .remove(index)
        .unwrap_or_default();
    if users.tags.is_empty() && users.indexes.is_empty() {
        return match delete_manifest_verified(b, repo, index).await {
            Ok(()) | Err(Error::NotFound { .. }) => Ok((true, vec![])),
            Err(e) => Err(e),
        };
    }
    let mut others: Vec<String> = users.tags.clone();
    others.extend(users.indexes.iter().map(|(t, _)| t.clone()));
    let others = others.join(", ");
    let short = super::digest::short(index);
    Ok(match untag_checked(b, repo, tag, index).await {
        Ok(_) => (
            true,
            vec![format!(
                "removed only the tag {tag}: its manifest {short} is also used by {others}"
            )],
        ),
        Err(e) => (
            false,
            vec![format!(
                "kept {tag}: its manifest {short} is also used by {others}, and removing the tag \
                 alone failed: {e}"
            )],
        ),
    })
}

/// Takes `gone` out of the fallback referrers index of `subject` (the tag `sha256-<hex>` of
/// registries without the referrers API), as oras does: the index is stored again without them
/// and the old one deleted, or, when nothing is left in it, deleted with its tag. An index
/// another tag also points at is never deleted by digest. Returns the tags removed (the
/// fallback tag when it went) and warnings, `None` when there is no such index or it did not
/// list them.
pub async fn unlist_referrers(
    b: &dyn Backend,
    repo: &str,
    subject: &str,
    gone: &[String],
    n: usize,
) -> Result<Option<(Vec<String>, Vec<String>)>> {
    let tag = super::referrers::fallback_tag(subject);
    let old = match b.get_manifest(repo, &tag).await {
        Ok(m) if m.media_type == OCI_INDEX => m,
        Ok(_) | Err(Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut v: serde_json::Value =
        serde_json::from_slice(&old.raw).map_err(|e| Error::Invalid {
            what: format!("{repo}:{tag}"),
            detail: e.to_string(),
        })?;
    let Some(list) = v.get_mut("manifests").and_then(|m| m.as_array_mut()) else {
        return Ok(None);
    };
    let before = list.len();
    list.retain(|d| {
        d.get("digest")
            .and_then(|x| x.as_str())
            .is_none_or(|x| !gone.iter().any(|g| g == x))
    });
    if list.len() == before {
        return Ok(None);
    }
    if list.is_empty() {
        let (went, warnings) = drop_tagged_index(b, repo, &tag, &old.digest, n).await?;
        return Ok(Some((if went { vec![tag] } else { vec![] }, warnings)));
    }
    let body = serde_json::to_vec(&v).map_err(|e| Error::Invalid {
        what: format!("{repo}:{tag}"),
        detail: e.to_string(),
    })?;
    let new = b.put_manifest_raw(repo, &tag, OCI_INDEX, body).await?;
    if new != old.digest {
        // The old index is untagged now: garbage, as oras leaves none (best effort), unless
        // another tag still points at it.
        let digests = BTreeSet::from([old.digest.clone()]);
        if let Ok(mut u) = users_of(b, repo, &digests, &HashMap::new(), n).await {
            let u = u.remove(&old.digest).unwrap_or_default();
            if u.tags.is_empty() && u.indexes.is_empty() {
                let _ = b.delete_manifest(repo, &old.digest).await;
            }
        }
    }
    Ok(Some((vec![], vec![])))
}

/// Why the confirmed referrer `r` of `subject` may not be deleted now (it does not refer to
/// `subject`), or the tags that go with it (its cosign tag). `Ok(None)`: it is gone already.
/// Who else uses it is checked by the caller, for all referrers at once.
async fn vet_referrer(
    b: &dyn Backend,
    repo: &str,
    subject: &str,
    r: &str,
    now: &[super::referrers::Referrer],
) -> Result<Option<Vec<String>>> {
    use super::referrers::Source;
    let refuse = |why: String| Error::Invalid {
        what: format!("referrer {}", super::digest::short(r)),
        detail: why,
    };
    let m = match b.get_manifest(repo, r).await {
        Ok(m) => m,
        Err(Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    if m.digest != r {
        return Err(refuse("the registry sent another manifest".into()));
    }
    let listed = now.iter().find(|x| x.digest == r);
    let mut going = HashMap::new();
    let names_it = subject_of(&m.raw).as_deref() == Some(subject);
    match listed {
        // cosign's legacy tags name no subject: the tag must still point at it.
        Some(x) if x.source == Source::CosignTag => {
            if let Some(t) = &x.tag {
                going.insert(t.clone(), r.to_string());
            }
        }
        // Harbor's own record of accessories (not a tag anyone can plant).
        Some(x) if x.source == Source::HarborAccessory => {}
        _ if names_it => {}
        Some(_) => {
            return Err(refuse(format!(
                "it does not name {} as its subject",
                super::digest::short(subject)
            )));
        }
        None => {
            return Err(refuse(format!(
                "it no longer refers to {}",
                super::digest::short(subject)
            )));
        }
    }
    Ok(Some(going.into_keys().collect()))
}

/// Deletes manifest `digest` like [`delete_manifest_checked`], then the referrers the user
/// confirmed (`confirmed.referrers`: signatures, SBOMs, attestations, with cosign's tags) and
/// the fallback index. Each referrer is checked first: it must name `digest` as its subject (or
/// sit under its cosign tag now) and be used by nothing else; anything else is kept and reported
/// in the warnings, as are referrers that appeared since the confirmation.
pub async fn delete_with_referrers(
    b: &dyn Backend,
    repo: &str,
    digest: &str,
    confirmed: &Confirmed,
    concurrency: usize,
) -> Result<Done> {
    let now = super::referrers::referrers(b, repo, digest, None).await?;
    let mut plan: Vec<(String, Vec<String>)> = Vec::new();
    let mut warnings = Vec::new();
    let mut candidates = Vec::new();
    for r in &confirmed.referrers {
        match vet_referrer(b, repo, digest, r, &now).await {
            Ok(Some(tags)) => candidates.push((r.clone(), tags)),
            Ok(None) => {}
            Err(e) => warnings.push(format!("kept {e}")),
        }
    }
    // Nothing else may use them: a tag of their own (beyond their cosign tag) or an index that
    // lists them (beyond the fallback index of `digest`). One survey for all of them.
    if !candidates.is_empty() {
        let digests: BTreeSet<String> = candidates.iter().map(|(r, _)| r.clone()).collect();
        let going: HashMap<String, String> = candidates
            .iter()
            .flat_map(|(r, tags)| tags.iter().map(move |t| (t.clone(), r.clone())))
            .collect();
        let users = users_of(b, repo, &digests, &going, concurrency).await?;
        for (r, tags) in candidates {
            match users.get(&r) {
                Some(u) if !u.tags.is_empty() || !u.indexes.is_empty() => {
                    let mut by = u.tags.clone();
                    by.extend(u.index_names());
                    warnings.push(format!(
                        "kept referrer {}: it is also used by {}",
                        super::digest::short(&r),
                        by.join(", ")
                    ));
                }
                _ => plan.push((r, tags)),
            }
        }
    }
    let new: Vec<&str> = now
        .iter()
        .filter(|x| !confirmed.referrers.contains(&x.digest))
        .map(|x| x.digest.as_str())
        .collect();
    if !new.is_empty() {
        warnings.push(format!(
            "kept {} referrer(s) not confirmed (appeared since): {}",
            new.len(),
            new.iter()
                .map(|d| super::digest::short(d))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut done = delete_manifest_checked(b, repo, digest, confirmed, concurrency).await?;
    done.warnings.extend(warnings);
    let total = plan.len();
    let partial = |done: usize, e: Error| -> Error {
        let ctx = format!(" (after the image and {done} of its {total} referrers were deleted)",);
        match e {
            Error::OutcomeUnknown { what, cause, after } => Error::OutcomeUnknown {
                what: what + &ctx,
                cause,
                after,
            },
            Error::StillPresent { what, detail } => Error::StillPresent {
                what: what + &ctx,
                detail,
            },
            e => Error::Invalid {
                what: format!("the referrers of {}", super::digest::short(digest)),
                detail: format!(
                    "the image was deleted and {done} of its {total} referrers, then: {e}"
                ),
            },
        }
    };
    for (r, tags) in &plan {
        match delete_manifest_verified(b, repo, r).await {
            Ok(()) | Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(partial(done.referrers.len(), e)),
        }
        done.referrers.push(r.clone());
        done.tags.extend(tags.iter().cloned());
    }
    // The fallback index: only an index of referrers of `digest`, and only what was deleted
    // leaves it (the rest stays listed).
    if !done.referrers.is_empty() {
        match unlist_referrers(b, repo, digest, &done.referrers, concurrency).await {
            Ok(Some((tags, w))) => {
                done.tags.extend(tags);
                done.warnings.extend(w);
            }
            Ok(None) => {}
            Err(e) => done.warnings.push(format!(
                "the fallback index {} could not be updated: {e}",
                super::referrers::fallback_tag(digest)
            )),
        }
    }
    let fallback = super::referrers::fallback_tag(digest);
    if !done.tags.contains(&fallback) {
        if let Ok(m) = b.get_manifest(repo, &fallback).await {
            done.warnings.push(format!(
                "kept the tag {fallback} ({})",
                super::digest::short(&m.digest)
            ));
        }
    }
    Ok(done)
}

/// Deletes manifest `digest` (never retried) and checks that it is gone; a lost answer is
/// reported as an unknown outcome unless the check finds it gone.
pub async fn delete_manifest_verified(b: &dyn Backend, repo: &str, digest: &str) -> Result<()> {
    match b.delete_manifest(repo, digest).await {
        Ok(()) => verify_gone(b, repo, digest, None).await,
        Err(e) if answer_lost(&e) => verify_gone(b, repo, digest, Some(&e)).await,
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::{natural_cmp, sort_natural_by};

    #[test]
    fn the_keyed_sort_orders_as_natural_cmp_does() {
        // Digit runs with leading zeros, runs against letters and punctuation, equal values
        // spelled differently, long shared starts (past the 16-byte key), runs of 255+
        // digits, non-ASCII: 6,000 names from a fixed generator, sorted from shuffled.
        let alphabet: Vec<char> = "0000123456789ab.-_zé".chars().collect();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let stems = [
            "",
            "release-2024.",
            "a",
            "v1.2.3-build.",
            "0000000000000000000",
        ];
        let mut names: Vec<String> = (0..6000)
            .map(|_| {
                let mut s = stems[(next() % stems.len() as u64) as usize].to_string();
                let len = 1 + next() % 12;
                for _ in 0..len {
                    s.push(alphabet[(next() % alphabet.len() as u64) as usize]);
                }
                if next() % 50 == 0 {
                    let long = 250 + next() % 10;
                    s.extend((0..long).map(|_| char::from(b'1' + (next() % 9) as u8)));
                }
                s
            })
            .collect();
        // Duplicates too, to show the sort is stable.
        names.extend(names[..300].to_vec());
        let mut want: Vec<(String, usize)> = names.iter().cloned().zip(0..).collect();
        want.sort_by(|a, b| natural_cmp(&a.0, &b.0));
        let mut got: Vec<(String, usize)> = names.into_iter().zip(0..).collect();
        sort_natural_by(&mut got, |s| &s.0);
        assert_eq!(got, want);
        // Already in order: unchanged.
        sort_natural_by(&mut got, |s| &s.0);
        assert_eq!(got, want);
    }

    #[test]
    fn natural_order_is_semver_friendly() {
        let mut v = vec!["v1.10", "v1.9", "v1.2.3", "latest", "v01.9", "10", "9"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["9", "10", "latest", "v1.2.3", "v01.9", "v1.9", "v1.10"]);
    }

    #[test]
    fn a_layer_repeated_in_one_image_counts_once() {
        use super::{Desc, image_size};
        let d = |digest: &str, size| Desc {
            digest: digest.into(),
            media_type: String::new(),
            size,
        };
        let layers = [d("sha256:l1", 100), d("sha256:l2", 10), d("sha256:l1", 100)];
        assert_eq!(image_size(&d("sha256:c", 1), &layers), 111);
    }
}
