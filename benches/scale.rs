//! Scale benchmark (issue 12): a repository of 100,000 tags in the real registry, built by
//! manifest PUTs (one config and one layer blob, many small distinct manifests; no skopeo), and
//! the figures the issue sets targets for:
//! - the tag list: fetched and parsed (registry paging), JSON parse alone, the pane's sort
//!   (measured last, so its copies do not count in the memory figures);
//! - first screen (rows in view with sizes) and every row detailed, cold (empty cache; the first
//!   screen five times over, with when each kind of event reached the app) and warm
//!   (from the persistent cache, then revalidated with a HEAD per tag);
//! - resident memory with every row detailed (VmRSS, and VmHWM: the peak);
//! - the longest keystroke while sorting and filtering every row.
//!
//! Run: `cargo bench --bench scale` (needs /usr/bin/docker-registry). `REGTUI_SCALE_TAGS=N`
//! sets the tag count (default 100000; building takes a while on two cores).
//! `REGTUI_SCALE_STORAGE=DIR` keeps the built registry storage in DIR and, when DIR holds one
//! already (of the same tag count), starts the registry on a copy of it instead of building.
//! `REGTUI_SCALE_INTAKE_ONLY=1` stops after the pane's intake of synthetic cached rows;
//! `REGTUI_SCALE_FIRST_ONLY=1` measures the cold first screen (five times) and stops.
//! With `REGTUI_SCALE_STORAGE`, the cache is kept there too, and `REGTUI_SCALE_WARM_ONLY=1`
//! runs the warm part alone (its memory then counts nothing of a cold run).

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures_util::StreamExt;
use regtui::app::panes::Freshness;
use regtui::app::{App, Effect, Msg, ProfileEntry};
use regtui::client_task::{self, Command, Event, ProfileSource, ProfileSpec};
use regtui::registry::Backend;
use regtui::registry::auth::Credential;
use regtui::registry::cache::Store;
use regtui::registry::distribution::{Distribution, DistributionOptions};
use regtui::registry::model::OCI_MANIFEST;
use regtui::registry::reference::RegistryAddr;

const REPO: &str = "bench/scale";
/// Rows a 160x48 terminal shows in the tags pane (a little less, to be safe).
const IN_VIEW: usize = 40;

fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

async fn build(url: &str, n: usize) {
    let d = Distribution::new(DistributionOptions::new(
        RegistryAddr::parse(url).unwrap(),
        Credential::Anonymous,
    ))
    .unwrap();
    let layer = vec![0u8; 1024];
    let layer_digest = d.push_blob(REPO, layer.clone()).await.unwrap();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": "2024-06-01T12:00:00Z",
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }))
    .unwrap();
    let config_len = config.len();
    let config_digest = d.push_blob(REPO, config).await.unwrap();
    let d = &d;
    let (cd, ld) = (&config_digest, &layer_digest);
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            let m = serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config_len},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": 1024}],
                "annotations": {"n": i.to_string()},
            }))
            .unwrap();
            d.put_manifest(REPO, &format!("t{i:06}"), OCI_MANIFEST, m)
                .await
                .unwrap();
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

/// The app on the real client task, opening the repository; returns when `done` says so.
struct Run {
    app: App,
    tx: tokio::sync::mpsc::Sender<Command>,
    rx: tokio::sync::mpsc::Receiver<Event>,
    /// Longest single `update` of a client event (the UI thread's work per event), and which
    /// event it was.
    longest_update: Duration,
    longest_kind: &'static str,
    /// When each kind of event first arrived and when its update ended, from `open`.
    timeline: Vec<(&'static str, Duration, Duration)>,
    opened: Instant,
}

impl Run {
    fn new(url: &str, store: Arc<Store>) -> Run {
        let spec = ProfileSpec {
            name: "bench".into(),
            registry: url.into(),
            source: ProfileSource::Registry {
                profile: Box::new(regtui::config::Profile::ad_hoc(url).unwrap()),
                base_dir: ".".into(),
            },
            concurrency: 16,
        };
        let (etx, rx) = tokio::sync::mpsc::channel(1024);
        let tx = client_task::spawn_with_store(vec![spec], etx, Some(store)).commands;
        let app = App::new(
            vec![ProfileEntry::new("bench", url)],
            0,
            (160, 48),
            1_735_689_600,
        );
        Run {
            app,
            tx,
            rx,
            longest_update: Duration::ZERO,
            longest_kind: "",
            timeline: Vec::new(),
            opened: Instant::now(),
        }
    }

    fn send(&self, fx: Vec<Effect>) {
        for e in fx {
            if let Effect::Send(c) = e {
                self.tx.try_send(c).unwrap();
            }
        }
    }

