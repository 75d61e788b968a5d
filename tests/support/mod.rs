//! Test support: the real registry in several configurations, a token server, test PKI, image fixtures.

#![allow(dead_code)]

pub mod acr;
pub mod bin;
pub mod fixture;
pub mod gar;
pub mod github;
pub mod gitlab;
pub mod harbor;
pub mod hub;
pub mod hub_search;
pub mod moto;
pub mod netem;
pub mod oci;
pub mod pki;
pub mod registry;
pub mod token;

use std::path::PathBuf;
use std::sync::OnceLock;

use oci::{Image, ImageSpec, image, index};
#[allow(unused_imports)]
pub use registry::{Auth, Options, Registry};

/// One tagged image of the standard fixture.
pub struct Tagged {
    pub repo: &'static str,
    pub tag: &'static str,
    pub image: Image,
}

/// The standard content: OCI and Docker schema2 images, an OCI index, a Docker manifest list,
/// several tags on one digest, nested names.
pub fn standard_images() -> Vec<Tagged> {
    let api = |seed: &'static str, created: &'static str, sizes: &'static [usize]| {
        image(&ImageSpec {
            seed,
            created,
            layer_sizes: sizes,
            labels: &[(
                "org.opencontainers.image.source",
                "https://example.invalid/api",
            )],
            ..Default::default()
        })
    };
    let v100 = api("api-1.0.0", "2024-01-10T08:00:00Z", &[3000, 1200]);
    let v110 = api("api-1.1.0", "2024-03-05T09:30:00Z", &[3000, 1500]);
    let v120 = api("api-1.2.0", "2024-06-01T12:00:00Z", &[3100, 1800, 700]);
    let web = |seed: &'static str, created: &'static str| {
        image(&ImageSpec {
            seed,
            created,
            docker: true,
            layer_sizes: &[2500, 900],
            ..Default::default()
        })
    };
    let plat =
        |seed: &'static str, arch: &'static str, variant: Option<&'static str>, docker: bool| {
            image(&ImageSpec {
                seed,
                arch,
                variant,
                docker,
                created: "2024-05-20T10:00:00Z",
                layer_sizes: &[1800, 400],
                ..Default::default()
            })
        };
    let oci_index = index(
        vec![
            plat("multi-amd64", "amd64", None, false),
            plat("multi-arm64", "arm64", Some("v8"), false),
        ],
        false,
    );
    let docker_list = index(
        vec![
            plat("list-amd64", "amd64", None, true),
            plat("list-armv7", "arm", Some("v7"), true),
        ],
        true,
    );
    vec![
        Tagged {
            repo: "team/app/api",
            tag: "v1.0.0",
            image: v100,
        },
        Tagged {
            repo: "team/app/api",
            tag: "v1.1.0",
            image: v110,
        },
        Tagged {
            repo: "team/app/api",
            tag: "v1.2.0",
            image: v120.clone(),
        },
        Tagged {
            repo: "team/app/api",
            tag: "latest",
            image: v120.clone(),
        },
        Tagged {
            repo: "team/app/api",
            tag: "stable",
            image: v120,
        },
        Tagged {
            repo: "team/app/web",
            tag: "2024.01",
            image: web("web-2024.01", "2024-01-15T00:00:00Z"),
        },
        Tagged {
            repo: "team/app/web",
            tag: "2024.06",
            image: web("web-2024.06", "2024-06-15T00:00:00Z"),
        },
        Tagged {
            repo: "tools/multi",
            tag: "1.0",
            image: oci_index,
        },
        Tagged {
            repo: "tools/multi",
            tag: "2.0",
            image: docker_list,
        },
        Tagged {
            repo: "solo",
            tag: "only",
            image: plat("solo", "amd64", None, false),
        },
    ]
}

/// Finds one image of the standard fixture.
pub fn find(repo: &str, tag: &str) -> Image {
    standard_images()
        .into_iter()
        .find(|t| t.repo == repo && t.tag == tag)
        .map(|t| t.image)
        .expect("fixture image")
}

