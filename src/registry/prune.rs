//! Cleanup of stale tags: retention rules, protected tags, the plan with the bytes it frees, and its execution.
//!
//! The same code serves `regtui prune` and the TUI, so both show the same preview.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures_util::stream::{self, StreamExt};
use regex_lite::Regex;
use serde::Serialize;

use super::model::{Desc, ManifestKind, TagDeleteMethod, TagRow};
use super::ops::{Users, all_tags, natural_cmp, tag_rows, users_of};
use super::usage::GcCheck;
use super::{Backend, Capabilities, Error, Result};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Parses `90d`, `12w`, `6m` (30-day months), `1y` (365 days), `36h` into seconds.
pub fn parse_duration(s: &str) -> std::result::Result<i64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?}: add a unit: h, d, w, m (months) or y"))?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a number followed by h, d, w, m or y"))?;
    let unit_secs = match unit {
        "h" => 3600,
        "d" => DAY,
        "w" => 7 * DAY,
        "m" | "mo" => 30 * DAY,
        "y" => 365 * DAY,
        _ => return Err(format!("{s:?}: unknown unit {unit:?}; use h, d, w, m or y")),
    };
    n.checked_mul(unit_secs)
        .ok_or_else(|| format!("{s:?}: too long"))
}

/// Shell-style glob: `*` any run, `?` one character, everything else literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Tags that are never marked: globs from the profile's `protected_tags`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protected(pub Vec<String>);

impl Protected {
    /// Whether `tag` matches one of the globs.
    pub fn covers(&self, tag: &str) -> bool {
        self.0.iter().any(|g| glob_match(g, tag))
    }
}

/// Which tags to mark. Empty rules mark nothing.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Keep the newest N of the tags the other rules leave eligible.
    pub keep: Option<usize>,
    /// Mark only tags older than this many seconds.
    pub older_than: Option<i64>,
    /// Consider only tags matching this.
    pub include: Option<Regex>,
    /// Never consider tags matching this.
    pub exclude: Option<Regex>,
    /// Mark only tags not pulled within this many seconds (never pulled counts); needs a
    /// service that records pulls ([`Rules::select_rows`]).
    pub unpulled_for: Option<i64>,
}

impl Rules {
    /// Builds rules from their text forms (`--keep`, `--older-than`, `--match`, `--exclude`).
    pub fn parse(
        keep: Option<usize>,
        older_than: Option<&str>,
        include: Option<&str>,
        exclude: Option<&str>,
    ) -> std::result::Result<Rules, String> {
        let re = |what: &str, s: Option<&str>| -> std::result::Result<Option<Regex>, String> {
            s.filter(|s| !s.is_empty())
                .map(|s| Regex::new(s).map_err(|e| format!("{what} {s:?}: {e}")))
                .transpose()
        };
        Ok(Rules {
            keep,
            older_than: older_than
                .filter(|s| !s.trim().is_empty())
                .map(parse_duration)
                .transpose()?,
            include: re("match", include)?,
            exclude: re("exclude", exclude)?,
            unpulled_for: None,
        })
    }

    /// True when no rule is set (nothing would be marked).
    pub fn is_empty(&self) -> bool {
        self.keep.is_none()
            && self.older_than.is_none()
            && self.include.is_none()
            && self.exclude.is_none()
            && self.unpulled_for.is_none()
    }

    /// The tags these rules mark out of listed rows: as [`Rules::select`], and besides the
    /// profile's protected tags, a tag the service itself locks (`TagRow::locked`) is never
    /// marked; `unpulled_for` keeps only tags not pulled since `now - unpulled_for` (a tag the
    /// service never saw pulled counts; one without pull data is not marked).
    pub fn select_rows(&self, rows: &[TagRow], protected: &Protected, now: i64) -> Vec<String> {
        let dates: Vec<(String, Option<i64>)> = rows
            .iter()
            .filter(|r| r.locked.is_none())
            .map(|r| (r.tag.clone(), r.date()))
            .collect();
        let mut out = self.select(&dates, protected, now);
        if let Some(age) = self.unpulled_for {
            let pulled: HashMap<&str, &Option<Option<String>>> =
                rows.iter().map(|r| (r.tag.as_str(), &r.pulled)).collect();
            out.retain(|t| match pulled.get(t.as_str()) {
                Some(Some(None)) => true,
                Some(Some(Some(at))) => {
                    super::model::unix_seconds(at).is_some_and(|d| d <= now - age)
                }
                _ => false,
            });
        }
        out
    }

