//! Registry-wide blob usage: which other repositories still hold the blobs a cleanup would free
//! (distribution's garbage collection is registry-wide), and repository sizes (`regtui du`, the
//! repositories pane).
//!
//! distribution keeps a blob while any manifest of any repository references it. Whether another
//! repository uses a blob is asked with `HEAD /v2/<other>/blobs/<digest>` (a manifest:
//! `HEAD /v2/<other>/manifests/<digest>`); a blob merely linked there (pushed or mounted, its
//! manifest since deleted) counts as used, which errs on the safe side: the preview may promise
//! less than the collector frees, never more.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::http::{Priority, with_priority};
use super::prune::{Plan, Survey, survey};
use super::{Backend, Error, ops};

/// Other repositories checked at most; beyond, the figure is an upper bound ("at most").
pub const MAX_OTHER_REPOS: usize = 500;
/// How long the registry-wide check may take before it settles for "at most".
pub const CHECK_BUDGET: Duration = Duration::from_secs(120);
/// Other repositories named in `shared_with`.
pub const SHARED_WITH_TOP: usize = 5;
/// Repositories with more tags than this get a tag count but no size in the repositories pane
/// (sizing needs every manifest; `regtui du` sizes them anyway).
pub const PANE_MAX_TAGS: usize = 2000;

/// Bounds of a registry-wide check.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// Other repositories checked at most.
    pub max_repos: usize,
    /// Time the whole check may take.
    pub budget: Duration,
    /// Requests in flight at most (the host's limiter bounds them too).
    pub concurrency: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            max_repos: MAX_OTHER_REPOS,
            budget: CHECK_BUDGET,
            concurrency: 16,
        }
    }
}

/// Whose garbage collection decides what a delete frees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GcScope {
    /// The bytes count this repository alone (the provider reclaims per repository, or the
    /// registry-wide check did not run).
    #[default]
    Repository,
    /// The bytes count what no other repository of the registry uses (distribution).
    Registry,
}

/// Another repository that still uses blobs a cleanup would delete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SharedWith {
    pub repo: String,
    /// Blobs of the cleanup it still uses.
    pub blobs: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// What the registry-wide check of a cleanup found, and how far it got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcCheck {
    pub scope: GcScope,
    /// Other repositories asked about every blob (all answered).
    pub checked_repos: usize,
    /// Other repositories the catalog lists (`None`: it could not be read).
    pub other_repos: Option<usize>,
    /// `bytes_freed` is exact for its scope; false: it is an upper bound ("at most").
    pub exact: bool,
    /// What was checked, or why the figure is at most / per repository, in the user's words.
    pub note: String,
    /// Bytes freed counting this repository alone.
    pub bytes_freed_in_repo: u64,
    /// Bytes of would-be-freed blobs that other repositories still use (stay after GC).
    pub bytes_shared_elsewhere: u64,
    /// The other repositories sharing the most bytes, largest first.
    pub shared_with: Vec<SharedWith>,
    /// How long the check took.
    pub millis: u64,
}

impl GcCheck {
    /// The per-repository figure before (or without) a registry-wide check.
    pub fn in_repo(bytes: u64) -> GcCheck {
        GcCheck {
            scope: GcScope::Repository,
            exact: true,
            note: "counted in this repository only".into(),
            bytes_freed_in_repo: bytes,
            ..Default::default()
        }
    }

    /// "frees 3 MiB (checked 61 other repositories)" or "frees at most 3 MiB: …".
    pub fn frees_text(&self, bytes: u64) -> String {
        let size = crate::fmt::human_size(bytes);
        if self.exact {
            format!("frees {size} ({})", self.note)
        } else {
            format!("frees at most {size}: {}", self.note)
        }
    }

    /// "shared with other repositories: a 1.2 MiB, b 300 KiB" (empty when none).
    pub fn shared_text(&self) -> String {
        if self.shared_with.is_empty() {
            return String::new();
        }
        let names: Vec<String> = self
            .shared_with
            .iter()
            .map(|s| format!("{} {}", s.repo, crate::fmt::human_size(s.bytes)))
            .collect();
        format!(
            "{} stays, used by other repositories: {}",
            crate::fmt::human_size(self.bytes_shared_elsewhere),
            names.join(", ")
        )
    }
}

