//! Registry-wide bytes freed and repository sizes against the real registry: the preview's
//! promise against what the registry's own `garbage-collect` frees when another repository holds
//! the same blobs, registries that stall or fail the checks, and `regtui du`'s figures.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use regtui::registry::Backend;
use regtui::registry::auth::Credential;
use regtui::registry::distribution::{Distribution, DistributionOptions};
use regtui::registry::prune::{self, Protected, Rules};
use regtui::registry::reference::RegistryAddr;
use regtui::registry::usage::{self, CheckOptions, GcScope};
use serde_json::Value;
use support::bin::{regtui, write_config};
use support::fixture::{self, Response};
use support::oci::{Blob, Image, ImageSpec, OCI_LAYER, Pusher, image, noise};
use support::{Options, Registry, block_on, with_layers};

/// An image on `base` plus one layer of its own (`size` bytes).
fn img(seed: &'static str, base: &Blob, size: usize) -> Image {
    let own = Blob::new(OCI_LAYER, noise(seed, size));
    let i = image(&ImageSpec {
        seed,
        created: "2024-01-01T00:00:00Z",
        ..Default::default()
    });
    with_layers(i, &[base.clone(), own])
}

/// Manifest, config and own layer: what deleting the image frees while `base` stays.
fn own(i: &Image) -> u64 {
    i.manifest.len() as u64 + i.blobs[0].size + i.blobs[2].size
}

fn client(url: &str) -> Distribution {
    Distribution::new(DistributionOptions::new(
        RegistryAddr::parse(url).unwrap(),
        Credential::Anonymous,
    ))
    .unwrap()
}

/// Total bytes of blob data files in the registry's storage.
fn blob_bytes(storage: &Path) -> u64 {
    fn walk(p: &Path) -> u64 {
        let Ok(rd) = std::fs::read_dir(p) else {
            return 0;
        };
        rd.flatten()
            .map(|e| {
                let m = e.metadata().unwrap();
                if m.is_dir() {
                    walk(&e.path())
                } else if e.file_name() == "data" {
                    m.len()
                } else {
                    0
                }
            })
            .sum()
    }
    walk(&storage.join("docker/registry/v2/blobs"))
}