    /// The tags these rules mark, out of `(tag, date)` pairs (date in Unix seconds, when known).
    ///
    /// Protected tags are never marked. Keep-N keeps the newest N by date; a tag whose date is
    /// unknown is never marked and does not count towards N.
    pub fn select(
        &self,
        tags: &[(String, Option<i64>)],
        protected: &Protected,
        now: i64,
    ) -> Vec<String> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut eligible: Vec<&(String, Option<i64>)> = tags
            .iter()
            .filter(|(t, _)| !protected.covers(t))
            // Signature/SBOM/attestation tags are not images: rules never count or mark them.
            .filter(|(t, _)| !super::referrers::is_artifact_tag(t))
            .filter(|(t, _)| self.include.as_ref().is_none_or(|r| r.is_match(t)))
            .filter(|(t, _)| !self.exclude.as_ref().is_some_and(|r| r.is_match(t)))
            .collect();
        // A tag without a date is never marked and takes no keep slot: we cannot rank it.
        eligible.retain(|(_, d)| d.is_some());
        // Newest first.
        eligible.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| natural_cmp(&b.0, &a.0)));
        let skip = self.keep.unwrap_or(0);
        let mut out: Vec<String> = eligible
            .into_iter()
            .skip(skip)
            .filter(|(_, d)| match self.older_than {
                Some(age) => d.is_some_and(|d| d <= now - age),
                None => true,
            })
            .map(|(t, _)| t.clone())
            .collect();
        out.sort_by(|a, b| natural_cmp(a, b));
        out
    }
}

/// The blobs one manifest holds on to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Digest → size of the manifest body itself, its config and layers (an index: and those of its children).
    pub blobs: BTreeMap<String, u64>,
    /// Child manifests of an index.
    pub children: Vec<String>,
}

/// A fresh look at one repository: every tag with its details, and what each manifest holds.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    pub repo: String,
    pub rows: Vec<TagRow>,
    pub footprints: HashMap<String, Footprint>,
}

impl Survey {
    /// `(tag, date)` pairs for [`Rules::select`]; tags the service locks are left out (never
    /// marked).
    pub fn dates(&self) -> Vec<(String, Option<i64>)> {
        self.rows
            .iter()
            .filter(|r| r.locked.is_none())
            .map(|r| (r.tag.clone(), r.date()))
            .collect()
    }
}

fn add_image(fp: &mut Footprint, config: &Desc, layers: &[Desc]) {
    fp.blobs.insert(config.digest.clone(), config.size);
    for l in layers {
        fp.blobs.insert(l.digest.clone(), l.size);
    }
}

/// What the manifest `digest` holds (its children are fetched; manifests come from the cache
/// when the tag details were loaded just before).
pub async fn footprint(b: &dyn Backend, repo: &str, digest: &str) -> Result<Footprint> {
    let m = b.get_manifest(repo, digest).await?;
    let mut fp = Footprint::default();
    fp.blobs.insert(m.digest.clone(), m.raw.len() as u64);
    match &m.kind {
        ManifestKind::Image { config, layers } => add_image(&mut fp, config, layers),
        ManifestKind::Index { children } => {
            for c in children {
                let child = b.get_manifest(repo, &c.digest).await?;
                fp.blobs
                    .insert(child.digest.clone(), child.raw.len() as u64);
                fp.children.push(child.digest.clone());
                if let ManifestKind::Image { config, layers } = &child.kind {
                    add_image(&mut fp, config, layers);
                }
            }
        }
    }
    Ok(fp)
}