/// What asking other repositories about some blobs found.
#[derive(Debug, Clone, Default)]
pub struct Elsewhere {
    /// Blob → the other repositories that use it.
    pub used: BTreeMap<String, BTreeSet<String>>,
    /// Blobs some repository could not answer about (error, or the budget ran out), and not
    /// known to be used elsewhere.
    pub unknown: BTreeSet<String>,
    /// Other repositories that answered about every blob.
    pub checked: usize,
    /// Other repositories in the catalog (`None`: closed or unreadable).
    pub others: Option<usize>,
    /// Why the answer is incomplete (empty when it is complete).
    pub gaps: Vec<String>,
    /// Questions asked in all.
    pub questions: usize,
    /// Questions alive (produced, not yet answered) at most at once: the check's memory bound.
    pub peak_in_flight: usize,
}

impl Elsewhere {
    /// Whether every blob got an answer from every other repository.
    pub fn complete(&self) -> bool {
        self.gaps.is_empty()
    }
}

/// Asks every other repository of the registry (at most `opts.max_repos`, within
/// `opts.budget`) whether it holds each of `blobs`; `manifests` are the digests among them that
/// are manifests (asked with a manifest HEAD). `implied` maps image manifests to the blobs they
/// reference: those are asked first, and a repository holding one is not asked about its blobs.
/// `except` are the repositories not to ask.
///
/// Questions are produced lazily, repository by repository: at most `opts.concurrency` are
/// alive at once (and as many repositories in progress), whatever blobs × repositories come to,
/// and none is produced once the budget has run out.
pub async fn used_elsewhere(
    b: &dyn Backend,
    except: &BTreeSet<String>,
    blobs: &BTreeSet<String>,
    manifests: &BTreeSet<String>,
    implied: &BTreeMap<String, BTreeSet<String>>,
    opts: CheckOptions,
) -> Elsewhere {
    let start = Instant::now();
    let mut out = Elsewhere::default();
    if blobs.is_empty() {
        return out;
    }
    let info = b.info();
    if !info.capabilities.list_repos {
        out.unknown = blobs.clone();
        out.gaps.push(format!(
            "{} does not list its repositories, so no other repository could be checked",
            info.registry
        ));
        return out;
    }
    let catalog = match tokio::time::timeout(
        opts.budget,
        with_priority(Priority::Background, async { ops::all_repos(b).await }),
    )
    .await
    {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            out.unknown = blobs.clone();
            out.gaps.push(format!(
                "the catalog could not be read ({e}), so no other repository was checked"
            ));
            return out;
        }
        Err(_) => {
            out.unknown = blobs.clone();
            out.gaps
                .push("the catalog did not arrive in time; no other repository was checked".into());
            return out;
        }
    };
    let others: Vec<String> = catalog
        .into_iter()
        .filter(|r| !except.contains(r))
        .collect();
    out.others = Some(others.len());
    let asked = others.len().min(opts.max_repos);
    if others.len() > asked {
        out.unknown = blobs.clone();
        out.gaps.push(format!(
            "the catalog lists {} other repositories; only the first {asked} were checked",
            others.len(),
        ));
    }
    let deadline = tokio::time::Instant::now() + opts.budget.saturating_sub(start.elapsed());
    let conc = opts.concurrency.max(1);
    let list = Questions::new(blobs, implied);
    let mut repos = others.into_iter().take(asked).enumerate();
    let mut active: BTreeMap<usize, RepoCheck> = BTreeMap::new();
    let mut failed: BTreeMap<String, Error> = BTreeMap::new();
    let mut maybe: BTreeSet<String> = BTreeSet::new();
    let mut inflight = stream::FuturesUnordered::new();
    let mut timed_out = false;
    loop {
        // Produce questions up to the bound, earlier repositories first.
        while inflight.len() < conc {
            let next = active
                .iter_mut()
                .find_map(|(k, st)| st.next_question(&list).map(|i| (*k, st.repo.clone(), i)));
            let Some((key, repo, i)) = next else {
                if active.len() < conc
                    && let Some((k, r)) = repos.next()
                {
                    active.insert(k, RepoCheck::new(r, list.digests.len()));
                    continue;
                }
                break;
            };
            let d = list.digests[i].clone();
            let is_manifest = manifests.contains(&d);
            out.questions += 1;
            inflight.push(async move {
                let r = with_priority(Priority::Background, async {
                    if is_manifest {
                        b.exists(&repo, &d).await.map(|x| x.is_some())
                    } else {
                        b.has_blob(&repo, &d).await
                    }
                })
                .await;
                (key, i, r)
            });
        }
        out.peak_in_flight = out.peak_in_flight.max(inflight.len());
        // Repositories with every question answered are done.
        let before = active.len();
        active.retain(|_, st| {
            if !st.finished(&list) {
                return true;
            }
            if !st.failed {
                out.checked += 1;
            }
            false
        });
        if active.len() < before {
            continue;
        }
        if inflight.is_empty() {
            break;
        }
        let (key, i, r) = match tokio::time::timeout_at(deadline, inflight.next()).await {
            Ok(Some(a)) => a,
            Ok(None) => break,
            Err(_) => {
                timed_out = true;
                break;
            }
        };
        let Some(st) = active.get_mut(&key) else {
            continue;
        };
        st.pending -= 1;
        let d = list.digests[i];
        match r {
            Ok(true) => {
                out.used
                    .entry(d.clone())
                    .or_default()
                    .insert(st.repo.clone());
                st.covered[i] = true;
                // A repository holding an image manifest holds every blob it references.
                for &j in &list.refs[i] {
                    st.covered[j] = true;
                    if !list.is_first[j] {
                        let e = out.used.entry(list.digests[j].clone()).or_default();
                        e.insert(st.repo.clone());
                    }
                }
            }
            Ok(false) => st.covered[i] = true,
            Err(e) => {
                maybe.insert(d.clone());
                maybe.extend(list.refs[i].iter().map(|&j| list.digests[j].clone()));
                st.failed = true;
                failed.entry(st.repo.clone()).or_insert(e);
            }
        }
    }
    drop(inflight);
    if timed_out {
        out.gaps.push(format!(
            "the check ran out of its {} s budget after {} of {asked} other repositories",
            opts.budget.as_secs(),
            out.checked,
        ));
        // Some repository did not answer about every blob: each of them is unknown.
        maybe.extend(blobs.iter().cloned());
    }
    if let Some((repo, e)) = failed.iter().next() {
        out.gaps.push(format!(
            "{} other repositories did not answer for every blob (first: {repo}: {e})",
            failed.len()
        ));
    }
    out.unknown.extend(maybe);
    out.unknown.retain(|d| !out.used.contains_key(d));
    out
}

