//! Supply chain and content (issue #13) against the real registry: referrers stored the way
//! cosign and oras store them on a registry without the referrers API.

mod support;

use regtui::registry::auth::Credential;
use regtui::registry::distribution::{Distribution, DistributionOptions};
use regtui::registry::reference::RegistryAddr;
use regtui::registry::referrers::{self, Kind, Source};
use serde_json::json;
use support::oci::{Blob, Pusher, sha256};
use support::{Options, Registry, block_on, find, standard};

fn client(reg: &Registry) -> Distribution {
    Distribution::new(DistributionOptions::new(
        RegistryAddr::parse(&reg.url).unwrap(),
        Credential::Anonymous,
    ))
    .unwrap()
}

/// Pushes an OCI artifact manifest (empty config, one layer) and returns its bytes and digest.
async fn artifact(
    p: &Pusher,
    repo: &str,
    artifact_type: &str,
    layer_type: &str,
    body: &[u8],
    subject: &str,
) -> (Vec<u8>, String) {
    let empty = Blob::new("application/vnd.oci.empty.v1+json", b"{}".to_vec());
    let layer = Blob::new(layer_type, body.to_vec());
    p.blob(repo, &empty).await;
    p.blob(repo, &layer).await;
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": artifact_type,
        "config": empty.descriptor(),
        "layers": [layer.descriptor()],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject, "size": 1},
        "annotations": {"org.opencontainers.image.created": "2024-07-01T00:00:00Z"},
    }))
    .unwrap();
    let d = sha256(&m);
    p.manifest(repo, &d, "application/vnd.oci.image.manifest.v1+json", &m)
        .await;
    (m, d)
}

#[test]
fn referrers_from_the_fallback_tag_and_cosign_tags_make_one_list() {
    let reg = standard(Options::default());
    let img = find("team/app/api", "v1.0.0");
    let url = reg.url.clone();
    let subject = img.digest.clone();
    let (sbom, sig) = block_on(async move {
        let p = Pusher::new(&url);
        let repo = "team/app/api";
        // oras on a registry without the API: the artifact, then the fallback index tag.
        let (m, sbom) = artifact(
            &p,
            repo,
            "application/spdx+json",
            "application/spdx+json",
            b"{\"spdxVersion\":\"SPDX-2.3\"}",
            &subject,
        )
        .await;
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": sbom, "size": m.len(),
                "artifactType": "application/spdx+json",
                "annotations": {"org.opencontainers.image.created": "2024-07-01T00:00:00Z"},
            }],
        }))
        .unwrap();
        let fallback = referrers::fallback_tag(&subject);
        p.manifest(
            repo,
            &fallback,
            "application/vnd.oci.image.index.v1+json",
            &index,
        )
        .await;
        // cosign's legacy signature tag.
        let (sig_m, sig) = artifact(
            &p,
            repo,
            "application/vnd.dev.cosign.simplesigning.v1+json",
            "application/vnd.dev.cosign.simplesigning.v1+json",
            b"{\"critical\":{}}",
            &subject,
        )
        .await;
        p.manifest(
            repo,
            &format!("{fallback}.sig"),
            "application/vnd.oci.image.manifest.v1+json",
            &sig_m,
        )
        .await;
        (sbom, sig)
    });
    let b = client(&reg);
    let list = block_on(async move {
        referrers::referrers(&b, "team/app/api", &img.digest, None)
            .await
            .unwrap()
    });
    assert_eq!(list.len(), 2, "{list:?}");
    let s = list.iter().find(|r| r.digest == sbom).unwrap();
    assert_eq!(s.source, Source::FallbackTag);
    assert_eq!(
        s.kind,
        Kind::Sbom {
            format: "SPDX".into()
        }
    );
    assert_eq!(
        s.annotations["org.opencontainers.image.created"],
        "2024-07-01T00:00:00Z"
    );
    let g = list.iter().find(|r| r.digest == sig).unwrap();
    assert_eq!(g.source, Source::CosignTag);
    assert_eq!(g.kind.label(), "signature (cosign)");
    // The manifest's own artifactType, not its (empty) config's media type.
    assert_eq!(
        g.artifact_type,
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    // The other images have none.
    let b = client(&reg);
    let other = find("team/app/api", "v1.1.0").digest;
    let none = block_on(async move {
        referrers::referrers(&b, "team/app/api", &other, None)
            .await
            .unwrap()
    });
    assert!(none.is_empty(), "{none:?}");
}

