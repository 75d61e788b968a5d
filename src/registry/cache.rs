//! Caches of immutable content: a small in-memory one per client ([`Cache`]) and the persistent
//! store on disk ([`Store`]: content by digest, last-seen tag lists per repository), plus the
//! [`Cached`] backend wrapper that answers reads from the store first and `--offline` from it alone.
//!
//! # Why files by digest, not an embedded database
//!
//! The store is a directory under the XDG cache directory (`directories`' `cache_dir`, so
//! `$XDG_CACHE_HOME/regtui`):
//!
//! ```text
//! manifests/sha256/ab/<hex>   "<media type>\n" + the manifest bytes exactly as the registry sent them
//! configs/sha256/ab/<hex>     the config blob's bytes
//! tags/<sha256(registry\nrepo)>.json   the last tag list of one repository: rows with digests and
//!                             details (strings interned), and when it was seen
//! tags/<…>.head.json          its head: the first 100 rows under each sort order, so a first
//!                             screen shows in a millisecond however long the list
//! repos/<sha256(registry)>.json        the last repository list of one registry
//! referrers/<sha256(registry\nrepo\nsubject)>.json   the referrers API's last answer for one
//!                             image (when seen, then the index as sent), for offline answers;
//!                             fallback-tag indexes are manifests, stored by digest above
//! tmp/                        files being written (renamed into place when complete)
//! ```
//!
//! - **Write amplification**: content is immutable and written once, as one file of its own
//!   size; nothing is rewritten when something else changes. A tag list is rewritten whole when a
//!   repository was revalidated (one sequential write, ~100 bytes a row). redb or SQLite would
//!   add a B-tree page per insert plus a WAL or copy-on-write pages (2–4× the bytes for small
//!   values) and a dependency tree heavier than the rest of the cache code; rusqlite also needs a C
//!   toolchain.
//! - **Startup cost at 100,000 rows**: opening the store reads nothing. A repository's first
//!   screen comes from its list's head (the first 100 rows under each sort order, a few KB,
//!   read in about a millisecond); the whole list follows from one JSON file parsed in one pass
//!   off the UI thread, straight into the compact table the tags pane keeps (strings
//!   interned: `registry::table`). Content is read only by digest, one `open` each. A database
//!   would make reading a row cheaper but not the first screen, which the head already serves.
//! - **Crash safety**: every file is written to `tmp/` and renamed into place, so a reader sees
//!   the old file or the new one, never half of one — also with two regtui processes at once
//!   (same digest → same bytes, whichever rename wins). Content is checked against its digest
//!   on every read; a corrupt or truncated file is deleted and fetched again. A damaged tag list
//!   fails to parse and is ignored. Nothing is fsynced: a cache lost in a power cut is refetched.
//! - **Bound**: `cache_max_mib` (default 512). Reads touch a file's mtime (at most once an hour),
//!   so the oldest mtime is the least recently used; once a process has written an eighth of the
//!   bound, a background sweep deletes the least recently used files down to 90% of it.
//!
//! Nothing secret goes in: registry hosts, repository and tag names, and content the registry
//! served (which the digest names). No credentials, tokens or headers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::model::{ConfigSummary, Desc, Manifest, TagDeleteMethod, TagRow};
use super::table::{self, Compact, Strings, TagTable};
use super::{
    Backend, BackendInfo, BoxFut, ByteStream, Error, PageSink, Result, digest, parse, referrers,
};

/// Entries kept before the cache is emptied and refilled.
const MAX_ENTRIES: usize = 8192;

/// Content addressed by digest never changes, so it can be kept as long as memory allows.
#[derive(Default)]
pub struct Cache {
    manifests: Mutex<HashMap<String, Arc<Manifest>>>,
    configs: Mutex<HashMap<String, Arc<ConfigSummary>>>,
}

impl Cache {
    /// A manifest fetched earlier by this digest.
    pub fn manifest(&self, digest: &str) -> Option<Arc<Manifest>> {
        self.manifests.lock().unwrap().get(digest).cloned()
    }

    /// Keeps a manifest under its digest.
    pub fn put_manifest(&self, m: Arc<Manifest>) {
        let mut map = self.manifests.lock().unwrap();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(m.digest.clone(), m);
    }

    /// Drops a manifest (after it was deleted).
    pub fn forget(&self, digest: &str) {
        self.manifests.lock().unwrap().remove(digest);
    }

    /// A config parsed earlier.
    pub fn config(&self, digest: &str) -> Option<Arc<ConfigSummary>> {
        self.configs.lock().unwrap().get(digest).cloned()
    }

    /// Keeps a parsed config under its digest.
    pub fn put_config(&self, digest: &str, c: Arc<ConfigSummary>) {
        let mut map = self.configs.lock().unwrap();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(digest.to_string(), c);
    }
}

/// The default bound of the persistent store, in MiB (`cache_max_mib`).
pub const DEFAULT_MAX_MIB: u64 = 512;
/// Environment variable that turns the persistent store off (`REGTUI_NO_CACHE=1`).
pub const NO_CACHE_ENV: &str = "REGTUI_NO_CACHE";
/// Format version of tag and repository lists; other versions are ignored.
const LIST_VERSION: u32 = 2;
/// A read refreshes a file's mtime (its LRU position) when it is older than this.
const TOUCH_AFTER: Duration = Duration::from_secs(3600);
/// Largest tag list file read (a 100,000-tag repository is a few MB).
const LIST_FILE_LIMIT: u64 = 256 * 1024 * 1024;

/// The persistent cache directory.
pub struct Store {
    root: PathBuf,
    max_bytes: u64,
    /// Bytes written by this process since the last sweep.
    written: AtomicU64,
    sweeping: Arc<AtomicBool>,
    /// Per (registry, repository): the stored list's tag → digest map (`None`: no list).
    known: Mutex<KnownMemo>,
}

/// What `regtui cache stats` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub dir: String,
    pub max_bytes: u64,
    pub bytes: u64,
    pub manifests: u64,
    pub configs: u64,
    pub tag_lists: u64,
    pub repo_lists: u64,
    /// Referrers API answers kept (per registry, repository and subject).
    pub referrer_lists: u64,
}

/// A repository's tag list as last seen, with each tag's details.
#[derive(Debug, Clone, PartialEq)]
pub struct TagList {
    /// Unix seconds when it was seen.
    pub seen: i64,
    pub rows: Vec<TagRow>,
}

impl TagList {
    /// The digest each tag pointed at.
    pub fn digests(&self) -> HashMap<String, String> {
        self.rows
            .iter()
            .map(|r| (r.tag.clone(), r.digest.clone()))
            .collect()
    }
}