/// Lists every tag of `repo` with its details and the footprint of every manifest,
/// `concurrency` requests at a time. A tag deleted meanwhile is left out; any other error fails
/// the survey (a tag of unknown digest could share blobs with what would be deleted), and so does
/// a tag that exists but references something missing.
pub async fn survey(b: &dyn Backend, repo: &str, concurrency: usize) -> Result<Survey> {
    let tags = all_tags(b, repo).await?;
    let mut rows = Vec::with_capacity(tags.len());
    let mut first_err: Option<Error> = None;
    let mut not_found: Vec<(String, Error)> = Vec::new();
    tag_rows(b, repo, &tags, concurrency, |t, r| match r {
        Ok(row) => rows.push(row),
        Err(e @ Error::NotFound { .. }) => not_found.push((t.to_string(), e)),
        Err(e) => {
            first_err.get_or_insert(e);
        }
    })
    .await;
    if let Some(e) = first_err {
        return Err(e);
    }
    // Only a tag that is itself gone was deleted meanwhile. A 404 on something it references
    // (an index's child, a config) fails the survey: dropping the tag would plan deletes of
    // manifests it still holds on to.
    for (t, e) in not_found {
        match b.head_manifest(repo, &t).await {
            Err(Error::NotFound { .. }) => {}
            Ok(_) => {
                return Err(Error::Invalid {
                    what: format!("tag {repo}:{t}"),
                    detail: format!(
                        "{e}; the tag exists but something it references is missing, so \
                         nothing was planned"
                    ),
                });
            }
            Err(e) => return Err(e),
        }
    }
    rows.sort_by(|a, b| natural_cmp(&a.tag, &b.tag));
    let digests: BTreeSet<String> = rows.iter().map(|r| r.digest.clone()).collect();
    let fps: Vec<(String, Result<Footprint>)> = stream::iter(digests)
        .map(|d| async move {
            let r = footprint(b, repo, &d).await;
            (d, r)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut footprints = HashMap::new();
    for (d, r) in fps {
        footprints.insert(d, r?);
    }
    Ok(Survey {
        repo: repo.to_string(),
        rows,
        footprints,
    })
}

/// A tag removed while its manifest stays (other tags, or an index, still use it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Untag {
    pub tag: String,
    pub digest: String,
    /// Tags that keep the manifest alive.
    pub kept_by: Vec<String>,
}

impl Untag {
    /// Why the manifest stays, as the previews say it.
    pub fn why(&self) -> String {
        if self.kept_by.is_empty() {
            "manifest stays (used by an index)".to_string()
        } else {
            format!("manifest stays with {}", self.kept_by.join(", "))
        }
    }
}

/// A manifest that disappears with all its tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removal {
    pub digest: String,
    pub tags: Vec<String>,
    /// Config + layers (index: distinct blobs of its children), as in the tags pane.
    pub size: u64,
}

/// A marked tag that will not be touched, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    pub tag: String,
    pub reason: String,
}

/// What a cleanup will do; the preview shows exactly this and execution follows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub repo: String,
    /// Tags removed while their manifest stays.
    pub untag: Vec<Untag>,
    /// Manifests deleted with every tag on them.
    pub delete: Vec<Removal>,
    /// Tags that stay.
    pub kept: Vec<String>,
    /// Marked tags left alone (protected, unknown, or the provider cannot do it).
    pub skipped: Vec<Skip>,
    /// Bytes of blobs no remaining manifest references, each counted once: in the whole
    /// registry where its garbage collection is registry-wide and [`Plan::gc`] checked it (an
    /// upper bound when `gc.exact` is false), else in this repository.
    pub bytes_freed: u64,
    /// Bytes of the deleted manifests' blobs that stay because remaining manifests (of this
    /// repository, or of others: `gc.bytes_shared_elsewhere`) share them.
    pub bytes_shared: u64,
    /// The blobs (digest → size) each removal holds, for the bytes of what was really deleted.
    #[serde(skip)]
    pub removal_blobs: BTreeMap<String, BTreeMap<String, u64>>,
    /// Blobs of the manifests that stay.
    #[serde(skip)]
    pub staying_blobs: BTreeSet<String>,
    /// Whose garbage collection the bytes count for, and what the registry-wide check found
    /// ([`super::usage::registry_wide`]).
    pub gc: GcCheck,
    /// The digests among the removals' blobs that are manifests (asked about as manifests).
    #[serde(skip)]
    pub manifest_blobs: BTreeSet<String>,
    /// Blobs of the removals that other repositories still use (they stay after GC).
    #[serde(skip)]
    pub elsewhere_blobs: BTreeSet<String>,
    /// Artifact tags (`sha256-<hex>`, `.sig`, `.att`, `.sbom`) of deleted manifests that stay:
    /// signatures, SBOMs and attestations left without their image (cleanup rules never mark
    /// artifact tags; `rm --with-referrers` or the TUI's delete removes them with the image).
    pub orphaned_referrer_tags: Vec<String>,
}

