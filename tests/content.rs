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