/// One row on disk: strings other than the tag are indexes into `strings`.
#[derive(Serialize, Deserialize)]
struct RowRec(
    String,
    u32,
    u32,
    u64,
    Option<u32>,
    Option<u32>,
    Vec<(u32, u32, u64)>,
    Vec<(u32, u64)>,
    Option<String>,
    /// `pulled`: absent = not recorded, `[]` = never, `[t]` = at t.
    Option<Vec<String>>,
);

impl RowRec {
    /// `c` as stored under `tag`, its string indexes mapped by `id` (into the file's table).
    fn of(tag: String, c: &Compact, id: &mut dyn FnMut(u32) -> u32) -> RowRec {
        let mut opt = |i: Option<u32>| i.map(&mut *id);
        let (created, pushed) = (opt(c.created_id()), opt(c.pushed_id()));
        RowRec(
            tag,
            id(c.digest_id()),
            id(c.media_id()),
            c.size,
            created,
            pushed,
            c.platform_ids()
                .iter()
                .map(|(p, d, n)| (id(*p), id(*d), *n))
                .collect(),
            c.blobs().iter().map(|(d, n)| (id(*d), *n)).collect(),
            c.locked().map(str::to_string),
            c.pulled()
                .map(|p| p.map(str::to_string).into_iter().collect()),
        )
    }
}

#[derive(Serialize, Deserialize)]
struct TagFile {
    v: u32,
    registry: String,
    repo: String,
    seen: i64,
    /// In a head file: how many rows the whole list has.
    #[serde(default)]
    total: usize,
    /// In a head file: the whole list's distinct bytes (see [`table::distinct_bytes`]).
    #[serde(default)]
    bytes: Option<u64>,
    strings: Vec<String>,
    rows: Vec<RowRec>,
}

impl TagFile {
    /// The file's rows as a table (`None` when an index points outside its strings).
    fn table(self) -> Option<TagTable> {
        let mut strings = Strings::from_vec(self.strings)?;
        let n = strings.len() as u32;
        let mut t = TagTable {
            names: Vec::with_capacity(self.rows.len()),
            rows: Vec::with_capacity(self.rows.len()),
            ..TagTable::default()
        };
        let date = |s: &Strings, i: Option<u32>| match i {
            Some(i) if i < n => Some(Some(s.get(i).to_string())),
            Some(_) => None,
            None => Some(None),
        };
        for RowRec(tag, d, mt, size, created, pushed, plats, blobs, locked, pulled) in self.rows {
            let (created, pushed) = (date(&strings, created)?, date(&strings, pushed)?);
            let c = Compact::stored(
                &mut strings,
                d,
                mt,
                size,
                created,
                pushed,
                plats,
                blobs,
                locked,
                pulled.map(|v| v.into_iter().next()),
            )?;
            t.names.push(tag);
            t.rows.push(c);
        }
        t.strings = strings;
        Some(t)
    }
}

#[derive(Serialize, Deserialize)]
struct RepoFile {
    v: u32,
    registry: String,
    seen: i64,
    repos: Vec<String>,
}

/// What a details run saw of a repository, kept compact until it is written to the
/// [`Store`]: the registry's list (in natural order, shared) and a row per tag once detailed,
/// its strings interned as on disk.
#[derive(Default)]
pub struct CompactRows {
    names: Arc<[String]>,
    /// Aligned with `names`; shorter until a row arrives (a missing one is `None`).
    rows: Vec<Option<Compact>>,
    strings: Strings,
}

impl CompactRows {
    /// The registry's list is now `names` (shared with the app's pane when in natural order
    /// already): rows of tags still listed stay.
    pub fn set_names(&mut self, names: Arc<[String]>) {
        let names = table::natural_list(names);
        let mut old = std::mem::take(&mut self.rows);
        old.resize(self.names.len(), None);
        self.rows = table::carry_over(&self.names, old, &names)
            .into_iter()
            .map(Option::flatten)
            .collect();
        self.names = names;
    }

    fn pos(&self, tag: &str) -> Option<usize> {
        self.names
            .binary_search_by(|n| super::ops::natural_cmp(n, tag))
            .ok()
    }

    /// Keeps `r` as the row of `tag` (replacing an earlier one); a tag not listed is ignored.
    pub fn insert(&mut self, tag: &str, r: &TagRow) {
        if let Some(i) = self.pos(tag) {
            if self.rows.len() < self.names.len() {
                self.rows.resize(self.names.len(), None);
            }
            self.rows[i] = Some(Compact::of(r, &mut self.strings));
        }
    }

    /// How many rows are kept.
    pub fn len(&self) -> usize {
        self.rows.iter().filter(|r| r.is_some()).count()
    }

    /// Whether no row is kept.
    pub fn is_empty(&self) -> bool {
        self.rows.iter().all(Option::is_none)
    }

    /// How many tags the registry listed.
    pub fn listed(&self) -> usize {
        self.names.len()
    }

    /// The rows kept so far, leaving the list in place with no rows (for the next run).
    pub fn take(&mut self) -> CompactRows {
        CompactRows {
            names: self.names.clone(),
            rows: std::mem::take(&mut self.rows),
            strings: std::mem::take(&mut self.strings),
        }
    }

    /// Fills the rows this run did not detail from `old` (the list stored before).
    pub fn fill_from(&mut self, old: &TagTable) {
        self.rows.resize(self.names.len(), None);
        for (n, c) in old.names.iter().zip(&old.rows) {
            if let Some(i) = self.pos(n) {
                if self.rows[i].is_none() {
                    self.rows[i] = Some(c.moved(&old.strings, &mut self.strings));
                }
            }
        }
    }
}

/// Rows a list's head keeps per sort order: more than a screen shows.
pub const HEAD_ROWS: usize = 100;

/// Indexes of the rows a head keeps: the first [`HEAD_ROWS`] under each order the tags pane
/// sorts by (newest first, by name, largest first; ties by name), artifact tags left out as
/// the pane hides them; in table order.
fn head_rows(t: &TagTable) -> Vec<usize> {
    use std::cmp::Ordering;
    let name = |a: usize, b: usize| super::ops::natural_cmp(&t.names[a], &t.names[b]);
    let orders: [&dyn Fn(usize, usize) -> Ordering; 3] = [
        &|a, b| table::newest_first(&t.rows[a], &t.rows[b]).then_with(|| name(a, b)),
        &|a, b| name(a, b),
        &|a, b| t.rows[b].size.cmp(&t.rows[a].size).then_with(|| name(a, b)),
    ];
    let all: Vec<usize> = (0..t.len())
        .filter(|i| !super::referrers::is_artifact_tag(&t.names[*i]))
        .collect();
    let mut keep = std::collections::BTreeSet::new();
    for order in orders {
        let mut v = all.clone();
        if v.len() > HEAD_ROWS {
            v.select_nth_unstable_by(HEAD_ROWS, |a, b| order(*a, *b));
            v.truncate(HEAD_ROWS);
        }
        keep.extend(v);
    }
    keep.into_iter().collect()
}