impl Plan {
    /// What stays behind of the deleted images' signatures, SBOMs and attestations, if any.
    pub fn orphans_text(&self) -> Option<String> {
        let n = self.orphaned_referrer_tags.len();
        (n > 0).then(|| {
            let first = &self.orphaned_referrer_tags[0];
            let more = if n > 1 {
                format!(" and {} more", n - 1)
            } else {
                String::new()
            };
            format!(
                "{n} artifact tag(s) of deleted images stay without their image ({first}{more}): \
                 signatures, SBOMs or attestations; rm --with-referrers removes them with an image"
            )
        })
    }

    /// Deletions to carry out (untags plus manifests).
    pub fn len(&self) -> usize {
        self.untag.len() + self.delete.len()
    }

    /// True when nothing would be deleted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes freed by what `outcomes` report as deleted: blobs of deleted manifests that neither a
    /// staying manifest nor a removal that did not happen still references, each counted once.
    pub fn bytes_deleted(&self, outcomes: &[Outcome]) -> u64 {
        let deleted: BTreeSet<&str> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Deleted { digest, .. } => Some(digest.as_str()),
                _ => None,
            })
            .collect();
        let mut kept: BTreeSet<&str> = self.staying_blobs.iter().map(String::as_str).collect();
        kept.extend(self.elsewhere_blobs.iter().map(String::as_str));
        let mut gone: BTreeMap<&str, u64> = BTreeMap::new();
        for (d, blobs) in &self.removal_blobs {
            if deleted.contains(d.as_str()) {
                gone.extend(blobs.iter().map(|(k, v)| (k.as_str(), *v)));
            } else {
                kept.extend(blobs.keys().map(String::as_str));
            }
        }
        super::model::sum_sizes(
            gone.iter()
                .filter(|(k, _)| !kept.contains(*k))
                .map(|(_, v)| *v),
        )
    }

    /// Blobs (digest → size) of the removals that no staying manifest of the repository uses:
    /// what the plan frees counting this repository alone.
    pub fn freed_blobs(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for blobs in self.removal_blobs.values() {
            for (k, v) in blobs {
                if !self.staying_blobs.contains(k) {
                    out.insert(k.clone(), *v);
                }
            }
        }
        out
    }

    /// Every tag that goes.
    pub fn tags_removed(&self) -> Vec<String> {
        let mut v: Vec<String> = self.untag.iter().map(|u| u.tag.clone()).collect();
        v.extend(self.delete.iter().flat_map(|d| d.tags.iter().cloned()));
        v.sort_by(|a, b| natural_cmp(a, b));
        v
    }
}

