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
