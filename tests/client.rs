//! Client tests against the real distribution registry: listing, media types, sizes, deletes, auth, TLS, errors.

mod support;

use std::time::Duration;

use regtui::registry::auth::{Credential, Secret};
use regtui::registry::distribution::{Distribution, DistributionOptions};
use regtui::registry::layout::Layout;
use regtui::registry::model::*;
use regtui::registry::reference::RegistryAddr;
use regtui::registry::{Backend, Error, ops};
use support::registry::{PASSWORD, USER};
use support::{Auth, Options, Registry, find, oci, standard};

fn client_with(
    reg: &Registry,
    cred: Credential,
    f: impl FnOnce(&mut DistributionOptions),
) -> Distribution {
    let mut o = DistributionOptions::new(RegistryAddr::parse(&reg.url).unwrap(), cred);
    o.ca_pem = reg.ca_path.as_ref().map(|p| std::fs::read(p).unwrap());
    f(&mut o);
    Distribution::new(o).unwrap()
}

fn client(reg: &Registry) -> Distribution {
    client_with(reg, Credential::Anonymous, |_| {})
}

fn user(pass: &str) -> Credential {
    Credential::Basic {
        username: USER.into(),
        password: Secret::new(pass),
    }
}

const REPOS: [&str; 4] = ["solo", "team/app/api", "team/app/web", "tools/multi"];

#[tokio::test]
async fn catalog_follows_link_pages_and_streams_them() {
    let reg = standard(Options::default());
    let c = client_with(&reg, Credential::Anonymous, |o| o.page_size = 2);
    let mut pages = Vec::new();
    c.list_repos(&mut |p| pages.push(p)).await.unwrap();
    assert!(pages.len() >= 2, "expected several pages, got {pages:?}");
    assert!(pages.iter().all(|p| p.len() <= 2));
    let mut all: Vec<String> = pages.concat();
    all.sort();
    assert_eq!(all, REPOS);
    // The default page size (1000) gets everything at once.
    assert_eq!(ops::all_repos(&client(&reg)).await.unwrap(), REPOS);
}

#[tokio::test]
async fn tags_are_sorted_on_our_side() {
    let reg = standard(Options::default());
    let tags = ops::all_tags(&client(&reg), "team/app/api").await.unwrap();
    assert_eq!(tags, ["latest", "stable", "v1.0.0", "v1.1.0", "v1.2.0"]);
}

#[tokio::test]
async fn manifests_of_every_media_type_are_fetched_and_verified() {
    let reg = standard(Options::default());
    let c = client(&reg);
    for t in support::standard_images() {
        let m = c.get_manifest(t.repo, t.tag).await.unwrap();
        assert_eq!(m.digest, t.image.digest, "{}:{}", t.repo, t.tag);
        assert_eq!(m.media_type, t.image.media_type, "{}:{}", t.repo, t.tag);
        assert_eq!(m.raw, t.image.manifest);
        let by_digest = c.get_manifest(t.repo, &t.image.digest).await.unwrap();
        assert_eq!(by_digest.raw, t.image.manifest);
        let head = c.head_manifest(t.repo, t.tag).await.unwrap();
        assert_eq!(head.digest, t.image.digest);
        assert_eq!(head.media_type, t.image.media_type);
        assert_eq!(
            head.size,
            t.image.manifest.len() as u64,
            "HEAD reads Content-Length"
        );
    }
    let kinds: Vec<String> = support::standard_images()
        .iter()
        .map(|t| t.image.media_type.clone())
        .collect();
    for mt in [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST] {
        assert!(kinds.iter().any(|k| k == mt), "fixture lacks {mt}");
    }
}

