//! Trust (issue #9): deletes do exactly what was asked and are verified, credentials go only to
//! the registry and the realm it names, and no server number, listing or redirect can make regtui
//! act elsewhere, crash or grow without bound. Against the real registry, with small hostile
//! servers (tests/support/fixture.rs) in front of it where a real one cannot misbehave on cue.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use regtui::registry::auth::Credential;
use regtui::registry::distribution::{Distribution, DistributionOptions};
use regtui::registry::prune::{self, Outcome, Protected};
use regtui::registry::reference::RegistryAddr;
use regtui::registry::{Backend, Error, ops};
use serde_json::{Value, json};
use support::bin::{regtui, write_config};
use support::fixture::{DROP, Response, forward, proxy, serve};
use support::oci::{Blob, Image, ImageSpec, OCI_LAYER, Pusher, image, index, noise};
use support::registry::{PASSWORD, USER};
use support::{Auth, Options, Registry, block_on, find, standard, with_layers};

fn client(url: &str) -> Distribution {
    Distribution::new(DistributionOptions::new(
        RegistryAddr::parse(url).unwrap(),
        Credential::Anonymous,
    ))
    .unwrap()
}

/// The digest `repo:reference` resolves to on `url`, `None` when it is gone.
fn head(url: &str, repo: &str, reference: &str) -> Option<String> {
    let (url, repo, reference) = (url.to_string(), repo.to_string(), reference.to_string());
    block_on(async move {
        match client(&url).head_manifest(&repo, &reference).await {
            Ok(d) => Some(d.digest),
            Err(Error::NotFound { .. }) => None,
            Err(e) => panic!("HEAD {repo}:{reference}: {e}"),
        }
    })
}

fn has(s: &str, parts: &[&str]) {
    for p in parts {
        assert!(s.contains(p), "{p:?} missing from: {s}");
    }
}

// ---------- 2. the host in a reference decides ----------

#[test]
fn a_reference_naming_another_host_is_refused_never_acted_on_elsewhere() {
    let reg = standard(Options::default());
    let other = "127.0.0.1:1";
    let host = reg.url.trim_start_matches("http://").to_string();
    let refs = [
        vec![
            "rm".to_string(),
            format!("{other}/solo:only"),
            "--yes".into(),
        ],
        vec!["inspect".to_string(), format!("{other}/solo:only")],
        vec!["tags".to_string(), format!("{other}/solo")],
        vec![
            "prune".to_string(),
            format!("{other}/solo"),
            "--keep".into(),
            "0".into(),
            "--yes".into(),
        ],
    ];
    for cmd in &refs {
        let mut args = vec!["--registry", reg.url.as_str()];
        args.extend(cmd.iter().map(String::as_str));
        let r = regtui(&args, &[]);
        assert_ne!(r.code(), 0, "{cmd:?}: {}", r.stdout());
        has(&r.stderr(), &[other, &reg.url, "refusing"]);
    }
    // -p names a profile of another registry: refused too.
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &reg.profile_toml(""));
    let r = regtui(
        &[
            "-c",
            &cfg,
            "-p",
            "test",
            "rm",
            &format!("{other}/solo:only"),
            "--yes",
        ],
        &[],
    );
    assert_ne!(r.code(), 0);
    has(&r.stderr(), &[other, "profile test", "refusing"]);
    assert_eq!(reg.tags("solo"), ["only"], "nothing was deleted");
    // The same host in both is fine, and so is a reference that picks the profile itself.
    let r = regtui(
        &[
            "--registry",
            &reg.url,
            "tags",
            &format!("{host}/team/app/web"),
        ],
        &[],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(r.stdout(), "2024.01\n2024.06\n");
    let r = regtui(
        &[
            "-c",
            &cfg,
            "inspect",
            &format!("{host}/solo:only"),
            "--json",
        ],
        &[],
    );
    assert_eq!(r.json()["digest"], find("solo", "only").digest);
}

// ---------- 3. prune never drops what it cannot read ----------

