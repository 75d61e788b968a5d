//! The client task: owns the backends, runs registry work off the UI thread, answers with events.
//!
//! Commands arrive on a bounded channel; each runs as its own task. A new command in the same
//! slot (e.g. the tags of another repository) aborts the previous one; deletes and logins are
//! never aborted or retried. Replies carry the request id so the app can drop stale ones.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::registry::auth::{Credential, Secret};
use crate::registry::cache::{self, Cached, Store};
use crate::registry::model::{Desc, Inspection, TagDeleteMethod, TagRow};
use crate::registry::providers::KindKeys;
use crate::registry::providers::dockerhub::{self, SearchResult};
use crate::registry::prune::{self, Outcome, Plan, Protected};
use crate::registry::table::TagTable;
use crate::registry::usage;
use crate::registry::{Backend, BackendInfo, Error, credentials, ops};

/// Identifies a request; replies to an older id than the pane expects are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ReqId(pub u64);

pub use crate::session::{ProfileSource, ProfileSpec};

/// Work for the client task.
#[derive(Debug)]
pub enum Command {
    ListRepos {
        req: ReqId,
        profile: String,
    },
    ListTags {
        req: ReqId,
        profile: String,
        repo: String,
        /// Rows the tags pane shows: opened cold, their details come with the list
        /// ([`Event::Tags`]'s `fetching`).
        first: usize,
    },
    /// Details of these tags, in this order (rows in view first).
    TagDetails {
        req: ReqId,
        profile: String,
        repo: String,
        tags: Vec<String>,
    },
    Inspect {
        req: ReqId,
        profile: String,
        repo: String,
        reference: String,
    },
    /// Every tag of `repo` on `digest` (for the delete dialog).
    TagsOnDigest {
        req: ReqId,
        profile: String,
        repo: String,
        digest: String,
    },
    /// Remove one tag, keeping its siblings, if it still points at `digest` (what the user saw).
    DeleteTag {
        req: ReqId,
        profile: String,
        repo: String,
        tag: String,
        digest: String,
    },
    /// Delete a manifest and every tag on it, if nothing beyond what the user confirmed (`tags`,
    /// and the index tags `indexes` they agreed to break) uses it now; then the `referrers` the
    /// user chose to delete with it (signatures, SBOMs, attestations, their cosign tags and the
    /// fallback index entry).
    DeleteManifest {
        req: ReqId,
        profile: String,
        repo: String,
        digest: String,
        tags: Vec<String>,
        indexes: Vec<String>,
        /// The referrer digests the dialog showed and the user chose: only these are deleted.
        referrers: Vec<String>,
    },
    /// The files of an image's layers: one layer (`layer`), or all merged with whiteouts.
    /// Streams each blob (never stored); answered with progress and then the entries.
    ListFiles {
        req: ReqId,
        profile: String,
        repo: String,
        layers: Vec<Desc>,
        layer: Option<usize>,
    },
    /// Stops the files listing of `profile` (the blob request is dropped).
    StopFiles {
        profile: String,
    },
    /// Copies `repo:reference` of `profile` to `to_repo:to_tag` of `to_profile` (with
    /// `referrers`: what refers to it too), with progress.
    CopyImage {
        req: ReqId,
        profile: String,
        repo: String,
        reference: String,
        to_profile: String,
        to_repo: String,
        to_tag: String,
        referrers: bool,
        /// Move `to_tag` if it exists on another manifest (else refused, saying so).
        allow_move: bool,
    },
    /// Adds `tags` to the manifest `reference` of `repo` (the manifest pushed again, no blobs).
    AddTags {
        req: ReqId,
        profile: String,
        repo: String,
        reference: String,
        tags: Vec<String>,
        /// Move tags that exist on another manifest (else refused, saying so).
        allow_move: bool,
    },
    /// Survey `repo` and work out what removing `marked` does (the cleanup preview).
    PlanPrune {
        req: ReqId,
        profile: String,
        repo: String,
        marked: Vec<String>,
        protected: Protected,
    },
    /// Carry out a confirmed cleanup plan (never aborted, never retried).
    RunPrune {
        req: ReqId,
        profile: String,
        plan: Box<Plan>,
    },
    /// Tag count and distinct bytes of these repositories (rows in view first), one
    /// [`Event::RepoSize`] each, in the background.
    RepoSizes {
        req: ReqId,
        profile: String,
        repos: Vec<String>,
    },
    /// Search Docker Hub (`docker search`) on the profile's index (`index_url` of a dockerhub
    /// profile, else index.docker.io).
    Search {
        req: ReqId,
        profile: String,
        term: String,
    },
    /// Check credentials against `/v2/` and use them for this session (optionally save them).
    Login {
        req: ReqId,
        profile: String,
        username: String,
        password: Secret,
        save: bool,
    },
}