fn hex_of(s: &str) -> String {
    digest::sha256(s.as_bytes())
        .trim_start_matches("sha256:")
        .to_string()
}

/// Now in Unix seconds.
pub fn now() -> i64 {
    super::model::now_unix()
}

impl Store {
    /// The store under `root`, bounded to `max_bytes` (directories are made on first write).
    pub fn new(root: PathBuf, max_bytes: u64) -> Self {
        Store {
            root,
            max_bytes,
            written: AtomicU64::new(0),
            sweeping: Arc::new(AtomicBool::new(false)),
            known: Mutex::default(),
        }
    }

    /// `$XDG_CACHE_HOME/regtui` (or the platform's cache directory).
    pub fn default_dir() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "regtui").map(|d| d.cache_dir().to_path_buf())
    }

    /// The store in the default directory, bounded to `max_mib`; `None` where there is no home
    /// directory or `$REGTUI_NO_CACHE` is set.
    pub fn open_default(max_mib: u64) -> Option<Arc<Store>> {
        if std::env::var_os(NO_CACHE_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
            return None;
        }
        Some(Arc::new(Store::new(
            Self::default_dir()?,
            max_mib.saturating_mul(1024 * 1024),
        )))
    }

    /// Where the store lives.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    fn content_path(&self, kind: &str, d: &str) -> Option<PathBuf> {
        digest::validate(d).ok()?;
        let (alg, hex) = d.split_once(':')?;
        Some(self.root.join(kind).join(alg).join(&hex[..2]).join(hex))
    }

    fn tags_path(&self, registry: &str, repo: &str) -> PathBuf {
        self.root
            .join("tags")
            .join(format!("{}.json", hex_of(&format!("{registry}\n{repo}"))))
    }

    fn repos_path(&self, registry: &str) -> PathBuf {
        self.root
            .join("repos")
            .join(format!("{}.json", hex_of(registry)))
    }

    /// Reads a file, refreshing its LRU position.
    fn read(&self, path: &Path, limit: u64) -> Option<Vec<u8>> {
        let f = std::fs::File::open(path).ok()?;
        let meta = f.metadata().ok()?;
        if meta.len() > limit {
            return None;
        }
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_none_or(|age| age > TOUCH_AFTER);
        let mut buf = Vec::with_capacity(meta.len() as usize);
        use std::io::Read;
        f.take(limit).read_to_end(&mut buf).ok()?;
        if old {
            if let Ok(w) = std::fs::OpenOptions::new().write(true).open(path) {
                let _ = w.set_modified(SystemTime::now());
            }
        }
        Some(buf)
    }

    /// Writes `bytes` to `path` atomically (a temporary file renamed into place).
    fn write(&self, path: &Path, bytes: &[u8]) {
        let r = (|| -> std::io::Result<()> {
            make_private_dir(&self.root)?;
            let tmp_dir = self.root.join("tmp");
            std::fs::create_dir_all(&tmp_dir)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            static SEQ: AtomicU64 = AtomicU64::new(0);
            let tmp = tmp_dir.join(format!(
                "{}-{}-{}.tmp",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed),
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0)
            ));
            let w = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
            if w.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            w
        })();
        if let Err(e) = r {
            tracing::debug!(target: "regtui::cache", "cannot write {}: {e}", path.display());
            return;
        }
        let total = self
            .written
            .fetch_add(bytes.len() as u64, Ordering::Relaxed)
            + bytes.len() as u64;
        if total > self.max_bytes / 8 {
            self.written.store(0, Ordering::Relaxed);
            self.sweep_in_background();
        }
    }

    /// A manifest stored under `d`, if its bytes still hash to `d` (else the file is dropped).
    pub fn manifest(&self, d: &str) -> Option<Manifest> {
        let path = self.content_path("manifests", d)?;
        let bytes = self.read(&path, super::model::MANIFEST_LIMIT + 4096)?;
        let split = bytes.iter().position(|b| *b == b'\n');
        let ok = split.and_then(|i| {
            let (mt, body) = (&bytes[..i], &bytes[i + 1..]);
            digest::verify(d, body).ok()?;
            let mt = std::str::from_utf8(mt).ok()?;
            parse::manifest(
                body.to_vec(),
                d.to_string(),
                Some(mt).filter(|m| !m.is_empty()),
                d,
            )
            .ok()
        });
        if ok.is_none() {
            tracing::info!(target: "regtui::cache", "dropping corrupt cache entry {}", path.display());
            let _ = std::fs::remove_file(&path);
        }
        ok
    }

    /// Keeps a manifest under its digest.
    pub fn put_manifest(&self, m: &Manifest) {
        let Some(path) = self.content_path("manifests", &m.digest) else {
            return;
        };
        if digest::verify(&m.digest, &m.raw).is_err() || m.media_type.contains('\n') {
            return;
        }
        if path.exists() {
            return;
        }
        let mut bytes = Vec::with_capacity(m.raw.len() + m.media_type.len() + 1);
        bytes.extend_from_slice(m.media_type.as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(&m.raw);
        self.write(&path, &bytes);
    }

    /// A config blob's bytes stored under `d`, if they still hash to `d` (else dropped).
    pub fn config_bytes(&self, d: &str) -> Option<Vec<u8>> {
        let path = self.content_path("configs", d)?;
        let bytes = self.read(&path, super::model::CONFIG_LIMIT)?;
        if digest::verify(d, &bytes).is_err() {
            tracing::info!(target: "regtui::cache", "dropping corrupt cache entry {}", path.display());
            let _ = std::fs::remove_file(&path);
            return None;
        }
        Some(bytes)
    }

    /// Keeps a config blob under its digest (when the bytes match it).
    pub fn put_config(&self, d: &str, bytes: &[u8]) {
        let Some(path) = self.content_path("configs", d) else {
            return;
        };
        if digest::verify(d, bytes).is_ok() && !path.exists() {
            self.write(&path, bytes);
        }
    }

    /// Drops a manifest (after a delete).
    pub fn forget(&self, d: &str) {
        if let Some(p) = self.content_path("manifests", d) {
            let _ = std::fs::remove_file(p);
        }
    }

    fn head_path(&self, registry: &str, repo: &str) -> PathBuf {
        self.tags_path(registry, repo).with_extension("head.json")
    }

    /// Reads a tag list file of `repo` on `registry` (the whole list or its head).
    fn tag_file(&self, path: &Path, registry: &str, repo: &str) -> Option<TagFile> {
        let bytes = self.read(path, LIST_FILE_LIMIT)?;
        let f: TagFile = serde_json::from_slice(&bytes).ok()?;
        (f.v == LIST_VERSION && f.registry == registry && f.repo == repo).then_some(f)
    }

    /// The last tag list of `repo` on `registry`, if any (and readable).
    pub fn tags(&self, registry: &str, repo: &str) -> Option<TagList> {
        let (seen, t) = self.tag_table(registry, repo)?;
        Some(TagList {
            seen,
            rows: t.to_rows(),
        })
    }

    /// The last tag list of `repo` on `registry` as a compact table, and when it was seen.
    /// Its tag → digest map is kept for [`Store::known`] (one read serves both).
    pub fn tag_table(&self, registry: &str, repo: &str) -> Option<(i64, TagTable)> {
        let f = self.tag_file(&self.tags_path(registry, repo), registry, repo)?;
        let seen = f.seen;
        let t = f.table()?;
        self.remember_known(registry, repo, Some(Arc::new(Known::of(seen, &t))));
        Some((seen, t))
    }

    fn remember_known(&self, registry: &str, repo: &str, k: Option<Arc<Known>>) {
        let mut m = self.known.lock().unwrap();
        // Bounded: a session opens few repositories; past that, start afresh.
        if m.len() >= 64 {
            m.clear();
        }
        let key = (registry.to_string(), repo.to_string());
        // A read that raced a write never takes the memo back to an older list (or to none).
        let older = match (m.get(&key), &k) {
            (Some(Some(had)), Some(new)) => new.seen < had.seen,
            (Some(Some(_)), None) => true,
            _ => false,
        };
        if !older {
            m.insert(key, k);
        }
    }

    /// What the last stored tag list of `repo` says each tag pointed at: read once per
    /// process (or taken from the last [`Store::tag_table`] read), and replaced when this
    /// process writes the list.
    pub fn known(&self, registry: &str, repo: &str) -> Option<Arc<Known>> {
        let key = (registry.to_string(), repo.to_string());
        if let Some(k) = self.known.lock().unwrap().get(&key) {
            return k.clone();
        }
        match self.tag_table(registry, repo) {
            Some(_) => self.known.lock().unwrap().get(&key).cloned().flatten(),
            None => {
                self.remember_known(registry, repo, None);
                None
            }
        }
    }

    /// The head of the last tag list of `repo`: the first rows under each sort order the tags
    /// pane offers (a first screen, whatever the order), how many rows the whole list has, and
    /// when it was seen. A few KB, read in a millisecond however long the list.
    pub fn tag_head(&self, registry: &str, repo: &str) -> Option<(i64, usize, TagTable)> {
        let f = self.tag_file(&self.head_path(registry, repo), registry, repo)?;
        let (seen, total) = (f.seen, f.total);
        Some((seen, total, f.table()?))
    }

    /// The tag count and distinct bytes of `repo` as last seen (from the list's head: no
    /// row is read), and when.
    /// The bytes are `None` when the stored list lacks some tag's details.
    pub fn repo_size(&self, registry: &str, repo: &str) -> Option<(i64, usize, Option<u64>)> {
        let f = self.tag_file(&self.head_path(registry, repo), registry, repo)?;
        Some((f.seen, f.total, f.bytes))
    }

    /// Records the tag list of `repo` on `registry` as seen at `seen` (Unix seconds).
    pub fn put_tags(&self, registry: &str, repo: &str, seen: i64, rows: &[TagRow]) {
        self.put_table(registry, repo, seen, &TagTable::from_rows(rows), rows.len());
    }

    /// Records the tag list of `repo` on `registry` as seen at `seen`: `names` in order, each
    /// with its row from `rows` (a name without one is left out).
    pub fn put_compact(&self, registry: &str, repo: &str, seen: i64, rows: CompactRows) {
        let listed = rows.listed();
        let CompactRows {
            names,
            rows,
            strings,
        } = rows;
        let mut t = TagTable {
            strings,
            ..TagTable::default()
        };
        for (n, r) in names.iter().zip(rows) {
            if let Some(c) = r {
                t.names.push(n.clone());
                t.rows.push(c);
            }
        }
        self.put_table(registry, repo, seen, &t, listed);
    }

    /// Writes a tag list and its head (see [`Store::tag_head`]); `listed` is how many tags the
    /// registry listed (rows without details are left out of `t`).
    fn put_table(&self, registry: &str, repo: &str, seen: i64, t: &TagTable, listed: usize) {
        self.remember_known(registry, repo, Some(Arc::new(Known::of(seen, t))));
        let file = |strings: Vec<String>, rows: Vec<RowRec>, bytes: Option<u64>| TagFile {
            v: LIST_VERSION,
            registry: registry.to_string(),
            repo: repo.to_string(),
            seen,
            total: listed.max(t.len()),
            bytes,
            strings,
            rows,
        };
        // The head first: a reader that finds a head newer than the list shows the head, then
        // the older list, then the registry's answer; never a head without its list for long.
        let mut i = Strings::default();
        let head: Vec<RowRec> = head_rows(t)
            .into_iter()
            .map(|k| {
                RowRec::of(t.names[k].clone(), &t.rows[k], &mut |x| {
                    i.id(t.strings.get(x))
                })
            })
            .collect();
        // Bytes only when every listed tag has its row (a partial sum would mislead).
        let size = (t.len() >= listed).then(|| table::distinct_bytes(t.rows.iter()));
        if let Ok(bytes) = serde_json::to_vec(&file(i.to_vec(), head, size)) {
            self.write(&self.head_path(registry, repo), &bytes);
        }
        let rows: Vec<RowRec> = t
            .names
            .iter()
            .zip(&t.rows)
            .map(|(n, c)| RowRec::of(n.clone(), c, &mut |x| x))
            .collect();
        if let Ok(bytes) = serde_json::to_vec(&file(t.strings.to_vec(), rows, None)) {
            self.write(&self.tags_path(registry, repo), &bytes);
        }
    }

    /// The last repository list of `registry` and when it was seen.
    pub fn repos(&self, registry: &str) -> Option<(i64, Vec<String>)> {
        let bytes = self.read(&self.repos_path(registry), LIST_FILE_LIMIT)?;
        let f: RepoFile = serde_json::from_slice(&bytes).ok()?;
        (f.v == LIST_VERSION && f.registry == registry).then_some((f.seen, f.repos))
    }

    /// Records the repository list of `registry`.
    pub fn put_repos(&self, registry: &str, seen: i64, repos: &[String]) {
        let f = RepoFile {
            v: LIST_VERSION,
            registry: registry.to_string(),
            seen,
            repos: repos.to_vec(),
        };
        if let Ok(bytes) = serde_json::to_vec(&f) {
            self.write(&self.repos_path(registry), &bytes);
        }
    }

    fn referrers_path(&self, registry: &str, repo: &str, subject: &str) -> Option<PathBuf> {
        digest::validate(subject).ok()?;
        Some(self.root.join("referrers").join(format!(
            "{}.json",
            hex_of(&format!("{registry}\n{repo}\n{subject}"))
        )))
    }

    /// The referrers API's last answer for `subject` in `repo` (an OCI index, as the registry
    /// sent it: checked like a fresh one when read) and when it was seen. It changes as
    /// referrers are pushed, so it serves offline answers only.
    pub fn referrers(&self, registry: &str, repo: &str, subject: &str) -> Option<(i64, Vec<u8>)> {
        let path = self.referrers_path(registry, repo, subject)?;
        let bytes = self.read(&path, super::model::MANIFEST_LIMIT + 64)?;
        let nl = bytes.iter().position(|b| *b == b'\n')?;
        let seen = std::str::from_utf8(&bytes[..nl]).ok()?.parse().ok()?;
        Some((seen, bytes[nl + 1..].to_vec()))
    }

    /// Keeps the referrers API's answer for `subject` in `repo`.
    pub fn put_referrers(&self, registry: &str, repo: &str, subject: &str, raw: &[u8]) {
        if let Some(path) = self.referrers_path(registry, repo, subject) {
            let mut bytes = format!("{}\n", now()).into_bytes();
            bytes.extend_from_slice(raw);
            self.write(&path, &bytes);
        }
    }

    /// Every file of the store with its size and mtime.
    fn files(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let Ok(meta) = e.metadata() else { continue };
                if meta.is_dir() {
                    stack.push(e.path());
                } else {
                    out.push((
                        e.path(),
                        meta.len(),
                        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    ));
                }
            }
        }
        out
    }

    /// Counts what the store holds.
    pub fn stats(&self) -> Stats {
        let mut st = Stats {
            dir: self.root.display().to_string(),
            max_bytes: self.max_bytes,
            ..Default::default()
        };
        for (p, size, _) in self.files() {
            st.bytes += size;
            let rel = p.strip_prefix(&self.root).unwrap_or(&p);
            match rel.components().next().and_then(|c| c.as_os_str().to_str()) {
                Some("manifests") => st.manifests += 1,
                Some("configs") => st.configs += 1,
                // A list's head is part of it.
                Some("tags") if !p.to_string_lossy().ends_with(".head.json") => st.tag_lists += 1,
                Some("repos") => st.repo_lists += 1,
                Some("referrers") => st.referrer_lists += 1,
                _ => {}
            }
        }
        st
    }

    /// Deletes the least recently used files until the store is within 90% of its bound;
    /// returns the bytes freed. Temporary files older than an hour go too (a crashed writer).
    pub fn sweep(&self) -> u64 {
        let mut files = self.files();
        let tmp = self.root.join("tmp");
        let mut freed = 0;
        files.retain(|(p, size, m)| {
            let stale =
                p.starts_with(&tmp) && m.elapsed().map(|a| a > TOUCH_AFTER).unwrap_or(false);
            if stale && std::fs::remove_file(p).is_ok() {
                freed += size;
            }
            !p.starts_with(&tmp)
        });
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        let goal = self.max_bytes / 10 * 9;
        if total <= self.max_bytes {
            return freed;
        }
        files.sort_by_key(|f| f.2);
        for (p, size, _) in files {
            if total <= goal {
                break;
            }
            if std::fs::remove_file(&p).is_ok() {
                total -= size;
                freed += size;
                // A list's head goes with it (a head alone would promise rows that are gone).
                let name = p.to_string_lossy();
                if let Some(stem) = name
                    .strip_suffix(".json")
                    .filter(|_| !name.ends_with(".head.json"))
                {
                    let head = PathBuf::from(format!("{stem}.head.json"));
                    if let Ok(m) = std::fs::metadata(&head) {
                        if std::fs::remove_file(&head).is_ok() {
                            total = total.saturating_sub(m.len());
                            freed += m.len();
                        }
                    }
                }
            }
        }
        freed
    }

    fn sweep_in_background(&self) {
        if self.sweeping.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = Store::new(self.root.clone(), self.max_bytes);
        let flag = self.sweeping.clone();
        std::thread::spawn(move || {
            let freed = me.sweep();
            tracing::debug!(target: "regtui::cache", "cache sweep freed {freed} bytes");
            flag.store(false, Ordering::SeqCst);
        });
    }

    /// Deletes everything in the store; returns the bytes freed.
    pub fn clear(&self) -> std::io::Result<u64> {
        let bytes = self.files().iter().map(|f| f.1).sum();
        for sub in ["manifests", "configs", "tags", "repos", "referrers", "tmp"] {
            match std::fs::remove_dir_all(self.root.join(sub)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(bytes)
    }
}

/// The key tag and repository lists are stored under: how the registry is shown
/// (`http://127.0.0.1:5000`, `ghcr.io`), which names the host and port.
pub fn registry_key(info: &BackendInfo) -> String {
    info.registry.clone()
}

/// The error for something `--offline` cannot answer from the cache.
pub fn offline_error(what: &str) -> Error {
    Error::Unsupported(format!(
        "offline: {what} is not in the cache (run once with the registry reachable)"
    ))
}

/// A backend that answers content by digest from the [`Store`] first (a tag is resolved with a
/// HEAD when its last digest is known, so a cached manifest and config need no GET), and with
/// `offline` answers from the store alone, never touching the network.
pub struct Cached {
    inner: Arc<dyn Backend>,
    store: Arc<Store>,
    offline: bool,
    /// A gate per config digest being fetched: tags sharing an image (or a base config) ask
    /// for it at once, and one GET serves them all.
    config_gates: Mutex<HashMap<String, ConfigGate>>,
}

/// Held while a config is fetched; holds the outcome then (for those who waited: a failure
/// is theirs too, not a fetch again each in turn).
type ConfigGate = Arc<tokio::sync::Mutex<Option<Result<Arc<ConfigSummary>>>>>;

/// One caller's use of a config gate: the last one out (finished, failed or dropped
/// mid-fetch) takes the gate out of the map.
struct GateUse<'a> {
    gates: &'a Mutex<HashMap<String, ConfigGate>>,
    digest: &'a str,
    gate: ConfigGate,
}

