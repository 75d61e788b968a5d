//! The persistent cache (issue 12): content by digest across two processes, corrupt entries
//! refetched, `--offline` with the registry stopped, `cache stats` / `cache clear`, and the
//! store's bound.

mod support;

use std::sync::{Arc, Mutex};

use support::bin::regtui;
use support::fixture;
use support::{Options, standard};

/// A proxy in front of the registry that records `METHOD path` of every request.
fn counting(port: u16) -> (fixture::Fixture, Arc<Mutex<Vec<String>>>) {
    let log: Arc<Mutex<Vec<String>>> = Default::default();
    let l = log.clone();
    let fx = fixture::proxy(port, move |req| {
        l.lock()
            .unwrap()
            .push(format!("{} {}", req.method, req.path()));
        None
    });
    (fx, log)
}

/// GETs of manifests and blobs (configs) in a request log.
fn content_gets(log: &[String]) -> Vec<String> {
    log.iter()
        .filter(|l| l.starts_with("GET ") && (l.contains("/manifests/") || l.contains("/blobs/")))
        .cloned()
        .collect()
}

#[test]
fn second_tags_long_makes_no_manifest_or_config_gets() {
    let reg = standard(Options::default());
    let (px, log) = counting(reg.port);
    let url = format!("http://127.0.0.1:{}", px.port);
    let cache = tempfile::tempdir().unwrap();
    let env = [("XDG_CACHE_HOME", cache.path().to_str().unwrap())];
    let args = [
        "--registry",
        url.as_str(),
        "tags",
        "team/app/api",
        "--long",
        "--json",
    ];
    let first = regtui(&args, &env).json();
    let cold = content_gets(&log.lock().unwrap());
    assert!(!cold.is_empty(), "the first run fetches content");
    log.lock().unwrap().clear();
    let second = regtui(&args, &env).json();
    assert_eq!(first, second, "the cache answers what the registry did");
    let warm = log.lock().unwrap().clone();
    assert_eq!(content_gets(&warm), Vec::<String>::new(), "log: {warm:?}");
    // Each tag's digest is still asked (HEAD): a moved tag would be seen.
    let heads = warm.iter().filter(|l| l.starts_with("HEAD ")).count();
    assert_eq!(heads, first.as_array().unwrap().len(), "log: {warm:?}");

    let stats = regtui(&["cache", "stats", "--json"], &env).json();
    assert_eq!(stats["manifests"], 3, "three distinct manifests: {stats}");
    assert!(stats["configs"].as_u64().unwrap() >= 3, "{stats}");
    assert_eq!(stats["tag_lists"], 1, "{stats}");
    assert!(stats["bytes"].as_u64().unwrap() > 0);
    let cleared = regtui(&["cache", "clear"], &env);
    assert_eq!(cleared.code(), 0, "{}", cleared.stderr());
    assert!(
        cleared.stdout().starts_with("cleared "),
        "{}",
        cleared.stdout()
    );
    let stats = regtui(&["cache", "stats", "--json"], &env).json();
    assert_eq!(stats["bytes"], 0, "{stats}");
}

#[test]
fn a_corrupt_cache_file_is_ignored_and_refetched() {
    let reg = standard(Options::default());
    let (px, log) = counting(reg.port);
    let url = format!("http://127.0.0.1:{}", px.port);
    let cache = tempfile::tempdir().unwrap();
    let env = [("XDG_CACHE_HOME", cache.path().to_str().unwrap())];
    let args = ["--registry", url.as_str(), "inspect", "solo:only", "--json"];
    let first = regtui(&args, &env).json();
    // Every manifest and config file: one truncated, the others overwritten with other bytes.
    let root = cache.path().join("regtui");
    let mut damaged = 0;
    for sub in ["manifests", "configs"] {
        for f in walk(&root.join(sub)) {
            let b = std::fs::read(&f).unwrap();
            if damaged % 2 == 0 {
                std::fs::write(&f, &b[..b.len() / 2]).unwrap();
            } else {
                std::fs::write(&f, b"{\"schemaVersion\":2}").unwrap();
            }
            damaged += 1;
        }
    }
    assert!(damaged >= 2, "manifest and config were cached");
    log.lock().unwrap().clear();
    let second = regtui(&args, &env).json();
    assert_eq!(first["digest"], second["digest"]);
    assert_eq!(first["config"], second["config"]);
    assert!(
        !content_gets(&log.lock().unwrap()).is_empty(),
        "damaged entries are fetched again"
    );
    // …and stored again, whole.
    log.lock().unwrap().clear();
    let third = regtui(&args, &env).json();
    assert_eq!(first["manifest"], third["manifest"]);
}