impl Command {
    /// The profile this command is for.
    pub fn profile(&self) -> &str {
        match self {
            Command::ListRepos { profile, .. }
            | Command::ListTags { profile, .. }
            | Command::TagDetails { profile, .. }
            | Command::Inspect { profile, .. }
            | Command::TagsOnDigest { profile, .. }
            | Command::DeleteTag { profile, .. }
            | Command::DeleteManifest { profile, .. }
            | Command::ListFiles { profile, .. }
            | Command::StopFiles { profile }
            | Command::CopyImage { profile, .. }
            | Command::AddTags { profile, .. }
            | Command::PlanPrune { profile, .. }
            | Command::RunPrune { profile, .. }
            | Command::RepoSizes { profile, .. }
            | Command::Search { profile, .. }
            | Command::Login { profile, .. } => profile,
        }
    }
}

/// What a finished delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Tag {
        tag: String,
        method: TagDeleteMethod,
    },
    Manifest {
        digest: String,
        tags: Vec<String>,
        /// What was left or refused on the way (the delete itself happened).
        warnings: Vec<String>,
    },
}

/// Replies from the client task.
#[derive(Debug)]
pub enum Event {
    Connected {
        profile: String,
        info: Box<BackendInfo>,
    },
    Repos {
        req: ReqId,
        page: Vec<String>,
        done: bool,
    },
    /// A repository's tag list: the whole of it (`done`), or first its head (the first
    /// screen of a repository opened cold; the whole list follows under the same `req`).
    Tags {
        req: ReqId,
        /// Shared with the client's copy (the client sends it in natural order, each tag once).
        page: Arc<[String]>,
        done: bool,
        /// Tags whose details follow as [`Event::Detail`]s under this same request (the first
        /// screen of a repository opened cold): the app need not ask for them.
        fetching: Vec<String>,
    },
    Detail {
        req: ReqId,
        tag: String,
        /// Boxed: a row is the largest thing an event carries.
        result: Result<Box<TagRow>, Error>,
    },
    Inspected {
        req: ReqId,
        result: Box<Result<Inspection, Error>>,
    },
    /// Who uses a manifest now (tags and tagged indexes), for the delete dialog.
    Siblings {
        req: ReqId,
        result: Result<ops::Users, Error>,
    },
    Deleted {
        req: ReqId,
        profile: String,
        repo: String,
        result: Result<Deleted, Error>,
    },
    LoggedIn {
        req: ReqId,
        profile: String,
        result: Result<(Box<BackendInfo>, Option<String>), Error>,
    },
    Failed {
        req: ReqId,
        error: Error,
    },
    /// Docker Hub search results.
    Found {
        req: ReqId,
        result: Result<Vec<SearchResult>, Error>,
    },
    /// A status line from the backend (Docker Hub's pull rate limit).
    Note {
        profile: String,
        text: String,
    },
    /// The cleanup preview.
    Planned {
        req: ReqId,
        result: Box<Result<Plan, Error>>,
    },
    /// One cleanup item finished (`done` of `total`).
    PruneProgress {
        req: ReqId,
        done: usize,
        total: usize,
        outcome: Outcome,
    },
    /// Bytes of layer blobs read so far of `total` for a files listing.
    FilesProgress {
        req: ReqId,
        read: u64,
        total: u64,
    },
    /// The files listing (merged or one layer).
    Files {
        req: ReqId,
        result: Result<Vec<crate::registry::files::Entry>, Error>,
    },
    /// Copy progress: blobs done of total, bytes copied.
    CopyProgress {
        req: ReqId,
        blobs: usize,
        total: usize,
        bytes: u64,
    },
    /// The copy finished (with the referrers copied when asked).
    Copied {
        req: ReqId,
        result: Box<Result<crate::registry::copy::CopyReport, Error>>,
    },
    /// Tags added (the digest they point at).
    Tagged {
        req: ReqId,
        profile: String,
        repo: String,
        result: Result<(String, Vec<String>), Error>,
    },
    /// The repository's rows as last seen (from the persistent cache), sent before the
    /// registry's own list; `seen` is when (Unix seconds). First the head of the list (a first
    /// screen under any sort, `total` the whole list's length), then the whole list.
    CachedTags {
        req: ReqId,
        seen: i64,
        table: Box<TagTable>,
        total: usize,
    },
    /// The registry could not be reached: the repository list as last seen instead, and why.
    CachedRepos {
        req: ReqId,
        seen: i64,
        names: Vec<String>,
        error: Error,
    },
    /// The whole cleanup finished.
    PruneDone {
        req: ReqId,
        profile: String,
        repo: String,
        results: Vec<Outcome>,
    },
    /// One repository's tag count and distinct bytes (`None`: too many tags to size here).
    RepoSize {
        req: ReqId,
        repo: String,
        result: Result<(usize, Option<u64>), Error>,
    },
}

/// Repositories sized at once for the repositories pane.
const REPO_SIZES_AT_ONCE: usize = 4;

/// Search results the TUI asks for (one page of the index).
const SEARCH_LIMIT: usize = 100;

/// The app lists the rows in view first; a screen shows fewer rows than this, so these go at
/// interactive priority and the rest of a repository's details load in the background.
const IN_VIEW: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    Repos,
    Tags,
    Details,
    Inspect,
    Siblings,
    Plan,
    Sizes,
    Files,
}

