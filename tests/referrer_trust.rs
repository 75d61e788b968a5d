//! Deleting with referrers against hostile tags planted by anyone with push access (a fallback
//! index `sha256-<hex>` or a cosign tag naming an unrelated image, an index shared with another
//! tag), against the real registry: only the referrers the user confirmed go, each checked again.

mod support;

use regtui::registry::distribution::{Distribution, DistributionOptions};
use regtui::registry::ops::{self, Confirmed};
use regtui::registry::reference::RegistryAddr;
use regtui::registry::{Backend, Error, referrers};
use serde_json::json;
use support::fixture::{Response, proxy};
use support::oci::{Blob, Pusher, sha256, simple};
use support::{Options, Registry};

const REPO: &str = "shop/web";
const PROD: &str = "prod/app";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn client(url: &str) -> Distribution {
    Distribution::new(DistributionOptions::new(
        RegistryAddr::parse(url).unwrap(),
        regtui::registry::auth::Credential::Anonymous,
    ))
    .unwrap()
}

/// The digest `repo:reference` resolves to, `None` when it is gone.
async fn head(url: &str, repo: &str, reference: &str) -> Option<String> {
    match client(url).head_manifest(repo, reference).await {
        Ok(d) => Some(d.digest),
        Err(Error::NotFound { .. }) => None,
        Err(e) => panic!("HEAD {repo}:{reference}: {e}"),
    }
}

/// An artifact manifest in `repo` (`subject` when given); returns its bytes and digest.
async fn artifact(
    p: &Pusher,
    repo: &str,
    artifact_type: &str,
    subject: Option<&str>,
) -> (Vec<u8>, String) {
    let empty = Blob::new("application/vnd.oci.empty.v1+json", b"{}".to_vec());
    let layer = Blob::new(
        artifact_type,
        format!("{artifact_type} of {subject:?}").into_bytes(),
    );
    p.blob(repo, &empty).await;
    p.blob(repo, &layer).await;
    let mut v = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": empty.descriptor(),
        "layers": [layer.descriptor()],
    });
    if let Some(s) = subject {
        v["subject"] = json!({"mediaType": OCI_MANIFEST, "digest": s, "size": 1});
    }
    let m = serde_json::to_vec(&v).unwrap();
    let d = sha256(&m);
    p.manifest(repo, &d, OCI_MANIFEST, &m).await;
    (m, d)
}

/// An OCI index listing `digests` (as image manifests), stored under `tag`; returns its digest.
async fn plant_index(p: &Pusher, repo: &str, tag: &str, digests: &[&str]) -> String {
    let manifests: Vec<_> = digests
        .iter()
        .map(|d| json!({"mediaType": OCI_MANIFEST, "digest": d, "size": 1}))
        .collect();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    }))
    .unwrap();
    p.manifest(repo, tag, OCI_INDEX, &index).await;
    sha256(&index)
}