impl Drop for GateUse<'_> {
    fn drop(&mut self) {
        let mut gates = self.gates.lock().unwrap();
        // Held here and in the map only: nobody else waits on it.
        if Arc::strong_count(&self.gate) <= 2 {
            gates.remove(self.digest);
        }
    }
}

/// Per (registry, repository): the stored list's tag → digest map (`None`: no list).
type KnownMemo = HashMap<(String, String), Option<Arc<Known>>>;

/// What a stored tag list says each tag pointed at (the rows themselves are not kept: the app
/// holds those).
pub struct Known {
    /// Unix time the list was seen.
    pub seen: i64,
    /// Digests shared with the table they came from (no copy of each).
    digests: HashMap<Box<str>, Arc<str>>,
}

impl Known {
    fn of(seen: i64, t: &TagTable) -> Known {
        Known {
            seen,
            digests: t
                .names
                .iter()
                .zip(&t.rows)
                .map(|(n, c)| (n.as_str().into(), t.strings.arc(c.digest_id())))
                .collect(),
        }
    }
}

impl Cached {
    /// Wraps `inner`; `offline` answers from the store only.
    pub fn new(inner: Arc<dyn Backend>, store: Arc<Store>, offline: bool) -> Self {
        Cached {
            inner,
            store,
            offline,
            config_gates: Mutex::new(HashMap::new()),
        }
    }