/// Pushes each `(repository, tag, image)` to the open registry at `url`, in order.
pub fn push_images(url: &str, items: &[(&str, &str, &Image)]) {
    let url = url.to_string();
    let items: Vec<(String, String, Image)> = items
        .iter()
        .map(|(r, t, i)| (r.to_string(), t.to_string(), (*i).clone()))
        .collect();
    block_on(async move {
        let p = oci::Pusher::new(&url);
        for (r, t, i) in &items {
            p.image(r, t, i).await;
        }
    });
}

/// Runs an async block to completion on a fresh runtime in its own thread.
pub fn block_on<F: std::future::Future + Send + 'static>(f: F) -> F::Output
where
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    })
    .join()
    .unwrap()
}

/// Storage of a registry filled with [`standard_images`], built once per test process.
pub fn standard_storage() -> PathBuf {
    static STORAGE: OnceLock<PathBuf> = OnceLock::new();
    STORAGE
        .get_or_init(|| {
            let reg = Registry::start(Options::default());
            let base = reg.url.clone();
            block_on(async move {
                let p = oci::Pusher::new(&base);
                for t in standard_images() {
                    p.image(t.repo, t.tag, &t.image).await;
                }
            });
            let dest = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("standard-storage-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dest);
            let mut reg = reg;
            reg.stop();
            registry::copy_dir(&reg.storage, &dest);
            dest
        })
        .clone()
}

/// A registry with the standard content in the given configuration.
pub fn standard(opts: Options) -> Registry {
    Registry::start(Options {
        storage_from: Some(standard_storage()),
        ..opts
    })
}

/// Pushes `n` distinct small images as tags `t0000`… of `repo` (distinct configs, shared layers).
pub async fn fill_many(base: &str, repo: &str, n: usize) -> Vec<(String, Image)> {
    let p = oci::Pusher::new(base);
    let mut out = Vec::with_capacity(n);
    let layers = image(&ImageSpec {
        seed: "many-base",
        layer_sizes: &[4096, 2048],
        ..Default::default()
    });
    for b in &layers.blobs[1..] {
        p.blob(repo, b).await;
    }
    let futs = (0..n).map(|i| {
        let tag = format!("t{i:04}");
        let created = format!(
            "2023-{:02}-{:02}T{:02}:00:00Z",
            1 + i % 12,
            1 + i % 28,
            i % 24
        );
        let seed = format!("many-{i}");
        let img = image(&ImageSpec {
            seed: Box::leak(seed.into_boxed_str()),
            created: Box::leak(created.into_boxed_str()),
            layer_sizes: &[4096, 2048],
            ..Default::default()
        });
        // Reuse the shared layers so only the config differs.
        let mut img = img;
        img = rebase(img, &layers);
        (tag, img)
    });
    let items: Vec<(String, Image)> = futs.collect();
    use futures_util::stream::{self, StreamExt};
    stream::iter(items.iter())
        .for_each_concurrent(16, |(tag, img)| {
            let p = &p;
            async move {
                p.blob(repo, img.config()).await;
                p.manifest(repo, tag, &img.media_type, &img.manifest).await;
            }
        })
        .await;
    out.extend(items);
    out
}

/// Replaces the layers of `img` with those of `base`, rebuilding its manifest.
fn rebase(img: Image, base: &Image) -> Image {
    with_layers(img, &base.blobs[1..])
}

/// Replaces the layers of `img` with `layers` (e.g. a base layer shared by several images),
/// rebuilding its manifest; the config stays.
pub fn with_layers(img: Image, layers: &[oci::Blob]) -> Image {
    let config = img.blobs[0].clone();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": img.media_type,
        "config": config.descriptor(),
        "layers": layers.iter().map(oci::Blob::descriptor).collect::<Vec<_>>(),
    }))
    .unwrap();
    let mut blobs = vec![config];
    blobs.extend(layers.iter().cloned());
    Image {
        digest: oci::sha256(&manifest),
        manifest,
        blobs,
        ..img
    }
}