#[tokio::test]
async fn tag_rows_report_sizes_dates_and_platforms() {
    let reg = standard(Options::default());
    let c = client(&reg);
    let v100 = find("team/app/api", "v1.0.0");
    let row = ops::tag_row(&c, "team/app/api", "v1.0.0").await.unwrap();
    assert_eq!(row.size, v100.size());
    assert_eq!(row.digest, v100.digest);
    assert_eq!(row.created.as_deref(), Some("2024-01-10T08:00:00Z"));
    assert_eq!(row.platforms.len(), 1);
    assert_eq!(row.platforms[0].platform, "linux/amd64");

    let idx = find("tools/multi", "1.0");
    let row = ops::tag_row(&c, "tools/multi", "1.0").await.unwrap();
    assert_eq!(row.size, oci::index_size(&idx));
    let plats: Vec<&str> = row.platforms.iter().map(|p| p.platform.as_str()).collect();
    assert_eq!(plats, ["linux/amd64", "linux/arm64/v8"]);
    assert_eq!(row.platforms[1].digest, idx.children[1].digest);
    assert_eq!(row.platforms[1].size, idx.children[1].size());
    assert_eq!(row.created.as_deref(), Some("2024-05-20T10:00:00Z"));

    let list = find("tools/multi", "2.0");
    let row = ops::tag_row(&c, "tools/multi", "2.0").await.unwrap();
    assert_eq!(row.media_type, DOCKER_LIST);
    assert_eq!(row.size, oci::index_size(&list));
    let plats: Vec<&str> = row.platforms.iter().map(|p| p.platform.as_str()).collect();
    assert_eq!(plats, ["linux/amd64", "linux/arm/v7"]);

    // Many tags at once, bounded concurrency, every row reported.
    let tags = ops::all_tags(&c, "team/app/api").await.unwrap();
    let mut got = Vec::new();
    ops::tag_rows(&c, "team/app/api", &tags, 3, |t, r| {
        got.push((t.to_string(), r.unwrap()))
    })
    .await;
    assert_eq!(got.len(), 5);
    let latest = got.iter().find(|(t, _)| t == "latest").unwrap();
    assert_eq!(latest.1.digest, find("team/app/api", "v1.2.0").digest);
}

#[tokio::test]
async fn inspect_gives_config_and_layer_history() {
    let reg = standard(Options::default());
    let c = client(&reg);
    let i = ops::inspect(&c, "team/app/api", "v1.2.0", "team/app/api:v1.2.0")
        .await
        .unwrap();
    let cfg = i.config.expect("config");
    assert!(cfg.env.contains(&"SEED=api-1.2.0".to_string()));
    assert_eq!(cfg.cmd, ["/bin/app", "--serve"]);
    assert_eq!(cfg.entrypoint, ["/entry.sh"]);
    assert_eq!(cfg.exposed_ports, ["8080/tcp"]);
    assert_eq!(
        cfg.labels["org.opencontainers.image.source"],
        "https://example.invalid/api"
    );
    assert_eq!(cfg.created.as_deref(), Some("2024-06-01T12:00:00Z"));
    let by: Vec<&str> = i
        .layers
        .iter()
        .map(|l| l.created_by.as_deref().unwrap())
        .collect();
    assert_eq!(
        by,
        [
            "RUN step-0 # api-1.2.0",
            "RUN step-1 # api-1.2.0",
            "RUN step-2 # api-1.2.0"
        ]
    );
    let sizes: Vec<u64> = i.layers.iter().map(|l| l.size).collect();
    assert_eq!(sizes, [3100, 1800, 700]);
    assert_eq!(i.manifest["schemaVersion"], 2);
}