    /// The store behind it.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    fn key(&self) -> String {
        registry_key(&self.inner.info())
    }

    /// The tag → digest map of `repo` as last stored (see [`Store::known`]).
    pub fn list(&self, repo: &str) -> Option<Arc<Known>> {
        self.store.known(&self.key(), repo)
    }

    /// The whole stored list of `repo` (offline answers).
    fn rows(&self, repo: &str) -> Option<TagList> {
        self.store.tags(&self.key(), repo)
    }

    fn known_digest(&self, repo: &str, tag: &str) -> Option<String> {
        Some(self.list(repo)?.digests.get(tag)?.to_string())
    }

    async fn manifest_online(&self, repo: &str, reference: &str) -> Result<Arc<Manifest>> {
        if digest::is_digest(reference) {
            if let Some(m) = self.store.manifest(reference) {
                return Ok(Arc::new(m));
            }
            let m = self.inner.get_manifest(repo, reference).await?;
            self.store.put_manifest(&m);
            return Ok(m);
        }
        if self.known_digest(repo, reference).is_some() {
            // Seen before: the HEAD says whether it still points there (or somewhere cached).
            let desc = self.inner.head_manifest(repo, reference).await?;
            if let Some(m) = self.store.manifest(&desc.digest) {
                return Ok(Arc::new(m));
            }
            let m = self.inner.get_manifest(repo, &desc.digest).await?;
            self.store.put_manifest(&m);
            return Ok(m);
        }
        let m = self.inner.get_manifest(repo, reference).await?;
        self.store.put_manifest(&m);
        Ok(m)
    }

    fn manifest_offline(&self, repo: &str, reference: &str) -> Result<Arc<Manifest>> {
        let d = if digest::is_digest(reference) {
            reference.to_string()
        } else {
            let list = self
                .list(repo)
                .ok_or_else(|| offline_error(&format!("{repo}:{reference}")))?;
            match list.digests.get(reference) {
                Some(d) => d.to_string(),
                // The list as last seen has no such tag (a cosign or fallback tag, say).
                None => {
                    return Err(Error::NotFound {
                        what: format!(
                            "{repo}:{reference} (offline: not in the tag list as last seen)"
                        ),
                        errors: vec![],
                    });
                }
            }
        };
        self.store
            .manifest(&d)
            .map(Arc::new)
            .ok_or_else(|| offline_error(&format!("manifest {repo}@{d}")))
    }

    async fn config_online(&self, repo: &str, config: &Desc) -> Result<Arc<ConfigSummary>> {
        digest::validate(&config.digest)?;
        let stored = || {
            let b = self.store.config_bytes(&config.digest)?;
            parse::config(&b).ok().map(Arc::new)
        };
        if let Some(c) = stored() {
            return Ok(c);
        }
        // One fetch per digest at a time; those who waited find it in the gate.
        let gate = GateUse {
            gates: &self.config_gates,
            digest: &config.digest,
            gate: self
                .config_gates
                .lock()
                .unwrap()
                .entry(config.digest.clone())
                .or_default()
                .clone(),
        };
        let mut held = gate.gate.lock().await;
        if let Some(r) = held.as_ref() {
            return r.clone();
        }
        let r = self.fetch_config(repo, config).await;
        *held = Some(r.clone());
        r
    }

    async fn fetch_config(&self, repo: &str, config: &Desc) -> Result<Arc<ConfigSummary>> {
        if config.size > super::model::CONFIG_LIMIT {
            return self.inner.get_config(repo, config).await;
        }
        // A body cut short is fetched again whole, as every read is.
        let mut attempt = 0;
        let body = loop {
            let stream = match self.inner.blob_stream(repo, &config.digest).await {
                Ok(s) => s,
                Err(Error::Unsupported(_)) => return self.inner.get_config(repo, config).await,
                Err(e) => return Err(e),
            };
            match collect(stream, super::model::CONFIG_LIMIT, &config.digest).await {
                Err(e) if e.is_transient() && attempt + 1 < super::http::MAX_TRIES => {
                    tokio::time::sleep(super::http::backoff(attempt)).await;
                    attempt += 1;
                }
                r => break r?,
            }
        };
        digest::verify(&config.digest, &body)?;
        let c = parse::config(&body)?;
        self.store.put_config(&config.digest, &body);
        Ok(Arc::new(c))
    }
}

