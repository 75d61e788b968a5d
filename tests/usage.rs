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
    assert_eq!(p["gc"]["shared_with"][0]["blobs"], 6, "2 manifests, 2 configs, 2 layers");
    // The base stays for u1 and u2 too.
    assert_eq!(p["bytes_shared"], base.size + own(&a) + own(&b));
    let text = regtui(
        &["-c", &cfg, "prune", "copy/app", "--match", "^(a|b)$", "--dry-run"],
        &[],
    )
    .stdout();
    assert!(
        text.contains("frees 0 B (checked 1 other repository)"),
        "{text}"
    );
    assert!(text.contains("used by other repositories: orig/app"), "{text}");
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
            p.gc.note.contains("lists 60 other repositories; only the first 10"),
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
        p.image("h/stalls", "t", &with_layers(image(&ImageSpec::default()), &[base]))
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
        assert!(p.gc.note.contains("catalog could not be read"), "{}", p.gc.note);
        assert_eq!(p.gc.other_repos, None);
    });
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
    assert_eq!(a["own_bytes"], own(&y), "x is in du/b too, the base everywhere");
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
    assert!(out.contains("REPOSITORY") && out.contains("du/a") && out.contains("du/b"), "{out}");
    let total = own(&x) + own(&y) + own(&z) + base.size;
    assert!(out.contains(&format!("({total} bytes) across 2 repositories")), "{out}");

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