struct Shared {
    specs: HashMap<String, ProfileSpec>,
    backends: Mutex<HashMap<String, Arc<dyn Backend>>>,
    events: mpsc::Sender<Event>,
    in_flight: Arc<AtomicUsize>,
    /// The backend info last sent per profile (a provider learns its host on first use).
    sent: Mutex<HashMap<String, BackendInfo>>,
    /// The status note last sent per profile.
    notes: Mutex<HashMap<String, Option<String>>>,
    /// The persistent cache registry profiles read through (none: no cache).
    store: Option<Arc<Store>>,
    /// Per (profile, repository): the registry's last tag list and the rows detailed since,
    /// written to the store when a details run ends.
    seen: Mutex<HashMap<(String, String), cache::CompactRows>>,
}

impl Shared {
    async fn backend(&self, profile: &str) -> Result<Arc<dyn Backend>, Error> {
        if let Some(b) = self.backends.lock().unwrap().get(profile) {
            return Ok(b.clone());
        }
        let b = self.connect(profile, None).await?;
        let b = match self.store_for(profile) {
            Some(st) => Arc::new(Cached::new(b, st, false)) as Arc<dyn Backend>,
            None => b,
        };
        let b = self
            .backends
            .lock()
            .unwrap()
            .entry(profile.to_string())
            .or_insert(b)
            .clone();
        let info = b.info();
        self.sent
            .lock()
            .unwrap()
            .insert(profile.to_string(), info.clone());
        let _ = self
            .events
            .send(Event::Connected {
                profile: profile.to_string(),
                info: Box::new(info),
            })
            .await;
        Ok(b)
    }

    async fn connect(
        &self,
        profile: &str,
        cred: Option<Credential>,
    ) -> Result<Arc<dyn Backend>, Error> {
        let spec = self
            .specs
            .get(profile)
            .cloned()
            .ok_or_else(|| Error::Config(format!("no profile named {profile:?}")))?;
        // Credential helpers and password commands are processes: keep them off the async threads.
        tokio::task::spawn_blocking(move || spec.connect(cred))
            .await
            .map_err(|e| Error::Config(format!("connecting failed: {e}")))?
    }

    /// Sends the backend's info when it changed since last sent, and its status note if any.
    async fn note(&self, profile: &str) {
        let b = self.backends.lock().unwrap().get(profile).cloned();
        let Some(b) = b else {
            return;
        };
        let info = b.info();
        let changed = self.sent.lock().unwrap().get(profile) != Some(&info);
        if changed {
            self.sent
                .lock()
                .unwrap()
                .insert(profile.to_string(), info.clone());
            let _ = self
                .events
                .send(Event::Connected {
                    profile: profile.to_string(),
                    info: Box::new(info),
                })
                .await;
        }
        self.send_note(profile, b.as_ref()).await;
    }

    /// Sends the backend's status note when it changed since last sent (empty when it cleared).
    async fn send_note(&self, profile: &str, b: &dyn Backend) {
        let now = b.status_note();
        {
            let mut notes = self.notes.lock().unwrap();
            let last = notes.get(profile).cloned().flatten();
            if last == now && notes.contains_key(profile) {
                return;
            }
            notes.insert(profile.to_string(), now.clone());
        }
        let _ = self
            .events
            .send(Event::Note {
                profile: profile.to_string(),
                text: now.unwrap_or_default(),
            })
            .await;
    }

    /// Sends every backend's changed status note (a rate-limit pause starting or ending while a
    /// command waits).
    async fn send_notes(&self) {
        let backends: Vec<(String, Arc<dyn Backend>)> = self
            .backends
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (profile, b) in backends {
            self.send_note(&profile, b.as_ref()).await;
        }
    }

    /// The store, for a registry profile (the demo and layouts are local already).
    fn store_for(&self, profile: &str) -> Option<Arc<Store>> {
        let spec = self.specs.get(profile)?;
        matches!(spec.source, ProfileSource::Registry { .. })
            .then(|| self.store.clone())
            .flatten()
    }

    /// Writes what was seen of `repo` to the store (off the async threads).
    async fn remember_tags(&self, profile: &str, repo: &str, b: &dyn Backend) {
        let Some(st) = self.store_for(profile) else {
            return;
        };
        // The rows detailed by this run leave memory (the app holds them); rows of earlier runs
        // of this session are in the stored list already.
        let mut rows = {
            let mut seen = self.seen.lock().unwrap();
            let Some(s) = seen.get_mut(&(profile.to_string(), repo.to_string())) else {
                return;
            };
            s.take()
        };
        let key = cache::registry_key(&b.info());
        let repo = repo.to_string();
        let _ = tokio::task::spawn_blocking(move || {
            if rows.len() < rows.listed() {
                if let Some((_, old)) = st.tag_table(&key, &repo) {
                    rows.fill_from(&old);
                }
            }
            st.put_compact(&key, &repo, cache::now(), rows)
        })
        .await;
    }

    fn concurrency(&self, profile: &str) -> usize {
        self.specs.get(profile).map(|s| s.concurrency).unwrap_or(16)
    }
}