/// Reads a stream into memory, at most `limit` bytes.
async fn collect(mut s: ByteStream, limit: u64, what: &str) -> Result<Vec<u8>> {
    use futures_util::StreamExt;
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        let chunk = chunk?;
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(Error::TooLarge {
                what: format!("config {what}"),
                limit,
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

impl Backend for Cached {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    fn ping(&self) -> BoxFut<'_, ()> {
        if self.offline {
            return Box::pin(async { Err(offline_error("the registry")) });
        }
        self.inner.ping()
    }
    fn list_repos<'a>(&'a self, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        if !self.offline {
            return self.inner.list_repos(sink);
        }
        Box::pin(async move {
            let (_, repos) = self
                .store
                .repos(&self.key())
                .ok_or_else(|| offline_error("the repository list"))?;
            sink(repos);
            Ok(())
        })
    }
    fn list_tags<'a>(&'a self, repo: &'a str, sink: PageSink<'a>) -> BoxFut<'a, ()> {
        if !self.offline {
            return self.inner.list_tags(repo, sink);
        }
        Box::pin(async move {
            let l = self
                .rows(repo)
                .ok_or_else(|| offline_error(&format!("the tags of {repo}")))?;
            sink(l.rows.into_iter().map(|r| r.tag).collect());
            Ok(())
        })
    }
    fn get_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Arc<Manifest>> {
        Box::pin(async move {
            if self.offline {
                self.manifest_offline(repo, reference)
            } else {
                self.manifest_online(repo, reference).await
            }
        })
    }
    fn head_manifest<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Desc> {
        if !self.offline {
            return self.inner.head_manifest(repo, reference);
        }
        Box::pin(async move {
            let m = self.manifest_offline(repo, reference)?;
            Ok(Desc {
                digest: m.digest.clone(),
                media_type: m.media_type.clone(),
                size: m.size(),
            })
        })
    }
    fn get_config<'a>(&'a self, repo: &'a str, config: &'a Desc) -> BoxFut<'a, Arc<ConfigSummary>> {
        Box::pin(async move {
            if !self.offline {
                return self.config_online(repo, config).await;
            }
            self.store
                .config_bytes(&config.digest)
                .and_then(|b| parse::config(&b).ok())
                .map(Arc::new)
                .ok_or_else(|| offline_error(&format!("config {repo}@{}", config.digest)))
        })
    }
    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move {
            if self.offline {
                return Err(offline_error("deleting"));
            }
            self.inner.delete_manifest(repo, digest).await?;
            self.store.forget(digest);
            Ok(())
        })
    }
    fn delete_tag<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, TagDeleteMethod> {
        if self.offline {
            return Box::pin(async { Err(offline_error("deleting")) });
        }
        self.inner.delete_tag(repo, tag)
    }
    fn exists<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFut<'a, Option<String>> {
        if !self.offline {
            return self.inner.exists(repo, reference);
        }
        Box::pin(async move {
            if digest::is_digest(reference) {
                return Ok(self.store.manifest(reference).map(|m| m.digest));
            }
            Ok(self.known_digest(repo, reference))
        })
    }
    fn bulk_rows<'a>(&'a self, repo: &'a str) -> BoxFut<'a, Option<Vec<TagRow>>> {
        if !self.offline {
            return self.inner.bulk_rows(repo);
        }
        Box::pin(async move { Ok(self.rows(repo).map(|l| l.rows)) })
    }
    fn pushed_at(&self, repo: &str, tag: &str) -> Option<String> {
        if self.offline {
            // Offline rows come whole from bulk_rows, with their pushed date.
            return None;
        }
        self.inner.pushed_at(repo, tag)
    }
    fn provider_referrers<'a>(
        &'a self,
        repo: &'a str,
        digest: &'a str,
    ) -> BoxFut<'a, Vec<referrers::Referrer>> {
        if self.offline {
            return Box::pin(async { Ok(Vec::new()) });
        }
        self.inner.provider_referrers(repo, digest)
    }
    fn details_per_tag(&self) -> bool {
        // Offline, the rows come whole from `bulk_rows` (the cache).
        !self.offline && self.inner.details_per_tag()
    }
    fn tag_detail<'a>(&'a self, repo: &'a str, tag: &'a str) -> BoxFut<'a, Option<TagRow>> {
        if self.offline {
            return Box::pin(async { Ok(None) });
        }
        self.inner.tag_detail(repo, tag)
    }
    fn blob_stream<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, ByteStream> {
        if self.offline {
            return Box::pin(async { Err(offline_error("layer content")) });
        }
        self.inner.blob_stream(repo, digest)
    }
    fn referrers_api<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            if self.offline {
                // The last answer seen; none when never asked (the fallback tags may still say).
                return Ok(self
                    .store
                    .referrers(&self.key(), repo, digest)
                    .map(|(_, raw)| raw));
            }
            let r = self.inner.referrers_api(repo, digest).await?;
            if let Some(raw) = &r {
                self.store.put_referrers(&self.key(), repo, digest, raw);
            }
            Ok(r)
        })
    }
    fn has_blob<'a>(&'a self, repo: &'a str, digest: &'a str) -> BoxFut<'a, bool> {
        if self.offline {
            return Box::pin(async { Err(offline_error("copying")) });
        }
        self.inner.has_blob(repo, digest)
    }
    fn mount_blob<'a>(&'a self, repo: &'a str, digest: &'a str, from: &'a str) -> BoxFut<'a, bool> {
        if self.offline {
            return Box::pin(async { Err(offline_error("copying")) });
        }
        self.inner.mount_blob(repo, digest, from)
    }
    fn upload_blob<'a>(
        &'a self,
        repo: &'a str,
        blob: &'a Desc,
        data: ByteStream,
    ) -> BoxFut<'a, ()> {
        if self.offline {
            return Box::pin(async { Err(offline_error("copying")) });
        }
        self.inner.upload_blob(repo, blob, data)
    }
    fn put_manifest_raw<'a>(
        &'a self,
        repo: &'a str,
        reference: &'a str,
        media_type: &'a str,
        body: Vec<u8>,
    ) -> BoxFut<'a, String> {
        if self.offline {
            return Box::pin(async { Err(offline_error("copying")) });
        }
        self.inner
            .put_manifest_raw(repo, reference, media_type, body)
    }
    fn status_note(&self) -> Option<String> {
        if self.offline {
            return Some("offline: answers come from the cache".into());
        }
        self.inner.status_note()
    }
}