#[test]
fn offline_answers_from_the_cache_after_the_registry_stopped_and_says_how_old() {
    let mut reg = standard(Options::default());
    let url = reg.url.clone();
    let cache = tempfile::tempdir().unwrap();
    let env = [("XDG_CACHE_HOME", cache.path().to_str().unwrap())];
    let online = regtui(
        &[
            "--registry",
            &url,
            "tags",
            "team/app/api",
            "--long",
            "--json",
        ],
        &env,
    )
    .json();
    assert_eq!(regtui(&["--registry", &url, "repos"], &env).code(), 0);
    reg.stop();

    let r = regtui(
        &[
            "--registry",
            &url,
            "--offline",
            "tags",
            "team/app/api",
            "--long",
            "--json",
        ],
        &env,
    );
    assert_eq!(online, r.json(), "stderr: {}", r.stderr());
    assert!(
        r.stderr()
            .contains("offline: tags of team/app/api as seen just now"),
        "{}",
        r.stderr()
    );
    let r = regtui(
        &[
            "--registry",
            &url,
            "--offline",
            "inspect",
            "team/app/api:v1.2.0",
        ],
        &env,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().contains("linux/amd64"), "{}", r.stdout());
    assert!(r.stderr().contains("as seen"), "{}", r.stderr());
    let r = regtui(&["--registry", &url, "--offline", "repos"], &env);
    assert!(r.stdout().contains("team/app/web"), "{}", r.stdout());
    // What was never seen is refused with a reason, not a connection error.
    let r = regtui(
        &["--registry", &url, "--offline", "tags", "tools/multi"],
        &env,
    );
    assert_ne!(r.code(), 0);
    assert!(
        r.stderr().contains("offline") && r.stderr().contains("not in the cache"),
        "{}",
        r.stderr()
    );
    let r = regtui(
        &[
            "--registry",
            &url,
            "--offline",
            "rm",
            "team/app/api:v1.0.0",
            "--yes",
        ],
        &env,
    );
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("offline"), "{}", r.stderr());
    // Without --offline the stopped registry is an error as before.
    let r = regtui(&["--registry", &url, "tags", "team/app/api"], &env);
    assert_ne!(r.code(), 0);
}

#[test]
fn the_referrers_apis_last_answer_serves_offline() {
    let mut reg = standard(Options::default());
    let subject = support::find("team/app/api", "v1.0.0").digest;
    let sig = format!("sha256:{}", "5".repeat(64));
    // distribution 2.8 has no referrers API: a proxy answers it as an OCI 1.1 registry would.
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sig,
            "size": 620,
            "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
        }],
    });
    let path = format!("/v2/team/app/api/referrers/{subject}");
    let fx = fixture::proxy(reg.port, move |req| {
        (req.path() == path).then(|| fixture::Response {
            status: 200,
            headers: vec![(
                "content-type".into(),
                "application/vnd.oci.image.index.v1+json".into(),
            )],
            body: serde_json::to_vec(&index).unwrap(),
        })
    });
    let url = fx.url.clone();
    let cache = tempfile::tempdir().unwrap();
    let env = [("XDG_CACHE_HOME", cache.path().to_str().unwrap())];
    // The tag list seen once (offline resolves the tag, and knows which cosign tags exist).
    let tags = regtui(
        &["--registry", &url, "tags", "team/app/api", "--long"],
        &env,
    );
    assert_eq!(tags.code(), 0, "{}", tags.stderr());
    let args = [
        "--registry",
        &url,
        "referrers",
        "team/app/api:v1.0.0",
        "--json",
    ];
    let online = regtui(&args, &env);
    assert_eq!(online.code(), 0, "{}", online.stderr());
    assert!(online.stdout().contains(&sig), "{}", online.stdout());
    let stats = regtui(&["cache", "stats", "--json"], &env).json();
    assert_eq!(stats["referrer_lists"], 1, "{stats}");
    drop(fx);
    reg.stop();

    let offline = regtui(
        &[
            "--registry",
            &url,
            "--offline",
            "referrers",
            "team/app/api:v1.0.0",
            "--json",
        ],
        &env,
    );
    assert_eq!(offline.code(), 0, "{}", offline.stderr());
    assert_eq!(online.json(), offline.json(), "{}", offline.stderr());
}