#[tokio::test]
async fn missing_things_carry_the_registry_codes() {
    let reg = standard(Options::default());
    let c = client(&reg);
    let e = c.get_manifest("team/app/api", "nope").await.unwrap_err();
    assert_eq!(e.code(), Some("MANIFEST_UNKNOWN"), "{e:?}");
    assert!(e.to_string().starts_with("manifest not found"), "{e}");
    let e = ops::all_tags(&c, "no/such/repo").await.unwrap_err();
    assert_eq!(e.code(), Some("NAME_UNKNOWN"), "{e:?}");
    assert!(e.to_string().contains("repository not found"), "{e}");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let reg = Registry::start(Options::default());
    let p = oci::Pusher::new(&reg.url);
    // A config blob above the 16 MiB bound, honestly described.
    let big = oci::Blob::new(oci::OCI_CONFIG, vec![b' '; (CONFIG_LIMIT + 1) as usize]);
    p.blob("big/config", &big).await;
    let m = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": oci::OCI_MANIFEST,
        "config": big.descriptor(), "layers": [],
    }))
    .unwrap();
    p.manifest("big/config", "v1", oci::OCI_MANIFEST, &m).await;
    let c = client(&reg);
    let e = ops::tag_row(&c, "big/config", "v1").await.unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");

    // A descriptor that understates the blob: the streamed read stops at the bound anyway.
    let mut lying = big.descriptor();
    lying["size"] = serde_json::json!(100);
    let m = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": oci::OCI_MANIFEST, "config": lying, "layers": [],
    }))
    .unwrap();
    p.manifest("big/config", "lying", oci::OCI_MANIFEST, &m)
        .await;
    let e = ops::tag_row(&c, "big/config", "lying").await.unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("16777216 byte limit"), "{e}");
}

#[tokio::test]
async fn oversized_manifest_in_a_layout_is_refused() {
    // distribution itself refuses manifests over 4 MiB on push, so the bound is shown on a layout.
    let dir = tempfile::tempdir().unwrap();
    let img = oci::image(&oci::ImageSpec {
        seed: "small",
        ..Default::default()
    });
    let mut v: serde_json::Value = serde_json::from_slice(&img.manifest).unwrap();
    v["annotations"] = serde_json::json!({"pad": "x".repeat((MANIFEST_LIMIT + 10) as usize)});
    let mut big = img.clone();
    big.manifest = serde_json::to_vec(&v).unwrap();
    big.digest = oci::sha256(&big.manifest);
    oci::write_layout(&dir.path().join("big"), &[("v1", &big)], false);
    let l = Layout::open(dir.path()).unwrap();
    let e = l.get_manifest("big", "v1").await.unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("4194304 byte limit"), "{e}");
}