/// Decrements the in-flight count when a task ends, even when aborted.
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The handle the UI holds: where to send commands, and how many are running.
pub struct Client {
    pub commands: mpsc::Sender<Command>,
    /// Requests in flight (read for the status bar; exact even when the event channel is full).
    pub in_flight: Arc<AtomicUsize>,
}

/// Starts the client task without the persistent cache. Events go to `events`.
pub fn spawn(specs: Vec<ProfileSpec>, events: mpsc::Sender<Event>) -> Client {
    spawn_with_store(specs, events, None)
}

/// Starts the client task; registry profiles read through `store` (stale-while-revalidate:
/// a repository's cached rows are sent at once, then checked against the registry).
pub fn spawn_with_store(
    specs: Vec<ProfileSpec>,
    events: mpsc::Sender<Event>,
    store: Option<Arc<Store>>,
) -> Client {
    let (tx, mut rx) = mpsc::channel::<Command>(256);
    let shared = Arc::new(Shared {
        specs: specs.into_iter().map(|s| (s.name.clone(), s)).collect(),
        backends: Mutex::new(HashMap::new()),
        events,
        in_flight: Arc::new(AtomicUsize::new(0)),
        sent: Mutex::new(HashMap::new()),
        notes: Mutex::new(HashMap::new()),
        store,
        seen: Mutex::new(HashMap::new()),
    });
    let in_flight = shared.in_flight.clone();
    // While requests run, status notes (a registry's rate-limit pause) reach the app each second.
    let watcher = Arc::downgrade(&shared);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let Some(sh) = watcher.upgrade() else {
                return;
            };
            if sh.in_flight.load(Ordering::SeqCst) > 0 {
                sh.send_notes().await;
            }
            if sh.events.is_closed() {
                return;
            }
        }
    });
    tokio::spawn(async move {
        let mut slots: HashMap<(String, Slot), AbortHandle> = HashMap::new();
        while let Some(cmd) = rx.recv().await {
            let slot = match &cmd {
                Command::ListRepos { profile, .. } => Some((profile.clone(), Slot::Repos)),
                Command::ListTags { profile, .. } => Some((profile.clone(), Slot::Tags)),
                Command::TagDetails { profile, .. } => Some((profile.clone(), Slot::Details)),
                Command::Inspect { profile, .. } => Some((profile.clone(), Slot::Inspect)),
                Command::TagsOnDigest { profile, .. } => Some((profile.clone(), Slot::Siblings)),
                Command::PlanPrune { profile, .. } => Some((profile.clone(), Slot::Plan)),
                Command::RepoSizes { profile, .. } => Some((profile.clone(), Slot::Sizes)),
                Command::ListFiles { profile, .. } | Command::StopFiles { profile } => {
                    Some((profile.clone(), Slot::Files))
                }
                Command::RunPrune { .. }
                | Command::DeleteTag { .. }
                | Command::DeleteManifest { .. }
                | Command::CopyImage { .. }
                | Command::AddTags { .. }
                | Command::Search { .. }
                | Command::Login { .. } => None,
            };
            if let Some(key) = &slot {
                if let Some(old) = slots.remove(key) {
                    old.abort();
                }
                // A new tags list makes the old details moot too.
                if key.1 == Slot::Tags {
                    if let Some(old) = slots.remove(&(key.0.clone(), Slot::Details)) {
                        old.abort();
                    }
                }
            }
            shared.in_flight.fetch_add(1, Ordering::SeqCst);
            let guard = InFlight(shared.clone());
            let sh = shared.clone();
            let handle = tokio::spawn(async move {
                let _guard = guard;
                let profile = cmd.profile().to_string();
                run(&sh, cmd).await;
                sh.note(&profile).await;
            });
            if let Some(key) = slot {
                slots.retain(|_, h| !h.is_finished());
                slots.insert(key, handle.abort_handle());
            }
        }
    });
    Client {
        commands: tx,
        in_flight,
    }
}

/// The registry could not be reached at all (as opposed to answering with an error).
fn unreachable(e: &Error) -> bool {
    matches!(e, Error::ConnectionRefused { .. }) || e.is_transient()
}

/// The repository list of `profile` as last seen, from the store.
async fn cached_repos(sh: &Shared, profile: &str) -> Option<(i64, Vec<String>)> {
    let st = sh.store_for(profile)?;
    let b = sh.backends.lock().unwrap().get(profile).cloned()?;
    let key = cache::registry_key(&b.info());
    tokio::task::spawn_blocking(move || st.repos(&key))
        .await
        .ok()
        .flatten()
}

/// The first `k` tags of `all` in natural order, as the tags pane first shows them (artifact
/// tags hidden): found without sorting the whole list.
fn first_screen(all: &[String], k: usize) -> Vec<String> {
    if k == 0 {
        return Vec::new();
    }
    let by = |a: &&str, b: &&str| ops::natural_cmp(a, b);
    let mut c: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|t| !crate::registry::referrers::is_artifact_tag(t))
        .collect();
    if c.len() > k {
        c.select_nth_unstable_by(k - 1, by);
        c.truncate(k);
    }
    c.sort_unstable_by(by);
    c.dedup();
    c.into_iter().map(str::to_string).collect()
}