#[test]
fn an_old_list_says_its_age() {
    let reg = standard(Options::default());
    let cache = tempfile::tempdir().unwrap();
    let env = [("XDG_CACHE_HOME", cache.path().to_str().unwrap())];
    assert_eq!(
        regtui(&["--registry", &reg.url, "tags", "solo", "--long"], &env).code(),
        0
    );
    // Rewrite the list as seen three hours ago.
    let store = regtui::registry::cache::Store::new(cache.path().join("regtui"), 1 << 30);
    let key = reg.url.clone();
    let list = store.tags(&key, "solo").expect("the list was stored");
    store.put_tags(&key, "solo", list.seen - 3 * 3600, &list.rows);
    let r = regtui(&["--registry", &reg.url, "--offline", "tags", "solo"], &env);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stderr().contains("as seen 3 hours ago"), "{}", r.stderr());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

// ---------- the terminal UI: stale-while-revalidate and offline ----------

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use regtui::app::panes::Freshness;
use regtui::app::{App, Effect, Msg, ProfileEntry};
use regtui::client_task::{self, Event, ProfileSource, ProfileSpec};
use regtui::registry::cache::Store;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// 2025-01-01T00:00:00Z: relative dates in snapshots stay fixed.
const NOW: i64 = 1_735_689_600;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// The app on the real client task with a persistent store.
struct Tui {
    app: App,
    client: client_task::Client,
    rx: mpsc::Receiver<Event>,
}

impl Tui {
    async fn new(url: &str, store: Arc<Store>) -> Tui {
        let spec = ProfileSpec {
            name: "local".into(),
            registry: url.into(),
            source: ProfileSource::Registry {
                profile: Box::new(regtui::config::Profile::ad_hoc(url).unwrap()),
                base_dir: ".".into(),
            },
            concurrency: 4,
        };
        let entry = ProfileEntry {
            registry: "http://registry.test".into(),
            ..ProfileEntry::from(&spec)
        };
        let (etx, rx) = mpsc::channel(1024);
        let client = client_task::spawn_with_store(vec![spec], etx, Some(store));
        let mut app = App::new(vec![entry], 0, (140, 16), NOW);
        app.color = false;
        let mut t = Tui { app, client, rx };
        let fx = t.app.start();
        t.apply(fx);
        t.settle().await;
        t
    }

    fn apply(&mut self, fx: Vec<Effect>) {
        for e in fx {
            if let Effect::Send(c) = e {
                self.client.commands.try_send(c).unwrap();
            }
        }
    }

    fn feed(&mut self, ev: Event) {
        let fx = self.app.update(Msg::Client(ev));
        self.apply(fx);
    }