/// Works out what removing `marked` from the surveyed repository does.
///
/// A digest that an unmarked tag (or a remaining index) still uses is untagged only, never
/// deleted; protected tags are never touched. Bytes are counted over distinct blobs.
pub fn plan(s: &Survey, marked: &[String], protected: &Protected, caps: Capabilities) -> Plan {
    let known: HashMap<&str, &TagRow> = s.rows.iter().map(|r| (r.tag.as_str(), r)).collect();
    let mut skipped = Vec::new();
    let mut going: BTreeSet<&str> = BTreeSet::new();
    for t in marked {
        if protected.covers(t) {
            skipped.push(Skip {
                tag: t.clone(),
                reason: "protected by the profile's protected_tags".into(),
            });
        } else if let Some(lock) = known.get(t.as_str()).and_then(|r| r.locked.as_deref()) {
            skipped.push(Skip {
                tag: t.clone(),
                reason: format!("locked by the registry: {lock}"),
            });
        } else if known.contains_key(t.as_str()) {
            going.insert(t.as_str());
        } else {
            skipped.push(Skip {
                tag: t.clone(),
                reason: "no longer in the repository".into(),
            });
        }
    }
    // Manifests that stay: those of kept tags, and the children of kept indexes.
    let mut kept_tags_of: HashMap<&str, Vec<String>> = HashMap::new();
    let mut kept = Vec::new();
    for r in &s.rows {
        if !going.contains(r.tag.as_str()) {
            kept.push(r.tag.clone());
            kept_tags_of
                .entry(r.digest.as_str())
                .or_default()
                .push(r.tag.clone());
        }
    }
    let mut staying: BTreeSet<&str> = kept_tags_of.keys().copied().collect();
    for d in kept_tags_of.keys() {
        if let Some(fp) = s.footprints.get(*d) {
            staying.extend(fp.children.iter().map(String::as_str));
        }
    }
    let mut untag = Vec::new();
    let mut removals: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for t in &going {
        let row = known[t];
        let d = row.digest.as_str();
        if staying.contains(d) {
            let kept_by = kept_tags_of.get(d).cloned().unwrap_or_default();
            if caps.delete_tag {
                untag.push(Untag {
                    tag: t.to_string(),
                    digest: d.to_string(),
                    kept_by,
                });
            } else {
                let why = if kept_by.is_empty() {
                    "a remaining index uses its manifest".to_string()
                } else {
                    format!("shares its manifest with {}", kept_by.join(", "))
                };
                skipped.push(Skip {
                    tag: t.to_string(),
                    reason: format!("{why}, and this registry cannot remove one tag alone"),
                });
            }
        } else if caps.delete_digest || caps.delete_tag {
            removals.entry(d).or_default().push(t.to_string());
        } else {
            skipped.push(Skip {
                tag: t.to_string(),
                reason: "this profile cannot delete".into(),
            });
        }
    }
    // Bytes: blobs of deleted manifests (and their children no one else keeps) versus
    // blobs of every manifest that stays.
    let mut remaining: BTreeMap<&str, u64> = BTreeMap::new();
    for d in &staying {
        if let Some(fp) = s.footprints.get(*d) {
            remaining.extend(fp.blobs.iter().map(|(k, v)| (k.as_str(), *v)));
        }
    }
    let mut gone: BTreeMap<&str, u64> = BTreeMap::new();
    let mut removal_blobs = BTreeMap::new();
    let mut manifest_blobs = BTreeSet::new();
    for d in removals.keys() {
        if let Some(fp) = s.footprints.get(*d) {
            gone.extend(fp.blobs.iter().map(|(k, v)| (k.as_str(), *v)));
            removal_blobs.insert(d.to_string(), fp.blobs.clone());
            manifest_blobs.insert(d.to_string());
            manifest_blobs.extend(fp.children.iter().cloned());
        }
    }
    let (mut bytes_freed, mut bytes_shared) = (0, 0);
    for (k, v) in &gone {
        if remaining.contains_key(k) {
            bytes_shared = u64::saturating_add(bytes_shared, *v);
        } else {
            bytes_freed = u64::saturating_add(bytes_freed, *v);
        }
    }
    let size_of: HashMap<&str, u64> = s.rows.iter().map(|r| (r.digest.as_str(), r.size)).collect();
    let delete: Vec<Removal> = removals
        .into_iter()
        .map(|(d, mut tags)| {
            tags.sort_by(|a, b| natural_cmp(a, b));
            Removal {
                digest: d.to_string(),
                tags,
                size: size_of.get(d).copied().unwrap_or(0),
            }
        })
        .collect();
    kept.sort_by(|a, b| natural_cmp(a, b));
    let orphaned_referrer_tags = orphaned(&kept, removals_digests(&delete));
    Plan {
        repo: s.repo.clone(),
        untag,
        delete,
        kept,
        skipped,
        bytes_freed,
        bytes_shared,
        removal_blobs,
        staying_blobs: remaining.keys().map(|k| k.to_string()).collect(),
        gc: GcCheck::in_repo(bytes_freed),
        manifest_blobs,
        elsewhere_blobs: BTreeSet::new(),
        orphaned_referrer_tags,
    }
}

fn removals_digests(delete: &[Removal]) -> BTreeSet<&str> {
    delete.iter().map(|r| r.digest.as_str()).collect()
}

/// The kept tags that are artifact tags of a deleted digest: `sha256-<hex>` (the referrers
/// fallback index) and cosign's `sha256-<hex>.sig`, `.att`, `.sbom`.
fn orphaned(kept: &[String], deleted: BTreeSet<&str>) -> Vec<String> {
    kept.iter()
        .filter(|t| {
            let Some(rest) = t.strip_prefix("sha256-") else {
                return false;
            };
            let hex = rest.split('.').next().unwrap_or(rest);
            let suffix_ok = matches!(rest.strip_prefix(hex), Some("" | ".sig" | ".att" | ".sbom"));
            suffix_ok && deleted.contains(format!("sha256:{hex}").as_str())
        })
        .cloned()
        .collect()
}