/// The blobs of a registry-wide check, by index.
struct Questions<'a> {
    /// Every blob in question, sorted.
    digests: Vec<&'a String>,
    /// Whether the blob is an image manifest asked about first.
    is_first: Vec<bool>,
    /// The image manifests, asked first.
    firsts: Vec<usize>,
    /// For an image manifest, the blobs in question it references (empty otherwise).
    refs: Vec<Vec<usize>>,
}

impl<'a> Questions<'a> {
    fn new(blobs: &'a BTreeSet<String>, implied: &BTreeMap<String, BTreeSet<String>>) -> Self {
        let digests: Vec<&String> = blobs.iter().collect();
        let index = |d: &String| digests.binary_search(&d).ok();
        let mut is_first = vec![false; digests.len()];
        let mut refs = vec![Vec::new(); digests.len()];
        let mut firsts = Vec::new();
        for (m, rs) in implied {
            if let Some(i) = index(m) {
                is_first[i] = true;
                firsts.push(i);
                refs[i] = rs.iter().filter_map(index).filter(|j| *j != i).collect();
            }
        }
        Questions {
            digests,
            is_first,
            firsts,
            refs,
        }
    }
}

/// One other repository's way through its questions: its image manifests first, then the
/// blobs none of them answered for.
struct RepoCheck {
    repo: String,
    /// Next image manifest (index into `Questions::firsts`) to ask about.
    next_first: usize,
    /// Whether the manifests are answered and the blobs are being asked about.
    blobs_phase: bool,
    /// Next blob (index into `Questions::digests`) to consider.
    next_blob: usize,
    /// Questions asked and not answered yet.
    pending: usize,
    /// Blobs answered for (on their own or through a manifest).
    covered: Vec<bool>,
    /// Whether some question failed.
    failed: bool,
}