    /// Feeds events until nothing is in flight and the queue stays empty.
    async fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut idle: Option<Instant> = None;
        loop {
            assert!(Instant::now() < deadline, "client did not settle");
            match tokio::time::timeout(Duration::from_millis(30), self.rx.recv()).await {
                Ok(Some(ev)) => {
                    idle = None;
                    self.feed(ev);
                }
                _ => {
                    let n = self
                        .client
                        .in_flight
                        .load(std::sync::atomic::Ordering::SeqCst);
                    if n == 0 && idle.get_or_insert_with(Instant::now).elapsed().as_millis() > 60 {
                        return;
                    }
                }
            }
        }
    }

    /// Types `:repo NAME` and Enter; feeds events up to the cached rows (when `upto_cached`).
    async fn open(&mut self, repo: &str, upto_cached: bool) {
        let line = format!(":repo {repo}");
        for c in line.chars() {
            let fx = self.app.update(key(c));
            self.apply(fx);
        }
        let fx = self
            .app
            .update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
        self.apply(fx);
        if !upto_cached {
            return self.settle().await;
        }
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
                .await
                .expect("the cached rows arrive")
                .unwrap();
            let cached = matches!(ev, Event::CachedTags { .. });
            self.feed(ev);
            if cached {
                return;
            }
        }
    }

    fn screen(&self) -> String {
        let (w, h) = self.app.size;
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| regtui::ui::render(&self.app, f)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..h {
            for x in 0..w {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }
}

/// Rewrites the stored lists of `url` as seen three hours before NOW (fixed snapshots).
fn age_lists(store: &Store, url: &str, repo: &str) {
    let l = store.tags(url, repo).expect("the tag list was stored");
    store.put_tags(url, repo, NOW - 3 * 3600, &l.rows);
    if let Some((_, repos)) = store.repos(url) {
        store.put_repos(url, NOW - 3 * 3600, &repos);
    }
}

#[tokio::test]
async fn tui_shows_cached_rows_at_once_then_revalidates_and_works_offline() {
    let mut reg = standard(Options::default());
    let url = reg.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::new(dir.path().to_path_buf(), 1 << 30));

    // A first session fills the cache.
    let mut first = Tui::new(&url, store.clone()).await;
    first.open("team/app/api", false).await;
    assert_eq!(first.app.view().tags.done(), 5);
    assert!(first.app.view().tags.cache.is_none(), "nothing was cached");
    drop(first);
    age_lists(&store, &url, "team/app/api");

    // Meanwhile v1.0.0 goes and v1.3.0 arrives.
    let gone = support::find("team/app/api", "v1.0.0").digest;
    let rm = regtui(
        &[
            "--registry",
            &url,
            "rm",
            &format!("team/app/api@{gone}"),
            "--yes",
        ],
        &[],
    );
    assert_eq!(rm.code(), 0, "{}", rm.stderr());
    let new = support::oci::image(&support::oci::ImageSpec {
        seed: "api-1.3.0",
        created: "2024-09-01T00:00:00Z",
        layer_sizes: &[3000, 900],
        ..Default::default()
    });
    support::push_images(&url, &[("team/app/api", "v1.3.0", &new)]);

    // A second session shows the cached rows at once, marked, before the registry answers.
    let (px, log) = counting(reg.port);
    let purl = format!("http://127.0.0.1:{}", px.port);
    // The proxy's URL is another registry key: copy the aged lists over.
    let l = store.tags(&url, "team/app/api").unwrap();
    store.put_tags(&purl, "team/app/api", l.seen, &l.rows);
    let mut second = Tui::new(&purl, store.clone()).await;
    log.lock().unwrap().clear();
    second.open("team/app/api", true).await;
    let t = &second.app.view().tags;
    assert_eq!(t.cache.map(|c| c.state), Some(Freshness::Refreshing));
    assert_eq!(t.done(), 5, "every cached row is shown with its details");
    let screen = second.screen();
    assert!(screen.contains("cached 3 h ago · refreshing"), "{screen}");
    assert!(screen.contains("v1.0.0"), "{screen}");
    insta::assert_snapshot!("swr_cached_refreshing", screen);

    second.settle().await;
    let t = &second.app.view().tags;
    assert_eq!(t.cache.map(|c| c.state), Some(Freshness::Current));
    let screen = second.screen();
    assert!(
        !screen.contains("v1.0.0"),
        "a tag that went away disappears: {screen}"
    );
    assert!(screen.contains("v1.3.0"), "{screen}");
    assert!(screen.contains("current"), "{screen}");
    insta::assert_snapshot!("swr_current", screen);
    // Cached digests needed a HEAD each, no GET; only the new tag's content was fetched.
    let gets = content_gets(&log.lock().unwrap());
    assert!(
        gets.iter()
            .all(|g| !g.contains("/manifests/v1.") || g.contains("v1.3.0")),
        "{gets:?}"
    );
    assert!(
        gets.len() <= 2,
        "the new tag's manifest and config only: {gets:?}"
    );
    drop(second);

    // Offline: the registry stops; the last known repositories and tags are shown, marked.
    let l = store.tags(&purl, "team/app/api").unwrap();
    assert_eq!(l.rows.len(), 5, "the revalidated list was stored");
    store.put_tags(&url, "team/app/api", l.seen, &l.rows);
    age_lists(&store, &url, "team/app/api");
    reg.stop();
    let mut third = Tui::new(&url, store.clone()).await;
    assert!(third.app.view().repos.offline.is_some());
    // The repositories pane sizes what the cache knows, with the registry down.
    let (_, tags, bytes) = store.repo_size(&url, "team/app/api").unwrap();
    assert_eq!(tags, 5);
    let screen = third.screen();
    let line = screen
        .lines()
        .find(|l| l.contains("team/app/api") && !l.contains('›'))
        .unwrap();
    let cells = format!(
        "{tags:>5} {:>5}",
        regtui::ui::repos::compact_size(bytes.unwrap())
    );
    assert!(line.contains(&cells), "{cells:?} in {line}");
    third.open("team/app/api", false).await;
    let t = &third.app.view().tags;
    assert_eq!(t.cache.map(|c| c.state), Some(Freshness::Offline));
    // The status line names the registry's real (random) port.
    let screen = third.screen().replace(&url, "http://127.0.0.1:PORT");
    assert!(screen.contains("offline · cached 3 h ago"), "{screen}");
    assert!(
        screen.contains("v1.3.0") && screen.contains("team/app/web"),
        "{screen}"
    );
    insta::assert_snapshot!("swr_offline", screen);
    // An action that needs the registry says so instead of failing later.
    let fx = third.app.update(key('d'));
    assert!(fx.is_empty());
    let screen = third.screen();
    assert!(
        screen.contains("offline: the registry is unreachable"),
        "{screen}"
    );
}