/// What happened to one item of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// One tag removed, its manifest kept.
    Untagged {
        tag: String,
        method: TagDeleteMethod,
    },
    /// A manifest deleted with these tags.
    Deleted { digest: String, tags: Vec<String> },
    /// Not done: the registry changed since the preview.
    Skipped { what: String, reason: String },
    /// The registry refused or the request failed (including a delete it accepted while the
    /// manifest or tag is still there).
    Failed { what: String, error: String },
    /// The delete got no answer and a check afterwards could not settle what happened.
    Unknown { what: String, error: String },
}

impl Outcome {
    /// Whether this item did what the plan said.
    pub fn ok(&self) -> bool {
        matches!(self, Outcome::Untagged { .. } | Outcome::Deleted { .. })
    }
}

/// Resolves `tag` again; `Err` holds the reason to skip when it no longer points at `digest`.
async fn still_on(
    b: &dyn Backend,
    repo: &str,
    tag: &str,
    digest: &str,
) -> std::result::Result<(), String> {
    match b.head_manifest(repo, tag).await {
        Ok(d) if d.digest == digest => Ok(()),
        Ok(d) => Err(format!(
            "tag {tag} moved to {} since the preview",
            super::digest::short(&d.digest)
        )),
        Err(Error::NotFound { .. }) => Err(format!("tag {tag} is already gone")),
        // A tag whose state cannot be read is not deleted.
        Err(e) => Err(format!("could not resolve tag {tag} again: {e}")),
    }
}

/// The outcome of a delete that returned `e`.
fn failed(what: String, e: Error) -> Outcome {
    match e {
        Error::OutcomeUnknown { .. } => Outcome::Unknown {
            what,
            error: e.to_string(),
        },
        e => Outcome::Failed {
            what,
            error: e.to_string(),
        },
    }
}

async fn untag_one(b: &dyn Backend, repo: &str, u: &Untag) -> Outcome {
    if let Err(reason) = still_on(b, repo, &u.tag, &u.digest).await {
        return Outcome::Skipped {
            what: u.tag.clone(),
            reason,
        };
    }
    match super::ops::untag_checked(b, repo, &u.tag, &u.digest).await {
        Ok(method) => Outcome::Untagged {
            tag: u.tag.clone(),
            method,
        },
        Err(Error::Moved { now, .. }) => Outcome::Skipped {
            what: u.tag.clone(),
            reason: format!(
                "tag {} moved to {} since the preview",
                u.tag,
                super::digest::short(&now)
            ),
        },
        Err(e) => failed(u.tag.clone(), e),
    }
}

async fn remove_one(
    b: &dyn Backend,
    repo: &str,
    r: &Removal,
    caps: Capabilities,
    guard: &std::result::Result<HashMap<String, Users>, String>,
) -> Outcome {
    let what = format!(
        "{} ({})",
        super::digest::short(&r.digest),
        r.tags.join(", ")
    );
    match guard {
        Err(e) => {
            return Outcome::Failed {
                what,
                error: format!("could not check the repository's other tags again: {e}"),
            };
        }
        Ok(g) => {
            if let Some(u) = g.get(&r.digest) {
                let mut users = Vec::new();
                if !u.tags.is_empty() {
                    users.push(format!("tag(s) {} point at it", u.tags.join(", ")));
                }
                if !u.indexes.is_empty() {
                    users.push(format!(
                        "the index(es) {} list it",
                        u.index_names().join(", ")
                    ));
                }
                return Outcome::Skipped {
                    what,
                    reason: format!("{} since the preview", users.join(" and ")),
                };
            }
        }
    }
    let mut tags = Vec::new();
    let mut moved = Vec::new();
    for t in &r.tags {
        match still_on(b, repo, t, &r.digest).await {
            Ok(()) => tags.push(t.clone()),
            Err(reason) => moved.push(reason),
        }
    }
    if !moved.is_empty() {
        // Something changed under this manifest: leave it alone rather than guess.
        return Outcome::Skipped {
            what,
            reason: moved.join("; "),
        };
    }
    if caps.delete_digest {
        return match super::ops::delete_manifest_verified(b, repo, &r.digest).await {
            Ok(()) => Outcome::Deleted {
                digest: r.digest.clone(),
                tags,
            },
            Err(e) => failed(what, e),
        };
    }
    // Tag deletes only (Docker Hub, ECR by tag): the image goes with its last tag.
    for t in &tags {
        if let Err(e) = super::ops::untag_checked(b, repo, t, &r.digest).await {
            return failed(format!("{what}, tag {t}"), e);
        }
    }
    Outcome::Deleted {
        digest: r.digest.clone(),
        tags,
    }
}