    fn open(&mut self) {
        self.opened = Instant::now();
        let fx = self.app.start();
        self.send(fx);
        for c in format!(":repo {REPO}").chars() {
            let fx = self.app.update(key(KeyCode::Char(c)));
            self.send(fx);
        }
        let fx = self.app.update(key(KeyCode::Enter));
        self.send(fx);
    }

    async fn until(&mut self, mut done: impl FnMut(&App) -> bool) {
        while !done(&self.app) {
            let ev = self.rx.recv().await.expect("client task alive");
            let kind = match &ev {
                Event::CachedTags { table, total, .. } if table.len() < *total => {
                    "CachedTags (head)"
                }
                Event::CachedTags { .. } => "CachedTags (whole)",
                Event::Tags { .. } => "Tags",
                Event::Detail { .. } => "Detail",
                _ => "other",
            };
            let t = Instant::now();
            let fx = self.app.update(Msg::Client(ev));
            if !self.timeline.iter().any(|e| e.0 == kind) {
                let at = t - self.opened;
                self.timeline.push((kind, at, at + t.elapsed()));
            }
            if t.elapsed() > self.longest_update {
                self.longest_update = t.elapsed();
                self.longest_kind = kind;
            }
            self.send(fx);
        }
    }
}

/// Whether the rows in view all show their details (a list of `n` rows, or the head of it).
fn in_view_sized(app: &App, n: usize) -> bool {
    let t = &app.view().tags;
    t.view.len() >= IN_VIEW.min(n)
        && t.view
            .iter()
            .take(IN_VIEW)
            .all(|i| t.row(&t.names[*i]).is_some())
}

/// The tags in view, top first.
fn in_view(app: &App) -> Vec<String> {
    let t = &app.view().tags;
    t.view
        .iter()
        .take(IN_VIEW)
        .map(|i| t.names[*i].clone())
        .collect()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Some(v) = std::env::var_os("REGTUI_SCALE_REKEY") {
        // dir \n old registry URL \n new one: the stored list under the new key.
        let v = v.to_string_lossy().to_string();
        let mut it = v.split('\n');
        let (dir, old, new) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let store = Store::new(dir.into(), 4096 * 1024 * 1024);
        let l = store.tags(old, REPO).expect("a cached list");
        store.put_tags(new, REPO, l.seen, &l.rows);
        return;
    }
    let n: usize = std::env::var("REGTUI_SCALE_TAGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    if std::env::var_os("REGTUI_SCALE_INTAKE_ONLY").is_some() {
        return intake(n);
    }
    // A kept storage is reused only when it was built with the same tag count.
    let kept = std::env::var_os("REGTUI_SCALE_STORAGE")
        .map(|d| std::path::PathBuf::from(d).join(format!("tags-{n}")));
    let reuse = kept.as_ref().filter(|d| d.join("docker").is_dir()).cloned();
    let reg = support::Registry::start(support::Options {
        storage_from: reuse.clone(),
        ..support::Options::default()
    });
    let url = reg.url.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Some(d) = &reuse {
        println!("reused the storage of {n} tags in {}", d.display());
    } else {
        let t = Instant::now();
        rt.block_on(build(&url, n));
        println!(
            "built {n} tags by manifest PUT in {:.1?} ({:.0} PUT/s)",
            t.elapsed(),
            n as f64 / t.elapsed().as_secs_f64()
        );
        if let Some(d) = &kept {
            let part = d.with_extension("part");
            let _ = std::fs::remove_dir_all(&part);
            support::registry::copy_dir(&reg.storage, &part);
            std::fs::rename(&part, d).unwrap();
        }
    }
    // The storage just written (copied or built) goes to disk before anything is timed: its
    // writeback would otherwise compete with the registry's reads.
    let t = Instant::now();
    let synced = std::process::Command::new("sync")
        .status()
        .is_ok_and(|s| s.success());
    println!(
        "storage synced to disk in {:.1?}{}",
        t.elapsed(),
        if synced { "" } else { " (sync failed)" }
    );
    rt.block_on(figures(url, n));
    // Last: its synthetic rows would otherwise count in the figures' memory.
    intake(n);
}

/// The tags pane taking in `n` cached rows (synthetic, shaped like the bench's), as the
/// `CachedTags` event does, then the registry's own list of the same names (`Tags`).
fn intake(n: usize) {
    use regtui::registry::model::{PlatformEntry, TagRow};
    let hex = |i: usize, salt: u8| format!("sha256:{:0>64x}", i * 256 + salt as usize);
    let layer = hex(0, 1);
    let config = hex(0, 2);
    let rows: Vec<TagRow> = (0..n)
        .map(|i| TagRow {
            tag: format!("t{i:06}"),
            digest: hex(i, 3),
            media_type: OCI_MANIFEST.into(),
            size: 1024 + 600 + (i as u64 % 7),
            created: Some(format!("2024-06-01T12:{:02}:{:02}Z", i / 60 % 60, i % 60)),
            pushed: None,
            platforms: vec![PlatformEntry {
                platform: "linux/amd64".into(),
                digest: hex(i, 3),
                size: 1624,
            }],
            blobs: vec![(config.clone(), 600), (layer.clone(), 1024)],
            locked: None,
            pulled: None,
        })
        .collect();
    let names: Vec<String> = rows.iter().map(|r| r.tag.clone()).collect();
    // Cold: the registry's list into an empty pane.
    let mut cold = App::new(
        vec![ProfileEntry::new("bench", "http://127.0.0.1:1")],
        0,
        (160, 48),
        1_735_689_600,
    );
    let (req, first) = open_repo(&mut cold);
    // As the client sends it: the first screen's details come with the list.
    let fetching = names[..first].to_vec();
    let page: Arc<[String]> = names.clone().into();
    let t = Instant::now();
    cold.update(Msg::Client(Event::Tags {
        req,
        page,
        done: true,
        fetching: fetching.clone(),
    }));
    let cold_list = t.elapsed();
    let mut asked = false;
    let t = Instant::now();
    for tag in fetching {
        let row = Box::new(rows[names.binary_search(&tag).unwrap()].clone());
        let fx = cold.update(Msg::Client(Event::Detail {
            req,
            tag,
            result: Ok(row),
        }));
        asked |= fx
            .iter()
            .any(|e| matches!(e, Effect::Send(Command::TagDetails { .. })));
    }
    let cold_first = t.elapsed();
    assert!(asked, "the rest asked for once the first screen is in");
    drop(cold);
    let mut app = App::new(
        vec![ProfileEntry::new("bench", "http://127.0.0.1:1")],
        0,
        (160, 48),
        1_735_689_600,
    );
    let (req, _) = open_repo(&mut app);
    let rss_before = status("VmRSS");
    // The client task builds the compact table (off the UI thread), the pane takes it in.
    let t = Instant::now();
    let mut table = regtui::registry::table::TagTable::from_rows(&rows);
    table.prepare();
    let built = t.elapsed();
    let t = Instant::now();
    app.update(Msg::Client(Event::CachedTags {
        req,
        seen: 1_735_689_000,
        table: Box::new(table),
        total: n,
    }));
    let cached = t.elapsed();
    assert_eq!(app.view().tags.names.len(), n);
    let page: Arc<[String]> = names.into();
    let t = Instant::now();
    app.update(Msg::Client(Event::Tags {
        req,
        page,
        done: true,
        fetching: vec![],
    }));
    let listed = t.elapsed();
    println!(
        "intake of {n} synthetic rows: the registry's list into an empty pane (Tags) {cold_list:.1?}, the first screen's rows (then the rest asked for) {cold_first:.1?}; table built (client task) {built:.1?}; taken in by the tags pane (UI thread, CachedTags) {cached:.1?}; the registry's list over them (Tags) {listed:.1?}; VmRSS {rss_before} before, {} after",
        status("VmRSS")
    );
}

/// Opens the repository as a user does; the list request's id is what the events answer, and
/// its `first` how many rows come detailed with the list.
fn open_repo(app: &mut App) -> (regtui::client_task::ReqId, usize) {
    let mut fx = app.start();
    for c in format!(":repo {REPO}").chars() {
        fx.extend(app.update(key(KeyCode::Char(c))));
    }
    fx.extend(app.update(key(KeyCode::Enter)));
    fx.into_iter()
        .find_map(|e| match e {
            Effect::Send(Command::ListTags { req, first, .. }) => Some((req, first)),
            _ => None,
        })
        .expect("the repository's tag list was asked for")
}

/// The cold first screen, five times over (an empty cache each time), with when each kind of
/// event first reached the app: one run's figure swings with the machine.
async fn cold_first_screens(url: &str, n: usize) {
    let mut firsts = Vec::new();
    for _ in 0..5 {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::new(tmp.path().to_path_buf(), 4096 * 1024 * 1024));
        let mut cold = Run::new(url, store);
        let t = Instant::now();
        cold.open();
        cold.until(|a| in_view_sized(a, n)).await;
        let first = t.elapsed();
        firsts.push(first);
        let line: Vec<String> = cold
            .timeline
            .iter()
            .map(|(k, at, done)| format!("{k} {at:.1?}→{done:.1?}"))
            .collect();
        println!("cold first screen {first:.1?}: {}", line.join(", "));
        // A new list request stops this one's details (they would load the next run's registry).
        cold.tx
            .try_send(Command::ListTags {
                req: regtui::client_task::ReqId(u64::MAX),
                profile: "bench".into(),
                repo: "bench/none".into(),
                first: 0,
            })
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    firsts.sort();
    println!(
        "cold first screen (rows in view sized), 5 runs: min {:.1?}, median {:.1?}, max {:.1?}",
        firsts[0], firsts[2], firsts[4]
    );
}

async fn figures(url: String, n: usize) {
    // The registry's first listing after it started reads its storage cold: ask once before
    // timing (a busy registry has answered before), in a process of its own so none of it
    // stays in this one's memory.
    let list = || {
        let ok = std::process::Command::new("curl")
            .args([
                "-sf",
                "-o",
                "/dev/null",
                &format!("{url}/v2/{REPO}/tags/list"),
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "curl could not list the tags (apt-get install curl)");
    };
    list();
    // What the registry alone takes to answer the list (the floor under "cold").
    let t = Instant::now();
    list();
    println!(
        "the registry's answer to the tag list, fetched by curl: {:.1?}; memory before opening: VmRSS {}",
        t.elapsed(),
        status("VmRSS")
    );
    // The cache: kept beside a kept registry storage (for REGTUI_SCALE_WARM_ONLY), else a
    // temporary directory; a cold run starts it empty.
    let tmp = tempfile::tempdir().unwrap();
    let dir = match std::env::var_os("REGTUI_SCALE_STORAGE") {
        Some(d) => std::path::PathBuf::from(d).join(format!("cache-{n}")),
        None => tmp.path().to_path_buf(),
    };
    if std::env::var_os("REGTUI_SCALE_WARM_ONLY").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
        if std::env::var_os("REGTUI_SCALE_FIRST_ONLY").is_some() {
            return cold_first_screens(&url, n).await;
        }
    }
    let store = Arc::new(Store::new(dir, 4096 * 1024 * 1024));

    // The warm run alone, in a process of its own: its memory figure then counts nothing of
    // the cold run's.
    let warm_only = std::env::var_os("REGTUI_SCALE_WARM_ONLY").is_some();
    let url_file = store.dir().with_extension("url");
    if warm_only {
        // The registry has another port now: the cached list moves to its new key, in a child
        // process (its copy of the rows must not count here).
        let old = std::fs::read_to_string(&url_file).unwrap_or_default();
        let moved = std::process::Command::new(std::env::current_exe().unwrap())
            .env(
                "REGTUI_SCALE_REKEY",
                format!("{}\n{old}\n{url}", store.dir().display()),
            )
            .status()
            .is_ok_and(|s| s.success());
        assert!(moved, "the cached list could not be moved to {url}");
        assert!(
            store.tag_head(&url, REPO).is_some_and(|h| h.1 == n),
            "REGTUI_SCALE_WARM_ONLY needs the cache of an earlier run: run once without it, with REGTUI_SCALE_STORAGE"
        );
    } else {
        std::fs::write(&url_file, &url).unwrap();
        // Cold: nothing cached.
        let mut cold = Run::new(&url, store.clone());
        let t = Instant::now();
        cold.open();
        // The first screen comes before the whole list (its head first).
        cold.until(|a| in_view_sized(a, n)).await;
        let first_cold = t.elapsed();
        let rss_first = status("VmRSS");
        cold.until(|a| a.view().tags.names.len() == n).await;
        let list_at = t.elapsed();
        let rss_list = status("VmRSS");
        cold.until(|a| a.view().tags.done() == n).await;
        let all_cold = t.elapsed();
        let (rss, hwm) = (status("VmRSS"), status("VmHWM"));
        println!(
            "cold: first screen (rows in view sized) {first_cold:.1?}; tag list in the pane {list_at:.1?}; every row detailed {all_cold:.1?}; longest event update {:.1?} ({})",
            cold.longest_update, cold.longest_kind
        );
        println!(
            "memory with {n} rows detailed: VmRSS {rss}, VmHWM {hwm} (VmRSS {rss_first} at the first screen, {rss_list} with the list in the pane)"
        );

        // Keystrokes with every row detailed: sort cycle and a filter typed.
        let mut longest = Duration::ZERO;
        let mut each = Vec::new();
        for m in [
            key(KeyCode::Char('s')),
            key(KeyCode::Char('s')),
            key(KeyCode::Char('s')),
            key(KeyCode::Char('/')),
            key(KeyCode::Char('t')),
            key(KeyCode::Char('0')),
            key(KeyCode::Char('9')),
            key(KeyCode::Backspace),
            key(KeyCode::Esc),
        ] {
            let t = Instant::now();
            let fx = cold.app.update(m);
            let took = t.elapsed();
            each.push(took);
            longest = longest.max(took);
            cold.send(fx);
        }
        println!(
            "keystrokes over {n} rows (s s s / t 0 9 ⌫ Esc): longest {longest:.1?}; each {each:.1?}"
        );

        // The details run writes the cache when it ends: wait for the file.
        let t = Instant::now();
        let key_ = url.clone();
        // Its head is written first: then the list is on its way.
        while store.tag_head(&key_, REPO).is_none_or(|h| h.1 != n) {
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "tag list not written"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!(
            "memory once the list was stored: VmRSS {}, VmHWM {}",
            status("VmRSS"),
            status("VmHWM")
        );
        let (list, load) = loop {
            let t = Instant::now();
            if let Some((_, l)) = store.tag_table(&key_, REPO).filter(|l| l.1.len() == n) {
                break (l, t.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let stats = store.stats();
        println!(
            "cache: {} rows read from the store as a table in {load:.1?}; store {} KB ({} manifests, {} configs, {} tag lists)",
            list.len(),
            stats.bytes / 1024,
            stats.manifests,
            stats.configs,
            stats.tag_lists
        );
        drop(list);
        drop(cold);
        // After the memory figures above: these runs' garbage would count in them.
        cold_first_screens(&url, n).await;
    }

    // Warm: a new client and app over the same store.
    let mut warm = Run::new(&url, store.clone());
    let t = Instant::now();
    warm.open();
    warm.until(|a| in_view_sized(a, n)).await;
    let first_warm = t.elapsed();
    let first_rows = in_view(&warm.app);
    let from_head = warm.app.view().tags.names.len() < n;
    warm.until(|a| a.view().tags.names.len() == n).await;
    let whole_warm = t.elapsed();
    assert_eq!(
        in_view(&warm.app),
        first_rows,
        "the first screen shown from the head is the whole list's first screen"
    );
    warm.until(|a| {
        a.view()
            .tags
            .cache
            .is_some_and(|c| c.state == Freshness::Current)
    })
    .await;
    let all_warm = t.elapsed();
    println!(
        "warm: first screen from the cache {first_warm:.1?} ({}); all {n} cached rows in the pane {whole_warm:.1?}; every row revalidated (HEAD each, no GET) {all_warm:.1?}; longest event update {:.1?} ({})",
        if from_head {
            "from the list's head"
        } else {
            "from the whole list"
        },
        warm.longest_update,
        warm.longest_kind
    );
    println!(
        "memory after warm: VmRSS {}, VmHWM {}",
        status("VmRSS"),
        status("VmHWM")
    );
    // Last, so its copies of the list do not count in the app's memory above.
    // The tag list: registry paging + parse, then parse alone, then the pane's natural sort.
    let d = Distribution::new(DistributionOptions::new(
        RegistryAddr::parse(&url).unwrap(),
        Credential::Anonymous,
    ))
    .unwrap();
    let t = Instant::now();
    let names = regtui::registry::ops::all_tags(&d, REPO).await.unwrap();
    let fetched = t.elapsed();
    assert_eq!(names.len(), n);
    let body = serde_json::to_vec(&serde_json::json!({"name": REPO, "tags": names})).unwrap();
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Page {
        tags: Vec<String>,
    }
    let t = Instant::now();
    let page: Page = serde_json::from_slice(&body).unwrap();
    let parsed = t.elapsed();
    // Registries list in storage order: sort a shuffled copy (fixed generator), both ways.
    let mut shuffled = page.tags;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..shuffled.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        shuffled.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let mut plain = shuffled.clone();
    let t = Instant::now();
    regtui::registry::ops::sort_natural_by(&mut shuffled, |s| s);
    let sort = t.elapsed();
    let t = Instant::now();
    plain.sort_by(|a, b| regtui::registry::ops::natural_cmp(a, b));
    let plain_sort = t.elapsed();
    assert_eq!(plain, shuffled);
    println!(
        "tag list, {n} tags ({} KB): fetched+parsed+sorted {fetched:.1?}; JSON parse alone {parsed:.1?}; natural sort of it shuffled {sort:.1?} (by keys; sort_by(natural_cmp) {plain_sort:.1?})",
        body.len() / 1024
    );

    let _ = d.ping().await;
}