#[test]
fn two_processes_share_the_cache_and_the_bound_is_configured() {
    let reg = standard(Options::default());
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::bin::write_config(
        dir.path(),
        &format!("cache_max_mib = 1\n{}", reg.profile_toml("")),
    );
    let c = cache.path().to_str().unwrap().to_string();
    // Two regtui processes write the same entries at once.
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (cfg, c) = (cfg.clone(), c.clone());
            std::thread::spawn(move || {
                regtui(
                    &["-c", &cfg, "tags", "tools/multi", "--long", "--json"],
                    &[("XDG_CACHE_HOME", &c)],
                )
                .json()
            })
        })
        .collect();
    let outs: Vec<serde_json::Value> = runs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(outs[0], outs[1]);
    let env = [("XDG_CACHE_HOME", c.as_str())];
    let again = regtui(
        &["-c", &cfg, "tags", "tools/multi", "--long", "--json"],
        &env,
    )
    .json();
    assert_eq!(outs[0], again, "what they wrote reads back whole");
    let stats = regtui(&["-c", &cfg, "cache", "stats", "--json"], &env).json();
    assert_eq!(stats["max_bytes"], 1024 * 1024, "{stats}");
    // No temporary file is left behind.
    let tmp = walk(&cache.path().join("regtui/tmp"));
    assert!(tmp.is_empty(), "{tmp:?}");
    // cache_max_mib = 0 turns it off; --offline then says why it cannot answer.
    let off = support::bin::write_config(
        dir.path(),
        &format!("cache_max_mib = 0\n{}", reg.profile_toml("")),
    );
    let r = regtui(&["-c", &off, "--offline", "tags", "tools/multi"], &env);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("cache_max_mib = 0"), "{}", r.stderr());
}