/// Hands the registry's tag list to the app ([`Event::Tags`], sorted once here: the pane and
/// the store's copy share it, in order). With `first` > 0 (opened cold), the first screen goes
/// first: its names at once as the head of the list (found without sorting it all), their
/// details fetched and sent as [`Event::Detail`]s under the list's `req`; the whole list is
/// sorted (milliseconds to tens of them for 100,000 tags) and sent once those requests are
/// done.
async fn list_with_first_screen(
    sh: &Shared,
    ev: &mpsc::Sender<Event>,
    req: ReqId,
    (profile, repo): (&str, &str),
    b: &dyn Backend,
    all: Vec<String>,
    first: usize,
) {
    let fetching = first_screen(&all, first);
    if !fetching.is_empty() {
        let head = Event::Tags {
            req,
            page: fetching.clone().into(),
            done: false,
            fetching: fetching.clone(),
        };
        let _ = ev.send(head).await;
    }
    // Unbounded but finite: one entry per tag fetched.
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Result<TagRow, Error>)>();
    let fetch = async {
        if !fetching.is_empty() {
            let on_row = |t: &str, r: Result<TagRow, Error>| {
                let _ = tx.send((t.to_string(), r));
            };
            ops::tag_rows_in_view(
                b,
                repo,
                fetching.clone(),
                sh.concurrency(profile),
                usize::MAX,
                on_row,
            )
            .await;
        }
        drop(tx);
    };
    let keep = sh.store_for(profile).is_some();
    let forward = async {
        // Kept for the store until its copy of the list is set (below).
        let mut kept = Vec::new();
        while let Some((tag, result)) = rx.recv().await {
            if let (true, Ok(row)) = (keep, &result) {
                kept.push((tag.clone(), row.clone()));
            }
            let result = result.map(Box::new);
            let _ = ev.send(Event::Detail { req, tag, result }).await;
        }
        kept
    };
    let key = (profile.to_string(), repo.to_string());
    let whole = async {
        // Off the async threads: the fetches above go on meanwhile.
        let sorted = tokio::task::spawn_blocking(move || {
            Arc::<[String]>::from(crate::registry::table::natural_names(all))
        })
        .await;
        let Ok(page) = sorted else {
            return;
        };
        if keep {
            // The same list as the app's: shared, not copied.
            sh.seen
                .lock()
                .unwrap()
                .entry(key.clone())
                .or_default()
                .set_names(page.clone());
        }
        let _ = ev
            .send(Event::Tags {
                req,
                page,
                done: true,
                fetching: Vec::new(),
            })
            .await;
    };
    // The whole list after the first screen's requests: sorting it meanwhile would take CPU
    // from the registry answering them (on loopback, the same machine).
    let ((), kept) = tokio::join!(
        async {
            fetch.await;
            whole.await
        },
        forward
    );
    let all_fetched = {
        let mut seen = sh.seen.lock().unwrap();
        match seen.get_mut(&key) {
            Some(s) => {
                for (tag, row) in &kept {
                    s.insert(tag, row);
                }
                fetching.len() >= s.listed()
            }
            None => false,
        }
    };
    // Every tag was on the first screen (a short list): the app asks for nothing more (a row
    // that failed stays failed), so nothing else would store the rows.
    if keep && !kept.is_empty() && all_fetched {
        sh.remember_tags(profile, repo, b).await;
    }
}

/// Sends each detailed row to the app as it comes, recording it for the store.
async fn forward_details(
    sh: &Shared,
    ev: &mpsc::Sender<Event>,
    req: ReqId,
    key: &(String, String),
    keep: bool,
    rx: &mut mpsc::UnboundedReceiver<(String, Result<TagRow, Error>)>,
) {
    while let Some((tag, result)) = rx.recv().await {
        if let (true, Ok(row)) = (keep, &result) {
            let mut seen = sh.seen.lock().unwrap();
            if let Some(s) = seen.get_mut(key) {
                s.insert(&tag, row);
            }
        }
        let result = result.map(Box::new);
        let _ = ev.send(Event::Detail { req, tag, result }).await;
    }
}

