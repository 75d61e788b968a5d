//! One size definition where regtui computes sizes (issue 15): config + DISTINCT layer blobs; an
//! index is the distinct blobs of its platform images, attestation manifests left out.

mod support;

use serde_json::json;
use support::oci::{self, ImageSpec, image, write_layout};
use support::with_layers;

fn repo_name(dir: &std::path::Path) -> String {
    let b = regtui::registry::layout::Layout::open(dir.to_path_buf()).unwrap();
    support::block_on(async move { regtui::registry::ops::all_repos(&b).await.unwrap() }).remove(0)
}

#[test]
fn a_layer_listed_twice_counts_once() {
    let base = image(&ImageSpec {
        seed: "size-twice",
        layer_sizes: &[3000, 500],
        ..Default::default()
    });
    let l = base.blobs[1].clone();
    let twice = with_layers(base.clone(), &[l.clone(), base.blobs[2].clone(), l.clone()]);
    let dir = tempfile::tempdir().unwrap();
    write_layout(dir.path(), &[("v1", &twice)], true);
    let repo = repo_name(dir.path());
    let b = regtui::registry::layout::Layout::open(dir.path().to_path_buf()).unwrap();
    let row = support::block_on(async move {
        regtui::registry::ops::tag_row(&b, &repo, "v1")
            .await
            .unwrap()
    });
    let config = twice.blobs[0].size;
    assert_eq!(row.size, config + 3000 + 500, "not {}", config + 6500);
}

#[test]
fn an_index_is_its_platform_images_without_attestations() {
    let amd = image(&ImageSpec {
        seed: "size-amd",
        layer_sizes: &[2000, 100],
        ..Default::default()
    });
    let arm = image(&ImageSpec {
        seed: "size-arm",
        arch: "arm64",
        layer_sizes: &[2100],
        ..Default::default()
    });
    // Both platforms share amd64's first layer: counted once.
    let arm = with_layers(
        arm,
        &[
            amd.blobs[1].clone(),
            image(&ImageSpec {
                seed: "size-arm-own",
                layer_sizes: &[700],
                ..Default::default()
            })
            .blobs[1]
                .clone(),
        ],
    );
    let att = image(&ImageSpec {
        seed: "size-att",
        os: "unknown",
        arch: "unknown",
        layer_sizes: &[50_000],
        ..Default::default()
    });
    let mut idx = oci::index(vec![amd.clone(), arm.clone()], false);
    // The attestation manifest as buildx lists it.
    let mut v: serde_json::Value = serde_json::from_slice(&idx.manifest).unwrap();
    v["manifests"].as_array_mut().unwrap().push(json!({
        "mediaType": att.media_type, "digest": att.digest, "size": att.manifest.len(),
        "platform": {"os": "unknown", "architecture": "unknown"},
        "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": amd.digest},
    }));
    idx.manifest = serde_json::to_vec(&v).unwrap();
    idx.digest = oci::sha256(&idx.manifest);
    idx.children.push(att.clone());
    let dir = tempfile::tempdir().unwrap();
    write_layout(dir.path(), &[("multi", &idx)], true);
    let repo = repo_name(dir.path());
    let b = regtui::registry::layout::Layout::open(dir.path().to_path_buf()).unwrap();
    let row = support::block_on(async move {
        regtui::registry::ops::tag_row(&b, &repo, "multi")
            .await
            .unwrap()
    });
    let mut distinct = std::collections::BTreeMap::new();
    for i in [&amd, &arm] {
        for blob in &i.blobs {
            distinct.insert(blob.digest.clone(), blob.size);
        }
    }
    let want: u64 = distinct.values().sum();
    assert_eq!(row.size, want);
    assert_eq!(row.platforms.len(), 2, "{:?}", row.platforms);
}