/// Opening a repository cold: the details of the first screen come with the list (the app
/// does not ask for them, and they arrive after it), the rest is asked for once they are in,
/// without them, and tags sharing one image fetch its config once.
#[tokio::test]
async fn a_repository_opened_cold_gets_its_first_screen_with_the_list_then_the_rest() {
    use regtui::client_task::Command;
    use regtui::registry::ops::natural_cmp;
    let reg = standard(Options::default());
    let img = support::oci::image(&support::oci::ImageSpec {
        seed: "first-screen",
        ..Default::default()
    });
    // An artifact tag sorts first by name, but the pane hides it: it is not fetched first.
    let sig = format!("sha256-{}.sig", "ab".repeat(32));
    let tags: Vec<String> = (1..=30)
        .map(|i| format!("t{i}"))
        .chain([sig.clone()])
        .collect();
    let items: Vec<(&str, &str, &support::oci::Image)> = tags
        .iter()
        .map(|t| ("scale/first", t.as_str(), &img))
        .collect();
    support::push_images(&reg.url, &items);
    let (px, log) = counting(reg.port);
    let purl = format!("http://127.0.0.1:{}", px.port);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::new(dir.path().to_path_buf(), 1 << 30));
    let mut t = Tui::new(&purl, store).await;

    let mut fx = Vec::new();
    for c in ":repo scale/first".chars() {
        fx.extend(t.app.update(key(c)));
    }
    fx.extend(
        t.app
            .update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))),
    );
    let first = fx
        .iter()
        .find_map(|e| match e {
            Effect::Send(Command::ListTags { first, .. }) => Some(*first),
            _ => None,
        })
        .expect("the list is asked for");
    assert!((5..30).contains(&first), "rows in view: {first}");
    t.apply(fx);

    let (mut fetching, mut came, mut rest) = (None::<Vec<String>>, Vec::new(), None);
    while rest.is_none() {
        let ev = tokio::time::timeout(Duration::from_secs(10), t.rx.recv())
            .await
            .expect("events until the rest is asked for")
            .unwrap();
        match &ev {
            // The head of the list names them; the whole list follows.
            Event::Tags { fetching: f, .. } if fetching.is_none() => fetching = Some(f.clone()),
            Event::Detail { tag, result, .. } => {
                assert!(fetching.is_some(), "{tag}: a row came before the list");
                assert!(result.is_ok(), "{tag}: {result:?}");
                came.push(tag.clone());
            }
            _ => {}
        }
        let fx = t.app.update(Msg::Client(ev));
        for e in &fx {
            if let Effect::Send(Command::TagDetails { tags, .. }) = e {
                rest = Some(tags.clone());
            }
        }
        t.apply(fx);
    }
    let want: Vec<String> = (1..=first).map(|i| format!("t{i}")).collect();
    assert_eq!(
        fetching.unwrap(),
        want,
        "the first screen, in natural order"
    );
    came.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(
        came, want,
        "the rest is asked for once the first screen is in"
    );
    let mut rest = rest.unwrap();
    rest.sort_by(|a, b| natural_cmp(a, b));
    let mut want_rest: Vec<String> = (first + 1..=30)
        .map(|i| format!("t{i}"))
        .chain([sig])
        .collect();
    want_rest.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(rest, want_rest, "only what did not come with the list");

    t.settle().await;
    assert_eq!(t.app.view().tags.done(), 31);
    // One image under every tag, detailed several at a time (the repository's size, then its
    // rows): its config was fetched once in the whole session.
    let config_gets: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("GET /v2/scale/first/blobs/"))
        .cloned()
        .collect();
    assert_eq!(config_gets.len(), 1, "{config_gets:?}");
}

/// A short repository opened cold comes whole with the list (every tag on the first screen):
/// its rows are stored even when one tag's manifest cannot be read, and the next session
/// shows them from the cache at once.
#[tokio::test]
async fn a_short_repository_opened_cold_is_stored_though_a_tag_fails() {
    let reg = standard(Options::default());
    let img = support::oci::image(&support::oci::ImageSpec {
        seed: "short-repo",
        ..Default::default()
    });
    support::push_images(
        &reg.url,
        &[
            ("short/one", "a", &img),
            ("short/one", "b", &img),
            ("short/one", "broken", &img),
        ],
    );
    // The registry lists `broken` but will not give its manifest.
    let px = fixture::proxy(reg.port, |req| {
        req.path()
            .ends_with("/manifests/broken")
            .then(|| fixture::Response::empty(404))
    });
    let purl = format!("http://127.0.0.1:{}", px.port);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::new(dir.path().to_path_buf(), 1 << 30));
    let mut t = Tui::new(&purl, store.clone()).await;
    t.open("short/one", false).await;
    let p = &t.app.view().tags;
    assert_eq!(p.done(), 3, "two rows and one failure");
    assert!(p.details_req.is_none(), "nothing more was asked for");
    let stored = store
        .tags(&purl, "short/one")
        .expect("the rows were stored");
    let mut tags: Vec<&str> = stored.rows.iter().map(|r| r.tag.as_str()).collect();
    tags.sort();
    assert_eq!(tags, ["a", "b"]);
    drop(t);
    let mut again = Tui::new(&purl, store).await;
    again.open("short/one", true).await;
    assert!(
        again.app.view().tags.cache.is_some(),
        "shown from the cache"
    );
    assert!(again.app.view().tags.row("a").is_some());
}