#[tokio::test]
async fn delete_by_digest_removes_every_tag_on_it() {
    let reg = standard(Options::default());
    let c = client(&reg);
    let d = find("team/app/api", "v1.2.0").digest;
    let tags = ops::tags_on_digest(&c, "team/app/api", &d, 4)
        .await
        .unwrap();
    assert_eq!(tags, ["latest", "stable", "v1.2.0"]);
    c.delete_manifest("team/app/api", &d).await.unwrap();
    assert_eq!(
        ops::all_tags(&c, "team/app/api").await.unwrap(),
        ["v1.0.0", "v1.1.0"]
    );
    let e = c.head_manifest("team/app/api", "latest").await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let e = c.get_manifest("team/app/api", &d).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn tag_only_delete_keeps_the_siblings() {
    let reg = standard(Options::default());
    let c = client(&reg);
    let d = find("team/app/api", "v1.2.0").digest;
    let method = c.delete_tag("team/app/api", "latest").await.unwrap();
    // distribution 2.8 refuses DELETE by tag, so the regctl-style placeholder path ran.
    assert_eq!(method, TagDeleteMethod::DummyManifest);
    assert_eq!(
        ops::all_tags(&c, "team/app/api").await.unwrap(),
        ["stable", "v1.0.0", "v1.1.0", "v1.2.0"]
    );
    assert_eq!(
        c.head_manifest("team/app/api", "stable")
            .await
            .unwrap()
            .digest,
        d
    );
    assert_eq!(
        c.head_manifest("team/app/api", "v1.2.0")
            .await
            .unwrap()
            .digest,
        d
    );
    // skopeo sees the same.
    if let Some(out) = skopeo(&[
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{}/team/app/api", reg.host),
    ]) {
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let mut tags: Vec<String> = serde_json::from_value(v["Tags"].clone()).unwrap();
        tags.sort();
        assert_eq!(tags, ["stable", "v1.0.0", "v1.1.0", "v1.2.0"]);
    }
    // The only tag of an image: the image stays, untagged.
    c.delete_tag("solo", "only").await.unwrap();
    assert!(ops::all_tags(&c, "solo").await.unwrap().is_empty());
    let solo = find("solo", "only");
    assert_eq!(
        c.get_manifest("solo", &solo.digest).await.unwrap().digest,
        solo.digest
    );
}

#[tokio::test]
async fn deletion_disabled_is_explained_and_changes_nothing() {
    let reg = standard(Options {
        delete: false,
        ..Default::default()
    });
    let c = client(&reg);
    let d = find("team/app/api", "v1.2.0").digest;
    let e = c.delete_manifest("team/app/api", &d).await.unwrap_err();
    assert!(matches!(e, Error::DeleteDisabled { .. }), "{e:?}");
    assert!(e.to_string().contains(
        "this registry has deletion disabled (set storage.delete.enabled: true in its config"
    ));
    let e = c.delete_tag("team/app/api", "latest").await.unwrap_err();
    assert!(matches!(e, Error::DeleteDisabled { .. }), "{e:?}");
    assert_eq!(
        c.head_manifest("team/app/api", "latest")
            .await
            .unwrap()
            .digest,
        d
    );
}

#[tokio::test]
async fn htpasswd_basic_auth() {
    let reg = standard(Options {
        auth: Auth::Htpasswd,
        ..Default::default()
    });
    let good = client_with(&reg, user(PASSWORD), |_| {});
    assert_eq!(ops::all_repos(&good).await.unwrap(), REPOS);
    assert_eq!(good.info().auth, "user tester");
    let row = ops::tag_row(&good, "team/app/web", "2024.06")
        .await
        .unwrap();
    assert_eq!(row.media_type, DOCKER_MANIFEST);

    let bad = client_with(&reg, user("wrong password"), |_| {});
    let e = ops::all_repos(&bad).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unauthorized {
                had_credentials: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("refused the credentials"), "{e}");
    assert!(!format!("{e} {e:?}").contains("wrong password"));

    let anon = client(&reg);
    let e = anon.ping().await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unauthorized {
                had_credentials: false,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("needs credentials"), "{e}");
}

#[tokio::test]
async fn tls_with_the_ca_without_it_and_insecure() {
    let reg = standard(Options {
        tls: true,
        ..Default::default()
    });
    assert!(reg.url.starts_with("https://localhost:"));
    let with_ca = client(&reg);
    assert_eq!(ops::all_repos(&with_ca).await.unwrap(), REPOS);

    let without = client_with(&reg, Credential::Anonymous, |o| o.ca_pem = None);
    let e = without.ping().await.unwrap_err();
    assert!(matches!(e, Error::TlsAdvice { .. }), "{e:?}");
    assert!(
        e.to_string().contains("not among the system's trusted CAs"),
        "{e}"
    );
    assert!(e.to_string().contains("ca_cert ="), "{e}");

    let insecure = client_with(&reg, Credential::Anonymous, |o| {
        o.ca_pem = None;
        o.insecure = true;
    });
    insecure.ping().await.unwrap();
    assert!(
        insecure
            .info()
            .warning
            .unwrap()
            .contains("TLS verification is off")
    );

    // Plain HTTP client against the TLS port fails clearly too.
    let mut o = DistributionOptions::new(
        RegistryAddr::parse(&format!("http://{}", reg.host)).unwrap(),
        Credential::Anonymous,
    );
    o.timeout = Duration::from_secs(5);
    let e = Distribution::new(o).unwrap().ping().await.unwrap_err();
    assert!(matches!(e, Error::TlsAdvice { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains(&format!("write https://{} in `registry`", reg.host)),
        "{e}"
    );
}

#[tokio::test]
async fn token_auth_catalog_pull_delete_and_cache() {
    let reg = standard(Options {
        auth: Auth::Token,
        ..Default::default()
    });
    let ts = reg.token.clone().unwrap();
    let c = client_with(&reg, user(PASSWORD), |_| {});
    assert_eq!(ops::all_repos(&c).await.unwrap(), REPOS);
    let scopes: Vec<Vec<String>> = ts
        .state
        .lock()
        .unwrap()
        .log
        .iter()
        .map(|l| l.1.clone())
        .collect();
    assert!(
        scopes
            .iter()
            .any(|s| s.contains(&"registry:catalog:*".to_string())),
        "{scopes:?}"
    );

    let before = c.auth().token_requests();
    let tags = ops::all_tags(&c, "team/app/api").await.unwrap();
    let mut n = 0;
    ops::tag_rows(&c, "team/app/api", &tags, 8, |_, r| {
        r.unwrap();
        n += 1;
    })
    .await;
    assert_eq!(n, 5);
    // One token for repository:team/app/api:pull serves the list and all 5 tags' manifests and configs.
    assert_eq!(c.auth().token_requests() - before, 1);
    assert!(c.info().auth.starts_with("token"));

    // Deletes ask for the delete scope (and push for the placeholder).
    c.delete_tag("team/app/api", "latest").await.unwrap();
    assert_eq!(
        ops::all_tags(&c, "team/app/api").await.unwrap(),
        ["stable", "v1.0.0", "v1.1.0", "v1.2.0"]
    );

    let bad = client_with(&reg, user("nope"), |_| {});
    let e = ops::all_repos(&bad).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unauthorized {
                had_credentials: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("invalid username or password"),
        "{e}"
    );

    let anon = client(&reg);
    let e = ops::all_repos(&anon).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unauthorized {
                had_credentials: false,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn token_renewal_after_expiry_and_after_a_401() {
    let reg = standard(Options {
        auth: Auth::Token,
        ..Default::default()
    });
    let ts = reg.token.clone().unwrap();

    // expires_in = 1 s: the cached token is renewed once it lapses.
    ts.expires_in.store(1, std::sync::atomic::Ordering::SeqCst);
    let c = client_with(&reg, user(PASSWORD), |_| {});
    ops::all_tags(&c, "team/app/web").await.unwrap();
    ops::all_tags(&c, "team/app/web").await.unwrap();
    let first = c.auth().token_requests();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    ops::all_tags(&c, "team/app/web").await.unwrap();
    assert_eq!(c.auth().token_requests(), first + 1);

    // A token the registry rejects (expired beyond its leeway) is replaced after the 401.
    ts.expires_in
        .store(300, std::sync::atomic::Ordering::SeqCst);
    ts.expired_next
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let c = client_with(&reg, user(PASSWORD), |_| {});
    ops::all_tags(&c, "team/app/web").await.unwrap();
    assert_eq!(
        c.auth().token_requests(),
        2,
        "expired token then a fresh one"
    );
}

#[tokio::test]
async fn identity_token_uses_the_refresh_token_grant() {
    let reg = standard(Options {
        auth: Auth::Token,
        ..Default::default()
    });
    let ts = reg.token.clone().unwrap();
    ts.state
        .lock()
        .unwrap()
        .refresh_tokens
        .insert("refresh-abc".into(), USER.into());
    let c = client_with(
        &reg,
        Credential::IdentityToken {
            username: USER.into(),
            token: Secret::new("refresh-abc"),
        },
        |_| {},
    );
    assert_eq!(ops::all_tags(&c, "solo").await.unwrap(), ["only"]);
    assert!(
        ts.state
            .lock()
            .unwrap()
            .log
            .iter()
            .any(|l| l.0 == "POST" && l.2 == USER)
    );
    let bad = client_with(
        &reg,
        Credential::IdentityToken {
            username: USER.into(),
            token: Secret::new("revoked"),
        },
        |_| {},
    );
    assert!(matches!(
        ops::all_tags(&bad, "solo").await.unwrap_err(),
        Error::Unauthorized { .. }
    ));
}

#[tokio::test]
async fn connection_refused_and_timeout() {
    let port = support::registry::free_port();
    let addr = RegistryAddr::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let c = Distribution::new(DistributionOptions::new(addr, Credential::Anonymous)).unwrap();
    let e = c.ping().await.unwrap_err();
    assert!(matches!(e, Error::ConnectionRefused { .. }), "{e:?}");
    assert!(e.to_string().contains("is the registry running"), "{e}");

    // A server that accepts and never answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = RegistryAddr::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
    let mut o = DistributionOptions::new(addr, Credential::Anonymous);
    o.timeout = Duration::from_millis(300);
    let e = Distribution::new(o).unwrap().ping().await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    drop(l);
}

fn skopeo(args: &[&str]) -> Option<Vec<u8>> {
    support::registry::require("/usr/bin/skopeo", "skopeo");
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    let out = std::process::Command::new("/usr/bin/skopeo")
        .arg("--policy")
        .arg(&policy)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

#[tokio::test]
async fn skopeo_pushed_images_read_back_identically() {
    let reg = Registry::start(Options::default());
    let dir = tempfile::tempdir().unwrap();
    let single = oci::image(&oci::ImageSpec {
        seed: "skopeo-single",
        layer_sizes: &[5000, 300],
        ..Default::default()
    });
    let multi = oci::index(
        vec![
            oci::image(&oci::ImageSpec {
                seed: "sk-amd64",
                arch: "amd64",
                ..Default::default()
            }),
            oci::image(&oci::ImageSpec {
                seed: "sk-arm64",
                arch: "arm64",
                variant: Some("v8"),
                ..Default::default()
            }),
        ],
        false,
    );
    oci::write_layout(dir.path(), &[("single", &single), ("multi", &multi)], true);
    for tag in ["single", "multi"] {
        skopeo(&[
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &format!("oci:{}:{tag}", dir.path().display()),
            &format!("docker://{}/interop/app:{tag}", reg.host),
        ]);
    }
    let c = client(&reg);
    assert_eq!(
        ops::all_tags(&c, "interop/app").await.unwrap(),
        ["multi", "single"]
    );
    let row = ops::tag_row(&c, "interop/app", "single").await.unwrap();
    assert_eq!(row.digest, single.digest);
    assert_eq!(row.size, single.size());
    let row = ops::tag_row(&c, "interop/app", "multi").await.unwrap();
    assert_eq!(row.digest, multi.digest);
    assert_eq!(row.platforms.len(), 2);
    // And skopeo reads what regtui's tag delete left behind.
    c.delete_tag("interop/app", "single").await.unwrap();
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}/interop/app:multi", reg.host),
    ])
    .unwrap();
    assert_eq!(oci::sha256(&raw), multi.digest);
}

#[tokio::test]
async fn layout_backend_reads_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let img = find("team/app/api", "v1.1.0");
    let idx = find("tools/multi", "1.0");
    let repo_dir = dir.path().join("team/app");
    oci::write_layout(&repo_dir, &[("v1.1.0", &img), ("multi", &idx)], false);
    let l = Layout::open(dir.path()).unwrap();
    assert_eq!(ops::all_repos(&l).await.unwrap(), ["team/app"]);
    assert_eq!(
        ops::all_tags(&l, "team/app").await.unwrap(),
        ["multi", "v1.1.0"]
    );
    let row = ops::tag_row(&l, "team/app", "v1.1.0").await.unwrap();
    assert_eq!(
        (row.digest.as_str(), row.size),
        (img.digest.as_str(), img.size())
    );
    let row = ops::tag_row(&l, "team/app", "multi").await.unwrap();
    assert_eq!(row.size, oci::index_size(&idx));
    assert!(!l.info().capabilities.delete_tag);
    assert!(matches!(
        l.delete_tag("team/app", "multi").await.unwrap_err(),
        Error::Unsupported(_)
    ));
    // Tampered content is caught.
    let cfg = repo_dir
        .join("blobs/sha256")
        .join(img.config().digest.trim_start_matches("sha256:"));
    std::fs::write(&cfg, b"{\"tampered\":true}").unwrap();
    let e = ops::tag_row(&l, "team/app", "v1.1.0").await.unwrap_err();
    assert!(matches!(e, Error::DigestMismatch { .. }), "{e:?}");
}

#[tokio::test]
async fn bundled_demo_is_browsable() {
    let l = regtui::session::demo().unwrap();
    let repos = ops::all_repos(&l).await.unwrap();
    assert!(repos.len() >= 3, "{repos:?}");
    let mut multi = 0;
    let mut shared = 0;
    for r in &repos {
        let tags = ops::all_tags(&l, r).await.unwrap();
        let mut digests = std::collections::HashMap::new();
        for t in &tags {
            let row = ops::tag_row(&l, r, t).await.unwrap();
            assert!(row.size > 0 && row.created.is_some(), "{r}:{t}");
            if row.platforms.len() > 1 {
                multi += 1;
            }
            *digests.entry(row.digest).or_insert(0) += 1;
        }
        shared += digests.values().filter(|n| **n > 1).count();
    }
    assert!(
        multi > 0 && shared > 0,
        "demo should have multi-arch and shared-digest tags"
    );
}

/// Writes the bundled demo: several repositories, multi-arch images, shared digests, varied sizes and dates.
fn demo_layouts(root: &std::path::Path) {
    const MB: usize = 1_000_000;
    let img = |seed: &'static str,
               created: &'static str,
               arch: &'static str,
               variant: Option<&'static str>,
               sizes: &'static [usize],
               docker: bool| {
        oci::image(&oci::ImageSpec {
            seed,
            created,
            arch,
            variant,
            layer_sizes: sizes,
            docker,
            virtual_layers: true,
            labels: &[
                ("org.opencontainers.image.title", seed),
                ("org.opencontainers.image.vendor", "regtui demo"),
            ],
            ..Default::default()
        })
    };
    // library/hello: small single-arch OCI images.
    let h10 = img(
        "hello-1.0",
        "2023-03-14T09:00:00Z",
        "amd64",
        None,
        &[3_400, 1_200],
        false,
    );
    let h11 = img(
        "hello-1.1",
        "2023-09-02T16:30:00Z",
        "amd64",
        None,
        &[3_400, 1_900],
        false,
    );
    oci::write_layout(
        &root.join("library/hello"),
        &[("1.0", &h10), ("1.1", &h11), ("latest", &h11)],
        false,
    );

    // team/app/api: releases, the newest multi-arch, latest and stable sharing digests.
    let a1 = img(
        "api-1.0.0",
        "2024-01-10T08:00:00Z",
        "amd64",
        None,
        &[28 * MB, 9 * MB, 410_000],
        false,
    );
    let a2 = img(
        "api-1.1.0",
        "2024-03-05T09:30:00Z",
        "amd64",
        None,
        &[28 * MB, 9 * MB, 530_000],
        false,
    );
    let a3 = img(
        "api-1.2.0",
        "2024-06-01T12:00:00Z",
        "amd64",
        None,
        &[29 * MB, 11 * MB, 620_000],
        false,
    );
    let a4 = oci::index(
        vec![
            img(
                "api-1.3.0-amd64",
                "2024-09-18T14:45:00Z",
                "amd64",
                None,
                &[29 * MB, 12 * MB, 700_000],
                false,
            ),
            img(
                "api-1.3.0-arm64",
                "2024-09-18T14:47:00Z",
                "arm64",
                Some("v8"),
                &[27 * MB, 12 * MB, 690_000],
                false,
            ),
        ],
        false,
    );
    oci::write_layout(
        &root.join("team/app/api"),
        &[
            ("v1.0.0", &a1),
            ("v1.1.0", &a2),
            ("v1.2.0", &a3),
            ("stable", &a3),
            ("v1.3.0", &a4),
            ("latest", &a4),
        ],
        false,
    );

    // team/app/web: Docker schema2 images, monthly builds, prod = the newest.
    let months = [
        "2024.01", "2024.02", "2024.03", "2024.04", "2024.05", "2024.06",
    ];
    let webs: Vec<oci::Image> = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let created: &'static str =
                Box::leak(format!("2024-{:02}-15T06:00:00Z", i + 1).into_boxed_str());
            let seed: &'static str = Box::leak(format!("web-{m}").into_boxed_str());
            let sizes: &'static [usize] = Box::leak(
                vec![44 * MB, 3 * MB + i * 250_000, 120_000 * (i + 1)].into_boxed_slice(),
            );
            img(seed, created, "amd64", None, sizes, true)
        })
        .collect();
    let mut tagged: Vec<(&str, &oci::Image)> = months.iter().copied().zip(webs.iter()).collect();
    tagged.push(("prod", &webs[5]));
    oci::write_layout(&root.join("team/app/web"), &tagged, false);

    // tools/busybox: a Docker manifest list over three platforms.
    let bb = |v: &'static str, created: &'static str| {
        let s = |a: &'static str| -> &'static str {
            Box::leak(format!("busybox-{v}-{a}").into_boxed_str())
        };
        oci::index(
            vec![
                img(s("amd64"), created, "amd64", None, &[2_150_000], true),
                img(s("arm64"), created, "arm64", Some("v8"), &[1_980_000], true),
                img(s("armv7"), created, "arm", Some("v7"), &[1_720_000], true),
            ],
            true,
        )
    };
    let b136 = bb("1.36", "2023-05-19T00:00:00Z");
    let b137 = bb("1.37", "2024-09-26T00:00:00Z");
    oci::write_layout(
        &root.join("tools/busybox"),
        &[("1.36", &b136), ("1.37", &b137), ("latest", &b137)],
        false,
    );

    // ci/builds: many CI builds with varied dates and sizes, for sorting and cleanup.
    let builds: Vec<oci::Image> = (1..=30)
        .map(|i| {
            let created: &'static str = Box::leak(
                format!(
                    "2024-{:02}-{:02}T{:02}:{:02}:00Z",
                    1 + (i * 7) % 12,
                    1 + (i * 11) % 28,
                    (i * 5) % 24,
                    (i * 13) % 60
                )
                .into_boxed_str(),
            );
            let seed: &'static str = Box::leak(format!("build-{i:03}").into_boxed_str());
            let sizes: &'static [usize] =
                Box::leak(vec![61 * MB, (i % 9 + 1) * 1_300_000, 40_000 * i].into_boxed_slice());
            img(seed, created, "amd64", None, sizes, false)
        })
        .collect();
    let names: Vec<String> = (1..=30).map(|i| format!("build-{i:03}")).collect();
    let tagged: Vec<(&str, &oci::Image)> = names
        .iter()
        .map(String::as_str)
        .zip(builds.iter())
        .collect();
    oci::write_layout(&root.join("ci/builds"), &tagged, false);
}

fn files_below(root: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// The committed demo equals what the generator writes; `REGTUI_WRITE_DEMO=1` rewrites it.
#[test]
fn demo_assets_are_current() {
    let tmp = tempfile::tempdir().unwrap();
    demo_layouts(tmp.path());
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    if std::env::var("REGTUI_WRITE_DEMO").as_deref() == Ok("1") {
        let _ = std::fs::remove_dir_all(&target);
        support::registry::copy_dir(tmp.path(), &target);
    }
    let want = files_below(tmp.path());
    let have = files_below(&target);
    let differ: Vec<&String> = want
        .keys()
        .chain(have.keys())
        .filter(|k| want.get(*k) != have.get(*k))
        .collect();
    assert!(
        differ.is_empty(),
        "assets/demo is out of date ({} files differ, e.g. {:?}); regenerate with REGTUI_WRITE_DEMO=1 cargo test --test client demo_assets",
        differ.len(),
        differ.first()
    );
}