/// An index over amd64 and arm64 images, and the amd64 image alone.
fn platforms() -> (Image, Image, Image) {
    let amd = image(&ImageSpec {
        seed: "trust-amd",
        arch: "amd64",
        created: "2024-02-01T00:00:00Z",
        ..Default::default()
    });
    let arm = image(&ImageSpec {
        seed: "trust-arm",
        arch: "arm64",
        created: "2024-02-01T00:00:00Z",
        ..Default::default()
    });
    let idx = index(vec![amd.clone(), arm.clone()], false);
    (idx, amd, arm)
}

/// A registry with the index `mirror/app:multi` and its amd64 image also tagged `amd`.
fn multi_and_amd() -> (Registry, Image, Image) {
    let reg = Registry::start(Options::default());
    let (idx, amd, _) = platforms();
    let url = reg.url.clone();
    let (i2, a2) = (idx.clone(), amd.clone());
    block_on(async move {
        let p = Pusher::new(&url);
        p.image("mirror/app", "multi", &i2).await;
        p.image("mirror/app", "amd", &a2).await;
    });
    (reg, idx, amd)
}

#[test]
fn prune_fails_when_an_index_references_a_missing_manifest() {
    let reg = Registry::start(Options::default());
    let (idx, amd, arm) = platforms();
    let url = reg.url.clone();
    let (i2, a2, r2) = (idx.clone(), amd.clone(), arm.clone());
    block_on(async move {
        let p = Pusher::new(&url);
        p.image("mirror/app", "multi", &i2).await;
        p.image("mirror/app", "amd", &a2).await;
        // A partial mirror: one platform of the index is gone.
        client(&url)
            .delete_manifest("mirror/app", &r2.digest)
            .await
            .unwrap();
    });
    let r = regtui(
        &[
            "--registry",
            &reg.url,
            "prune",
            "mirror/app",
            "--match",
            "^amd$",
            "--keep",
            "0",
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_ne!(r.code(), 0, "{}", r.stdout());
    has(
        &r.stderr(),
        &["mirror/app:multi", &arm.digest, "nothing was planned"],
    );
    assert_eq!(
        head(&reg.url, "mirror/app", "amd"),
        Some(amd.digest.clone())
    );
    assert_eq!(head(&reg.url, "mirror/app", &amd.digest), Some(amd.digest));
    assert_eq!(head(&reg.url, "mirror/app", "multi"), Some(idx.digest));
}

#[test]
fn the_guard_skips_a_manifest_an_index_lists_since_the_preview() {
    let reg = Registry::start(Options::default());
    let (idx, amd, _) = platforms();
    let url = reg.url.clone();
    let outcomes = block_on(async move {
        let p = Pusher::new(&url);
        p.image("mirror/app", "amd", &amd).await;
        let b = client(&url);
        let caps = b.info().capabilities;
        let s = prune::survey(&b, "mirror/app", 4).await.unwrap();
        let plan = prune::plan(&s, &["amd".into()], &Protected::default(), caps);
        assert_eq!(plan.delete.len(), 1, "{plan:?}");
        // Between the preview and the deletes, someone pushes an index that lists it.
        p.image("mirror/app", "multi", &idx).await;
        prune::execute(&b, &plan, caps, 4, |_, _, _| {}).await
    });
    match &outcomes[..] {
        [Outcome::Skipped { reason, .. }] => has(reason, &["multi (index", "list it"]),
        other => panic!("{other:?}"),
    }
    let (_, amd, _) = platforms();
    assert_eq!(head(&reg.url, "mirror/app", &amd.digest), Some(amd.digest));
}

#[test]
fn deleting_a_platform_of_a_tagged_index_needs_a_confirmation_naming_it() {
    let (reg, _, amd) = multi_and_amd();
    let target = format!("mirror/app@{}", amd.digest);
    let r = regtui(
        &["--registry", &reg.url, "rm", &target, "--dry-run", "--json"],
        &[],
    );
    let v = r.json();
    assert_eq!(v["removed_tags"], json!(["amd"]));
    let names = v["indexes"].as_array().unwrap();
    assert_eq!(names.len(), 1);
    has(names[0].as_str().unwrap(), &["multi (index "]);
    let r = regtui(&["--registry", &reg.url, "rm", &target, "--yes"], &[]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    has(&r.stderr(), &["multi (index", "--break-index"]);
    assert_eq!(
        head(&reg.url, "mirror/app", &amd.digest),
        Some(amd.digest.clone())
    );
    let r = regtui(
        &[
            "--registry",
            &reg.url,
            "rm",
            &target,
            "--yes",
            "--break-index",
        ],
        &[],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(head(&reg.url, "mirror/app", &amd.digest), None);
    assert_eq!(head(&reg.url, "mirror/app", "amd"), None);
}

// ---------- 4. single deletes act on what the user saw ----------

#[test]
fn a_moved_tag_or_a_new_tag_stops_a_checked_delete() {
    let reg = standard(Options::default());
    let url = reg.url.clone();
    let v100 = find("team/app/api", "v1.0.0");
    let v120 = find("team/app/api", "v1.2.0");
    let (old, new) = (v120.digest.clone(), v100.clone());
    let (moved, added) = block_on(async move {
        let b = client(&url);
        let p = Pusher::new(&url);
        // `latest` was v1.2.0 when the user chose it; someone moves it to v1.0.0.
        p.manifest("team/app/api", "latest", &new.media_type, &new.manifest)
            .await;
        let moved = ops::untag_checked(&b, "team/app/api", "latest", &old).await;
        // The user confirmed deleting v1.1.0's manifest with its one tag; a second tag lands.
        let v110 = find("team/app/api", "v1.1.0");
        p.manifest("team/app/api", "hotfix", &v110.media_type, &v110.manifest)
            .await;
        let confirmed = ops::Confirmed {
            tags: vec!["v1.1.0".into()],
            ..Default::default()
        };
        let added =
            ops::delete_manifest_checked(&b, "team/app/api", &v110.digest, &confirmed, 4).await;
        (moved, added)
    });
    let e = moved.unwrap_err();
    assert!(matches!(e, Error::Moved { .. }), "{e:?}");
    has(
        &e.to_string(),
        &["latest now points at", "nothing deleted", "reload"],
    );
    let e = added.unwrap_err();
    assert!(matches!(e, Error::NewTags { .. }), "{e:?}");
    has(&e.to_string(), &["hotfix", "confirm again"]);
    assert_eq!(head(&reg.url, "team/app/api", "latest"), Some(v100.digest));
    assert!(head(&reg.url, "team/app/api", "v1.1.0").is_some());
    assert!(head(&reg.url, "team/app/api", "hotfix").is_some());
}

// ---------- 5. deletes are verified ----------

#[test]
fn deletes_are_verified_sent_once_and_never_redirected() {
    let reg = standard(Options::default());
    let deletes = Arc::new(AtomicUsize::new(0));
    let mode = Arc::new(Mutex::new("lie"));
    let elsewhere = serve(|_| Response::empty(202));
    let (d2, m2, away) = (deletes.clone(), mode.clone(), elsewhere.url.clone());
    let reg_port = reg.port;
    let px = proxy(reg.port, move |req| {
        if req.method != "DELETE" {
            return None;
        }
        d2.fetch_add(1, Ordering::SeqCst);
        Some(match *m2.lock().unwrap() {
            // Accepts and does nothing.
            "lie" => Response::empty(202),
            // The answer is lost, and nothing happened.
            "lost" => Response::empty(DROP),
            // Sent on, but the answer is lost.
            "lost-after" => {
                forward(req, reg_port);
                Response::empty(DROP)
            }
            _ => Response::empty(307).with("Location", &format!("{away}{}", req.target)),
        })
    });
    let solo = format!("solo@{}", find("solo", "only").digest);
    let run = |m: &'static str, target: &str| {
        *mode.lock().unwrap() = m;
        deletes.store(0, Ordering::SeqCst);
        let r = regtui(&["--registry", &px.url, "rm", target, "--yes"], &[]);
        assert_eq!(
            deletes.load(Ordering::SeqCst),
            1,
            "{m}: one DELETE, never retried"
        );
        r
    };
    let r = run("lie", &solo);
    assert_ne!(r.code(), 0);
    has(
        &r.stderr(),
        &["accepted the delete but solo@", "still present"],
    );
    let r = run("lost", &solo);
    assert_ne!(r.code(), 0);
    has(&r.stderr(), &["outcome unknown", "still present now"]);
    assert!(!r.stderr().contains("failed"), "{}", r.stderr());
    let web = format!("team/app/web@{}", find("team/app/web", "2024.01").digest);
    let r = run("redirect", &web);
    assert_ne!(r.code(), 0);
    has(&r.stderr(), &["redirected", "never", "nothing was done"]);
    assert!(elsewhere.seen().is_empty(), "{:?}", elsewhere.seen());
    assert_eq!(reg.tags("team/app/web"), ["2024.01", "2024.06"]);
    assert_eq!(reg.tags("solo"), ["only"]);
    // The answer is lost but the check finds it gone: done.
    let r = run("lost-after", &solo);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(head(&reg.url, "solo", "only"), None);
}

// ---------- 6. placeholder windows are reported ----------

#[test]
fn a_failed_placeholder_delete_says_where_the_tag_points_and_how_to_finish() {
    let reg = standard(Options::default());
    let mode = Arc::new(Mutex::new("fail-delete"));
    let m2 = mode.clone();
    let reg_port = reg.port;
    let px = proxy(reg.port, move |req| {
        let m = *m2.lock().unwrap();
        let placeholder_delete =
            req.method == "DELETE" && req.path().contains("/manifests/sha256:");
        let tag_put = req.method == "PUT" && req.path().contains("/manifests/");
        match m {
            "fail-delete" if placeholder_delete => Some(Response::json(
                500,
                &json!({"errors": [{"code": "UNKNOWN", "message": "storage hiccup"}]}),
            )),
            "lost-put" if tag_put => {
                forward(req, reg_port);
                Some(Response::empty(DROP))
            }
            _ => None,
        }
    });
    let pxhost = px.url.trim_start_matches("http://").to_string();
    let orig = find("team/app/api", "latest").digest;
    let r = regtui(
        &["--registry", &px.url, "rm", "team/app/api:latest", "--yes"],
        &[],
    );
    assert_ne!(r.code(), 0);
    let err = r.stderr();
    let now = head(&reg.url, "team/app/api", "latest").expect("tag still there");
    assert_ne!(now, orig, "the tag points at the placeholder");
    has(
        &err,
        &[
            "stopped half-way",
            &format!("latest now points at the placeholder {now}"),
            &format!("to finish: regtui rm {pxhost}/team/app/api@{now} --yes"),
            &format!("to undo: crane tag {pxhost}/team/app/api@{orig} latest"),
        ],
    );
    // The placeholder's PUT went through but its answer was lost.
    *mode.lock().unwrap() = "lost-put";
    let r = regtui(
        &["--registry", &px.url, "rm", "team/app/web:2024.01", "--yes"],
        &[],
    );
    assert_ne!(r.code(), 0);
    let now = head(&reg.url, "team/app/web", "2024.01").expect("tag still there");
    has(
        &r.stderr(),
        &[
            &format!("2024.01 now points at the placeholder {now}"),
            "to finish",
        ],
    );
}

// ---------- 7. summaries count what was deleted ----------

#[test]
fn a_cleanup_summary_counts_the_bytes_of_what_was_deleted() {
    let reg = Registry::start(Options::default());
    let base = Blob::new(OCI_LAYER, noise("trust-base", 5000));
    let img = |seed: &'static str, created: &'static str, size: usize| {
        let own = Blob::new(OCI_LAYER, noise(seed, size));
        let i = image(&ImageSpec {
            seed,
            created,
            ..Default::default()
        });
        with_layers(i, &[base.clone(), own])
    };
    let t1 = img("trust-t1", "2024-01-01T00:00:00Z", 3000);
    let t2 = img("trust-t2", "2024-02-01T00:00:00Z", 4000);
    let t3 = img("trust-t3", "2024-03-01T00:00:00Z", 2000);
    let url = reg.url.clone();
    let (a, b, c) = (t1.clone(), t2.clone(), t3.clone());
    block_on(async move {
        let p = Pusher::new(&url);
        p.image("clean/bytes", "t1", &a).await;
        p.image("clean/bytes", "t2", &b).await;
        p.image("clean/bytes", "t3", &c).await;
    });
    // t1's delete fails; t2's goes through.
    let t1_digest = t1.digest.clone();
    let px = proxy(reg.port, move |req| {
        (req.method == "DELETE" && req.path().ends_with(&t1_digest)).then(|| {
            Response::json(
                500,
                &json!({"errors": [{"code": "UNKNOWN", "message": "no"}]}),
            )
        })
    });
    let r = regtui(
        &[
            "--registry",
            &px.url,
            "prune",
            "clean/bytes",
            "--keep",
            "1",
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code(), 1, "one item failed: {}", r.stderr());
    let v: Value = serde_json::from_slice(&r.out.stdout).unwrap();
    let own = |i: &Image| (i.manifest.len() as u64) + i.blobs[0].size + i.blobs[2].size;
    assert_eq!(v[0]["bytes_freed"], own(&t1) + own(&t2), "the preview");
    assert_eq!(v[0]["bytes_deleted"], own(&t2), "what was really deleted");
    assert_eq!(head(&reg.url, "clean/bytes", "t1"), Some(t1.digest));
    assert_eq!(head(&reg.url, "clean/bytes", "t2"), None);
}

// ---------- 8. credentials stay with the registry's origin ----------

#[test]
fn a_host_the_registry_redirects_to_never_gets_the_credentials() {
    let reg = standard(Options {
        auth: Auth::Htpasswd,
        ..Default::default()
    });
    let seen_auth: Arc<Mutex<Vec<String>>> = Default::default();
    let cdn_url: Arc<Mutex<String>> = Default::default();
    let (sa, cu) = (seen_auth.clone(), cdn_url.clone());
    let cdn = serve(move |req| {
        if let Some(a) = req.header("authorization") {
            sa.lock().unwrap().push(format!("{} {}", req.target, a));
        }
        let realm = format!("{}/token", cu.lock().unwrap());
        if req.path() == "/token" {
            return Response::json(200, &json!({"token": "stolen"}));
        }
        Response::empty(401).with(
            "WWW-Authenticate",
            &format!("Bearer realm=\"{realm}\",service=\"cdn\""),
        )
    });
    *cdn_url.lock().unwrap() = cdn.url.clone();
    let to = cdn.url.clone();
    let px = proxy(reg.port, move |req| {
        (req.method == "GET" && req.path().contains("/blobs/"))
            .then(|| Response::empty(307).with("Location", &format!("{to}{}", req.target)))
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[profiles.test]\nregistry = \"{}\"\nusername = \"{USER}\"\npassword_env = \"REGTUI_TEST_PASSWORD\"\n",
            px.url
        ),
    );
    let r = regtui(
        &["-c", &cfg, "-p", "test", "inspect", "team/app/api:v1.0.0"],
        &[("REGTUI_TEST_PASSWORD", PASSWORD)],
    );
    assert_ne!(r.code(), 0, "{}", r.stdout());
    has(&r.stderr(), &["answered 401", "sends credentials only to"]);
    assert!(
        seen_auth.lock().unwrap().is_empty(),
        "{:?}",
        seen_auth.lock().unwrap()
    );
    assert!(
        !cdn.seen().iter().any(|s| s.contains("/token")),
        "{:?}",
        cdn.seen()
    );
    assert!(
        cdn.seen().iter().any(|s| s.contains("/blobs/")),
        "redirect followed for the read"
    );
}

#[test]
fn an_https_registry_never_sends_credentials_to_a_plain_http_realm() {
    let reg = Registry::start(Options {
        auth: Auth::Token,
        tls: true,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &reg.profile_toml(""));
    let r = regtui(
        &["-c", &cfg, "repos"],
        &[("REGTUI_TEST_PASSWORD", PASSWORD)],
    );
    assert_ne!(r.code(), 0, "{}", r.stdout());
    has(
        &r.stderr(),
        &["in the clear", "127.0.0.1", "insecure = true"],
    );
    let token = reg.token.as_ref().unwrap();
    assert_eq!(
        token.issued.load(Ordering::SeqCst),
        0,
        "no token was asked for"
    );
    // With insecure = true the user accepts it.
    let cfg = write_config(dir.path(), &reg.profile_toml("insecure = true\n"));
    let r = regtui(
        &["-c", &cfg, "repos"],
        &[("REGTUI_TEST_PASSWORD", PASSWORD)],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
}

// ---------- 10. server numbers cannot panic or wrap ----------

#[test]
fn a_huge_token_lifetime_does_not_crash() {
    let reg = standard(Options {
        auth: Auth::Token,
        ..Default::default()
    });
    reg.token
        .as_ref()
        .unwrap()
        .expires_in
        .store(i64::MAX, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &reg.profile_toml(""));
    let r = regtui(
        &["-c", &cfg, "tags", "team/app/api"],
        &[("REGTUI_TEST_PASSWORD", PASSWORD)],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(r.stdout().lines().count(), 5);
}

#[test]
fn sizes_saturate_instead_of_wrapping() {
    let img = image(&ImageSpec {
        seed: "huge",
        layer_sizes: &[10, 20],
        ..Default::default()
    });
    // Two layers that each claim u64::MAX bytes.
    let mut m: Value = serde_json::from_slice(&img.manifest).unwrap();
    for l in m["layers"].as_array_mut().unwrap() {
        l["size"] = json!(u64::MAX);
    }
    let manifest = serde_json::to_vec(&m).unwrap();
    let img = Image {
        digest: support::oci::sha256(&manifest),
        manifest,
        ..img
    };
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("evil/app");
    support::oci::write_layout(&dir, &[("big", &img)], false);
    let env = [("REGTUI_DEMO_DIR", root.path().to_str().unwrap())];
    let r = regtui(&["--demo", "inspect", "evil/app:big", "--json"], &env);
    assert_eq!(r.json()["size"], json!(u64::MAX));
    let r = regtui(&["--demo", "inspect", "evil/app:big"], &env);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    has(&r.stdout(), &["16 EiB"]);
}

// ---------- 11. listings are bounded ----------

#[test]
fn a_registry_that_never_stops_paging_is_cut_off() {
    let fx = serve(|req| {
        if req.path() == "/v2/" {
            return Response::json(200, &json!({}));
        }
        let page: u64 = req
            .query("last")
            .and_then(|l| l.strip_prefix('p').and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        let tags: Vec<String> = (0..10_000).map(|i| format!("t{page}-{i}")).collect();
        Response::json(200, &json!({"name": "x", "tags": tags})).with(
            "Link",
            &format!("</v2/x/tags/list?n=1000&last=p{}>; rel=\"next\"", page + 1),
        )
    });
    let r = regtui(&["--registry", &fx.url, "tags", "x"], &[]);
    assert_ne!(r.code(), 0);
    has(
        &r.stderr(),
        &["tags list of x", "1000000 entries", "stopped reading"],
    );
    let pages = fx.seen().len();
    assert!((100..=102).contains(&pages), "{pages} pages read");
}

// ---------- found in review ----------

#[test]
fn the_guard_counts_a_planned_tag_that_moved_onto_an_index() {
    let reg = Registry::start(Options::default());
    let (idx, amd, _) = platforms();
    let other = image(&ImageSpec {
        seed: "trust-other",
        created: "2024-01-01T00:00:00Z",
        ..Default::default()
    });
    let url = reg.url.clone();
    let (i2, a2, o2) = (idx.clone(), amd.clone(), other.clone());
    let outcomes = block_on(async move {
        let p = Pusher::new(&url);
        p.image("r/app", "a", &o2).await;
        p.image("r/app", "b", &a2).await;
        let b = client(&url);
        let caps = b.info().capabilities;
        let s = prune::survey(&b, "r/app", 4).await.unwrap();
        let plan = prune::plan(&s, &["a".into(), "b".into()], &Protected::default(), caps);
        assert_eq!(plan.delete.len(), 2);
        // `a` moves onto a new index that lists b's manifest.
        p.image("r/app", "a", &i2).await;
        prune::execute(&b, &plan, caps, 4, |_, _, _| {}).await
    });
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Skipped { .. })),
        "{outcomes:?}"
    );
    assert_eq!(
        head(&reg.url, "r/app", &amd.digest),
        Some(amd.digest.clone())
    );
    assert_eq!(head(&reg.url, "r/app", "a"), Some(idx.digest));
}

#[test]
fn an_index_with_an_odd_content_type_is_still_read() {
    let (reg, _, amd) = multi_and_amd();
    let port = reg.port;
    let px = proxy(port, move |req| {
        (req.method == "HEAD" && req.path().ends_with("/manifests/multi")).then(|| {
            let mut r = forward(req, port);
            for (k, v) in &mut r.headers {
                if k.eq_ignore_ascii_case("content-type") {
                    *v = format!("{v}; charset=utf-8");
                }
            }
            r
        })
    });
    let (pxu, d) = (px.url.clone(), amd.digest.clone());
    let r = block_on(async move {
        let b = client(&pxu);
        let confirmed = ops::Confirmed {
            tags: vec!["amd".into()],
            ..Default::default()
        };
        ops::delete_manifest_checked(&b, "mirror/app", &d, &confirmed, 4).await
    });
    assert!(matches!(r, Err(Error::UsedByIndex { .. })), "{r:?}");
    assert_eq!(head(&reg.url, "mirror/app", &amd.digest), Some(amd.digest));
}

#[test]
fn provider_apis_never_follow_a_redirect_with_secrets_or_deletes() {
    let got: Arc<Mutex<Vec<String>>> = Default::default();
    let g2 = got.clone();
    let evil = serve(move |req| {
        g2.lock().unwrap().push(format!(
            "{} {} {:?} {}",
            req.method,
            req.target,
            req.header("authorization"),
            String::from_utf8_lossy(&req.body)
        ));
        Response::json(200, &json!({"token": "x"}))
    });
    let eu = evil.url.clone();
    let api =
        serve(move |req| Response::empty(307).with("Location", &format!("{eu}{}", req.target)));
    // Docker Hub's login POST (the password in its body).
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[profiles.hub]\nkind = \"dockerhub\"\nnamespace = \"acme\"\nregistry = \"{0}\"\napi_url = \"{0}\"\nusername = \"alice\"\npassword_env = \"HUBPW\"\n",
            api.url
        ),
    );
    let r = regtui(
        &["-c", &cfg, "-p", "hub", "repos"],
        &[("HUBPW", "s3cr3t-hub-pat")],
    );
    assert_ne!(r.code(), 0);
    // A GitHub API DELETE.
    use regtui::registry::auth::Secret;
    use regtui::registry::providers::Rest;
    let rest = Rest {
        http: Rest::client().unwrap(),
        service: "GitHub API",
        base: api.url.clone(),
        token: Some(Secret::new("ghp_secret")),
        token_header: Default::default(),
        headers: vec![],
        auth_hint: "",
    };
    let u = format!("{}/user/packages/container/x/versions/1", api.url);
    let del = block_on(async move {
        rest.send(reqwest::Method::DELETE, &u, "version")
            .await
            .map(|_| ())
    });
    assert!(matches!(del, Err(Error::Redirected { .. })), "{del:?}");
    let got = got.lock().unwrap();
    assert!(got.is_empty(), "the other host got: {got:?}");
}

#[test]
fn a_broken_docker_config_never_quotes_its_credentials() {
    let reg = Registry::start(Options::default());
    let home = tempfile::tempdir().unwrap();
    let docker = home.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    // A string where an object belongs: serde would quote it.
    std::fs::write(
        docker.join("config.json"),
        r#"{"auths":{"reg.example":"dXNlcjpodW50ZXIyLXNlY3JldA=="}}"#,
    )
    .unwrap();
    let r = regtui(
        &["--registry", &reg.url, "repos"],
        &[("DOCKER_CONFIG", docker.to_str().unwrap())],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    has(&r.stderr(), &["not valid docker config JSON (line 1"]);
    assert!(
        !r.stderr().contains("dXNlcjpodW50ZXIyLXNlY3JldA"),
        "{}",
        r.stderr()
    );
}

#[test]
fn a_platform_of_a_nested_index_is_still_found() {
    let (reg, idx, amd) = multi_and_amd();
    // An index whose only entry is the index `multi`.
    let outer = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": idx.digest, "size": idx.manifest.len(),
        }],
    }))
    .unwrap();
    let url = reg.url.clone();
    let d = amd.digest.clone();
    let users = block_on(async move {
        Pusher::new(&url)
            .manifest(
                "mirror/app",
                "nested",
                "application/vnd.oci.image.index.v1+json",
                &outer,
            )
            .await;
        ops::users_of_one(&client(&url), "mirror/app", &d, 4)
            .await
            .unwrap()
    });
    let names: Vec<&str> = users.indexes.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(names, ["multi", "nested"], "{users:?}");
}