/// Creates the cache's root readable by its owner only (repository and tag names of private
/// registries are in it), and narrows an existing one.
fn make_private_dir(root: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !root.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(root)?;
        }
        let meta = std::fs::metadata(root)?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(root)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::model::PlatformEntry;

    fn row(tag: &str, d: &str) -> TagRow {
        TagRow {
            tag: tag.into(),
            digest: d.into(),
            media_type: super::super::model::OCI_MANIFEST.into(),
            size: 42,
            created: Some("2024-06-01T12:00:00Z".into()),
            pushed: None,
            platforms: vec![PlatformEntry {
                platform: "linux/amd64".into(),
                digest: d.into(),
                size: 42,
            }],
            blobs: vec![(d.into(), 1)],
            locked: None,
            pulled: Some(None),
        }
    }

    #[test]
    fn tag_lists_round_trip_and_ignore_damage() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(dir.path().to_path_buf(), 1 << 20);
        let d = digest::sha256(b"x");
        let rows = vec![row("a", &d), row("b", &d)];
        s.put_tags("http://h:5000", "r/x", 1000, &rows);
        let l = s.tags("http://h:5000", "r/x").unwrap();
        assert_eq!(l.seen, 1000);
        assert_eq!(l.rows, rows);
        assert!(s.tags("http://h:5001", "r/x").is_none());
        let path = s.tags_path("http://h:5000", "r/x");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(s.tags("http://h:5000", "r/x").is_none());
    }

    #[test]
    fn a_details_run_stores_what_it_saw_and_a_partial_run_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(dir.path().to_path_buf(), 64 << 20);
        let d = |x: &str| digest::sha256(x.as_bytes());
        let names = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let mut rows = CompactRows::default();
        rows.set_names(names(&["v10", "v9", "a", "v9"]).into());
        rows.insert("v9", &row("v9", &d("9")));
        rows.insert("gone", &row("gone", &d("g")));
        assert_eq!((rows.len(), rows.listed()), (1, 3));
        // A new list keeps the rows of tags still listed.
        rows.set_names(names(&["v9", "v11", "v10"]).into());
        assert_eq!(rows.len(), 1);
        let taken = rows.take();
        assert_eq!(
            (rows.len(), rows.listed()),
            (0, 3),
            "the list stays for the next run"
        );
        s.put_compact("http://h:5000", "r/x", 1000, taken);
        // One of three tags detailed: the count is the registry's, the bytes unknown.
        assert_eq!(s.repo_size("http://h:5000", "r/x"), Some((1000, 3, None)));
        let (_, total, head) = s.tag_head("http://h:5000", "r/x").unwrap();
        assert_eq!((total, head.names.clone()), (3, names(&["v9"])));
        // The next run details the rest; the stored row fills what it did not.
        rows.insert("v10", &row("v10", &d("10")));
        rows.insert("v11", &row("v11", &d("11")));
        let (_, old) = s.tag_table("http://h:5000", "r/x").unwrap();
        let mut next = rows.take();
        next.fill_from(&old);
        assert_eq!(next.len(), 3);
        s.put_compact("http://h:5000", "r/x", 2000, next);
        let (seen, tags, bytes) = s.repo_size("http://h:5000", "r/x").unwrap();
        assert_eq!((seen, tags), (2000, 3));
        assert_eq!(bytes, Some(3), "one blob of 1 byte per image");
        let l = s.tags("http://h:5000", "r/x").unwrap();
        let listed: Vec<&str> = l.rows.iter().map(|r| r.tag.as_str()).collect();
        assert_eq!(listed, ["v9", "v10", "v11"], "stored in natural order");
        assert_eq!(s.known("http://h:5000", "r/x").unwrap().seen, 2000);
    }

    #[test]
    fn a_lists_head_shows_the_first_screen_of_the_whole_list_under_every_sort() {
        use crate::app::panes::{SortKey, TagsPane};
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(dir.path().to_path_buf(), 64 << 20);
        // 1,000 rows: dates, sizes and names in unrelated orders, some dates unknown, a few
        // artifact tags (the pane hides them: they must not take a head row).
        let mut rows: Vec<TagRow> = (0..1000u64)
            .map(|i| {
                let d = digest::sha256(&i.to_le_bytes());
                let mut r = row(&format!("v{}", (i * 7919) % 1000), &d);
                r.size = (i * 104_729) % 997;
                r.created = (i % 11 != 0).then(|| {
                    format!(
                        "2024-{:02}-{:02}T00:00:{:02}Z",
                        1 + i % 12,
                        1 + i % 28,
                        i % 60
                    )
                });
                r
            })
            .collect();
        for i in 0..5u64 {
            let mut r = row(
                &format!("sha256-{}.sig", "ab".repeat(31) + &format!("{i:02}")),
                "sha256:x",
            );
            r.size = 1 << 40;
            r.created = Some("2030-01-01T00:00:00Z".into());
            rows.push(r);
        }
        s.put_tags("http://h:5000", "r/x", 1000, &rows);
        let (seen, total, head) = s.tag_head("http://h:5000", "r/x").unwrap();
        assert_eq!((seen, total), (1000, rows.len()));
        assert!(head.len() <= 3 * HEAD_ROWS && head.len() >= HEAD_ROWS);
        assert!(head.names.iter().all(|n| !n.starts_with("sha256-")));
        let (_, whole) = s.tag_table("http://h:5000", "r/x").unwrap();
        assert_eq!(whole.to_rows(), rows);
        for sort in [SortKey::Created, SortKey::Name, SortKey::Size] {
            let shown = |t: TagTable| {
                let mut p = TagsPane::default();
                p.sort = sort;
                p.load_table(t, 50);
                p.view
                    .iter()
                    .take(HEAD_ROWS)
                    .map(|i| p.row(&p.names[*i]).unwrap())
                    .collect::<Vec<_>>()
            };
            assert_eq!(shown(head.clone()), shown(whole.clone()), "{sort:?}");
        }
    }

    #[test]
    #[cfg(unix)]
    fn the_cache_directory_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache").join("regtui");
        let s = Store::new(root.clone(), 10_000);
        s.put_config(&digest::sha256(b"{}"), b"{}");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        // One made by an older build, open to all: narrowed on the next write.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        s.put_config(&digest::sha256(b"[]"), b"[]");
        assert_eq!(mode(&root), 0o700);
    }

    #[test]
    fn config_bytes_are_verified_and_the_bound_holds() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(dir.path().to_path_buf(), 10_000);
        let body = vec![b'a'; 3000];
        let d = digest::sha256(&body);
        s.put_config(&d, &body);
        assert_eq!(s.config_bytes(&d).as_deref(), Some(body.as_slice()));
        std::fs::write(s.content_path("configs", &d).unwrap(), b"not it").unwrap();
        assert!(s.config_bytes(&d).is_none());
        assert!(!s.content_path("configs", &d).unwrap().exists());
        for i in 0..8u8 {
            let b = vec![i; 3000];
            s.put_config(&digest::sha256(&b), &b);
        }
        s.sweep();
        assert!(s.stats().bytes <= 10_000, "{:?}", s.stats());
    }
}