impl RepoCheck {
    fn new(repo: String, blobs: usize) -> Self {
        RepoCheck {
            repo,
            next_first: 0,
            blobs_phase: false,
            next_blob: 0,
            pending: 0,
            covered: vec![false; blobs],
            failed: false,
        }
    }

    /// The next blob to ask about, if one can be asked now (and counts it as pending).
    fn next_question(&mut self, q: &Questions) -> Option<usize> {
        if let Some(&i) = q.firsts.get(self.next_first) {
            self.next_first += 1;
            self.pending += 1;
            return Some(i);
        }
        if !self.blobs_phase {
            if self.pending > 0 {
                return None;
            }
            self.blobs_phase = true;
        }
        while self.next_blob < q.digests.len() {
            let i = self.next_blob;
            self.next_blob += 1;
            if !q.is_first[i] && !self.covered[i] {
                self.pending += 1;
                return Some(i);
            }
        }
        None
    }

    /// Whether every question is asked and answered.
    fn finished(&self, q: &Questions) -> bool {
        self.blobs_phase && self.pending == 0 && self.next_blob >= q.digests.len()
    }
}

/// Makes `plan`'s bytes true for the whole registry where the registry's garbage collection is
/// registry-wide (`BackendInfo::needs_gc`): blobs another repository still uses stay, and
/// count as shared. Elsewhere the bytes keep their per-repository meaning, and the plan says so.
pub async fn registry_wide(b: &dyn Backend, plan: &mut Plan, opts: CheckOptions) {
    let start = Instant::now();
    let info = b.info();
    let mut check = GcCheck::in_repo(plan.bytes_freed);
    if !info.needs_gc {
        check.note = format!(
            "{} reclaims space itself; counted in this repository only",
            info.kind
        );
        plan.gc = check;
        return;
    }
    let candidates = plan.freed_blobs();
    check.scope = GcScope::Registry;
    if candidates.is_empty() {
        check.note = "nothing to check in other repositories".into();
        plan.gc = check;
        return;
    }
    let except: BTreeSet<String> = [plan.repo.clone()].into();
    let digests: BTreeSet<String> = candidates.keys().cloned().collect();
    // Image manifests (not indexes) and the blobs they reference.
    let implied: BTreeMap<String, BTreeSet<String>> = plan
        .removal_blobs
        .iter()
        .filter(|(d, blobs)| {
            blobs
                .keys()
                .all(|k| k == *d || !plan.manifest_blobs.contains(k))
        })
        .map(|(d, blobs)| {
            (
                d.clone(),
                blobs.keys().filter(|k| *k != d).cloned().collect(),
            )
        })
        .collect();
    let found = used_elsewhere(b, &except, &digests, &plan.manifest_blobs, &implied, opts).await;
    let mut per_repo: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    let mut shared = 0u64;
    for (d, repos) in &found.used {
        let size = candidates.get(d).copied().unwrap_or(0);
        shared = shared.saturating_add(size);
        for r in repos {
            let e = per_repo.entry(r.as_str()).or_default();
            e.0 += 1;
            e.1 = e.1.saturating_add(size);
        }
    }
    let mut top: Vec<SharedWith> = per_repo
        .into_iter()
        .map(|(repo, (blobs, bytes))| SharedWith {
            repo: repo.to_string(),
            blobs,
            bytes,
        })
        .collect();
    top.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.repo.cmp(&b.repo)));
    top.truncate(SHARED_WITH_TOP);
    plan.bytes_freed = plan.bytes_freed.saturating_sub(shared);
    plan.bytes_shared = plan.bytes_shared.saturating_add(shared);
    plan.elsewhere_blobs = found.used.keys().cloned().collect();
    check.checked_repos = found.checked;
    check.other_repos = found.others;
    check.exact = found.complete();
    check.bytes_shared_elsewhere = shared;
    check.shared_with = top;
    check.note = if found.complete() {
        format!(
            "checked {} other {}",
            found.checked,
            if found.checked == 1 {
                "repository"
            } else {
                "repositories"
            }
        )
    } else {
        found.gaps.join("; ")
    };
    check.millis = start.elapsed().as_millis() as u64;
    plan.gc = check;
}