/// A tar archive of `(path, content)` files (`None` content: a directory).
fn tarball(files: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        match content {
            Some(c) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(c.len() as u64);
                h.set_mode(0o644);
                h.set_cksum();
                b.append_data(&mut h, path, *c).unwrap();
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                h.set_cksum();
                b.append_data(&mut h, path, std::io::empty()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn files_of_gzip_zstd_and_plain_layers_match_tar_and_stack_with_whiteouts() {
    use regtui::registry::files;
    use regtui::registry::model::Desc;
    let reg = Registry::start(Options::default());
    let big = vec![7u8; 300_000];
    // gzip in two members, as some tools write it.
    let l1_tar = tarball(&[
        ("etc", None),
        ("etc/a", Some(b"a1")),
        ("etc/b", Some(b"b1")),
        ("var/x", Some(&big)),
    ]);
    let mut l1 = gzip(&l1_tar[..l1_tar.len() / 2]);
    l1.extend(gzip(&l1_tar[l1_tar.len() / 2..]));
    let l2 = ruzstd::encoding::compress_to_vec(
        &tarball(&[
            ("etc/.wh.a", Some(b"")),
            ("var/.wh..wh..opq", Some(b"")),
            ("var/new", Some(b"n")),
        ])[..],
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let l3 = tarball(&[("./etc/a", Some(b"a3"))]);
    let layers = [
        Blob::new("application/vnd.oci.image.layer.v1.tar+gzip", l1.clone()),
        Blob::new("application/vnd.oci.image.layer.v1.tar+zstd", l2),
        Blob::new("application/vnd.oci.image.layer.v1.tar", l3),
    ];
    let url = reg.url.clone();
    let ls = layers.clone();
    block_on(async move {
        let p = Pusher::new(&url);
        for l in &ls {
            p.blob("files/app", l).await;
        }
    });
    let b = client(&reg);
    let per_layer = block_on(async move {
        let mut out = Vec::new();
        for (i, l) in layers.iter().enumerate() {
            let d = Desc {
                digest: l.digest.clone(),
                media_type: l.media_type.clone(),
                size: l.size,
            };
            out.push(
                files::layer_entries(&b, "files/app", &d, i, &mut |_| {})
                    .await
                    .unwrap(),
            );
        }
        out
    });
    // The first layer against `tar tz` of the same blob.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("l1.tar.gz");
    std::fs::write(&f, &l1).unwrap();
    let out = std::process::Command::new("tar")
        .arg("tzf")
        .arg(&f)
        .output()
        .unwrap();
    let mut want: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end_matches('/').to_string())
        .collect();
    want.sort();
    let mut got: Vec<String> = per_layer[0].iter().map(|e| e.path.clone()).collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(
        per_layer[0]
            .iter()
            .find(|e| e.path == "var/x")
            .unwrap()
            .size,
        300_000
    );
    let merged = files::merge(per_layer);
    let view: Vec<(String, usize)> = merged.iter().map(|e| (e.path.clone(), e.layer)).collect();
    assert_eq!(
        view,
        [
            ("etc".to_string(), 0),
            ("etc/a".to_string(), 2),
            ("etc/b".to_string(), 0),
            ("var/new".to_string(), 1)
        ]
    );
}

#[test]
fn a_layer_whose_bytes_do_not_match_its_digest_is_refused() {
    use regtui::registry::files;
    use regtui::registry::model::Desc;
    let reg = Registry::start(Options::default());
    let layer = Blob::new(
        "application/vnd.oci.image.layer.v1.tar",
        tarball(&[("x", Some(b"1"))]),
    );
    let url = reg.url.clone();
    let l = layer.clone();
    block_on(async move { Pusher::new(&url).blob("files/bad", &l).await });
    // A proxy that flips one byte of the blob.
    let port = reg.port;
    let px = support::fixture::proxy(port, move |req| {
        req.path().contains("/blobs/").then(|| {
            let mut r = support::fixture::forward(req, port);
            if let Some(b) = r.body.last_mut() {
                *b ^= 1;
            }
            r
        })
    });
    let b = Distribution::new(DistributionOptions::new(
        RegistryAddr::parse(&px.url).unwrap(),
        Credential::Anonymous,
    ))
    .unwrap();
    let d = Desc {
        digest: layer.digest.clone(),
        media_type: layer.media_type.clone(),
        size: layer.size,
    };
    let e =
        block_on(async move { files::layer_entries(&b, "files/bad", &d, 0, &mut |_| {}).await })
            .unwrap_err();
    assert!(
        matches!(e, regtui::registry::Error::DigestMismatch { .. }),
        "{e:?}"
    );
}

/// The digest skopeo sees for `reference` on `reg` (raw manifest, hashed).
fn skopeo_digest(reg: &Registry, reference: &str) -> String {
    support::registry::require("/usr/bin/skopeo", "skopeo");
    let mut cmd = std::process::Command::new("skopeo");
    cmd.args(["inspect", "--raw", "--tls-verify=false"]);
    if reg.opts.auth == support::Auth::Htpasswd {
        cmd.args([
            "--creds",
            &format!(
                "{}:{}",
                support::registry::USER,
                support::registry::PASSWORD
            ),
        ]);
    }
    let out = cmd
        .arg(format!("docker://{}/{reference}", reg.host))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sha256(&out.stdout)
}

fn client_auth(reg: &Registry) -> Distribution {
    Distribution::new(DistributionOptions::new(
        RegistryAddr::parse(&reg.url).unwrap(),
        Credential::Basic {
            username: support::registry::USER.into(),
            password: regtui::registry::auth::Secret::new(support::registry::PASSWORD),
        },
    ))
    .unwrap()
}

#[test]
fn copy_images_and_indexes_between_registries_keeps_digests() {
    use regtui::registry::copy::{self, CopyOptions, End};
    let from = standard(Options::default());
    let to = Registry::start(Options {
        auth: support::Auth::Htpasswd,
        ..Default::default()
    });
    // A large layer goes in chunks.
    let big = Blob::new(
        "application/vnd.oci.image.layer.v1.tar",
        support::oci::noise("copy-big", 20 * 1024 * 1024),
    );
    let big_img = support::with_layers(find("solo", "only"), &[big]);
    let url = from.url.clone();
    let bi = big_img.clone();
    block_on(async move { Pusher::new(&url).image("big/one", "v1", &bi).await });
    let (src, dst) = (client(&from), client_auth(&to));
    let reports = block_on(async move {
        let o = CopyOptions {
            concurrency: 4,
            ..Default::default()
        };
        let none = &|_: usize, _: usize, _: u64| {};
        let a = copy::copy(
            End {
                backend: &src,
                repo: "team/app/api",
                reference: "v1.2.0",
            },
            End {
                backend: &dst,
                repo: "copied/api",
                reference: "v1",
            },
            &o,
            none,
        )
        .await
        .unwrap();
        let b = copy::copy(
            End {
                backend: &src,
                repo: "tools/multi",
                reference: "1.0",
            },
            End {
                backend: &dst,
                repo: "copied/multi",
                reference: "1.0",
            },
            &o,
            none,
        )
        .await
        .unwrap();
        let c = copy::copy(
            End {
                backend: &src,
                repo: "big/one",
                reference: "v1",
            },
            End {
                backend: &dst,
                repo: "copied/big",
                reference: "v1",
            },
            &o,
            none,
        )
        .await
        .unwrap();
        // Again: everything is there already.
        let again = copy::copy(
            End {
                backend: &src,
                repo: "team/app/api",
                reference: "v1.2.0",
            },
            End {
                backend: &dst,
                repo: "copied/api",
                reference: "v1",
            },
            &o,
            none,
        )
        .await
        .unwrap();
        (a, b, c, again)
    });
    let (a, b, c, again) = reports;
    assert_eq!(a.digest, find("team/app/api", "v1.2.0").digest);
    assert_eq!(skopeo_digest(&to, "copied/api:v1"), a.digest);
    assert_eq!(b.digest, find("tools/multi", "1.0").digest);
    assert_eq!(b.manifests, 3, "two platforms and the index");
    assert_eq!(skopeo_digest(&to, "copied/multi:1.0"), b.digest);
    assert_eq!(skopeo_digest(&to, "copied/big:v1"), big_img.digest);
    assert!(c.bytes_copied >= 20 * 1024 * 1024);
    assert_eq!(
        (again.blobs_copied, again.blobs_present),
        (0, a.blobs_copied)
    );
}

#[test]
fn copy_within_a_registry_mounts_and_tag_adds_tags() {
    use regtui::registry::copy::{self, CopyOptions, End};
    let reg = standard(Options::default());
    let (b1, b2) = (client(&reg), client(&reg));
    let (report, digest) = block_on(async move {
        let o = CopyOptions {
            same_registry: true,
            concurrency: 2,
            ..Default::default()
        };
        let r = copy::copy(
            End {
                backend: &b1,
                repo: "team/app/api",
                reference: "v1.0.0",
            },
            End {
                backend: &b1,
                repo: "mirror/api",
                reference: "v1.0.0",
            },
            &o,
            &|_, _, _| {},
        )
        .await
        .unwrap();
        let d = copy::tag(
            &b2,
            "team/app/web",
            "2024.01",
            &["stable".into(), "prod".into()],
        )
        .await
        .unwrap();
        (r, d)
    });
    assert_eq!(report.blobs_copied, 0);
    assert!(report.blobs_mounted >= 2, "{report:?}");
    assert_eq!(
        skopeo_digest(&reg, "mirror/api:v1.0.0"),
        find("team/app/api", "v1.0.0").digest
    );
    assert_eq!(digest, find("team/app/web", "2024.01").digest);
    assert_eq!(skopeo_digest(&reg, "team/app/web:prod"), digest);
    assert_eq!(
        reg.tags("team/app/web"),
        ["2024.01", "2024.06", "prod", "stable"]
    );
}

// ---------- the CLI ----------

#[test]
fn cli_referrers_inspect_files_copy_and_tag() {
    use support::bin::{regtui, write_config};
    let from = standard(Options::default());
    let to = Registry::start(Options {
        auth: support::Auth::Htpasswd,
        ..Default::default()
    });
    // An image with a real gzip layer, and a signature for it in cosign's tag.
    let layer = Blob::new(
        "application/vnd.oci.image.layer.v1.tar+gzip",
        gzip(&tarball(&[
            ("etc", None),
            ("etc/motd", Some(b"hello from the layer\n")),
            ("bin/sh", Some(b"#!")),
        ])),
    );
    let img = support::with_layers(find("solo", "only"), std::slice::from_ref(&layer));
    let url = from.url.clone();
    let (i2, d2) = (img.clone(), img.digest.clone());
    block_on(async move {
        let p = Pusher::new(&url);
        p.image("app/real", "v1", &i2).await;
        let (m, _) = artifact(
            &p,
            "app/real",
            "application/vnd.dev.cosign.simplesigning.v1+json",
            "application/vnd.dev.cosign.simplesigning.v1+json",
            b"{}",
            &d2,
        )
        .await;
        p.manifest(
            "app/real",
            &format!("{}.sig", referrers::fallback_tag(&d2)),
            "application/vnd.oci.image.manifest.v1+json",
            &m,
        )
        .await;
    });
    let reg = from.url.as_str();
    let r = regtui(
        &["--registry", reg, "referrers", "app/real:v1", "--json"],
        &[],
    );
    let tree = r.json();
    assert_eq!(tree.as_array().unwrap().len(), 1, "{tree}");
    assert_eq!(tree[0]["kind"], "signature");
    assert_eq!(tree[0]["source"], "cosign-tag");
    let r = regtui(
        &["--registry", reg, "inspect", "app/real:v1", "--json"],
        &[],
    );
    assert_eq!(r.json()["referrers"][0]["source"], "cosign-tag");
    let r = regtui(&["--registry", reg, "files", "app/real:v1", "--json"], &[]);
    let paths: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths, ["bin/sh", "etc", "etc/motd"]);
    let r = regtui(
        &[
            "--registry",
            reg,
            "files",
            "app/real:v1",
            "--cat",
            "/etc/motd",
        ],
        &[],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(r.stdout(), "hello from the layer\n");
    // copy to the htpasswd registry: each reference's host picks its profile.
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[profiles.a]\nregistry = \"{}\"\n[profiles.b]\nregistry = \"{}\"\nusername = \"{}\"\npassword_env = \"PW\"\n",
            from.url,
            to.url,
            support::registry::USER
        ),
    );
    let r = regtui(
        &[
            "-c",
            &cfg,
            "copy",
            &format!("{}/tools/multi:1.0", from.host),
            &format!("{}/copied/multi:1.0", to.host),
            "--json",
        ],
        &[("PW", support::registry::PASSWORD)],
    );
    let report = r.json();
    assert_eq!(report["digest"], find("tools/multi", "1.0").digest);
    assert_eq!(
        skopeo_digest(&to, "copied/multi:1.0"),
        find("tools/multi", "1.0").digest
    );
    let r = regtui(
        &["--registry", reg, "tag", "app/real:v1", "stable", "prod"],
        &[],
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(skopeo_digest(&from, "app/real:prod"), img.digest);
}