/// What the delete dialog shows (and the user confirms) for `digest`.
async fn confirm(url: &str, repo: &str, digest: &str, tags: &[&str]) -> Confirmed {
    let shown = referrers::referrers(&client(url), repo, digest, None)
        .await
        .unwrap();
    Confirmed {
        tags: tags.iter().map(|t| t.to_string()).collect(),
        indexes: vec![],
        referrers: shown.into_iter().map(|r| r.digest).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_fallback_index_or_sig_tag_cannot_delete_an_unrelated_image() {
    let reg = Registry::start(Options::default());
    let url = reg.url.as_str();
    let p = Pusher::new(url);
    let app = simple("app-v1", "2024-06-01T00:00:00Z", &[300]);
    let prod1 = simple("prod-v1", "2024-06-01T00:00:00Z", &[400]);
    let prod2 = simple("prod-v2", "2024-06-01T00:00:00Z", &[500]);
    p.image(REPO, "v1", &app).await;
    // The "unrelated" images live in the same repository (a digest delete is per repository).
    p.image(REPO, "prod-v1", &prod1).await;
    p.image(REPO, "prod-v2", &prod2).await;
    let d = app.digest.clone();
    let fb = referrers::fallback_tag(&d);
    // A real SBOM of v1, and planted: prod-v1 in v1's fallback index, the .sig tag on prod-v2.
    let (_, sbom) = artifact(&p, REPO, "application/spdx+json", Some(&d)).await;
    plant_index(&p, REPO, &fb, &[&sbom, &prod1.digest]).await;
    p.manifest(
        REPO,
        &format!("{fb}.sig"),
        &prod2.media_type,
        &prod2.manifest,
    )
    .await;
    let confirmed = confirm(url, REPO, &d, &["v1"]).await;
    assert_eq!(confirmed.referrers.len(), 3, "the dialog showed all three");
    let done = ops::delete_with_referrers(&client(url), REPO, &d, &confirmed, 4)
        .await
        .unwrap();
    // Only the real SBOM went with v1.
    assert_eq!(done.referrers, vec![sbom.clone()]);
    assert_eq!(head(url, REPO, "v1").await, None);
    assert_eq!(head(url, REPO, &sbom).await, None);
    assert_eq!(
        head(url, REPO, "prod-v1").await.as_deref(),
        Some(prod1.digest.as_str())
    );
    assert_eq!(
        head(url, REPO, "prod-v2").await.as_deref(),
        Some(prod2.digest.as_str())
    );
    assert_eq!(
        head(url, REPO, &format!("{fb}.sig")).await.as_deref(),
        Some(prod2.digest.as_str()),
        "the planted .sig tag is not followed"
    );
    let w = done.warnings.join("\n");
    assert!(
        w.contains(regtui::registry::digest::short(&prod1.digest)),
        "{w}"
    );
    assert!(
        w.contains(regtui::registry::digest::short(&prod2.digest)),
        "{w}"
    );
    assert!(
        !done.tags.contains(&"prod-v1".to_string()),
        "{:?}",
        done.tags
    );
    // The fallback index lost the SBOM only; it still lists prod-v1 (nothing of it deleted).
    let b = client(url);
    let left = referrers::referrers(&b, REPO, &d, None).await.unwrap();
    assert!(left.iter().any(|r| r.digest == prod1.digest), "{left:?}");
    assert!(!left.iter().any(|r| r.digest == sbom), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_confirmed_referrers_go_and_a_legacy_cosign_signature_still_does() {
    let reg = Registry::start(Options::default());
    let url = reg.url.as_str();
    let p = Pusher::new(url);
    let app = simple("app-v1", "2024-06-01T00:00:00Z", &[300]);
    p.image(REPO, "v1", &app).await;
    let d = app.digest.clone();
    let fb = referrers::fallback_tag(&d);
    // A legacy cosign signature (no subject) under its tag.
    let (sig_m, sig) = artifact(
        &p,
        REPO,
        "application/vnd.dev.cosign.simplesigning.v1+json",
        None,
    )
    .await;
    p.manifest(REPO, &format!("{fb}.sig"), OCI_MANIFEST, &sig_m)
        .await;
    let confirmed = confirm(url, REPO, &d, &["v1"]).await;
    assert_eq!(confirmed.referrers, vec![sig.clone()]);
    // After the confirmation an attestation appears: it was not shown, so it stays.
    let (_, att) = artifact(&p, REPO, "application/vnd.in-toto+json", Some(&d)).await;
    plant_index(&p, REPO, &fb, &[&att]).await;
    let done = ops::delete_with_referrers(&client(url), REPO, &d, &confirmed, 4)
        .await
        .unwrap();
    assert_eq!(done.referrers, vec![sig.clone()]);
    assert!(done.tags.contains(&format!("{fb}.sig")), "{:?}", done.tags);
    assert_eq!(head(url, REPO, &sig).await, None);
    assert_eq!(head(url, REPO, &format!("{fb}.sig")).await, None);
    assert_eq!(head(url, REPO, &att).await.as_deref(), Some(att.as_str()));
    assert!(head(url, REPO, &fb).await.is_some(), "its index stays");
    let w = done.warnings.join("\n");
    assert!(
        w.contains("not confirmed") && w.contains(regtui::registry::digest::short(&att)),
        "{w}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fallback_index_shared_with_latest_or_not_an_index_is_not_deleted_by_digest() {
    let reg = Registry::start(Options::default());
    let url = reg.url.as_str();
    let p = Pusher::new(url);
    let app = simple("app-v1", "2024-06-01T00:00:00Z", &[300]);
    let app2 = simple("app-v2", "2024-06-01T00:00:00Z", &[310]);
    let prod = simple("prod-v1", "2024-06-01T00:00:00Z", &[400]);
    p.image(REPO, "v1", &app).await;
    p.image(REPO, "v2", &app2).await;
    p.image(REPO, "prod", &prod).await;
    // v1's fallback index (its one SBOM) is also tagged `latest`.
    let d = app.digest.clone();
    let fb = referrers::fallback_tag(&d);
    let (_, sbom) = artifact(&p, REPO, "application/spdx+json", Some(&d)).await;
    let idx = plant_index(&p, REPO, &fb, &[&sbom]).await;
    plant_index(&p, REPO, "latest", &[&sbom]).await;
    let confirmed = confirm(url, REPO, &d, &["v1"]).await;
    let done = ops::delete_with_referrers(&client(url), REPO, &d, &confirmed, 4)
        .await
        .unwrap();
    // `latest` lists the SBOM (it is the same index): the SBOM is in use and stays.
    assert!(done.referrers.is_empty(), "{:?}", done.referrers);
    assert_eq!(head(url, REPO, &sbom).await.as_deref(), Some(sbom.as_str()));
    assert_eq!(head(url, REPO, "v1").await, None);
    assert_eq!(
        head(url, REPO, "latest").await.as_deref(),
        Some(idx.as_str()),
        "latest keeps its manifest"
    );
    assert!(
        !done.tags.contains(&"latest".to_string()),
        "{:?}",
        done.tags
    );
    let w = done.warnings.join("\n");
    assert!(w.contains("latest"), "{w}");
    // Taking the SBOM out empties the index: `latest` shares its digest, so only the fallback
    // tag may go, never the manifest.
    let (tags, w) = ops::unlist_referrers(&client(url), REPO, &d, std::slice::from_ref(&sbom), 4)
        .await
        .unwrap()
        .expect("it listed the SBOM");
    assert_eq!(
        head(url, REPO, "latest").await.as_deref(),
        Some(idx.as_str())
    );
    assert!(w.join("\n").contains("latest"), "{w:?} {tags:?}");
    if tags.contains(&fb) {
        assert_eq!(head(url, REPO, &fb).await, None);
    } else {
        assert_eq!(head(url, REPO, &fb).await.as_deref(), Some(idx.as_str()));
    }
    // v2's `sha256-<hex>` tag points at an image (prod's), not an index: nothing of it goes.
    let d2 = app2.digest.clone();
    let fb2 = referrers::fallback_tag(&d2);
    p.manifest(REPO, &fb2, &prod.media_type, &prod.manifest)
        .await;
    let confirmed = confirm(url, REPO, &d2, &["v2"]).await;
    let done = ops::delete_with_referrers(&client(url), REPO, &d2, &confirmed, 4)
        .await
        .unwrap();
    assert!(done.referrers.is_empty());
    assert_eq!(head(url, REPO, "v2").await, None);
    assert_eq!(
        head(url, REPO, "prod").await.as_deref(),
        Some(prod.digest.as_str())
    );
    assert_eq!(
        head(url, REPO, &fb2).await.as_deref(),
        Some(prod.digest.as_str())
    );
    assert!(
        done.warnings.join("\n").contains(&fb2),
        "{:?}",
        done.warnings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_fallback_index_update_is_a_warning_after_the_delete_happened() {
    let reg = Registry::start(Options::default());
    let url = reg.url.clone();
    let p = Pusher::new(&url);
    let app = simple("app-v1", "2024-06-01T00:00:00Z", &[300]);
    p.image(REPO, "v1", &app).await;
    let d = app.digest.clone();
    let fb = referrers::fallback_tag(&d);
    let (_, a) = artifact(&p, REPO, "application/spdx+json", Some(&d)).await;
    let (_, b2) = artifact(&p, REPO, "application/vnd.in-toto+json", Some(&d)).await;
    let idx = plant_index(&p, REPO, &fb, &[&a, &b2]).await;
    // A delete-only role: manifest PUTs are refused.
    let px = proxy(reg.port, |req| {
        (req.method == "PUT" && req.path().contains("/manifests/")).then(|| {
            Response::json(
                403,
                &json!({"errors": [{"code": "DENIED", "message": "push not allowed"}]}),
            )
        })
    });
    let done = ops::delete_manifest_checked(&client(&px.url), REPO, &a, &Confirmed::default(), 4)
        .await
        .expect("the delete happened: not an error");
    assert_eq!(head(&url, REPO, &a).await, None);
    assert_eq!(head(&url, REPO, &fb).await.as_deref(), Some(idx.as_str()));
    let w = done.warnings.join("\n");
    assert!(w.contains(&fb) && w.contains("still lists"), "{w}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_tagged_like_a_fallback_index_still_uses_what_it_lists() {
    let reg = Registry::start(Options::default());
    let url = reg.url.as_str();
    let p = Pusher::new(url);
    let img = simple("plain", "2024-06-01T00:00:00Z", &[300]);
    let other = simple("other", "2024-06-01T00:00:00Z", &[310]);
    p.image(PROD, "v1", &img).await;
    p.image(PROD, "other", &other).await;
    // A real index (not a referrers index of img's subject: img has none) under that tag shape.
    let tag = referrers::fallback_tag(&other.digest);
    plant_index(&p, PROD, &tag, &[&img.digest]).await;
    let confirmed = Confirmed {
        tags: vec!["v1".into()],
        ..Default::default()
    };
    let r = ops::delete_manifest_checked(&client(url), PROD, &img.digest, &confirmed, 4).await;
    assert!(matches!(r, Err(Error::UsedByIndex { .. })), "{r:?}");
    assert_eq!(
        head(url, PROD, "v1").await.as_deref(),
        Some(img.digest.as_str())
    );
    // A referrer of `other` listed in other's fallback index is not held by it.
    let (_, sig) = artifact(&p, PROD, "application/spdx+json", Some(&other.digest)).await;
    plant_index(&p, PROD, &tag, &[&sig]).await;
    let done = ops::delete_manifest_checked(&client(url), PROD, &sig, &Confirmed::default(), 4)
        .await
        .unwrap();
    assert_eq!(done.tags, vec![tag.clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copying_referrers_keeps_a_destination_signature_and_describes_each_from_its_bytes() {
    use regtui::registry::copy::{self, CopyOptions, End};
    let src = Registry::start(Options::default());
    let dst = Registry::start(Options::default());
    let (ps, pd) = (Pusher::new(&src.url), Pusher::new(&dst.url));
    let app = simple("app-v1", "2024-06-01T00:00:00Z", &[300]);
    ps.image(REPO, "v1", &app).await;
    let d = app.digest.clone();
    let fb = referrers::fallback_tag(&d);
    // Source: a cosign signature, and an SBOM listed with a planted size and media type.
    let (sig_m, _) = artifact(
        &ps,
        REPO,
        "application/vnd.dev.cosign.simplesigning.v1+json",
        None,
    )
    .await;
    ps.manifest(REPO, &format!("{fb}.sig"), OCI_MANIFEST, &sig_m)
        .await;
    let (sbom_m, sbom) = artifact(&ps, REPO, "application/spdx+json", Some(&d)).await;
    let lying = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": "", "digest": sbom, "size": 7, "artifactType": "x/planted"}],
    }))
    .unwrap();
    ps.manifest(REPO, &fb, OCI_INDEX, &lying).await;
    // Destination: a signature made there, under the same cosign tag.
    pd.image(REPO, "v1", &app).await;
    let (there_m, there) = artifact(
        &pd,
        REPO,
        "application/vnd.dev.cosign.simplesigning.v1+json+there",
        None,
    )
    .await;
    pd.manifest(REPO, &format!("{fb}.sig"), OCI_MANIFEST, &there_m)
        .await;
    let (bs, bd) = (client(&src.url), client(&dst.url));
    let (from, to) = (
        End {
            backend: &bs,
            repo: REPO,
            reference: "v1",
        },
        End {
            backend: &bd,
            repo: REPO,
            reference: "v1",
        },
    );
    let o = CopyOptions {
        concurrency: 2,
        ..Default::default()
    };
    let (n, warnings) = copy::copy_referrers(from, to, &d, &o).await.unwrap();
    assert_eq!(n, 1, "the SBOM only");
    assert_eq!(
        head(&dst.url, REPO, &format!("{fb}.sig")).await.as_deref(),
        Some(there.as_str()),
        "the destination's own signature stays"
    );
    let w = warnings.join("\n");
    assert!(
        w.contains(".sig") && w.contains(regtui::registry::digest::short(&there)),
        "{w}"
    );
    // The merged fallback index describes the SBOM from its bytes.
    let idx = bd.get_manifest(REPO, &fb).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&idx.raw).unwrap();
    let e = &v["manifests"][0];
    assert_eq!(e["digest"], json!(sbom));
    assert_eq!(e["size"], json!(sbom_m.len()));
    assert_eq!(e["mediaType"], json!(OCI_MANIFEST));
    assert_eq!(e["artifactType"], json!("application/spdx+json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_for_a_referrer_delete_stays_an_unknown_outcome_with_context() {
    let reg = Registry::start(Options::default());
    let url = reg.url.clone();
    let p = Pusher::new(&url);
    let app = simple("app-v1", "2024-06-01T00:00:00Z", &[300]);
    p.image(REPO, "v1", &app).await;
    let d = app.digest.clone();
    let (_, sbom) = artifact(&p, REPO, "application/spdx+json", Some(&d)).await;
    plant_index(&p, REPO, &referrers::fallback_tag(&d), &[&sbom]).await;
    let confirmed = confirm(&url, REPO, &d, &["v1"]).await;
    // The SBOM's DELETE gets no answer (and nothing happens).
    let s2 = sbom.clone();
    let px = proxy(reg.port, move |req| {
        (req.method == "DELETE" && req.path().ends_with(&s2))
            .then(|| Response::empty(support::fixture::DROP))
    });
    let r = ops::delete_with_referrers(&client(&px.url), REPO, &d, &confirmed, 4).await;
    let e = r.unwrap_err();
    assert!(
        matches!(e, Error::OutcomeUnknown { .. } | Error::StillPresent { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("0 of its 1 referrers"), "{e}");
    assert_eq!(head(&url, REPO, "v1").await, None);
}