/// One repository's part of `regtui du`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RepoUsage {
    pub repo: String,
    pub tags: usize,
    /// Distinct manifests its tags reach (an index's children included).
    pub manifests: usize,
    /// Distinct bytes: manifests, configs and layers, each blob once.
    pub bytes: u64,
    /// Bytes of blobs no other repository uses (what deleting the repository would free).
    pub own_bytes: u64,
    /// Why it could not be sized (the figures above are then zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `regtui du`: per repository, and the registry's total.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiskUsage {
    pub repos: Vec<RepoUsage>,
    /// Distinct bytes across the listed repositories, each blob once.
    pub total_bytes: u64,
    /// Whether `own_bytes` was checked against every other repository of the registry, every
    /// listed one read (false: own bytes are at most).
    pub own_exact: bool,
    /// What `own_bytes` was compared with, in the user's words.
    pub note: String,
}

/// What a surveyed repository holds.
#[derive(Default)]
struct Holdings {
    /// Digest → size of every blob (manifests included).
    blobs: BTreeMap<String, u64>,
    /// The manifests among them.
    manifests: BTreeSet<String>,
    /// Image manifests → the blobs they reference.
    implied: BTreeMap<String, BTreeSet<String>>,
}

fn holdings(s: &Survey) -> Holdings {
    let mut h = Holdings::default();
    for r in &s.rows {
        if let Some(fp) = s.footprints.get(&r.digest) {
            h.blobs
                .extend(fp.blobs.iter().map(|(k, v)| (k.clone(), *v)));
            h.manifests.insert(r.digest.clone());
            h.manifests.extend(fp.children.iter().cloned());
            if fp.children.is_empty() {
                let refs = fp.blobs.keys().filter(|k| **k != r.digest).cloned();
                h.implied.insert(r.digest.clone(), refs.collect());
            }
        }
    }
    h
}