/// Stops the registry, runs its garbage collector and returns the blob bytes it freed.
fn gc(reg: &mut Registry) -> u64 {
    let before = blob_bytes(&reg.storage);
    reg.stop();
    let out = reg.garbage_collect();
    assert!(
        out.status.success(),
        "garbage-collect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    before - blob_bytes(&reg.storage)
}

fn prune_json(cfg: &str, repo: &str, re: &str, extra: &[&str]) -> Value {
    let mut a = vec!["-c", cfg, "prune", repo, "--match", re, "--json"];
    a.extend(extra);
    regtui(&a, &[]).json()
}

#[test]
fn a_prune_of_a_copy_promises_and_frees_nothing_and_unique_images_free_exactly_the_promise() {
    let mut reg = Registry::start(Options::default());
    let base = Blob::new(OCI_LAYER, noise("u-base", 9000));
    let (a, b) = (img("u-a", &base, 5000), img("u-b", &base, 6000));
    let (u1, u2) = (img("u-u1", &base, 7000), img("u-u2", &base, 8000));
    let url = reg.url.clone();
    let (ac, bc, u1c, u2c) = (a.clone(), b.clone(), u1.clone(), u2.clone());
    block_on(async move {
        let p = Pusher::new(&url);
        p.image("orig/app", "a", &ac).await;
        p.image("orig/app", "b", &bc).await;
        // The copy: the same images in another repository, and two of its own.
        p.image("copy/app", "a", &ac).await;
        p.image("copy/app", "b", &bc).await;
        p.image("copy/app", "u1", &u1c).await;
        p.image("copy/app", "u2", &u2c).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &reg.profile_toml(""));

    // The copy's images: counted alone the repository would free them whole, but orig/app
    // holds every blob, so the registry frees nothing.
    let preview = prune_json(&cfg, "copy/app", "^(a|b)$", &["--dry-run"]);
    let p = &preview[0];
    assert_eq!(p["bytes_freed"], 0, "{p:#}");
    assert_eq!(p["gc"]["scope"], "registry");
    assert_eq!(p["gc"]["exact"], true, "{p:#}");
    assert_eq!(p["gc"]["checked_repos"], 1);
    assert_eq!(p["gc"]["note"], "checked 1 other repository");
    assert_eq!(p["gc"]["bytes_freed_in_repo"], own(&a) + own(&b));
    assert_eq!(p["gc"]["bytes_shared_elsewhere"], own(&a) + own(&b));
    assert_eq!(p["gc"]["shared_with"][0]["repo"], "orig/app");
    assert_eq!(
        p["gc"]["shared_with"][0]["blobs"], 6,
        "2 manifests, 2 configs, 2 layers"
    );
    // The base stays for u1 and u2 too.
    assert_eq!(p["bytes_shared"], base.size + own(&a) + own(&b));
    let text = regtui(
        &[
            "-c",
            &cfg,
            "prune",
            "copy/app",
            "--match",
            "^(a|b)$",
            "--dry-run",
        ],
        &[],
    )
    .stdout();
    assert!(
        text.contains("frees 0 B (checked 1 other repository)"),
        "{text}"
    );
    assert!(
        text.contains("used by other repositories: orig/app"),
        "{text}"
    );
    let done = prune_json(&cfg, "copy/app", "^(a|b)$", &["--yes"]);
    assert_eq!(done[0]["bytes_deleted"], 0, "{done:#}");
    let freed = gc(&mut reg);
    eprintln!("copy prune: GC freed {freed} bytes, preview promised 0");
    assert_eq!(freed, 0, "the collector freed what orig/app still holds");

    // Unique images: the preview promises their manifests, configs and own layers, and the
    // collector frees exactly that.
    let mut reg = Registry::start(Options {
        storage_from: Some(reg.storage.clone()),
        ..Default::default()
    });
    let cfg = write_config(dir.path(), &reg.profile_toml(""));
    let preview = prune_json(&cfg, "copy/app", "^u[12]$", &["--dry-run"]);
    let promised = preview[0]["bytes_freed"].as_u64().unwrap();
    assert_eq!(promised, own(&u1) + own(&u2), "{:#}", preview[0]);
    assert_eq!(preview[0]["gc"]["exact"], true);
    // copy/app keeps nothing now, so counted alone it would free the base too; orig/app
    // holds it.
    assert_eq!(preview[0]["gc"]["bytes_shared_elsewhere"], base.size);
    assert_eq!(
        preview[0]["gc"]["bytes_freed_in_repo"],
        promised + base.size
    );
    prune_json(&cfg, "copy/app", "^u[12]$", &["--yes"]);
    let freed = gc(&mut reg);
    eprintln!("unique prune: GC freed {freed} bytes, preview promised {promised}");
    assert_eq!(freed, promised);
}

/// A plan of `repo` deleting the tags matching `re`, checked registry-wide with `opts`.
async fn checked_plan(b: &dyn Backend, repo: &str, re: &str, opts: CheckOptions) -> prune::Plan {
    let s = prune::survey(b, repo, 4).await.unwrap();
    let rules = Rules::parse(None, None, Some(re), None).unwrap();
    let marked = rules.select(&s.dates(), &Protected::default(), 0);
    let mut p = prune::plan(&s, &marked, &Protected::default(), b.info().capabilities);
    usage::registry_wide(b, &mut p, opts).await;
    p
}

#[test]
fn the_check_asks_every_other_repository_and_says_at_most_beyond_its_bound() {
    let reg = Registry::start(Options::default());
    let base = Blob::new(OCI_LAYER, noise("n-base", 4000));
    let (x, y) = (img("n-x", &base, 3000), img("n-y", &base, 3000));
    let url = reg.url.clone();
    let (xc, yc, basec) = (x.clone(), y.clone(), base.clone());
    const OTHERS: usize = 60;
    block_on(async move {
        let base = basec;
        let p = Pusher::new(&url);
        p.image("many/src", "x", &xc).await;
        p.image("many/src", "y", &yc).await;
        // 60 other repositories hold y's base layer (and its own layer in the last one).
        for i in 0..OTHERS {
            let other = image(&ImageSpec {
                seed: Box::leak(format!("n-other-{i}").into_boxed_str()),
                ..Default::default()
            });
            let layers = if i == OTHERS - 1 {
                vec![base.clone(), yc.blobs[2].clone()]
            } else {
                vec![base.clone()]
            };
            p.image(&format!("many/o{i:02}"), "t", &with_layers(other, &layers))
                .await;
        }
    });
    let c = client(&reg.url);
    let (x2, y2) = (x.clone(), y.clone());
    block_on(async move {
        let start = Instant::now();
        let p = checked_plan(&c, "many/src", "^(x|y)$", CheckOptions::default()).await;
        let took = start.elapsed();
        eprintln!(
            "registry-wide check: {} other repositories × {} blobs in {} ms ({took:?} in all)",
            p.gc.checked_repos,
            p.freed_blobs().len(),
            p.gc.millis
        );
        assert_eq!(p.gc.scope, GcScope::Registry);
        assert!(p.gc.exact, "{:?}", p.gc);
        assert_eq!(p.gc.checked_repos, OTHERS);
        assert_eq!(p.gc.other_repos, Some(OTHERS));
        assert_eq!(p.gc.note, format!("checked {OTHERS} other repositories"));
        // Everything of x and y but the base (in 60 others) and y's layer (in many/o59) goes.
        let layer = y2.blobs[2].size;
        assert_eq!(p.bytes_freed, own(&x2) + own(&y2) - layer);
        assert_eq!(p.gc.bytes_shared_elsewhere, base.size + layer);
        assert_eq!(p.gc.shared_with.len(), usage::SHARED_WITH_TOP);
        assert_eq!(p.gc.shared_with[0].repo, "many/o59");
        assert_eq!(p.gc.shared_with[0].bytes, base.size + layer);

        // Bounded: with room for 10 others, the figure is an upper bound and says why.
        let opts = CheckOptions {
            max_repos: 10,
            ..Default::default()
        };
        let p = checked_plan(&c, "many/src", "^(x|y)$", opts).await;
        assert!(!p.gc.exact);
        assert_eq!(p.gc.checked_repos, 10);
        assert!(
            p.gc.note
                .contains("lists 60 other repositories; only the first 10"),
            "{}",
            p.gc.note
        );
        // The base is known shared; y's layer (in many/o59) was not seen: at most.
        assert_eq!(p.bytes_freed, own(&x2) + own(&y2));
        assert!(
            p.gc.frees_text(p.bytes_freed).starts_with("frees at most "),
            "{}",
            p.gc.frees_text(p.bytes_freed)
        );
    });
}

#[test]
fn a_registry_failing_or_stalling_the_checks_gets_at_most_never_a_crash() {
    let reg = Registry::start(Options::default());
    let base = Blob::new(OCI_LAYER, noise("h-base", 4000));
    let x = img("h-x", &base, 3000);
    let url = reg.url.clone();
    let xc = x.clone();
    block_on(async move {
        let p = Pusher::new(&url);
        p.image("h/src", "x", &xc).await;
        p.image("h/shares", "x", &xc).await;
        p.image(
            "h/stalls",
            "t",
            &with_layers(image(&ImageSpec::default()), &[base]),
        )
        .await;
    });
    // Blob and manifest HEADs in h/broken fail; in h/stalls they never answer in time.
    let reg_port = reg.port;
    let fx = fixture::proxy(reg_port, |req| {
        let head = req.method == "HEAD";
        let p = req.path();
        if p == "/v2/_catalog" {
            return None;
        }
        if head && p.starts_with("/v2/h/shares/") {
            return Some(Response::empty(500));
        }
        if head && p.starts_with("/v2/h/stalls/") {
            std::thread::sleep(Duration::from_secs(8));
            return Some(Response::empty(404));
        }
        None
    });
    let c = client(&format!("http://127.0.0.1:{}", fx.port));
    let opts = CheckOptions {
        budget: Duration::from_secs(3),
        ..Default::default()
    };
    let x2 = x.clone();
    block_on(async move {
        let start = Instant::now();
        let p = checked_plan(&c, "h/src", "^x$", opts).await;
        let took = start.elapsed();
        assert!(took < Duration::from_secs(7), "the budget holds: {took:?}");
        assert!(!p.gc.exact, "{:?}", p.gc);
        // h/shares really holds everything, but it failed: the figure is the upper bound.
        assert_eq!(p.bytes_freed, own(&x2) + x2.blobs[1].size);
        assert!(p.gc.note.contains("budget"), "{}", p.gc.note);
        assert!(p.gc.note.contains("did not answer"), "{}", p.gc.note);
        assert!(
            p.gc.frees_text(p.bytes_freed).starts_with("frees at most"),
            "{}",
            p.gc.frees_text(p.bytes_freed)
        );
    });
    // A closed catalog: nothing could be checked, and the preview says so.
    let fx = fixture::proxy(reg_port, |req| {
        (req.path() == "/v2/_catalog").then(|| {
            Response::json(
                401,
                &serde_json::json!({"errors":[{"code":"UNAUTHORIZED","message":"no catalog"}]}),
            )
        })
    });
    let c = client(&format!("http://127.0.0.1:{}", fx.port));
    block_on(async move {
        let p = checked_plan(&c, "h/src", "^x$", CheckOptions::default()).await;
        assert!(!p.gc.exact);
        assert_eq!(p.gc.checked_repos, 0);
        assert!(
            p.gc.note.contains("catalog could not be read"),
            "{}",
            p.gc.note
        );
        assert_eq!(p.gc.other_repos, None);
    });
}

#[test]
fn a_repository_holding_the_same_manifest_is_asked_once_per_manifest_not_per_blob() {
    let reg = Registry::start(Options::default());
    let base = Blob::new(OCI_LAYER, noise("m-base", 4000));
    let (a, b) = (img("m-a", &base, 3000), img("m-b", &base, 3000));
    let url = reg.url.clone();
    let (ac, bc) = (a.clone(), b.clone());
    block_on(async move {
        let p = Pusher::new(&url);
        p.image("m/orig", "a", &ac).await;
        p.image("m/orig", "b", &bc).await;
        p.image("m/copy", "a", &ac).await;
        p.image("m/copy", "b", &bc).await;
        // Holds b's own layer alone (no manifest of a or b).
        let other = with_layers(image(&ImageSpec::default()), &[bc.blobs[2].clone()]);
        p.image("m/other", "t", &other).await;
    });
    let fx = fixture::proxy(reg.port, |_| None);
    let c = client(&format!("http://127.0.0.1:{}", fx.port));
    let (a2, b2) = (a.clone(), b.clone());
    block_on(async move {
        let p = checked_plan(&c, "m/copy", "^(a|b)$", CheckOptions::default()).await;
        assert!(p.gc.exact, "{:?}", p.gc);
        assert_eq!(p.bytes_freed, 0, "{:?}", p.gc);
        assert_eq!(p.gc.checked_repos, 2);
        let all = own(&a2) + own(&b2) + base.size;
        assert_eq!(p.gc.bytes_shared_elsewhere, all);
        assert_eq!(p.gc.shared_with[0].repo, "m/orig");
        assert_eq!(p.gc.shared_with[0].bytes, all);
        assert_eq!(p.gc.shared_with[1].repo, "m/other");
        assert_eq!(p.gc.shared_with[1].bytes, b2.blobs[2].size);
    });
    let seen = fx.seen();
    let count = |prefix: &str| seen.iter().filter(|r| r.starts_with(prefix)).count();
    // m/orig holds both manifests: two questions answer for all seven blobs.
    assert_eq!(count("HEAD /v2/m/orig/manifests/"), 2, "{seen:#?}");
    assert_eq!(count("HEAD /v2/m/orig/blobs/"), 0, "{seen:#?}");
    // m/other holds neither manifest: each of the 5 other blobs is asked about.
    assert_eq!(count("HEAD /v2/m/other/manifests/"), 2, "{seen:#?}");
    assert_eq!(count("HEAD /v2/m/other/blobs/"), 5, "{seen:#?}");
}

#[test]
fn du_counts_tags_manifests_distinct_and_own_bytes_and_the_total() {
    let reg = Registry::start(Options::default());
    let base = Blob::new(OCI_LAYER, noise("d-base", 9000));
    let (x, y, z) = (
        img("d-x", &base, 5000),
        img("d-y", &base, 6000),
        img("d-z", &base, 7000),
    );
    let url = reg.url.clone();
    let (xc, yc, zc) = (x.clone(), y.clone(), z.clone());
    block_on(async move {
        let p = Pusher::new(&url);
        p.image("du/a", "x1", &xc).await;
        p.image("du/a", "x2", &xc).await;
        p.image("du/a", "y", &yc).await;
        p.image("du/b", "x", &xc).await;
        p.image("du/b", "z", &zc).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &reg.profile_toml(""));
    let v = regtui(&["-c", &cfg, "du", "--json"], &[]).json();
    let row = |v: &Value, r: &str| -> Value {
        v["repos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["repo"] == r)
            .unwrap_or_else(|| panic!("{r} missing: {v:#}"))
            .clone()
    };
    let a = row(&v, "du/a");
    assert_eq!(a["tags"], 3);
    assert_eq!(a["manifests"], 2);
    assert_eq!(a["bytes"], own(&x) + own(&y) + base.size);
    assert_eq!(
        a["own_bytes"],
        own(&y),
        "x is in du/b too, the base everywhere"
    );
    let b = row(&v, "du/b");
    assert_eq!(b["tags"], 2);
    assert_eq!(b["manifests"], 2);
    assert_eq!(b["bytes"], own(&x) + own(&z) + base.size);
    assert_eq!(b["own_bytes"], own(&z));
    assert_eq!(
        v["total_bytes"],
        own(&x) + own(&y) + own(&z) + base.size,
        "each blob once"
    );
    assert_eq!(v["own_exact"], true);

    // One repository named: its own bytes are checked against the rest of the registry.
    let v = regtui(&["-c", &cfg, "du", "du/a", "--json"], &[]).json();
    assert_eq!(v["repos"].as_array().unwrap().len(), 1);
    let a1 = row(&v, "du/a");
    assert_eq!(a1["own_bytes"], own(&y), "{v:#}");
    assert_eq!(v["total_bytes"], a["bytes"]);
    assert_eq!(v["own_exact"], true, "{v:#}");

    // Text: one line per repository and the total.
    let r = regtui(&["-c", &cfg, "du", "du/*"], &[]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = r.stdout();
    assert!(
        out.contains("REPOSITORY") && out.contains("du/a") && out.contains("du/b"),
        "{out}"
    );
    let total = own(&x) + own(&y) + own(&z) + base.size;
    assert!(
        out.contains(&format!("({total} bytes) across 2 repositories")),
        "{out}"
    );

    // A repository that cannot be read is reported, not fatal, and the exit code says so.
    let r = regtui(&["-c", &cfg, "du", "du/a", "du/missing", "--json"], &[]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let v: Value = serde_json::from_slice(&r.out.stdout).unwrap();
    assert!(row(&v, "du/missing")["error"].is_string(), "{v:#}");
    assert_eq!(row(&v, "du/a")["bytes"], a["bytes"]);
    let names: BTreeSet<&str> = v["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["repo"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["du/a", "du/missing"].into());
}

#[test]
fn the_check_keeps_a_bounded_number_of_questions_alive_and_stops_at_its_budget() {
    let reg = Registry::start(Options::default());
    const REPOS: usize = 30;
    const BLOBS: usize = 100;
    let url = reg.url.clone();
    block_on(async move {
        let p = Pusher::new(&url);
        for i in 0..REPOS {
            let other = image(&ImageSpec {
                seed: Box::leak(format!("q-other-{i}").into_boxed_str()),
                ..Default::default()
            });
            p.image(&format!("q/o{i:02}"), "t", &other).await;
        }
    });
    // Blobs no repository holds: every repository is asked about every one of them.
    let blobs: BTreeSet<String> = (0..BLOBS).map(|i| format!("sha256:{i:064x}")).collect();
    let none = BTreeSet::new();
    let opts = CheckOptions {
        concurrency: 4,
        ..Default::default()
    };
    let c = client(&reg.url);
    let (b2, n2) = (blobs.clone(), none.clone());
    let found = block_on(async move {
        usage::used_elsewhere(&c, &n2, &b2, &n2, &Default::default(), opts).await
    });
    eprintln!(
        "{} questions, at most {} alive at once",
        found.questions, found.peak_in_flight
    );
    assert!(found.complete(), "{:?}", found.gaps);
    assert_eq!(found.checked, REPOS);
    assert_eq!(found.questions, REPOS * BLOBS);
    assert!(found.used.is_empty() && found.unknown.is_empty());
    // 3000 pairs, never more than the concurrency alive at once.
    assert!(
        found.peak_in_flight >= 1 && found.peak_in_flight <= 4,
        "{}",
        found.peak_in_flight
    );

    // Every blob question stalls: the budget ends the check, and no question is produced after.
    let fx = fixture::proxy(reg.port, |req| {
        if req.method == "HEAD" && req.path().contains("/blobs/") {
            std::thread::sleep(Duration::from_millis(300));
            return Some(Response::empty(404));
        }
        None
    });
    let c = client(&format!("http://127.0.0.1:{}", fx.port));
    let opts = CheckOptions {
        concurrency: 4,
        budget: Duration::from_secs(2),
        ..Default::default()
    };
    let b2 = blobs.clone();
    let start = Instant::now();
    let found = block_on(async move {
        usage::used_elsewhere(&c, &none, &b2, &none, &Default::default(), opts).await
    });
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "the budget holds: {took:?}");
    std::thread::sleep(Duration::from_millis(800));
    let heads = fx
        .seen()
        .iter()
        .filter(|r| r.starts_with("HEAD ") && r.contains("/blobs/"))
        .count();
    // About 2 s / 300 ms × 4 questions were asked, not the 3000 pairs.
    assert!(found.questions <= 40, "{}", found.questions);
    assert!(heads <= found.questions, "{heads} > {}", found.questions);
    assert!(found.peak_in_flight <= 4, "{}", found.peak_in_flight);
    assert!(!found.complete());
    assert!(found.checked < REPOS);
    assert_eq!(
        found.unknown, blobs,
        "unanswered blobs are unknown: at most"
    );
    assert!(
        found.gaps.iter().any(|g| g.contains("budget")),
        "{:?}",
        found.gaps
    );
}

#[test]
fn du_says_at_most_when_a_repository_cannot_be_read() {
    let reg = Registry::start(Options::default());
    let base = Blob::new(OCI_LAYER, noise("u-base", 9000));
    let (x, y) = (img("u-x", &base, 5000), img("u-y", &base, 6000));
    let url = reg.url.clone();
    let (xc, yc) = (x.clone(), y.clone());
    block_on(async move {
        let p = Pusher::new(&url);
        p.image("du2/a", "x", &xc).await;
        p.image("du2/a", "y", &yc).await;
        p.image("du2/b", "x", &xc).await;
    });
    let repos: Vec<String> = vec!["du2/a".into(), "du2/b".into()];
    // Read directly: du2/a's own bytes are y's alone, exactly.
    let c = client(&reg.url);
    let r2 = repos.clone();
    let d = block_on(async move { usage::du(&c, &r2, true, 4, CheckOptions::default()).await });
    assert!(d.own_exact, "{d:?}");
    assert_eq!(d.repos[0].own_bytes, own(&y));

    // du2/b's manifests fail: its blobs are unknown, so du2/a's own bytes are at most.
    let fx = fixture::proxy(reg.port, |req| {
        req.path()
            .starts_with("/v2/du2/b/manifests/")
            .then(|| Response::empty(500))
    });
    let c = client(&format!("http://127.0.0.1:{}", fx.port));
    let r2 = repos.clone();
    let (whole, part) = block_on(async move {
        let opts = CheckOptions {
            budget: Duration::from_secs(20),
            ..Default::default()
        };
        (
            usage::du(&c, &r2, true, 4, opts).await,
            usage::du(&c, &r2, false, 4, opts).await,
        )
    });
    for d in [&whole, &part] {
        assert!(d.repos[1].error.is_some(), "{d:?}");
        assert_eq!(d.repos[0].repo, "du2/a");
        assert!(
            !d.own_exact,
            "a failed survey never gives exact own bytes: {d:?}"
        );
        assert!(d.note.contains("at most"), "{}", d.note);
        assert!(d.note.contains("du2/b could not be read"), "{}", d.note);
        assert!(!d.note.contains("compared across all"), "{}", d.note);
        // The figure is the upper bound: x (shared with the unread du2/b) counts.
        assert_eq!(d.repos[0].own_bytes, own(&x) + own(&y) + base.size);
    }
}

// ---------- the repositories pane ----------

mod pane {
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use regtui::app::panes::RepoSize;
    use regtui::app::{App, Effect, Msg, ProfileEntry};
    use regtui::client_task::{self, Command, Event, ProfileSource, ProfileSpec};
    use regtui::config::Profile;
    use tokio::sync::mpsc;

    use super::support::oci::{Blob, OCI_LAYER, Pusher, noise};
    use super::support::{Options, Registry};
    use super::{img, own};

    /// 2025-01-01T00:00:00Z: relative dates stay fixed.
    const NOW: i64 = 1_735_689_600;

    fn spec(url: &str) -> ProfileSpec {
        ProfileSpec {
            name: "local".into(),
            registry: url.into(),
            source: ProfileSource::Registry {
                profile: Box::new(Profile::ad_hoc(url).unwrap()),
                base_dir: PathBuf::from("."),
            },
            concurrency: 4,
        }
    }

    /// The app wired to the real client task; every command it sends is recorded.
    struct Harness {
        app: App,
        client: client_task::Client,
        rx: mpsc::Receiver<Event>,
        sent: Vec<String>,
    }

    impl Harness {
        fn new(url: &str, size: (u16, u16)) -> Harness {
            let s = spec(url);
            let entry = ProfileEntry {
                registry: "http://registry.test".into(),
                ..ProfileEntry::from(&s)
            };
            let (etx, rx) = mpsc::channel(1024);
            let client = client_task::spawn(vec![s], etx);
            let mut app = App::new(vec![entry], 0, size, NOW);
            app.color = false;
            let mut h = Harness {
                app,
                client,
                rx,
                sent: vec![],
            };
            let fx = h.app.start();
            h.apply(fx);
            h
        }

        fn apply(&mut self, fx: Vec<Effect>) {
            for e in fx {
                if let Effect::Send(c) = e {
                    if let Command::RepoSizes { repos, .. } = &c {
                        self.sent.push(repos.join(","));
                    }
                    self.client.commands.try_send(c).unwrap();
                }
            }
        }

        /// Feeds client events until nothing is in flight; `each` sees the app after each one.
        async fn settle_with(&mut self, mut each: impl FnMut(&App)) {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut idle: Option<Instant> = None;
            loop {
                assert!(Instant::now() < deadline, "client did not settle");
                match tokio::time::timeout(Duration::from_millis(30), self.rx.recv()).await {
                    Ok(Some(ev)) => {
                        idle = None;
                        let fx = self.app.update(Msg::Client(ev));
                        self.apply(fx);
                        each(&self.app);
                    }
                    _ => {
                        let n = self
                            .client
                            .in_flight
                            .load(std::sync::atomic::Ordering::SeqCst);
                        self.app.in_flight = n;
                        if n == 0
                            && idle.get_or_insert_with(Instant::now).elapsed()
                                > Duration::from_millis(60)
                        {
                            return;
                        }
                    }
                }
            }
        }

        fn screen(&self) -> String {
            let (w, h) = self.app.size;
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            t.draw(|f| regtui::ui::render(&self.app, f)).unwrap();
            let buf = t.backend().buffer().clone();
            (0..h)
                .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
                .collect()
        }
    }

    /// 30 repositories `pane/rNN`, each with `NN % 3 + 1` tags of one image on a shared base.
    fn fill() -> (Registry, Vec<(String, usize, u64)>) {
        let reg = Registry::start(Options::default());
        let base = Blob::new(OCI_LAYER, noise("p-base", 2000));
        let mut want = Vec::new();
        let mut images = Vec::new();
        for i in 0..30 {
            let seed: &'static str = Box::leak(format!("p-{i}").into_boxed_str());
            let im = img(seed, &base, 1000 + i * 10);
            want.push((format!("pane/r{i:02}"), i % 3 + 1, own(&im) + base.size));
            images.push(im);
        }
        let url = reg.url.clone();
        let w = want.clone();
        super::block_on(async move {
            let p = Pusher::new(&url);
            for ((repo, tags, _), im) in w.iter().zip(&images) {
                for t in 0..*tags {
                    p.image(repo, &format!("t{t}"), im).await;
                }
            }
        });
        (reg, want)
    }

    async fn sizes_load_lazily_rows_in_view_first(size: (u16, u16), suffix: &str) {
        let (reg, want) = fill();
        let mut h = Harness::new(&reg.url, size);
        // The list draws at once; sizes show `…` until they arrive, and never block drawing.
        let mut saw_pending = false;
        let mut frames = 0;
        h.settle_with(|app| {
            let r = &app.view().repos;
            if r.sizes.values().any(|s| *s == RepoSize::Pending) {
                saw_pending = true;
            }
            frames += 1;
        })
        .await;
        assert!(
            saw_pending,
            "sizes are asked for after the list, then arrive"
        );
        // One request, the rows in view first in display order (here: the top of the list).
        assert_eq!(h.sent.len(), 1, "{:?}", h.sent);
        let asked: Vec<&str> = h.sent[0].split(',').collect();
        assert_eq!(asked.len(), 30);
        let first: Vec<String> = (0..5).map(|i| format!("pane/r{i:02}")).collect();
        assert_eq!(
            &asked[..5],
            first.iter().map(String::as_str).collect::<Vec<_>>()
        );
        // Exact figures: tags and distinct bytes (manifest, config, own layer, base).
        for (repo, tags, bytes) in &want {
            assert_eq!(
                h.app.view().repos.sizes.get(repo),
                Some(&RepoSize::Known {
                    tags: *tags,
                    bytes: Some(*bytes)
                }),
                "{repo}"
            );
        }
        insta::assert_snapshot!(format!("repo_sizes_{suffix}"), h.screen());
        // A refresh asks again under a new id; replies to the old one are dropped.
        let fx = h.app.update(Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('r'),
            crossterm::event::KeyModifiers::NONE,
        )));
        h.apply(fx);
        h.settle_with(|_| {}).await;
        assert_eq!(h.sent.len(), 2);
        assert!(
            h.app
                .view()
                .repos
                .sizes
                .values()
                .all(|s| matches!(s, RepoSize::Known { .. })),
        );
        assert!(frames > 30);
    }

    fn press(app: &mut App, c: char) -> Vec<Effect> {
        app.update(Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        )))
    }

    fn sizes_req(fx: &[Effect]) -> (regtui::client_task::ReqId, Vec<String>) {
        match fx {
            [Effect::Send(Command::RepoSizes { req, repos, .. })] => (*req, repos.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn scrolling_to_rows_far_down_the_size_queue_asks_for_them_first() {
        let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, (80, 24), NOW);
        let fx = app.start();
        let list = match &fx[..] {
            [Effect::Send(Command::ListRepos { req, .. })] => *req,
            other => panic!("{other:?}"),
        };
        let names: Vec<String> = (0..200).map(|i| format!("r{i:03}")).collect();
        let fx = app.update(Msg::Client(Event::Repos {
            req: list,
            page: names,
            done: true,
        }));
        let (first, asked) = sizes_req(&fx);
        assert_eq!(asked[0], "r000");
        // Moving within the rows being sized asks nothing new.
        let fx = press(&mut app, 'j');
        assert!(fx.is_empty(), "{fx:?}");
        // The last rows wait at the end of the queue: jumping there asks again, them first.
        let fx = press(&mut app, 'G');
        let (second, asked) = sizes_req(&fx);
        assert_ne!(first, second);
        assert_eq!(asked.len(), 200);
        assert!(asked[0].as_str() >= "r175", "{:?}", &asked[..5]);
        assert!(asked.contains(&"r199".to_string()));
        assert!(asked[..30].contains(&"r199".to_string()), "{asked:?}");
        // Scrolling a row within them asks nothing more.
        let fx = press(&mut app, 'k');
        assert!(fx.is_empty(), "{fx:?}");
        // Once sized, nothing is asked again on the way back up.
        for n in &asked {
            app.update(Msg::Client(Event::RepoSize {
                req: second,
                repo: n.clone(),
                result: Ok((1, Some(1))),
            }));
        }
        let fx = press(&mut app, 'g');
        assert!(fx.is_empty(), "{fx:?}");
    }

    #[tokio::test]
    async fn stale_size_replies_are_dropped_and_a_failure_leaves_the_rows_alone() {
        let mut app = App::new(vec![ProfileEntry::new("p", "r")], 0, (80, 24), NOW);
        let fx = app.start();
        let list = match &fx[..] {
            [Effect::Send(Command::ListRepos { req, .. })] => *req,
            other => panic!("{other:?}"),
        };
        let names: Vec<String> = (0..40).map(|i| format!("r{i:02}")).collect();
        let fx = app.update(Msg::Client(Event::Repos {
            req: list,
            page: names,
            done: true,
        }));
        let (first, asked) = sizes_req(&fx);
        assert_eq!(asked.len(), 40);
        assert_eq!(asked[0], "r00");
        // Drawing never waits: every row shows `…` meanwhile.
        assert!(
            render(&app).contains("│r00      …     …│"),
            "{}",
            render(&app)
        );
        let reply = |req, repo: &str, tags| {
            Msg::Client(Event::RepoSize {
                req,
                repo: repo.into(),
                result: Ok((tags, Some(4096))),
            })
        };
        app.update(reply(first, "r00", 3));
        assert_eq!(
            app.view().repos.sizes["r00"],
            RepoSize::Known {
                tags: 3,
                bytes: Some(4096)
            }
        );
        // A refresh: the list comes again, sizes are asked for under a new id.
        let fx = press(&mut app, 'r');
        let list = match &fx[..] {
            [Effect::Send(Command::ListRepos { req, .. })] => *req,
            other => panic!("{other:?}"),
        };
        let fx = app.update(Msg::Client(Event::Repos {
            req: list,
            page: vec!["r00".into(), "r01".into()],
            done: true,
        }));
        let (second, _) = sizes_req(&fx);
        assert_ne!(first, second);
        // A late reply to the first request is dropped.
        app.update(reply(first, "r01", 99));
        assert_eq!(app.view().repos.sizes["r01"], RepoSize::Pending);
        app.update(reply(second, "r01", 2));
        assert!(
            render(&app).contains("│r01      2  4.0K│"),
            "{}",
            render(&app)
        );
        // A failed size request leaves the rows without sizes and says nothing.
        app.update(Msg::Client(Event::Failed {
            req: second,
            error: regtui::registry::Error::Unsupported("no".into()),
        }));
        assert!(
            app.view()
                .repos
                .sizes
                .values()
                .all(|s| *s != RepoSize::Pending)
        );
        assert!(app.view().error.is_none());
        assert_eq!(app.view().repos.names, ["r00", "r01"]);
    }

    fn render(app: &App) -> String {
        let (w, h) = app.size;
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| regtui::ui::render(app, f)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn repository_sizes_load_lazily_80x24() {
        sizes_load_lazily_rows_in_view_first((80, 24), "80x24").await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn repository_sizes_load_lazily_160x48() {
        sizes_load_lazily_rows_in_view_first((160, 48), "160x48").await;
    }
}

#[test]
fn repository_sizes_wait_for_the_tag_list_of_the_repository_opened() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use regtui::app::{App, Effect, Msg, ProfileEntry};
    use regtui::client_task::{Command, Event};
    let key = |c| Msg::Key(KeyEvent::new(c, KeyModifiers::NONE));
    let sent = |fx: &[Effect], pick: &dyn Fn(&Command) -> bool| {
        fx.iter().any(|e| matches!(e, Effect::Send(c) if pick(c)))
    };
    let mut app = App::new(
        vec![ProfileEntry::new("local", "http://127.0.0.1:1")],
        0,
        (120, 30),
        1_735_689_600,
    );
    let mut fx = app.start();
    // The user opens a repository before the catalog answered.
    for c in ":repo team/a".chars() {
        fx.extend(app.update(key(KeyCode::Char(c))));
    }
    fx.extend(app.update(key(KeyCode::Enter)));
    let find = |fx: &[Effect], list: bool| {
        fx.iter().find_map(|e| match e {
            Effect::Send(Command::ListRepos { req, .. }) if !list => Some(*req),
            Effect::Send(Command::ListTags { req, .. }) if list => Some(*req),
            _ => None,
        })
    };
    let (repos, tags) = (find(&fx, false).unwrap(), find(&fx, true).unwrap());
    let is_sizes = |c: &Command| matches!(c, Command::RepoSizes { .. });
    let fx = app.update(Msg::Client(Event::Repos {
        req: repos,
        page: vec!["team/a".into(), "team/b".into()],
        done: true,
    }));
    assert!(
        !sent(&fx, &is_sizes),
        "sizes wait while team/a lists its tags"
    );
    let fx = app.update(Msg::Client(Event::Tags {
        req: tags,
        page: vec!["v1".into()].into(),
        done: true,
        fetching: vec![],
    }));
    assert!(sent(&fx, &|c| matches!(c, Command::TagDetails { .. })));
    assert!(sent(&fx, &is_sizes), "then the sizes are asked for");
}