/// Carries out a plan: untags first, then manifest deletes, at most `concurrency` at a time.
/// Each tag is resolved again just before its delete; one that moved is skipped. Before digest
/// deletes, every other tag is resolved again too, and a manifest that one of them now points at
/// is skipped. A failure does not stop the rest; nothing is retried. `on_item(done, total,
/// outcome)` reports each item as it finishes.
pub async fn execute(
    b: &dyn Backend,
    p: &Plan,
    caps: Capabilities,
    concurrency: usize,
    mut on_item: impl FnMut(usize, usize, &Outcome),
) -> Vec<Outcome> {
    let total = p.len();
    let n = concurrency.max(1);
    let repo = p.repo.as_str();
    let mut out = Vec::with_capacity(total);
    let mut untags = stream::iter(p.untag.iter().cloned())
        .map(|u| async move { untag_one(b, repo, &u).await })
        .buffer_unordered(n);
    while let Some(o) = untags.next().await {
        out.push(o);
        on_item(out.len(), total, out.last().unwrap());
    }
    let guard = if caps.delete_digest && !p.delete.is_empty() {
        // Each planned tag with the digest it goes with: only while it still points there.
        let going: HashMap<String, String> = p
            .delete
            .iter()
            .flat_map(|r| r.tags.iter().map(|t| (t.clone(), r.digest.clone())))
            .collect();
        let digests: BTreeSet<String> = p.delete.iter().map(|r| r.digest.clone()).collect();
        users_of(b, repo, &digests, &going, n)
            .await
            .map_err(|e| e.to_string())
    } else {
        // Tag deletes only touch the tags named; nothing else can go with them.
        Ok(HashMap::new())
    };
    let guard = &guard;
    let mut removals = stream::iter(p.delete.iter().cloned())
        .map(|r| async move { remove_one(b, repo, &r, caps, guard).await })
        .buffer_unordered(n);
    while let Some(o) = removals.next().await {
        out.push(o);
        on_item(out.len(), total, out.last().unwrap());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d"), Ok(90 * DAY));
        assert_eq!(parse_duration("12w"), Ok(84 * DAY));
        assert_eq!(parse_duration("6m"), Ok(180 * DAY));
        assert_eq!(parse_duration("1y"), Ok(365 * DAY));
        assert_eq!(parse_duration("36h"), Ok(36 * 3600));
        assert!(parse_duration("90").unwrap_err().contains("unit"));
        assert!(parse_duration("3x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("d").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match("v*", "v1.2.3"));
        assert!(glob_match("latest", "latest"));
        assert!(!glob_match("latest", "latest2"));
        assert!(glob_match("*-rc?", "1.0-rc1"));
        assert!(!glob_match("*-rc?", "1.0-rc10"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
    }

    fn tags(v: &[(&str, Option<i64>)]) -> Vec<(String, Option<i64>)> {
        v.iter().map(|(t, d)| (t.to_string(), *d)).collect()
    }

    #[test]
    fn keep_newest_by_date_not_name() {
        let t = tags(&[
            ("a", Some(400)),
            ("b", Some(100)),
            ("c", Some(300)),
            ("d", Some(200)),
            ("nodate", None),
        ]);
        let r = Rules::parse(Some(2), None, None, None).unwrap();
        // Newest two with a date are a and c; the undated one is kept outside the count.
        assert_eq!(r.select(&t, &Protected::default(), 1000), ["b", "d"]);
        let r = Rules::parse(Some(1), Some("1h"), None, None).unwrap();
        assert_eq!(r.select(&t, &Protected::default(), 4000), ["b", "c", "d"]);
        assert_eq!(
            r.select(&t, &Protected::default(), 3700),
            ["b"],
            "only b is an hour old"
        );
        let r = Rules::parse(None, None, Some("^[ab]$"), None).unwrap();
        assert_eq!(r.select(&t, &Protected::default(), 0), ["a", "b"]);
        let r = Rules::parse(Some(0), None, None, Some("^[ab]$")).unwrap();
        let prot = Protected(vec!["c".into()]);
        assert_eq!(
            r.select(&t, &prot, 0),
            ["d"],
            "an undated tag is never marked"
        );
        assert!(Rules::default().select(&t, &prot, 0).is_empty());
        // Artifact tags neither take keep slots nor get marked.
        let sig = format!("sha256-{}.sig", "a".repeat(64));
        let mut with_sig = t.clone();
        with_sig.push((sig.clone(), Some(50)));
        let r = Rules::parse(Some(2), None, None, None).unwrap();
        assert_eq!(r.select(&with_sig, &Protected::default(), 1000), ["b", "d"]);
        assert!(Rules::parse(None, None, Some("("), None).is_err());
    }

    fn row(tag: &str, digest: &str, pushed: i64) -> TagRow {
        TagRow {
            tag: tag.into(),
            digest: digest.into(),
            media_type: String::new(),
            size: 1,
            created: None,
            pushed: Some(crate::registry::model::rfc3339_millis(pushed * 1000)),
            platforms: Vec::new(),
            blobs: Vec::new(),
            locked: None,
            pulled: None,
        }
    }

    #[test]
    fn a_service_lock_is_never_marked_and_is_skipped_with_its_reason() {
        let mut rows = vec![row("a", "sha256:a", 100), row("b", "sha256:b", 200)];
        rows[0].locked = Some("deleteEnabled is false".into());
        let survey = Survey {
            repo: "r".into(),
            rows: rows.clone(),
            footprints: HashMap::new(),
        };
        let r = Rules::parse(None, Some("1h"), None, None).unwrap();
        assert_eq!(r.select_rows(&rows, &Protected::default(), 100_000), ["b"]);
        assert_eq!(
            r.select(&survey.dates(), &Protected::default(), 100_000),
            ["b"]
        );
        let caps = Capabilities {
            list_repos: true,
            delete_digest: true,
            delete_tag: true,
        };
        let p = plan(
            &survey,
            &["a".into(), "b".into()],
            &Protected::default(),
            caps,
        );
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].tag, "a");
        assert!(
            p.skipped[0].reason.contains("deleteEnabled is false"),
            "{:?}",
            p.skipped
        );
        assert_eq!(p.tags_removed(), ["b"]);
    }

    #[test]
    fn artifact_tags_of_deleted_images_are_named_as_left_behind() {
        let (a, b) = (
            format!("sha256:{}", "a".repeat(64)),
            format!("sha256:{}", "b".repeat(64)),
        );
        let fa = a.replacen(':', "-", 1);
        let fb = b.replacen(':', "-", 1);
        let rows = vec![
            row("old", &a, 100),
            row("new", &b, 100),
            row(&format!("{fa}.sig"), "sha256:s1", 1),
            row(&fa, "sha256:i1", 1),
            row(&format!("{fb}.sig"), "sha256:s2", 1),
            row(&format!("{fa}.other"), "sha256:s3", 1),
        ];
        let survey = Survey {
            repo: "r".into(),
            rows,
            footprints: HashMap::new(),
        };
        let caps = Capabilities {
            list_repos: true,
            delete_digest: true,
            delete_tag: true,
        };
        let p = plan(&survey, &["old".into()], &Protected::default(), caps);
        assert_eq!(p.orphaned_referrer_tags, [fa.clone(), format!("{fa}.sig")]);
        let text = p.orphans_text().unwrap();
        assert!(text.starts_with("2 artifact tag(s)"), "{text}");
        let none = plan(&survey, &[], &Protected::default(), caps);
        assert!(none.orphans_text().is_none());
    }

    #[test]
    fn unpulled_for_counts_never_pulled_and_skips_rows_without_pull_data() {
        let mut rows = vec![
            row("never", "sha256:1", 0),
            row("old", "sha256:2", 0),
            row("recent", "sha256:3", 0),
            row("unknown", "sha256:4", 0),
        ];
        rows[0].pulled = Some(None);
        rows[1].pulled = Some(Some(crate::registry::model::rfc3339_millis(1_000 * 1000)));
        rows[2].pulled = Some(Some(crate::registry::model::rfc3339_millis(
            90 * DAY * 1000,
        )));
        let r = Rules {
            unpulled_for: Some(30 * DAY),
            ..Default::default()
        };
        assert!(!r.is_empty());
        assert_eq!(
            r.select_rows(&rows, &Protected::default(), 100 * DAY),
            ["never", "old"]
        );
    }
}