async fn run(sh: &Shared, cmd: Command) {
    let ev = &sh.events;
    match cmd {
        Command::ListRepos { req, profile } => {
            let r = async {
                let b = sh.backend(&profile).await?;
                // Unbounded but finite: at most one entry per catalog page of this one request.
                let (tx, mut rx) = mpsc::unbounded_channel::<Vec<String>>();
                let fut = async {
                    let mut sink = |page: Vec<String>| {
                        let _ = tx.send(page);
                    };
                    let r = b.list_repos(&mut sink).await;
                    drop(tx);
                    r
                };
                let keep = sh.store_for(&profile).is_some();
                let mut all: Vec<String> = Vec::new();
                let forward = async {
                    while let Some(page) = rx.recv().await {
                        if keep {
                            all.extend(page.iter().cloned());
                        }
                        let _ = ev
                            .send(Event::Repos {
                                req,
                                page,
                                done: false,
                            })
                            .await;
                    }
                };
                let (r, ()) = tokio::join!(fut, forward);
                if let (Ok(()), Some(st)) = (&r, sh.store_for(&profile)) {
                    let key = cache::registry_key(&b.info());
                    let _ =
                        tokio::task::spawn_blocking(move || st.put_repos(&key, cache::now(), &all))
                            .await;
                }
                r
            }
            .await;
            let r = match r {
                Err(error) if unreachable(&error) => match cached_repos(sh, &profile).await {
                    Some((seen, names)) => {
                        let _ = ev
                            .send(Event::CachedRepos {
                                req,
                                seen,
                                names,
                                error,
                            })
                            .await;
                        return;
                    }
                    None => Err(error),
                },
                r => r,
            };
            let _ = match r {
                Ok(()) => {
                    ev.send(Event::Repos {
                        req,
                        page: vec![],
                        done: true,
                    })
                    .await
                }
                Err(error) => ev.send(Event::Failed { req, error }).await,
            };
        }
        Command::ListTags {
            req,
            profile,
            repo,
            first,
        } => {
            let r = async {
                let b = sh.backend(&profile).await?;
                // Stale-while-revalidate: the rows as last seen first (the head of the stored
                // list, then all of it, read and built off the async threads), while the
                // registry is asked for its list. True when cached rows were sent.
                let cached = async {
                    let Some(st) = sh.store_for(&profile) else {
                        return false;
                    };
                    let key = cache::registry_key(&b.info());
                    let (st2, k2, r2) = (st.clone(), key.clone(), repo.clone());
                    let head = tokio::task::spawn_blocking(move || {
                        st2.tag_head(&k2, &r2).map(|(seen, total, mut t)| {
                            t.prepare();
                            (seen, total, t)
                        })
                    });
                    let send = |seen, table: TagTable, total| {
                        let table = Box::new(table);
                        ev.send(Event::CachedTags {
                            req,
                            seen,
                            table,
                            total,
                        })
                    };
                    let mut partial = None;
                    if let Ok(Some((seen, total, table))) = head.await {
                        let whole = table.len() >= total;
                        if !whole {
                            partial = Some((seen, table.clone()));
                        }
                        let _ = send(seen, table, total).await;
                        if whole {
                            // A short list is its own head.
                            return true;
                        }
                    }
                    let r2 = repo.clone();
                    let whole = tokio::task::spawn_blocking(move || {
                        st.tag_table(&key, &r2).map(|(seen, mut t)| {
                            t.prepare();
                            (seen, t)
                        })
                    });
                    // The whole list, or (unreadable, swept away) the head alone as all there is.
                    match whole.await.ok().flatten().or(partial) {
                        Some((seen, table)) => {
                            let total = table.len();
                            let _ = send(seen, table, total).await;
                            true
                        }
                        None => false,
                    }
                };
                let mut all = Vec::new();
                let mut sink = |page: Vec<String>| all.extend(page);
                let (cached, listed) = tokio::join!(cached, b.list_tags(&repo, &mut sink));
                listed?;
                Ok::<_, Error>((b, all, cached))
            }
            .await;
            match r {
                Ok((b, all, cached)) => {
                    // Opened cold (nothing cached): the first screen's details are asked for
                    // now, with the list, while it is sorted and handed to the app.
                    let first = if cached { 0 } else { first };
                    list_with_first_screen(sh, ev, req, (&profile, &repo), b.as_ref(), all, first)
                        .await;
                }
                Err(error) => {
                    let _ = ev.send(Event::Failed { req, error }).await;
                }
            }
        }
        Command::TagDetails {
            req,
            profile,
            repo,
            tags,
        } => {
            let b = match sh.backend(&profile).await {
                Ok(b) => b,
                Err(error) => {
                    let _ = ev.send(Event::Failed { req, error }).await;
                    return;
                }
            };
            // Unbounded but finite: one entry per requested tag; the event channel applies backpressure.
            let (tx, mut rx) = mpsc::unbounded_channel::<(String, Result<TagRow, Error>)>();
            let work = async {
                ops::tag_rows_in_view(
                    b.as_ref(),
                    &repo,
                    tags,
                    sh.concurrency(&profile),
                    IN_VIEW,
                    |t: &str, r: Result<TagRow, Error>| {
                        let _ = tx.send((t.to_string(), r));
                    },
                )
                .await;
                drop(tx);
            };
            let keep = sh.store_for(&profile).is_some();
            let key = (profile.clone(), repo.clone());
            let forward = forward_details(sh, ev, req, &key, keep, &mut rx);
            tokio::join!(work, forward);
            sh.remember_tags(&profile, &repo, b.as_ref()).await;
        }
        Command::Inspect {
            req,
            profile,
            repo,
            reference,
        } => {
            let r = async {
                let b = sh.backend(&profile).await?;
                let shown = format!("{repo}:{reference}");
                let mut i = ops::inspect(b.as_ref(), &repo, &reference, &shown).await?;
                // What refers to it (signatures, SBOMs): a failure here hides only that part.
                i.referrers =
                    crate::registry::referrers::referrers(b.as_ref(), &repo, &i.digest, None)
                        .await
                        .unwrap_or_default();
                Ok(i)
            }
            .await;
            let _ = ev
                .send(Event::Inspected {
                    req,
                    result: Box::new(r),
                })
                .await;
        }
        Command::TagsOnDigest {
            req,
            profile,
            repo,
            digest,
        } => {
            let r = async {
                let b = sh.backend(&profile).await?;
                let mut users =
                    ops::users_of_one(b.as_ref(), &repo, &digest, sh.concurrency(&profile)).await?;
                // What refers to it, offered for deletion with it (a failure hides only that).
                users.referrers =
                    crate::registry::referrers::referrers(b.as_ref(), &repo, &digest, None)
                        .await
                        .unwrap_or_default();
                Ok(users)
            }
            .await;
            let _ = ev.send(Event::Siblings { req, result: r }).await;
        }
        Command::DeleteTag {
            req,
            profile,
            repo,
            tag,
            digest,
        } => {
            let r = async {
                let b = sh.backend(&profile).await?;
                let method = ops::untag_checked(b.as_ref(), &repo, &tag, &digest).await?;
                Ok(Deleted::Tag { tag, method })
            }
            .await;
            deleted(ev, req, profile, repo, r).await;
        }
        Command::DeleteManifest {
            req,
            profile,
            repo,
            digest,
            tags,
            indexes,
            referrers,
        } => {
            let r = async {
                let b = sh.backend(&profile).await?;
                let with_referrers = !referrers.is_empty();
                let confirmed = ops::Confirmed {
                    tags,
                    indexes,
                    referrers,
                };
                let n = sh.concurrency(&profile);
                let d = if with_referrers {
                    ops::delete_with_referrers(b.as_ref(), &repo, &digest, &confirmed, n).await?
                } else {
                    ops::delete_manifest_checked(b.as_ref(), &repo, &digest, &confirmed, n).await?
                };
                Ok(Deleted::Manifest {
                    digest,
                    tags: d.tags,
                    warnings: d.warnings,
                })
            }
            .await;
            deleted(ev, req, profile, repo, r).await;
        }
        Command::ListFiles {
            req,
            profile,
            repo,
            layers,
            layer,
        } => {
            let result = match sh.backend(&profile).await {
                Ok(b) => {
                    crate::client_content::list_files(ev, req, b.as_ref(), &repo, &layers, layer)
                        .await
                }
                Err(e) => Err(e),
            };
            let _ = ev.send(Event::Files { req, result }).await;
        }
        Command::StopFiles { .. } => {}
        Command::CopyImage {
            req,
            profile,
            repo,
            reference,
            to_profile,
            to_repo,
            to_tag,
            referrers,
            allow_move,
        } => {
            let r = async {
                let from = sh.backend(&profile).await?;
                let to = sh.backend(&to_profile).await?;
                if !allow_move {
                    let d = from.head_manifest(&repo, &reference).await?.digest;
                    let tags = std::slice::from_ref(&to_tag);
                    let moves =
                        crate::registry::copy::tags_that_move(to.as_ref(), &to_repo, tags, &d)
                            .await?;
                    if !moves.is_empty() {
                        return Err(Error::TagsWouldMove { moves });
                    }
                }
                let same = from.info().host == to.info().host && !from.info().host.is_empty();
                let job = crate::client_content::CopyJob {
                    from: from.as_ref(),
                    repo: &repo,
                    reference: &reference,
                    to: to.as_ref(),
                    to_repo: &to_repo,
                    to_tag: &to_tag,
                    same_registry: same,
                    referrers,
                    concurrency: sh.concurrency(&to_profile).min(8),
                };
                crate::client_content::copy_image(ev, req, job).await
            }
            .await;
            let _ = ev
                .send(Event::Copied {
                    req,
                    result: Box::new(r),
                })
                .await;
        }
        Command::AddTags {
            req,
            profile,
            repo,
            reference,
            tags,
            allow_move,
        } => {
            let r = async {
                let b = sh.backend(&profile).await?;
                if !allow_move {
                    let d = b.head_manifest(&repo, &reference).await?.digest;
                    let moves =
                        crate::registry::copy::tags_that_move(b.as_ref(), &repo, &tags, &d).await?;
                    if !moves.is_empty() {
                        return Err(Error::TagsWouldMove { moves });
                    }
                }
                let d = crate::registry::copy::tag(b.as_ref(), &repo, &reference, &tags).await?;
                Ok((d, tags))
            }
            .await;
            let _ = ev
                .send(Event::Tagged {
                    req,
                    profile,
                    repo,
                    result: r,
                })
                .await;
        }
        Command::PlanPrune {
            req,
            profile,
            repo,
            marked,
            protected,
        } => {
            let r = async {
                let b = sh.backend(&profile).await?;
                let n = sh.concurrency(&profile);
                let s = prune::survey(b.as_ref(), &repo, n).await?;
                let mut plan = prune::plan(&s, &marked, &protected, b.info().capabilities);
                // Other repositories may hold the same blobs (distribution's GC is registry-wide).
                let opts = usage::CheckOptions {
                    concurrency: n,
                    ..Default::default()
                };
                usage::registry_wide(b.as_ref(), &mut plan, opts).await;
                Ok(plan)
            }
            .await;
            let _ = ev
                .send(Event::Planned {
                    req,
                    result: Box::new(r),
                })
                .await;
        }
        Command::RunPrune { req, profile, plan } => {
            let results = match sh.backend(&profile).await {
                Ok(b) => {
                    // Unbounded but finite: one entry per plan item.
                    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, usize, Outcome)>();
                    let caps = b.info().capabilities;
                    let work = async {
                        let n = sh.concurrency(&profile).min(8);
                        let r = prune::execute(b.as_ref(), &plan, caps, n, |d, t, o| {
                            let _ = tx.send((d, t, o.clone()));
                        })
                        .await;
                        drop(tx);
                        r
                    };
                    let forward = async {
                        while let Some((done, total, outcome)) = rx.recv().await {
                            let _ = ev
                                .send(Event::PruneProgress {
                                    req,
                                    done,
                                    total,
                                    outcome,
                                })
                                .await;
                        }
                    };
                    tokio::join!(work, forward).0
                }
                Err(e) => vec![Outcome::Failed {
                    what: plan.repo.clone(),
                    error: e.to_string(),
                }],
            };
            let _ = ev
                .send(Event::PruneDone {
                    req,
                    profile,
                    repo: plan.repo.clone(),
                    results,
                })
                .await;
        }
        Command::RepoSizes {
            req,
            profile,
            repos,
        } => {
            let b = match sh.backend(&profile).await {
                Ok(b) => b,
                Err(error) => {
                    let _ = ev.send(Event::Failed { req, error }).await;
                    return;
                }
            };
            let n = sh.concurrency(&profile);
            // What the cache knows first (the heads of stored lists: no request), then the
            // registry's figures replace it.
            if let Some(st) = sh.store_for(&profile) {
                let key = cache::registry_key(&b.info());
                let asked = repos.clone();
                let known = tokio::task::spawn_blocking(move || {
                    asked
                        .into_iter()
                        .filter_map(|r| {
                            let (_, tags, bytes) = st.repo_size(&key, &r)?;
                            Some((r, tags, bytes))
                        })
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap_or_default();
                for (repo, tags, bytes) in known {
                    let bytes = bytes.filter(|_| tags <= usage::PANE_MAX_TAGS);
                    let result = Ok((tags, bytes));
                    let _ = ev.send(Event::RepoSize { req, repo, result }).await;
                }
            }
            // A few repositories at a time, each surveyed with the profile's concurrency: the
            // host's limiter (background priority) keeps them behind what the user opened.
            let mut sizes = futures_util::stream::iter(repos)
                .map(|repo| {
                    let b = b.clone();
                    async move {
                        let r = usage::repo_size(b.as_ref(), &repo, n).await;
                        (repo, r)
                    }
                })
                .buffered(REPO_SIZES_AT_ONCE);
            while let Some((repo, result)) = sizes.next().await {
                let _ = ev.send(Event::RepoSize { req, repo, result }).await;
            }
        }
        Command::Search { req, profile, term } => {
            let url = match sh.specs.get(&profile).map(|s| &s.source) {
                Some(ProfileSource::Registry { profile, .. }) => match &profile.kind {
                    KindKeys::Dockerhub(k) => k.index_url.clone(),
                    _ => None,
                },
                _ => None,
            }
            .unwrap_or_else(|| dockerhub::INDEX_URL.to_string());
            let result = dockerhub::search(&url, &term, SEARCH_LIMIT).await;
            let _ = ev.send(Event::Found { req, result }).await;
        }
        Command::Login {
            req,
            profile,
            username,
            password,
            save,
        } => {
            let cred = Credential::Basic {
                username: username.clone(),
                password: password.clone(),
            };
            let r = async {
                let b = sh.connect(&profile, Some(cred)).await?;
                b.ping().await?;
                let saved = if save {
                    let key = match sh.specs.get(&profile) {
                        Some(spec) => spec.credential_key()?,
                        None => return Err(Error::Unsupported("nothing to log in to here".into())),
                    };
                    Some(
                        tokio::task::spawn_blocking(move || {
                            credentials::save_docker_login(&key, &username, &password)
                        })
                        .await
                        .map_err(|e| Error::Config(e.to_string()))??,
                    )
                } else {
                    None
                };
                let info = Box::new(b.info());
                sh.backends.lock().unwrap().insert(profile.clone(), b);
                Ok((info, saved))
            }
            .await;
            let _ = ev
                .send(Event::LoggedIn {
                    req,
                    profile,
                    result: r,
                })
                .await;
        }
    }
}

async fn deleted(
    ev: &mpsc::Sender<Event>,
    req: ReqId,
    profile: String,
    repo: String,
    result: Result<Deleted, Error>,
) {
    let _ = ev
        .send(Event::Deleted {
            req,
            profile,
            repo,
            result,
        })
        .await;
}