/// Tags, manifests and bytes of each of `repos`, the bytes only each one uses, and the total.
/// When `repos` is not the whole catalog, blobs are also asked about in the other repositories
/// of the registry (bounded as in [`used_elsewhere`]).
pub async fn du(
    b: &dyn Backend,
    repos: &[String],
    whole_catalog: bool,
    concurrency: usize,
    opts: CheckOptions,
) -> DiskUsage {
    let surveys: Vec<(String, Result<Survey, Error>)> = stream::iter(repos.iter().cloned())
        .map(|r| async move {
            let s = survey(b, &r, concurrency).await;
            (r, s)
        })
        .buffered(2)
        .collect()
        .await;
    let mut held: Vec<(RepoUsage, BTreeMap<String, u64>)> = Vec::new();
    let mut users: HashMap<String, usize> = HashMap::new();
    let mut all_manifests = BTreeSet::new();
    let mut all_implied = BTreeMap::new();
    for (repo, s) in surveys {
        match s {
            Ok(s) => {
                let Holdings {
                    blobs,
                    manifests,
                    implied,
                } = holdings(&s);
                all_implied.extend(implied);
                for d in blobs.keys() {
                    *users.entry(d.clone()).or_default() += 1;
                }
                let u = RepoUsage {
                    repo,
                    tags: s.rows.len(),
                    manifests: manifests.len(),
                    bytes: super::model::sum_sizes(blobs.values().copied()),
                    ..Default::default()
                };
                all_manifests.extend(manifests);
                held.push((u, blobs));
            }
            Err(e) => held.push((
                RepoUsage {
                    repo,
                    error: Some(e.to_string()),
                    ..Default::default()
                },
                BTreeMap::new(),
            )),
        }
    }
    // Blobs only one listed repository holds: ask the rest of the registry about them.
    let single: BTreeSet<String> = users
        .iter()
        .filter(|(_, n)| **n == 1)
        .map(|(d, _)| d.clone())
        .collect();
    // A repository that could not be read adds no users: blobs it shares would count as
    // another's own. Own bytes are then at most, and the note names it.
    let unread: Vec<&RepoUsage> = held
        .iter()
        .map(|(u, _)| u)
        .filter(|u| u.error.is_some())
        .collect();
    let unread_note = match unread.as_slice() {
        [] => None,
        [u] => Some(format!(
            "{} could not be read, so blobs it shares may count as another's own",
            u.repo
        )),
        [u, ..] => Some(format!(
            "{} repositories could not be read (first: {}), so blobs they share may count as \
             another's own",
            unread.len(),
            u.repo
        )),
    };
    let (elsewhere, mut own_exact, mut note) = if whole_catalog {
        (
            BTreeSet::new(),
            true,
            format!("own bytes compared across all {} repositories", repos.len()),
        )
    } else {
        let except: BTreeSet<String> = repos.iter().cloned().collect();
        // Only manifests whose blobs are all in question can stand for them.
        all_implied.retain(|d: &String, refs: &mut BTreeSet<String>| {
            single.contains(d) && refs.iter().all(|r| single.contains(r))
        });
        let found = used_elsewhere(b, &except, &single, &all_manifests, &all_implied, opts).await;
        let note = if found.complete() {
            format!(
                "own bytes compared with the listed repositories and {} other(s)",
                found.checked
            )
        } else {
            format!("own bytes are at most: {}", found.gaps.join("; "))
        };
        let used: BTreeSet<String> = found.used.keys().cloned().collect();
        (used, found.complete(), note)
    };
    if let Some(why) = unread_note {
        note = if own_exact {
            format!("own bytes are at most: {why}")
        } else {
            format!("{note}; {why}")
        };
        own_exact = false;
    }
    let mut total: BTreeMap<&str, u64> = BTreeMap::new();
    for (u, blobs) in &mut held {
        u.own_bytes = super::model::sum_sizes(
            blobs
                .iter()
                .filter(|(d, _)| single.contains(*d) && !elsewhere.contains(*d))
                .map(|(_, v)| *v),
        );
    }
    for (_, blobs) in &held {
        total.extend(blobs.iter().map(|(k, v)| (k.as_str(), *v)));
    }
    DiskUsage {
        total_bytes: super::model::sum_sizes(total.values().copied()),
        repos: held.iter().map(|(u, _)| u.clone()).collect(),
        own_exact,
        note,
    }
}

/// Tag count and distinct bytes of one repository, for the repositories pane. Bytes are left
/// out (`None`) above [`PANE_MAX_TAGS`] tags and where details cost a request per tag (GitLab).
/// (The client task first answers from the persistent cache, `Store::repo_size`, then asks
/// this.)
pub async fn repo_size(
    b: &dyn Backend,
    repo: &str,
    concurrency: usize,
) -> Result<(usize, Option<u64>), Error> {
    with_priority(Priority::Background, async {
        let tags = ops::all_tags(b, repo).await?;
        // Too many tags, or a provider that details one tag per request (GitLab): the count
        // only, so sizing the pane never costs a request per tag of every repository.
        if tags.len() > PANE_MAX_TAGS || b.details_per_tag() {
            return Ok((tags.len(), None));
        }
        let s = survey(b, repo, concurrency).await?;
        let h = holdings(&s);
        Ok((
            s.rows.len(),
            Some(super::model::sum_sizes(h.blobs.values().copied())),
        ))
    })
    .await
}
